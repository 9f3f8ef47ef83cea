/* The conservative scan (see scan.h), following Memcheck's leak search. It only reads the
 * stopped process (process_vm_readv): it never writes to it, stops it or lets it go.
 *
 * Roots, as Memcheck takes them: every readable and writable mapping of the process except
 *  - the malloc heap: glibc arenas ([heap] and the 64 MiB-aligned thread heaps) and any
 *    mapping that holds live blocks other than a single mmap'd chunk; their free chunks keep
 *    stale pointers and must not count. Live blocks are graph nodes, scanned as blocks;
 *  - leakgraph's own memory (the region, the shim's internal range, its .data/.bss), which
 *    the shim lists in the request;
 *  - character and block devices (reading them may have effects), but /dev/zero;
 *  - for each stopped thread, the part of its stack below its stack pointer minus the 128-byte
 *    red zone (dead frames: a stale copy there does not keep a block alive), and below the
 *    frames of a handler on its alternate signal stack (region.h, LG_TF_ALTSTACK).
 * plus the saved general registers of every thread. Only aligned words are pointers; a word
 * points to a block when it lies inside it (interior) or at its start; for an interior pointer
 * the four heuristics of Memcheck (stdstring, length64, newarray, multipleinheritance) are
 * evaluated on the target's first words, as Memcheck does by default.
 *
 * Memory is read in chunks with process_vm_readv; a page that cannot be read is skipped and
 * counted, never fatal. Cost: one pass over roots and live blocks; each word inside the heap's
 * address range costs a lookup in a granule index (see "blocks and the granule index"). */
#define _GNU_SOURCE
#include "scan.h"
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "leakgraph/trace_format.h"

/* ---- tunables -------------------------------------------------------------------------- */
#define SCAN_CHUNK (1u << 20)    /* bytes read per process_vm_readv */
#define STACK_REDZONE 128u       /* x86-64 ABI red zone below the stack pointer */
#define GLIBC_HEAP_MAX (64ull << 20) /* glibc's HEAP_MAX_SIZE on 64-bit: thread heap alignment */
/* ---------------------------------------------------------------------------------------- */

/* ---- buffer ---------------------------------------------------------------------------- */
static int buf_need(lg_buf_t *b, size_t n)
{
    if (b->oom) return -1;
    if (b->len + n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void lg_buf_uv(lg_buf_t *b, uint64_t v)
{
    if (buf_need(b, LG_VARINT_MAX)) return;
    b->len = (size_t)(lg_put_uv(b->p + b->len, v) - b->p);
}

void lg_buf_sv(lg_buf_t *b, int64_t v)
{
    if (buf_need(b, LG_VARINT_MAX)) return;
    b->len = (size_t)(lg_put_sv(b->p + b->len, v) - b->p);
}

void lg_buf_bytes(lg_buf_t *b, const void *p, size_t n)
{
    if (buf_need(b, n + LG_VARINT_MAX)) return;
    b->len = (size_t)(lg_put_bytes(b->p + b->len, p, n) - b->p);
}

void lg_buf_kv_int(lg_buf_t *b, uint64_t key, uint64_t v)
{
    uint8_t tmp[LG_VARINT_MAX];
    uint8_t *e = lg_put_uv(tmp, v);
    lg_buf_uv(b, key);
    lg_buf_bytes(b, tmp, (size_t)(e - tmp));
}

void lg_buf_free(lg_buf_t *b)
{
    free(b->p);
    *b = (lg_buf_t){0};
}

/* ---- the process's mappings ------------------------------------------------------------ */
typedef struct map {
    uint64_t start, end;
    bool r, w, x, file, device;
    char *path;
} map_t;

static void free_maps(map_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++) free(m[i].path);
    free(m);
}

static map_t *read_maps(pid_t pid, size_t *nout)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f) return NULL;
    map_t *m = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t ll = 0;
    while (getline(&line, &ll, f) > 0) {
        unsigned long long s, e, off, inode;
        char perms[8], dev[32];
        int pos = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &s, &e, perms, &off, dev, &inode,
                   &pos) < 6)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            map_t *nm = realloc(m, cap * sizeof *nm);
            if (!nm) break;
            m = nm;
        }
        char *p = line + pos;
        p[strcspn(p, "\n")] = 0;
        map_t *x = &m[n++];
        *x = (map_t){s, e, perms[0] == 'r', perms[1] == 'w', perms[2] == 'x', inode != 0, false,
                     strdup(p)};
        if (!strncmp(p, "/dev/", 5) && strncmp(p, "/dev/shm/", 9) && strcmp(p, "/dev/zero"))
            x->device = true;
    }
    free(line);
    fclose(f);
    *nout = n;
    return m;
}

static const map_t *find_map(const map_t *m, size_t n, uint64_t a)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m[mid].start <= a) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return NULL;
    const map_t *x = &m[lo - 1];
    return a < x->end ? x : NULL;
}

/* ---- blocks and the granule index ------------------------------------------------------- */
/* Which block does a word point into? That question is asked for every aligned word of the
 * roots and of every live block (a GiB of heap is 128M words), so it must not cost a binary
 * search over millions of blocks (~23 dependent cache misses each).
 *
 * The index: the sorted blocks are cut into *segments* where the gap between the end of one
 * block and the start of the next exceeds SEG_GAP (the brk heap, each thread arena, each
 * mmap'd chunk typically become one). Each segment's address span is divided into granules of
 * 2^GRAN_SHIFT bytes, and first[g] is the index of the last block that starts at or before
 * granule g's start (the segment's first block for granule 0).
 * Lookup of v: reject v outside [lo, hi) (most words: small integers, code and stack
 * addresses), find the segment by binary search over the few segments, then start at
 * first[g] and step forward while the next block starts at or before v (a granule holds a
 * few blocks at most), and check that v lies inside that block. The answer is the same as the
 * binary search's: the last block starting at or before v, if v is inside it.
 * Cost: one read of the index and one or two of the block array per candidate word; the index
 * takes 4 bytes per granule of segment span (1/64 of the heap's span) plus 40 bytes per
 * segment, and is built in one pass over the blocks. */
#define GRAN_SHIFT 8            /* 256 bytes: about two blocks of ~100 bytes with headers */
#define SEG_GAP (1ull << 20)    /* a longer gap between blocks starts a new segment */
_Static_assert(GRAN_SHIFT >= 4 && GRAN_SHIFT <= 16, "a granule holds a few blocks");
_Static_assert(SEG_GAP >= (1ull << GRAN_SHIFT), "an empty gap costs at most SEG_GAP/granule entries");

typedef struct segment {
    uint64_t start, end;   /* [first block's address, largest block end) */
    size_t first, last;    /* its blocks: [first, last] */
    uint32_t *gran;        /* per granule: index of the last block starting at or before it */
} segment_t;

