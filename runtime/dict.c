/*
 * runtime/dict.c - the dict type: a hash table that keeps insertion order, built like
 * CPython's compact dict. `entries` is an array of (hash, key, value) in insertion order;
 * `index` is an open-addressing table (linear probing, power-of-two size) of positions in
 * `entries`. Deleting leaves a hole in entries (key NULL) and a DUMMY in index; a resize
 * compacts both. A container; a value is labelled with its key when the key is a str, and
 * keys are reported with the label "<key>". It does not run the collector or any user code
 * except through rc_decref of replaced or removed keys and values, done last.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define IX_EMPTY (-1)
#define IX_DUMMY (-2)

typedef struct dict_entry {
    uint64_t hash;
    rc_object_t *key;   /* NULL: deleted */
    rc_object_t *value;
} dict_entry_t;

typedef struct rc_dict {
    rc_object_t ob;
    size_t used;        /* live entries */
    size_t nentries;    /* entries used, holes included */
    size_t capacity;    /* entries allocated (2/3 of the index size) */
    size_t mask;        /* index size - 1 */
    int32_t *index;
    dict_entry_t *entries;
} rc_dict_t;

static int dict_traverse(rc_object_t *self, rc_visit_fn visit, void *arg)
{
    rc_dict_t *d = (rc_dict_t *)self;
    for (size_t i = 0; i < d->nentries; i++) {
        dict_entry_t *e = &d->entries[i];
        if (e->key == NULL)
            continue;
        int r = visit(e->key, "<key>", (intptr_t)i, arg);
        if (r)
            return r;
        const char *label = e->key->type == &rc_str_type ? rc_str_data(e->key) : NULL;
        r = visit(e->value, label, (intptr_t)i, arg);
        if (r)
            return r;
    }
    return 0;
}

static void dict_clear_impl(rc_object_t *self)
{
    rc_dict_t *d = (rc_dict_t *)self;
    dict_entry_t *entries = d->entries;
    size_t n = d->nentries;
    rc_free(d->index);
    d->index = NULL;
    d->entries = NULL;
    d->used = d->nentries = d->capacity = 0;
    d->mask = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].key != NULL) {
            rc_decref(entries[i].key);
            rc_decref(entries[i].value);
        }
    }
    rc_free(entries);
}

static size_t dict_sizeof(rc_object_t *self)
{
    rc_dict_t *d = (rc_dict_t *)self;
    if (d->index == NULL)
        return 0;
    return (d->mask + 1) * sizeof(int32_t) + d->capacity * sizeof(dict_entry_t);
}

const rc_type_t rc_dict_type = {
    .name = "dict",
    .basicsize = sizeof(rc_dict_t),
    .flags = RC_TYPE_GC,
    .traverse = dict_traverse,
    .clear = dict_clear_impl,
    .size_of = dict_sizeof,
};

rc_object_t *rc_dict_new(void)
{
    return rc_object_new(&rc_dict_type, 0);
}

size_t rc_dict_size(const rc_object_t *d)
{
    return ((const rc_dict_t *)d)->used;
}

/* Index slot holding `key`, or -1; *free_slot receives the first empty/dummy slot seen. */
static intptr_t lookup(rc_dict_t *d, rc_object_t *key, uint64_t h, size_t *free_slot)
{
    size_t fs = SIZE_MAX;
    for (size_t i = h & d->mask;; i = (i + 1) & d->mask) {
        int32_t ix = d->index[i];
        if (ix == IX_EMPTY) {
            if (free_slot)
                *free_slot = fs == SIZE_MAX ? i : fs;
            return -1;
        }
        if (ix == IX_DUMMY) {
            if (fs == SIZE_MAX)
                fs = i;
            continue;
        }
        dict_entry_t *e = &d->entries[ix];
        if (e->key == key || (e->hash == h && rc_equal(e->key, key)))
            return (intptr_t)i;
    }
}

