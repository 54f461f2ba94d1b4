#!/bin/bash
# jump.sh: every hop through safessh (G1).  One sshd serves as jump host
# and destination under different aliases and servers (server =); the
# agent holds 6 wrong keys and ~/.ssh has 2 wrong id_* files.  A jump
# (-J, two hops, ProxyJump in ssh_config, a hop whose key comes from
# ssh_config) succeeds with exactly one key per connection (sshd's log)
# and one ledger record each against the right server; a wrong hop key
# spends the hop's budget, is then refused locally, and leaves the
# destination's untouched; plain ssh, the control, offers every key.
. "$(dirname "$0")/lib.sh"
t_init jump
t_keys
t_sshd
t_agent 6
cp "$T/keys/wrong7" "$HOME/.ssh/id_ed25519"
cp "$T/keys/wrong8" "$HOME/.ssh/id_ecdsa"
chmod 600 "$HOME/.ssh/id_ed25519" "$HOME/.ssh/id_ecdsa"
LT=$TOP/$O/tests/regress/ledgertool

# ssh_config: the aliases for plain ssh; hop3's key only here; pj jumps.
{
	echo "Host hop hop2 hop3 hop4 badhop dest pj pc"
	echo "	HostName 127.0.0.1"
	echo "	Port $PORT"
	echo "Host hop3"
	echo "	\"IdentityFile\" $T/keys/right"
	echo "Host pj"
	echo "	ProxyJump hop"
	echo "Host pc"
	echo "	ProxyCommand ssh -W %h:%p hop2"
	echo "Host hop4"
	echo "	ProxyCommand $SAFESSH --proxy %h %p"
	cat "$HOME/.ssh/config"
} > "$HOME/.ssh/config.new"
mv "$HOME/.ssh/config.new" "$HOME/.ssh/config"

sec() {	# sec NAME SERVER [KEY]
	echo "[host $1]"
	echo "hostname = 127.0.0.1"
	echo "port = $PORT"
	[ -z "${3:-}" ] || echo "identity = $3"
	echo "server = $2"
}
{
	# A hop chain on a loaded machine (or under ASan) is slow to set up:
	# the banner wait covers every hop before it.
	echo "[defaults]"
	echo "connect_timeout = 120s"
	sec hop hopsrv "$T/keys/right"
	sec hop2 hop2srv "$T/keys/right"
	sec hop3 hop3srv
	sec dest destsrv "$T/keys/right"
	sec pj destsrv "$T/keys/right"
	sec pc destsrv "$T/keys/right"
	sec hop4 hop4srv "$T/keys/right"
	sec badhop badsrv "$T/keys/wrong1"
	echo "policy = strict"
	echo "on_risk = refuse"
	echo "[policy strict]"
	echo "max_failures = 1"
	echo "window = 1h"
} > "$SAFESSH_CONFIG"

# records SERVER: attempts in the server's ledger; outcome counts too.
records() { "$LT" dump "$1" 2>/dev/null | grep -c '^[0-9]' || true; }
outcomes() { "$LT" dump "$1" 2>/dev/null | grep '^[0-9]' |
    grep -c "^[0-9]* [0-9]* [0-9]* $2 " || true; }

# run DESC CONNS ARGS...: safessh ARGS true succeeds; CONNS connections,
# each with exactly one key, accepted.
run() {
	local desc=$1 want=$2 c0 o0 c1 o1 out
	shift 2
	c0=$(t_conns)
	o0=$(t_offers)
	if out=$("$SAFESSH" "$@" true 2>&1); then
		ok "$desc: succeeds"
	else
		fail "$desc: failed: $out"
	fi
	c1=$(t_conns)
	o1=$(t_offers)
	eq "$desc: connections" "$want" "$((c1 - c0))"
	eq "$desc: one key per connection" "$want" "$((o1 - o0))"
}

# Control: plain ssh through a jump offers every key and fails.
o0=$(t_offers)
ssh -J hop dest true >/dev/null 2>&1
o1=$(t_offers)
check "plain ssh -J: offers many keys ($((o1 - o0)))" [ $((o1 - o0)) -gt 2 ]

run "-J hop dest" 2 -J hop dest
eq "-J: one record against the hop" 1 "$(records hopsrv)"
eq "-J: one record against the destination" 1 "$(records destsrv)"
run "-J hop2,hop dest (two hops)" 3 -J hop2,hop dest
eq "two hops: hop2's record" 1 "$(records hop2srv)"
eq "two hops: hop's records" 2 "$(records hopsrv)"
eq "two hops: destination's records" 2 "$(records destsrv)"
run "ProxyJump in ssh_config" 2 pj
eq "ProxyJump: hop's records" 3 "$(records hopsrv)"
eq "ProxyJump: destination's records" 3 "$(records destsrv)"
run "hop whose key is in ssh_config (quoted IdentityFile)" 2 -J hop3 dest
eq "hop3: one record" 1 "$(records hop3srv)"

run "the user's ProxyCommand ssh -W" 2 pc
eq "ProxyCommand ssh -W: the hop's record" 2 "$(records hop2srv)"
eq "ProxyCommand ssh -W: the destination's record" 5 "$(records destsrv)"
# A hop whose own ssh_config runs safessh --proxy: the proxy is the
# hop's connection (not counted twice), the hop is not the destination's.
run "a hop behind safessh --proxy" 2 -J hop4 dest
eq "hop behind --proxy: one record against the hop" 1 \
    "$(records hop4srv)"
eq "hop behind --proxy: the proxy counted nothing twice" 0 \
    "$(records 127.0.0.1)"
eq "hop behind --proxy: the destination's record" 6 "$(records destsrv)"

# A wrong hop key: the hop's failure is the hop's, not the destination's.
c0=$(t_conns)
"$SAFESSH" -J badhop dest true >/dev/null 2>&1
rc=$?
c1=$(t_conns)
check "wrong hop key: fails (exit $rc)" [ "$rc" -ne 0 ]
eq "wrong hop key: one connection (the hop's)" 1 "$((c1 - c0))"
eq "wrong hop key: the hop's failure recorded" 1 \
    "$(outcomes badsrv authfail)"
eq "wrong hop key: no failure against the destination" 0 \
    "$(outcomes destsrv authfail)"
out=$("$SAFESSH" -J badhop dest true 2>&1)
rc=$?
c2=$(t_conns)
eq "wrong hop key again: no connection" 0 "$((c2 - c1))"
check "wrong hop key again: refused locally ($out)" \
    grep -q "badhop (server badsrv): refused" <<<"$out"
eq "destination: still no failure" 0 "$(outcomes destsrv authfail)"
eq "destination: its unreached attempts cost nothing" 2 \
    "$(outcomes destsrv net)"
run "destination alone afterwards" 1 dest

t_done
