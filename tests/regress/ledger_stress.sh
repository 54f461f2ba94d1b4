#!/bin/bash
# ledger_stress.sh: G6 "nothing lost" under load: concurrent writers,
# writers killed at any instant, --forget under load, and damaged files
# (a clear file:line message, the file untouched, other servers intact).
# Drives the library through $O/tests/regress/ledgertool; no sshd.
. "$(dirname "$0")/lib.sh"
t_init ledger_stress
# No ssh here: no need for lib.sh's nss_wrapper (which ASan builds refuse).
unset LD_PRELOAD

LT=$TOP/$O/tests/regress/ledgertool
if [ ! -x "$LT" ]; then
	fail "ledgertool not built: make O=$O $O/tests/regress/ledgertool"
	t_done
	exit 1
fi
SD=$SAFESSH_STATE_DIR/servers

# wait for every pid in "$@"; $nbad: how many failed (not in a subshell:
# only this shell can wait for its children)
waitall() {
	local p
	nbad=0
	for p in "$@"; do
		wait "$p" || nbad=$((nbad + 1))
	done
}

# --- 200 processes at once, each records an attempt and settles it ----
pids=()
for i in $(seq 200); do
	# The attempt belongs to this bash: alive from begin to settle.
	timeout 60 bash -c 'id=$("$1" begin -p $$ conc host "u k$2") &&
	    "$1" settle conc "$id" ok' _ "$LT" "$i" 2>>"$T/conc.err" &
	pids+=($!)
done
waitall "${pids[@]}"
eq "200 concurrent writers all succeeded (no deadlock, no error)" 0 "$nbad"
[ -s "$T/conc.err" ] && sed 's/^/# /' "$T/conc.err" | head -5
"$LT" dump conc > "$T/conc.dump" 2>&1
check "the ledger parses" test $? = 0
eq "exactly 200 attempts" 200 "$(wc -l < "$T/conc.dump")"
eq "all 200 settled ok" 200 "$(grep -c '^[0-9]* [0-9]* [0-9]* ok ' \
    "$T/conc.dump")"
eq "200 distinct ids" 200 "$(cut -d' ' -f1 "$T/conc.dump" | sort -u |
    wc -l)"
eq "200 distinct credentials" 200 "$(grep -o '\[u k[0-9]*\]' \
    "$T/conc.dump" | sort -u | wc -l)"
eq "none lost, none in flight" 0 "$(grep -cE ' (lost|inflight) ' \
    "$T/conc.dump")"

# --- 20 processes x 100 attempts: compactions under contention --------
pids=()
for i in $(seq 20); do
	timeout 120 "$LT" churn churn 100 2>>"$T/churn.err" &
	pids+=($!)
done
waitall "${pids[@]}"
eq "20 churning writers all succeeded" 0 "$nbad"
[ -s "$T/churn.err" ] && sed 's/^/# /' "$T/churn.err" | head -5
"$LT" dump churn > "$T/churn.dump" 2>&1
check "the compacted ledger parses" test $? = 0
n=$(wc -l < "$T/churn.dump")
check "it keeps at least 200 attempts (has $n)" test "$n" -ge 200
check "the file stayed bounded ($("$LT" lines churn) lines)" \
    test "$("$LT" lines churn)" -le 1024
eq "none lost, none in flight" 0 "$(grep -cE ' (lost|inflight) ' \
    "$T/churn.dump")"
eq "no temporary file left" "" "$(ls "$SD" | grep '\.tmp\.')"

# --- writers killed at random moments: the file always parses ---------
bad=0
torn=0
for round in $(seq 40); do
	pids=()
	for i in 1 2 3 4; do
		"$LT" churn killed 100000 2>/dev/null &
		pids+=($!)
	done
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ -n "$(tail -c 1 "$SD/killed")" ]; then
		torn=$((torn + 1))
	fi
	if ! "$LT" dump killed > "$T/killed.dump" 2> "$T/killed.err"; then
		bad=$((bad + 1))
		sed 's/^/# /' "$T/killed.err"
	fi
done
eq "40 rounds of SIGKILLed writers: the ledger parsed every time" 0 "$bad"
echo "# rounds that left a torn final line: $torn"
eq "killed writers' attempts are settled (lost), none left in flight" 0 \
    "$(grep -c ' inflight ' "$T/killed.dump")"
