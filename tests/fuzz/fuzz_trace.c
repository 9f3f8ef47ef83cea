/* fuzz_trace.c: the analyzer's fuzz target (fuzz_trace.h has the input format, docs/fuzzing.md
 * how to run it). Two halves:
 *   1. lgfz_assemble: an input -> trace files, written as trace/writer.c writes them (the same
 *      block header, CRC-32C from lg_crc32c, zstd level 1), so that mutated records and
 *      snapshots pass the checksum and reach decode.c and snapshot.c;
 *   2. run_analyzer: what the commands run on traces, in their order, with every output sent
 *      to /dev/null: lg_trace_load (with an event callback, as `dump` has), `dump`, the leak set
 *      (report's and check's), the text and JSON report, the DOT graph, and the CI verdict
 *      (records, suppressions in the three formats, a baseline made and applied, the policy,
 *      then the text summary, CI JSON, SARIF, JUnit and --gen-suppressions in each format).
 * It must find bugs rather than hide them: it checks nothing itself (a crash, a leak, undefined
 * behaviour or a hang is the finding) and keeps no state from one input to the next but the
 * private directory, the suppression rules (lg_supp_apply resets their counts) and /dev/null.
 * It must never write outside its private directory ($TMPDIR/lgfuzz.PID), and removes only such
 * directories of processes that are gone. */
#define _GNU_SOURCE
#include "fuzz_trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "baseline.h"
#include "ci_out.h"
#include "codec.h"
#include "graph.h"
#include "junit.h"
#include "leaks.h"
#include "policy.h"
#include "report.h"
#include "sarif.h"
#include "suppress.h"
#include "trace.h"

/* ---- assembling trace files ----------------------------------------------------------------- */

typedef struct lgfz_buf {
    uint8_t *p;
    size_t len, cap;
} lgfz_buf_t;

