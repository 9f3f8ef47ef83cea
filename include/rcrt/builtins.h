/*
 * rcrt/builtins.h - the built-in types: int, str, tuple, list, dict and instances of classes.
 *
 * Enough to write real programs in the style of Python. Reference conventions are those of
 * rcrt/object.h (constructors return new references, getters borrow, setters take their own
 * reference). Functions that can fail return NULL or a negative errno.
 */
#ifndef RCRT_BUILTINS_H
#define RCRT_BUILTINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rcrt/object.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const rc_type_t rc_int_type, rc_str_type, rc_tuple_type, rc_list_type, rc_dict_type;

/* ---- int: a 64-bit integer. Values -5..256 are cached and shared, as in CPython. ---- */
#define RC_SMALL_INT_MIN (-5)
#define RC_SMALL_INT_MAX 256
/* New reference to an int of value `v` (the shared one for small values). */
rc_object_t *rc_int_from(int64_t v);
/* Value of an int object. */
int64_t rc_int_value(const rc_object_t *obj);

/* ---- str: an immutable byte string, NUL-terminated. ---- */
/* New string copied from `s` (NUL-terminated) or from `len` bytes. */
rc_object_t *rc_str_from(const char *s);
rc_object_t *rc_str_from_len(const char *s, size_t len);
/* The bytes and length of a string. */
const char *rc_str_data(const rc_object_t *obj);
size_t rc_str_len(const rc_object_t *obj);
/* sys.intern: takes the caller's reference to `s` and returns a new reference to the one
 * interned string with that content (s itself if it becomes the interned one). Interned
 * strings are mortal: the table does not keep them alive. */
rc_object_t *rc_str_intern(rc_object_t *s);
/* rc_str_intern(rc_str_from(s)) without the temporary when already interned. */
rc_object_t *rc_str_interned(const char *s);
bool rc_str_is_interned(const rc_object_t *obj);
/* Number of interned strings alive. */
size_t rc_str_intern_count(void);

/* ---- tuple: fixed-size sequence. ---- */
/* New tuple of `n` empty (NULL) items, to be filled with rc_tuple_set. */
rc_object_t *rc_tuple_new(size_t n);
/* New tuple of the `n` objects given (each gets a new reference). */
rc_object_t *rc_tuple_pack(size_t n, ...);
size_t rc_tuple_size(const rc_object_t *t);
/* Borrowed item i (NULL if unset). */
rc_object_t *rc_tuple_get(const rc_object_t *t, size_t i);
/* Store item i (takes a reference; drops the old item). */
void rc_tuple_set(rc_object_t *t, size_t i, rc_object_t *item);

/* ---- list: growable sequence. ---- */
rc_object_t *rc_list_new(void);
size_t rc_list_size(const rc_object_t *l);
/* Append `item` (takes a reference). Returns 0 or -ENOMEM. */
int rc_list_append(rc_object_t *l, rc_object_t *item);
/* Borrowed item i; NULL if out of range. */
rc_object_t *rc_list_get(const rc_object_t *l, size_t i);
/* Replace item i (takes a reference). Returns 0 or -EINVAL if out of range. */
int rc_list_set(rc_object_t *l, size_t i, rc_object_t *item);
/* Remove item i (del l[i]). Returns 0 or -EINVAL. */
int rc_list_del(rc_object_t *l, size_t i);
/* Remove and return (new reference) the last item; NULL if empty. */
rc_object_t *rc_list_pop(rc_object_t *l);
/* Remove every item (l.clear()). */
void rc_list_clear(rc_object_t *l);

/* ---- dict: hash table in insertion order; keys use rc_hash/rc_equal. ---- */
rc_object_t *rc_dict_new(void);
size_t rc_dict_size(const rc_object_t *d);
/* d[key] = value (takes references to both). Returns 0 or -ENOMEM. */
int rc_dict_set(rc_object_t *d, rc_object_t *key, rc_object_t *value);
/* Borrowed d[key], or NULL if missing. */
rc_object_t *rc_dict_get(rc_object_t *d, rc_object_t *key);
/* del d[key]. Returns 0 or -ENOENT. */
int rc_dict_del(rc_object_t *d, rc_object_t *key);
/* The same with a C string key (an interned str). */
int rc_dict_set_str(rc_object_t *d, const char *key, rc_object_t *value);
rc_object_t *rc_dict_get_str(rc_object_t *d, const char *key);
/* Iterate: start with *pos = 0; returns false at the end. Borrowed key and value. */
bool rc_dict_next(const rc_object_t *d, size_t *pos, rc_object_t **key, rc_object_t **value);
/* Remove every entry. */
void rc_dict_clear(rc_object_t *d);

/* ---- classes and instances: objects with named attributes. ---- */
/* A new class named `name` (the type name of its instances). As in Python: with `slots` NULL,
 * instances have a __dict__ (attributes in a dict created on first use) and can be weakly
 * referenced; with `slots` (a NULL-terminated list of names, like __slots__) the attributes
 * are stored inline and only those exist, plus a dict if "__dict__" is listed and weak
 * references if "__weakref__" is listed. `del` is an optional finalizer (__del__, PEP 442
 * semantics). Returns NULL on failure. The class must outlive its instances. */
rc_type_t *rc_class_new(const char *name, const char *const *slots, rc_finalize_fn del);
/* Free a class. Returns 0, or -EBUSY while instances are alive. */
int rc_class_free(rc_type_t *cls);
/* Number of live instances of a class. */
size_t rc_class_instances(const rc_type_t *cls);
/* True if `obj` is an instance of a class made by rc_class_new. */
bool rc_is_instance(const rc_object_t *obj);
/* New instance (no attributes set). */
rc_object_t *rc_instance_new(rc_type_t *cls);
/* obj.name = value (takes a reference); value NULL deletes. Returns 0, -ENOMEM, or -ENOENT
 * when deleting a missing attribute or setting one the class has no room for (no slot of
 * that name and no __dict__, Python's AttributeError). */
int rc_setattr(rc_object_t *obj, const char *name, rc_object_t *value);
/* Borrowed obj.name, or NULL if unset. */
rc_object_t *rc_getattr(rc_object_t *obj, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* RCRT_BUILTINS_H */
