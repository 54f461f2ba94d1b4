#!/bin/bash
# learn.sh: issue 14 against a real fail2ban that is stricter than the
# configured policy.  sshd and fail2ban-server run inside a private
# network namespace (the set-up of fail2ban.sh: a veth pair in
# 10.198.N.0/30, made and removed here), fail2ban's sshd jail in
# aggressive mode with maxretry 2 / findtime 10m and a short bantime;
# the client's policy is the built-in fail2ban (4 failed per 10m),
# on_risk = refuse, and its key is wrong (a misconfigured loop).
#   first:   2 failures, fail2ban bans, the next call meets the ban
#            (blocked) and safessh learns "1 per 10m" from it; --status
#            shows the policy in force and what was learned, --dry-run
#            the effective policy;
#   second:  after the ban has lifted and the user ran --forget (the
#            learned limit stays), the same loop: exactly one connection
#            reaches sshd, the rest are refused locally naming the
#            learned limit, and fail2ban bans nothing more;
#   control: after --forget --limits (the learned limit dropped) the
#            same loop goes out under the configured policy and draws a
#            second ban: the learned limit was what stopped it.
# Root only; fail2ban, iptables and iproute2 come from .ci/run (or the
# README's package line): without them the test skips.
. "$(dirname "$0")/lib.sh"
t_init learn
if [ "$(id -u)" != 0 ]; then
	skip "needs root"
	t_done
	exit
fi
BANTIME=15		# seconds: the test waits for the ban to lift
NOPRE=(env -u LD_PRELOAD)
for c in ip iptables fail2ban-server fail2ban-client; do
	if ! command -v "$c" >/dev/null; then
		skip "needs $c (Debian: apt-get install fail2ban iptables" \
		    "iproute2, as .ci/run does)"
		t_done
		exit
	fi
done
t_keys

NS=safessh-learn-$$
VO=slrno$$		# the outer end of the veth pair
VI=slrni$$		# the end moved into the namespace
for i in $(seq 50); do
	N=$((RANDOM % 250))
	ip -4 addr | grep -q "10\\.198\\.$N\\." || break
done
IN=10.198.$N.1		# sshd, inside the namespace
OUT=10.198.$N.2		# the client, outside
SPORT=2222
F2B=$T/f2b
F2BPID=
NSPID=

nsx() {
	timeout 30 "${NOPRE[@]}" ip netns exec "$NS" "$@"
}

f2b_stop() {
	if [ -n "$F2BPID" ]; then
		kill "$F2BPID" 2>/dev/null
		for i in $(seq 100); do
			kill -0 "$F2BPID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$F2BPID" 2>/dev/null
		wait "$F2BPID" 2>/dev/null
		F2BPID=
	fi
}

f2b_cleanup() {
	f2b_stop
	if [ -n "$NSPID" ]; then
		kill "$NSPID" 2>/dev/null
		wait "$NSPID" 2>/dev/null
	fi
	"${NOPRE[@]}" ip link del "$VO" 2>/dev/null
	"${NOPRE[@]}" ip netns del "$NS" 2>/dev/null
	t_cleanup
}
trap f2b_cleanup EXIT
trap 'exit 130' INT TERM HUP

# The namespace and the veth pair.
if ! "${NOPRE[@]}" ip netns add "$NS" 2>"$T/err"; then
	skip "cannot create a network namespace: $(head -1 "$T/err")"
	t_done
	exit
fi
set -e
"${NOPRE[@]}" ip link add "$VO" type veth peer name "$VI"
"${NOPRE[@]}" ip link set "$VI" netns "$NS"
"${NOPRE[@]}" ip addr add "$OUT/30" dev "$VO"
"${NOPRE[@]}" ip link set "$VO" up
nsx ip addr add "$IN/30" dev "$VI"
nsx ip link set "$VI" up
nsx ip link set lo up
# Connection attempts from the client to sshd's port, banned or not: a
# rule with no target in mangle (ahead of fail2ban's filter rules) that
# counts SYNs.  Every rejected SYN gets its ICMP error at once: with the
# kernel's per-peer rate limit (1 s, burst 6), the packets a ban catches
# in flight use up the burst, and a connect is retried after 1 s, one
# attempt counted twice.
nsx iptables -t mangle -A PREROUTING -s "$OUT" -p tcp --dport "$SPORT" \
    --syn -m comment --comment safessh-syn
nsx sysctl -qw net.ipv4.icmp_ratelimit=0
set +e
echo "# namespace $NS: sshd at $IN:$SPORT, client $OUT"

# sshd inside the namespace.
mkdir -p "$T/sshd" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/hostkey"
cat "$T/keys/right.pub" > "$T/sshd/authorized_keys"
chmod 600 "$T/sshd/authorized_keys"
SSHD_LOG=$T/sshd/log
: > "$SSHD_LOG"
cat > "$T/sshd/config" <<EOF
Port $SPORT
ListenAddress $IN
HostKey $T/sshd/hostkey
AuthorizedKeysFile $T/sshd/authorized_keys
PidFile $T/sshd/pid
LogLevel VERBOSE
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PerSourcePenalties no
EOF
# (PerSourcePenalties, where sshd has it, would refuse first: off, so
# that fail2ban is the only protection measured.)
"${NOPRE[@]}" "$SSHD" -t -f "$T/sshd/config" 2>/dev/null ||
    sed -i '/^PerSourcePenalties/d' "$T/sshd/config"
