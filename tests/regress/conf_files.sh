#!/bin/bash
# conf_files.sh: the example conf/safessh.conf changes nothing as shipped
# (every key commented out, resolving exactly as no file at all; a call
# with -i other.key through it has no conflict) and, uncommented, parses
# and resolves as its comments say; every key is in it (and in
# safessh.conf(5)); the file set of SAFESSH_CONFIG / XDG_CONFIG_HOME /
# HOME; refusals of unsafe files; errors name file:line.  Uses the
# confcheck helper (conf_load/conf_host), safessh --dry-run and one real
# call against a test sshd.
. "$(dirname "$0")/lib.sh"
t_init conf_files

CC=$TOP/$O/tests/regress/confcheck
if [ ! -x "$CC" ]; then
	fail "confcheck helper not built ($CC)"
	t_done
	exit
fi

# EX: the example with every "#key = value" and "#[section]" line
# uncommented, as a user adapting it would.
EX=$T/example.conf
sed -E 's/^#(\[|[a-z_]+ = )/\1/' "$TOP/conf/safessh.conf" > "$EX"
chmod 600 "$EX"

# --- As shipped, the example is only an example.
cp "$TOP/conf/safessh.conf" "$SAFESSH_CONFIG"
chmod 600 "$SAFESSH_CONFIG"
eq "as shipped: no setting is active" "" \
    "$(grep -nE '^[[:space:]]*[a-z_]+[[:space:]]*=' "$SAFESSH_CONFIG")"
eq "as shipped: only [defaults] is open" "[defaults]" \
    "$(grep -E '^[[:space:]]*\[' "$SAFESSH_CONFIG" | tr '\n' ' ' |
    sed 's/ $//')"
for h in site-a SITE-B other.host www.example.org legacy.example.org \
    ci-runner-7; do
	eq "as shipped: $h resolves as with no file" \
	    "$(SAFESSH_CONFIG=/dev/null "$CC" "$h" 2>&1)" "$("$CC" "$h" 2>&1)"
done
# In [defaults], a "#key = value" line that claims to be the default is:
# uncommenting it alone changes nothing.
# Those lines are the ones before "# No built-in default".
defs=$(sed -n '/^\[defaults\]/,/^# No built-in default/p' \
    "$TOP/conf/safessh.conf" | grep -E '^#[a-z_]+ = ')
