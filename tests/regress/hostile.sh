#!/bin/bash
# hostile.sh: G5 as a table.  Hostile host names, user names, ports, -J
# hops and ssh:// URIs (the shapes of CVE-2017-1000117 and
# CVE-2023-51385, NUL, newline, terminal escapes, over-long values),
# hostile config files and hostile state directories.
#
# Each row asserts: the exit status (255, or 75 where the ledger refuses),
# the exact one-line message on stderr, that the message holds no raw
# control byte (nothing reaches the terminal unescaped), and that ssh was
# never run (the stand-in ssh, tests/regress/stand_ssh.sh, logs every
# call).  Most rows are refused before even "ssh -G" is asked about the
# destination; rows marked "probe" may have asked it (it connects to
# nothing), never more.
# shellcheck disable=SC2016 # the $(...) and backquotes are the input
. "$(dirname "$0")/lib.sh"
t_init hostile
STAND=$TOP/tests/regress/stand_ssh.sh
export SAFESSH_SSH=$STAND REAL_SSH STAND_LOG=$T/stand.log
mkdir -p "$T/keys"
ssh-keygen -q -t ed25519 -N '' -C right -f "$T/keys/right"
K=$T/keys/right
SD=$T/state
ncase=0

# conf TEXT: the config file holds TEXT (printf %b escapes), mode 0600.
conf() {
	printf '%b' "$1" > "$SAFESSH_CONFIG"
	chmod 600 "$SAFESSH_CONFIG"
}

# row [probe] [rc=N] DESC WANT ARGS...: run safessh ARGS; check the row.
row() {
	local probe=0 want_rc=255 desc want rc line
	[ "$1" = probe ] && { probe=1; shift; }
	case $1 in rc=*) want_rc=${1#rc=}; shift ;; esac
	desc=$1 want=$2
	shift 2
	ncase=$((ncase + 1))
	: > "$STAND_LOG"
	SAFESSH_STATE_DIR=$SD timeout 20 "$SAFESSH" "$@" \
	    </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	line=$(cat "$T/err")
	if [ "$rc" != "$want_rc" ]; then
		fail "$desc: exit $rc, want $want_rc (stderr: $line)"
	elif [ "$(wc -l < "$T/err")" != 1 ] || [ "$line" != "$want" ]; then
		fail "$desc: want '$want', got '$line'"
	elif LC_ALL=C tr -d '\n' < "$T/err" | LC_ALL=C grep -q '[[:cntrl:]]'
	then
		fail "$desc: a raw control byte in the message"
	elif grep -q '^run ' "$STAND_LOG"; then
		fail "$desc: ssh was run"
	elif [ "$probe" = 0 ] && [ -s "$STAND_LOG" ]; then
		fail "$desc: ssh was asked (-G) before the refusal"
	elif [ -s "$T/out" ]; then
		fail "$desc: wrote to stdout"
	else
		ok "$desc"
	fi
}

L64() { printf "%${1}s" '' | tr ' ' "$2"; }
LONG2000=$(L64 2000 a)
P64=$(L64 64 a)
conf ''

# ------------------------------------------------------------ host names
row "host: CVE-2017-1000117 ssh://-oProxyCommand=..." \
    'safessh: invalid host name "-oProxyCommand=touch${IFS}pwn": leading '"'-'" \
    -i "$K" 'ssh://-oProxyCommand=touch${IFS}pwn/'
row "host: ssh://user@-oProxyCommand=..." \
    'safessh: invalid host name "-oProxyCommand=x": leading '"'-'" \
    -i "$K" 'ssh://x@-oProxyCommand=x'
row "host: leading '-' after --" \
    'safessh: invalid host name "-oProxyCommand=x": leading '"'-'" \
    -i "$K" -- -oProxyCommand=x
row "host: a lone '-'" \
    'safessh: invalid host name "-": leading '"'-'" -i "$K" -
row "host: empty" 'safessh: invalid host name "": empty' -i "$K" ''
row "host: empty after user@" 'safessh: invalid host name "": empty' \
    -i "$K" 'u@'
row "host: ';' (shell)" \
    'safessh: invalid host name "host;id": contains '"';'" -i "$K" 'host;id'
