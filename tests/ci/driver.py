#!/usr/bin/env python3
"""CI gate tests (label ci). This driver owns the ci_ test cases (t_<scenario>, one per CTest
test ci_<scenario>), what they expect, and the helpers only they use (ciprog's builds and SITE
marks, `check --format json` records, the schema and JUnit validators). The scaffolding (command
line, running leakgraph or the shim by hand, temporary directories, a run's traces, check/fail,
exit-code checks, dispatch by name) is tests/lib/lgdriver.py; it must not be copied here.

Real programs run under `leakgraph run`, then `check`, `baseline`, `diff` and
`run --check`, asserting exact exit codes, exact counts hidden by suppression rules, and the
file:line of the leaking frame in SARIF.

progs/ciprog.c leaks on request; each allocation line carries a SITE:<name> mark.
Usage: driver.py --bin BINDIR --progs PROGDIR --src SRCDIR --schema SARIF_SCHEMA
                 [--python PYTHON_WITH_JSONSCHEMA_AND_JUNITPARSER] SCENARIO
"""
import json, os, re, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lgdriver
from lgdriver import A, check, fail, tmpdir, traces
from lgdriver import leakgraph as lg, expect_exit as expect

PASS, LEAKS, USAGE, ERROR, PROGRAM = 0, 1, 2, 3, 4


def prog(v="a"):
    return lgdriver.prog("ciprog_" + v)


def site(name):
    """Line of the SITE:<name> mark in ciprog.c."""
    return lgdriver.line_of(os.path.join(A.src, "ciprog.c"),
                            lambda line: "SITE:%s " % name in line
                            or line.rstrip().endswith("SITE:%s */" % name))


def trace(d, *actions, v="a", name="t.lgt"):
    """Runs ciprog under leakgraph; returns the list of its traces (main first)."""
    out = os.path.join(d, name)
    r = lgdriver.run([prog(v), *actions], out, quiet=True)
    check(os.path.exists(out), "no trace for %s %s: %s" % (v, actions, r.stderr))
    return traces(out)


def check_json(*args):
    r = lg("check", "--format", "json", *args)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        fail("check --format json printed no JSON: %r %r" % (r.stdout[:300], r.stderr))
        return r, {"records": [], "suppressions": [], "processes": []}


def recs(j, status=None, kind=None):
    return [x for x in j["records"] if (status is None or x["status"] == status)
            and (kind is None or x["kind"] == kind)]


def at(rec):
    loc = rec.get("location") or {}
    return loc.get("function"), loc.get("line")


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def helper_python(module):
    """An interpreter that can import `module`: this one, or the one given with --python
    (Debian's python3, where python3-jsonschema and python3-junitparser install)."""
    for py in [sys.executable, A.python]:
        if py and subprocess.run([py, "-c", "import " + module], capture_output=True).returncode == 0:
            return py
    return None


def valid_sarif(name, text):
    """Checks text against the SARIF 2.1.0 schema (--schema); False if it could not be checked
    (no jsonschema) or is not valid."""
    py = helper_python("jsonschema")
    if not py:
        fail("no python3 with jsonschema (scripts/install-deps.sh installs python3-jsonschema)")
        return False
    v = subprocess.run([py, "-c", """
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.loads(sys.stdin.read())
errs = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errs[:10]:
    print("schema error at", list(e.path), e.message[:300])
sys.exit(1 if errs else 0)
""", A.schema], input=text, capture_output=True, text=True)
    return check(v.returncode == 0, "SARIF (%s) is not valid against the 2.1.0 schema:\n%s%s" % (name, v.stdout, v.stderr))


# ---- policies and exit codes ----------------------------------------------------------------

def t_policy():
    d = tmpdir()
    t = trace(d, "definite", "2", "indirect", "possible", "cycle", "reachable")
    # the default policy: definite, indirect, possible, cycle, refcount
    r, j = check_json(*t)
    expect(r, LEAKS, "default policy")
    check(j["version"] == 1 and j["verdict"] == "fail" and j["exit_code"] == 1, "json verdict %s" % j.get("verdict"))
    check(j["policy"] == "definite,indirect,possible,cycle,refcount", "policy text %r" % j["policy"])
    failed = {(x["kind"], x["bytes"], x["blocks"]) for x in recs(j, "failed")}
    want = {("definite", 200, 2), ("definite", 32, 1), ("indirect", 64, 2), ("possible", 64, 1),
            ("definite", 48, 1), ("indirect", 48, 1), ("cycle", 96, 2)}
    check(failed == want, "failed records %s, want %s" % (sorted(failed), sorted(want)))
    check([(x["kind"], x["bytes"]) for x in recs(j, "ignored")] == [("reachable", 128)],
          "ignored: %s" % [(x["kind"], x["bytes"]) for x in recs(j, "ignored")])
    # cycle blocks are counted once (as definite/indirect), not again as a cycle
    s = j["summary"]["failed"]
    check(s == {"records": 7, "bytes": 200 + 32 + 64 + 64 + 48 + 48, "blocks": 8}, "failed summary %s" % s)
    # kinds one at a time
    for pol, code in [("definite", LEAKS), ("indirect", LEAKS), ("possible", LEAKS), ("cycle", LEAKS),
                      ("refcount", PASS), ("reachable", LEAKS), ("none", PASS), ("unfreed", PASS),
                      ("all", LEAKS), ("default", LEAKS)]:
        expect(lg("check", "--policy", pol, *t), code, "policy %s" % pol)
    only_reach = trace(d, "reachable", name="r.lgt")
    expect(lg("check", *only_reach), PASS, "only a reachable block, default policy")
    expect(lg("check", "--policy", "definite,reachable", *only_reach), LEAKS, "reachable named")
    only_possible = trace(d, "possible", name="p.lgt")
    expect(lg("check", "--policy", "definite", *only_possible), PASS, "possible, policy definite")
    expect(lg("check", "--policy", "possible", *only_possible), LEAKS, "possible, policy possible")
    # per-kind limits, at the boundary
    t2 = trace(d, "definite", "3", name="d.lgt")            # 300 bytes in 3 blocks
    for pol, code in [("definite:bytes<=300", PASS), ("definite:bytes<=299", LEAKS),
                      ("definite:blocks<=3", PASS), ("definite:blocks<=2", LEAKS),
                      ("definite:bytes<=1K", PASS), ("definite:bytes<=300:blocks<=2", LEAKS),
                      ("total:bytes<=300", PASS), ("total:bytes<=299", LEAKS),
                      ("total:blocks<=3", PASS), ("total:blocks<=2", LEAKS),
                      ("record:bytes<=300", PASS), ("record:bytes<=299", LEAKS),
                      ("record:blocks<=2", LEAKS), ("definite,record:blocks<=3", PASS)]:
        expect(lg("check", "--policy", pol, *t2), code, "policy %s on 300 bytes in 3 blocks" % pol)
    r, j = check_json("--policy", "definite:bytes<=1000", *t2)
    check([x["status"] for x in j["records"]] == ["tolerated"], "tolerated: %s" % [x["status"] for x in j["records"]])
    # a limited kind next to an unlimited one: the unlimited one fails on any record
    expect(lg("check", "--policy", "definite:bytes<=10000,indirect", *t), LEAKS, "indirect unlimited")
    expect(lg("check", "--policy", "definite:bytes<=10000,indirect:bytes<=112,possible:blocks<=1,cycle:bytes<=96", *t),
           PASS, "every kind within its limit")
    r = lg("check", "--policy", "definite:bytes<=10000,indirect:bytes<=111,possible,cycle", *t)
    expect(r, LEAKS, "indirect over its limit by one byte")
    check("indirect: 112 bytes in 3 blocks, over the limit of 111 bytes" in r.stdout, "violation text: %r" % r.stdout)
    # policy file
    pf = write(d, "policy.txt", "# the CI policy\ndefinite:bytes<=300\n\nrecord:blocks<=3  # per record\n")
    expect(lg("check", "--policy-file", pf, *t2), PASS, "policy file")
    pf2 = write(d, "policy2.txt", "definite:bytes<=299\n")
    expect(lg("check", "--policy-file", pf2, *t2), LEAKS, "policy file, over")


