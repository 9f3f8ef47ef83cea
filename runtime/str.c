/*
 * runtime/str.c - the str type (immutable bytes, NUL-terminated, hash cached) and the table
 * of interned strings. The table holds no reference ("mortal" interning, like CPython 3.11's
 * behaviour for interned strings): a dying interned string removes itself from it. The table
 * is an open-addressing hash set of pointers in memory from rc_malloc; it must never hold a
 * string whose count is zero.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

typedef struct rc_str {
    rc_object_t ob;
    size_t len;
    uint64_t hash; /* 0 = not computed yet */
    bool interned;
    char data[];
} rc_str_t;

/* FNV-1a, 64 bits; never 0 (0 means "not computed"). */
static uint64_t bytes_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h ? h : 1;
}

static uint64_t str_hash(rc_object_t *self)
{
    rc_str_t *s = (rc_str_t *)self;
    if (s->hash == 0)
        s->hash = bytes_hash(s->data, s->len);
    return s->hash;
}

static bool str_equal(rc_object_t *a, rc_object_t *b)
{
    rc_str_t *x = (rc_str_t *)a, *y = (rc_str_t *)b;
    return x->len == y->len && memcmp(x->data, y->data, x->len) == 0;
}

static void str_dealloc(rc_object_t *self)
{
    if (((rc_str_t *)self)->interned)
        rc_str_unintern(self);
    rc_object_free(self);
}

static size_t str_sizeof(rc_object_t *self)
{
    return ((rc_str_t *)self)->len + 1;
}

const rc_type_t rc_str_type = {
    .name = "str",
    .basicsize = sizeof(rc_str_t),
    .itemsize = 1,
    .dealloc = str_dealloc,
    .hash = str_hash,
    .equal = str_equal,
    .size_of = str_sizeof,
};

rc_object_t *rc_str_from_len(const char *p, size_t len)
{
    rc_str_t *s = (rc_str_t *)rc_object_new(&rc_str_type, len + 1);
    if (s == NULL)
        return NULL;
    s->len = len;
    memcpy(s->data, p, len);
    s->data[len] = '\0';
    return &s->ob;
}

rc_object_t *rc_str_from(const char *p)
{
    return rc_str_from_len(p, strlen(p));
}

const char *rc_str_data(const rc_object_t *op)
{
    return ((const rc_str_t *)op)->data;
}

size_t rc_str_len(const rc_object_t *op)
{
    return ((const rc_str_t *)op)->len;
}

bool rc_str_is_interned(const rc_object_t *op)
{
    return ((const rc_str_t *)op)->interned;
}

/* ---- the intern table ------------------------------------------------------------------
 * Linear probing; deleted slots hold TOMBSTONE. Grows at 2/3 load (live + tombstones). */

#define TOMBSTONE ((rc_str_t *)(uintptr_t)1)

static struct {
    rc_str_t **slots;
    size_t mask; /* size - 1, size a power of two */
    size_t used; /* live entries */
    size_t fill; /* live + tombstones */
} I;

/* Slot of the string with this content, or of the first free slot to put it in. */
static rc_str_t **intern_find(const char *p, size_t len, uint64_t h)
{
    rc_str_t **tomb = NULL;
    for (size_t i = h & I.mask;; i = (i + 1) & I.mask) {
        rc_str_t *s = I.slots[i];
        if (s == NULL)
            return tomb ? tomb : &I.slots[i];
        if (s == TOMBSTONE) {
            if (tomb == NULL)
                tomb = &I.slots[i];
        } else if (s->hash == h && s->len == len && memcmp(s->data, p, len) == 0) {
            return &I.slots[i];
        }
    }
}

static int intern_grow(void)
{
    size_t size = I.slots ? 2 * (I.mask + 1) : 64;
    while (I.used * 3 >= size)
        size *= 2;
    rc_str_t **slots = rc_calloc(size, sizeof *slots);
    if (slots == NULL)
        return -ENOMEM;
    rc_str_t **old = I.slots;
    size_t oldsize = old ? I.mask + 1 : 0;
    I.slots = slots;
    I.mask = size - 1;
    I.fill = I.used;
    for (size_t i = 0; i < oldsize; i++) {
        rc_str_t *s = old[i];
        if (s != NULL && s != TOMBSTONE)
            *intern_find(s->data, s->len, s->hash) = s;
    }
    rc_free(old);
    return 0;
}

rc_object_t *rc_str_intern(rc_object_t *op)
{
    rc_str_t *s = (rc_str_t *)op;
    if (s->interned)
        return op;
    if (3 * (I.fill + 1) > 2 * (I.slots ? I.mask + 1 : 0) && intern_grow() != 0)
        return op; /* cannot intern now: the string still works, just not shared */
    rc_str_t **slot = intern_find(s->data, s->len, str_hash(op));
    if (*slot != NULL && *slot != TOMBSTONE) {
        rc_object_t *found = &(*slot)->ob;
        rc_incref(found);
        rc_decref(op);
        return found;
    }
    if (*slot == NULL)
        I.fill++;
    *slot = s;
    I.used++;
    s->interned = true;
    return op;
}

rc_object_t *rc_str_interned(const char *p)
{
    size_t len = strlen(p);
    if (I.slots != NULL) {
        rc_str_t **slot = intern_find(p, len, bytes_hash(p, len));
        if (*slot != NULL && *slot != TOMBSTONE) {
            rc_incref(&(*slot)->ob);
            return &(*slot)->ob;
        }
    }
    rc_object_t *s = rc_str_from_len(p, len);
    return s ? rc_str_intern(s) : NULL;
}

void rc_str_unintern(rc_object_t *op)
{
    rc_str_t *s = (rc_str_t *)op;
    rc_str_t **slot = intern_find(s->data, s->len, str_hash(op));
    if (*slot == s) {
        *slot = TOMBSTONE;
        I.used--;
    }
    s->interned = false;
    if (I.used == 0) {
        rc_free(I.slots); /* the table goes with its last string */
        I.slots = NULL;
        I.mask = I.fill = 0;
    }
}

size_t rc_str_intern_count(void)
{
    return I.used;
}
