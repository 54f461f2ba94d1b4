#!/bin/bash
# sshconf.sh: ssh_config read the way ssh reads it (G1).  A table of
# ssh_config lines, each of which makes plain ssh offer a key it would
# not offer without it, and none of which may add a key through safessh
# (its one key, identity =, and nothing else: sshd's log as witness).
# Then --doctor names those lines, -o CertificateFile is refused, and a
# filtered copy does not outlive its source.
. "$(dirname "$0")/lib.sh"
t_init sshconf
t_keys
t_sshd
ME=$(id -un)
BASE=$(cat "$HOME/.ssh/config")
W=$T/keys/wrong1
# A certificate for wrong2 (signed by a CA the server does not trust).
ssh-keygen -q -t ed25519 -N '' -f "$T/keys/ca"
ssh-keygen -q -s "$T/keys/ca" -I t -n "$ME" "$T/keys/wrong2.pub"
mkdir -p "$HOME/.ssh/inc dir"
printf 'IdentityFile %s\n' "$W" > "$HOME/.ssh/inc1"
printf 'IdentityFile %s\n' "$W" > "$HOME/.ssh/inc2"
printf 'IdentityFile %s\n' "$W" > "$HOME/.ssh/inc dir/a.conf"
printf 'Host t\n\tIdentityFile %s\n' "$W" > "$HOME/.ssh/inc4"
{
	echo "[host t]"
	echo "hostname = 127.0.0.1"
	echo "port = $PORT"
	echo "identity = $T/keys/right"
	echo "server = sv"
} > "$SAFESSH_CONFIG"

# conf LINES: ~/.ssh/config is Host t (127.0.0.1, $PORT), LINES, then
# the usual Host * section.
conf() {
	{
		printf 'Host t\n\tHostName 127.0.0.1\n\tPort %s\n' "$PORT"
		printf '%b\n' "$1"
		printf '%s\n' "$BASE"
	} > "$HOME/.ssh/config"
}

# offers CMD...: keys the server saw offered by CMD (its exit ignored).
offers() {
	local o0
	o0=$(t_offers)
	"$@" >/dev/null 2>&1 </dev/null
	echo $(($(t_offers) - o0))
}

conf ""
# The base: no key for plain ssh without an agent or id_* files.
base=$(offers ssh t true)
# With the agent holding wrong2, a CertificateFile for it is one more.
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q "$T/keys/wrong2" 2>/dev/null
cbase=$(offers ssh t true)

# row DESC LINES [cert]: plain ssh offers more with LINES; safessh one.
row() {
	local desc=$1 b=$base p s fails
	[ -z "${3:-}" ] || b=$cbase
	conf "$2"
	p=$(offers ssh t true)
	if [ "$p" -gt "$b" ]; then
		ok "$desc: plain ssh offers a key more ($p, not $b)"
	else
		fail "$desc: plain ssh offers $p keys (without it $b):" \
		    "the row tests nothing"
	fi
	fails=$(grep -c 'Failed publickey' "$SSHD_LOG")
	s=$(offers "$SAFESSH" t true)
	eq "$desc: safessh offers one key" 1 "$s"
	eq "$desc: safessh offered no wrong key" "$fails" \
	    "$(grep -c 'Failed publickey' "$SSHD_LOG")"
}

row "IdentityFile" "\tIdentityFile $W"
row "quoted keyword" "\t\"IdentityFile\" $W"
row "obsolete alias IdentityFile2" "\tIdentityFile2 $W"
row "upper case and '='" "\tIDENTITYFILE=$W"
row "'=' with blanks" "  identityfile = \"$W\""
row "tabs" "\tIdentityFile\t\t$W"
row "keyword quoted in part" "\tIdentity\"File\" $W"
row "Include relative to ~/.ssh" "\tInclude inc1"
row "Include ~/" "\tInclude ~/.ssh/inc2"
row "Include ~user/" "\tInclude ~$ME/.ssh/inc2"
row "Include quoted glob with a blank" "\tInclude \"~/.ssh/inc dir/*.conf\""
row "Include before any Host" "Include inc4"
row "Match host" "Match host t\n\tIdentityFile $W"
row "Match all, = and case" "MATCH all\n\tidentityFile=$W"
row "quoted CertificateFile" "\t\"CertificateFile\" $T/keys/wrong2-cert.pub" \
    cert

# --doctor names the lines, with ssh's reading of them.
conf "\t\"IdentityFile\" $W\n\tIdentityFile2 $W"
out=$("$SAFESSH" --doctor t 2>&1)
check "--doctor: quoted keyword named" \
    grep -q "config:4: IdentityFile $W" <<<"$out"
check "--doctor: IdentityFile2 named" \
    grep -q "config:5: IdentityFile $W" <<<"$out"
eq "--doctor: both lines commented out for ssh" 2 \
    "$(grep -c 'safessh comments it out' <<<"$out")"

# -o CertificateFile on the command line is a key too: it is then the
# one key offered, as with certificate =, and must be a certificate of
# the key: one of wrong2 for "right" is refused before connecting.
conf ""
s=$(offers "$SAFESSH" -o "CertificateFile=$T/keys/wrong2-cert.pub" t true)
eq "-o CertificateFile of another key: nothing offered" 0 "$s"
out=$("$SAFESSH" -o "CertificateFile=$T/keys/wrong2-cert.pub" t true 2>&1)
check "-o CertificateFile of another key: says why" \
    grep -q "is not a certificate of the key" <<<"$out"

# A filtered copy does not outlive its source.  The system files hold a
# key line (so the copy is made); the user's config names u's Port;
# once the user's config is gone, the next call must not use that Port.
# /etc/ssh/ssh_config.d is replaced in a mount namespace of this test.
kill "$SSH_AGENT_PID"
unset SSH_AGENT_PID SSH_AUTH_SOCK
{
	echo "[host u]"
	echo "hostname = 127.0.0.1"
	echo "identity = $T/keys/right"
	echo "server = sv"
} >> "$SAFESSH_CONFIG"
mkdir -p "$T/sysd"
printf 'Host nothing-here\n\tIdentityFile %s\n' "$W" > "$T/sysd/k.conf"
printf 'Host u\n\tPort %s\n%s\n' "$PORT" "$BASE" > "$HOME/.ssh/config"
stale() {
	mount --bind "$T/sysd" /etc/ssh/ssh_config.d || exit 3
	"$SAFESSH" u true || exit 1
	rm "$HOME/.ssh/config"
	"$SAFESSH" -o ConnectTimeout=2 -o UserKnownHostsFile="$T/known_hosts" \
	    -o BatchMode=yes u true && exit 2
	exit 0
}
if [ "$(id -u)" != 0 ] || ! grep -q ssh_config.d /etc/ssh/ssh_config ||
    ! unshare -m true 2>/dev/null; then
	skip "deleted config: needs root (a mount namespace)"
else
	c0=$(t_conns)
	export -f stale
	export T PORT BASE SAFESSH
	unshare -m --propagation private bash -c stale >/dev/null 2>&1
	rc=$?
	eq "deleted config: the call before went, the one after not" \
	    0 "$rc"
	eq "deleted config: one connection in all" 1 "$(($(t_conns) - c0))"
fi

t_done
