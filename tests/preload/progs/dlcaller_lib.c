/* A shared library that dlopens a bare name through its own RUNPATH ($ORIGIN/dlcaller_sub):
 * the caller is this library, not the executable (whose RPATH does not hold the plugin).
 * Returns the plugin's block, or NULL with dlerror on stderr. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

void *dlcaller_lib_load(void);
void *dlcaller_lib_load(void)
{
    void *h = dlopen("libdlcaller_deep.so", RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return NULL;
    }
    void *(*fn)(void) = (void *(*)(void))dlsym(h, "dlcaller_leak");
    return fn ? fn() : NULL;
}