# Under nss_wrapper when lib.sh set it up (with the privilege separation
# user added): root's shell is then /bin/sh and its home $HOME.
SSHDPRE=()
if [ -n "${NSS_WRAPPER_PASSWD:-}" ]; then
	"${NOPRE[@]}" getent passwd sshd >> "$NSS_WRAPPER_PASSWD"
	SSHDPRE=(env LD_PRELOAD="$LD_PRELOAD")
fi
"${NOPRE[@]}" ip netns exec "$NS" "${SSHDPRE[@]}" "$SSHD" \
    -f "$T/sshd/config" -E "$SSHD_LOG" -D &
NSPID=$!
for i in $(seq 100); do
	grep -q 'Server listening' "$SSHD_LOG" && break
	sleep 0.05
done
grep -q 'Server listening' "$SSHD_LOG" || {
	echo "sshd did not start:"; cat "$SSHD_LOG"; exit 1; }
timeout 20 "${NOPRE[@]}" ssh-keyscan -p "$SPORT" -t ed25519 "$IN" \
    2>/dev/null | sed "s/^$IN/[$IN]:$SPORT/" > "$T/known_hosts"
check "sshd in the namespace answers from outside" test -s "$T/known_hosts"

# fail2ban's private configuration.
mkdir -p "$F2B"
cp -r /etc/fail2ban/filter.d /etc/fail2ban/action.d "$F2B/"
rm -f "$F2B"/filter.d/*.local "$F2B"/action.d/*.local
cat > "$F2B/filter.d/sshd.local" <<'EOF'
[Definition]
# sshd -E writes bare lines: no date, host or "sshd[pid]:" prefix.
prefregex = ^<F-MLFID></F-MLFID>%(__pref)s<F-CONTENT>.+</F-CONTENT>$
EOF
cat > "$F2B/fail2ban.conf" <<EOF
[Definition]
loglevel = INFO
logtarget = $F2B/log
socket = $F2B/sock
pidfile = $F2B/pid
dbfile = :memory:
syslogsocket = auto
EOF
cat > "$F2B/jail.conf" <<EOF
[DEFAULT]
ignoreself = false
ignoreip = 127.0.0.1/8
banaction = iptables-multiport

[sshd]
enabled = true
filter = sshd[mode=aggressive]
logpath = $SSHD_LOG
backend = polling
datepattern = {NONE}
maxretry = 2
findtime = 600
bantime = $BANTIME
port = $SPORT
action = iptables-multiport[name=sshd, port="$SPORT", protocol=tcp]
EOF

f2b_start() {
	rm -f "$F2B/sock" "$F2B/pid"
	"${NOPRE[@]}" ip netns exec "$NS" fail2ban-server -f -x \
	    -s "$F2B/sock" -p "$F2B/pid" -c "$F2B" >>"$F2B/out" 2>&1 &
	F2BPID=$!
	for i in $(seq 150); do
		f2bc status sshd >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "fail2ban did not start:"
	cat "$F2B/out" "$F2B/log" 2>/dev/null | tail -20
	return 1
}
f2bc() {
	timeout 30 "${NOPRE[@]}" fail2ban-client -c "$F2B" -s "$F2B/sock" \
	    "$@" 2>>"$F2B/client.err"
}
banned() {	# the jail's banned list
	f2bc status sshd | sed -n 's/.*Banned IP list:[[:space:]]*//p'
}
f2bfailed() {	# failures fail2ban counted since it started
	f2bc status sshd | sed -n 's/.*Total failed:[[:space:]]*//p'
}
totalbanned() {
	f2bc status sshd | sed -n 's/.*Total banned:[[:space:]]*//p'
}
# wait_f2b N: until fail2ban has read the sshd log up to now (it counts
# N failures or has banned), at most 20 s.
wait_f2b() {
	local i
	for i in $(seq 100); do
		[ "$(f2bfailed)" -ge "$1" ] 2>/dev/null && return 0
		[ "$(totalbanned)" -ge 1 ] 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}
nconns() {
	grep -c '^Connection from ' "$SSHD_LOG"
}
# syns: connection attempts (SYNs) from the client to sshd's port so far.
# (Not the REJECT rule's counter: a plain ssh killed while the ban caught
# it leaves a socket whose FIN retransmits the REJECT rule counts too.)
syns() {
	nsx iptables -t mangle -L PREROUTING -v -x -n | awk '
	    /safessh-syn/ { n += $1 }
	    END { print n + 0 }'
}


check "fail2ban-server starts inside the namespace" f2b_start

cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
on_risk = refuse

[host f2b]
hostname = $IN
port = $SPORT
identity = $T/keys/wrong1
policy = fail2ban
EOF

