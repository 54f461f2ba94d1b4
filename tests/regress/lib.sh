# tests/regress/lib.sh: shared set-up for the regress scripts.
#
# Each script sources this, calls t_init, and uses a private directory
# ($T) with its own HOME, keys, sshd on a free loopback port and state
# directory.  Everything started here is stopped by PID at exit.
#
#   t_init NAME          make $T, HOME=$T/home, SAFESSH_* pointing into it
#   t_keys               $T/keys/right (authorized) and wrong1..wrong8
#   t_sshd [extra cfg]   start sshd (LogLevel VERBOSE) on $PORT; $SSHD_LOG
#   t_agent N            ssh-agent holding N wrong keys (SSH_AUTH_SOCK)
#   t_offers             number of public keys offered so far (server log)
#   t_conns              number of connections the server saw so far
#   ok / fail / skip     report; t_done prints "NAME: N passed, N failed"

set -u
: "${O:=build}"
# nss_wrapper (below) is preloaded; ASan builds must accept that.
export ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SAFESSH=$TOP/$O/safessh
REAL_SSH=$(command -v ssh)
SSHD=/usr/sbin/sshd
_pids=()
_pass=0
_fail=0
_skip=0

t_cleanup() {
	local p
	for p in "${_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	if [ -n "${SSH_AGENT_PID:-}" ]; then
		kill "$SSH_AGENT_PID" 2>/dev/null
	fi
	if [ -n "${T:-}" ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$T"
	fi
}

t_init() {
	TNAME=$1
	T=$(mktemp -d "${TMPDIR:-/tmp}/safessh-$TNAME.XXXXXX")
	chmod 700 "$T"
	trap t_cleanup EXIT
	export HOME=$T/home
	mkdir -p "$HOME/.ssh" "$HOME/.config/safessh"
	chmod 700 "$HOME" "$HOME/.ssh"
	export SAFESSH_STATE_DIR=$T/state
	export SAFESSH_CONFIG=$T/safessh.conf
	: > "$SAFESSH_CONFIG"
	chmod 600 "$SAFESSH_CONFIG"
	unset SSH_AUTH_SOCK SSH_AGENT_PID SAFESSH_SSH XDG_STATE_HOME \
	    XDG_CONFIG_HOME GIT_SSH GIT_SSH_COMMAND GIT_SSH_VARIANT
	export SSH_ASKPASS=/bin/false SSH_ASKPASS_REQUIRE=never
	# ssh's own options every test uses: no prompts, a private known_hosts.
	SSHOPTS=(-o UserKnownHostsFile="$T/known_hosts"
	    -o StrictHostKeyChecking=accept-new -o BatchMode=yes)
	# ssh finds ~/.ssh through the passwd entry, not $HOME: give it one
	# whose home is ours (nss_wrapper, Debian's libnss-wrapper).
	local nw
	for nw in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
		[ -f "$nw" ] || continue
		printf '%s:x:%s:%s:test:%s:/bin/sh\n' "$(id -un)" "$(id -u)" \
		    "$(id -g)" "$HOME" > "$T/passwd"
		printf '%s:x:%s:\n' "$(id -gn)" "$(id -g)" > "$T/group"
		export NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group
		export LD_PRELOAD=$nw
		# RTLD_DEEPBIND and ASan do not mix (ASan builds abort).
		export NSS_WRAPPER_DISABLE_DEEPBIND=1
		break
	done
	cat > "$HOME/.ssh/config" <<CFG
Host *
	UserKnownHostsFile $T/known_hosts
	StrictHostKeyChecking accept-new
	BatchMode yes
CFG
	chmod 600 "$HOME/.ssh/config"
}

t_keys() {
	local i
	mkdir -p "$T/keys"
	ssh-keygen -q -t ed25519 -N '' -C right -f "$T/keys/right"
	for i in 1 2 3 4 5 6 7 8; do
		ssh-keygen -q -t ed25519 -N '' -C "wrong$i" -f "$T/keys/wrong$i"
	done
}

# A free TCP port on 127.0.0.1, below the kernel's range for outgoing
# ports (ip_local_port_range): a port an outgoing connection holds would
# pass the connect probe and then fail sshd's bind.
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

# not CMD...: succeeds when CMD fails.
not() {
	! "$@"
}

# The ledger of server $SV (default 127.0.0.1) in the state directory,
# and what it says.
#   fresh NAME    a new, empty state directory $T/state-NAME
#   ledger        the ledger file's path
#   nout OUTCOME  attempts whose latest state there is OUTCOME
#   sstate        the server's state (ok, suspect, blocked)
fresh() {
	export SAFESSH_STATE_DIR=$T/state-$1
}
ledger() {
	echo "$SAFESSH_STATE_DIR/servers/${SV:-127.0.0.1}"
}
nout() {
	[ -f "$(ledger)" ] || { echo 0; return; }
	awk -v want="$1" '
	    $1 == "a" { o[$2] = "inflight" }
	    $1 == "s" { o[$2] = $4 }
	    END { n = 0; for (i in o) if (o[i] == want) n++; print n }' \
	    "$(ledger)"
}
sstate() {
	[ -f "$(ledger)" ] || { echo ok; return; }
	awk '$1 == "g" { s = $2 } END { print s == "" ? "ok" : s }' \
	    "$(ledger)"
}

t_sshd() {
	local i
	PORT=$(t_port)
	mkdir -p "$T/sshd"
	[ -f "$T/sshd/hostkey" ] ||
	    ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/hostkey"
	cat "$T/keys/right.pub" > "$T/sshd/authorized_keys"
	chmod 600 "$T/sshd/authorized_keys"
	SSHD_LOG=$T/sshd/log
	: > "$SSHD_LOG"
	{
		echo "Port $PORT"
		echo "ListenAddress 127.0.0.1"
		echo "HostKey $T/sshd/hostkey"
		echo "AuthorizedKeysFile $T/sshd/authorized_keys"
		echo "PidFile $T/sshd/pid"
		echo "LogLevel VERBOSE"
		echo "UsePAM no"
		echo "StrictModes no"
		echo "PasswordAuthentication no"
		echo "KbdInteractiveAuthentication no"
		echo "MaxStartups 100:30:200"
		echo "AcceptEnv GIT_PROTOCOL"
		echo "Subsystem sftp internal-sftp"
		for i in "$@"; do echo "$i"; done
	} > "$T/sshd/config"
	if [ "$(id -u)" = 0 ]; then
		mkdir -p /run/sshd
	fi
	t_sshd_start "$T/sshd/config" "$SSHD_LOG"
	SSHD_PID=$T_SSHD_PID
	for i in $(seq 100); do
		grep -q 'Server listening' "$SSHD_LOG" 2>/dev/null && break
		sleep 0.05
	done
	grep -q 'Server listening' "$SSHD_LOG" || {
		echo "sshd did not start:"; cat "$SSHD_LOG"; exit 1; }
	env -u LD_PRELOAD ssh-keyscan -p "$PORT" -t ed25519 127.0.0.1 2>/dev/null |
	    sed "s/^127.0.0.1/[127.0.0.1]:$PORT/" > "$T/known_hosts"
}

# t_sshd_start CONFIG LOG: start "$SSHD -f CONFIG -E LOG -D" in the
# background (T_SSHD_PID, stopped at exit).  Under nss_wrapper when
# t_init set it up (unless T_SSHD_REAL=1): the account then has /bin/sh
# as login shell and a home under $T, so a login runs no ~/.bashrc of
# this machine's (one that starts pyenv or the like costs seconds a
# login and turns a parallel test into a load test of the shell).
t_sshd_start() {
	if [ -n "${NSS_WRAPPER_PASSWD:-}" ] && [ "${T_SSHD_REAL:-0}" != 1 ]; then
		# The privilege separation user, once.
		grep -q '^sshd:' "$NSS_WRAPPER_PASSWD" ||
		    env -u LD_PRELOAD getent passwd sshd >> "$NSS_WRAPPER_PASSWD"
		"$SSHD" -f "$1" -E "$2" -D &
	else
		env -u LD_PRELOAD "$SSHD" -f "$1" -E "$2" -D &
	fi
	T_SSHD_PID=$!
	_pids+=("$T_SSHD_PID")
}

# A second sshd on $LEANPORT that runs under nss_wrapper, so its account
# has /bin/sh as login shell: the remote side of "true" costs what sh
# costs, not what this box's .bashrc costs (for benchmarks).  Sets
# LEANPORT, or leaves it empty when nss_wrapper is not there.
t_sshd_lean() {
	LEANPORT=
	[ -n "${NSS_WRAPPER_PASSWD:-}" ] || return 0
	LEANPORT=$(t_port)
	grep -q '^sshd:' "$NSS_WRAPPER_PASSWD" ||
	    env -u LD_PRELOAD getent passwd sshd >> "$NSS_WRAPPER_PASSWD"
	sed -e "s/^Port .*/Port $LEANPORT/" \
	    -e "s|^PidFile .*|PidFile $T/sshd/pid.lean|" \
	    "$T/sshd/config" > "$T/sshd/config.lean"
	"$SSHD" -f "$T/sshd/config.lean" -E "$T/sshd/log.lean" -D &
	_pids+=("$!")
	for _ in $(seq 100); do
		grep -q 'Server listening' "$T/sshd/log.lean" 2>/dev/null &&
		    break
		sleep 0.05
	done
	if ! grep -q 'Server listening' "$T/sshd/log.lean"; then
		LEANPORT=
		return 0
	fi
	env -u LD_PRELOAD ssh-keyscan -p "$LEANPORT" -t ed25519 127.0.0.1 \
	    2>/dev/null | sed "s/^127.0.0.1/[127.0.0.1]:$LEANPORT/" >> \
	    "$T/known_hosts"
}

t_stop_sshd() {
	kill "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
}

t_agent() {
	local n=$1 i
	eval "$(ssh-agent -s)" >/dev/null
	for i in $(seq "$n"); do
		ssh-add -q "$T/keys/wrong$i" 2>/dev/null
	done
}

# Keys offered: every "Failed publickey" or "Accepted publickey".
t_offers() {
	grep -cE '(Failed|Accepted) publickey for' "$SSHD_LOG"
}

t_conns() {
	grep -c '^Connection from ' "$SSHD_LOG"
}

ok() {
	_pass=$((_pass + 1))
	echo "ok - $*"
}

fail() {
	_fail=$((_fail + 1))
	echo "not ok - $*"
}

skip() {
	_skip=$((_skip + 1))
	echo "skip - $*"
}

# check DESC CMD...: ok if CMD succeeds.
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}

# eq DESC WANT GOT
eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1 (want '$2', got '$3')"
	fi
}

t_done() {
	echo "$TNAME: $_pass passed, $_fail failed, $_skip skipped"
	[ "$_fail" -eq 0 ]
}