n=0
while IFS= read -r line; do
	n=$((n + 1))
	k=${line%% *}
	k=${k#\#}
	printf '[defaults]\n%s\n' "${line#\#}" > "$T/one.conf"
	chmod 600 "$T/one.conf"
	eq "[defaults] $k: the value shown is the built-in default" \
	    "$(SAFESSH_CONFIG=/dev/null "$CC" x 2>&1)" \
	    "$("$CC" -f "$T/one.conf" x 2>&1)"
done <<<"$defs"
[ "$n" -ge 8 ] || fail "[defaults] shows only $n defaults"

# --- Uncommented, the examples resolve as documented.
cp "$EX" "$SAFESSH_CONFIG"
chmod 600 "$SAFESSH_CONFIG"

# get HOST KEY: one resolved value.
get() {
	"$CC" "$1" 2>&1 | awk -v k="$2" '$1 == k { sub(/^[^ ]+ /, ""); print }'
}

# --- The example resolves as documented.
check "example parses" eval '"$CC" site-a >/dev/null'
for h in site-a SITE-B; do
	eq "$h hostname" sv1234.example.jp "$(get "$h" hostname)"
	eq "$h port" 10022 "$(get "$h" port)"
	eq "$h user" deploy "$(get "$h" user)"
	eq "$h identity" "$HOME/.ssh/site.key" "$(get "$h" identity)"
	eq "$h server" shared-sv1234 "$(get "$h" server)"
	eq "$h policy" shared-hosting "$(get "$h" policy)"
	eq "$h rules" count:1/3600 "$(get "$h" rules)"
	eq "$h cooldown" 43200 "$(get "$h" cooldown)"
done
ln=$(grep -n '^hostname = sv1234' "$SAFESSH_CONFIG" | cut -d: -f1)
eq "hostname_at names file:line" "$SAFESSH_CONFIG:$ln" \
    "$(get site-a hostname_at)"
ln=$(grep -n '^identity = ~/.ssh/site.key' "$SAFESSH_CONFIG" | cut -d: -f1)
eq "identity_at names file:line" "$SAFESSH_CONFIG:$ln" \
    "$(get site-a identity_at)"

# [defaults] for a host no section names.
for kv in "policy default" "rules penalty:5/1/10 count:4/600 count:2/1800" \
    "cooldown 900" "on_risk delay" "max_delay 30" "parallel 4" \
    "connect_timeout 15" "retries 1" "reuse 0" "password no" \
    "ssh /usr/bin/ssh" "hostname -" "user -" "port 0" "server -" \
    "port_at -" "identity $HOME/.ssh/id_ed25519"; do
	eq "other: ${kv%% *}" "${kv#* }" "$(get other.host "${kv%% *}")"
done

# Globs and negation.
eq "www.example.org policy" fail2ban "$(get www.example.org policy)"
eq "www.example.org on_risk" refuse "$(get www.example.org on_risk)"
eq "www.example.org parallel" 8 "$(get www.example.org parallel)"
eq "www.example.org keeps default max_delay" 30 \
    "$(get www.example.org max_delay)"
eq "example.org itself is not *.example.org" default \
    "$(get example.org policy)"
eq "legacy excluded from *.example.org: policy" sshguard \
    "$(get legacy.example.org policy)"
eq "legacy on_risk" delay "$(get legacy.example.org on_risk)"
eq "legacy parallel" 4 "$(get legacy.example.org parallel)"
eq "legacy password" yes "$(get legacy.example.org password)"
eq "legacy max_delay" 120 "$(get legacy.example.org max_delay)"
eq "legacy connect_timeout" 30 "$(get legacy.example.org connect_timeout)"
eq "legacy retries" 0 "$(get legacy.example.org retries)"
eq "legacy reuse" 600 "$(get legacy.example.org reuse)"
eq "legacy rules" count:2/1800 "$(get legacy.example.org rules)"
eq "legacy identity from [defaults]" "$HOME/.ssh/id_ed25519" \
    "$(get legacy.example.org identity)"
ln=$(grep -n '^identity = ~/.ssh/id_ed25519' "$SAFESSH_CONFIG" | cut -d: -f1)
eq "[defaults] identity_at" "$SAFESSH_CONFIG:$ln" \
    "$(get legacy.example.org identity_at)"
eq "ci-runner-7 policy" careful "$(get ci-runner-7 policy)"
eq "ci-runner-12 rules" "count:3/600 penalty:5/1/10" \
    "$(get ci-runner-12 rules)"
eq "ci-runner-12 cooldown" 1800 "$(get ci-runner-12 cooldown)"
eq "ci-runner-123 does not match ?/??" default \
    "$(get ci-runner-123 policy)"

# --- Every key is used in the example and documented in the manual.
missing=
undocumented=
for k in $("$CC" -k); do
	grep -Eq "^#$k = " "$TOP/conf/safessh.conf" ||
	    missing="$missing $k"
	grep -Eq "^\.It Cm $k( |$)" "$TOP/man/safessh.conf.5" ||
	    undocumented="$undocumented $k"
done
eq "every key in conf/safessh.conf (commented out)" "" "$missing"
eq "every key in safessh.conf(5)" "" "$undocumented"
eq "conf_keys has 26 keys" 26 "$("$CC" -k | wc -l)"

# --- The file set.
unset SAFESSH_CONFIG
mkdir -p "$T/xdg/safessh"
printf '[defaults]\nparallel = 7\n' > "$T/xdg/safessh/config"
printf '[defaults]\nparallel = 6\n' > "$HOME/.config/safessh/config"
chmod 600 "$T/xdg/safessh/config" "$HOME/.config/safessh/config"
if [ -e /etc/safessh.conf ]; then
	skip "file set: /etc/safessh.conf exists on this machine"
else
	eq "no SAFESSH_CONFIG: ~/.config/safessh/config" 6 \
	    "$(get x parallel)"
	eq "XDG_CONFIG_HOME wins over ~/.config" 7 \
	    "$(XDG_CONFIG_HOME=$T/xdg get x parallel)"
	rm "$HOME/.config/safessh/config"
	eq "no file at all: built-in defaults" 4 "$(get x parallel)"
fi
export SAFESSH_CONFIG=$T/xdg/safessh/config
eq "SAFESSH_CONFIG: only that file" 7 "$(get x parallel)"
SAFESSH_CONFIG=$T/none check "SAFESSH_CONFIG must exist" \
    eval '! "$CC" x 2>/dev/null'
eq "SAFESSH_CONFIG missing: message" \
    "confcheck: $T/none: No such file or directory" \
    "$(SAFESSH_CONFIG=$T/none "$CC" x 2>&1)"
eq "SAFESSH_CONFIG=/dev/null: no file" 4 \
    "$(SAFESSH_CONFIG=/dev/null get x parallel)"

# --- Unsafe files are refused, naming the file.
c=$T/c.conf
cp "$EX" "$c"
chmod 666 "$c"
eq "world-writable refused" \
    "confcheck: $c: refusing: group or world writable (mode 0666)" \
    "$("$CC" -f "$c" site-a 2>&1)"
chmod 620 "$c"
eq "group-writable refused" \
    "confcheck: $c: refusing: group or world writable (mode 0620)" \
    "$("$CC" -f "$c" site-a 2>&1)"
chmod 644 "$c"
check "mode 0644 accepted" eval '"$CC" -f "$c" site-a >/dev/null'
ln -s "$c" "$T/link.conf"
eq "symlink refused" "confcheck: $T/link.conf: refusing: symbolic link" \
    "$("$CC" -f "$T/link.conf" site-a 2>&1)"
SAFESSH_CONFIG=$T/link.conf check "symlinked SAFESSH_CONFIG refused" \
    eval '! "$CC" x 2>/dev/null'
if [ "$(id -u)" = 0 ]; then
	chown 4242 "$c"
	eq "someone else's file refused" \
	    "confcheck: $c: refusing: owned by uid 4242, not by you or root" \
	    "$("$CC" -f "$c" site-a 2>&1)"
	chown 0 "$c"
else
	skip "foreign owner (needs root to create)"
fi

# --- Errors name file:line and the key; the whole file is rejected.
cp "$EX" "$c"
chmod 600 "$c"
printf '[host site-a]\nprot = 22\n' >> "$c"
n=$(wc -l < "$c")
eq "unknown key: file:line and key" \
    "confcheck: $c:$n: unknown key \"prot\" in [host site-a]" \
    "$("$CC" -f "$c" site-b 2>&1)"
cp "$EX" "$c"
sed -i 's/^policy = shared-hosting$/policy = shared-hostin/' "$c"
n=$(grep -n '^policy = shared-hostin$' "$c" | cut -d: -f1)
eq "unknown policy: file:line" \
    "confcheck: $c:$n: unknown policy \"shared-hostin\"" \
    "$("$CC" -f "$c" other 2>&1)"
cp "$EX" "$c"
sed -i 's/^port = 10022 /port = 0 /' "$c"
n=$(grep -n '^port = 0 ' "$c" | cut -d: -f1)
out=$("$CC" -f "$c" site-a 2>&1)
case $out in
"confcheck: $c:$n: invalid port \"0\": "*) ok "bad value: file:line" ;;
*) fail "bad value: file:line (got '$out')" ;;
esac

