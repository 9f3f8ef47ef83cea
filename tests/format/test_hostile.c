/* test_hostile.c: the reader (analyzer/replay/) on crafted traces: files whose every block has
 * a right checksum, so that they reach the decoders, but whose contents no leakgraph writer
 * produces (docs/trace-format.md, "Limits of a reader"). Each case is built byte by byte here
 * (file header, blocks with their CRC, zstd frames) and loaded in a child process with a
 * timeout, so a crash (an ASan report in the sanitizer build), a hang or a huge allocation in
 * one case fails that case and the others still run. A case says what the load must give: an
 * error naming the limit, or a trace (complete or not) with given contents.
 *
 * Usage: test_hostile            run every case (CTest format_hostile)
 *        test_hostile --write DIR  write the files that must be refused as
 *                                  DIR/refused-NAME.lgt, and DIR/child.lgt.7 whose parent's
 *                                  trace DIR/child.lgt is a FIFO (for cli_errors.sh, which runs
 *                                  report, dump, check and baseline on them)
 * It touches only a private temporary directory (or DIR). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "codec.h"
#include "harness.h"
#include "lgtest.h"
#include "trace.h"

#if defined(__SANITIZE_ADDRESS__)
#define LG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LG_ASAN 1
#endif
#endif

static char g_dir[4096];

/* ---- building a file byte by byte ---------------------------------------------------------- */
typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf_t;

static uint8_t *room(buf_t *b, size_t more)
{
    if (b->n + more > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + more) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    return b->p + b->n;
}

static void put(buf_t *b, const void *bytes, size_t n)
{
    memcpy(room(b, n), bytes, n);
    b->n += n;
}

static void file_header(buf_t *f)
{
    uint8_t h[LG_TRACE_FILE_HEADER_SIZE] = {0};
    memcpy(h, LG_TRACE_MAGIC, 8);
    lg_put_u32le(h + 8, LG_TRACE_VERSION);
    lg_put_u32le(h + 12, LG_TRACE_FILE_HEADER_SIZE);
    put(f, h, sizeof h);
}

/* A block with a right header and CRC; `raw` as given (it may lie). */
static void block(buf_t *f, uint32_t type, const void *payload, size_t len, uint32_t raw)
{
    uint8_t *at = room(f, LG_TRACE_BLOCK_HEADER_SIZE + len);
    f->n = (size_t)(lgt_put_block(at, type, payload, (uint32_t)len, raw) - f->p);
}

/* An EVENTS (prefix 4 bytes) or SNAPSHOT (prefix 8 bytes) block: the prefix, then the bytes
 * compressed as one zstd frame; the raw length is the true one. */
static void zblock(buf_t *f, uint32_t type, const uint8_t *prefix, size_t plen, const void *src,
                   size_t n)
{
    size_t bound = ZSTD_compressBound(n);
    uint8_t *pl = malloc(plen + bound);
    memcpy(pl, prefix, plen);
    size_t z = ZSTD_compress(pl + plen, bound, src, n, 1);
    if (ZSTD_isError(z)) abort();
    block(f, type, pl, plen + z, (uint32_t)n);
    free(pl);
}

static void events(buf_t *f, uint32_t ring, const void *src, size_t n)
{
    uint8_t prefix[4];
    lg_put_u32le(prefix, ring);
    zblock(f, LG_BLOCK_EVENTS, prefix, 4, src, n);
}

/* The PROCESS block: RINGS = rings, then `extra` key/value bytes. */
static void process(buf_t *f, uint32_t rings, const uint8_t *extra, size_t elen)
{
    buf_t kv = {0};
    uint8_t head[64], *p = head;
    p = lg_kv_int(p, head + sizeof head, LG_KEY_PID, 100);
    p = lg_kv_int(p, head + sizeof head, LG_KEY_RINGS, rings);
    put(&kv, head, (size_t)(p - head));
    if (elen) put(&kv, extra, elen);
    block(f, LG_BLOCK_PROCESS, kv.p, kv.n, (uint32_t)kv.n);
    free(kv.p);
}

/* An END block (exit status 0), then `extra` key/value bytes. */
static void end_block(buf_t *f, const uint8_t *extra, size_t elen)
{
    uint8_t kv[256], *p = kv;
    p = lg_kv_int(p, kv + sizeof kv, LG_KEY_END_REASON, LG_END_EXIT);
    p = lg_kv_int(p, kv + sizeof kv, LG_KEY_EXIT_STATUS, 0);
    if (elen) memcpy(p, extra, elen);
    p += elen;
    block(f, LG_BLOCK_END, kv, (size_t)(p - kv), (uint32_t)(p - kv));
}

