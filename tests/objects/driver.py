#!/usr/bin/env python3
"""Runtime-object analysis tests (label objects). This driver owns the objects_ test cases
(test_<mode>, picked by the mode flag) and their expectations (EXPECT, the marker texts of the
demos' lines). The scaffolding (command line, running leakgraph, temporary directories,
reading reports, check/fail, the verdict) is tests/lib/lgdriver.py; it must not be copied here.

Each seed-bug demo of demo/rc_*.c runs under
`leakgraph run`; the driver reads `leakgraph report --format json` and asserts the exact cycles
(member types, edge labels, why), the exact number of unexplained references, and the function
and line blamed; the fixed build of each demo must report nothing. Lines are found in the demo's
source by the text on them, so editing a demo does not silently break the expectations.

Usage: driver.py --bin BINDIR --demos DIR --src DIR DEMO [--fixed]
       driver.py --bin BINDIR --demos DIR --src DIR --graph DEMO   (leakgraph graph)
       driver.py --bin BINDIR --demos DIR --src DIR --check DEMO   (leakgraph check gates)
       driver.py --bin BINDIR --demos DIR --src DIR --counts DEMO  (LEAKGRAPH_RC_STACK_DEPTH=0)
       driver.py --bin BINDIR --demos DIR --src DIR --types EXE    (progs/many_types.c)
       driver.py --bin BINDIR --demos DIR --src DIR --self EXE     (preloaded by hand)
"""
import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lgdriver
from lgdriver import A, check, expect_exit, leakgraph, line_of


# Per demo: the cycles (path text, why, count, member types, allocation function and the
# source text on the allocation line), and the refcount leaks (type, unexplained per object,
# number of objects) and the blamed call site (function, source text on the line, count).
EXPECT = {
    "cycle_disabled": {
        "cycles": [("Node@1 .next -> Node@2 .next -> Node@1", "collector-disabled", 400,
                    ["Node", "Node"], "make_pair", "rc_object_t *a = rc_instance_new(Node)", 0)],
        "refcount": None,
    },
    "self_ref": {
        "cycles": [("Entry@1 .self -> Entry@1", "no-collection", 1, ["Entry"], "cache_entry",
                    "rc_object_t *e = rc_instance_new(Entry)", 1)],
        "refcount": None,
    },
    "finalizer_cycle": {
        "cycles": [("Resource@1 .peer -> Resource@2 .peer -> Resource@1", "garbage-list", 1,
                    ["Resource", "Resource"], "open_pair",
                    "rc_object_t *a = rc_instance_new(Resource)", 0)],
        "refcount": None,
    },
    "forgot_decref": {
        "cycles": [],
        "refcount": ("Session", 1, 3, "remember", "the bug: rc_list_append below", 3),
    },
    "traverse_skip": {
        "cycles": [("Pair@1 .first -> Pair@2 +24 (not reported by traverse) -> Pair@1",
                    "hidden-reference", 1, ["Pair", "Pair"], "pair_new",
                    "return rc_object_new(&Pair, 0)", 0)],
        "refcount": None,
    },
}


def asan_env():
    """Sanitizer builds: the shim is preloaded ahead of the ASan runtime, and the demos leak on
    purpose (LeakSanitizer would change their exit status)."""
    return {"ASAN_OPTIONS": "verify_asan_link_order=0:detect_leaks=0:" +
                            os.environ.get("ASAN_OPTIONS", "")}


def run_exe(exe, out, rc_depth=None, args=()):
    """Runs the program exe (with args) under leakgraph into the trace out; it must exit 0."""
    env = dict(os.environ, **asan_env())
    if rc_depth is not None:
        env["LEAKGRAPH_RC_STACK_DEPTH"] = str(rc_depth)
    expect_exit(lgdriver.run([exe, *args], out, quiet=True, errors="replace", env=env), 0, exe)


def run_demo(a, demo, tmp, rc_depth=None, name="t.lgt"):
    out = os.path.join(tmp, name)
    run_exe(os.path.join(a.demos, "rc_" + demo), out, rc_depth)
    return out


def report(a, trace):
    """The JSON and the text report of trace; the test stops if there is no JSON report."""
    doc = lgdriver.report(trace)
    if doc is None:
        sys.exit(1)
    text = leakgraph("report", trace)
    check(text.returncode == 0, "text report failed: %s" % text.stderr)
    return doc, text.stdout


def frames_have(stack, fn, src, line):
    return any(f["function"] == fn and (f["file"] or "").endswith(os.path.basename(src))
               and f["line"] == line for f in stack)


