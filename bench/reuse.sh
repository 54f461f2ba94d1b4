#!/bin/bash
# bench/reuse.sh: 50 sequential "true" commands to one host, in one run
# with hyperfine: plain ssh (a connection and a login each), safessh with
# reuse off (the same, plus admission), and safessh with reuse on (one
# master, 50 mux sessions).  Prints the wall time of each batch and the
# speed-up over plain ssh; the goal for reuse is at least 5x.
. "$(dirname "$0")/../tests/regress/lib.sh"
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine"; exit 1; }
t_init bench-reuse
t_keys
t_sshd
# The remote side of "true" is the login shell.  This box's root shell is
# bash with a .bashrc that bash reads under sshd (pyenv init: ~0.2s per
# command), which swamps what is measured here; by default sshd runs
# under nss_wrapper with our test passwd (login shell /bin/sh, home in
# $T).  LEAN=0 keeps the system's account as it is.
if [ "${LEAN:-1}" = 1 ] && [ -n "${NSS_WRAPPER_PASSWD:-}" ]; then
	t_stop_sshd
	env -u LD_PRELOAD getent passwd sshd >> "$NSS_WRAPPER_PASSWD"
	"$SSHD" -f "$T/sshd/config" -E "$SSHD_LOG.lean" -D &
	SSHD_PID=$!
	_pids+=("$SSHD_PID")
	SSHD_LOG=$SSHD_LOG.lean
	for i in $(seq 100); do
		grep -q 'Server listening' "$SSHD_LOG" 2>/dev/null && break
		sleep 0.05
	done
	grep -q 'Server listening' "$SSHD_LOG" ||
	    { echo "bench: sshd did not start"; cat "$SSHD_LOG"; exit 1; }
	SHELLNOTE="remote login shell /bin/sh (LEAN=0: the system account's)"
else
	SHELLNOTE="remote login shell: the system account's ($(getent passwd "$(id -un)" | cut -d: -f7))"
fi
RUNS=${RUNS:-5}
N=${N:-50}
for r in no 5m; do
	cat > "$T/conf.$r" <<CFG
[defaults]
reuse = $r

[host 127.0.0.1]
identity = $T/keys/right
port = $PORT
CFG
	chmod 600 "$T/conf.$r"
done
P="-F /dev/null -o UserKnownHostsFile=$T/known_hosts -o BatchMode=yes"
P="$P -o IdentitiesOnly=yes -o IdentityAgent=none -i $T/keys/right"
P="$P -o ControlMaster=no -o ControlPath=none -p $PORT"
loop() { echo "for i in \$(seq $N); do $1 127.0.0.1 true || exit 1; done"; }
a0=$(grep -c 'Accepted publickey' "$SSHD_LOG")
hyperfine -N -w 1 -r "$RUNS" --export-json "$T/r.json" \
    -n "plain ssh" "bash -c '$(loop "ssh $P")'" \
    -n "safessh, reuse = no" \
    "env SAFESSH_CONFIG=$T/conf.no bash -c '$(loop "$SAFESSH")'" \
    -n "safessh, reuse = 5m" \
    "env SAFESSH_CONFIG=$T/conf.5m bash -c '$(loop "$SAFESSH")'" \
    >/dev/null 2>&1 || { echo "bench: hyperfine failed"; exit 1; }
logins=$(($(grep -c 'Accepted publickey' "$SSHD_LOG") - a0))
# Stop the master the reuse runs left behind.
SAFESSH_CONFIG=$T/conf.5m "$SAFESSH" --forget 127.0.0.1 2>/dev/null
python3 - "$T/r.json" "$N" "$logins" "$RUNS" "$SHELLNOTE" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))["results"]
n, logins, runs = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
base = r[0]["median"]
print("%d sequential 'true' commands, median of %d runs (+1 warm-up); "
      "load average %.1f" % (n, runs, os.getloadavg()[0]))
print(sys.argv[5])
print("%-22s %10s %10s %10s" % ("case", "batch", "per call", "speed-up"))
for x in r:
    m = x["median"]
    print("%-22s %9.2fs %8.1fms %9.2fx" % (x["command"], m, m * 1000 / n,
          base / m))
print("logins seen by sshd over the whole bench: %d" % logins)
print("(plain ssh and reuse = no log in once per call: %d; reuse = 5m "
      "once)" % (2 * n * (runs + 1)))
PY
