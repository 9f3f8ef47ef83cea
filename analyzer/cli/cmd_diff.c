/* `leakgraph diff [--policy P] [--format text|json] OLD NEW`: the leaks that appeared, vanished
 * and grew between two baselines or traces (a trace is compared by its baseline), in text or
 * JSON. Exit codes: 1 when something appeared or grew, else as enum lg_exit (policy.h). Both
 * formats of the diff are written here: they are small and no other command prints them. */
#define _GNU_SOURCE
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

/* One side of a diff: a baseline file as it is, a trace as its baseline. Returns 0 or an exit
 * code. */
static int side(lg_ci_cmd_t *o, char *path, lg_baseline_t *b)
{
    if (lg_baseline_sniff(path)) {
        char err[600];
        int rc = lg_baseline_load(b, path, err, sizeof err);
        if (rc) fprintf(stderr, "leakgraph diff: %s\n", err);
        return rc ? LG_EXIT_USAGE : 0;
    }
    return lg_ci_cmd_baseline_of(o, &path, 1, b);
}

int lg_cmd_diff(int argc, char **argv)
{
    lg_ci_cmd_t o;
    lg_ci_cmd_init(&o, "diff");
    static const struct option opts[] = {{"policy", required_argument, NULL, OPT_POLICY},
                                         {"policy-file", required_argument, NULL, OPT_POLICY_FILE},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {0}};
    int c, code = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        code = c == '?' ? LG_EXIT_USAGE : lg_ci_cmd_option(&o, c, optarg);
        if (code) return code;
        if (o.format != LG_OUT_TEXT && o.format != LG_OUT_JSON)
            return lg_ci_cmd_usage_error(&o, "%s", "diff prints text or json");
    }
    if (argc - optind != 2) return lg_ci_cmd_usage_error(&o, "%s", "usage: leakgraph diff OLD NEW");
    lg_baseline_t a = {0}, b = {0};
    if ((code = side(&o, argv[optind], &a)) || (code = side(&o, argv[optind + 1], &b))) {
        lg_baseline_free(&a);
        return code;
    }
    uint64_t appeared = 0, vanished = 0, grew = 0, same = 0;
    char b1[32], b2[32], b3[32], b4[32];
    bool json = o.format == LG_OUT_JSON;
    if (json) fputs("{\"version\":1,\"tool\":\"leakgraph\",\"command\":\"diff\",\"changes\":[", stdout);
    int nout = 0;
    /* appeared and grew: walk NEW; vanished: walk OLD */
    for (int pass = 0; pass < 2; pass++) {
        const lg_baseline_t *x = pass ? &a : &b, *y = pass ? &b : &a;
        for (size_t i = 0; i < x->n; i++) {
            const lg_base_entry_t *e = &x->e[i], *f = lg_baseline_find(y, e->fp);
            const char *what;
            if (pass == 1) {
                if (f) continue;
                what = "vanished", vanished++;
            } else if (!f) {
                what = "appeared", appeared++;
            } else if (e->bytes > f->bytes || e->blocks > f->blocks) {
                what = "grew", grew++;
            } else {
                same++;
                continue;
            }
            if (json) {
                fprintf(stdout, "%s\n {\"change\":\"%s\",\"kind\":\"%s\",\"fingerprint\":\"%016" PRIx64
                                "\",\"old\":",
                        nout++ ? "," : "", what, lg_kind_name(e->kind), e->fp);
                const lg_base_entry_t *old = pass ? e : f, *nw = pass ? NULL : e;
                if (old) fprintf(stdout, "{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}", old->bytes, old->blocks);
                else fputs("null", stdout);
                fputs(",\"new\":", stdout);
                if (nw) fprintf(stdout, "{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 "}", nw->bytes, nw->blocks);
                else fputs("null", stdout);
                fputs(",\"signature\":", stdout);
                lg_json_str(stdout, e->sig);
                fputc('}', stdout);
            } else if (!strcmp(what, "grew")) {
                printf("grew      %-9s %s -> %s bytes, %s -> %s blocks  %s\n", lg_kind_name(e->kind),
                       lg_thousands(f->bytes, b1), lg_thousands(e->bytes, b2),
                       lg_thousands(f->blocks, b3), lg_thousands(e->blocks, b4), e->sig);
            } else {
                printf("%-9s %-9s %s bytes in %s blocks  %s\n", what, lg_kind_name(e->kind),
                       lg_thousands(e->bytes, b1), lg_thousands(e->blocks, b2), e->sig);
            }
        }
    }
    code = appeared || grew ? LG_EXIT_LEAKS : LG_EXIT_PASS;
    if (json)
        printf("],\"appeared\":%" PRIu64 ",\"vanished\":%" PRIu64 ",\"grew\":%" PRIu64
               ",\"unchanged\":%" PRIu64 ",\"exit_code\":%d}\n",
               appeared, vanished, grew, same, code);
    else
        printf("leakgraph diff: %" PRIu64 " appeared, %" PRIu64 " vanished, %" PRIu64 " grew, %" PRIu64
               " unchanged\n",
               appeared, vanished, grew, same);
    lg_baseline_free(&a);
    lg_baseline_free(&b);
    if (fflush(stdout) != 0) code = LG_EXIT_ERROR;
    return code;
}