def test_bug(a, demo, doc, text):
    exp = EXPECT[demo]
    src = os.path.join(a.src, "rc_%s.c" % demo)
    objs = doc["objects"]
    got = [(c["text"], c["why"], c["count"]) for c in objs["cycles"]]
    want = [(c[0], c[1], c[2]) for c in exp["cycles"]]
    check(got == want, "%s: cycles %r, expected %r" % (demo, got, want))
    for c, e in zip(objs["cycles"], exp["cycles"]):
        types = [m["type"] for m in c["members"]]
        check(types == e[3], "%s: member types %r, expected %r" % (demo, types, e[3]))
        line = line_of(src, e[5])
        for m in c["members"]:
            check(frames_have(m["stack"], e[4], src, line),
                  "%s: member not allocated in %s at line %d: %r" % (demo, e[4], line,
                  [(f["function"], f["line"]) for f in m["stack"]]))
        check(c["keeps"]["objects"] == e[6], "%s: keeps %r objects, expected %d" %
              (demo, c["keeps"]["objects"], e[6]))
        check(c["path"] and c["path"][0]["from"] == 0, "%s: the path starts at member 1" % demo)
        check(e[0] in text, "%s: text report lacks the cycle %r" % (demo, e[0]))
    s = doc["summary"]
    ncy = sum(c[2] for c in exp["cycles"])
    check(s["object_cycles"]["count"] == ncy, "%s: summary object_cycles %r, expected %d" %
          (demo, s["object_cycles"], ncy))
    kinds = [l["kind"] for l in doc["leaks"] if l.get("runtime")]
    if exp["refcount"] is None:
        check(objs["refcount"] == [], "%s: unexpected refcount leaks %r" % (demo, objs["refcount"]))
        check(objs["missing_decrefs"] == [], "%s: unexpected missing decrefs" % demo)
        check(kinds == ["cycle"] * len(exp["cycles"]), "%s: object records %r" % (demo, kinds))
        return
    typ, per, nobj, fn, marker, count = exp["refcount"]
    line = line_of(src, marker)
    rc = objs["refcount"]
    check(len(rc) == nobj, "%s: %d refcount-leaked objects, expected %d" % (demo, len(rc), nobj))
    for r in rc:
        check(r["object"]["type"] == typ, "%s: leaked type %s" % (demo, r["object"]["type"]))
        check(r["unexplained"] == per, "%s: %d unexplained, expected %d" % (demo, r["unexplained"], per))
        blamed = [h for h in r["history"] if h["blamed"]]
        check(len(blamed) == per, "%s: %d blamed events, expected %d" % (demo, len(blamed), per))
        check(all(h["site"] and h["site"]["function"] == fn and h["site"]["line"] == line
                  for h in blamed), "%s: blamed %r, expected %s:%d" %
              (demo, [h["site"] for h in blamed], fn, line))
        check(r["history"][0]["event"] == "alloc" and r["history_complete"],
              "%s: history does not start with the allocation" % demo)
    md = objs["missing_decrefs"]
    check(len(md) == 1 and md[0]["site"]["function"] == fn and md[0]["site"]["line"] == line
          and md[0]["references"] == count and md[0]["objects"] == nobj,
          "%s: missing decrefs %r, expected %s line %d x%d" % (demo, md, fn, line, count))
    check(doc["summary"]["refcount"]["unexplained"] == per * nobj,
          "%s: summary refcount %r" % (demo, doc["summary"]["refcount"]))
    want_text = "%s (%s:%d)" % (fn, os.path.basename(src), line)
    check("MISSING DECREFS" in text and want_text in text, "%s: text lacks %s" % (demo, want_text))
    check(kinds == ["refcount"], "%s: object records %r" % (demo, kinds))


def test_fixed(a, demo, doc, text):
    objs = doc["objects"]
    check(objs["cycles"] == [] and objs["refcount"] == [] and objs["missing_decrefs"] == [],
          "%s (fixed): reports %r" % (demo, {k: objs[k] for k in ("cycles", "refcount")}))
    s = doc["summary"]
    check(s["object_cycles"]["count"] == 0 and s["refcount"]["objects"] == 0,
          "%s (fixed): summary %r %r" % (demo, s["object_cycles"], s["refcount"]))
    check(not [l for l in doc["leaks"] if l.get("runtime")], "%s (fixed): object records" % demo)
    col = objs["collector"]
    check(len(col) == 1 and col[0]["runtime"] == "rcrt", "%s (fixed): collector %r" % (demo, col))