/* One block's edges, one per target block (see "blocks' contents -> edges"), and the hash
 * from target to edge that finds a target's edge while the block is scanned. A slot belongs to
 * the block being scanned when its gen is that block's index + 1: the table is never cleared
 * between blocks, and grows (doubles) when half full. */
typedef struct pair {
    uint32_t t;       /* target block */
    uint8_t h;        /* heuristic of an interior pointer (0: none) */
    uint64_t soff;    /* the word's offset in the source block */
    uint64_t toff;    /* its offset in the target (0: a start pointer) */
} pair_t;

typedef struct pair_slot {
    uint32_t gen, pair;
} pair_slot_t;

typedef struct pairs {
    pair_t *v;
    size_t n, cap;
    pair_slot_t *slot;
    unsigned bits;    /* the table has 1 << bits slots (0: none yet) */
    bool oom;
} pairs_t;

/* Reads of a few words (the heuristics look into a target block, the vtable test into a file
 * mapping) cost a system call each: 1M blocks that each point into themselves took 16 s of
 * reads. They are served from what was read last in bulk (the chunk buffer, whose contents
 * read_mem tracks), else from a small cache of whole pages. The process is stopped for the
 * whole scan, so nothing read goes stale. */
#define CACHE_PAGES 64u
#define CACHE_PAGE 4096u
typedef struct read_cache {
    uint64_t chunk_at; /* what S->chunk holds: [chunk_at, chunk_at + chunk_len) */
    size_t chunk_len;
    uint64_t page[CACHE_PAGES]; /* page address + 1 (0: empty), direct-mapped */
    bool page_ok[CACHE_PAGES];   /* the page could be read */
    uint8_t data[CACHE_PAGES][CACHE_PAGE];
} read_cache_t;

typedef struct scanner {
    pid_t pid;
    const lg_scan_block_t *b;
    size_t n;
    uint64_t lo, hi;   /* [first block, end of last block] */
    segment_t *seg;
    size_t nseg;
    uint32_t *gran;    /* every segment's granules, one allocation */
    map_t *maps;
    size_t nmaps;
    uint8_t *ref_flags; /* per block: LG_REF_* from roots */
    uint32_t *ref_region;
    uint8_t *chunk;
    read_cache_t *cache; /* NULL: every read is a system call */
    pairs_t pairs;  /* one block's edges while it is scanned, one per target */
    lg_scan_stats_t *st;
} scanner_t;

static inline uint64_t block_end(const lg_scan_block_t *x)
{
    return x->addr + (x->size ? x->size : 1); /* a zero-size block holds its own address */
}

/* Builds the segments and their granule index. Returns 0 or -ENOMEM. */
static int index_blocks(scanner_t *S)
{
    if (!S->n) return 0;
    if (S->n > UINT32_MAX) return -ENOMEM; /* granule entries are 32-bit block indices */
    /* pass 1: segments and the number of granules */
    size_t nseg = 0, ngran = 0, cap = 16;
    segment_t *seg = malloc(cap * sizeof *seg);
    if (!seg) return -ENOMEM;
    for (size_t i = 0; i < S->n; i++) {
        const lg_scan_block_t *x = &S->b[i];
        segment_t *last = nseg ? &seg[nseg - 1] : NULL;
        if (last && (x->addr < last->end || x->addr - last->end <= SEG_GAP)) {
            uint64_t e = block_end(x);
            if (e > last->end) last->end = e;
            last->last = i;
            continue;
        }
        if (nseg == cap) {
            segment_t *ns = realloc(seg, (cap *= 2) * sizeof *seg);
            if (!ns) {
                free(seg);
                return -ENOMEM;
            }
            seg = ns;
        }
        seg[nseg++] = (segment_t){x->addr, block_end(x), i, i, NULL};
    }
    for (size_t k = 0; k < nseg; k++)
        ngran += (size_t)((seg[k].end - seg[k].start - 1) >> GRAN_SHIFT) + 1;
    S->gran = malloc(ngran * sizeof *S->gran);
    if (!S->gran) {
        free(seg);
        return -ENOMEM;
    }
    /* pass 2: per granule, the last block starting at or before it */
    uint32_t *g = S->gran;
    for (size_t k = 0; k < nseg; k++) {
        segment_t *sg = &seg[k];
        size_t ng = (size_t)((sg->end - sg->start - 1) >> GRAN_SHIFT) + 1, i = sg->first;
        sg->gran = g;
        for (size_t q = 0; q < ng; q++) {
            uint64_t gs = sg->start + ((uint64_t)q << GRAN_SHIFT);
            while (i < sg->last && S->b[i + 1].addr <= gs) i++;
            g[q] = (uint32_t)i;
        }
        g += ng;
    }
    S->seg = seg;
    S->nseg = nseg;
    return 0;
}

/* Index of the block that `v` points into, or -1. */
static inline long find_block(const scanner_t *S, uint64_t v)
{
    if (v < S->lo || v >= S->hi) return -1;
    const segment_t *sg = S->seg;
    if (S->nseg > 1) { /* the last segment starting at or before v */
        size_t lo = 0, hi = S->nseg;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (S->seg[mid].start <= v) lo = mid + 1;
            else hi = mid;
        }
        sg = &S->seg[lo - 1]; /* lo >= 1: v >= S->lo = seg[0].start */
    }
    if (v >= sg->end) return -1;
    size_t i = sg->gran[(v - sg->start) >> GRAN_SHIFT];
    while (i < sg->last && S->b[i + 1].addr <= v) i++;
    const lg_scan_block_t *x = &S->b[i];
    if (x->addr <= v && (v < x->addr + x->size || (x->size == 0 && v == x->addr))) return (long)i;
    return -1;
}

static size_t read_remote(pid_t pid, uint64_t addr, void *dst, size_t len)
{
    struct iovec l = {dst, len}, r = {(void *)(uintptr_t)addr, len};
    ssize_t k = process_vm_readv(pid, &l, 1, &r, 1, 0);
    return k > 0 ? (size_t)k : 0;
}

/* A small read (within one page) from the cache; false when its page cannot be read. */
static bool read_cached(const scanner_t *S, uint64_t addr, void *dst, size_t len)
{
    read_cache_t *C = S->cache;
    uint64_t pg = addr & ~(uint64_t)(CACHE_PAGE - 1);
    size_t i = (size_t)((pg / CACHE_PAGE) % CACHE_PAGES);
    if (C->page[i] != pg + 1) {
        C->page[i] = pg + 1;
        C->page_ok[i] = read_remote(S->pid, pg, C->data[i], CACHE_PAGE) == CACHE_PAGE;
    }
    if (!C->page_ok[i]) return false;
    memcpy(dst, C->data[i] + (addr - pg), len);
    return true;
}

