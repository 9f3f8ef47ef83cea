/* `leakgraph dump TRACE`: the trace as text, one event per line (written by report/dump.c).
 * Exit codes: 0, 1 when the trace cannot be read or the dump cannot be written, 2 on a usage
 * error. */
#include "cli.h"

#include <stdio.h>

#include "report.h"

int lg_cmd_dump(int argc, char **argv)
{
    lg_progress_install();
    if (argc != 2 || argv[1][0] == '-') {
        fputs("usage: leakgraph dump TRACE\n", stderr);
        return LG_CLI_USAGE;
    }
    char err[512];
    if (lg_dump(stdout, argv[1], err, sizeof err)) {
        fflush(stdout);
        fprintf(stderr, "leakgraph: %s\n", err);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
