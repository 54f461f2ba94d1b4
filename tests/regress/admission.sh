#!/bin/bash
# admission.sh: G2 and G3 against a real sshd and stand-in listeners, with
# the sshd log (and the stand-ins' connection logs) as the witness:
#   a. a misconfigured loop (sequential, or 20 at once) reaches the server
#      only as often as the policy allows, and is then refused locally
#      with exit 75;
#   b. a 40-call burst over two aliases of one server all succeeds with at
#      most `parallel` unauthenticated connections at once (plain ssh
#      against MaxStartups 10:30:100 as a control);
#   c. a close before the banner after a failure blocks the server (G3):
#      every host of that server refused locally, --status, --forget,
#      --check; after the back-off exactly one probe;
#   d. a close before the banner with a clean history makes it suspect:
#      one retry after a jittered back-off (retries = 1), then blocked;
#   e. "Not allowed at this time" through the wrapper and through --proxy;
#   f. a banner timeout or connection refused: the same evidence, whether
#      the server answered before or not;
#   g. a delay within max_delay, and on_risk = refuse.
. "$(dirname "$0")/lib.sh"
t_init admission
t_keys
t_sshd
STANDIN=$TOP/tests/regress/standin.py
SV=127.0.0.1		# the server every host here is counted against

# standin VAR MODE: a stand-in listener; its port in $VAR, its
# connection log in $T/standin.VAR.log.
standin() {
	local var=$1 mode=$2 i p=
	python3 "$STANDIN" "$mode" --log "$T/standin.$var.log" \
	    > "$T/standin.$var.port" &
	_pids+=("$!")
	for i in $(seq 100); do
		p=$(head -1 "$T/standin.$var.port" 2>/dev/null)
		[ -n "$p" ] && break
		sleep 0.05
	done
	[ -n "$p" ] || { echo "standin $mode did not start"; exit 1; }
	: >> "$T/standin.$var.log"
	printf -v "$var" '%s' "$p"
}

# sconns VAR: connections the stand-in VAR accepted so far.
sconns() {
	grep -c '^conn ' "$T/standin.$1.log"
}

# cooling: 0 if the ledger says the server is blocked (G3).
cooling() {
	[ "$(sstate)" = blocked ]
}

# maxconc FROM LOG: the most connections at once that had not yet
# authenticated, from the sshd log lines after line FROM: +1 at
# "Connection from", -1 at "Accepted publickey" or a close before auth.
maxconc() {
	tail -n +"$(($1 + 1))" "$2" | awk '
	    function port(s) {
		if (match(s, / port [0-9]+/))
			return substr(s, RSTART + 6, RLENGTH - 6)
		return ""
	    }
	    /^Connection from / {
		p = port($0)
		if (!(p in open)) { open[p] = 1; cur++ }
		if (cur > max) max = cur
		next
	    }
	    /^Accepted publickey for / ||
	    /(closed|Disconnected|reset|Timeout|disconnect|banner).*\[preauth\]$/ {
		p = port($0)
		if (p in open) { delete open[p]; cur-- }
	    }
	    END { print max + 0 }'
}

RE_REFUSED="^safessh: %s \\(server $SV\\): refused: .+; next attempt allowed at [0-9]{2}:[0-9]{2} \\(in [0-9dhms]+\\); 'safessh --check %s' tries now, 'safessh --forget %s' clears the history; see 'safessh --status %s'\$"
# refused HOST FILE: FILE is exactly one refusal line for HOST.
refused() {
	# shellcheck disable=SC2059
	[ "$(wc -l < "$2")" -eq 1 ] &&
	    grep -Eq "$(printf "$RE_REFUSED" "$1" "$1" "$1" "$1")" "$2"
}

hosts() {
	cat <<EOF
[host site site-a site-b]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/right

[host bad]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/wrong1
EOF
}

