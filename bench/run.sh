#!/bin/bash
# make bench: every benchmark, each printing its own table of ratios.
cd "$(dirname "$0")" || exit 1
rc=0
for b in wrap.sh ledger.sh proxy.sh reuse.sh ansible.sh; do
	[ -f "$b" ] || continue
	echo "== bench/$b"
	bash "./$b" || rc=1
	echo
done
exit $rc
