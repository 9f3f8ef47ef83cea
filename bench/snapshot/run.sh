#!/usr/bin/env bash
# bench/snapshot/run.sh: the cost of leakgraph's leak check (the exit snapshot) on a heap of
# 10M live blocks (~1 GiB), next to Memcheck's leak check on the same program (issue 3).
#
# It builds bench/snapshot/heapgraph.c (cc -O2 -g) and runs it
#  (a) untraced;
#  (b) under `leakgraph run` with LEAKGRAPH_VERBOSE=1: the collector prints what the snapshot
#      cost (replay of the trace for the live blocks, scan of the process's memory, write of
#      the SNAPSHOT block) and its own peak RSS (VmHWM); then `leakgraph report --format json`
#      on the trace, timed, with its peak RSS;
#  (c) under `valgrind --tool=memcheck --leak-check=full --time-stamp=yes`: the leak check's
#      own time is from the "HEAP SUMMARY" line (the program has exited) to the "LEAK SUMMARY"
#      line (records printed); peak RSS by GNU time.
# and prints a table with ratios, then leakgraph's four totals (definite, indirect, possible,
# reachable) next to Memcheck's: it exits 1 if they differ or a run fails.
#
# usage: bench/snapshot/run.sh [--quick] [--blocks N] [--build DIR] [--no-build]
#                              [--no-memcheck] [--keep]
#   --quick        1M blocks instead of 10M (~1 minute instead of ~6)
#   --blocks N     live blocks of the program (default 10000000)
#   --build DIR    leakgraph build directory (default <repo>/build-snap, configured and built
#                  RelWithDebInfo unless --no-build)
#   --no-memcheck  skip (c)
#   --keep         keep the work directory (traces, logs)
# It owns nothing outside its work directory (in $TMPDIR) and the build directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BLOCKS=10000000
BUILD="$ROOT/build-snap"
DO_BUILD=1
MEMCHECK=1
KEEP=0

die() { echo "snapshot bench: $*" >&2; exit 1; }
note() { echo "snapshot bench: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) BLOCKS=1000000 ;;
    --blocks) BLOCKS=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --no-memcheck) MEMCHECK=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
[[ $BLOCKS =~ ^[1-9][0-9]*$ ]] || die "--blocks needs a positive number"
/usr/bin/time -f %M true >/dev/null 2>&1 || die "GNU time (/usr/bin/time) is required"
PY=/usr/bin/python3
[ -x "$PY" ] || die "/usr/bin/python3 is required"
if [ "$MEMCHECK" = 1 ] && ! command -v valgrind >/dev/null; then
    note "valgrind is not installed: Memcheck's columns say n/a"
    MEMCHECK=0
fi