/* Reads `len` bytes of the process at `addr`; returns how many could be read. */
static size_t read_mem(const scanner_t *S, uint64_t addr, void *dst, size_t len)
{
    read_cache_t *C = S->cache;
    if (C && dst != S->chunk) {
        if (addr >= C->chunk_at && len <= C->chunk_len && addr - C->chunk_at <= C->chunk_len - len) {
            memcpy(dst, S->chunk + (addr - C->chunk_at), len);
            return len;
        }
        if (len <= CACHE_PAGE && (addr & (CACHE_PAGE - 1)) + len <= CACHE_PAGE &&
            read_cached(S, addr, dst, len))
            return len;
    }
    size_t got = read_remote(S->pid, addr, dst, len);
    if (C && dst == S->chunk) {
        C->chunk_at = addr;
        C->chunk_len = got;
    }
    return got;
}

static bool read_word(const scanner_t *S, uint64_t addr, uint64_t *w)
{
    return read_mem(S, addr, w, 8) == 8;
}

/* Memcheck's test: `p` looks like a vtable if it lies in a readable file mapping and among
 * its first 20 words at least two are non-null and point into executable file mappings
 * (null words are allowed). */
static bool is_vtable(const scanner_t *S, uint64_t p)
{
    const map_t *m = find_map(S->maps, S->nmaps, p);
    if (!m || !m->file || !m->r) return false;
    uint64_t words[20];
    size_t want = sizeof words;
    if (m->end - p < want) want = (size_t)(m->end - p) & ~(size_t)7;
    size_t got = read_mem(S, p, words, want) / 8;
    int fns = 0;
    for (size_t i = 0; i < got; i++) {
        if (!words[i]) continue;
        const map_t *t = find_map(S->maps, S->nmaps, words[i]);
        if (!t || !t->file || !t->x) return false;
        if (++fns == 2) return true;
    }
    return false;
}

/* Which heuristic, if any, makes an interior pointer `ptr` into block i count as a start
 * pointer (Memcheck's order: stdstring, length64, newarray, multipleinheritance). */
static int heuristic(const scanner_t *S, size_t i, uint64_t ptr)
{
    const lg_scan_block_t *x = &S->b[i];
    uint64_t off = ptr - x->addr, w0, w1;
    if (off == 24 && x->size >= 24 && read_word(S, x->addr + 8, &w1) &&
        24 + w1 + 1 == x->size && read_word(S, x->addr, &w0) && w0 <= w1)
        return LG_HEUR_STDSTRING;
    if (off == 8 && x->size >= 8 && read_word(S, x->addr, &w0)) {
        if (w0 > 0 && x->size - 8 == w0) return LG_HEUR_LENGTH64;
        if (w0 > 0 && (x->size - 8) % w0 == 0) return LG_HEUR_NEWARRAY;
    }
    uint64_t inner;
    if ((ptr & 7) == 0 && ptr + 8 <= x->addr + x->size && read_word(S, ptr, &inner) &&
        (inner & 7) == 0 && inner >= 4096 && read_word(S, x->addr, &w0) && (w0 & 7) == 0 &&
        w0 >= 4096 && is_vtable(S, inner) && is_vtable(S, w0))
        return LG_HEUR_MULTIPLEINHERITANCE;
    return LG_HEUR_NONE;
}

static void root_word(scanner_t *S, uint64_t v, uint32_t region)
{
    long i = find_block(S, v);
    if (i < 0) return;
    uint8_t f = S->ref_flags[i];
    if (v == S->b[i].addr) {
        f |= LG_REF_START;
    } else {
        f |= LG_REF_INTERIOR;
        if (!(f >> LG_REF_HEUR_SHIFT)) {
            int h = heuristic(S, (size_t)i, v);
            f |= (uint8_t)(h << LG_REF_HEUR_SHIFT);
        }
    }
    if (!S->ref_flags[i]) S->ref_region[i] = region;
    S->ref_flags[i] = f;
}

/* Scans [start, end) of the process as a root. */
static void scan_root_range(scanner_t *S, uint64_t start, uint64_t end, uint32_t region)
{
    start = (start + 7) & ~7ull;
    end &= ~7ull;
    while (start < end) {
        size_t len = end - start > SCAN_CHUNK ? SCAN_CHUNK : (size_t)(end - start);
        size_t got = read_mem(S, start, S->chunk, len) & ~(size_t)7;
        const uint64_t *w = (const uint64_t *)S->chunk;
        for (size_t k = 0; k < got / 8; k++) root_word(S, w[k], region);
        S->st->scanned += got;
        if (got < len) { /* unreadable page: skip it */
            uint64_t bad = (start + got + 4096) & ~4095ull;
            S->st->skipped += bad - (start + got) < end - start - got ? bad - (start + got)
                                                                      : end - start - got;
            start = bad;
        } else {
            start += len;
        }
    }
}

/* ---- roots ------------------------------------------------------------------------------ */
static uint64_t g_arena_lo, g_arena_hi; /* main_arena of the process being scanned */
typedef struct region {
    int kind;
    uint64_t start, end;
    int tid;
    const char *name;
} region_t;

typedef struct regions {
    region_t *v;
    size_t n, cap;
} regions_t;

static uint32_t add_region(regions_t *R, int kind, uint64_t s, uint64_t e, int tid, const char *name)
{
    if (R->n == R->cap) {
        size_t cap = R->cap ? R->cap * 2 : 64;
        region_t *v = realloc(R->v, cap * sizeof *v);
        if (!v) return 0;
        R->v = v;
        R->cap = cap;
    }
    R->v[R->n] = (region_t){kind, s, e, tid, name ? name : ""};
    return (uint32_t)R->n++;
}

/* The part of "is this mapping glibc heap memory?" that needs no blocks: 1 yes ([heap], or a
 * glibc thread heap: 64 MiB aligned, followed by its PROT_NONE reservation or of full size),
 * 0 no (a file or a named mapping), -1 it depends on the live blocks inside (heap_by_blocks). */
static int heap_by_mapping(const map_t *m, const map_t *next)
{
    if (!strcmp(m->path, "[heap]")) return 1;
    if (m->file || m->path[0]) return 0;
    if (m->start % GLIBC_HEAP_MAX == 0 &&
        ((next && next->start == m->end && !next->r && !next->w && !next->file) ||
         m->end - m->start == GLIBC_HEAP_MAX))
        return 1;
    return -1;
}

/* Is block `x` a chunk that glibc's malloc mmap'd on its own (IS_MMAPPED in the size word
 * of its header, the chunk and its leading gap a whole number of pages)? Then the memory
 * around it holds no arena, and [*lo, *hi) is the chunk's whole mapping: header, the block,
 * and the slack to the page end (which a realloc that shrank the block in place may have
 * left holding stale words). */
