#!/bin/bash
# stand_ssh.sh: a stand-in for ssh(1) that the regress tests point
# SAFESSH_SSH at.  It never connects anywhere.
#
# Configuration queries (-G, -V, -Q) go to the real ssh (REAL_SSH, else
# /usr/bin/ssh), so that safessh's own "ssh -G" probe works, and are
# logged as "probe".  Any other call is a connection attempt: it appends
#
#	run START_NS PID ARGS...
#
# to $STAND_LOG (one line, written with a single append), writes
# $STAND_STDERR (if set; printf %b escapes) to stderr, sleeps
# $STAND_SLEEP seconds (default 0) and exits with $STAND_STATUS (default
# 0).  If $STAND_STATUS is "signal:NAME" it kills itself with that
# signal.  "ssh was never run" is: no "run" line in $STAND_LOG.
start=$(date +%s%N)
log=${STAND_LOG:-/dev/null}
for a in "$@"; do
	case $a in
	-G|-V|-Q*)
		printf 'probe %s %s\n' "$start" "$$" >> "$log"
		exec "${REAL_SSH:-/usr/bin/ssh}" "$@"
		;;
	--)	break ;;
	esac
done
printf 'run %s %s %s\n' "$start" "$$" "$*" >> "$log"
if [ -n "${STAND_STDERR:-}" ]; then
	printf '%b' "$STAND_STDERR" >&2
fi
if [ "${STAND_SLEEP:-0}" != 0 ]; then
	sleep "$STAND_SLEEP"
fi
case ${STAND_STATUS:-0} in
signal:*)
	kill -s "${STAND_STATUS#signal:}" $$
	;;
esac
exit "${STAND_STATUS:-0}"
