#!/bin/bash
# setup-trixie.sh: a Debian 13 (trixie) chroot for tests/regress/psp.sh,
# whose packaged sshd (OpenSSH 10.0) has PerSourcePenalties on by default
# (Debian 12's 9.2 has none).  Built once with
#   debootstrap --variant=minbase --include=openssh-server,openssh-client \
#       trixie DIR http://deb.debian.org/debian
# into DIR = $SAFESSH_TRIXIE, default /var/tmp/safessh-trixie, and reused
# when it is there and complete.  Needs root, debootstrap and the network
# (about 100 MB, a few minutes); without root or debootstrap it says so in
# one line and exits 0 (psp.sh then skips).  Exits 1 when the download or
# the install fails (the partial tree is removed; the log is kept).
#
# A build already under way for DIR (another run of this script, or a
# debootstrap started by hand) is waited for, never duplicated.
set -u
DIR=${SAFESSH_TRIXIE:-/var/tmp/safessh-trixie}
MIRROR=${SAFESSH_TRIXIE_MIRROR:-http://deb.debian.org/debian}
WAIT=${SAFESSH_TRIXIE_WAIT:-1800}	# at most this long for another build
me=setup-trixie

say() {
	echo "$me: $*"
}

# The tree is complete: debootstrap removes DIR/debootstrap when it ends
# well, and the sshd from the packages is there.
complete() {
	[ ! -e "$1/debootstrap" ] && [ -x "$1/usr/sbin/sshd" ] &&
	    [ -x "$1/usr/lib/openssh/sshd-session" ] &&
	    [ -x "$1/usr/bin/ssh-keygen" ]
}

version() {
	env -u LD_PRELOAD chroot "$DIR" /usr/sbin/sshd -V 2>&1 | head -1
}

# A debootstrap process working on DIR (or on our staging tree)?
building() {
	local p args
	for p in /proc/[0-9]*; do
		args=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
		case $args in
		*debootstrap*" $DIR "*|*debootstrap*" $DIR.part."*)
			return 0 ;;
		esac
	done
	return 1
}

ready() {
	say "Debian 13 chroot ready at $DIR ($(version))"
	exit 0
}

if [ "$(id -u)" != 0 ]; then
	say "skipped: needs root (builds the Debian 13 chroot for" \
	    "tests/regress/psp.sh)"
	exit 0
fi
complete "$DIR" && ready
if ! command -v debootstrap >/dev/null; then
	say "skipped: debootstrap is not installed (apt-get install" \
	    "debootstrap); tests/regress/psp.sh will skip"
	exit 0
fi

# One builder at a time; a build begun elsewhere is waited for.
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
if ! flock -n 9; then
	say "another setup-trixie.sh is building $DIR; waiting"
	flock -w "$WAIT" 9 || { say "gave up waiting for $DIR.lock"; exit 1; }
fi
complete "$DIR" && ready
if building; then
	say "a debootstrap of $DIR is under way; waiting (at most ${WAIT}s)"
	for _ in $(seq "$WAIT"); do
		building || break
		sleep 1
	done
	complete "$DIR" && ready
	if building; then
		say "gave up waiting for the debootstrap of $DIR"
		exit 1
	fi
fi

# Nothing running and not complete: a leftover of a failed build.
if [ -e "$DIR" ]; then
	if grep -q " $DIR/" /proc/mounts; then
		say "$DIR is incomplete and has mounts under it; leaving it"
		exit 1
	fi
	say "removing the incomplete tree $DIR"
	rm -rf --one-file-system "$DIR"
fi

part=$DIR.part.$$
log=$DIR.log
rm -rf --one-file-system "$DIR".part.*
say "building $DIR with debootstrap (log: $log; a few minutes)"
if env -u LD_PRELOAD debootstrap --variant=minbase \
    --include=openssh-server,openssh-client trixie "$part" "$MIRROR" \
    >"$log" 2>&1 && complete "$part"; then
	rm -f "$part"/var/cache/apt/archives/*.deb
	mv "$part" "$DIR"
	ready
fi
say "debootstrap failed (see $log): $(tail -1 "$log")"
rm -rf --one-file-system "$part"
exit 1
