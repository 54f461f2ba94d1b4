#!/bin/bash
# evidence.sh: G3 and default-deny against a real sshd (its log as the
# witness), one sshd for every check but the second port's:
#   a. a failure ssh does not print still counts: 20 wrong-key calls with
#      -E FILE, -y, -q, -o LogLevel=QUIET, LogLevel QUIET in ~/.ssh/config
#      reach the server no more often than the policy allows (2);
#   b. a wrong -p to a closed port of a live server costs and blocks
#      nothing; a key proven on port A proves nothing on port B;
#   c. a session that outlives the login grace with the notice off is
#      never lost and does not hold its parallel slot;
#   d. sshd stopped and restarted: an autossh tunnel through safessh
#      survives, and calls are back within the first back-off step;
#      refused_status chooses the exit status of a refusal.
. "$(dirname "$0")/lib.sh"
t_init evidence
t_keys
t_sshd
SV=127.0.0.1

# fails: failed publickey attempts in sshd's log so far.
fails() {
	grep -c 'Failed publickey for' "$SSHD_LOG"
}
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
on_risk = refuse

[host free]
hostname = 127.0.0.1
EOF

# ---------------------------------------------------------------- a.
echo "# a. a failure ssh does not print still counts (default-deny)"
# loop NAME ARGS...: 20 wrong-key calls; prints "failures-at-sshd 75s".
loop() {
	local name=$1 i n75=0 f0
	shift
	fresh "a-$name"
	f0=$(fails)
	for i in $(seq 20); do
		timeout 60 "$SAFESSH" -p "$PORT" -i "$T/keys/wrong1" "$@" \
		    free true >/dev/null 2>>"$T/err.$name"
		[ $? = 75 ] && n75=$((n75 + 1))
	done
	echo "$(($(fails) - f0)) $n75"
}
eq "control, ssh's messages seen: 2 failures reach sshd, 18 refused" \
    "2 18" "$(loop plain)"
eq "-E FILE: 2 failures reach sshd, 18 refused" "2 18" \
    "$(loop elog -E "$T/ssh.log")"
fresh a-elog		# loop ran in a subshell: its state dir, again
eq "-E FILE: read back, recorded as authfail" 2 "$(nout authfail)"
eq "-y: 2 failures, 18 refused" "2 18" "$(loop syslog -y)"
fresh a-syslog
eq "-y: recorded as unknown (a failure)" 2 "$(nout unknown)"
eq "-q: 2 failures, 18 refused" "2 18" "$(loop q -q)"
eq "-o LogLevel=QUIET: 2 failures, 18 refused" "2 18" \
    "$(loop llq -o LogLevel=QUIET)"
cp "$HOME/.ssh/config" "$T/ssh_config.saved"
printf 'Host *\n\tLogLevel QUIET\n' >> "$HOME/.ssh/config"
eq "LogLevel QUIET in ~/.ssh/config: 2 failures, 18 refused" "2 18" \
    "$(loop cfgq)"
cp "$T/ssh_config.saved" "$HOME/.ssh/config"
check "-q: the refusals still say why (safessh's own lines)" \
    grep -q 'refused: 2 failed connections' "$T/err.q"

# ---------------------------------------------------------------- b.
echo "# b. ports: a closed port costs nothing; proofs are per port"
fresh b
CLOSED=$(t_port)
timeout 60 "$SAFESSH" -p "$PORT" -i "$T/keys/right" free true 2>/dev/null
eq "port A answers" 0 $?
timeout 60 "$SAFESSH" -p "$CLOSED" -i "$T/keys/right" free true \
    2>"$T/err"
eq "a wrong -p to a closed port: ssh's 255" 255 $?
check "... says nothing listens there" grep -q \
    "nothing listens on port $CLOSED (other ports answer); not counted" \
    "$T/err"
check "... no retry" not grep -q retry "$T/err"
eq "... the server stays ok" ok "$(sstate)"
eq "... recorded as net" 1 "$(nout net)"
c0=$(t_conns)
timeout 60 "$SAFESSH" -p "$PORT" -i "$T/keys/right" free true 2>/dev/null
eq "... and port A is admitted at once" "0 1" "$? $(($(t_conns) - c0))"

# A second sshd on port B of the same address.
PORTB=$(t_port)
# Port B (a git server's sshd, say) does not take the right key.
: > "$T/sshd/authorized_keys.b"
sed -e "s/^Port .*/Port $PORTB/" -e "s|^PidFile .*|PidFile $T/sshd/pid.b|" \
    -e "s|^AuthorizedKeysFile .*|AuthorizedKeysFile $T/sshd/authorized_keys.b|" \
    "$T/sshd/config" > "$T/sshd/config.b"
t_sshd_start "$T/sshd/config.b" "$T/sshd/log.b"
for _ in $(seq 100); do
	grep -q 'Server listening' "$T/sshd/log.b" 2>/dev/null && break
	sleep 0.05
done
env -u LD_PRELOAD ssh-keyscan -p "$PORTB" -t ed25519 127.0.0.1 2>/dev/null |
    sed "s/^127.0.0.1/[127.0.0.1]:$PORTB/" >> "$T/known_hosts"
fresh b2
timeout 60 "$SAFESSH" -p "$PORT" -i "$T/keys/wrong2" free true 2>/dev/null
timeout 60 "$SAFESSH" -p "$PORT" -i "$T/keys/right" free true 2>/dev/null
eq "the key proven on port A" 0 $?
for i in $(seq 10); do
	timeout 60 "$SAFESSH" -p "$PORTB" -i "$T/keys/right" free true \
	    >/dev/null 2>&1 &
	PB[i]=$!
