#!/bin/bash
# paramiko.sh: safessh --proxy under clients that offer many keys (issue
# 11 item 2), with the sshd log (LogLevel VERBOSE) and the ledger as
# witnesses:
#   1. paramiko with its defaults (look_for_keys=True, allow_agent=True),
#      an agent of 6 wrong keys and 2 wrong ~/.ssh/id_* files, through
#      sock=paramiko.ProxyCommand("safessh --proxy 127.0.0.1 PORT"): 10
#      connection tests reach the server at most twice, the rest are
#      refused locally (exit 75, the one-line refusal); without the proxy
#      (the control) all 10 reach it; after --forget a correct paramiko
#      call succeeds and is recorded ok;
#   2. plain ssh with the same agent behind ProxyCommand safessh --proxy:
#      at most 2 of 10 reach the server, recorded authfail (the worst
#      case, not noauth), with the "several keys" line; the same (5 calls)
#      with a cipher and MAC whose sizes the proxy cannot read
#      (aes128-ctr, umac-64-etm);
#   3. a correct plain ssh call with one key through the proxy is recorded
#      ok (the worst-case rule does not eat good logins), and a wrong one
#      authfail, for each of chacha20-poly1305, aes128-gcm and aes128-ctr
#      with hmac-sha2-256 (paramiko's choice).
# shellcheck source=tests/regress/lib.sh
. "$(dirname "$0")/lib.sh"
t_init paramiko
# Debian's python3-paramiko: python3 on PATH may be another interpreter.
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import paramiko' 2>/dev/null; then
	skip "paramiko: needs /usr/bin/python3 with python3-paramiko"
	t_done
	exit
fi
t_keys
# An sshd with PerSourcePenalties (>= 9.8) would penalise the control runs
# below and refuse the later checks: switch it off where it exists.
mkdir -p "$T/sshd"
ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/hostkey"
PSP=()
if env -u LD_PRELOAD "$SSHD" -T -f /dev/null -h "$T/sshd/hostkey" \
    -o PerSourcePenalties=no >/dev/null 2>&1; then
	PSP=("PerSourcePenalties no")
fi
t_sshd "${PSP[@]}"
# The account's login shell runs "true": root's .bashrc on a shared box
# costs seconds (4-6 s under load, against 0.7 s for sh).  t_sshd_lean's
# sshd (under nss_wrapper: our HOME, /bin/sh) takes over, and the first
# one is stopped, so that one sshd serves the whole script.
t_sshd_lean
if [ -n "$LEANPORT" ]; then
	t_stop_sshd
	PORT=$LEANPORT SSHD_LOG=$T/sshd/log.lean
fi
t_agent 6
# Two wrong default identities, found by paramiko's look_for_keys and by
# ssh (nss_wrapper gives ssh our HOME).
cp "$T/keys/wrong7" "$HOME/.ssh/id_ed25519"
cp "$T/keys/wrong7.pub" "$HOME/.ssh/id_ed25519.pub"
ssh-keygen -q -t ecdsa -N '' -C wrong9 -f "$HOME/.ssh/id_ecdsa"
SV=127.0.0.1
PROXY="$SAFESSH --proxy 127.0.0.1 $PORT"

# The paramiko client: pk.py N PORT PROXYCMD|- KEY|- OUT makes N connection
# tests in a row (one process: importing paramiko costs more than a
# connection), each running "true", and prints one line per test:
# "I STATUS PROXYRC" with STATUS ok (authenticated, true ran), authfail
# (the server's banner came and authentication failed; paramiko says
# "Authentication failed" or, once sshd has cut it off after MaxAuthTries,
# "No existing session"), nobanner (no server banner: a refusing proxy)
# or other; the proxy's stderr goes to OUT.I.  Exit status: the last
# test's, 0 ok, 1 authfail, 2 anything else.  KEY given: only that key
# (look_for_keys=False, allow_agent=False); "-": paramiko's defaults.
#
# Debian 12's paramiko (2.12) does not notice that its ProxyCommand exited:
# ProxyCommand.recv() loops on the dead pipe until banner_timeout (15 s).
# So that ten refusals do not cost 150 s, a watcher closes the client's
# transport once the proxy has exited (waitid WNOWAIT: the main thread
# still reaps it and reads its status).  Nothing else is changed: paramiko
# still ends every proxy with SIGTERM (ProxyCommand.close()), as it does
# for its users.
cat > "$T/pk.py" <<'EOF'
import os, sys, threading, paramiko

