/*
 * runtime/instance.c - classes and their instances: objects with named attributes, like
 * instances of a Python class. A class is an rc_type_t (its name is the instance's type name)
 * extended with its slot names and a count of live instances. As in Python:
 *   - a class without slots has a __dict__ (attributes in a dict created on first use) and
 *     can be weakly referenced;
 *   - a class with slots stores exactly those attributes inline, and has a __dict__ or a weak
 *     reference list only if "__dict__" or "__weakref__" is among its slots.
 * Instance layout: [rc_object_t | values[nslots] | dict? | weaklist?]. Instances may have a
 * finalizer (__del__). Classes are plain C memory, not objects: they must outlive their
 * instances (rc_class_free refuses while any is alive).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct rc_class {
    rc_type_t type;     /* first: a class is a type */
    char *name;
    size_t nslots;      /* attribute slots (not counting __dict__ and __weakref__) */
    char **slots;
    size_t dict_offset; /* offset of the dict pointer, 0 = no __dict__ */
    size_t ninstances;
} rc_class_t;

typedef struct rc_instance {
    rc_object_t ob;
    rc_object_t *values[]; /* one per slot, NULL = unset; then dict and weaklist if any */
} rc_instance_t;

static inline rc_object_t **dict_ptr(rc_object_t *self, const rc_class_t *c)
{
    return c->dict_offset ? (rc_object_t **)((char *)self + c->dict_offset) : NULL;
}

static int instance_traverse(rc_object_t *self, rc_visit_fn visit, void *arg)
{
    rc_instance_t *in = (rc_instance_t *)self;
    const rc_class_t *c = (const rc_class_t *)self->type;
    for (size_t i = 0; i < c->nslots; i++) {
        if (in->values[i] != NULL) {
            int r = visit(in->values[i], c->slots[i], -1, arg);
            if (r)
                return r;
        }
    }
    rc_object_t **d = dict_ptr(self, c);
    if (d != NULL && *d != NULL)
        return visit(*d, "__dict__", -1, arg);
    return 0;
}

static void instance_clear(rc_object_t *self)
{
    rc_instance_t *in = (rc_instance_t *)self;
    const rc_class_t *c = (const rc_class_t *)self->type;
    for (size_t i = 0; i < c->nslots; i++) {
        rc_object_t *v = in->values[i];
        in->values[i] = NULL;
        rc_xdecref(v);
    }
    rc_object_t **d = dict_ptr(self, c);
    if (d != NULL) {
        rc_object_t *old = *d;
        *d = NULL;
        rc_xdecref(old);
    }
}

static void instance_dealloc(rc_object_t *self)
{
    rc_class_t *c = (rc_class_t *)(uintptr_t)self->type;
    instance_clear(self);
    c->ninstances--;
    rc_object_free(self);
}

int rc_instance_is_class_type(const rc_type_t *t)
{
    return t->traverse == instance_traverse;
}

bool rc_is_instance(const rc_object_t *op)
{
    return rc_instance_is_class_type(op->type);
}

rc_type_t *rc_class_new(const char *name, const char *const *slots, rc_finalize_fn del)
{
    size_t n = 0, total = 0;
    bool has_dict = slots == NULL, has_weakref = slots == NULL;
    while (slots != NULL && slots[total] != NULL) {
        if (strcmp(slots[total], "__dict__") == 0)
            has_dict = true;
        else if (strcmp(slots[total], "__weakref__") == 0)
            has_weakref = true;
        else
            n++;
        total++;
    }
    rc_class_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->name = strdup(name);
    c->slots = calloc(n ? n : 1, sizeof *c->slots);
    if (c->name == NULL || c->slots == NULL)
        goto fail;
    for (size_t i = 0, k = 0; i < total; i++) {
        if (strcmp(slots[i], "__dict__") == 0 || strcmp(slots[i], "__weakref__") == 0)
            continue;
        c->slots[k] = strdup(slots[i]);
        if (c->slots[k++] == NULL)
            goto fail;
    }
    c->nslots = n;
    size_t size = sizeof(rc_instance_t) + n * sizeof(rc_object_t *);
    if (has_dict) {
        c->dict_offset = size;
        size += sizeof(rc_object_t *);
    }
    if (has_weakref) {
        c->type.weaklist_offset = size;
        size += sizeof(rc_object_t *);
    }
    c->type.name = c->name;
    c->type.basicsize = size;
    c->type.flags = RC_TYPE_GC;
    c->type.traverse = instance_traverse;
    c->type.clear = instance_clear;
    c->type.finalize = del;
    c->type.dealloc = instance_dealloc;
    return &c->type;
fail:
    for (size_t i = 0; c->slots && i < n; i++)
        free(c->slots[i]);
    free(c->slots);
    free(c->name);
    free(c);
    return NULL;
}

int rc_class_free(rc_type_t *type)
{
    rc_class_t *c = (rc_class_t *)type;
    if (c->ninstances != 0)
        return -EBUSY;
    for (size_t i = 0; i < c->nslots; i++)
        free(c->slots[i]);
    free(c->slots);
    free(c->name);
    free(c);
    return 0;
}

size_t rc_class_instances(const rc_type_t *type)
{
    return ((const rc_class_t *)type)->ninstances;
}

rc_object_t *rc_instance_new(rc_type_t *type)
{
    rc_object_t *op = rc_object_new(type, 0);
    if (op != NULL)
        ((rc_class_t *)type)->ninstances++;
    return op;
}

static intptr_t slot_of(const rc_class_t *c, const char *name)
{
    for (size_t i = 0; i < c->nslots; i++)
        if (strcmp(c->slots[i], name) == 0)
            return (intptr_t)i;
    return -1;
}

int rc_setattr(rc_object_t *self, const char *name, rc_object_t *value)
{
    rc_instance_t *in = (rc_instance_t *)self;
    const rc_class_t *c = (const rc_class_t *)self->type;
    intptr_t i = slot_of(c, name);
    if (i >= 0) {
        if (value == NULL && in->values[i] == NULL)
            return -ENOENT;
        rc_xincref(value);
        rc_setref(&in->values[i], value);
        return 0;
    }
    rc_object_t **d = dict_ptr(self, c);
    if (d == NULL)
        return -ENOENT; /* like AttributeError: slots only, no __dict__ */
    if (value == NULL) {
        if (*d == NULL)
            return -ENOENT;
        rc_object_t *k = rc_str_interned(name);
        if (k == NULL)
            return -ENOMEM;
        int r = rc_dict_del(*d, k);
        rc_decref(k);
        return r;
    }
    if (*d == NULL) {
        *d = rc_dict_new();
        if (*d == NULL)
            return -ENOMEM;
    }
    return rc_dict_set_str(*d, name, value);
}

rc_object_t *rc_getattr(rc_object_t *self, const char *name)
{
    rc_instance_t *in = (rc_instance_t *)self;
    const rc_class_t *c = (const rc_class_t *)self->type;
    intptr_t i = slot_of(c, name);
    if (i >= 0)
        return in->values[i];
    rc_object_t **d = dict_ptr(self, c);
    return d && *d ? rc_dict_get_str(*d, name) : NULL;
}
