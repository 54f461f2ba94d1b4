#!/bin/bash
# faults.sh: G6 under faults, with the real safessh binary and the
# stand-in ssh (tests/regress/stand_ssh.sh).  The behaviour chosen for
# each fault, and why it is safe, is in tests/README.md ("Faults").
#
#   full disk        a 64 KiB tmpfs (root only): the attempt is refused,
#                    ssh is not run, the ledger stays byte-identical
#   read-only state  the state directory on a read-only mount (root) or
#                    mode 0500 (others): refused, ssh not run
#   SIGKILL loop     safessh killed at random instants, 60 times: the
#                    ledger always parses, every ssh run was recorded
#                    first, nothing stays in flight
#   clock jumps      libfaketime moves the clock back an hour and forward
#                    a day against the same ledger: failures from the
#                    "future" still count, a forward jump forgets nothing
#   ssh missing      missing, not executable, a directory, safessh itself:
#                    exit 255, one line, nothing recorded
. "$(dirname "$0")/lib.sh"
t_init faults
STAND=$TOP/tests/regress/stand_ssh.sh
export SAFESSH_SSH=$STAND REAL_SSH STAND_LOG=$T/stand.log
mkdir -p "$T/keys"
ssh-keygen -q -t ed25519 -N '' -C right -f "$T/keys/right"
K=$T/keys/right
S=(-i "$K" -p 2222)
MNT=

