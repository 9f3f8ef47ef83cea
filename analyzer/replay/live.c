/* live.c: the live tracker (lg_live_*, trace.h), the live set kept up to date while a trace
 * is written.
 * `leakgraph run`'s collector feeds every ring's bytes, as it drains them, through the same
 * decoding and reordering as a trace file, so that a leak check needs the live blocks without
 * replaying the whole trace (which costs time in proportion to the run, not to the live set).
 * History that only reports need (runtime events) is not kept, nor are snapshots. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

struct lg_live_tracker {
    lg_trace_t t;
    loader_t L;
};

lg_live_tracker_t *lg_live_new(uint32_t nrings)
{
    lg_live_tracker_t *lt = calloc(1, sizeof *lt);
    if (!lt) return NULL;
    lg_trace_t *t = &lt->t;
    loader_t *L = &lt->L;
    t->exit_status = -1;
    t->rc_depth = -1;
    t->nrings = nrings;
    t->path = strdup("(live)");
    L->t = t;
    L->live_only = true;
    if (!t->path || lg_loader_rings(L, nrings) || lg_loader_tables(t, L)) {
        lg_live_free(lt);
        return NULL;
    }
    return lt;
}

int lg_live_feed(lg_live_tracker_t *lt, uint32_t ring, const uint8_t *bytes, size_t n)
{
    if (lt->t.problem) return -EBADMSG; /* failed before: stays stopped */
    int rc = ring < lt->t.nrings ? lg_decode_stream(&lt->L, ring, bytes, n) : -EINVAL;
    if (rc && !lt->t.problem) lg_load_problem(&lt->t, "live tracker stopped: %s", strerror(-rc));
    if (rc && !lt->t.problem) lt->t.problem = strdup("live tracker stopped");
    return rc;
}

long lg_live_extents(lg_live_tracker_t *lt, uint64_t below, lg_extent_t **out)
{
    loader_t *L = &lt->L;
    lg_order_drain(L, below);
    lg_replay_flush(L);
    if (L->error) return L->error;
    lg_extent_t *v = malloc((L->compact.count ? L->compact.count : 1) * sizeof *v);
    if (!v) return -ENOMEM;
    size_t n = 0, pos = 0;
    uint64_t addr, size;
    while (lg_sizemap_next(&L->compact, &pos, &addr, &size))
        v[n++] = (lg_extent_t){.addr = addr, .size = size};
    *out = v;
    return (long)n;
}

const lg_trace_t *lg_live_trace(const lg_live_tracker_t *lt)
{
    return &lt->t;
}

void lg_live_free(lg_live_tracker_t *lt)
{
    if (!lt) return;
    lg_loader_free(&lt->L);
    lg_trace_free(&lt->t);
    free(lt);
}
