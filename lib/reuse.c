/*
 * reuse.c: connection reuse: authenticate once, run many sessions.
 *
 * Servers count connections, not commands.  With "reuse = DURATION" the
 * first call to a host becomes an OpenSSH master (ControlMaster=auto,
 * ControlPersist=DURATION, a ControlPath of ours), and later calls ride
 * on it as mux clients: no new connection, no authentication, so they
 * are neither admitted against the ban budget nor counted nor held by
 * the "parallel" limit.  ssh does the multiplexing; this file decides
 * when, names the sockets, and speaks just enough of PROTOCOL.mux (the
 * hello, the alive check, terminate) to tell a live master from a dead
 * one without running ssh.
 *
 * The race.  A master found alive can die before ssh reaches it; ssh
 * with ControlMaster=no would then connect directly, unadmitted.  So a
 * mux client gets ProxyCommand=<safessh --mux-lost NONCE> as well: a
 * mux client never runs its ProxyCommand, a fallback connection does,
 * and the guard only leaves a marker and fails before anything reaches
 * the network.  The wrapper sees the marker and starts over as a normal,
 * admitted attempt.  No command can have run, so that is safe to retry.
 *
 * Files: STATEDIR/cm/ (0700) holds the sockets (HASH), what each serves
 * (HASH.note), and the guard's markers (lost-NONCE).  A socket path that
 * would not fit in sun_path (ssh appends 17 characters while binding)
 * goes to /tmp/safessh-UID/ instead, created 0700 and checked to be ours.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "safessh.h"

/* PROTOCOL.mux, version 4. */
#define MUX_VER			4
#define MUX_MSG_HELLO		0x00000001U
#define MUX_C_ALIVE_CHECK	0x10000004U
#define MUX_C_TERMINATE		0x10000005U
#define MUX_S_OK		0x80000001U
#define MUX_S_PERMISSION_DENIED	0x80000002U
#define MUX_S_FAILURE		0x80000003U
#define MUX_S_ALIVE		0x80000005U

#define MUX_MAXPACKET	4096	/* the replies we ask for are tiny */
#define NOTE_MAX	4096
#define NOTE_GRACE	(LOGIN_GRACE + 60) /* a master may still be coming */

_Static_assert(REUSE_PATHLEN ==
    sizeof(((struct sockaddr_un *)0)->sun_path), "REUSE_PATHLEN");

/* ------------------------------------------------------------ planning */

static int
hasopt(const struct sshcmd *cmd, char opt)
{
	size_t	i;

	for (i = 0; i < cmd->nopts; i++)
		if (cmd->opts[i].opt == opt)
			return 1;
	return 0;
}

/*
 * Does the call forward anything (ports, the agent, X11)?  A forwarding
 * asked through a master belongs to the master and outlives the call by
 * ControlPersist; one a master lacks is silently not there for a later
 * session.  "-o ForwardAgent=no" (scp passes it) forwards nothing.
 */
static int
forwards(const struct sshcmd *cmd)
{
	static const char *const fw[] = { "LocalForward", "RemoteForward",
	    "DynamicForward", "ForwardAgent", "ForwardX11",
	    "ForwardX11Trusted" };
	const char	*v;
	size_t		 i;

	for (i = 0; i < cmd->nopts; i++)
		if (strchr("LRDAXY", cmd->opts[i].opt) != NULL)
			return 1;
	for (i = 0; i < sizeof(fw) / sizeof(fw[0]); i++) {
		if ((v = argv_option(cmd, fw[i])) == NULL)
			continue;
		if (i < 3 || (strncasecmp(v, "no", 2) != 0 &&
		    strncasecmp(v, "\"no\"", 4) != 0))
			return 1;
	}
	return 0;
}

/*
 * How this call uses a master.  The user's own ControlPath (from any
 * ssh_config, -S or -o, as ssh -G printed it) wins: safessh then starts
 * no master, but still checks that path so that a call riding on a live
 * master skips admission; not when ControlMaster is yes or ask, which
 * asks ssh for a new master.  An explicit "ControlPath none" means no
 * multiplexing.  Otherwise, with reuse on, safessh's own path; a call
 * with its own ControlMaster on the command line (scp and sftp pass
 * ControlMaster=no, so that their restricted options do not stick to a
 * master) uses a live master but never starts one.  A call that
 * forwards ports, the agent or X11 makes its own connection, as before.
 */
