#!/bin/bash
# demo.sh: "make demo": what safessh is for, shown against a throwaway
# sshd on a free loopback port.  An agent holds six wrong keys; plain
# "ssh -i right.key" fails with "Too many authentication failures";
# safessh gets in with one key; a wrong-key loop is stopped before it
# spends the server's ban budget.  Everything lives in one temporary
# directory and every process is stopped by PID at exit, Ctrl-C too.
# Runs as root or not, with or without a terminal; touches nothing of
# the user's (its own ssh_config, known_hosts, agent, state and config).

set -u
: "${O:=build}"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SAFESSH=${SAFESSH:-$TOP/$O/safessh}
[ -x "$SAFESSH" ] || SAFESSH=$(command -v safessh) || {
	echo "demo: no safessh: run 'make' first" >&2; exit 1; }
SSHD=${SSHD:-/usr/sbin/sshd}
LOOPS=${DEMO_LOOPS:-6}

for t in ssh ssh-keygen ssh-agent ssh-add "$SSHD"; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "demo: $t is missing: apt-get install openssh-client" \
		    "openssh-server" >&2; exit 1; }
done

if [ -t 1 ]; then
	B=$(printf '\033[1m') G=$(printf '\033[32m') R=$(printf '\033[31m')
	N=$(printf '\033[0m')
else
	B='' G='' R='' N=''
fi

D=
SSHD_PID=
AGENT_PID=

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	trap '' INT TERM HUP	# a second Ctrl-C must not stop the clean-up
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null
	[ -n "$SSHD_PID" ] && wait "$SSHD_PID" 2>/dev/null
	[ -n "$AGENT_PID" ] && wait "$AGENT_PID" 2>/dev/null
	[ -n "$D" ] && rm -rf "$D"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; cleaning up"; exit 130' INT TERM HUP
D=$(mktemp -d "${TMPDIR:-/tmp}/safessh-demo.XXXXXX") || exit 1
chmod 700 "$D"

