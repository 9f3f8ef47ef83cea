/* snapshot.c: SNAPSHOT payloads (trace_format.h, written by analyzer/collect/) -> lg_snapshot_t.
 * A snapshot is taken at a sequence number: every event below it is replayed first, and its
 * blocks get their allocation stack, number and allocator from the live set at that point.
 * It owns lg_snapshot_t's arrays; it reads the payload only after read.c has joined its parts
 * and checked them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

/* Replays every buffered event numbered below `seq` (a snapshot follows them all). */
static void replay_before(loader_t *L, uint64_t seq)
{
    lg_order_drain(L, seq);
}

void lg_snapshot_free(lg_snapshot_t *S)
{
    free(S->addr);
    free(S->size);
    free(S->stack);
    free(S->aseq);
    free(S->fn);
    free(S->ref_flags);
    free(S->ref_region);
    for (size_t i = 0; i < S->nregions; i++) free(S->regions[i].name);
    free(S->regions);
    free(S->edge_start);
    free(S->edge_to);
    free(S->edge_src_off);
    free(S->edge_dst_off);
    free(S->edge_heur);
    free(S->held_addr);
    free(S->held_roots);
    free(S->held_blocks);
    free(S->held_first);
    free(S->ptr_from);
    free(S->ptr_to);
    free(S->ptr_word);
}

/* The optional runtime-object section at the end of a SNAPSHOT payload (LG_KEY_SNAP_OBJECTS).
 * Returns 0, -EBADMSG or -ENOMEM. */
static int parse_snapshot_objects(lg_cursor_t *c, lg_snapshot_t *S, size_t len)
{
    uint64_t nobj = lg_get_uv(c), nh = lg_get_uv(c);
    if (c->bad || nh > len || nobj > len) return -EBADMSG;
    S->nobj_scanned = (size_t)nobj;
    size_t n1 = nh ? (size_t)nh : 1;
    S->held_addr = malloc(n1 * sizeof *S->held_addr);
    S->held_roots = malloc(n1 * sizeof *S->held_roots);
    S->held_blocks = malloc(n1 * sizeof *S->held_blocks);
    S->held_first = malloc(n1 * sizeof *S->held_first);
    if (!S->held_addr || !S->held_roots || !S->held_blocks || !S->held_first) return -ENOMEM;
    uint64_t a = 0;
    for (size_t i = 0; i < nh && !c->bad; i++) {
        a += lg_get_uv(c);
        S->held_addr[i] = a;
        S->held_roots[i] = lg_get_uv(c);
        S->held_blocks[i] = lg_get_uv(c);
        S->held_first[i] = lg_get_uv(c);
    }
    S->nheld = (size_t)nh;
    uint64_t nfrom = lg_get_uv(c);
    if (c->bad || nfrom > len) return -EBADMSG;
    size_t cap = 0;
    a = 0;
    for (uint64_t i = 0; i < nfrom && !c->bad; i++) {
        a += lg_get_uv(c);
        uint64_t k = lg_get_uv(c);
        if (k > len) return -EBADMSG;
        for (uint64_t j = 0; j < k && !c->bad; j++) {
            if (S->nptrs == cap) {
                cap = cap ? cap * 2 : 64;
                uint64_t *f = realloc(S->ptr_from, cap * sizeof *f);
                if (f) S->ptr_from = f;
                uint64_t *t = realloc(S->ptr_to, cap * sizeof *t);
                if (t) S->ptr_to = t;
                uint32_t *w = realloc(S->ptr_word, cap * sizeof *w);
                if (w) S->ptr_word = w;
                if (!f || !t || !w) return -ENOMEM;
            }
            S->ptr_from[S->nptrs] = a;
            S->ptr_word[S->nptrs] = (uint32_t)lg_get_uv(c);
            S->ptr_to[S->nptrs] = lg_get_uv(c);
            S->nptrs++;
        }
    }
    if (c->bad) return -EBADMSG;
    S->has_objects = true;
    return 0;
}

/* Parses a complete SNAPSHOT payload (trace_format.h) and attaches allocation stacks from the
 * live set replayed so far. Returns 0, -EBADMSG or -ENOMEM. */
