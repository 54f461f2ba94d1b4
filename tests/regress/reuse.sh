#!/bin/bash
# reuse.sh: connection reuse (issue 7) against a real sshd, its log as
# witness.  50 sequential commands authenticate once with reuse on and 50
# times with it off, with the same output and exit status; a master
# killed mid-run (SIGTERM, SIGKILL) is replaced by one new, admitted
# attempt and nothing hangs; a master that dies between the check and
# ssh (a fake one that refuses sessions) sends the call back through
# admission, and so do sessions beyond sshd's MaxSessions; forwarding
# calls make their own connection; --status shows masters, --forget
# closes them; scp, rsync and git ride on a master; the user's own
# ControlMaster setup is respected; an over-long state directory falls
# back to /tmp.
. "$(dirname "$0")/lib.sh"
t_init reuse
t_keys
t_sshd
LEDGER=$T/state/servers/127.0.0.1
TO=20	# no call may hang: each is bounded

conf() {
	cat > "$SAFESSH_CONFIG" <<EOF
[defaults]
reuse = $1

[host 127.0.0.1]
identity = $T/keys/right
port = $PORT
EOF
}

accepted() { grep -c 'Accepted publickey for' "$SSHD_LOG"; }
attempts() {
	if [ -f "$LEDGER" ]; then grep -c '^a ' "$LEDGER"; else echo 0; fi
}
# The pid of the live master safessh reports for the host ("" if none).
mpid() {
	"$SAFESSH" --status 127.0.0.1 |
	    sed -n 's/^live master: .*, pid \([0-9]*\), socket .*/\1/p' |
	    head -1
}
# The control socket safessh would use for the host.
cmpath() {
	"$SAFESSH" --dry-run 127.0.0.1 true |
	    sed -n 's/^reuse: .* at \(\/[^ ]*\).*/\1/p' | head -1
}
# Remember a master's pid so that t_cleanup stops it whatever happens.
own() { [ -n "$1" ] && _pids+=("$1"); }
gone() {
	local i
	for i in $(seq 200); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.01
	done
	return 1
}
# run N: one numbered call; its stdout, stderr and status go to $T/out.N
run() {
	timeout "$TO" "$SAFESSH" 127.0.0.1 \
	    "echo out-$1; echo err-$1 >&2; exit \$(($1 % 7))" \
	    >"$T/out.$1" 2>"$T/err.$1"
	echo "rc=$?" >> "$T/out.$1"
}

# ---------------------------------------------------------- reuse off
conf no
a0=$(accepted); l0=$(attempts)
for i in $(seq 50); do run "$i"; done
eq "reuse off: 50 calls authenticate 50 times" 50 $(($(accepted) - a0))
eq "reuse off: 50 attempts recorded" 50 $(($(attempts) - l0))
for i in 1 50; do
	cp "$T/out.$i" "$T/off.out.$i"
	cp "$T/err.$i" "$T/off.err.$i"
done
eq "reuse off: no master" "" "$(mpid)"

# ----------------------------------------------------------- reuse on
conf 5m
a0=$(accepted); l0=$(attempts)
for i in $(seq 50); do run "$i"; done
eq "reuse on: 50 calls authenticate once" 1 $(($(accepted) - a0))
eq "reuse on: one attempt recorded for the 50 calls" 1 \
    $(($(attempts) - l0))
for i in 1 50; do
	check "call $i: same output and status with and without reuse" \
	    cmp -s "$T/off.out.$i" "$T/out.$i"
	check "call $i: same stderr with and without reuse" \
	    cmp -s "$T/off.err.$i" "$T/err.$i"