def t_exit_codes():
    d = tmpdir()
    t = trace(d, "definite", "1")
    clean = trace(d, "reachable", name="clean.lgt")
    expect(lg("check", *clean), PASS, "pass")
    expect(lg("check", *t), LEAKS, "leaks")
    # usage
    for args in [["check"], ["check", "--policy", "bogus", t[0]], ["check", "--policy", "definite:bytes<", t[0]],
                 ["check", "--policy", "total", t[0]], ["check", "--format", "xml", t[0]],
                 ["check", "--no-such-option", t[0]], ["check", "--policy-file", os.path.join(d, "none"), t[0]],
                 ["check", "--suppressions", os.path.join(d, "none"), t[0]],
                 ["check", "--baseline", os.path.join(d, "none"), t[0]],
                 ["check", "--baseline", t[0], t[0]],  # a trace is not a baseline
                 ["check", "--check-number", "9", t[0]],
                 ["check", "--policy", "definite", "--policy", "possible", t[0]],
                 ["baseline"], ["diff", t[0]], ["run", "--policy", "definite", "--", prog(), "definite"],
                 ["run", "--check"]]:
        r = lg(*args)
        expect(r, USAGE, "usage: %s" % args)
        check(r.stderr.strip() != "", "usage error without a message: %s" % args)
    bad = write(d, "bad.supp", "rule x\n  frame fun=foo bar\n")
    r = lg("check", "--suppressions", bad, t[0])
    expect(r, USAGE, "bad suppression file")
    check("bad.supp:2" in r.stderr, "suppression error names file:line: %r" % r.stderr)
    # leakgraph's own errors: a missing, a damaged and a cut trace
    r = lg("check", os.path.join(d, "missing.lgt"))
    expect(r, ERROR, "missing trace")
    junk = write(d, "junk.lgt", "this is not a trace\n" * 10)
    expect(lg("check", junk), ERROR, "not a trace")
    expect(lg("check", *clean, junk), ERROR, "a good and a bad trace: never pass on what was not read")
    with open(t[0], "rb") as f:
        data = f.read()
    cut = os.path.join(d, "cut.lgt")
    with open(cut, "wb") as f:
        f.write(data[:12])
    expect(lg("check", cut), ERROR, "cut header")
    # run --check: leaks, pass, and the program's own failure
    r = lg("run", "--check", "--output", os.path.join(d, "r1.lgt"), "--", prog(), "definite", "1")
    expect(r, LEAKS, "run --check with a leak")
    check("FAIL" in r.stderr and "leak_definite" in r.stderr, "run --check summary: %r" % r.stderr)
    check("exited with status 0" in r.stderr, "program status said: %r" % r.stderr)
    r = lg("run", "--check", "--output", os.path.join(d, "r2.lgt"), "--", prog(), "reachable")
    expect(r, PASS, "run --check, no leak")
    check("PASS" in r.stderr, "PASS said: %r" % r.stderr)
    r = lg("run", "--check", "--output", os.path.join(d, "r3.lgt"), "--", prog(), "exit", "3")
    expect(r, PROGRAM, "run --check, the program exits 3")
    check("the program failed: exit status 3" in r.stderr, "status kept visible: %r" % r.stderr)
    r = lg("run", "--check", "--output", os.path.join(d, "r4.lgt"), "--", prog(), "definite", "1", "exit", "3")
    expect(r, PROGRAM, "program failure takes precedence over leaks")
    check("the program failed: exit status 3" in r.stderr and "FAIL" in r.stderr, "both said: %r" % r.stderr)
    r = lg("run", "--check", "--output", os.path.join(d, "r5.lgt"), "--", prog(), "abort")
    expect(r, PROGRAM, "run --check, the program dies by SIGABRT")
    check("status (128 + signal) 134" in r.stderr, "signal status said: %r" % r.stderr)
    r = lg("run", "--check", "--output", os.path.join(d, "r6.lgt"), "--", os.path.join(d, "no-such-program"))
    expect(r, PROGRAM, "run --check, no such program")
    check("did not run" in r.stderr, "message: %r" % r.stderr)
    r = lg("run", "--check", "--output", t[0], "--", prog())
    expect(r, ERROR, "run --check over an existing trace (leakgraph cannot start it)")
    # --check=POLICY does not take the program as its argument; plain run keeps its status
    r = lg("run", "--check=possible", "--output", os.path.join(d, "r7.lgt"), "--", prog(), "definite", "1")
    expect(r, PASS, "run --check=possible on a definite leak")
    check("policy possible" in r.stderr, "policy used: %r" % r.stderr)
    r = lg("run", "--check", "--output", os.path.join(d, "r8.lgt"), prog(), "definite", "1")
    expect(r, LEAKS, "run --check PROG without --")
    r = lg("run", "--quiet", "--output", os.path.join(d, "r9.lgt"), "--", prog(), "definite", "1", "exit", "5")
    expect(r, 5, "run without --check exits with the program's status")
    # without --output, run --check names the trace itself, in the working directory
    r = lg("run", "--check", "--", prog(), "definite", "1", cwd=d)
    expect(r, LEAKS, "run --check without --output")
    check(any(f.startswith("leakgraph.ciprog_a.") for f in os.listdir(d)), "default trace name: %s" % os.listdir(d))


