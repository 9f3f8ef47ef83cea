#!/usr/bin/env python3
"""Seccomp allow-lists (issue #13): a program that installs a filter killing (or failing with
EPERM) every system call an OpenSSH-like sandbox does not list, then allocates in 3 threads and
leaks one block (progs/seccomp_allow.c). Natively and under `leakgraph run` it must exit 0 with
the same stdout, and the trace must show its leak (exact bytes and blocks at its marked line).
Cases: errno (the EPERM filter: every denied call fails, the exit check goes on without
them), kill (the kill filter, everything, the exit status included), kill_check (the same with
an on-demand check, lg_check_now, under the filter), kill_steady (the kill filter up to the
program's exit: every allocation under the filter is traced and the program gets to its last
output; its exit status is not asserted). kill and kill_check: the shim's exit work and check
used to die by SIGSYS (mincore in libunwind's unw_step, sigaltstack in the self-description);
the shim now notes the filter when the program installs it and walks its own frames without a
system call then (docs/dependencies.md, "seccomp").

The cases reuse preload/driver.py's mark checks (LEAK:<function>:<allocator>:<bytes>).
Usage: seccomp.py --bin BINDIR --progs PROGDIR --src SRCDIR {kill,errno}
"""
import os, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgdriver
import driver
from lgdriver import check, expect_exit, prog, run_fresh

OUT = "sandboxed\ndone 2 threads\n"


def sandboxed(mode, status=True, extra=()):
    cmd = [prog("seccomp_allow"), mode] + list(extra)
    native = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    expect_exit(native, 0, "natively")
    check(native.stdout == OUT, "natively: stdout %r" % native.stdout)
    d, out, r = run_fresh(cmd, timeout=120)
    if status:
        expect_exit(r, 0, "under leakgraph run")
    else:
        print("exit status under leakgraph run: %d (not asserted)" % r.returncode)
    check(r.stdout == OUT, "under leakgraph run: stdout %r" % r.stdout)
    rep = driver.report(out)
    # the leak is in the trace whether or not the exit check ran (unfreed at exit), exactly,
    # and nothing else from the program's code; without the exit check (and so without
    # freeres) the DTVs of the 3 threads' cached stacks stay unfreed too: glibc's, not a leak
    driver.check_marks(rep, "seccomp_allow.c")
    driver.check_marks(rep, "seccomp_work.c")
    others = [l for l in rep["leaks"] if not (l["bytes"] == 4242 and l["blocks"] == 1)]
    check(all(any(f["function"] == "_dl_allocate_tls" for f in l["stack"]) for l in others),
          "unfreed beyond the leak and glibc's DTVs: %s" %
          [(l["bytes"], [f["function"] for f in l["stack"][:4]]) for l in others])
    return rep, r


def t_kill():
    sandboxed("kill")


def t_kill_check():
    sandboxed("kill", extra=["check"])


def t_kill_steady():
    sandboxed("kill", status=False)


def t_errno():
    sandboxed("errno")


if __name__ == "__main__":
    p = lgdriver.parser(__doc__, "--progs", "--src")
    p.add_argument("scenario")
    sys.exit(lgdriver.main(p, lgdriver.by_name(globals())))
