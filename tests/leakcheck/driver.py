#!/usr/bin/env python3
"""Leak-check scenarios. This driver owns the leakcheck_ and memcheck_ test cases: the EXPECT
totals read from a scenario's source, and the comparison with Valgrind's Memcheck (its log
parsed, the known DTV difference). The scaffolding (command line, running leakgraph, reading
reports, check/fail, the verdict and SKIP) is tests/lib/lgdriver.py; it must not be copied here.

Each program in progs/ states its exact expected totals per kind
(EXPECT definite=B/N indirect=B/N possible=B/N reachable=B/N cycles=K, where reachable>=
means at least: glibc's own thread and loader blocks come on top). The driver runs it under
`leakgraph run`, reads `leakgraph report --format json`, and checks. With --memcheck it also
runs the same program under Valgrind's Memcheck and checks that the four totals are equal.

Usage: driver.py --bin BINDIR --progs DIR --src DIR [--memcheck] SCENARIO [ARGS...]
       driver.py --bin BINDIR --src DIR --rust [--memcheck] SCENARIO   (progs/SCENARIO.rs)
       driver.py --bin BINDIR --memcheck --command -- PROGRAM ARGS...   (a real program)
"""
import argparse, os, re, shutil, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lgdriver
from lgdriver import A, check

KINDS = ("definite", "indirect", "possible", "reachable")


def expectations(src):
    text = open(src).read()
    m = re.search(r"EXPECT(.*?)\*/", text, re.S)
    exp = {}
    for k, op, b, n in re.findall(r"(\w+)(>=|=)(\d+)(?:/(\d+))?", m.group(1)):
        exp[k] = (op, int(b), int(n) if n else None)
    return exp


def leakgraph_totals(cmd):
    """cmd run under leakgraph in a new temporary directory: (its JSON report, or None if there
    is none with a leak check, and that directory)."""
    tmp, out, r = lgdriver.run_fresh(cmd, quiet=True, errors="replace")
    d = lgdriver.report(out, note=r.stderr)
    if d is None:
        return None, tmp
    if not check(d["program"].get("check") is not None, "no leak check in the trace: %s" % r.stderr):
        return None, tmp
    return d, tmp


def memcheck_totals(cmd, tmp):
    log = os.path.join(tmp, "vg.log")
    r = subprocess.run(["valgrind", "--tool=memcheck", "--leak-check=full",
                        "--show-leak-kinds=all", "--trace-children=no", "--log-file=" + log] + cmd,
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


def leakgraph_tls_modules():
    """TLS segments leakgraph brings into the traced process: the shim and its libraries."""
    shim = lgdriver.shim()
    libs = [shim]
    ldd = subprocess.run(["ldd", shim], capture_output=True, text=True).stdout
    libs += re.findall(r"=> (/\S+)", ldd)
    n = 0
    for lib in libs:
        if os.path.basename(lib).startswith(("libc.so", "ld-linux", "libm.so")):
            continue  # the program loads these itself
        ph = subprocess.run(["readelf", "-lW", lib], capture_output=True, text=True).stdout
        n += len(re.findall(r"^\s+TLS\s", ph, re.M))
    return n


def compare_with_memcheck(d, cmd, tmp, name):
    vg, vrc, text = memcheck_totals(cmd, tmp)
    ours = {k: (d["summary"][k]["bytes"], d["summary"][k]["blocks"]) for k in KINDS}
    # Known and exact difference: glibc sizes each thread's DTV by the number of loaded modules
    # with TLS, and leakgraph's shim (and libunwind) add some: 16 bytes each, in every live
    # thread but main (whose DTV is not a heap block). Those DTVs are possibly lost in both.
    threads = max(0, d["program"]["check"]["threads"] - 1)
    dtv = 16 * leakgraph_tls_modules() * threads
    if dtv:
        print("%s: leakgraph's TLS enlarges %d thread DTV(s) by %d bytes in all" % (name, threads, dtv))
        vg["possible"] = (vg["possible"][0] + dtv, vg["possible"][1])
    print("%-20s %-10s %18s %18s" % (name, "kind", "leakgraph", "memcheck"))
    for k in KINDS:
        mark = "" if ours[k] == vg[k] else "   <-- differs"
        print("%-20s %-10s %18s %18s%s" % ("", k, "%d/%d" % ours[k], "%d/%d" % vg[k], mark))
    for k in KINDS:
        check(ours[k] == vg[k], "%s %s: leakgraph %d bytes/%d blocks, memcheck %d/%d" %
              (name, k, ours[k][0], ours[k][1], vg[k][0], vg[k][1]))


def t_real():
    """memcheck_real_*: a real program (--command -- PROGRAM ARGS), the same totals as Memcheck."""
    cmd = [x for x in A.rest if x != "--"]
    if not shutil.which(cmd[0]):
        raise lgdriver.Skip("%s is not installed" % cmd[0])
    d, tmp = leakgraph_totals(cmd)
    if d:
        compare_with_memcheck(d, cmd, tmp, os.path.basename(cmd[0]))


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
    (--memcheck): and the same totals as Memcheck."""
    name = A.rest[0]
    src = os.path.join(A.src, name + (".rs" if A.rust else ".c"))
    program = rust_program(src) if A.rust else lgdriver.prog(name)
    if not program:
        return
    cmd = [program] + A.rest[1:]
    d, tmp = leakgraph_totals(cmd)
    if not d:
        return
    exp = expectations(src)
    for k in KINDS:
        op, b, n = exp[k]
        got = d["summary"][k]
        if op == "=":
            check(got["bytes"] == b and got["blocks"] == n,
                  "%s %s: %s, want %d bytes in %d blocks" % (name, k, got, b, n))
        else:
            check(got["bytes"] >= b and got["blocks"] >= n,
                  "%s %s: %s, want at least %d bytes in %d blocks" % (name, k, got, b, n))
    check(d["summary"]["cycles"]["count"] == exp["cycles"][1],
          "%s cycles: %s, want %d" % (name, d["summary"]["cycles"], exp["cycles"][1]))
    if A.memcheck:
        compare_with_memcheck(d, cmd, tmp, name)


def case():
    if A.memcheck and not shutil.which("valgrind"):
        raise lgdriver.Skip("valgrind is not installed")
    return t_real() if A.command else t_scenario()


if __name__ == "__main__":
    p = lgdriver.parser(__doc__, "--progs", "--src", required=False)  # not with --command
    p.add_argument("--memcheck", action="store_true")
    p.add_argument("--command", action="store_true")
    p.add_argument("--rust", action="store_true")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    sys.exit(lgdriver.main(p, case))