def t_children():
    """A test runner and its children: one verdict over every trace."""
    d = tmpdir()
    t = trace(d, "child", "reachable")
    check(len(t) == 2, "traces: %s" % t)
    expect(lg("check", t[0]), PASS, "the parent alone does not leak")
    r, j = check_json(*t)
    expect(r, LEAKS, "parent and child together")
    check(len(j["processes"]) == 2, "processes %d" % len(j["processes"]))
    check([p["verdict"] for p in j["processes"]] == ["pass", "fail"], "per process: %s" % j["processes"])
    f = recs(j, "failed")
    check(len(f) == 1 and f[0]["bytes"] == 300 and at(f[0]) == ("child_leaks", site("child")),
          "child's record: %s" % [(x["bytes"], at(x)) for x in f])
    out = os.path.join(d, "run.lgt")
    r = lg("run", "--check", "--json", os.path.join(d, "run.json"), "--output", out, "--", prog(), "child")
    expect(r, LEAKS, "run --check sees the child's trace")
    with open(os.path.join(d, "run.json")) as fh:
        j = json.load(fh)
    check(len(j["processes"]) == 2 and j["program"]["status"] == 0, "run --check json: %s" % j["processes"])
    # a trace left over from an earlier run beside the new one is not counted
    out2 = os.path.join(d, "run2.lgt")
    stale = out2 + ".99999"
    with open(t[1], "rb") as a, open(stale, "wb") as b:
        b.write(a.read())
    os.utime(stale, (1, 1))
    expect(lg("check", out2 + ".99999"), LEAKS, "the stale trace leaks")
    r = lg("run", "--check", "--json", os.path.join(d, "run2.json"), "--output", out2, "--", prog(), "reachable")
    expect(r, PASS, "no child: pass (the stale trace beside it is not counted)")
    with open(os.path.join(d, "run2.json")) as fh:
        check(len(json.load(fh)["processes"]) == 1, "one process")
    # a suite preloaded by hand (docs/ci.md): LD_PRELOAD and LEAKGRAPH_OUTPUT. The shim takes
    # its leak checks through the `leakgraph __collect` it starts, so the records are classified as under run
    h = os.path.join(d, "hand.lgt")
    lgdriver.preloaded([prog(), "child", "definite", "1"], h)
    ht = traces(h)
    check(len(ht) == 2, "hand traces: %s" % ht)
    r, j = check_json(*ht)
    expect(r, LEAKS, "hand-preloaded traces and the default policy")
    main_pid = j["processes"][0]["pid"] if j else 0
    got = sorted((x["pid"] == main_pid, x["kind"], x["bytes"], at(x)) for x in recs(j, "failed")) if j else []
    # (the program forks before it loses its 100 bytes: the child inherits nothing)
    want = [(False, "definite", 300, ("child_leaks", site("child"))),
            (True, "definite", 100, ("leak_definite", site("definite")))]
    check(got == want, "hand-preloaded records: %s, want %s" % (got, want))
    # with no exit check (LEAKGRAPH_EXIT_CHECK=0) no process has a leak check: the gate does
    # not pass on that (exit 3, each trace named); --allow-incomplete accepts them, and then
    # the records are 'unfreed' and only a policy naming unfreed gates them
    h2 = os.path.join(d, "nocheck.lgt")
    lgdriver.preloaded([prog(), "child", "definite", "1"], h2, env={"LEAKGRAPH_EXIT_CHECK": "0"})
    ht = traces(h2)
    check(len(ht) == 2, "unchecked traces: %s" % ht)
    r = lg("check", *ht)
    expect(r, ERROR, "no leak check in any trace")
    check(r.stdout.count("no leak check: the process exited with status 0 without one") == 4,
          "each trace named, in its process and on a line of its own: %r" % r.stdout)
    r = lg("check", "--allow-incomplete", *ht)
    expect(r, PASS, "--allow-incomplete: unfreed records and the default policy")
    r, j = check_json("--allow-incomplete", "--policy", "unfreed", *ht)
    expect(r, LEAKS, "--allow-incomplete, policy unfreed")
    main_pid = j["processes"][0]["pid"]
    got = sorted((x["pid"] == main_pid, x["kind"], x["bytes"], at(x)) for x in recs(j, "failed"))
    want = [(False, "unfreed", 300, ("child_leaks", site("child"))),
            (True, "unfreed", 100, ("leak_definite", site("definite")))]
    check(got == want, "unfreed records: %s, want %s" % (got, want))


# ---- suppressions ---------------------------------------------------------------------------

def hidden(j, name):
    for s in j["suppressions"]:
        if s["name"] == name:
            return s
    fail("no suppression %s in %s" % (name, [s["name"] for s in j["suppressions"]]))
    return {"matched": {}, "hidden": {}, "used": None, "over_limit": None}


