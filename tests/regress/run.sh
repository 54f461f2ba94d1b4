#!/bin/bash
# Run every tests/regress/*.sh (or those ONLY names, space-separated,
# without .sh); print each one's wall time, then "regress: N passed, N
# failed".
cd "$(dirname "$0")" || exit 1
pass=0 fail=0 failed=() times=()
for t in ./*.sh; do
	case $t in ./lib.sh|./run.sh|./stand_ssh.sh) continue ;; esac
	# ONLY="a b": just the scripts a.sh and b.sh.
	if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $(basename "$t" .sh) "* ]]
	then
		continue
	fi
	echo "== ${t#./}"
	t0=$SECONDS
	if bash "$t" </dev/null; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed+=("$t")
	fi
	times+=("${t#./}:$((SECONDS - t0))s")
done
echo "times: ${times[*]}"
[ "$fail" -eq 0 ] || echo "failed: ${failed[*]}"
echo "regress: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
