/* shim/start.c: the start of the program, between its constructors and main. The shim
 * interposes __libc_start_main (which the executable's _start calls) to zero the dead part of
 * the main thread's stack twice: once on entry, over what ld.so and the libraries'
 * constructors left, and once after the executable's constructors ran, before main. It must
 * never change what the program runs, nor in what order: the same constructors, with the
 * same arguments, then main.
 *
 * Why: a constructor's frame is dead once it returns, but its words stay in memory, and the
 * frames made next at the same depth (__libc_start_main's, __libc_start_call_main's, main's)
 * have slots that are never written, such as the unused part of the unwind buffer that
 * __libc_start_call_main keeps for the whole program. The leak scan takes every word of a
 * live frame as a root, so a block whose only pointer was in a constructor's frame stayed
 * "still reachable" to the end. Memcheck sees those slots undefined (stack memory is
 * undefined when a frame is made), never as pointers. Zeroing the dead stack before those
 * frames are made gives the same answer: what they do not write reads as 0, not as a pointer.
 *
 * The dead stack is everything below the stack pointer, down to the start of the stack's
 * mapping (the deepest frame there ever was). It is zeroed by lg_zero_dead_stack, a few
 * instructions of assembly that clear [lo, its own return address): no frame of its own, so
 * no word of a frame that stays live is missed, and a word that is already 0 is only read
 * (the never-touched pages of the mapping stay unallocated). Cost: one read of
 * /proc/self/maps and one pass over the stack's mapping (132 KiB for most programs), twice per
 * process, before main.
 *
 * The executable's constructors: glibc 2.34 and later run them in __libc_start_main (its
 * call_init: DT_INIT then DT_INIT_ARRAY, with argc, argv, envp) unless _start passed an init
 * routine, which it calls instead (programs linked against older glibc pass
 * __libc_csu_init). The shim passes its own init routine, which calls the program's when
 * there is one, else does what call_init does, then zeroes the dead stack. On an older glibc
 * with no init routine (nothing would run them), or on another architecture, the init
 * routine is left as it is. Only while tracing; never in a process the shim does not trace. */
#ifndef LG_SHIM_UNIT
#error "a part of preload/shim.c: included there once, never compiled on its own"
#endif

#if defined(__x86_64__) || defined(__aarch64__)
#include <gnu/libc-version.h>

typedef int (*lg_main_fn)(int, char **, char **);
typedef int (*lg_start_main_fn)(lg_main_fn main, int argc, char **argv, lg_main_fn init,
                                void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

/* lg_zero_dead_stack(lo): every nonzero word in [lo, sp) becomes 0, where sp is the stack
 * pointer at its entry (its return address is at sp). lo is 8-aligned and below sp. It uses
 * no stack: the caller's frame ends at its return address, and the ABI gives the caller no
 * live data below it across a call (the x86-64 red zone does not survive a call). */
void lg_zero_dead_stack(uintptr_t lo) __attribute__((visibility("hidden")));
#if defined(__x86_64__)
__asm__(".text\n"
        ".p2align 4\n"
        ".globl lg_zero_dead_stack\n"
        ".hidden lg_zero_dead_stack\n"
        ".type lg_zero_dead_stack, @function\n"
        "lg_zero_dead_stack:\n"
#ifdef __CET__
        "    endbr64\n"
#endif
        "    mov %rsp, %rax\n"
        "1:  cmp %rax, %rdi\n"
        "    jae 3f\n"
        "    cmpq $0, (%rdi)\n"
        "    je 2f\n"
        "    movq $0, (%rdi)\n"
        "2:  add $8, %rdi\n"
        "    jmp 1b\n"
        "3:  ret\n"
        ".size lg_zero_dead_stack, .-lg_zero_dead_stack\n");
#else
__asm__(".text\n"
        ".p2align 4\n"
        ".globl lg_zero_dead_stack\n"
        ".hidden lg_zero_dead_stack\n"
        ".type lg_zero_dead_stack, %function\n"
        "lg_zero_dead_stack:\n"
#ifdef __ARM_FEATURE_BTI_DEFAULT
        "    bti c\n"
#endif
        "    mov x1, sp\n"
        "1:  cmp x0, x1\n"
        "    b.hs 3f\n"
        "    ldr x2, [x0]\n"
        "    cbz x2, 2f\n"
        "    str xzr, [x0]\n"
        "2:  add x0, x0, #8\n"
        "    b 1b\n"
        "3:  ret\n"
        ".size lg_zero_dead_stack, .-lg_zero_dead_stack\n");
#endif

static lg_main_fn g_program_init; /* the init routine _start passed, or NULL */

/* The start of the mapping that holds `addr` (from /proc/self/maps), rounded up to 8; 0 if
 * it cannot be read. No allocation: lines are parsed from a stack buffer as they come; a
 * line longer than the buffer (a long path) is skipped to its end. Not inlined: its buffer
 * must be in a dead frame, zeroed with the rest, not in the caller's live one. */
__attribute__((noinline)) static uintptr_t stack_mapping_start(uintptr_t addr)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[1024];
    size_t len = 0;
    bool skip = false; /* inside a line that did not fit */
    uintptr_t found = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = 0;
        char *p = buf, *nl;
        while (!found && (nl = memchr(p, '\n', len - (size_t)(p - buf)))) {
            *nl = 0;
            if (!skip) {
                char *e;
                uintptr_t s = (uintptr_t)strtoull(p, &e, 16), end = 0;
                if (*e == '-') end = (uintptr_t)strtoull(e + 1, NULL, 16);
                if (s <= addr && addr < end) found = (s + 7) & ~(uintptr_t)7;
            }
            skip = false;
            p = nl + 1;
        }
        if (found) break;
        len -= (size_t)(p - buf);
        memmove(buf, p, len);
        if (len == sizeof buf - 1) { /* no end of line in a full buffer */
            len = 0;
            skip = true;
        }
    }
    close(fd);
    return found;
}

