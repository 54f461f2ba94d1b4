#!/bin/bash
# docs.sh: the manual pages and completions agree with the code.
#
# - every long option safessh.c accepts (its "--xxx" string literals) is
#   documented in safessh(1), and every option safessh(1) or
#   safessh.conf(5) documents (.Fl -xxx) exists in safessh.c;
# - every configuration key of lib/conf.c's key table (conf_keys[]) has
#   its entry in safessh.conf(5), every entry there is a real key, and
#   the example configurations in safessh.conf(5) load;
# - "mandoc -Tlint -Wwarning" has nothing to say about either page;
# - each completion file offers every user-facing long option (all but
#   the internal --authed and --mux-lost) and no option safessh.c lacks.

. "$(dirname "$0")/lib.sh"
t_init docs

MAN1=$TOP/man/safessh.1
MAN5=$TOP/man/safessh.conf.5
COMPS=("$TOP/completions/safessh.bash" "$TOP/completions/_safessh"
    "$TOP/completions/safessh.fish")
# The options that are not for users: documented, never completed (one
# per line: grep -F takes each line as a pattern).
INTERNAL='--authed
--mux-lost'

# words A B: the lines of A that are not lines of B (both word lists).
words() {
	tr -s ' \t' '\n' <<<"$1" | sed '/^$/d' | sort -u
}
missing() {
	comm -23 <(words "$1") <(words "$2") | tr '\n' ' ' | sed 's/ $//'
}

# ---------------------------------------------------------- long options

code_opts=$(grep -oE '"--[a-z][a-z0-9-]*"' "$TOP/safessh.c" | tr -d '"' |
    sort -u)
if [ -z "$code_opts" ]; then
	fail "no long option found in safessh.c"
fi
# The final option set (SPEC): the code must accept each of them.
spec_opts='--proxy --status --check --forget --dry-run --doctor --version
--help --authed'
eq "safessh.c accepts every option of the SPEC" "" \
    "$(missing "$spec_opts" "$code_opts")"

# Options as mdoc writes them: ".Fl -proxy" is --proxy (Fl adds a "-").
doc_opts() {
	grep -oE '(^|[[:space:]])\.?Fl -[a-z][a-z0-9-]*' "$@" |
	    sed 's/.*Fl /-/' | sort -u
}
man1_opts=$(doc_opts "$MAN1")
man_opts=$(doc_opts "$MAN1" "$MAN5")
eq "safessh(1) documents every option safessh.c accepts" "" \
    "$(missing "$code_opts" "$man1_opts")"
eq "every option the manual pages document is in safessh.c" "" \
    "$(missing "$man_opts" "$code_opts")"
# Each user-facing mode has its SYNOPSIS line and its own list entry.
synopsis=$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh /p' "$MAN1" |
    grep -oE '^\.Fl -[a-z][a-z0-9-]*' | sed 's/^\.Fl /-/')
entries=$(grep -oE '^\.It Fl -[a-z][a-z0-9-]*' "$MAN1" |
    sed 's/^\.It Fl /-/')
eq "safessh(1) SYNOPSIS shows every mode" "" \
    "$(missing "$(grep -vxF -- "$INTERNAL" <<<"$code_opts")" "$synopsis")"
eq "safessh(1) describes every option in its own entry" "" \
    "$(missing "$code_opts" "$entries")"

# ------------------------------------------------------ completion files

