/*
 * test_reuse.c: unit tests for lib/reuse.c: when a call uses a master
 * (the plan), control socket paths and their fallback, the mux protocol
 * against fake masters (alive, wrong version, silent, wrong request id,
 * oversized packets, stale sockets, terminate and its refusals), notes,
 * the masters listing and closing, the guard command, the mux client's
 * argv, nonces and markers.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "safessh.h"
#include "fixture.h"

static char	 top[64];		/* private, short: one per test */
static char	 sdir[128];		/* the state directory in it */
static pid_t	 fakes[16];		/* fake masters still to stop */
static size_t	 nfakes;

/* ------------------------------------------------------------ helpers */

static int
setup(void **state)
{
	(void)state;
	/* Short: the sockets live here and sun_path is 108 bytes. */
	strlcpy(top, "/tmp/tr.XXXXXX", sizeof(top));
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(sdir, sizeof(sdir), "%s/state", top);
	if (mkdir(sdir, 0700) == -1)
		return -1;
	nfakes = 0;
	return 0;
}

static int
teardown(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < nfakes; i++)
		kill(fakes[i], SIGKILL);
	fx_rmtree(top);
	return 0;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* How a fake master behaves. */
enum fake {
	F_GOOD,		/* hello v4, alive with its pid, terminate: OK */
	F_BADVER,	/* hello with version 3 */
	F_SILENT,	/* accepts, never says anything */
	F_WRONGRID,	/* answers the alive check with another request id */
	F_CLOSE,	/* accepts and hangs up */
	F_BIGPKT,	/* announces a 1 MB packet */
	F_DENY,		/* refuses to terminate: "nope" */
	F_EXITFAST,	/* exits on terminate before replying */
	F_ZEROPID	/* alive with pid 0 */
};

static int
readn(int fd, unsigned char *p, size_t n)
{
	struct pollfd	pfd;
	ssize_t		r;

	while (n > 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) <= 0)
			return -1;
		if ((r = read(fd, p, n)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
sendwords(int fd, const uint32_t *w, size_t n, const char *text)
{
	unsigned char	buf[256];
	size_t		len = 4 * n, i;

	if (text != NULL)
		len += 4 + strlen(text);
	put32(buf, (uint32_t)len);
	for (i = 0; i < n; i++)
		put32(buf + 4 + 4 * i, w[i]);
	if (text != NULL) {
		put32(buf + 4 + 4 * n, (uint32_t)strlen(text));
		memcpy(buf + 8 + 4 * n, text, strlen(text));
	}
	(void)write(fd, buf, 4 + len);
}

/* One connection to the fake; returns 1 when the fake should exit. */
static int
serve(int c, enum fake mode)
{
	unsigned char	 hdr[4], body[64];
	uint32_t	 w[3], n, type, rid;

	if (mode == F_CLOSE)
		return 0;
	if (mode == F_SILENT) {
		(void)readn(c, body, sizeof(body));	/* until EOF */
		return 0;
	}
	if (mode == F_BIGPKT) {
		put32(hdr, 1U << 20);
		(void)write(c, hdr, 4);
		return 0;
	}
	w[0] = 1;
	w[1] = mode == F_BADVER ? 3 : 4;
	sendwords(c, w, 2, NULL);
	for (;;) {
		if (readn(c, hdr, 4) == -1 || (n = get32(hdr)) < 4 ||
		    n > sizeof(body) || readn(c, body, n) == -1)
			return 0;
		type = get32(body);
		if (type == 1)
			continue;
		rid = n >= 8 ? get32(body + 4) : 0;
		if (type == 0x10000004) {		/* alive check */
			w[0] = 0x80000005;
			w[1] = mode == F_WRONGRID ? rid + 1 : rid;
			w[2] = mode == F_ZEROPID ? 0 : (uint32_t)getpid();
			sendwords(c, w, 3, NULL);
		} else if (type == 0x10000005) {	/* terminate */
			if (mode == F_EXITFAST)
				return 1;
			w[0] = mode == F_DENY ? 0x80000002 : 0x80000001;
			w[1] = rid;
			sendwords(c, w, 2, mode == F_DENY ? "nope" : NULL);
			return mode != F_DENY;
		} else
			return 0;
	}
}

/*
 * A fake master listening at path before this returns (no race),
 * serving up to nconn connections, then exiting.  It runs as a
 * grandchild so that its exit is reaped by init, not left a zombie that
 * kill(pid, 0) would still find.  Returns its pid.
 */
static pid_t
fake_start(const char *path, enum fake mode, int nconn)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	pid_t			 pid, gc = -1;
	int			 s, c, p[2], k;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(s, 8), 0);
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		if ((gc = fork()) == 0) {
			close(p[0]);
			close(p[1]);
			for (k = 0; k < nconn; k++) {
				pfd.fd = s;
				pfd.events = POLLIN;
				if (poll(&pfd, 1, 10000) <= 0)
					break;
				if ((c = accept(s, NULL, NULL)) == -1)
					break;
				if (serve(c, mode)) {
					close(c);
					break;
				}
				close(c);
			}
			_exit(0);
		}
		(void)write(p[1], &gc, sizeof(gc));
		_exit(0);
	}
	close(s);
	close(p[1]);
	assert_int_equal(read(p[0], &gc, sizeof(gc)), (int)sizeof(gc));
	close(p[0]);
	waitpid(pid, NULL, 0);
	if (nfakes < sizeof(fakes) / sizeof(fakes[0]))
		fakes[nfakes++] = gc;
	return gc;
}