void
reuse_plan(const struct sshcmd *cmd, const struct sshprobe *pr, long reuse,
    struct reuseplan *rp)
{
	const char	*cp = pr->controlpath, *cm = pr->controlmaster;

	memset(rp, 0, sizeof(*rp));
	rp->way = RU_NONE;
	if (hasopt(cmd, 'S') || argv_option(cmd, "ControlPath") != NULL ||
	    (cp[0] != '\0' && strcasecmp(cp, "none") != 0)) {
		if (cp[0] == '\0' || strcasecmp(cp, "none") == 0)
			return;
		rp->way = RU_USER;
		rp->userpath = cp;
		rp->check = !(strcasecmp(cm, "yes") == 0 ||
		    strcasecmp(cm, "true") == 0 || strcasecmp(cm, "ask") == 0);
		return;
	}
	if (reuse <= 0 || forwards(cmd))
		return;
	rp->way = RU_OURS;
	rp->check = 1;
	rp->create = !hasopt(cmd, 'M') &&
	    argv_option(cmd, "ControlMaster") == NULL;
}

/* ---------------------------------------------------------------- paths */

static int
cmdir(const char *statedir, char *buf, size_t len, char **cause)
{
	if ((size_t)snprintf(buf, len, "%s/cm", statedir) >= len) {
		*cause = xstrfmt("%s: path too long", statedir);
		return -1;
	}
	return state_private(buf, 0, cause);
}

/*
 * The control socket for id under statedir: cm/ and 16 hex digits of a
 * hash of the state directory and id (so two state directories never
 * share a master), or the same name under /tmp/safessh-UID when the
 * path plus ssh's temporary suffix would not fit in sun_path.
 */
