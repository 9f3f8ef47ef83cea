#!/usr/bin/env bash
# Regenerates the named seeds of the fuzz corpus (tests/fuzz/corpus/seed-*) from real traces:
# the demo and test programs of a build, run under `leakgraph run`, each program's traces (its
# own and its children's) converted by `lg_fuzz_tool --seed` into one input (fuzz_trace.h), plus
# the format tests' hand-made sample and a few inputs that turn on the harness's modes (raw
# bytes, a version-1 header, dump, check numbers, policies). Inputs the fuzzer added (hash names)
# are left alone. Run it when the trace format changes:
#   tests/fuzz/mkseeds.sh [BUILD_DIR]      (default: build; it must have been built)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
lg=$build/bin/leakgraph
tool=$build/tests/fuzz/lg_fuzz_tool
out=$root/tests/fuzz/corpus
for f in "$lg" "$tool" "$build/tests/format/lg_mktrace"; do
    [[ -x $f ]] || { echo "mkseeds: $f is missing: build $build first" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/seed-*

# name, program and its argument (both relative to the build directory; "=ARG" literally)
progs=(
    "leakdemo bin/leakdemo"                       # every Memcheck kind, a cycle, a thread, a fork
    "tour demo/tour"                              # rcrt: objects, walks, GC events
    "rc_cycle_disabled demo/rc_cycle_disabled"    # runtime cycles with GC disabled
    "rc_forgot_decref demo/rc_forgot_decref"      # a refcount leak
    "rc_traverse_skip demo/rc_traverse_skip"      # hidden pointers (the objects section)
    "cycles tests/leakcheck/progs/cycles"         # unreachable cycles
    "pointers tests/leakcheck/progs/pointers"     # interior pointers, heuristics
    "thread_stack tests/leakcheck/progs/thread_stack"
    "objects_held tests/objects/objects_held"     # holders of runtime objects
    "forker tests/preload/progs/forker"           # a child trace inheriting blocks (PARENT_TRACE)
    "execer tests/preload/progs/execer"           # two images of one pid (EXEC_FROM)
    "dlopener tests/preload/progs/dlopener tests/preload/progs/libdlleak.so"  # UNMODULE
    "allocfns tests/preload/progs/allocfns"       # every allocator (ALIGNED, REALLOC)
    "dying tests/preload/progs/dying =segv"       # killed by a signal (the fatal-signal check)
)
for entry in "${progs[@]}"; do
    read -r name prog args <<<"$entry"
    argv=("$build/$prog")
    case ${args:-} in
        "") ;;
        =*) argv+=("${args#=}") ;;
        *) argv+=("$build/$args") ;;
    esac
    (cd "$tmp" && timeout 120 "$lg" run --quiet --output "$tmp/$name.lgt" -- "${argv[@]}" \
        >/dev/null 2>&1) || true  # some exit non-zero on purpose
    shopt -s nullglob
    traces=("$tmp/$name.lgt" "$tmp/$name".lgt.*)
    shopt -u nullglob
    [[ -f ${traces[0]} ]] || { echo "mkseeds: $name wrote no trace" >&2; exit 1; }
    "$tool" --seed "$out/seed-$name" "${traces[@]}"
done

# the format tests' sample: two rings, blocks overtaking each other in sequence order; and cut
"$build/tests/format/lg_mktrace" "$tmp/sample.lgt"
"$build/tests/format/lg_mktrace" "$tmp/sample-noend.lgt" noend
"$tool" --seed "$out/seed-sample" "$tmp/sample.lgt"
"$tool" --seed "$out/seed-sample-noend" "$tmp/sample-noend.lgt"

# the harness's modes (fuzz_trace.h): byte 0 the mode, byte 1 the options
setbytes() { # FILE OUT MODE OPTIONS: FILE with its first two bytes replaced
    { printf "\\x$3\\x$4"; tail -c +3 "$1"; } >"$2"
}
printf '\x80' | cat - "$tmp/sample.lgt" >"$out/seed-raw-sample"          # raw bytes
setbytes "$out/seed-sample" "$out/seed-v1-dump-sample" 03 00             # version 1, dump
setbytes "$out/seed-leakdemo" "$out/seed-leakdemo-check1-reach-all" 00 51 # check 1, reachable, all
setbytes "$out/seed-cycles" "$out/seed-cycles-since1-limits" 00 a6       # since 1, 2 frames, limits
setbytes "$out/seed-forker" "$out/seed-forker-policy3" 02 c0             # dump, the last policy
du -cb "$out"/seed-* | tail -1