if [ "$DO_BUILD" = 1 ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j2 --target leakgraph >/dev/null
fi
LG="$BUILD/bin/leakgraph"
[ -x "$LG" ] || die "no leakgraph in $BUILD/bin"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lgsnap.XXXXXX")
cleanup() { if [ "$KEEP" = 1 ]; then note "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
cc -O2 -g -o "$WORK/heapgraph" "$ROOT/bench/snapshot/heapgraph.c"
PROG=("$WORK/heapgraph" "$BLOCKS")

# ---- (a) untraced ----------------------------------------------------------------------------
note "untraced: ${PROG[*]}"
/usr/bin/time -f "%e %M" -o "$WORK/base.time" "${PROG[@]}" 2>"$WORK/base.err" ||
    die "the program failed: $(cat "$WORK/base.err")"
read -r BASE_S BASE_KB <"$WORK/base.time"

# ---- (b) leakgraph ---------------------------------------------------------------------------
note "leakgraph run"
LEAKGRAPH_VERBOSE=1 /usr/bin/time -f "%e %M" -o "$WORK/lg.time" \
    "$LG" run --output "$WORK/t.lgt" -- "${PROG[@]}" 2>"$WORK/lg.err" ||
    die "leakgraph run failed: $(cat "$WORK/lg.err")"
read -r LG_S LG_TREE_KB <"$WORK/lg.time"
SNAPLINE=$(grep 'leakgraph: snapshot of pid' "$WORK/lg.err" | tail -1)
[ -n "$SNAPLINE" ] || die "no snapshot timing from the collector: $(cat "$WORK/lg.err")"
note "leakgraph report"
/usr/bin/time -f "%e %M" -o "$WORK/rep.time" "$LG" report --format json "$WORK/t.lgt" \
    >"$WORK/rep.json" 2>"$WORK/rep.err" || die "leakgraph report failed: $(cat "$WORK/rep.err")"
read -r REP_S REP_KB <"$WORK/rep.time"

# ---- (c) Memcheck ----------------------------------------------------------------------------
if [ "$MEMCHECK" = 1 ]; then
    note "valgrind --tool=memcheck --leak-check=full (minutes)"
    /usr/bin/time -f "%e %M" -o "$WORK/vg.time" valgrind --tool=memcheck --leak-check=full \
        --time-stamp=yes --log-file="$WORK/vg.log" "${PROG[@]}" 2>"$WORK/vg.err" ||
        die "valgrind failed: $(cat "$WORK/vg.err")"
else
    : >"$WORK/vg.log"
    echo "0 0" >"$WORK/vg.time"
fi

# ---- table and totals ------------------------------------------------------------------------
BASE_S=$BASE_S BASE_KB=$BASE_KB LG_S=$LG_S LG_TREE_KB=$LG_TREE_KB REP_S=$REP_S REP_KB=$REP_KB \
SNAPLINE=$SNAPLINE MEMCHECK=$MEMCHECK WORK=$WORK BLOCKS=$BLOCKS "$PY" - <<'EOF'
import json, os, re, sys

E = os.environ
W = E["WORK"]
mem = E["MEMCHECK"] == "1"
d = json.load(open(os.path.join(W, "rep.json")))
chk = d["program"].get("check") or sys.exit("snapshot bench: the trace has no leak check")
snap = E["SNAPLINE"]
m = re.search(r"(\d+) blocks; replay ([\d.]+) ms \(load ([\d.]+), sort ([\d.]+)\), scan ([\d.]+) ms, "
              r"write ([\d.]+) ms \(payload (\d+) bytes\); collector peak RSS (\d+) KiB", snap)
if not m:
    sys.exit("snapshot bench: cannot parse: " + snap)
nblk, replay, load, sort, scan, write, payload, coll_kib = m.groups()
replay, scan, write = float(replay) / 1e3, float(scan) / 1e3, float(write) / 1e3
snap_s = replay + scan + write
coll_mb = int(coll_kib) / 1024
vg_s, vg_kb = open(os.path.join(W, "vg.time")).read().split()
vg_s, vg_mb = float(vg_s), int(vg_kb) / 1024
log = open(os.path.join(W, "vg.log")).read()

def stamp(label):
    m = re.search(r"==(\d+):(\d+):(\d+):(\d+)\.(\d+) \d+== " + label, log)
    if not m:
        return None
    dd, hh, mm, ss, ms = map(int, m.groups())
    return (((dd * 24 + hh) * 60 + mm) * 60 + ss) + ms / 1000.0

t_heap, t_leak = stamp("HEAP SUMMARY"), stamp("LEAK SUMMARY")
vg_check = t_leak - t_heap if mem and t_heap is not None and t_leak is not None else None
base_s, base_mb = float(E["BASE_S"]), int(E["BASE_KB"]) / 1024
lg_s, tree_mb = float(E["LG_S"]), int(E["LG_TREE_KB"]) / 1024
rep_s, rep_mb = float(E["REP_S"]), int(E["REP_KB"]) / 1024
unf = d["summary"]["unfreed"]

def f(x, unit):
    return "n/a" if x is None else ("%.2f %s" % (x, unit) if unit == "s" else "%.0f %s" % (x, unit))

def ratio(a, b):
    return "n/a" if a is None or b is None or not b else "%.1fx" % (a / b)

print()
print("program: heapgraph %s: %d live blocks, %.2f GiB; scanned %.2f GiB; payload %.0f MB"
      % (E["BLOCKS"], unf["blocks"], unf["bytes"] / 2**30, chk["scanned"] / 2**30, int(payload) / 1e6))
print("untraced: %.2f s, peak RSS %.0f MB" % (base_s, base_mb))
print()
rows = [
    ("leak check: time", snap_s, "s", vg_check),
    ("  leakgraph: replay (load %.0f ms, sort %s ms)" % (float(load), sort), replay, "s", None),
    ("  leakgraph: scan (check.ns %.0f ms)" % (chk["ns"] / 1e6), scan, "s", None),
    ("  leakgraph: write SNAPSHOT", write, "s", None),
    ("leak check: checker's peak RSS", coll_mb, "MB", vg_mb if mem else None),
    ("whole run (program + check)", lg_s, "s", vg_s if mem else None),
    ("leakgraph report (json)", rep_s, "s", None),
    ("leakgraph report peak RSS", rep_mb, "MB", None),
    ("run + report", lg_s + rep_s, "s", vg_s if mem else None),
]
print("%-48s %12s %12s %10s" % ("", "leakgraph", "memcheck", "mc/lg"))
for name, a, unit, b in rows:
    print("%-48s %12s %12s %10s" % (name, f(a, unit), f(b, unit) if b is not None else "",
                                    ratio(b, a) if b is not None else ""))
print("(leakgraph run's tree peak RSS by GNU time, i.e. max(program, collector): %.0f MB)" % tree_mb)

kinds = [("definite", "definitely lost"), ("indirect", "indirectly lost"),
         ("possible", "possibly lost"), ("reachable", "still reachable")]
print()
print("%-10s %26s %26s" % ("kind", "leakgraph bytes/blocks", "memcheck bytes/blocks"))
bad = False
for k, label in kinds:
    ours = (d["summary"][k]["bytes"], d["summary"][k]["blocks"])
    if mem:
        mm = re.search(label + r": ([\d,]+) bytes in ([\d,]+) blocks", log)
        theirs = (int(mm.group(1).replace(",", "")), int(mm.group(2).replace(",", ""))) if mm else (0, 0)
        diff = ours != theirs
        bad |= diff
        print("%-10s %26s %26s%s" % (k, "%d/%d" % ours, "%d/%d" % theirs, "   <-- differs" if diff else ""))
    else:
        print("%-10s %26s %26s" % (k, "%d/%d" % ours, "n/a"))
print("cycles: %d (%d blocks)" % (d["summary"]["cycles"]["count"], d["summary"]["cycles"]["blocks"]))
if bad:
    print("FAIL: leakgraph's totals differ from Memcheck's")
    sys.exit(1)
if mem:
    print("totals equal")
EOF