/* Rebuild with room for `need` live entries: compacts the entries, fresh index. */
static int dict_resize(rc_dict_t *d, size_t need)
{
    size_t size = 8;
    while (size * 2 / 3 < need)
        size *= 2;
    size_t cap = size * 2 / 3;
    int32_t *index = rc_malloc(size * sizeof *index);
    dict_entry_t *entries = rc_malloc(cap * sizeof *entries);
    if (index == NULL || entries == NULL || size > INT32_MAX) {
        rc_free(index);
        rc_free(entries);
        return -ENOMEM;
    }
    memset(index, 0xff, size * sizeof *index); /* IX_EMPTY */
    size_t n = 0;
    for (size_t i = 0; i < d->nentries; i++)
        if (d->entries[i].key != NULL)
            entries[n++] = d->entries[i];
    for (size_t k = 0; k < n; k++) {
        size_t i = entries[k].hash & (size - 1);
        while (index[i] != IX_EMPTY)
            i = (i + 1) & (size - 1);
        index[i] = (int32_t)k;
    }
    rc_free(d->index);
    rc_free(d->entries);
    d->index = index;
    d->entries = entries;
    d->mask = size - 1;
    d->capacity = cap;
    d->nentries = n;
    return 0;
}

int rc_dict_set(rc_object_t *self, rc_object_t *key, rc_object_t *value)
{
    rc_dict_t *d = (rc_dict_t *)self;
    uint64_t h = rc_hash(key);
    if (d->index == NULL && dict_resize(d, 1) != 0)
        return -ENOMEM;
    size_t free_slot = 0; /* set by lookup() when the key is absent */
    intptr_t slot = lookup(d, key, h, &free_slot);
    if (slot >= 0) {
        dict_entry_t *e = &d->entries[d->index[slot]];
        rc_incref(value);
        rc_setref(&e->value, value);
        return 0;
    }
    if (d->nentries == d->capacity) {
        if (dict_resize(d, d->used * 2 + 1) != 0)
            return -ENOMEM;
        lookup(d, key, h, &free_slot);
    }
    rc_incref(key);
    rc_incref(value);
    d->index[free_slot] = (int32_t)d->nentries;
    d->entries[d->nentries++] = (dict_entry_t){h, key, value};
    d->used++;
    return 0;
}

rc_object_t *rc_dict_get(rc_object_t *self, rc_object_t *key)
{
    rc_dict_t *d = (rc_dict_t *)self;
    if (d->used == 0)
        return NULL;
    intptr_t slot = lookup(d, key, rc_hash(key), NULL);
    return slot >= 0 ? d->entries[d->index[slot]].value : NULL;
}

int rc_dict_del(rc_object_t *self, rc_object_t *key)
{
    rc_dict_t *d = (rc_dict_t *)self;
    if (d->used == 0)
        return -ENOENT;
    intptr_t slot = lookup(d, key, rc_hash(key), NULL);
    if (slot < 0)
        return -ENOENT;
    dict_entry_t *e = &d->entries[d->index[slot]];
    rc_object_t *k = e->key, *v = e->value;
    d->index[slot] = IX_DUMMY;
    e->key = e->value = NULL;
    d->used--;
    rc_decref(k);
    rc_decref(v);
    return 0;
}

int rc_dict_set_str(rc_object_t *d, const char *key, rc_object_t *value)
{
    rc_object_t *k = rc_str_interned(key);
    if (k == NULL)
        return -ENOMEM;
    int r = rc_dict_set(d, k, value);
    rc_decref(k);
    return r;
}

rc_object_t *rc_dict_get_str(rc_object_t *d, const char *key)
{
    rc_object_t *k = rc_str_from(key);
    if (k == NULL)
        return NULL;
    rc_object_t *v = rc_dict_get(d, k);
    rc_decref(k);
    return v;
}

bool rc_dict_next(const rc_object_t *self, size_t *pos, rc_object_t **key, rc_object_t **value)
{
    const rc_dict_t *d = (const rc_dict_t *)self;
    while (*pos < d->nentries) {
        const dict_entry_t *e = &d->entries[(*pos)++];
        if (e->key != NULL) {
            if (key)
                *key = e->key;
            if (value)
                *value = e->value;
            return true;
        }
    }
    return false;
}

void rc_dict_clear(rc_object_t *d)
{
    dict_clear_impl(d);
}
