#!/usr/bin/env bash
# The README's first command: builds leakgraph, runs demo/leakdemo under it, and prints the
# leak report of the program and of the child process it forks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
out=$(mktemp -d "${TMPDIR:-/tmp}/leakgraph-demo.XXXXXX")
"$root/build/bin/leakgraph" run --output "$out/leakdemo.lgt" -- "$root/build/bin/leakdemo"
"$root/build/bin/leakgraph" report "$out"/leakdemo.lgt*
