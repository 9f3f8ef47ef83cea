/* A plugin found only through its loader's RPATH or RUNPATH ($ORIGIN): the dlcaller_* programs
 * load it by its bare name. It leaks one block, which the report must show at this line. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

void *dlcaller_leak(void);
void *dlcaller_leak(void)
{
    char *p = malloc(777); /* LEAK:dlcaller_leak:malloc:777 */
    if (p) memset(p, 'p', 777);
    return p;
}
