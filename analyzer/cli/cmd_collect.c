/* `leakgraph __collect --base PATH --starter PID --ready-fd N`: hidden, not in the usage. A
 * shim preloaded by hand starts it as the collector of its program (collect/run.c,
 * lg_collect_attached, says what it does); this file only reads its arguments. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

/* A non-negative int from s, or -1. */
static int parse_int(const char *s)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : -1;
    if (!s || errno || end == s || *end || v < 0 || v > INT_MAX) return -1;
    return (int)v;
}

int lg_cmd_collect(int argc, char **argv)
{
    const char *base = NULL;
    int starter = -1, ready = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--base") == 0) base = argv[i + 1];
        else if (strcmp(argv[i], "--starter") == 0) starter = parse_int(argv[i + 1]);
        else if (strcmp(argv[i], "--ready-fd") == 0) ready = parse_int(argv[i + 1]);
    }
    if (!base || base[0] != '/' || starter <= 0 || ready < 0) {
        fprintf(stderr, "leakgraph __collect: started by libleakgraph.so, not by hand\n");
        return 2;
    }
    return lg_collect_attached(base, starter, ready);
}
