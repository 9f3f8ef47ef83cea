/* Symbolized stacks of one trace (see frames.h): the lazily created symbolizer and the walk
 * over a stack's pcs. No cache of its own: the symbolizer caches per pc. */
#define _GNU_SOURCE
#include "frames.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void lg_frames_init(lg_frames_t *f, const lg_trace_t *t)
{
    *f = (lg_frames_t){.trace = t};
}

void lg_frames_fini(lg_frames_t *f)
{
    lg_sym_free(f->sym);
    f->sym = NULL;
}

/* The symbolizer with the trace's modules registered in order (handle i = module i), or NULL
 * when it cannot be made (frames then carry addresses only). */
static lg_symbolizer_t *symbolizer(lg_frames_t *f)
{
    if (f->sym) return f->sym;
    const lg_trace_t *t = f->trace;
    lg_symbolizer_t *sym = lg_sym_new();
    if (!sym) return NULL;
    for (size_t i = 0; i < t->nmods; i++) {
        const lg_module_info_t *m = &t->mods[i];
        if (lg_sym_add_module(sym, m->path, m->bias, m->start, m->end, m->build_id,
                              m->build_id_len) != (int)i) {
            lg_sym_free(sym);
            return NULL;
        }
    }
    return f->sym = sym;
}

long lg_frames_stack(lg_frames_t *f, uint32_t stack, uint64_t seq, int max_frames,
                     lg_frame_t **out)
{
    const lg_trace_t *t = f->trace;
    *out = NULL;
    if (stack == 0 || stack >= t->nstacks) return 0;
    const lg_stack_t *s = &t->stacks[stack];
    lg_symbolizer_t *sym = symbolizer(f);
    size_t n = 0, cap = 0;
    lg_frame_t *v = NULL;
    for (uint32_t i = 0; i < s->depth && (max_frames <= 0 || (int)i < max_frames); i++) {
        lg_frame_t tmp[16];
        int mi = lg_trace_module_at(t, s->ips[i], seq);
        int k = sym ? lg_sym_lookup(sym, mi, s->ips[i], true, tmp, 16) : -1;
        if (k <= 0) {
            tmp[0] = (lg_frame_t){.address = s->ips[i], .offset = s->ips[i]};
            if (mi >= 0) tmp[0].module = t->mods[mi].path;
            k = 1;
        }
        if (n + (size_t)k > cap) {
            cap = cap ? cap * 2 : 32;
            while (cap < n + (size_t)k) cap *= 2;
            lg_frame_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return -ENOMEM;
            }
            v = nv;
        }
        memcpy(v + n, tmp, (size_t)k * sizeof *tmp);
        n += (size_t)k;
    }
    *out = v;
    return (long)n;
}