/* glibc 2.34 or later: __libc_start_main runs the executable's constructors itself when
 * _start passes no init routine. */
static bool glibc_runs_constructors(void)
{
    unsigned major = 0, minor = 0;
    return sscanf(gnu_get_libc_version(), "%u.%u", &major, &minor) == 2 &&
           (major > 2 || (major == 2 && minor >= 34));
}

/* The executable's dynamic section and load bias: dl_iterate_phdr visits the main program
 * first. */
typedef struct main_dynamic {
    const ElfW(Dyn) *dyn;
    uintptr_t bias;
} main_dynamic_t;

static int main_dynamic_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    main_dynamic_t *m = data;
    m->bias = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            m->dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    return 1;
}

/* What glibc's call_init does for the executable (csu/libc-start.c, 2.34 and later): its
 * DT_INIT, then each DT_INIT_ARRAY entry, with argc, argv, envp (DT_PREINIT_ARRAY ran in
 * ld.so already). Addresses in the dynamic section are relative to the load bias. */
static void run_program_constructors(int argc, char **argv, char **envp)
{
    main_dynamic_t m = {0};
    dl_iterate_phdr(main_dynamic_cb, &m);
    if (!m.dyn) return;
    uintptr_t init = 0, array = 0, arraysz = 0;
    for (const ElfW(Dyn) *d = m.dyn; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_INIT) init = d->d_un.d_ptr;
        else if (d->d_tag == DT_INIT_ARRAY) array = d->d_un.d_ptr;
        else if (d->d_tag == DT_INIT_ARRAYSZ) arraysz = d->d_un.d_val;
    }
    if (init) ((lg_main_fn)(m.bias + init))(argc, argv, envp);
    if (array) {
        lg_main_fn *fns = (lg_main_fn *)(m.bias + array);
        for (size_t i = 0; i < arraysz / sizeof *fns; i++) fns[i](argc, argv, envp);
    }
}

/* The init routine __libc_start_main calls (after registering the exit handlers, before
 * main): the program's constructors, then the dead stack they left is zeroed, so the frames
 * made next (__libc_start_call_main's, main's) start from zeros. Its own frame holds only
 * what it computes (no pointer a constructor made). */
static int program_init(int argc, char **argv, char **envp)
{
    if (g_program_init) g_program_init(argc, argv, envp);
    else run_program_constructors(argc, argv, envp);
    uintptr_t lo = stack_mapping_start((uintptr_t)__builtin_frame_address(0));
    if (lo) lg_zero_dead_stack(lo);
    return 0;
}

EXPORT int __libc_start_main(lg_main_fn main, int argc, char **argv, lg_main_fn init,
                             void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    lg_start_main_fn real = (lg_start_main_fn)dlsym(RTLD_NEXT, "__libc_start_main");
    if (!real) { /* cannot happen with glibc; nothing else could start the program either */
        say_once("cannot find the C library's __libc_start_main");
        syscall(SYS_exit_group, 127);
    }
    if (tracing()) {
        if (init || glibc_runs_constructors()) {
            g_program_init = init;
            init = program_init;
        }
        /* what ld.so and the libraries' constructors left, before __libc_start_main's frame */
        uintptr_t lo = stack_mapping_start((uintptr_t)__builtin_frame_address(0));
        if (lo) lg_zero_dead_stack(lo);
    }
    return real(main, argc, argv, init, fini, rtld_fini, stack_end);
}
#endif
