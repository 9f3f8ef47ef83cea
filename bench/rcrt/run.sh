#!/bin/sh
# bench/rcrt/run.sh - rcrt's benchmarks, side by side in one run:
#   1. allocator: rcrt vs glibc malloc vs CPython's pymalloc (bench_alloc; allocators
#      interleaved run by run, per row the median of the per-run ratios rcrt/pymalloc over 15
#      LIFO / 9 random runs); then, if valgrind is installed, the instructions per pair inside
#      rc_malloc + rc_free and PyObject_Malloc + PyObject_Free, counted by callgrind over one
#      short run of each row (bench_alloc --count)
#   2. collector: a full collection over four 1M-object shapes, rcrt vs CPython's gc.collect()
#      (gc_shapes.py under python3, then bench_gc with its numbers; median of 5 runs each)
#   3. hooks: rcrt built with and without RC_TRACE_HOOKS, no tracer loaded. PAIRS runs of
#      bench_hooks_on and bench_hooks_off, alternating which goes first; the ratio is the
#      median of the per-pair ratios (each pair ran under about the same load), with the medians
#      of each side. Then, if valgrind is installed, the instructions per iteration of each
#      workload counted by callgrind (deterministic: the tie-breaker on a noisy machine), split
#      by hook_cost.py into the site NOPs executed and the rest (code laid out differently
#      around the sites), with the functions that carry the difference.
# Times are CPU time of the process (the machine is shared; wall time swings with the load).
# Usage: bench/rcrt/run.sh [build-dir]   (default: build-rcrt next to this checkout)
#        PAIRS=n (default 21) sets the number of hook pairs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-rcrt}
bin=$build/bench
pairs=${PAIRS:-21}
cmake -S "$root" -B "$build" >/dev/null
cmake --build "$build" -j2 --target rcrt_bench_alloc rcrt_bench_gc rcrt_bench_hooks_on \
    rcrt_bench_hooks_off >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== rcrt bench ($(date -u +%Y-%m-%d), $(uname -m), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
"$bin/rcrt_bench_alloc"
have_cg=0
if command -v valgrind >/dev/null 2>&1; then have_cg=1; fi
if [ $have_cg -eq 1 ]; then
    # Collection on inside the four allocator functions only; bench_alloc --count zeroes the
    # counters before each timed loop and dumps them after it, labelled "workload size
    # allocator pairs".
    mkdir "$tmp/cga"
    (cd "$tmp/cga" && valgrind --tool=callgrind --toggle-collect=rc_malloc \
        --toggle-collect=rc_free --toggle-collect=PyObject_Malloc \
        --toggle-collect=PyObject_Free "$bin/rcrt_bench_alloc" --count >/dev/null 2>&1)
    echo
    echo "allocator: instructions per malloc+free pair inside the allocator (callgrind)"
    for f in $(ls "$tmp/cga" | grep -E '\.[0-9]+$' | sort -t. -k4 -n); do
        desc=$(sed -n 's/^desc: Trigger: Client Request: //p' "$tmp/cga/$f")
        [ -n "$desc" ] && echo "$desc $(sed -n 's/^totals: //p' "$tmp/cga/$f")"
    done | awk '
    { key = $1 " " $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
      ipp[key " " $3] = $5 / $4 }
    END {
        printf "%-8s %-7s %9s %9s %14s\n", "workload", "size", "rcrt", "pymalloc", "rcrt/pymalloc"
        for (i = 1; i <= n; i++) {
            k = order[i]; split(k, w, " "); r = ipp[k " rcrt"]; p = ipp[k " pymalloc"]
            printf "%-8s %-7s %9.1f %9s %14s\n", w[1], w[2], r, (p > 0 ? sprintf("%.1f", p) : "n/a"),
                   (p > 0 ? sprintf("%.3f", r / p) : "n/a")
        }
    }'
fi
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
awk '
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ n++; pon[n] = $1; ron[n] = $2; poff[n] = $3; roff[n] = $4; pr[n] = $1 / $3; rr[n] = $2 / $4 }
END {
    printf "%-10s %10s %10s %8s\n", "workload", "hooks", "no hooks", "ratio"
    mp = median(pr, n); mr = median(rr, n)
    printf "%-10s %10.1f %10.1f %8.3f\n", "program", median(pon, n), median(poff, n), mp
    printf "%-10s %10.1f %10.1f %8.3f\n", "refcount", median(ron, n), median(roff, n), mr
    printf "target program within 2%% (time): %s\n", (mp <= 1.02) ? "met" : "NOT met"
}' "$tmp/hooks"
# Instructions per iteration: 400 program and 2000 refcount iterations, once per build, collection
# on inside the workload function (callees included), per instruction, for hook_cost.py.
if [ $have_cg -eq 1 ]; then
    echo
    for v in on off; do
        for w in program_iteration refcount_wrapper; do
            valgrind --tool=callgrind --dump-instr=yes --compress-pos=no --compress-strings=no \
                --toggle-collect=$w --callgrind-out-file="$tmp/cg.$v.$w" \
                "$bin/rcrt_bench_hooks_$v" 400 2000 1 >/dev/null 2>&1
        done
    done
    python3 "$here/hook_cost.py" "$bin/rcrt_bench_hooks_on" "$bin/rcrt_bench_hooks_off" "$tmp" \
        program_iteration:400 refcount_wrapper:2000
fi