# loop N TAG: N wrong-key calls through safessh; sets rcs and reached
# (calls that reached sshd).  After a call that reached sshd, wait until
# fail2ban has read its failure (or banned).
loop() {
	local i n0 rc f0
	rcs="" reached=0
	f0=$(f2bfailed)
	for i in $(seq "$1"); do
		n0=$(nconns)
		timeout 60 "$SAFESSH" f2b true 2>"$T/err.$2$i"
		rc=$?
		rcs="$rcs $rc"
		if [ "$(nconns)" -gt "$n0" ]; then
			reached=$((reached + 1))
			f0=$((f0 + 1))
			wait_f2b "$f0" || true
		fi
	done
}

# ---------------------------------------------------------- first.
echo "# first: a wrong-key loop under policy = fail2ban (4 per 10m)"
loop 2 a
eq "first: 2 failures reach sshd" 2 "$reached"
eq "first: both failed (255)" " 255 255" "$rcs"
for i in $(seq 100); do
	[ -n "$(banned)" ] && break
	sleep 0.2
done
eq "first: fail2ban (maxretry 2) bans the client" "$OUT" "$(banned)"
r0=$(syns)
timeout 60 "$SAFESSH" f2b true 2>"$T/err.a3"
eq "first: the third call meets the ban (255)" 255 $?
eq "first: ... one SYN, refused" 1 $(($(syns) - r0))
check "first: ... safessh says the server is refusing this source" \
    grep -q 'the server is refusing this source' "$T/err.a3"
"$SAFESSH" --status f2b > "$T/status1" 2>&1
sed 's/^/# /' "$T/status1"
check "first: --status: the policy in force, with the learned rule" \
    grep -Eq '^    policy fail2ban: 4 failed per 10m, 1 failed per 10m \(learned\); cooldown' \
    "$T/status1"
check "first: --status: what was learned, from which ban, when" \
    grep -Eq '^    learned: at most 1 failed connection per 10m \(a ban after 2 failed connections in [0-9dhms]+ at [0-9]{2}:[0-9]{2}, [0-9-]{10}\)' \
    "$T/status1"
"$SAFESSH" --dry-run f2b true > "$T/dry" 2>&1
check "first: --dry-run shows the effective policy" grep -q \
    '^policy fail2ban: 4 failed per 10m, 1 failed per 10m (learned)' \
    "$T/dry"

# The ban lifts (bantime), then the user runs --forget.
for i in $(seq 150); do
	[ -z "$(banned)" ] && break
	sleep 0.2
done
eq "the ban lifted" "" "$(banned)"
"$SAFESSH" --forget f2b 2>"$T/forget"
check "--forget: history cleared, the learned limits stay" grep -q \
    "history cleared; the limits learned from its bans stay" "$T/forget"
"$SAFESSH" --status f2b > "$T/status2" 2>&1
check "--forget: --status still shows what was learned" \
    grep -q '^    learned: at most 1 failed connection per 10m' "$T/status2"
check "--forget: ... and the server is ok" grep -Eq ' ok +now$' \
    "$T/status2"

# ---------------------------------------------------------- second.
echo "# second: the same misconfigured loop, 5 calls"
b0=$(totalbanned) r0=$(syns)
loop 5 b
nout=$(($(syns) - r0))
echo "# safessh exit statuses:$rcs; $reached reached sshd ($nout SYNs)"
echo "# last call said: $(cat "$T/err.b5")"
eq "second: exactly one connection reaches sshd" 1 "$reached"
eq "second: ... one SYN in all" 1 "$nout"
eq "second: one failure, then 4 local refusals" " 255 75 75 75 75" "$rcs"
check "second: the refusal names the learned limit" grep -Eq \
    "^safessh: f2b \\(server $IN\\): refused: 1 failed connection in the last 10m \\(learned: a ban after 2 failed connections in [0-9dhms]+ at [0-9:]+ allows 1\\); next attempt allowed at" \
    "$T/err.b5"
sleep 3		# a few more polls of fail2ban: nothing else is coming
eq "second: no second ban" "$b0" "$(totalbanned)"
eq "second: the banned list stays empty" "" "$(banned)"

# ---------------------------------------------------------- control.
echo "# control: --forget --limits, then the same loop"
"$SAFESSH" --forget --limits f2b 2>"$T/forget2"
check "--forget --limits: says the learned limits went" grep -q \
    "history and learned limits cleared" "$T/forget2"
"$SAFESSH" --status f2b > "$T/status3" 2>&1
check "--forget --limits: nothing learned any more" \
    sh -c "! grep -q learned '$T/status3'"
loop 3 c
echo "# control exit statuses:$rcs; $reached reached sshd"
for i in $(seq 100); do
	[ "$(totalbanned)" -gt "$b0" ] && break
	sleep 0.2
done
check "control: without the learned limit, a call goes out" \
    test "$reached" -ge 1
# At least once more (the short bantime may lift that ban within the
# loop, and the next call then earns a third).
check "control: ... and fail2ban bans again ($(totalbanned) bans, was $b0)" \
    test "$(totalbanned)" -gt "$b0"

t_done
