/* The one list of functions the shim interposes. Everything per hook (the type of the real
 * function, the pointer to it, its resolution at start-up) is generated from this table; the
 * wrappers themselves are in shim/alloc_wrappers.c (the malloc family) and
 * shim/image_wrappers.c (dlopen, dlsym, dlclose, exec, _exit; dlopen and dlsym are assembly
 * trampolines) and shim/waits.c (the epoll waits: parked, not stopped, at a check), each with
 * the same shape: pass through
 * when not tracing or re-entered, call the real function, record on success.
 *
 * X(return type, name, parameter list, required): `required` hooks must resolve for tracing
 * to start; optional ones (absent from older C libraries) fall back as documented at their
 * wrappers. */
#ifndef LG_HOOKS_H
#define LG_HOOKS_H

#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <time.h>

#define LG_HOOKS(X)                                                                         \
    X(void *, malloc, (size_t), 1)                                                          \
    X(void, free, (void *), 1)                                                              \
    X(void *, calloc, (size_t, size_t), 1)                                                  \
    X(void *, realloc, (void *, size_t), 1)                                                 \
    X(void *, reallocarray, (void *, size_t, size_t), 0)                                    \
    X(int, posix_memalign, (void **, size_t, size_t), 1)                                    \
    X(void *, aligned_alloc, (size_t, size_t), 0)                                           \
    X(void *, memalign, (size_t, size_t), 0)                                                \
    X(void *, valloc, (size_t), 0)                                                          \
    X(void *, pvalloc, (size_t), 0)                                                         \
    X(void, free_sized, (void *, size_t), 0)                                                \
    X(void, free_aligned_sized, (void *, size_t, size_t), 0)                                \
    X(void *, dlopen, (const char *, int), 1)                                               \
    X(int, dlclose, (void *), 1)                                                            \
    X(int, execve, (const char *, char *const[], char *const[]), 1)                         \
    X(int, execveat, (int, const char *, char *const[], char *const[], int), 0)             \
    X(int, fexecve, (int, char *const[], char *const[]), 0)                                 \
    X(int, execv, (const char *, char *const[]), 1)                                         \
    X(int, execvp, (const char *, char *const[]), 1)                                        \
    X(int, execvpe, (const char *, char *const[], char *const[]), 0)                        \
    X(void, _exit, (int), 1)                                                                \
    X(void, _Exit, (int), 0)                                                                \
    X(int, epoll_wait, (int, struct epoll_event *, int, int), 0)                            \
    X(int, epoll_pwait, (int, struct epoll_event *, int, int, const sigset_t *), 0)         \
    X(int, epoll_pwait2, (int, struct epoll_event *, int, const struct timespec *,          \
                          const sigset_t *), 0)

#endif /* LG_HOOKS_H */
