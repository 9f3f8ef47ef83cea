#!/usr/bin/env python3
"""Leak-check scenarios. This driver owns the leakcheck_ and memcheck_ test cases: the EXPECT
totals read from a scenario's source, and the comparison with Valgrind's Memcheck (its log
parsed, the known DTV difference). The scaffolding (command line, running leakgraph, reading
reports, check/fail, the verdict and SKIP) is tests/lib/lgdriver.py; it must not be copied here.

Each program in progs/ states its exact expected totals per kind
(EXPECT definite=B/N indirect=B/N possible=B/N reachable=B/N cycles=K, where reachable>=
means at least: glibc's own thread and loader blocks come on top; optionally keeps=B/N, what
the cycles keep alive summed over them; optionally edges<=N, a bound on the edges of the exit
check's snapshot, which `leakgraph dump` counts: one per (block, target block) pair, however
many words point there). The driver runs it under
`leakgraph run`, reads `leakgraph report --format json`, and checks. With --memcheck it also
runs the same program under Valgrind's Memcheck and checks that the four totals are equal.

A Memcheck comparison runs the program under leakgraph --runs times (3 by default) and
requires every run equal to Memcheck on definite, indirect, possible and still reachable
(bytes and blocks; a scenario's EXPECT too) and the number of cycles equal in every run: a
conservative scan that sees a stale word, or a root that depends on timing, tends to answer
differently from run to run. Memcheck runs --memcheck-runs times (1 by default; with more,
its answers must agree before they are compared): measured with 3 on every test of the
memcheck label, its answer never varied once the program's environment was the same under
both tools (equal_environments()) and perl's hash seed fixed (PERL_HASH_SEED in CMake), and
it is the slow half. Cost, measured on 2 cores shared with other jobs, `ctest -j2 -L
memcheck`: 24 s for the 43 tests with one leakgraph run each; 3 min 32 s for the 76 tests
with three runs each (405 s of test time: the three heap churns 264 s, Memcheck's 10M
operations each; the 73 others 142 s, ~1.3 s a short program against ~1.1 s with one run).
Three runs stay on every test: leakgraph's part of a test is the cheap one.

Usage: driver.py --bin BINDIR --progs DIR --src DIR [--memcheck] [--runs N] [--memcheck-runs N]
                 SCENARIO [ARGS...]
       driver.py --bin BINDIR --progs DIR --src DIR --text-caps   (the text report's caps)
       driver.py --bin BINDIR --src DIR --rust [--memcheck] [--runs N] SCENARIO  (progs/SCENARIO.rs)
       driver.py --bin BINDIR [--progs DIR] --memcheck [--runs N] [--memcheck-runs N]
                 --command -- PROGRAM ARGS...   (a real program; --progs keeps a cache)
"""
import argparse, json, os, re, shutil, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lgdriver
from lgdriver import A, check

KINDS = ("definite", "indirect", "possible", "reachable")


def expectations(src):
    text = open(src).read()
    m = re.search(r"EXPECT(.*?)\*/", text, re.S)
    exp = {}
    for k, op, b, n in re.findall(r"(\w+)(>=|<=|=)(\d+)(?:/(\d+))?", m.group(1)):
        exp[k] = (op, int(b), int(n) if n else None)
    return exp


# Memcheck's command. Debian's `valgrind` is a shell script that adds LD_LIBRARY_PATH,
# GLIBCXX_FORCE_NEW and GLIBCPP_FORCE_NEW and reorders the environment (the shell rebuilds it)
# before it runs valgrind.bin: the driver runs valgrind.bin itself where it exists, so that
# the program sees the environment in the order the driver gives it (equal_environments()).
#
# --aspace-minaddr=4 GiB: by default Valgrind maps the program's libraries and its heap low
# (ld.so at 0x4000000, the heap from about 0x4a42000), where a 32-bit number stored in a
# 64-bit word equals a heap address. The loader's version tables hold such numbers: each
# struct r_found_version (in ld.so's own anonymous pages, 0x4835000 under Valgrind) has the
# ELF hash of a version name in a word whose upper half is zero, and the hashes of
# GLIBC_2.10..2.19, 2.20..2.29 and 2.30..2.36 are 0x6969190.., 0x6969180.. and 0x69691b0..:
# a block there was kept alive by them (README.md). Natively no heap is mapped below 4 GiB,
# so the word is no pointer; from 4 GiB up, under Valgrind neither (the executable stays at
# 0x108000, its data below any heap block).
MEMCHECK_MINADDR = "0x100000000"