/* n bytes repeating `pat` (of plen bytes). */
static uint8_t *pattern(const uint8_t *pat, size_t plen, size_t n)
{
    uint8_t *v = malloc(n);
    for (size_t i = 0; i < n; i++) v[i] = pat[i % plen];
    return v;
}

/* ---- the cases ----------------------------------------------------------------------------- */
/* The 101-byte trace of issue #11: PROCESS says one ring, an END block says 200, then an EVENTS
 * block for ring 100 (the reader took END's RINGS and indexed past its per-ring arrays). */
static void mk_rings_in_end(buf_t *f)
{
    static const uint8_t nop = LG_REC_NOP | LG_TAG_SEQ1;
    uint8_t kv[32], *p = kv;
    p = lg_kv_int(p, kv + sizeof kv, LG_KEY_RINGS, 200);
    file_header(f);
    process(f, 1, NULL, 0);
    end_block(f, kv, (size_t)(p - kv));
    events(f, 100, &nop, 1);
}

/* PROCESS says 4 rings, ring 3 holds a stack and a malloc, END says RINGS = 1 (the reader freed
 * only the states of END's count: the others leaked). END's RINGS is not END's key: ignored. */
static void mk_rings_in_end_smaller(buf_t *f)
{
    uint8_t rec[32], *q = rec;
    *q++ = LG_REC_STACK;
    q = lg_put_uv(q, 1);
    q = lg_put_uv(q, 0x401000);
    *q++ = LG_REC_MALLOC | LG_TAG_SEQ1;
    q = lg_put_sv(q, 0x1000);
    q = lg_put_uv(q, 24);
    q = lg_put_uv(q, 1);
    uint8_t kv[32], *p = kv;
    p = lg_kv_int(p, kv + sizeof kv, LG_KEY_RINGS, 1);
    file_header(f);
    process(f, 4, NULL, 0);
    events(f, 3, rec, (size_t)(q - rec));
    end_block(f, kv, (size_t)(p - kv));
}

/* One EVENTS block of 3 MiB of NOP records: more than a writer puts in a block (its staging
 * flushes at 1 MiB, and one drain adds at most a ring's 1 MiB). */
static void mk_events_block_too_big(buf_t *f)
{
    static const uint8_t nop = LG_REC_NOP | LG_TAG_SEQ1;
    uint8_t *v = pattern(&nop, 1, 3u << 20);
    file_header(f);
    process(f, 1, NULL, 0);
    events(f, 0, v, 3u << 20);
    end_block(f, NULL, 0);
    free(v);
}

/* Eight EVENTS blocks of 2 MiB of NOPs each, a byte repeated: ~20000 times the file's size once
 * decompressed, more than records a program writes ever compress. */
static void mk_volume_ratio(buf_t *f)
{
    static const uint8_t nop = LG_REC_NOP | LG_TAG_SEQ1;
    size_t n = 2u << 20;
    uint8_t *v = pattern(&nop, 1, n);
    file_header(f);
    process(f, 1, NULL, 0);
    for (int i = 0; i < 8; i++) events(f, 0, v, n);
    end_block(f, NULL, 0);
    free(v);
}

/* The most compressible stream a program writes: malloc and free of one address in a loop
 * (same size, no stack), eight 2 MiB blocks. It must still load. */
static void mk_tight_loop(buf_t *f)
{
    static const uint8_t loop[] = {LG_REC_MALLOC | LG_TAG_SEQ1 | LG_TAG_A16, 0x00, 0x10, 0x00,
                                   LG_REC_FREE | LG_TAG_SEQ1 | LG_TAG_A16, 0x00};
    size_t n = (2u << 20) / sizeof loop * sizeof loop;
    uint8_t *v = pattern(loop, sizeof loop, n);
    static const uint8_t first[] = {LG_REC_MALLOC | LG_TAG_SEQ1 | LG_TAG_A16, 0x80, 0x04, 0x10,
                                    0x00}; /* at 0x1000: 0x100 units of 16, sv 0x200 */
    uint8_t *v0 = malloc(n);
    memcpy(v0, first, sizeof first);
    memcpy(v0 + sizeof first, v + 4, n - sizeof first); /* its free, then the loop */
    file_header(f);
    process(f, 1, NULL, 0);
    events(f, 0, v0, n - sizeof loop + 1); /* whole records: first + free + the loop */
    for (int i = 1; i < 8; i++) events(f, 0, v, n);
    end_block(f, NULL, 0);
    free(v);
    free(v0);
}

