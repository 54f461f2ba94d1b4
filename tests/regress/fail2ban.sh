#!/bin/bash
# fail2ban.sh: G2 against a real fail2ban.  sshd and fail2ban-server run
# inside a private network namespace (a veth pair with addresses in
# 10.199.N.0/30, made and removed here), fail2ban's sshd jail in
# aggressive mode (the default "normal" mode does not count a rejected
# public key), maxretry 5 / findtime 10m / bantime 10m, banning with
# iptables inside the namespace.
#   control: plain ssh with a wrong key, 10 times, is banned; after the
#            ban even the right key cannot connect;
#   safessh: the same loop stops after 2 failures (exit 75 for the rest)
#            and fail2ban never bans; the right key then gets in;
#   banned:  right after that ban, 10 correct calls through safessh
#            (fresh ledger, on_risk = refuse): at most 2 connection
#            attempts reach the server (the SYNs an iptables rule in the
#            namespace counts ahead of the ban, and sshd's log), the
#            rest exit 75 locally with the refusal naming --check and
#            --forget, and --status says blocked (SPEC G3);
#   burst:   40 calls at once with the key revoked in the middle: at most
#            4 failures reach sshd, and fail2ban still bans nothing.
# sshd runs under lib.sh's nss_wrapper passwd (root's shell /bin/sh, home
# $HOME), so that a login runs no ~/.bashrc of the machine's.
# Root only; fail2ban, iptables and iproute2 come from .ci/run (or the
# README's package line): without them the test skips.
. "$(dirname "$0")/lib.sh"
t_init fail2ban
. "$(dirname "$0")/netns.lib"
f2b_setup f2b 199 5 600

check "fail2ban-server starts inside the namespace" f2b_start

# ---------------------------------------------------------- control.
echo "# control: plain ssh with a wrong key, 10 times"
PLAIN=(ssh -F /dev/null "${SSHOPTS[@]}" -o IdentitiesOnly=yes
    -o IdentityAgent=none -o ConnectTimeout=5 -p "$SPORT")
c0=$(nconns)
rcs=""
for i in $(seq 10); do
	# (a connection caught by the ban as it lands hangs: 15 s at most)
	timeout 15 "${PLAIN[@]}" -i "$T/keys/wrong1" "$IN" true 2>"$T/err.$i"
	rcs="$rcs $?"
	sleep 0.3
done
echo "# plain ssh exit statuses:$rcs; $(($(nconns) - c0)) reached sshd"
# The sshd side of a connection the ban caught would log its end (a close
# once the client's FIN gets through, or "Timeout before authentication"
# after LoginGraceTime) minutes later, into a later section's log, where
# fail2ban's aggressive mode counts it: end it now (our sshd's children,
# by PID; none is in use).
for p in $(pgrep -P "$NSPID"); do
	kill "$p" 2>/dev/null
done
for i in $(seq 100); do
	[ -n "$(banned)" ] && break
	sleep 0.2
done
eq "control: fail2ban bans the client's address" "$OUT" "$(banned)"
echo "# fail2ban counted $(f2bfailed) failures, banned $(totalbanned)" \
    "address(es)"
check "control: the ban is an iptables rule inside the namespace" sh -c \
    "timeout 30 env -u LD_PRELOAD ip netns exec '$NS' iptables -S |
    grep -q -- '-s $OUT/32 .*REJECT'"
c0=$(nconns) r0=$(syns)
timeout 30 "${PLAIN[@]}" -i "$T/keys/right" "$IN" true 2>"$T/err"
eq "control: banned, even the right key fails (255)" 255 $?
check "control: ... at connect (Connection refused)" \
    grep -q 'Connection refused' "$T/err"
eq "control: ... and sshd saw no connection" 0 $(($(nconns) - c0))
eq "control: ... the SYN counter counted that one attempt" 1 \
    $(($(syns) - r0))

