#!/bin/bash
# keys.sh: the one key in its real forms, against one real sshd
# (LogLevel VERBOSE: its log is the witness of every key offered).
#
# - agent = yes: a passphrase-protected key held by an agent that also
#   holds six other keys -> success, exactly one key offered; the same
#   key given as its .pub alone (private half only in the agent) too;
#   agent = no (the default): the same call fails in BatchMode with one
#   key offered, and the ledger counts the failure.
# - certificate =: a certificate signed by a CA the sshd trusts
#   (TrustedUserCAKeys) is the one key (auto, and as a path, and signed
#   by the agent); a certificate from a CA it does not trust fails with
#   one key offered, never followed by the plain key that would pass;
#   without certificate = the -cert.pub beside the key stays unoffered.
# - a failed login names the key offered and where it came from.
# shellcheck source=tests/regress/lib.sh
source "$(dirname "$0")/lib.sh"
t_init keys
t_keys
K=$T/keys
ssh-keygen -q -t ed25519 -N 'sekrit' -C pp -f "$K/pp"
ssh-keygen -q -t ed25519 -N '' -C ca -f "$K/ca"
ssh-keygen -q -t ed25519 -N '' -C badca -f "$K/badca"
ssh-keygen -q -t ed25519 -N '' -C ck -f "$K/ck"
ssh-keygen -q -s "$K/ca" -I keys-test -n "$(id -un)" "$K/ck.pub"
cp "$K/ck" "$K/bk"
cp "$K/ck.pub" "$K/bk.pub"
ssh-keygen -q -s "$K/badca" -I keys-bad -n "$(id -un)" "$K/bk.pub"
t_sshd "TrustedUserCAKeys $K/ca.pub"
cat "$K/pp.pub" >> "$T/sshd/authorized_keys"

# Every key the server was asked about: a rejected one ("Failed"), or
# one it would take ("Postponed": ssh asks before it signs).
offers() {
	grep -cE '(Failed|Postponed) publickey for' "$SSHD_LOG"
}

printf '#!/bin/sh\necho sekrit\n' > "$T/askpass"
chmod 700 "$T/askpass"
t_agent 6
SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force ssh-add -q "$K/pp" \
    </dev/null 2>/dev/null
eq "agent holds 7 keys (6 others and pp)" 7 "$(ssh-add -l | wc -l)"

host() {
	printf '[host %s]\nhostname = 127.0.0.1\nport = %s\n' "$1" "$PORT"
	shift
	printf '%s\n' "$@"
}
{
	# Failures here are the point: a budget that never gets in the way.
	printf '[defaults]\npolicy = lax\n\n[policy lax]\n'
	printf 'max_failures = 1000\nwindow = 1m\n\n'
	host bare
	host pp "identity = $K/pp"
	host ppa "identity = $K/pp" "agent = yes"
	host ppub "identity = $K/ppub" "agent = yes"
	host ckauto "identity = $K/ck" "certificate = auto"
	host ckpath "identity = $K/ck" "certificate = $K/ck-cert.pub"
	host ckplain "identity = $K/ck"
	host bkauto "identity = $K/bk" "certificate = auto"
} > "$SAFESSH_CONFIG"

ends() {
	grep -cE '^(Connection closed by|Disconnected from)' "$SSHD_LOG"
}

logins() {
	grep -c 'Accepted publickey for' "$SSHD_LOG"
}

# run NAME ARGS...: safessh ARGS true; sets rc, n (keys offered), a (logins)
run() {
	local name=$1 b c
	shift
	b=$(offers)
	c=$(logins)
	e=$(ends)
	"$SAFESSH" "${SSHOPTS[@]}" "$@" true </dev/null >/dev/null \
	    2>"$T/$name.err"
	rc=$?
	# sshd may log the end a moment after ssh has gone.
	for _ in $(seq 40); do
		[ "$(ends)" -gt "$e" ] && break
		sleep 0.05
	done
	n=$(( $(offers) - b ))
	a=$(( $(logins) - c ))
}

# ------------------------------------------------------------ agent = yes
run ppa ppa
eq "agent = yes, pp key in an agent of 7: exit 0" 0 "$rc"
eq "agent = yes: exactly one key offered (server log)" 1 "$n"
check "agent = yes: the one key was pp" grep -qF "$(ssh-keygen -lf \
    "$K/pp.pub" | cut -d' ' -f2)" <(grep 'Accepted publickey' "$SSHD_LOG")
