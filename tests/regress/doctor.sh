#!/bin/bash
# doctor.sh: safessh --doctor against a real agent with eight wrong keys,
# an IdentityFile in "Host *" and two ~/.ssh/id_* files: the report must
# count the agent's keys, name the IdentityFile line by file:line, count
# what plain ssh offers (checked against ssh -v's own "Will attempt key"
# list and a real sshd), say safessh offers one, print a fix and exit 1.
# Then the same audit of a clean setup exits 0.
# shellcheck source=tests/regress/lib.sh
source "$(dirname "$0")/lib.sh"
t_init doctor
# ssh finds ~/.ssh/config through the passwd entry: without nss_wrapper
# this test would audit the real user's files.
if [ -z "${NSS_WRAPPER_PASSWD:-}" ]; then
	skip "needs nss_wrapper (Debian: libnss-wrapper)"
	t_done
	exit
fi
t_keys
# shellcheck disable=SC2119 # no extra sshd settings
t_sshd
t_agent 8

# Two default key files that are neither right nor in the agent.
ssh-keygen -q -t ed25519 -N '' -C id1 -f "$HOME/.ssh/id_ed25519"
ssh-keygen -q -t ecdsa -N '' -C id2 -f "$HOME/.ssh/id_ecdsa"
# Line 5 of ~/.ssh/config: an IdentityFile for every host.
echo "	IdentityFile ~/.ssh/id_ecdsa" >> "$HOME/.ssh/config"
cat >> "$HOME/.ssh/config" <<CFG
Host site
	HostName 127.0.0.1
	Port $PORT
CFG
cat > "$SAFESSH_CONFIG" <<CFG
[host site]
identity = $T/keys/right
CFG
RIGHT=$T/keys/right

# ----------------------------------------------------------- the bad setup
out=$("$SAFESSH" --doctor site 2>"$T/err")
rc=$?
echo "$out" > "$T/report.bad"
eq "bad setup: exit 1" 1 "$rc"
check "bad setup: nothing on stderr" test ! -s "$T/err"
check "agent: 8 keys" grep -qE ': 8 keys \(asked the agent' <<<"$out"
eq "agent: as many as ssh-add -l lists" 8 "$(ssh-add -l | wc -l)"
check "names the IdentityFile line by file:line" \
    grep -qF "$HOME/.ssh/config:5: IdentityFile ~/.ssh/id_ecdsa" <<<"$out"
check "says it is in Host *" grep -qF 'in "Host *" (line 1)' <<<"$out"
check "lists the id_* files present" \
    grep -qE '^  ~/.ssh/id_ed25519 +present' <<<"$out"
check "ssh -G's IdentityFile for the host, with whether it exists" \
    grep -qF 'IdentityFile ~/.ssh/id_ecdsa (exists)' <<<"$out"
check "lists ssh's default order" \
    grep -qE 'ssh tries: id_rsa id_ecdsa id_ecdsa_sk id_ed25519' <<<"$out"

plain=$(sed -n "s/^  plain 'ssh site' offers \([0-9]*\) keys.*/\1/p" <<<"$out")
plaini=$(sed -n "s/^  plain 'ssh -i [^ ]* site' offers \([0-9]*\) keys.*/\1/p" \
    <<<"$out")
check "plain ssh offers more than MaxAuthTries ($plain > 6)" \
    test "${plain:-0}" -gt 6
check "plain ssh -i right offers more than MaxAuthTries ($plaini > 6)" \
    test "${plaini:-0}" -gt 6
check "says MaxAuthTries is assumed 6" \
    grep -qF 'MaxAuthTries: assumed 6 (sshd' <<<"$out"
check "says the right key is never reached" \
    grep -qE 'right is key #9: never reached' <<<"$out"
check "safessh offers 1" grep -qF "safessh offers 1 key: $RIGHT" <<<"$out"
check "fix: identity in the safessh config or IdentitiesOnly" \
    grep -qF 'IdentitiesOnly yes' <<<"$out"