# Two files: the later one wins; hosts beat any file's defaults.
printf '[defaults]\nuser = me\nparallel = 2\n[host site-a]\nport = 2222\n' \
    > "$T/user.conf"
chmod 600 "$T/user.conf"
cp "$EX" "$c"
eq "later file's [host] wins" 2222 \
    "$("$CC" -f "$c" -f "$T/user.conf" site-a | awk '$1 == "port" {print $2}')"
eq "earlier file's [host] beats later [defaults]" deploy \
    "$("$CC" -f "$c" -f "$T/user.conf" site-a | awk '$1 == "user" {print $2}')"
eq "later [defaults] win" 2 \
    "$("$CC" -f "$c" -f "$T/user.conf" other | awk '$1 == "parallel" {print $2}')"

# --- Through the real program, when its --dry-run is there.
export SAFESSH_CONFIG=$T/safessh.conf
cp "$EX" "$SAFESSH_CONFIG"
chmod 600 "$SAFESSH_CONFIG"
mkdir -p "$HOME/.ssh" && : > "$HOME/.ssh/site.key" && chmod 600 "$HOME/.ssh/site.key"
if [ -x "$SAFESSH" ] &&
    dry=$(SAFESSH_SSH=$REAL_SSH "$SAFESSH" --dry-run site-a true 2>&1) &&
    [[ $dry == *IdentitiesOnly=yes* ]]; then
	for want in "HostName=sv1234.example.jp" "Port=10022" "User=deploy" \
	    "IdentityFile=$HOME/.ssh/site.key" "shared-sv1234"; do
		case $dry in
		*"$want"*) ok "safessh --dry-run site-a: $want" ;;
		*) fail "safessh --dry-run site-a: $want (got: $dry)" ;;
		esac
	done
	: > "$HOME/.ssh/id_ed25519"
	chmod 600 "$HOME/.ssh/id_ed25519"
	dry=$(SAFESSH_SSH=$REAL_SSH "$SAFESSH" --dry-run legacy.example.org \
	    true 2>&1)
	case $dry in
	*"IdentityFile=$HOME/.ssh/id_ed25519"*) ok "dry-run: [defaults] key" ;;
	*) fail "dry-run: [defaults] key (got: $dry)" ;;
	esac
	case $dry in
	*"PreferredAuthentications=publickey "*)
		fail "dry-run: password = yes allows prompts (got: $dry)" ;;
	*) ok "dry-run: password = yes allows prompts" ;;
	esac
	case $dry in
	*"ConnectTimeout=30 "*) ok "dry-run: connect_timeout = 30s" ;;
	*) fail "dry-run: connect_timeout = 30s (got: $dry)" ;;
	esac
	chmod 666 "$SAFESSH_CONFIG"
	out=$("$SAFESSH" --dry-run site-a true 2>&1)
	rc=$?
	eq "safessh refuses a writable config: exit 255" 255 "$rc"
	case $out in
	*"refusing: group or world writable"*) ok "safessh says why" ;;
	*) fail "safessh says why (got: $out)" ;;
	esac
	chmod 600 "$SAFESSH_CONFIG"
