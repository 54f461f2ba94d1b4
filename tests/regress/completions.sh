#!/bin/bash
# completions.sh: drive the bash, zsh and fish completions in the real
# shells.  Candidates for "safessh <TAB>" come from safessh's config
# ([host] patterns without wildcards), ~/.ssh/config (Host entries
# without wildcards, through Include) and plain known_hosts entries
# (brackets and ports stripped, comma lists split, hashed ones left out);
# safessh's long options complete at the first word; after --forget come
# host names, after --version nothing; the rest is ssh's completion.
#
# bash: source the file, set COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT,
# call _safessh, read COMPREPLY (with bash-completion loaded, and again
# without it).  zsh: a real interactive zsh on a pseudo-terminal (zpty),
# compinit with completions/ on fpath, TAB bound to complete-word, and
# compadd wrapped to record every candidate added.  fish: complete -C.
# A shell that is not installed is skipped.
#
# "ssh <TAB>" follows safessh: with alias ssh=safessh, and with an ssh
# on PATH that links to safessh (~/bin/ssh), each shell offers safessh's
# [host] names (and long options); with the plain ssh it does not, and
# ssh's own completion still works.  bash: the file installed as
# safessh, ssh, scp and sftp in a bash-completion directory, loaded the
# way bash-completion loads it; zsh: compinit with completions/ first
# on fpath, as site-functions is; fish: safessh-ssh.fish sourced, as
# fish reads vendor_conf.d.

. "$(dirname "$0")/lib.sh"
t_init completions

COMP=$TOP/completions
BASHCOMP=/usr/share/bash-completion/bash_completion

# The fixture: safessh config, ssh config with Include, known_hosts.
unset SAFESSH_CONFIG
cat > "$HOME/.config/safessh/config" <<'EOF'
[defaults]
policy = default

[host site-a site-b]     ; two sites
user = deploy

[host *.glob]
port = 2222

[host !never,comma-host]
port = 2223
EOF
mkdir -p "$HOME/.ssh/conf.d"
cat > "$HOME/.ssh/config" <<'EOF'
Host alpha
	HostName 127.0.0.1
