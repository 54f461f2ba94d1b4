#!/bin/bash
# bench/wrap.sh: safessh's overhead against plain ssh, measured in one run
# with hyperfine: "-G host" (no connection) and a full "true" command
# against a local sshd, on a lean account (login shell /bin/sh, so the
# server's side is small and safessh's share shows) and on this box's
# account as it is; beside them, the cheapest possible wrapper, a
# one-line shell script "exec ssh "$@"", as the yardstick for what any
# front end costs.  Prints medians and ratios.  RUNS=N (default 30).
. "$(dirname "$0")/../tests/regress/lib.sh"
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine"; exit 1; }
t_init bench-wrap
t_keys
# "system": the account as it is (lib.sh runs test sshds under nss_wrapper).
T_SSHD_REAL=1 t_sshd
t_sshd_lean
cat > "$SAFESSH_CONFIG" <<CFG
[host 127.0.0.1]
identity = $T/keys/right
CFG
RUNS=${RUNS:-30}
# The yardstick: the thinnest wrapper there is.
printf '#!/bin/sh\nexec ssh "$@"\n' > "$T/shwrap"
chmod 755 "$T/shwrap"
W=$T/shwrap
P="-F /dev/null -o UserKnownHostsFile=$T/known_hosts -o BatchMode=yes"
P="$P -o IdentitiesOnly=yes -o IdentityAgent=none -i $T/keys/right"
hyperfine -N -w 3 -r "$RUNS" --export-json "$T/g.json" \
    "ssh -G -p $PORT 127.0.0.1" "$SAFESSH -G -p $PORT 127.0.0.1" \
    "$W -G -p $PORT 127.0.0.1" >/dev/null 2>&1
rows=("-G host (no connection)=$T/g.json")
for port in $LEANPORT $PORT; do
	name="'true', this box's account"
	[ "$port" = "$LEANPORT" ] && name="'true', lean account (sh)"
	hyperfine -N -w 3 -r "$RUNS" --export-json "$T/t$port.json" \
	    "ssh $P -p $port 127.0.0.1 true" \
	    "$SAFESSH -p $port 127.0.0.1 true" \
	    "$W $P -p $port 127.0.0.1 true" >/dev/null 2>&1
	rows+=("$name=$T/t$port.json")
done
python3 - "${rows[@]}" <<'PY'
import json, sys
print("%-32s %11s %11s %11s %7s %13s" % ("case", "ssh median",
    "sh wrapper", "safessh", "ratio", "over wrapper"))
for arg in sys.argv[1:]:
    name, f = arg.rsplit("=", 1)
    r = json.load(open(f))["results"]
    a, b, w = (r[i]["median"] * 1000 for i in range(3))
    print("%-32s %9.2fms %9.2fms %9.2fms %7.3f %+11.2fms" % (name, a, w,
        b, b / a, b - w))
PY
