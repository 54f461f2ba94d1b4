#!/bin/bash
# admission.sh: G2 and G3 against a real sshd and stand-in listeners, with
# the sshd log (and the stand-ins' connection logs) as the witness:
#   a. a misconfigured loop (sequential, or 20 at once) reaches the server
#      only as often as the policy allows, and is then refused locally
#      with exit 75;
#   b. a 40-call burst over two aliases of one server all succeeds with at
#      most `parallel` unauthenticated connections at once (plain ssh
#      against MaxStartups 10:30:100 as a control);
#   c. a close before the banner after a failure is a ban signature:
#      cooldown for every host of that server, --status, --forget, --check;
#   d. a close before the banner with a clean history is an overload drop:
#      retried `retries` times, recorded as drop, no cooldown;
#   e. "Not allowed at this time" through the wrapper and through --proxy;
#   f. a banner timeout or connection refused from a server that answered
#      recently: cooldown (with a clean history: a network problem);
#   g. a delay within max_delay, and on_risk = refuse.
. "$(dirname "$0")/lib.sh"
t_init admission
# lib.sh's t_port draws from 20000-59999, which overlaps the kernel's
# ephemeral range (32768-60999 here): a port an outgoing connection holds
# passes its connect probe and then fails sshd's bind.  Stay below it.
t_port() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${lo:-0}" -gt 20100 ] 2>/dev/null || lo=32768
	while :; do
		p=$((20000 + RANDOM % (lo - 20000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}
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

# not CMD...: succeeds when CMD fails.
not() {
	! "$@"
}

# fresh NAME: a new, empty state directory (an empty ledger).
fresh() {
	export SAFESSH_STATE_DIR=$T/state-$1
}

ledger() {
	echo "$SAFESSH_STATE_DIR/servers/$SV"
}

# nout OUTCOME: attempts whose latest state in the ledger is OUTCOME.
nout() {
	[ -f "$(ledger)" ] || { echo 0; return; }
	awk -v want="$1" '
	    $1 == "a" { o[$2] = "inflight" }
	    $1 == "s" { o[$2] = $4 }
	    END { n = 0; for (i in o) if (o[i] == want) n++; print n }' \
	    "$(ledger)"
}

# cooling: 0 if the ledger holds a cooldown that has not ended.
cooling() {
	[ -f "$(ledger)" ] || return 1
	awk -v now="$(date +%s)" '
	    $1 == "c" { until = $2 }
	    END { exit !(until > now) }' "$(ledger)"
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

RE_REFUSED="^safessh: %s \\(server $SV\\): refused: .+; next attempt allowed at [0-9]{2}:[0-9]{2} \\(in [0-9dhms]+\\); see 'safessh --status %s'\$"
# refused HOST FILE: FILE is exactly one refusal line for HOST.
refused() {
	# shellcheck disable=SC2059
	[ "$(wc -l < "$2")" -eq 1 ] &&
	    grep -Eq "$(printf "$RE_REFUSED" "$1" "$1")" "$2"
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
env -u LD_PRELOAD "$SSHD" -f "$T/sshd2/config" -E "$LOG2" -D &
_pids+=("$!")
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
echo "# c. a close before the banner after a failure: ban signature"
fresh c
standin CL close
{ hosts; cat <<EOF

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
check "closer: the cooldown message" grep -Eq \
    "^safessh: closer \\(server $SV\\): the server is refusing this source; no attempts until [0-9]{2}:[0-9]{2}; see 'safessh --status closer'\$" \
    "$T/err"
check "closer: no retry line" test "$(grep -c retry "$T/err")" = 0
eq "closer: recorded as ban" 1 "$(nout ban)"
check "closer: the ledger holds a cooldown" cooling
s0=$(sconns CL)
c0=$(t_conns)
timeout 60 "$SAFESSH" closer true 2>"$T/err.1"
r1=$?
timeout 60 "$SAFESSH" site true 2>"$T/err.2"
r2=$?
timeout 60 "$SAFESSH" site-b true 2>"$T/err.3"
r3=$?
eq "cooldown: closer, site, site-b all exit 75" "75 75 75" "$r1 $r2 $r3"
check "cooldown: closer printed the refusal" refused closer "$T/err.1"
check "cooldown: site printed the refusal" refused site "$T/err.2"
check "cooldown: site-b printed the refusal" refused site-b "$T/err.3"
eq "cooldown: the stand-in saw no connection" 0 $(($(sconns CL) - s0))
eq "cooldown: sshd saw no connection" 0 $(($(t_conns) - c0))
# With the default policy the failure and the ban make 2 failures in 30m,
# so sshguard's refusal (30m) outlasts the cooldown (15m); --status must
# still name the running cooldown (the way out of which is --check).
check "--status site: cooldown until" sh -c \
    "'$SAFESSH' --status site | grep -Eq 'cooldown until [0-9]{2}:[0-9]{2}'"
check "--forget site" "$SAFESSH" --forget site 2>/dev/null
check "--status site after --forget: ok" sh -c \
    "'$SAFESSH' --status site | grep -Eq '^$SV .* ok +now\$'"
c0=$(t_conns)
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "after --forget: site succeeds" 0 $?
eq "after --forget: one connection" 1 $(($(t_conns) - c0))
# The cooldown again, then --check.
"$SAFESSH" --forget site 2>/dev/null
timeout 60 "$SAFESSH" bad true 2>/dev/null
timeout 60 "$SAFESSH" closer true 2>/dev/null
check "cooldown set again" cooling
c0=$(t_conns)
o0=$(t_offers)
timeout 60 "$SAFESSH" site true 2>/dev/null
eq "cooldown again: site refused (75)" 75 $?
timeout 60 "$SAFESSH" --check site 2>"$T/err"
eq "--check site during cooldown: allowed, succeeds" 0 $?
eq "--check: exactly one connection" 1 $(($(t_conns) - c0))
eq "--check: exactly one key offered" 1 $(($(t_offers) - o0))
check "--check: says the cooldown was cleared" grep -q \
    "^safessh: site (server $SV): check passed; cooldown cleared\$" "$T/err"
check "--check: the ledger holds no cooldown" not cooling
check "--status site after --check: no cooldown" sh -c \
    "! '$SAFESSH' --status site | grep -q cooldown"
eq "--check: recorded as ok" 1 "$(nout ok)"
# A failed --check leaves the cooldown alone.
"$SAFESSH" --forget site 2>/dev/null
timeout 60 "$SAFESSH" bad true 2>/dev/null
timeout 60 "$SAFESSH" closer true 2>/dev/null
s0=$(sconns CL)
timeout 60 "$SAFESSH" --check closer 2>"$T/err"
eq "--check closer (still closing): ssh's 255" 255 $?
eq "--check closer: one connection" 1 $(($(sconns CL) - s0))
check "--check closer: says check failed" grep -q \
    "^safessh: closer (server $SV): check failed\$" "$T/err"
check "--check closer: still in cooldown" cooling

# A policy whose cooldown outlasts its window: the cooldown binds.
fresh c2
{ hosts; cat <<EOF

[host closer]
hostname = 127.0.0.1
port = $CL
identity = $T/keys/right

[policy long]
max_failures = 2
window = 30m
cooldown = 1h

[host *]
policy = long
EOF
} > "$SAFESSH_CONFIG"
timeout 60 "$SAFESSH" bad true 2>/dev/null
timeout 60 "$SAFESSH" closer true 2>/dev/null
check "cooldown 1h: set" cooling
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "cooldown 1h: site refused (75)" 75 $?
check "cooldown 1h: the refusal says ban signature" \
    grep -q 'refused: ban signature (closed before the banner)' "$T/err"
check "cooldown 1h: the next attempt is an hour away" \
    grep -Eq '\(in (1h|60m|59m)\)' "$T/err"
check "--status site: cooldown until" sh -c \
    "'$SAFESSH' --status site | grep -Eq 'cooldown until [0-9]{2}:[0-9]{2}'"

# ---------------------------------------------------------------- d.
echo "# d. a close before the banner with a clean history: overload drop"
fresh d
{ hosts; cat <<EOF

[host closer]
hostname = 127.0.0.1
port = $CL
identity = $T/keys/right

[host closer0]
hostname = 127.0.0.1
port = $CL
identity = $T/keys/right
retries = 0
EOF
} > "$SAFESSH_CONFIG"
s0=$(sconns CL)
t0=$(now_ms)
timeout 60 "$SAFESSH" closer true 2>"$T/err"
rc=$?
t1=$(now_ms)
eq "drop: ssh's status (255)" 255 "$rc"
eq "drop: 1 + retries (2) = 3 connections" 3 $(($(sconns CL) - s0))
check "drop: retry 1 of 2 printed" grep -Eq \
    "^safessh: closer \\(server $SV\\): closed before the banner with no recent failures \\(server busy\\?\\); retry 1 of 2 in [0-9.]+s\$" \
    "$T/err"
check "drop: retry 2 of 2 printed" grep -Eq "retry 2 of 2 in [0-9.]+s\$" \
    "$T/err"
eq "drop: exactly two retry lines" 2 "$(grep -c retry "$T/err")"
echo "# drop: 3 attempts in $((t1 - t0)) ms (information)"
eq "drop: 3 drops in the ledger" 3 "$(nout drop)"
eq "drop: nothing recorded as ban" 0 "$(nout ban)"
check "drop: no cooldown" not cooling
check "drop: no refusal, no cooldown message" \
    not grep -Eq "refused|refusing" "$T/err"
c0=$(t_conns)
timeout 60 "$SAFESSH" site true 2>/dev/null
eq "drop: the server's other hosts are still admitted" 0 $?
eq "... and reach the server" 1 $(($(t_conns) - c0))
s0=$(sconns CL)
timeout 60 "$SAFESSH" closer0 true 2>"$T/err"
eq "retries = 0: ssh's status (255)" 255 $?
eq "retries = 0: exactly 1 connection" 1 $(($(sconns CL) - s0))
eq "retries = 0: no retry line" 0 "$(grep -c retry "$T/err")"

# ---------------------------------------------------------------- e.
echo "# e. \"Not allowed at this time\""
standin NA notallowed
fresh e1
{ hosts; cat <<EOF

[host na]
hostname = 127.0.0.1
port = $NA
identity = $T/keys/right
EOF
} > "$SAFESSH_CONFIG"
s0=$(sconns NA)
timeout 60 "$SAFESSH" na true 2>"$T/err"
eq "notallowed, clean history: ssh's status (255)" 255 $?
eq "notallowed, clean history: an overload drop, retried (3 connections)" \
    3 $(($(sconns NA) - s0))
eq "notallowed, clean history: two retry lines" 2 "$(grep -c retry "$T/err")"
eq "notallowed, clean history: 3 drops recorded" 3 "$(nout drop)"
check "notallowed, clean history: no cooldown" not cooling

fresh e2
timeout 60 "$SAFESSH" bad true 2>/dev/null
s0=$(sconns NA)
timeout 60 "$SAFESSH" na true 2>"$T/err"
eq "notallowed after a failure: ssh's status (255)" 255 $?
eq "notallowed after a failure: 1 connection, no retry" 1 \
    $(($(sconns NA) - s0))
check "notallowed after a failure: the cooldown message" grep -q \
    "^safessh: na (server $SV): the server is refusing this source" "$T/err"
eq "notallowed after a failure: recorded as ban" 1 "$(nout ban)"
check "notallowed after a failure: cooldown" cooling
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
check "--proxy, clean history: no cooldown" not cooling

fresh e4
timeout 60 "$SAFESSH" bad true 2>/dev/null
s0=$(sconns NA)
timeout 60 "${PROXY[@]}" -p "$NA" 127.0.0.1 true 2>"$T/err"
eq "--proxy, notallowed after a failure: ssh exits 255" 255 $?
eq "--proxy after a failure: 1 connection" 1 $(($(sconns NA) - s0))
check "--proxy after a failure: recognised from the bytes" grep -q \
    'server said "Not allowed at this time"' "$T/err"
eq "--proxy after a failure: recorded as ban" 1 "$(nout ban)"
check "--proxy after a failure: cooldown" cooling
check "--proxy after a failure: the cooldown message" grep -q \
    "^safessh: 127.0.0.1 (server $SV): the server is refusing this source" \
    "$T/err"
s0=$(sconns NA)
timeout 60 "${PROXY[@]}" -p "$NA" 127.0.0.1 true 2>"$T/err"
eq "--proxy during the cooldown: ssh exits 255" 255 $?
eq "--proxy during the cooldown: no connection" 0 $(($(sconns NA) - s0))
grep '^safessh: ' "$T/err" > "$T/err.s"
check "--proxy during the cooldown: the refusal reaches ssh's stderr" \
    refused 127.0.0.1 "$T/err.s"

# --proxy nested under the wrapper: one record per connection, not two.
fresh e5
NESTED=(-o "ProxyCommand=$SAFESSH --proxy %h %p")
s0=$(sconns NA)
timeout 60 "$SAFESSH" "${NESTED[@]}" na true 2>"$T/err"
eq "nested --proxy, clean history: ssh's 255" 255 $?
eq "nested --proxy: retried as a drop (3 connections)" 3 \
    $(($(sconns NA) - s0))
eq "nested --proxy: 3 attempts in the ledger, not counted twice" 3 \
    "$(grep -c '^a ' "$(ledger)")"
eq "nested --proxy: 3 drops" 3 "$(nout drop)"
eq "nested --proxy: the proxy saw the line each time" 3 \
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
check "nested --proxy after a failure: cooldown" cooling
# The proxy prints 'safessh: HOST: server said "Not allowed at this time"'
# for the wrapper to read (safessh.c, onproxy); outcome.c must take it, so
# that the cooldown's reason names it rather than "closed before the
# banner".
sed 's/%20/ /g' "$(ledger)" > "$T/ledger.txt"
check "nested --proxy after a failure: the reason is the line the proxy saw" \
    grep -q '^c .* ban signature (not allowed at this time)' "$T/ledger.txt"

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
echo "# f. a banner timeout from a server that answered recently"
standin SI silent
hostsf() {
	hosts
	cat <<EOF

[host silent]
hostname = 127.0.0.1
port = $SI
identity = $T/keys/right
connect_timeout = 2s
EOF
}
fresh f1
hostsf > "$SAFESSH_CONFIG"
s0=$(sconns SI)
timeout 60 "$SAFESSH" silent true 2>"$T/err"
eq "timeout, clean history: ssh's 255" 255 $?
check "timeout, clean history: ssh said timed out" grep -q 'timed out' \
    "$T/err"
eq "timeout, clean history: 1 connection" 1 $(($(sconns SI) - s0))
eq "timeout, clean history: recorded as net" 1 "$(nout net)"
check "timeout, clean history: no cooldown" not cooling
fresh f2
hostsf > "$SAFESSH_CONFIG"
timeout 60 "$SAFESSH" site true 2>/dev/null
eq "a success first" 0 $?
s0=$(sconns SI)
timeout 60 "$SAFESSH" silent true 2>"$T/err"
eq "timeout after an answer: ssh's 255" 255 $?
eq "timeout after an answer: 1 connection" 1 $(($(sconns SI) - s0))
check "timeout after an answer: the cooldown message" grep -q \
    "^safessh: silent (server $SV): the server is refusing this source" \
    "$T/err"
eq "timeout after an answer: recorded as ban" 1 "$(nout ban)"
check "timeout after an answer: cooldown" cooling
c0=$(t_conns)
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "timeout after an answer: site refused (75)" 75 $?
eq "... with no connection" 0 $(($(t_conns) - c0))
check "... naming the timeout" grep -q \
    'ban signature (connection timed out)' "$T/err"

echo "# f. sshd stopped after a success: connection refused"
fresh f0
hosts > "$SAFESSH_CONFIG"
t_stop_sshd
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "control (no history): refused connection, ssh's 255" 255 $?
check "control: ssh said Connection refused" grep -q 'Connection refused' \
    "$T/err"
eq "control: recorded as net" 1 "$(nout net)"
check "control: no cooldown" not cooling
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "control: the next call is not refused by safessh (255)" 255 $?

fresh f
t_sshd
hosts > "$SAFESSH_CONFIG"
timeout 60 "$SAFESSH" site true 2>/dev/null
eq "a success first" 0 $?
t_stop_sshd
timeout 60 "$SAFESSH" site true 2>"$T/err"
eq "sshd stopped: ssh's 255" 255 $?
check "sshd stopped: the cooldown message" grep -q \
    "^safessh: site (server $SV): the server is refusing this source" "$T/err"
eq "sshd stopped: recorded as ban" 1 "$(nout ban)"
check "sshd stopped: cooldown" cooling
timeout 60 "$SAFESSH" site-a true 2>"$T/err"
eq "sshd stopped: the next call is refused (75)" 75 $?
check "... with the refusal line" refused site-a "$T/err"
check "... naming connection refused" grep -q \
    'ban signature (connection refused)' "$T/err"

t_done
