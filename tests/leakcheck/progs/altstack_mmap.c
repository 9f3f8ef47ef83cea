/* altstack_bss.c with the alternate signal stack in an anonymous mmap'd mapping: its live
 * part is a root, the part below the handler's frames is dead.
 * EXPECT definite=20000/200 indirect=0/0 possible=0/0 reachable=48/2 cycles=0 */
#define ALT_MMAP 1
#include "altstack_bss.c"
