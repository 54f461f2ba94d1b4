#!/bin/bash
# redis.sh: the shared ledger (ledger = unix:/path) against a real
# redis-server and a real sshd, both started here and shared by every
# check.  "Machines" are separate state directories naming one store.
#   a. a wrong key, 12 calls in parallel over 3 machines then 20 in a
#      row: the sshd log shows no more failed logins than one machine
#      alone makes (the policy's 2); the same with local ledgers (the
#      control) shows 3 machines x 2;
#   b. the layout: one list PREFIX srv:SERVER of ledger lines with the
#      client field, with a TTL; --status names the backend and the
#      clients; --forget on one machine clears it for all;
#   c. failures: the store slow (DEBUG SLEEP), a password required
#      (NOAUTH) or wrong (WRONGPASS), stopped, restarted empty: one line
#      on stderr, the call goes on with the local files (or 75 with
#      ledger_required = yes), and the local files hold every attempt;
#      the password shows nowhere (ps, --status, --dry-run, messages);
#   d. a stand-in round: REDIS_N (default 200) concurrent calls over 5
#      machines, every 10th a wrong key: the policy's failures booked,
#      every run recorded, none lost, no deadlock; p99 admission;
#   e. as root: 3 machines in network namespaces of their own, reaching
#      the store through its socket: one budget still.
. "$(dirname "$0")/lib.sh"
t_init redis
if ! command -v redis-server >/dev/null || ! command -v redis-cli \
    >/dev/null; then
	skip "redis-server or redis-cli missing (apt-get install redis-server)"
	t_done
	exit 0
fi
N=${REDIS_N:-200}
SOCK=$T/redis/sock
mkdir -p "$T/redis"
chmod 700 "$T/redis"

# redis_start: a fresh, empty redis-server on $SOCK ($RPID).
redis_start() {
	local i
	# At nice -10 when allowed: a team's store has its own host, not
	# 1/200 of 2 cores shared with the clients of round d.
	env -u LD_PRELOAD nice -n -10 redis-server --port 0 \
	    --unixsocket "$SOCK" --unixsocketperm 700 --dir "$T/redis" \
	    --save '' --appendonly no --enable-debug-command local \
	    --logfile "$T/redis/log" 2>/dev/null &
	RPID=$!
	_pids+=("$RPID")
	for i in $(seq 100); do
		[ -S "$SOCK" ] && rcli PING 2>/dev/null | grep -q PONG && return
		sleep 0.05
	done
	echo "redis-server did not start"
	cat "$T/redis/log"
	exit 1
}
redis_stop() {
	kill "$RPID" 2>/dev/null
	wait "$RPID" 2>/dev/null
}
rcli() {
	env -u LD_PRELOAD redis-cli -s "$SOCK" "$@"
}
KEY=safessh:srv:127.0.0.1

t_keys
t_sshd
redis_start

# m I ARGS...: safessh as machine I.
m() {
	local i=$1
	shift
	SAFESSH_STATE_DIR=$T/m$i "$SAFESSH" "$@"
}
conf() {
	{
		echo "[defaults]"
		[ -n "$1" ] && echo "ledger = $1"
		shift
		for l in "$@"; do echo "$l"; done
		echo "[host site]"
		echo "hostname = 127.0.0.1"
		echo "port = $PORT"
		echo "identity = $KEYF"
	} > "$SAFESSH_CONFIG"
}
absent() {
	! grep -q -- "$1" "$2"
}
fails() {
	grep -c 'Failed publickey for' "$SSHD_LOG"
}

# ------------------------------------------- a. one budget, 3 machines
# burst DIR-PREFIX: 12 calls at once over machines 1-3, then 20 in a row.
burst() {
	local i pids=()
	for i in $(seq 0 11); do
		SAFESSH_STATE_DIR=$T/$1$((i % 3 + 1)) "$SAFESSH" site true \
		    </dev/null >/dev/null 2>>"$T/burst.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 0 19); do
		SAFESSH_STATE_DIR=$T/$1$((i % 3 + 1)) "$SAFESSH" site true \
		    </dev/null >/dev/null 2>>"$T/burst.err"
	done
}
KEYF=$T/keys/wrong1
conf "unix:$SOCK"
f0=$(fails)
burst m
shared=$(($(fails) - f0))
check "a. shared: 32 wrong-key calls over 3 machines: at most 2 failed logins reach the server ($shared)" \
    test "$shared" -le 2
