#!/bin/bash
# stand_ssh.sh: a stand-in for ssh(1) that the regress tests point
# SAFESSH_SSH at.  It never connects anywhere.
#
# Configuration queries (-G, -V, -Q) go to the real ssh (REAL_SSH, else
# /usr/bin/ssh), so that safessh's own "ssh -G" probe works, and are
# logged as "probe".  Any other call is a connection attempt: it appends
#
#	run START_US PID TAG ARGS...
#
# to $STAND_LOG (one line, written with a single append; START_US is
# the wall clock in microseconds, TAG is $STAND_TAG or "-").  With
# STAND_EXEC=1 it then execs the real ssh with the same arguments (to
# time admission in front of a real sshd).  Otherwise it writes
# $STAND_STDERR (if set; printf %b escapes) to stderr, sleeps
# $STAND_SLEEP seconds (default 0) and exits with $STAND_STATUS (default
# 0).  If $STAND_STATUS is "signal:NAME" it kills itself with that
# signal.  "ssh was never run" is: no "run" line in $STAND_LOG.
start=${EPOCHREALTIME/[.,]/}
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
printf 'run %s %s %s %s\n' "$start" "$$" "${STAND_TAG:--}" "$*" >> "$log"
if [ "${STAND_EXEC:-0}" = 1 ]; then
	exec "${REAL_SSH:-/usr/bin/ssh}" "$@"
fi
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