row "host: whitespace" \
    'safessh: invalid host name "ho st": contains whitespace' -i "$K" 'ho st'
row "host: newline" \
    'safessh: invalid host name "host\nx": contains whitespace' \
    -i "$K" $'host\nx'
row "host: terminal escape (CSI)" \
    'safessh: invalid host name "host\x1b[31m": contains a control character' \
    -i "$K" $'host\e[31m'
row "host: over-long (2000 bytes)" \
    "safessh: invalid host name \"$P64\"...: too long (over 1025 bytes)" \
    -i "$K" "$LONG2000"
row "host: ssh:// host with ';'" \
    'safessh: invalid host name "h;id": contains '"';'" \
    -i "$K" 'ssh://u@h;id:22'
row "host: ssh:// host with %00 (NUL)" \
    "safessh: invalid host name \"h%00x\": an ssh:// host holds only letters, digits, '.', '-' and '_'" \
    -i "$K" 'ssh://h%00x'
row "host: -o HostName=-oProxyCommand=..." \
    'safessh: invalid host name "-oProxyCommand=x": leading '"'-'" \
    -i "$K" -o 'HostName=-oProxyCommand=x' host

# ------------------------------------------------------------ user names
row "user: CVE-2023-51385 \$(...) in ssh:// user" \
    'safessh: invalid user name "u$(id)": contains '"'\$'" \
    -i "$K" 'ssh://u$(id)@h'
row "user: CVE-2023-51385 backquotes in ssh:// user" \
    'safessh: invalid user name "u`id`": contains a backquote' \
    -i "$K" 'ssh://u`id`@h'
row "user: %3b (';') decoded from ssh:// user" \
    'safessh: invalid user name "u;id": contains '"';'" \
    -i "$K" 'ssh://u%3bid@h'
row "user: %00 (NUL) in ssh:// user" \
    'safessh: invalid destination "ssh://u%00x@h": bad %-escape in the user name' \
    -i "$K" 'ssh://u%00x@h'
row "user: %0a (newline) in ssh:// user" \
    'safessh: invalid user name "u\nx": contains whitespace' \
    -i "$K" 'ssh://u%0ax@h'
row "user: %1b (terminal escape) in ssh:// user" \
    'safessh: invalid user name "u\x1b[2Jx": contains a control character' \
    -i "$K" 'ssh://u%1b[2Jx@h'
row "user: leading '-' (-l)" \
    'safessh: invalid user name "-oProxyCommand=x": leading '"'-'" \
    -i "$K" -l -oProxyCommand=x host
row "user: ';' in user@host" \
    'safessh: invalid user name "u;id": contains '"';'" -i "$K" 'u;id@h'
row "user: '|' in ssh:// user" \
    'safessh: invalid user name "u|x": contains '"'|'" -i "$K" 'ssh://u|x@h'
row "user: OSC escape and BEL (-l)" \
    'safessh: invalid user name "u\x1b]0;t\x07": contains a control character' \
    -i "$K" -l $'u\e]0;t\a' h
row "user: -o User=\$(id)" \
    'safessh: invalid user name "$(id)": contains '"'\$'" \
    -i "$K" -o 'User=$(id)' h
row "user: over-long (2000 bytes)" \
    "safessh: invalid user name \"$(L64 64 u)\"...: too long (over 1025 bytes)" \
    -i "$K" -l "$(L64 2000 u)" h
row "user: empty before @" \
    'safessh: invalid destination "@h": empty user name' -i "$K" '@h'

# ----------------------------------------------------------------- ports
row "port: 0" 'safessh: invalid port "0": out of range (1-65535)' \
    -i "$K" -p 0 host
row "port: 65536" 'safessh: invalid port "65536": out of range (1-65535)' \
    -i "$K" -p 65536 host
row "port: -1" 'safessh: invalid port "-1": not a number' -i "$K" -p -1 host
row "port: 22 followed by a newline" \
    'safessh: invalid port "22\n": not a number' -i "$K" -p $'22\n' host
row "port: 20 digits" \
    'safessh: invalid port "99999999999999999999": out of range (1-65535)' \
    -i "$K" -p 99999999999999999999 host
