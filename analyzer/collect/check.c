/* One leak check of a stopped traced process (check.h): from the live blocks of its trace to
 * the SNAPSHOT appended to that trace, by the collector (run.c: `leakgraph run`'s, or the
 * `leakgraph __collect` a shim preloaded by hand started). It reads the
 * process's memory only: it never writes to it, signals it or lets it go (its caller does,
 * once the check returns), and it never classifies anything (the analyzer does, from the
 * trace).
 *
 * The steps, each needing the one before:
 *  1. Live blocks. Before: the process is stopped, and every event it logged below the
 *     request's sequence number (sc->seq) is in the live tracker or on disk in the trace.
 *     From the tracker: the blocks live below sc->seq, no file read. Else the trace is
 *     replayed whole: its blocks live at its end (nothing was logged after the request, every
 *     thread is stopped). After: the address and size of each block, and the trace (loaded,
 *     or the tracker's) that holds the runtime walks.
 *  2. Sort the blocks by address (the scan needs them sorted; live blocks never overlap).
 *  3. Scan the process's roots and blocks (scan.c, lg_scan_process): the SNAPSHOT payload.
 *  4. Runtime objects (scan.c, lg_scan_objects): when the trace holds a walk taken at this
 *     check (the shim walks the runtimes before it asks for the check), the words outside the
 *     runtime's graph that hold each object, a section added to the payload. Its failure only
 *     loses the section (the analyzer then says holders are not known).
 *  5. Write the payload as SNAPSHOT blocks: by the collector writing the trace, or appended to
 *     the file by path. */
#define _GNU_SOURCE
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leakgraph/trace_format.h"
#include "scan.h"

uint64_t lg_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_scan_block(const void *a, const void *b)
{
    const lg_scan_block_t *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Sorts the live blocks by address. Millions of them: a least-significant-digit radix sort,
 * RADIX_BITS per pass (its counters stay in L1, its 2048 output streams in the cache), over
 * the address bits that differ between blocks only (malloc's 16-byte alignment and the common
 * top bits cost no pass; a brk heap with a few mmap'd chunks takes four), several times
 * faster than qsort's merge sort with a comparison call per step. Needs a second array of n
 * blocks (so did qsort); falls back to qsort without it. */
#define RADIX_BITS 11
static void sort_scan_blocks(lg_scan_block_t *b, size_t n)
{
    enum { DIGITS = 1 << RADIX_BITS };
    if (n < 4096) {
        qsort(b, n, sizeof *b, cmp_scan_block);
        return;
    }
    lg_scan_block_t *tmp = malloc(n * sizeof *tmp);
    size_t *count = malloc(DIGITS * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        qsort(b, n, sizeof *b, cmp_scan_block);
        return;
    }
    uint64_t differ = 0;
    for (size_t i = 1; i < n; i++) differ |= b[i].addr ^ b[0].addr;
    lg_scan_block_t *src = b, *dst = tmp;
    for (unsigned shift = differ ? (unsigned)__builtin_ctzll(differ) : 64; shift < 64 && differ >> shift;
         shift += RADIX_BITS) {
        memset(count, 0, DIGITS * sizeof *count);
        for (size_t i = 0; i < n; i++) count[(src[i].addr >> shift) & (DIGITS - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < DIGITS; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) dst[count[(src[i].addr >> shift) & (DIGITS - 1)]++] = src[i];
        lg_scan_block_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != b) memcpy(b, src, n * sizeof *b);
    free(tmp);
    free(count);
}

static int cmp_scan_obj(const void *a, const void *b)
{
    const lg_scan_obj_t *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Step 4: when `t` holds the walk of this check, the holders of its objects are counted and
 * appended to `payload`. Failure only loses the section. */
static void scan_objects(const lg_check_t *c, const lg_trace_t *t, const lg_scan_block_t *blocks,
                         size_t n, lg_buf_t *payload)
{
    const lg_walk_t *w = NULL;
    for (size_t i = 0; i < t->nwalks; i++)
        if (t->walks[i].check == c->sc->id) w = &t->walks[i];
    if (!w || !w->nobjs) return;
    /* rcrt's containers start 24 bytes into their block (the collector header) */
    uint64_t hdr = w->runtime && !strcmp(w->runtime, "rcrt") ? 24 : 0;
    lg_scan_obj_t *o = malloc(w->nobjs * sizeof *o);
    if (!o) return;
    for (size_t i = 0; i < w->nobjs; i++) {
        uint64_t sz = w->objs[i].size > hdr ? w->objs[i].size - hdr : w->objs[i].size;
        o[i] = (lg_scan_obj_t){w->objs[i].addr, w->objs[i].addr + sz};
    }
    qsort(o, w->nobjs, sizeof *o, cmp_scan_obj);
    lg_buf_t sec = {0};
    char err[256];
    if (lg_scan_objects(c->pid, c->sc, blocks, n, o, w->nobjs, &sec, err, sizeof err) == 0)
        lg_scan_append_section(payload, LG_KEY_SNAP_OBJECTS, 1, &sec);
    lg_buf_free(&sec);
    free(o);
}

/* Step 5. Returns 0 or a negative errno (message in err). */
static int write_snapshot(const lg_check_t *c, const lg_buf_t *payload, char *err, size_t errlen)
{
    int rc = lg_collector_write_snapshot(c->col, payload->p, payload->len);
    if (rc) snprintf(err, errlen, "cannot write %s: %s", c->trace, strerror(-rc));
    return rc;
}

int lg_check_take(const lg_check_t *c, lg_check_stats_t *st, char *err, size_t errlen)
{
    *st = (lg_check_stats_t){0};
    lg_trace_t t = {0};
    const lg_trace_t *walks = &t;
    lg_scan_block_t *blocks = NULL;
    size_t nlive = 0;
    int rc = 0;
    if (c->live) { /* step 1: the live set is at hand, no replay; 16 bytes a block */
        long k = lg_live_extents(c->live, c->sc->seq, &blocks);
        if (k < 0) {
            rc = (int)k;
            snprintf(err, errlen, "out of memory");
        } else {
            nlive = (size_t)k;
        }
        walks = lg_live_trace(c->live);
    } else {
        rc = lg_trace_load(c->trace, &t, NULL, NULL, err, errlen);
        nlive = t.nlive;
        if (rc == 0 && !(blocks = malloc((nlive ? nlive : 1) * sizeof *blocks))) {
            rc = -ENOMEM;
            snprintf(err, errlen, "out of memory");
        }
        for (size_t i = 0; rc == 0 && i < nlive; i++)
            blocks[i] = (lg_scan_block_t){t.live[i].addr, t.live[i].size};
        free(t.live); /* the scan needs addresses and sizes only */
        t.live = NULL;
    }
    if (rc == 0) {
        st->t_load = lg_mono_ns();
        sort_scan_blocks(blocks, nlive); /* step 2 */
        st->nblocks = nlive;
        lg_buf_t out = {0};
        lg_scan_stats_t ss;
        st->t_scan = lg_mono_ns();
        rc = lg_scan_process(c->pid, c->sc, blocks, nlive, &out, &ss, err, errlen); /* step 3 */
        if (rc == 0) scan_objects(c, walks, blocks, nlive, &out); /* step 4 */
        st->t_write = lg_mono_ns();
        st->payload = out.len;
        if (rc == 0) rc = write_snapshot(c, &out, err, errlen);
        lg_buf_free(&out);
    }
    free(blocks);
    lg_trace_free(&t);
    return rc;
}
