#!/usr/bin/env python3
"""Preload tests: real programs run under the shim, with exact expected leaks.

This driver owns the preload test cases (t_<scenario>, one per CTest test preload_<scenario>)
and what they expect: the LEAK:/MAYBE: marks in progs/ and how a report must match them. The
scaffolding (command line, running leakgraph or the shim by hand, temporary directories,
reading reports back, check/fail, dispatch by name) is tests/lib/lgdriver.py; a case must not
copy it here.

Each test program marks its leaking lines with LEAK:<function>:<allocator>:<bytes>[:<blocks>]
(and MAYBE: for a line that may hold at most one block when the program is killed). The
driver runs the program under `leakgraph run` (or preloaded by hand), reads
`leakgraph report --format json`, and checks that every mark is one record with exactly those
bytes and blocks whose first frame in the program's own source is that function at that line.
Usage: driver.py --bin BINDIR --progs PROGDIR --src SRCDIR SCENARIO
"""
import glob, os, re, signal, stat, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lgdriver
from lgdriver import A, check, expect_exit, fail, leakgraph, prog, run, run_fresh, tmpdir


def report(*traces):
    """The JSON report of the traces; if it failed (a failed check), an empty one, so that the
    case goes on to its other checks."""
    return lgdriver.report(*traces) or {"leaks": [], "summary": {"unfreed": {"bytes": 0, "blocks": 0}},
                                        "program": {}}


def marks(src):
    out = []
    with open(os.path.join(A.src, src)) as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"LEAK:(\w+):(\w+):(\d+)(?::(\d+))?(?::([a-z]+))?", line)
            if m:
                out.append(dict(func=m.group(1), alloc=m.group(2), bytes=int(m.group(3)),
                                blocks=int(m.group(4) or 1), kind=m.group(5) or "definite",
                                line=n, file=src))
    return out


def maybe_lines(src):
    return lgdriver.lines_with(os.path.join(A.src, src), "MAYBE:")


def user_frame(stack, src):
    for fr in stack:
        if fr.get("file") and os.path.basename(fr["file"]) == src:
            return fr
    return None


def site_frame(stack):
    """The frame that made the allocation: the first one outside the C++ runtime's new."""
    for fr in stack:
        if not (fr.get("module") or "").split("/")[-1].startswith("libstdc++"):
            return fr
    return None


def check_mark(rep, m, allocator=True):
    """The one record of mark m: its bytes, blocks, allocator (unless allocator is False) and
    kind (the mark's after a leak check, else unfreed)."""
    hits = [l for l in rep["leaks"]
            if (fr := user_frame(l["stack"], m["file"])) and fr["function"] == m["func"]
            and fr["line"] == m["line"]]
    if not check(len(hits) == 1, "%s:%d %s: expected one record, got %d" %
                 (m["file"], m["line"], m["func"], len(hits))):
        return
    h = hits[0]
    check(h["bytes"] == m["bytes"], "%s: bytes %d != %d" % (m["func"], h["bytes"], m["bytes"]))
    check(h["blocks"] == m["blocks"], "%s: blocks %d != %d" % (m["func"], h["blocks"], m["blocks"]))
    if allocator:
        check(h["allocator"] == m["alloc"], "%s: allocator %s != %s" % (m["func"], h["allocator"], m["alloc"]))
    want = m["kind"] if rep["program"].get("check") else "unfreed"
    check(h["kind"] == want, "%s: kind %s, want %s" % (m["func"], h["kind"], want))


def check_unfreed_total(rep, ms):
    """The report's unfreed total is exactly the marks' bytes and blocks."""
    want_b = sum(m["bytes"] for m in ms)
    want_k = sum(m["blocks"] for m in ms)
    s = rep["summary"]["unfreed"]
    check(s["bytes"] == want_b and s["blocks"] == want_k,
          "summary %s != %d bytes in %d blocks for %s; records: %s" %
          (s, want_b, want_k, [m["func"] for m in ms],
           [(l["bytes"], [f["function"] for f in l["stack"][:3]]) for l in rep["leaks"]]))


def check_marks(rep, src, exact_total=False, extra_marks=()):
    ms = marks(src) + list(extra_marks)
    allowed = set(maybe_lines(src))
    leaks = rep["leaks"]
    for m in ms:
        check_mark(rep, m)
    # no record from this source other than the marked ones (MAYBE lines: at most one block)
    marked = {(m["file"], m["line"]) for m in ms}
    for l in leaks:
        fr = site_frame(l["stack"])
        if not (fr and fr.get("file") and os.path.basename(fr["file"]) == src):
            continue  # allocated inside a library (e.g. glibc's thread setup), not by this code
        if fr and (src, fr["line"]) not in marked:
            if fr["line"] in allowed and l["blocks"] <= 1:
                continue
            fail("unexpected record from %s:%s (%s, %d bytes)" % (src, fr["line"], fr["function"], l["bytes"]))
    if exact_total:
        if rep["program"].get("check"):
            for kind in ("definite", "indirect", "possible", "reachable"):
                kb = sum(m["bytes"] for m in ms if m["kind"] == kind)
                kk = sum(m["blocks"] for m in ms if m["kind"] == kind)
                got = rep["summary"][kind]
                check(got["bytes"] == kb and got["blocks"] == kk,
                      "summary %s: %s, want %d bytes in %d blocks" % (kind, got, kb, kk))
        check_unfreed_total(rep, ms)


def check_marks_subset(rep, src, ms):
    """check_marks with only the given marks expected (allocators not compared), exact totals."""
    for m in ms:
        check_mark(rep, m, allocator=False)
    check_unfreed_total(rep, ms)


def check_preloaded(name, out, **kw):
    """Runs prog(name) with the shim preloaded by hand (not under leakgraph run; kw go to
    subprocess.run): it exits 0, its trace out is complete and holds exactly its marks."""
    r = lgdriver.preloaded([prog(name)], out, capture_output=True, text=True, **kw)
    expect_exit(r, 0, "%s preloaded by hand" % name)
    rep = report(out)
    check(rep["program"]["complete"] is True, "%s preloaded by hand: trace not complete" % name)
    check_marks(rep, name + ".c", exact_total=True)


def run_two_traces(name, want_rc):
    """Runs prog(name), which leaves one trace more than its own (a forked child's or an exec'd
    image's), under leakgraph: ((trace, report) of the first, (trace, report) of the other),
    or None (a failed check) if there is not exactly one more."""
    _, out, r = run_fresh([prog(name)])
    expect_exit(r, want_rc, name)
    kids = lgdriver.traces(out)[1:]
    if not check(len(kids) == 1, "%s: traces beside the first: %s" % (name, kids)):
        return None
    return (out, report(out)), (kids[0], report(kids[0]))