def test_graph(a, demo, trace, tmp):
    dot = os.path.join(tmp, "g.dot")
    r = leakgraph("graph", "--output", dot, trace)
    if not check(r.returncode == 0, "graph failed: %s" % r.stderr):
        return
    g = open(dot).read()
    check(g.startswith("digraph leakgraph {") and g.rstrip().endswith("}"), "not a digraph")
    if demo == "traverse_skip":
        check('label=".first"' in g and "style=dashed,color=red" in g and "+24 (not reported" in g,
              "traverse_skip graph lacks its edges:\n" + g)
    if demo == "forgot_decref":
        check(g.count("subgraph cluster_") == 1 and "unexplained x1" in g, "forgot_decref graph:\n" + g)
    if demo == "cycle_disabled":
        check('label=".next"' in g and "(x400)" in g, "cycle_disabled graph:\n" + g)
    if os.path.exists("/usr/bin/dot") or any(os.path.exists(os.path.join(p, "dot"))
                                             for p in os.environ.get("PATH", "").split(":")):
        svg = dot[:-4] + ".svg"
        check(os.path.exists(svg) and "<svg" in open(svg).read(), "no SVG written")


def test_counts(a, demo, tmp):
    """Counts only (LEAKGRAPH_RC_STACK_DEPTH=0): the same unexplained references, but nothing
    is blamed (the allocation must not be taken for the missing decref), the report says why,
    and the counted totals equal the increfs and decrefs that a run with stacks records."""
    exp = EXPECT[demo]["refcount"]
    doc, text = report(a, run_demo(a, demo, tmp, rc_depth=0, name="counts.lgt"))
    objs = doc["objects"]
    rc = objs["refcount"]
    check(len(rc) == exp[2] and all(r["unexplained"] == exp[1] for r in rc),
          "%s (counts): refcount %r" % (demo, [(r["object"]["type"], r["unexplained"]) for r in rc]))
    check(all(not h["blamed"] and h["event"] == "alloc" for r in rc for h in r["history"]),
          "%s (counts): histories %r" % (demo, [r["history"] for r in rc]))
    check(objs["missing_decrefs"] == [], "%s (counts): blamed %r" % (demo, objs["missing_decrefs"]))
    check("MISSING DECREFS: not known" in text and "counted, not recorded" in text,
          "%s (counts): the text does not say why nothing is blamed" % demo)
    col = objs["collector"][0]
    recorded = run_demo(a, demo, tmp, name="stacks.lgt")
    kinds = [l.split()[1] for l in lgdriver.dump(recorded).splitlines() if len(l.split()) > 1]
    inc, dec = kinds.count("incref"), kinds.count("decref")
    check(inc > 0 and dec > 0, "%s: the run with stacks recorded %d increfs, %d decrefs" % (demo, inc, dec))
    check(col["refcount_events"] == "counted" and col["increfs_counted"] == inc and
          col["decrefs_counted"] == dec, "%s (counts): counted %r, recorded %d increfs %d decrefs" %
          (demo, {k: col[k] for k in ("refcount_events", "increfs_counted", "decrefs_counted")}, inc, dec))


def test_many_types(a, exe, tmp):
    """More runtime types than fit the shim's old per-stream table: every one keeps its name."""
    out = os.path.join(tmp, "types.lgt")
    run_exe(exe, out)
    doc, _ = report(a, out)
    cycles = doc["objects"]["cycles"]
    got = sorted(c["text"] for c in cycles)
    want = sorted("T%d@1 .self -> T%d@1" % (i, i) for i in range(300))
    check(got == want, "%d cycle records, %d expected; not expected: %r" %
          (len(got), len(want), sorted(set(got) - set(want))[:5]))
    # 300 containers stay below the collector's threshold (700): no collection was due
    check(all(c["count"] == 1 and c["why"] == "no-collection" for c in cycles),
          "cycles: %r" % sorted({(c["count"], c["why"]) for c in cycles}))


def test_gate(a, demo, tmp):
    """leakgraph check: the default policy (cycle and refcount included) fails on the bug
    (exit 1) and passes on the fix (exit 0); the record's kind is named."""
    for fixed in (False, True):
        trace = run_demo(a, demo + ("_fixed" if fixed else ""), tmp)
        r = leakgraph("check", trace)
        kind = "refcount" if EXPECT[demo]["refcount"] else "cycle"
        if fixed:
            check(r.returncode == 0, "%s_fixed: check exit %d\n%s" % (demo, r.returncode, r.stdout))
        else:
            check(r.returncode == 1 and kind in r.stdout, "%s: check exit %d, no %s in\n%s" %
                  (demo, r.returncode, kind, r.stdout))
        os.unlink(trace)


