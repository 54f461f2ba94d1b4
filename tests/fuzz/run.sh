#!/bin/sh
# tests/fuzz/run.sh NAME...: run each libFuzzer target (built by
# "make fuzz" into build-fuzz/tests/fuzz/) for $FUZZTIME seconds, one
# job each, on its seed corpus tests/fuzz/corpus/NAME (read-only) plus a
# scratch corpus build-fuzz/corpus/NAME.  Logs: build-fuzz/fuzz-NAME.log;
# a crash is written to build-fuzz/crashes/NAME-*.  Prints one line per
# target: "fuzz: NAME: N runs in S s, cov C, ft F, corpus K, crashes X"
# and fails if any target crashed.
cd "$(dirname "$0")/../.." || exit 1
B=build-fuzz
: "${FUZZTIME:=20}"
status=0
mkdir -p "$B/crashes"
for name in "$@"; do
	bin=$B/tests/fuzz/$name
	mkdir -p "$B/corpus/$name"
	set -- -max_total_time="$FUZZTIME" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$B/crashes/$name-"
	[ -f "tests/fuzz/$name.dict" ] && set -- "$@" -dict="tests/fuzz/$name.dict"
	"$bin" "$@" "$B/corpus/$name" "tests/fuzz/corpus/$name" \
	    > "$B/fuzz-$name.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$B/fuzz-$name.log" | tail -1)
	secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' \
	    "$B/fuzz-$name.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$B/fuzz-$name.log" | tail -1)
	ft=$(grep -o 'ft: [0-9]*' "$B/fuzz-$name.log" | tail -1)
	corp=$(find "$B/corpus/$name" -type f | wc -l)
	crashes=$(find "$B/crashes" -name "$name-*" | wc -l)
	echo "fuzz: $name: ${runs:-0} runs (${secs:-0}/s) in ${FUZZTIME} s," \
	    "${cov:-cov: ?}, ${ft:-ft: ?}, corpus $corp, crashes $crashes"
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		tail -40 "$B/fuzz-$name.log"
		status=1
	fi
done
exit $status
