/* The leak check of a process that collects its own trace: see selfsnap.c. */
#ifndef LG_SELFSNAP_H
#define LG_SELFSNAP_H

/* `leakgraph __snapshot --pid P --ctl ADDR --trace PATH`; returns the exit status. */
int lg_selfsnap_main(int argc, char **argv);

#endif /* LG_SELFSNAP_H */
