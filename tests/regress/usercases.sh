#!/bin/bash
# usercases.sh: small things users do (issue 11), each checked against
# the behaviour before the fix: riding the user's own live master needs
# no key; the user's own LocalCommand runs under the user's $SHELL; an
# "ssh" shim that runs safessh again is a loop, refused by name at once,
# while a shim that runs the real ssh is fine.
. "$(dirname "$0")/lib.sh"
t_init usercases
t_keys
t_sshd
{
	echo "Host t"
	echo "	HostName 127.0.0.1"
	echo "	Port $PORT"
	cat "$HOME/.ssh/config"
} > "$HOME/.ssh/config.new"
mv "$HOME/.ssh/config.new" "$HOME/.ssh/config"
{
	echo "[host t]"
	echo "server = sv"
} > "$SAFESSH_CONFIG"
CTL=$T/ctl

# The user's own master (plain ssh, the right key); safessh has no key
# for t, and rides on the master: no new connection, no key asked for.
ssh -o IdentitiesOnly=yes -i "$T/keys/right" -M -S "$CTL" \
    -o ControlPersist=60 -fN t
own=$(ssh -S "$CTL" -O check t 2>&1 | sed -n 's/.*(pid=\([0-9]*\)).*/\1/p')
[ -n "$own" ] && _pids+=("$own")
c0=$(t_conns)
out=$("$SAFESSH" -S "$CTL" -o ControlMaster=no t echo rode 2>&1)
eq "user's master: the call rides on it" rode "$out"
eq "user's master: no new connection" 0 "$(($(t_conns) - c0))"
ssh -S "$CTL" -O exit t 2>/dev/null
# Without the master it is a connection of its own: then a key is due.
out=$("$SAFESSH" -S "$CTL" -o ControlMaster=no t true 2>&1)
check "no master: a key is asked for" grep -q "no key" <<<"$out"
eq "no master: no connection" 0 "$(($(t_conns) - c0))"

# The user's LocalCommand runs under the user's shell.
printf '[host t]\nserver = sv\nidentity = %s\n' "$T/keys/right" \
    > "$SAFESSH_CONFIG"
cat > "$T/myshell" <<SH
#!/bin/sh
echo "\$@" >> "$T/myshell.log"
exec /bin/sh "\$@"
SH
chmod 755 "$T/myshell"
SHELL=$T/myshell "$SAFESSH" -o PermitLocalCommand=yes \
    -o "LocalCommand=echo lc > $T/lc.out" t true
check "LocalCommand ran" test -s "$T/lc.out"
check "LocalCommand ran under \$SHELL" grep -q "lc.out" "$T/myshell.log"

# A shim named ssh first on PATH that runs safessh again: a loop.
mkdir -p "$T/bin" "$T/bin2"
printf '#!/bin/sh\nexec %s "$@"\n' "$SAFESSH" > "$T/bin/ssh"
printf '#!/bin/sh\nexec %s "$@"\n' "$REAL_SSH" > "$T/bin2/ssh"
chmod 755 "$T/bin/ssh" "$T/bin2/ssh"
for args in "t true" "-G t"; do
	# shellcheck disable=SC2086
	out=$(PATH=$T/bin:$PATH timeout 60 "$SAFESSH" $args 2>&1)
	rc=$?
	eq "shim loop ($args): ends with 255" 255 "$rc"
	eq "shim loop ($args): one line" 1 "$(wc -l <<<"$out")"
	check "shim loop ($args): names the shim" grep -q "loop: $T/bin/ssh" \
	    <<<"$out"
done
out=$(PATH=$T/bin2:$PATH timeout 120 "$SAFESSH" t echo fine 2>&1)
eq "shim of the real ssh: works (exit $?)" fine "$out"

t_done