def objects_view(doc):
    """What a report says about runtime objects, without addresses, pids or timings."""
    o = doc["objects"]
    def site(x):
        return x and (x["function"], x["line"])
    return {
        "cycles": [(c["text"], c["why"], c["count"], [m["type"] for m in c["members"]],
                    c["keeps"]) for c in o["cycles"]],
        "refcount": [(r["unexplained"], {k: v for k, v in r["object"].items()
                                         if k not in ("address", "stack")},
                      [(h["event"], h["refcount"], h["blamed"], site(h["site"]))
                       for h in r["history"]]) for r in o["refcount"]],
        "missing_decrefs": [(site(m["site"]), m["references"], m["objects"])
                            for m in o["missing_decrefs"]],
        "collector": [(c["runtime"], c["objects_walked"], c["holders_scanned"])
                      for c in o["collector"]],
        "records": [(l["kind"], l["bytes"], l["blocks"]) for l in doc["leaks"] if l.get("runtime")],
        "summary": {k: doc["summary"][k] for k in ("object_cycles", "refcount", "definite")},
    }


def test_self(a, exe, tmp):
    """Preloaded by hand (LD_PRELOAD, LEAKGRAPH_OUTPUT: the check is the `leakgraph __collect` the shim starts),
    the program's runtime objects are reported exactly as under `leakgraph run`: the same
    holders scanned, the same cycles, refcount leaks and records."""
    ran = os.path.join(tmp, "run.lgt")
    run_exe(exe, ran)
    own = os.path.join(tmp, "self.lgt")
    r = lgdriver.preloaded([exe], own, env=asan_env(), timeout=300, capture_output=True,
                           text=True, errors="replace")
    expect_exit(r, 0, exe + " (by hand)")
    (doc_run, _), (doc_self, text_self) = report(a, ran), report(a, own)
    want, got = objects_view(doc_run), objects_view(doc_self)
    for k in want:
        check(got[k] == want[k], "by hand, %s: %r\nunder leakgraph run: %r" % (k, got[k], want[k]))
    check(all(c["holders_scanned"] for c in doc_self["objects"]["collector"]),
          "by hand: holders not scanned")
    name = os.path.basename(exe)
    if name.startswith("rc_") and name[3:] in EXPECT:
        test_bug(a, name[3:], doc_self, text_self)
    elif name == "objects_held":  # progs/held.c: Config and Cached are held, Orphan is not
        rc = [(x["object"]["type"], x["unexplained"]) for x in doc_self["objects"]["refcount"]]
        check(rc == [("Orphan", 1)], "held.c by hand: refcount leaks %r, expected Orphan x1" % rc)


def test_many_cycles(a, exe, n, tmp):
    """demo/rc_cycle_disabled.c N: exactly N uncollected cycles of two Node objects, in one
    group (issue #14: 20k took 4.8 s to report, the cycle passes were quadratic)."""
    trace = os.path.join(tmp, "many.lgt")
    run_exe(exe, trace, args=[str(n)])
    doc, text = report(a, trace)
    s = doc["summary"]["object_cycles"]
    check(s["count"] == n and s["objects"] == 2 * n,
          "many_cycles %d: object_cycles %s, want %d cycles of 2 objects" % (n, s, n))
    groups = doc["objects"]["cycles"]
    check(len(groups) == 1 and groups[0]["count"] == n and
          [m["type"] for m in groups[0]["members"]] == ["Node", "Node"],
          "many_cycles %d: groups %s" % (n, [(g["count"], g["text"]) for g in groups][:5]))


def case():
    tmp = lgdriver.tmpdir()
    if A.many_cycles:
        test_many_cycles(A, A.demo, A.many_cycles, tmp)
    elif A.check:
        test_gate(A, A.demo, tmp)
    elif A.counts:
        test_counts(A, A.demo, tmp)
    elif A.types:
        test_many_types(A, A.demo, tmp)
    elif A.self:
        test_self(A, A.demo, tmp)
    else:
        trace = run_demo(A, A.demo + ("_fixed" if A.fixed else ""), tmp)
        doc, text = report(A, trace)
        if A.graph:
            test_graph(A, A.demo, trace, tmp)
        elif A.fixed:
            test_fixed(A, A.demo, doc, text)
        else:
            test_bug(A, A.demo, doc, text)


if __name__ == "__main__":
    p = lgdriver.parser(__doc__, "--demos", "--src")
    p.add_argument("--fixed", action="store_true")
    p.add_argument("--graph", action="store_true")
    p.add_argument("--check", action="store_true")
    p.add_argument("--counts", action="store_true")
    p.add_argument("--types", action="store_true")
    p.add_argument("--self", action="store_true")
    p.add_argument("--many-cycles", type=int, default=0)
    p.add_argument("demo")
    sys.exit(lgdriver.main(p, case))
