#!/bin/bash
# help.sh: --help, usage and unknown options, as the tools people know.
#
# - "safessh --help" prints on stdout, exits 0, and names every
#   user-facing long option safessh.c accepts (as docs.sh finds them),
#   the configuration files and the manual pages;
# - an unknown long option names itself on the first line (and the
#   closest mode for a typo), then the usage, on stderr, exit 255;
# - a mode's arguments are checked before it prints anything;
# - a bare "safessh" prints the usage.
. "$(dirname "$0")/lib.sh"
t_init help

# The options users see: safessh.c's "--xxx" literals, less the internal
# ones (as docs.sh).
INTERNAL='--authed
--mux-lost'
opts=$(grep -oE '"--[a-z][a-z0-9-]*"' "$TOP/safessh.c" | tr -d '"' |
    sort -u | grep -vxF -- "$INTERNAL")
[ -n "$opts" ] || fail "no long option found in safessh.c"

# run ARGS...: sets out, err, rc.
run() {
	"$SAFESSH" "$@" > "$T/out" 2> "$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# ------------------------------------------------------------------ --help
run --help
eq "--help exits 0" 0 "$rc"
eq "--help writes nothing on stderr" "" "$err"
missing=
for o in $opts; do
	# One line each: the option at the start of a line of its own.
	grep -qE -- "^ +$o( |$)" "$T/out" || missing="$missing $o"
done
eq "--help has a line for every long option" "" "$missing"
# shellcheck disable=SC2088 # the text, not a path
for want in /etc/safessh.conf '~/.config/safessh/config' \
    SAFESSH_CONFIG 'safessh(1)' 'safessh.conf(5)' \
    'usage: safessh [ssh options] destination'; do
	case $out in
	*"$want"*) ok "--help mentions $want" ;;
	*) fail "--help mentions $want" ;;
	esac
done
eq "--help fits 80 columns" "" "$(awk 'length($0) > 79' "$T/out")"
grep -qE -- '^ +--(authed|mux-lost)' "$T/out" &&
    fail "--help lists an internal option" ||
    ok "--help leaves out the internal options"
run --help extra
eq "--help ignores what follows" 0 "$rc"

# -------------------------------------------------------- unknown options
run --bogus
eq "--bogus exits 255" 255 "$rc"
eq "--bogus: first line names it" "safessh: unknown option --bogus" \
    "$(head -1 "$T/err")"
USAGE1='usage: safessh [ssh options] destination [command [argument ...]]'
eq "--bogus: the usage follows" "$USAGE1" "$(sed -n 2p "$T/err")"
eq "--bogus: nothing on stdout" "" "$out"
check "--bogus: no state directory made" test ! -e "$SAFESSH_STATE_DIR"

run --stauts
eq "--stauts exits 255" 255 "$rc"
eq "--stauts: named, with the mode meant" \
    "safessh: unknown option --stauts (did you mean --status?)" \
    "$(head -1 "$T/err")"
run --dryrun host
eq "--dryrun: the mode meant" \
    "safessh: unknown option --dryrun (did you mean --dry-run?)" \
    "$(head -1 "$T/err")"
run --frobnicate
eq "--frobnicate: no far-fetched suggestion" \
    "safessh: unknown option --frobnicate" "$(head -1 "$T/err")"
run --authd
eq "an internal mode is never suggested" \
    "safessh: unknown option --authd" "$(head -1 "$T/err")"

# ------------------------------------- arguments checked before any output
run --status --verbose
eq "--status --verbose exits 255" 255 "$rc"
eq "--status --verbose prints no half table" "" "$out"
eq "--status --verbose names the option" \
    "safessh: --status: unknown option --verbose" "$(head -1 "$T/err")"
for m in --doctor --forget --check; do
	run "$m" -x
	eq "$m -x exits 255, nothing on stdout" "255/" "$rc/$out"
	eq "$m -x names the option" "safessh: $m: unknown option -x" \
	    "$(head -1 "$T/err")"
done
run --proxy --bogus 22
eq "--proxy --bogus 22 names the option" \
    "safessh: --proxy: unknown option --bogus" "$(head -1 "$T/err")"
run --dry-run --bogus host true
eq "--dry-run --bogus names the option" \
    "safessh: --dry-run: unknown option --bogus" "$(head -1 "$T/err")"
# A long option after ssh's own: named, as ssh would not.
run -v --bogus host true
eq "-v --bogus host: exit 255" 255 "$rc"
eq "-v --bogus host: names --bogus" "safessh: unknown option --bogus" \
    "$(head -1 "$T/err")"
# The negative case: right arguments still work.
run --status
eq "--status alone: exit 0" 0 "$rc"
case $out in
SERVER*) ok "--status alone prints its table" ;;
*) fail "--status alone prints its table (got '$out')" ;;
esac
run --version
eq "--version: exit 0, stdout" "0/safessh " "$rc/${out%%[0-9]*}"

# -------------------------------------------------------------- bare call
run
eq "bare safessh exits 255" 255 "$rc"
eq "bare safessh prints the usage" "$USAGE1" "$(head -1 "$T/err")"
eq "bare safessh: nothing on stdout" "" "$out"

t_done
