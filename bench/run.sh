#!/usr/bin/env bash
# bench/run.sh: leakgraph against heaptrack on the same workloads, in one invocation.
#
# For every workload it runs the program untraced, under `leakgraph run` and under `heaptrack`,
# RUNS times each (interleaved: base, leakgraph, the cheap-scrub cell below, heaptrack, base,
# ...), and after each traced run times the analysis of that run's trace (`leakgraph report`
# vs `heaptrack_print`). It prints the medians and a table of ratios against the untraced run.
# See docs/bench.md for what every column means and how it is measured.
#
# It fails loudly (exit 1) when a run fails or a sanity check fails: the microbenchmark's
# report must hold exactly its known leaks, with their complete stack (every recursion frame
# down to main, or to the thread's start routine); real programs must have traced events and
# at least one leak stack that reaches the process or thread entry. A target that is missed is
# reported (MISS) but is not a failure; --strict makes it one.
#
# A second leakgraph cell runs each workload with LEAKGRAPH_SCRUB_MAX=256 (the cheap scrub:
# at most 256 bytes of each fresh block zeroed, instead of every byte), so the last table
# gives the cost of the exact default against it (--no-cheap-scrub skips that cell).
#
# usage: bench/run.sh [--quick] [--runs N] [--only W1,W2] [--build DIR] [--no-build]
#                     [--workdir DIR] [--keep] [--strict] [--no-cheap-scrub]
#        bench/run.sh --scale [--quick] [--build DIR] [--no-build] [--workdir DIR] [--keep] [--strict]
#   --quick     1 run each and small sizes (smoke test, ~1 minute)
#   --scale     the scale section instead (issue #14; bench/scale/scale.sh): the microbenchmark
#               at 200M events with 1, 2 and 8 threads and the pathological shapes of
#               bench/scale/*.c, one run per cell, with Valgrind on the shapes and a table of
#               targets (20-40 minutes on 2 shared cores; with --quick small sizes, ~1 minute)
#   --runs N    runs per (workload, tool) (default 5; the medians need >= 5)
#   --only L    workloads, comma-separated, from: micro1 micro2 sqlite python xmllint
#   --build D   leakgraph build directory (default: <repo>/build-bench, configured and built
#               RelWithDebInfo by this script unless --no-build)
#   --workdir D where generated inputs and traces go (default: a new directory in $TMPDIR)
#   --keep      keep the work directory
#   --strict    exit 2 if a target is missed
#   --no-cheap-scrub  no LEAKGRAPH_SCRUB_MAX=256 cell (and no scrubbing table)
# It owns nothing outside its work directory and the build directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=5
QUICK=0
ONLY="micro1,micro2,sqlite,python,xmllint"
BUILD="$ROOT/build-bench"
DO_BUILD=1
WORK=""
KEEP=0
STRICT=0
CHEAP=1
SCALE=0

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1; RUNS=1 ;;
    --runs) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --workdir) WORK=$2; shift ;;
    --keep) KEEP=1 ;;
    --strict) STRICT=1 ;;
    --no-cheap-scrub) CHEAP=0 ;;
    --scale) SCALE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"
[ "$RUNS" -ge 5 ] || [ "$QUICK" = 1 ] || [ "$SCALE" = 1 ] || note "warning: fewer than 5 runs, medians are noisy"

# ---- sizes: each real program runs ~1-3 s untraced on the 2-core reference machine -------
if [ "$QUICK" = 1 ]; then
    MICRO_EVENTS=1000000 SQL_ROWS=15000 PY_ITEMS=20000 XML_ITEMS=20000
else
    MICRO_EVENTS=10000000 SQL_ROWS=150000 PY_ITEMS=200000 XML_ITEMS=200000
fi
MICRO_LEAKS=1000

