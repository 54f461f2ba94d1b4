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
# ssh-copy-id needs an account that logs in with a password: a real
# one (useradd), so only as root; removed at exit.
CPU=
extra=()
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null &&
    command -v ssh-copy-id >/dev/null && command -v sshpass >/dev/null; then
	CPU=sscpid$$
	CPW=pw-$$-$RANDOM
	# nss_wrapper (lib.sh) hides /etc/passwd from these tools.
	env -u LD_PRELOAD useradd -m -s /bin/sh "$CPU" &&
	    env -u LD_PRELOAD usermod -p "$(openssl passwd -6 "$CPW")" "$CPU" ||
	    CPU=
	trap 'env -u LD_PRELOAD userdel -r "$CPU" 2>/dev/null; t_cleanup' EXIT
	extra=("Match User $CPU" "PasswordAuthentication yes"
	    "AuthorizedKeysFile .ssh/authorized_keys")
fi
# The password account is in the real passwd and shadow only: that sshd
# runs without lib.sh's nss_wrapper.
[ -n "$CPU" ] && T_SSHD_REAL=1
t_sshd "TrustedUserCAKeys $K/ca.pub" "${extra[@]}"
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

# --doctor: the passphrase, whether the agent holds the key, the line.
ssh-keygen -q -t ed25519 -N 'other' -C pp2 -f "$K/pp2"
{
	cat "$SAFESSH_CONFIG"
	host pp2 "identity = $K/pp2" "agent = yes"
} > "$T/c" && cat "$T/c" > "$SAFESSH_CONFIG"
out=$("$SAFESSH" --doctor pp 2>&1)
check "doctor, agent = no: sees the passphrase and the agent's copy" \
    grep -qF "$K/pp is protected by a passphrase; the agent holds it" \
    <<<"$out"
check "doctor, agent = no: a problem, with the line to add" \
    grep -qzF "has a passphrase, and safessh asks no agent (agent = no)" \
    <<<"$out"
check "doctor, agent = no: the fix is agent = yes for the host" \
    grep -qzF "[host pp]
         agent = yes" <<<"$out"
check "doctor: no key count for a name plain ssh cannot resolve" \
    grep -qF "plain 'ssh pp' cannot resolve \"pp\": it fails before it connects and offers no key" \
    <<<"$out"
check "doctor: ... and no claim that plain ssh offers keys to it" \
    bash -c '! grep -q "plain .ssh pp. offers" <<<"$0"' "$out"
# A name that resolves: plain ssh offers the agent's 7 keys; the fix
# block carries what safessh forces (HostName, Port, User).
{
	cat "$SAFESSH_CONFIG"
	host localhost "identity = $K/pp" "user = $(id -un)"
} > "$T/c" && cat "$T/c" > "$SAFESSH_CONFIG"
out=$("$SAFESSH" --doctor localhost 2>&1)
check "doctor: the ~/.ssh/config block has HostName, Port and User" \
    grep -qzF "Host localhost
             HostName 127.0.0.1
             Port $PORT
             User $(id -un)
             IdentityFile $K/pp
             IdentitiesOnly yes" <<<"$out"
out=$("$SAFESSH" --doctor ppa 2>&1)
check "doctor, agent = yes: names where it is set" \
    grep -qF "agent = yes ($SAFESSH_CONFIG:" <<<"$out"
check "doctor, agent = yes: the agent signs" \
    grep -qF "safessh offers 1 key: $K/pp (the agent signs)" <<<"$out"
check "doctor, agent = yes: no passphrase problem" \
    bash -c '! grep -q "has a passphrase, and\|does not hold" <<<"$0"' \
    "$out"
out=$("$SAFESSH" --doctor ppub 2>&1)
check "doctor: only the .pub on disk, the agent holds it" \
    grep -qF "only $K/ppub.pub is on disk: the private half must be in the agent, which holds it" \
    <<<"$out"
out=$("$SAFESSH" --doctor pp2 2>&1)
check "doctor: agent = yes but the agent lacks the key: ssh-add" \
    grep -qF "ssh-add $K/pp2" <<<"$out"
check "doctor: says the agent does not hold it" \
    grep -qF "protected by a passphrase; the agent does not hold it" \
    <<<"$out"

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

run ckopt -i "$K/ck" -o "CertificateFile=$K/ck-cert.pub" bare
eq "-o CertificateFile on the command line: exit 0" 0 "$rc"
eq "-o CertificateFile: one key offered" 1 "$n"
eq "-o CertificateFile: the certificate again" $((c + 2)) \
    "$(grep -c 'ED25519-CERT' "$SSHD_LOG")"

c0=$(t_conns)
run ckbad -i "$K/wrong1" -o "CertificateFile=$K/ck-cert.pub" bare
eq "a certificate of another key: refused (255)" 255 "$rc"
eq "a certificate of another key: no connection" "$c0" "$(t_conns)"
check "a certificate of another key: says so" \
    grep -qF "is not a certificate of the key $K/wrong1 (-i)" "$T/ckbad.err"

# The default: a -cert.pub beside the key is not offered.
run ckplain ckplain
eq "no certificate =: the plain key only (not in authorized_keys: 255)" \
    255 "$rc"
