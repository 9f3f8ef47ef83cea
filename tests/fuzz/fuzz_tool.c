/* fuzz_tool.c: a main() around the fuzz target, for builds without libFuzzer, and the two
 * conversions between trace files and the target's inputs (fuzz_trace.h):
 *
 *   lg_fuzz_tool INPUT|DIR...          runs the target once on each input (every file of a
 *                                      DIR): the corpus on every build (CTest fuzz_smoke), or
 *                                      a crash found by libFuzzer under a debugger
 *   lg_fuzz_tool --emit DIR INPUT      writes the trace files INPUT describes into DIR
 *                                      (t0.lgt, ...), to replay a finding with the CLI
 *   lg_fuzz_tool --seed OUT TRACE...   turns real traces (a process and its children) into
 *                                      one input: each block a chunk, EVENTS and SNAPSHOT
 *                                      payloads decompressed, PARENT_TRACE renamed t<i>.lgt,
 *                                      and module paths made independent of the machine
 *                                      (module_path below)
 *
 * It prints what it ran and exits 0; a finding ends it the way the sanitizers end a program. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "codec.h"
#include "fuzz_trace.h"
#include "leakgraph/trace_format.h"

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    *len = n;
    return buf;
}

/* ---- running inputs ------------------------------------------------------------------------ */

static int run_one(const char *path, long *count)
{
    size_t len;
    uint8_t *data = read_file(path, &len);
    if (!data) {
        fprintf(stderr, "lg_fuzz_tool: %s: %s\n", path, strerror(errno));
        return -1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    (*count)++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order (so that runs are repeatable). */
static int run_dir(const char *dir, long *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "lg_fuzz_tool: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) rc = -1;
            else names = nn;
        }
        if (rc == 0 && asprintf(&names[n++], "%s/%s", dir, e->d_name) < 0) rc = -1, n--;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) rc = run_one(names[i], count);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ---- --seed: trace files -> one input ------------------------------------------------------ */

typedef struct out_buf {
    uint8_t *p;
    size_t len, cap;
} out_buf_t;

static void put(out_buf_t *o, const void *data, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 65536;
        while (cap < o->len + n) cap *= 2;
        uint8_t *nb = realloc(o->p, cap);
        if (!nb) {
            fputs("lg_fuzz_tool: out of memory\n", stderr);
            exit(1);
        }
        o->p = nb;
        o->cap = cap;
    }
    if (n) memcpy(o->p + o->len, data, n);
    o->len += n;
}

static void put_chunk(out_buf_t *o, uint8_t type, uint8_t flags, uint32_t index,
                      const uint8_t *payload, size_t len)
{
    uint8_t h[LGFZ_CHUNK_HEADER] = {type, flags};
    lg_put_u32le(h + 2, index);
    lg_put_u32le(h + 6, (uint32_t)len);
    put(o, h, sizeof h);
    put(o, payload, len);
}

static const char *base_name(const char *p, size_t n, size_t *blen)
{
    const char *b = p;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '/') b = p + i + 1;
    *blen = n - (size_t)(b - p);
    return b;
}

/* A PROCESS list with PARENT_TRACE renamed to t<i>.lgt when it names (by base name) trace i of
 * the set, so that the harness's files find each other; other keys are copied as they are. */
static void put_process(out_buf_t *o, const uint8_t *kv, size_t len, char **traces, int ntraces)
{
    out_buf_t nk = {0};
    lg_cursor_t c = {kv, kv + len, 0};
    while (c.p < c.end) {
        const uint8_t *start = c.p;
        uint64_t key = lg_get_uv(&c);
        size_t n;
        const uint8_t *v = lg_get_bytes(&c, &n);
        if (c.bad) { /* not a list: keep the bytes */
            put(&nk, start, (size_t)(kv + len - start));
            break;
        }
        int match = -1;
        if (key == LG_KEY_PARENT_TRACE) {
            size_t bl;
            const char *b = base_name((const char *)v, n, &bl);
            for (int i = 0; i < ntraces && match < 0; i++) {
                size_t tl;
                const char *tb = base_name(traces[i], strlen(traces[i]), &tl);
                if (tl == bl && memcmp(tb, b, bl) == 0) match = i;
            }
        }
        if (match < 0) {
            put(&nk, start, (size_t)(c.p - start));
            continue;
        }
        char name[32];
        int nl = snprintf(name, sizeof name, "t%d.lgt", match);
        uint8_t h[2 * LG_VARINT_MAX], *q = lg_put_uv(h, key);
        q = lg_put_uv(q, (uint64_t)nl);
        put(&nk, h, (size_t)(q - h));
        put(&nk, name, (size_t)nl);
    }
    put_chunk(o, LG_BLOCK_PROCESS, 0, 0, nk.p, nk.len);
    free(nk.p);
}