check "agent = yes: no IdentityAgent=none in the argv" \
    bash -c '! "$0" --dry-run ppa true | grep -q IdentityAgent' "$SAFESSH"

# Only the public half on disk: the agent holds the private one.
cp "$K/pp.pub" "$K/ppub.pub"
run ppub ppub
eq "agent = yes, only KEY.pub on disk: exit 0" 0 "$rc"
eq "agent = yes, only KEY.pub: one key offered" 1 "$n"

# ------------------------------------------------------ agent = no (default)
"$SAFESSH" --forget pp 2>/dev/null
run pp pp
eq "agent = no: the passphrase key fails in BatchMode (exit 255)" 255 "$rc"
eq "agent = no: one key offered" 1 "$n"
eq "agent = no: no login" 0 "$a"
check "agent = no: IdentityAgent=none still forced" \
    bash -c '"$0" --dry-run pp true | grep -q IdentityAgent=none' "$SAFESSH"
fails=$("$SAFESSH" --status pp | awk 'NR == 2 { print $4 }')
eq "agent = no: the ledger counts the failed login" 1 "$fails"
check "a failed login names the key and its source" \
    grep -qF "safessh: pp: the key offered was $K/pp (identity = at $SAFESSH_CONFIG:" \
    "$T/pp.err"
check "the key line comes once" \
    test "$(grep -c 'the key offered was' "$T/pp.err")" -eq 1
run ppi -i "$K/wrong1" bare
check "a failed login with -i says -i" \
    grep -qF "the key offered was $K/wrong1 (-i)" "$T/ppi.err"
run ppok ppa
check "a successful login adds no key line" \
    test "$(grep -c 'the key offered was' "$T/ppok.err")" -eq 0

# ----------------------------------------------------------- certificates
run ckauto ckauto
eq "certificate = auto: exit 0" 0 "$rc"
eq "certificate = auto: one key offered" 1 "$n"
check "certificate = auto: the server took the certificate" \
    grep -q 'Accepted publickey .*ED25519-CERT .*ID keys-test' "$SSHD_LOG"
c=$(grep -c 'ED25519-CERT' "$SSHD_LOG")
run ckpath ckpath
eq "certificate = PATH: exit 0" 0 "$rc"
eq "certificate = PATH: one key offered" 1 "$n"
eq "certificate = PATH: the certificate again" $((c + 1)) \
    "$(grep -c 'ED25519-CERT' "$SSHD_LOG")"

# The default: a -cert.pub beside the key is not offered.
run ckplain ckplain
eq "no certificate =: the plain key only (not in authorized_keys: 255)" \
    255 "$rc"
eq "no certificate =: one key offered" 1 "$n"
check "no certificate =: that key was the plain one" \
    bash -c 'tail -3 "$0" | grep -q "Failed publickey .*ED25519 SHA256"' \
    "$SSHD_LOG"

# Signed by a CA the server does not trust, while the plain key would be
# let in: one offer (the certificate) and a failure, not the plain key.
cat "$K/bk.pub" >> "$T/sshd/authorized_keys"
run bkauto bkauto
eq "untrusted certificate: exit 255" 255 "$rc"
eq "untrusted certificate: one key offered, not the plain key after" 1 "$n"
eq "untrusted certificate: no login" 0 "$a"
check "untrusted certificate: the key line names the certificate" \
    grep -qF "certificate $K/bk-cert.pub" "$T/bkauto.err"
check "plain ssh -i bk gets in (with the plain key; safessh did not)" \
    env ssh "${SSHOPTS[@]}" -o IdentityAgent=none -o IdentitiesOnly=yes \
    -i "$K/bk" -p "$PORT" 127.0.0.1 true

# Agent and certificate together: the agent holds ck and its certificate.
ssh-add -q "$K/ck" 2>/dev/null
mv "$K/ck" "$K/ck.away"
{
	cat "$SAFESSH_CONFIG"
	host ckagent "identity = $K/ck" "certificate = auto" "agent = yes"
} > "$T/c" && cat "$T/c" > "$SAFESSH_CONFIG"
run ckagent ckagent
eq "certificate and agent (private key only in the agent): exit 0" 0 "$rc"
eq "certificate and agent: one key offered" 1 "$n"
mv "$K/ck.away" "$K/ck"

t_done
