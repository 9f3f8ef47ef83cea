/* dlopen a library, call its leaking function, dlclose it: the frame in the unloaded code must
 * still symbolize. The library path is argv[1]. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

void *volatile sink;

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 3;
    }
    void *(*fn)(void) = (void *(*)(void))dlsym(h, "dl_leak");
    if (!fn) return 4;
    sink = fn(); /* LEAK:main:malloc:333 */
    if (dlclose(h) != 0) return 5;
    sink = NULL;
    return 0;
}
