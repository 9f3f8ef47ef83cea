/* Calls libdlcaller_lib.so, which dlopens a plugin through its own RUNPATH. Prints "plugin
 * loaded" and exits 0; 3 when the library could not load the plugin. It defines dlcaller_x
 * (see dlcaller_lib.c), as the library does. */
#define _GNU_SOURCE
#include <stdio.h>

void *dlcaller_lib_load(void);
int dlcaller_x(void);
void *volatile sink;

int dlcaller_x(void)
{
    return 1;
}

int main(void)
{
    sink = dlcaller_lib_load();
    if (!sink) return 3;
    sink = NULL;
    printf("plugin loaded\n");
    return 0;
}