# ---------------------------------------------------------------- a.
echo "# a. a misconfigured loop"
fresh a
loop() {	# loop HOST N: N sequential calls; sets reached, rcs, msgs
	local i c0 rc
	reached=0 rcs="" msgs=0 quiet=0
	for i in $(seq "$2"); do
		c0=$(t_conns)
		timeout 60 "$SAFESSH" "$1" true 2>"$T/err.$i"
		rc=$?
		rcs="$rcs $rc"
		if [ "$(($(t_conns) - c0))" -gt 0 ]; then
			reached=$((reached + 1))
		elif [ "$rc" = 75 ]; then
			quiet=$((quiet + 1))
			refused "$1" "$T/err.$i" && msgs=$((msgs + 1))
		fi
	done
	rcs=${rcs# }
}
cat > "$SAFESSH_CONFIG" <<EOF
[host site]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/wrong1
EOF
c0=$(t_conns)
loop site 20
echo "# exit statuses: $rcs"
eq "wrong key, 20 calls: 2 reach the server (default policy)" 2 "$reached"
eq "the server saw 2 connections in all" 2 $(($(t_conns) - c0))
eq "the 2 that reached it failed with 255" "255 255" "$(echo "$rcs" |
    cut -d' ' -f1-2)"
eq "the other 18 exit 75 and make no connection" 18 "$quiet"
eq "each of the 18 printed the one-line refusal" 18 "$msgs"
echo "# $(head -1 "$T/err.3")"
check "the refusal names sshguard's rule" \
    grep -q '2 failed connections in the last 30m (sshguard allows 2)' \
    "$T/err.20"
check "--status site: refusing" sh -c \
    "'$SAFESSH' --status site | grep -q 'refusing until'"
check "--forget site" "$SAFESSH" --forget site
sed -i "s|keys/wrong1|keys/right|" "$SAFESSH_CONFIG"
c0=$(t_conns)
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "after --forget and the right key: success" 0 $?
eq "... with one connection" 1 $(($(t_conns) - c0))

fresh a-strict
cat > "$SAFESSH_CONFIG" <<EOF
[policy strict]
max_failures = 1
window = 1h
cooldown = 12h

[host site]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/wrong1
policy = strict
EOF
c0=$(t_conns)
loop site 20
eq "strict (1 per 1h): 1 of 20 reaches the server" 1 "$reached"
eq "strict: the server saw 1 connection" 1 $(($(t_conns) - c0))
eq "strict: 19 refused locally (75), each with the refusal line" "19 19" \
    "$quiet $msgs"
check "strict: the refusal names the policy" \
    grep -q '1 failed connection in the last 1h (strict allows 1)' \
    "$T/err.20"

# The same mistake, 20 at once: admitted together under one budget.
fresh a-parallel
sed -i -e "s|keys/right|keys/wrong1|" -e '/^policy = strict/d' \
    "$SAFESSH_CONFIG"
c0=$(t_conns)
pids=()
for i in $(seq 20); do
	timeout 120 "$SAFESSH" site true 2>"$T/err.p$i" &
	pids+=("$!")
done
n255=0 n75=0 msgs=0
for i in $(seq 20); do
	wait "${pids[$((i - 1))]}"
	case $? in
	255)	n255=$((n255 + 1)) ;;
	75)	n75=$((n75 + 1))
		refused site "$T/err.p$i" && msgs=$((msgs + 1)) ;;
	esac
done
eq "wrong key, 20 in parallel: 2 reach the server" 2 $(($(t_conns) - c0))
eq "wrong key, 20 in parallel: 2 fail (255), 18 refused (75)" "2 18" \
    "$n255 $n75"
eq "wrong key, 20 in parallel: 18 refusal lines" 18 "$msgs"

# ---------------------------------------------------------------- b.
echo "# b. a burst of 40 over two aliases of one server"
# burst DIR CMD...: 40 background calls, "CMD site-a"/"CMD site-b" (or
# the alias given by $BURST_HOSTS), each waited for; ok = successes.
burst_start() {
	local dir=$1 i h
	shift
	BPIDS=() BHOSTS=()
	mkdir -p "$dir"
	for i in $(seq 20); do
		for h in $BURST_HOSTS; do
			timeout 300 "$@" "$h" true >/dev/null \
			    2>"$dir/err.${#BPIDS[@]}" &
			BPIDS+=("$!")
			BHOSTS+=("$h")
		done
	done
}
# burst_wait DIR: bok, b255, b75 = how many ended so; brefmsg = how many
# of the 75s printed the refusal line.
burst_wait() {
	local k
	bok=0 b255=0 b75=0 brefmsg=0
	for k in "${!BPIDS[@]}"; do
		wait "${BPIDS[$k]}"
		case $? in
		0)	bok=$((bok + 1)) ;;
		255)	b255=$((b255 + 1)) ;;
		75)	b75=$((b75 + 1))
			refused "${BHOSTS[$k]}" "$1/err.$k" &&
			    brefmsg=$((brefmsg + 1)) ;;
		esac
	done
}
burst() {
	burst_start "$@"
	burst_wait "$1"
}
now_ms() { date +%s%3N; }

