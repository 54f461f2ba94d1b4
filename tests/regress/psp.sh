#!/bin/bash
# psp.sh: G3 against OpenSSH >= 9.8's PerSourcePenalties, on by default:
# Debian 13's packaged sshd (10.0), run from the chroot that
# tests/setup-trixie.sh builds, on a free 127.0.0.1 port, with its own
# host key, config and log (the chroot's /etc/ssh is not used).  The
# witness is sshd's log: every connection attempt that reaches sshd is
# either accepted ("Connection from ...") or dropped by the penalty
# ("drop connection #N from [ADDR]:PORT on [ADDR]:PORT penalty: ...").
# LogLevel is DEBUG3, not VERBOSE: sshd rate-limits its drop lines (8 a
# minute at INFO, the rest at DEBUG3), and this test drops more than 8.
#   penalty: plain ssh (the host's client) with a wrong key, 6 at once,
#            until sshd activates a penalty for 127.0.0.1;
#   control: 10 correct calls with plain ssh during the penalty: all 10
#            reach sshd (and are dropped);
#   safessh: then 10 correct calls, back to back, fresh ledger, on_risk
#            = refuse: at most 2 reach sshd, the rest exit 75 locally
#            with the refusal line naming --check and --forget; --status
#            says blocked;
#   after:   once the penalty has expired, calls are refused locally (no
#            connection) until the back-off ends; the first call after it
#            succeeds with one connection, and the server is ok again.
# Root only (chroot, mounts); about 45 s, most of it the back-off.
. "$(dirname "$0")/lib.sh"
t_init psp
if [ "$(id -u)" != 0 ]; then
	skip "needs root"
	t_done
	exit
fi
CH=${SAFESSH_TRIXIE:-/var/tmp/safessh-trixie}
if [ -e "$CH/debootstrap" ] || [ ! -x "$CH/usr/sbin/sshd" ] ||
    [ ! -x "$CH/usr/lib/openssh/sshd-session" ]; then
	skip "no Debian 13 chroot (run tests/setup-trixie.sh as root)"
	t_done
	exit
fi
for c in unshare chroot mount; do
	if ! command -v "$c" >/dev/null; then
		skip "needs $c"
		t_done
		exit
	fi
done
NOPRE=(env -u LD_PRELOAD)
t_keys

