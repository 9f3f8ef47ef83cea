#!/bin/sh
# Unwinder micro-benchmark: unw_backtrace vs lg_unwind_backtrace (preload/unwind.c).
#   bench/unwind/run.sh [BUILD_DIR]     (default build-unw; builds lg_unwind_bench there)
# Prints the timing table of lg_unwind_bench (median and min ns per capture over 9 runs at
# 10/20/40 frames), then instructions per capture from callgrind when valgrind is installed:
# (Ir at 2N captures - Ir at N captures) / N, which cancels start-up and cache filling.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-unw}
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build" --target lg_unwind_bench -j2 > /dev/null
bench=$(find "$build" -name lg_unwind_bench -type f -perm -u+x | head -1)
"$bench" --iters 300000 --runs 9 --depths 10,20,40
if command -v valgrind > /dev/null; then
    echo
    printf '%-7s %-22s %-22s %s\n' frames "unw_backtrace instr" "lg_unwind instr" ratio
    for d in 10 20 40; do
        for impl in unw lg; do
            a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" --impl $impl --iters 5000 --runs 1 --depths $d 2>&1 | awk '/Collected/ { print $4 }')
            b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" --impl $impl --iters 10000 --runs 1 --depths $d 2>&1 | awk '/Collected/ { print $4 }')
            eval "i_$impl=$(( (b - a) / 5000 ))"
        done
        awk -v d=$d -v u=$i_unw -v l=$i_lg 'BEGIN { printf "%-7d %-22d %-22d %.2fx\n", d, u, l, u / l }'
    done
fi