check "a. shared: and the budget was used ($shared failed)" \
    test "$shared" -ge 1
# The control: the same with each machine's own files.
conf ""
f0=$(fails)
burst c
control=$(($(fails) - f0))
check "a. control (local ledgers): more failed logins ($control > $shared)" \
    test "$control" -gt "$shared"
echo "redis: a wrong key, 3 machines: shared ledger $shared failed logins," \
    "local ledgers $control"
eq "a. no penalty or ban on the server" 0 \
    "$(grep -ci 'penalt\|refusing connection\|drop connection' "$SSHD_LOG")"

# -------------------------------------------------------- b. the layout
conf "unix:$SOCK"
eq "b. one list per server: $KEY" "$KEY" "$(rcli --scan --pattern \
    'safessh:srv:*')"
eq "b. no other keys than the documented ones (srv:, lock:, wake:, epoch)" \
    "" "$(rcli --scan --pattern 'safessh:*' |
    grep -Ev '^safessh:(srv|lock|wake):127\.0\.0\.1$|^safessh:epoch$')"
check "b. no lock left behind" test "$(rcli EXISTS safessh:lock:127.0.0.1)" = 0
wttl=$(rcli PTTL safessh:wake:127.0.0.1)
check "b. the wake list expires (PTTL $wttl)" test "$wttl" = -2 -o \
    "$wttl" -gt 0
eq "b. a list" list "$(rcli TYPE "$KEY")"
ttl=$(rcli PTTL "$KEY")
check "b. the key expires (PTTL $ttl ms, at most 7 days)" \
    test "$ttl" -gt 0 -a "$ttl" -le 604800000
rcli LRANGE "$KEY" 0 -1 > "$T/list"
check "b. every element is a ledger record (a, s, g or l)" \
    awk '!/^[asgl] / { bad = 1 } END { exit bad }' "$T/list"
eq "b. the failures are in the list" 2 "$(grep -c ' authfail$' "$T/list")"
m 1 --status >"$T/status" 2>&1
check "b. --status: the backend line" grep -q \
    "^ledger: unix:$SOCK (shared, keys safessh:srv:\*" "$T/status"
check "b. --status: the shared failures" grep -Eq \
    '^127.0.0.1 +site +- +2 ' "$T/status"
m 2 --forget site 2>"$T/err"
eq "b. --forget on machine 2: the shared list is gone" 0 \
    "$(rcli EXISTS "$KEY")"
m 3 --status site >"$T/status" 2>&1
check "b. machine 3 sees the cleared history" grep -Eq \
    '^127.0.0.1 +- +- +0 ' "$T/status"
KEYF=$T/keys/right
conf "unix:$SOCK"
for i in 1 2 3; do
	m $i site true </dev/null >/dev/null 2>"$T/err"
	eq "b. after --forget machine $i's call goes through" "0:" \
	    "$?:$(cat "$T/err")"
done
rcli LRANGE "$KEY" 0 -1 > "$T/list"
eq "b. the attempts name three clients (the 10th field)" 3 \
    "$(awk '$1 == "a" && NF == 10 { print $10 }' "$T/list" | sort -u |
    wc -l)"
eq "b. machine 1's id is its state directory's client file" 1 \
    "$(grep -c " $(cat "$T/m1/client")\$" "$T/list")"
m 1 --status >"$T/status" 2>&1
check "b. --status: the clients line names the 3 machines" grep -Eq \
    '^    clients: [^,]+ 1 \(last [0-9:]+ (ok|auth)\), [^,]+, [^,]+$' \
    "$T/status"