def start(args, out):
    """Starts leakgraph run on args in the background, stdout and stderr piped."""
    return subprocess.Popen([A.lg, "run", "--output", out, "--"] + args,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ---- scenarios ---------------------------------------------------------------------------

def t_allocfns():
    _, out, r = run_fresh([prog("allocfns")])
    expect_exit(r, 0, "allocfns")
    check(out in r.stderr, "run does not say where the trace went: %r" % r.stderr)
    check(stat.S_IMODE(os.stat(out).st_mode) == 0o600, "trace mode is not 0600")
    rep = report(out)
    check(rep["program"]["complete"] is True, "trace not complete")
    check(rep["program"]["exit_status"] == 0, "exit status")
    check_marks(rep, "allocfns.c", exact_total=True)
    dump = lgdriver.dump(out)
    check(re.search(r"alloc fn=pvalloc addr=0x[0-9a-f]+ size=4096 align=4096", dump) is not None,
          "dump lacks the pvalloc event")
    check(re.search(r"alloc fn=posix_memalign addr=0x[0-9a-f]+ size=200 align=64", dump) is not None,
          "dump lacks the posix_memalign event")


def t_allocfns_self():
    """Preloaded by hand, with LEAKGRAPH_OUTPUT."""
    check_preloaded("allocfns", os.path.join(tmpdir(), "self.lgt"))


def t_newdelete():
    _, out, r = run_fresh([prog("newdelete")])
    expect_exit(r, 0, "newdelete")
    check_marks(report(out), "newdelete.cpp")


def t_threads():
    _, out, r = run_fresh([prog("threads")])
    expect_exit(r, 0, "threads")
    rep = report(out)
    check(rep["program"]["complete"] is True, "trace not complete")
    check(rep["program"]["events"] >= 8 * 100000 * 2 - 8 * 20, "events %d" % rep["program"]["events"])
    check_marks(rep, "threads.c")


def t_fork():
    two = run_two_traces("forker", 0)
    if not two:
        return
    (out, parent), (kid, child) = two
    ms = marks("forker.c")
    pm = [m for m in ms if m["func"] != "in_child"]
    # the child inherited the parent's lost block (as Memcheck reports it in the child too)
    cm = [m for m in ms if m["func"] in ("in_child", "parent_before")]
    check_parent = dict(parent)
    check_marks_subset(check_parent, "forker.c", pm)
    check_marks_subset(child, "forker.c", cm)
    check(child["program"]["exit_status"] == 5, "child exit status %s" % child["program"]["exit_status"])
    check(child["program"]["parent_pid"] == parent["program"]["pid"], "child's parent pid")
    check(os.path.basename(kid) == "t.lgt.%d" % child["program"]["pid"], "child trace name %s" % kid)
    both = report(out, kid)
    check(both["summary"]["unfreed"]["bytes"] == 700, "combined summary %s" % both["summary"])
    check(both["summary"]["definite"]["bytes"] == 200, "combined definite %s" % both["summary"])
    check(len(both["processes"]) == 2, "processes in a combined report")


def t_exec():
    two = run_two_traces("execer", 4)  # the status of the second image
    if not two:
        return
    (_, first), (_, second) = two
    ms = marks("execer.c")
    check_marks_subset(first, "execer.c", [m for m in ms if m["func"] == "before_exec"])
    check_marks_subset(second, "execer.c", [m for m in ms if m["func"] == "after_exec"])
    check(first["program"]["end"] == "exec", "first image end %s" % first["program"]["end"])
    check(first["program"]["complete"] is True, "first image trace complete")
    check(second["program"]["exit_status"] == 4, "second image exit status")
    check(second["program"]["pid"] == first["program"]["pid"], "same pid across exec")
    check(second["program"]["argv"][1:] == ["second"], "second argv %s" % second["program"]["argv"])


def hand_traces(cmd, want_rc, name):
    """Runs cmd preloaded by hand (LEAKGRAPH_OUTPUT in a new directory): its traces, the
    first image's first, or None (a failed check) when it did not exit with want_rc."""
    out = os.path.join(tmpdir(), "h.lgt")
    r = lgdriver.preloaded(cmd, out, capture_output=True, text=True, timeout=60)
    if not expect_exit(r, want_rc, name):
        return None
    return lgdriver.traces(out)


def t_exec_hand():
    """Preloaded by hand, the collector is a process the shim started, and an exec'd image
    starts its own: the first image's trace is complete (END "exec") when the exec'd image
    runs, with everything it logged, also after an exec that failed (its provisional END is
    taken back and the image goes on being traced: 333 bytes after it)."""
    for how, first_marks in (("", ["before_exec"]), ("tryfail", ["before_exec", "after_failed_exec"])):
        t = hand_traces([prog("execer")] + ([how] if how else []), 4, "execer " + how)
        if t is None or not check(len(t) == 2, "execer %s: traces %s" % (how, t)):
            continue
        first, second = report(t[0]), report(t[1])
        ms = marks("execer.c")
        check(first["program"]["end"] == "exec" and first["program"]["complete"] is True,
              "execer %s: first image %s" % (how, first["program"]))
        check_marks_subset(first, "execer.c", [m for m in ms if m["func"] in first_marks])
        check_marks_subset(second, "execer.c", [m for m in ms if m["func"] == "after_exec"])
        check(second["program"]["exit_status"] == 4 and second["program"]["complete"] is True,
              "execer %s: second image %s" % (how, second["program"]))


def t_kill_hand():
    """Preloaded by hand and killed by SIGKILL: what it logged is in the trace (the collector
    is another process; before, the events still in its rings were lost with it), and the
    collector ends the trace, how unknown, moments after the death."""
    t = hand_traces([prog("dying"), "kill"], -9, "dying kill")
    if t is None or not check(len(t) == 1, "traces %s" % t):
        return
    for _ in range(100):  # the collector sees the death at its next round
        rep = report(t[0])
        if rep["program"]["complete"]:
            break
        time.sleep(0.05)
    check(rep["program"]["complete"] is True and rep["program"]["end"] == "unknown",
          "killed by SIGKILL, preloaded by hand: %s" % rep["program"])
    check(rep["summary"]["unfreed"] == {"bytes": 64000, "blocks": 1000},
          "its 1000 blocks: %s" % rep["summary"]["unfreed"])


def t_hand_daemon_stderr():
    """Preloaded by hand, a program whose stderr is a pipe its caller reads to the end (as
    `$(prog 2>&1)` does) and that leaves a forked child running with its standard streams
    closed (a daemon): the caller must see the end of the pipe when the program exits, as it
    does untraced. The collector the shim started serves the child too, and held the program's
    stderr as long as it ran."""
    code = ("import os, time\n"
            "if os.fork() == 0:\n"
            "    os.close(1); os.close(2)\n"
            "    time.sleep(4)\n"
            "    os._exit(0)\n"
            "print('parent done', flush=True)\n")
    out = os.path.join(tmpdir(), "d.lgt")
    for traced in (False, True):
        env = dict(os.environ)
        if traced:
            env.update(LD_PRELOAD=lgdriver.shim(), LEAKGRAPH_OUTPUT=out)
        t = time.monotonic()
        p = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        text = p.stdout.read()
        took = time.monotonic() - t
        p.wait(timeout=30)
        check(text == "parent done\n" and took < 2.5,
              "%s: the pipe ended after %.1f s (the daemon lives 4 s): %r" %
              ("preloaded by hand" if traced else "untraced", took, text))


def t_collector_unseen():
    """The collector of a program preloaded by hand is no child of it: wait() finds no child,
    no SIGCHLD arrives, also after a leak check; the program's own child is the one wait()
    returns (nochild.c checks all this from inside, and exits 0 when it held, also untraced)."""
    r = subprocess.run([prog("nochild")], capture_output=True, text=True, timeout=20)
    expect_exit(r, 0, "nochild untraced: %s" % r.stderr)
    t = hand_traces([prog("nochild")], 0, "nochild preloaded by hand")
    if t is None or not check(len(t) == 2, "traces %s" % t):
        return
    rep = report(t[0])
    check(rep["program"]["complete"] is True and rep["program"]["exit_status"] == 0,
          "nochild: %s" % rep["program"])
    check_marks(rep, "nochild.c", exact_total=True)


def t_dlopen():
    _, out, r = run_fresh([prog("dlopener"), prog("libdlleak.so")])
    expect_exit(r, 0, "dlopener")
    rep = report(out)
    hits = [l for l in rep["leaks"] if l["stack"] and l["stack"][0]["function"] == "dl_leak"]
    if not check(len(hits) == 1, "records from dl_leak: %d" % len(hits)):
        return
    h = hits[0]
    lm = marks("dlleak.c")[0]
    mm = marks("dlopener.c")[0]
    f0 = h["stack"][0]
    check(os.path.basename(f0["file"] or "") == "dlleak.c" and f0["line"] == lm["line"],
          "frame in the unloaded library: %s" % f0)
    check(f0["module"] and f0["module"].endswith("libdlleak.so"), "module %s" % f0["module"])
    check(h["bytes"] == 333 and h["blocks"] == 1, "bytes %d" % h["bytes"])
    caller = user_frame(h["stack"], "dlopener.c")
    check(caller and caller["function"] == "main" and caller["line"] == mm["line"], "caller %s" % caller)
    dump = lgdriver.dump(out)
    check(re.search(r"unmodule id=\d+ path=.*libdlleak\.so", dump) is not None, "no unmodule in dump")


def dying(how, want_rc, want_end, want_sig=0, want_status=None):
    _, out, r = run_fresh([prog("dying"), how])
    expect_exit(r, want_rc, how)
    rep = report(out)
    p = rep["program"]
    check(p["complete"] is True, "%s: trace not complete: %s" % (how, p.get("problem")))
    check(p["end"] == want_end, "%s: end %s" % (how, p["end"]))
    check(p["signal"] == want_sig, "%s: signal %s" % (how, p["signal"]))
    if want_status is not None:
        check(p["exit_status"] == want_status, "%s: status %s" % (how, p["exit_status"]))
    check_marks(rep, "dying.c")


def t_kill_self():
    dying("kill", 128 + 9, "signal", 9)


def t_abort():
    dying("abort", 128 + 6, "signal", 6)


def t_segv():
    dying("segv", 128 + 11, "signal", 11)


def t_underscore_exit():
    dying("_exit", 7, "exit", 0, 7)


def t_sigkill_external():
    """Killed by SIGKILL from outside while running: everything it logged is in the trace."""
    d = tmpdir()
    out = os.path.join(d, "t.lgt")
    p = start([prog("dying"), "wait"], out)
    line = p.stdout.readline()
    m = re.match(r"ready (\d+)", line)
    if not check(m is not None, "no ready line: %r" % line):
        p.kill()
        return
    time.sleep(0.2)
    os.kill(int(m.group(1)), signal.SIGKILL)
    rc = p.wait(timeout=60)
    check(rc == 128 + 9, "exit %d" % rc)
    rep = report(out)
    check(rep["program"]["complete"] is True and rep["program"]["signal"] == 9, "program %s" % rep["program"])
    check_marks(rep, "dying.c")


def t_check_every():
    """run --check-every: every traced process takes a leak check on that period (through its
    check signal, RTMIN+3 unless LEAKGRAPH_CHECK_SIGNAL names another, sent only once the
    shim's handler is installed), then its exit check; the program runs to its end."""
    d = tmpdir()
    out, marker = os.path.join(d, "t.lgt"), os.path.join(d, "finished")
    r = subprocess.run([A.lg, "run", "--quiet", "--check-every", "0.05", "--output", out, "--",
                        prog("busy"), marker], capture_output=True, text=True, timeout=120)
    expect_exit(r, 0, "busy under --check-every")
    check(os.path.exists(marker), "busy did not finish: %r" % r.stderr)
    snaps = re.findall(r"# snapshot id=(\d+) reason=(\d+)", lgdriver.dump(out))
    periodic = [i for i, why in snaps if why == "3"]
    check(len(periodic) >= 2 and snaps[-1][1] == "1",
          "checks (id, reason): %s; want 2 or more by the signal (3), then the exit's (1)" % snaps)
    if len(periodic) >= 2:
        rep = report(out, "--check", periodic[1], "--since", periodic[0])
        check(rep is not None and rep["program"]["check"] is not None,
              "report --check %s --since %s" % (periodic[1], periodic[0]))
    r = subprocess.run([A.lg, "run", "--check-every", "0", "--", prog("exitcode"), "0"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "--check-every 0" in r.stderr,
          "--check-every 0: exit %d %r" % (r.returncode, r.stderr))


def t_collector_killed():
    """The collector dies while the program writes: the program stops tracing and finishes."""
    d = tmpdir()
    out, marker = os.path.join(d, "t.lgt"), os.path.join(d, "finished")
    p = start([prog("busy"), marker], out)
    line = p.stdout.readline()
    if not check(line.startswith("ready"), "no ready line: %r" % line):
        p.kill()
        return
    p.kill()  # SIGKILL the collector, not the program; not reaped yet: it stays a zombie
    for _ in range(600):
        if os.path.exists(marker):
            break
        time.sleep(0.1)
    check(os.path.exists(marker), "the program did not finish after its collector died")
    p.wait()
    err = p.stderr.read()  # the program's stderr: closed once it exited
    check("tracing stopped" in err, "no message from the shim: %r" % err)


def t_checks():
    """lg_check() and the check signal record numbered checks; report --check N / --since M."""
    _, out, r = run_fresh([prog("checks")], env=dict(os.environ, LEAKGRAPH_CHECK_SIGNAL="USR2"),
                          timeout=120)
    expect_exit(r, 0, "checks")
    check("checks 1 2" in r.stdout, "check numbers: %r" % r.stdout)

    def rep(*args):
        return lgdriver.report(*args, out)

    def summ(j, kind):
        return (j["summary"][kind]["bytes"], j["summary"][kind]["blocks"])

    c1, c2, c3, ex = rep("--check", "1"), rep("--check", "2"), rep("--check", "3"), rep()
    if not (c1 and c2 and c3 and ex):
        return
    check(c1["program"]["check"]["reason"] == "lg_check_now", "check 1 reason %s" % c1["program"]["check"])
    check(c3["program"]["check"]["reason"] == "signal", "check 3 reason %s" % c3["program"]["check"])
    check(ex["program"]["check"]["reason"] == "exit" and ex["program"]["check"]["id"] == 4,
          "exit check %s" % ex["program"]["check"])
    check(summ(c1, "definite") == (100, 1), "check 1 definite %s" % (summ(c1, "definite"),))
    check(summ(c2, "definite") == (300, 2), "check 2 definite %s" % (summ(c2, "definite"),))
    check(summ(c2, "reachable") == (50, 1), "check 2 reachable %s" % (summ(c2, "reachable"),))
    check(summ(c3, "definite") == (300, 2), "check 3 definite %s" % (summ(c3, "definite"),))
    check(summ(ex, "definite") == (350, 3), "exit definite %s" % (summ(ex, "definite"),))
    g = rep("--check", "2", "--since", "1")
    if g:
        check(summ(g, "definite") == (200, 1) and summ(g, "reachable") == (50, 1),
              "growth 1->2: %s" % g["summary"])
        funcs = sorted(user_frame(l["stack"], "checks.c")["function"] for l in g["leaks"])
        check(funcs == ["grow_twice", "keep"], "growth records %s" % funcs)
    bad = leakgraph("report", "--check", "9", out)
    check(bad.returncode == 1 and "no check number 9" in bad.stderr, "missing check: %r" % bad.stderr)
    # without the shim the program runs and lg_check() says -ENOSYS
    plain = subprocess.run([prog("checks")], capture_output=True, text=True, timeout=60)
    check(plain.returncode == 0 and "checks -38 -38" in plain.stdout, "without the shim: %r" % plain.stdout)


def t_cycles_json():
    """Cycle records name their members (size, allocation stack) and the pointers between them."""
    _, out, r = run_fresh([prog(os.path.join("..", "..", "leakcheck", "progs", "cycle_into_cycle"))])
    expect_exit(r, 0, "cycle_into_cycle")
    rep = report(out)
    cy = rep.get("cycles", [])
    if not check(len(cy) == 2, "cycles: %d" % len(cy)):
        return
    for c in cy:
        check(c["blocks"] == 2 and c["bytes"] == 64, "cycle size %s" % c)
        check(sorted(m["size"] for m in c["members"]) == [32, 32], "members %s" % c["members"])
        for m in c["members"]:
            f = user_frame(m["stack"], "cycle_into_cycle.c")
            check(f is not None and f["function"] == "main", "member stack %s" % m["stack"][:2])
        # the two pointers of a 2-cycle, each at offset 0 (the 'next' field)
        check(sorted((e["from"], e["to"], e["from_offset"]) for e in c["edges"])[:2] == [(0, 1, 0), (1, 0, 0)],
              "edges %s" % c["edges"])
    kinds = sorted(sorted(m["kind"] for m in c["members"]) for c in cy)
    check(kinds == [["definite", "indirect"], ["indirect", "indirect"]], "member kinds %s" % kinds)
    keeps = sorted((c["keeps"]["bytes"], c["keeps"]["blocks"]) for c in cy)
    check(keeps == [(0, 0), (64, 2)], "what the cycles keep alive %s" % keeps)
    text = leakgraph("report", out).stdout
    check("form an unreachable cycle (cycle 1 of 2)" in text, "text cycle record")


def t_signals_errno():
    """Signals interrupting the shim, a handler that allocates, errno untouched."""
    _, out, r = run_fresh([prog("signals")])
    check(r.returncode == 0 and r.stdout.startswith("ok"), "exit %d: %r %r" % (r.returncode, r.stdout, r.stderr))
    rep = report(out)
    check(rep["program"]["complete"] is True, "trace not complete: %s" % rep["program"].get("problem"))
    # the handler's blocks, whatever the interrupted context (several stacks): 20 x 64 bytes
    mine = [l for l in rep["leaks"] if (fr := user_frame(l["stack"], "signals.c")) and fr["function"] == "on_alarm"]
    check(sum(l["bytes"] for l in mine) == 1280 and sum(l["blocks"] for l in mine) == 20 and
          all(l["kind"] == "reachable" for l in mine),
          "handler blocks: %s" % [(l["kind"], l["bytes"], l["blocks"]) for l in mine])
    check(rep["summary"]["definite"]["bytes"] == 0, "lost: %s" % rep["summary"]["definite"])
    # the writer wrote each distinct stack once: far fewer stacks than the 800k events
    dump = lgdriver.dump(out)
    stacks = len(re.findall(r"^stack \d+:", dump, re.M))
    check(0 < stacks < 200, "distinct stacks in the trace: %d" % stacks)


def t_closefds():
    d, out, r = run_fresh([prog("closefds")])
    expect_exit(r, 0, "closefds")
    check_marks(report(out), "closefds.c", exact_total=True)
    check_preloaded("closefds", os.path.join(d, "self.lgt"), timeout=60, cwd=d)


def t_cli():
    d, out, r = run_fresh([prog("exitcode"), "3"])
    expect_exit(r, 3, "exit status passthrough")
    check(report(out)["program"]["exit_status"] == 3, "recorded exit status")
    # never overwrite
    with open(out, "rb") as f:
        before = f.read()
    r = run([prog("exitcode"), "0"], out)
    expect_exit(r, 125, "run over an existing trace")
    check("refusing to overwrite" in r.stderr, "message: %r" % r.stderr)
    with open(out, "rb") as f:
        check(f.read() == before, "existing trace changed")
    # a symlink at the output path is not followed
    link = os.path.join(d, "link.lgt")
    os.symlink(os.path.join(d, "target"), link)
    r = run([prog("exitcode"), "0"], link)
    check(r.returncode == 125 and not os.path.exists(os.path.join(d, "target")), "symlink followed")
    # missing program
    r = run([os.path.join(d, "no-such-program")], os.path.join(d, "x.lgt"))
    expect_exit(r, 127, "missing program")
    check("cannot run" in r.stderr, "message: %r" % r.stderr)
    # usage errors
    expect_exit(leakgraph("run"), 2, "run without a program")
    r = leakgraph("frobnicate")
    check(r.returncode == 2 and "unknown command" in r.stderr, "unknown command")


# ---- stop-the-world while other threads allocate (issue #11) --------------------------------

def run_hammer(modes, runs, per_run, what):
    """Runs prog("hammer") preloaded by hand `runs` times, its arguments taken from `modes` in
    turn, each run bounded by per_run seconds, stopping at the first failure: a run that does
    not end is a deadlock. Each run must exit 0 (the check mode also says that every lg_check()
    succeeded); the first run of each mode and every fifth run must leave a complete trace
    whose exit check found main's lost 100 bytes (reading every trace back would double the
    time of the test)."""
    lost = [m for m in marks("hammer.c") if m["func"] == "lose"]
    for i in range(runs):
        args = modes[i % len(modes)]
        out = os.path.join(tmpdir(), "h.lgt")
        try:
            r = lgdriver.preloaded([prog("hammer")] + args, out, capture_output=True, text=True,
                                   timeout=per_run)
        except subprocess.TimeoutExpired:
            return fail("%s: run %d of %d (%s) did not end within %d s: deadlock" %
                        (what, i + 1, runs, " ".join(args), per_run))
        if not expect_exit(r, 0, "%s: run %d (%s)" % (what, i + 1, " ".join(args))):
            return
        if args[0] == "check" and not check("checks OK" in r.stdout, "%s: %r" % (what, r.stdout)):
            return
        if i >= len(modes) and i % 5 != 4:
            continue
        rep = report(out)
        if not check(rep["program"].get("complete") is True and
                     (rep["program"].get("check") or {}).get("reason") == "exit",
                     "%s: run %d: no exit check in the trace: %s" % (what, i + 1, rep["program"])):
            return
        check_mark(rep, lost[0])


def t_check_while_allocating():
    """lg_check() ten times while a thread allocates without pause, preloaded by hand: a check
    used to stop that thread inside the self-mode drain, then wait for the drain lock it held
    (about half of the runs hung; 10 runs of 1-1.5 s, up to 5 s under ASan on a busy machine:
    a run is given 20 s)."""
    run_hammer([["check", "10", "1"]], 10, 20, "checks while a thread allocates")


def t_exit_while_allocating():
    """exit (returning from main) and _exit while 8 detached threads allocate, preloaded by
    hand: the exit check used to stop a thread inside the drain and wait for its lock (about 1
    run in 10 hung by exit, 1 in 4 by _exit, where no destructor has just drained the rings;
    24 runs of about 0.5 s)."""
    run_hammer([["_exit", "20"], ["exit", "20"]], 24, 15, "exit while 8 threads allocate")

# ---- stopped by a signal whose action is the default (issue #11) ----------------------------

def started(p, what):
    """The pid on the "ready <pid>" line of the started program p, or None (a failed check;
    p is killed)."""
    line = p.stdout.readline()
    m = re.match(r"ready (\d+)", line)
    if not check(m is not None, "%s: no ready line: %r" % (what, line)):
        p.kill()
        return None
    time.sleep(0.2)
    return int(m.group(1))


def signal_and_wait(p, sig, what):
    """Sends sig to the program that p (the program, or leakgraph run on it) started, once it
    is ready, and returns p's exit status, or None (a failed check) if it did not end."""
    pid = started(p, what)
    if pid is None:
        return None
    os.kill(pid, sig)
    try:
        return p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("%s: the program did not end" % what)
        return None


def check_stopped(out, sig, what):
    """The trace out of prog("stopped") ended by sig: complete, ended by that signal, with a
    final leak check ("fatal-signal") that found the marks' kinds."""
    rep = report(out)
    p = rep["program"]
    check(p.get("complete") is True and p.get("end") == "signal" and p.get("signal") == sig,
          "%s: trace: complete %s, end %s, signal %s, problem %s" %
          (what, p.get("complete"), p.get("end"), p.get("signal"), p.get("problem")))
    if check((p.get("check") or {}).get("reason") == "fatal-signal",
             "%s: no leak check before the death: %s" % (what, p.get("check"))):
        check_marks(rep, "stopped.c", exact_total=True)


def no_core():
    """preexec_fn: no core file (SIGQUIT's default action dumps one)."""
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def t_stopped_by_signal():
    """Under leakgraph run, SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to a program that left
    their action the default: it dies by that signal (leakgraph run exits 128 + it) after a
    final leak check, as Memcheck runs its leak search then."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        out = os.path.join(tmpdir(), "t.lgt")
        what = "run, %s" % sig.name
        p = subprocess.Popen([A.lg, "run", "--output", out, "--", prog("stopped"), "default"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=no_core)
        rc = signal_and_wait(p, sig, what)
        if rc is None:
            continue
        check(rc == 128 + sig, "%s: leakgraph run exit %d, want %d" % (what, rc, 128 + sig))
        check_stopped(out, sig, what)


def t_stopped_by_signal_self():
    """Preloaded by hand: SIGTERM and SIGINT end the program with the same wait status (killed
    by that signal), after a final leak check written into a finished trace."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        out = os.path.join(tmpdir(), "t.lgt")
        what = "preloaded, %s" % sig.name
        p = subprocess.Popen([prog("stopped"), "default"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, preexec_fn=no_core,
                             env=dict(os.environ, LD_PRELOAD=lgdriver.shim(), LEAKGRAPH_OUTPUT=out))
        rc = signal_and_wait(p, sig, what)
        if rc is None:
            continue
        check(rc == -sig, "%s: wait status %d, want killed by %d" % (what, rc, sig))
        check_stopped(out, sig, what)


def t_stopped_own_handler():
    """A program's own handler, installed after the shim started, runs as before (it ends the
    program by _exit(3), whose exit check is taken); a signal the program inherited ignored
    stays ignored."""
    out = os.path.join(tmpdir(), "t.lgt")
    p = start([prog("stopped"), "handler"], out)
    pid = started(p, "own handler")
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        rc = p.wait(timeout=60)
        check(rc == 3, "own handler: exit %d, want 3" % rc)
        check("handled %d" % signal.SIGTERM in p.stdout.read(), "own handler did not run")
        rep = report(out)
        check((rep["program"].get("check") or {}).get("reason") == "exit",
              "own handler: check %s" % rep["program"].get("check"))
    out = os.path.join(tmpdir(), "t.lgt")

    def ignore_term():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    p = subprocess.Popen([prog("stopped"), "default"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=ignore_term,
                         env=dict(os.environ, LD_PRELOAD=lgdriver.shim(), LEAKGRAPH_OUTPUT=out))
    pid = started(p, "ignored")
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)
        check(p.poll() is None, "an ignored SIGTERM ended the program: %s" % p.returncode)
        p.kill()
        p.wait(timeout=60)


# ---- settings of the shim (issue #11) -----------------------------------------------------

def said_once(r, text, what):
    """The shim said text on stderr exactly once."""
    n = r.stderr.count(text)
    return check(n == 1, "%s: %r said %d times on stderr, want once: %r" % (what, text, n, r.stderr[-1500:]))


def preloaded_with(cmd, env, timeout=20):
    """prog cmd[0] with args, preloaded by hand in a new directory with the settings env: the
    finished process, or None (a failed check) if it did not end within timeout seconds."""
    out = os.path.join(tmpdir(), "t.lgt")
    try:
        return lgdriver.preloaded([prog(cmd[0])] + cmd[1:], out, env=env, capture_output=True,
                                  text=True, timeout=timeout, preexec_fn=no_core)
    except subprocess.TimeoutExpired:
        fail("%s with %s did not end within %d s" % (" ".join(cmd), env, timeout))
        return None


def t_settings_signals():
    """Signals that cannot serve: a clear message, once, and the default; never a loop, a
    kill or a stop. CHECK_SIGNAL=11 with a crash used to take checks forever, STOP_SIGNAL=9
    killed the program at its first check, =19 stopped it forever, CHECK_SIGNAL=99 and an
    unknown name were ignored silently."""
    r = preloaded_with(["dying", "segv"], {"LEAKGRAPH_CHECK_SIGNAL": "11"}, timeout=10)
    if r:
        check(r.returncode == -signal.SIGSEGV, "CHECK_SIGNAL=11: status %d, want SIGSEGV" % r.returncode)
        said_once(r, "LEAKGRAPH_CHECK_SIGNAL=11", "CHECK_SIGNAL=11")
    for v in ("9", "KILL", "19", "SIGSTOP", "CONT", "11", "0", "99", "-3", "FOO", "34x", "RTMAX-1"):
        env = {"LEAKGRAPH_STOP_SIGNAL": v}
        if v == "RTMAX-1":  # valid alone; the same as the check signal is not
            env["LEAKGRAPH_CHECK_SIGNAL"] = v
        r = preloaded_with(["hammer", "check", "2", "1"], env, timeout=10)  # a thread to stop
        if not r:
            continue
        expect_exit(r, 0, "STOP_SIGNAL=%s" % v)
        check("checks OK" in r.stdout, "STOP_SIGNAL=%s: checks %r" % (v, r.stdout))
        said_once(r, "LEAKGRAPH_%s_SIGNAL=%s" % ("CHECK" if v == "RTMAX-1" else "STOP", v),
                  "STOP_SIGNAL=%s" % v)
    for v in ("99", "FOO", "KILL", "SEGV", "CHLD", "33"):
        r = preloaded_with(["exitcode", "0"], {"LEAKGRAPH_CHECK_SIGNAL": v})
        if r:
            expect_exit(r, 0, "CHECK_SIGNAL=%s" % v)
            said_once(r, "LEAKGRAPH_CHECK_SIGNAL=%s" % v, "CHECK_SIGNAL=%s" % v)
    # valid ones say nothing
    r = preloaded_with(["checks"], {"LEAKGRAPH_CHECK_SIGNAL": "SIGUSR2", "LEAKGRAPH_STOP_SIGNAL": "RTMIN+2"},
                       timeout=10)
    if r:
        expect_exit(r, 0, "valid signals")
        check("checks 1 2" in r.stdout and "leakgraph[" not in r.stderr,
              "valid signals: %r %r" % (r.stdout, r.stderr))


def t_settings_numbers():
    """Numbers out of range or not numbers: a clear message, once, and the default."""
    for name, v in (("RC_STACK_DEPTH", "-3"), ("RC_STACK_DEPTH", "100000"), ("RC_STACK_DEPTH", "ten"),
                    ("SCRUB_MAX", "-1"), ("SCRUB_MAX", "12kb"), ("SCRUB_MAX", "99999999999999999999999")):
        r = preloaded_with(["exitcode", "0"], {"LEAKGRAPH_" + name: v})
        if r:
            expect_exit(r, 0, "%s=%s" % (name, v))
            said_once(r, "LEAKGRAPH_%s=%s" % (name, v), "%s=%s" % (name, v))
    r = preloaded_with(["exitcode", "0"], {"LEAKGRAPH_RC_STACK_DEPTH": "0", "LEAKGRAPH_SCRUB_MAX": "0x1000"})
    if r:
        check(r.returncode == 0 and "leakgraph[" not in r.stderr, "valid numbers: %r" % r.stderr)


def t_settings_paths():
    """LEAKGRAPH_OUTPUT longer than the shim can hold: one message and no trace (it used to be
    cut to another path); LEAKGRAPH_BIN naming no executable: one message, and the program runs
    untraced with its own status (preloaded by hand the shim starts that program as its
    collector; the setting used to be dropped silently)."""
    d = tmpdir()
    long_out = os.path.join(d, "d" * 200, "e" * 200, "f" * 200, "g" * 200, "h" * 200, "t.lgt")
    r = subprocess.run([prog("exitcode"), "0"], capture_output=True, text=True, timeout=20,
                       env=dict(os.environ, LD_PRELOAD=lgdriver.shim(), LEAKGRAPH_OUTPUT=long_out))
    expect_exit(r, 0, "long LEAKGRAPH_OUTPUT")
    said_once(r, "LEAKGRAPH_OUTPUT=", "long LEAKGRAPH_OUTPUT")
    check("not tracing" in r.stderr, "long LEAKGRAPH_OUTPUT: %r" % r.stderr)
    out = os.path.join(d, "nobin.lgt")
    r = lgdriver.preloaded([prog("exitcode"), "7"], out, capture_output=True, text=True,
                           timeout=20, env={"LEAKGRAPH_BIN": os.path.join(d, "no-such-leakgraph")})
    expect_exit(r, 7, "LEAKGRAPH_BIN")
    said_once(r, "LEAKGRAPH_BIN=", "LEAKGRAPH_BIN")
    check("not tracing" in r.stderr and not glob.glob(out + "*"),
          "LEAKGRAPH_BIN naming nothing: no trace %s: %r" % (glob.glob(out + "*"), r.stderr))

# ---- `leakgraph run` when it cannot do its job (issue #11) -----------------------------------
# Every case ends within RUN_LIMIT (a regression fails instead of hanging), with exit 125 (3
# with --check) and a message; a trace that cannot be created is known before the program runs.

RUN_LIMIT = 30  # s; the runs that fail at once are also held to FAIL_AT_ONCE
FAIL_AT_ONCE = 10


def timed_run(cmd, out, *opts, limit=RUN_LIMIT, **kw):
    """leakgraph run [opts] --output out -- cmd: (result, seconds), or (None, limit) if it
    did not end within limit seconds (a failed check)."""
    t = time.monotonic()
    args = [A.lg, "run", *opts] + (["--output", out] if out else []) + ["--", *cmd]
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=limit, **kw)
    except subprocess.TimeoutExpired:
        fail("leakgraph run %s did not end within %d s (a hang)" % (cmd, limit))
        return None, limit
    return r, time.monotonic() - t


def expect_refused(cmd, out, msg, marker, what, **kw):
    """leakgraph run (and run --check) of cmd with --output out exits 125 (3) at once with
    msg on stderr, and the program never ran (it would have created marker)."""
    for opts, code in (((), 125), (("--check",), 3)):
        r, secs = timed_run(cmd, out, *opts, limit=FAIL_AT_ONCE * 3, **kw)
        if not r:
            continue
        expect_exit(r, code, "%s %s" % (what, opts))
        check(msg in r.stderr, "%s %s: message %r not in %r" % (what, opts, msg, r.stderr))
        check(secs < FAIL_AT_ONCE, "%s %s: took %.1f s" % (what, opts, secs))
        check(not os.path.exists(marker), "%s %s: the program ran" % (what, opts))


def t_run_unwritable():
    """A trace that cannot be created: run says why and exits 125 before the program runs."""
    d = tmpdir()
    marker = os.path.join(d, "ran")
    cmd = ["/bin/sh", "-c", "echo > " + marker]
    afile = os.path.join(d, "afile")
    open(afile, "w").close()
    for out, why in ((os.path.join(d, "no-such-dir", "x.lgt"), "No such file or directory"),
                     (os.path.join(afile, "x.lgt"), "Not a directory"),
                     ("/proc/leakgraph-test.lgt", "")):
        expect_refused(cmd, out, "leakgraph: cannot create the trace %s: %s" % (out, why), marker,
                       out)
    expect_refused(cmd, d, "leakgraph: %s is a directory: --output names the trace file to "
                   "create" % d, marker, "--output DIR")
    # the default name, in a directory where nothing can be created
    expect_refused(cmd, None, "leakgraph: cannot create the trace /proc/leakgraph.sh.", marker,
                   "default name in /proc", cwd="/proc")
    if os.geteuid() != 0:  # root writes anywhere: the read-only tmpfs in run_full_fs is its case
        ro = os.path.join(d, "ro")
        os.mkdir(ro, 0o555)
        out = os.path.join(ro, "x.lgt")
        expect_refused(cmd, out, "leakgraph: cannot create the trace %s: Permission denied" % out,
                       marker, "read-only directory")


def in_tmpfs(mnt, opts, prefill=False):
    """The command prefix that runs a command in a private mount namespace where mnt is a new
    tmpfs mounted with opts (filled up first if prefill); Skip if this cannot be done here."""
    pre = ['unshare', '-m', 'sh', '-c',
           'mount -t tmpfs -o %s none "$0" || exit 99; %s exec "$@"' %
           (opts, 'dd if=/dev/zero of="$0/fill" bs=4096 2>/dev/null;' if prefill else ''), mnt]
    r = subprocess.run(pre + ["true"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise lgdriver.Skip("cannot mount a tmpfs in a private mount namespace (unshare -m: %s)"
                            % r.stderr.strip())
    return pre


def t_run_full_fs():
    """A full filesystem: full at the start, run refuses at once (125; --check 3); filling up
    while the program runs, the program finishes untouched and run exits 125 and says why.
    A read-only filesystem (root's unwritable directory) is refused at once too."""
    d = tmpdir()
    mnt = os.path.join(d, "fs")
    os.mkdir(mnt)
    marker = os.path.join(d, "ran")
    cmd = ["/bin/sh", "-c", "echo > " + marker]
    out = os.path.join(mnt, "t.lgt")
    for opts, code in (((), 125), (("--check",), 3)):
        t = time.monotonic()
        try:
            r = subprocess.run(in_tmpfs(mnt, "size=64k", prefill=True) +
                               [A.lg, "run", *opts, "--output", out, "--"] + cmd,
                               capture_output=True, text=True, timeout=FAIL_AT_ONCE * 3)
        except subprocess.TimeoutExpired:
            fail("full filesystem %s: run did not end" % (opts,))
            continue
        expect_exit(r, code, "full filesystem %s" % (opts,))
        check("leakgraph: cannot create the trace %s: No space left on device" % out in r.stderr,
              "full filesystem %s: message %r" % (opts, r.stderr))
        check(time.monotonic() - t < FAIL_AT_ONCE, "full filesystem: not at once")
        check(not os.path.exists(marker), "full filesystem %s: the program ran" % (opts,))
    r = subprocess.run(in_tmpfs(mnt, "ro") + [A.lg, "run", "--output", out, "--"] + cmd,
                       capture_output=True, text=True, timeout=FAIL_AT_ONCE * 3)
    expect_exit(r, 125, "read-only filesystem")
    check("leakgraph: cannot create the trace %s: Read-only file system" % out in r.stderr,
          "read-only filesystem: message %r" % r.stderr)
    # room for the start of the trace (two pages), not for 3 million events (~15 KB)
    done = os.path.join(d, "finished")
    t = time.monotonic()
    try:
        r = subprocess.run(in_tmpfs(mnt, "size=8k") +
                           [A.lg, "run", "--output", out, "--", prog("busy"), done],
                           capture_output=True, text=True, timeout=RUN_LIMIT * 4)
    except subprocess.TimeoutExpired:
        fail("filesystem filling up mid-run: run did not end")
        return
    expect_exit(r, 125, "filesystem filling up mid-run")
    check(os.path.exists(done), "filesystem filling up mid-run: the program did not finish")
    check(re.search(r"leakgraph: cannot write %s: No space left on device" % re.escape(out),
                    r.stderr), "filesystem filling up: message %r" % r.stderr)
    check("could not be created or written completely" in r.stderr,
          "filesystem filling up: no final word on the run: %r" % r.stderr)


def t_run_taken_names():
    """Every name an exec'd image's trace may take exists: run gives up on that image (says
    which), the image runs on untraced and ends, and run exits 125."""
    d = tmpdir()
    out = os.path.join(d, "t.lgt")
    r, secs = timed_run([prog("takenames"), out], out)
    if not r:
        return
    expect_exit(r, 125, "taken names")
    check(re.search(r"leakgraph: cannot create a trace for pid \d+: %s\.\d+ \.\.\. %s\.\d+\.999 "
                    r"all exist" % (re.escape(out), re.escape(out)), r.stderr),
          "taken names: message %r" % r.stderr)
    check("could not be created or written completely" in r.stderr,
          "taken names: no final word on the run: %r" % r.stderr)
    rep = report(out)
    check(rep["program"].get("complete") is True, "the first image's trace: %s" % rep["program"])
    r, _ = timed_run([prog("takenames"), os.path.join(d, "u.lgt")], os.path.join(d, "u.lgt"),
                     "--check")
    if r:
        expect_exit(r, 3, "taken names, run --check")


def start_ready(args, out):
    """start(), then the program's first line "ready <pid>...": (process, pid), or (None, 0)
    after a failed check (leakgraph killed) if the line is not there."""
    p = start(args, out)
    line = p.stdout.readline()
    m = re.match(r"ready (\d+)", line)
    if not check(m is not None, "no ready line: %r" % line):
        p.kill()
        p.wait()
        return None, 0
    return p, int(m.group(1))


def t_collector_stalled():
    """The collector stops answering (SIGSTOP) while the program fills its ring: the shim's
    watchdog ends the wait, stops tracing and says so, and the program finishes; once the
    collector runs again, run exits 125 (the trace is incomplete)."""
    d = tmpdir()
    out, marker = os.path.join(d, "t.lgt"), os.path.join(d, "finished")
    p, _ = start_ready([prog("busy"), marker], out)
    if not p:
        return
    os.kill(p.pid, signal.SIGSTOP)
    t = time.monotonic()
    while not os.path.exists(marker) and time.monotonic() - t < 60:
        time.sleep(0.1)
    waited = time.monotonic() - t
    os.kill(p.pid, signal.SIGCONT)
    check(os.path.exists(marker), "the program did not finish while its collector was stopped")
    try:
        rc = p.wait(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("run did not end once its collector went on")
        return
    err = p.stderr.read()
    check(rc == 125, "exit %d, want 125: %s" % (rc, err))
    check(re.search(r"tracing stopped: the leakgraph collector did not answer for \d+ s", err),
          "no message from the shim: %r" % err)
    check(waited > 5, "the shim gave up on its collector after only %.1f s" % waited)


def t_collector_killed_staged():
    """The collector is SIGKILLed a second after the program logged 1000 blocks: they are in
    the trace (staged events reach the file within a fraction of a second), and the session
    directory goes away."""
    d = tmpdir()
    out = os.path.join(d, "t.lgt")
    p, pid = start_ready([prog("dying"), "wait"], out)
    if not p:
        return
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    session = env.get(b"LEAKGRAPH_SESSION", b"").decode()
    check(session and os.path.isdir(session), "no session directory: %r" % session)
    time.sleep(1.0)
    p.kill()
    p.wait()
    t = time.monotonic()
    while session and os.path.exists(session) and time.monotonic() - t < 5:
        time.sleep(0.05)
    check(not (session and os.path.exists(session)),
          "the session directory %s is still there 5 s after its collector died: %s" %
          (session, os.listdir(session) if os.path.isdir(session) else "?"))
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    text = lgdriver.dump(out)
    n = len(re.findall(r"^\d+ alloc fn=malloc addr=\S+ size=64 ", text, re.M))
    check(n >= 1000, "the trace of a killed collector holds %d of the 1000 blocks" % n)


# ---- address space (issue #13): RLIMIT_AS set by the program or inherited -------------------

def limit_as(mib):
    """preexec_fn: RLIMIT_AS of mib MiB (as `ulimit -v` or prlimit would set it)."""
    import resource
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (mib << 20, mib << 20))


def limit_unusable():
    """True (after saying so) when leakgraph itself is built with ASan (LG_SANITIZE), which
    reserves terabytes of shadow memory and cannot start under any RLIMIT_AS: the cases that
    limit leakgraph run then have nothing to test."""
    with open(A.lg, "rb") as f:
        asan = b"__asan_init" in f.read()
    if asan:
        print("skipped: leakgraph is built with ASan, which cannot run under RLIMIT_AS")
    return asan


def t_rlimit_self():
    """A program that lowers its own RLIMIT_AS to 1 GiB, then mallocs 200 MB and creates a
    thread: exit 0 as natively, under leakgraph run and preloaded by hand, and traced."""
    cmd = [prog("rlimit_self"), "1024"]
    native = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    expect_exit(native, 0, "natively")
    d, out, r = run_fresh(cmd, timeout=120)
    expect_exit(r, 0, "under leakgraph run")
    check(r.stdout == "done\n", "stdout %r" % r.stdout)
    check_marks(report(out), "rlimit_self.c", exact_total=True)
    out2 = os.path.join(d, "self.lgt")
    r = lgdriver.preloaded(cmd, out2, capture_output=True, text=True)
    expect_exit(r, 0, "preloaded by hand")
    check(os.path.exists(out2), "preloaded by hand: no trace %s: %s" % (out2, r.stderr))


def t_rlimit_inherited():
    """An inherited `ulimit -v` of 4 GiB (leakgraph run and the program under it): traced, and
    the report names the leak."""
    if limit_unusable():
        return
    cmd = [prog("rlimit_self"), "4096"]
    d, out, r = run_fresh(cmd, timeout=120, preexec_fn=limit_as(4096))
    expect_exit(r, 0, "leakgraph run under RLIMIT_AS 4 GiB")
    check("not traced" not in r.stderr, "not traced: %r" % r.stderr)
    check_marks(report(out), "rlimit_self.c", exact_total=True)


def t_rlimit_too_low():
    """RLIMIT_AS so low that the trace region cannot be mapped (the program itself runs): the
    program runs with its own result, and leakgraph run says why tracing could not start (the
    shim's reason and the limit), not a guess about static linking or setuid."""
    if limit_unusable():
        return
    d = tmpdir()
    out = os.path.join(d, "t.lgt")
    cmd = ["/bin/sh", "-c", "echo ran; exit 7"]
    r, _ = timed_run(cmd, out, preexec_fn=limit_as(100))
    if not r:
        return
    expect_exit(r, 7, "the program's own status")
    check(r.stdout == "ran\n", "stdout %r" % r.stdout)
    check("statically linked" not in r.stderr, "the static/setuid guess: %r" % r.stderr)
    check(re.search(r"^leakgraph: the program was not traced: cannot create the trace region: "
                    r".*RLIMIT_AS is 100 MiB", r.stderr, re.M),
          "no precise reason: %r" % r.stderr)


# ---- dlopen through the caller's RPATH/RUNPATH (issue #13) ----------------------------------

DLCALLER_OUT = "plugin loaded\n"


def dlcaller(cmd, module, what, leak=True):
    """cmd (a program that loads a plugin by its bare name through its caller's RPATH or
    RUNPATH) run natively, under `leakgraph run` and preloaded by hand: the same exit status
    (0) and stdout each time, and (with leak) in both traces the plugin's leak (777 bytes, one
    block) at its line in dlcaller_plugin.c, in the module named module, from the plugin
    function."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LD_LIBRARY_PATH")}
    native = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    expect_exit(native, 0, "%s natively" % what)
    check(native.stdout == DLCALLER_OUT, "%s natively: stdout %r" % (what, native.stdout))
    d = tmpdir()
    runs = [("under leakgraph run", os.path.join(d, "run.lgt"),
             lambda out: run(cmd, out, env=env)),
            ("preloaded by hand", os.path.join(d, "self.lgt"),
             lambda out: lgdriver.preloaded(cmd, out, capture_output=True, text=True, timeout=60))]
    mark = marks("dlcaller_plugin.c")[0]
    for how, out, go in runs:
        r = go(out)
        expect_exit(r, 0, "%s %s" % (what, how))
        check(r.stdout == DLCALLER_OUT, "%s %s: stdout %r, stderr %r" % (what, how, r.stdout, r.stderr))
        if r.returncode != 0 or not leak:
            continue
        rep = report(out)
        hits = [l for l in rep["leaks"]
                if (fr := user_frame(l["stack"], "dlcaller_plugin.c")) and fr["function"] == mark["func"]]
        if not check(len(hits) == 1, "%s %s: records from the plugin: %d; first frames %s" %
                     (what, how, len(hits), [l["stack"][:1] for l in rep["leaks"]])):
            continue
        h = hits[0]
        f0 = h["stack"][0]
        check(f0["function"] == mark["func"] and f0["line"] == mark["line"] and
              os.path.basename(f0["file"] or "") == "dlcaller_plugin.c",
              "%s %s: first frame %s, want %s at dlcaller_plugin.c:%d" %
              (what, how, f0, mark["func"], mark["line"]))
        check((f0["module"] or "").endswith("/" + module), "%s %s: module %s" % (what, how, f0["module"]))
        check(h["bytes"] == 777 and h["blocks"] == 1, "%s %s: %d bytes in %d blocks" %
              (what, how, h["bytes"], h["blocks"]))


def t_dlcaller_rpath():
    """An executable with DT_RPATH $ORIGIN dlopens a plugin by its bare name."""
    dlcaller([prog("dlcaller_rpath")], "libdlcaller_plugin.so", "dlcaller_rpath")


def t_dlcaller_runpath():
    """An executable with DT_RUNPATH $ORIGIN dlopens a plugin by its bare name."""
    dlcaller([prog("dlcaller_runpath")], "libdlcaller_plugin.so", "dlcaller_runpath")


def t_dlcaller_lib():
    """A shared library with DT_RUNPATH $ORIGIN/dlcaller_sub dlopens a plugin by its bare name
    (the executable's own RPATH does not hold it); its dlsym(RTLD_NEXT) looks after itself,
    not after the shim."""
    dlcaller([prog("dlcaller_vialib")], "libdlcaller_deep.so", "dlcaller_vialib")


def t_dlcaller_dlmopen():
    """dlmopen(LM_ID_NEWLM) of a bare name through the executable's RPATH and its RUNPATH: the
    program's result only. The plugin's leak is not checked: a new namespace has its own copy
    of the C library, whose malloc the preloaded shim does not replace (Memcheck does), so the
    shim does not see it."""
    dlcaller([prog("dlcaller_rpath"), "m"], "libdlcaller_plugin.so", "dlcaller_rpath m", leak=False)
    dlcaller([prog("dlcaller_runpath"), "m"], "libdlcaller_plugin.so", "dlcaller_runpath m", leak=False)


# ---- a check the program must not feel (issue #13) ----------------------------------------

def run_bounded(args, limit, env=None):
    """Runs args in a new session; on a hang, kills the whole session (leakgraph run, the
    program and anything it started) and returns None after a failed check."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, env=env)
    try:
        so, se = p.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        so, se = p.communicate()
        fail("%s did not end within %d s (a hang)\nstdout: %s\nstderr: %s" %
             (" ".join(args), limit, so[-800:], se[-800:]))
        return None
    return subprocess.CompletedProcess(args, p.returncode, so, se)


def stopfelt(mode, runs, exact=True, checks=(), by_hand=False):
    """stopfelt MODE untraced, then `runs` times under leakgraph run (or preloaded by hand): the
    same exit status (0) and output every time, and its marks in the report at exit (and
    nothing else if exact) and at each mid-run check in checks. epoll_holder's mark is
    epollreg's only."""
    ms = [m for m in marks("stopfelt.c") if mode == "epollreg" or m["func"] != "epoll_holder"]
    native = run_bounded([prog("stopfelt"), mode], 60)
    if native is None or not expect_exit(native, 0, "stopfelt %s untraced" % mode):
        return
    for i in range(runs):
        out = os.path.join(tmpdir(), "t.lgt")
        if by_hand:
            env = dict(os.environ, LD_PRELOAD=lgdriver.shim(), LEAKGRAPH_OUTPUT=out)
            r = run_bounded([prog("stopfelt"), mode], 60, env=env)
        else:
            r = run_bounded([A.lg, "run", "--output", out, "--", prog("stopfelt"), mode], 60)
        if r is None:
            continue
        what = "stopfelt %s %s (run %d of %d)" % (mode, "preloaded by hand" if by_hand else "traced",
                                                  i + 1, runs)
        if not expect_exit(r, 0, what):
            continue
        check(r.stdout == native.stdout, "%s: the program saw the check:\n%s\nuntraced:\n%s"
              % (what, r.stdout, native.stdout))
        for args in [(out,)] + [("--check", str(n), out) for n in checks]:
            rep = report(*args)
            for m in ms:
                check_mark(rep, m)
            if exact and len(args) == 1:
                check_unfreed_total(rep, ms)


def t_stop_sigrtmax():
    """The program uses SIGRTMAX-1, leakgraph's default stop signal, itself, sent to the main
    thread while it exits (before: a hang at exit, 10 runs of 10). The sender is alive at exit:
    its thread's DTV is possibly lost, as Memcheck says too, so the total is not exact."""
    stopfelt("sigrtmax", 5, exact=False)


def t_stop_blocked():
    """A thread blocks every signal during a mid-run check, then unblocks them (before: killed
    by the stop signal left pending, exit status 191)."""
    stopfelt("blocked", 3)


def t_stop_epollreg():
    """A thread waits in epoll_wait for ever, the only pointer to its block in a callee-saved
    register: parked (not stopped) at the mid-run check and at exit, the block is still
    reachable at both, as Memcheck says; its thread's DTV is possibly lost (not exact)."""
    stopfelt("epollreg", 2, exact=False, checks=(1,))


SHELL_VARIANTS = ["/bin/sleep 1.5; /bin/true", "for i in 1 2 3; do /bin/sleep 0.5; done; echo done",
                  "/bin/sleep 1.5 & wait; echo waited", "/bin/sleep 1.5 | cat; echo piped",
                  "trap - USR2; /bin/sleep 1.5; echo reset",
                  "trap 'echo got it' USR2; /bin/sleep 1.5; echo trapped"]


def t_stop_shell_check():
    """LEAKGRAPH_CHECK_SIGNAL=USR2 sent to a bash running children (a sequence, a loop, a job
    it waits for, a pipeline, the handler reset to the default, a trap of its own): bash ends
    as untraced (before: 4 of 4 hung, and one that reset the handler died by the signal, 140)
    and its trace holds the check the signal asked for."""
    env = dict(os.environ, LEAKGRAPH_CHECK_SIGNAL="USR2")
    for cmd in SHELL_VARIANTS:
        native = run_bounded(["bash", "-c", cmd], 30)
        if native is None:
            continue
        out = os.path.join(tmpdir(), "t.lgt")
        p = subprocess.Popen([A.lg, "run", "-q", "--output", out, "--", "bash", "-c", cmd],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, env=env)
        bash = None
        for _ in range(500):  # bash started under the shim: its trace exists
            kids = subprocess.run(["pgrep", "-P", str(p.pid), "-x", "bash"], capture_output=True,
                                  text=True).stdout.split()  # not leakgraph's janitor
            if kids and os.path.exists(out):
                bash = int(kids[0])
                break
            time.sleep(0.01)
        time.sleep(0.3)
        if bash:
            os.kill(bash, signal.SIGUSR2)
        try:
            so, se = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            fail("bash -c %r under the check signal did not end within 30 s (a hang)" % cmd)
            continue
        what = "bash -c %r, the check signal sent" % cmd
        if not check(bash is not None, "%s: bash never started" % what):
            continue
        want = native.stdout.replace("got it\n", "") if "trap '" in cmd else native.stdout
        got = so.replace("got it\n", "") if "trap '" in cmd else so
        if expect_exit(subprocess.CompletedProcess(p.args, p.returncode, so, se), native.returncode, what):
            check(got == want, "%s: stdout %r, untraced %r" % (what, so, native.stdout))
            if "trap '" in cmd:
                check("got it" in so, "%s: bash's own trap did not run: %r" % (what, so))
            lgdriver.report("--check", "1", out, note="(%s: the check it asked for)" % what)


def t_stop_self():
    """The same four programs preloaded by hand: the `leakgraph __collect` the shim started stops the
    threads with ptrace (before: a hang at exit, exit 191 with the blocked thread, 8 of 10 waits
    cut short)."""
    stopfelt("sigrtmax", 3, exact=False, by_hand=True)
    stopfelt("blocked", 2, by_hand=True)
    stopfelt("waits", 2, by_hand=True)
    stopfelt("epollreg", 2, exact=False, checks=(1,), by_hand=True)


def t_stop_waits():
    """Threads waiting in the timed waits of the C library during a mid-run check: none ends
    early or with EINTR (before: 8 of 10 did)."""
    stopfelt("waits", 2)


def t_sigview():
    """The shim runs the program's signal handlers through a trampoline of its own
    (preload/shim/signal_view.c); the program must not tell: sigview (handlers set with
    sigaction, SA_SIGINFO or not, SA_RESETHAND, SA_NODEFER, SA_ONSTACK, with signal,
    sysv_signal and sigset, read back, raised, one left by siglongjmp) prints the same lines
    natively, under `leakgraph run` and preloaded by hand, every check ok, exit status 0; and
    both traces hold the handlers' leaks: 208 bytes in 4 blocks definitely lost (on_plain's 64
    twice, on_reset's 40 twice)."""
    cmd = [prog("sigview")]
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LD_LIBRARY_PATH")}
    native = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    expect_exit(native, 0, "sigview natively")
    check("WRONG" not in native.stdout and native.stdout.endswith("failures 0\n"),
          "sigview natively: %r" % native.stdout)
    d = tmpdir()
    runs = [("under leakgraph run", os.path.join(d, "run.lgt"),
             lambda out: run(cmd, out, env=env, timeout=60)),
            ("preloaded by hand", os.path.join(d, "self.lgt"),
             lambda out: lgdriver.preloaded(cmd, out, capture_output=True, text=True, timeout=60))]
    for how, out, go in runs:
        r = go(out)
        expect_exit(r, 0, "sigview %s" % how)
        check(r.stdout == native.stdout, "sigview %s: stdout differs from the native run:\n%s\n"
              "native:\n%s" % (how, r.stdout, native.stdout))
        if r.returncode != 0:
            continue
        rep = report(out)
        d_ = rep["summary"]["definite"]
        check((d_["bytes"], d_["blocks"]) == (208, 4), "sigview %s: definite %s, want 208/4" % (how, d_))


if __name__ == "__main__":
    p = lgdriver.parser(__doc__, "--progs", "--src")
    p.add_argument("scenario")
    sys.exit(lgdriver.main(p, lgdriver.by_name(globals())))