static bool mmapped_chunk(const scanner_t *S, const lg_scan_block_t *x, uint64_t *lo, uint64_t *hi)
{
    uint64_t hdr[2]; /* prev_size (the gap before an aligned chunk), size | flags */
    if (x->addr < 16 || read_mem(S, x->addr - 16, hdr, sizeof hdr) != sizeof hdr) return false;
    uint64_t size = hdr[1] & ~(uint64_t)7, gap = hdr[0], chunk = x->addr - 16;
    if (!(hdr[1] & 2) || (hdr[1] & 4) || gap > chunk || ((chunk - gap) & 4095) ||
        ((gap + size) & 4095) || size < x->size + 16 || size - x->size > (1u << 30))
        return false;
    *lo = chunk - gap;
    *hi = chunk + size;
    return true;
}

/* Live blocks inside, from `first` (the first block ending after the mapping's start): an
 * arena unless it is one mmap'd chunk spanning the mapping, or every block inside is a chunk
 * glibc mmap'd on its own. The kernel merges such chunks with the anonymous mappings next to
 * them (another allocator's arenas, such as CPython's), which are roots. */
static bool heap_by_blocks(const scanner_t *S, const map_t *m, size_t first)
{
    if (first >= S->n || S->b[first].addr >= m->end) return false;
    bool single = first + 1 >= S->n || S->b[first + 1].addr >= m->end;
    if (single && S->b[first].size + 2 * 4096 >= m->end - m->start) return false;
    for (size_t k = first; k < S->n && S->b[k].addr < m->end; k++) {
        uint64_t lo, hi;
        if (!mmapped_chunk(S, &S->b[k], &lo, &hi)) return true;
    }
    return false;
}

/* Does this mapping hold glibc heap memory (so it is no root)? */
static bool is_arena(const scanner_t *S, const map_t *m, const map_t *next)
{
    int k = heap_by_mapping(m, next);
    if (k >= 0) return k;
    long i = find_block(S, m->start);
    size_t first;
    if (i >= 0) first = (size_t)i;
    else {
        size_t lo = 0, hi = S->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (S->b[mid].addr < m->start) lo = mid + 1;
            else hi = mid;
        }
        first = lo;
    }
    return heap_by_blocks(S, m, first);
}

/* glibc's main_arena (a static in libc's .data) holds the allocator's own pointers to chunk
 * headers (top, bins); a header lies in the last word of the block before it, so those words
 * would look like interior pointers into live blocks. Memcheck never sees them (Valgrind
 * replaces the allocator), so they are not roots here either. The arena is found by its
 * signature: empty bins are pairs of words that both point 16 bytes below themselves, and a
 * malloc_state holds 127 bin pairs in 2 KiB. Returns false if not found. */
static bool find_main_arena(const scanner_t *S, uint64_t *lo, uint64_t *hi)
{
    for (size_t i = 0; i < S->nmaps; i++) {
        const map_t *m = &S->maps[i];
        const char *base = lg_basename(m->path);
        bool libc_data = !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5);
        /* libc's .bss follows its file mapping as an anonymous one */
        if (!libc_data && i > 0 && !m->path[0] && S->maps[i - 1].end == m->start) {
            const char *pb = lg_basename(S->maps[i - 1].path);
            libc_data = !strncmp(pb, "libc.so", 7) || !strncmp(pb, "libc-", 5);
        }
        if (!libc_data || !m->r || !m->w || m->end - m->start > (16u << 20)) continue;
        size_t len = (size_t)(m->end - m->start);
        uint64_t *w = malloc(len);
        if (!w) return false;
        size_t got = read_mem(S, m->start, w, len) / 8;
        uint64_t first = 0, last = 0;
        size_t pairs = 0;
        for (size_t k = 0; k + 1 < got; k += 2) {
            for (size_t o = 0; o < 2 && k + o + 1 < got; o++) { /* either word alignment */
                uint64_t a = m->start + (k + o) * 8;
                if (w[k + o] != a - 16 || w[k + o + 1] != a - 16) continue;
                if (pairs && a - last > 2048) pairs = 0; /* too far: a new candidate */
                if (!pairs) first = a;
                last = a;
                pairs++;
            }
            if (pairs >= 32) break;
        }
        free(w);
        if (pairs >= 32) {
            /* malloc_state: 112 bytes before the bins, 254 bin words, then about 56 bytes */
            *lo = first - 16 - 128 > m->start ? first - 16 - 128 : m->start;
            *hi = first + 2200 + 64 < m->end ? first + 2200 + 64 : m->end;
            return true;
        }
    }
    return false;
}

/* Where the live frames of a stopped thread's entry begin: its stack pointer, minus the red
 * zone unless it is exact. */
static uint64_t live_from(const lg_snap_thread_t *th, uint64_t floor)
{
    uint64_t rz = (th->flags & LG_TF_EXACT_SP) ? 0 : STACK_REDZONE;
    return th->sp > floor + rz ? th->sp - rz : floor;
}

/* Where mapping m, a stack of stopped threads, begins to be live: the lowest stack pointer in
 * it (two threads on one mapping: the lower), and one of those threads in *tid; m->start and
 * *tid 0 if no thread's stack pointer lies in it. An alternate signal stack never makes its
 * mapping a stack (excluded() cuts its dead part). */
static uint64_t stack_from(const lg_snap_ctl_t *sc, const map_t *m, int *tid)
{
    uint64_t s = m->end;
    *tid = 0;
    for (uint32_t t = 0; t < sc->nthreads; t++) {
        const lg_snap_thread_t *th = &sc->threads[t];
        if (!th->sp || th->sp < m->start || th->sp >= m->end || (th->flags & LG_TF_ALTSTACK))
            continue;
        uint64_t from = live_from(th, m->start);
        if (from < s) s = from;
        *tid = th->tid;
    }
    return *tid ? s : m->start;
}

/* Is some part of [s, e) never a root? leakgraph's own memory, glibc's main_arena, and the
 * dead part of an alternate signal stack a thread runs on (below its live frames). Returns
 * the first such range found in [*cut_s, *cut_e). */
static bool excluded(const lg_snap_ctl_t *sc, uint64_t s, uint64_t e, uint64_t *cut_s,
                     uint64_t *cut_e)
{
    for (uint32_t i = 0; i < sc->nexcl && i < LG_SNAP_MAX_EXCL; i++) {
        if (sc->excl_start[i] < e && sc->excl_end[i] > s) {
            *cut_s = sc->excl_start[i];
            *cut_e = sc->excl_end[i];
            return true;
        }
    }
    for (uint32_t t = 0; t < sc->nthreads; t++) {
        const lg_snap_thread_t *th = &sc->threads[t];
        if (!(th->flags & LG_TF_ALTSTACK) || th->alt_lo >= th->sp) continue;
        uint64_t dead_e = live_from(th, th->alt_lo);
        if (th->alt_lo < e && dead_e > s && th->alt_lo < dead_e) {
            *cut_s = th->alt_lo;
            *cut_e = dead_e;
            return true;
        }
    }
    if (g_arena_hi && g_arena_lo < e && g_arena_hi > s) {
        *cut_s = g_arena_lo;
        *cut_e = g_arena_hi;
        return true;
    }
    return false;
}