done
eq "call 50's status" "rc=1" "$(tail -1 "$T/out.50")"
pid=$(mpid)
own "$pid"
check "--status shows the live master (pid $pid)" test -n "$pid"
check "the master is running" kill -0 "${pid:-0}"
sock=$(cmpath)
check "the control socket is a socket ($sock)" test -S "$sock"
eq "the socket directory is 0700" 700 "$(stat -c %a "$(dirname "$sock")")"
eq "the socket is ours, 0600" "$(id -u) 600" "$(stat -c '%u %a' "$sock")"
check "the socket path fits in sun_path with ssh's suffix" \
    test $((${#sock} + 17)) -lt 108
"$SAFESSH" --dry-run 127.0.0.1 true > "$T/dry"
check "--dry-run: rides on the master, not admitted" \
    grep -q '^decision: ride on the master' "$T/dry"
check "--dry-run: the mux client is guarded" \
    grep -q -- "ControlMaster=no -o ControlPath=$sock -o 'ProxyCommand=" \
    "$T/dry"
check "ssh -O check agrees" ssh -S "$sock" -O check 127.0.0.1 2>/dev/null

# stdin reaches the remote command through the master.
eq "stdin through the master" "hello" \
    "$(echo hello | timeout "$TO" "$SAFESSH" 127.0.0.1 cat)"

# A call that forwards a port makes its own connection: a forwarding
# asked through the master would outlive the call.
a0=$(accepted)
fw=$(t_port)
eq "a forwarding call runs" "fw" "$(timeout "$TO" "$SAFESSH" \
    -L "127.0.0.1:$fw:127.0.0.1:$PORT" 127.0.0.1 echo fw 2>/dev/null)"
eq "a forwarding call authenticates itself" 1 $(($(accepted) - a0))
check "its forwarding ended with it" \
    sh -c "! (exec 3<>/dev/tcp/127.0.0.1/$fw) 2>/dev/null"

# ------------------------------------------- a master killed mid-run
a0=$(accepted); l0=$(attempts)
for i in $(seq 20); do
	if [ "$i" = 11 ]; then
		kill -TERM "$pid"
		gone "$pid"
	fi
	run "$i"
done
bad=0
for i in $(seq 20); do
	grep -q "^out-$i\$" "$T/out.$i" &&
	    grep -q "^rc=$((i % 7))\$" "$T/out.$i" || bad=$((bad + 1))
done
eq "SIGTERM mid-run: all 20 calls ran, none hung" 0 "$bad"
eq "SIGTERM mid-run: one new authentication" 1 $(($(accepted) - a0))
eq "SIGTERM mid-run: one new attempt" 1 $(($(attempts) - l0))
pid2=$(mpid)
own "$pid2"
check "a new master replaced it ($pid -> $pid2)" \
    test -n "$pid2" -a "$pid2" != "$pid"

kill -KILL "$pid2"
gone "$pid2"
check "SIGKILL leaves a stale socket" test -S "$sock"
a0=$(accepted); l0=$(attempts)
run 100
eq "after SIGKILL: the call ran" "out-100 rc=2" \
    "$(tr '\n' ' ' < "$T/out.100" | sed 's/ $//')"
eq "after SIGKILL: it authenticated again" 1 $(($(accepted) - a0))
eq "after SIGKILL: as a new attempt" 1 $(($(attempts) - l0))
pid3=$(mpid)
own "$pid3"
check "after SIGKILL: a new master ($pid3)" \
    test -n "$pid3" -a "$pid3" != "$pid2"

# Stale socket cleaned by a look at it (--status), not only by a call.
kill -KILL "$pid3"
gone "$pid3"
"$SAFESSH" --status 127.0.0.1 > "$T/st"
check "--status: a dead master is not listed" \
    sh -c "! grep -q '^live master' '$T/st'"
check "--status removed the stale socket" test ! -e "$sock"

# ------------------------------- the master dies between check and use
# A fake master answers the alive check and refuses every session, as a
# master on its way out does: ssh falls back to a direct connection, the
# guard stops it before the network, and safessh starts over, admitted.
cat > "$T/fakemux.py" <<'PY'
import os, socket, struct, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
def note(w):
    with open(log, "a") as f:
        f.write(w + "\n")
def recvn(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b
def send(c, words, text=None):
    body = b"".join(struct.pack(">I", w) for w in words)
    if text is not None:
        body += struct.pack(">I", len(text)) + text
    c.sendall(struct.pack(">I", len(body)) + body)
note("ready")
while True:
    c, _ = s.accept()
    try:
        send(c, [1, 4])
        while True:
            p = recvn(c, struct.unpack(">I", recvn(c, 4))[0])
            t = struct.unpack(">I", p[:4])[0]
            if t == 1:
                continue
            rid = struct.unpack(">I", p[4:8])[0]
            if t == 0x10000004:
                note("alive")
                send(c, [0x80000005, rid, os.getpid()])
            elif t == 0x10000002:
                note("session")
                send(c, [0x80000003, rid], b"fake master refuses")
            else:
                send(c, [0x80000003, rid], b"unsupported")
    except (EOFError, OSError, struct.error):
        pass
    finally:
        c.close()
PY
: > "$T/fake.log"
python3 "$T/fakemux.py" "$sock" "$T/fake.log" &
fake=$!
own "$fake"
for i in $(seq 100); do grep -q ready "$T/fake.log" && break; sleep 0.05; done
a0=$(accepted); l0=$(attempts)
timeout "$TO" "$SAFESSH" 127.0.0.1 echo guarded > "$T/g.out" 2> "$T/g.err"
rc=$?
eq "master gone before use: the call still runs" "guarded 0" \
    "$(cat "$T/g.out") $rc"
check "the fake master was asked for a session" grep -q session "$T/fake.log"
check "the guard said why" \
    grep -q 'safessh: the shared connection is gone or full' "$T/g.err"
check "the guard ended ssh before its connection-closed noise" \
    sh -c "! grep -q -e kex_exchange_identification \
    -e 'Connection closed' '$T/g.err'"
eq "the fallback went through admission: one attempt" 1 \
    $(($(attempts) - l0))
eq "and authenticated once" 1 $(($(accepted) - a0))
kill "$fake"
wait "$fake" 2>/dev/null
rm -f "$sock"
check "no marker left behind" \
    sh -c "! ls '$T/state/cm/' | grep -q '^lost-'"

# A hung master (accepts, never answers) is not trusted, and ours is
# moved out of the way: the call proceeds as a new attempt.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
open(sys.argv[2], "w").write("ready\n")
time.sleep(120)' "$sock" "$T/hung.log" &
hung=$!
own "$hung"
for i in $(seq 100); do [ -s "$T/hung.log" ] && break; sleep 0.05; done
a0=$(accepted)
eq "hung master: the call runs" "hung-ok" \
    "$(timeout "$TO" "$SAFESSH" 127.0.0.1 echo hung-ok 2>/dev/null)"
eq "hung master: as a new connection" 1 $(($(accepted) - a0))
kill "$hung"
wait "$hung" 2>/dev/null
pid=$(mpid)
own "$pid"
check "hung master: replaced by a real one ($pid)" test -n "$pid"

# More sessions at once than the server allows on one connection (sshd's
# MaxSessions, 10 by default): the overflow is refused by the master and
# goes through admission as new connections; every call runs.
a0=$(accepted); l0=$(attempts)
par=()
for i in $(seq 15); do
	timeout 60 "$SAFESSH" 127.0.0.1 "sleep 4; echo par-$i" \
	    > "$T/par.$i" 2> "$T/parerr.$i" &
	par+=($!)
done
bad=0
for i in $(seq 15); do
	wait "${par[$((i - 1))]}" || bad=$((bad + 1))
	grep -qx "par-$i" "$T/par.$i" || bad=$((bad + 1))
done
eq "15 sessions at once: all ran" 0 "$bad"
extra=$(($(accepted) - a0))
check "15 sessions at once: some overflowed ($extra)" test "$extra" -ge 1
eq "15 sessions at once: each overflow was an admitted attempt" "$extra" \
    $(($(attempts) - l0))

# ------------------------------------------------ scp, rsync and git
head -c 2000000 /dev/urandom > "$T/data"
mkdir -p "$T/dst"
git init -q --bare -b main "$T/srv.git"
git -C "$T" init -q -b main work
git -C "$T/work" -c user.email=t@t -c user.name=t commit -q --allow-empty \
    -m one
url="ssh://127.0.0.1:$PORT$T/srv.git"
a0=$(accepted); l0=$(attempts)
check "scp -S safessh over the master" timeout 60 scp -q -S "$SAFESSH" \
    -P "$PORT" "$T/data" "127.0.0.1:$T/dst/scped"
check "scp: intact" cmp -s "$T/data" "$T/dst/scped"
check "rsync -e safessh over the master" timeout 60 rsync -a \
    -e "$SAFESSH" "$T/data" "127.0.0.1:$T/dst/rsynced"
check "rsync: intact" cmp -s "$T/data" "$T/dst/rsynced"
check "git push over the master" env GIT_SSH_COMMAND="$SAFESSH" \
    timeout 60 git -C "$T/work" push -q "$url" main
check "git clone over the master" env GIT_SSH_COMMAND="$SAFESSH" \
    timeout 60 git clone -q "$url" "$T/clone"
eq "git clone got the commit" 1 \
    "$(git -C "$T/clone" rev-list --count HEAD 2>/dev/null)"
eq "scp, rsync, git: no new authentication" 0 $(($(accepted) - a0))
eq "scp, rsync, git: no attempt recorded" 0 $(($(attempts) - l0))

# --forget closes the master.
"$SAFESSH" --forget 127.0.0.1 2> "$T/forget.err"
check "--forget says it closed the master" \
    grep -q 'closed 1 shared connection' "$T/forget.err"
check "--forget: the master's process is gone" gone "$pid"
check "--forget: the socket is gone" test ! -e "$sock"
eq "--forget: no live master" "" "$(mpid)"

# An explicit ControlMaster=no (scp and sftp pass it since OpenSSH 10.0)
# uses a live master but never starts one.
a0=$(accepted)
eq "ControlMaster=no with no master: runs" "cm-no" \
    "$(timeout "$TO" "$SAFESSH" -o ControlMaster=no 127.0.0.1 echo cm-no)"
eq "ControlMaster=no: authenticated" 1 $(($(accepted) - a0))
eq "ControlMaster=no: no master started" "" "$(mpid)"
a0=$(accepted)
check "scp with no master" timeout 60 scp -q -S "$SAFESSH" -P "$PORT" \
    "$T/data" "127.0.0.1:$T/dst/scp2"
eq "scp with no master: authenticated" 1 $(($(accepted) - a0))
pid=$(mpid)
if grep -q -a 'ControlMaster=no' "$(command -v scp)"; then
	eq "scp (passes ControlMaster=no) started no master" "" "$pid"
else
	skip "this scp does not pass ControlMaster=no: its call may start one"
	own "$pid"
	if [ -n "$pid" ]; then
		kill "$pid"
		gone "$pid"
	fi
fi

# ---------------------------------------- the user's own ControlMaster
# (with reuse on: the user's setup wins, safessh starts no master)
conf 5m
cat >> "$SAFESSH_CONFIG" <<EOF

[host site]
hostname = 127.0.0.1
identity = $T/keys/right
port = $PORT
EOF
mkdir -m 700 "$T/uctl"
cat >> "$HOME/.ssh/config" <<EOF
Host site
	ControlMaster auto
	ControlPath $T/uctl/%C
	ControlPersist 60
EOF
a0=$(accepted); l0=$(attempts)
eq "user's master: first call" "u1" \
    "$(timeout "$TO" "$SAFESSH" site echo u1 2>/dev/null)"
eq "user's master: second call" "u2" \
    "$(timeout "$TO" "$SAFESSH" site echo u2 2>/dev/null)"
eq "user's master: one authentication" 1 $(($(accepted) - a0))
eq "user's master: the second call was not counted" 1 \
    $(($(attempts) - l0))
"$SAFESSH" --status site > "$T/st"
upid=$(sed -n \
    's/^live master: .*, pid \([0-9]*\), socket .*(your ControlPath)$/\1/p' \
    "$T/st")
own "$upid"
check "--status shows the user's master ($upid)" test -n "$upid"
check "its socket is the user's ControlPath" \
    grep -q "socket $T/uctl/" "$T/st"
check "no socket of safessh's own" \
    sh -c "! ls '$T/state/cm' | grep -qv -e '\\.note\$' -e '^lost-'"
"$SAFESSH" --forget site 2> "$T/forget.err"
check "--forget leaves the user's master open" kill -0 "${upid:-0}"
check "--forget says so" grep -q 'your own master' "$T/forget.err"
kill "$upid" 2>/dev/null
gone "$upid"
# Put the user's ssh_config back.
head -n 4 "$HOME/.ssh/config" > "$T/cfg" && cp "$T/cfg" "$HOME/.ssh/config"

# ------------------------------------- a state directory too long for
# a Unix socket: the sockets go to /tmp/safessh-UID (0700, ours).
long=$T/$(printf 'd%.0s' $(seq 90))
mkdir -m 700 "$long"
conf 1m
p=$(SAFESSH_STATE_DIR=$long cmpath)
case $p in
/tmp/safessh-"$(id -u)"/*) ok "long state dir: socket in /tmp/safessh-UID" ;;
*) fail "long state dir: socket in /tmp/safessh-UID ($p)" ;;
esac
eq "the fallback directory is 0700 and ours" "$(id -u) 700" \
    "$(stat -c '%u %a' "$(dirname "${p:-/nonexistent}")" 2>/dev/null)"
eq "long state dir: a call works" "long-ok" \
    "$(SAFESSH_STATE_DIR=$long timeout "$TO" "$SAFESSH" 127.0.0.1 \
    echo long-ok 2>/dev/null)"
lpid=$(SAFESSH_STATE_DIR=$long mpid)
own "$lpid"
check "long state dir: the master is live ($lpid)" test -n "$lpid"
SAFESSH_STATE_DIR=$long "$SAFESSH" --forget 127.0.0.1 2>/dev/null
check "long state dir: --forget closed it" gone "${lpid:-0}"

eq "no call hung (timeout status 124 never seen)" 0 \
    "$(cat "$T"/out.* | grep -c '^rc=124$')"
t_done
