/* The shared library the unwinder test calls through (recursion inside it, then a callback
 * into the program), and the dlopen'ed module. */
#ifndef LG_UNWIND_TEST_LIB_H
#define LG_UNWIND_TEST_LIB_H
#ifdef __cplusplus
extern "C" {
#endif
typedef void (*unwlib_cb)(int);
int unwlib_recurse(int depth, unwlib_cb cb, int arg);
int unwmod_entry(int depth, unwlib_cb cb, int arg); /* in the dlopen'ed module */
#ifdef __cplusplus
}
#endif
#endif
