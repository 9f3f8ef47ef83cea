/* test_worst_order.c: the reader on a trace whose rings reach the file in the worst order for
 * it. Eight rings (eight threads) take interleaved sequence numbers (ring k has k-1, k+7,
 * k+15, ...), and the trace builder (tests/unit/lgtest.c, the real collector) writes ring 1's
 * records whole, flushes, then ring 2's, ...: every EVENTS block of ring 1 comes before any of
 * ring 2, so a reader that decodes blocks in file order holds every event of rings 1 to 7
 * until ring 8's blocks arrive. The trace must read with the exact live set, and the reader's
 * high-water marks must stay within the documented bound (docs/trace-format.md, "Limits of a
 * reader"): with every ring's numbers increasing, at most about one waiting event per ring,
 * and at most one decompressed EVENTS block per ring plus one stored block in bytes.
 * It touches only a private temporary directory. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "lgtest.h"
#include "trace.h"

#define RINGS 8u
#define PER_RING 300000u /* events per ring (2.4M in all): 1.2 MB of records, two blocks */
#define LEAK_EVERY 1000u /* the block of every 1000th pair is not freed */

static uint64_t addr_of(uint32_t ring, uint64_t j)
{
    return 0x10000000ull + ((uint64_t)ring << 32) + j * 32;
}

/* Sizes that take three bytes to encode, so that each ring's records fill several blocks. */
static uint64_t size_of(uint32_t ring, uint64_t j)
{
    return 16 + ring + (j * 7919) % 100000;
}

/* Event i of a ring's pattern, numbered seq: block i/2 is allocated, then freed, except every
 * LEAK_EVERY-th, which stays live (a NOP keeps the numbers dense). */
static void put_event(lgt_builder_t *b, uint32_t ring, uint64_t i, uint64_t seq, uint32_t sid)
{
    uint64_t j = i / 2;
    if (i % 2 == 0)
        lgt_malloc(b, ring, seq, addr_of(ring, j), size_of(ring, j), sid);
    else if (j % LEAK_EVERY != 0)
        lgt_free(b, ring, seq, addr_of(ring, j));
    else
        lgt_nop(b, ring, seq);
}

/* Ends the trace being built and loads it into *t; the load's return code. */
static int finish_and_load(lgt_builder_t *b, const char *path, lg_trace_t *t)
{
    CHECK_EQ(lgt_finish(b, LG_END_EXIT, 0, 0, 0), 0);
    lgt_close(b);
    free(b);
    char err[512] = "";
    int rc = lg_trace_load(path, t, NULL, NULL, err, sizeof err);
    CHECK_MSG(rc == 0, "load: %d %s", rc, err);
    return rc;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_worst_order: timed out (a load hangs?)\n";
    if (write(2, msg, sizeof msg - 1) < 0) _exit(3);
    _exit(3);
}

/* A gap: number 1 is never written (a process that forked or died between taking a number and
 * writing it), and 1.2M events follow it. The reader replays them all, in order, holding at
 * most LG_READ_MAX_WAITING (2^20, docs/trace-format.md "Limits of a reader") waiting events:
 * then it skips the gap. */
static void test_gap(const char *dir)
{
    enum { N = 1200000 };
    char path[4200];
    snprintf(path, sizeof path, "%s/gap.lgt", dir);
    lgt_builder_t *b = calloc(1, sizeof *b);
    CHECK_EQ(lgt_open(b, path), 0);
    lgt_nop(b, 1, 0);
    for (uint64_t i = 0; i < N; i++) put_event(b, 2, i, 2 + i, 0);
    lg_trace_t t;
    if (finish_and_load(b, path, &t)) return;
    CHECK_EQ(t.nevents, (uint64_t)N + 1);
    CHECK_EQ(t.nlive, (size_t)(N / 2 / LEAK_EVERY));
    CHECK_EQ(t.unknown_frees, 0u);
    CHECK_MSG(t.read_peak_events <= (1u << 20), "gap: the reader held %llu waiting events",
              (unsigned long long)t.read_peak_events);
    lg_trace_free(&t);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(240);
    char dir[4096], path[4200];
    if (lgt_tmpdir(dir, sizeof dir)) return 1;
    snprintf(path, sizeof path, "%s/worst.lgt", dir);
    lgt_builder_t *b = calloc(1, sizeof *b);
    CHECK_EQ(lgt_open(b, path), 0);
    for (uint32_t k = 1; k <= RINGS; k++) {
        uint64_t ips[] = {0x401000 + k, 0x402000};
        lgt_thread(b, k, 1000 + k);
        uint32_t sid = lgt_stack(b, k, ips, 2);
        for (uint64_t i = 0; i < PER_RING; i++)
            put_event(b, k, i, (k - 1) + (uint64_t)RINGS * i, sid);
        CHECK_EQ(lgt_flush(b), 0); /* ring k's blocks, all of them, before ring k+1's */
    }
    lg_trace_t t;
    if (finish_and_load(b, path, &t) == 0) {
        CHECK_MSG(t.complete, "incomplete: %s", t.problem ? t.problem : "?");
        CHECK_EQ(t.nevents, (uint64_t)RINGS * PER_RING);
        uint64_t want = RINGS * (PER_RING / 2 / LEAK_EVERY);
        CHECK_EQ(t.nlive, want);
        size_t good = 0;
        for (size_t i = 0; i < t.nlive; i++) {
            const lg_block_t *bl = &t.live[i];
            uint32_t k = (uint32_t)((bl->addr - 0x10000000ull) >> 32);
            uint64_t j = ((bl->addr - 0x10000000ull) & 0xffffffffull) / 32;
            if (k >= 1 && k <= RINGS && j % LEAK_EVERY == 0 && bl->size == size_of(k, j) &&
                bl->tid == 1000 + k && bl->seq == (k - 1) + (uint64_t)RINGS * 2 * j)
                good++;
        }
        CHECK_EQ(good, (size_t)want);
        /* The bound (docs/trace-format.md, "Limits of a reader"): rings whose numbers increase
         * leave at most one waiting event each; the bytes held are at most one decompressed
         * EVENTS block per ring and one stored block, with the waiting events. */
        uint64_t max_events = 2 * RINGS;
        uint64_t max_bytes = (RINGS + 1) * (uint64_t)(LG_STAGE_FLUSH + LG_RING_BYTES) +
                             max_events * sizeof(lg_event_t) + (64u << 10);
        CHECK_MSG(t.read_peak_events <= max_events,
                  "the reader held %llu waiting events (bound %llu)",
                  (unsigned long long)t.read_peak_events, (unsigned long long)max_events);
        CHECK_MSG(t.read_peak_bytes <= max_bytes, "the reader held %llu bytes (bound %llu)",
                  (unsigned long long)t.read_peak_bytes, (unsigned long long)max_bytes);
        fprintf(stderr, "test_worst_order: %llu events, file %llu bytes, peak %llu waiting events, %llu bytes\n",
                (unsigned long long)t.nevents, (unsigned long long)t.file_bytes,
                (unsigned long long)t.read_peak_events, (unsigned long long)t.read_peak_bytes);
        lg_trace_free(&t);
    }
    test_gap(dir);
    lgt_rmtree(dir);
    return check_result("test_worst_order");
}
