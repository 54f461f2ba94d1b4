#!/bin/bash
# bench/wrap.sh: safessh's overhead against plain ssh, measured in one run
# with hyperfine: "-G host" (no connection) and a full "true" command
# against a local sshd, on a lean account (login shell /bin/sh, so the
# server's side is small and safessh's share shows) and on this box's
# account as it is.  Prints medians and ratios.  RUNS=N (default 30).
. "$(dirname "$0")/../tests/regress/lib.sh"
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine"; exit 1; }
t_init bench-wrap
t_keys
t_sshd
t_sshd_lean
cat > "$SAFESSH_CONFIG" <<CFG
[host 127.0.0.1]
identity = $T/keys/right
CFG
RUNS=${RUNS:-30}
P="-F /dev/null -o UserKnownHostsFile=$T/known_hosts -o BatchMode=yes"
P="$P -o IdentitiesOnly=yes -o IdentityAgent=none -i $T/keys/right"
hyperfine -N -w 3 -r "$RUNS" --export-json "$T/g.json" \
    "ssh -G -p $PORT 127.0.0.1" "$SAFESSH -G -p $PORT 127.0.0.1" \
    >/dev/null 2>&1
rows=("-G host (no connection)=$T/g.json")
for port in $LEANPORT $PORT; do
	name="'true', this box's account"
	[ "$port" = "$LEANPORT" ] && name="'true', lean account (sh)"
	hyperfine -N -w 3 -r "$RUNS" --export-json "$T/t$port.json" \
	    "ssh $P -p $port 127.0.0.1 true" \
	    "$SAFESSH -p $port 127.0.0.1 true" >/dev/null 2>&1
	rows+=("$name=$T/t$port.json")
done
python3 - "${rows[@]}" <<'PY'
import json, sys
print("%-32s %12s %12s %8s" % ("case", "ssh median", "safessh", "ratio"))
for arg in sys.argv[1:]:
    name, f = arg.rsplit("=", 1)
    r = json.load(open(f))["results"]
    a, b = r[0]["median"] * 1000, r[1]["median"] * 1000
    print("%-32s %10.2fms %10.2fms %8.3f" % (name, a, b, b / a))
PY
