#!/bin/bash
# bench/ledger.sh: the cost of one admission decision (lock, read and fold
# the server's ledger, attempt_decide with the default policy, unlock) as
# the ledger grows: 1 attempt, 1 000 and 100 000 attempts written raw
# into one file (the first decision compacts it; the table shows the
# file before and after, and the cost of that first decision apart),
# and one server among 10 000.  Figures are ledgertool's own
# (CLOCK_MONOTONIC around each cycle; median and 90th percentile of
# the N - 1 after the first).
. "$(dirname "$0")/../tests/regress/lib.sh"
t_init bench-ledger
unset LD_PRELOAD	# no ssh here: lib.sh's nss_wrapper is not needed
LT=$TOP/$O/tests/regress/ledgertool
[ -x "$LT" ] || { echo "bench: build $LT first (make bench)"; exit 1; }
N=${N:-2000}
NSERVERS=${NSERVERS:-10000}

# row LABEL SERVER: one "decide" run, printed as a table row
row() {
	local out
	out=$("$LT" decide "$2" "$N") || exit 1
	eval "$(echo "$out" | tr ' ' '\n' | grep '=' | sed 's/^/local /')"
	printf "%-36s %7s %7s %11.1f %11.1f %9.1f\n" "$1" "$lines_before" \
	    "$lines_after" "$(echo "$first_ns / 1000" | bc -l)" \
	    "$(echo "$ns_per_decision / 1000" | bc -l)" \
	    "$(echo "$p90_ns / 1000" | bc -l)"
}

printf "%-36s %7s %7s %11s %11s %9s\n" "ledger" "lines" "after" \
    "first (us)" "median (us)" "p90 (us)"
"$LT" run one host "u key1" ok
row "1 attempt" one
"$LT" gen k1 1000
row "1 000 attempts (raw)" k1
row "  the same, compacted" k1
"$LT" gen k100 100000
row "100 000 attempts (raw)" k100
row "  the same, compacted" k100
"$LT" churn churned 10000
row "10 000 attempts via the library" churned
"$LT" populate s "$NSERVERS"
row "1 of $NSERVERS servers (1 attempt)" s$((NSERVERS / 2))
"$LT" gen s0 1000 >/dev/null
row "1 of $NSERVERS servers (1 000, raw)" s0
echo "servers present: $("$LT" list | wc -l)"
printf "largest file: %s bytes (%s lines)\n" \
    "$(stat -c %s "$SAFESSH_STATE_DIR"/servers/* | sort -n | tail -1)" \
    "$(for s in k1 k100 churned; do "$LT" lines $s; done | sort -n |
    tail -1)"
