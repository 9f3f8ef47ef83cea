/* A library that leaks; the test program unloads it before exit. */
#define _GNU_SOURCE
#include <stdlib.h>

void *dl_leak(void);
void *dl_leak(void)
{
    return malloc(333); /* LEAK:dl_leak:malloc:333 */
}
