#!/bin/bash
# load.sh: many concurrent safessh processes against one server (G2, G6).
#
#   LOAD_N      invocations per stand-in round (default 300)
#   LOAD_SSHD_N invocations against the real sshd (default 100)
#   LOAD_TIMEOUT seconds before a round counts as a deadlock (default 300)
#   LOAD_ROUNDS the rounds to run (default "1 3 4 5"; make bench runs
#               all five with 500 and 200 invocations)
#
# Each invocation is a separate process started in the background in a
# tight loop.  Admission latency: from the invoker's clock just before it
# forks safessh ($EPOCHREALTIME) to the stand-in ssh's first line
# (tests/regress/stand_ssh.sh logs both).  Checked per round: no
# deadlock (every process ends before LOAD_TIMEOUT), every exit status is
# what its ssh returned (or 75 for a refusal), every ssh run was recorded
# in the ledger and settled with its real outcome (none "lost", none in
# flight), and no more failures than the policy allows.
#
# Rounds:
#   1. stand-in, exit 0, sleep 0.1 s, parallel = 64 (the measurement)
#   2. stand-in, the same with the default parallel = 4 (informational)
#   3. stand-in, chosen statuses 0, 1, 7, 0, 130 (exit codes pass through)
#   4. stand-in, every 10th caller has a wrong key and fails
#      authentication: the default policy must stop the failures at its
#      budget (2), whatever the interleaving
#   5. the real sshd, the right key (LOAD_SSHD_N invocations); then the
#      same number of plain ssh at once, as a baseline (informational)
# Each prints one "load:" line; tests/README.md quotes them.
. "$(dirname "$0")/lib.sh"
t_init load
STAND=$TOP/tests/regress/stand_ssh.sh
export SAFESSH_SSH=$STAND REAL_SSH
N=${LOAD_N:-300}
NS=${LOAD_SSHD_N:-100}
want() { [[ " ${LOAD_ROUNDS:-1 3 4 5} " == *" $1 "* ]]; }
TMO=${LOAD_TIMEOUT:-300}
t_keys
K=$T/keys/right

# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE.
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 }
	    END { if (NR == 0) { print "-"; exit }
		r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}

# round NAME N ARGS...: start N safessh ARGS at once (environment as
# set by the caller); fills $R/rc.I, $R/stand.log; sets ELAPSED (ms),
# DEADLOCK (0/1).
round() {
	local name=$1 n=$2 i t0 t1 p
	shift 2
	R=$T/round-$name
	mkdir -p "$R"
	export STAND_LOG=$R/stand.log
	: > "$STAND_LOG"
	local pids=()
	t0=${EPOCHREALTIME/[.,]/}
	for ((i = 0; i < n; i++)); do
		STAND_TAG=${EPOCHREALTIME/[.,]/} "$SAFESSH" "$@" \
		    </dev/null >/dev/null 2>"$R/err.$i" &
		pids+=($!)
	done
	# The watchdog: a round still running after TMO s is a deadlock.
	(
		trap 'kill $sp 2>/dev/null; exit 0' TERM
		sleep "$TMO" &
		sp=$!
		wait "$sp"
		touch "$R/deadlock"
		kill "${pids[@]}" 2>/dev/null
	) </dev/null >/dev/null 2>&1 &
	local dog=$!
	for ((i = 0; i < n; i++)); do
		wait "${pids[$i]}"
		echo $? > "$R/rc.$i"
	done
	t1=${EPOCHREALTIME/[.,]/}
	kill "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	ELAPSED=$(((t1 - t0) / 1000))
	DEADLOCK=0
	[ -e "$R/deadlock" ] && DEADLOCK=1
	awk '$1 == "run" && $4 != "-" { printf "%.1f\n", ($2 - $4) / 1000 }' \
	    "$STAND_LOG" > "$R/lat"
}

