#!/bin/bash
# install.sh: "make install DESTDIR=... PREFIX=/usr/local" installs
# exactly the program, both manual pages, the completions (bash's also as
# ssh, scp and sftp; fish's ssh hook in vendor_conf.d) and the example
# configuration, with the right modes; "make uninstall" with the
# same DESTDIR removes every one of them.

. "$(dirname "$0")/lib.sh"
t_init install

D=$T/dest
P=/usr/local
MAKEARGS=(-s -C "$TOP" O="$O" DESTDIR="$D" PREFIX="$P")

# "mode path" for every file under $D, sorted.
listing() {
	(cd "$D" && find . -type f -printf '%m %P\n' | sort -k2)
}

if ! make "${MAKEARGS[@]}" install > "$T/make.out" 2>&1; then
	fail "make install failed: $(tail -5 "$T/make.out")"
	t_done
	exit
fi
ok "make install DESTDIR=$D PREFIX=$P"

want="755 usr/local/bin/safessh
644 usr/local/share/bash-completion/completions/safessh
644 usr/local/share/bash-completion/completions/scp
644 usr/local/share/bash-completion/completions/sftp
644 usr/local/share/bash-completion/completions/ssh
644 usr/local/share/doc/safessh/examples/safessh.conf
644 usr/local/share/fish/vendor_completions.d/safessh.fish
644 usr/local/share/fish/vendor_conf.d/safessh.fish
644 usr/local/share/man/man1/safessh.1
644 usr/local/share/man/man5/safessh.conf.5
644 usr/local/share/zsh/site-functions/_safessh"
eq "the installed files and their modes" "$want" "$(listing)"

links=$(cd "$D" && find . ! -type d ! -type f)
eq "nothing but files and directories is installed" "" "$links"

# Each installed file is the one in the tree.
for pair in \
    "$O/safessh:bin/safessh" \
    "man/safessh.1:share/man/man1/safessh.1" \
    "man/safessh.conf.5:share/man/man5/safessh.conf.5" \
    "completions/safessh.bash:share/bash-completion/completions/safessh" \
    "completions/safessh.bash:share/bash-completion/completions/ssh" \
    "completions/safessh.bash:share/bash-completion/completions/scp" \
    "completions/safessh.bash:share/bash-completion/completions/sftp" \
    "completions/_safessh:share/zsh/site-functions/_safessh" \
    "completions/safessh.fish:share/fish/vendor_completions.d/safessh.fish" \
    "completions/safessh-ssh.fish:share/fish/vendor_conf.d/safessh.fish" \
    "conf/safessh.conf:share/doc/safessh/examples/safessh.conf"; do
	src=${pair%%:*}
	dst=$D$P/${pair#*:}
	if cmp -s "$TOP/$src" "$dst"; then
		ok "$dst is $src"
	else
		fail "$dst differs from $src"
	fi
done

out=$("$D$P/bin/safessh" --version 2>&1)
case $out in
"safessh "[0-9]*) ok "the installed program runs: $out" ;;
*) fail "the installed program does not run: $out" ;;
esac

# Installing again over an existing tree is fine and changes nothing.
if make "${MAKEARGS[@]}" install > "$T/make.out" 2>&1 &&
    [ "$(listing)" = "$want" ]; then
	ok "make install twice gives the same tree"
else
	fail "make install twice: $(tail -5 "$T/make.out")"
fi

if ! make "${MAKEARGS[@]}" uninstall > "$T/make.out" 2>&1; then
	fail "make uninstall failed: $(tail -5 "$T/make.out")"
fi
eq "make uninstall removes every installed file" "" "$(listing)"

# Uninstalling what is not there is not an error.
if make "${MAKEARGS[@]}" uninstall > "$T/make.out" 2>&1; then
	ok "make uninstall twice succeeds"
else
	fail "make uninstall twice: $(tail -5 "$T/make.out")"
fi

t_done
