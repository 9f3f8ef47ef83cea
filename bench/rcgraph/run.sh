#!/bin/sh
# bench/rcgraph/run.sh - ratio of an rcrt program's time under leakgraph to its time untraced,
# with incref/decref stacks of several depths and with counts only (LEAKGRAPH_RC_STACK_DEPTH).
# Row "hooks" preloads nulltracer.c instead (hooks that only count): the cost of the runtime's
# traced paths and hook calls alone, the floor of any tracer that uses the hook ABI.
# Each configuration runs RUNS times (interleaved); the medians of the loop's wall time and of
# the process's CPU time are kept (CPU time moves less when the machine is shared).
# Usage: bench/rcgraph/run.sh [build-dir] [objects] [runs]   (default: build, 1000000, 5)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
n=${2:-1000000}
runs=${3:-5}
lg=$build/bin/leakgraph
exe=$build/rcgraph_bench
cc -O2 -g -I"$root/include" -DRC_STATIC_LINK "$here/rcgraph.c" "$build/runtime/librcrt.a" \
    -Wl,-z,dynamic-undefined-weak -o "$exe"
null=$build/rcgraph_nulltracer.so
cc -O2 -shared -fPIC -I"$root/include" "$here/nulltracer.c" -o "$null"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
configs="untraced hooks depth12 depth8 depth4 counts"
for r in $(seq "$runs"); do
    for c in $configs; do
        case $c in
        untraced) "$exe" "$n" ;;
        hooks) LD_PRELOAD=$null "$exe" "$n" ;;
        depth*) LEAKGRAPH_RC_STACK_DEPTH=${c#depth} "$lg" run --quiet --output "$tmp/t.lgt" -- "$exe" "$n"
                rm -f "$tmp/t.lgt" ;;
        counts) LEAKGRAPH_RC_STACK_DEPTH=0 "$lg" run --quiet --output "$tmp/t.lgt" -- "$exe" "$n"
                rm -f "$tmp/t.lgt" ;;
        esac | sed -n 's/.*: \([0-9.]*\) ns\/object wall, \([0-9.]*\) ns.*/\1 \2/p' >"$tmp/one"
        cut -d' ' -f1 "$tmp/one" >>"$tmp/$c"
        cut -d' ' -f2 "$tmp/one" >>"$tmp/$c.cpu"
    done
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "== rcgraph bench ($(uname -m), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)): $n objects, $((5 * n)) increfs+decrefs, median of $runs"
printf '%-10s %12s %8s %12s %8s\n' config "wall ns/obj" ratio "cpu ns/obj" ratio
base=$(med "$tmp/untraced")
cbase=$(med "$tmp/untraced.cpu")
for c in $configs; do
    m=$(med "$tmp/$c")
    k=$(med "$tmp/$c.cpu")
    printf '%-10s %12s %8s %12s %8s\n' "$c" "$m" "$(echo "$m $base" | awk '{printf "%.2f", $1 / $2}')" \
        "$k" "$(echo "$k $cbase" | awk '{printf "%.2f", $1 / $2}')"
done