def valgrind():
    launcher = shutil.which("valgrind")
    direct = os.path.join(os.path.dirname(os.path.realpath(launcher)), "valgrind.bin")
    return [direct if os.path.exists(direct) else launcher, "--tool=memcheck",
            "--aspace-minaddr=" + MEMCHECK_MINADDR,
            "--leak-check=full", "--show-leak-kinds=all", "--trace-children=no"]


# The environment of each tool's run (None: the driver's own), set by equal_environments().
ENV = {"leakgraph": None, "memcheck": None}

# What the tools set in the program's environment: leakgraph run the first two and LD_PRELOAD
# (the shim first), Valgrind LD_PRELOAD (its preloads first). An existing variable is replaced
# in place, a new one is appended; an empty entry in LD_PRELOAD is skipped by the loader.
TOOL_VARIABLES = (b"LD_PRELOAD", b"LEAKGRAPH_SESSION", b"LEAKGRAPH_COLLECTOR")


def seen_environment(cmd, env):
    """The environment (a list of (name, value), in order) of `env -0` run by cmd (a tool's
    command line up to its program) with the environment env."""
    r = subprocess.run(cmd + ["env", "-0"], env=env, capture_output=True, timeout=300)
    return [tuple(v.split(b"=", 1)) for v in r.stdout.split(b"\0") if b"=" in v]


