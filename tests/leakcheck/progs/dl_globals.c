/* A global of a dlopen'd library is a root while the library is loaded; once dlclosed its
 * data is gone and the block it held is lost. argv[1] = library path.
 * EXPECT definite=111/1 indirect=0/0 possible=0/0 reachable>=222/1 cycles=0 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    void *h1 = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h1) { fprintf(stderr, "%s\n", dlerror()); return 3; }
    ((void (*)(unsigned long))dlsym(h1, "dl_keep"))(111);
    dlclose(h1); /* unloaded: its global is gone */
    void *h2 = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h2) return 4;
    ((void (*)(unsigned long))dlsym(h2, "dl_keep"))(222);
    return 0; /* still loaded: its global holds the block */
}
