# bench/scale/scale.sh: the scale section of bench/run.sh (`bench/run.sh --scale`, issue #14),
# sourced by run.sh after its setup, so it uses run.sh's variables (ROOT, WORK, LG, QUICK,
# HAVE_HT, STRICT, KEEP) and helpers (die, note, measure, filesize, need_pkg). Not a program
# of its own.
#
# Every row is one program: the microbenchmark at 200M events (1, 2 and 8 threads) and the
# shapes (bench/scale/*.c and the leak-check tests' list programs: a long leaked list, a self-pointing list, a shuffled doubly
# linked list, two-node cycles, a pointer-dense block, tiny live blocks, a fork storm). Each
# runs once per cell (no medians: a row costs up to minutes): untraced; under
# `leakgraph run` (recording, the program's and the collector's peak RSS); `leakgraph report`
# of that trace; `leakgraph run --check` (a second run, checked); `heaptrack` and
# `heaptrack_print`; and for the pathological shapes `valgrind --leak-check=full`. Then a
# table of the issue's targets, MET or MISS per row.
#
# A row fails the bench (exit 1, after the tables) when the report's leak totals are not
# exactly the program's known leaks, `run --check` does not give the verdict those leaks
# call for, or a leakgraph cell hits the section's limits (time: SC_TIMEOUT per cell;
# memory: an address-space limit of 70% of the memory available at the start, so that a
# report that grows without bound fails instead of taking a shared machine down). Any other
# failing run stops the bench at once (run.sh's `die`).

# ---- sizes (full / --quick) ---------------------------------------------------------------
if [ "$QUICK" = 1 ]; then
    SC_MICRO=2000000 SC_LIST=100000 SC_SELF=20000 SC_DLIST=20000 SC_CYC=20000
    SC_DENSE_MIB=64 SC_DENSE_SMALL=100000 SC_TINY1=50000 SC_TINY2=200000 SC_FORKS=20
    SC_TIMEOUT=120
else
    SC_MICRO=200000000 SC_LIST=10000000 SC_SELF=1000000 SC_DLIST=1000000 SC_CYC=1000000
    SC_DENSE_MIB=2048 SC_DENSE_SMALL=1000000 SC_TINY1=5000000 SC_TINY2=20000000 SC_FORKS=200
    SC_TIMEOUT=900
fi
SC_LEAKS=1000 # the microbenchmark's leaked blocks
# Valgrind's size per pathological row (`--leak-check=full`, one run). When it is smaller
# than the row's, leakgraph run + report is also timed at Valgrind's size for the comparison,
# and the table says so. Memcheck runs every row at full size here in about 1 minute or less
# (the 10M-node list: ~15 s, ~2.3 GB); lower one of these on a smaller machine.
SC_VG_LIST=$SC_LIST SC_VG_SELF=$SC_SELF SC_VG_DLIST=$SC_DLIST SC_VG_CYC=$SC_CYC

# HISTORY-NONE: `leakgraph run --history=none` (issue #14, item 4) does not exist yet. When
# it does, set SC_HISTORY_NONE=1 (or give it a flag in run.sh): every row is then run a
# second time as NAME/hn, whose leakgraph cells (run, report, run --check) get SC_HN_OPTS;
# its untraced, heaptrack and Valgrind cells are the full-history row's. Then add its target
# (trace size independent of the number of events) to sc_targets.
SC_HISTORY_NONE=0
SC_HN_OPTS=(--history=none)

SC_ROWS=(micro1 micro2 micro8 list self_list dlist cycles2 dense tiny5M tiny20M forkstorm)

# ---- memory: the 2 GiB pointer-dense block must fit --------------------------------------
SC_AVAIL_KIB=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
# Its row holds at once the program (the block) and leakgraph's collector (~3x the block on
# the code this bench was written against), then a report of ~3x: ask for 5x the block plus
# 2 GiB for the machine's other users; halve the block until that fits.
while [ "$SC_DENSE_MIB" -gt 64 ] && [ $(((5 * SC_DENSE_MIB + 2048) * 1024)) -gt "$SC_AVAIL_KIB" ]; do
    SC_DENSE_MIB=$((SC_DENSE_MIB / 2))
    SC_DENSE_NOTE="scaled down to $SC_DENSE_MIB MiB: $((SC_AVAIL_KIB / 1048576)) GiB available (free -g), 5x the block + 2 GiB wanted"
