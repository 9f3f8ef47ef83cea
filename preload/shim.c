/* libleakgraph.so: the shim preloaded into the traced program. It interposes the malloc family
 * (hooks.h is the one list), records every allocation with its call stack and every free into
 * its thread's ring (trace/region.h), keeps the module map (dlopen/dlclose), and follows the
 * process through fork, exec and exit. It never symbolizes or analyzes, and it must never
 * crash, deadlock or change the result of the program: on its own trouble it stops tracing
 * and says so once on stderr.
 *
 * Two modes, chosen by the environment at start:
 *  - collected (LEAKGRAPH_SESSION set by `leakgraph run`): the region is a file in the session
 *    directory, drained by the `leakgraph run` parent, so everything recorded survives SIGKILL.
 *  - self-collecting (preloaded by hand; LEAKGRAPH_OUTPUT names the trace): the region is
 *    private and the thread whose ring passes half full drains all rings into the trace
 *    (trace/writer.c). Events still in rings when the process is killed are lost.
 *
 * Ordering rules, commented where they apply: a free is recorded before the real free (the
 * address cannot be reused by another thread before its free is in the trace); an allocation
 * after the real call returned; realloc reserves the sequence number of its free part before
 * the real call for the same reason.
 *
 * One translation unit, several files: this file is the unit, the parts below are included
 * in this order (as mimalloc's static.c includes its parts), so the hot path keeps inlining
 * across concerns and all state stays `static`. The parts are never compiled on their own.
 * The data path: a wrapper (alloc_wrappers.c) -> enter() (lifecycle.c) -> record()
 * (record.c) -> the stack (stack.c, unwind.h) -> the thread's ring (ring.c), which the
 * collector process drains into the trace file (`leakgraph run`, or the one own_collector.c
 * starts).
 *
 *   shim/internal.h        includes, tunables, the real functions, states, types, globals
 *   shim/support.c         say_once, stop_tracing, the shim's private memory (map_anon)
 *   shim/bootstrap.c       the static arena that serves allocations while dlsym resolves
 *   shim/process.c         the process description (PROCESS keys) in the region header
 *   shim/ring.c            the region, ring slots per thread, waiting on the collector
 *   shim/own_collector.c   preloaded by hand: starting our collector, waiting for the end
 *   shim/stack.c           stack capture and interning, type names, per stream
 *   shim/record.c          one event -> records in the thread's ring (the encoding)
 *   shim/modules.c         the module map: MODULE / UNMODULE records
 *   shim/runtime_hooks.c   the hooks of reference-counting runtimes, and their walk
 *   shim/check.c           stop-the-world for leak checks, check and fatal signals
 *   shim/signal_view.c     sigaction() shows SIG_DFL where the fatal handler stands in
 *   shim/freeres.c         freeing the C/C++ runtimes' caches before the exit check
 *   shim/lifecycle.c       start-up, the state transitions, enter(), the exit handler
 *   shim/fork_exec.c       fork handlers, the end of an image (exec, exit), destructor
 *   shim/alloc_wrappers.c  the interposed malloc family (the fast path)
 *   shim/image_wrappers.c  dlopen, dlsym, dlclose, the exec family, _exit, the constructor
 *   shim/start.c           __libc_start_main: the dead stack zeroed before main
 *   shim/waits.c           epoll_wait and its siblings: parked, not stopped, at a check */
#define _GNU_SOURCE
#define LG_SHIM_UNIT 1

#include "shim/internal.h"

#include "shim/support.c"
#include "shim/bootstrap.c"
#include "shim/process.c"
#include "shim/ring.c"
#include "shim/own_collector.c"
#include "shim/stack.c"
#include "shim/record.c"
#include "shim/modules.c"
#include "shim/runtime_hooks.c"
#include "shim/check.c"
#include "shim/signal_view.c"
#include "shim/freeres.c"
#include "shim/lifecycle.c"
#include "shim/fork_exec.c"
#include "shim/alloc_wrappers.c"
#include "shim/image_wrappers.c"
#include "shim/start.c"
#include "shim/waits.c"