fresh b
hosts > "$SAFESSH_CONFIG"
BURST_HOSTS="site-a site-b"
l0=$(wc -l < "$SSHD_LOG")
c0=$(t_conns)
o0=$(t_offers)
t0=$(now_ms)
burst "$T/b1" "$SAFESSH"
t1=$(now_ms)
eq "burst: all 40 safessh calls succeed" 40 "$bok"
eq "burst: 40 connections, no more" 40 $(($(t_conns) - c0))
eq "burst: 40 keys offered, one per connection" 40 $(($(t_offers) - o0))
mx=$(maxconc "$l0" "$SSHD_LOG")
echo "# burst: at most $mx unauthenticated connections at once;" \
    "$((t1 - t0)) ms (information)"
check "burst: at most parallel (4) unauthenticated at once ($mx)" \
    test "$mx" -le 4 -a "$mx" -ge 1
eq "burst: the ledger holds 40 ok outcomes" 40 "$(nout ok)"
eq "burst: nothing else in the ledger" 40 \
    "$(grep -c '^a ' "$(ledger)")"

# The control: a second sshd with MaxStartups 10:30:100, plain ssh.
PORT1=$PORT
PORT2=$(t_port)
mkdir -p "$T/sshd2"
sed -e "s|^Port .*|Port $PORT2|" -e "s|^PidFile .*|PidFile $T/sshd2/pid|" \
    -e "s|^MaxStartups .*|MaxStartups 10:30:100|" \
    "$T/sshd/config" > "$T/sshd2/config"
LOG2=$T/sshd2/log
: > "$LOG2"
t_sshd_start "$T/sshd2/config" "$LOG2"
for i in $(seq 100); do
	grep -q 'Server listening' "$LOG2" && break
	sleep 0.05
done
env -u LD_PRELOAD ssh-keyscan -p "$PORT2" -t ed25519 127.0.0.1 2>/dev/null |
    sed "s/^127.0.0.1/[127.0.0.1]:$PORT2/" >> "$T/known_hosts"
PLAIN=(ssh -F /dev/null "${SSHOPTS[@]}" -o IdentitiesOnly=yes
    -o IdentityAgent=none -i "$T/keys/right" -p "$PORT2")
BURST_HOSTS="127.0.0.1 127.0.0.1"
# The wall-time baseline: plain ssh x40 against the first sshd (no drops).
t0=$(now_ms)
burst "$T/b0" "${PLAIN[@]:0:${#PLAIN[@]}-1}" "$PORT1"
t1=$(now_ms)
echo "# baseline: plain ssh x40 against MaxStartups 100:30:200: $bok" \
    "succeeded; $((t1 - t0)) ms (information)"
l0=$(wc -l < "$LOG2")
t0=$(now_ms)
burst "$T/b2" "${PLAIN[@]}"
t1=$(now_ms)
drops=$(tail -n +"$((l0 + 1))" "$LOG2" | grep -c 'past MaxStartups')
echo "# control: plain ssh x40 against MaxStartups 10:30:100:" \
    "$bok succeeded, $drops dropped by sshd, at most" \
    "$(maxconc "$l0" "$LOG2") unauthenticated at once;" \
    "$((t1 - t0)) ms (information)"
# (8 of 8 runs on 2 cores dropped 6 to 16: a reliable control.)
check "control: plain ssh x40 loses connections to MaxStartups ($drops)" \
    test "$drops" -ge 1

fresh b2
sed -e "s|^port = $PORT1|port = $PORT2|" -e 's|^\[host site |[host |' \
    <(hosts) > "$SAFESSH_CONFIG"
BURST_HOSTS="site-a site-b"
l0=$(wc -l < "$LOG2")
t0=$(now_ms)
burst "$T/b3" "$SAFESSH"
t1=$(now_ms)
drops=$(tail -n +"$((l0 + 1))" "$LOG2" | grep -c 'past MaxStartups')
mx=$(maxconc "$l0" "$LOG2")
echo "# safessh x40 against MaxStartups 10:30:100: $bok succeeded," \
    "$drops dropped, at most $mx at once; $((t1 - t0)) ms (information)"
