/* `leakgraph __snapshot --pid P --ctl ADDR --trace PATH`: hidden, not in the usage. A process
 * that traces itself (libleakgraph.so preloaded by hand) starts it at each leak check; the work
 * is the collector's (collect/selfsnap.c). This file only dispatches to it. */
#include "cli.h"

#include "selfsnap.h"

int lg_cmd_snapshot(int argc, char **argv)
{
    return lg_selfsnap_main(argc, argv);
}
