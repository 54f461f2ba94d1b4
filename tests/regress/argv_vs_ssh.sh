#!/bin/bash
# argv_vs_ssh.sh: argv_parse() against the installed ssh.  Each command
# line goes through "ssh -G -F /dev/null ARGS" and through argvdump (which
# prints argv_parse()'s user, port and host the same way); the user, port
# and host name must agree.  Rows marked "stricter" are lines ssh accepts
# but safessh refuses on purpose (G5: service-name ports, shell
# metacharacters, a second identity); rows marked "both" must be refused
# by both.  No network: ssh -G only prints its configuration.
. "$(dirname "$0")/lib.sh"
t_init argv_vs_ssh

DUMP=$TOP/$O/tests/regress/argvdump
if [ ! -x "$DUMP" ]; then
	fail "missing $DUMP (make O=$O $O/tests/regress/argvdump)"
	t_done
	exit 1
fi
ME=$(id -un)
cd "$T" || exit 1	# -E writes a log file in the current directory

# field NAME TEXT: the value of "NAME value" in ssh -G style output.
field() {
	sed -n "s/^$1 //p" <<<"$2" | head -n 1
}

# gsame ARGS...: "safessh -G ARGS" is byte for byte "ssh -G ARGS":
# standard output, standard error and exit status (G1: -G reaches ssh
# untouched, whatever ssh thinks of the rest of the line).
GSSH=$REAL_SSH
GTAG=
ROWS=()
gsame() {
	local desc so to
	desc=$(printf '%q ' "$@")
	desc=${desc% }
	[ -n "$GTAG" ] || ROWS+=("$desc")
	so=$("$GSSH" -G -F /dev/null "$@" 2>"$T/g.se" </dev/null; echo "rc $?")
	to=$(SAFESSH_SSH=$GSSH "$SAFESSH" -G -F /dev/null "$@" 2>"$T/g.te" \
	    </dev/null; echo "rc $?")
	if [ "$so" = "$to" ] && cmp -s "$T/g.se" "$T/g.te"; then
		ok "$GTAG-G $desc: identical (${so##*rc })"
	else
		fail "-G $desc: safessh differs from ssh:" \
		    "$(diff <(echo "$so"; cat "$T/g.se") \
		    <(echo "$to"; cat "$T/g.te") | head -5)"
	fi
}

# row KIND ARGS...: KIND is same, stricter or both.
row() {
	local kind=$1 desc sout dout src drc su sp sh du dp dh
	shift
	gsame "$@"
	desc=$(printf '%q ' "$@")
	desc=${desc% }
	sout=$("$REAL_SSH" -G -F /dev/null "$@" 2>/dev/null </dev/null)
	src=$?
	dout=$("$DUMP" -F /dev/null "$@" 2>/dev/null)
	drc=$?
	case $kind in
	same)
		if [ "$src" -ne 0 ] || [ "$drc" -ne 0 ]; then
			fail "$desc: ssh exit $src, argv_parse: $dout"
			return
		fi
		su=$(field user "$sout")
		sp=$(field port "$sout")
		sh=$(field hostname "$sout")
		du=$(field user "$dout")
		dp=$(field port "$dout")
		dh=$(field hostname "$dout")
		[ -n "$du" ] || du=$ME		# ssh's default: the local user
		[ "$dp" != -1 ] || dp=22	# and port 22
		# ssh lowercases the host name it prints.
		if [ "$su" = "$du" ] && [ "$sp" = "$dp" ] &&
		    [ "$sh" = "${dh,,}" ]; then
			ok "$desc: user $su port $sp host $sh"
		else
			fail "$desc: ssh user '$su' port '$sp' host '$sh';" \
			    "argv_parse user '$du' port '$dp' host '$dh'"
		fi
		;;
	stricter|both)
		if [ "$drc" -eq 0 ]; then
			fail "$desc: argv_parse accepted it"
		elif [ "$kind" = stricter ] && [ "$src" -ne 0 ]; then
			fail "$desc: ssh refused it too (move it to 'both')"
		elif [ "$kind" = both ] && [ "$src" -eq 0 ]; then
			fail "$desc: ssh accepted it (want refused by both)"
		else
			ok "$desc: refused (${dout#error: })"
		fi
		;;
	esac
}