eq "burst against MaxStartups 10:30:100: all 40 succeed" 40 "$bok"
eq "burst against MaxStartups 10:30:100: sshd dropped none" 0 "$drops"
check "burst against MaxStartups 10:30:100: at most 4 at once ($mx)" \
    test "$mx" -le 4
eq "burst against MaxStartups 10:30:100: 40 ok in the ledger" 40 \
    "$(nout ok)"
PORT=$PORT1

# The documented worst case: the key revoked in the middle of a burst.
# At most `parallel` proven attempts in flight fail together; after the
# first failure nothing more is admitted on the key's proof.
echo "# b. the key revoked in the middle of a burst"
fresh b-revoke
hosts > "$SAFESSH_CONFIG"
l0=$(wc -l < "$SSHD_LOG")
c0=$(t_conns)
BURST_HOSTS="site-a site-b"
burst_start "$T/b4" "$SAFESSH"
for i in $(seq 600); do
	[ "$(tail -n +"$((l0 + 1))" "$SSHD_LOG" |
	    grep -c '^Accepted publickey')" -ge 6 ] && break
	sleep 0.1
done
cp "$T/sshd/authorized_keys" "$T/authorized_keys.saved"
: > "$T/sshd/authorized_keys"
burst_wait "$T/b4"
cp "$T/authorized_keys.saved" "$T/sshd/authorized_keys"
nfail=$(tail -n +"$((l0 + 1))" "$SSHD_LOG" | grep -c '^Failed publickey')
echo "# revoked mid-burst: $bok succeeded, $b255 failed, $b75 refused;" \
    "sshd saw $nfail failed keys, $(($(t_conns) - c0)) connections"
check "revoked mid-burst: the revocation landed mid-burst ($nfail failed)" \
    test "$nfail" -ge 1
check "revoked mid-burst: at most parallel (4) failed connections" \
    test "$nfail" -le 4
eq "revoked mid-burst: every call succeeded, failed or was refused" 40 \
    $((bok + b255 + b75))
eq "revoked mid-burst: each failure is one the server saw" "$nfail" "$b255"
eq "revoked mid-burst: connections = successes + failures" \
    $((bok + b255)) $(($(t_conns) - c0))
eq "revoked mid-burst: each refusal printed the refusal line" "$b75" \
    "$brefmsg"
eq "revoked mid-burst: the ledger agrees (authfail)" "$b255" "$(nout authfail)"

# ---------------------------------------------------------------- c.
echo "# c. a close before the banner after a failure: the server is blocked"
# Sections c to f refuse rather than wait out a back-off (on_risk).
strict() {
	printf '[defaults]\non_risk = refuse\n\n'
	hosts
}
RE_BLOCK="^safessh: %s \\(server $SV\\): the server is refusing this source \\(.+\\); no attempts until [0-9]{2}:[0-9]{2} \\(back-off [0-9dhms]+\\), then one probe; see 'safessh --status %s'\$"
# blocking HOST FILE: FILE holds the "refusing this source" line for HOST.
blocking() {
	# shellcheck disable=SC2059
	grep -Eq "$(printf "$RE_BLOCK" "$1" "$1")" "$2"
}
fresh c
standin CL close
{ strict; cat <<EOF

[host closer]
hostname = 127.0.0.1
port = $CL
identity = $T/keys/right
EOF
} > "$SAFESSH_CONFIG"
timeout 60 "$SAFESSH" bad true 2>/dev/null
eq "one wrong-key failure (255)" 255 $?
s0=$(sconns CL)
timeout 60 "$SAFESSH" closer true 2>"$T/err"
eq "closer: ssh's own status (255)" 255 $?
eq "closer: the stand-in saw 1 connection (no retry)" 1 $(($(sconns CL) - s0))
check "closer: the blocked message" blocking closer "$T/err"
check "closer: no retry line" test "$(grep -c retry "$T/err")" = 0
eq "closer: recorded as ban" 1 "$(nout ban)"
check "closer: the ledger says blocked" cooling
s0=$(sconns CL)
c0=$(t_conns)
timeout 60 "$SAFESSH" closer true 2>"$T/err.1"
r1=$?
timeout 60 "$SAFESSH" site true 2>"$T/err.2"
r2=$?
timeout 60 "$SAFESSH" site-b true 2>"$T/err.3"
r3=$?
eq "blocked: closer, site, site-b all exit 75" "75 75 75" "$r1 $r2 $r3"
check "blocked: closer printed the refusal" refused closer "$T/err.1"
check "blocked: site printed the refusal" refused site "$T/err.2"
check "blocked: site-b printed the refusal" refused site-b "$T/err.3"
check "blocked: the refusal names the evidence" grep -q \
    'refused: blocked: closed before the banner at' "$T/err.2"