def t_supp_leakgraph():
    d = tmpdir()
    t = trace(d, "definite", "2", "more", "indirect")
    rules = write(d, "rules.supp", """# leakgraph's own format
rule exact-definite
  kind definite
  frame fun=leak_definite file=ciprog.c
  frame fun=main

rule list   # both kinds of the list
  kind definite, indirect
  frame fun=leak_list file=*/ciprog.c
  frame ...
  frame fun=main mod=ciprog_*

rule anchored-main-only
  frame fun=main

rule never
  kind possible
  frame fun="no such function(int)"
""")
    r, j = check_json("--suppressions", rules, *t)
    expect(r, LEAKS, "leak_definite_more is still there")
    f = recs(j, "failed")
    check([(x["bytes"], at(x)[0]) for x in f] == [(200, "leak_definite_more")],
          "the rule named leak_definite must not hide leak_definite_more: %s" % [(x["bytes"], at(x)) for x in f])
    s = hidden(j, "exact-definite")
    check(s["matched"] == {"records": 1, "bytes": 200, "blocks": 2} and s["hidden"] == s["matched"],
          "exact-definite: %s" % s)
    s = hidden(j, "list")
    check(s["hidden"] == {"records": 2, "bytes": 96, "blocks": 3}, "list: %s" % s)
    for name in ("anchored-main-only", "never"):
        s = hidden(j, name)
        check(s["used"] is False and s["matched"]["records"] == 0, "%s must match nothing: %s" % (name, s))
    check(hidden(j, "exact-definite")["where"] == rules + ":2", "where: %s" % hidden(j, "exact-definite")["where"])
    r = lg("check", "--suppressions", rules, *t)
    check("suppression 'never' (%s:16): matched nothing (unused)" % rules in r.stdout, "unused flagged: %r" % r.stdout)
    check("suppression 'exact-definite' (%s:2): hid 1 record, 200 bytes in 2 blocks" % rules in r.stdout,
          "usage line: %r" % r.stdout)
    # limits: a rule may hide at most what it names; past that it hides nothing
    lim = write(d, "limit.supp", """rule capped
  kind definite
  frame fun=leak_definite*
  max-bytes 399
rule capped-ok
  frame fun=leak_list
  max-bytes 96
  max-blocks 3
""")
    r, j = check_json("--suppressions", lim, *t)
    expect(r, LEAKS, "over the limit")
    s = hidden(j, "capped")
    check(s["over_limit"] is True and s["matched"] == {"records": 2, "bytes": 400, "blocks": 3}
          and s["hidden"] == {"records": 0, "bytes": 0, "blocks": 0}, "capped: %s" % s)
    check(sorted(x["bytes"] for x in recs(j, "failed")) == [200, 200], "capped hides nothing: %s" %
          [x["bytes"] for x in recs(j, "failed")])
    s = hidden(j, "capped-ok")
    check(s["over_limit"] is False and s["hidden"] == {"records": 2, "bytes": 96, "blocks": 3}, "capped-ok: %s" % s)
    lim2 = write(d, "limit2.supp", "rule capped\n  kind definite\n  frame fun=leak_definite*\n  max-bytes 400\n  max-blocks 3\n"
                                  "rule l\n  frame fun=leak_list\n")
    expect(lg("check", "--suppressions", lim2, *t), PASS, "at the limit")
    lim3 = write(d, "limit3.supp", "rule capped\n  kind definite\n  frame fun=leak_definite*\n  max-blocks 2\n"
                                  "rule l\n  frame fun=leak_list\n")
    expect(lg("check", "--suppressions", lim3, *t), LEAKS, "over the block limit")
    # a suppressed record does not count toward the policy's limits either
    expect(lg("check", "--policy", "definite:bytes<=200", "--suppressions", rules, *t), PASS,
           "what a rule hides does not count toward limits")


def t_supp_valgrind():
    d = tmpdir()
    t = trace(d, "definite", "2", "more", "possible")
    vg = write(d, "vg.supp", """# a Valgrind suppression file
{
   defin
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:leak_definite
   ...
   fun:main
}
{
   not-a-leak
   Memcheck:Cond
   fun:leak_definite_more
}
{
   possible-by-obj
   Memcheck:Leak
   match-leak-kinds: possible,reachable
   fun:malloc
   obj:*/ciprog_*
}
{
   wrong-kind
   Memcheck:Leak
   match-leak-kinds: reachable
   fun:malloc
   fun:leak_definite_more
}
{
   src-line
   Memcheck:Leak
   fun:malloc
   src:ciprog.c:%d
}
""" % site("more"))
    r, j = check_json("--suppressions", vg, *t)
    expect(r, PASS, "valgrind suppressions hide every leak")
    check(hidden(j, "defin")["hidden"] == {"records": 1, "bytes": 200, "blocks": 2}, "defin: %s" % hidden(j, "defin"))
    check(hidden(j, "possible-by-obj")["hidden"]["bytes"] == 64, "obj: %s" % hidden(j, "possible-by-obj"))
    check(hidden(j, "wrong-kind")["used"] is False, "match-leak-kinds respected: %s" % hidden(j, "wrong-kind"))
    check(hidden(j, "src-line")["hidden"]["bytes"] == 200, "src:file:line: %s" % hidden(j, "src-line"))
    check(all(s["format"] == "valgrind" for s in j["suppressions"]), "format")
    check("not-a-leak" not in [s["name"] for s in j["suppressions"]], "Memcheck:Cond entries are not leak rules")
    # a rule whose frames stop matching: fun:malloc then directly fun:main does not skip frames
    vg2 = write(d, "vg2.supp", "{\n  x\n  Memcheck:Leak\n  fun:malloc\n  fun:main\n}\n")
    r, j = check_json("--suppressions", vg2, *t)
    expect(r, LEAKS, "anchored valgrind frames")
    check(hidden(j, "x")["used"] is False, "x must match nothing")
    bad = write(d, "vg3.supp", "{\n  x\n  Memcheck:Leak\n  fun:malloc\n")
    expect(lg("check", "--suppressions", bad, *t), USAGE, "unterminated valgrind entry")


def t_supp_lsan():
    d = tmpdir()
    t = trace(d, "definite", "2", "more", "indirect")
    ls = write(d, "lsan.supp", "# LeakSanitizer\nleak:^leak_definite$\nleak:ciprog.c_no\nleak:list\n"
                               "interceptor_via_fun:whatever\n")
    r, j = check_json("--suppressions", ls, *t)
    expect(r, LEAKS, "leak_definite_more is not ^leak_definite$")
    check(hidden(j, "leak:^leak_definite$")["hidden"] == {"records": 1, "bytes": 200, "blocks": 2},
          "anchored: %s" % hidden(j, "leak:^leak_definite$"))
    check(hidden(j, "leak:list")["hidden"]["records"] == 2, "substring of leak_list: %s" % hidden(j, "leak:list"))
    check(hidden(j, "leak:ciprog.c_no")["used"] is False, "no match")
    check([x["bytes"] for x in recs(j, "failed")] == [200], "left: %s" % [x["bytes"] for x in recs(j, "failed")])
    # LSan's substring semantics: leak:leak_definite hides leak_definite_more too (documented)
    ls2 = write(d, "lsan2.supp", "leak:leak_definite\nleak:ciprog.c\n")
    r, j = check_json("--suppressions", ls2, *t)
    expect(r, PASS, "substring")
    check(hidden(j, "leak:leak_definite")["hidden"]["records"] == 2, "substring hides both: %s" % hidden(j, "leak:leak_definite"))
    check(hidden(j, "leak:ciprog.c")["hidden"]["records"] == 2, "file substring: %s" % hidden(j, "leak:ciprog.c"))


