#!/bin/sh
# Preload comparison: runs real programs with the test shim cmpshim.so (every malloc takes the
# stack with unw_backtrace and with lg_unwind_backtrace and compares them) and requires zero
# mismatches. Prints the fast-path hit rate of each program.
#   run_preload.sh /path/to/libcmpshim.so
set -eu
shim=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lgunw.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=$tmp/results
status=0

run() { # name, command...
    name=$1; shift
    : > "$out"
    if ! LD_PRELOAD=$shim LGUNW_CMP_OUT=$out "$@" > "$tmp/stdout" 2> "$tmp/stderr"; then
        echo "FAIL $name: the program failed"; cat "$tmp/stderr"; status=1; return
    fi
    if grep -q MISMATCH "$tmp/stderr"; then cat "$tmp/stderr"; fi
    awk -v name="$name" '
        { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] } n++ }
        END {
            if (!n) { printf "FAIL %s: no report\n", name; exit 1 }
            tot = v["fast"] + v["fallback"]
            printf "%-8s processes %d  mallocs compared %d  frames %d  mismatches %d  fast %.2f%% (%d fallback)  rules %d (%d not cacheable)\n",
                name, n, v["calls"], v["frames"], v["mismatches"], tot ? 100 * v["fast"] / tot : 0,
                v["fallback"], v["fills"], v["bad"]
            if (v["mismatches"] != 0 || v["calls"] == 0) exit 1
        }' "$out" || status=1
}

seq 1 300000 | awk '{ printf "%d line %d %s\n", ($1 * 7919) % 100003, $1, substr("abcdefghijklmnop", $1 % 16 + 1) }' > "$tmp/in.txt"
run sort /usr/bin/sort -n "$tmp/in.txt"
run sort-par /usr/bin/sort --parallel=2 -S 2M -T "$tmp" -k3,3 -k1,1n "$tmp/in.txt"

PY=/usr/bin/python3
if [ -x $PY ]; then
    run python env PYTHONMALLOC=malloc $PY -c '
import json, re, threading, collections
d = {str(i): [i, str(i) * 3, (i, i + 1), {"k": i}] for i in range(40000)}
s = json.dumps(d); e = json.loads(s)
c = collections.Counter(re.findall(r"\d+", s[:200000]))
def work(n):
    return sorted(str(x * 7 % 1000) for x in range(n))
ts = [threading.Thread(target=work, args=(30000,)) for _ in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(e), len(c))
'
else
    echo "skip python: $PY not installed"
fi

if command -v sqlite3 > /dev/null; then
    { echo "BEGIN;"; echo "CREATE TABLE t(a INTEGER, b TEXT);"
      seq 1 20000 | awk '{ printf "INSERT INTO t VALUES(%d, %s);\n", ($1 * 31) % 997, "\"row " $1 "\"" }'
      echo "COMMIT;"; echo "CREATE INDEX ta ON t(a);"
      echo "SELECT a, count(*) FROM t GROUP BY a ORDER BY 2 DESC LIMIT 3;"
      echo "SELECT count(*) FROM t x JOIN t y ON x.a = y.a WHERE x.rowid < 2000;"; } > "$tmp/q.sql"
    run sqlite3 sh -c "sqlite3 :memory: < '$tmp/q.sql'"
else
    echo "skip sqlite3: not installed"
fi
exit $status