# ---------------------------------------------------------- c. failures
# one NAME WANT_RC PATTERN [M]: one call on machine M (default 4); exit
# status, exactly one stderr line matching PATTERN, and the attempt in
# the machine's local files (for a call that ran).
one() {
	local name=$1 want=$2 pat=$3 mm=${4:-4} rc n0 n1
	n0=$(grep -c '^a ' "$T/m$mm/servers/127.0.0.1" 2>/dev/null)
	m "$mm" site true </dev/null >/dev/null 2>"$T/err"
	rc=$?
	n1=$(grep -c '^a ' "$T/m$mm/servers/127.0.0.1" 2>/dev/null)
	eq "c. $name: exit $want" "$want" "$rc"
	eq "c. $name: one line on stderr" 1 "$(wc -l < "$T/err")"
	check "c. $name: it says why ($(head -c 200 "$T/err"))" \
	    grep -Eq "$pat" "$T/err"
	if [ "$want" = 0 ]; then
		eq "c. $name: the attempt is in the local files" \
		    $((${n0:-0} + 1)) "${n1:-0}"
	else
		eq "c. $name: nothing ran, nothing recorded" "${n0:-0}" \
		    "${n1:-0}"
	fi
}
FALL="using this machine's local ledger for this call"
REQ="the shared ledger is required \(ledger_required = yes\)"
# Slow: the store sleeps 2 s; a command waits 300 ms.
rcli DEBUG SLEEP 5 >/dev/null &
sp=$!
sleep 0.2
one "store slow (DEBUG SLEEP)" 0 "no answer within 300ms; $FALL"
conf "unix:$SOCK" "ledger_required = yes"
one "store slow, ledger_required" 75 "no answer within 300ms; $REQ"
wait "$sp"
# A password: none given (NOAUTH), a wrong one (WRONGPASS), the right one.
PW=s3cr3t-Pw
rcli CONFIG SET requirepass "$PW" >/dev/null
conf "unix:$SOCK"
one "password required, none given" 0 "NOAUTH.*; $FALL"
conf "unix:default:wrong-Pw@$SOCK"
one "wrong password" 0 "WRONGPASS.*; $FALL"
check "c. wrong password: the message hides it" grep -q \
    "unix:default:\*\*\*@$SOCK" "$T/err"
check "c. wrong password: not in the message" absent wrong-Pw "$T/err"
conf "unix:default:wrong-Pw@$SOCK" "ledger_required = yes"
one "wrong password, ledger_required" 75 "WRONGPASS.*; $REQ"
conf "unix:default:$PW@$SOCK"
m 4 site true </dev/null >/dev/null 2>"$T/err"
eq "c. the right password: the call goes through the store" "0:" \
    "$?:$(cat "$T/err")"
check "c. the right password: machine 4 is in the store" \
    sh -c "REDISCLI_AUTH='$PW' redis-cli -s '$SOCK' LRANGE $KEY 0 -1 |
    grep -q ' $(cat "$T/m4/client")\$'"
# The password nowhere: ps while a session runs, --status, --dry-run.
m 4 site sleep 1 </dev/null >/dev/null 2>&1 &
sp=$!
sleep 0.5
ps -eo args > "$T/ps"
wait "$sp"
check "c. password: not in ps" absent "$PW" "$T/ps"
check "c. password: a session ran meanwhile" grep -q "sleep 1" "$T/ps"
m 4 --status > "$T/status" 2>&1
m 4 --dry-run site true > "$T/dry" 2>&1
check "c. password: --status shows the store without it" grep -q \
    "^ledger: unix:default:\*\*\*@$SOCK (shared" "$T/status"
check "c. password: not in --status" absent "$PW" "$T/status"
check "c. password: not in --dry-run" absent "$PW" "$T/dry"
check "c. password: --dry-run names the store" grep -q \
    "^ledger: unix:default:\*\*\*@$SOCK (shared" "$T/dry"
chmod 644 "$SAFESSH_CONFIG"
m 4 site true </dev/null >/dev/null 2>"$T/err"
eq "c. a password in a file others can read: refused (255)" 255 "$?"
check "c. ... naming file:line, without the password" sh -c \
    "grep -q 'safessh.conf:2: invalid ledger \"unix:default:\*\*\*@' '$T/err' &&
    ! grep -q '$PW' '$T/err'"
chmod 600 "$SAFESSH_CONFIG"
rcli -a "$PW" --no-auth-warning CONFIG SET requirepass "" >/dev/null
conf "unix:$SOCK"
m 4 site true </dev/null >/dev/null 2>"$T/err"
eq "c. no password again: the call goes through the store" "0:" \
    "$?:$(cat "$T/err")"

# Stopped: the store is gone; then restarted empty.
redis_stop
one "store stopped" 0 "connect: .*; $FALL"
conf "unix:$SOCK" "ledger_required = yes"
one "store stopped, ledger_required" 75 "connect: .*; $REQ"
m 4 --forget site 2>"$T/err"
eq "c. store stopped: --forget fails (255)" 255 "$?"
check "c. store stopped: --forget says the shared history stays" \
    grep -q "the shared history was not cleared" "$T/err"
