/* Blocks carved out of freed heap memory (issue 12): 4 rounds of 256 blocks of 300..2113
 * bytes, half of them freed, 16 blocks of 400..1150 bytes leaked (only their first byte is
 * written), then the rest freed. A leaked block's unwritten bytes still hold glibc's
 * free-list words and the old blocks' bytes, which point into the other leaked blocks; to
 * Memcheck they are undefined, so every leaked block is definitely lost and none is in a
 * cycle. 4 x (16 x 400 + 50 x 120) = 49600 bytes.
 * EXPECT definite=49600/64 indirect=0/0 possible=0/0 reachable=0/0 cycles=0 */
#include <stdlib.h>
int main(void)
{
    void *p[256];
    for (int r = 0; r < 4; r++) {
        for (int i = 0; i < 256; i++) p[i] = malloc(300 + 37 * (i % 50));
        for (int i = 0; i < 256; i += 2) free(p[i]);
        for (int i = 0; i < 16; i++) {
            volatile char *l = malloc(400 + 50 * i);
            l[0] = 1;
        }
        for (int i = 1; i < 256; i += 2) free(p[i]);
    }
    return 0;
}
