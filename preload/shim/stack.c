/* shim/stack.c: stacks and names per stream. A stack is captured (unwind.h: the memo of the
 * thread's recent walks, else a fresh walk) without the shim's own frames, and interned in the
 * ring's stream: the first use writes a STACK record, later events carry its id. Runtime type
 * names are interned the same way (TYPE records). Stacks are return addresses; the shim never
 * symbolizes. It must never allocate from the C library (tables come from map_anon and are
 * never freed) and never take a lock of its own: it runs inside every recorded allocation. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

/* Captures the caller's stack, innermost first, without the shim's own frames. Every address
 * stored is a return address (the analyzer looks up address-1). */
static int skip_shim_frames(const uintptr_t *raw, int n, int max, const uintptr_t **out)
{
    int i = 0;
    while (i < n && raw[i] >= g_shim_lo && raw[i] < g_shim_hi) i++;
    *out = raw + i; /* no copy: the frames stay where the unwinder put them */
    return n - i < max ? n - i : max;
}

static int capture_stack(uintptr_t *raw, int max, const uintptr_t **out)
{
    int n = lg_unwind_backtrace((void **)raw, max + 16); /* unwind.c: libunwind's result, cached */
    return skip_shim_frames(raw, n, max, out);
}

/* The stream's memo of this thread's walks (NULL on the shared ring 0, whose stream many
 * threads write, or if it cannot be mapped). Cleared when another thread owns the ring. */
static lg_unw_memo_set_t *stream_memo(lg_stream_t *st, uint32_t ri)
{
    if (ri == 0) return NULL;
    pid_t tid = my_tid();
    if (UNLIKELY(st->memo_tid != tid)) {
        if (!st->memo && !(st->memo = map_anon(sizeof *st->memo))) return NULL;
        memset(st->memo, 0, sizeof *st->memo);
        st->memo_tid = tid;
    }
    return st->memo;
}

/* The stream's id of a runtime type name (names are static: known by address), assigned on
 * first use (*is_new: the caller writes its TYPE record first); 0 when the stream cannot name
 * more types or the table cannot be mapped. */
static uint32_t type_id_of(lg_stream_t *st, const char *name, bool *is_new)
{
    *is_new = false;
    if (UNLIKELY(!st->types) && !(st->types = map_anon(LG_TYPE_SLOTS * sizeof *st->types)))
        return 0;
    uint32_t i = (uint32_t)(((uintptr_t)name * 0x9e3779b97f4a7c15ull) >> 40) & (LG_TYPE_SLOTS - 1);
    for (;; i = (i + 1) & (LG_TYPE_SLOTS - 1)) {
        lg_type_ent_t *e = &st->types[i];
        if (e->name == name) return e->id;
        if (!e->name) {
            if (st->ntypes >= LG_TYPE_SLOTS / 2) return 0;
            *e = (lg_type_ent_t){name, ++st->ntypes};
            *is_new = true;
            return e->id;
        }
    }
}

/* Two independent rotate-xor lanes (no multiply chain through every frame: this runs for
 * every allocation), one final mix. Collisions cost a memcmp, never a wrong stack. */
static uint64_t hash_stack(const uintptr_t *ips, int depth)
{
    uint64_t a = 0x9e3779b97f4a7c15ull ^ (uint64_t)depth, b = 0xc2b2ae3d27d4eb4full;
    int i = 0;
    for (; i + 1 < depth; i += 2) {
        a = ((a << 13) | (a >> 51)) ^ ips[i];
        b = ((b << 17) | (b >> 47)) ^ ips[i + 1];
    }
    if (i < depth) a = ((a << 13) | (a >> 51)) ^ ips[i];
    uint64_t h = (a ^ (b * 0xff51afd7ed558ccdull)) * 0xc4ceb9fe1a85ec53ull;
    return (h ^ (h >> 29)) | 1; /* 0 marks an empty slot */
}

static bool grow_table(lg_stream_t *st)
{
    uint32_t cap = st->tab ? (st->tab_mask + 1) * 2 : 1024;
    lg_stack_ent_t *nt = map_anon(sizeof *nt * cap);
    if (!nt) return false;
    for (uint32_t i = 0; st->tab && i <= st->tab_mask; i++) {
        if (!st->tab[i].hash) continue;
        uint32_t j = (uint32_t)st->tab[i].hash & (cap - 1);
        while (nt[j].hash) j = (j + 1) & (cap - 1);
        nt[j] = st->tab[i];
    }
    st->tab = nt; /* the old table stays in the internal range (see map_anon) */
    st->tab_mask = cap - 1;
    return true;
}

/* Returns the stream's id for this stack, interning it if new (*is_new set). 0 on failure. */
static uint32_t intern_stack(lg_stream_t *st, const uintptr_t *ips, int depth, bool *is_new)
{
    *is_new = false;
    if (depth == 0) return 0;
    if ((!st->tab || st->tab_used * 2 >= st->tab_mask + 1) && !grow_table(st)) return 0;
    uint64_t h = hash_stack(ips, depth);
    uint32_t j = (uint32_t)h & st->tab_mask;
    for (; st->tab[j].hash; j = (j + 1) & st->tab_mask) {
        lg_stack_ent_t *e = &st->tab[j];
        if (e->hash == h && e->depth == (uint32_t)depth &&
            memcmp(e->ips, ips, sizeof *ips * (size_t)depth) == 0)
            return e->id;
    }
    if (st->arena_left < (size_t)depth) {
        size_t n = 1u << 17; /* 1 MiB of addresses */
        st->arena = map_anon(n * sizeof(uintptr_t));
        if (!st->arena) {
            st->arena_left = 0;
            return 0;
        }
        st->arena_left = n;
    }
    uintptr_t *copy = st->arena;
    memcpy(copy, ips, sizeof *ips * (size_t)depth);
    st->arena += depth;
    st->arena_left -= (size_t)depth;
    st->tab[j] = (lg_stack_ent_t){h, ++st->next_stack_id, (uint32_t)depth, copy};
    st->tab_used++;
    *is_new = true;
    return st->tab[j].id;
}
