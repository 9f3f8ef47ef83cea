/* dlopen of a bare name found through the executable's own RPATH or RUNPATH ($ORIGIN; built
 * twice, dlcaller_rpath and dlcaller_runpath): ld.so searches the path of the caller, taken
 * from dlopen's return address, so a preloaded wrapper must keep the program as the caller.
 * With argument "m", dlmopen(LM_ID_NEWLM) instead (the same rule). Prints "plugin loaded" and
 * exits 0; 3 when the plugin is not found (dlerror on stderr). The plugin's block is kept in a
 * global that is cleared: it leaks. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

void *volatile sink;

int main(int argc, char **argv)
{
    int m = argc > 1 && strcmp(argv[1], "m") == 0;
    void *h = m ? dlmopen(LM_ID_NEWLM, "libdlcaller_plugin.so", RTLD_NOW)
                : dlopen("libdlcaller_plugin.so", RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 3;
    }
    void *(*fn)(void) = (void *(*)(void))dlsym(h, "dlcaller_leak");
    if (!fn) return 4;
    sink = fn();
    if (!sink) return 5;
    sink = NULL;
    printf("plugin loaded\n");
    return 0;
}
