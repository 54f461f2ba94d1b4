#!/bin/bash
# bench/wrap.sh: safessh's overhead against plain ssh, measured in one run
# with hyperfine: "-G host" (no connection) and a full "true" command
# against a local sshd.  Prints medians and ratios.
. "$(dirname "$0")/../tests/regress/lib.sh"
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine"; exit 1; }
t_init bench-wrap
t_keys
t_sshd
cat > "$SAFESSH_CONFIG" <<CFG
[host 127.0.0.1]
identity = $T/keys/right
CFG
RUNS=${RUNS:-40}
P="-F /dev/null -o UserKnownHostsFile=$T/known_hosts -o BatchMode=yes"
P="$P -o IdentitiesOnly=yes -o IdentityAgent=none -i $T/keys/right"
hyperfine -N -w 3 -r "$RUNS" --export-json "$T/g.json" \
    "ssh -G -p $PORT 127.0.0.1" "$SAFESSH -G -p $PORT 127.0.0.1" \
    >/dev/null 2>&1
hyperfine -N -w 3 -r "$RUNS" --export-json "$T/t.json" \
    "ssh $P -p $PORT 127.0.0.1 true" \
    "$SAFESSH -p $PORT 127.0.0.1 true" >/dev/null 2>&1
python3 - "$T/g.json" "$T/t.json" <<'PY'
import json, sys
rows = [("-G host (no connection)", sys.argv[1]),
        ("full 'true' over loopback", sys.argv[2])]
print("%-28s %12s %12s %8s" % ("case", "ssh median", "safessh", "ratio"))
for name, f in rows:
    r = json.load(open(f))["results"]
    a, b = r[0]["median"] * 1000, r[1]["median"] * 1000
    print("%-28s %10.2fms %10.2fms %8.3f" % (name, a, b, b / a))
PY