else
	skip "safessh --dry-run not available yet"
fi

# --- The example copied verbatim, then "safessh -i other.key": the first
# thing a user tries works (one key offered), with no conflict.
cp "$TOP/conf/safessh.conf" "$SAFESSH_CONFIG"
chmod 600 "$SAFESSH_CONFIG"
t_keys
t_sshd
out=$("$SAFESSH" "${SSHOPTS[@]}" -i "$T/keys/right" -p "$PORT" 127.0.0.1 \
    echo through 2>&1)
eq "verbatim example, -i other.key: the call runs" "0 through" "$? $out"
eq "verbatim example, -i other.key: one key offered" 1 "$(t_offers)"
out=$("$SAFESSH" --dry-run -i "$T/keys/right" site-a true 2>&1)
case $out in
*"conflicts with identity"*) fail "verbatim example, -i: no conflict ($out)" ;;
*"IdentityFile=$T/keys/right"*) ok "verbatim example, -i: --dry-run uses it" ;;
*) fail "verbatim example, -i: --dry-run uses it ($out)" ;;
esac
# The negative case: the [defaults] identity uncommented does conflict,
# before anything reaches the server.
cp "$EX" "$SAFESSH_CONFIG"
chmod 600 "$SAFESSH_CONFIG"
conns=$(t_conns)
out=$("$SAFESSH" "${SSHOPTS[@]}" -i "$T/keys/right" -p "$PORT" 127.0.0.1 \
    true 2>&1)
rc=$?
case "$rc $out" in
"255 safessh: 127.0.0.1: -i $T/keys/right conflicts with identity = "*)
	ok "uncommented [defaults] identity: -i conflicts" ;;
*) fail "uncommented [defaults] identity: -i conflicts (got $rc $out)" ;;
esac
eq "the conflict reaches no server" "$conns" "$(t_conns)"

t_done