# verify NAME LEDGER EXPECT_RUNS: the ledger checks for one round.
# Compaction (above 512 lines) keeps the newest 200 settled attempts, so
# every run must be in the ledger or older than everything kept, and the
# newest kept ones must be exactly the newest runs.
verify() {
	local name=$1 L=$2 want=$3 runs kept missing lost oldest lostrec
	runs=$(grep -c '^run ' "$STAND_LOG")
	eq "$name: ssh runs" "$want" "$runs"
	sed -n 's/.* --authed [^ ]* \([0-9]*\).*/\1/p' "$STAND_LOG" |
	    LC_ALL=C sort > "$R/runids"
	eq "$name: every run carries its ledger id" "$runs" \
	    "$(wc -l < "$R/runids")"
	awk '$1 == "a" { print $2 }' "$L" | LC_ALL=C sort > "$R/ledgerids"
	kept=$(wc -l < "$R/ledgerids")
	# Ids the ledger holds that no run of this round had: none expected
	# beyond the runs (a refused attempt is never recorded).
	missing=$(LC_ALL=C comm -23 "$R/ledgerids" "$R/runids" | wc -l)
	eq "$name: no record without a run" 0 "$missing"
	# Runs absent from the ledger must all be older than what it kept.
	oldest=$(sort -n "$R/ledgerids" | head -1)
	lostrec=$(LC_ALL=C comm -13 "$R/ledgerids" "$R/runids" |
	    awk -v m="${oldest:-0}" '$1 + 0 >= m + 0' | wc -l)
	eq "$name: no run's record missing from the ledger (kept $kept)" 0 \
	    "$lostrec"
	lost=$(awk '$1 == "s" { st[$2] = $4 } $1 == "a" && !($2 in st) {
	    st[$2] = "inflight" } END { n = 0
	    for (i in st) if (st[i] == "lost" || st[i] == "inflight") n++
	    print n }' "$L")
	eq "$name: no attempt lost or left in flight (lost updates)" 0 "$lost"
	RECS=$kept RUNS=$runs LOSTN=$((lost + lostrec))
}

summary() {
	local name=$1 extra=$2
	echo "load: $name: $N_ invocations, $RUNS ssh runs, $RECS records" \
	    "kept, $LOSTN lost, deadlock $DEADLOCK, admission median" \
	    "$(pct "$R/lat" 50) ms p99 $(pct "$R/lat" 99) ms max" \
	    "$(pct "$R/lat" 100) ms, wall $((ELAPSED / 1000)).$((ELAPSED % 1000 / 100)) s$extra"
}

rcs() {
	cat "$R"/rc.* | sort | uniq -c | awk '{ printf "%s%s:%s", s, $2, $1; s = " " }'
}

S=(-i "$K" -p 2222 127.0.0.1 true)

# ---------------------------------------------- 1. parallel = 64, exit 0
if want 1; then
export SAFESSH_STATE_DIR=$T/s1
printf '[defaults]\nparallel = 64\n' > "$SAFESSH_CONFIG"
export STAND_SLEEP=0.1 STAND_STATUS=0
round p64 "$N" "${S[@]}"
eq "p64: no deadlock (all $N ended within ${TMO}s)" 0 "$DEADLOCK"
eq "p64: every invocation exited 0" "0:$N" "$(rcs)"
verify p64 "$SAFESSH_STATE_DIR/servers/127.0.0.1" "$N"
N_=$N
summary "stand-in, parallel=64" ""
fi

# ------------------------------------------- 2. default parallel = 4
if want 2; then
export SAFESSH_STATE_DIR=$T/s2
: > "$SAFESSH_CONFIG"
round p4 "$N" "${S[@]}"
eq "p4: no deadlock" 0 "$DEADLOCK"
eq "p4: every invocation exited 0" "0:$N" "$(rcs)"
verify p4 "$SAFESSH_STATE_DIR/servers/127.0.0.1" "$N"
summary "stand-in, parallel=4 (default)" ""
fi

# -------------------------------------------- 3. chosen exit statuses
if want 3; then
export SAFESSH_STATE_DIR=$T/s3
printf '[defaults]\nparallel = 64\n' > "$SAFESSH_CONFIG"
R=$T/round-status
mkdir -p "$R"
export STAND_LOG=$R/stand.log
: > "$STAND_LOG"
pids=()
want=()
st=(0 1 7 0 130)
t0=${EPOCHREALTIME/[.,]/}
for ((i = 0; i < N; i++)); do
	STAND_STATUS=${st[$((i % 5))]} STAND_TAG=${EPOCHREALTIME/[.,]/} \
	    "$SAFESSH" "${S[@]}" </dev/null >/dev/null 2>/dev/null &
	pids+=($!)
	want+=("${st[$((i % 5))]}")
done
bad=0
for ((i = 0; i < N; i++)); do
	wait "${pids[$i]}"
	[ $? = "${want[$i]}" ] || bad=$((bad + 1))
done
t1=${EPOCHREALTIME/[.,]/}
ELAPSED=$(((t1 - t0) / 1000)) DEADLOCK=0
awk '$1 == "run" && $4 != "-" { printf "%.1f\n", ($2 - $4) / 1000 }' \
    "$STAND_LOG" > "$R/lat"
eq "statuses: each safessh exited with its ssh's status" 0 "$bad"
verify statuses "$SAFESSH_STATE_DIR/servers/127.0.0.1" "$N"
summary "stand-in, statuses 0/1/7/0/130" ", $bad wrong statuses"
fi

