/* A shared library that dlopens a bare name through its own RUNPATH ($ORIGIN/dlcaller_sub):
 * the caller is this library, not the executable (whose RPATH does not hold the plugin).
 * Returns the plugin's block, or NULL with a message on stderr. It also asks dlsym(RTLD_NEXT)
 * for dlcaller_x, which only the executable and this library define: the objects after this
 * one (the caller) define none, so NULL; if the shim (preloaded before this library) were the
 * caller, it would be this library's own. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int dlcaller_x(void);
int dlcaller_x(void)
{
    return 2;
}

void *dlcaller_lib_load(void);
void *dlcaller_lib_load(void)
{
    if (dlsym(RTLD_NEXT, "dlcaller_x")) {
        fprintf(stderr, "dlsym(RTLD_NEXT, dlcaller_x) found a definition at or before its caller\n");
        return NULL;
    }
    void *h = dlopen("libdlcaller_deep.so", RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return NULL;
    }
    void *(*fn)(void) = (void *(*)(void))dlsym(h, "dlcaller_leak");
    return fn ? fn() : NULL;
}