/* A socket file nobody listens on, as a SIGKILLed master leaves. */
static void
stale_socket(const char *path)
{
	struct sockaddr_un	 sun;
	int			 s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(s);
}

static int
exists(const char *path)
{
	struct stat	st;

	return lstat(path, &st) == 0;
}

static int
gone(pid_t pid)
{
	int	i;

	for (i = 0; i < 300; i++) {
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* ------------------------------------------------------------ the plan */

static const struct {
	const char	*args[8];	/* ssh's command line */
	const char	*cp;		/* ssh -G controlpath ("" unset) */
	const char	*cm;		/* ssh -G controlmaster */
	long		 reuse;
	enum reuseway	 way;
	int		 check;
	int		 create;
} plans[] = {
	{ { "h", "true" }, "", "false", 0, RU_NONE, 0, 0 },
	{ { "h", "true" }, "", "false", 300, RU_OURS, 1, 1 },
	{ { "h" }, "none", "false", 60, RU_OURS, 1, 1 },
	/* scp and sftp pass ControlMaster=no: use a master, start none. */
	{ { "-oControlMaster=no", "h" }, "", "false", 300, RU_OURS, 1, 0 },
	{ { "-o", "ControlMaster no", "h" }, "", "false", 300, RU_OURS, 1,
	    0 },
	{ { "-M", "h" }, "", "yes", 300, RU_OURS, 1, 0 },
	/* Forwarding calls make their own connection. */
	{ { "-L", "8080:localhost:80", "h" }, "", "false", 300, RU_NONE, 0,
	    0 },
	{ { "-R8080:localhost:80", "h" }, "", "false", 300, RU_NONE, 0, 0 },
	{ { "-D", "1080", "h" }, "", "false", 300, RU_NONE, 0, 0 },
	{ { "-A", "h" }, "", "false", 300, RU_NONE, 0, 0 },
	{ { "-X", "h" }, "", "false", 300, RU_NONE, 0, 0 },
	{ { "-Y", "h" }, "", "false", 300, RU_NONE, 0, 0 },
	{ { "-o", "LocalForward 8080 x:80", "h" }, "", "false", 300, RU_NONE,
	    0, 0 },
	{ { "-o", "ForwardAgent=yes", "h" }, "", "false", 300, RU_NONE, 0,
	    0 },
	{ { "-o", "ForwardAgent=/tmp/agent.sock", "h" }, "", "false", 300,
	    RU_NONE, 0, 0 },
	/* ...but turning forwarding off is no forwarding (scp: -x, -a). */
	{ { "-x", "-a", "-oForwardAgent=no", "h" }, "", "false", 300, RU_OURS,
	    1, 1 },
	{ { "-o", "ForwardX11 no", "h" }, "", "false", 300, RU_OURS, 1, 1 },
	/* The user's own ControlPath wins, with reuse on or off. */
	{ { "h" }, "/u/cm/abc", "auto", 0, RU_USER, 1, 0 },
	{ { "h" }, "/u/cm/abc", "auto", 300, RU_USER, 1, 0 },
	{ { "h" }, "/u/cm/abc", "false", 300, RU_USER, 1, 0 },
	{ { "h" }, "/u/cm/abc", "autoask", 0, RU_USER, 1, 0 },
	/* ControlMaster yes or ask asks for a new master: no shortcut. */
	{ { "h" }, "/u/cm/abc", "true", 300, RU_USER, 0, 0 },
	{ { "h" }, "/u/cm/abc", "yes", 300, RU_USER, 0, 0 },
	{ { "h" }, "/u/cm/abc", "ask", 300, RU_USER, 0, 0 },
	{ { "-S", "/u/s", "h" }, "/u/s", "false", 0, RU_USER, 1, 0 },
	/* An explicit "none" turns multiplexing off, reuse or not. */
	{ { "-S", "none", "h" }, "none", "false", 300, RU_NONE, 0, 0 },
	{ { "-o", "ControlPath=none", "h" }, "", "false", 300, RU_NONE, 0,
	    0 },
};

static void
test_plan(void **state)
{
	struct sshcmd	 cmd;
	struct sshprobe	 pr;
	struct reuseplan rp;
	char		*cause = NULL;
	size_t		 i;
	int		 argc;

	(void)state;
	for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		for (argc = 0; plans[i].args[argc] != NULL; argc++)
			;
		memset(&cmd, 0, sizeof(cmd));
		if (argv_parse(argc, (char *const *)plans[i].args, &cmd,
		    &cause) == -1)
			fail_msg("row %zu: %s", i, cause);
		memset(&pr, 0, sizeof(pr));
		strlcpy(pr.controlpath, plans[i].cp, sizeof(pr.controlpath));
		strlcpy(pr.controlmaster, plans[i].cm,
		    sizeof(pr.controlmaster));
		reuse_plan(&cmd, &pr, plans[i].reuse, &rp);
		if (rp.way != plans[i].way || rp.check != plans[i].check ||
		    rp.create != plans[i].create)
			fail_msg("row %zu: way %d check %d create %d, want "
			    "%d %d %d", i, rp.way, rp.check, rp.create,
			    plans[i].way, plans[i].check, plans[i].create);
		if (rp.way == RU_USER)
			assert_string_equal(rp.userpath, plans[i].cp);
		argv_free(&cmd);
	}
}

/* ------------------------------------------------------------- paths */

static void
test_path(void **state)
{
	char		 a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], d[PATH_MAX];
	char		 other[128], *cause = NULL;
	struct stat	 st;
	size_t		 n;

	(void)state;
	assert_int_equal(reuse_path(sdir, "u k h:22 s", a, sizeof(a),
	    &cause), 0);
	n = strlen(sdir) + strlen("/cm/");
	assert_memory_equal(a, sdir, strlen(sdir));
	assert_memory_equal(a + strlen(sdir), "/cm/", 4);
	assert_int_equal(strlen(a), n + 16);
	assert_int_equal(strspn(a + n, "0123456789abcdef"), 16);
	assert_int_equal(stat(a, &st) == -1, 1);	/* nothing made yet */
	snprintf(b, sizeof(b), "%s/cm", sdir);
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Stable for one id; different for another id or state dir. */
	assert_int_equal(reuse_path(sdir, "u k h:22 s", b, sizeof(b),
	    &cause), 0);
	assert_string_equal(a, b);
	assert_int_equal(reuse_path(sdir, "u k2 h:22 s", c, sizeof(c),
	    &cause), 0);
	assert_string_not_equal(a, c);
	snprintf(other, sizeof(other), "%s/state2", top);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(reuse_path(other, "u k h:22 s", d, sizeof(d),
	    &cause), 0);
	assert_string_not_equal(a + n, d + strlen(other) + 4);
	/* The result buffer too small: the fallback fails cleanly too. */
	assert_int_equal(reuse_path(sdir, "u k h:22 s", d, 10, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
}

static void
test_path_long(void **state)
{
	char	 longdir[PATH_MAX], p[PATH_MAX], want[64], *cause = NULL;
	size_t	 len;

	(void)state;
	/* A state dir so long that cm/HASH plus ssh's suffix won't fit. */
	snprintf(longdir, sizeof(longdir), "%s/%s", top,
	    "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	    "dddddddddddddddddddddddddddd");
	assert_int_equal(mkdir(longdir, 0700), 0);
	assert_int_equal(reuse_path(longdir, "id", p, sizeof(p), &cause),
	    0);
	snprintf(want, sizeof(want), "/tmp/safessh-%lu/",
	    (unsigned long)geteuid());
	assert_memory_equal(p, want, strlen(want));
	len = strlen(p);
	assert_true(len + REUSE_TMPSUFFIX < REUSE_PATHLEN);
	/* Just under the limit stays in the state directory. */
	len = REUSE_PATHLEN - REUSE_TMPSUFFIX - 1 - strlen("/cm/") - 16;
	snprintf(longdir, sizeof(longdir), "%s/", top);
	while (strlen(longdir) < len)
		strlcat(longdir, "e", sizeof(longdir));
	assert_int_equal(mkdir(longdir, 0700), 0);
	assert_int_equal(reuse_path(longdir, "id", p, sizeof(p), &cause),
	    0);
	assert_memory_equal(p, longdir, strlen(longdir));
	assert_int_equal(strlen(p) + REUSE_TMPSUFFIX, REUSE_PATHLEN - 1);
	/* One more character and it moves. */
	strlcat(longdir, "e", sizeof(longdir));
	assert_int_equal(mkdir(longdir, 0700), 0);
	assert_int_equal(reuse_path(longdir, "id", p, sizeof(p), &cause),
	    0);
	assert_memory_equal(p, want, strlen(want));
}

static void
test_path_unsafe(void **state)
{
	char	 cm[PATH_MAX], p[PATH_MAX], *cause = NULL;

	(void)state;
	snprintf(cm, sizeof(cm), "%s/cm", sdir);
	/* Writable by others: refused, with the reason. */
	assert_int_equal(mkdir(cm, 0700), 0);
	assert_int_equal(chmod(cm, 0777), 0);
	assert_int_equal(reuse_path(sdir, "id", p, sizeof(p), &cause), -1);
	assert_non_null(strstr(cause, "group or world writable"));
	free(cause);
	cause = NULL;
	/* Group-writable: refused too; 0755 is fine (not writable). */
	assert_int_equal(chmod(cm, 0770), 0);
	assert_int_equal(reuse_path(sdir, "id", p, sizeof(p), &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(chmod(cm, 0755), 0);
	assert_int_equal(reuse_path(sdir, "id", p, sizeof(p), &cause), 0);
	/* A symlink in its place: refused, not followed. */
	assert_int_equal(rmdir(cm), 0);
	assert_int_equal(symlink(top, cm), 0);
	assert_int_equal(reuse_path(sdir, "id", p, sizeof(p), &cause), -1);
	assert_non_null(strstr(cause, "refusing: a symbolic link"));
	free(cause);
	cause = NULL;
	/* A file in its place. */
	assert_int_equal(unlink(cm), 0);
	assert_int_equal(close(open(cm, O_CREAT | O_WRONLY, 0600)), 0);
	assert_int_equal(reuse_path(sdir, "id", p, sizeof(p), &cause), -1);
	free(cause);
}

/* ---------------------------------------------------------- mux talk */

static const struct {
	enum fake	 mode;
	int		 ours;
	int		 live;		/* reuse_alive's answer */
	int		 kept;		/* the socket file is still there */
} alives[] = {
	{ F_GOOD,	1, 1, 1 },
	{ F_GOOD,	0, 1, 1 },
	{ F_BADVER,	1, 0, 1 },	/* not a master we know: untouched */
	{ F_SILENT,	1, 0, 0 },	/* hung and ours: moved out */
	{ F_SILENT,	0, 0, 1 },	/* hung, the user's: untouched */
	{ F_WRONGRID,	1, 0, 0 },
	{ F_CLOSE,	1, 0, 0 },
	{ F_CLOSE,	0, 0, 1 },
	{ F_BIGPKT,	0, 0, 1 },
	{ F_ZEROPID,	0, 0, 1 },
};

static void
test_alive(void **state)
{
	char	 path[PATH_MAX];
	size_t	 i;
	pid_t	 fake, pid;
	int	 r;

	(void)state;
	for (i = 0; i < sizeof(alives) / sizeof(alives[0]); i++) {
		snprintf(path, sizeof(path), "%s/m%zu", top, i);
		fake = fake_start(path, alives[i].mode, 1);
		r = reuse_alive(path, alives[i].ours, 300, &pid);
		if (r != alives[i].live)
			fail_msg("row %zu: alive %d, want %d", i, r,
			    alives[i].live);
		if (r == 1)
			assert_int_equal(pid, fake);
		else
			assert_int_equal(pid, 0);
		if (exists(path) != alives[i].kept)
			fail_msg("row %zu: socket %s, want %s", i,
			    exists(path) ? "kept" : "removed",
			    alives[i].kept ? "kept" : "removed");
	}
}

static void
test_alive_files(void **state)
{
	char	 path[PATH_MAX];
	pid_t	 pid;
	int	 fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/none", top);
	assert_int_equal(reuse_alive(path, 1, 300, &pid), 0);
	/* A killed master's socket: removed when ours, kept otherwise. */
	snprintf(path, sizeof(path), "%s/stale", top);
	stale_socket(path);
	assert_int_equal(reuse_alive(path, 0, 300, &pid), 0);
	assert_true(exists(path));
	assert_int_equal(reuse_alive(path, 1, 300, &pid), 0);
	assert_false(exists(path));
	/* Not a socket: never live, never removed. */
	snprintf(path, sizeof(path), "%s/file", top);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(reuse_alive(path, 1, 300, &pid), 0);
	assert_true(exists(path));
	/* A symlink to a live master is not trusted either. */
	snprintf(path, sizeof(path), "%s/real", top);
	fake_start(path, F_GOOD, 1);
	snprintf(path, sizeof(path), "%s/link", top);
	assert_int_equal(symlink("real", path), 0);
	assert_int_equal(reuse_alive(path, 1, 300, &pid), 0);
	assert_true(exists(path));
}

/*
 * A master listening as another user (its peer credentials are taken
 * at listen()) is not trusted, even in a socket file we own.  Needs
 * root to switch users; skipped otherwise.
 */
static void
test_alive_foreign(void **state)
{
	struct sockaddr_un	 sun;
	char			 path[PATH_MAX], c;
	pid_t			 pid, got;
	int			 s, p[2], fd;

	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	snprintf(path, sizeof(path), "%s/foreign", top);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s == -1 || bind(s, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1 || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534) == -1 ||
		    listen(s, 8) == -1)
			_exit(1);
		(void)write(p[1], "r", 1);
		if ((fd = accept(s, NULL, NULL)) != -1)
			(void)serve(fd, F_GOOD);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(reuse_alive(path, 1, 300, &got), 0);
	assert_true(exists(path));	/* foreign: not ours to remove */
	kill(pid, SIGKILL);
}

static void
test_exit(void **state)
{
	char	 path[PATH_MAX], *cause = NULL;
	pid_t	 fake;

	(void)state;
	snprintf(path, sizeof(path), "%s/t1", top);
	fake = fake_start(path, F_GOOD, 1);
	assert_int_equal(reuse_exit(path, 1000, &cause), 0);
	assert_true(gone(fake));

	/* Exits before its reply gets out (ssh does): still a success. */
	snprintf(path, sizeof(path), "%s/t2", top);
	fake = fake_start(path, F_EXITFAST, 1);
	assert_int_equal(reuse_exit(path, 1000, &cause), 0);
	assert_true(gone(fake));

	/* Refuses: -1 with its reason. */
	snprintf(path, sizeof(path), "%s/t3", top);
	fake_start(path, F_DENY, 1);
	assert_int_equal(reuse_exit(path, 1000, &cause), -1);
	assert_non_null(strstr(cause, "refused to exit: nope"));
	free(cause);
	cause = NULL;

	/* Does not answer. */
	snprintf(path, sizeof(path), "%s/t4", top);
	fake_start(path, F_SILENT, 1);
	assert_int_equal(reuse_exit(path, 300, &cause), -1);
	assert_non_null(strstr(cause, "does not answer"));
	free(cause);
	cause = NULL;

	/* Nothing there, or a stale socket: nothing to close. */
	snprintf(path, sizeof(path), "%s/t5", top);
	assert_int_equal(reuse_exit(path, 300, &cause), 0);
	stale_socket(path);
	assert_int_equal(reuse_exit(path, 300, &cause), 0);

	/* Another protocol version: not ours to close. */
	snprintf(path, sizeof(path), "%s/t6", top);
	fake_start(path, F_BADVER, 1);
	assert_int_equal(reuse_exit(path, 300, &cause), -1);
	free(cause);
}

/* ---------------------------------------------------- notes, masters */

static void
test_masters(void **state)
{
	struct master	*ms;
	struct timeval	 tv[2];
	char		 p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
	char		 note[PATH_MAX], *cause = NULL;
	size_t		 n, closed;
	pid_t		 f1, f2;

	(void)state;
	assert_int_equal(reuse_path(sdir, "one", p1, sizeof(p1), &cause), 0);
	assert_int_equal(reuse_path(sdir, "two", p2, sizeof(p2), &cause), 0);
	assert_int_equal(reuse_path(sdir, "three", p3, sizeof(p3), &cause),
	    0);
	/* No notes: no masters. */
	assert_int_equal(reuse_masters(sdir, NULL, &ms, &n, &cause), 0);
	assert_int_equal(n, 0);
	free(ms);

	assert_int_equal(reuse_note(sdir, p1, "srv-a", "site-a", &cause), 0);
	assert_int_equal(reuse_note(sdir, p2, "srv-b", "site-b", &cause), 0);
	assert_int_equal(reuse_note(sdir, p3, "srv-a", "site-c", &cause), 0);
	assert_int_equal(reuse_note(sdir, p3, "x\ny", "h", &cause), -1);
	free(cause);
	cause = NULL;
	/* Each master answers the listing and then the close. */
	f1 = fake_start(p1, F_GOOD, 10);
	f2 = fake_start(p2, F_GOOD, 10);
	/* p3 has a note but no master yet (it may still be logging in). */

	assert_int_equal(reuse_masters(sdir, NULL, &ms, &n, &cause), 0);
	assert_int_equal(n, 2);
	free(ms);
	assert_int_equal(reuse_masters(sdir, "srv-a", &ms, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ms[0].server, "srv-a");
	assert_string_equal(ms[0].host, "site-a");
	assert_string_equal(ms[0].path, p1);
	assert_int_equal(ms[0].pid, f1);
	free(ms);
	assert_int_equal(reuse_masters(sdir, "srv-z", &ms, &n, &cause), 0);
	assert_int_equal(n, 0);
	free(ms);

	/* A fresh note without a socket stays; an old one goes. */
	snprintf(note, sizeof(note), "%s/cm/%s.note", sdir,
	    strrchr(p3, '/') + 1);
	assert_true(exists(note));
	tv[0].tv_sec = tv[1].tv_sec = time(NULL) - 3600;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	assert_int_equal(utimes(note, tv), 0);
	assert_int_equal(reuse_masters(sdir, "srv-a", &ms, &n, &cause), 0);
	assert_int_equal(n, 1);
	free(ms);
	assert_false(exists(note));

	/* Closing srv-a's masters leaves srv-b's alone. */
	assert_int_equal(reuse_close(sdir, "srv-a", &closed, &cause), 0);
	assert_int_equal(closed, 1);
	assert_true(gone(f1));
	assert_false(exists(p1));
	assert_int_equal(kill(f2, 0), 0);
	assert_int_equal(reuse_masters(sdir, NULL, &ms, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ms[0].server, "srv-b");
	free(ms);
	/* No masters for that server: nothing to close. */
	assert_int_equal(reuse_close(sdir, "srv-z", &closed, &cause), 0);
	assert_int_equal(closed, 0);
}

static void
test_close_refused(void **state)
{
	char	 p[PATH_MAX], *cause = NULL;
	size_t	 closed;

	(void)state;
	assert_int_equal(reuse_path(sdir, "deny", p, sizeof(p), &cause), 0);
	assert_int_equal(reuse_note(sdir, p, "srv", "h", &cause), 0);
	/* Answers the listing's alive check, then refuses to exit. */
	fake_start(p, F_DENY, 2);
	assert_int_equal(reuse_close(sdir, "srv", &closed, &cause), -1);
	assert_int_equal(closed, 0);
	assert_non_null(strstr(cause, "nope"));
	free(cause);
}

/* ------------------------------------------------------------- argvs */

static const struct {
	const char	*in;
	const char	*out;
} escapes[] = {
	{ "/a/b", "/a/b" },
	{ "/a%b", "/a%%b" },
	{ "%%", "%%%%" },
	{ "", "" },
};

static void
test_escape(void **state)
{
	char	*s;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		s = reuse_escape(escapes[i].in);
		assert_non_null(s);
		assert_string_equal(s, escapes[i].out);
		free(s);
	}
}

static const struct {
	const char	*self;
	const char	*nonce;
	const char	*want;		/* NULL: refused */
} guards[] = {
	{ "/usr/bin/safessh", "0123456789abcdef",
	    "'/usr/bin/safessh' --mux-lost 0123456789abcdef" },
	{ "/opt/50%/safessh", "0123456789abcdef",
	    "'/opt/50%%/safessh' --mux-lost 0123456789abcdef" },
	{ "/a b/safessh", "ffffffffffffffff",
	    "'/a b/safessh' --mux-lost ffffffffffffffff" },
	{ "/it's/safessh", "0123456789abcdef", NULL },
	{ "/usr/bin/safessh", "0123456789abcde", NULL },
	{ "/usr/bin/safessh", "0123456789abcdef0", NULL },
	{ "/usr/bin/safessh", "0123456789ABCDEF", NULL },
	{ "/usr/bin/safessh", "0123456789abcdeg", NULL },
	{ "/usr/bin/safessh", "'; rm -rf / #'xx", NULL },
};

static void
test_guard(void **state)
{
	char	*s;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(guards) / sizeof(guards[0]); i++) {
		s = reuse_guard(guards[i].self, guards[i].nonce);
		if (guards[i].want == NULL) {
			if (s != NULL)
				fail_msg("row %zu: want NULL, got %s", i, s);
		} else {
			if (s == NULL)
				fail_msg("row %zu: got NULL", i);
			assert_string_equal(s, guards[i].want);
		}
		free(s);
	}
}

static const struct {
	const char	*path;
	const char	*want;		/* the ControlPath argument */
} muxargs[] = {
	{ "/s/cm/0123", "ControlPath=/s/cm/0123" },
	{ "/s t/cm/0123", "ControlPath=\"/s t/cm/0123\"" },
	{ "/s%/cm", "ControlPath=/s%%/cm" },
	{ "/s\"q/cm", "ControlPath=\"/s\\\"q/cm\"" },
};

static void
test_muxargs(void **state)
{
	struct arglist	 av;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(muxargs) / sizeof(muxargs[0]); i++) {
		memset(&av, 0, sizeof(av));
		assert_int_equal(arglist_addv(&av, "/usr/bin/ssh"), 0);
		assert_int_equal(arglist_addv(&av, "-o"), 0);
		assert_int_equal(arglist_addv(&av, "IdentitiesOnly=yes"), 0);
		assert_int_equal(arglist_addv(&av, "--"), 0);
		assert_int_equal(arglist_addv(&av, "host"), 0);
		assert_int_equal(reuse_muxargs(&av, muxargs[i].path,
		    "'/x' --mux-lost 0123456789abcdef"), 0);
		assert_int_equal(av.num, 11);
		assert_string_equal(av.list[0], "/usr/bin/ssh");
		assert_string_equal(av.list[1], "-o");
		assert_string_equal(av.list[2], "ControlMaster=no");
		assert_string_equal(av.list[3], "-o");
		assert_string_equal(av.list[4], muxargs[i].want);
		assert_string_equal(av.list[5], "-o");
		assert_string_equal(av.list[6],
		    "ProxyCommand='/x' --mux-lost 0123456789abcdef");
		assert_string_equal(av.list[7], "-o");
		assert_string_equal(av.list[8], "IdentitiesOnly=yes");
		assert_string_equal(av.list[9], "--");
		assert_string_equal(av.list[10], "host");
		assert_null(av.list[11]);
		arglist_free(&av);
	}
	/* An empty argv has no argv[0] to follow. */
	memset(&av, 0, sizeof(av));
	assert_int_equal(reuse_muxargs(&av, "/p", "g"), -1);
}

/* ------------------------------------------------------------ markers */

static void
test_nonce_lost(void **state)
{
	char	 a[17], b[17], file[PATH_MAX];

	(void)state;
	reuse_nonce(a, sizeof(a));
	reuse_nonce(b, sizeof(b));
	assert_int_equal(strlen(a), 16);
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	assert_string_not_equal(a, b);

	assert_int_equal(reuse_lost(sdir, a, 1), 0);	/* not set */
	assert_int_equal(reuse_lost(sdir, a, 0), 0);	/* the guard */
	snprintf(file, sizeof(file), "%s/cm/lost-%s", sdir, a);
	assert_true(exists(file));
	assert_int_equal(reuse_lost(sdir, a, 0), 0);	/* twice: fine */
	assert_int_equal(reuse_lost(sdir, b, 1), 0);	/* another call's */
	assert_int_equal(reuse_lost(sdir, a, 1), 1);	/* the wrapper */
	assert_false(exists(file));
	assert_int_equal(reuse_lost(sdir, a, 1), 0);
	/* Names that are not nonces are never made or removed. */
	assert_int_equal(reuse_lost(sdir, "../../x", 0), -1);
	assert_int_equal(reuse_lost(sdir, "", 0), -1);
	assert_int_equal(reuse_lost(sdir, "../../etc/passwd", 1), 0);
}

/* Reap the fake masters as soon as they exit (we are their subreaper). */
static void
reap(int sig)
{
	int	save = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = save;
}

int
main(void)
{
	struct sigaction	sa;

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_plan),
		T(test_path),
		T(test_path_long),
		T(test_path_unsafe),
		T(test_alive),
		T(test_alive_files),
		T(test_alive_foreign),
		T(test_exit),
		T(test_masters),
		T(test_close_refused),
		T(test_escape),
		T(test_guard),
		T(test_muxargs),
		T(test_nonce_lost),
	};

	signal(SIGPIPE, SIG_IGN);
	/*
	 * The fakes run as grandchildren, as a daemonised master does; as
	 * their subreaper we see them gone at once, whatever init does.
	 */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reap;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
