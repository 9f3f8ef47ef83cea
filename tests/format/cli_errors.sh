#!/usr/bin/env bash
# cli_errors.sh: the `leakgraph` command line on inputs it must refuse, label "format".
# Usage: cli_errors.sh LEAKGRAPH MKTRACE HOSTILE
# Checks exit codes (1: a trace could not be read, 2: usage error; 3 from check and baseline),
# that stderr holds a clear message (one line for unreadable traces; the first line for usage
# errors, which may be followed by the usage text), that nothing crashed (no "Segmentation", no
# sanitizer report) and that nothing hangs (every command runs under a 60 s timeout). HOSTILE
# is test_hostile, which writes the crafted traces every command must refuse. Works in a
# private temporary directory.
set -u
LG=${1:?usage: cli_errors.sh LEAKGRAPH MKTRACE HOSTILE}
MK=${2:?usage: cli_errors.sh LEAKGRAPH MKTRACE HOSTILE}
HOSTILE=${3:?usage: cli_errors.sh LEAKGRAPH MKTRACE HOSTILE}
dir=$(mktemp -d "${TMPDIR:-/tmp}/lgcli.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
fails=0

fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# run NAME WANT_EXIT PATTERN ONE_LINE ARGS...: runs leakgraph ARGS, checks the exit code, that
# the first line of stderr matches PATTERN (grep -E), that stderr is one line if ONE_LINE=1,
# and that it holds no crash report.
run() {
    local name=$1 want=$2 pattern=$3 one=$4
    shift 4
    timeout -k 5 60 "$LG" "$@" >"$dir/out" 2>"$dir/err" </dev/null
    local got=$?
    [ "$got" = 124 ] && fail "$name: timed out (a hang)"
    [ "$got" = "$want" ] || fail "$name: exit $got, want $want"
    if grep -qE 'Segmentation|AddressSanitizer|LeakSanitizer|runtime error|core dumped' "$dir/err"; then
        fail "$name: crash report on stderr"
    fi
    local first
    first=$(head -n 1 "$dir/err")
    [ -n "$first" ] || fail "$name: empty stderr"
    echo "$first" | grep -qE -- "$pattern" || fail "$name: first stderr line '$first' !~ /$pattern/"
    if [ "$one" = 1 ] && [ "$(wc -l <"$dir/err")" != 1 ]; then
        fail "$name: stderr is not one line:"
        cat "$dir/err" >&2
    fi
}

"$MK" "$dir/good.lgt" || { echo "FAIL: mktrace" >&2; exit 1; }
"$MK" "$dir/noend.lgt" noend || { echo "FAIL: mktrace noend" >&2; exit 1; }
size=$(stat -c %s "$dir/good.lgt")

# The good trace works (so the failures below are about the inputs).
"$LG" report "$dir/good.lgt" >"$dir/out" 2>"$dir/err"
rc=$?
[ "$rc" = 0 ] || { fail "report on a good trace: exit $rc"; cat "$dir/err" >&2; }
[ -s "$dir/err" ] && { fail "report on a good trace wrote to stderr"; cat "$dir/err" >&2; }
grep -q 'incomplete' "$dir/out" && fail "good trace reported as incomplete"

# Unreadable traces: exit 1, one line naming the file.
run missing 1 "$dir/nope.lgt: No such file" 1 report "$dir/nope.lgt"
run missing-dump 1 "$dir/nope.lgt: No such file" 1 dump "$dir/nope.lgt"
run directory 1 "$dir: .*(regular file|directory)" 1 report "$dir"
printf 'hello, I am not a trace\n' >"$dir/text.txt"
run not-a-trace 1 "not a leakgraph trace" 1 report "$dir/text.txt"
: >"$dir/empty.lgt"
run empty 1 "$dir/empty.lgt: .+" 1 report "$dir/empty.lgt"
head -c 20 "$dir/good.lgt" >"$dir/cut20.lgt"
run cut-in-header 1 "$dir/cut20.lgt: .+" 1 report "$dir/cut20.lgt"
head -c 40 "$dir/good.lgt" >"$dir/cut40.lgt"
run cut-in-process 1 "$dir/cut40.lgt: .*(truncated|cut|process)" 1 report "$dir/cut40.lgt"
run cut-in-process-dump 1 "$dir/cut40.lgt: .+" 1 dump "$dir/cut40.lgt"
{ head -c 8 "$dir/good.lgt"; printf '\003\000\000\000'; tail -c +13 "$dir/good.lgt"; } >"$dir/v3.lgt"
run version-3 1 "version 3" 1 report "$dir/v3.lgt"
# one unreadable trace among good ones: exit 1, the good one is still reported
run one-missing 1 "$dir/nope.lgt: No such file" 1 report "$dir/good.lgt" "$dir/nope.lgt"
[ -s "$dir/out" ] || fail "one-missing: the readable trace was not reported"

# A FIFO named as the trace: refused at once, never opened blocking.
mkfifo "$dir/fifo.lgt"
run fifo 1 "$dir/fifo.lgt: not a regular file" 1 report "$dir/fifo.lgt"
run fifo-dump 1 "$dir/fifo.lgt: not a regular file" 1 dump "$dir/fifo.lgt"
run fifo-check 3 "$dir/fifo.lgt: not a regular file" 1 check "$dir/fifo.lgt"

# Crafted traces (right checksums, contents no writer produces: test_hostile.c): every command
# refuses them with one line naming the file, never exit 0, never a crash.
mkdir "$dir/hostile"
"$HOSTILE" --write "$dir/hostile" || { echo "FAIL: test_hostile --write" >&2; exit 1; }
for f in "$dir"/hostile/refused-*.lgt; do
    n=$(basename "$f" .lgt)
    run "$n-report" 1 "^leakgraph: $f: .*not a trace a leakgraph writer produced" 1 report "$f"
    run "$n-dump" 1 "$f: .*not a trace a leakgraph writer produced" 1 dump "$f"
    run "$n-check" 3 "$f: .*not a trace a leakgraph writer produced" 1 check "$f"
    run "$n-baseline" 3 "$f: .*not a trace a leakgraph writer produced" 1 baseline "$f"
done
# A child whose parent's trace (beside it) is a FIFO: read without its inherited blocks, no hang.
c="$dir/hostile/child.lgt.7"
for cmd in report dump check baseline; do
    timeout -k 5 60 "$LG" $cmd "$c" >"$dir/out" 2>"$dir/err" </dev/null
    rc=$?
    [ "$rc" = 124 ] && fail "fifo-parent-$cmd: timed out (a hang)"
    grep -qE 'Segmentation|Sanitizer|runtime error' "$dir/err" && fail "fifo-parent-$cmd: crash report"
done
timeout -k 5 60 "$LG" dump "$c" >"$dir/out" 2>&1
grep -q "child.lgt: not a regular file" "$dir/out" || fail "fifo-parent: dump does not say why the inherited blocks are unknown"

# A trace cut after its header, and one without END: readable, reported with a warning.
head -c $((size - 7)) "$dir/good.lgt" >"$dir/cutend.lgt"
for f in cutend noend; do
    "$LG" report "$dir/$f.lgt" >"$dir/out" 2>"$dir/err"
    rc=$?
    [ "$rc" = 0 ] || fail "$f: report exit $rc, want 0"
    grep -q 'WARNING: the trace is incomplete' "$dir/out" || fail "$f: no incomplete warning"
    grep -qE 'Segmentation|Sanitizer|runtime error' "$dir/err" && fail "$f: crash report"
    "$LG" dump "$dir/$f.lgt" >"$dir/out" 2>"$dir/err"
    rc=$?
    [ "$rc" = 0 ] || fail "$f: dump exit $rc, want 0"
    grep -q 'complete=no' "$dir/out" || fail "$f: dump does not say complete=no"
done

# Usage errors: exit 2.
run no-command 2 "usage: leakgraph" 0
run unknown-command 2 "unknown command 'frobnicate'" 0 frobnicate
run unknown-option 2 "(unrecognized|unknown) option.*bogus" 0 report --bogus "$dir/good.lgt"
run report-no-args 2 "no trace given" 1 report
run bad-format 2 "unknown format 'xml'" 1 report --format xml "$dir/good.lgt"
run bad-max-frames 2 "max-frames" 1 report --max-frames lots "$dir/good.lgt"
run dump-no-args 2 "usage: leakgraph dump" 1 dump
run dump-two-args 2 "usage: leakgraph dump" 1 dump "$dir/good.lgt" "$dir/good.lgt"
run run-no-program 2 "no program given" 1 run

if [ "$fails" -ne 0 ]; then
    echo "cli_errors: $fails check(s) failed" >&2
    exit 1
fi
echo "cli_errors: all checks passed"
