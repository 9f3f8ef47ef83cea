#!/bin/bash
# The session directory and the trace regions (issue #13): `leakgraph run` works whatever
# /dev/shm is (a container's 64 MiB tmpfs, missing, read-only), leaves no session directory
# behind however the run ends, and leaves the traced program no file descriptor of its own.
# usage: shm.sh BINDIR PROGDIR CASE   (CASE as in the `case` below; needs root and unshare(1)
# for the /dev/shm cases, which run in a private mount namespace)
set -u
bin=$1 progs=$2 case=$3
lg=$bin/leakgraph
work=$(mktemp -d "${TMPDIR:-/tmp}/lgshm.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

# Runs `leakgraph run` on shmfill with $2 threads (each leaks 10 blocks of 32 bytes) and checks
# the program's result and the report's totals.
check_shmfill() {
    local out rc
    out=$("$lg" run --output "$work/t.lgt" -- "$progs/shmfill" "$2" 2>"$work/err")
    rc=$?
    cat "$work/err"
    # (0, not 125: no trace stopped early, so no event was lost)
    [ "$rc" -eq 0 ] || fail "leakgraph run exited $rc (the program exits 0)"
    [ "$out" = "shmfill: done" ] || fail "program output: '$out'"
    "$lg" report "$work/t.lgt" >"$work/rep" || fail "no report"
    local bytes
    bytes=$(echo $(($2 * 320)) | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') # 23,040
    grep -q "definitely lost: $bytes bytes in $(($2 * 10)) blocks" "$work/rep" ||
        { tail -8 "$work/rep"; fail "wrong totals"; }
    echo "ok: $1"
}

# A private mount namespace whose /dev/shm is what $1 makes of it, then this script's CASE $2.
in_namespace() {
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }
    command -v unshare >/dev/null || { echo "SKIP: no unshare"; exit 0; }
    unshare -m --propagation private bash -c "$1 && exec bash '$0' '$bin' '$progs' '$2'" ||
        exit 1
    exit 0
}

# Starts `leakgraph run -- bash -c SCRIPT` in the background; the traced shell writes its
# session directory to $work/sess and its pid to $work/pid. Sets $run (leakgraph's pid) and
# $sess once they are there.
start_run() {
    # (a background job starts with SIGINT and SIGQUIT ignored: the program must not)
    env --default-signal=INT,QUIT "$lg" run --output "$work/c.lgt" -- bash -c \
        'echo "$LEAKGRAPH_SESSION" >"$0/sess.tmp"; echo $$ >"$0/pid"; mv "$0/sess.tmp" "$0/sess"; '"$1" \
        "$work" >/dev/null 2>"$work/err" &
    run=$!
    for _ in $(seq 100); do [ -s "$work/sess" ] && break; sleep 0.1; done
    sess=$(cat "$work/sess" 2>/dev/null)
    [ -n "$sess" ] && [ -d "$sess" ] || fail "no session directory: '$sess'"
}
# Waits until the traced shell has become `sleep` (bash waiting for a child defers a SIGINT).
wait_sleeping() {
    local pid
    pid=$(cat "$work/pid")
    for _ in $(seq 100); do
        case $(readlink "/proc/$pid/exe") in */sleep) return ;; esac
        sleep 0.05
    done
    fail "the program never became sleep"
}
# Waits for leakgraph (at most 30 s), checks its exit status is $1, and that the session
# directory is gone within 5 s.
end_run() {
    local rc
    for _ in $(seq 300); do kill -0 "$run" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$run" 2>/dev/null && { kill -KILL "$run"; fail "leakgraph run did not end"; }
    wait "$run"; rc=$?
    [ "$rc" = "$1" ] || { cat "$work/err"; fail "leakgraph run exited $rc, not $1"; }
    for _ in $(seq 50); do [ -e "$sess" ] || break; sleep 0.1; done
    [ -e "$sess" ] && fail "the session directory $sess is left: $(ls -A "$sess")"
    echo "ok: $case: exit $rc, no session directory left"
}

case $case in
end_normal) start_run 'sleep 0.5; exit 3'; end_run 3 ;;
end_program_killed) start_run 'sleep 0.5; kill -KILL $$'; end_run 137 ;;
end_sigint|end_sigterm|end_sighup)
    sig=${case#end_sig}
    start_run 'exec sleep 30'
    wait_sleeping
    kill -"${sig^^}" "$run"
    end_run $((128 + $(kill -l "${sig^^}"))) ;;
end_collector_sigkill)
    start_run 'exec sleep 30'
    wait_sleeping
    kill -KILL "$run"
    end_run 137
    kill -KILL "$(cat "$work/pid")" 2>/dev/null ;;
fds_run|fds_preload) # the shim leaves the program no descriptor: /proc/self/fd as without it
    # (the same names for its standard streams in both runs)
    "$progs/fdlist" >"$work/out" 2>"$work/err" || fail "fdlist failed"
    mv "$work/out" "$work/native"
    if [ "$case" = fds_run ]; then
        "$lg" run --output "$work/f.lgt" -- "$progs/fdlist" >"$work/out" 2>"$work/err"
    else
        LD_PRELOAD=$bin/../lib/libleakgraph.so LEAKGRAPH_OUTPUT=$work/f.lgt "$progs/fdlist" \
            >"$work/out" 2>"$work/err"
    fi || { cat "$work/err"; fail "fdlist failed traced"; }
    # The one documented exception (preload/README.md): libunwind's memory-validation pipe,
    # both ends close-on-exec, opened when the shim sets libunwind up; anything else fails.
    sed -E 's/ [0-9]+=pipe:c [0-9]+=pipe:c( |$)/\1/' "$work/out" >"$work/traced"
    diff "$work/native" "$work/traced" || fail "the traced program sees other descriptors"
    echo "ok: $(head -1 "$work/native")" ;;
shm_64m) in_namespace "mount -t tmpfs -o size=64m tmpfs /dev/shm" inner_64m ;;
inner_64m) check_shmfill "a 64 MiB /dev/shm" 72 ;;
shm_missing) # a /dev of its own without shm: the devices the run uses bound from the real one
    mkdir "$work/dev"
    in_namespace "mount --bind /dev '$work/dev' && mount -t tmpfs -o size=1m tmpfs /dev &&
                  for n in null zero full random urandom; do touch /dev/\$n &&
                  mount --bind '$work/dev/'\$n /dev/\$n || exit 1; done" inner_missing ;;
inner_missing) [ -e /dev/shm ] && fail "/dev/shm still there"; check_shmfill "no /dev/shm" 4 ;;
shm_readonly) in_namespace "mount -t tmpfs -o ro,size=1m tmpfs /dev/shm" inner_readonly ;;
inner_readonly) check_shmfill "a read-only /dev/shm" 4 ;;
*) fail "unknown case $case" ;;
esac
