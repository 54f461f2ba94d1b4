#!/bin/bash
# ansible.sh: Ansible all the way through safessh, with Debian's
# ansible-core against a real sshd.
#
# The ansible.cfg recipe of README.md and safessh(1): ssh_executable is
# safessh, and sftp and scp get "-S safessh" (sftp_extra_args,
# scp_extra_args), so that file transfers do not run the real ssh
# behind safessh's back.  An inventory of 20 aliases of one server
# ([host a??] in safessh's config), forks = 10, a playbook with ping,
# copy, template and command, and an agent holding 6 wrong keys:
#
# - the play succeeds on every host, with no refusal from safessh;
# - every connection the server saw offered exactly one key, the right
#   one (the server's log), so no agent key leaked through sftp;
# - the ledger holds one attempt for every connection, each settled ok;
# - the transfer methods scp and piped work too (two hosts each);
# - the negative case: sftp without -S, with no master to ride on, is a
#   connection that safessh never sees (offers the agent's keys, is not
#   in the ledger).
#
# Needs ansible-playbook (Debian: ansible-core); skipped without it.
. "$(dirname "$0")/lib.sh"
t_init ansible

if ! command -v ansible-playbook >/dev/null; then
	skip "ansible-playbook not installed (apt-get install ansible-core)"
	t_done
	exit
fi

t_keys
t_sshd
# A lean account (/bin/sh as login shell, home under $T) when nss_wrapper
# is there: the remote side then costs what Ansible's python costs.
t_sshd_lean
if [ -n "$LEANPORT" ]; then
	PORT=$LEANPORT
	SSHD_LOG=$T/sshd/log.lean
fi
t_agent 6

A=$T/ansible
mkdir -p "$A" "$T/out" "$T/cp"
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
parallel = 10            ; Ansible's forks: 10 in flight to one server

[host a??]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/right
EOF
{
	echo '[all]'
	for i in $(seq -w 1 20); do echo "a$i"; done
} > "$A/hosts"

# The recipe (README.md, safessh(1) EXAMPLES), plus what a test needs:
# everything under $T, no host key prompt, no fact gathering.  (No
# pipelining: every module is a transfer too, through sftp -S safessh.)
# recipe TRANSFER_METHOD SSH_EXECUTABLE
recipe() {
	cat <<EOF
[defaults]
inventory = $A/hosts
forks = 10
host_key_checking = False
gathering = explicit
interpreter_python = /usr/bin/python3
local_tmp = $A/tmp
retry_files_enabled = False

[ssh_connection]
ssh_executable = $2
sftp_extra_args = -S $2
scp_extra_args = -S $2
transfer_method = $1
control_path_dir = $T/cp
EOF
}

# The wrapper keeps a copy of safessh's stderr lines for the checks.
cat > "$T/safessh-tee" <<EOF
#!/bin/bash
exec "$SAFESSH" "\$@" 2> >(tee -a "$T/safessh.err" >&2)
EOF
chmod 755 "$T/safessh-tee"

echo 'hello from {{ inventory_hostname }}' > "$A/t.j2"
cat > "$A/play.yml" <<EOF
- hosts: all
  tasks:
    - ping:
    - copy:
        content: "copied\n"
        dest: "$T/out/{{ inventory_hostname }}.copy"
    - template:
        src: "$A/t.j2"
        dest: "$T/out/{{ inventory_hostname }}.tmpl"
    - command: echo ran on {{ inventory_hostname }}
EOF

