# safessh.bash: bash completion for safessh(1).
#
# safessh's own long options come first; after --status, --check,
# --forget (or --forget --limits), --doctor and --proxy a host name;
# everything else is ssh's
# grammar, completed by bash-completion's _ssh when it is available.
# Host names come from safessh's configuration ([host] patterns without
# wildcards), ssh's configuration (Host entries without wildcards,
# following Include) and the plain, unhashed known_hosts entries.
#
# "ssh" too: when ssh is safessh (alias ssh=safessh, or an ssh on PATH
# that links to safessh, such as ~/bin/ssh), "ssh <TAB>" completes as
# safessh; otherwise as bash-completion's own ssh.  make install puts
# this file under the names ssh, scp and sftp as well, ahead of the
# system's ssh completion, so that bash-completion loads it for ssh.
# shellcheck shell=bash

_safessh_longopts='--proxy --status --check --forget --dry-run --doctor
    --version --help'

# ssh's options that take an argument (from ssh(1)'s SYNOPSIS).
_safessh_argopts='BbcDEeFIiJLlmOoPpQRSWw'

# Print the [host ...] patterns without wildcards of safessh's config.
_safessh_conf_hosts()
{
	local IFS=$' \t\n' f line w
	local re='^[[:space:]]*\[[[:space:]]*host[[:space:]]+([^]]*)\]'
	local -a files words

	if [[ -n ${SAFESSH_CONFIG-} ]]; then
		files=("$SAFESSH_CONFIG")
	else
		files=(/etc/safessh.conf
		    "${XDG_CONFIG_HOME:-$HOME/.config}/safessh/config")
	fi
	for f in "${files[@]}"; do
		[[ -f $f && -r $f ]] || continue
		while IFS= read -r line || [[ -n $line ]]; do
			[[ $line =~ $re ]] || continue
			read -ra words <<<"${BASH_REMATCH[1]//,/ }"
			for w in "${words[@]}"; do
				[[ $w == *[*?!]* ]] || printf '%s\n' "$w"
			done
		done <"$f"
	done
}

