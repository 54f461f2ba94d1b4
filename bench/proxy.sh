#!/bin/bash
# bench/proxy.sh: throughput of the ProxyCommand relay.  Pushes 1 GiB
# (SIZE bytes) from a pipe through each tool to a plain TCP sink on
# loopback (socat writing to /dev/null), RUNS times each, interleaved:
#   proxytool (lib/proxy.c as shipped: read/write towards the server,
#   splice towards ssh), proxytool read/write only, proxytool splicing
#   both ways,
#   safessh --proxy (when the binary has it), socat, nc -N.
# Measures wall and CPU time of the tool alone (/usr/bin/time) and prints
# the medians: seconds, MiB/s, CPU seconds per GiB, ratios vs socat.
# shellcheck source=tests/regress/lib.sh
. "$(dirname "$0")/../tests/regress/lib.sh"
# What it needs is in the README's test packages and .ci/run; nothing is
# installed behind their back.
need=()
command -v socat >/dev/null || need+=(socat)
[ -x /usr/bin/time ] || need+=(time)
nc -h 2>&1 | grep -q -- '-N' || need+=(netcat-openbsd)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: needs ${need[*]} (the README's test packages:" \
	    "apt-get install --no-install-recommends ${need[*]})"
	exit 1
fi
t_init bench-proxy
RUNS=${RUNS:-3}
SIZE=${SIZE:-1073741824}	# a multiple of 1 MiB
PT=$TOP/$O/tests/regress/proxytool
[ -x "$PT" ] || { echo "bench: build $PT first (make)"; exit 1; }

PORT=$(t_port)
# One sink for every run; a large buffer so that it is never the limit.
socat -u -b 1048576 "TCP-LISTEN:$PORT,reuseaddr,fork,bind=127.0.0.1" \
    OPEN:/dev/null &
_pids+=("$!")
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	sleep 0.05
done

tools=(proxytool proxytool-rw proxytool-splice socat nc)
if [ -x "$SAFESSH" ] && "$SAFESSH" --help 2>&1 | grep -q -- --proxy; then
	tools=(safessh-proxy "${tools[@]}")
fi

cmdline() {
	case $1 in
	proxytool)	echo "$PT 127.0.0.1 $PORT 5" ;;
	proxytool-rw)
		echo "env SAFESSH_PROXY_NOSPLICE=1 $PT 127.0.0.1 $PORT 5" ;;
	proxytool-splice)
		echo "env SAFESSH_PROXY_SPLICE=both $PT 127.0.0.1 $PORT 5" ;;
	safessh-proxy)	echo "$SAFESSH --proxy 127.0.0.1 $PORT" ;;
	socat)		echo "socat - TCP:127.0.0.1:$PORT" ;;
	nc)		echo "nc -N 127.0.0.1 $PORT" ;;
	esac
}

: > "$T/results"
for _ in $(seq "$RUNS"); do
	for tool in "${tools[@]}"; do
		# shellcheck disable=SC2046
		dd if=/dev/zero bs=1M count=$((SIZE / 1048576)) \
		    status=none |
		    /usr/bin/time -o "$T/time" -f '%e %U %S' \
		    $(cmdline "$tool") > /dev/null 2>"$T/err" ||
		    { echo "bench: $tool failed:"; cat "$T/err" "$T/time"; }
		echo "$tool $(tail -1 "$T/time")" >> "$T/results"
	done
done

python3 - "$T/results" "$SIZE" "${tools[@]}" <<'PY'
import statistics, sys
path, size, tools = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
runs = {}
for line in open(path):
    f = line.split()
    if len(f) == 4:
        runs.setdefault(f[0], []).append((float(f[1]),
                                          float(f[2]) + float(f[3])))
gib = size / 2**30
med = {}
for t in tools:
    if t in runs:
        med[t] = (statistics.median(w for w, _ in runs[t]),
                  statistics.median(c for _, c in runs[t]))
print("%d runs each, %.2f GiB per run, medians" % (
    len(runs.get(tools[0], [])), gib))
print("%-17s %8s %9s %11s %10s %9s" % ("tool", "seconds", "MiB/s",
      "CPU s/GiB", "time/socat", "CPU/socat"))
base = med.get("socat")
for t in tools:
    if t not in med:
        continue
    w, c = med[t]
    mibs = size / 2**20 / w if w > 0 else float("inf")
    rt = rc = "-"
    if base and base[0] > 0:
        rt = "%.2f" % (w / base[0])
    if base and base[1] > 0:
        rc = "%.2f" % (c / base[1])
    print("%-17s %8.2f %9.0f %11.3f %10s %9s" % (t, w, mibs, c / gib,
                                                rt, rc))
PY