# Close the masters Ansible's ControlPersist left, by their sockets.
stop_masters() {
	local s
	for s in "$T"/cp/*; do
		[ -S "$s" ] || continue
		"$REAL_SSH" -O exit -o ControlPath="$s" x 2>/dev/null
	done
}
trap 'stop_masters; t_cleanup' EXIT

# playbook NAME METHOD [LIMIT [PLAY]]: run the play; sets rc and the counts
# of connections, offers and ledger attempts it added.
ledger=$SAFESSH_STATE_DIR/servers/127.0.0.1
attempts() {
	if [ -f "$ledger" ]; then grep -c '^a ' "$ledger"; else echo 0; fi
}
playbook() {
	local name=$1 method=$2 limit=${3:-all} play=${4:-play.yml} c0 o0 a0
	recipe "$method" "$T/safessh-tee" > "$A/$name.cfg"
	c0=$(t_conns) o0=$(t_offers) a0=$(attempts)
	(cd "$A" && ANSIBLE_CONFIG=$A/$name.cfg ansible-playbook \
	    --limit "$limit" "$play" > "$T/$name.out" 2>&1)
	rc=$?
	conns=$(($(t_conns) - c0))
	offers=$(($(t_offers) - o0))
	added=$(($(attempts) - a0))
}

# ------------------------------------------------ the recipe: sftp -S
playbook sftp sftp
eq "playbook through safessh: exit 0" 0 "$rc"
[ "$rc" = 0 ] || tail -20 "$T/sftp.out"
n=$(grep -cE '^a[0-9]+ +: ok=4 +changed=3 +unreachable=0 +failed=0' \
    "$T/sftp.out")
eq "every host ran every task" 20 "$n"
eq "every copy and template landed" 40 "$(find "$T/out" -type f | wc -l)"
check "connections were made" test "$conns" -gt 0
eq "one key offered per connection" "$conns" "$offers"
eq "no key refused by the server" 0 \
    "$(grep -c 'Failed publickey' "$SSHD_LOG")"
eq "every offer is the right key" "$offers" \
    "$(grep -c "Accepted publickey .* ED25519 $(ssh-keygen -lf \
    "$T/keys/right.pub" | awk '{print $2}')" "$SSHD_LOG")"
eq "the ledger holds every connection" "$conns" "$added"
eq "every attempt settled ok" "" "$(awk '$1 == "s" {last[$2] = $4}
    END {for (i in last) if (last[i] != "ok" && last[i] != "auth")
    print i, last[i]}' "$ledger")"
eq "no refusal from safessh" "" \
    "$(grep 'refused' "$T/safessh.err" 2>/dev/null)"
# A burst with a key not yet proven waits for the first login (G2); after
# that, nothing waits.
delays=$(grep -c 'delaying' "$T/safessh.err" 2>/dev/null)
check "delays only while the key was unproven ($delays)" \
    test "${delays:-0}" -le 9
echo "# connections $conns, offers $offers, ledger attempts $added," \
    "delays $delays"

# ------------------------------------------------ scp -S and piped
cat > "$A/put.yml" <<EOF
- hosts: all
  tasks:
    - copy: {content: "put\n", dest: "$T/out/{{ inventory_hostname }}.put"}
EOF
for m in scp piped; do
	stop_masters
	rm -f "$T"/out/*.put
	playbook "$m" "$m" 'a01,a02' put.yml
	eq "transfer_method = $m: exit 0" 0 "$rc"
	[ "$rc" = 0 ] || tail -20 "$T/$m.out"
	eq "transfer_method = $m: files landed" 2 \
	    "$(find "$T/out" -name '*.put' | wc -l)"
	eq "transfer_method = $m: one key per connection" "$conns" "$offers"
	eq "transfer_method = $m: the ledger holds every connection" \
	    "$conns" "$added"
done

# ----------------------------- negative: sftp without -S bypasses safessh
# With no live master to ride on, Ansible's sftp runs the real ssh: the
# agent's keys are offered and the ledger never hears of it.  This is
# what the recipe's sftp_extra_args prevents.
stop_masters
recipe sftp "$T/safessh-tee" | grep -v '^sftp_extra_args' > "$A/bare.cfg"
# The real ssh must find the alias too; ssh's multiplexing off, so that
# every call makes its own connection.
printf 'Host a??\n\tHostName 127.0.0.1\n\tPort %s\n' "$PORT" \
    >> "$HOME/.ssh/config"
o0=$(t_offers) a0=$(attempts) f0=$(grep -c 'Failed publickey' "$SSHD_LOG")
(cd "$A" && ANSIBLE_CONFIG=$A/bare.cfg ANSIBLE_SSH_ARGS='-o ControlMaster=no' \
    ansible-playbook --limit a01 put.yml > "$T/bare.out" 2>&1)
f1=$(grep -c 'Failed publickey' "$SSHD_LOG")
check "without -S, sftp offers the agent's keys (negative case)" \
    test "$f1" -gt "$f0"
check "without -S, connections escape the ledger (negative case)" \
    test "$(($(t_offers) - o0))" -gt "$(($(attempts) - a0))"

t_done