/* ---- --seed: module paths --------------------------------------------------------------------
 * A seed must run the same everywhere and fast: the analyzer symbolizes every stack from the
 * module paths of the MODULE records, and a real trace names the build directory of the machine
 * that made it and system libraries whose separate debug files (libc6-dbg) take most of a run
 * to decompress. So the traced program (the module named like the trace's EXE) becomes
 * /proc/self/exe without a build id, which the analyzer then symbolizes against the fuzz binary
 * itself (other functions, but real DWARF: frames with files, lines and inlined calls reach the
 * reports), and every other module /nonexistent/<its base name> (frames with a module and an
 * address). */

/* The fields after the tag (and the sequence delta) of each record type, docs/trace-format.md
 * sections 4.2 and 6.4: 'v' a varint, 'b' a length and bytes, 'S' a STACK's frames. */
static const char *const rec_fields[LG_REC_WALK_END + 1] = {
    [LG_REC_MALLOC] = "vvv",     [LG_REC_CALLOC] = "vvv",    [LG_REC_ALIGNED] = "vvvvv",
    [LG_REC_REALLOC] = "vvvvv",  [LG_REC_FREE] = "v",        [LG_REC_STACK] = "S",
    [LG_REC_THREAD] = "v",       [LG_REC_MODULE] = "vvvvbb", [LG_REC_UNMODULE] = "v",
    [LG_REC_NOP] = "",           [LG_REC_TYPE] = "b",        [LG_REC_OBJ_ALLOC] = "vvvv",
    [LG_REC_OBJ_FREE] = "v",     [LG_REC_INCREF] = "vvv",    [LG_REC_DECREF] = "vvv",
    [LG_REC_GC_START] = "v",     [LG_REC_GC_END] = "vvvv",   [LG_REC_WALK] = "vb",
    [LG_REC_WALK_OBJ] = "vvvv",  [LG_REC_WALK_REF] = "vvb",  [LG_REC_WALK_END] = "vv",
};

/* The new path of a module into out; true if it is the traced program's (/proc/self/exe). */
static bool module_path(char *out, size_t len, const char *path, size_t n, const char *exe)
{
    size_t bl;
    const char *b = base_name(path, n, &bl);
    bool self = exe && strlen(exe) == n && memcmp(exe, path, n) == 0;
    if (self) snprintf(out, len, "/proc/self/exe");
    else snprintf(out, len, "/nonexistent/%.*s", (int)bl, b);
    return self;
}

/* A ring's record bytes with module paths replaced, into o. Returns 0, or -1 when a record
 * does not decode (then o holds nothing and the caller keeps the bytes as they are). */
static int rewrite_modules(out_buf_t *o, const uint8_t *p, size_t len, const char *exe)
{
    lg_cursor_t c = {p, p + len, 0};
    while (c.p < c.end && !c.bad) {
        const uint8_t *start = c.p;
        uint8_t type = lg_get_u8(&c) & LG_TAG_TYPE_MASK;
        if (type == 0 || type > LG_REC_WALK_END) return -1;
        bool seqd = type != LG_REC_STACK && type != LG_REC_THREAD && type != LG_REC_TYPE &&
                    type != LG_REC_WALK_OBJ && type != LG_REC_WALK_REF && type != LG_REC_WALK_END;
        if (seqd && !(*start & LG_TAG_SEQ1)) lg_get_uv(&c);
        const uint8_t *path = NULL;
        size_t plen = 0, n;
        for (const char *f = rec_fields[type]; *f && !c.bad; f++) {
            if (*f == 'v') lg_get_uv(&c);
            else if (*f == 'S')
                for (uint64_t depth = lg_get_uv(&c), i = 0; i < depth && !c.bad; i++) lg_get_uv(&c);
            else if (type == LG_REC_MODULE && !path) path = lg_get_bytes(&c, &plen);
            else lg_get_bytes(&c, &n);
        }
        if (c.bad) return -1;
        if (!path) {
            put(o, start, (size_t)(c.p - start));
            continue;
        }
        char np[4096];
        bool self = module_path(np, sizeof np, (const char *)path, plen, exe);
        uint8_t lenb[LG_VARINT_MAX];
        const uint8_t *after = path + plen; /* the build id */
        put(o, start, (size_t)(path - start));
        o->len -= lg_uv_len(plen); /* the old path's length, written just before it */
        put(o, lenb, (size_t)(lg_put_uv(lenb, strlen(np)) - lenb));
        put(o, np, strlen(np));
        if (self) put(o, "", 1); /* no build id: the fuzz binary's own is not the program's */
        else put(o, after, (size_t)(c.p - after));
    }
    return c.bad ? -1 : 0;
}

/* The EXE key of a PROCESS list, or NULL. */
static char *process_exe(const uint8_t *kv, size_t len)
{
    lg_cursor_t c = {kv, kv + len, 0};
    char *exe = NULL;
    while (c.p < c.end && !c.bad) {
        uint64_t key = lg_get_uv(&c);
        size_t n;
        const uint8_t *v = lg_get_bytes(&c, &n);
        if (!c.bad && key == LG_KEY_EXE) {
            free(exe);
            exe = strndup((const char *)v, n);
        }
    }
    return exe;
}