row "port: -o Port=22;id" 'safessh: invalid port "22;id": not a number' \
    -i "$K" -o 'Port=22;id' h
row "port: ssh://h:0" 'safessh: invalid port "0": out of range (1-65535)' \
    -i "$K" 'ssh://h:0'

# ------------------------------------------------------------ -J hops
row "-J: leading '-'" \
    'safessh: invalid -J hop "-oProxyCommand=x": invalid host name "-oProxyCommand=x": leading '"'-'" \
    -i "$K" -J -oProxyCommand=x host
row "-J: the third hop starts with '-'" \
    'safessh: invalid -J hop "-c": invalid host name "-c": leading '"'-'" \
    -i "$K" -J 'a,b,-c' h
row "-J: an empty hop" 'safessh: invalid -J hop "": empty host name' \
    -i "$K" -J 'a,,b' h
row "-J: newline" \
    'safessh: invalid -J hop "a\nb": invalid host name "a\nb": contains whitespace' \
    -i "$K" -J $'a\nb' h
row "-J: port 0" \
    'safessh: invalid -J hop "u@h:0": invalid port "0": out of range (1-65535)' \
    -i "$K" -J 'u@h:0' host
row "-J: ssh://-x/" \
    'safessh: invalid -J hop "ssh://-x/": invalid host name "-x": leading '"'-'" \
    -i "$K" -J 'ssh://-x/' host
row "-J: -o ProxyJump=-oProxyCommand=..." \
    'safessh: invalid ProxyJump hop "-oProxyCommand=x": invalid host name "-oProxyCommand=x": leading '"'-'" \
    -i "$K" -o 'ProxyJump=-oProxyCommand=x' host
row "-J: over-long (3000 bytes)" \
    "safessh: invalid -J hop \"$(L64 64 j)\"...: invalid host name \"$(L64 64 j)\"...: too long (over 1025 bytes)" \
    -i "$K" -J "$(L64 3000 j)" h

# -------------------------------------------------------------- ssh:// URIs
row "uri: a path" \
    'safessh: invalid destination "ssh://u@h/path": path not allowed' \
    -i "$K" 'ssh://u@h/path'
row "uri: a bad %-escape" \
    'safessh: invalid destination "ssh://u%zz@h": bad %-escape in the user name' \
    -i "$K" 'ssh://u%zz@h'
row "uri: port not a number" 'safessh: invalid port "22x": not a number' \
    -i "$K" 'ssh://h:22x'

# ----------------------------------------------------------- identities
row "identity: two different keys" \
    'safessh: more than one identity (-i): safessh offers one key per connection' \
    -i "$K" -i "$T/keys/other" h
row probe "identity: -i names a directory" \
    "safessh: h: identity $T: not a regular file" -i "$T" h

# ---------------------------------------------------------- config files
C=$SAFESSH_CONFIG
conf '[host h]\nhostname = x;id\n'
row "config: hostname with ';'" \
    "safessh: $C:2: invalid hostname \"x;id\": contains ';'" h
conf '[host h]\nhostname = -oProxyCommand=x\n'
row "config: hostname with leading '-'" \
    "safessh: $C:2: invalid hostname \"-oProxyCommand=x\": leading '-'" h
conf '[host h]\nhostname = a\x1b[31m\n'
row "config: terminal escape" "safessh: $C:2: binary data (byte 0x1b)" h
conf '[host h]\nuser = $(id)\n'
row "config: user \$(id)" \
    "safessh: $C:2: invalid user \"\$(id)\": contains '\$'" -i "$K" h
conf '[host h]\nport = 70000\n'
row "config: port 70000" \
    "safessh: $C:2: invalid port \"70000\": out of range (1-65535)" h
conf '[host h]\nserver = ../../etc\n'
row "config: server name with .." \
    "safessh: $C:2: invalid server \"../../etc\": letters, digits, '.', '_' and '-', at most 64, not starting with '.' or '-'" \
    -i "$K" h