def memcheck_preload(tmp, probe):
    """Valgrind's LD_PRELOAD before the given one: (its prefix, and any other variable it
    changes as {name: value}). Its run costs a second per test, so it is kept in
    --progs/memcheck-env.json (where the driver has --progs) and measured again only when
    Valgrind's command or the driver's own values of what it changes have changed."""
    cmd = valgrind() + ["--log-file=" + os.path.join(tmp, "env.vg")]
    st = os.stat(cmd[0])
    key = [cmd[0], st.st_mtime_ns, st.st_size]
    cache = os.path.join(A.progs, "memcheck-env.json") if A.progs else None
    if cache and os.path.exists(cache):
        try:
            with open(cache) as f:
                c = json.load(f)
            if c["key"] == key and all(os.environ.get(k) == v for k, v in c["mine"].items()):
                return os.fsencode(c["prefix"]), {os.fsencode(k): os.fsencode(v)
                                                  for k, v in c["other"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            pass  # measured again below
    seen = dict(seen_environment(cmd, probe))
    given = probe[b"LD_PRELOAD"]
    prefix = seen.get(b"LD_PRELOAD", b"")[:-len(given)]
    other = {k: v for k, v in seen.items() if k not in TOOL_VARIABLES and probe.get(k) != v}
    if cache:
        c = {"key": key, "prefix": os.fsdecode(prefix),
             "mine": {os.fsdecode(k): os.environ.get(os.fsdecode(k)) for k in other},
             "other": {os.fsdecode(k): os.fsdecode(v) for k, v in other.items()}}
        part = "%s.%d" % (cache, os.getpid())  # tests run in parallel: replaced whole
        with open(part, "w") as f:
            json.dump(c, f)
        os.replace(part, cache)
    return prefix, other


def equal_environments(tmp):
    """Programs that copy their environment (shells, make, gawk's ENVIRON, Tcl's env array,
    gdb) allocate a block or more per variable, sized by its length, and grow buffers in the
    order the variables come: Memcheck's own answer changes with the environment. So the
    program gets the same environment under both tools, up to the values the tools set, and
    those of the same lengths at the same places:
      - both runs get the driver's environment (less the tools' variables and
        LEAKGRAPH_OUTPUT; LEAKGRAPH_SCRUB_MAX and the like stay) followed
        by LD_PRELOAD, LEAKGRAPH_SESSION and LEAKGRAPH_COLLECTOR, so that each tool replaces
        its own in place; under Memcheck the last two stay inert, as long as leakgraph's;
      - LD_PRELOAD's given value is colons, as many as make the shim's path and Valgrind's
        two preloads the same length once the tool has put its own first.
    A variable a tool adds beyond these (none measured with valgrind.bin) gets an inert
    counterpart of the same lengths in the other tool's run, at the end. Measured, not
    assumed: `env -0` runs under each tool first."""
    base = [(k, v) for k, v in os.environb.items()
            if k not in TOOL_VARIABLES + (b"LEAKGRAPH_OUTPUT",)]  # run unsets the last
    probe = dict(base + [(b"LD_PRELOAD", b":"), (b"LEAKGRAPH_SESSION", b"x"),
                         (b"LEAKGRAPH_COLLECTOR", b"x")])
    lgrun = [A.lg, "run", "--quiet", "--output", os.path.join(tmp, "env.lgt"), "--"]
    lg_seen = seen_environment(lgrun, probe)
    lg = dict(lg_seen)
    vg_prefix, vg_other = memcheck_preload(tmp, probe)
    lg_prefix = lg.get(b"LD_PRELOAD", b"")[:-1]
    lg_other = {k: v for k, v in lg.items() if k not in TOOL_VARIABLES and probe.get(k) != v}

    def pads(added, tag):
        out = []
        for i, (k, v) in enumerate(sorted(added.items())):
            name = (b"LGPAD%s%d" % (tag, i)).ljust(len(k), b"_")
            check(len(name) == len(k), "no pad variable as short as %s" % k)
            out.append((name, b"x" * len(v)))
        return out
    inert = {k: b"x" * len(lg.get(k, b"")) for k in TOOL_VARIABLES[1:]}
    ENV["leakgraph"] = dict(base + [(b"LD_PRELOAD", b":" * (1 + max(0, len(vg_prefix) - len(lg_prefix))))] +
                            list(inert.items()) + pads(vg_other, b"V"))
    ENV["memcheck"] = dict(base + [(b"LD_PRELOAD", b":" * (1 + max(0, len(lg_prefix) - len(vg_prefix))))] +
                           list(inert.items()) + pads(lg_other, b"L"))


def leakgraph_totals(cmd):
    """cmd run under leakgraph in a new temporary directory: (its JSON report, or None if there
    is none with a leak check, and that directory)."""
    tmp, out, r = lgdriver.run_fresh(cmd, quiet=True, errors="replace", env=ENV["leakgraph"])
    d = lgdriver.report(out, note=r.stderr)
    if d is None:
        return None, tmp
    if not check(d["program"].get("check") is not None, "no leak check in the trace: %s" % r.stderr):
        return None, tmp
    return d, tmp


def memcheck_totals(cmd, tmp):
    log = os.path.join(tmp, "vg.log")
    r = subprocess.run(valgrind() + ["--log-file=" + log] + cmd, env=ENV["memcheck"],
                       capture_output=True, text=True, errors="replace", timeout=900)
    text = open(log).read()
    # A forked child stays under Memcheck and writes its own summary to the same log: keep the
    # lines of the process that was started (the pid on the log's first line).
    root = re.match(r"==(\d+)==", text)
    if root:
        text = "\n".join(l for l in text.splitlines() if l.startswith("==%s==" % root.group(1)))
    tot = {k: (0, 0) for k in KINDS}
    names = {"definitely lost": "definite", "indirectly lost": "indirect",
             "possibly lost": "possible", "still reachable": "reachable"}
    for label, kind in names.items():
        m = re.search(label + r": ([\d,]+) bytes in ([\d,]+) blocks", text)
        if m:
            tot[kind] = (int(m.group(1).replace(",", "")), int(m.group(2).replace(",", "")))
    if "All heap blocks were freed" in text:
        tot = {k: (0, 0) for k in KINDS}
    return tot, r.returncode, text


def ldd_paths(path):
    """The real paths of the libraries `ldd path` lists."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    return {os.path.realpath(p) for p in re.findall(r"=> (/\S+)", out)}


def leakgraph_tls_modules(program=None):
    """TLS segments leakgraph brings into the traced process: the shim and those of its
    libraries that the program does not load itself (gdb loads libdw and libelf too)."""
    shim = lgdriver.shim()
    own = ldd_paths(program) if program and os.path.exists(program) else set()
    libs = [shim] + sorted(ldd_paths(shim) - own)
    n = 0
    for lib in libs:
        if os.path.basename(lib).startswith(("libc.so", "ld-linux", "libm.so")):
            continue  # the program loads these itself
        ph = subprocess.run(["readelf", "-lW", lib], capture_output=True, text=True).stdout
        n += len(re.findall(r"^\s+TLS\s", ph, re.M))
    return n


def totals(d):
    return {k: (d["summary"][k]["bytes"], d["summary"][k]["blocks"]) for k in KINDS}


def dtv_bytes(d, name, program, quiet=False):
    """Known and exact difference: glibc sizes each thread's DTV by the number of loaded
    modules with TLS, and leakgraph's shim (and libunwind) add some: 16 bytes each, in every
    live thread but main (whose DTV is not a heap block). Those DTVs are possibly lost in
    both; this is what Memcheck's possibly lost must grow by to compare with the run d."""
    threads = max(0, d["program"]["check"]["threads"] - 1)
    dtv = 16 * leakgraph_tls_modules(shutil.which(program)) * threads
    if dtv and not quiet:
        print("%s: leakgraph's TLS enlarges %d thread DTV(s) by %d bytes in all" %
              (name, threads, dtv))
    return dtv


def vg_with_dtv(vg, d, name, program, quiet=False):
    """Memcheck's totals vg as the leakgraph run d must show them (dtv_bytes)."""
    w = dict(vg)
    dtv = dtv_bytes(d, name, program, quiet)
    w["possible"] = (w["possible"][0] + dtv, w["possible"][1])
    return w


def compare_with_memcheck(runs, cmd, tmp, name):
    """Every leakgraph run in runs (JSON reports of the same command) against Memcheck's
    totals (A.memcheck_runs runs of it, which must agree), and the runs' cycle counts
    against each other."""
    vgs = [memcheck_totals(cmd, tmp)[0] for _ in range(A.memcheck_runs)]
    for i, other in enumerate(vgs[1:], 2):
        check(other == vgs[0], "%s: Memcheck's run %d differs from its run 1: %s, %s" %
              (name, i, other, vgs[0]))
    vg = vgs[0]
    # --memcheck-retries N: Memcheck's own answer varies between runs of this program (see the
    # test's comment in CMakeLists.txt); up to N more Memcheck runs, until one gives leakgraph's.
    for extra in range(A.memcheck_retries):
        if all(totals(d) == vg_with_dtv(vg, d, name, cmd[0], quiet=True) for d in runs):
            break
        print("%s: Memcheck's run %d: %s; running it again (--memcheck-retries)" %
              (name, extra + 1, vg))
        vg = memcheck_totals(cmd, tmp)[0]
    head = ["leakgraph %d" % i for i in range(1, len(runs) + 1)] if len(runs) > 1 else ["leakgraph"]
    print("%-20s %-10s" % (name, "kind") + "".join("%18s" % h for h in head + ["memcheck"]))
    want = [vg_with_dtv(vg, d, name, cmd[0]) for d in runs]
    ours = [totals(d) for d in runs]
    for k in KINDS:
        mark = "" if all(o[k] == w[k] for o, w in zip(ours, want)) else "   <-- differs"
        print("%-20s %-10s" % ("", k) + "".join("%18s" % ("%d/%d" % o[k]) for o in ours) +
              "%18s%s" % ("%d/%d" % vg[k], mark))
    cycles = [d["summary"]["cycles"]["count"] for d in runs]
    print("%-20s %-10s" % ("", "cycles") + "".join("%18d" % c for c in cycles))
    for i, (o, w) in enumerate(zip(ours, want), 1):
        run = " (run %d of %d)" % (i, len(runs)) if len(runs) > 1 else ""
        for k in KINDS:
            if k == "reachable" and A.not_reachable:
                continue
            check(o[k] == w[k], "%s %s%s: leakgraph %d bytes/%d blocks, memcheck %d/%d" %
                  (name, k, run, o[k][0], o[k][1], w[k][0], w[k][1]))
    if A.not_reachable:
        print("%s: still reachable not compared: %s" % (name, A.not_reachable))
    check(len(set(cycles)) == 1, "%s: the number of cycles differs between leakgraph's runs: %s" %
          (name, cycles))


def leakgraph_runs(cmd):
    """cmd run under leakgraph once, or A.runs times for a Memcheck comparison: (the JSON
    reports, or None if one run has none, and the first run's directory)."""
    if A.memcheck:
        equal_environments(lgdriver.tmpdir())
    runs, first = [], None
    for _ in range(A.runs if A.memcheck else 1):
        d, tmp = leakgraph_totals(cmd)
        first = first or tmp
        if d is None:
            return None, first
        runs.append(d)
    return runs, first


def t_real():
    """memcheck_real_*: a real program (--command -- PROGRAM ARGS), the same totals as Memcheck
    in each run."""
    cmd = [x for x in A.rest if x != "--"]
    if not shutil.which(cmd[0]):
        raise lgdriver.Skip("%s is not installed" % cmd[0])
    runs, tmp = leakgraph_runs(cmd)
    if runs:
        compare_with_memcheck(runs, cmd, tmp, os.path.basename(cmd[0]))


def rust_program(src):
    """--rust: the scenario's source compiled by rustc -g (from PATH) into a new temporary
    directory; None if it does not compile."""
    rustc = shutil.which("rustc")
    if not rustc:
        raise lgdriver.Skip("no rustc")
    out = os.path.join(lgdriver.tmpdir(), os.path.basename(src)[:-3])
    r = subprocess.run([rustc, "-g", "-o", out, src], capture_output=True, text=True,
                       errors="replace", timeout=600)
    return out if check(r.returncode == 0, "rustc %s: %s" % (src, r.stderr)) else None


def t_scenario():
    """leakcheck_<name>: the totals progs/<name>.c (--rust: .rs) states; memcheck_<name>
    (--memcheck): those in each run, and the same totals as Memcheck."""
    name = A.rest[0]
    src = os.path.join(A.src, name + (".rs" if A.rust else ".c"))
    program = rust_program(src) if A.rust else lgdriver.prog(name)
    if not program:
        return
    cmd = [program] + A.rest[1:]
    runs, tmp = leakgraph_runs(cmd)
    if not runs:
        return
    exp = expectations(src)
    for i, d in enumerate(runs, 1):
        run = " (run %d of %d)" % (i, len(runs)) if len(runs) > 1 else ""
        for k in KINDS:
            op, b, n = exp[k]
            got = d["summary"][k]
            if op == "=":
                check(got["bytes"] == b and got["blocks"] == n,
                      "%s %s%s: %s, want %d bytes in %d blocks" % (name, k, run, got, b, n))
            else:
                check(got["bytes"] >= b and got["blocks"] >= n,
                      "%s %s%s: %s, want at least %d bytes in %d blocks" % (name, k, run, got, b, n))
        check(d["summary"]["cycles"]["count"] == exp["cycles"][1],
              "%s cycles%s: %s, want %d" % (name, run, d["summary"]["cycles"], exp["cycles"][1]))
        if "keeps" in exp:  # keeps=B/N: what the cycles keep alive, summed over the cycles
            kb = sum(c["keeps"]["bytes"] for c in d["cycles"])
            kn = sum(c["keeps"]["blocks"] for c in d["cycles"])
            check((kb, kn) == exp["keeps"][1:],
                  "%s keeps%s: %d bytes in %d blocks, want %d in %d" %
                  (name, run, kb, kn, exp["keeps"][1], exp["keeps"][2]))
    if "edges" in exp:  # edges<=N: the first run's snapshot edges, as `leakgraph dump` counts
        m = re.search(r"^# snapshot .*\bedges=(\d+)", lgdriver.dump(os.path.join(tmp, "t.lgt")),
                      re.M)
        if check(m is not None, "%s: no snapshot in the dump" % name):
            check(int(m.group(1)) <= exp["edges"][1], "%s: %s edges in the snapshot, want at most %d"
                  % (name, m.group(1), exp["edges"][1]))
    if A.memcheck:
        compare_with_memcheck(runs, cmd, tmp, name)


def text_report(trace, *opts):
    r = lgdriver.leakgraph("report", *opts, trace)
    check(r.returncode == 0, "report %s failed: %s" % (list(opts), r.stderr))
    return r.stdout


def t_text_caps():
    """leakcheck_text_caps: the text report stays short at any size (issue #14). A 2000-member
    cycle (shuffled_dlist 2000) shows its first 20 members and "... and 1,980 more members";
    500 two-node cycles (two_cycles 500) show the first 200 cycle records and "... and 300
    more cycles" with their totals; --max-members=0 / --max-records=0 and --full show all."""
    tmp, out, r = lgdriver.run_fresh([lgdriver.prog("shuffled_dlist"), "2000"], quiet=True)
    text = text_report(out)
    lines = text.count("\n")
    check(lines < 200, "a 2000-member cycle printed %d lines" % lines)
    check(text.count(" bytes, indirectly lost, allocated") + text.count(", definitely lost, "
          "allocated") == 20, "want 20 members shown:\n%s" % text)
    check("... and 1,980 more members (31,680 bytes; --max-members=0 shows them all)" in text,
          "no member count:\n%s" % text)
    check("... and 3,978 more pointers" in text, "no pointer count:\n%s" % text)  # 2 (n - 1)
    for opts in (["--max-members=0"], ["--full"]):
        full = text_report(out, *opts)
        check("#2000: 0x" in full and "more members" not in full,
              "%s: not every member shown" % opts)
    tmp, out, r = lgdriver.run_fresh([lgdriver.prog("two_cycles"), "500"], quiet=True)
    text = text_report(out)
    check(text.count("form an unreachable cycle") == 200, "want 200 cycle records shown")
    check("... and 300 more cycles: 9,600 bytes in 600 blocks (--max-records=0 shows them all)"
          in text, "no cycle count:\n%s" % text[-3000:])
    lines = text.count("\n")
    check(lines < 4000, "500 cycles printed %d lines" % lines)  # 200 records of 2 stacks
    for opts in (["--max-records=0"], ["--full"]):
        full = text_report(out, *opts)
        check(full.count("form an unreachable cycle") == 500 and "more cycles" not in full,
              "%s: not every cycle shown" % opts)


def case():
    if A.text_caps:
        return t_text_caps()
    if A.memcheck and not shutil.which("valgrind"):
        raise lgdriver.Skip("valgrind is not installed")
    return t_real() if A.command else t_scenario()


if __name__ == "__main__":
    p = lgdriver.parser(__doc__, "--progs", "--src", required=False)  # not with --command
    p.add_argument("--memcheck", action="store_true")
    p.add_argument("--runs", type=int, default=3, help="leakgraph runs in a Memcheck comparison")
    p.add_argument("--memcheck-runs", type=int, default=1, help="Memcheck runs (must agree)")
    p.add_argument("--memcheck-retries", type=int, default=0,
                   help="more Memcheck runs while its answer differs from leakgraph's")
    p.add_argument("--command", action="store_true")
    p.add_argument("--rust", action="store_true")
    p.add_argument("--text-caps", action="store_true", help="the text report's caps (no program)")
    p.add_argument("--not-reachable", metavar="WHY", default="",
                   help="compare definite, indirect and possible only: WHY still reachable "
                        "differs (the program behaves differently under Valgrind)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    sys.exit(lgdriver.main(p, case))
