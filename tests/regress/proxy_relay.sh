#!/bin/bash
# proxy_relay.sh: the ProxyCommand relay (lib/proxy.c) under a real ssh
# and sshd, driven by tests/regress/proxytool (and by safessh --proxy
# when the binary has it): commands, half-close, 20 MB through cat, scp
# and rsync of 50 MB, the events it reports for good and wrong keys, and
# against stand-in servers that close, reset, refuse or stay silent.
# shellcheck source=tests/regress/lib.sh
. "$(dirname "$0")/lib.sh"
t_init proxy_relay
t_keys
# shellcheck disable=SC2119 # no extra sshd_config lines
t_sshd

PT=$TOP/$O/tests/regress/proxytool
STANDIN=$TOP/tests/regress/standin.py
if [ ! -x "$PT" ]; then
	fail "proxytool not built ($PT)"
	t_done
	exit
fi
KOPTS=(-o IdentitiesOnly=yes -o IdentityAgent=none -o ConnectTimeout=10)

# The events a ProxyCommand printed to ssh's stderr, on one line.  ssh
# does not wait for its ProxyCommand, so wait for "closed" a moment.
events() {
	for _ in $(seq 50); do
		grep -q 'event closed' "$1" && break
		sleep 0.1
	done
	grep -o 'proxytool: event [a-z]*' "$1" | sed 's/.* //' | tr '\n' ' ' |
	    sed 's/ $//'
}

mkfile() {
	head -c "$2" /dev/urandom > "$1"
}

sum() {
	sha256sum < "$1" | cut -d' ' -f1
}

# run_transfers NAME PROXYCOMMAND: the same checks through one relay.
run_transfers() {
	local name=$1 pc=$2 out rc
	local po=(-o "ProxyCommand=$pc")

	out=$(ssh "${SSHOPTS[@]}" "${KOPTS[@]}" "${po[@]}" \
	    -i "$T/keys/right" -p "$PORT" 127.0.0.1 echo hi 2>"$T/err")
	rc=$?
	eq "$name: a command runs" "0 hi" "$rc $out"

	ssh "${SSHOPTS[@]}" "${KOPTS[@]}" "${po[@]}" -i "$T/keys/right" \
	    -p "$PORT" 127.0.0.1 cat < "$T/f20" > "$T/f20.back" 2>"$T/err"
	rc=$?
	eq "$name: 20 MB through cat ends (half-close), exit 0" 0 "$rc"
	eq "$name: 20 MB through cat intact" "$(sum "$T/f20")" \
	    "$(sum "$T/f20.back")"

	ssh "${SSHOPTS[@]}" "${KOPTS[@]}" "${po[@]}" -i "$T/keys/right" \
	    -p "$PORT" 127.0.0.1 "cat $T/f20" > "$T/f20.down" 2>"$T/err"
	eq "$name: 20 MB down intact" "$(sum "$T/f20")" "$(sum "$T/f20.down")"

	rm -f "$T/f50.scp"
	scp -q "${SSHOPTS[@]}" "${KOPTS[@]}" "${po[@]}" -i "$T/keys/right" \
	    -P "$PORT" "$T/f50" "127.0.0.1:$T/f50.scp" 2>"$T/err"
	rc=$?
	eq "$name: scp 50 MB exit 0" 0 "$rc"
	eq "$name: scp 50 MB intact" "$(sum "$T/f50")" "$(sum "$T/f50.scp")"

	if command -v rsync >/dev/null; then
		rm -f "$T/f50.rsync"
		rsync -e "ssh ${SSHOPTS[*]} ${KOPTS[*]} -i $T/keys/right \
-p $PORT -o 'ProxyCommand=$pc'" "$T/f50" "127.0.0.1:$T/f50.rsync" \
		    2>"$T/err"
		rc=$?
		eq "$name: rsync 50 MB exit 0" 0 "$rc"
		eq "$name: rsync 50 MB intact" "$(sum "$T/f50")" \
		    "$(sum "$T/f50.rsync")"
	else
		skip "$name: rsync not installed"
	fi
}

mkfile "$T/f20" 20971520
mkfile "$T/f50" 52428800

# --- events from real sshd traffic, several ciphers ----------------------
for c in chacha20-poly1305@openssh.com aes128-gcm@openssh.com \
    "aes256-ctr hmac-sha2-256-etm@openssh.com" "aes256-ctr hmac-sha2-256"; do
	# shellcheck disable=SC2086 # split "cipher mac"
	set -- $c
	copts=(-o "Ciphers=$1")
	[ -n "${2:-}" ] && copts+=(-o "MACs=$2")
	ssh "${SSHOPTS[@]}" "${KOPTS[@]}" "${copts[@]}" \
	    -o "ProxyCommand=$PT %h %p 5" -i "$T/keys/right" -p "$PORT" \
	    127.0.0.1 true 2>"$T/err"
	eq "$c: good key: events" "banner authed closed" "$(events "$T/err")"
	ssh "${SSHOPTS[@]}" "${KOPTS[@]}" "${copts[@]}" \
	    -o "ProxyCommand=$PT %h %p 5" -i "$T/keys/wrong1" -p "$PORT" \
	    127.0.0.1 true 2>"$T/err"
	eq "$c: wrong key: exit 255" 255 "$?"
	eq "$c: wrong key: events" "banner authfail closed" \
	    "$(events "$T/err")"
done