# ---------------------------------------------------------- banned.
echo "# banned: 10 correct calls through safessh (fresh ledger," \
    "on_risk = refuse)"
export SAFESSH_STATE_DIR=$T/state-banned
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
on_risk = refuse

[host f2b]
hostname = $IN
port = $SPORT
identity = $T/keys/right
EOF
RE_REFUSAL="^safessh: f2b \\(server $IN\\): refused: .*"
RE_REFUSAL="$RE_REFUSAL'safessh --check f2b'.*'safessh --forget f2b'"
c0=$(nconns) r0=$(syns)
rcs="" hit=0 quiet=0 msgs=0
tb0=$(date +%s)
for i in $(seq 10); do
	r1=$(syns) n1=$(nconns)
	timeout 60 "$SAFESSH" f2b true 2>"$T/err.b$i"
	rc=$?
	rcs="$rcs $rc"
	if [ "$(syns)" -gt "$r1" ] || [ "$(nconns)" -gt "$n1" ]; then
		hit=$((hit + 1))
	elif [ "$rc" = 75 ]; then
		quiet=$((quiet + 1))
		grep -Eq "$RE_REFUSAL" "$T/err.b$i" && msgs=$((msgs + 1))
	fi
done
nout=$(($(syns) - r0)) nsee=$(($(nconns) - c0))
# Each back-off that ends during the run lets exactly one probe out: on a
# loaded machine the 10 calls can outlast the first 30 s step.
allow=$((2 + ($(date +%s) - tb0) / 30))
echo "# safessh exit statuses:$rcs; $hit call(s) went out: $nout" \
    "attempt(s), $nsee reached sshd"
echo "# first call said: $(tr '\n' '|' < "$T/err.b1")"
echo "# last call said: $(cat "$T/err.b10")"
check "banned: at most 2 attempts, + 1 probe per back-off ended ($nout <= $allow)" \
    test "$nout" -le "$allow"
check "banned: ... at least 1 (the evidence)" test "$nout" -ge 1
eq "banned: ... none got through the ban to sshd" 0 "$nsee"
eq "banned: every call that went nowhere exited 75" $((10 - hit)) "$quiet"
check "banned: ... at least 8 of 10 ($quiet)" test "$quiet" -ge 8
eq "banned: ... each with the refusal naming --check and --forget" \
    "$quiet" "$msgs"
"$SAFESSH" --status f2b > "$T/status" 2>&1
sed 's/^/# /' "$T/status"
check "banned: --status f2b says blocked" grep -q blocked "$T/status"
export SAFESSH_STATE_DIR=$T/state

# Unban and start again from a clean slate.
f2bc unban --all >/dev/null
eq "unban --all: the banned list is empty" "" "$(banned)"
f2b_stop
cp "$SSHD_LOG" "$T/sshd/log.control"
: > "$SSHD_LOG"
check "fail2ban restarted with no failures" f2b_start
eq "fail2ban: no failure counted after the restart" 0 "$(f2bfailed)"
c0=$(nconns)
timeout 30 "${PLAIN[@]}" -i "$T/keys/right" "$IN" true 2>/dev/null
eq "after unban: the right key connects again" 0 $?
eq "... with one connection" 1 $(($(nconns) - c0))
# That success is no failure for fail2ban; forget it for what follows.
f2b_stop
: > "$SSHD_LOG"
check "fail2ban restarted again" f2b_start

# ---------------------------------------------------------- safessh.
echo "# safessh with a wrong key, 10 times"
cat > "$SAFESSH_CONFIG" <<EOF
[host f2b]
hostname = $IN
port = $SPORT
identity = $T/keys/wrong1
EOF
c0=$(nconns)
rcs=""
reached=0
for i in $(seq 10); do
	n0=$(nconns)
	timeout 60 "$SAFESSH" f2b true 2>"$T/err.$i"
	rcs="$rcs $?"
	[ "$(nconns)" -gt "$n0" ] && reached=$((reached + 1))
	sleep 0.3