# The server's files live in the chroot's /tmp ($CT outside, $CI inside).
CT=$(mktemp -d "$CH/tmp/safessh-psp.XXXXXX")
CI=${CT#"$CH"}
SSHD_PID=
psp_cleanup() {
	if [ -n "$SSHD_PID" ]; then
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
	if [ -z "${KEEP:-}" ]; then
		rm -rf --one-file-system "$CT"
	else
		echo "# kept $CT"
	fi
	t_cleanup
}
trap psp_cleanup EXIT
trap 'exit 130' INT TERM HUP

PORT=$(t_port)
ssh-keygen -q -t ed25519 -N '' -f "$CT/hostkey"
cat "$T/keys/right.pub" > "$CT/authorized_keys"
SSHD_LOG=$CT/log
: > "$SSHD_LOG"
# PerSourcePenalties is left at its default (on).
cat > "$CT/config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $CI/hostkey
AuthorizedKeysFile $CI/authorized_keys
PidFile $CI/pid
LogLevel DEBUG3
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 100:30:200
EOF
VERSION=$("${NOPRE[@]}" chroot "$CH" /usr/sbin/sshd -V 2>&1 | head -1)
echo "# chroot $CH: $VERSION, port $PORT"
check "the chroot's sshd has PerSourcePenalties on" sh -c \
    "env -u LD_PRELOAD chroot '$CH' /usr/sbin/sshd -T -f '$CI/config' \
    2>&1 | grep -q '^persourcepenalties .*authfail:'"

# sshd in a private mount namespace: /dev and /proc are mounted for it
# and vanish with it; $SSHD_PID is sshd itself (each step execs).
"${NOPRE[@]}" unshare --mount --propagation private sh -c '
	mount --bind /dev "$1/dev" && mount -t proc proc "$1/proc" &&
	    mkdir -p "$1/run/sshd" &&
	    exec chroot "$1" /usr/sbin/sshd -D -f "$2/config" -E "$2/log"
' sh "$CH" "$CI" 2>"$CT/start.err" &
SSHD_PID=$!
for i in $(seq 100); do
	grep -q 'Server listening' "$SSHD_LOG" 2>/dev/null && break
	sleep 0.05
done
if ! grep -q 'Server listening' "$SSHD_LOG"; then
	echo "sshd did not start:"
	cat "$CT/start.err" "$SSHD_LOG" | tail -20
	exit 1
fi
# The host key without a connection (ssh-keyscan would earn a penalty).
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$CT/hostkey.pub")" \
    > "$T/known_hosts"

accepted() {
	grep -c '^Connection from ' "$SSHD_LOG"
}
dropped() {
	grep -c 'drop connection #.* penalty: ' "$SSHD_LOG"
}
reached() {	# connection attempts that reached sshd so far
	echo $(($(accepted) + $(dropped)))
}
logins() {
	grep -c '^Accepted publickey for root ' "$SSHD_LOG"
}
# The log lines of PerSourcePenalties (sshd 10.0), LogLevel DEBUG3:
#   srclimit_penalise: ipv4: new 127.0.0.1/32 deferred penalty of 5 seconds
#   debug1: srclimit_penalise: inactive penalty for ipv4 127.0.0.1/32
#       already exists, 3 seconds remaining
#   srclimit_penalise: 127.0.0.1/32: activating ipv4 penalty of 18 seconds
#   drop connection #0 from [127.0.0.1]:40000 on [127.0.0.1]:PORT
#       penalty: failed authentication
activated() {	# an activation line, once sshd activated a penalty
	grep -E 'srclimit_penalise: .*(activating .*|new .* active) penalty' \
	    "$SSHD_LOG" | tail -1
}
reaped() {	# failed sessions sshd has reaped (and penalised)
	grep -c 'exited after unsuccessful auth attempt' "$SSHD_LOG"
}
remaining() {	# the most seconds left after any line, when it was logged
	awk '
	    function num(re,	s) {
		if (!match($0, re))
			return 0
		s = substr($0, RSTART, RLENGTH)
		gsub(/[^0-9]/, "", s)
		return s + 0
	    }
	    !/srclimit_penalise: / { next }
	    { v = num("penalty of [0-9]+ seconds") }
	    /already exists/ { v = num("exists, [0-9]+ seconds") + 5 }
	    v > m { m = v }
	    END { print m + 0 }' "$SSHD_LOG"
}

PLAIN=(ssh -F /dev/null "${SSHOPTS[@]}" -o IdentitiesOnly=yes
    -o IdentityAgent=none -o ConnectTimeout=5 -p "$PORT" -l root)
timeout 30 "${PLAIN[@]}" -i "$T/keys/right" 127.0.0.1 true 2>"$T/err"
eq "the right key logs in to the chroot's sshd" 0 $?
eq "... with one connection" 1 "$(accepted)"

# ---------------------------------------------------------- penalty.
# Rounds of 6 wrong-key connections at once, until sshd activates a
# penalty: about 30 s, room for the control and safessh's first call on
# a loaded machine.  (One at a time, such a machine can take longer per
# connection than the 5 s each adds, the penalty decaying 1 s/s, and
# never get there.)
echo "# penalty: plain ssh with a wrong key, 6 at once, until penalised"
n=0
for _ in 1 2 3; do
	[ -n "$(activated)" ] && break
	pids=()
	for i in 1 2 3 4 5 6; do
		n=$((n + 1))
		timeout 30 "${PLAIN[@]}" -i "$T/keys/wrong1" 127.0.0.1 true \
		    2>"$T/err.w$n" &
		pids+=("$!")
	done
	wait "${pids[@]}"
	# sshd books a penalty when it reaps the session.
	for _ in $(seq 100); do
		[ "$(reaped)" -ge "$n" ] && break
		sleep 0.05
	done
done
ACT=$(date +%s)		# no earlier than any penalty line so far
PEN=$(remaining)	# so the penalty ends by ACT + PEN
echo "# sshd: $(grep -m1 'srclimit_penalise: .*activating' "$SSHD_LOG" |
    sed 's/^[^:]*: //'); at most ${PEN}s left"
check "sshd penalises 127.0.0.1 after $n wrong-key connections" \
    test -n "$(activated)"

# ---------------------------------------------------------- control.
echo "# control: 10 correct calls with plain ssh during the penalty" \
    "($(($(date +%s) - ACT))s after it began)"
a0=$(accepted) d0=$(dropped)
rcs=""
for i in $(seq 10); do
	timeout 30 "${PLAIN[@]}" -i "$T/keys/right" 127.0.0.1 true \
	    2>"$T/err.c$i"
	rcs="$rcs $?"