# ---- tools ------------------------------------------------------------------------------
need_pkg() { # need_pkg COMMAND PACKAGE: 0 if COMMAND is there (installing PACKAGE if root)
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        note "installing $2 for $1"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1; } || true
    fi
    command -v "$1" >/dev/null 2>&1
}
[ -x /usr/bin/time ] || need_pkg /usr/bin/time time || die "GNU time (/usr/bin/time) is required"
/usr/bin/time -f %M true 2>/dev/null || die "/usr/bin/time is not GNU time"
HAVE_HT=1
need_pkg heaptrack heaptrack && need_pkg heaptrack_print heaptrack ||
    { HAVE_HT=0; note "heaptrack is not available: its columns are n/a"; }
# Real python, not a pyenv-style wrapper (that would trace a shell and its children).
PYTHON=""
for p in /usr/bin/python3; do
    [ -x "$p" ] && case "$(readlink -f "$p")" in */python3*) PYTHON=$p ;; esac
done
JSONPY=${PYTHON:-python3} # only parses reports, never measured

if [ "$DO_BUILD" = 1 ]; then
    note "building leakgraph in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"${TMPDIR:-/tmp}/lgbench-cmake.$$" 2>&1 &&
        cmake --build "$BUILD" -j2 --target leakgraph leakgraph_shim \
            >>"${TMPDIR:-/tmp}/lgbench-cmake.$$" 2>&1 ||
        cmake --build "$BUILD" -j2 >>"${TMPDIR:-/tmp}/lgbench-cmake.$$" 2>&1 ||
        { cat "${TMPDIR:-/tmp}/lgbench-cmake.$$" >&2; rm -f "${TMPDIR:-/tmp}/lgbench-cmake.$$"; die "build failed"; }
    rm -f "${TMPDIR:-/tmp}/lgbench-cmake.$$"
fi
LG="$BUILD/bin/leakgraph"
[ -x "$LG" ] && [ -f "$BUILD/lib/libleakgraph.so" ] || die "no leakgraph in $BUILD (build it, or --build DIR)"

if [ -z "$WORK" ]; then WORK=$(mktemp -d "${TMPDIR:-/tmp}/lgbench.XXXXXX"); else mkdir -p "$WORK"; fi
WORK=$(cd "$WORK" && pwd)
cleanup() { [ "$KEEP" = 1 ] && note "work directory kept: $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

# ---- inputs -----------------------------------------------------------------------------
# -fomit-frame-pointer on purpose: stacks must be complete without frame pointers.
cc -O2 -g -fomit-frame-pointer -pthread -Wall -Wextra -o "$WORK/mallocbench" \
    "$ROOT/bench/mallocbench.c" || die "cannot build the microbenchmark"

gen_sql() { # a script of single-row INSERTs (each parsed and planned), an index, two queries
    awk -v n="$SQL_ROWS" 'BEGIN {
        srand(1)
        print "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
        print "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL, grp INT);"
        print "BEGIN;"
        for (i = 0; i < n; i++) {
            s = ""; for (k = 0; k < 3; k++) s = s sprintf("%x", int(rand() * 2^30))
            printf "INSERT INTO t(name,v,grp) VALUES(\x27%s\x27,%.3f,%d);\n", s, rand() * 1000, int(rand() * 500)
        }
        print "COMMIT;"
        print "CREATE INDEX t_name ON t(name);"
        print "SELECT grp, count(*), avg(v), max(name) FROM t GROUP BY grp ORDER BY 2 DESC LIMIT 3;"
        print "SELECT count(*) FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.grp = b.grp;"
    }' >"$WORK/bench.sql"
}
gen_xml() { # a flat catalogue of small elements with attributes and text
    awk -v n="$XML_ITEMS" 'BEGIN {
        srand(2)
        print "<?xml version=\"1.0\"?>"; print "<catalog>"
        for (i = 0; i < n; i++)
            printf "<item id=\"i%d\" grp=\"%d\"><name>n%x</name><price cur=\"EUR\">%.2f</price><tags><t>a%d</t><t>b%d</t></tags></item>\n",
                i, int(rand() * 100), int(rand() * 2^30), rand() * 100, i % 7, i % 13
        print "</catalog>"
    }' >"$WORK/bench.xml"
}
cat >"$WORK/bench.py" <<'EOF'
# dicts and lists of small objects: with PYTHONMALLOC=malloc every object is a malloc
import sys
n = int(sys.argv[1])
d = {}
for i in range(n):
    d["k%d" % i] = [i, str(i * 3), (i, i + 1), {"a": i}]
