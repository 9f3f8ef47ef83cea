/* A long-running heap churn from several threads with known leaks: `churn THREADS OPS` starts
 * THREADS workers that together make OPS malloc/realloc/free operations on blocks of 16 B to
 * 64 KiB (each worker keeps 256 live blocks that point to one another, writes only a few words
 * of each, so the rest of a recycled block keeps whatever the allocator or the program left
 * there) and, spread over the churn, make the NEVENTS leak events below; event k is made by
 * worker k % THREADS, so the totals do not depend on the thread count, the operation count or
 * the addresses (a leaked ring's members have one size, so which of them is definite does not
 * change the bytes). At the end every worker frees its live blocks and is joined.
 *   kind 0: a block (realloc'd from half its size), only its first word written: definite
 *   kind 1: a chain of three blocks, head -> child -> grandchild: 1 definite, 2 indirect
 *   kind 2: a ring of 2 or 3 blocks of one size: 1 definite, the rest indirect, 1 cycle
 *   kind 3: a global holds a block that points to a child: 2 still reachable
 *   kind 4: a global holds a pointer 40 bytes into a block: possibly lost
 * `churn expect` prints the EXPECT line below (computed from the same sizes).
 * EXPECT definite=506547/39 indirect=682036/45 possible=133092/12 reachable=189011/26 cycles=13 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NEVENTS = 64, SLOTS = 256, MAXTHREADS = 64 };

static void *kept[NEVENTS];  /* kind 3: still reachable from here */
static char *inner[NEVENTS]; /* kind 4: an interior pointer only: possibly lost */

static uint64_t next(uint64_t *s) /* xorshift64*: the same sequence on every run */
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* A size from 16 B to 64 KiB, about as many of each power of two. */
static size_t mixed_size(uint64_t r)
{
    unsigned shift = (unsigned)(r % 13);           /* 16 << 0 .. 16 << 12 */
    size_t base = (size_t)16 << shift;
    size_t s = base + (size_t)((r >> 8) % base);
    return s > 65536 ? 65536 : s;
}

static size_t event_size(int k, int member)
{
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(k + 1) + (uint64_t)member * 7919u;
    next(&s);
    return mixed_size(next(&s));
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    return p;
}

static void link_to(void *from, size_t from_size, void *to)
{
    memcpy((char *)from + ((from_size / 3) & ~(size_t)7), &to, sizeof to);
}

static void leak_event(int k)
{
    size_t s = event_size(k, 0);
    switch (k % 5) {
    case 0: {
        void *p = xmalloc(s / 2 + 1);
        memset(p, 0x11, 8);
        p = realloc(p, s);
        if (!p) abort();
        break;
    }
    case 1: {
        size_t s1 = event_size(k, 1), s2 = event_size(k, 2);
        void *head = xmalloc(s), *child = xmalloc(s1), *grand = xmalloc(s2);
        memset(grand, 0x22, 8);
        link_to(child, s1, grand);
        link_to(head, s, child);
        break;
    }
    case 2: {
        int n = 2 + (k / 5) % 2;
        void *first = xmalloc(s), *cur = first;
        for (int i = 1; i < n; i++) {
            void *b = xmalloc(s);
            link_to(cur, s, b);
            cur = b;
        }
        link_to(cur, s, first);
        break;
    }
    case 3: {
        size_t s1 = event_size(k, 1);
        void *child = xmalloc(s1);
        memset(child, 0x33, 8);
        kept[k] = xmalloc(s);
        link_to(kept[k], s, child);
        break;
    }
    case 4: {
        size_t n = s < 64 ? 64 : s;
        char *p = xmalloc(n);
        memset(p, 0x44, 8);
        inner[k] = p + 40;
        break;
    }
    }
}

/* The bytes and blocks of each kind the events make (for `churn expect`). */
static void print_expect(void)
{
    unsigned long b[4] = {0}, n[4] = {0}, cycles = 0; /* definite indirect possible reachable */
    for (int k = 0; k < NEVENTS; k++) {
        size_t s = event_size(k, 0);
        switch (k % 5) {
        case 0: b[0] += s; n[0]++; break;
        case 1:
            b[0] += s; n[0]++;
            b[1] += event_size(k, 1) + event_size(k, 2); n[1] += 2;
            break;
        case 2: {
            int m = 2 + (k / 5) % 2;
            b[0] += s; n[0]++;
            b[1] += s * (m - 1); n[1] += m - 1;
            cycles++;
            break;
        }
        case 3: b[3] += s + event_size(k, 1); n[3] += 2; break;
        case 4: b[2] += s < 64 ? 64 : s; n[2]++; break;
        }
    }
    printf("EXPECT definite=%lu/%lu indirect=%lu/%lu possible=%lu/%lu reachable=%lu/%lu "
           "cycles=%lu\n", b[0], n[0], b[1], n[1], b[2], n[2], b[3], n[3], cycles);
}

struct worker {
    pthread_t t;
    int index, nthreads;
    long ops;
};

static void *churn(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = 0x2545f4914f6cdd1dull + (uint64_t)w->index * 0x9e3779b97f4a7c15ull;
    void *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    int nev = 0; /* events of this worker: k = index, index + nthreads, ... */
    for (int k = w->index; k < NEVENTS; k += w->nthreads) nev++;
    long every = w->ops / (nev + 1), made = 0;
    for (long op = 0; op < w->ops; op++) {
        if (made < nev && op == every * (made + 1)) {
            leak_event(w->index + (int)made * w->nthreads);
            made++;
        }
        uint64_t r = next(&rng);
        int i = (int)(r % SLOTS);
        unsigned what = (unsigned)(r >> 40) % 4;
        if (!slot[i]) {
            size[i] = mixed_size(next(&rng));
            slot[i] = xmalloc(size[i]);
            memset(slot[i], 0x55, 8);
        } else if (what == 0) {
            size_t ns = mixed_size(next(&rng));
            void *p = realloc(slot[i], ns);
            if (!p) abort();
            slot[i] = p;
            size[i] = ns;
        } else {
            free(slot[i]);
            slot[i] = NULL;
            continue;
        }
        /* a pointer to another live block, somewhere in the block */
        int j = (int)((r >> 16) % SLOTS);
        if (slot[j] && size[i] >= 16) link_to(slot[i], size[i], slot[j]);
    }
    while (made < nev) { /* too few operations to spread them: make the rest now */
        leak_event(w->index + (int)made * w->nthreads);
        made++;
    }
    for (int i = 0; i < SLOTS; i++) free(slot[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "expect") == 0) {
        print_expect();
        return 0;
    }
    int nthreads = argc > 1 ? atoi(argv[1]) : 1;
    long ops = argc > 2 ? atol(argv[2]) : 1000000;
    if (nthreads < 1 || nthreads > MAXTHREADS || ops < 0) {
        fprintf(stderr, "usage: churn THREADS(1-%d) OPS | churn expect\n", MAXTHREADS);
        return 2;
    }
    struct worker w[MAXTHREADS];
    for (int i = 0; i < nthreads; i++) {
        w[i] = (struct worker){.index = i, .nthreads = nthreads, .ops = ops / nthreads};
        if (pthread_create(&w[i].t, NULL, churn, &w[i]) != 0) abort();
    }
    for (int i = 0; i < nthreads; i++) pthread_join(w[i].t, NULL);
    return 0;
}
