/* A library with a global that keeps the last block it allocated. */
#define _GNU_SOURCE
#include <stdlib.h>
void *dl_global;
void dl_keep(unsigned long n);
void dl_keep(unsigned long n)
{
    dl_global = malloc(n);
}
