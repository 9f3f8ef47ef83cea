/* A tree of 7 nodes (48 bytes each) kept by a global; one subtree (3 nodes) is cut off.
 * Memcheck: the subtree root is definitely lost, its two children indirectly.
 * EXPECT definite=48/1 indirect=96/2 possible=0/0 reachable=192/4 cycles=0 */
#define _GNU_SOURCE
#include <stdlib.h>
struct node { struct node *left, *right; long pad[4]; };
static struct node *mk(int depth)
{
    struct node *n = calloc(1, sizeof *n);
    if (depth > 1) {
        n->left = mk(depth - 1);
        n->right = mk(depth - 1);
    }
    return n;
}
struct node *root;
int main(void)
{
    root = mk(3);
    root->right = NULL; /* cut: 3 nodes lost */
    return 0;
}
