#!/bin/sh
# bench/rcrt/run.sh - rcrt's benchmarks, side by side in one run:
#   1. allocator: rcrt vs glibc malloc vs CPython's pymalloc (bench_alloc)
#   2. collector: a full collection over four 1M-object shapes, rcrt vs CPython's gc.collect()
#      (gc_shapes.py under python3, then bench_gc with its numbers)
#   3. hooks: rcrt built with and without RC_TRACE_HOOKS, no tracer loaded (bench_hooks_on/off
#      run alternately, best of each)
# Times are CPU time of the process (the machine is shared; wall time swings with the load).
# Usage: bench/rcrt/run.sh [build-dir]   (default: build-rcrt next to this checkout)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-rcrt}
bin=$build/runtime
if [ ! -x "$bin/rcrt_bench_alloc" ]; then
    cmake -S "$root" -B "$build" >/dev/null
    cmake --build "$build" -j2 --target rcrt_bench_alloc rcrt_bench_gc rcrt_bench_hooks_on \
        rcrt_bench_hooks_off >/dev/null
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

echo "== rcrt bench ($(uname -m), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
"$bin/rcrt_bench_alloc"
echo
python3 "$here/gc_shapes.py" 3 >"$tmp"
"$bin/rcrt_bench_gc" --python "$tmp" --runs 3
echo
echo "hooks: ns per iteration, hooks compiled in vs compiled out, no tracer (best of 8 alternating runs)"
i=0
: >"$tmp"
while [ $i -lt 8 ]; do
    if [ $((i % 2)) -eq 0 ]; then
        on=$("$bin/rcrt_bench_hooks_on"); off=$("$bin/rcrt_bench_hooks_off")
    else
        off=$("$bin/rcrt_bench_hooks_off"); on=$("$bin/rcrt_bench_hooks_on")
    fi
    echo "$on $off" >>"$tmp"
    i=$((i + 1))
done
awk '
NR == 1 || $1 < pon { pon = $1 }  NR == 1 || $3 < poff { poff = $3 }
NR == 1 || $2 < ron { ron = $2 }  NR == 1 || $4 < roff { roff = $4 }
END {
    printf "%-10s %10s %10s %8s\n", "workload", "hooks", "no hooks", "ratio"
    printf "%-10s %10.1f %10.1f %8.3f\n", "program", pon, poff, pon / poff
    printf "%-10s %10.1f %10.1f %8.3f\n", "refcount", ron, roff, ron / roff
    printf "target program within 2%%: %s\n", (pon / poff <= 1.02) ? "met" : "NOT met"
}' "$tmp"