def t_gen_suppressions():
    d = tmpdir()
    t = trace(d, "definite", "2", "more", "indirect", "possible", "cycle")
    expect(lg("check", *t), LEAKS, "leaks before")
    for fmt in ("leakgraph", "valgrind", "lsan"):
        r = lg("check", "--gen-suppressions=" + fmt, *t)
        expect(r, LEAKS, "gen-suppressions %s" % fmt)
        p = write(d, fmt + ".supp", r.stdout)
        r2, j = check_json("--suppressions", p, *t)
        expect(r2, PASS, "generated %s rules hide the current leaks:\n%s" % (fmt, r.stdout))
        check(all(s["used"] for s in j["suppressions"]) or fmt == "lsan",
              "%s: every generated rule is used: %s" % (fmt, [(s["name"], s["used"]) for s in j["suppressions"]]))
    r = lg("check", "--gen-suppressions", *t)
    check("rule definite-leak_definite-" in r.stdout and "frame fun=leak_definite file=ciprog.c" in r.stdout,
          "leakgraph rule text: %r" % r.stdout[:500])
    # generated rules name the leak: a new leak elsewhere is not hidden by them
    t2 = trace(d, "definite", "2", "more", "indirect", "possible", "cycle", v="c", name="c.lgt")
    r, j = check_json("--suppressions", os.path.join(d, "leakgraph.supp"), *t2)
    expect(r, LEAKS, "a new leak is not hidden")
    check([at(x)[0] for x in recs(j, "failed")] == ["leak_new"], "only the new leak: %s" % [at(x) for x in recs(j, "failed")])


# ---- baselines ------------------------------------------------------------------------------

def frame_of(j, func):
    for x in j["records"]:
        for f in x["stack"]:
            if f["function"] == func:
                return f
    return None


def t_baseline():
    d = tmpdir()
    ta = trace(d, "definite", "2", "indirect", "child", v="a", name="a.lgt")
    tb = trace(d, "definite", "2", "indirect", "child", v="b", name="b.lgt")
    tc = trace(d, "definite", "2", "indirect", "child", v="c", name="c.lgt")
    base = os.path.join(d, "base.txt")
    r = lg("baseline", "--output", base, *ta)
    expect(r, PASS, "baseline")
    with open(base) as f:
        text = f.read()
    check(text.startswith("# leakgraph baseline 1"), "baseline header: %r" % text[:80])
    check("definite|ciprog_a|leak_definite@ciprog.c;main@ciprog.c" in text, "signature: %r" % text)
    check(not re.search(r"0x[0-9a-f]{6,}|ciprog\.c:\d", text), "no addresses or lines in the baseline: %r" % text)
    r2 = lg("baseline", *ta)
    check(r2.stdout == text, "baseline to stdout equals --output")
    # build b: other lines, not PIE (other load addresses): the same leaks
    _, ja = check_json(*ta)
    _, jb = check_json(*tb)
    fa, fb = frame_of(ja, "leak_definite"), frame_of(jb, "leak_definite")
    if check(fa and fb, "frames"):
        check(fa["line"] != fb["line"], "the builds differ in lines: %s %s" % (fa["line"], fb["line"]))
        check(fa["address"] != fb["address"], "and in load addresses: %s %s" % (fa["address"], fb["address"]))
    # the executable's name is part of the signature: compare builds a and b through a copy
    baseb = os.path.join(d, "base_b.txt")
    with open(baseb, "w") as f:
        f.write(text.replace("ciprog_a", "ciprog_b"))
    r = lg("check", "--baseline", baseb, *tb)
    expect(r, PASS, "build b against the baseline of build a")
    check("baseline %s: 7 known, 0 new, 0 grew; 0 baseline entries not seen" % baseb in r.stdout, "counts: %r" % r.stdout)
    expect(lg("check", *tb), LEAKS, "without the baseline build b fails")
    # build c adds a leak: exactly that one fails
    basec = os.path.join(d, "base_c.txt")
    with open(basec, "w") as f:
        f.write(text.replace("ciprog_a", "ciprog_c"))
    r, j = check_json("--baseline", basec, *tc)
    expect(r, LEAKS, "a new leak")
    f = recs(j, "failed")
    check([(at(x)[0], x["baseline"]) for x in f] == [("leak_new", "new")] * 2,
          "new: %s" % [(at(x), x["baseline"]) for x in f])  # in the parent and, inherited, in the child
    check(j["baseline"]["new"] == 2 and j["baseline"]["known"] == 7, "baseline counts %s" % j["baseline"])
    # growth: more blocks from the same place fail; fewer pass
    tg = trace(d, "definite", "3", "indirect", "child", v="a", name="g.lgt")
    r, j = check_json("--baseline", base, *tg)
    expect(r, LEAKS, "growth")
    check({(at(x)[0], x["baseline"], x["bytes"]) for x in recs(j, "failed")} == {("leak_definite", "grew", 300)},
          "grew: %s" % [(at(x), x["baseline"], x["bytes"]) for x in recs(j, "failed")])
    ts = trace(d, "definite", "1", "child", v="a", name="s.lgt")
    r, j = check_json("--baseline", base, *ts)
    expect(r, PASS, "shrinking")
    check(len(j["baseline"]["unseen"]) == 2, "vanished entries listed: %s" % j["baseline"]["unseen"])
    # diff: baselines of whole process trees, or one trace
    baseg, bases = os.path.join(d, "base_g.txt"), os.path.join(d, "base_s.txt")
    expect(lg("baseline", "--output", baseg, *tg), PASS, "baseline g")
    expect(lg("baseline", "--output", bases, *ts), PASS, "baseline s")
    r = lg("diff", base, baseg)
    expect(r, LEAKS, "diff: grew")
    check(re.search(r"^grew +definite +400 -> 600 bytes, 4 -> 6 blocks +definite\|ciprog_a\|leak_definite", r.stdout, re.M),
          "diff grew line: %r" % r.stdout)
    r = lg("diff", base, bases)
    expect(r, PASS, "diff: only vanished")
    check(r.stdout.count("vanished ") == 2 and "0 appeared, 2 vanished, 0 grew" in r.stdout, "diff: %r" % r.stdout)
    r = lg("diff", ta[0], tc[0])
    expect(r, LEAKS, "diff of traces of two programs (the executable is in the signature)")
    check("4 appeared, 3 vanished, 0 grew, 0 unchanged" in r.stdout, "diff a c: %r" % r.stdout)
    r = lg("diff", "--format", "json", basec, tc[0])
    expect(r, LEAKS, "diff: appeared")
    j = json.loads(r.stdout)
    check(j["appeared"] == 1 and [c["change"] for c in j["changes"]] == ["appeared", "vanished"] and
          "leak_new@ciprog.c" in j["changes"][0]["signature"], "diff json: %s" % j)
    r = lg("diff", base, base)
    expect(r, PASS, "diff of a baseline with itself")