Include conf.d/*
Include ~/.ssh/extra "/nonexistent/*"
Host zeta *.wild !negated
	Port 22
Host *
	BatchMode yes
EOF
echo 'Host beta' > "$HOME/.ssh/conf.d/x"
echo 'Host=epsilon' > "$HOME/.ssh/extra"
key='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'
cat > "$HOME/.ssh/known_hosts" <<EOF
gamma.example.com,10.0.0.9 $key
[delta]:2222 $key
|1|JfKTdBh7rNbXkVAQCRp4OQoPfmI=|USECr3SWf1JUPsms5AqfD5QfxkM= $key
# comment.example.com $key
EOF
printf '[host only-env]\n' > "$T/env.conf"

# ~/bin/ssh as a link to safessh (a stand-in: only its name matters).
mkdir -p "$T/bin" "$T/sbin"
printf '#!/bin/sh\nexit 0\n' > "$T/sbin/safessh"
chmod 755 "$T/sbin/safessh"
ln -s "$T/sbin/safessh" "$T/bin/ssh"
SYMLINK_PATH=$T/bin:$T/sbin:$PATH
ALIAS_PATH=$T/sbin:$PATH

WANT_HOSTS='site-a site-b comma-host alpha beta epsilon zeta gamma.example.com 10.0.0.9 delta'
NOT_HOSTS='*.glob !never never *.wild !negated negated comment.example.com
[delta]:2222 delta:2222 [delta] * --status'

# has DESC FILE WORD...: ok if every WORD is a line of FILE.
has() {
	local d=$1 f=$2 w missing=
	shift 2
	for w in "$@"; do
		grep -qxF -- "$w" "$f" || missing+=" $w"
	done
	if [ -z "$missing" ]; then
		ok "$d"
	else
		fail "$d (missing:$missing; got: $(tr '\n' ' ' < "$f"))"
	fi
}

# hasnt DESC FILE WORD...: ok if no WORD is a line of FILE, and no line
# is a hashed known_hosts entry.
hasnt() {
	local d=$1 f=$2 w extra=
	shift 2
	for w in "$@"; do
		grep -qxF -- "$w" "$f" && extra+=" $w"
	done
	grep -q '^|' "$f" && extra+=" (a hashed entry)"
	if [ -z "$extra" ]; then
		ok "$d"
	else
		fail "$d (unexpected:$extra)"
	fi
}

# only DESC FILE WORD...: ok if the lines of FILE are exactly the WORDs.
only() {
	local d=$1 f=$2
	shift 2
	eq "$d" "$( (($#)) && printf '%s\n' "$@" | sort -u | tr '\n' ' ')" \
	    "$(sort -u "$f" | tr '\n' ' ')"
}

# The checks every shell must pass; $1 names the shell, $2 is a function
# that completes a line into a file: $2 LINE OUT.
common() {
	local sh=$1 run=$2 out=$T/out.$1

	$run 'safessh ' "$out"
	# shellcheck disable=SC2086
	has "$sh: 'safessh <TAB>' offers the host names" "$out" $WANT_HOSTS
	# shellcheck disable=SC2086
	hasnt "$sh: 'safessh <TAB>' leaves out patterns and hashed names" \
	    "$out" $NOT_HOSTS

	$run 'safessh --st' "$out"
	only "$sh: 'safessh --st<TAB>' gives --status" "$out" --status

	$run 'safessh --' "$out"
	only "$sh: 'safessh --<TAB>' gives every long option" "$out" \
	    --proxy --status --check --forget --dry-run --doctor --version \
	    --help

	$run 'safessh --forget ' "$out"
	# shellcheck disable=SC2086
	has "$sh: 'safessh --forget <TAB>' offers the host names" "$out" \
	    $WANT_HOSTS
	# shellcheck disable=SC2086
	hasnt "$sh: 'safessh --forget <TAB>' offers no pattern" "$out" \
	    $NOT_HOSTS

	$run 'safessh --forget --li' "$out"
	only "$sh: 'safessh --forget --li<TAB>' gives --limits" "$out" \
	    --limits
	$run 'safessh --forget --limits ' "$out"
	# shellcheck disable=SC2086
	has "$sh: 'safessh --forget --limits <TAB>' offers the host names" \
	    "$out" $WANT_HOSTS
	$run 'safessh --forget --limits alpha ' "$out"
	only "$sh: 'safessh --forget --limits alpha <TAB>' offers nothing" \
	    "$out"

	$run 'safessh --status s' "$out"
	only "$sh: 'safessh --status s<TAB>' gives the s hosts" "$out" \
	    site-a site-b

	$run 'safessh --proxy alpha ' "$out"
	only "$sh: 'safessh --proxy alpha <TAB>' offers nothing" "$out"

	$run 'safessh --check alpha ' "$out"
	only "$sh: 'safessh --check alpha <TAB>' offers nothing" "$out"

	$run 'safessh --version ' "$out"
	only "$sh: 'safessh --version <TAB>' offers nothing" "$out"

	$run 'safessh root@gam' "$out"
	only "$sh: 'safessh root@gam<TAB>' keeps the user" "$out" \
	    root@gamma.example.com

	$run 'safessh --dry-run -p 2222 ep' "$out"
	has "$sh: 'safessh --dry-run -p 2222 ep<TAB>' offers the host" \
	    "$out" epsilon

	SAFESSH_CONFIG=$T/env.conf $run 'safessh ' "$out"
	has "$sh: \$SAFESSH_CONFIG is read" "$out" only-env alpha
	hasnt "$sh: \$SAFESSH_CONFIG alone is read" "$out" site-a site-b
}

# as_ssh SHELL RUN: "ssh <TAB>" with alias ssh=safessh, with ~/bin/ssh
# linking to safessh, and with the plain ssh.  RUN SETUP LINE OUT.
as_ssh() {
	local sh=$1 run=$2 out=$T/out.$1

	$run alias "ssh " "$out"
	has "$sh: alias ssh=safessh: 'ssh <TAB>' offers safessh's hosts" \
	    "$out" site-a site-b alpha
	$run alias "ssh --st" "$out"
	has "$sh: alias ssh=safessh: 'ssh --st<TAB>' gives --status" \
	    "$out" --status
	$run symlink "ssh " "$out"
	has "$sh: ~/bin/ssh -> safessh: 'ssh <TAB>' offers safessh's hosts" \
	    "$out" site-a site-b alpha
	$run symlink "ssh --forget s" "$out"
	only "$sh: ~/bin/ssh -> safessh: 'ssh --forget s<TAB>'" "$out" \
	    site-a site-b
	$run plain "ssh " "$out"
	hasnt "$sh: plain ssh: 'ssh <TAB>' offers no safessh host" "$out" \
	    site-a site-b comma-host
	$run none "ssh " "$out.none"
	check "$sh: the shell's own ssh completion offers something" \
	    test -s "$out.none"
	eq "$sh: plain ssh: 'ssh <TAB>' is the shell's own, unchanged" \
	    "$(sort "$out.none" | tr '\n' ' ')" "$(sort "$out" | tr '\n' ' ')"
	$run plain "ssh -o BatchM" "$out"
	$run none "ssh -o BatchM" "$out.none"
	eq "$sh: plain ssh: 'ssh -o BatchM<TAB>' is the shell's own" \
	    "$(sort "$out.none" | tr '\n' ' ')" "$(sort "$out" | tr '\n' ' ')"
}

# ------------------------------------------------------------------ bash

# bash_run WITH_BC LINE OUT
bash_run() {
	local bc=$1 line=$2 out=$3

	BC=$bc LINE=$line COMPFILE=$COMP/safessh.bash BASHCOMP=$BASHCOMP \
	    bash --norc --noprofile -c '
		if [ "$BC" = 1 ]; then
			. "$BASHCOMP"
			# compopt works only inside real completion.
			compopt() { :; }
		fi
		. "$COMPFILE"
		read -ra COMP_WORDS <<<"$LINE"
		[[ $LINE == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$LINE
		COMP_POINT=${#LINE}
		COMPREPLY=()
		_safessh safessh "${COMP_WORDS[COMP_CWORD]}" \
		    "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	    ' > "$out" 2> "$T/err"
	if [ -s "$T/err" ]; then
		fail "bash: '$line' wrote to stderr: $(head -c 300 "$T/err")"
	fi
	sed -i '/^$/d' "$out"
}
bash_bc() { bash_run 1 "$@"; }
bash_plain() { bash_run 0 "$@"; }

# bash_as_ssh SETUP LINE OUT: complete LINE the way bash does for a
# command with no completion yet (bash-completion's loader, from
# $T/bcdir), under SETUP: alias, symlink, symlink-scp or plain.
bash_as_ssh() {
	local setup=$1 line=$2 out=$3 path=$PATH dir=$T/bcdir

	case $setup in
	alias) path=$ALIAS_PATH ;;
	symlink*) path=$SYMLINK_PATH ;;
	none) dir=$T/bcdir.none ;;
	esac
	SETUP=$setup LINE=$line BASHCOMP=$BASHCOMP PATH=$path \
	    BASH_COMPLETION_USER_DIR=$dir \
	    bash --norc --noprofile -c '
		. "$BASHCOMP"
		compopt() { :; }
		[ "$SETUP" = alias ] && alias ssh=safessh
		[ "$SETUP" = symlink-scp ] && _completion_loader scp
		read -ra COMP_WORDS <<<"$LINE"
		[[ $LINE == *" " ]] && COMP_WORDS+=("")
		cmd=${COMP_WORDS[0]}
		complete -p "$cmd" >/dev/null 2>&1 || _completion_loader "$cmd"
		spec=$(complete -p "$cmd") || exit 1
		f=${spec#*-F }
		f=${f%% *}
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$LINE
		COMP_POINT=${#LINE}
		COMPREPLY=()
		"$f" "$cmd" "${COMP_WORDS[COMP_CWORD]}" \
		    "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	    ' > "$out" 2> "$T/err"
	if [ -s "$T/err" ]; then
		fail "bash: $setup '$line' wrote to stderr: $(head -c 300 "$T/err")"
	fi
	sed -i -e '/^$/d' -e 's/ $//' "$out"
}

if ! bash -n "$COMP/safessh.bash"; then
	fail "bash: completions/safessh.bash does not parse"
fi
reg=$(bash --norc -c ". '$COMP/safessh.bash'; complete -p safessh")
eq "bash: the file registers _safessh for safessh" \
    "complete -F _safessh safessh" "$reg"

common bash-plain bash_plain
if [ -r "$BASHCOMP" ]; then
	common bash bash_bc
	bash_bc 'safessh --dry-run -o BatchM' "$T/out"
	has "bash: ssh's completion after --dry-run (-o keywords)" \
	    "$T/out" BatchMode=
	bash_bc 'safessh -o BatchM' "$T/out"
	has "bash: ssh's completion for ssh's options" "$T/out" BatchMode=
	# Installed under its name, bash-completion's loader finds it.
	mkdir -p "$T/bcdir/completions"
	cp "$COMP/safessh.bash" "$T/bcdir/completions/safessh"
	reg=$(BASH_COMPLETION_USER_DIR=$T/bcdir bash --norc -c \
	    ". '$BASHCOMP'; __load_completion safessh; complete -p safessh")
	eq "bash: bash-completion's loader finds completions/safessh" \
	    "complete -F _safessh safessh" "$reg"
	# As installed: the file under the names safessh, ssh, scp and sftp.
	for n in ssh scp sftp; do
		ln -s safessh "$T/bcdir/completions/$n"
	done
	mkdir -p "$T/bcdir.none"
	as_ssh bash bash_as_ssh
	bash_as_ssh symlink-scp "ssh " "$T/out"
	has "bash: 'ssh <TAB>' stays safessh's after 'scp <TAB>' loaded" \
	    "$T/out" site-a
	bash_as_ssh plain "scp -" "$T/out"
	has "bash: scp's own completion still works" "$T/out" -3 -P
else
	skip "bash: bash-completion not installed"
fi

# ------------------------------------------------------------------- zsh

cat > "$T/capture.zsh" <<'EOF'
# capture.zsh COMPDIR OUT LINE [SETUP]: type LINE and TAB into an
# interactive zsh on a pseudo-terminal, after the command SETUP; every
# candidate compadd adds goes to OUT.
zmodload zsh/zpty || exit 2
compdir=$1 out=$2 line=$3 setup=${4-:}
: >$out
zpty z zsh -f -i
zpty -w z "$setup"
zpty -w z "PS1=''; fpath=(${(q)compdir} \$fpath)"
zpty -w z "autoload -Uz compinit; compinit -u -D"
zpty -w z "compadd() {
	if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then
		builtin compadd \"\$@\"; return
	fi
	local -a __h
	builtin compadd -A __h \"\$@\"
	print -rl -- \${IPREFIX}\${^__h} >>${(q)out}
	builtin compadd \"\$@\"
}"
zpty -w z "_capture_end() { print -r -- '<<end>>' >>${(q)out} }"
zpty -w z "comppostfuncs=(_capture_end)"
zpty -w z "zstyle ':completion:*' menu no; bindkey '^I' complete-word"
zpty -w -n z "$line"$'\t'
for i in {1..300}; do
	grep -q '^<<end>>$' $out && break
	sleep 0.05
done
zpty -d z
grep -q '^<<end>>$' $out || exit 3
sed -i '/^<<end>>$/d' $out
EOF

zsh_run() {
	local line=$1 out=$2 setup=${3-:} rc

	timeout 60 zsh -f "$T/capture.zsh" "$COMP" "$out" "$line" \
	    "$setup" 2> "$T/err"
	rc=$?
	[ "$rc" -eq 0 ] ||
	    fail "zsh: '$line': capture failed ($rc): $(head -c 300 "$T/err")"
	sed -i '/^$/d' "$out"
}

# zsh_as_ssh SETUP LINE OUT
zsh_as_ssh() {
	case $1 in
	alias) zsh_run "$2" "$3" "PATH=${ALIAS_PATH@Q}; alias ssh=safessh" ;;
	symlink) zsh_run "$2" "$3" "PATH=${SYMLINK_PATH@Q}" ;;
	none) COMP=$T/nonexistent zsh_run "$2" "$3" ;;
	*) zsh_run "$2" "$3" ;;
	esac
}

if command -v zsh >/dev/null; then
	if zsh -n "$COMP/_safessh"; then
		ok "zsh: completions/_safessh parses"
	else
		fail "zsh: completions/_safessh does not parse"
	fi
	eq "zsh: the file starts with #compdef safessh ssh" "#compdef safessh ssh" \
	    "$(head -1 "$COMP/_safessh")"
	common zsh zsh_run
	zsh_run 'safessh --dry-run -o BatchM' "$T/out"
	has "zsh: ssh's completion after --dry-run (-o keywords)" \
	    "$T/out" BatchMode
	as_ssh zsh zsh_as_ssh
	zsh_as_ssh symlink 'ssh -o BatchM' "$T/out"
	has "zsh: ~/bin/ssh -> safessh: ssh's options still complete" \
	    "$T/out" BatchMode
else
	skip "zsh not installed"
fi

# ------------------------------------------------------------------ fish

fish_run() {
	local line=$1 out=$2

	# Not --no-config: that leaves fish_complete_path (ssh's) empty.
	LINE=$line fish -c \
	    "source '$COMP/safessh.fish'; complete -C \"\$LINE\"" \
	    2> "$T/err" | cut -f1 > "$out"
	if [ -s "$T/err" ]; then
		fail "fish: '$line' wrote to stderr: $(head -c 300 "$T/err")"
	fi
	sed -i '/^$/d' "$out"
}

# fish_as_ssh SETUP LINE OUT: safessh.fish where fish finds completions,
# safessh-ssh.fish read as from vendor_conf.d.
fish_as_ssh() {
	local setup=$1 line=$2 out=$3 path=$PATH pre=:

	case $setup in
	alias) path=$ALIAS_PATH pre='alias ssh=safessh' ;;
	symlink) path=$SYMLINK_PATH ;;
	esac
	local src="source '$COMP/safessh-ssh.fish'"
	[ "$setup" = none ] && src=:
	LINE=$line PATH=$path fish -c "
	    set -p fish_complete_path '$COMP'
	    $src
	    $pre
	    complete -C \"\$LINE\"" 2> "$T/err" | cut -f1 > "$out"
	if [ -s "$T/err" ]; then
		fail "fish: $setup '$line' wrote to stderr: $(head -c 300 "$T/err")"
	fi
	sed -i '/^$/d' "$out"
}

if command -v fish >/dev/null; then
	if fish --no-execute "$COMP/safessh.fish"; then
		ok "fish: completions/safessh.fish parses"
	else
		fail "fish: completions/safessh.fish does not parse"
	fi
	common fish fish_run
	fish_run 'safessh --dry-run -o BatchM' "$T/out"
	has "fish: ssh's completion after --dry-run (-o keywords)" \
	    "$T/out" BatchMode
	if fish --no-execute "$COMP/safessh-ssh.fish"; then
		ok "fish: completions/safessh-ssh.fish parses"
	else
		fail "fish: completions/safessh-ssh.fish does not parse"
	fi
	as_ssh fish fish_as_ssh
	fish_as_ssh symlink 'ssh -o BatchM' "$T/out"
	has "fish: ~/bin/ssh -> safessh: ssh's options still complete" \
	    "$T/out" BatchMode
else
	skip "fish not installed"
fi

t_done
