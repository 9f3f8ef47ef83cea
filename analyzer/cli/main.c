/* `leakgraph`: the table of commands, each a name, the function that runs it (cmd_NAME.c) and
 * its lines in the usage; main finds argv[1] in it and hands the command its own argv (argv[0]
 * its name). main owns the usage text, help and --version, and nothing else: every option,
 * message and exit code of a command is in its file (exit codes: cli.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lg_version.h"

typedef struct lg_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage; /* its lines in `leakgraph help`; NULL: hidden */
} lg_command_t;

/* In the order of the usage. */
static const lg_command_t commands[] = {
    {"run", lg_cmd_run,
     "  run [--output PATH] [--quiet] [--check-every SECONDS] -- PROGRAM [ARGS...]\n"
     "        run PROGRAM with the shim preloaded; write its trace to PATH (children\n"
     "        and exec'd images to PATH.<pid>); exit with the program's status;\n"
     "        --check-every: a leak check of every traced process that often\n"},
    /* run --check takes check's options: it is described after check */
    {"check", lg_cmd_check,
     "  check [--policy P | --policy-file F] [--suppressions F]... [--baseline F]\n"
     "        [--format text|json|sarif|junit] [--json F] [--sarif F] [--junit F]\n"
     "        [--source-root DIR] [--gen-suppressions[=leakgraph|valgrind|lsan]]\n"
     "        [--check-number N] [--allow-incomplete] [--quiet] TRACE...\n"
     "        the CI verdict of traces (a program and its children): exit 0 pass, 1 leaks\n"
     "        fail the policy, 2 usage, 3 leakgraph error or a trace not seen whole\n"
     "        (docs/ci.md)\n"
     "  run --check[=POLICY] [check's options] [--output PATH] -- PROGRAM [ARGS...]\n"
     "        run PROGRAM, then check all its traces; exit 4 if the program itself failed\n"},
    {"baseline", lg_cmd_baseline,
     "  baseline [--policy P] [--suppressions F]... [--output F] TRACE...\n"
     "        fingerprints of the current leaks (a baseline for check --baseline)\n"},
    {"diff", lg_cmd_diff,
     "  diff [--policy P] [--format text|json] OLD NEW\n"
     "        leaks that appeared, vanished and grew; OLD and NEW are baselines or traces\n"},
    {"report", lg_cmd_report,
     "  report [--format text|json] [--show-reachable] [--check N [--since M]] [--max-frames N]\n"
     "         [--max-members N] [--max-records N] [--full] TRACE...\n"
     "        leaks at exit (or at check N) with Memcheck's kinds, and unreachable cycles;\n"
     "        --since M: only what grew since check M\n"},
    {"graph", lg_cmd_graph,
     "  graph [--check N] [--output FILE.dot] TRACE\n"
     "        Graphviz DOT of the uncollected cycles and the referrers of refcount-leaked\n"
     "        runtime objects (and FILE.svg when Graphviz's dot is installed)\n"},
    {"dump", lg_cmd_dump,
     "  dump TRACE\n"
     "        the trace as text, one event per line\n"},
    {"__collect", lg_cmd_collect, NULL},   /* started by a shim preloaded by hand (cmd_collect.c) */
};

static void usage(FILE *f)
{
    fputs("usage: leakgraph <command> [options]\n"
          "\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (commands[i].usage) fputs(commands[i].usage, f);
    fputs("  help, --help, --version\n"
          "\n"
          "environment: LEAKGRAPH_OUTPUT (trace path when preloading libleakgraph.so by hand),\n"
          "LEAKGRAPH_DISABLE=1 (do not trace), LEAKGRAPH_PRELOAD (shim used by run),\n"
          "LEAKGRAPH_DEBUGINFOD=1 (let symbolization fetch debug info from debuginfod)\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return LG_CLI_USAGE;
    }
    const char *cmd = argv[1];
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(cmd, commands[i].name)) continue;
        int rc = commands[i].run(argc - 1, argv + 1);
        if (rc == LG_CLI_SHOW_USAGE) {
            usage(stderr);
            rc = LG_CLI_USAGE;
        }
        return rc;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        puts("leakgraph " LG_VERSION_STRING);
        return 0;
    }
    fprintf(stderr, "leakgraph: unknown command '%s'\n", cmd);
    usage(stderr);
    return LG_CLI_USAGE;
}
