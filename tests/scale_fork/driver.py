#!/usr/bin/env python3
"""tests/scale_fork: `leakgraph report` on the traces of a fork storm (a parent that forks N
children one after another, each leaking one block) in memory that does not grow with the
number of traces: the traces share their modules (the program, libc, the loader), so one
symbolizer per distinct module serves them all (issue #14: 200 children took 3.2 GB and 37 s
when each trace had its own symbolizer, 16 MB apiece).

Cases (argument SCENARIO):
  storm   N children (--children): every child's leak is reported, with its size and the
          symbolized frame leak_in_child at its line of fork_storm.c; the report's own peak RSS
          (os.wait4 on the report process alone) stays under --max-mib: 256 MiB, a tighter
          bound than the issue's 1 GB because it is what tells shared symbolizers from
          per-trace ones (measured: 200 children 50 MiB, 50 children 28 MiB; with one
          symbolizer per trace, 3140 MiB, 16 MB a trace, past 256 MiB at 16 traces).
"""
import json, os, subprocess, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lgdriver
from lgdriver import A, check


def t_storm():
    d = lgdriver.tmpdir()
    out = os.path.join(d, "t.lgt")
    r = lgdriver.run([lgdriver.prog("fork_storm"), str(A.children)], out, quiet=True)
    if not lgdriver.expect_exit(r, 0, "leakgraph run fork_storm %d" % A.children):
        return
    tr = lgdriver.traces(out)
    if not check(len(tr) == A.children + 1, "%d traces, want %d" % (len(tr), A.children + 1)):
        return
    t0 = time.monotonic()
    p = subprocess.Popen([A.lg, "report", "--format", "json"] + tr, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    # stdout read to its end (stderr by a thread), then the process reaped with wait4: the
    # rusage of the report alone (RUSAGE_CHILDREN would give the largest child so far)
    chunks, err = [], []
    th = threading.Thread(target=lambda: err.append(p.stderr.read()))
    th.start()
    timer = threading.Timer(lgdriver.TIMEOUT, p.kill)
    timer.start()
    chunks.append(p.stdout.read())
    _, status, ru = os.wait4(p.pid, 0)
    timer.cancel()
    th.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    secs = time.monotonic() - t0
    rss_mib = ru.ru_maxrss / 1024.0
    print("report of %d traces: %.2f s, peak RSS %.1f MiB" % (len(tr), secs, rss_mib))
    if not check(p.returncode == 0, "report: exit %d: %s" % (p.returncode, "".join(err)[-1500:])):
        return
    rep = json.loads("".join(chunks))
    line = lgdriver.line_of(os.path.join(A.src, "fork_storm.c"), "/* LEAK */")
    pids = {pr["program"]["pid"]: pr for pr in rep["processes"]}
    children = [pid for pid, pr in pids.items() if pr["program"]["ppid"] in pids]
    check(len(children) == A.children, "%d children reported, want %d" % (len(children), A.children))
    sizes = set()
    for pid in children:
        leaks = [l for l in rep["leaks"] if l.get("pid") == pid]
        if not check(len(leaks) == 1 and leaks[0]["kind"] == "definite" and leaks[0]["blocks"] == 1,
                     "child %d: leaks %s" % (pid, leaks)):
            continue
        f = leaks[0]["stack"][0] if leaks[0]["stack"] else {}
        check(f.get("function") == "leak_in_child" and f.get("line") == line and
              f.get("file", "").endswith("fork_storm.c"),
              "child %d: first frame %s, want leak_in_child at fork_storm.c:%d" % (pid, f, line))
        sizes.add(leaks[0]["bytes"])
    check(sizes == set(range(100, 100 + A.children)), "leak sizes %s" % sorted(sizes)[:10])
    parent = [pid for pid in pids if pid not in children]
    check(not [l for l in rep["leaks"] if l.get("pid") in parent], "the parent leaks nothing")
    check(rss_mib < A.max_mib, "report peak RSS %.1f MiB, want under %d MiB" % (rss_mib, A.max_mib))


if __name__ == "__main__":
    p = lgdriver.parser(__doc__, "--progs", "--src")
    p.add_argument("--children", type=int, default=200)
    p.add_argument("--max-mib", type=int, default=256)
    p.add_argument("scenario")
    sys.exit(lgdriver.main(p, lgdriver.by_name(globals())))
