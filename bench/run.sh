#!/bin/bash
# make bench: every benchmark, each printing its own table of ratios.
cd "$(dirname "$0")" || exit 1
rc=0
for b in wrap.sh ledger.sh redis.sh proxy.sh reuse.sh ansible.sh; do
	[ -f "$b" ] || continue
	echo "== bench/$b"
	bash "./$b" || rc=1
	echo
done
# The load rounds at full size (make check runs a smaller set).
echo "== tests/regress/load.sh, every round, 500 and 200 invocations"
LOAD_N=500 LOAD_SSHD_N=200 LOAD_ROUNDS="1 2 3 4 5" \
    bash ../tests/regress/load.sh | grep -E '^(load|not ok)' || rc=1
exit $rc
