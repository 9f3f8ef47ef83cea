/* progress.c: a line of progress on stderr while a trace is read (issue #14), for the commands
 * that read traces (report, dump, check, baseline, graph, run --check). It is the loader's
 * progress hook (lg_trace_set_progress, trace.h) and nothing else: it never changes what a
 * command reads or prints on stdout.
 *
 * The line shows the trace's name, how much of it is read (each byte counts twice: checked,
 * then replayed) and events per second; it is redrawn at most ten times a second, only once
 * a load has taken LG_PROGRESS_AFTER_MS (1 s), only when stderr is a terminal (never in a CI
 * log or a redirected file), and erased when the load ends. Two environment variables, for
 * tests and diagnosis (analyzer/replay/README.md): LEAKGRAPH_PROGRESS_AFTER_MS sets the delay
 * (0: from the first block), LEAKGRAPH_READ_STATS=1 prints one line per trace read with the
 * reader's high-water marks (lg_trace_t.read_peak_events, read_peak_bytes), terminal or not. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "trace.h"

/* A load shorter than this shows nothing. */
#define LG_PROGRESS_AFTER_MS 1000
/* Redraws at most this often. */
#define LG_PROGRESS_EVERY_MS 100

static struct {
    bool tty, stats;
    long after_ms;
    bool started, shown;
    double start, last;
} P;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *ctx, const lg_trace_t *t, uint64_t done, uint64_t total,
                        bool finished)
{
    (void)ctx;
    double now = now_s();
    if (!P.started) {
        P.started = true;
        P.start = now;
    }
    if (finished) {
        if (P.shown) fputs("\r\033[K", stderr);
        if (P.stats)
            fprintf(stderr,
                    "leakgraph: read %s: %llu events, at most %llu waiting, at most %llu bytes "
                    "held\n",
                    t->path ? t->path : "?", (unsigned long long)t->nevents,
                    (unsigned long long)t->read_peak_events,
                    (unsigned long long)t->read_peak_bytes);
        P.started = P.shown = false;
        return;
    }
    double el = now - P.start;
    if (!P.tty || el * 1000 < (double)P.after_ms ||
        (P.shown && (now - P.last) * 1000 < LG_PROGRESS_EVERY_MS))
        return;
    const char *name = t->path ? strrchr(t->path, '/') : NULL;
    name = name ? name + 1 : t->path ? t->path : "trace";
    fprintf(stderr, "\rleakgraph: reading %s: %3u%% of %.1f MB, %.1fM events/s\033[K", name,
            total ? (unsigned)(done * 100 / total) : 100, (double)total / 2 / 1e6,
            el > 0 ? (double)t->nevents / el / 1e6 : 0.0);
    fflush(stderr);
    P.shown = true;
    P.last = now;
}

void lg_progress_install(void)
{
    const char *after = getenv("LEAKGRAPH_PROGRESS_AFTER_MS");
    const char *stats = getenv("LEAKGRAPH_READ_STATS");
    P.tty = isatty(STDERR_FILENO) == 1;
    P.stats = stats && !strcmp(stats, "1");
    P.after_ms = after && *after ? atol(after) : LG_PROGRESS_AFTER_MS;
    if (P.tty || P.stats) lg_trace_set_progress(on_progress, NULL);
}