/* Scans [s, e) minus leakgraph's ranges and minus live blocks lying inside it. */
static void scan_root_minus(scanner_t *S, const lg_snap_ctl_t *sc, uint64_t s, uint64_t e,
                            uint32_t region)
{
    uint64_t cs, ce;
    if (s >= e) return;
    if (excluded(sc, s, e, &cs, &ce)) {
        if (cs > s) scan_root_minus(S, sc, s, cs, region);
        if (ce < e) scan_root_minus(S, sc, ce, e, region);
        return;
    }
    long i = find_block(S, s);
    size_t k;
    if (i >= 0) k = (size_t)i;
    else {
        size_t lo = 0, hi = S->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (S->b[mid].addr < s) lo = mid + 1;
            else hi = mid;
        }
        k = lo;
    }
    uint64_t cur = s;
    for (; k < S->n && S->b[k].addr < e; k++) { /* blocks are nodes, not roots */
        uint64_t bs = S->b[k].addr, be = bs + S->b[k].size;
        mmapped_chunk(S, &S->b[k], &bs, &be); /* and a chunk mmap'd for one: all of it */
        if (bs > cur) scan_root_range(S, cur, bs, region);
        if (be > cur) cur = be;
    }
    if (cur < e) scan_root_range(S, cur, e, region);
}

static void scan_roots(scanner_t *S, const lg_snap_ctl_t *sc, regions_t *R)
{
    const char *last_file = NULL;
    for (size_t i = 0; i < S->nmaps; i++) {
        const map_t *m = &S->maps[i];
        if (m->file) last_file = m->path;
        if (!m->r || !m->w || m->device) continue;
        if (is_arena(S, m, i + 1 < S->nmaps ? &S->maps[i + 1] : NULL)) continue;
        int tid;
        uint64_t s = stack_from(sc, m, &tid); /* a stack: only from its stack pointer up */
        uint32_t region;
        if (tid)
            region = add_region(R, LG_ROOT_STACK, s, m->end, tid, m->path);
        else if (m->file || (!m->path[0] && last_file && i > 0 && S->maps[i - 1].end == m->start &&
                             S->maps[i - 1].file))
            region = add_region(R, LG_ROOT_DATA, m->start, m->end, 0,
                                m->file ? m->path : last_file);
        else
            region = add_region(R, LG_ROOT_ANON, m->start, m->end, 0, m->path);
        scan_root_minus(S, sc, s, m->end, region);
    }
    /* registers of every stopped thread */
    for (uint32_t t = 0; t < sc->nthreads; t++) {
        const lg_snap_thread_t *th = &sc->threads[t];
        if (atomic_load(&th->state) != LG_TS_SAVED) {
            S->st->noregs++;
            continue;
        }
        uint32_t region = add_region(R, LG_ROOT_REGISTERS, 0, 0, th->tid, "");
        for (uint32_t r = 0; r < th->nregs && r < LG_SNAP_NREGS; r++) root_word(S, th->regs[r], region);
    }
}

/* ---- blocks' contents -> edges ----------------------------------------------------------- */
/* Edges are stored per (source block, target block) pair, not per pointer word: one block
 * full of pointers to the same few blocks has as many edges as targets (issue #14: a 2 GiB
 * block was 268M edges). Classification needs, per pair, only whether some word is a start
 * pointer, else whether an interior one was accepted by a heuristic (and which), else that
 * an interior one exists (Memcheck's rules, classify.c): the pair keeps the first word of the
 * best class (start > heuristic interior > plain interior), its offsets being that word's.
 * Cost: one expected O(1) probe per pointer word; the table is sized by the largest number of
 * distinct targets of one block, never by the number of blocks. */
static inline int pair_rank(uint64_t toff, int h)
{
    return toff == 0 ? 2 : h ? 1 : 0;
}