check "fix: ssh-add -D" grep -qF 'ssh-add -D' <<<"$out"
check "fix: the Host * line" grep -qF 'remove line 5, or move it' <<<"$out"
check "says problems were found" grep -qE '^[0-9]+ problems? found:' <<<"$out"
check "ledger state shown" grep -qF 'state: ok' <<<"$out"

# The counts are ssh's own: ssh -v lists every key it will try (a file
# that does not exist is listed without a fingerprint and never sent).
env ssh -v site true >/dev/null 2>"$T/plain.err" </dev/null
rc=$?
eq "plain ssh: its 'Will attempt key' count matches" "$plain" \
    "$(grep -c 'Will attempt key: .* SHA256:' "$T/plain.err")"
env ssh -v -i "$RIGHT" site true >/dev/null 2>"$T/plaini.err" </dev/null
rc=$?
eq "plain ssh -i right: exit 255" 255 "$rc"
eq "plain ssh -i: its 'Will attempt key' count matches" "$plaini" \
    "$(grep -c 'Will attempt key: .* SHA256:' "$T/plaini.err")"
check "plain ssh -i right: Too many authentication failures" \
    grep -q 'Too many authentication failures' "$T/plaini.err"
before=$(t_offers)
"$SAFESSH" site true 2>"$T/safe.err" </dev/null
eq "safessh site: exit 0" 0 "$?"
eq "safessh site: one key offered" 1 $(( $(t_offers) - before ))

# Without a host: the same agent and Host * findings, and the sections.
out=$("$SAFESSH" --doctor 2>"$T/err")
rc=$?
echo "$out" > "$T/report.nohost"
eq "no host, bad setup: exit 1" 1 "$rc"
check "no host: lists [host site] with file:line" \
    grep -qF "$SAFESSH_CONFIG:1: [host site]" <<<"$out"
check "no host: agent keys" grep -qE ': 8 keys' <<<"$out"
check "no host: names the line" \
    grep -qF "$HOME/.ssh/config:5: IdentityFile" <<<"$out"

# An agent that is not there is reported, not fatal.
out=$(SSH_AUTH_SOCK=$T/nosuch "$SAFESSH" --doctor site 2>"$T/err")
check "dead agent: reported" grep -qF "$T/nosuch: not reachable" <<<"$out"
check "dead agent: still counts files" grep -qE "offers [0-9]+ key" <<<"$out"

# ---------------------------------------------------------- a clean setup
kill "$SSH_AGENT_PID"
unset SSH_AUTH_SOCK SSH_AGENT_PID
sed -i '/IdentityFile ~\/.ssh\/id_ecdsa/d' "$HOME/.ssh/config"
out=$("$SAFESSH" --doctor site 2>"$T/err")
rc=$?
echo "$out" > "$T/report.clean"
eq "clean setup: exit 0" 0 "$rc"
check "clean: no problems" grep -qF 'No problems found.' <<<"$out"
check "clean: no agent" grep -qF 'SSH_AUTH_SOCK is not set' <<<"$out"
check "clean: no IdentityFile lines" grep -qF '  none (ssh uses its default' \
    <<<"$out"
out=$("$SAFESSH" --doctor 2>"$T/err")
eq "clean setup, no host: exit 0" 0 "$?"

# An IdentityFile in Host * with IdentitiesOnly yes is a deliberate
# default key, not a problem.
sed -i '4a\	IdentitiesOnly yes\n	IdentityFile ~/.ssh/id_ecdsa' \
    "$HOME/.ssh/config"
out=$("$SAFESSH" --doctor site 2>"$T/err")
rc=$?
eq "Host * IdentityFile with IdentitiesOnly: exit 0" 0 "$rc"
check "Host * IdentityFile with IdentitiesOnly: named, line 6" \
    grep -qF "$HOME/.ssh/config:6: IdentityFile ~/.ssh/id_ecdsa" <<<"$out"
