#!/bin/bash
# bench/ansible.sh: the wall time of one Ansible playbook through safessh
# (the README's ansible.cfg recipe) against the same playbook with plain
# ssh, in the same hyperfine run.  20 aliases of one server, forks = 10,
# ping, copy, template and command on each; an agent with 6 wrong keys is
# present (plain ssh is given IdentitiesOnly=yes and the right key, or it
# would fail with "Too many authentication failures").  Ansible's
# ControlPersist masters are closed before every run, so each run makes
# its 20 connections afresh.  The server is the lean sshd (/bin/sh as
# login shell) when nss_wrapper is there.  RUNS=N (default 3).
. "$(dirname "$0")/../tests/regress/lib.sh"
for c in hyperfine ansible-playbook; do
	command -v "$c" >/dev/null ||
	    { echo "bench: needs $c (the README's test packages)"; exit 1; }
done
t_init bench-ansible
t_keys
t_sshd
t_sshd_lean
if [ -n "$LEANPORT" ]; then
	PORT=$LEANPORT
	# shellcheck disable=SC2034 # t_conns reads it
	SSHD_LOG=$T/sshd/log.lean
fi
t_agent 6
RUNS=${RUNS:-3}

A=$T/ansible
mkdir -p "$A" "$T/out" "$T/cp.ssh" "$T/cp.safessh"
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
parallel = 10

[host a??]
hostname = 127.0.0.1
port = $PORT
identity = $T/keys/right
EOF
# Plain ssh finds the aliases in ~/.ssh/config.
printf 'Host a??\n\tHostName 127.0.0.1\n\tPort %s\n' "$PORT" \
    >> "$HOME/.ssh/config"
{
	echo '[all]'
	for i in $(seq -w 1 20); do echo "a$i"; done
} > "$A/hosts"
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
common() {
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
control_path_dir = $T/cp.$1
EOF
}
{
	common ssh
	echo "ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s" \
	    "-o IdentitiesOnly=yes -i $T/keys/right"
} > "$A/ssh.cfg"
{
	common safessh
	echo "ssh_executable = $SAFESSH"
	echo "sftp_extra_args = -S $SAFESSH"
	echo "scp_extra_args = -S $SAFESSH"
} > "$A/safessh.cfg"

cat > "$T/stop-masters" <<EOF
#!/bin/bash
for s in "$T"/cp.*/*; do
	[ -S "\$s" ] && "$REAL_SSH" -O exit -o ControlPath="\$s" x 2>/dev/null
done
rm -f "$T"/out/*
exit 0
EOF
chmod 755 "$T/stop-masters"
trap '"$T/stop-masters"; t_cleanup' EXIT

play() {
	echo "cd $A && ANSIBLE_CONFIG=$A/$1.cfg ansible-playbook play.yml" \
	    ">$T/$1.out 2>&1"
}
hyperfine -r "$RUNS" --prepare "$T/stop-masters" --export-json "$T/r.json" \
    -n "plain ssh" "$(play ssh)" -n "safessh" "$(play safessh)" \
    >/dev/null 2>"$T/hf.err" ||
    { echo "bench: hyperfine failed"; cat "$T/hf.err"; tail "$T"/*.out;
    exit 1; }
ledger=$SAFESSH_STATE_DIR/servers/127.0.0.1
python3 - "$T/r.json" "$RUNS" "$(grep -c '^a ' "$ledger")" \
    "$(t_conns)" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))["results"]
runs, attempts, conns = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print("ansible-playbook, 20 aliases of one server, forks 10, 4 tasks each;"
      " median of %d runs; load average %.1f" % (runs, os.getloadavg()[0]))
print("%-10s %9s %9s %9s %7s" % ("case", "median", "min", "max", "ratio"))
base = r[0]["median"]
for x in r:
    print("%-10s %8.2fs %8.2fs %8.2fs %6.2fx" % (x["command"], x["median"],
          x["min"], x["max"], x["median"] / base))
print("connections seen by the server: %d; safessh's ledger: %d attempts"
      " (20 per run and case, and one key scan, when no ControlPersist"
      " master expires between tasks)" % (conns, attempts))
PY