# ---- reports --------------------------------------------------------------------------------

def t_sarif():
    d = tmpdir()
    t = trace(d, "definite", "2", "indirect", "cycle", "reachable")
    sup = write(d, "s.supp", "rule cyc\n  frame fun=leak_cycle\n")
    out = os.path.join(d, "out.sarif")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(A.src))))
    r = lg("check", "--sarif", out, "--source-root", root, "--suppressions", sup, *t)
    expect(r, LEAKS, "sarif run")
    r2 = lg("check", "--format", "sarif", "--suppressions", sup, *t)
    expect(r2, LEAKS, "sarif to stdout")
    for name, text in [("file", open(out).read()), ("stdout", r2.stdout)]:
        if not valid_sarif(name, text):
            break
    s = json.load(open(out))
    check(s["version"] == "2.1.0" and len(s["runs"]) == 1, "sarif version/runs")
    run = s["runs"][0]
    res = run["results"]
    # one result per leak record the policy names (the reachable one is not a result)
    _, j = check_json("--suppressions", sup, *t)
    named = [x for x in j["records"] if x["status"] != "ignored"]
    check(len(res) == len(named), "results %d, records %d" % (len(res), len(named)))
    byloc = {}
    for x in res:
        pl = x["locations"][0]["physicalLocation"]
        byloc.setdefault((pl["artifactLocation"]["uri"], pl["region"]["startLine"]), []).append(x)
    uri = "tests/ci/progs/ciprog.c"
    for name, kind in [("definite", "definite"), ("indirect", "indirect"), ("cycle", "cycle")]:
        hits = [x for x in byloc.get((uri, site(name)), []) if x["ruleId"] == "leak/" + kind]
        check(len(hits) == 1, "a %s result at %s:%d: %s" % (kind, uri, site(name), sorted(byloc)))
    for x in res:
        al = x["locations"][0]["physicalLocation"]["artifactLocation"]
        check(al.get("uriBaseId") == "SRCROOT", "relative to SRCROOT: %s" % al)
        frames = x["stacks"][0]["frames"]
        flow = x["codeFlows"][0]["threadFlows"][0]["locations"]
        check(len(frames) == len(flow) and len(frames) >= 3, "stack %d, flow %d" % (len(frames), len(flow)))
        check(flow[-1]["location"]["logicalLocations"][0]["name"] == x["locations"][0]["logicalLocations"][0]["name"],
              "the flow ends at the allocating function")
        check(flow[0]["executionOrder"] == 1, "flow order")
        check(len(x["partialFingerprints"]["leakgraph/v1"]) == 16, "fingerprint")
    check(run["originalUriBaseIds"]["SRCROOT"]["uri"] == "file://" + root + "/", "SRCROOT %s" % run["originalUriBaseIds"])
    sup_res = [x for x in res if x.get("suppressions")]
    # the rule names leak_cycle: its definite and indirect blocks and the cycle record
    check(len(sup_res) == 3 and all(x["level"] == "note" for x in sup_res), "suppressed cycle results: %d" % len(sup_res))
    check(sorted(x["ruleId"] for x in sup_res) == ["leak/cycle", "leak/definite", "leak/indirect"], "suppressed kinds")
    check(sum(1 for x in res if x["level"] == "error") == len(res) - 3, "levels")
    check(run["invocations"][0]["exitCode"] == 1, "exit code in the invocation")


def t_junit():
    d = tmpdir()
    t = trace(d, "child", "reachable")
    out = os.path.join(d, "out.xml")
    r = lg("check", "--junit", out, *t)
    expect(r, LEAKS, "junit run")
    import xml.etree.ElementTree as ET
    root = ET.parse(out).getroot()
    cases = root.findall(".//testcase")
    check(root.tag == "testsuites" and len(cases) == 2, "two test cases: %s" % [c.get("name") for c in cases])
    fails = [c for c in cases if c.find("failure") is not None]
    check(len(fails) == 1 and "forked from" in fails[0].get("name"), "the child's case fails")
    py = helper_python("junitparser")
    if not check(py, "no python3 with junitparser (scripts/install-deps.sh installs python3-junitparser)"):
        return
    v = subprocess.run([py, "-c", """
import sys, junitparser
xml = junitparser.JUnitXml.fromfile(sys.argv[1])
for suite in xml:
    print("suite", suite.name, suite.tests, suite.failures, suite.errors)
    for case in suite:
        kinds = [type(r).__name__ + ":" + (r.message or "") for r in case.result]
        print("case", case.classname, "|", case.name, "|", ";".join(kinds))
""", out], capture_output=True, text=True)
    check(v.returncode == 0, "junitparser cannot read it: %s" % v.stderr)
    lines = v.stdout.splitlines()
    check("suite leakgraph 2 1 0" in lines, "suite counts: %s" % lines)
    cl = [l for l in lines if l.startswith("case ")]
    check(len(cl) == 2 and cl[0].endswith("| ") and "Failure:1 leak record fail the policy: 300 bytes in 1 blocks" in cl[1],
          "cases: %s" % cl)
    # a failing program is an error of the main process's case
    out2 = os.path.join(d, "run.xml")
    r = lg("run", "--check", "--junit", out2, "--output", os.path.join(d, "r.lgt"), "--", prog(), "exit", "7")
    expect(r, PROGRAM, "run --check, exit 7")
    v = subprocess.run([py, "-c", """
import sys, junitparser
for suite in junitparser.JUnitXml.fromfile(sys.argv[1]):
    print(suite.errors, [type(r).__name__ for c in suite for r in c.result])
""", out2], capture_output=True, text=True)
    check(v.stdout.strip() == "1 ['Error']", "program error in junit: %r %r" % (v.stdout, v.stderr))


