/* mktrace: writes the sample trace of lgtest.c (tests/unit) to a path, for the CLI tests.
 * Usage: mktrace PATH [noend]. The path must not exist (the collector never overwrites). */
#include <stdio.h>
#include <string.h>

#include "lgtest.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fputs("usage: mktrace PATH [noend]\n", stderr);
        return 2;
    }
    int rc = lgt_write_sample(argv[1], !(argc == 3 && strcmp(argv[2], "noend") == 0));
    if (rc) {
        fprintf(stderr, "mktrace: %s: %s\n", argv[1], strerror(-rc));
        return 1;
    }
    return 0;
}
