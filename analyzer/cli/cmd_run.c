/* `leakgraph run [--output PATH] [--quiet] [--check-every SECONDS] [--check[=POLICY] ...] --
 * PROGRAM [ARGS...]`: runs the program with the shim preloaded (collect/run.c), asking every
 * traced process for a leak check every SECONDS if given. Without --check it exits with the
 * program's status. With --check it then checks the program's trace and the PATH.<pid> traces
 * its descendants wrote during the run, through the same pipeline as `check` (pipeline.c), and
 * exits with enum lg_exit (policy.h; 4 when the program itself failed; 3 when leakgraph could
 * not start it or a trace of the run could not be created or written completely). */
#define _GNU_SOURCE
#include "cli.h"
#include "path.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The traces of a run: base, and base.<pid>[.<n>] written since `since`. */
static int run_traces(const char *base, const struct timespec *since, char ***out, size_t *n)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", base);
    char *slash = strrchr(dir, '/');
    const char *bn = slash ? slash + 1 : base;
    if (slash) *slash = 0;
    size_t bl = strlen(bn), cap = 8;
    char **v = malloc(cap * sizeof *v);
    if (!v) return -ENOMEM;
    *n = 0;
    v[(*n)++] = strdup(base);
    DIR *d = opendir(slash ? (dir[0] ? dir : "/") : ".");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *s = e->d_name;
            if (strncmp(s, bn, bl) || s[bl] != '.' || !s[bl + 1]) continue;
            if (strspn(s + bl + 1, "0123456789.") != strlen(s + bl + 1)) continue;
            char p[PATH_MAX + 256];
            snprintf(p, sizeof p, "%s/%s", slash ? (dir[0] ? dir : "") : ".", s);
            struct stat st;
            if (lstat(p, &st) || !S_ISREG(st.st_mode)) continue;
            if (st.st_mtim.tv_sec < since->tv_sec ||
                (st.st_mtim.tv_sec == since->tv_sec && st.st_mtim.tv_nsec < since->tv_nsec))
                continue; /* left by an earlier run */
            if (*n == cap) {
                char **nv = realloc(v, (cap *= 2) * sizeof *v);
                if (!nv) break;
                v = nv;
            }
            v[(*n)++] = strdup(p);
        }
        closedir(d);
    }
    for (size_t i = 0; i < *n; i++)
        if (!v[i]) return -ENOMEM;
    if (*n > 2) qsort(v + 1, *n - 1, sizeof *v, cmp_str);
    *out = v;
    return 0;
}

int lg_cmd_run(int argc, char **argv)
{
    lg_progress_install();
    lg_ci_cmd_t o;
    lg_ci_cmd_init(&o, "run");
    lg_run_opts_t ro = {0};
    bool check = false, ci_opts = false;
    const char *check_policy = NULL;
    static const struct option opts[] = {CI_LONG_OPTS,
                                         {"output", required_argument, NULL, 'o'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"check", optional_argument, NULL, OPT_CHECK},
                                         {"check-every", required_argument, NULL, 'E'},
                                         {0}};
    int c, code = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+o:q", opts, NULL)) != -1) {
        switch (c) {
        case 'o': ro.output = optarg; break;
        case 'q': ro.quiet = o.quiet = true; break; /* with --check: only the verdict's line */
        case OPT_CHECK:
            check = true;
            check_policy = optarg;
            break;
        case 'E': {
            char *end;
            double sec = strtod(optarg, &end);
            if (end == optarg || *end || !(sec >= 0.01 && sec <= 1e6)) {
                fprintf(stderr, "leakgraph run: --check-every %s: want seconds, 0.01 to 1e6\n",
                        optarg);
                return LG_EXIT_USAGE;
            }
            ro.check_every_ns = (uint64_t)(sec * 1e9);
            break;
        }
        case '?':
            fputs("usage: leakgraph run [--output PATH] [--quiet] [--check-every SECONDS] "
                  "[--check[=POLICY] ...] -- PROGRAM [ARGS...]\n",
                  stderr);
            return LG_EXIT_USAGE;
        default:
            ci_opts = true;
            if ((code = lg_ci_cmd_option(&o, c, optarg))) return code;
        }
    }
    if (optind >= argc) {
        fputs("leakgraph run: no program given (leakgraph run [--output PATH] -- PROGRAM ...)\n",
              stderr);
        return LG_EXIT_USAGE;
    }
    if (!check) {
        if (ci_opts) return lg_ci_cmd_usage_error(&o, "%s", "these options need --check");
        return lg_run(&ro, argv + optind, NULL);
    }
    if (check_policy && (code = lg_ci_cmd_policy(&o, check_policy, false))) return code;
    if ((code = lg_ci_cmd_load_inputs(&o))) goto out;
    /* Without --output the trace name must be known before the run: leakgraph.PROG.PID.lgt with
     * leakgraph's own pid (a plain run uses the program's pid, which is not known yet). */
    char base[PATH_MAX];
    if (!ro.output) {
        const char *p = lg_basename_or_unknown(argv[optind]);
        struct stat st;
        for (int n = 0;; n++) {
            if (n) snprintf(base, sizeof base, "leakgraph.%s.%d.%d.lgt", p, (int)getpid(), n);
            else snprintf(base, sizeof base, "leakgraph.%s.%d.lgt", p, (int)getpid());
            if (lstat(base, &st) != 0) break;
        }
        ro.output = base;
    }
    struct timespec since;
    clock_gettime(CLOCK_REALTIME, &since);
    since.tv_sec -= 1; /* file times may lag the clock by a tick; older leftovers are older */
    lg_run_result_t res;
    int status = lg_run(&ro, argv + optind, &res);
    if (res.program_status < 0) { /* it said why (e.g. the trace path exists): nothing ran */
        code = LG_EXIT_ERROR;
        goto out;
    }
    o.program_status = res.program_status;
    o.program_argv = argv + optind;
    struct stat st;
    if (lstat(ro.output, &st) != 0) {
        fprintf(stderr, "leakgraph run: the program did not run under leakgraph (status %d): no "
                        "trace to check\n",
                status);
        code = res.failed_traces ? LG_EXIT_ERROR : LG_EXIT_PROGRAM;
        goto out;
    }
    char **paths = NULL;
    size_t n = 0;
    if (run_traces(ro.output, &since, &paths, &n)) {
        fputs("leakgraph run: out of memory\n", stderr);
        code = LG_EXIT_ERROR;
        goto out;
    }
    code = lg_ci_cmd_evaluate(&o, paths, n);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    if (res.failed_traces && code != LG_EXIT_USAGE) { /* 3 > 4 > 1 > 0 (docs/ci.md) */
        fprintf(stderr, "leakgraph run: %d trace%s of the run could not be created or written "
                        "completely: the check cannot pass\n",
                res.failed_traces, res.failed_traces > 1 ? "s" : "");
        code = LG_EXIT_ERROR;
    }
out:
    lg_ci_cmd_free(&o);
    return code;
}