# Agreement: who wins between -l, -o User and user@; -p, -o Port and
# ssh://; options before and after the destination; "--".
row same h
row same u@h
row same a@b@h
row same u@h:22
row same H.Example
row same -p 2222 h
row same -p2222 h
row same -4Cp2222 u@h
row same -p 022 h
row same -vp 65535 h
row same -l bob alice@h
row same alice@h -l bob
row same h -l bob
row same -l a -l b h
row same -o User=bob alice@h
row same alice@h -o User=bob
row same -oUser=bob alice@h -l carol
row same -o "User bob # comment" h
row same -o "  user = bob" h
row same -o Port=2200 -p 22 h
row same -p 22 -o Port=2200 h
row same -p 1 -p 2 h
row same h -p 99 -- -p 1
row same -- h -p 1
row same h ls -p 1
row same -E -- h -p 1
row same -t h -T uptime
row same ssh://u@h:2222
row same "ssh://u;fingerprint=x@h:2222/"
row same ssh://a%40b@h
row same ssh://h.example.
row same -p 2222 ssh://h:22
row same ssh://h:22 -p 2222
row same ssh://h -p 2222
row same -l bob ssh://alice@h
row same ssh://alice@h -l bob
row same -J u@j:22 h
row same -J "ssh://u@j:22,k" h
row same -o ProxyJump=j1,j2 h
row same -i /nonexistent h
row same -o IdentityFile=/nonexistent u@h
row same -F /dev/null -vvv h ls -l
row same -o "#only a comment" h

# safessh is stricter than ssh here, on purpose.
row stricter -p ssh h
row stricter -p +22 h
row stricter -p " 22" h
row stricter -o Port=ssh h
row stricter ssh://h:ssh
row stricter -i a -i b h
row stricter -i a -o IdentityFile=b h
row stricter 'a$b@h'
row stricter -l "a b" h
row stricter ssh://a+b@h
row stricter -o "User \"a b\"" h
row stricter -o "HostName=a;b" h
row stricter "$(printf 'a%.0s' {1..1100})"

# Both refuse: hostile or malformed names, bad ports, bad syntax.
row both @h
row both -z h
row both h -p
row both ssh://h/path
row both "ssh://[::1]"
row both ssh://@h
row both ssh://-oProxyCommand=x
row both "ssh://-oProxyCommand=touch%20pwned/foo"
row both -- -oProxyCommand=x
row both u@-x
row both -v- h
row both "a;b"
row both '$(id)'
row both '`id`.example'
row both "$(printf 'a\nb')"
row both "$(printf 'a\tb')"
row both ssh://h:0
row both -p 0 h
row both -p 65536 h
row both 'user$(id)@h'
row both 'a`id`@h'
row both ssh://%60id%60@h
row both -l -x h
row both -o User=-x h
row both -J "a;b" h
row both -J 'a$b' h
row both -J j1,,j2 h

# What the installed grammar decides: -P is a flag before OpenSSH 9.4
# and takes a tag from 9.4 on (its next word is then not an option).
VER=$("$REAL_SSH" -V 2>&1 | sed -n 's/^OpenSSH_\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r VMAJ VMIN <<<"$VER"
if [ $((VMAJ * 100 + VMIN)) -lt 904 ]; then
	row same -P h
	row same -P -p 2222 h
	row same -Pl bob h
else
	row same -P tag h
	row same -P -p h
fi

# -G passes through untouched: lines safessh itself would refuse, or
# that ssh takes differently from safessh's own reading.
gsame -o 'User=${FOO}' h
gsame -o 'User=a$b' h
gsame -o "User=$(printf 'a\001b')" h
gsame "$(printf 'h\033[31m')"
gsame -o "HostName=$(printf 'a\tb')" h
gsame -p ssh h
gsame -i a -i b h
gsame -o CertificateFile=/x h
gsame -P -F/nonexistent h
gsame -P tag -F/nonexistent h
gsame -J 'a$b' h
gsame h -G
gsame -- h -G
gsame -z h
gsame
gsame -V
gsame -Q cipher
gsame -O check h

# The same lines against Debian 13's OpenSSH 10.0 client, when a
# debootstrap chroot of it is there (SSH10_ROOT; root only): run through
# a wrapper, by ssh directly and by safessh (which then reads the 10.0
# grammar).  Lines with -E are left out: ssh would write its log there.
SSH10_ROOT=${SSH10_ROOT:-/var/tmp/safessh-trixie}
if [ "$(id -u)" = 0 ] && [ -x "$SSH10_ROOT/usr/bin/ssh" ] &&
    chroot "$SSH10_ROOT" /usr/bin/ssh -V 2>&1 | grep -q '^OpenSSH_10'; then
	printf '#!/bin/sh\nexec chroot %s /usr/bin/ssh "$@"\n' \
	    "$SSH10_ROOT" > "$T/ssh10"
	chmod 755 "$T/ssh10"
	GSSH=$T/ssh10
	GTAG="10.0: "
	for r in "${ROWS[@]}"; do
		case $r in *-E*) continue ;; esac
		eval "gsame $r"
	done
	gsame -P tag h
	gsame -P -p h
else
	skip "no OpenSSH 10.0 chroot at $SSH10_ROOT (or not root)"
fi

t_done
