#!/usr/bin/env python3
"""Leak-check scenarios: each program in progs/ states its exact expected totals per kind
(EXPECT definite=B/N indirect=B/N possible=B/N reachable=B/N cycles=K, where reachable>=
means at least: glibc's own thread and loader blocks come on top). The driver runs it under
`leakgraph run`, reads `leakgraph report --format json`, and checks. With --memcheck it also
runs the same program under Valgrind's Memcheck and checks that the four totals are equal.

Usage: driver.py --bin BINDIR --progs DIR --src DIR [--memcheck] SCENARIO [ARGS...]
       driver.py --bin BINDIR --memcheck --command -- PROGRAM ARGS...   (a real program)
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile

KINDS = ("definite", "indirect", "possible", "reachable")
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)
    return cond


def expectations(src):
    text = open(src).read()
    m = re.search(r"EXPECT(.*?)\*/", text, re.S)
    exp = {}
    for k, op, b, n in re.findall(r"(\w+)(>=|=)(\d+)(?:/(\d+))?", m.group(1)):
        exp[k] = (op, int(b), int(n) if n else None)
    return exp


def leakgraph_totals(lg, cmd, tmp):
    out = os.path.join(tmp, "t.lgt")
    r = subprocess.run([lg, "run", "--quiet", "--output", out, "--"] + cmd,
                       capture_output=True, text=True, errors="replace", timeout=300)
    rep = subprocess.run([lg, "report", "--format", "json", out], capture_output=True, text=True,
                         timeout=300)
    if not check(rep.returncode == 0, "report failed: %s %s" % (rep.stderr, r.stderr)):
        return None, r.returncode
    d = json.loads(rep.stdout)
    if not check(d["program"].get("check") is not None, "no leak check in the trace: %s" % r.stderr):
        return None, r.returncode
    return d, r.returncode


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


def leakgraph_tls_modules(lg_bin):
    """TLS segments leakgraph brings into the traced process: the shim and its libraries."""
    shim = os.path.join(lg_bin, "..", "lib", "libleakgraph.so")
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


def compare_with_memcheck(d, cmd, tmp, name, lg_bin):
    vg, vrc, text = memcheck_totals(cmd, tmp)
    ours = {k: (d["summary"][k]["bytes"], d["summary"][k]["blocks"]) for k in KINDS}
    # Known and exact difference: glibc sizes each thread's DTV by the number of loaded modules
    # with TLS, and leakgraph's shim (and libunwind) add some: 16 bytes each, in every live
    # thread but main (whose DTV is not a heap block). Those DTVs are possibly lost in both.
    threads = max(0, d["program"]["check"]["threads"] - 1)
    dtv = 16 * leakgraph_tls_modules(lg_bin) * threads
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--progs")
    ap.add_argument("--src")
    ap.add_argument("--memcheck", action="store_true")
    ap.add_argument("--command", action="store_true")
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    lg = os.path.join(a.bin, "leakgraph")
    rest = [x for x in a.rest if x != "--"] if a.command else a.rest
    tmp = tempfile.mkdtemp(prefix="lgcheck.")
    if a.memcheck and not shutil.which("valgrind"):
        print("SKIP: valgrind is not installed")
        return 0
    if a.command and not shutil.which(rest[0]):
        print("SKIP: %s is not installed" % rest[0])
        return 0
    if a.command:
        d, rc = leakgraph_totals(lg, rest, tmp)
        if d:
            compare_with_memcheck(d, rest, tmp, os.path.basename(rest[0]), a.bin)
    else:
        name = rest[0]
        cmd = [os.path.join(a.progs, name)] + rest[1:]
        d, rc = leakgraph_totals(lg, cmd, tmp)
        if d:
            exp = expectations(os.path.join(a.src, name + ".c"))
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
            if a.memcheck:
                compare_with_memcheck(d, cmd, tmp, name, a.bin)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