/* A PROCESS block of 100 KiB (a writer's is at most its region's 64 KiB description plus the
 * keys the collector appends). */
static void mk_process_too_big(buf_t *f)
{
    size_t n = 100u << 10;
    uint8_t *kv = malloc(n + 64), *p = kv;
    while ((size_t)(p - kv) < n) p = lg_kv_str(p, kv + n + 64, LG_KEY_ARG, "a", 1);
    file_header(f);
    process(f, 1, kv, (size_t)(p - kv));
    end_block(f, NULL, 0);
    free(kv);
}

/* The i-th of 255^3 distinct 3-byte names without a NUL. */
static uint8_t *name3(uint8_t *q, size_t i)
{
    *q++ = (uint8_t)(1 + i % 255);
    *q++ = (uint8_t)(1 + i / 255 % 255);
    *q++ = (uint8_t)(1 + i / 65025 % 255);
    return q;
}

/* n distinct TYPE records (3-byte names) in blocks of at most 1 MiB, on ring 0. */
static void put_types(buf_t *f, size_t n)
{
    size_t per = (1u << 20) / 5;
    uint8_t *v = malloc(per * 5);
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (uint8_t *q = v; k < per && i < n; k++, i++) {
            *q++ = LG_REC_TYPE;
            *q++ = 3;
            q = name3(q, i);
        }
        events(f, 0, v, k * 5);
    }
    free(v);
}

/* 400 000 distinct runtime type names: interning each by a linear search took time quadratic
 * in their number (minutes for a 2 MB file). */
static void mk_many_types(buf_t *f)
{
    file_header(f);
    process(f, 1, NULL, 0);
    put_types(f, 400000);
    end_block(f, NULL, 0);
}

/* One walk with 300 000 references of distinct labels (the same linear search for labels). */
static void mk_many_labels(buf_t *f)
{
    size_t n = 300000, per = (1u << 20) / 8;
    uint8_t *v = malloc(per * 8 + 64), *q = v;
    *q++ = LG_REC_WALK | LG_TAG_SEQ1;
    q = lg_put_uv(q, 1);
    q = lg_put_bytes(q, "py", 2);
    *q++ = LG_REC_WALK_OBJ;
    q = lg_put_sv(q, 0x10000);
    q = lg_put_uv(q, 32);
    q = lg_put_uv(q, 0);
    q = lg_put_sv(q, 1);
    file_header(f);
    process(f, 1, NULL, 0);
    for (size_t i = 0; i < n;) {
        for (size_t k = 0; k < per && i < n; k++, i++) {
            *q++ = LG_REC_WALK_REF;
            *q++ = 0x10; /* referent: +8 */
            *q++ = 0x01; /* index -1 */
            *q++ = 3;
            q = name3(q, i);
        }
        events(f, 0, v, (size_t)(q - v));
        q = v;
    }
    *q++ = LG_REC_WALK_END;
    q = lg_put_uv(q, 1);
    q = lg_put_sv(q, 0);
    events(f, 0, v, (size_t)(q - v));
    end_block(f, NULL, 0);
    free(v);
}

/* 150 000 MODULE records, then 150 000 unloads of module 0: finding a module by id was a
 * linear search from the latest module (time quadratic in their number). */
static void mk_many_modules(buf_t *f)
{
    size_t n = 150000;
    uint8_t *v = malloc((1u << 20) + 64), *q = v;
    file_header(f);
    process(f, 1, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        *q++ = LG_REC_MODULE | LG_TAG_SEQ1;
        q = lg_put_uv(q, i + 1);
        q = lg_put_uv(q, 0);          /* bias */
        q = lg_put_uv(q, 0x400000);   /* start */
        q = lg_put_uv(q, 0x401000);   /* end */
        *q++ = 0;                     /* path */
        *q++ = 0;                     /* build id */
        if ((size_t)(q - v) > (1u << 20) || i + 1 == n) {
            events(f, 0, v, (size_t)(q - v));
            q = v;
        }
    }
    for (size_t i = 0; i < n; i++) {
        *q++ = LG_REC_UNMODULE | LG_TAG_SEQ1;
        *q++ = 1; /* the first module, found last by a search from the latest */
    }
    events(f, 0, v, (size_t)(q - v));
    end_block(f, NULL, 0);
    free(v);
}

