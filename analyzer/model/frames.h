/* frames.h: the symbolized stacks of one trace, the model's one way to symbolize. It owns the
 * trace's symbolizer (symbols/, created on the first lookup from the trace's module map) and
 * turns a stack id into source frames, inlined frames expanded. leaks.c (loss records, one
 * lg_frames_t per trace of the set) and objects.c (call sites of runtime objects) both go
 * through it, so neither needs the other to symbolize. It must not print, and must not know
 * what the stacks belong to (blocks, objects, reference-count events). */
#ifndef LG_MODEL_FRAMES_H
#define LG_MODEL_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"
#include "trace.h"

typedef struct lg_frames {
    const lg_trace_t *trace;
    lg_symbolizer_t *sym; /* NULL until the first lookup (retried there if creating it failed) */
} lg_frames_t;

/* Starts the frames of trace t (nothing is opened yet). */
void lg_frames_init(lg_frames_t *f, const lg_trace_t *t);

/* Frees the symbolizer: every frame string handed out becomes invalid. */
void lg_frames_fini(lg_frames_t *f);

/* Symbolized frames of stack `stack` (inlined frames expanded), at most max_frames physical
 * frames (<= 0: all); seq (an event's sequence number) picks the modules loaded then. A pc
 * that cannot be symbolized gives one frame with its address (and module, when known). *out is
 * owned by the caller (free()), NULL for stack 0 or an unknown stack; its strings belong to f and
 * to the trace.
 * Returns the number of frames or -ENOMEM. */
long lg_frames_stack(lg_frames_t *f, uint32_t stack, uint64_t seq, int max_frames,
                     lg_frame_t **out);

#endif /* LG_MODEL_FRAMES_H */
