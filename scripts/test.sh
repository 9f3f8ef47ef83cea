#!/usr/bin/env bash
# The README's second command: builds leakgraph twice -- a release build, and a build whose
# analyzer, runtime and tests use AddressSanitizer and UndefinedBehaviorSanitizer -- and runs
# every test (CTest) in both -- then fuzzes the analyzer for 3 minutes (scripts/fuzz.sh). Exits
# non-zero if any build, test or the fuzzing run fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
bash "$root/scripts/install-deps.sh"

echo "== release build: $root/build"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j "$jobs"
(cd "$root/build" && ctest --output-on-failure -j "$jobs")

echo "== sanitizer build: $root/build-asan"
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DLG_SANITIZE=ON >/dev/null
cmake --build "$root/build-asan" -j "$jobs"
(cd "$root/build-asan" && ctest --output-on-failure -j "$jobs")

# A bounded fuzzing run of the analyzer (docs/fuzzing.md): clang, ASan+UBSan, libFuzzer on the
# corpus in tests/fuzz/corpus, a fixed seed so that CI's run is repeatable. Hours of fuzzing
# are a separate command: scripts/fuzz.sh SECONDS.
echo "== fuzzing: $root/build-fuzz (docs/fuzzing.md)"
FUZZ_ARGS="-seed=1 ${FUZZ_ARGS:-}" bash "$root/scripts/fuzz.sh" 180