done
echo "# plain ssh exit statuses:$rcs"
echo "# plain ssh said: $(tr '\n' '|' < "$T/err.c1")"
eq "control: all 10 reach sshd" 10 $(($(dropped) - d0 + $(accepted) - a0))
eq "control: ... and sshd drops all 10 (the penalty)" 10 $(($(dropped) - d0))
eq "control: ... all fail (255)" \
    " 255 255 255 255 255 255 255 255 255 255" "$rcs"

# ---------------------------------------------------------- safessh.
echo "# safessh: 10 correct calls, fresh ledger, on_risk = refuse" \
    "($(($(date +%s) - ACT))s after the penalty began)"
export SAFESSH_STATE_DIR=$T/state-psp
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
on_risk = refuse

[host psp]
hostname = 127.0.0.1
port = $PORT
user = root
identity = $T/keys/right
EOF
RE_REFUSAL="^safessh: psp \\(server 127\\.0\\.0\\.1\\): refused: .*"
RE_REFUSAL="$RE_REFUSAL'safessh --check psp'.*'safessh --forget psp'"
a0=$(accepted) d0=$(dropped)
rcs="" quiet=0 msgs=0 hit=0
for i in $(seq 10); do
	c1=$(reached)
	timeout 60 "$SAFESSH" psp true 2>"$T/err.s$i"
	rc=$?
	rcs="$rcs $rc"
	if [ "$(reached)" -gt "$c1" ]; then
		hit=$((hit + 1))
	elif [ "$rc" = 75 ]; then
		quiet=$((quiet + 1))
		grep -Eq "$RE_REFUSAL" "$T/err.s$i" && msgs=$((msgs + 1))
	fi
done
sa=$(($(accepted) - a0)) sd=$(($(dropped) - d0))
echo "# safessh exit statuses:$rcs; $hit call(s) reached sshd:" \
    "$sd dropped, $sa accepted"
echo "# first call said: $(tr '\n' '|' < "$T/err.s1")"
echo "# last call said: $(cat "$T/err.s10")"
check "safessh: at most 2 connection attempts reach sshd ($((sa + sd)))" \
    test $((sa + sd)) -le 2
check "safessh: ... at least 1 (the evidence)" test $((sa + sd)) -ge 1
eq "safessh: ... all of them during the penalty (none accepted)" 0 "$sa"
eq "safessh: every call that reached nothing exited 75" $((10 - hit)) \
    "$quiet"
check "safessh: ... at least 8 of 10 ($quiet)" test "$quiet" -ge 8
eq "safessh: ... each with the refusal naming --check and --forget" \
    "$quiet" "$msgs"
"$SAFESSH" --status psp > "$T/status" 2>&1
sed 's/^/# /' "$T/status"
check "--status psp: blocked" grep -q 'blocked' "$T/status"

# ---------------------------------------------------------- after.
# The penalty ends by ACT + PEN; from then on calls are refused locally
# until the back-off ends, and the first call after it is the probe.
# Bounded: the penalty (at most 60 s here), then about the back-off's
# first step (30 s) with margin.
if [ "$PEN" -le 60 ]; then
	left=$((ACT + PEN + 1 - $(date +%s)))
	if [ "$left" -gt 0 ]; then
		echo "# waiting ${left}s for the penalty to expire"
		sleep "$left"
	fi
	c0=$(reached) k0=$(logins)
	n75=0 rc=75
	for i in $(seq 60); do
		c1=$(reached)
		timeout 60 "$SAFESSH" psp true 2>"$T/err.a"
		rc=$?
		[ "$rc" = 75 ] || break
		[ "$(reached)" = "$c1" ] && n75=$((n75 + 1))
		sleep 1
	done
	echo "# $n75 refused call(s) before the first one that went out"
	eq "after: the refusals made no connection" 0 \
	    $(($(reached) - c0 - (rc == 75 ? 0 : 1)))
	eq "after: the first call after the back-off succeeds" 0 "$rc"
	eq "after: ... with one connection, which logs in" "1 1" \
	    "$(($(reached) - c0)) $(($(logins) - k0))"
	"$SAFESSH" --status psp > "$T/status" 2>&1
	sed 's/^/# /' "$T/status"
	check "after: --status psp no longer says blocked" \
	    sh -c "! grep -q blocked '$T/status'"
	timeout 60 "$SAFESSH" psp true 2>"$T/err"
	eq "after: the next call succeeds too" 0 $?
else
	fail "the penalty has ${PEN}s left, more than this test waits"
fi

t_done