conf '[host h]\nbogus = 1\n'
row "config: unknown key" "safessh: $C:2: unknown key \"bogus\" in [host h]" h
conf '[bogus]\n'
row "config: unknown section" "safessh: $C:1: unknown section [bogus]" h
conf '[host h\nhostname = x\n'
row "config: unterminated section header" \
    "safessh: $C:1: bad section header: missing \"]\"" h
printf '[host h]\nhostname = %s\n' "$(L64 100000 a)" > "$C"
row "config: a 100 kB line" "safessh: $C:2: line too long (limit 197 bytes)" h
printf '\x1e\x80binary\n' > "$C"
row "config: binary data" "safessh: $C:1: binary data (byte 0x1e)" h
printf '[defaults]\nparallel = 4\n\0\n' > "$C"
row "config: a NUL byte" "safessh: $C:3: binary data (byte 0x00)" h
head -c 2000000 /dev/zero | tr '\0' '\n' > "$C"
row "config: over 1 MB" "safessh: $C: refusing: larger than 1048576 bytes" h
conf '[defaults]\n'
chmod 666 "$C"
row "config: mode 0666" \
    "safessh: $C: refusing: group or world writable (mode 0666)" h
chmod 620 "$C"
row "config: mode 0620" \
    "safessh: $C: refusing: group or world writable (mode 0620)" h
chmod 600 "$C"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$C"
	row "config: owned by another user" \
	    "safessh: $C: refusing: owned by uid 65534, not by you or root" h
	chown 0 "$C"
else
	skip "config: owned by another user - needs root"
fi
ln -s "$C" "$T/conf.link"
SAFESSH_CONFIG=$T/conf.link row "config: a symbolic link" \
    "safessh: $T/conf.link: refusing: symbolic link" h
SAFESSH_CONFIG=$T row "config: a directory" \
    "safessh: $T: refusing: not a regular file" h
mkfifo "$T/fifo"
SAFESSH_CONFIG=$T/fifo row "config: a FIFO" \
    "safessh: $T/fifo: refusing: not a regular file" h
conf '[host h]\nidentity = /tmp\n'
row probe "config: identity is a directory" \
    "safessh: h: identity /tmp: not a regular file" h
conf "[host h]\nidentity = $T/fifo\n"
row probe "config: identity is a FIFO" \
    "safessh: h: identity $T/fifo: not a regular file" h
conf '[host h]\nidentity = relative/key\n'
row "config: identity a relative path" \
    "safessh: $C:2: invalid identity \"relative/key\": must be an absolute path or start with ~/" h
conf ''

# ------------------------------------------------------ state directories
mkdir -p "$T/elsewhere"
ln -s "$T/elsewhere" "$T/slink"
SD=$T/slink row "state: a symbolic link to elsewhere" \
    "safessh: $T/slink: refusing: a symbolic link" -i "$K" h
if [ "$(id -u)" = 0 ]; then
	mkdir -m 700 "$T/other"
	chown 65534 "$T/other"
	SD=$T/other row "state: another user's directory" \
	    "safessh: $T/other: refusing: owned by uid 65534, not 0" \
	    -i "$K" h
else
	skip "state: another user's directory - needs root"
fi
mkdir -m 777 "$T/ww"
chmod 777 "$T/ww"
SD=$T/ww row "state: world-writable (0777)" \
    "safessh: $T/ww: refusing: group or world writable (mode 0777)" -i "$K" h
mkdir "$T/sticky"
chmod 1777 "$T/sticky"
SD=$T/sticky row "state: world-writable and sticky (1777)" \
    "safessh: $T/sticky: refusing: group or world writable (mode 1777)" \
    -i "$K" h
: > "$T/afile"
SD=$T/afile row "state: a regular file" \
    "safessh: $T/afile: refusing: not a directory" -i "$K" h
SD=relative row "state: a relative path" \
    "safessh: SAFESSH_STATE_DIR=relative: not an absolute path" -i "$K" h
mkdir -m 700 "$T/s2"
ln -s "$T/elsewhere" "$T/s2/servers"
SD=$T/s2 row "state: servers/ is a symbolic link" \
    "safessh: $T/s2/servers: refusing: a symbolic link" -i "$K" h
