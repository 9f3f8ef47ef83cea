/* On-demand checks: lg_check() twice from the program, once more through the check signal
 * (LEAKGRAPH_CHECK_SIGNAL=USR2), then the exit check. Prints the check numbers it got.
 *   check 1: 100 bytes definitely lost (grow_once)
 *   check 2: +200 definitely lost (grow_twice), and a 50-byte block kept by a global
 *   check 3 (signal): unchanged
 *   exit:    the global is cleared, so the 50 bytes are lost too */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include "leakgraph/leakgraph.h"

void *volatile sink;
void *kept;

static void grow_once(void) { sink = malloc(100); } /* LEAK:grow_once:malloc:100 */
static void grow_twice(void) { sink = malloc(200); } /* LEAK:grow_twice:malloc:200 */
static void keep(void) { kept = malloc(50); } /* LEAK:keep:malloc:50 */

int main(void)
{
    grow_once();
    sink = NULL;
    int c1 = lg_check();
    grow_twice();
    sink = NULL;
    keep();
    int c2 = lg_check();
    if (getenv("LEAKGRAPH_CHECK_SIGNAL")) raise(SIGUSR2); /* only when it asks for a check */
    printf("checks %d %d\n", c1, c2);
    kept = NULL;
    return 0;
}
