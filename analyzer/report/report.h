/* Leak reports of loaded traces: text (Memcheck's layout) and JSON (docs/report-json.md), and
 * the text dump of a trace's events. */
#ifndef LG_REPORT_H
#define LG_REPORT_H

#include <stdio.h>

#include "leaks.h"
#include "trace.h"

enum lg_format { LG_FORMAT_TEXT = 0, LG_FORMAT_JSON = 1 };

typedef struct lg_report_opts {
    int format;     /* enum lg_format */
    int max_frames; /* physical frames per stack to print; <= 0 for all */
    bool show_reachable; /* text: also print still-reachable records (JSON always has them) */
    /* Text only (the JSON is always complete): the members (and pointers) printed per cycle,
     * and the loss records and the cycle records printed per trace; the rest is summarised
     * as a count with its totals. 0: all. --max-members / --max-records / --full. */
    size_t max_members, max_records;
} lg_report_opts_t;

/* The text report's defaults: readable at any size (a 1M-member cycle was 5M lines). */
#define LG_REPORT_MAX_MEMBERS 20
#define LG_REPORT_MAX_RECORDS 200

/* Prints the report of a leak set (a process and its children; traces[0] is the main one).
 * Returns 0 or a negative errno. */
int lg_report(FILE *out, lg_leakset_t *ls, const lg_report_opts_t *o);

/* A frame as the report's JSON writes it (docs/report-json.md), without the closing brace, so
 * that the CI JSON (ci_json.c) can add its own fields: {"function":..,"file":..,"line":..,
 * "module":..,"address":..,"offset":..,"inlined":.. */
void lg_json_frame_open(FILE *out, const lg_frame_t *f);

/* `leakgraph dump`: loads `path` and prints its header, modules, stacks and every event in
 * sequence order. Returns 0, or a negative errno with a message in err. */
int lg_dump(FILE *out, const char *path, char *err, size_t errlen);

#endif /* LG_REPORT_H */
