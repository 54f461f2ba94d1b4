#!/bin/bash
# bench/reuse.sh: 50 sequential "true" commands to one host, timed in one
# hyperfine run: plain ssh (a connection and a login each), safessh with
# reuse off (the same, plus admission) and safessh with reuse on (one
# master, 50 mux sessions).  Prints the wall time of each batch and the
# speed-up over plain ssh; the goal for reuse is at least 5x.
#
# The remote side of "true" is the account's login shell, the same cost
# with or without reuse.  On a box whose account runs bash with a heavy
# .bashrc (bash reads it under sshd even for "ssh host true"), that cost
# dominates both; so the bench runs two servers: "lean", an sshd under
# nss_wrapper whose account has /bin/sh as login shell (the reference),
# and "system", the account as it is.  RUNS=N (default 3), N=calls.
. "$(dirname "$0")/../tests/regress/lib.sh"
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine"; exit 1; }
t_init bench-reuse
t_keys
# "system": the account as it is (lib.sh runs test sshds under nss_wrapper).
T_SSHD_REAL=1 t_sshd
RUNS=${RUNS:-3}
N=${N:-50}
SYSPORT=$PORT
SYSSHELL=$(env -u LD_PRELOAD getent passwd "$(id -un)" | cut -d: -f7)

# The lean server: same keys and settings, another port, our test passwd.
t_sshd_lean
[ -n "$LEANPORT" ] || echo "bench: no lean sshd (nss_wrapper missing?); system only"

# conf NAME REUSE PORT
conf() {
	cat > "$T/conf.$1" <<CFG
[defaults]
reuse = $2

[host 127.0.0.1]
identity = $T/keys/right
port = $3
CFG
	chmod 600 "$T/conf.$1"
}
P="-F /dev/null -o UserKnownHostsFile=$T/known_hosts -o BatchMode=yes"
P="$P -o IdentitiesOnly=yes -o IdentityAgent=none -i $T/keys/right"
P="$P -o ControlMaster=no -o ControlPath=none"
loop() { echo "for i in \$(seq $N); do $1 127.0.0.1 true || exit 1; done"; }
cmds=()
# add NAME PORT REUSE|ssh
add() {
	if [ "$3" = ssh ]; then
		cmds+=(-n "$1" "bash -c '$(loop "ssh $P -p $2")'")
	else
		conf "$2-$3" "$3" "$2"
		cmds+=(-n "$1" "env SAFESSH_CONFIG=$T/conf.$2-$3 bash -c \
'$(loop "$SAFESSH")'")
	fi
}
if [ -n "$LEANPORT" ]; then
	add "lean: plain ssh" "$LEANPORT" ssh
	add "lean: reuse = no" "$LEANPORT" no
	add "lean: reuse = 5m" "$LEANPORT" 5m
fi
add "system: plain ssh" "$SYSPORT" ssh
add "system: reuse = 5m" "$SYSPORT" 5m

hyperfine -N -w 1 -r "$RUNS" --export-json "$T/r.json" "${cmds[@]}" \
    >/dev/null 2>"$T/hf.err" ||
    { echo "bench: hyperfine failed"; cat "$T/hf.err"; exit 1; }
logins() { cat "$T"/sshd/log* | grep -c 'Accepted publickey'; }
total=$(logins)
# Stop the masters the reuse runs left behind.
for c in "$T"/conf.*; do
	SAFESSH_CONFIG=$c "$SAFESSH" --forget 127.0.0.1 >/dev/null 2>&1
done
python3 - "$T/r.json" "$N" "$RUNS" "$total" "$SYSSHELL" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))["results"]
n, runs, total, shell = (int(sys.argv[2]), int(sys.argv[3]),
                         int(sys.argv[4]), sys.argv[5])
print("%d sequential 'true' commands to one host; median of %d runs "
      "(+1 warm-up); load average %.1f" % (n, runs, os.getloadavg()[0]))
print("lean: remote login shell /bin/sh; system: the account's own (%s)"
      % shell)
print("%-22s %9s %10s %9s" % ("case", "batch", "per call", "speed-up"))
base = {}
for x in r:
    group = x["command"].split(":")[0]
    m = x["median"]
    base.setdefault(group, m)
    print("%-22s %8.2fs %8.1fms %8.2fx" % (x["command"], m, m * 1000 / n,
          base[group] / m))
plain = sum(1 for x in r if "reuse = 5m" not in x["command"])
print("logins seen by the servers: %d (plain ssh and reuse = no: one per "
      "call, %d; each reuse = 5m case: one)" % (total, plain * n * (runs + 1)))
PY
