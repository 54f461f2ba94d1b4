#!/bin/bash
# tools.sh: git, rsync and scp through safessh against a real sshd, with
# an agent full of wrong keys; checksums compared, one key per connection.
. "$(dirname "$0")/lib.sh"
t_init tools
t_keys
t_sshd
t_agent 6
cat > "$SAFESSH_CONFIG" <<EOF
[host 127.0.0.1]
identity = $T/keys/right
EOF

# A bare repository on the "server" (same machine, same user).
git init -q --bare -b main "$T/srv.git"
git -C "$T" init -q -b main work
git -C "$T/work" -c user.email=t@t -c user.name=t commit -q --allow-empty -m one
url="ssh://127.0.0.1:$PORT$T/srv.git"

export GIT_SSH=$SAFESSH
unset GIT_SSH_VARIANT
o0=$(t_offers); c0=$(t_conns)
check "git push over GIT_SSH=safessh" git -C "$T/work" push -q "$url" main
check "git clone over GIT_SSH=safessh" git clone -q "$url" "$T/clone1"
eq "git over GIT_SSH: one key per connection" \
    $(($(t_conns) - c0)) $(($(t_offers) - o0))
unset GIT_SSH

export GIT_SSH_COMMAND=$SAFESSH
git -C "$T/work" -c user.email=t@t -c user.name=t commit -q --allow-empty -m two
o0=$(t_offers); c0=$(t_conns)
check "git push over GIT_SSH_COMMAND=safessh" git -C "$T/work" push -q "$url" main
check "git clone over GIT_SSH_COMMAND=safessh" git clone -q "$url" "$T/clone2"
eq "git clone got both commits" 2 "$(git -C "$T/clone2" rev-list --count HEAD 2>/dev/null)"
eq "git over GIT_SSH_COMMAND: one key per connection" \
    $(($(t_conns) - c0)) $(($(t_offers) - o0))
unset GIT_SSH_COMMAND
check "git with core.sshCommand=safessh" \
    git -c core.sshCommand="$SAFESSH" clone -q "$url" "$T/clone3"

head -c 4000000 /dev/urandom > "$T/data"
mkdir -p "$T/dst"
o0=$(t_offers); c0=$(t_conns)
check "rsync -e safessh" rsync -a -e "$SAFESSH -p $PORT" "$T/data" \
    "127.0.0.1:$T/dst/rsynced"
check "rsync: checksums match" cmp -s "$T/data" "$T/dst/rsynced"
check "scp -S safessh" scp -q -S "$SAFESSH" -P "$PORT" "$T/data" \
    "127.0.0.1:$T/dst/scped"
check "scp: checksums match" cmp -s "$T/data" "$T/dst/scped"
check "scp -S safessh (download)" scp -q -S "$SAFESSH" -P "$PORT" \
    "127.0.0.1:$T/dst/scped" "$T/back"
check "scp download: checksums match" cmp -s "$T/data" "$T/back"
eq "rsync and scp: one key per connection" \
    $(($(t_conns) - c0)) $(($(t_offers) - o0))
eq "no key was refused" 0 "$(grep -c 'Failed publickey' "$SSHD_LOG")"

t_done
