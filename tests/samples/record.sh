#!/bin/bash
# tests/samples/record.sh: re-record the OpenSSH client's stderr for each
# row of SPEC's outcome table into tests/samples/openssh-<version>/.
#
# Runs the installed ssh(1) against a real sshd(8) and against the stand-in
# listeners of standin.py, all inside a private network namespace
# (unshare -n: only its own loopback exists, nothing leaves the machine),
# so firewall rules (iptables DROP / REJECT) stay private too.  Needs root
# (or unshare's user namespaces), sshd, python3, iptables.
#
#   bash tests/samples/record.sh [outdir]
#
# Each sample file holds ssh's stderr byte for byte; STATUS in the output
# directory lists "case exit-status".  The expected classification of each
# file lives in tests/unit/test_outcome.c.

set -u
if [ -z "${_SAMPLES_NETNS:-}" ]; then
	export _SAMPLES_NETNS=1
	exec unshare -n -m bash "$0" "$@"
fi
ip link set lo up

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/regress/lib.sh
. "$here/../regress/lib.sh"
ver=$("$REAL_SSH" -V 2>&1 | sed -n 's/^OpenSSH_\([0-9]*\.[0-9]*\).*/\1/p')
out=${1:-$here/openssh-$ver}
mkdir -p "$out"
rm -f "$out"/*.txt
: > "$out/STATUS"

t_init samples
t_keys
t_sshd "MaxAuthTries 3"
SPORT=$PORT	# set by t_sshd
KNOWN=$T/known_hosts
cp "$KNOWN" "$T/known_first"

# rec CASE ssh-args...: run ssh, keep its stderr and status.
rec() {
	local c=$1 st
	shift
	"$REAL_SSH" -F /dev/null -o BatchMode=yes -o ConnectTimeout=3 \
	    -o UserKnownHostsFile="${KH:-$KNOWN}" -o StrictHostKeyChecking=yes \
	    -o IdentityAgent=none "$@" </dev/null >/dev/null 2>"$out/$c.txt"
	st=$?
	echo "$c $st" >> "$out/STATUS"
	printf '%-28s exit %3d  %s\n' "$c" "$st" \
	    "$(tr -d '\r' < "$out/$c.txt" | tail -n 1)"
}

# One key, as safessh forces it.
RIGHT=(-o IdentitiesOnly=yes -i "$T/keys/right" -l root)
WRONG=(-o IdentitiesOnly=yes -i "$T/keys/wrong1" -l root)

# standin MODE: start standin.py, set SIN_PORT.
standin() {
	coproc SIN { exec python3 "$here/standin.py" "$1"; }
	read -r SIN_PORT <&"${SIN[0]}"
	_pids+=("$SIN_PID")
}

# --- sessions that ran (authed) ---------------------------------------
rec ok-true "${RIGHT[@]}" -p "$SPORT" 127.0.0.1 true
rec ok-exit3 "${RIGHT[@]}" -p "$SPORT" 127.0.0.1 'exit 3'
rec ok-v -v "${RIGHT[@]}" -p "$SPORT" 127.0.0.1 true
rec ok-remote-cat-denied "${RIGHT[@]}" -p "$SPORT" 127.0.0.1 \
    'echo "cat: x: Permission denied" >&2; exit 1'
# A remote command that prints ssh's own failure lines and exits 255.
rec ok-remote-lookalike-255 "${RIGHT[@]}" -p "$SPORT" 127.0.0.1 \
    "echo 'root@127.0.0.1: Permission denied (publickey).' >&2;
     echo 'Connection closed by 127.0.0.1 port $SPORT' >&2; exit 255"
# The session is cut by the server after authentication.
# shellcheck disable=SC2016 # $PPID is the remote shell's
rec ok-killed-session "${RIGHT[@]}" -p "$SPORT" 127.0.0.1 'kill -9 $PPID'

# --- authentication failures ------------------------------------------
rec authfail-denied "${WRONG[@]}" -p "$SPORT" 127.0.0.1 true
rec authfail-denied-v -v "${WRONG[@]}" -p "$SPORT" 127.0.0.1 true
rec authfail-quiet -q "${WRONG[@]}" -p "$SPORT" 127.0.0.1 true
rec authfail-user "${WRONG[@]}" -o User=nosuchuser -p "$SPORT" \
    127.0.0.1 true
# Plain ssh with an agent full of keys: MaxAuthTries ends it.
t_agent 8
"$REAL_SSH" -F /dev/null -o BatchMode=yes -o UserKnownHostsFile="$KNOWN" \
    -o StrictHostKeyChecking=yes -p "$SPORT" -l root 127.0.0.1 true \
    </dev/null >/dev/null 2>"$out/authfail-toomany.txt"
st=$?
echo "authfail-toomany $st" >> "$out/STATUS"
echo "authfail-toomany             exit $st"
kill "$SSH_AGENT_PID"
unset SSH_AUTH_SOCK SSH_AGENT_PID

# --- closed or reset before the banner --------------------------------
# Closed at once: the client's banner is already on its way, so the
# kernel answers it with a reset (what sshd < 9.8 does over MaxStartups).
standin close
rec prebanner-close -p "$SIN_PORT" "${RIGHT[@]}" 127.0.0.1 true
rec prebanner-close-v -v -p "$SIN_PORT" "${RIGHT[@]}" 127.0.0.1 true
rec prebanner-close-proxy "${RIGHT[@]}" \
    -o ProxyCommand="nc 127.0.0.1 $SIN_PORT" 127.0.0.1 true
kill "$SIN_PID"; wait "$SIN_PID" 2>/dev/null

# Closed after reading the client's banner: a clean FIN.
standin drain
rec prebanner-drain -p "$SIN_PORT" "${RIGHT[@]}" 127.0.0.1 true
rec prebanner-drain-v -v -p "$SIN_PORT" "${RIGHT[@]}" 127.0.0.1 true
kill "$SIN_PID"; wait "$SIN_PID" 2>/dev/null

standin reset
rec prebanner-reset -p "$SIN_PORT" "${RIGHT[@]}" 127.0.0.1 true
kill "$SIN_PID"; wait "$SIN_PID" 2>/dev/null

# Real sshd 9.2 over MaxStartups (one unauthenticated connection held).
t_sshd "MaxStartups 1"
MPORT=$PORT
cat "$T/known_first" >> "$KNOWN"
exec 7<>"/dev/tcp/127.0.0.1/$MPORT"
sleep 0.3
rec prebanner-maxstartups "${RIGHT[@]}" -p "$MPORT" 127.0.0.1 true
exec 7<&-

# sshd >= 9.8 refusing a penalised source (or over MaxStartups).
standin notallowed
rec notallowed -p "$SIN_PORT" "${RIGHT[@]}" 127.0.0.1 true
rec notallowed-v -v -p "$SIN_PORT" "${RIGHT[@]}" 127.0.0.1 true
kill "$SIN_PID"; wait "$SIN_PID" 2>/dev/null

standin badbanner
rec noauth-badbanner -p "$SIN_PORT" "${RIGHT[@]}" 127.0.0.1 true
kill "$SIN_PID"; wait "$SIN_PID" 2>/dev/null

# --- refused, timed out ------------------------------------------------
CPORT=$(t_port)
rec refused -p "$CPORT" "${RIGHT[@]}" 127.0.0.1 true
rec refused-v -v -p "$CPORT" "${RIGHT[@]}" 127.0.0.1 true
iptables -A INPUT -p tcp --dport "$CPORT" -j REJECT --reject-with tcp-reset
rec refused-reject-reset -p "$CPORT" "${RIGHT[@]}" 127.0.0.1 true
iptables -F INPUT
iptables -A INPUT -p tcp --dport "$CPORT" -j REJECT \
    --reject-with icmp-host-prohibited
rec refused-reject-hostprohib -p "$CPORT" "${RIGHT[@]}" 127.0.0.1 true
iptables -F INPUT
iptables -A INPUT -p tcp --dport "$CPORT" -j DROP
rec timeout-connect -p "$CPORT" "${RIGHT[@]}" 127.0.0.1 true
iptables -F INPUT

standin silent
rec timeout-banner -p "$SIN_PORT" "${RIGHT[@]}" 127.0.0.1 true
kill "$SIN_PID"; wait "$SIN_PID" 2>/dev/null

# --- host keys --------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$T/otherhost"
sed "s/^/[127.0.0.1]:$SPORT /" "$T/otherhost.pub" | cut -d' ' -f1-3 \
    > "$T/known_other"
KH=$T/known_other rec hostkey-changed "${RIGHT[@]}" -p "$SPORT" \
    127.0.0.1 true
: > "$T/known_empty"
KH=$T/known_empty rec hostkey-unknown "${RIGHT[@]}" -p "$SPORT" \
    127.0.0.1 true
rec noauth-kex -o HostKeyAlgorithms=ssh-rsa "${RIGHT[@]}" -p "$SPORT" \
    127.0.0.1 true

# --- local network ----------------------------------------------------
rec net-tempfail "${RIGHT[@]}" host.example.invalid true
echo "hosts: files" > "$T/nsswitch.conf"
(
	mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf &&
	rec net-noname "${RIGHT[@]}" host.example.invalid true
	umount /etc/nsswitch.conf
)
rec net-unreachable "${RIGHT[@]}" 10.9.9.9 true
ip route add unreachable 10.9.9.8
rec net-noroute "${RIGHT[@]}" 10.9.9.8 true
ip route add prohibit 10.9.9.7
rec net-prohibit "${RIGHT[@]}" 10.9.9.7 true

t_done >/dev/null
echo "recorded into $out"