user_opts=$(grep -vxF -- "$INTERNAL" <<<"$code_opts")
for f in "${COMPS[@]}"; do
	name=completions/${f##*/}
	if [ ! -r "$f" ]; then
		fail "$name is missing"
		continue
	fi
	# fish declares --proxy as "complete ... -l proxy"; the others
	# spell it out (comments left out).
	if [[ $f == *.fish ]]; then
		got=$(grep -E '^[[:space:]]*complete ' "$f" |
		    grep -oE -- ' -l [a-z][a-z0-9-]*' | sed 's/^ -l /--/' |
		    sort -u)
	else
		got=$(grep -vE '^[[:space:]]*#' "$f" |
		    grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
	fi
	eq "$name offers every long option" "" \
	    "$(missing "$user_opts" "$got")"
	# Only safessh's own: ssh has no long options, and "--" is its end
	# of options, which the patterns above do not match.
	eq "$name offers no option safessh.c lacks" "" \
	    "$(missing "$got" "$code_opts")"
done

# ------------------------------------------------------ configuration keys

# The key table: X(ENUM, "key", ...) lines, or a literal conf_keys[].
code_keys=$( {
	grep -oE '^[[:space:]]*X\([A-Z_0-9]+,[[:space:]]*"[a-z_0-9]+"' \
	    "$TOP/lib/conf.c"
	sed -n '/conf_keys\[\][[:space:]]*=[[:space:]]*{/,/}/p' \
	    "$TOP/lib/conf.c"
    } | grep -oE '"[a-z_0-9]+"' | tr -d '"' | sort -u)
if [ -z "$code_keys" ]; then
	fail "no configuration key found in lib/conf.c's key table"
fi
# Cross-check against the library itself when the helper is built.
CONFCHECK=$TOP/$O/tests/regress/confcheck
if [ -x "$CONFCHECK" ]; then
	eq "lib/conf.c's key table is conf_keys[]" \
	    "$(sort -u <<<"$code_keys" | tr '\n' ' ')" \
	    "$("$CONFCHECK" -k | sort -u | tr '\n' ' ')"
else
	skip "confcheck not built: conf_keys[] not cross-checked"
fi
# The final key set: the code must have each of them.
spec_keys='policy on_risk max_delay parallel connect_timeout retries reuse
identity user port password ssh hostname server max_failures window
penalty penalty_limit cooldown'
eq "lib/conf.c has every key of the SPEC" "" \
    "$(missing "$spec_keys" "$code_keys")"

# Keys as safessh.conf(5) lists them: ".It Cm key Ns = Ns ...".
doc_keys=$(grep -oE '^\.It Cm [a-z_0-9]+ Ns =' "$MAN5" |
    awk '{print $3}' | sort -u)
eq "safessh.conf(5) documents every key of lib/conf.c" "" \
    "$(missing "$code_keys" "$doc_keys")"
eq "every key safessh.conf(5) documents is in lib/conf.c" "" \
    "$(missing "$doc_keys" "$code_keys")"
dups=$(grep -oE '^\.It Cm [a-z_0-9]+ Ns =' "$MAN5" | sort | uniq -d)
eq "safessh.conf(5) documents each key once" "" "$dups"

# Every "key = value" in the pages' literal displays is a real key, and
# each example configuration in safessh.conf(5) loads.
# A display whose first line is "# ansible.cfg" (or another program's
# file, "# NAME.cfg", or a program, "# NAME.py") is not safessh's.
ex_keys=$(awk '/^\.Bd -literal/ {d = 1; first = 1; next} /^\.Ed/ {d = 0}
    d && first {first = 0; if (/^# [a-z_.-]+\.(cfg|py)$/) {d = 0; next}}
    d && /^[a-z_]+ *=/ {sub(/ *=.*/, ""); print}' "$MAN1" "$MAN5" |
    sort -u)
eq "the examples use only real keys" "" "$(missing "$ex_keys" "$code_keys")"
if [ -x "$CONFCHECK" ]; then
	n=0
	while IFS= read -r -d '' block; do
		grep -q '^\[' <<<"$block" || continue	# not a config
		n=$((n + 1))
		printf '%s' "$block" > "$T/example$n.conf"
		chmod 600 "$T/example$n.conf"
		if "$CONFCHECK" -f "$T/example$n.conf" site-a \
		    > "$T/out" 2>&1; then
			ok "safessh.conf(5) example $n loads"
		else
			fail "safessh.conf(5) example $n: $(head -1 "$T/out")"
		fi
	done < <(awk '/^\.Bd -literal/ {d = 1; next}
	    /^\.Ed/ {if (d) printf "%c", 0; d = 0; next}
	    d {print}' "$MAN5")
	[ "$n" -gt 0 ] || fail "no example configuration in safessh.conf(5)"
fi

# ------------------------------------------------------------ mandoc lint

if command -v mandoc >/dev/null; then
	for m in "$MAN1" "$MAN5"; do
		out=$(mandoc -Tlint -Wwarning "$m" 2>&1)
		eq "mandoc -Tlint -Wwarning ${m##*/} is silent" "" "$out"
	done
else
	skip "mandoc not installed (apt-get install mandoc)"
fi

t_done