static inline size_t pair_hash(uint32_t t, unsigned bits)
{
    return (size_t)((t * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

/* The slot of target t for source gen: its pair's, or the empty slot where it goes. */
static pair_slot_t *pair_find(pairs_t *P, uint32_t gen, uint32_t t)
{
    size_t mask = ((size_t)1 << P->bits) - 1;
    for (size_t i = pair_hash(t, P->bits);; i = (i + 1) & mask) {
        pair_slot_t *sl = &P->slot[i];
        if (sl->gen != gen || P->v[sl->pair].t == t) return sl;
    }
}

/* Doubles the table (or makes it) and re-inserts the pairs of source gen. */
static int pair_grow(pairs_t *P, uint32_t gen)
{
    unsigned bits = P->bits ? P->bits + 1 : 6;
    pair_slot_t *ns = calloc((size_t)1 << bits, sizeof *ns);
    if (!ns) return -1;
    free(P->slot);
    P->slot = ns;
    P->bits = bits;
    for (size_t k = 0; k < P->n; k++) {
        pair_slot_t *sl = pair_find(P, gen, P->v[k].t);
        *sl = (pair_slot_t){gen, (uint32_t)k};
    }
    return 0;
}

/* Word at offset soff of source block k (gen = k + 1) points into block t at toff. */
static void pair_add(scanner_t *S, uint32_t gen, uint32_t t, uint64_t soff, uint64_t toff,
                     uint64_t word)
{
    pairs_t *P = &S->pairs;
    if (P->oom) return;
    if ((P->n + 1) * 2 > ((size_t)1 << P->bits) && pair_grow(P, gen)) {
        P->oom = true;
        return;
    }
    pair_slot_t *sl = pair_find(P, gen, t);
    if (sl->gen == gen) { /* a pair already: keep the first word of the best class */
        pair_t *p = &P->v[sl->pair];
        int old = pair_rank(p->toff, p->h);
        if (old == 2 || (old == 1 && toff)) return; /* nothing better than a start pointer */
        int h = toff ? heuristic(S, t, word) : 0;
        if (pair_rank(toff, h) > old) *p = (pair_t){t, (uint8_t)h, soff, toff};
        return;
    }
    if (P->n == P->cap) {
        size_t nc = P->cap ? P->cap * 2 : 64;
        pair_t *nv = realloc(P->v, nc * sizeof *nv);
        if (!nv) {
            P->oom = true;
            return;
        }
        P->v = nv;
        P->cap = nc;
    }
    int h = toff ? heuristic(S, t, word) : 0;
    P->v[P->n] = (pair_t){t, (uint8_t)h, soff, toff};
    *sl = (pair_slot_t){gen, (uint32_t)P->n};
    P->n++;
}

static void scan_blocks(scanner_t *S, lg_buf_t *out)
{
    size_t i = 0;
    while (i < S->n) {
        /* read a run of consecutive blocks in one call when they are close together */
        size_t j = i;
        uint64_t start = S->b[i].addr, end = start + S->b[i].size;
        while (j + 1 < S->n && S->b[j + 1].addr + S->b[j + 1].size - start <= SCAN_CHUNK &&
               S->b[j + 1].addr - end < 4096) {
            j++;
            end = S->b[j].addr + S->b[j].size;
        }
        size_t span = (size_t)(end - start);
        bool big = span > SCAN_CHUNK;
        size_t got = big ? 0 : read_mem(S, start, S->chunk, span);
        for (size_t k = i; k <= j; k++) {
            const lg_scan_block_t *x = &S->b[k];
            uint64_t a = (x->addr + 7) & ~7ull, e = (x->addr + x->size) & ~7ull;
            uint32_t gen = (uint32_t)k + 1; /* n <= UINT32_MAX - 1 (index_blocks) */
            S->pairs.n = 0;
            for (uint64_t pos = a; pos < e;) {
                const uint64_t *w;
                size_t nw;
                uint64_t wbuf[SCAN_CHUNK / 8 / 16];
                if (!big && pos + 8 <= start + got) {
                    w = (const uint64_t *)(S->chunk + (pos - start));
                    uint64_t lim = e < start + got ? e : (start + got) & ~7ull;
                    nw = (size_t)((lim - pos) / 8);
                } else {
                    size_t want = (size_t)(e - pos) < sizeof wbuf ? (size_t)(e - pos) : sizeof wbuf;
                    size_t g = read_mem(S, pos, wbuf, want) & ~(size_t)7;
                    if (g == 0) {
                        S->st->skipped += e - pos;
                        break;
                    }
                    w = wbuf;
                    nw = g / 8;
                }
                for (size_t q = 0; q < nw; q++) {
                    long t = find_block(S, w[q]);
                    if (t < 0) continue;
                    pair_add(S, gen, (uint32_t)t, (pos + q * 8 - x->addr) / 8,
                             w[q] - S->b[t].addr, w[q]);
                }
                S->st->scanned += nw * 8;
                if (nw == 0) break;
                pos += nw * 8;
            }
            lg_buf_uv(out, S->pairs.n);
            for (size_t p = 0; p < S->pairs.n; p++) {
                const pair_t *pr = &S->pairs.v[p];
                lg_buf_sv(out, (int64_t)pr->t - (int64_t)k);
                lg_buf_uv(out, pr->soff);
                lg_buf_uv(out, pr->toff << 3 | pr->h);
            }
        }
        i = j + 1;
    }
}

int lg_scan_process(pid_t pid, const lg_snap_ctl_t *sc, const lg_scan_block_t *blocks, size_t n,
                    lg_buf_t *out, lg_scan_stats_t *st, char *err, size_t errlen)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *st = (lg_scan_stats_t){0};
    scanner_t S = {.pid = pid, .b = blocks, .n = n, .st = st};
    if (n) {
        S.lo = blocks[0].addr;
        S.hi = blocks[n - 1].addr + blocks[n - 1].size + 1;
        if (index_blocks(&S)) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
    }
    S.maps = read_maps(pid, &S.nmaps);
    if (!S.maps) { /* e.g. the process ended while its check was taken */
        int e = errno;
        snprintf(err, errlen, "cannot read the memory map of pid %d: %s", (int)pid, strerror(e));
        free(S.seg);
        free(S.gran);
        return -e;
    }
    S.ref_flags = calloc(n ? n : 1, 1);
    S.ref_region = calloc(n ? n : 1, sizeof *S.ref_region);
    S.chunk = malloc(SCAN_CHUNK);
    S.cache = calloc(1, sizeof *S.cache); /* optional: without it, reads are system calls */
    regions_t R = {0};
    int rc = 0;
    if (!S.ref_flags || !S.ref_region || !S.chunk) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    /* can we read it at all? */
    uint64_t probe;
    struct iovec l = {&probe, 8}, r = {(void *)(uintptr_t)S.maps[0].start, 8};
    if (process_vm_readv(pid, &l, 1, &r, 1, 0) < 0 && errno == EPERM) {
        snprintf(err, errlen, "not allowed to read the memory of pid %d (ptrace restrictions)",
                 (int)pid);
        rc = -EPERM;
        goto out;
    }
    g_arena_lo = g_arena_hi = 0;
    find_main_arena(&S, &g_arena_lo, &g_arena_hi);
    scan_roots(&S, sc, &R);

    lg_buf_t kv = {0};
    lg_buf_kv_int(&kv, LG_KEY_SNAP_ID, sc->id);
    lg_buf_kv_int(&kv, LG_KEY_SNAP_REASON, sc->reason);
    lg_buf_kv_int(&kv, LG_KEY_SNAP_SEQ, sc->seq);
    uint32_t threads = 0; /* an entry flagged LG_TF_MORE is the thread of the entry before */
    for (uint32_t t = 0; t < sc->nthreads; t++) threads += !(sc->threads[t].flags & LG_TF_MORE);
    lg_buf_kv_int(&kv, LG_KEY_SNAP_THREADS, threads);
    /* blocks */
    lg_buf_t body = {0};
    lg_buf_uv(&body, n);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        lg_buf_uv(&body, blocks[i].addr - prev);
        lg_buf_uv(&body, blocks[i].size);
        prev = blocks[i].addr;
    }
    lg_buf_uv(&body, R.n);
    for (size_t i = 0; i < R.n; i++) {
        lg_buf_uv(&body, (uint64_t)R.v[i].kind);
        lg_buf_uv(&body, R.v[i].start);
        lg_buf_uv(&body, R.v[i].end);
        lg_buf_uv(&body, (uint64_t)R.v[i].tid);
        lg_buf_bytes(&body, R.v[i].name, strlen(R.v[i].name));
    }
    size_t nrefs = 0;
    for (size_t i = 0; i < n; i++) nrefs += S.ref_flags[i] != 0;
    lg_buf_uv(&body, nrefs);
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (!S.ref_flags[i]) continue;
        lg_buf_uv(&body, i - last);
        lg_buf_uv(&body, S.ref_flags[i]);
        lg_buf_uv(&body, S.ref_region[i]);
        last = i;
    }
    scan_blocks(&S, &body);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st->ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)(t1.tv_nsec - t0.tv_nsec);
    lg_buf_kv_int(&kv, LG_KEY_SNAP_NOREGS, st->noregs);
    lg_buf_kv_int(&kv, LG_KEY_SNAP_SCANNED, st->scanned);
    lg_buf_kv_int(&kv, LG_KEY_SNAP_SKIPPED, st->skipped);
    lg_buf_kv_int(&kv, LG_KEY_SNAP_NS, st->ns);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    lg_buf_kv_int(&kv, LG_KEY_SNAP_TIME, (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec);
    /* out = uv kv.len, kv, body. An empty out takes body's memory with the header moved in
     * front: no second copy of the payload (11 bytes a block, more with edges) */
    lg_buf_t hdr = {0};
    lg_buf_uv(&hdr, kv.len);
    if (!buf_need(&hdr, kv.len)) {
        memcpy(hdr.p + hdr.len, kv.p, kv.len);
        hdr.len += kv.len;
    }
    if (!out->p && !hdr.oom && !body.oom && !buf_need(&body, hdr.len)) {
        memmove(body.p + hdr.len, body.p, body.len);
        memcpy(body.p, hdr.p, hdr.len);
        body.len += hdr.len;
        *out = body;
        body = (lg_buf_t){0};
    } else if (!buf_need(out, hdr.len + body.len)) {
        memcpy(out->p + out->len, hdr.p, hdr.len);
        out->len += hdr.len;
        memcpy(out->p + out->len, body.p, body.len);
        out->len += body.len;
    }
    if (hdr.oom) out->oom = 1;
    lg_buf_free(&hdr);
    if (out->oom || kv.oom || body.oom || S.pairs.oom) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
    }
    lg_buf_free(&kv);
    lg_buf_free(&body);