done
SC_LIMIT_KIB=$((SC_AVAIL_KIB * 7 / 10))
note "scale: $(awk '/^Mem:/ { print $7 }' < <(free -g)) GiB available (free -g); leakgraph cells limited to $((SC_LIMIT_KIB / 1048576)) GiB of address space and ${SC_TIMEOUT} s each"
[ -n "${SC_DENSE_NOTE:-}" ] && note "scale: dense block $SC_DENSE_NOTE"

# ---- programs -----------------------------------------------------------------------------
# The three list shapes are the leak-check tests' own programs (tests/leakcheck/progs: the
# same shapes at a test's size, with their exact totals); the others are in bench/scale/.
for p in tests/leakcheck/progs/long_list tests/leakcheck/progs/self_list \
    tests/leakcheck/progs/shuffled_dlist bench/scale/cycles2 bench/scale/dense bench/scale/tiny \
    bench/scale/forkstorm; do
    cc -O2 -g -fno-builtin -Wall -Wextra -o "$WORK/${p##*/}" "$ROOT/$p.c" || die "cannot build $p.c"
done
cc -O2 -g -Wall -Wextra -o "$WORK/peakrss" "$ROOT/bench/scale/peakrss.c" || die "cannot build bench/scale/peakrss.c"
HAVE_VG=1
need_pkg valgrind valgrind || { HAVE_VG=0; note "valgrind is not available: its columns are n/a"; }
STDIN=/dev/null ENVV=()

# micro_bytes THREADS: bytes the microbenchmark leaks (each thread leaks 32 + (i & 63) bytes
# for its i-th of SC_LEAKS / THREADS blocks, the first SC_LEAKS % THREADS threads one more).
micro_bytes() {
    awk -v t="$1" -v l="$SC_LEAKS" 'BEGIN { s = 0
        for (k = 0; k < t; k++) { n = int(l / t) + (k < l % t); for (i = 0; i < n; i++) s += 32 + i % 64 }
        print s }'
}

# sc_row NAME [SIZE]: sets for a row (at SIZE instead of its own when given): N (its size),
# CMD, EXP (known totals "definite-bytes definite-blocks indirect.. possible.. reachable..",
# * for a value not checked), RC (run --check's verdict on them), LIVE (blocks live at exit:
# the memory target's allowance), VGN (Valgrind's size, empty: no Valgrind), KIND.
sc_row() {
    VGN="" KIND=shape
    case "$1" in
    micro*)
        local t=${1#micro}
        N=${2:-$SC_MICRO} KIND=micro
        CMD=("$WORK/mallocbench" "$N" "$t" "$SC_LEAKS")
        EXP="$(micro_bytes "$t") $SC_LEAKS 0 0 0 0 * *" RC=1 LIVE=$SC_LEAKS ;;
    list)
        N=${2:-$SC_LIST} VGN=$SC_VG_LIST KIND=patho
        CMD=("$WORK/long_list" "$N") EXP="16 1 $((16 * (N - 1))) $((N - 1)) 0 0 0 0" RC=1 LIVE=$N ;;
    self_list)
        N=${2:-$SC_SELF} VGN=$SC_VG_SELF KIND=patho
        CMD=("$WORK/self_list" "$N") EXP="24 1 $((24 * (N - 1))) $((N - 1)) 0 0 0 0" RC=1 LIVE=$N ;;
    dlist)
        N=${2:-$SC_DLIST} VGN=$SC_VG_DLIST KIND=patho
        CMD=("$WORK/shuffled_dlist" "$N") EXP="16 1 $((16 * (N - 1))) $((N - 1)) 0 0 0 0" RC=1 LIVE=$N ;;
    cycles2)
        N=${2:-$SC_CYC} VGN=$SC_VG_CYC KIND=patho
        CMD=("$WORK/cycles2" "$N") EXP="$((16 * N)) $N $((16 * N)) $N 0 0 0 0" RC=1 LIVE=$((2 * N)) ;;
    dense) # N: the block's MiB; always at full size under Valgrind (its 2 GiB run: ~16 s)
        N=${2:-$SC_DENSE_MIB} VGN=$N KIND=patho
        CMD=("$WORK/dense" "$N" "$SC_DENSE_SMALL")
        EXP="$((N * 1048576)) 1 $((16 * SC_DENSE_SMALL)) $SC_DENSE_SMALL 0 0 0 0" RC=1
        LIVE=$((SC_DENSE_SMALL + 1)) ;;
    tiny5M|tiny20M)
        [ "$1" = tiny5M ] && N=${2:-$SC_TINY1} || N=${2:-$SC_TINY2}
        KIND=tiny
        CMD=("$WORK/tiny" "$N") EXP="0 0 0 0 0 0 $((9 * N)) $((N + 1))" RC=0 LIVE=$((N + 1)) ;;
    forkstorm)
        N=${2:-$SC_FORKS} KIND=fork
        CMD=("$WORK/forkstorm" "$N") EXP="$((64 * N)) $N 0 0 0 0 0 0" RC=1 LIVE=$N ;;
    *) die "unknown scale row $1" ;;
    esac
}

