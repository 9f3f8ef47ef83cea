/* shim/bootstrap.c: the bootstrap arena. While dlsym() resolves the real functions
 * (state RESOLVING) the C library may call calloc; those blocks come from this static arena,
 * are never freed to the C library (free() ignores them, realloc() moves them to the real
 * heap) and are recognised by address (is_boot). This is the one place the bootstrap problem
 * is solved. It must never call anything: no real function is known yet. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

static _Alignas(16) uint8_t g_boot[LG_BOOT_BYTES];
static _Atomic size_t g_boot_used;

static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16) align = 16;
    size_t need = ((n + 15) & ~(size_t)15) + align;
    size_t off = atomic_fetch_add(&g_boot_used, need);
    if (off + need > sizeof g_boot) return NULL;
    uintptr_t p = ((uintptr_t)g_boot + off + 16 + align - 1) & ~(uintptr_t)(align - 1);
    ((size_t *)p)[-1] = n; /* size, for realloc of a bootstrap block */
    return (void *)p;
}

static inline bool is_boot(const void *p)
{
    return (const uint8_t *)p >= g_boot && (const uint8_t *)p < g_boot + sizeof g_boot;
}