int lg_snapshot_parse(loader_t *L, const uint8_t *p, size_t len)
{
    lg_trace_t *t = L->t;
    lg_snapshot_t S = {0};
    lg_cursor_t c = {p, p + len, 0};
    size_t kvlen;
    const uint8_t *kv = lg_get_bytes(&c, &kvlen);
    lg_cursor_t k = {kv, kv ? kv + kvlen : NULL, 0};
    while (kv && k.p < k.end && !k.bad) {
        uint64_t key = lg_get_uv(&k);
        size_t n;
        const uint8_t *v = lg_get_bytes(&k, &n);
        lg_cursor_t vc = {v, v ? v + n : NULL, 0};
        uint64_t iv = v ? lg_get_uv(&vc) : 0;
        switch (key) {
        case LG_KEY_SNAP_ID: S.id = (uint32_t)iv; break;
        case LG_KEY_SNAP_REASON: S.reason = (uint32_t)iv; break;
        case LG_KEY_SNAP_SEQ: S.seq = iv; break;
        case LG_KEY_SNAP_THREADS: S.threads = (uint32_t)iv; break;
        case LG_KEY_SNAP_NOREGS: S.noregs = (uint32_t)iv; break;
        case LG_KEY_SNAP_SCANNED: S.scanned = iv; break;
        case LG_KEY_SNAP_SKIPPED: S.skipped = iv; break;
        case LG_KEY_SNAP_NS: S.ns = iv; break;
        case LG_KEY_SNAP_TIME: S.time_ns = iv; break;
        case LG_KEY_SNAP_OBJECTS: S.has_objects = iv == 1; break;
        default: break;
        }
    }
    if (!kv || k.bad) return -EBADMSG;
    replay_before(L, S.seq);
    uint64_t n = lg_get_uv(&c);
    if (c.bad || n > len) return -EBADMSG; /* every block takes at least a byte */
    S.nblocks = (size_t)n;
    size_t nb = S.nblocks ? S.nblocks : 1;
    S.addr = malloc(nb * sizeof *S.addr);
    S.size = malloc(nb * sizeof *S.size);
    S.stack = calloc(nb, sizeof *S.stack);
    S.aseq = calloc(nb, sizeof *S.aseq);
    S.fn = calloc(nb, 1);
    S.ref_flags = calloc(nb, 1);
    S.ref_region = calloc(nb, sizeof *S.ref_region);
    S.edge_start = calloc(nb + 1, sizeof *S.edge_start);
    int rc = -ENOMEM;
    if (!S.addr || !S.size || !S.stack || !S.aseq || !S.fn || !S.ref_flags || !S.ref_region || !S.edge_start)
        goto fail;
    rc = -EBADMSG;
    uint64_t a = 0;
    for (size_t i = 0; i < S.nblocks; i++) {
        a += lg_get_uv(&c);
        S.addr[i] = a;
        S.size[i] = lg_get_uv(&c);
        lg_block_t *b = lg_liveset_find(&L->live, a);
        if (b) {
            S.stack[i] = b->stack;
            S.aseq[i] = b->seq;
            S.fn[i] = b->fn;
        }
    }
    uint64_t nr = lg_get_uv(&c);
    if (c.bad || nr > len) goto fail;
    S.regions = calloc(nr ? nr : 1, sizeof *S.regions);
    if (!S.regions) {
        rc = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < nr; i++) {
        lg_root_region_t *r = &S.regions[i];
        r->kind = (int)lg_get_uv(&c);
        r->start = lg_get_uv(&c);
        r->end = lg_get_uv(&c);
        r->tid = (int)lg_get_uv(&c);
        size_t nl;
        const uint8_t *nm = lg_get_bytes(&c, &nl);
        if (c.bad) goto fail;
        S.nregions++;
        if (!(r->name = strndup((const char *)nm, nl))) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    uint64_t nrefs = lg_get_uv(&c);
    size_t idx = 0;
    for (uint64_t i = 0; i < nrefs && !c.bad; i++) {
        idx += (size_t)lg_get_uv(&c);
        uint64_t f = lg_get_uv(&c), reg = lg_get_uv(&c);
        if (idx >= S.nblocks || reg >= S.nregions) c.bad = 1;
        else {
            S.ref_flags[idx] = (uint8_t)f;
            S.ref_region[idx] = (uint32_t)reg;
        }
    }
    if (c.bad) goto fail;
    /* edges: count first (the stream is read twice) */
    lg_cursor_t e0 = c;
    size_t total = 0;
    for (size_t i = 0; i < S.nblocks && !c.bad; i++) {
        uint64_t ne = lg_get_uv(&c);
        if (ne > (uint64_t)(c.end - c.p)) c.bad = 1;
        for (uint64_t j = 0; j < ne && !c.bad; j++) {
            lg_get_sv(&c);
            lg_get_uv(&c);
            lg_get_uv(&c);
        }
        total += (size_t)ne;
    }
    if (c.bad) goto fail;
    S.nedges = total;
    size_t ne1 = total ? total : 1;
    S.edge_to = malloc(ne1 * sizeof *S.edge_to);
    S.edge_src_off = malloc(ne1 * sizeof *S.edge_src_off);
    S.edge_dst_off = malloc(ne1 * sizeof *S.edge_dst_off);
    S.edge_heur = malloc(ne1);
    if (!S.edge_to || !S.edge_src_off || !S.edge_dst_off || !S.edge_heur) {
        rc = -ENOMEM;
        goto fail;
    }
    c = e0;
    size_t e = 0;
    for (size_t i = 0; i < S.nblocks; i++) {
        S.edge_start[i] = e;
        uint64_t ne = lg_get_uv(&c);
        for (uint64_t j = 0; j < ne; j++, e++) {
            int64_t to = (int64_t)i + lg_get_sv(&c);
            uint64_t so = lg_get_uv(&c), code = lg_get_uv(&c);
            if (to < 0 || (uint64_t)to >= S.nblocks) c.bad = 1;
            S.edge_to[e] = (uint32_t)to;
            S.edge_src_off[e] = (uint32_t)(so * 8);
            S.edge_dst_off[e] = (uint32_t)(code >> 3);
            S.edge_heur[e] = (uint8_t)(code & 7);
        }
    }
    S.edge_start[S.nblocks] = e;
    if (c.bad) goto fail;
    if (S.has_objects) {
        S.has_objects = false;
        if ((rc = parse_snapshot_objects(&c, &S, len))) goto fail;
        rc = -EBADMSG;
    }
    if (grow((void **)&t->snaps, &L->snapcap_arr, t->nsnaps + 1, sizeof *t->snaps)) {
        rc = -ENOMEM;
        goto fail;
    }
    t->snaps[t->nsnaps++] = S;
    return 0;
fail:
    lg_snapshot_free(&S);
    return rc;
}
