#!/bin/bash
# bench/redis.sh: the shared ledger in Redis (on loopback TCP, as a team's
# store would be on its own host) against the local file ledger, in the
# same run:
#   1. one admission decision (the store's clock, lock and read, attempt_decide,
#      unlock) and one whole admission (attempt_admit's decide and
#      reserve, then attempt_settle), median and p99, with 1 attempt and
#      with 1 000 written raw for the server (the first write compacts:
#      then "compacted"); storetool's own clock (CLOCK_MONOTONIC);
#   2. 500 clients released at once on one server, each one admission and
#      its settlement: WATCH/MULTI conflicts, lock waits, wall time;
#   3. 500 concurrent safessh invocations over 5 machines (state
#      directories) with the stand-in ssh, every 10th on a wrong key:
#      failures that reached the "server" and were booked (one budget
#      in Redis; one per machine with the files), exit statuses,
#      fallbacks, admission median and p99 (fork to the stand-in's first
#      line);
#   4. hyperfine: one whole safessh --dry-run (a process deciding).
# REDIS_BENCH_N (default 500) sets 2 and 3.  redis-server runs at nice
# -10 when allowed: on 2 cores shared with 500 clients it would otherwise
# get 1/500 of the CPU, which a store on its own host does not suffer.
. "$(dirname "$0")/../tests/regress/lib.sh"
t_init bench-redis
ST=$TOP/$O/tests/regress/storetool
[ -x "$ST" ] || { echo "bench: build $ST first (make bench)"; exit 1; }
if ! command -v redis-server >/dev/null; then
	echo "bench/redis.sh: skipped: redis-server missing"
	exit 0
fi
N=${REDIS_BENCH_N:-500}
RP=$(t_port)
env -u LD_PRELOAD nice -n -10 redis-server --port "$RP" --bind 127.0.0.1 \
    --dir "$T" --save '' --appendonly no --logfile "$T/redis.log" \
    2>/dev/null &
_pids+=("$!")
for _ in $(seq 100); do
	env -u LD_PRELOAD redis-cli -p "$RP" PING 2>/dev/null | grep -q PONG &&
	    break
	sleep 0.05
done
URL=redis://127.0.0.1:$RP/0
cfg() {
	if [ "$1" = redis ]; then
		printf '[defaults]\nledger = %s\nparallel = 64\n' "$URL"
	else
		printf '[defaults]\nparallel = 64\n'
	fi > "$SAFESSH_CONFIG"
}
us() {
	echo "scale=1; $1 / 1000" | bc
}

# ------------------------------------------------------ 1. one admission
printf "%-30s %-7s %11s %11s %11s %11s\n" "ledger" "backend" \
    "decide med" "decide p99" "admit med" "admit p99"
for b in files redis; do
	cfg "$b"
	export SAFESSH_STATE_DIR=$T/s1-$b
	row() {
		local out
		out=$("$ST" time "$2" 200) || exit 1
		eval "$(echo "$out" | tr ' ' '\n' | grep = | sed 's/^/local /')"
		printf "%-30s %-7s %8s us %8s us %8s us %8s us\n" "$1" "$b" \
		    "$(us "$decide_med_ns")" "$(us "$decide_p99_ns")" \
		    "$(us "$admit_med_ns")" "$(us "$admit_p99_ns")"
	}
	row "1 attempt" one
	"$ST" gen k1 1000
	row "1 000 attempts (raw)" k1
	row "  the same, compacted" k1
done
echo "(decide: lock, read, decide, unlock; admit: decide and reserve," \
    "then settle; 200 of each; us = microseconds)"

# --------------------------------------------- 2. 500 clients on one key
echo
for b in files redis; do
	cfg "$b"
	export SAFESSH_STATE_DIR=$T/s2-$b
	echo "race $b: $("$ST" race race "$N")"
done

# -------------------------------------- 3. 500 invocations, 5 machines
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
	    if (NR == 0) { print "-"; exit }
	    r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}
t_keys
STAND=$TOP/tests/regress/stand_ssh.sh
export REAL_SSH
echo
for b in files redis; do
	cfg "$b"
	R=$T/inv-$b
	mkdir -p "$R"
	pids=()
	t0=${EPOCHREALTIME/[.,]/}
	for ((i = 0; i < N; i++)); do
		if [ $((i % 10)) = 9 ]; then
			k=wrong1 st=255
			se='u@127.0.0.1: Permission denied (publickey).\r\n'
		else
			k=right st=0 se=
		fi
		SAFESSH_SSH=$STAND STAND_LOG=$R/stand.log STAND_SLEEP=0.1 \
		    STAND_STATUS=$st STAND_STDERR=$se \
		    STAND_TAG=${EPOCHREALTIME/[.,]/} \
		    SAFESSH_STATE_DIR=$T/inv-$b.m$(((i + i / 10) % 5)) \
		    "$SAFESSH" -i "$T/keys/$k" -p 2222 127.0.0.1 true </dev/null \
		    >/dev/null 2>"$R/err.$i" &
		pids+=($!)
	done
	for ((i = 0; i < N; i++)); do
		wait "${pids[$i]}"
		echo $? >> "$R/rcs"
	done
	t1=${EPOCHREALTIME/[.,]/}
	awk '$1 == "run" && $4 != "-" { printf "%.1f\n", ($2 - $4) / 1000 }' \
	    "$R/stand.log" > "$R/lat"
	if [ "$b" = redis ]; then
		booked=$(env -u LD_PRELOAD redis-cli -p "$RP" LRANGE \
		    safessh:srv:127.0.0.1 0 -1 | grep -c ' authfail$')
	else
		booked=$(cat "$T"/inv-$b.m?/servers/127.0.0.1 |
		    grep -c ' authfail$')
	fi
	echo "invocations $b: $N over 5 machines, every 10th a wrong key:" \
	    "$(grep -c '^run .*wrong1' "$R/stand.log") wrong-key runs," \
	    "$booked failures booked (policy: 2 per budget), exits" \
	    "$(sort "$R/rcs" | uniq -c | awk '{ printf "%s%s:%s", s, $2, $1;
	    s = " " }'), $(grep -c '^run ' "$R/stand.log") ran," \
	    "$(cat "$R"/err.* | grep -c "local ledger for this call")" \
	    "fell back, admission median $(pct "$R/lat" 50) ms" \
	    "p99 $(pct "$R/lat" 99) ms, wall $(((t1 - t0) / 1000)) ms"
done

# ------------------------------------------------------------ 4. hyperfine
if command -v hyperfine >/dev/null; then
	echo
	for b in files redis; do
		cfg "$b"
		export SAFESSH_STATE_DIR=$T/s4-$b
		SAFESSH_SSH=$STAND hyperfine -N --style none --warmup 3 \
		    --runs 50 --export-json "$T/h-$b.json" \
		    "$SAFESSH --dry-run -i $T/keys/right -p 2222 127.0.0.1 true" \
		    >/dev/null 2>&1
		python3 - "$T/h-$b.json" "$b" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
t = sorted(r["times"])
print("hyperfine %s: safessh --dry-run median %.1f ms, p99 %.1f ms (%d runs)"
      % (sys.argv[2], r["median"] * 1000,
         t[min(len(t) - 1, (99 * len(t) + 99) // 100 - 1)] * 1000, len(t)))
PY
	done
fi