done
echo "# safessh exit statuses:$rcs; $reached reached sshd"
eq "safessh: 2 of 10 reach sshd (default policy)" 2 "$reached"
eq "safessh: the statuses: 2 failures, then 8 refusals" \
    " 255 255 75 75 75 75 75 75 75 75" "$rcs"
check "safessh: the refusals say why, and when" grep -Eq \
    "^safessh: f2b \\(server $IN\\): refused: .*; next attempt allowed at" \
    "$T/err.10"
check "fail2ban read both failures" wait_f2b 2
eq "fail2ban: 2 failures counted" 2 "$(f2bfailed)"
sleep 3		# a few more polls: nothing else is coming
eq "fail2ban: the banned list stays empty" "" "$(banned)"
eq "fail2ban: nothing was ever banned" 0 "$(totalbanned)"
check "no ban rule in the namespace's iptables" sh -c \
    "! timeout 30 env -u LD_PRELOAD ip netns exec '$NS' iptables -S |
    grep -q -- '-s $OUT/32'"
"$SAFESSH" --forget f2b 2>/dev/null
sed -i "s|keys/wrong1|keys/right|" "$SAFESSH_CONFIG"
c0=$(nconns)
timeout 60 "$SAFESSH" f2b true 2>"$T/err"
eq "after --forget, the right key: success" 0 $?
eq "... with one connection" 1 $(($(nconns) - c0))

# ---------------------------------------------------- revoked mid-burst.
# safessh.conf(5)'s worst case: the key revoked in the middle of a burst
# of 40; at most parallel (4) proven attempts fail together, "one short
# of fail2ban's default 5".
echo "# safessh: a burst of 40, the key revoked in the middle"
f2b_stop
: > "$SSHD_LOG"
check "fail2ban restarted for the burst" f2b_start
"$SAFESSH" --forget f2b 2>/dev/null
pids=()
for i in $(seq 40); do
	timeout 300 "$SAFESSH" f2b true >/dev/null 2>"$T/burst.$i" &
	pids+=("$!")
done
for i in $(seq 600); do
	[ "$(grep -c '^Accepted publickey' "$SSHD_LOG")" -ge 6 ] && break
	sleep 0.1
done
: > "$T/sshd/authorized_keys"
n0=0 n255=0 n75=0
for p in "${pids[@]}"; do
	wait "$p"
	case $? in
	0)	n0=$((n0 + 1)) ;;
	255)	n255=$((n255 + 1)) ;;
	75)	n75=$((n75 + 1)) ;;
	esac
done
nfail=$(grep -c '^Failed publickey' "$SSHD_LOG")
echo "# burst: $n0 succeeded, $n255 failed, $n75 refused;" \
    "sshd saw $nfail failed keys"
check "burst: the revocation landed mid-burst ($nfail failed)" \
    test "$nfail" -ge 1
check "burst: at most 4 failed connections" test "$nfail" -le 4
eq "burst: every call succeeded, failed or was refused" 40 \
    $((n0 + n255 + n75))
check "fail2ban read the failures" wait_f2b "$nfail"
sleep 3
got=$(f2bfailed)
eq "burst: fail2ban counted only those failures" "$nfail" "$got"
if [ "$got" != "$nfail" ]; then
	echo "# sshd's log lines other than successful sessions:"
	grep -Ev '^(Connection from|Accepted|Postponed|User child)' \
	    "$SSHD_LOG" | grep -Ev '^(Starting session|Close session)' |
	    grep -Ev '^(Received disconnect|Disconnected from user)' |
	    sed 's/^/#   /'
	grep 'Found' "$F2B/log" | sed 's/^/#   /'
fi
eq "burst: fail2ban banned nothing" 0 "$(totalbanned)"
eq "burst: the banned list is empty" "" "$(banned)"

t_done