out:
    free(R.v);
    free_maps(S.maps, S.nmaps);
    free(S.ref_flags);
    free(S.ref_region);
    free(S.chunk);
    free(S.cache);
    free(S.seg);
    free(S.gran);
    free(S.pairs.v);
    free(S.pairs.slot);
    return rc;
}

/* ---- runtime objects: holders and pointer words (lg_scan_objects) ------------------------ *
 * Separate from the malloc-level scan above on purpose (it only reads the same memory again,
 * and only for programs whose runtime walked its objects): for each walked object, how many
 * aligned words outside the runtime's object graph point exactly at it (its *holders*), and
 * which words inside objects point exactly at other objects (so the analyzer can find
 * references that a type's traverse does not report).
 *
 * What counts as a holder word, for object o (address = its rc_object_t *, the walk's):
 *   - a word of a root region as the malloc scan takes them (writable mappings minus the malloc
 *     heap, leakgraph's own memory and dead stack), except mappings that contain a walked
 *     object: those are the runtime's arenas, whose object-to-object references the walk
 *     reports with labels (and whose free blocks keep stale pointers);
 *   - a saved register of a stopped thread;
 *   - a word of a live malloc block, except blocks that contain a walked object (the object's
 *     own fields) and blocks that some walked object points to at their start (storage the
 *     object owns out of its block: a large list's item array, a dict's tables; their
 *     pointers are the object's references, already reported by the walk).
 * Only exact pointers count (no interior pointers: the runtime hands out object addresses).
 * Cost: one more read of the roots and of the live blocks, each word a range test and, inside
 * the objects' address range, a binary search over the objects. */
typedef struct objscan {
    scanner_t *S;
    const lg_scan_obj_t *o;
    size_t no;
    uint64_t olo, ohi;
    uint64_t *roots, *blocks, *first; /* per object */
    uint8_t *owned;                   /* per live block: 1 owned by an object, 2 holds one */
} objscan_t;

/* The block that `v` points into, or -1 (a binary search: this pass reads words of roots and
 * blocks only in the objects' address range or at block starts, so it needs no index). */
static long obj_find_block(const scanner_t *S, uint64_t v)
{
    if (v < S->lo || v >= S->hi) return -1;
    size_t lo = 0, hi = S->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (S->b[mid].addr <= v) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return -1;
    const lg_scan_block_t *x = &S->b[lo - 1];
    return v < x->addr + x->size || (x->size == 0 && v == x->addr) ? (long)(lo - 1) : -1;
}

/* is_arena's rule, without find_block's index (a binary search over the blocks). */
static bool obj_is_arena(const scanner_t *S, const map_t *m, const map_t *next)
{
    int k = heap_by_mapping(m, next);
    if (k >= 0) return k;
    size_t lo = 0, hi = S->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (S->b[mid].addr + S->b[mid].size <= m->start) lo = mid + 1;
        else hi = mid;
    }
    return heap_by_blocks(S, m, lo);
}

static long find_obj(const objscan_t *X, uint64_t v)
{
    if (v < X->olo || v > X->ohi || (v & 7)) return -1;
    size_t lo = 0, hi = X->no;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (X->o[mid].addr < v) lo = mid + 1;
        else hi = mid;
    }
    return lo < X->no && X->o[lo].addr == v ? (long)lo : -1;
}

static void obj_words(objscan_t *X, const uint64_t *w, size_t nw, uint64_t at, bool root)
{
    for (size_t k = 0; k < nw; k++) {
        long i = find_obj(X, w[k]);
        if (i < 0) continue;
        if (root) X->roots[i]++;
        else X->blocks[i]++;
        if (!X->first[i]) X->first[i] = at + k * 8;
    }
}

static void obj_scan_range(objscan_t *X, uint64_t start, uint64_t end, bool root)
{
    scanner_t *S = X->S;
    start = (start + 7) & ~7ull;
    end &= ~7ull;
    while (start < end) {
        size_t len = end - start > SCAN_CHUNK ? SCAN_CHUNK : (size_t)(end - start);
        size_t got = read_mem(S, start, S->chunk, len) & ~(size_t)7;
        obj_words(X, (const uint64_t *)S->chunk, got / 8, start, root);
        start = got < len ? (start + got + 4096) & ~4095ull : start + len;
    }
}

/* [s, e) minus leakgraph's ranges and minus the live blocks inside it (scanned as blocks). */
static void obj_scan_root_minus(objscan_t *X, const lg_snap_ctl_t *sc, uint64_t s, uint64_t e)
{
    scanner_t *S = X->S;
    uint64_t cs, ce;
    if (s >= e) return;
    if (excluded(sc, s, e, &cs, &ce)) {
        if (cs > s) obj_scan_root_minus(X, sc, s, cs);
        if (ce < e) obj_scan_root_minus(X, sc, ce, e);
        return;
    }
    size_t lo = 0, hi = S->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (S->b[mid].addr + S->b[mid].size <= s) lo = mid + 1;
        else hi = mid;
    }
    uint64_t cur = s;
    for (size_t k = lo; k < S->n && S->b[k].addr < e; k++) {
        uint64_t bs = S->b[k].addr, be = bs + S->b[k].size;
        mmapped_chunk(S, &S->b[k], &bs, &be);
        if (bs > cur) obj_scan_range(X, cur, bs, true);
        if (be > cur) cur = be;
    }
    if (cur < e) obj_scan_range(X, cur, e, true);
}

static bool map_has_object(const objscan_t *X, const map_t *m)
{
    size_t lo = 0, hi = X->no;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (X->o[mid].addr < m->start) lo = mid + 1;
        else hi = mid;
    }
    return lo < X->no && X->o[lo].addr < m->end;
}