rows = sorted(d.items(), key=lambda kv: kv[1][1])
s = sum(len(v[1]) for k, v in rows)
del d, rows
print("python-bench", n, s)
EOF

# ---- workloads: wl_setup NAME sets CMD (array), STDIN and ENVV (array of VAR=value) -------
wl_setup() {
    STDIN=/dev/null ENVV=()
    case "$1" in
    micro1) CMD=("$WORK/mallocbench" "$MICRO_EVENTS" 1 "$MICRO_LEAKS") ;;
    micro2) CMD=("$WORK/mallocbench" "$MICRO_EVENTS" 2 "$MICRO_LEAKS") ;;
    sqlite)
        need_pkg sqlite3 sqlite3 || return 1
        [ -f "$WORK/bench.sql" ] || gen_sql
        CMD=("$(command -v sqlite3)" :memory:) STDIN="$WORK/bench.sql" ;;
    python)
        [ -n "$PYTHON" ] || return 1
        CMD=("$PYTHON" "$WORK/bench.py" "$PY_ITEMS") ENVV=(PYTHONMALLOC=malloc) ;;
    xmllint)
        need_pkg xmllint libxml2-utils || return 1
        [ -f "$WORK/bench.xml" ] || gen_xml
        CMD=("$(command -v xmllint)" --noout "$WORK/bench.xml") ;;
    *) die "unknown workload $1" ;;
    esac
}

# measure LOG CMD...: runs CMD (stdin $STDIN, environment ENVV, stdout discarded) under GNU
# time; sets WALL (seconds, from the shell's clock), CPU (user + system seconds of the process
# and all its reaped descendants) and RSS (KiB, GNU time's %M: the largest ru_maxrss of the
# process and its reaped descendants, i.e. of the biggest single process, not their sum).
measure() {
    local log=$1; shift
    local t0 t1 rc=0
    t0=$EPOCHREALTIME
    env "${ENVV[@]}" /usr/bin/time -f '%M %U %S' -o "$WORK/rss" "$@" <"$STDIN" >/dev/null 2>"$log" || rc=$?
    t1=$EPOCHREALTIME
    [ $rc = 0 ] || { tail -5 "$log" >&2; die "failed ($rc): $*"; }
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    read -r RSS CPU < <(tail -1 "$WORK/rss" | awk '{ printf "%d %.2f\n", $1, $2 + $3 }')
}
# timeit CMD...: sets WALL for CMD (stdout discarded)
timeit() {
    local t0 t1
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>"$WORK/an.log" || { tail -5 "$WORK/an.log" >&2; die "failed: $*"; }
    t1=$EPOCHREALTIME
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
}
median() { # median of the arguments
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) printf "%.4f\n", v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
filesize() { local s=0 f; for f in "$@"; do [ -f "$f" ] && s=$((s + $(stat -c %s "$f"))); done; echo $s; }