eq "blocked: the stand-in saw no connection" 0 $(($(sconns CL) - s0))
eq "blocked: sshd saw no connection" 0 $(($(t_conns) - c0))
check "--status site: blocked until" sh -c \
    "'$SAFESSH' --status site | grep -Eq 'blocked until [0-9]{2}:[0-9]{2}'"
check "--status site: the state line names the evidence and the probe" \
    sh -c "'$SAFESSH' --status site | grep -Eq '^    blocked: closed before the banner at [0-9:]+; next probe at'"
check "--forget site" "$SAFESSH" --forget site 2>/dev/null
check "--status site after --forget: ok" sh -c \
    "'$SAFESSH' --status site | grep -Eq '^$SV .* ok +now\$'"
c0=$(t_conns)
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "after --forget: site succeeds" 0 $?
eq "after --forget: one connection" 1 $(($(t_conns) - c0))
# Blocked again, then --check.  (--limits: a clean slate; --forget
# alone keeps the limit that the ban taught, see learn.sh.)
"$SAFESSH" --forget --limits site 2>/dev/null
timeout 60 "$SAFESSH" bad true 2>/dev/null
timeout 60 "$SAFESSH" closer true 2>/dev/null
check "blocked again" cooling
c0=$(t_conns)
o0=$(t_offers)
timeout 60 "$SAFESSH" site true 2>/dev/null
eq "blocked again: site refused (75)" 75 $?
timeout 60 "$SAFESSH" --check site 2>"$T/err"
eq "--check site while blocked: allowed, succeeds" 0 $?
eq "--check: exactly one connection" 1 $(($(t_conns) - c0))
eq "--check: exactly one key offered" 1 $(($(t_offers) - o0))
check "--check: says the server is ok and the key admitted" grep -q \
    "^safessh: site (server $SV): check passed; the server is ok and calls with this key are admitted\$" "$T/err"
check "--check: the ledger says ok" not cooling
check "--status site after --check: not blocked" sh -c \
    "! '$SAFESSH' --status site | grep -q blocked"
eq "--check: recorded as ok" 1 "$(nout ok)"
timeout 60 "$SAFESSH" site true 2>/dev/null
eq "after --check: site admitted" 0 $?
# A failed --check leaves the server blocked, its back-off doubled.
"$SAFESSH" --forget --limits site 2>/dev/null
timeout 60 "$SAFESSH" bad true 2>/dev/null
timeout 60 "$SAFESSH" closer true 2>/dev/null
s0=$(sconns CL)
timeout 60 "$SAFESSH" --check closer 2>"$T/err"
eq "--check closer (still closing): ssh's 255" 255 $?
eq "--check closer: one connection" 1 $(($(sconns CL) - s0))
check "--check closer: says check failed" grep -q \
    "^safessh: closer (server $SV): check failed (ban); see 'safessh --status closer'\$" "$T/err"
check "--check closer: still blocked" cooling
check "--check closer: the back-off doubled (1m)" sh -c \
    "'$SAFESSH' --status closer | grep -q 'back-off 1m'"

# After the back-off: exactly one probe, whoever asks.  A policy whose
# cooldown (the longest back-off) is 2 s keeps this short.
fresh c2
{ strict; cat <<EOF

[host closer]
hostname = 127.0.0.1
port = $CL
identity = $T/keys/right

[policy quick]
max_failures = 4
window = 10m
cooldown = 2s

[host *]
policy = quick
EOF
} > "$SAFESSH_CONFIG"
timeout 60 "$SAFESSH" bad true 2>/dev/null
timeout 60 "$SAFESSH" closer true 2>/dev/null
check "cooldown 2s: blocked" cooling
sleep 3
s0=$(sconns CL)
for i in 1 2 3 4 5; do
	timeout 60 "$SAFESSH" closer true 2>"$T/err.p$i" &
	PP[i]=$!
done
n75=0
for i in 1 2 3 4 5; do
	wait "${PP[i]}"
	[ $? = 75 ] && n75=$((n75 + 1))
done
eq "5 callers after the back-off: exactly one probe reached the server" 1 \
    $(($(sconns CL) - s0))
