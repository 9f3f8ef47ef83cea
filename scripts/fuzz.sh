#!/usr/bin/env bash
# Fuzzes the analyzer (docs/fuzzing.md): builds the libFuzzer target tests/fuzz/fuzz_trace.c
# with clang, ASan and UBSan in a configuration of its own (build-fuzz/), runs it on the corpus
# kept in the tree (tests/fuzz/corpus/) for SECONDS, and fails when it found anything: a crash,
# a leak, undefined behaviour, a timeout (an input that takes more than 30 s) or an input that
# needs more than 2 GB. What it found is saved under tests/fuzz/crashes/ (crash-*, leak-*,
# timeout-*, oom-*); the new inputs that reach new code go to build-fuzz/fuzz-corpus/.
#
#   scripts/fuzz.sh [SECONDS]     fuzz for SECONDS (default 180; CI runs 180)
#   scripts/fuzz.sh --merge       add to tests/fuzz/corpus/ the inputs of build-fuzz/fuzz-corpus/
#                                 that reach code the corpus does not (then commit them)
# Environment:
#   JOBS=N        N fuzzing processes (libFuzzer -fork=N), which go on after a finding and
#                 save every one (default 1: stop at the first finding)
#   FUZZ_ARGS     more libFuzzer options (e.g. "-max_len=100000 -seed=1")
#   BUILD         the build directory (default build-fuzz)
#   CC, CXX       the compilers (default clang, clang++: Debian's clang and libclang-rt-dev)
# Exit: 0 nothing found, 1 something found, 2 usage or the build failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-fuzz}
corpus=$root/tests/fuzz/corpus
crashes=$root/tests/fuzz/crashes
work=$build/fuzz-corpus

merge=0
seconds=180
case "${1:-}" in
    "") ;;
    --merge) merge=1 ;;
    *[!0-9]* | 0) echo "usage: scripts/fuzz.sh [SECONDS | --merge]" >&2; exit 2 ;;
    *) seconds=$1 ;;
esac

if ! command -v "${CC:-clang}" >/dev/null; then
    echo "fuzz.sh: ${CC:-clang} not found (scripts/install-deps.sh installs clang)" >&2
    exit 2
fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="${CC:-clang}" \
    -DCMAKE_CXX_COMPILER="${CXX:-clang++}" -DLG_FUZZ=ON -DLG_BUILD_BENCH=OFF >/dev/null || exit 2
cmake --build "$build" --target lg_fuzz_trace lg_fuzz_tool -j"$(nproc)" >/dev/null || {
    echo "fuzz.sh: the fuzz build failed (cmake --build $build --target lg_fuzz_trace)" >&2
    exit 2
}
fuzzer=$build/tests/fuzz/lg_fuzz_trace
mkdir -p "$work" "$crashes"

if [[ $merge == 1 ]]; then
    before=$(find "$corpus" -type f | wc -l)
    "$fuzzer" -merge=1 "$corpus" "$work" 2>&1 | grep -E "^MERGE-OUTER: [0-9]+ new files" || true
    after=$(find "$corpus" -type f | wc -l)
    echo "fuzz.sh: tests/fuzz/corpus: $before -> $after inputs, $(du -sh "$corpus" | cut -f1)"
    exit 0
fi

# What the run found: the artifacts that were not there before it.
list_findings() { find "$crashes" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
    -o -name 'timeout-*' -o -name 'oom-*' \) | sort; }
before=$(list_findings)
args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1
      -dict="$root/tests/fuzz/trace.dict" -artifact_prefix="$crashes/")
if [[ ${JOBS:-1} -gt 1 ]]; then
    args+=(-fork="$JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
rc=0
"$fuzzer" "${args[@]}" ${FUZZ_ARGS:-} "$work" "$corpus" || rc=$?
new=$(comm -13 <(echo "$before") <(list_findings) | sed '/^$/d')
if [[ $rc != 0 || -n $new ]]; then
    echo "fuzz.sh: FOUND (libFuzzer exit $rc); inputs saved:" >&2
    echo "${new:-  (none saved: see the log above)}" >&2
    echo "fuzz.sh: replay one with $build/tests/fuzz/lg_fuzz_tool FILE, or write its traces with" \
         "lg_fuzz_tool --emit DIR FILE (docs/fuzzing.md)" >&2
    exit 1
fi
echo "fuzz.sh: nothing found in ${seconds} s"