# An rsa key changes the sizes, not the verdict.
ssh-keygen -q -t rsa -b 3072 -N '' -C rsa -f "$T/keys/rsa"
cat "$T/keys/rsa.pub" >> "$T/sshd/authorized_keys"
ssh "${SSHOPTS[@]}" "${KOPTS[@]}" -o "ProxyCommand=$PT %h %p 5" \
    -i "$T/keys/rsa" -p "$PORT" 127.0.0.1 true 2>"$T/err"
eq "rsa key: events" "banner authed closed" "$(events "$T/err")"

# A passphrase-protected key in batch mode is queried (PK_OK) but never
# signed: sshd counts it as attempted; we claim nothing we cannot see.
ssh-keygen -q -t ed25519 -N 'secret' -C locked -f "$T/keys/locked"
cat "$T/keys/locked.pub" >> "$T/sshd/authorized_keys"
ssh "${SSHOPTS[@]}" "${KOPTS[@]}" -o "ProxyCommand=$PT %h %p 5" \
    -i "$T/keys/locked" -p "$PORT" 127.0.0.1 true 2>"$T/err"
eq "locked key: no auth claim" "banner closed" "$(events "$T/err")"

# --- transfers through proxytool -----------------------------------------
run_transfers proxytool "$PT %h %p 5"

# --- stand-in servers -----------------------------------------------------
# standin MODE: start it, set SPORT; stopped at exit by PID.
standin() {
	: > "$T/standin.port"
	python3 "$STANDIN" "$1" --log "$T/standin.log" > "$T/standin.port" &
	_pids+=("$!")
	STANDIN_PID=$!
	for _ in $(seq 100); do
		[ -s "$T/standin.port" ] && break
		sleep 0.05
	done
	SPORT=$(cat "$T/standin.port")
}

stop_standin() {
	kill "$STANDIN_PID" 2>/dev/null
	wait "$STANDIN_PID" 2>/dev/null
}

for m in close:prebanner reset:prebanner notallowed:notallowed; do
	mode=${m%%:*}
	want=${m#*:}
	: > "$T/standin.log"
	standin "$mode"
	ssh "${SSHOPTS[@]}" "${KOPTS[@]}" -o "ProxyCommand=$PT %h %p 5" \
	    -i "$T/keys/right" -p "$SPORT" 127.0.0.1 true 2>"$T/err"
	eq "standin $mode: ssh exit 255" 255 "$?"
	eq "standin $mode: events" "$want closed" "$(events "$T/err")"
	eq "standin $mode: one connection" 1 "$(grep -c '^conn ' \
	    "$T/standin.log")"
	stop_standin
done

# A server that sends its banner and then nothing: banner, not a drop.
standin banner
"$PT" 127.0.0.1 "$SPORT" 5 < /dev/null > "$T/out" 2>"$T/err"
eq "standin banner: proxytool exit 0" 0 "$?"
eq "standin banner: events" "banner closed" "$(events "$T/err")"
eq "standin banner: bytes relayed" "SSH-2.0-standin" "$(tr -d '\r' < "$T/out")"
stop_standin

# Silence until ssh's ConnectTimeout: ssh leaves (SIGHUP); not a drop.
standin silent
ssh "${SSHOPTS[@]}" -o IdentitiesOnly=yes -o ConnectTimeout=2 \
    -o "ProxyCommand=$PT %h %p 5" -i "$T/keys/right" -p "$SPORT" \
    127.0.0.1 true 2>"$T/err"
eq "standin silent: ssh exit 255" 255 "$?"
check "standin silent: banner timeout" grep -q 'timed out' "$T/err"
eq "standin silent: events" "closed" "$(events "$T/err")"
stop_standin

# Sink: bytes arrive, count intact, relay ends on EOF.
: > "$T/standin.log"
standin sink
head -c 3000000 /dev/zero | "$PT" 127.0.0.1 "$SPORT" 5 > /dev/null \
    2>"$T/err"
eq "standin sink: proxytool exit 0" 0 "$?"
for _ in $(seq 50); do
	grep -q '^bytes' "$T/standin.log" && break
	sleep 0.1
done
eq "standin sink: all bytes arrived" "bytes 3000000" \
    "$(grep '^bytes' "$T/standin.log")"
stop_standin

# Echo both ways at once through a half-close.
standin echo
"$PT" 127.0.0.1 "$SPORT" 5 < "$T/f20" > "$T/f20.echo" 2>"$T/err"
eq "standin echo: 20 MB back intact" "$(sum "$T/f20")" \
    "$(sum "$T/f20.echo")"
stop_standin

# Nothing listening: refused, named like ssh's message.
p=$(t_port)
"$PT" 127.0.0.1 "$p" 5 < /dev/null 2>"$T/err"
eq "refused: exit 255" 255 "$?"
check "refused: classified and worded" grep -q \
    "connect refused: connect to host 127.0.0.1 port $p: Connection refused" \
    "$T/err"
"$PT" no-such-host.invalid 22 5 < /dev/null 2>"$T/err"
check "unresolvable: net" grep -q \
    'connect net: Could not resolve hostname no-such-host.invalid' "$T/err"

# --- safessh --proxy, when the binary has it ------------------------------
if [ -x "$SAFESSH" ] && "$SAFESSH" --help 2>&1 | grep -q -- --proxy; then
	run_transfers "safessh --proxy" "$SAFESSH --proxy %h %p"
else
	skip "safessh --proxy not available yet"
fi

t_done
