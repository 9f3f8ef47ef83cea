"""The scaffolding shared by the Python test drivers (tests/preload, tests/leakcheck,
tests/objects, tests/ci): the command line every driver takes (--bin and the driver's own
paths), running leakgraph and programs under `leakgraph run` or under the shim preloaded by
hand (with the timeouts), temporary directories, the traces a run leaves (a process tree's
children beside the main one), reading them back with `leakgraph report --format json` and
`leakgraph dump`, finding marked lines in a test program's source, the check/fail record of
failed expectations with their messages, and the dispatch of one test case by name ending in
the verdict a CTest test reads (exit 0 "ok", 1 with the count of failed checks, 2 for an
unknown case, 0 with "SKIP:" when a tool is missing). It owns no test case and no expected
value: what a test asserts stays in its driver. It must not loosen a check on behalf of a
driver (a helper either asserts what it says or returns what it read), nor import anything
outside Python's standard library: the drivers run under the system python3.

A driver imports it with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import lgdriver
and ends with sys.exit(lgdriver.main(parser, case)).
"""
import argparse, json, os, shutil, subprocess, tempfile

# The parsed command line, filled in place by main() so that `from lgdriver import A` works
# before the arguments are parsed. A.lg is the leakgraph executable in A.bin.
A = argparse.Namespace()

# Every failed expectation, in order; the verdict is "ok" only if it stays empty.
FAILS = []

# Temporary directories made by tmpdir(): removed when every check passed, kept (and named)
# when one failed, so that the traces of a failing test can be read.
TMPDIRS = []

# How long one leakgraph command or traced program may take before the test fails on it (the
# CTest timeouts of these tests are 300 s and more; a run under Memcheck gets its own).
TIMEOUT = 300


class Skip(Exception):
    """Raised by a case that cannot run here (a tool is not installed): the test passes with
    "SKIP: <reason>", which the memcheck tests' SKIP_REGULAR_EXPRESSION turns into a skip."""


# ---- the record of failed checks ------------------------------------------------------------

def fail(msg):
    FAILS.append(msg)
    print("FAIL:", msg)


def check(cond, msg):
    """Records msg as a failure unless cond holds; returns cond, so a case can stop early."""
    if not cond:
        fail(msg)
    return cond


def expect_exit(r, code, what):
    """Checks that the finished process r exited with code; the message shows its output."""
    return check(r.returncode == code, "%s: exit %d, want %d\nstdout: %s\nstderr: %s" %
                 (what, r.returncode, code, (r.stdout or "")[-1500:], (r.stderr or "")[-1500:]))


# ---- the command line and the dispatch ------------------------------------------------------

def parser(doc, *paths, required=True):
    """An argument parser with the option every driver takes (--bin: where leakgraph is) and
    the driver's path options (e.g. "--progs", "--src"), required unless required is False;
    the driver adds its other options and its case argument."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--bin", required=True, help="the directory of the leakgraph executable")
    for path in paths:
        p.add_argument(path, required=required)
    return p


def by_name(namespace, prefix="t_"):
    """The case of a driver whose cases are functions named prefix + scenario (A.scenario):
    for main(); an unknown name ends the test with exit 2."""
    def case():
        fn = namespace.get(prefix + A.scenario)
        if not fn:
            print("unknown scenario", A.scenario)
            return 2
        return fn()
    return case


def main(p, case):
    """Parses the command line into A, runs case() and returns the exit status of the test:
    case's own status if it returns one (2: unknown case), else 1 if a check failed, else 0.
    A case that stops with an exception fails the test by it (Python's traceback, exit 1)."""
    p.parse_args(namespace=A)
    A.lg = os.path.join(A.bin, "leakgraph")
    finished = False
    try:
        try:
            rc = case()
        except Skip as s:
            print("SKIP:", s)
            rc = 0
        finished = True
    finally:
        for d in TMPDIRS:
            if FAILS or not finished:
                print("kept", d)
            else:
                shutil.rmtree(d, ignore_errors=True)
    if rc is None:
        if FAILS:
            print("%d check(s) failed" % len(FAILS))
            rc = 1
        else:
            print("ok")
            rc = 0
    return rc


def tmpdir():
    """A new temporary directory (see TMPDIRS for when it goes)."""
    d = tempfile.mkdtemp(prefix="lgtest.")
    TMPDIRS.append(d)
    return d


# ---- running leakgraph and programs ---------------------------------------------------------

def leakgraph(*args, **kw):
    """Runs `leakgraph ARGS` to the end, output captured as text; kw go to subprocess.run."""
    kw.setdefault("timeout", TIMEOUT)
    return subprocess.run([A.lg] + [str(a) for a in args], capture_output=True, text=True, **kw)


def run(cmd, out, quiet=False, **kw):
    """Runs the program cmd (a list) under `leakgraph run`, its trace written to out."""
    return leakgraph("run", *(["--quiet"] if quiet else []), "--output", out, "--", *cmd, **kw)


def run_fresh(cmd, **kw):
    """run() in a new temporary directory, the trace named t.lgt: (directory, trace, result)."""
    d = tmpdir()
    out = os.path.join(d, "t.lgt")
    return d, out, run(cmd, out, **kw)


def shim():
    """The shim, libleakgraph.so, in the lib/ directory beside A.bin."""
    return os.path.join(A.bin, "..", "lib", "libleakgraph.so")


def preloaded(cmd, out, env=None, timeout=120, **kw):
    """Runs the program cmd with the shim preloaded by hand (LD_PRELOAD, LEAKGRAPH_OUTPUT=out,
    and the variables in env), not under `leakgraph run`; kw go to subprocess.run."""
    e = dict(os.environ, LD_PRELOAD=shim(), LEAKGRAPH_OUTPUT=out, **(env or {}))
    return subprocess.run(cmd, env=e, timeout=timeout, **kw)


def prog(name):
    """A test program built into the --progs directory."""
    return os.path.join(A.progs, name)


def traces(out):
    """The traces a run with --output out left: out, then its children's (out.PID), sorted."""
    d, base = os.path.split(out)
    return [out] + sorted(os.path.join(d, f) for f in os.listdir(d) if f.startswith(base + "."))


# ---- reading traces back --------------------------------------------------------------------

def report(*args, note=""):
    """`leakgraph report --format json ARGS` parsed, or None (a failed check) if the report
    failed; note is added to that failure's message."""
    r = leakgraph("report", "--format", "json", *args)
    if not check(r.returncode == 0, "report %s failed: %s %s" % (list(args), r.stderr, note)):
        return None
    return json.loads(r.stdout)


def dump(trace):
    """The text of `leakgraph dump TRACE` (its records, one a line)."""
    return leakgraph("dump", trace).stdout


# ---- test programs' sources -----------------------------------------------------------------

def lines_with(path, match):
    """The numbers (from 1) of the lines of the file path that contain the text match, or,
    if match is a function, for which match(line) is true."""
    test = match if callable(match) else (lambda line: match in line)
    with open(path) as f:
        return [n for n, line in enumerate(f, 1) if test(line)]


def line_of(path, match):
    """The first line of lines_with(path, match); the test stops if there is none (the
    source no longer has the text an expectation names)."""
    found = lines_with(path, match)
    if not found:
        raise SystemExit("no line with %r in %s" % (match, path))
    return found[0]