static int buf_reserve(lgfz_buf_t *b, size_t n)
{
    if (n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The path of file i in dir; "" (which no call can open) if it does not fit. */
static void file_path(char *out, size_t len, const char *dir, int i)
{
    if (snprintf(out, len, "%s/t%d.lgt", dir, i) >= (int)len) out[0] = 0;
}

static int open_file(const char *dir, int i)
{
    char path[4096];
    file_path(path, sizeof path, dir, i);
    return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

/* The 32-byte file header (docs/trace-format.md 2.1). */
static int write_file_header(int fd, uint32_t version)
{
    uint8_t h[LG_TRACE_FILE_HEADER_SIZE] = {0};
    memcpy(h, LG_TRACE_MAGIC, 8);
    lg_put_u32le(h + 8, version);
    lg_put_u32le(h + 12, LG_TRACE_FILE_HEADER_SIZE);
    return write_all(fd, h, sizeof h);
}

/* One block from one chunk into b (header, prefix, payload), as trace/writer.c's
 * put_block_header and compress_block build it; the flags then damage it on purpose. Returns 0
 * or -1 (out of memory, or zstd failed). */
static int build_block(lgfz_buf_t *b, ZSTD_CCtx *zc, uint32_t type, unsigned flags,
                       uint32_t index, const uint8_t *payload, size_t len)
{
    uint8_t prefix[8];
    size_t plen = 0;
    bool compress = false;
    if (type == LG_BLOCK_EVENTS) {
        lg_put_u32le(prefix, index);
        plen = 4;
        compress = !(flags & LGFZ_F_STORED);
    } else if (type == LG_BLOCK_SNAPSHOT) {
        lg_put_u32le(prefix, index);
        lg_put_u32le(prefix + 4, flags & LGFZ_F_NOTLAST ? 0u : 1u);
        plen = 8;
        compress = !(flags & LGFZ_F_STORED);
    }
    static lgfz_buf_t rep;
    static const size_t fill[4] = {0, 64u << 10, 1u << 20, LG_TRACE_MAX_BLOCK};
    size_t want = fill[(flags & LGFZ_F_REPEAT) >> 5];
    if (compress && want && len && len < want) { /* the payload repeated, cut at `want` */
        if (buf_reserve(&rep, want)) return -1;
        for (size_t off = 0; off < want; off += len)
            memcpy(rep.p + off, payload, want - off < len ? want - off : len);
        payload = rep.p;
        len = want;
    }
    size_t bound = LG_TRACE_BLOCK_HEADER_SIZE + plen + (compress ? ZSTD_compressBound(len) : len);
    if (buf_reserve(b, bound)) return -1;
    uint8_t *h = b->p, *body = h + LG_TRACE_BLOCK_HEADER_SIZE;
    memcpy(body, prefix, plen);
    size_t n = len;
    if (compress) {
        n = ZSTD_compressCCtx(zc, body + plen, bound - LG_TRACE_BLOCK_HEADER_SIZE - plen,
                              payload, len, 1);
        if (ZSTD_isError(n)) return -1;
    } else if (len) {
        memcpy(body + plen, payload, len);
    }
    uint32_t stored = (uint32_t)(plen + n);
    lg_put_u32le(h, type);
    lg_put_u32le(h + 4, stored);
    lg_put_u32le(h + 8, (uint32_t)len + (flags & LGFZ_F_RAWLIE ? 1u : 0u));
    uint32_t crc = lg_crc32c(lg_crc32c(0, h, 12), body, stored);
    lg_put_u32le(h + 12, crc ^ (flags & LGFZ_F_BADCRC ? 1u : 0u));
    b->len = LG_TRACE_BLOCK_HEADER_SIZE + stored;
    return 0;
}

int lgfz_assemble(const uint8_t *data, size_t size, const char *dir)
{
    static ZSTD_CCtx *zc;
    static lgfz_buf_t blk;
    if (!zc && !(zc = ZSTD_createCCtx())) return -1;
    int nfiles = 0, fd = -1, rc = 0;
    if (size >= 1 && (data[0] & LGFZ_MODE_RAW)) {
        fd = open_file(dir, 0);
        if (fd < 0 || write_all(fd, data + 1, size - 1)) rc = -1;
        nfiles = 1;
        goto out;
    }
    if (size < 2) return 0;
    uint32_t version = data[0] & LGFZ_MODE_V1 ? 1u : LG_TRACE_VERSION;
    const uint8_t *p = data + 2, *end = data + size;
    bool cut = false;
    if ((fd = open_file(dir, 0)) < 0 || write_file_header(fd, version)) {
        rc = -1;
        goto out;
    }
    nfiles = 1;
    while (end - p >= LGFZ_CHUNK_HEADER) {
        uint8_t type = p[0], flags = p[1];
        uint32_t index = lg_get_u32le(p + 2), len = lg_get_u32le(p + 6);
        p += LGFZ_CHUNK_HEADER;
        if (len > (size_t)(end - p)) len = (uint32_t)(end - p);
        const uint8_t *payload = p;
        p += len;
        if (type == LGFZ_NEXT_FILE) {
            if (nfiles == LGFZ_MAX_FILES) break;
            close(fd);
            if ((fd = open_file(dir, nfiles)) < 0 || write_file_header(fd, version)) {
                rc = -1;
                goto out;
            }
            nfiles++;
            cut = false;
            continue;
        }
        if (cut) continue;
        if (build_block(&blk, zc, type, flags, index, payload, len)) {
            rc = -1;
            goto out;
        }
        size_t n = blk.len;
        if (flags & LGFZ_F_CUT) { /* half the payload, or half the header without one */
            n = n > LG_TRACE_BLOCK_HEADER_SIZE ? LG_TRACE_BLOCK_HEADER_SIZE + (n - LG_TRACE_BLOCK_HEADER_SIZE) / 2
                                                : LG_TRACE_BLOCK_HEADER_SIZE / 2;
            cut = true;
        }
        if (write_all(fd, blk.p, n)) {
            rc = -1;
            goto out;
        }
    }
out:
    if (fd >= 0) close(fd);
    for (int i = nfiles; i < LGFZ_MAX_FILES; i++) { /* files of an earlier input */
        char path[4096];
        file_path(path, sizeof path, dir, i);
        unlink(path);
    }
    return rc ? -1 : nfiles;
}

/* ---- running the analyzer --------------------------------------------------------------------- */

/* The CI policies an input can pick (options bits 6-7): the default, every kind, limits per
 * kind, per record and in total. */
static const char *const lgfz_policies[4] = {
    "default",
    "all",
    "definite:bytes<=1K:blocks<=3,indirect,possible:blocks<=1,cycle,refcount,unfreed:bytes<=64",
    "reachable,unfreed,record:bytes<=100,total:blocks<=5",
};

/* One rule file per suppression format (docs/ci.md), loaded once: rules with globs, ellipses,
 * kinds and limits, so that matching runs on every record. */
static const char lgfz_supp_leakgraph[] =
    "rule main-any\n  kind definite,indirect,cycle\n  frame ...\n  frame fun=main\n"
    "  max-bytes 4096\nrule star\n  frame *\n  frame fun=m* file=*.c\n  max-blocks 3\n"
    "rule module\n  frame mod=lib*.so*\n";
static const char lgfz_supp_valgrind[] =
    "{\n   vg-malloc\n   Memcheck:Leak\n   match-leak-kinds: definite,possible\n   fun:malloc\n"
    "   ...\n   fun:main\n}\n{\n   vg-src\n   Memcheck:Leak\n   ...\n   src:*.c:1?\n}\n";
static const char lgfz_supp_lsan[] = "leak:^main$\nleak:libc.so\nleak:*leak*\n";

typedef struct lgfz_state {
    char dir[2048];
    FILE *null;
    lg_supp_set_t supp;
} lgfz_state_t;

static lgfz_state_t S;

/* Removes a private directory: its trace files, then itself (the suppression files are gone
 * once read). */
static void remove_dir(const char *dir)
{
    char path[4096];
    for (int i = 0; i < LGFZ_MAX_FILES; i++) {
        file_path(path, sizeof path, dir, i);
        unlink(path);
    }
    rmdir(dir);
}

static void lgfz_cleanup(void)
{
    remove_dir(S.dir);
}

/* libFuzzer ends its processes with _exit after a finding, a timeout and in -fork mode, so
 * atexit does not always run: the directories of processes that are gone are removed here
 * (each is named after its process's pid). */
static void remove_stale_dirs(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, "lgfuzz.", 7) != 0) continue;
        long pid = strtol(e->d_name + 7, &end, 10);
        if (*end || pid <= 0 || pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char dir[2048];
        if (snprintf(dir, sizeof dir, "%s/%s", tmp, e->d_name) < (int)sizeof dir) remove_dir(dir);
    }
    closedir(d);
}

/* The private directory, /dev/null and the suppression rules; exits when it cannot have them
 * (nothing could be fuzzed). */
static void lgfz_init(void)
{
    if (S.null) return;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    remove_stale_dirs(tmp);
    if (snprintf(S.dir, sizeof S.dir, "%s/lgfuzz.%ld", tmp, (long)getpid()) >= (int)sizeof S.dir) {
        fputs("lg_fuzz: TMPDIR is too long\n", stderr);
        exit(2);
    }
    remove_dir(S.dir); /* a gone process's, with the same pid */
    if (mkdir(S.dir, 0700) != 0 || !(S.null = fopen("/dev/null", "w"))) {
        perror("lg_fuzz: private directory or /dev/null");
        exit(2);
    }
    atexit(lgfz_cleanup);
    static const struct {
        const char *name, *text;
    } files[] = {{"leakgraph.supp", lgfz_supp_leakgraph},
                 {"valgrind.supp", lgfz_supp_valgrind},
                 {"lsan.supp", lgfz_supp_lsan}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[4096], err[600];
        FILE *f = snprintf(path, sizeof path, "%s/%s", S.dir, files[i].name) < (int)sizeof path
                      ? fopen(path, "w")
                      : NULL;
        if (!f || fputs(files[i].text, f) == EOF || fclose(f) != 0 ||
            lg_supp_load(&S.supp, path, err, sizeof err)) {
            fprintf(stderr, "lg_fuzz: suppressions %s: %s\n", files[i].name, f ? err : strerror(errno));
            exit(2);
        }
        unlink(path);
    }
}

/* The event callback, as `dump` has one: looks at every event and at the module map. */
static void on_event(void *ctx, const lg_trace_t *t, const lg_event_t *ev)
{
    uint64_t *sum = ctx;
    *sum += ev->seq + ev->type + ev->stack;
    if (ev->type <= LG_REC_REALLOC && lg_trace_module_at(t, ev->addr, ev->seq) >= 0) (*sum)++;
}

/* The CI verdict of a leak set, in every output: what check, baseline and run --check run
 * (cli/pipeline.c), with a baseline made from the set itself and applied to it. */
static void run_ci(lg_leakset_t *ls, unsigned options)
{
    lg_policy_t pol;
    char err[512];
    if (lg_policy_parse(&pol, lgfz_policies[options >> 6 & 3], err, sizeof err)) {
        fprintf(stderr, "lg_fuzz: policy: %s\n", err);
        abort(); /* the harness's own policies must parse */
    }
    lg_ci_set_t cs;
    if (lg_ci_build(&cs, ls, &pol) == 0 && lg_supp_apply(&S.supp, &cs) == 0) {
        lg_baseline_t base;
        bool have_base = lg_baseline_from(&base, &cs) == 0;
        if (have_base) {
            lg_baseline_write(S.null, &base);
            if (lg_baseline_apply(&base, &cs)) have_base = false, lg_baseline_free(&base);
        }
        if (lg_policy_eval(&cs) == 0) {
            int code = cs.failed ? LG_EXIT_LEAKS : LG_EXIT_PASS;
            lg_ci_out_t co = {.cmd = "check", .supp = &S.supp, .base = have_base ? &base : NULL,
                              .baseline_path = "fuzz.baseline", .program_status = -1,
                              .exit_code = code};
            lg_ci_text(S.null, &cs, &co);
            lg_ci_json(S.null, &cs, &co);
            lg_sarif_opts_t so = {.source_root = "/usr", .version = "fuzz", .supp = &S.supp,
                                  .exit_code = code};
            lg_sarif_write(S.null, &cs, &so);
            lg_junit_opts_t jo = {.program_status = -1};
            lg_junit_write(S.null, &cs, &jo);
            for (int f = LG_SUPP_LEAKGRAPH; f <= LG_SUPP_LSAN; f++) lg_ci_gen_supp(S.null, &cs, f);
        }
        if (have_base) lg_baseline_free(&base);
    }
    lg_ci_free(&cs);
}

static void run_analyzer(int nfiles, unsigned mode, unsigned options)
{
    lg_trace_t ts[LGFZ_MAX_FILES];
    size_t loaded = 0;
    char err[512];
    uint64_t sum = 0;
    for (int i = 0; i < nfiles; i++) {
        char path[4096];
        file_path(path, sizeof path, S.dir, i);
        if (mode & LGFZ_MODE_DUMP) lg_dump(S.null, path, err, sizeof err);
        memset(&ts[loaded], 0, sizeof ts[loaded]);
        if (lg_trace_load(path, &ts[loaded], on_event, &sum, err, sizeof err)) {
            lg_trace_free(&ts[loaded]);
            continue;
        }
        loaded++;
    }
    if (loaded) {
        lg_leak_opts_t lo = {.check = options & 3, .since = options >> 2 & 3};
        lg_leakset_t ls;
        if (lg_leakset_build(&ls, ts, loaded, &lo, err, sizeof err) == 0) {
            lg_report_opts_t ro = {.format = LG_FORMAT_TEXT, .max_frames = options & 0x20 ? 2 : 0,
                                   .show_reachable = options & 0x10};
            lg_report(S.null, &ls, &ro);
            ro.format = LG_FORMAT_JSON;
            lg_report(S.null, &ls, &ro);
            lg_graph_dot(S.null, &ls);
            run_ci(&ls, options);
        }
        lg_leakset_free(&ls);
    }
    for (size_t i = 0; i < loaded; i++) lg_trace_free(&ts[i]);
    fflush(S.null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lgfz_init();
    int n = lgfz_assemble(data, size, S.dir);
    if (n < 0) {
        perror("lg_fuzz: writing the trace files");
        abort(); /* the harness's own failure must not pass for a clean input */
    }
    if (n > 0) run_analyzer(n, data[0], size >= 2 && !(data[0] & LGFZ_MODE_RAW) ? data[1] : 0);
    char path[4096];
    for (int i = 0; i < n; i++) {
        file_path(path, sizeof path, S.dir, i);
        unlink(path);
    }
    return 0;
}