n, port, pcmd, key, out = sys.argv[1:6]
n, port = int(n), int(port)


def watch(sock, client, done):
    try:
        os.waitid(os.P_PID, sock.process.pid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:
        return
    while not done.is_set():
        t = client.get_transport()
        if t is not None:
            t.close()
        done.wait(0.05)


rc = 2
for i in range(n):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    sock = paramiko.ProxyCommand(pcmd) if pcmd != "-" else None
    done = threading.Event()
    if sock is not None:
        threading.Thread(target=watch, args=(sock, client, done),
                         daemon=True).start()
    kw = {}
    if key != "-":
        kw = dict(key_filename=key, look_for_keys=False, allow_agent=False)
    try:
        client.connect("127.0.0.1", port=port, sock=sock, **kw)
        _, stdout, _ = client.exec_command("true")
        st = "ok" if stdout.channel.recv_exit_status() == 0 else "other"
    except paramiko.AuthenticationException:
        st = "authfail"
    except Exception as e:
        t = client.get_transport()
        if t is None or not t.remote_version:
            st = "nobanner"
        elif not t.is_authenticated():
            st = "authfail"
        else:
            st = "other"
        print("# %d: %s: %s" % (i, type(e).__name__, e), file=sys.stderr)
    t = client.get_transport()
    client.close()
    done.set()
    prc = "-"
    if sock is not None:
        if t is not None:
            t.join(10)
        sock.process.wait()
        prc = str(sock.process.returncode)
        with open("%s.%d" % (out, i), "wb") as f:
            f.write(sock.process.stderr.read())
    print(i, st, prc, flush=True)
    rc = {"ok": 0, "authfail": 1}.get(st, 2)
sys.exit(rc)
EOF

# pk N PROXYCMD|- KEY|- NAME: run pk.py; its lines in $T/NAME, the
# proxy's stderr in $T/NAME.err.I, paramiko's own in $T/NAME.py.
pk() {
	timeout 300 "$PY" "$T/pk.py" "$1" "$PORT" "$2" "$3" "$T/$4.err" \
	    > "$T/$4" 2> "$T/$4.py"
}

# col NAME N: column N of pk's lines, space-separated.
col() {
	awk -v c="$2" '$1 ~ /^[0-9]+$/ { printf "%s%s", s, $c; s = " " }' \
	    "$T/$1"
}

# rep WORD N: WORD N times, space-separated.
rep() {
	local i r=""
	for ((i = 0; i < $2; i++)); do
		r="$r $1"
	done
	echo "${r# }"
}

# outs: each attempt's latest outcome, in the order they started.
outs() {
	[ -f "$(ledger)" ] || return 0
	awk '$1 == "a" { n++; id[n] = $2; o[$2] = "inflight" }
	    $1 == "s" { o[$2] = $4 }
	    END { for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? " " : ""),
		o[id[i]] }' "$(ledger)"
}

# settle: ssh does not wait for its ProxyCommand; give the proxies a
# moment to write their outcomes (and a reader to mark dead ones lost).
settle() {
	local end=$((SECONDS + 3))
	"$SAFESSH" --status "$SV" >/dev/null 2>&1
	while [ "$SECONDS" -lt "$end" ]; do
		case " $(outs) " in
		*" inflight "* | *" auth "*) sleep 0.1 ;;
		*) return 0 ;;
		esac
	done
}

RE_REFUSED="^safessh: $SV \\(server $SV\\): refused: .+; next attempt allowed at [0-9]{2}:[0-9]{2} \\(in [0-9dhms]+\\); 'safessh --check $SV' tries now, 'safessh --forget $SV' clears the history; see 'safessh --status $SV'\$"
RE_MANY="^safessh: $SV \\(server $SV\\): the client offered several keys in one connection"

