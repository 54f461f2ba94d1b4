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
BANTIME=15		# seconds: the test waits for the ban to lift
. "$(dirname "$0")/netns.lib"
f2b_setup learn 198 2 $BANTIME


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
