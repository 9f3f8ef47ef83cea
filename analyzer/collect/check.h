/* One leak check of a stopped traced process (check.c), taken by the collector (run.c). The
 * caller owns everything before it (stopping the process is
 * the shim's; draining and flushing its trace is the collector's) and telling the process it
 * may go on; the check does not stop, resume or signal anything. */
#ifndef LG_CHECK_H
#define LG_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "region.h"
#include "trace.h"
#include "writer.h"

/* What a check reads and where it writes. */
typedef struct lg_check {
    pid_t pid;               /* the process, stopped by its shim for the whole check */
    const lg_snap_ctl_t *sc; /* its request (threads, leakgraph's ranges, id, seq), in our memory */
    lg_live_tracker_t *live; /* its live set kept as its rings were drained; NULL: replay `trace` */
    const char *trace;       /* its trace file, flushed up to the request */
    lg_collector_t *col;     /* the collector writing `trace` */
} lg_check_t;

/* What a check cost: CLOCK_MONOTONIC times (lg_mono_ns) at which each step began, 0 for a
 * step not reached, and its sizes. */
typedef struct lg_check_stats {
    uint64_t t_load;  /* the live blocks are known (after the replay): sorting starts */
    uint64_t t_scan;  /* the memory scan starts */
    uint64_t t_write; /* the SNAPSHOT is being written */
    size_t nblocks;   /* live blocks scanned */
    size_t payload;   /* bytes of the SNAPSHOT payload */
} lg_check_stats_t;

/* Takes the check: the live blocks (from `live`, else a replay of `trace`), the scan of the
 * process's memory (scan.c), the holders of its runtime objects, the SNAPSHOT appended to the
 * trace. Returns 0 or a negative errno, with a message in err; a check that fails before its
 * write leaves the trace as it was. */
int lg_check_take(const lg_check_t *c, lg_check_stats_t *st, char *err, size_t errlen);

/* CLOCK_MONOTONIC in nanoseconds: the clock of lg_check_stats_t. */
uint64_t lg_mono_ns(void);

#endif /* LG_CHECK_H */