# _safessh_ssh_hosts FILE BASE DEPTH: print the Host names without
# wildcards of an ssh_config file and of the files it includes (relative
# Include paths are taken from BASE, as ssh does).
_safessh_ssh_hosts()
{
	local IFS=$' \t\n' f=$1 base=$2 depth=$3 line key w g
	local re='^[[:space:]]*([A-Za-z]+)([[:space:]]*=[[:space:]]*|[[:space:]]+)(.*)$'
	local -a words

	((depth <= 16)) || return 0
	[[ -f $f && -r $f ]] || return 0
	while IFS= read -r line || [[ -n $line ]]; do
		[[ $line =~ $re ]] || continue
		key=${BASH_REMATCH[1],,}
		[[ $key == host || $key == include ]] || continue
		read -ra words <<<"${BASH_REMATCH[3]}"
		for w in "${words[@]}"; do
			[[ $w == \#* ]] && break
			w=${w#\"}
			w=${w%\"}
			[[ -n $w ]] || continue
			if [[ $key == host ]]; then
				[[ $w == *[*?!]* ]] || printf '%s\n' "$w"
				continue
			fi
			case $w in
			\~/*)	w=$HOME/${w#\~/} ;;
			/*)	;;
			*)	w=$base/$w ;;
			esac
			while IFS= read -r g; do
				_safessh_ssh_hosts "$g" "$base" $((depth + 1))
			done < <(compgen -G "$w")
		done
	done <"$f"
}

# Print the plain (unhashed, wildcard-free) names of the known_hosts files.
_safessh_known_hosts()
{
	local IFS=$' \t\n' f first rest w
	local -a names

	for f in "$HOME/.ssh/known_hosts" "$HOME/.ssh/known_hosts2" \
	    /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2; do
		[[ -f $f && -r $f ]] || continue
		while read -r first rest; do
			if [[ $first == @* ]]; then
				[[ $first == @revoked ]] && continue
				read -r first rest <<<"$rest"
			fi
			[[ -z $first || $first == \#* || $first == \|* ]] &&
			    continue
			IFS=, read -ra names <<<"$first"
			for w in "${names[@]}"; do
				if [[ $w == \[*\]* ]]; then
					w=${w#\[}
					w=${w%%\]*}
				fi
				[[ -z $w || $w == *[*?!\|]* ]] ||
				    printf '%s\n' "$w"
			done
		done <"$f"
	done
}

# Print every host name, once.
_safessh_hosts()
{
	local h
	local -A seen=()

	while IFS= read -r h; do
		[[ -n $h && -z ${seen[$h]-} ]] || continue
		seen[$h]=1
		printf '%s\n' "$h"
	done < <(_safessh_conf_hosts
	    _safessh_ssh_hosts "$HOME/.ssh/config" "$HOME/.ssh" 0
	    _safessh_ssh_hosts /etc/ssh/ssh_config /etc/ssh 0
	    _safessh_known_hosts)
}

# _safessh_add_hosts CUR: add the host names matching CUR (user@ kept).
_safessh_add_hosts()
{
	local cur=$1 prefix='' colon='' h
	local IFS=$'\n'

	if [[ $cur == *@* ]]; then
		prefix=${cur%%@*}@
		cur=${cur#*@}
	fi
	# Readline replaces only what follows the last word-breaking colon
	# (an IPv6 address); bash-completion's __ltrim_colon_completions.
	if [[ $prefix$cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
		colon=${prefix}${cur%"${cur##*:}"}
	fi
	for h in $(_safessh_hosts); do
		[[ $h == "$cur"* ]] || continue
		h=$prefix$h
		COMPREPLY+=("${h#"$colon"}")
	done
}

# Make bash-completion's _ssh available if it can be; 0 if it is.  This
# file may itself be installed as "ssh" (and "scp", "sftp") ahead of the
# system's ssh completion: that one is sourced by path, never this one.
_safessh_load_ssh()
{
	local d f
	local -a dirs

	if declare -F _ssh >/dev/null; then
		return 0
	fi
	declare -F _init_completion >/dev/null || return 1
	dirs=("${BASH_COMPLETION_USER_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion}/completions")
	local IFS=:
	for d in ${XDG_DATA_DIRS:-/usr/local/share:/usr/share}; do
		dirs+=("$d/bash-completion/completions")
	done
	unset IFS
	dirs+=(/usr/share/bash-completion/completions)
	for d in "${dirs[@]}"; do
		f=$d/ssh
		[[ -r $f ]] || continue
		grep -q _safessh_sshcmd "$f" 2>/dev/null && continue
		# shellcheck disable=SC1090
		. "$f" >/dev/null 2>&1
		break
	done
	# That file registered its own _ssh for ssh: ssh stays ours.
	complete -F _safessh_sshcmd ssh
	declare -F _ssh >/dev/null
}

# 0 if "ssh", as this shell would run it, is safessh: an alias whose
# command is safessh (alias ssh=safessh), or an ssh on PATH that is
# safessh or a link to it (ln -s safessh ~/bin/ssh).
_safessh_is_ssh()
{
	local a=${BASH_ALIASES[ssh]-} p s

	if [[ -n $a ]]; then
		a=${a%% *}
		[[ ${a##*/} == safessh ]]
		return
	fi
	p=$(type -P ssh) || return 1
	[[ ${p##*/} == safessh ]] && return 0
	s=$(readlink -f -- "$p" 2>/dev/null) || return 1
	[[ ${s##*/} == safessh ]]
}

# The completion of "ssh": safessh's when ssh is safessh, else ssh's own.
_safessh_sshcmd()
{
	if _safessh_is_ssh; then
		_safessh "$@"
	elif _safessh_load_ssh; then
		_ssh "$@"
	fi
}

# _safessh_ssh SKIP: complete COMP_WORDS[SKIP+1 ...] as the arguments of
# ssh, with _ssh when available.
_safessh_ssh()
{
	local skip=$1 i line=$COMP_LINE point=$COMP_POINT

	if ! _safessh_load_ssh; then
		compopt -o default 2>/dev/null
		return 0
	fi
	# Drop the words safessh and its --dry-run from the line, the way
	# bash-completion's _command_offset does, and put "ssh" in front.
	for ((i = 0; i <= skip; i++)); do
		while [[ -n $line && $line != "${COMP_WORDS[i]}"* ]]; do
			line=${line:1}
			((point--))
		done
		line=${line#"${COMP_WORDS[i]}"}
		((point -= ${#COMP_WORDS[i]}))
	done
	local COMP_LINE="ssh$line"
	local COMP_POINT=$((point + 3))
	local COMP_CWORD=$((COMP_CWORD - skip))
	local -a COMP_WORDS=(ssh "${COMP_WORDS[@]:skip+1}")
	_ssh ssh "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}

# _safessh_at_dest FIRST: 0 if the word being completed is the
# destination, counting ssh's arguments from words[FIRST].
_safessh_at_dest()
{
	local first=$1 i w o

	[[ $cur == -* ]] && return 1
	for ((i = first; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == -- ]]; then
			((i + 1 == cword))
			return
		fi
		[[ $w == -?* ]] || return 1	# a destination came before
		# A cluster such as -4Cp: its argument is the next word when
		# the first letter taking one ends the word.
		w=${w#-}
		while [[ -n $w ]]; do
			o=${w:0:1}
			w=${w:1}
			if [[ $_safessh_argopts == *"$o"* ]]; then
				[[ -z $w ]] && ((i++))
				break
			fi
		done
	done
	((i == cword))
}

_safessh()
{
	local cur words cword

	COMPREPLY=()
	if declare -F _get_comp_words_by_ref >/dev/null; then
		_get_comp_words_by_ref -n : cur words cword
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	if ((cword == 1)); then
		if [[ $cur == --* ]]; then
			# shellcheck disable=SC2207
			COMPREPLY=($(compgen -W "$_safessh_longopts" -- "$cur"))
			return 0
		fi
		_safessh_ssh 0
		if _safessh_at_dest 1; then
			_safessh_add_hosts "$cur"
		elif [[ $cur == -* ]]; then
			# shellcheck disable=SC2207
			COMPREPLY+=($(compgen -W "$_safessh_longopts" -- "$cur"))
		fi
	else
		case ${words[1]} in
		--status|--check|--doctor|--proxy)
			((cword == 2)) && _safessh_add_hosts "$cur"
			;;
		--forget)
			# --limits may come before the host.
			if ((cword == 2)) && [[ $cur == -* ]]; then
				# shellcheck disable=SC2207
				COMPREPLY=($(compgen -W '--limits' -- "$cur"))
			elif ((cword == 2)) || { ((cword == 3)) &&
			    [[ ${words[2]} == --limits ]]; }; then
				_safessh_add_hosts "$cur"
			fi
			;;
		--version|--help|--authed|--mux-lost)
			;;
		--dry-run)
			_safessh_ssh 1
			_safessh_at_dest 2 && _safessh_add_hosts "$cur"
			;;
		*)
			_safessh_ssh 0
			_safessh_at_dest 1 && _safessh_add_hosts "$cur"
			;;
		esac
	fi

	# Each candidate once, in order.
	local -A seen=()
	local -a out=()
	local c
	for c in "${COMPREPLY[@]}"; do
		[[ -n ${seen[$c]-} ]] && continue
		seen[$c]=1
		out+=("$c")
	done
	COMPREPLY=("${out[@]}")
	return 0
}

complete -F _safessh safessh
complete -F _safessh_sshcmd ssh
# Loaded as "scp" or "sftp", bring in ssh's own file now: it completes
# them (ssh stays ours).
_safessh_load_ssh || :
