#!/bin/sh
# bench/rcrt/run.sh - rcrt's benchmarks, side by side in one run:
#   1. allocator: rcrt vs glibc malloc vs CPython's pymalloc (bench_alloc; allocators
#      interleaved run by run, median of 9 LIFO / 5 random runs)
#   2. collector: a full collection over four 1M-object shapes, rcrt vs CPython's gc.collect()
#      (gc_shapes.py under python3, then bench_gc with its numbers; median of 5 runs each)
#   3. hooks: rcrt built with and without RC_TRACE_HOOKS, no tracer loaded. PAIRS runs of
#      bench_hooks_on and bench_hooks_off, alternating which goes first; the ratio is the
#      median of the per-pair ratios (each pair ran under about the same load), with the medians
#      of each side. Then, if valgrind is installed, the instructions per iteration of each
#      workload counted by callgrind (deterministic: the tie-breaker on a noisy machine).
# Times are CPU time of the process (the machine is shared; wall time swings with the load).
# Usage: bench/rcrt/run.sh [build-dir]   (default: build-rcrt next to this checkout)
#        PAIRS=n (default 21) sets the number of hook pairs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-rcrt}
bin=$build/runtime
pairs=${PAIRS:-21}
cmake -S "$root" -B "$build" >/dev/null
cmake --build "$build" -j2 --target rcrt_bench_alloc rcrt_bench_gc rcrt_bench_hooks_on \
    rcrt_bench_hooks_off >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== rcrt bench ($(date -u +%Y-%m-%d), $(uname -m), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
"$bin/rcrt_bench_alloc"
echo
python3 "$here/gc_shapes.py" 5 >"$tmp/py"
"$bin/rcrt_bench_gc" --python "$tmp/py" --runs 5
echo
echo "hooks: ns per iteration, hooks compiled in vs compiled out, no tracer"
echo "(each run best of 5; median of $pairs alternating pairs; ratio = median of pair ratios)"
i=0
: >"$tmp/hooks"
while [ $i -lt "$pairs" ]; do
    if [ $((i % 2)) -eq 0 ]; then
        on=$("$bin/rcrt_bench_hooks_on"); off=$("$bin/rcrt_bench_hooks_off")
    else
        off=$("$bin/rcrt_bench_hooks_off"); on=$("$bin/rcrt_bench_hooks_on")
    fi
    echo "$on $off" >>"$tmp/hooks"
    i=$((i + 1))
done
# Instructions per iteration (callgrind counts each instruction of the workload functions,
# callees included): 400 program and 2000 refcount iterations, once.
ir_on="- -"; ir_off="- -"
if command -v valgrind >/dev/null 2>&1 && command -v callgrind_annotate >/dev/null 2>&1; then
    for v in on off; do
        valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$v" \
            "$bin/rcrt_bench_hooks_$v" 400 2000 1 >/dev/null 2>&1
        ir=$(callgrind_annotate --inclusive=yes "$tmp/cg.$v" 2>/dev/null | awk '
            /bench_hooks.c:program_iteration \[/ { gsub(",", "", $1); p = $1 / 400 }
            /bench_hooks.c:refcount_wrapper \[/  { gsub(",", "", $1); r = $1 / 2000 }
            END { printf "%.0f %.0f", p, r }')
        if [ "$v" = on ]; then ir_on=$ir; else ir_off=$ir; fi
    done
fi
awk -v ir_on="$ir_on" -v ir_off="$ir_off" '
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ n++; pon[n] = $1; ron[n] = $2; poff[n] = $3; roff[n] = $4; pr[n] = $1 / $3; rr[n] = $2 / $4 }
END {
    split(ir_on, ion, " "); split(ir_off, ioff, " ")
    printf "%-10s %10s %10s %8s %12s %12s %8s\n", "workload", "hooks", "no hooks", "ratio",
           "instr hooks", "instr none", "ratio"
    mp = median(pr, n); mr = median(rr, n)
    printf "%-10s %10.1f %10.1f %8.3f %12s %12s %8s\n", "program", median(pon, n), median(poff, n),
           mp, ion[1], ioff[1], (ioff[1] > 0 ? sprintf("%.3f", ion[1] / ioff[1]) : "-")
    printf "%-10s %10.1f %10.1f %8.3f %12s %12s %8s\n", "refcount", median(ron, n), median(roff, n),
           mr, ion[2], ioff[2], (ioff[2] > 0 ? sprintf("%.3f", ion[2] / ioff[2]) : "-")
    printf "target program within 2%%: %s\n", (mp <= 1.02) ? "met" : "NOT met"
}' "$tmp/hooks"
