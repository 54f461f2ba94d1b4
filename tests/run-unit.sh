#!/bin/sh
# Run each cmocka unit test program; under valgrind when VALGRIND=1.
# Prints one summary line: "unit: N passed, N failed".
pass=0 fail=0
for t in "$@"; do
	if [ "${VALGRIND:-0}" = 1 ]; then
		set -- valgrind -q --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite "$t"
	else
		set -- "$t"
	fi
	if "$@"; then
		pass=$((pass + 1))
	else
		echo "FAILED: $t" >&2
		fail=$((fail + 1))
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