eq "... the 4 others were refused (75)" 4 "$n75"
check "... and it is blocked again" cooling
sleep 3
c0=$(t_conns)
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "the next back-off over: the probe through site succeeds" 0 $?
eq "... with one connection" 1 $(($(t_conns) - c0))
check "... and the server is ok" not cooling

# ---------------------------------------------------------------- d.
echo "# d. a close before the banner with a clean history: suspect"
fresh d
{ strict; cat <<EOF

[host closer]
hostname = 127.0.0.1
port = $CL
identity = $T/keys/right
EOF
} > "$SAFESSH_CONFIG"
s0=$(sconns CL)
t0=$(now_ms)
timeout 60 "$SAFESSH" closer true 2>"$T/err"
rc=$?
t1=$(now_ms)
eq "drop: ssh's status (255)" 255 "$rc"
eq "drop: 1 + the one retry = 2 connections" 2 $(($(sconns CL) - s0))
check "drop: the retry line" grep -Eq \
    "^safessh: closer \\(server $SV\\): closed before the banner at [0-9:]+ with no recent failures \\(server busy\\?\\); one retry in [0-9]+s\$" \
    "$T/err"
eq "drop: exactly one retry line" 1 "$(grep -c retry "$T/err")"
echo "# drop: 2 attempts in $((t1 - t0)) ms (information)"
eq "drop: 1 drop and 1 ban in the ledger" "1 1" "$(nout drop) $(nout ban)"
check "drop: the retry refused too: blocked" cooling
check "drop: the blocked message" blocking closer "$T/err"
c0=$(t_conns)
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "drop: the server's other hosts are refused too (75)" 75 $?
eq "... and do not reach it" 0 $(($(t_conns) - c0))
fresh d0
strict > "$SAFESSH_CONFIG"
cat >> "$SAFESSH_CONFIG" <<EOF

[host closer0]
hostname = 127.0.0.1
port = $CL
identity = $T/keys/right
retries = 0
EOF
s0=$(sconns CL)
timeout 60 "$SAFESSH" closer0 true 2>"$T/err"
eq "retries = 0: ssh's status (255)" 255 $?
eq "retries = 0: exactly 1 connection" 1 $(($(sconns CL) - s0))
eq "retries = 0: no retry line" 0 "$(grep -c retry "$T/err")"
eq "retries = 0: the server is suspect" suspect "$(sstate)"
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "retries = 0: the next call during the back-off is refused (75)" 75 $?
check "... naming the suspect state" grep -q 'refused: suspect: closed' \
    "$T/err"
sleep 4
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "after the jittered back-off: the probe through site succeeds" 0 $?
eq "... and the server is ok" ok "$(sstate)"

# ---------------------------------------------------------------- e.
echo "# e. \"Not allowed at this time\""
standin NA notallowed
fresh e1
{ strict; cat <<EOF

[host na]
hostname = 127.0.0.1
port = $NA
identity = $T/keys/right
EOF
} > "$SAFESSH_CONFIG"
s0=$(sconns NA)
timeout 60 "$SAFESSH" na true 2>"$T/err"
eq "notallowed, clean history: ssh's status (255)" 255 $?
eq "notallowed, clean history: suspect, one retry (2 connections)" \
    2 $(($(sconns NA) - s0))
eq "notallowed, clean history: one retry line" 1 "$(grep -c retry "$T/err")"
eq "notallowed, clean history: 1 drop, 1 ban" "1 1" \
    "$(nout drop) $(nout ban)"
check "notallowed, clean history: blocked after the retry" cooling

fresh e2
timeout 60 "$SAFESSH" bad true 2>/dev/null
s0=$(sconns NA)
timeout 60 "$SAFESSH" na true 2>"$T/err"
eq "notallowed after a failure: ssh's status (255)" 255 $?
eq "notallowed after a failure: 1 connection, no retry" 1 \
    $(($(sconns NA) - s0))
check "notallowed after a failure: the blocked message" blocking na "$T/err"
eq "notallowed after a failure: recorded as ban" 1 "$(nout ban)"
check "notallowed after a failure: blocked" cooling
c0=$(t_conns)
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "notallowed after a failure: site refused (75)" 75 $?
eq "... with no connection" 0 $(($(t_conns) - c0))

# ProxyCommand: plain ssh, safessh --proxy sees the bytes.
PROXY=(ssh -F /dev/null "${SSHOPTS[@]}" -o IdentitiesOnly=yes
    -o IdentityAgent=none -i "$T/keys/right"
    -o "ProxyCommand=$SAFESSH --proxy %h %p")
