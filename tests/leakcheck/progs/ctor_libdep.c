/* libctor_libdep.so, a DT_NEEDED library of ctor_lib: its constructor runs from ld.so before
 * the program's _start and leaks 1024 blocks of 16 bytes whose only pointers are in its
 * frame (8 KiB of it). */
#define _GNU_SOURCE
#include <stdlib.h>
__attribute__((constructor)) static void lib_make_and_forget(void)
{
    void *volatile p[1024];
    for (int i = 0; i < 1024; i++) p[i] = malloc(16);
    (void)p;
}
int ctor_libdep_answer(void)
{
    return 42;
}