int lg_scan_objects(pid_t pid, const lg_snap_ctl_t *sc, const lg_scan_block_t *blocks, size_t n,
                    const lg_scan_obj_t *objs, size_t nobjs, lg_buf_t *section, char *err,
                    size_t errlen)
{
    scanner_t S = {.pid = pid, .b = blocks, .n = n};
    lg_scan_stats_t st = {0};
    S.st = &st;
    objscan_t X = {.S = &S, .o = objs, .no = nobjs};
    int rc = 0;
    if (n) {
        S.lo = blocks[0].addr;
        S.hi = blocks[n - 1].addr + blocks[n - 1].size + 1;
    }
    if (nobjs) {
        X.olo = objs[0].addr;
        X.ohi = objs[nobjs - 1].addr;
    }
    S.maps = read_maps(pid, &S.nmaps);
    S.chunk = malloc(SCAN_CHUNK);
    S.cache = calloc(1, sizeof *S.cache); /* optional: without it, reads are system calls */
    X.roots = calloc(nobjs ? nobjs : 1, sizeof *X.roots);
    X.blocks = calloc(nobjs ? nobjs : 1, sizeof *X.blocks);
    X.first = calloc(nobjs ? nobjs : 1, sizeof *X.first);
    X.owned = calloc(n ? n : 1, 1);
    lg_buf_t ptrs = {0};
    if (!S.maps || !S.chunk || !X.roots || !X.blocks || !X.first || !X.owned) {
        snprintf(err, errlen, "out of memory or no memory map of pid %d", (int)pid);
        rc = -ENOMEM;
        goto out;
    }
    /* 1. the objects' own words: pointers to objects, and the malloc blocks they own */
    size_t nfrom = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i < nobjs; i++) {
        const lg_scan_obj_t *x = &objs[i];
        long b = obj_find_block(&S, x->addr);
        if (b >= 0) X.owned[b] = 2;
        size_t len = (size_t)((x->end - x->addr) & ~7ull);
        if (len > SCAN_CHUNK) len = SCAN_CHUNK;
        size_t got = read_mem(&S, x->addr, S.chunk, len) / 8;
        const uint64_t *w = (const uint64_t *)S.chunk;
        size_t nto = 0;
        for (size_t k = 2; k < got; k++) { /* words 0, 1: count and type */
            if (find_obj(&X, w[k]) >= 0) nto++;
            long t = obj_find_block(&S, w[k]);
            if (t >= 0 && blocks[t].addr == w[k] && !X.owned[t]) X.owned[t] = 1;
        }
        if (!nto) continue;
        lg_buf_uv(&ptrs, x->addr - prev);
        lg_buf_uv(&ptrs, nto);
        for (size_t k = 2; k < got; k++)
            if (find_obj(&X, w[k]) >= 0) {
                lg_buf_uv(&ptrs, k);
                lg_buf_uv(&ptrs, w[k]);
            }
        prev = x->addr;
        nfrom++;
    }
    /* 2. roots, as scan_roots takes them, minus the runtime's arenas */
    g_arena_lo = g_arena_hi = 0;
    find_main_arena(&S, &g_arena_lo, &g_arena_hi);
    for (size_t i = 0; i < S.nmaps; i++) {
        const map_t *m = &S.maps[i];
        if (!m->r || !m->w || m->device) continue;
        if (obj_is_arena(&S, m, i + 1 < S.nmaps ? &S.maps[i + 1] : NULL)) continue;
        if (map_has_object(&X, m)) continue;
        int tid;
        obj_scan_root_minus(&X, sc, stack_from(sc, m, &tid), m->end);
    }
    for (uint32_t t = 0; t < sc->nthreads; t++) {
        const lg_snap_thread_t *th = &sc->threads[t];
        if (atomic_load(&th->state) != LG_TS_SAVED) continue;
        for (uint32_t r = 0; r < th->nregs && r < LG_SNAP_NREGS; r++)
            obj_words(&X, &th->regs[r], 1, 0, true);
    }
    /* 3. live malloc blocks that are neither objects nor owned by one */
    for (size_t b = 0; b < n; b++)
        if (!X.owned[b]) obj_scan_range(&X, blocks[b].addr, blocks[b].addr + blocks[b].size, false);
    /* the section (trace_format.h, LG_KEY_SNAP_OBJECTS) */
    size_t nh = 0;
    for (size_t i = 0; i < nobjs; i++) nh += X.roots[i] + X.blocks[i] != 0;
    lg_buf_uv(section, nobjs);
    lg_buf_uv(section, nh);
    prev = 0;
    for (size_t i = 0; i < nobjs; i++) {
        if (!X.roots[i] && !X.blocks[i]) continue;
        lg_buf_uv(section, objs[i].addr - prev);
        lg_buf_uv(section, X.roots[i]);
        lg_buf_uv(section, X.blocks[i]);
        lg_buf_uv(section, X.first[i]);
        prev = objs[i].addr;
    }
    lg_buf_uv(section, nfrom);
    if (ptrs.len && !buf_need(section, ptrs.len)) {
        memcpy(section->p + section->len, ptrs.p, ptrs.len);
        section->len += ptrs.len;
    }
    if (section->oom || ptrs.oom) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
    }
out:
    lg_buf_free(&ptrs);
    if (S.maps) free_maps(S.maps, S.nmaps);
    free(S.chunk);
    free(S.cache);
    free(X.roots);
    free(X.blocks);
    free(X.first);
    free(X.owned);
    return rc;
}

int lg_scan_append_section(lg_buf_t *payload, uint64_t key, uint64_t value,
                           const lg_buf_t *section)
{
    lg_cursor_t c = {payload->p, payload->p + payload->len, 0};
    size_t kvlen;
    const uint8_t *kv = lg_get_bytes(&c, &kvlen);
    if (!kv || c.bad) return -EINVAL;
    lg_buf_t nkv = {0}, out = {0};
    if (kvlen && !buf_need(&nkv, kvlen)) {
        memcpy(nkv.p, kv, kvlen);
        nkv.len = kvlen;
    }
    lg_buf_kv_int(&nkv, key, value);
    size_t rest = (size_t)(c.end - c.p);
    lg_buf_bytes(&out, nkv.p, nkv.len);
    if (!buf_need(&out, rest + section->len)) {
        memcpy(out.p + out.len, c.p, rest);
        out.len += rest;
        memcpy(out.p + out.len, section->p, section->len);
        out.len += section->len;
    }
    int rc = out.oom || nkv.oom ? -ENOMEM : 0;
    lg_buf_free(&nkv);
    if (rc) {
        lg_buf_free(&out);
        return rc;
    }
    lg_buf_free(payload);
    *payload = out;
    return 0;
}