eq "no certificate =: one key offered" 1 "$n"
check "no certificate =: that key was the plain one" \
    bash -c 'tail -3 "$0" | grep -q "Failed publickey .*ED25519 SHA256"' \
    "$SSHD_LOG"

out=$("$SAFESSH" --doctor ckauto 2>&1)
check "doctor: certificate = auto is named, offered alone" \
    grep -qF "safessh offers 1 key: the certificate $K/ck-cert.pub" <<<"$out"
out=$("$SAFESSH" --doctor ckplain 2>&1)
check "doctor: a certificate beside the key, not offered, and how to" \
    grep -qF "certificate = auto offers the certificate instead" <<<"$out"

# Signed by a CA the server does not trust, while the plain key would be
# let in: one offer (the certificate) and a failure, not the plain key.
cat "$K/bk.pub" >> "$T/sshd/authorized_keys"
run bkauto bkauto
eq "untrusted certificate: exit 255" 255 "$rc"
eq "untrusted certificate: one key offered, not the plain key after" 1 "$n"
eq "untrusted certificate: no login" 0 "$a"
check "untrusted certificate: the key line names the certificate" \
    grep -qF "certificate $K/bk-cert.pub of $K/bk (identity = at" \
    "$T/bkauto.err"
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

# ------------------------------------------- ssh-copy-id through ~/bin/ssh
if [ -z "$CPU" ]; then
	skip "ssh-copy-id: skipped: needs root (a password account)"
	t_done
	exit
fi
CPH=$(env -u LD_PRELOAD getent passwd "$CPU" | cut -d: -f6)
mkdir -p "$HOME/bin"
ln -s "$SAFESSH" "$HOME/bin/ssh"
ssh-keygen -q -t ed25519 -N '' -C copied -f "$HOME/.ssh/id_ed25519"
{
	cat "$SAFESSH_CONFIG"
	# The default policy: ssh-copy-id must fit in its budget.
	printf '[host cp]\nhostname = 127.0.0.1\nport = %s\n' "$PORT"
	# A budget of its own (the checks above failed on purpose).
	printf 'server = copyid\nuser = %s\n' "$CPU"
	printf 'password = yes\npolicy = default\n'
} > "$T/c" && cat "$T/c" > "$SAFESSH_CONFIG"
kill "$SSH_AGENT_PID"
unset SSH_AUTH_SOCK SSH_AGENT_PID
cpid() {
	local c
	c=$(t_conns)
	PATH=$HOME/bin:$PATH sshpass -p "$CPW" ssh-copy-id -o BatchMode=no \
	    -i "$HOME/.ssh/id_ed25519" cp >"$T/cpid$1.out" 2>&1 </dev/null
	rc=$?
	conns=$(( $(t_conns) - c ))
}
cpid 1
eq "ssh-copy-id through ~/bin/ssh: exit 0" 0 "$rc"
check "ssh-copy-id: says it added 1 key" \
    grep -qF 'Number of key(s) added: 1' "$T/cpid1.out"
eq "ssh-copy-id: the key is in authorized_keys, once" 1 \
    "$(grep -cF "$(cut -d' ' -f2 "$HOME/.ssh/id_ed25519.pub")" \
    "$CPH/.ssh/authorized_keys" 2>/dev/null)"
eq "ssh-copy-id: 3 connections (version probe, key check, install)" 3 \
    "$conns"
fails=$("$SAFESSH" --status cp | awk 'NR == 2 { print $4 }')
eq "ssh-copy-id: one failed login on the books (the key check)" 1 "$fails"
cpid 2
eq "ssh-copy-id again: exit 0" 0 "$rc"
check "ssh-copy-id again: says the key is already there" \
    grep -qF 'All keys were skipped because they already exist' \
    "$T/cpid2.out"
eq "ssh-copy-id again: still once in authorized_keys" 1 \
    "$(grep -cF "$(cut -d' ' -f2 "$HOME/.ssh/id_ed25519.pub")" \
    "$CPH/.ssh/authorized_keys")"
check "ssh-copy-id again: the check logged in with the key (truthful)" \
    bash -c 'tail -20 "$0" | grep -q "Accepted publickey for $1"' \
    "$SSHD_LOG" "$CPU"
fails=$("$SAFESSH" --status cp | awk 'NR == 2 { print $4 }')
eq "ssh-copy-id again: no new failure" 1 "$fails"
# The negative: without password = yes the install cannot log in (the
# key copied above is taken out again, so no key can).
: > "$CPH/.ssh/authorized_keys"
sed -i '$d' "$SAFESSH_CONFIG"
sed -i '$d' "$SAFESSH_CONFIG"
printf 'policy = lax\n' >> "$SAFESSH_CONFIG"
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other"
c=$(grep -c "Accepted password for $CPU" "$SSHD_LOG")
PATH=$HOME/bin:$PATH sshpass -p "$CPW" ssh-copy-id -o BatchMode=no \
    -i "$T/other" cp >"$T/cpid3.out" 2>&1 </dev/null
check "without password = yes: ssh-copy-id fails" test $? -ne 0
eq "without password = yes: no password login" "$c" \
    "$(grep -c "Accepted password for $CPU" "$SSHD_LOG")"
check "without password = yes: the other key did not land" \
    bash -c '! grep -qF "$(cut -d" " -f2 "$0.pub")" "$1"' "$T/other" \
    "$CPH/.ssh/authorized_keys"

t_done