# lgcell LOG WANT_RC CMD...: runs a leakgraph cell under peakrss (bench/scale/peakrss.c),
# with the section's time and memory limits. Sets WALL, TOPK (the top process's sampled
# VmHWM), CHILDK (the program's: the top's exec'd child), TREEK (GNU time's %M: the largest
# of the tree) and CELL (ok, or "cap" when it hit a limit). A wrong exit status is fatal.
lgcell() {
    local log=$1 want=$2; shift 2
    local t0 t1 rc=0
    t0=$EPOCHREALTIME
    (ulimit -v "$SC_LIMIT_KIB"; exec timeout -k 10 "$SC_TIMEOUT" "$WORK/peakrss" "$WORK/peak" "$@") \
        </dev/null >"$log.out" 2>"$log" || rc=$?
    t1=$EPOCHREALTIME
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    CELL=ok TOPK=0 CHILDK=0 TREEK=0
    [ -f "$WORK/peak" ] && read -r TOPK CHILDK TREEK _ <"$WORK/peak"
    rm -f "$WORK/peak"
    if [ $rc = 124 ] || [ $rc = 137 ] || { [ $rc != "$want" ] &&
        grep -qiE "out of memory|cannot allocate|std::bad_alloc" "$log"; }; then
        CELL=cap
        note "$ROW: hit the section's limits ($rc: ${SC_TIMEOUT} s or $((SC_LIMIT_KIB / 1048576)) GiB): $*"
        tail -3 "$log" >&2
        return 0
    fi
    [ $rc = "$want" ] || { tail -5 "$log" >&2; die "$ROW: failed ($rc, expected $want): $*"; }
}

# sc_totals REPORT: "events def-bytes def-blocks ind.. pos.. reach.." summed over the
# processes of a text report.
sc_totals() {
    grep -E '; [0-9,]+ events$|(definitely lost|indirectly lost|possibly lost|still reachable): ' "$1" |
        tr -d , | awk '
        / events$/ { ev += $(NF - 1); next }
        { for (i = 1; i <= NF; i++) if ($i == "bytes") { b = $(i - 1); n = $(i + 2) }
          if (/definitely/) { db += b; dn += n } else if (/indirectly/) { ib += b; in_ += n }
          else if (/possibly/) { pb += b; pn += n } else { rb += b; rn += n } }
        END { printf "%d %d %d %d %d %d %d %d %d\n", ev, db, dn, ib, in_, pb, pn, rb, rn }'
}
# sc_check NAME WHAT GOT EXP: dies unless the totals GOT (without events) are EXP (* = any).
sc_check() {
    local g e ok=1 i
    read -r -a g <<<"$3"; read -r -a e <<<"$4"
    for i in 0 1 2 3 4 5 6 7; do [ "${e[$i]}" = "*" ] || [ "${g[$i]}" = "${e[$i]}" ] || ok=0; done
    [ $ok = 1 ] || { echo "bench: $1: SANITY CHECK FAILED: $2: definite, indirect, possible, reachable (bytes blocks) = $3, expected $4" >&2; exit 1; }
}