/* 1 000 000 mallocs at address 0 (the live set's empty key: each one counted a new block and
 * grew the table). Address 0 is never recorded. */
static void mk_alloc_at_zero(buf_t *f)
{
    static const uint8_t rec[] = {LG_REC_MALLOC | LG_TAG_SEQ1, 0x00, 0x10, 0x00};
    size_t n = 1000000 * sizeof rec;
    uint8_t *v = pattern(rec, sizeof rec, n);
    file_header(f);
    process(f, 1, NULL, 0);
    for (size_t off = 0; off < n; off += 1u << 20)
        events(f, 0, v + off, n - off > (1u << 20) ? (1u << 20) : n - off);
    end_block(f, NULL, 0);
    free(v);
}

#ifndef LG_ASAN /* ASan reserves terabytes of address space: no RLIMIT_AS under it */
/* Two million live blocks in 8 MB of records: the live set needs ~160 MB. Loaded with 96 MB
 * of address space, it must fail with "out of memory", not drop blocks and exit 0. */
static void mk_out_of_memory(buf_t *f)
{
    static const uint8_t rec[] = {LG_REC_MALLOC | LG_TAG_SEQ1 | LG_TAG_A16, 0x02, 0x10, 0x00};
    size_t n = (1u << 20) / sizeof rec * sizeof rec;
    uint8_t *v = pattern(rec, sizeof rec, n);
    file_header(f);
    process(f, 1, NULL, 0);
    for (int i = 0; i < 8; i++) events(f, 0, v, n);
    end_block(f, NULL, 0);
    free(v);
}
#endif

/* ---- fork parents ------------------------------------------------------------------------- */
/* A child trace (PARENT_PID 1, FORK_SEQ 10) naming `parent` as its parent's trace. */
static void mk_child(buf_t *f, const char *parent)
{
    uint8_t kv[4200], *p = kv, *e = kv + sizeof kv;
    p = lg_kv_int(p, e, LG_KEY_PARENT_PID, 1);
    p = lg_kv_int(p, e, LG_KEY_FORK_SEQ, 10);
    p = lg_kv_str(p, e, LG_KEY_PARENT_TRACE, parent, strlen(parent));
    file_header(f);
    process(f, 1, kv, (size_t)(p - kv));
    end_block(f, NULL, 0);
}

/* A parent trace with one live block (seq 0), written by the real writer. */
static int write_parent(const char *path)
{
    lgt_builder_t *b = calloc(1, sizeof *b);
    int rc = lgt_open(b, path);
    if (rc == 0) {
        lgt_malloc(b, 1, 0, 0x5000, 64, 0);
        rc = lgt_finish(b, LG_END_EXIT, 0, 0, 0);
    }
    lgt_close(b);
    free(b);
    return rc;
}

/* ---- running a case ----------------------------------------------------------------------- */
typedef struct result {
    int rc, complete, timed_out, crashed;
    uint64_t nlive, nevents, nrings, ntypes, nlabels, nmods, inherited;
    double secs;
    char err[512], problem[512], inherit[512];
} result_t;

/* Loads `path` in a child process limited to `secs` seconds (and, with `as_mb`, to that much
 * address space); the result comes back through a shared page. */
static result_t load_guarded(const char *path, int secs, size_t as_mb)
{
    result_t *shm = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                         -1, 0);
    result_t r = {0};
    if (shm == MAP_FAILED) abort();
    memset(shm, 0, sizeof *shm);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        alarm((unsigned)secs);
        if (as_mb) {
            struct rlimit rl = {as_mb << 20, as_mb << 20};
            setrlimit(RLIMIT_AS, &rl);
        }
        lg_trace_t t;
        shm->rc = lg_trace_load(path, &t, NULL, NULL, shm->err, sizeof shm->err);
        if (shm->rc == 0) {
            shm->complete = t.complete;
            shm->nlive = t.nlive;
            shm->nevents = t.nevents;
            shm->nrings = t.nrings;
            shm->ntypes = t.ntypes;
            shm->nlabels = t.nlabels;
            shm->nmods = t.nmods;
            shm->inherited = t.inherited_blocks;
            snprintf(shm->problem, sizeof shm->problem, "%s", t.problem ? t.problem : "");
            snprintf(shm->inherit, sizeof shm->inherit, "%s",
                     t.inherit_problem ? t.inherit_problem : "");
        }
        lg_trace_free(&t);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r = *shm;
    munmap(shm, sizeof *shm);
    r.secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    r.timed_out = WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM;
    r.crashed = !r.timed_out && !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (r.timed_out || r.crashed) r.rc = 1; /* neither a result nor an error message */
    return r;
}