check "the file stayed bounded" test "$("$LT" lines killed)" -le 1024
eq "leftover temporary files are not servers" "churn conc killed" \
    "$("$LT" list | tr '\n' ' ' | sed 's/ $//')"
"$LT" run killed host "u k" ok
check "a new attempt after the kills is recorded" test $? = 0
"$LT" churn killed 300		# 600 lines: at least one compaction
eq "the next compaction removed killed compactions' temporary files" 0 \
    "$(ls "$SD" | grep -c '^killed\.tmp\.')"
"$LT" forget killed
eq "--forget removes the ledger and those" 0 \
    "$(ls "$SD" | grep -c '^killed')"

# --- --forget while others write ---------------------------------------
pids=()
for i in 1 2 3 4; do
	timeout 120 "$LT" churn fg 300 2>>"$T/fg.err" &
	pids+=($!)
done
for i in $(seq 20); do
	"$LT" forget fg 2>>"$T/fg.err"
	sleep 0.01
done
waitall "${pids[@]}"
eq "writers and --forget raced without an error" 0 "$nbad"
eq "no error messages" "" "$(cat "$T/fg.err")"
"$LT" dump fg > "$T/fg.dump" 2>&1
check "the ledger parses after the race" test $? = 0

# --- damage: clear message, the file untouched, others intact ----------
"$LT" run good host "u k" ok
"$LT" run good host "u k" authfail
cp "$SD/good" "$T/good.before"
"$LT" dump good > "$T/good.dump.before"

printf 'safessh-ledger 1 bad\na 1 2 3\n' > "$SD/bad"
cp "$SD/bad" "$T/bad.before"
out=$("$LT" dump bad 2>&1)
FIX="fix or remove the file, or run 'safessh --forget"
eq "a malformed line gives -1 with file:line" \
    "ledgertool: ledger $SD/bad:2: damaged ('a' record with 4 fields, not 7, 9 or 10); $FIX bad'" \
    "$out"
"$LT" run bad host "u k" ok 2>/dev/null
check "no attempt is recorded against a damaged ledger" test $? != 0
check "the damaged file is byte-identical" cmp -s "$SD/bad" "$T/bad.before"

printf '\x7fELF\x02\x01\x01\x00\x00\x00garbage\xff\xfe\n\x00\x01' > "$SD/bin"
cp "$SD/bin" "$T/bin.before"
out=$("$LT" dump bin 2>&1)
eq "binary garbage gives a clear message" \
    "ledgertool: ledger $SD/bin:1: damaged (control or non-ASCII byte); $FIX bin'" \
    "$out"
"$LT" churn bin 3 2>/dev/null
check "the garbage file is byte-identical" cmp -s "$SD/bin" "$T/bin.before"

# A truncated ledger: complete lines count, the torn tail is ignored.
"$LT" run trunc host "u k" ok
"$LT" run trunc host "u k" authfail
"$LT" cooldown trunc "$(($(date +%s) + 3600))" "a reason"
size=$(stat -c %s "$SD/trunc")
truncate -s $((size - 5)) "$SD/trunc"
cp "$SD/trunc" "$T/trunc.before"
"$LT" dump trunc > "$T/trunc.dump" 2>&1
check "a torn final line is not damage" test $? = 0
eq "the complete lines are read" 2 "$(wc -l < "$T/trunc.dump")"
check "reading leaves it byte-identical" cmp -s "$SD/trunc" \
    "$T/trunc.before"
"$LT" run trunc host "u k" ok
"$LT" dump trunc > "$T/trunc.dump" 2>&1
check "the next append cuts the torn tail and the file parses" \
    test $? = 0
eq "with 3 attempts" 3 "$(grep -c ' ok \| authfail ' "$T/trunc.dump")"

check "the other server's file was not touched" cmp -s "$SD/good" \
    "$T/good.before"
"$LT" dump good > "$T/good.dump.after"
check "and it still reads the same" cmp -s "$T/good.dump.before" \
    "$T/good.dump.after"
"$LT" run good host "u k" ok
check "and it still takes new attempts" test \
    "$("$LT" dump good | wc -l)" = 3

"$LT" forget bad
check "--forget resets the damaged ledger" "$LT" run bad host "u k" ok

t_done
