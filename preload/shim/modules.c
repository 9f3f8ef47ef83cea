/* shim/modules.c: the module map. At start, around dlopen, dlsym and dlclose, before _exit and
 * exec, and in a forked child, the loaded objects are compared with those already recorded: a
 * MODULE record (id, bias, address range, path, build id) for each new one, an UNMODULE for each
 * one gone; the loader's add/sub counters skip the scan when nothing changed. It takes
 * g_mod_lock, so it must never run on the allocation fast path, and it must never read symbols:
 * the analyzer does that from the paths and build ids recorded here.
 *
 * Lock order: g_mod_lock is taken inside dl_iterate_phdr's first callback, under the loader's
 * lock (which dl_iterate_phdr holds across its callbacks), never before it. The wrappers that
 * scan can be entered with the loader's lock held (a program's dlsym inside its own
 * dl_iterate_phdr callback): taking g_mod_lock first and the loader's lock second would deadlock
 * with such a thread. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

typedef struct lg_module {
    uintptr_t bias, start;
    uint64_t name_hash;
    uint32_t id;
    bool seen;
} lg_module_t;
static lg_module_t g_mods[LG_MAX_MODULES];
static uint32_t g_nmods, g_next_mod_id;
static unsigned long long g_mod_adds = ~0ull, g_mod_subs = ~0ull;
static pthread_mutex_t g_mod_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t find_build_id(struct dl_phdr_info *info, const uint8_t **out)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const uint8_t *name = p + sizeof *nh;
            const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
            if (desc + nh->n_descsz > end) break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                *out = desc;
                return nh->n_descsz;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return 0;
}

/* A scan: whether its first callback took g_mod_lock (the loader's counters had moved). */
typedef struct scan_ctx {
    bool first_done, locked;
} scan_ctx_t;

static int scan_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    scan_ctx_t *ctx = data;
    if (!ctx->first_done) { /* under the loader's lock: the counters cannot move meanwhile */
        ctx->first_done = true;
        pthread_mutex_lock(&g_mod_lock);
        if (info->dlpi_adds == g_mod_adds && info->dlpi_subs == g_mod_subs) {
            pthread_mutex_unlock(&g_mod_lock);
            return 1; /* nothing loaded or unloaded since the last scan */
        }
        ctx->locked = true;
        g_mod_adds = info->dlpi_adds;
        g_mod_subs = info->dlpi_subs;
        for (uint32_t i = 0; i < g_nmods; i++) g_mods[i].seen = false;
    }
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < lo) lo = s;
        if (e > hi) hi = e;
    }
    if (hi == 0) return 0;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    uint64_t nh = lg_fnv1a(name);
    for (uint32_t i = 0; i < g_nmods; i++) {
        if (g_mods[i].bias == info->dlpi_addr && g_mods[i].start == lo && g_mods[i].name_hash == nh) {
            g_mods[i].seen = true;
            return 0;
        }
    }
    if (g_nmods == LG_MAX_MODULES) return 0;
    lg_module_t *m = &g_mods[g_nmods++];
    *m = (lg_module_t){info->dlpi_addr, lo, nh, g_next_mod_id++, true};

    char exe[4096];
    if (name[0] == 0) { /* the main program */
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        name = exe;
    }
    const uint8_t *bid = NULL;
    size_t bid_len = find_build_id(info, &bid);
    if (bid_len > 64) bid_len = 64;
    size_t name_len = strnlen(name, 4096);
    uint8_t extra[4096 + 128], *p = extra;
    p = lg_put_uv(p, m->id);
    p = lg_put_uv(p, info->dlpi_addr);
    p = lg_put_uv(p, lo);
    p = lg_put_uv(p, hi);
    p = lg_put_bytes(p, name, name_len);
    p = lg_put_bytes(p, bid, bid_len);
    lg_event_t ev = {.type = LG_REC_MODULE, .seq1 = -1};
    record(&ev, extra, (size_t)(p - extra));
    return 0;
}

/* Brings the recorded module map up to date when the loader's counters moved (dlopen of a
 * loaded object changes nothing): MODULE records for new objects, UNMODULE for objects that
 * were unloaded, then the unwinder's cached rules are dropped (stale unwind info of unloaded
 * code). */
static void scan_modules_if_changed(void)
{
    scan_ctx_t ctx = {false, false};
    dl_iterate_phdr(scan_cb, &ctx);
    if (!ctx.locked) return;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < g_nmods; i++) {
        if (g_mods[i].seen) {
            g_mods[kept++] = g_mods[i];
            continue;
        }
        uint8_t extra[LG_VARINT_MAX], *p = lg_put_uv(extra, g_mods[i].id);
        lg_event_t ev = {.type = LG_REC_UNMODULE, .seq1 = -1};
        record(&ev, extra, (size_t)(p - extra));
    }
    g_nmods = kept;
    pthread_mutex_unlock(&g_mod_lock);
    unw_flush_cache(unw_local_addr_space, 0, 0);
    lg_unwind_flush();
}
