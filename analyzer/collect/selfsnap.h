/* `leakgraph __snapshot`: the leak check of a process that collects its own trace (the shim
 * preloaded by hand), taken from outside it while it waits (see selfsnap.c). It only reads the
 * request and hands it to the one check of check.c; not a user command. */
#ifndef LG_SELFSNAP_H
#define LG_SELFSNAP_H

/* `leakgraph __snapshot --pid P --ctl ADDR --trace PATH`; returns the exit status. */
int lg_selfsnap_main(int argc, char **argv);

#endif /* LG_SELFSNAP_H */