cleanup() {
	local p
	if [ -n "$MNT" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	# Stand-ins orphaned by a killed safessh: their PIDs are in the log.
	awk '$1 == "run" { print $3 }' "$STAND_LOG" 2>/dev/null |
	    while read -r p; do
		kill "$p" 2>/dev/null
	    done
	t_cleanup
}
trap cleanup EXIT

# ledger_ok FILE: the ledger parses (safessh --status reads it) and
# nothing in it is damaged.
ledger_ok() {
	"$SAFESSH" --status >"$T/status" 2>&1 && ! grep -q damaged "$T/status"
}

# One line, exactly WANT (no raw control byte).
eq_line() {
	local desc=$1 want=$2 file=$3
	if [ "$(wc -l < "$file")" = 1 ] && [ "$(cat "$file")" = "$want" ]; then
		ok "$desc"
	else
		fail "$desc: want '$want', got '$(cat "$file")'"
	fi
}

# ------------------------------------------------------------ full disk
if [ "$(id -u)" = 0 ] && MNT=$T/mnt && mkdir "$MNT" &&
    mount -t tmpfs -o size=64k,mode=700 tmpfs "$MNT" 2>/dev/null; then
	export SAFESSH_STATE_DIR=$MNT/state
	L=$SAFESSH_STATE_DIR/servers/127.0.0.1
	"$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "full disk: (set-up) an attempt on an empty tmpfs" 0 $?
	# A ledger that ends exactly on a page boundary: any append needs
	# a new page of the tmpfs.
	now=$(date +%s)
	python3 - "$L" "$now" <<'EOF'
import sys
path, now = sys.argv[1], int(sys.argv[2])
out = "safessh-ledger 1 127.0.0.1\n"
i = 1
while 4096 - len(out) > 400:
	out += "a %d %d 1 0 h w\ns %d %d ok\n" % (i, now - 100, i, now - 99)
	i += 1
s = "s %d %d ok\n" % (i, now - 99)
a = "a %d %d 1 0 %%s %%s\n" % (i, now - 100)
pad = 4096 - len(out) - len(s) - len(a % ("", ""))
out += (a % ("h" * 200, "w" * (pad - 200))) + s
assert len(out) == 4096
open(path, "w").write(out)
EOF
	cp "$L" "$T/ledger.before"
	dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
	avail=$(df --output=avail "$MNT" | tail -1 | tr -d ' ')
	eq "full disk: the tmpfs is full" 0 "$avail"

	: > "$STAND_LOG"
	"$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "full disk, existing ledger: refused with 255" 255 $?
	eq_line "full disk, existing ledger: the message" \
	    "safessh: ledger $L: No space left on device; attempt not recorded" \
	    "$T/err"
	check "full disk, existing ledger: ssh was not run" \
	    test "$(grep -c '^run ' "$STAND_LOG")" = 0
	check "full disk, existing ledger: the ledger is byte-identical" \
	    cmp -s "$L" "$T/ledger.before"

	: > "$STAND_LOG"
	"$SAFESSH" "${S[@]}" 127.0.0.2 true 2>"$T/err"
	eq "full disk, new server: refused with 255" 255 $?
	eq_line "full disk, new server: the message" \
	    "safessh: ledger $SAFESSH_STATE_DIR/servers/127.0.0.2: No space left on device; attempt not recorded" \
	    "$T/err"
	check "full disk, new server: ssh was not run" \
	    test "$(grep -c '^run ' "$STAND_LOG")" = 0
	check "full disk: the other server's ledger is byte-identical" \
	    cmp -s "$L" "$T/ledger.before"

	rm -f "$MNT/fill"
	"$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "full disk, space freed: the next attempt runs" 0 $?
	check "full disk, space freed: the ledger parses" ledger_ok
	"$SAFESSH" "${S[@]}" 127.0.0.2 true 2>"$T/err"
	eq "full disk, space freed: the new server's empty ledger is fine" 0 $?

	# ------------------------------------------------ read-only state
	cp "$L" "$T/ledger.before"
	mount -o remount,ro "$MNT"
	: > "$STAND_LOG"
	"$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "read-only state: refused with 255" 255 $?
	eq_line "read-only state: the message" \
	    "safessh: $L: Read-only file system" "$T/err"
	check "read-only state: ssh was not run" \
	    test "$(grep -c '^run ' "$STAND_LOG")" = 0
	SAFESSH_STATE_DIR=$MNT/fresh "$SAFESSH" "${S[@]}" 127.0.0.1 true \
	    2>"$T/err"
	eq "read-only state, no state directory yet: refused with 255" 255 $?
	eq_line "read-only state, no state directory yet: the message" \
	    "safessh: $MNT/fresh: Read-only file system" "$T/err"
	mount -o remount,rw "$MNT"
	check "read-only state: the ledger is byte-identical" \
	    cmp -s "$L" "$T/ledger.before"
	umount "$MNT"
	MNT=
else
	skip "full disk - needs root (mount -t tmpfs)"
	skip "read-only state (read-only mount) - needs root"
fi

# -------------------------------------------------------- SIGKILL loop
export SAFESSH_STATE_DIR=$T/state
cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
policy = loose
parallel = 64
[policy loose]
max_failures = 1000
window = 1m
EOF
: > "$STAND_LOG"
killed=0
for _ in $(seq 60); do
	STAND_SLEEP=0.$((RANDOM % 3)) "$SAFESSH" "${S[@]}" 127.0.0.1 true \
	    2>/dev/null &
	pid=$!
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
done
sleep 0.5	# orphaned stand-ins finish (they sleep at most 0.2 s)
L=$SAFESSH_STATE_DIR/servers/127.0.0.1
check "SIGKILL loop: safessh was killed mid-run ($killed of 60 times)" \
    test "$killed" -gt 10
check "SIGKILL loop: the ledger parses" ledger_ok
missing=0
while read -r id; do
	grep -q "^a $id " "$L" || missing=$((missing + 1))
done < <(sed -n 's/.* --authed 127\.0\.0\.1 \([0-9]*\) .*/\1/p' "$STAND_LOG")
runs=$(grep -c '^run ' "$STAND_LOG")
eq "SIGKILL loop: every one of $runs ssh runs was recorded first" 0 \
    "$missing"
inflight=$(awk '$1 == "a" { st[$2] = "inflight" } $1 == "s" { st[$2] = $4 }
    END { n = 0; for (i in st) if (st[i] == "inflight") n++; print n }' "$L")
eq "SIGKILL loop: no attempt stays in flight after its process died" 0 \
    "$inflight"
lost=$(awk '$1 == "s" { st[$2] = $4 } END { n = 0
    for (i in st) if (st[i] == "lost") n++; print n }' "$L")
check "SIGKILL loop: killed attempts are settled as lost ($lost)" \
    test "$lost" -gt 0
"$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
eq "SIGKILL loop: the next attempt runs normally" 0 $?

# ---------------------------------------------------------- clock jumps
FT=
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1
do
	[ -f "$f" ] && { FT=$f; break; }
done
# at OFFSET CMD...: run CMD with the clock moved by OFFSET (libfaketime).
at() {
	local off=$1
	shift
	LD_PRELOAD=${LD_PRELOAD:+$LD_PRELOAD:}$FT FAKETIME=$off \
	    FAKETIME_DONT_FAKE_MONOTONIC=1 "$@"
}
if [ -n "$FT" ]; then
	export SAFESSH_STATE_DIR=$T/clock
	printf '[defaults]\npolicy = sshguard\n' > "$SAFESSH_CONFIG"
	L=$SAFESSH_STATE_DIR/servers/127.0.0.1
	y=$(at +365d date +%Y)
	eq "clock: libfaketime moves the clock (a year ahead: $y)" \
	    $(($(date +%Y) + 1)) "$y"
	for _ in 1 2; do
		STAND_STATUS=255 \
		    STAND_STDERR='u@127.0.0.1: Permission denied (publickey).\r\n' \
		    "$SAFESSH" "${S[@]}" 127.0.0.1 true 2>/dev/null
	done
	eq "clock: two failures recorded" 2 "$(grep -c ' authfail$' "$L")"
	"$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "clock: now, a third attempt is refused (sshguard: 2 in 30m)" \
	    75 $?
	: > "$STAND_LOG"
	at -1h "$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "clock back 1h: the failures from the 'future' still count" 75 $?
	at -7d "$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "clock back 7d: still refused" 75 $?
	check "clock back: ssh was not run" \
	    test "$(grep -c '^run ' "$STAND_LOG")" = 0
	check "clock back: the ledger parses" ledger_ok
	at +1d "$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "clock forward 1d: the failures have aged out; admitted" 0 $?
	"$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "clock back to now: the same failures count again; refused" 75 $?
	check "clock back to now: the ledger (ids from the 'future') parses" \
	    ledger_ok
	ids=$(awk '$1 == "a" { print $2 }' "$L")
	check "clock: attempt ids still ascend" \
	    test "$ids" = "$(printf '%s\n' "$ids" | sort -n)"
	# An attempt in flight seen from a clock past LOGIN_GRACE is lost:
	# counted as a failure while it runs, settled when it ends.
	export SAFESSH_STATE_DIR=$T/clock2
	printf '[defaults]\npolicy = loose\n[policy loose]\nmax_failures = 100\nwindow = 1m\n' \
	    > "$SAFESSH_CONFIG"
	L=$SAFESSH_STATE_DIR/servers/127.0.0.1
	: > "$STAND_LOG"
	STAND_SLEEP=3 "$SAFESSH" "${S[@]}" 127.0.0.1 true 2>/dev/null &
	pid=$!
	for _ in $(seq 100); do
		grep -q '^run ' "$STAND_LOG" && break
		sleep 0.05
	done
	at +10m "$SAFESSH" --status >/dev/null 2>&1
	# A live process's attempt is never lost, however long it runs.
	check "clock forward 10m, mid-run: the running attempt is not lost" \
	    not grep -q ' lost$' "$L"
	wait "$pid"
	eq "clock forward mid-run: the run itself still succeeds" 0 $?
	last=$(awk '$1 == "s" { st = $4 } END { print st }' "$L")
	eq "clock forward mid-run: its real outcome is recorded last" ok \
	    "$last"
	check "clock forward mid-run: the ledger parses" ledger_ok
else
	skip "clock jumps - needs libfaketime (Debian package faketime)"
fi

# ------------------------------------------------- ssh missing or not ok
export SAFESSH_STATE_DIR=$T/nossh
: > "$SAFESSH_CONFIG"
printf '#!/bin/sh\nexit 0\n' > "$T/noexec"
chmod 644 "$T/noexec"
mkdir "$T/sshdir"
for c in "missing:$T/nonexistent:No such file or directory" \
    "not executable:$T/noexec:Permission denied"; do
	IFS=: read -r what path err <<<"$c"
	SAFESSH_SSH=$path "$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
	eq "ssh $what: exit 255" 255 $?
	eq_line "ssh $what: the message" \
	    "safessh: cannot run ssh $path: $err" "$T/err"
	check "ssh $what: nothing recorded" \
	    test ! -e "$SAFESSH_STATE_DIR/servers/127.0.0.1"
done
SAFESSH_SSH=$SAFESSH "$SAFESSH" "${S[@]}" 127.0.0.1 true 2>"$T/err"
eq "ssh is safessh itself: exit 255" 255 $?
eq_line "ssh is safessh itself: the message" \
    "safessh: ssh $SAFESSH is safessh itself" "$T/err"
mkdir -p "$T/bin"
ln -s "$SAFESSH" "$T/bin/ssh"
env -u SAFESSH_SSH PATH="$T/bin" "$SAFESSH" "${S[@]}" 127.0.0.1 true \
    2>"$T/err"
eq "PATH holds only safessh as ssh: exit 255" 255 $?
eq_line "PATH holds only safessh as ssh: the message" \
    "safessh: no ssh found on PATH (set SAFESSH_SSH)" "$T/err"
check "no ssh: nothing recorded" \
    test ! -e "$SAFESSH_STATE_DIR/servers/127.0.0.1"

# ssh killed by a signal: safessh dies the same way; recorded, not lost.
# (in a quiet bash: the parent shell would report "Killed")
rc=$(STAND_STATUS=signal:KILL bash -c '"$@" 2>/dev/null; echo $?' _ \
    "$SAFESSH" "${S[@]}" 127.0.0.1 true 2>/dev/null)
eq "ssh killed by SIGKILL: safessh dies by SIGKILL too" 137 "$rc"
# Default-deny: a death before authentication may have been a failed login.
check "ssh killed by SIGKILL: recorded as unknown (a failure)" \
    grep -q ' unknown$' "$SAFESSH_STATE_DIR/servers/127.0.0.1"

t_done
