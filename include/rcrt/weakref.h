/*
 * rcrt/weakref.h - weak references (Python's weakref.ref).
 *
 * A weak reference points at an object without counting: when the object dies, the weak
 * reference is cleared and its callback (if any) runs, newest weak reference first. Only
 * types with a weak-reference list (type->weaklist_offset != 0; instances of rc_class_new
 * classes have one) can be referenced weakly. Same thread rule as rcrt/object.h.
 */
#ifndef RCRT_WEAKREF_H
#define RCRT_WEAKREF_H

#include <stddef.h>

#include "rcrt/object.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called once when the referent dies, with the (already cleared) weak reference, a reference
 * to which is held during the call, and the `data` given at creation. */
typedef void (*rc_weakref_callback_fn)(rc_object_t *weakref, void *data);

extern const rc_type_t rc_weakref_type;

/* New weak reference to `target` with an optional callback. Does not change target's count.
 * Returns NULL with errno EINVAL if the type of target has no weak-reference list. */
rc_object_t *rc_weakref_new(rc_object_t *target, rc_weakref_callback_fn callback, void *data);

/* The referent as a new reference, or NULL once it is dead (like calling a weakref.ref). */
rc_object_t *rc_weakref_get(rc_object_t *weakref);

/* True while the referent lives. */
bool rc_weakref_alive(rc_object_t *weakref);

/* Number of weak references to `target` (weakref.getweakrefcount). */
size_t rc_weakref_count(rc_object_t *target);

#ifdef __cplusplus
}
#endif

#endif /* RCRT_WEAKREF_H */