# sc_lg_record: `leakgraph run` of CMD into $WORK/s.lgt (the collector says its own peak RSS
# with LEAKGRAPH_VERBOSE=1); sets S[...] lw (wall), pk (program KiB), ck (collector KiB),
# lb (trace bytes), la/ak (report wall/KiB), ev (events); checks the totals.
sc_lg_record() {
    local key=$1
    rm -f "$WORK"/s.lgt*
    lgcell "$WORK/lg.log" 0 env LEAKGRAPH_VERBOSE=1 "$LG" run --quiet "${LGOPTS[@]}" --output "$WORK/s.lgt" -- "${CMD[@]}"
    S[$key,lw]=$WALL S[$key,pk]=$CHILDK
    [ $CELL = ok ] || { S[$key,lw]=cap; SC_CAPPED+=("$ROW run"); return 0; }
    local ck
    ck=$(sed -n 's/.*collector peak RSS \([0-9]*\) KiB.*/\1/p' "$WORK/lg.log" | sort -n | tail -1)
    S[$key,ck]=${ck:-$TOPK} S[$key,lb]=$(filesize "$WORK"/s.lgt*)
    lgcell "$WORK/rep.log" 0 "$LG" report "${LGOPTS[@]}" "$WORK"/s.lgt*
    if [ $CELL != ok ]; then S[$key,la]=cap; SC_CAPPED+=("$ROW report"); rm -f "$WORK"/s.lgt* "$WORK/rep.log.out"; return 0; fi
    S[$key,la]=$WALL S[$key,ak]=$TREEK
    local t
    t=$(sc_totals "$WORK/rep.log.out")
    S[$key,ev]=${t%% *}
    sc_check "$ROW" "leakgraph report at size $N" "${t#* }" "$EXP"
    rm -f "$WORK"/s.lgt* "$WORK/rep.log.out"
}

declare -A S # S[row,key] = value
SC_CAPPED=()
SC_VGNOTES=()
SC_DONE=()
SC_VARIANTS=(full)
[ "$SC_HISTORY_NONE" = 1 ] && SC_VARIANTS+=(hn)
T0=$EPOCHREALTIME
for base_row in "${SC_ROWS[@]}"; do
  for variant in "${SC_VARIANTS[@]}"; do
    ROW=$base_row LGOPTS=()
    [ "$variant" = hn ] && ROW=$base_row/hn LGOPTS=("${SC_HN_OPTS[@]}")
    sc_row "$base_row"
    note "scale $ROW: ${CMD[*]}"
    S[$ROW,n]=$N S[$ROW,kind]=$KIND S[$ROW,live]=$LIVE

    if [ "$variant" = full ]; then # untraced
        measure "$WORK/base.log" "${CMD[@]}"
        S[$ROW,bw]=$WALL S[$ROW,bm]=$RSS
    else
        S[$ROW,bw]=${S[$base_row,bw]} S[$ROW,bm]=${S[$base_row,bm]}
    fi

    sc_lg_record "$ROW"

    # run --check: the whole command's wall; leakgraph's own peak is its sampled VmHWM, or
    # GNU time's %M of the tree when that is larger than the program's (then it is leakgraph's).
    rm -f "$WORK"/c.lgt*
    lgcell "$WORK/chk.log" "$RC" "$LG" run --check --quiet "${LGOPTS[@]}" --output "$WORK/c.lgt" -- "${CMD[@]}"
    if [ $CELL = ok ]; then
        S[$ROW,cw]=$WALL
        S[$ROW,ck2]=$(( TREEK > CHILDK && TREEK > TOPK ? TREEK : TOPK ))
    else
        S[$ROW,cw]=cap; SC_CAPPED+=("$ROW run --check")
    fi
    rm -f "$WORK"/c.lgt*

    if [ "$variant" = full ] && [ $HAVE_HT = 1 ]; then
        rm -f "$WORK"/hp.*
        measure "$WORK/ht.log" heaptrack -o "$WORK/hp" "${CMD[@]}"
        S[$ROW,hw]=$WALL
        hf=""
        for f in "$WORK"/hp.zst "$WORK"/hp.gz; do [ -f "$f" ] && hf=$f && break; done
        [ -n "$hf" ] || die "$ROW: heaptrack wrote no file"
        S[$ROW,hb]=$(filesize "$hf")
        measure "$WORK/htp.log" heaptrack_print "$hf"
        S[$ROW,pw]=$WALL S[$ROW,pm]=$RSS
        rm -f "$WORK"/hp.*
    elif [ "$variant" != full ]; then
        for k in hw hb pw pm vn vw vlw; do S[$ROW,$k]=${S[$base_row,$k]:-}; done
    fi

    if [ "$variant" = full ] && [ -n "$VGN" ] && [ $HAVE_VG = 1 ]; then
        sc_row "$base_row" "$VGN"
        # the heap above 4 GiB, as natively (tests/leakcheck/README.md: under Valgrind's low heap,
        # ld.so's version hashes read as pointers into the shapes' blocks)
        measure "$WORK/vg.log" valgrind --aspace-minaddr=0x100000000 --leak-check=full \
            --show-leak-kinds=all "${CMD[@]}"
        S[$ROW,vn]=$VGN S[$ROW,vw]=$WALL
        vt=$(grep -E '(definitely lost|indirectly lost|possibly lost|still reachable): ' "$WORK/vg.log" |
            tr -d , | awk '{ for (i = 1; i <= NF; i++) if ($i == "bytes") printf "%s %s ", $(i - 1), $(i + 2) }')
        # Memcheck's totals are printed when they differ from the known ones, not failed on
        # (leakgraph's report is the row's check).
        [ "${vt% }" = "$EXP" ] || SC_VGNOTES+=("$ROW: Memcheck's totals ${vt% } (known: $EXP)")
        if [ "$VGN" = "${S[$ROW,n]}" ]; then
            S[$ROW,vlw]=$(awk -v a="${S[$ROW,lw]}" -v b="${S[$ROW,la]}" 'BEGIN { print (a == "cap" || b == "cap") ? "cap" : a + b }')
        else # leakgraph at Valgrind's size, for the comparison
            sc_lg_record "$ROW@vg"
            S[$ROW,vlw]=$(awk -v a="${S[$ROW@vg,lw]}" -v b="${S[$ROW@vg,la]:-cap}" 'BEGIN { print (a == "cap" || b == "cap") ? "cap" : a + b }')
        fi
        sc_row "$base_row"
    fi
    note "scale $ROW: base ${S[$ROW,bw]}s lg ${S[$ROW,lw]}s report ${S[$ROW,la]:-}s run--check ${S[$ROW,cw]}s ht ${S[$ROW,hw]:-n/a}s print ${S[$ROW,pw]:-n/a}s valgrind ${S[$ROW,vw]:-n/a}s"
    SC_DONE+=("$ROW")
  done