def t_json_text():
    d = tmpdir()
    t = trace(d, "definite", "30", "more", "indirect", "child")
    r, j = check_json(*t)
    expect(r, LEAKS, "json")
    for k in ("version", "verdict", "exit_code", "policy", "violations", "program", "summary", "processes",
              "records", "suppressions", "baseline"):
        check(k in j, "json lacks %s" % k)
    check(j["program"] is None and j["baseline"] is None, "program/baseline null for check")
    rec = [x for x in recs(j, "failed") if at(x)[0] == "leak_definite"]
    check(len(rec) >= 1 and rec[0]["bytes"] == 3000 and rec[0]["blocks"] == 30 and
          rec[0]["location"]["line"] == site("definite"), "record %s" % rec[:1])
    # the text summary is short: a few lines per process, one per record, then the verdict
    r = lg("check", *t)
    lines = r.stdout.splitlines()
    check(len(lines) <= 2 + 2 * 8 + 2, "summary has %d lines:\n%s" % (len(lines), r.stdout))
    check(lines[-1].startswith("leakgraph check: FAIL: ") and lines[-1].endswith("(exit 1)"), "last line %r" % lines[-1])
    check("--quiet" and len(lg("check", "--quiet", *t).stdout.splitlines()) == 1, "--quiet: one line")


# ---- verdicts that fail closed: traces cut, damaged or without their final leak check -------

def cut_copy(src, dst, keep):
    """A copy of the trace src, cut after `keep` bytes (a negative keep drops that many)."""
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data[:keep])
    return dst