static int seed_one(out_buf_t *o, const char *path, char **traces, int ntraces, bool *v1)
{
    size_t size;
    uint8_t *f = read_file(path, &size);
    if (!f) {
        fprintf(stderr, "lg_fuzz_tool: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (size < LG_TRACE_FILE_HEADER_SIZE || memcmp(f, LG_TRACE_MAGIC, 8) != 0) {
        fprintf(stderr, "lg_fuzz_tool: %s: not a leakgraph trace\n", path);
        free(f);
        return -1;
    }
    *v1 = lg_get_u32le(f + 8) == 1;
    size_t off = lg_get_u32le(f + 12);
    char *exe = NULL;
    while (off <= size && size - off >= LG_TRACE_BLOCK_HEADER_SIZE) {
        const uint8_t *h = f + off;
        uint32_t type = lg_get_u32le(h), stored = lg_get_u32le(h + 4), raw = lg_get_u32le(h + 8);
        const uint8_t *pl = h + LG_TRACE_BLOCK_HEADER_SIZE;
        if (stored > size - off - LG_TRACE_BLOCK_HEADER_SIZE) break; /* cut: as the file ends */
        off += LG_TRACE_BLOCK_HEADER_SIZE + (size_t)stored;
        size_t plen = type == LG_BLOCK_EVENTS ? 4 : type == LG_BLOCK_SNAPSHOT ? 8 : 0;
        if (type == LG_BLOCK_PROCESS) {
            put_process(o, pl, stored, traces, ntraces);
            free(exe);
            exe = process_exe(pl, stored);
            continue;
        }
        if (!plen) {
            put_chunk(o, (uint8_t)type, 0, 0, pl, stored);
            continue;
        }
        if (stored < plen) break;
        uint8_t *dec = malloc(raw ? raw : 1);
        size_t n = dec ? ZSTD_decompress(dec, raw, pl + plen, stored - plen) : 0;
        if (!dec || ZSTD_isError(n) || n != raw) {
            fprintf(stderr, "lg_fuzz_tool: %s: a block at offset %zu does not decompress\n", path,
                    off - stored - LG_TRACE_BLOCK_HEADER_SIZE);
            free(dec);
            free(f);
            free(exe);
            return -1;
        }
        out_buf_t rw = {0};
        if (type == LG_BLOCK_EVENTS && rewrite_modules(&rw, dec, n, exe) == 0) {
            free(dec);
            dec = rw.p;
            n = rw.len;
        } else {
            free(rw.p);
        }
        uint8_t flags = type == LG_BLOCK_SNAPSHOT && !(lg_get_u32le(pl + 4) & 1) ? LGFZ_F_NOTLAST : 0;
        put_chunk(o, (uint8_t)type, flags, lg_get_u32le(pl), dec, n);
        free(dec);
    }
    free(f);
    free(exe);
    return 0;
}

static int seed(const char *out, char **traces, int ntraces)
{
    out_buf_t o = {0};
    uint8_t head[2] = {0, 0};
    put(&o, head, sizeof head);
    bool v1 = false;
    for (int i = 0; i < ntraces; i++) {
        if (i) put_chunk(&o, LGFZ_NEXT_FILE, 0, 0, NULL, 0);
        if (seed_one(&o, traces[i], traces, ntraces, &v1)) return 1;
        if (i == 0 && v1) o.p[0] |= LGFZ_MODE_V1;
    }
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(o.p, 1, o.len, f) != o.len || fclose(f) != 0) {
        fprintf(stderr, "lg_fuzz_tool: %s: %s\n", out, strerror(errno));
        return 1;
    }
    free(o.p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--emit") == 0) {
        size_t len;
        uint8_t *data = read_file(argv[3], &len);
        if (!data || mkdir(argv[2], 0700) != 0) {
            fprintf(stderr, "lg_fuzz_tool: %s: %s\n", data ? argv[2] : argv[3], strerror(errno));
            return 1;
        }
        int n = lgfz_assemble(data, len, argv[2]);
        free(data);
        if (n < 0) {
            fprintf(stderr, "lg_fuzz_tool: writing into %s: %s\n", argv[2], strerror(errno));
            return 1;
        }
        printf("%d trace file(s) in %s\n", n, argv[2]);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "--seed") == 0) return seed(argv[2], argv + 3, argc - 3);
    if (argc < 2 || argv[1][0] == '-') {
        fputs("usage: lg_fuzz_tool INPUT|DIR...\n"
              "       lg_fuzz_tool --emit NEWDIR INPUT\n"
              "       lg_fuzz_tool --seed OUT TRACE...\n", stderr);
        return 2;
    }
    long count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int rc = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? run_dir(argv[i], &count)
                                                                 : run_one(argv[i], &count);
        if (rc) return 1;
    }
    printf("lg_fuzz_tool: %ld input(s) run\n", count);
    return 0;
}