fresh e3
s0=$(sconns NA)
timeout 60 "${PROXY[@]}" -p "$NA" 127.0.0.1 true 2>"$T/err"
eq "--proxy, notallowed, clean history: ssh exits 255" 255 $?
eq "--proxy: 1 connection (the proxy does not retry)" 1 \
    $(($(sconns NA) - s0))
check "--proxy: recognised from the bytes" grep -q \
    '^safessh: 127.0.0.1: server said "Not allowed at this time"$' "$T/err"
eq "--proxy, clean history: recorded as drop" 1 "$(nout drop)"
eq "--proxy, clean history: suspect" suspect "$(sstate)"

fresh e4
timeout 60 "$SAFESSH" bad true 2>/dev/null
s0=$(sconns NA)
timeout 60 "${PROXY[@]}" -p "$NA" 127.0.0.1 true 2>"$T/err"
eq "--proxy, notallowed after a failure: ssh exits 255" 255 $?
eq "--proxy after a failure: 1 connection" 1 $(($(sconns NA) - s0))
check "--proxy after a failure: recognised from the bytes" grep -q \
    'server said "Not allowed at this time"' "$T/err"
eq "--proxy after a failure: recorded as ban" 1 "$(nout ban)"
check "--proxy after a failure: blocked" cooling
check "--proxy after a failure: the blocked message" blocking 127.0.0.1 \
    "$T/err"
s0=$(sconns NA)
timeout 60 "${PROXY[@]}" -p "$NA" 127.0.0.1 true 2>"$T/err"
eq "--proxy while blocked: ssh exits 255" 255 $?
eq "--proxy while blocked: no connection" 0 $(($(sconns NA) - s0))
grep '^safessh: ' "$T/err" > "$T/err.s"
check "--proxy while blocked: the refusal reaches ssh's stderr" \
    refused 127.0.0.1 "$T/err.s"

# --proxy nested under the wrapper: one record per connection, not two.
fresh e5
NESTED=(-o "ProxyCommand=$SAFESSH --proxy %h %p")
s0=$(sconns NA)
timeout 60 "$SAFESSH" "${NESTED[@]}" na true 2>"$T/err"
eq "nested --proxy, clean history: ssh's 255" 255 $?
eq "nested --proxy: one retry (2 connections)" 2 $(($(sconns NA) - s0))
eq "nested --proxy: 2 attempts in the ledger, not counted twice" 2 \
    "$(grep -c '^a ' "$(ledger)")"
eq "nested --proxy: 1 drop, 1 ban" "1 1" "$(nout drop) $(nout ban)"
eq "nested --proxy: the proxy saw the line each time" 2 \
    "$(grep -c 'server said "Not allowed at this time"' "$T/err")"
fresh e6
timeout 60 "$SAFESSH" bad true 2>/dev/null
s0=$(sconns NA)
timeout 60 "$SAFESSH" "${NESTED[@]}" na true 2>"$T/err"
eq "nested --proxy after a failure: ssh's 255" 255 $?
eq "nested --proxy after a failure: 1 connection" 1 $(($(sconns NA) - s0))
eq "nested --proxy after a failure: 2 attempts in the ledger" 2 \
    "$(grep -c '^a ' "$(ledger)")"
eq "nested --proxy after a failure: recorded as ban" 1 "$(nout ban)"
check "nested --proxy after a failure: blocked" cooling
# The proxy prints 'safessh: HOST: server said "Not allowed at this time"'
# for the wrapper to read (safessh.c, onproxy); outcome.c must take it, so
# that the state's reason names it rather than "closed before the banner".
sed 's/%20/ /g; s/%22/"/g' "$(ledger)" > "$T/ledger.txt"
check "nested --proxy after a failure: the reason is the line the proxy saw" \
    grep -q '^g blocked .* "Not allowed at this time" at' "$T/ledger.txt"

# ---------------------------------------------------------------- g.
# (g comes before f, which stops sshd.)
echo "# g. delay within max_delay; on_risk = refuse"
fresh g
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
max_delay = 30s

[policy quick]
penalty = 5s
penalty_limit = 5s

[host qgood]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/right
policy = quick