conf "unix:$SOCK"
redis_start
m 4 site true </dev/null >/dev/null 2>"$T/err"
eq "c. restarted empty: the call goes on (0)" 0 "$?"
eq "c. restarted empty: one line on stderr" 1 "$(wc -l < "$T/err")"
check "c. restarted empty: it says so ($(head -c 200 "$T/err"))" grep -q \
    "restarted empty" "$T/err"
m 4 site true </dev/null >/dev/null 2>"$T/err"
eq "c. restarted empty: said once (the next call is quiet)" "" \
    "$(cat "$T/err")"
eq "c. restarted empty: the store has the new attempts" 2 \
    "$(rcli LRANGE "$KEY" 0 -1 | grep -c '^a ')"

# Stopped in the middle of a burst of 20 (stand-in ssh, 0.3 s each).
STAND=$TOP/tests/regress/stand_ssh.sh
export REAL_SSH
R=$T/mid
mkdir -p "$R"
printf '[defaults]\nledger = unix:%s\nparallel = 64\n' "$SOCK" \
    > "$SAFESSH_CONFIG"
pids=()
for i in $(seq 0 19); do
	SAFESSH_SSH=$STAND STAND_LOG=$R/stand.log STAND_SLEEP=0.3 \
	    SAFESSH_STATE_DIR=$T/mid$((i % 2)) "$SAFESSH" -i "$T/keys/right" \
	    -p 2222 127.0.0.1 true </dev/null >/dev/null 2>"$R/err.$i" &
	pids+=($!)
	[ "$i" = 9 ] && { sleep 0.2; redis_stop; }
done
bad=0
for i in $(seq 0 19); do
	wait "${pids[$i]}" || bad=$((bad + 1))
done
eq "c. stopped mid-burst: every call exited 0" 0 "$bad"
runs=$(grep -c '^run ' "$R/stand.log")
eq "c. stopped mid-burst: every call ran ssh" 20 "$runs"
cat "$T"/mid?/servers/127.0.0.1 > "$R/local"
eq "c. stopped mid-burst: every run is in its machine's local files" 20 \
    "$(grep -c '^a ' "$R/local")"
eq "c. stopped mid-burst: none left in flight or lost locally" 0 \
    "$(awk '$1 == "s" { st[$2] = $4 } $1 == "a" && !($2 in st) {
    st[$2] = "inflight" } END { n = 0; for (i in st)
    if (st[i] == "lost" || st[i] == "inflight") n++; print n }' \
    "$T/mid0/servers/127.0.0.1" "$T/mid1/servers/127.0.0.1")"
check "c. stopped mid-burst: at most one line each on stderr" \
    sh -c "! awk 'FNR > 1 { exit 1 }' '$R'/err.* >/dev/null 2>&1 ||
    [ \$(cat '$R'/err.* | wc -l) -le 20 ]"
redis_start

# ------------------------------------------------- d. the stand-in round
R=$T/round
mkdir -p "$R"
: > "$R/stand.log"
printf '[defaults]\nledger = unix:%s\nparallel = 64\non_risk = refuse\n' \
    "$SOCK" > "$SAFESSH_CONFIG"
S=(-i "$T/keys/right" -p 2222 127.0.0.1 true)
W=(-i "$T/keys/wrong1" -p 2222 127.0.0.1 true)
pids=()
t0=${EPOCHREALTIME/[.,]/}
for ((i = 0; i < N; i++)); do
	if [ $((i % 10)) = 9 ]; then
		SAFESSH_SSH=$STAND STAND_LOG=$R/stand.log STAND_STATUS=255 \
		    STAND_STDERR='u@127.0.0.1: Permission denied (publickey).\r\n' \
		    STAND_TAG=${EPOCHREALTIME/[.,]/} \
		    SAFESSH_STATE_DIR=$T/r$((i % 5)) "$SAFESSH" "${W[@]}" \
		    </dev/null >/dev/null 2>"$R/err.$i" &
	else
		SAFESSH_SSH=$STAND STAND_LOG=$R/stand.log STAND_STATUS=0 \
		    STAND_TAG=${EPOCHREALTIME/[.,]/} \
		    SAFESSH_STATE_DIR=$T/r$((i % 5)) "$SAFESSH" "${S[@]}" \
		    </dev/null >/dev/null 2>"$R/err.$i" &
	fi
	pids+=($!)
