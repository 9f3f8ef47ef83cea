/* Stopping a traced process's threads for a leak check from outside it, with ptrace (see
 * stop.c): invisible to the program, unlike a signal. */
#ifndef LG_STOP_H
#define LG_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "region.h"

typedef struct lg_stopped_thread {
    pid_t tid;
    int sig;      /* a signal it was about to take when it stopped: given back when let go */
    int state;    /* stop.c's enum */
    uint64_t sp;  /* parked (not stopped): its stack pointer */
} lg_stopped_thread_t;

/* The threads of one process this collector holds (seized). */
typedef struct lg_stopped {
    pid_t pid;
    pid_t child;  /* the process's pid when it is the collector's own child, else 0 */
    bool child_ended; /* our child's wait status was reaped here: child_status */
    int child_status;
    lg_stopped_thread_t *t;
    size_t n, cap;
    bool holding; /* let go never: they end with the process */
} lg_stopped_t;

/* Stops every thread of `pid` but `requester` and appends their registers to sc->threads[]
 * (after its sc->nthreads entries; LG_TF_PTRACE; parked ones LG_TF_EXACT_SP with their stack
 * pointer). r: the process's region (its parked threads are not stopped), or NULL: then every
 * thread is. Returns 0, or a negative errno with nothing stopped (-EPERM: not permitted, or
 * traced by another tracer) and a reason in err. */
int lg_stop_threads(lg_stopped_t *st, pid_t pid, pid_t requester, lg_snap_ctl_t *sc,
                    lg_region_t *r, char *err, size_t errlen);

/* Lets the stopped threads go (each with the signal it was about to take) and the parked ones
 * (r: their region, or NULL), or with hold keeps them until they end. Never waits long: a thread not
 * stopped yet is let go by lg_stopped_poll once it stops. */
void lg_release_threads(lg_stopped_t *st, lg_region_t *r, bool hold);

/* Called every collector round: lets go the threads that stopped late, reaps the held ones
 * that ended. Returns the number still held or pending. */
size_t lg_stopped_poll(lg_stopped_t *st);

/* A wait status for one of its threads that the collector's main loop got (waitpid of its
 * child, whose main thread may be one of these): recorded as if lg_stopped_poll had seen it. */
void lg_stopped_note(lg_stopped_t *st, pid_t tid, int status);

/* Has thread tid of process pid ended (a zombie, or dead) though perhaps still listed (tid ==
 * pid: the main thread, whose state is the process's)? PTRACE_SEIZE refuses such a thread
 * with EPERM, as it refuses one it may not trace. */
bool lg_task_ended(pid_t pid, pid_t tid);

/* Forgets everything (the process is gone). */
void lg_stopped_free(lg_stopped_t *st);

#endif /* LG_STOP_H */