step=0
heading() {
	step=$((step + 1))
	printf '\n%s== %d. %s%s\n' "$B" "$step" "$*" "$N"
}
say() {
	printf '   %s\n' "$@"
}
# Show a command as the user would type it ($D shortened to $DEMO).
show() {
	local a line="\$"
	for a in "$@"; do
		a=${a//"$D"/\$DEMO}
		case $a in
		*[[:space:]\'\"\$\;\&\|\(\)\<\>]*)
			[[ $a == \$DEMO* ]] || a="'$a'" ;;
		esac
		line+=" $a"
	done
	printf '   %s%s%s\n' "$B" "$line" "$N"
}
# Indent a command's output.
indent() {
	sed 's/^/     | /'
}
die() {
	printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
	[ -f "$D/sshd.log" ] && tail -20 "$D/sshd.log" >&2
	exit 1
}

# A free TCP port on 127.0.0.1.
freeport() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# The server's log since byte offset $1: the key lines only.
keylines() {
	tail -c +"$(($1 + 1))" "$D/sshd.log" |
	    grep -E '(Failed|Accepted) publickey|Too many auth|maximum auth' |
	    sed -E 's/ from 127\.0\.0\.1 port [0-9]+//' | sed -f "$D/names.sed"
}
offers() {
	tail -c +"$(($1 + 1))" "$D/sshd.log" |
	    grep -cE '(Failed|Accepted) publickey'
}
logsize() {
	stat -c %s "$D/sshd.log"
}

printf '%ssafessh demo%s: a throwaway sshd, an agent full of wrong keys, ' \
    "$B" "$N"
printf 'and what\nplain ssh and safessh each do with them.  '
# shellcheck disable=SC2016 # the name, not its value
printf 'Scratch directory: %s (=%s)\n' "$D" '$DEMO'

# ------------------------------------------------------------------ keys
heading "Keys: one right key for the server, six wrong ones for the agent"
mkdir -p "$D/keys"
ssh-keygen -q -t ed25519 -N '' -C right -f "$D/keys/right.key" ||
    die "ssh-keygen failed"
for i in 1 2 3 4 5 6; do
	ssh-keygen -q -t ed25519 -N '' -C "wrong$i" -f "$D/keys/wrong$i.key"
done
say "\$DEMO/keys/right.key is authorised on the server;" \
    "wrong1.key ... wrong6.key are not."
# The server logs fingerprints: show the key files' names instead.
for k in "$D"/keys/*.key; do
	ssh-keygen -lf "$k.pub" | awk -v n="${k##*/}" \
	    '{ gsub("/", "\\/", $2); print "s/" $2 "/(" n ")/" }'
done > "$D/names.sed"

# ------------------------------------------------------------------ sshd
PORT=$(freeport)
heading "A throwaway sshd on 127.0.0.1:$PORT (MaxAuthTries 6, sshd's default)"
mkdir -p "$D/sshd"
ssh-keygen -q -t ed25519 -N '' -f "$D/sshd/hostkey"
cp "$D/keys/right.key.pub" "$D/sshd/authorized_keys"
cat > "$D/sshd/config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $D/sshd/hostkey
AuthorizedKeysFile $D/sshd/authorized_keys
PidFile $D/sshd/pid
LogLevel VERBOSE
MaxAuthTries 6
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
CFG
if [ "$(id -u)" = 0 ]; then
	mkdir -p /run/sshd	# privilege separation needs it as root
fi
: > "$D/sshd.log"
"$SSHD" -D -f "$D/sshd/config" -E "$D/sshd.log" </dev/null &
SSHD_PID=$!
for _ in $(seq 100); do
	grep -q 'Server listening' "$D/sshd.log" 2>/dev/null && break
	kill -0 "$SSHD_PID" 2>/dev/null || break
	sleep 0.05
done
grep -q 'Server listening' "$D/sshd.log" || die "sshd did not start"
say "sshd pid $SSHD_PID, logging to \$DEMO/sshd.log"

# Plain ssh and safessh read the same private ssh_config.
ssh-keyscan -p "$PORT" -t ed25519 127.0.0.1 2>/dev/null |
    sed "s/^127.0.0.1/[127.0.0.1]:$PORT/" > "$D/known_hosts"
cat > "$D/ssh_config" <<CFG
Host demo
	HostName 127.0.0.1
	Port $PORT
	UserKnownHostsFile $D/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
CFG
export SAFESSH_STATE_DIR=$D/state SAFESSH_CONFIG=$D/safessh.conf
cat > "$SAFESSH_CONFIG" <<CFG
; safessh's configuration for the demo: built-in defaults, one host.
[defaults]
policy = default

[host demo]
hostname = 127.0.0.1
port = $PORT
CFG
chmod 600 "$SAFESSH_CONFIG"
unset SAFESSH_SSH
say "host alias 'demo' in \$DEMO/ssh_config; safessh state in \$DEMO/state"

# ----------------------------------------------------------------- agent
heading "An ssh-agent holding the six wrong keys"
# In the foreground (-D) of a background job: its pid is known at once.
ssh-agent -D -a "$D/agent.sock" </dev/null >/dev/null 2>&1 &
AGENT_PID=$!
export SSH_AUTH_SOCK=$D/agent.sock
unset SSH_AGENT_PID
for _ in $(seq 100); do
	[ -S "$SSH_AUTH_SOCK" ] && break
	kill -0 "$AGENT_PID" 2>/dev/null || break
	sleep 0.05
done
[ -S "$SSH_AUTH_SOCK" ] || die "ssh-agent did not start"
for i in 1 2 3 4 5 6; do
	ssh-add -q "$D/keys/wrong$i.key" 2>/dev/null </dev/null
done
show ssh-add -l
ssh-add -l | sed -E 's/ SHA256:[^ ]+//' | indent

# ------------------------------------------------------------ plain ssh
heading "Plain ssh with the right key: ssh -i right.key"
say "ssh offers every agent key before the key named by -i."
off=$(logsize)
show ssh -F "$D/ssh_config" -i "$D/keys/right.key" demo echo hello
ssh -F "$D/ssh_config" -i "$D/keys/right.key" demo echo hello \
    </dev/null >"$D/plain.out" 2>"$D/plain.err"
rc=$?
sed 's/\r$//' "$D/plain.err" | indent
say "exit status $rc.  What the server saw:"
keylines "$off" | indent
n=$(offers "$off")
if grep -q 'Too many authentication failures' "$D/plain.err"; then
	printf '   %sPLAIN SSH: %s after %s wrong keys; %s%s\n' "$R" \
	    "Too many authentication failures" "$n" \
	    "the right key was never offered." "$N"
else
	die "expected plain ssh to fail with Too many authentication failures"
fi

# -------------------------------------------------------------- safessh
heading "The same call through safessh"
say "safessh forces IdentitiesOnly=yes and IdentityAgent=none: one key."
off=$(logsize)
show safessh -F "$D/ssh_config" -i "$D/keys/right.key" demo echo hello
"$SAFESSH" -F "$D/ssh_config" -i "$D/keys/right.key" demo echo hello \
    </dev/null >"$D/safe.out" 2>"$D/safe.err"
rc=$?
cat "$D/safe.out" "$D/safe.err" | indent
say "exit status $rc.  What the server saw:"
keylines "$off" | indent
n=$(offers "$off")
if [ "$rc" = 0 ] && [ "$n" = 1 ]; then
	printf '   %sSAFESSH: in with 1 key offered.%s\n' "$G" "$N"
else
	die "expected safessh to get in with one key (exit $rc, $n keys)"
fi

# ---------------------------------------------------------- wrong loop
heading "A script retrying with a wrong key, $LOOPS times, through safessh"
say "Each failed connection costs budget on the server (OpenSSH's" \
    "PerSourcePenalties, fail2ban, sshguard).  safessh keeps a ledger" \
    "and refuses the attempt that could trip a ban."
# shellcheck disable=SC2016 # shown, not run
printf '   %s$ for i in $(seq %d); do %s; done%s\n' "$B" "$LOOPS" \
    'safessh -F $DEMO/ssh_config -i $DEMO/keys/wrong1.key demo true' "$N"
off=$(logsize)
failed=0 refused=0
for i in $(seq "$LOOPS"); do
	"$SAFESSH" -F "$D/ssh_config" -i "$D/keys/wrong1.key" demo true \
	    </dev/null >/dev/null 2>"$D/loop.err"
	rc=$?
	case $rc in
	75)	refused=$((refused + 1)) ;;
	255)	failed=$((failed + 1)) ;;
	esac
	printf '     | try %d: exit %d: %s\n' "$i" "$rc" \
	    "$(sed 's/\r$//' "$D/loop.err" |
	    grep -E '^safessh: |Permission denied' | tail -1)"
done
conns=$(tail -c +"$((off + 1))" "$D/sshd.log" | grep -c '^Connection from ')
say "safessh ran $failed failed connection(s) and refused $refused;" \
    "the server saw $conns connection(s) from this loop.  Plain ssh" \
    "would have made all $LOOPS: fail2ban's default sshd jail bans" \
    "after 5 failures, sshguard sooner, OpenSSH's penalties after 4."
if [ "$refused" -ge 1 ] && [ "$conns" -lt "$LOOPS" ]; then
	printf '   %sSAFESSH: stopped the loop after %s failure(s), %s%s\n' \
	    "$G" "$failed" "before the ban budget was spent." "$N"
else
	die "expected safessh to refuse part of the loop"
fi

heading "What safessh knows about the server"
show safessh --status demo
"$SAFESSH" --status demo 2>&1 </dev/null | indent

heading "Done"
say "Next: 'safessh --doctor HOST' audits your own agent, ~/.ssh and" \
    "ssh_config; 'man safessh' and 'man safessh.conf' explain the rest." \
    "Cleaning up: sshd (pid $SSHD_PID), ssh-agent (pid $AGENT_PID)," \
    "\$DEMO."
echo "demo: ok"
exit 0