# check_trace NAME FILES...: sanity checks on leakgraph's JSON report; prints the event count.
check_trace() {
    local name=$1; shift
    "$LG" report --format json "$@" >"$WORK/report.json" 2>"$WORK/report.log" ||
        { cat "$WORK/report.log" >&2; die "$name: leakgraph report failed"; }
    "$JSONPY" - "$WORK/report.json" "$name" "$MICRO_EVENTS" "$MICRO_LEAKS" <<'EOF'
import json, sys
path, name, events_expected, leaks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
d = json.load(open(path))
procs = d["processes"]
events = sum(p["program"]["events"] for p in procs)
def fail(msg):
    sys.stderr.write("bench: %s: SANITY CHECK FAILED: %s\n" % (name, msg))
    sys.exit(1)
for p in procs:
    if not p["program"]["complete"]:
        fail("trace %s is incomplete (%s)" % (p["program"]["trace"], p["program"]["problem"]))
if name.startswith("micro"):
    threads = int(name[5:])
    if events < events_expected + leaks:
        fail("%d events traced, expected at least %d" % (events, events_expected + leaks))
    want = ["leak_site", "loop", "depth_bottom"] + ["depth_%02d" % i for i in range(15, 0, -1)]
    want.append("main" if threads == 1 else "worker")
    recs = [l for l in d["leaks"] if l["stack"] and l["stack"][0]["function"] == "leak_site"]
    blocks = sum(l["blocks"] for l in recs)
    if blocks != leaks:
        fail("%d blocks leaked from leak_site in the report, expected %d (summary: %s)"
             % (blocks, leaks, d["summary"]))
    for l in recs:
        fns = [f["function"] for f in l["stack"]]
        if fns[:len(want)] != want:
            fail("incomplete stack %s, expected it to start with %s" % (fns, want))
else:
    if events < 100000:
        fail("only %d events traced" % events)
    entry = {"__libc_start_main_impl", "__libc_start_main", "_start", "_dl_start_user",
             "start_thread", "__clone3", "__clone", "clone"}
    recs = [l for l in d["leaks"] if l["stack"]]
    full = [l for l in recs if entry & {f["function"] for f in l["stack"][-3:]}]
    if recs and not full:
        fail("no leak stack reaches the process or thread entry")
print(events)
EOF
}

# ---- the scale section: its own rows and tables, then exit -------------------------------
if [ "$SCALE" = 1 ]; then
    # shellcheck source=bench/scale/scale.sh
    . "$ROOT/bench/scale/scale.sh"
fi

# ---- the runs -----------------------------------------------------------------------------
IFS=, read -r -a WLS <<<"$ONLY"
declare -A R # R[workload,key] = value
DONE=()
for w in "${WLS[@]}"; do
    if ! wl_setup "$w"; then note "$w: skipped (program not available; install it as root)"; continue; fi
    note "$w: ${ENVV[*]} ${CMD[*]}${STDIN:+ < $STDIN} ($RUNS runs each)"
    bw=() bm=() bc=() lw=() lm=() lc=() lb=() la=() hw=() hm=() hc=() hb=() ha=() sw=() sc=()
    for ((r = 1; r <= RUNS; r++)); do
        measure "$WORK/base.log" "${CMD[@]}"; bw+=("$WALL") bm+=("$RSS") bc+=("$CPU")

        rm -f "$WORK"/t.lgt*
        measure "$WORK/lg.log" "$LG" run --quiet --output "$WORK/t.lgt" -- "${CMD[@]}"
        lw+=("$WALL") lm+=("$RSS") lc+=("$CPU") lb+=("$(filesize "$WORK"/t.lgt*)")
        timeit "$LG" report "$WORK"/t.lgt*; la+=("$WALL")
        if [ $r = 1 ]; then R[$w,events]=$(check_trace "$w" "$WORK"/t.lgt*) || exit 1; fi
        rm -f "$WORK"/t.lgt*

        if [ $CHEAP = 1 ]; then # the same, with the cheap scrub
            measure "$WORK/lgc.log" env LEAKGRAPH_SCRUB_MAX=256 "$LG" run --quiet --output "$WORK/t.lgt" -- "${CMD[@]}"
            sw+=("$WALL") sc+=("$CPU")
            rm -f "$WORK"/t.lgt*
        fi

        if [ $HAVE_HT = 1 ]; then
            rm -f "$WORK"/hp.*
            measure "$WORK/ht.log" heaptrack -o "$WORK/hp" "${CMD[@]}"
            hf=""
            for f in "$WORK"/hp.zst "$WORK"/hp.gz; do [ -f "$f" ] && hf=$f && break; done
            [ -n "$hf" ] || die "$w: heaptrack wrote no file"
            hw+=("$WALL") hm+=("$RSS") hc+=("$CPU") hb+=("$(filesize "$hf")")
            timeit heaptrack_print "$hf"; ha+=("$WALL")
            rm -f "$WORK"/hp.*
        fi
        [ $HAVE_HT = 1 ] && last_ht=${hw[-1]} || last_ht=n/a
        note "$w run $r: base ${bw[-1]}s lg ${lw[-1]}s${sw:+ lg-cheap-scrub ${sw[-1]}s} ht ${last_ht}s"
    done
    R[$w,bw]=$(median "${bw[@]}") R[$w,bm]=$(median "${bm[@]}") R[$w,bc]=$(median "${bc[@]}")
    R[$w,lc]=$(median "${lc[@]}")
    R[$w,lw]=$(median "${lw[@]}") R[$w,lm]=$(median "${lm[@]}")
    R[$w,lb]=$(median "${lb[@]}") R[$w,la]=$(median "${la[@]}")
    [ $CHEAP = 1 ] && R[$w,sw]=$(median "${sw[@]}") R[$w,sc]=$(median "${sc[@]}")
    if [ $HAVE_HT = 1 ]; then
        R[$w,hw]=$(median "${hw[@]}") R[$w,hm]=$(median "${hm[@]}") R[$w,hc]=$(median "${hc[@]}")
        R[$w,hb]=$(median "${hb[@]}") R[$w,ha]=$(median "${ha[@]}")
    fi
    DONE+=("$w")