# ---------------------------------------------------------------- 1.
echo "# 1. paramiko's defaults, 6 agent keys + 2 ~/.ssh/id_*, 10 tests"
fresh p1
c0=$(t_conns) o0=$(t_offers)
pk 10 "$PROXY" - p1
sts=$(col p1 2) prcs=$(col p1 3)
settle
echo "# statuses: $sts"
echo "# proxy exits: $prcs"
reached=$(($(t_conns) - c0))
check "paramiko, 10 tests through --proxy: at most 2 reach the server" \
    [ "$reached" -le 2 ]
check "... and at least one does (the witness is live)" [ "$reached" -ge 1 ]
eq "... each offered 6 keys (paramiko's defaults; sshd stops at 6)" \
    $((6 * reached)) $(($(t_offers) - o0))
eq "... paramiko saw an authentication failure on those" \
    "$(rep authfail "$reached")" \
    "$(echo "$sts" | cut -d' ' -f1-"$reached")"
nref=0 nmsg=0 nnob=0
for i in $(seq "$reached" 9); do
	[ "$(echo "$prcs" | cut -d' ' -f$((i + 1)))" = 75 ] &&
	    nref=$((nref + 1))
	[ "$(echo "$sts" | cut -d' ' -f$((i + 1)))" = nobanner ] &&
	    nnob=$((nnob + 1))
	[ "$(wc -l < "$T/p1.err.$i")" -eq 1 ] &&
	    grep -Eq "$RE_REFUSED" "$T/p1.err.$i" && nmsg=$((nmsg + 1))
done
eq "... the other $((10 - reached)): the proxy exits 75" \
    $((10 - reached)) "$nref"
eq "... each with the one-line refusal on its stderr" $((10 - reached)) \
    "$nmsg"
eq "... and paramiko saw no server banner" $((10 - reached)) "$nnob"
echo "# $(cat "$T/p1.err.9")"
eq "ledger: one attempt per connection, each authfail (the worst case)" \
    "$(rep authfail "$reached")" "$(outs)"
n=0
for i in $(seq 0 $((reached - 1))); do
	grep -Eq "$RE_MANY" "$T/p1.err.$i" && n=$((n + 1))
done
eq "the proxy said 'several keys' for each connection that reached it" \
    "$reached" "$n"

echo "# 1. control: the same 10 tests without the proxy"
c0=$(t_conns)
pk 10 - - p1c
eq "control: all 10 reach the server" 10 $(($(t_conns) - c0))
eq "control: paramiko saw 10 authentication failures" \
    "$(rep authfail 10)" "$(col p1c 2)"

echo "# 1. after --forget: a correct paramiko call through the proxy"
check "--forget $SV" sh -c "'$SAFESSH' --forget $SV >/dev/null 2>&1"
c0=$(t_conns) o0=$(t_offers)
pk 1 "$PROXY" "$T/keys/right" p1ok
eq "correct paramiko call through --proxy: success" "0 ok" \
    "$? $(col p1ok 2)"
eq "... one connection, one key" "1 1" \
    "$(($(t_conns) - c0)) $(($(t_offers) - o0))"
settle
eq "... recorded ok in the ledger" ok "$(outs)"
check "... no 'several keys' line" not grep -Eq "$RE_MANY" "$T/p1ok.err.0"

# ---------------------------------------------------------------- 2.
echo "# 2. plain ssh, 6 agent keys, ProxyCommand safessh --proxy, 10 calls"
fresh p2
c0=$(t_conns) o0=$(t_offers)
rcs=""
for i in $(seq 0 9); do
	timeout 60 ssh -F /dev/null "${SSHOPTS[@]}" -o "ProxyCommand=$PROXY" \
	    -p "$PORT" 127.0.0.1 true 2>"$T/p2.$i"
	rcs="$rcs $?"