done

# ---- the tables ---------------------------------------------------------------------------
v() { echo "${S[$1,$2]:-}"; }
mb() { awk -v k="$1" 'BEGIN { if (k == "" || k == "cap") print (k == "" ? "n/a" : k); else printf "%.0f\n", k * 1024 / 1e6 }'; }
sec() { awk -v s="$1" 'BEGIN { if (s == "" || s == "cap") print (s == "" ? "n/a" : s); else printf "%.2f\n", s }'; }
bpe() { awk -v b="$1" -v e="$2" 'BEGIN { if (b == "" || e == "" || e == 0) print "n/a"; else printf "%.2f\n", b / e }'; }
echo
echo "leakgraph bench, scale section: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, one run per cell (no medians), $(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
echo "$(uname -srm); $("$LG" --version 2>/dev/null | head -1); heaptrack $(heaptrack --version 2>/dev/null | awk '{print $2}'); $(valgrind --version 2>/dev/null)"
echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)'); $((SC_AVAIL_KIB / 1048576)) GiB available at the start"
[ -n "${SC_DENSE_NOTE:-}" ] && echo "dense: $SC_DENSE_NOTE"
echo
echo "Recording (wall s; peak RSS MB = 10^6 bytes; B/ev = trace bytes per event as leakgraph counts them):"
printf '%-10s %10s %11s | %7s %7s %7s | %7s %7s %7s | %7s %7s\n' row size events base_s lg_s ht_s \
    base_MB prog_MB coll_MB lg_B/ev ht_B/ev
for r in "${SC_DONE[@]}"; do
    printf '%-10s %10s %11s | %7s %7s %7s | %7s %7s %7s | %7s %7s\n' "$r" "$(v $r n)" "$(v $r ev)" \
        "$(sec "$(v $r bw)")" "$(sec "$(v $r lw)")" "$(sec "$(v $r hw)")" \
        "$(mb "$(v $r bm)")" "$(mb "$(v $r pk)")" "$(mb "$(v $r ck)")" \
        "$(bpe "$(v $r lb)" "$(v $r ev)")" "$(bpe "$(v $r hb)" "$(v $r ev)")"
done
echo
echo "Analysis (wall s, peak RSS MB); valgrind: --leak-check=full at size vg_size, and leakgraph"
echo "run + report at that size (lg+rep_s):"
printf '%-10s | %8s %8s | %8s %8s | %8s %8s | %10s %8s %8s\n' row report_s rep_MB check_s chk_MB \
    print_s print_MB vg_size vg_s lg+rep_s