/* What a load gave, for failure messages: SAYF in the format, SAYA(r) among the arguments. */
#define SAYF "rc=%d err='%s' complete=%d problem='%s' crashed=%d timed_out=%d %.1fs"
#define SAYA(r) (r).rc, (r).err, (r).complete, (r).problem, (r).crashed, (r).timed_out, (r).secs

/* Builds a case into DIR/NAME.lgt and returns the path (static storage). */
static const char *write_case(const char *dir, const char *name, void (*mk)(buf_t *))
{
    static char path[4300];
    buf_t f = {0};
    mk(&f);
    snprintf(path, sizeof path, "%s/%s.lgt", dir, name);
    if (lgt_write_file(path, f.p, f.n)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    free(f.p);
    return path;
}

/* The files every command must refuse with an error (no result, exit non-zero). */
static const struct refused {
    const char *name;
    void (*mk)(buf_t *);
    const char *want; /* in the error message */
} g_refused[] = {
    {"rings-in-end", mk_rings_in_end, "ring 100"},
    {"events-block-too-big", mk_events_block_too_big, "more than a writer"},
    {"volume-ratio", mk_volume_ratio, "times the file's size"},
    {"process-too-big", mk_process_too_big, "more than a writer"},
};

static void test_refused(void)
{
    for (size_t i = 0; i < sizeof g_refused / sizeof g_refused[0]; i++) {
        const struct refused *c = &g_refused[i];
        result_t r = load_guarded(write_case(g_dir, c->name, c->mk), 60, 0);
        CHECK_MSG(r.rc < 0 && strstr(r.err, c->want), "%s: want an error with '%s': " SAYF,
                  c->name, c->want, SAYA(r));
        CHECK_MSG(r.rc >= 0 || strchr(r.err, '\n') == NULL, "%s: one line", c->name);
    }
}

static void test_accepted(void)
{
    result_t r = load_guarded(write_case(g_dir, "rings-smaller", mk_rings_in_end_smaller), 60, 0);
    CHECK_MSG(r.rc == 0 && r.complete == 1 && r.nrings == 4 && r.nlive == 1,
              "rings-in-end-smaller: want complete, 4 rings, 1 live, nrings=%llu nlive=%llu: " SAYF,
              (unsigned long long)r.nrings, (unsigned long long)r.nlive, SAYA(r));

    r = load_guarded(write_case(g_dir, "tight-loop", mk_tight_loop), 120, 0);
    CHECK_MSG(r.rc == 0 && r.complete == 1 && r.nlive == 0 && r.nevents > 5000000,
              "tight-loop: a program's most compressible stream must load: nevents=%llu "
              "nlive=%llu " SAYF, (unsigned long long)r.nevents, (unsigned long long)r.nlive,
              SAYA(r));

    /* Time bounds: generous (a sanitizer build, a loaded machine), far below the quadratic
     * searches' minutes. */
    r = load_guarded(write_case(g_dir, "many-types", mk_many_types), 60, 0);
    CHECK_MSG(r.rc == 0 && r.complete == 1 && r.ntypes == 400001, "many-types: ntypes=%llu " SAYF,
              (unsigned long long)r.ntypes, SAYA(r));
    r = load_guarded(write_case(g_dir, "many-labels", mk_many_labels), 60, 0);
    CHECK_MSG(r.rc == 0 && r.complete == 1 && r.nlabels == 300001,
              "many-labels: nlabels=%llu " SAYF, (unsigned long long)r.nlabels, SAYA(r));
    r = load_guarded(write_case(g_dir, "many-modules", mk_many_modules), 60, 0);
    CHECK_MSG(r.rc == 0 && r.complete == 1 && r.nmods == 150000, "many-modules: nmods=%llu " SAYF,
              (unsigned long long)r.nmods, SAYA(r));

    r = load_guarded(write_case(g_dir, "alloc-at-zero", mk_alloc_at_zero), 60, 0);
    CHECK_MSG(r.rc == 0 && r.complete == 0 && strstr(r.problem, "undecodable record") &&
                  r.nlive == 0,
              "alloc-at-zero: want incomplete, undecodable, nothing live: " SAYF, SAYA(r));

#ifndef LG_ASAN /* ASan reserves terabytes of address space: no RLIMIT_AS under it */
    r = load_guarded(write_case(g_dir, "out-of-memory", mk_out_of_memory), 60, 96);
    CHECK_MSG(r.rc == -ENOMEM && strstr(r.err, "out of memory"),
              "out-of-memory: want -ENOMEM, not a trace with blocks dropped: " SAYF, SAYA(r));
#endif
}

static void mk_child_file(const char *name, const char *parent, char *out, size_t outlen)
{
    buf_t f = {0};
    mk_child(&f, parent);
    snprintf(out, outlen, "%s/%s", g_dir, name);
    if (lgt_write_file(out, f.p, f.n)) exit(1);
    free(f.p);
}

static void test_parents(void)
{
    char parent[4300], child[4300], other[4300], fifo[4300], link[4300];
    /* beside the child, as `leakgraph run` writes them: inherited */
    snprintf(parent, sizeof parent, "%s/p.lgt", g_dir);
    CHECK_EQ(write_parent(parent), 0);
    mk_child_file("p.lgt.101", parent, child, sizeof child);
    result_t r = load_guarded(child, 60, 0);
    CHECK_MSG(r.rc == 0 && r.complete == 1 && r.inherited == 1 && r.nlive == 1 && !r.inherit[0],
              "parent beside: inherited=%llu inherit='%s' " SAYF,
              (unsigned long long)r.inherited, r.inherit, SAYA(r));

    /* in another directory, named by an absolute path: not opened */
    snprintf(other, sizeof other, "%s/elsewhere", g_dir);
    mkdir(other, 0700);
    snprintf(parent, sizeof parent, "%s/elsewhere/q.lgt", g_dir);
    CHECK_EQ(write_parent(parent), 0);
    mk_child_file("q.lgt.102", parent, child, sizeof child);
    r = load_guarded(child, 60, 0);
    CHECK_MSG(r.rc == 0 && r.inherited == 0 && strstr(r.inherit, "q.lgt"),
              "parent elsewhere: inherited=%llu inherit='%s' " SAYF,
              (unsigned long long)r.inherited, r.inherit, SAYA(r));

    /* a FIFO beside the child: no hang, not a regular file */
    snprintf(fifo, sizeof fifo, "%s/fifo.lgt", g_dir);
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    mk_child_file("fifo.lgt.103", fifo, child, sizeof child);
    r = load_guarded(child, 20, 0);
    CHECK_MSG(r.rc == 0 && r.inherited == 0 && strstr(r.inherit, "not a regular file"),
              "parent FIFO: inherit='%s' " SAYF, r.inherit, SAYA(r));

    /* a symbolic link beside the child, to a good trace elsewhere: not followed */
    snprintf(link, sizeof link, "%s/link.lgt", g_dir);
    CHECK_EQ(symlink(parent, link), 0);
    mk_child_file("link.lgt.104", link, child, sizeof child);
    r = load_guarded(child, 20, 0);
    CHECK_MSG(r.rc == 0 && r.inherited == 0 && r.inherit[0],
              "parent symlink: inherited=%llu inherit='%s' " SAYF,
              (unsigned long long)r.inherited, r.inherit, SAYA(r));

    /* a device node named by an absolute path (/dev/zero): never opened (only the child's
     * directory is searched, for "zero") */
    mk_child_file("dev.lgt.105", "/dev/zero", child, sizeof child);
    r = load_guarded(child, 20, 0);
    CHECK_MSG(r.rc == 0 && r.inherited == 0 && strstr(r.inherit, g_dir),
              "parent /dev/zero: inherit='%s' " SAYF, r.inherit, SAYA(r));
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        char name[256], fifo[4300];
        for (size_t i = 0; i < sizeof g_refused / sizeof g_refused[0]; i++) {
            snprintf(name, sizeof name, "refused-%s", g_refused[i].name);
            write_case(argv[2], name, g_refused[i].mk);
        }
        /* child.lgt.7, whose parent's trace child.lgt is a FIFO */
        snprintf(fifo, sizeof fifo, "%s/child.lgt", argv[2]);
        buf_t f = {0};
        mk_child(&f, fifo);
        snprintf(fifo, sizeof fifo, "%s/child.lgt.7", argv[2]);
        if (lgt_write_file(fifo, f.p, f.n)) return 1;
        free(f.p);
        snprintf(fifo, sizeof fifo, "%s/child.lgt", argv[2]);
        return mkfifo(fifo, 0600) ? 1 : 0;
    }
    if (lgt_tmpdir(g_dir, sizeof g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_refused();
    test_accepted();
    test_parents();
    lgt_rmtree(g_dir);
    return check_result("test_hostile");
}