done
rcs=${rcs# }
settle
echo "# exit statuses: $rcs"
reached=$(($(t_conns) - c0))
check "plain ssh, 10 calls through --proxy: at most 2 reach the server" \
    [ "$reached" -le 2 ]
check "... and at least one does" [ "$reached" -ge 1 ]
eq "... each offered 6 keys (MaxAuthTries)" $((6 * reached)) \
    $(($(t_offers) - o0))
n=0
for i in $(seq 0 $((reached - 1))); do
	grep -q 'Too many authentication failures' "$T/p2.$i" && n=$((n + 1))
done
eq "... ssh said 'Too many authentication failures' on those" \
    "$reached" "$n"
eq "ledger: authfail for each (not noauth)" \
    "$(rep authfail "$reached")" "$(outs)"
n=0
for i in $(seq 0 $((reached - 1))); do
	grep -Eq "$RE_MANY" "$T/p2.$i" && n=$((n + 1))
done
eq "the 'several keys' line for each connection that reached it" \
    "$reached" "$n"
nmsg=0
for i in $(seq "$reached" 9); do
	grep -Eq "$RE_REFUSED" "$T/p2.$i" && nmsg=$((nmsg + 1))
done
eq "the other $((10 - reached)): the refusal line on ssh's stderr" \
    $((10 - reached)) "$nmsg"
eq "all 10: ssh exits 255" "$(rep 255 10)" \
    "$rcs"

# The worst case where the proxy cannot read the sizes: aes128-ctr with
# umac-64-etm@openssh.com (ssh's first MAC) is not in lib/proxy.c's
# table, so nothing shows the turns; a connection that went past key
# exchange must still count as the failed login it could be.
echo "# 2b. the same through a cipher and MAC the proxy cannot size"
fresh p2b
c0=$(t_conns)
for i in $(seq 0 4); do
	timeout 60 ssh -F /dev/null "${SSHOPTS[@]}" -o "ProxyCommand=$PROXY" \
	    -c aes128-ctr -m umac-64-etm@openssh.com -p "$PORT" 127.0.0.1 \
	    true 2>"$T/p2b.$i"
done
settle
reached=$(($(t_conns) - c0))
echo "# ledger: $(outs)"
check "aes128-ctr + umac-64-etm, 5 calls: at most 2 reach the server" \
    [ "$reached" -le 2 ]
check "... recorded as failed logins (no noauth)" \
    not grep -q ' noauth$' "$(ledger)"

# ---------------------------------------------------------------- 3.
echo "# 3. one key through the proxy: ok when right, authfail when wrong"
for c in chacha20-poly1305@openssh.com aes128-gcm@openssh.com \
    aes128-ctr/hmac-sha2-256; do
	ci=${c%%/*} mac=()
	[ "$ci" != "$c" ] && mac=(-m "${c#*/}")
	fresh "p3-$ci"
	one=(ssh -F /dev/null "${SSHOPTS[@]}" -o "ProxyCommand=$PROXY"
	    -o IdentitiesOnly=yes -c "$ci" "${mac[@]}" -p "$PORT")
	c0=$(t_conns) o0=$(t_offers)
	timeout 60 "${one[@]}" -i "$T/keys/right" 127.0.0.1 true \
	    2>"$T/p3.err"
	rc=$?
	settle
	eq "$c: right key: exit 0, one connection, one key" "0 1 1" \
	    "$rc $(($(t_conns) - c0)) $(($(t_offers) - o0))"
	eq "$c: right key: recorded ok" ok "$(outs)"
	check "$c: right key: no 'several keys' line" \
	    not grep -Eq "$RE_MANY" "$T/p3.err"
	c0=$(t_conns) o0=$(t_offers)
	timeout 60 "${one[@]}" -i "$T/keys/wrong1" 127.0.0.1 true \
	    2>"$T/p3.err"
	rc=$?
	settle
	eq "$c: wrong key: exit 255, one connection, one key" "255 1 1" \
	    "$rc $(($(t_conns) - c0)) $(($(t_offers) - o0))"
	eq "$c: wrong key: recorded authfail" "ok authfail" "$(outs)"
	check "$c: wrong key: no 'several keys' line" \
	    not grep -Eq "$RE_MANY" "$T/p3.err"
done

t_done