[host qbad]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/wrong1
policy = quick
EOF
timeout 60 "$SAFESSH" qbad true 2>/dev/null
eq "quick: one failure (255)" 255 $?
c0=$(t_conns)
t0=$(now_ms)
timeout 60 "$SAFESSH" qgood echo ran >"$T/out" 2>"$T/err"
rc=$?
t1=$(now_ms)
eq "quick: the next call eventually runs" "0 ran" "$rc $(cat "$T/out")"
eq "quick: one connection" 1 $(($(t_conns) - c0))
eq "quick: one delaying line (stderr not a tty)" 1 \
    "$(grep -Ec '^safessh: qgood \(server 127\.0\.0\.1\): delaying [0-9]+s: modelled penalty [0-9]+s of 5s' "$T/err")"
eq "quick: nothing else on stderr" 1 "$(wc -l < "$T/err")"
echo "# quick: $(cat "$T/err"); ran after $((t1 - t0)) ms (information)"

# on_risk = refuse (a penalty long enough that it cannot decay between
# two calls however slow the machine).
fresh g2
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
max_delay = 30s
on_risk = refuse

[policy slow]
penalty = 60s
penalty_limit = 60s

[host qgood]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/right
policy = slow

[host qbad]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/wrong1
policy = slow
EOF
timeout 60 "$SAFESSH" qbad true 2>/dev/null
eq "on_risk = refuse: one failure (255)" 255 $?
c0=$(t_conns)
timeout 60 "$SAFESSH" qgood true 2>"$T/err"
eq "on_risk = refuse: the next call exits 75" 75 $?
eq "on_risk = refuse: no connection" 0 $(($(t_conns) - c0))
check "on_risk = refuse: the refusal line" refused qgood "$T/err"
check "on_risk = refuse: no delaying line" not grep -q delaying "$T/err"
# on_risk = delay but the wait exceeds max_delay: refused too.
sed -i 's/^on_risk = refuse/on_risk = delay/' "$SAFESSH_CONFIG"
timeout 60 "$SAFESSH" qgood true 2>"$T/err"
eq "on_risk = delay, wait > max_delay: exits 75" 75 $?
check "... with the refusal line" refused qgood "$T/err"
eq "... and no connection" 0 $(($(t_conns) - c0))

# ---------------------------------------------------------------- f.
echo "# f. a banner timeout, a refused connection"
standin SI silent
hostsf() {
	strict
	cat <<EOF

[host silent]
hostname = 127.0.0.1
port = $SI
identity = $T/keys/right
connect_timeout = 2s
retries = 0
EOF
}
fresh f1
hostsf > "$SAFESSH_CONFIG"
s0=$(sconns SI)
timeout 60 "$SAFESSH" silent true 2>"$T/err"
eq "timeout, clean history: ssh's 255" 255 $?
check "timeout, clean history: ssh said timed out" grep -q 'timed out' \
    "$T/err"
eq "timeout, clean history: 1 connection (retries = 0)" 1 \
    $(($(sconns SI) - s0))
eq "timeout, clean history: recorded as drop" 1 "$(nout drop)"
eq "timeout, clean history: suspect" suspect "$(sstate)"
fresh f2
hostsf > "$SAFESSH_CONFIG"
timeout 60 "$SAFESSH" bad true 2>/dev/null
eq "a failure first" 255 $?
s0=$(sconns SI)
timeout 60 "$SAFESSH" silent true 2>"$T/err"
eq "timeout after a failure: ssh's 255" 255 $?
eq "timeout after a failure: 1 connection" 1 $(($(sconns SI) - s0))
check "timeout after a failure: the blocked message" blocking silent "$T/err"
eq "timeout after a failure: recorded as ban" 1 "$(nout ban)"
check "timeout after a failure: blocked" cooling
c0=$(t_conns)
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "timeout after a failure: site refused (75)" 75 $?
eq "... with no connection" 0 $(($(t_conns) - c0))
check "... naming the timeout" grep -q 'refused: blocked: timed out' \
    "$T/err"

echo "# f. sshd stopped: connection refused"
fresh f0
strict > "$SAFESSH_CONFIG"
t_stop_sshd
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "no history, sshd down: ssh's 255" 255 $?
check "... ssh said Connection refused" grep -q 'Connection refused' "$T/err"
eq "... refused twice (the one retry), then blocked" "1 1" \
    "$(nout drop) $(nout ban)"
check "... blocked" cooling
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "... the next call is refused by safessh (75)" 75 $?
check "... naming connection refused" grep -q \
    'refused: blocked: connection refused' "$T/err"

t_done
