#!/bin/bash
# demo.sh: "make demo" runs to the end without a terminal or stdin and
# shows what it promises: plain ssh -i right.key failing with "Too many
# authentication failures", safessh getting in with exactly one key, the
# wrong-key loop refused with safessh's message, the --status table, and
# nothing left behind (temporary directory, sshd, agent).
# shellcheck source=tests/regress/lib.sh
source "$(dirname "$0")/lib.sh"
t_init demo

# The demo runs as a user would: no nss_wrapper (sshd needs its own
# privilege separation user from the real passwd).
unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
out=$(TMPDIR=$T O=$O bash "$TOP/tests/demo.sh" </dev/null 2>&1)
rc=$?
echo "$out" > "$T/demo.out"
eq "demo exits 0" 0 "$rc"
# No process whose command line names a demo directory of ours.
nothing_left() {
	! pgrep -f "$T/safessh-demo" >/dev/null
}
has() {
	grep -qE -- "$1" <<<"$out"
}
check "plain ssh: Too many authentication failures" \
    has '^     \| Received disconnect .*Too many authentication failures'
check "plain ssh: the server saw six failed keys" \
    has 'Too many authentication failures after 6 wrong keys'
check "safessh: the command ran" has '^     \| hello$'
check "safessh: one key, accepted" has 'SAFESSH: in with 1 key offered'
check "safessh: the server accepted right.key" \
    has 'Accepted publickey for .*\(right\.key\)'
check "plain ssh: the server saw the agent's wrong6.key" \
    has 'Failed publickey for .*\(wrong6\.key\)'
eq "safessh: one Accepted line, no Failed line in its step" "1 0" \
    "$(sed -n '/^== 5\./,/^== 6\./p' <<<"$out" |
    awk '/Accepted publickey/ { a++ } /Failed publickey/ { f++ }
    END { print a + 0, f + 0 }')"
refusal='try [0-9]: exit 75: safessh: demo \(server 127\.0\.0\.1\): refused: '
refusal+='.*next attempt allowed at'
check "loop: refused with safessh's message (exit 75)" has "$refusal"
check "loop: some tries failed first" has 'try 1: exit 255'
check "loop: stopped before the budget" has 'SAFESSH: stopped the loop'
check "status table" has '^     \| SERVER +HOSTS'
check "status row for the server" \
    has '^     \| 127\.0\.0\.1 +demo .*(refusing|cooldown|delaying)'
check "ends with demo: ok" has '^demo: ok$'
left=$(find "$T" -mindepth 1 -maxdepth 1 -name 'safessh-demo.*' | wc -l)
eq "no temporary directory left" 0 "$left"
check "no sshd of the demo left" nothing_left

# Ctrl-C (SIGINT) part-way, early or late, still cleans up.
for at in 0.4 1.5; do
	TMPDIR=$T O=$O timeout -s INT "$at" bash "$TOP/tests/demo.sh" \
	    </dev/null >"$T/int.out" 2>&1
	eq "interrupted at ${at}s: temporary directory removed" 0 \
	    "$(find "$T" -mindepth 1 -maxdepth 1 -name 'safessh-demo.*' |
	    wc -l)"
	check "interrupted at ${at}s: no sshd or agent left" nothing_left
done

t_done