def damaged_copy(src, dst):
    """A copy of the trace src with one byte of the block in its middle changed."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0xff
    with open(dst, "wb") as f:
        f.write(data)
    return dst


def incomplete_lines(text, cmd="check"):
    """The lines that name a trace whose verdict is incomplete."""
    return [l for l in text.splitlines() if l.startswith("leakgraph %s: incomplete: " % cmd)]


def expect_incomplete(d, name, paths, reason, leaks=False):
    """check on paths exits 3, names the trace paths[-1] and says `reason`; the JSON, JUnit and
    SARIF outputs carry it too. leaks: the records read still fail the policy."""
    bad = paths[-1]
    r = lg("check", *paths)
    expect(r, ERROR, "%s: check" % name)
    lines = incomplete_lines(r.stdout)
    check(len(lines) == 1 and bad in lines[0] and reason in lines[0],
          "%s: one line naming %s and why (%r): %s" % (name, bad, reason, r.stdout))
    last = r.stdout.splitlines()[-1]
    check(last.endswith("(exit 3)") and "PASS" not in last and (("FAIL" in last) == leaks),
          "%s: last line %r" % (name, last))
    q = lg("check", "--quiet", *paths)
    expect(q, ERROR, "%s: check --quiet" % name)
    check(len(incomplete_lines(q.stdout)) == 1 and len(q.stdout.splitlines()) == 2,
          "%s: --quiet keeps the trace's line and the verdict's: %r" % (name, q.stdout))
    # JSON
    r, j = check_json(*paths)
    expect(r, ERROR, "%s: check --format json" % name)
    inc = j.get("incomplete") or []
    check(j.get("exit_code") == 3 and len(inc) == 1 and inc[0].get("trace") == bad and reason in inc[0].get("reason", ""),
          "%s: json incomplete %s, exit_code %s" % (name, inc, j.get("exit_code")))
    procs = [p for p in j.get("processes", []) if p.get("trace") == bad]
    check(len(procs) == 1 and reason in (procs[0].get("incomplete") or ""), "%s: json process %s" % (name, procs))
    check(j.get("verdict") == ("fail" if leaks else "pass"), "%s: json verdict of the leaks alone %s" % (name, j.get("verdict")))
    check(j.get("allow_incomplete") is False, "%s: allow_incomplete %s" % (name, j.get("allow_incomplete")))
    # JUnit: an <error type="incomplete"> in the case of that process
    import xml.etree.ElementTree as ET
    xml = os.path.join(d, name + ".xml")
    expect(lg("check", "--junit", xml, *paths), ERROR, "%s: check --junit" % name)
    root = ET.parse(xml).getroot()
    errs = [(c.get("name"), e.get("type"), e.get("message")) for c in root.iter("testcase") for e in c.findall("error")]
    check(len(errs) == 1 and errs[0][1] == "incomplete" and reason in errs[0][2] and root.get("errors") == "1",
          "%s: junit errors %s (errors=%s)" % (name, errs, root.get("errors")))
    # SARIF: the invocation failed, with a notification that says why
    r = lg("check", "--format", "sarif", *paths)
    expect(r, ERROR, "%s: check --format sarif" % name)
    if valid_sarif(name, r.stdout):
        inv = json.loads(r.stdout)["runs"][0]["invocations"][0]
        notes = inv.get("toolExecutionNotifications", [])
        check(inv["executionSuccessful"] is False and inv["exitCode"] == 3 and len(notes) == 1 and
              notes[0]["level"] == "error" and bad in notes[0]["message"]["text"] and reason in notes[0]["message"]["text"],
              "%s: sarif invocation %s" % (name, inv))


def t_incomplete():
    """A gate never passes on a check that did not happen: check exits 3 on a cut, a damaged, and
    an unchecked trace, names it, and says why in every format."""
    d = tmpdir()
    t = trace(d, "definite", "3")
    clean = trace(d, "reachable", name="clean.lgt")
    expect(lg("check", *clean), PASS, "the clean trace passes")
    size = os.path.getsize(t[0])
    # cut in its last block (its END): the leak check is there, the trace is not whole
    end_cut = cut_copy(t[0], os.path.join(d, "endcut.lgt"), -1)
    expect_incomplete(d, "endcut", [end_cut], "the trace is incomplete: truncated", leaks=True)
    # cut in the middle (the disk filled up): no leak check left, only 'unfreed' blocks
    mid_cut = cut_copy(t[0], os.path.join(d, "midcut.lgt"), size // 2)
    expect_incomplete(d, "midcut", [mid_cut], "the trace is incomplete: truncated")
    expect_incomplete(d, "midcut_beside_clean", [clean[0], mid_cut], "the trace is incomplete")
    # a damaged block
    bad = damaged_copy(t[0], os.path.join(d, "damaged.lgt"))
    expect_incomplete(d, "damaged", [bad], "the trace is incomplete: corrupt")
    # killed by SIGKILL: no leak check could be taken
    k = trace(d, "definite", "2", "kill", name="k.lgt")
    expect_incomplete(d, "sigkill", k, "no leak check: the process was killed by SIGKILL")
    # killed by SIGTERM with no exit check asked for (preloaded by hand): its collector still
    # writes how it ended
    h = os.path.join(d, "term.lgt")
    lgdriver.preloaded([prog(), "definite", "1", "term"], h, env={"LEAKGRAPH_EXIT_CHECK": "0"})
    expect_incomplete(d, "sigterm_nocheck", traces(h),
                      "no leak check: the process was killed by SIGTERM (signal 15)")
    # a check taken while it ran is not its final one, unless --check-number asks for it
    m = os.path.join(d, "m.lgt")
    r = lg("run", "--quiet", "--output", m, "--", prog(), "definite", "1", "usr2", "kill",
           env=dict(os.environ, LEAKGRAPH_CHECK_SIGNAL="USR2"), timeout=120)
    check("# snapshot id=1 reason=3" in lgdriver.dump(m), "a check at the signal: %s" % r.stderr)
    expect_incomplete(d, "midrun_check", [m], "no final leak check: the process was killed by SIGKILL", leaks=True)
    expect(lg("check", "--check-number", "1", m), LEAKS, "--check-number 1: the check asked for is there")
    # --allow-incomplete: the user accepts them, each still named; the verdict is on what was read
    r = lg("check", "--allow-incomplete", *k)
    expect(r, PASS, "--allow-incomplete, default policy: the unchecked blocks are 'unfreed'")
    check(len([l for l in r.stdout.splitlines() if "incomplete (accepted)" in l and k[0] in l]) == 1,
          "--allow-incomplete still names the trace: %r" % r.stdout)
    expect(lg("check", "--allow-incomplete", "--policy", "unfreed", *k), LEAKS, "--allow-incomplete --policy unfreed")
    expect(lg("check", "--allow-incomplete", end_cut), LEAKS, "--allow-incomplete: the leaks read still fail")
    r, j = check_json("--allow-incomplete", *k)
    check(j.get("allow_incomplete") is True and len(j.get("incomplete") or []) == 1 and j.get("exit_code") == 0,
          "--allow-incomplete json: %s %s" % (j.get("allow_incomplete"), j.get("incomplete")))
    r = lg("check", "--allow-incomplete", "--format", "sarif", *k)
    if valid_sarif("allowed", r.stdout):
        inv = json.loads(r.stdout)["runs"][0]["invocations"][0]
        notes = inv.get("toolExecutionNotifications", [])
        check(inv["executionSuccessful"] is True and len(notes) == 1 and notes[0]["level"] == "warning",
              "--allow-incomplete sarif: %s" % inv)


def t_incomplete_run():
    """run --check: a program killed by SIGKILL has no leak check (exit 3, with the program's
    status said); an image replaced by exec and a child that leaves by _exit are whole."""
    d = tmpdir()
    js = os.path.join(d, "k.json")
    r = lg("run", "--check", "--json", js, "--output", os.path.join(d, "k.lgt"), "--", prog(), "definite", "1", "kill",
           timeout=120)
    expect(r, ERROR, "run --check, the program raises SIGKILL: no leak check was possible")
    check("the program failed: status (128 + signal) 137" in r.stderr, "program status said: %r" % r.stderr)
    lines = incomplete_lines(r.stderr, "run")
    check(len(lines) == 1 and "k.lgt" in lines[0] and "killed by SIGKILL" in lines[0], "incomplete line: %r" % r.stderr)
    with open(js) as f:
        j = json.load(f)
    check(j["exit_code"] == 3 and j["program"]["status"] == 137 and len(j["incomplete"]) == 1, "json: %s" % j)
    r = lg("run", "--check", "--allow-incomplete", "--output", os.path.join(d, "k2.lgt"), "--", prog(), "kill", timeout=120)
    expect(r, PROGRAM, "run --check --allow-incomplete, SIGKILL: the program's failure")
    # exec: the first image's blocks vanish with it; the image that replaced it is checked
    r = lg("run", "--check", "--output", os.path.join(d, "e.lgt"), "--", prog(), "definite", "1", "exec", "reachable",
           timeout=120)
    expect(r, PASS, "run --check, exec: the replaced image needs no leak check")
    check(not incomplete_lines(r.stderr, "run") and "replaced by exec" in r.stderr, "exec: %r" % r.stderr)
    r = lg("run", "--check", "--output", os.path.join(d, "e2.lgt"), "--", prog(), "exec", "definite", "1", timeout=120)
    expect(r, LEAKS, "run --check, the exec'd image leaks")
    # a forked child that leaves by _exit takes its leak check
    r = lg("run", "--check", "--output", os.path.join(d, "x.lgt"), "--", prog(), "child_exit", "reachable", timeout=120)
    expect(r, LEAKS, "run --check, a child leaving by _exit: its leak is found")
    check(not incomplete_lines(r.stderr, "run"), "_exit: %r" % r.stderr)


def t_disk_full():
    """The disk fills up mid-run (a 256 KiB tmpfs in a private mount namespace that the program
    itself fills once its trace has begun): run --check must not pass on the lost rest."""
    d = tmpdir()
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=256k tmpfs '%s'" % mnt],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise lgdriver.Skip("no private mount namespace with a tmpfs here (unshare -m as root): %s"
                            % probe.stderr.strip())
    out = os.path.join(mnt, "t.lgt")
    js = os.path.join(d, "t.json")
    script = ("mount -t tmpfs -o size=256k tmpfs '%s' && exec '%s' run --check --json '%s' --output '%s' -- '%s' "
              "fill '%s' '%s' scatter 5000" % (mnt, A.lg, js, out, prog(), out, os.path.join(mnt, "fill")))
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    expect(r, ERROR, "run --check with the disk full mid-run")
    lines = incomplete_lines(r.stderr, "run")
    check(len(lines) == 1 and "t.lgt" in lines[0] and "the trace is incomplete" in lines[0], "named: %r" % r.stderr)
    check("PASS" not in r.stderr, "no PASS: %r" % r.stderr)
    with open(js) as f:
        j = json.load(f)
    check(j["exit_code"] == 3 and len(j["incomplete"]) == 1, "json: %s" % j.get("incomplete"))


if __name__ == "__main__":
    p = lgdriver.parser(__doc__, "--progs", "--src", "--schema")
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("scenario")
    sys.exit(lgdriver.main(p, lgdriver.by_name(globals())))