check "Host * IdentityFile with IdentitiesOnly: explained" \
    grep -qF 'with IdentitiesOnly yes: plain ssh offers the listed' <<<"$out"
sed -i '5,6d' "$HOME/.ssh/config"

# A host for which safessh has no key at all is a problem, with a fix.
mkdir "$T/away"
mv "$HOME"/.ssh/id_* "$T/away/"
out=$("$SAFESSH" --doctor nokey.invalid 2>"$T/err")
rc=$?
echo "$out" > "$T/report.nokey"
eq "no key at all: exit 1" 1 "$rc"
check "no key: says so" grep -qF 'safessh has no key to offer' <<<"$out"
check "no key: the fix is a [host] section with identity =" \
    grep -qzF "[host nokey.invalid]
         identity = ~/.ssh/site.key" <<<"$out"
mv "$T/away"/* "$HOME/.ssh/"

# A certificate beside a key is one more offer, as ssh auto-loads it.
ssh-keygen -q -t ed25519 -N '' -f "$T/ca"
ssh-keygen -q -s "$T/ca" -I test -n "$(id -un)" -V +1h \
    "$HOME/.ssh/id_ed25519.pub"
out=$("$SAFESSH" --doctor site 2>"$T/err")
want="plain 'ssh site' offers 3 keys: 0 from the agent, 2 key files, "
want+="1 certificate"
check "certificate: counted" grep -qF "$want" <<<"$out"
check "certificate: listed after its key" \
    grep -qE '^ +3\. certificate beside the key +~/.ssh/id_ed25519-cert.pub$' \
    <<<"$out"
check "certificate: shown with the default files" \
    grep -qF 'certificate -cert.pub beside it' <<<"$out"
env ssh -v site true >/dev/null 2>"$T/cert.err" </dev/null
eq "certificate: ssh -v's 'Will attempt key' count matches" 3 \
    "$(grep -c 'Will attempt key: .* SHA256:' "$T/cert.err")"
rm -f "$HOME/.ssh/id_ed25519-cert.pub"

# IdentityFile tokens are expanded as ssh expands them (%h, %r, %d...).
cat >> "$HOME/.ssh/config" <<CFG
Host tok
	HostName 127.0.0.1
	IdentityFile %d/.ssh/%h-%r.key
CFG
cp "$RIGHT" "$HOME/.ssh/127.0.0.1-$(id -un).key"
cp "$RIGHT.pub" "$HOME/.ssh/127.0.0.1-$(id -un).key.pub"
out=$("$SAFESSH" --doctor tok 2>"$T/err")
check "tokens: %d/.ssh/%h-%r.key found" \
    grep -qE "^ +1\. file +~/.ssh/127\.0\.0\.1-$(id -un)\.key\$" <<<"$out"
rm -f "$HOME/.ssh/127.0.0.1-"*


LT=$TOP/$O/tests/regress/ledgertool
if [ -x "$LT" ]; then
	"$LT" cooldown 127.0.0.1 $(( $(date +%s) + 600 )) "test ban"
	out=$("$SAFESSH" --doctor site 2>"$T/err")
	rc=$?
	eq "blocked: exit 1" 1 "$rc"
	check "blocked: state shown" \
	    grep -qE 'state: blocked: test ban; next probe at' <<<"$out"
	check "blocked: fix names --check" \
	    grep -qF 'safessh --check site' <<<"$out"
	"$SAFESSH" --forget site 2>/dev/null
	"$SAFESSH" --doctor site >/dev/null 2>&1
	eq "after --forget: exit 0" 0 "$?"
else
	skip "cooldown: $LT not built"
fi
two_hosts() {
	"$SAFESSH" --doctor a b >/dev/null 2>&1
}
rc=0
two_hosts || rc=$?
eq "--doctor takes one host at most (exit 255)" 255 "$rc"

t_done