done
(
	trap 'kill $sp 2>/dev/null; exit 0' TERM
	sleep 120 &
	sp=$!
	wait "$sp"
	touch "$R/deadlock"
	kill "${pids[@]}" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
dog=$!
for ((i = 0; i < N; i++)); do
	wait "${pids[$i]}"
	echo $? >> "$R/rcs"
done
t1=${EPOCHREALTIME/[.,]/}
kill "$dog" 2>/dev/null
wait "$dog" 2>/dev/null
check "d. no deadlock (all $N ended within 120 s)" test ! -e "$R/deadlock"
runs=$(grep -c '^run ' "$R/stand.log")
refused=$(grep -c '^75$' "$R/rcs")
eq "d. every call ran ssh or was refused (75)" "$N" $((runs + refused))
rcli LRANGE "$KEY" 0 -1 > "$R/list"
fl=$(grep -c ' authfail$' "$R/list")
eq "d. the policy's failures booked, no more (2)" 2 "$fl"
eq "d. and no more wrong-key runs than that" 2 \
    "$(grep -c '^run .*wrong1' "$R/stand.log")"
fb=$(cat "$R"/err.* | grep -c "$FALL")
eq "d. no call fell back to its local files" 0 "$fb"
sed -n 's/.* --authed [^ ]* \([0-9]*\).*/\1/p' "$R/stand.log" |
    LC_ALL=C sort > "$R/runids"
awk '$1 == "a" { print $2 }' "$R/list" | LC_ALL=C sort > "$R/ids"
eq "d. every run carries its ledger id" "$runs" "$(wc -l < "$R/runids")"
eq "d. every run is in the store" 0 \
    "$(LC_ALL=C comm -13 "$R/ids" "$R/runids" | wc -l)"
eq "d. no record without a run" 0 \
    "$(LC_ALL=C comm -23 "$R/ids" "$R/runids" | wc -l)"
eq "d. none lost or left in flight" 0 \
    "$(awk '$1 == "s" { st[$2] = $4 } $1 == "a" && !($2 in st) {
    st[$2] = "inflight" } END { n = 0; for (i in st)
    if (st[i] == "lost" || st[i] == "inflight") n++; print n }' \
    "$R/list")"
eq "d. every machine's local files hold its runs" "$runs" \
    "$(cat "$T"/r?/servers/127.0.0.1 | grep -c '^a ')"
awk '$1 == "run" && $4 != "-" { printf "%.1f\n", ($2 - $4) / 1000 }' \
    "$R/stand.log" | sort -n > "$R/lat"
pct() {
	awk -v p="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
	    r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }' "$1"
}
echo "redis: stand-in, $N calls over 5 machines, every 10th a wrong key:" \
    "$runs ran, $refused refused, $fl failures booked, admission median" \
    "$(pct "$R/lat" 50) ms p99 $(pct "$R/lat" 99) ms, wall" \
    "$(((t1 - t0) / 1000)) ms"

# ------------------------- e. machines in their own network namespaces
# Root only: 3 machines, each in a network namespace of its own (no
# route to this host's loopback), reach the one store through its Unix
# socket; 4 wrong-key calls each at once: the policy's 2 failures.
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
	skip "e. network namespaces: needs root and unshare -n"
else
	rcli DEL "$KEY" >/dev/null
	R=$T/netns
	mkdir -p "$R"
	: > "$R/stand.log"
	printf '[defaults]\nledger = unix:%s\nparallel = 64\non_risk = refuse\n' \
	    "$SOCK" > "$SAFESSH_CONFIG"
	check "e. a namespace has no route to this host's sshd" \
	    unshare -n bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null"
	pids=()
	for i in $(seq 0 11); do
		SAFESSH_SSH=$STAND STAND_LOG=$R/stand.log STAND_STATUS=255 \
		    STAND_SLEEP=0.2 \
		    STAND_STDERR='u@127.0.0.1: Permission denied (publickey).\r\n' \
		    SAFESSH_STATE_DIR=$T/ns$((i % 3)) unshare -n "$SAFESSH" \
		    "${W[@]}" </dev/null >/dev/null 2>"$R/err.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	rcli LRANGE "$KEY" 0 -1 > "$R/list"
	eq "e. 12 wrong-key calls from 3 namespaces: 2 ran" 2 \
	    "$(grep -c '^run ' "$R/stand.log")"
	eq "e. 2 failures booked in the store" 2 \
	    "$(grep -c ' authfail$' "$R/list")"
	eq "e. none fell back" 0 "$(cat "$R"/err.* | grep -c "$FALL")"
fi
t_done