done
for i in $(seq 10); do
	wait "${PB[i]}"
done
fb=$(grep -c 'Failed publickey for' "$T/sshd/log.b")
check "the same key refused on port B, 10 at once: at most 2 - 1 failures" \
    test "$fb" -le 1
echo "# port B saw $fb failure(s) of 10 calls (information)"

# ---------------------------------------------------------------- c.
echo "# c. a session longer than the login grace, the notice off"
fresh c
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
parallel = 1
policy = short

[policy short]
max_failures = 4
window = 10m
login_grace = 2s

[host free]
hostname = 127.0.0.1
EOF
# Any (Permit)LocalCommand line in the user's config turns the notice off.
printf 'Host *\n\tPermitLocalCommand no\n' >> "$HOME/.ssh/config"
timeout 60 "$SAFESSH" -p "$PORT" -i "$T/keys/right" free sleep 6 \
    2>/dev/null &
long=$!
sleep 4
check "the long session is past the grace and still running" \
    kill -0 "$long"
eq "... the ledger has it in flight, not lost" "1 0" \
    "$(nout inflight) $(nout lost)"
c0=$(t_conns)
timeout 20 "$SAFESSH" -p "$PORT" -i "$T/keys/right" free true 2>"$T/err"
eq "a parallel caller (parallel 1) is admitted, not refused" 0 $?
check "... while the long session still runs" kill -0 "$long"
wait "$long"
eq "the long session ends well" 0 $?
eq "... and both are recorded ok, none lost" "2 0" \
    "$(nout ok) $(nout lost)"
cp "$T/ssh_config.saved" "$HOME/.ssh/config"

# ---------------------------------------------------------------- d.
echo "# d. sshd restarted under an autossh tunnel"
fresh d
ECHO_PORT=
python3 "$TOP/tests/regress/standin.py" echo > "$T/echo.port" &
_pids+=("$!")
for _ in $(seq 100); do
	ECHO_PORT=$(head -1 "$T/echo.port" 2>/dev/null)
	[ -n "$ECHO_PORT" ] && break
	sleep 0.05
done
cat > "$SAFESSH_CONFIG" <<EOF
[host site]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/right
max_delay = 40s

[host site75]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/right
on_risk = refuse

[host site255]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/right
on_risk = refuse
refused_status = 255
EOF
# echo_through PORT: "hi" comes back through the tunnel on PORT.
echo_through() {
	[ "$(printf hi | timeout 5 nc -N 127.0.0.1 "$1" 2>/dev/null)" = hi ]
}
if ! command -v autossh >/dev/null; then
	skip "autossh: not installed (Debian package autossh)"
else
	LPORT=$(t_port)
	AUTOSSH_PATH=$SAFESSH AUTOSSH_GATETIME=0 AUTOSSH_POLL=5 \
	    AUTOSSH_LOGFILE=$T/autossh.log AUTOSSH_PIDFILE=$T/autossh.pid \
	    autossh -M 0 -f -N -o ServerAliveInterval=1 \
	    -o ServerAliveCountMax=2 -o ExitOnForwardFailure=yes \
	    -L "$LPORT:127.0.0.1:$ECHO_PORT" site
	for _ in $(seq 100); do
		echo_through "$LPORT" && break
		sleep 0.1
	done
	[ -f "$T/autossh.pid" ] && _pids+=("$(cat "$T/autossh.pid")")
	check "autossh: the tunnel carries bytes" echo_through "$LPORT"
fi
# Restart: the listener and its sessions go; it comes back in 8 s.
pkill -TERM -P "$SSHD_PID" 2>/dev/null
t_stop_sshd
sleep 1
fresh d2	# the tunnel's calls keep state-d to themselves
timeout 60 "$SAFESSH" site75 true 2>"$T/err"
eq "sshd down: ssh's 255 (suspect, one retry, then blocked)" 255 $?
eq "... blocked" blocked "$(sstate)"
timeout 60 "$SAFESSH" site75 true 2>"$T/err"
eq "while blocked: refused with 75 (on_risk = refuse)" 75 $?
timeout 60 "$SAFESSH" site255 true 2>"$T/err"
eq "while blocked, refused_status = 255: refused with 255" 255 $?
check "... with the refusal line" grep -q '^safessh: site255 .*refused: ' \
    "$T/err"
fresh d
sleep 6
t_sshd_again() {
	t_sshd_start "$T/sshd/config" "$SSHD_LOG"
	SSHD_PID=$T_SSHD_PID
	for _ in $(seq 100); do
		[ "$(grep -c 'Server listening' "$SSHD_LOG")" -ge 2 ] && break
		sleep 0.05
	done
}
t_sshd_again
t0=$(date +%s)
timeout 60 "$SAFESSH" site true 2>"$T/err"
rc=$?
t1=$(date +%s)
eq "sshd back: the next call waits out the back-off and succeeds" 0 "$rc"
check "... within the first back-off step (30 s; took $((t1 - t0)) s)" \
    test $((t1 - t0)) -le 31
eq "... the server is ok again" ok "$(sstate)"
if command -v autossh >/dev/null; then
	for _ in $(seq 300); do
		echo_through "$LPORT" && break
		sleep 0.1
	done
	check "autossh: the tunnel carries bytes again" echo_through "$LPORT"
	check "autossh: still running" kill -0 "$(cat "$T/autossh.pid")"
	kill "$(cat "$T/autossh.pid")" 2>/dev/null
fi
t_done
