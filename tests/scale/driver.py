"""tests/scale/driver.py: the reader's bounded memory end to end, and its progress line.

  mallocbench_8threads  bench/mallocbench.c, 4M events from 8 threads under `leakgraph run`:
                        `report` gives exactly its 1000 definitely lost blocks (one site) and
                        nothing else, and the reader's high-water marks (printed with
                        LEAKGRAPH_READ_STATS=1) stay within the bound of docs/trace-format.md
                        ("Limits of a reader"): about one waiting event per ring, at most one
                        stored and one decompressed EVENTS block (2 MiB each) per ring.
  progress_not_tty      `report` with stderr a pipe, even with LEAKGRAPH_PROGRESS_AFTER_MS=0,
                        prints no progress.
  progress_pty          `report` with stderr a pseudo-terminal and LEAKGRAPH_PROGRESS_AFTER_MS=0
                        shows the progress line ("leakgraph: reading NAME: P% of S MB, ...")
                        and erases it at the end.
Not timed: CTest's TIMEOUT only.
"""
import json, os, pty, re, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lgdriver
from lgdriver import A, check, expect_exit

STATS = re.compile(r"leakgraph: read (\S+): (\d+) events, at most (\d+) waiting, "
                   r"at most (\d+) bytes held")
MIB = 1 << 20


def bench(events, threads, leaks):
    d, out, r = lgdriver.run_fresh([lgdriver.prog("mallocbench"), str(events), str(threads),
                                    str(leaks)], quiet=True)
    expect_exit(r, 0, "leakgraph run mallocbench")
    return out


def t_mallocbench_8threads():
    out = bench(4000000, 8, 1000)
    r = lgdriver.leakgraph("report", "--format", "json", out,
                           env=dict(os.environ, LEAKGRAPH_READ_STATS="1"))
    if not expect_exit(r, 0, "report"):
        return
    rep = json.loads(r.stdout)
    leaks = rep["leaks"]
    check(len(leaks) == 1 and leaks[0]["kind"] == "definite" and leaks[0]["blocks"] == 1000 and
          leaks[0]["stack"][0]["function"] == "leak_site",
          "want one record of 1000 definitely lost blocks from leak_site, got %s" %
          [(l["kind"], l["blocks"], l["stack"][0].get("function")) for l in leaks])
    m = STATS.search(r.stderr)
    if not check(m is not None, "no reader statistics on stderr: %r" % r.stderr[-500:]):
        return
    events, waiting, held = int(m.group(2)), int(m.group(3)), int(m.group(4))
    check(events >= 4000000, "events replayed: %d" % events)
    # 8 workers, the main thread and the shared ring 0: 10 rings at most
    rings = 10
    check(waiting <= 2 * rings, "the reader held %d waiting events (bound %d)" % (waiting, 2 * rings))
    bound = (rings + 1) * 2 * MIB + 2 * 56 * (waiting + 16 * rings)
    check(held <= bound, "the reader held %d bytes (bound %d)" % (held, bound))
    print("events %d, peak waiting %d, peak held %d bytes" % (events, waiting, held))


def t_progress_not_tty():
    out = bench(200000, 1, 10)
    r = lgdriver.leakgraph("report", out, env=dict(os.environ, LEAKGRAPH_PROGRESS_AFTER_MS="0"))
    expect_exit(r, 0, "report")
    check("reading" not in r.stderr and "\r" not in r.stderr,
          "progress on a stderr that is not a terminal: %r" % r.stderr[-300:])


def t_progress_pty():
    out = bench(200000, 1, 10)
    master, slave = pty.openpty()
    p = subprocess.Popen([A.lg, "report", out], stdout=subprocess.PIPE, stderr=slave,
                         env=dict(os.environ, LEAKGRAPH_PROGRESS_AFTER_MS="0"))
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError: # EIO: the last writer closed the pty
            break
        if not chunk:
            break
        seen += chunk
    p.communicate(timeout=lgdriver.TIMEOUT)
    os.close(master)
    text = seen.decode(errors="replace")
    check(p.returncode == 0, "report on a pty: exit %d" % p.returncode)
    check(re.search(r"leakgraph: reading t\.lgt: +\d+% of [\d.]+ MB, [\d.]+M events/s", text),
          "no progress line on the pty: %r" % text[-300:])
    check(text.endswith("\r\x1b[K"), "the progress line is not erased at the end: %r" % text[-60:])


parser = lgdriver.parser(__doc__, "--progs")
parser.add_argument("scenario")
sys.exit(lgdriver.main(parser, lgdriver.by_name(globals())))