done
[ ${#DONE[@]} -gt 0 ] || die "no workload ran"

# ---- the tables ---------------------------------------------------------------------------
g() { echo "${R[$1,$2]:-nan}"; }
echo
echo "leakgraph bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $RUNS run(s) per cell, medians"
echo "$(uname -srm); $("$LG" --version 2>/dev/null | head -1); heaptrack $(heaptrack --version 2>/dev/null | awk '{print $2}')"
echo
echo "Raw medians (wall s, cpu s = user+sys of the process tree, peak RSS KiB, trace bytes, analysis s):"
fmt() { awk -v x="$1" -v d="$2" 'BEGIN { if (x == "nan" || x == "") print "n/a"; else printf "%.*f\n", d, x }'; }
printf '%-8s %10s %7s %7s %7s %7s %7s %7s %8s %8s %8s %10s %10s %7s %7s\n' workload events base_s lg_s ht_s \
    base_cpu lg_cpu ht_cpu base_KiB lg_KiB ht_KiB lg_bytes ht_bytes report print
for w in "${DONE[@]}"; do
    printf '%-8s %10s %7s %7s %7s %7s %7s %7s %8s %8s %8s %10s %10s %7s %7s\n' "$w" "$(g $w events)" \
        "$(fmt "$(g $w bw)" 3)" "$(fmt "$(g $w lw)" 3)" "$(fmt "$(g $w hw)" 3)" \
        "$(fmt "$(g $w bc)" 2)" "$(fmt "$(g $w lc)" 2)" "$(fmt "$(g $w hc)" 2)" \
        "$(fmt "$(g $w bm)" 0)" "$(fmt "$(g $w lm)" 0)" "$(fmt "$(g $w hm)" 0)" \
        "$(fmt "$(g $w lb)" 0)" "$(fmt "$(g $w hb)" 0)" "$(fmt "$(g $w la)" 3)" "$(fmt "$(g $w ha)" 3)"
done
echo
echo "Ratios against untraced (overhead = ratio - 1; ovh lg/ht = leakgraph's overhead over"
echo "heaptrack's, on wall time and on cpu time); B/ev = trace bytes per event (events as counted"
echo "by leakgraph, for both tools); analysis s = leakgraph report vs heaptrack_print:"
printf '%-8s | %7s %7s %9s | %6s %6s %9s | %6s %6s | %7s %7s | %7s %7s | %s\n' workload lg_wall ht_wall "ovh lg/ht" \
    lg_cpu ht_cpu "ovh lg/ht" lg_rss ht_rss lg_B/ev ht_B/ev report print targets
MISSED=0
for w in "${DONE[@]}"; do
    line=$(awk -v ev="$(g $w events)" -v bw="$(g $w bw)" -v lw="$(g $w lw)" -v hw="$(g $w hw)" \
        -v bc="$(g $w bc)" -v lc="$(g $w lc)" -v hc="$(g $w hc)" -v bm="$(g $w bm)" -v lm="$(g $w lm)" -v hm="$(g $w hm)" -v lb="$(g $w lb)" -v hb="$(g $w hb)" \
        -v la="$(g $w la)" -v ha="$(g $w ha)" -v micro="$([[ $w == micro* ]] && echo 1 || echo 0)" '
        function f(x, fmt) { return (x == "nan" || x == "") ? "n/a" : sprintf(fmt, x) }
        BEGIN {
            ht = (hw != "nan" && hw != "")
            lr = lw / bw; hr = ht ? hw / bw : "nan"
            q = ht && hr > 1 ? (lr - 1) / (hr - 1) : "nan"
            lcr = lc / bc; hcr = ht ? hc / bc : "nan"
            qc = ht && hcr > 1 ? (lcr - 1) / (hcr - 1) : "nan"
            t = ""; miss = 0
            if (ht) { ok = (lr - 1) <= 0.5 * (hr - 1); t = t (ok ? "ovh PASS" : "ovh MISS"); miss += !ok }
            if (micro) {
                ok = lb / ev <= 4; t = t (ok ? ", B/ev PASS" : ", B/ev MISS"); miss += !ok
                if (ht) { ok = la <= ha; t = t (ok ? ", analysis PASS" : ", analysis MISS"); miss += !ok }
            }
            printf "%s|%d\n", sprintf("%7s %7s %9s | %6s %6s %9s | %6s %6s | %7s %7s | %7s %7s | %s",
                f(lr, "%.2f"), f(hr, "%.2f"), f(q, "%.2f"), f(lcr, "%.2f"), f(hcr, "%.2f"), f(qc, "%.2f"), f(lm / bm, "%.2f"),
                f(ht ? hm / bm : "nan", "%.2f"), f(lb / ev, "%.2f"), f(ht ? hb / ev : "nan", "%.2f"),
                f(la, "%.3f"), f(ha, "%.3f"), t), miss
        }')
    printf '%-8s | %s\n' "$w" "${line%|*}"
    MISSED=$((MISSED + ${line##*|}))
done
echo
echo "Targets: wall-time overhead (ratio-1) <= half of heaptrack's (ovh lg/ht <= 0.50) on every workload;"
echo "<= 4 trace bytes per event and report <= heaptrack_print on the microbenchmark."
echo "Stacks: complete (checked on the microbenchmark's leaks: all 15 recursion frames to main)."
if [ $CHEAP = 1 ]; then
    echo
    echo "Scrubbing: leakgraph as above (every unwritten byte of a fresh block zeroed, the default)"
    echo "against LEAKGRAPH_SCRUB_MAX=256 (at most 256 bytes per block); cost = exact / cheap - 1:"
    printf '%-8s | %7s %7s %7s | %7s %7s %7s\n' workload lg_s cheap_s cost lg_cpu cheap_cpu cost
    for w in "${DONE[@]}"; do
        awk -v w="$w" -v lw="$(g $w lw)" -v sw="$(g $w sw)" -v lc="$(g $w lc)" -v sc="$(g $w sc)" 'BEGIN {
            printf "%-8s | %7.3f %7.3f %+6.1f%% | %7.2f %7.2f %+6.1f%%\n", w, lw, sw, 100 * (lw / sw - 1),
                lc, sc, (sc > 0 ? 100 * (lc / sc - 1) : 0) }'
    done
fi
if [ $MISSED -gt 0 ]; then
    echo "$MISSED target(s) missed."
    [ $STRICT = 1 ] && exit 2
fi
exit 0