for r in "${SC_DONE[@]}"; do
    printf '%-10s | %8s %8s | %8s %8s | %8s %8s | %10s %8s %8s\n' "$r" \
        "$(sec "$(v $r la)")" "$(mb "$(v $r ak)")" "$(sec "$(v $r cw)")" "$(mb "$(v $r ck2)")" \
        "$(sec "$(v $r pw)")" "$(mb "$(v $r pm)")" "$(v $r vn)" "$(sec "$(v $r vw)")" "$(sec "$(v $r vlw)")"
done
echo
echo "Targets (MET/MISS; - = not this row's): mem = report and run --check peak RSS <= 256 MB +"
echo "100 B per live block; 2x = report at least 2x faster than heaptrack_print; vg = leakgraph"
echo "run + report faster than valgrind (pathological shapes); fork = the fork storm reports in"
echo "< 1 GB; coll = collector peak RSS <= the program's (tiny blocks); B/ev = trace bytes per"
echo "event <= heaptrack's (microbenchmark). A cell that hit the limits (cap) misses its targets."
printf '%-10s | %-6s %-6s %-6s %-6s %-6s %-6s\n' row mem 2x vg fork coll B/ev
SC_MISSED=0
for r in "${SC_DONE[@]}"; do
    line=$(awk -v kind="$(v $r kind)" -v live="$(v $r live)" -v ak="$(v $r ak)" -v ck2="$(v $r ck2)" \
        -v la="$(v $r la)" -v pw="$(v $r pw)" -v vw="$(v $r vw)" -v vlw="$(v $r vlw)" \
        -v pk="$(v $r pk)" -v ck="$(v $r ck)" -v lb="$(v $r lb)" -v hb="$(v $r hb)" -v ev="$(v $r ev)" '
        function bad(x) { return x == "" || x == "cap" }
        function t(ok) { miss += !ok; return ok ? "MET" : "MISS" }
        BEGIN {
            lim = (256e6 + 100 * live) / 1024 # KiB
            m = (bad(ak) || bad(ck2)) ? t(0) : t(ak <= lim && ck2 <= lim)
            s = bad(pw) ? "-" : bad(la) ? t(0) : t(2 * la <= pw)
            g = (kind != "patho" || vw == "") ? "-" : bad(vlw) ? t(0) : t(vlw < vw)
            f = kind != "fork" ? "-" : bad(ak) ? t(0) : t(ak * 1024 < 1e9)
            c = kind != "tiny" ? "-" : (bad(ck) || pk == "" || pk == 0) ? t(0) : t(ck <= pk)
            b = (kind != "micro" || hb == "") ? "-" : bad(lb) ? t(0) : t(lb <= hb)
            printf "%-6s %-6s %-6s %-6s %-6s %-6s|%d\n", m, s, g, f, c, b, miss
        }')
    printf '%-10s | %s\n' "$r" "${line%|*}"
    SC_MISSED=$((SC_MISSED + ${line##*|}))
done
echo
echo "Peak RSS: prog = the traced program (its VmHWM sampled every 10 ms by bench/scale/peakrss;"
echo "it is held stopped during the exit check, so the sample is its peak; rings included);"
echo "coll = the collector's own VmHWM (LEAKGRAPH_VERBOSE=1); rep = GNU time's %M of report;"
echo "chk = the run --check process (its sampled VmHWM, or %M of the tree when above the"
echo "program's); print = %M of heaptrack_print. heaptrack does not follow forks: on the fork"
echo "storm it traces the parent only."
for n in "${SC_VGNOTES[@]}"; do echo "Memcheck differs (not a failure; definite, indirect, possible, reachable): $n"; done
if [ ${#SC_CAPPED[@]} -gt 0 ]; then
    echo "Cells that hit the limits (${SC_TIMEOUT} s, $((SC_LIMIT_KIB / 1048576)) GiB): ${SC_CAPPED[*]}"
fi
[ $SC_MISSED -gt 0 ] && echo "$SC_MISSED target(s) missed."
[ ${#SC_CAPPED[@]} -gt 0 ] && exit 1
[ $SC_MISSED -gt 0 ] && [ "$STRICT" = 1 ] && exit 2
exit 0