int
reuse_path(const char *statedir, const char *id, char *buf, size_t len,
    char **cause)
{
	char		 dir[PATH_MAX];
	uint64_t	 h;

	*cause = NULL;
	h = util_fnv(UTIL_FNV0, statedir, strlen(statedir) + 1);
	h = util_fnv(h, id, strlen(id));
	if (cmdir(statedir, dir, sizeof(dir), cause) == -1)
		return -1;
	if ((size_t)snprintf(buf, len, "%s/%016llx", dir,
	    (unsigned long long)h) < len &&
	    strlen(buf) + REUSE_TMPSUFFIX < REUSE_PATHLEN)
		return 0;
	snprintf(dir, sizeof(dir), "/tmp/safessh-%lu",
	    (unsigned long)getuid());
	if (state_private(dir, 0, cause) == -1)
		return -1;
	if ((size_t)snprintf(buf, len, "%s/%016llx", dir,
	    (unsigned long long)h) >= len ||
	    strlen(buf) + REUSE_TMPSUFFIX >= REUSE_PATHLEN) {
		*cause = xstrfmt("%s: control socket path too long", buf);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------- the mux talk */

static long
msnow(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for ev before deadline; 0, or -1 (ETIMEDOUT). */
static int
waitfd(int fd, short ev, long deadline)
{
	struct pollfd	pfd;
	long		left;
	int		r;

	for (;;) {
		if ((left = deadline - msnow()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = ev;
		if ((r = poll(&pfd, 1, (int)left)) == -1 && errno == EINTR)
			continue;
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			return -1;
		return 0;
	}
}

static int
sendall(int fd, const unsigned char *p, size_t n, long deadline)
{
	ssize_t	r;

	while (n > 0) {
		if (waitfd(fd, POLLOUT, deadline) == -1)
			return -1;
		if ((r = send(fd, p, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
recvall(int fd, unsigned char *p, size_t n, long deadline)
{
	ssize_t	r;

	while (n > 0) {
		if (waitfd(fd, POLLIN, deadline) == -1)
			return -1;
		if ((r = recv(fd, p, n, 0)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EPIPE;	/* the peer closed */
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Send one packet of type with up to two uint32 arguments (n of them). */
static int
mux_send(int fd, uint32_t type, uint32_t a, uint32_t b, int n, long dl)
{
	unsigned char	buf[16];

	util_put32(buf, 4 + 4 * (uint32_t)n);
	util_put32(buf + 4, type);
	util_put32(buf + 8, a);
	util_put32(buf + 12, b);
	return sendall(fd, buf, 8 + 4 * (size_t)n, dl);
}

/* Read one packet into buf (its body); *len gets its length.  0 or -1. */
static int
mux_recv(int fd, unsigned char *buf, size_t *len, long dl)
{
	unsigned char	hdr[4];
	uint32_t	n;

	if (recvall(fd, hdr, 4, dl) == -1)
		return -1;
	n = util_get32(hdr);
	if (n < 4 || n > MUX_MAXPACKET) {
		errno = EPROTO;
		return -1;
	}
	if (recvall(fd, buf, n, dl) == -1)
		return -1;
	*len = n;
	return 0;
}

enum dial {
	D_OK,		/* connected, the master said hello */
	D_NONE,		/* nothing there */
	D_STALE,	/* a socket nobody listens on */
	D_HUNG,		/* a listener that did not answer in time */
	D_FOREIGN	/* a socket or master not ours to trust */
};

/*
 * Connect to the control socket at path and exchange hellos by
 * deadline.  *fdp is the open socket when D_OK; *st the socket's stat.
 */
static enum dial
mux_dial(const char *path, long deadline, int *fdp, struct stat *st)
{
	struct sockaddr_un	 sun;
	struct ucred		 cred;
	socklen_t		 clen = sizeof(cred);
	unsigned char		 buf[MUX_MAXPACKET];
	size_t			 n;
	int			 fd, fl;

	*fdp = -1;
	if (lstat(path, st) == -1)
		return D_NONE;
	if (!S_ISSOCK(st->st_mode) || st->st_uid != getuid())
		return D_FOREIGN;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return D_FOREIGN;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return D_NONE;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int	e = errno;

		close(fd);
		return e == ECONNREFUSED ? D_STALE : D_NONE;
	}
	/* Only a master running as us may vouch for our connection. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
	    cred.uid != getuid()) {
		close(fd);
		return D_FOREIGN;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		close(fd);
		return D_NONE;
	}
	/* Each side says hello first; ours carries no extensions. */
	if (mux_send(fd, MUX_MSG_HELLO, MUX_VER, 0, 1, deadline) == -1 ||
	    mux_recv(fd, buf, &n, deadline) == -1) {
		close(fd);
		return D_HUNG;
	}
	if (n < 8 || util_get32(buf) != MUX_MSG_HELLO ||
	    util_get32(buf + 4) != MUX_VER) {
		close(fd);
		return D_FOREIGN;
	}
	*fdp = fd;
	return D_OK;
}

/* Remove our socket at path, unless it was replaced since st. */
static void
unlink_same(const char *path, const struct stat *st)
{
	struct stat	now;

	if (lstat(path, &now) == 0 && now.st_dev == st->st_dev &&
	    now.st_ino == st->st_ino && S_ISSOCK(now.st_mode) &&
	    now.st_uid == getuid())
		(void)unlink(path);
}

/*
 * Is a master answering at path?  What "ssh -O check" asks, over the
 * socket directly: hello, MUX_C_ALIVE_CHECK, MUX_S_ALIVE with the
 * master's pid, all within ms milliseconds.  Returns 1 with *pid, or 0.
 * When ours, a socket nobody listens on (a killed master) or one whose
 * master does not answer in time is removed, so that the next master can
 * take the path; someone else's path is never touched.
 */
int
reuse_alive(const char *path, int ours, long ms, pid_t *pid)
{
	unsigned char	 buf[MUX_MAXPACKET];
	struct stat	 st;
	size_t		 n;
	long		 dl = msnow() + ms;
	int		 fd, r = 0;
	uint32_t	 rid = 1;

	*pid = 0;
	switch (mux_dial(path, dl, &fd, &st)) {
	case D_OK:
		break;
	case D_STALE:
	case D_HUNG:
		if (ours)
			unlink_same(path, &st);
		return 0;
	default:
		return 0;
	}
	if (mux_send(fd, MUX_C_ALIVE_CHECK, rid, 0, 1, dl) == 0 &&
	    mux_recv(fd, buf, &n, dl) == 0 && n >= 12 &&
	    util_get32(buf) == MUX_S_ALIVE && util_get32(buf + 4) == rid &&
	    util_get32(buf + 8) != 0 && util_get32(buf + 8) <= INT_MAX) {
		*pid = (pid_t)util_get32(buf + 8);
		r = 1;
	} else if (ours)
		unlink_same(path, &st);
	close(fd);
	return r;
}

/*
 * Ask the master at path to exit now (MUX_C_TERMINATE); its sessions
 * end with it.  0 when it agreed or nothing listens there (a stale
 * socket of ours is removed by the caller's reuse_alive), else -1.
 */
int
reuse_exit(const char *path, long ms, char **cause)
{
	unsigned char	 buf[MUX_MAXPACKET];
	struct stat	 st;
	size_t		 n;
	long		 dl = msnow() + ms;
	int		 fd;
	uint32_t	 type, rid = 1;

	*cause = NULL;
	switch (mux_dial(path, dl, &fd, &st)) {
	case D_OK:
		break;
	case D_NONE:
	case D_STALE:
		return 0;
	case D_HUNG:
		*cause = xstrfmt("%s: the master does not answer", path);
		return -1;
	default:
		*cause = xstrfmt("%s: not a master of ours", path);
		return -1;
	}
	if (mux_send(fd, MUX_C_TERMINATE, rid, 0, 1, dl) == -1) {
		close(fd);
		*cause = xstrfmt("%s: cannot send the exit request", path);
		return -1;
	}
	if (mux_recv(fd, buf, &n, dl) == -1) {
		/* The master may exit before its MUX_S_OK gets out. */
		int	e = errno;

		close(fd);
		if (e == EPIPE || e == ECONNRESET)
			return 0;
		*cause = xstrfmt("%s: no reply to the exit request", path);
		return -1;
	}
	close(fd);
	if (n < 8) {
		*cause = xstrfmt("%s: short reply to the exit request", path);
		return -1;
	}
	type = util_get32(buf);
	if (type == MUX_S_OK && util_get32(buf + 4) == rid)
		return 0;
	if ((type == MUX_S_PERMISSION_DENIED || type == MUX_S_FAILURE) &&
	    n >= 12) {
		uint32_t	 slen = util_get32(buf + 8);
		char		 why[256];
		size_t		 i, k = 0;

		for (i = 0; i < slen && 12 + i < n && k < sizeof(why) - 1;
		    i++)
			if (isprint(buf[12 + i]))
				why[k++] = (char)buf[12 + i];
		why[k] = '\0';
		*cause = xstrfmt("%s: the master refused to exit: %s", path,
		    why);
		return -1;
	}
	*cause = xstrfmt("%s: unexpected reply 0x%08x", path, type);
	return -1;
}

/* ---------------------------------------------------------------- notes */

static const char *
base(const char *path)
{
	const char	*s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static int
ishex16(const char *s, size_t n)
{
	size_t	i;

	if (n != 16)
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Write statedir/cm/HASH.note for the master at path: its socket, the
 * server (ban domain) and the host alias, one per line.  Replaced
 * atomically; 0, or -1 with *cause.
 */
int
reuse_note(const char *statedir, const char *path, const char *server,
    const char *host, char **cause)
{
	char	 dir[PATH_MAX], note[PATH_MAX], tmp[PATH_MAX], *text;
	int	 fd, ok;
	size_t	 len;

	*cause = NULL;
	if (strpbrk(path, "\n") != NULL || strpbrk(server, "\n") != NULL ||
	    strpbrk(host, "\n") != NULL) {
		*cause = xstrfmt("a newline in a name");
		return -1;
	}
	if (cmdir(statedir, dir, sizeof(dir), cause) == -1)
		return -1;
	if ((size_t)snprintf(note, sizeof(note), "%s/%s.note", dir,
	    base(path)) >= sizeof(note) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", note,
	    (long)getpid()) >= sizeof(tmp)) {
		*cause = xstrfmt("%s: path too long", dir);
		return -1;
	}
	if ((text = xstrfmt("socket %s\nserver %s\nhost %s\n", path, server,
	    host)) == NULL) {
		*cause = xstrfmt("out of memory");
		return -1;
	}
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	ok = fd != -1 && write(fd, text, len) == (ssize_t)len;
	if (fd != -1 && close(fd) == -1)
		ok = 0;
	free(text);
	if (!ok || rename(tmp, note) == -1) {
		*cause = xstrfmt("%s: %s", note, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* Parse a note; 0, or -1 when it is not one of ours. */
static int
note_read(const char *file, struct master *m)
{
	char	 buf[NOTE_MAX], *line, *next;
	ssize_t	 r;
	int	 fd;

	memset(m, 0, sizeof(*m));
	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "socket ", 7) == 0)
			strlcpy(m->path, line + 7, sizeof(m->path));
		else if (strncmp(line, "server ", 7) == 0)
			strlcpy(m->server, line + 7, sizeof(m->server));
		else if (strncmp(line, "host ", 5) == 0)
			strlcpy(m->host, line + 5, sizeof(m->host));
	}
	return m->path[0] != '\0' && m->server[0] != '\0' ? 0 : -1;
}

/*
 * The live masters that safessh started for server (NULL: any), found
 * through the notes and each checked with reuse_alive.  A note whose
 * master is gone for good (no socket, older than a login could take) is
 * removed.  *out (caller frees) gets *n entries.  0, or -1 with *cause.
 */
int
reuse_masters(const char *statedir, const char *server, struct master **out,
    size_t *n, char **cause)
{
	char		 dir[PATH_MAX], file[PATH_MAX];
	struct master	 m, *list = NULL, *nl;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 len, cap = 0;
	pid_t		 pid;

	*cause = NULL;
	*out = NULL;
	*n = 0;
	if (cmdir(statedir, dir, sizeof(dir), cause) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL) {
		*cause = xstrfmt("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len != 21 || strcmp(de->d_name + 16, ".note") != 0 ||
		    !ishex16(de->d_name, 16))
			continue;
		if ((size_t)snprintf(file, sizeof(file), "%s/%s", dir,
		    de->d_name) >= sizeof(file) || note_read(file, &m) == -1)
			continue;
		if (server != NULL && strcmp(m.server, server) != 0)
			continue;
		if (!reuse_alive(m.path, 1, 1000, &pid)) {
			if (lstat(m.path, &st) == -1 &&
			    lstat(file, &st) == 0 &&
			    st.st_mtime + NOTE_GRACE < time(NULL))
				(void)unlink(file);
			continue;
		}
		m.pid = pid;
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			if ((nl = reallocarray(list, cap, sizeof(*nl))) ==
			    NULL) {
				free(list);
				closedir(d);
				*cause = xstrfmt("out of memory");
				return -1;
			}
			list = nl;
		}
		list[(*n)++] = m;
	}
	closedir(d);
	*out = list;
	return 0;
}

/*
 * Close every master safessh started for server (--forget): ask each to
 * exit, wait up to two seconds for its process to go, drop its note.
 * *closed counts them.  0, or -1 with *cause (the first failure; the
 * others are still tried).
 */
int
reuse_close(const char *statedir, const char *server, size_t *closed,
    char **cause)
{
	struct master	*ms;
	char		 note[PATH_MAX], *c = NULL;
	size_t		 n, i;
	int		 r = 0, k;
	pid_t		 pid;

	*closed = 0;
	if (reuse_masters(statedir, server, &ms, &n, cause) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (reuse_exit(ms[i].path, 2000, &c) == -1) {
			if (r == 0)
				*cause = c;
			else
				free(c);
			c = NULL;
			r = -1;
			continue;
		}
		for (k = 0; k < 200 && kill(ms[i].pid, 0) == 0; k++)
			usleep(10000);
		(void)reuse_alive(ms[i].path, 1, 500, &pid);
		if (snprintf(note, sizeof(note), "%s/cm/%s.note", statedir,
		    base(ms[i].path)) < (int)sizeof(note))
			(void)unlink(note);
		(*closed)++;
	}
	free(ms);
	return r;
}

/* ------------------------------------------------------------ argvs */

/* '%' doubled, so that ssh's token expansion gives back the path. */
char *
reuse_escape(const char *path)
{
	char	*q, *o;

	if ((q = o = malloc(2 * strlen(path) + 1)) == NULL)
		return NULL;
	for (; *path != '\0'; path++) {
		if (*path == '%')
			*o++ = '%';
		*o++ = *path;
	}
	*o = '\0';
	return q;
}

/*
 * The ProxyCommand that guards a mux client: "'SELF' --mux-lost NONCE",
 * single-quoted for the shell ssh runs it with, '%' doubled for ssh's
 * expansion.  NULL when self holds a quote, nonce is not 16 hex digits,
 * or memory runs out.
 */
char *
reuse_guard(const char *self, const char *nonce)
{
	char	*esc, *r;

	if (strchr(self, '\'') != NULL || strchr(self, '\n') != NULL ||
	    !ishex16(nonce, strlen(nonce)))
		return NULL;
	if ((esc = reuse_escape(self)) == NULL)
		return NULL;
	r = xstrfmt("'%s' --mux-lost %s", esc, nonce);
	free(esc);
	return r;
}

/*
 * Make av (a complete ssh argv) a guarded mux client of the master at
 * path: "-o ControlMaster=no -o ControlPath=PATH -o ProxyCommand=GUARD"
 * right after argv[0], ahead of everything else (ssh keeps the first
 * value it sees).  0, or -1 (ENOMEM; av is then unchanged).
 */
int
reuse_muxargs(struct arglist *av, const char *path, const char *guard)
{
	struct arglist	 nl = { NULL, 0, 0 };
	char		*esc, *q;
	size_t		 i;
	int		 e = 0;

	if (av->num == 0 || (esc = reuse_escape(path)) == NULL)
		return -1;
	q = argv_cfgquote(esc);
	free(esc);
	if (q == NULL)
		return -1;
	e |= arglist_addv(&nl, av->list[0]);
	e |= arglist_addv(&nl, "-o");
	e |= arglist_addv(&nl, "ControlMaster=no");
	e |= arglist_addv(&nl, "-o");
	e |= arglist_add(&nl, "ControlPath=%s", q);
	e |= arglist_addv(&nl, "-o");
	/* ssh takes ProxyCommand's whole rest of line: no quoting. */
	e |= arglist_add(&nl, "ProxyCommand=%s", guard);
	for (i = 1; i < av->num; i++)
		e |= arglist_addv(&nl, av->list[i]);
	free(q);
	if (e != 0) {
		arglist_free(&nl);
		return -1;
	}
	arglist_free(av);
	*av = nl;
	return 0;
}

/* ------------------------------------------------------------ markers */

void
reuse_nonce(char *buf, size_t len)
{
	unsigned char	r[8];
	size_t		i;

	arc4random_buf(r, sizeof(r));
	for (i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

/*
 * The guard's marker statedir/cm/lost-NONCE.  take 0 creates it (the
 * guard fired): 0 or -1.  take 1 removes it: 1 if it was there, else 0.
 */
int
reuse_lost(const char *statedir, const char *nonce, int take)
{
	char	 dir[PATH_MAX], file[PATH_MAX], *c = NULL;
	int	 fd;

	if (!ishex16(nonce, strlen(nonce)))
		return take ? 0 : -1;
	if (cmdir(statedir, dir, sizeof(dir), &c) == -1) {
		free(c);
		return take ? 0 : -1;
	}
	if ((size_t)snprintf(file, sizeof(file), "%s/lost-%s", dir, nonce) >=
	    sizeof(file))
		return take ? 0 : -1;
	if (take)
		return unlink(file) == 0 ? 1 : 0;
	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return errno == EEXIST ? 0 : -1;
	close(fd);
	return 0;
}