mkdir -m 700 "$T/s3" "$T/s3/servers"
chmod 777 "$T/s3/servers"
SD=$T/s3 row "state: servers/ world-writable" \
    "safessh: $T/s3/servers: refusing: group or world writable (mode 0777)" \
    -i "$K" h
mkdir -m 700 "$T/s4" "$T/s4/servers"
ln -s /etc/passwd "$T/s4/servers/h"
SD=$T/s4 row probe "state: a ledger that is a symbolic link" \
    "safessh: $T/s4/servers/h: refusing: a symbolic link" -i "$K" h
check "state: the symlink's target is untouched" \
    grep -q '^root:' /etc/passwd
mkdir -m 700 "$T/s5" "$T/s5/servers"
printf 'safessh-ledger 1 h\n' > "$T/s5/servers/h"
chmod 666 "$T/s5/servers/h"
SD=$T/s5 row probe "state: a world-writable ledger" \
    "safessh: $T/s5/servers/h: refusing: group or world writable (mode 0666)" \
    -i "$K" h
mkdir -m 700 "$T/s6" "$T/s6/servers"
printf 'safessh-ledger 1 h\na 1 1 1 0 h w\n\0\n' > "$T/s6/servers/h"
chmod 600 "$T/s6/servers/h"
cp "$T/s6/servers/h" "$T/s6.before"
SD=$T/s6 row probe rc=75 "state: a ledger with a NUL byte" \
    "safessh: h (server h): refused: ledger $T/s6/servers/h:3: damaged (control or non-ASCII byte); fix or remove the file, or run 'safessh --forget h'" \
    -i "$K" h
check "state: the damaged ledger is byte-identical afterwards" \
    cmp -s "$T/s6/servers/h" "$T/s6.before"
mkdir -m 700 "$T/s7" "$T/s7/servers" "$T/s7/servers/h"
SD=$T/s7 row probe "state: the ledger is a directory" \
    "safessh: $T/s7/servers/h: Is a directory" -i "$K" h

# ------------------------------------- ssh_config HostName -> ledger name
# What ssh -G says the host is names the ledger file: it must not
# escape servers/ or collide with a temporary file.
SD=$T/state
sshcf() {
	printf 'Host evil\n\tHostName %s\n' "$1" > "$T/ssh_config"
}
sshcf '../../etc/passwd'
row probe "ssh_config: HostName ../../etc/passwd" \
    "safessh: ../../etc/passwd: server name starts with '.' or '-'" \
    -F "$T/ssh_config" -i "$K" evil
sshcf 'a..b'
row probe "ssh_config: HostName holding .." \
    'safessh: a..b: server name holds ".."' -F "$T/ssh_config" -i "$K" evil
sshcf 'x/y'
row probe "ssh_config: HostName holding /" \
    "safessh: x/y: server name holds a character other than [A-Za-z0-9._:-]" \
    -F "$T/ssh_config" -i "$K" evil
check "ssh_config: nothing was written outside servers/" \
    test -z "$(find "$SD" -path "$SD/servers" -prune -o -type f -print |
    grep -v "^$SD/sshconfig/")"

# ------------------------------------------------------------ a real ssh
# The control: the same stand-in runs for a good destination.
: > "$STAND_LOG"
SAFESSH_STATE_DIR=$T/good "$SAFESSH" -i "$K" -p 2222 127.0.0.1 true \
    2>"$T/err"
eq "control: a good destination runs ssh once" 1 \
    "$(grep -c '^run ' "$STAND_LOG")"
# A HostName of 300 bytes gives the longest server name (255 bytes): its
# ledger header once overflowed a buffer and every attempt failed as
# "Cannot allocate memory".
sshcf "$(L64 300 a)"
: > "$STAND_LOG"
SAFESSH_STATE_DIR=$T/good "$SAFESSH" -F "$T/ssh_config" -i "$K" evil true \
    2>"$T/err"
eq "control: a 255-byte server name is recorded and ssh runs" "0 1" \
    "$? $(grep -c '^run ' "$STAND_LOG")"
check "control: its ledger holds the attempt" \
    grep -q '^a ' "$T/good/servers/$(L64 255 a)"

echo "hostile: $ncase table rows"
t_done