# ------------------------------ 4. failures under load: the budget holds
if want 4; then
export SAFESSH_STATE_DIR=$T/s4
printf '[defaults]\nparallel = 64\non_risk = refuse\n' > "$SAFESSH_CONFIG"
R=$T/round-fail
mkdir -p "$R"
export STAND_LOG=$R/stand.log
: > "$STAND_LOG"
# Every 10th caller has a wrong key (never proven: each reserves the
# full cost of a failure), the rest the right one.
W=(-i "$T/keys/wrong1" -p 2222 127.0.0.1 true)
pids=()
t0=${EPOCHREALTIME/[.,]/}
for ((i = 0; i < N; i++)); do
	if [ $((i % 10)) = 9 ]; then
		STAND_STATUS=255 \
		    STAND_STDERR='u@127.0.0.1: Permission denied (publickey).\r\n' \
		    STAND_TAG=${EPOCHREALTIME/[.,]/} "$SAFESSH" "${W[@]}" \
		    </dev/null >/dev/null 2>/dev/null &
	else
		STAND_STATUS=0 STAND_TAG=${EPOCHREALTIME/[.,]/} \
		    "$SAFESSH" "${S[@]}" </dev/null >/dev/null 2>/dev/null &
	fi
	pids+=($!)
done
for ((i = 0; i < N; i++)); do
	wait "${pids[$i]}"
	echo $? > "$R/rc.$i"
done
t1=${EPOCHREALTIME/[.,]/}
ELAPSED=$(((t1 - t0) / 1000)) DEADLOCK=0
awk '$1 == "run" && $4 != "-" { printf "%.1f\n", ($2 - $4) / 1000 }' \
    "$STAND_LOG" > "$R/lat"
L=$SAFESSH_STATE_DIR/servers/127.0.0.1
runs=$(grep -c '^run ' "$STAND_LOG")
refused=$(cat "$R"/rc.* | grep -c '^75$')
eq "failures: every invocation either ran ssh or was refused (75)" "$N" \
    $((runs + refused))
verify failures "$L" "$runs"
# The whole budget, whatever the interleaving: openssh's model allows
# two failed connections (5 s each, never over 10 s), sshguard two.
fails=$(grep -c ' authfail$' "$L")
check "failures: at most 2 failed connections reached the server ($fails)" \
    test "$fails" -le 2
summary "stand-in, every 10th a wrong key, on_risk=refuse" \
    ", $(rcs), $fails failures booked"
fi

# --------------------------------------------------- 5. the real sshd
if want 5; then
t_sshd
export SAFESSH_STATE_DIR=$T/s5 STAND_EXEC=1 STAND_SLEEP=0 STAND_STATUS=0
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
parallel = 64
[host site]
hostname = 127.0.0.1
port = $PORT
identity = $K
EOF
c0=$(t_conns)
round sshd "$NS" site true
eq "sshd: no deadlock" 0 "$DEADLOCK"
eq "sshd: every invocation exited 0" "0:$NS" "$(rcs)"
verify sshd "$SAFESSH_STATE_DIR/servers/127.0.0.1" "$NS"
eq "sshd: the server saw one connection per invocation" "$NS" \
    $(($(t_conns) - c0))
eq "sshd: no key was refused" 0 "$(grep -c 'Failed publickey' "$SSHD_LOG")"
drops=$(grep -c 'MaxStartups\|drop connection' "$SSHD_LOG")
eq "sshd: no MaxStartups drops" 0 "$drops"
N_=$NS
summary "real sshd, parallel=64" ", $drops MaxStartups drops"

# The baseline (informational): the same number of plain ssh at once.
pids=()
t0=${EPOCHREALTIME/[.,]/}
for ((i = 0; i < NS; i++)); do
	env -u LD_PRELOAD "$REAL_SSH" -F /dev/null "${SSHOPTS[@]}" \
	    -o IdentitiesOnly=yes -o IdentityAgent=none -i "$K" -p "$PORT" \
	    127.0.0.1 true </dev/null >/dev/null 2>&1 &
	pids+=($!)
done
okn=0
for p in "${pids[@]}"; do
	wait "$p" && okn=$((okn + 1))
done
t1=${EPOCHREALTIME/[.,]/}
ELAPSED=$(((t1 - t0) / 1000))
echo "load: plain ssh (baseline): $NS at once, $okn succeeded," \
    "$((NS - okn)) failed, wall $((ELAPSED / 1000)).$((ELAPSED % 1000 / 100)) s"
fi

t_done
