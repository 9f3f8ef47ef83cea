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
} lg_report_opts_t;

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
