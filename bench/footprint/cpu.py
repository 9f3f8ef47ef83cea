#!/usr/bin/env python3
"""bench/footprint/cpu.py: what tracing costs per event, in the traced program's own threads
and in all processes together, with the shim preloaded by hand and under `leakgraph run`.

usage: cpu.py --build DIR [--build DIR2 ...] [--runs N] [--events N] [--threads N] MALLOCBENCH

For each build (a leakgraph build directory: DIR/bin/leakgraph, DIR/lib/libleakgraph.so) it
runs the microbenchmark (bench/mallocbench.c, built by the caller) RUNS times each way:
untraced, preloaded by hand (LD_PRELOAD, LEAKGRAPH_OUTPUT), and under `leakgraph run`. It
becomes a child subreaper (prctl PR_SET_CHILD_SUBREAPER) so that every process a run starts,
a collector that left the program's process tree included, is reaped by it and counted in
RUSAGE_CHILDREN; the CPU time of the process it started comes from its wait status (os.wait4):
preloaded by hand that is the program alone (its collector left its process tree), under
`leakgraph run` it is leakgraph and the program together. It prints medians: CPU ns per event
of the process started, of everything, and the wall time, each with the untraced run's
subtracted. Traces go to a temporary directory, removed at the end."""
import argparse, ctypes, os, resource, shutil, statistics, subprocess, sys, tempfile, time

PR_SET_CHILD_SUBREAPER = 36


def reap_all():
    """Waits for every remaining descendant (orphans reparented to us)."""
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def one(cmd, env):
    """(program CPU s, all CPU s, wall s) of one run of cmd; cmd[0]'s own usage from wait4."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    reap_all()
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("%s: exit %d" % (" ".join(cmd), p.returncode))
    allcpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return ru.ru_utime + ru.ru_stime, allcpu, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", action="append", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--events", type=int, default=10000000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("bench")
    a = ap.parse_args()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    work = tempfile.mkdtemp(prefix="lgfoot.")
    args = [a.bench, str(a.events), str(a.threads)]
    rows = []
    try:
        cells = [("untraced", None, None)]
        for b in a.build:
            cells.append(("by hand", b, "hand"))
            cells.append(("run", b, "run"))
        res = {i: [] for i in range(len(cells))}
        for r in range(a.runs):  # interleaved, so load drifts hit every cell alike
            for i, (name, b, how) in enumerate(cells):
                env = dict(os.environ)
                out = os.path.join(work, "t%d.%d.lgt" % (i, r))
                if how == "hand":
                    env.update(LD_PRELOAD=os.path.join(b, "lib/libleakgraph.so"),
                               LEAKGRAPH_OUTPUT=out, LEAKGRAPH_BIN=os.path.join(b, "bin/leakgraph"))
                    cmd = args
                elif how == "run":
                    cmd = [os.path.join(b, "bin/leakgraph"), "run", "--quiet", "--output", out, "--"] + args
                else:
                    cmd = args
                res[i].append(one(cmd, env))
                for f in os.listdir(work):
                    os.unlink(os.path.join(work, f))
        base = [statistics.median(x[k] for x in res[0]) for k in range(3)]
        ev = a.events
        print("%d events, %d thread(s), %d runs each, medians; ns/event over the untraced run"
              % (ev, a.threads, a.runs))
        print("%-10s %-40s %14s %14s %12s" % ("mode", "build", "started CPU", "all CPU", "wall"))
        for i, (name, b, how) in enumerate(cells):
            m = [statistics.median(x[k] for x in res[i]) for k in range(3)]
            if how is None:
                print("%-10s %-40s %11.2f s %11.2f s %9.2f s" % (name, "-", m[0], m[1], m[2]))
                continue
            print("%-10s %-40s %11.1f ns %11.1f ns %9.1f ns" %
                  (name, b[-40:], (m[0] - base[0]) * 1e9 / ev, (m[1] - base[1]) * 1e9 / ev,
                   (m[2] - base[2]) * 1e9 / ev))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
