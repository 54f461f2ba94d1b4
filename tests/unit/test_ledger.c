/*
 * test_ledger.c: unit tests for lib/ledger.c: the state directory, the
 * file format and its percent-encoding, folding, lost attempts,
 * compaction and its bound, damaged files, short writes, --forget.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
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

#define T0	1700000000L	/* the injected clock */
#define SRV	"srv1"


/* A cooldown as the state machine writes it: blocked until t (0: ok). */
#define HCD(h)	((h).st.state == SS_BLOCKED ? (h).st.until : 0)

static int
cooldown(struct ledger *l, time_t t, const char *why, char **cause)
{
	struct srvstate	 st;

	memset(&st, 0, sizeof(st));
	if (t != 0) {
		st.state = SS_BLOCKED;
		st.since = st.until = t;
		st.step = BACKOFF_FIRST;
		strlcpy(st.why, why, sizeof(st.why));
	}
	return ledger_state(l, &st, cause);
}

static char	 top[256];		/* a private directory per test */
static char	 dir[512];		/* the state directory in it */

/* ------------------------------------------------------------ helpers */

static int
setup(void **state)
{
	char	*cause = NULL;

	(void)state;
	snprintf(top, sizeof(top), "%s/test_ledger.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/state", top);
	setenv("SAFESSH_STATE_DIR", dir, 1);
	if (ledger_statedir(dir, sizeof(dir), &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	fx_rmtree(top);
	return 0;
}

static const char *
fpath(const char *server)
{
	static char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/servers/%s", dir, server);
	return p;
}

/* The whole file, NUL-terminated; *lenp its length; NULL if missing. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (lenp != NULL)
		*lenp = n;
	return buf;
}

static void
spit(const char *path, const char *buf, size_t len)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static size_t
nlines(const char *path)
{
	char	*b, *p;
	size_t	 n = 0;

	if ((b = slurp(path, NULL)) == NULL)
		return 0;
	for (p = b; *p != '\0'; p++)
		n += *p == '\n';
	free(b);
	return n;
}

/* A small growable string for building ledger files. */
struct str {
	char	*p;
	size_t	 len;
};

static void addf(struct str *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
addf(struct str *s, const char *fmt, ...)
{
	va_list	 ap;
	char	*t;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&t, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	s->p = realloc(s->p, s->len + n + 1);
	assert_non_null(s->p);
	memcpy(s->p + s->len, t, n + 1);
	s->len += n;
	free(t);
}

static struct ledger *
xopen(const char *server)
{
	struct ledger	*l;
	char		*cause = NULL;

	if (ledger_open(&l, dir, server, &cause) == -1)
		fail_msg("ledger_open: %s", cause);
	return l;
}

static void
xlock(struct ledger *l, struct history *h, time_t now)
{
	char	*cause = NULL;

	if (ledger_lock(l, h, now, &cause) == -1)
		fail_msg("ledger_lock: %s", cause);
}

/* Begin an attempt (lock, begin, unlock); returns its id. */
static uint64_t
xbegin(struct ledger *l, time_t now, const char *host, const char *who,
    pid_t pid)
{
	struct attempt	 a;
	struct history	 h;
	char		*cause = NULL;

	memset(&a, 0, sizeof(a));
	a.start = now;
	a.pid = pid;
	strlcpy(a.host, host, sizeof(a.host));
	strlcpy(a.who, who, sizeof(a.who));
	xlock(l, &h, now);
	if (ledger_begin(l, &a, &cause) == -1)
		fail_msg("ledger_begin: %s", cause);
	ledger_unlock(l);
	history_free(&h);
	return a.id;
}

static void
xsettle(struct ledger *l, uint64_t id, enum outcome o, time_t t)
{
	char	*cause = NULL;

	if (ledger_settle(l, id, o, t, &cause) == -1)
		fail_msg("ledger_settle: %s", cause);
}

/* Is the file unlocked?  (Try a lock of our own, without waiting.) */
static int
unlocked(const char *path)
{
	int	 fd, r;

	if ((fd = open(path, O_RDONLY)) == -1)
		return 1;
	r = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return r;
}

/* A pid that no longer exists. */
static pid_t
deadpid(void)
{
	pid_t	 pid;

	if ((pid = fork()) == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(kill(pid, 0), -1);
	return pid;
}

/* ---------------------------------------------------------- state dir */

static void
test_statedir_create(void **state)
{
	char		 buf[PATH_MAX], p[PATH_MAX], *cause = NULL;
	struct stat	 st;
	struct passwd	*pw;
	const char	*parts[] = {
		"a", "a/b", "a/b/state", "a/b/state/servers"
	};
	size_t		 i;

	(void)state;
	snprintf(p, sizeof(p), "%s/a/b/state/", top);
	setenv("SAFESSH_STATE_DIR", p, 1);
	assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause), 0);
	snprintf(p, sizeof(p), "%s/a/b/state", top);
	assert_string_equal(buf, p);
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", top, parts[i]);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0700);
	}
	/* Again: it exists now, still fine. */
	assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause), 0);

	/* XDG_STATE_HOME, then HOME. */
	unsetenv("SAFESSH_STATE_DIR");
	snprintf(p, sizeof(p), "%s/xdg", top);
	setenv("XDG_STATE_HOME", p, 1);
	assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause), 0);
	snprintf(p, sizeof(p), "%s/xdg/safessh", top);
	assert_string_equal(buf, p);
	setenv("XDG_STATE_HOME", "relative/ignored", 1);
	snprintf(p, sizeof(p), "%s/home", top);
	setenv("HOME", p, 1);
	assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause), 0);
	snprintf(p, sizeof(p), "%s/home/.local/state/safessh", top);
	assert_string_equal(buf, p);
	unsetenv("XDG_STATE_HOME");
	/* No usable HOME: the passwd entry's home (state_path does not
	 * create it; the test must not write there). */
	setenv("HOME", "relative", 1);
	assert_int_equal(state_path(buf, sizeof(buf), &cause), 0);
	if ((pw = getpwuid(getuid())) != NULL && *pw->pw_dir == '/') {
		snprintf(p, sizeof(p), "%s/.local/state/safessh", pw->pw_dir);
		assert_string_equal(buf, p);
	}
	unsetenv("HOME");
	assert_int_equal(state_path(buf, sizeof(buf), &cause),
	    pw != NULL && *pw->pw_dir == '/' ? 0 : -1);
	free(cause);
}

static void
test_statedir_refuse(void **state)
{
	char		 buf[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	char		 want[PATH_MAX * 2];
	char		*cause = NULL;

	(void)state;
	setenv("SAFESSH_STATE_DIR", "rel/state", 1);
	assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause), -1);
	assert_string_equal(cause,
	    "SAFESSH_STATE_DIR=rel/state: not an absolute path");
	free(cause);

	/* A symlink to a good directory is still refused. */
	snprintf(p, sizeof(p), "%s/link", top);
	assert_int_equal(symlink(dir, p), 0);
	setenv("SAFESSH_STATE_DIR", p, 1);
	assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause), -1);
	snprintf(want, sizeof(want), "%s: refusing: a symbolic link", p);
	assert_string_equal(cause, want);
	free(cause);

	/* Mode 0777. */
	snprintf(p, sizeof(p), "%s/open", top);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chmod(p, 0777), 0);
	setenv("SAFESSH_STATE_DIR", p, 1);
	assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause), -1);
	snprintf(want, sizeof(want),
	    "%s: refusing: group or world writable (mode 0777)", p);
	assert_string_equal(cause, want);
	free(cause);

	/* Group writable servers/ inside a good directory. */
	snprintf(p, sizeof(p), "%s/good", top);
	snprintf(q, sizeof(q), "%s/good/servers", top);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(mkdir(q, 0700), 0);
	assert_int_equal(chmod(q, 0770), 0);
	setenv("SAFESSH_STATE_DIR", p, 1);
	assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause), -1);
	snprintf(want, sizeof(want),
	    "%s: refusing: group or world writable (mode 0770)", q);
	assert_string_equal(cause, want);
	free(cause);

	/* A plain file. */
	snprintf(p, sizeof(p), "%s/file", top);
	spit(p, "x", 1);
	setenv("SAFESSH_STATE_DIR", p, 1);
	assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause), -1);
	snprintf(want, sizeof(want), "%s: refusing: not a directory", p);
	assert_string_equal(cause, want);
	free(cause);

	/* Someone else's directory (only root can make one). */
	if (getuid() == 0) {
		snprintf(p, sizeof(p), "%s/theirs", top);
		assert_int_equal(mkdir(p, 0700), 0);
		assert_int_equal(chown(p, 4242, 4242), 0);
		setenv("SAFESSH_STATE_DIR", p, 1);
		assert_int_equal(ledger_statedir(buf, sizeof(buf), &cause),
		    -1);
		snprintf(want, sizeof(want),
		    "%s: refusing: owned by uid 4242, not 0", p);
		assert_string_equal(cause, want);
		free(cause);
	}
}

/* The ledger file itself: symlink, mode, not a file. */
static void
test_file_refuse(void **state)
{
	struct ledger	*l;
	char		 want[PATH_MAX * 2], other[PATH_MAX], *cause = NULL;

	(void)state;
	snprintf(other, sizeof(other), "%s/elsewhere", top);
	spit(other, "", 0);
	assert_int_equal(symlink(other, fpath("lnk")), 0);
	assert_int_equal(ledger_open(&l, dir, "lnk", &cause), -1);
	assert_null(l);
	snprintf(want, sizeof(want), "%s: refusing: a symbolic link",
	    fpath("lnk"));
	assert_string_equal(cause, want);
	free(cause);

	spit(fpath("wide"), "", 0);
	assert_int_equal(chmod(fpath("wide"), 0666), 0);
	assert_int_equal(ledger_open(&l, dir, "wide", &cause), -1);
	snprintf(want, sizeof(want),
	    "%s: refusing: group or world writable (mode 0666)",
	    fpath("wide"));
	assert_string_equal(cause, want);
	free(cause);

	assert_int_equal(mkdir(fpath("adir"), 0700), 0);
	assert_int_equal(ledger_open(&l, dir, "adir", &cause), -1);
	assert_non_null(cause);
	free(cause);
}

static const struct {
	const char	*name;
	int		 ok;
} names[] = {
	{ "192.0.2.1", 1 },
	{ "2001:db8::1", 1 },
	{ "::1", 1 },
	{ "shared-sv1234", 1 },
	{ "A.b_c-9", 1 },
	{ "", 0 },
	{ ".hidden", 0 },
	{ "-opt", 0 },
	{ "a/b", 0 },
	{ "..", 0 },
	{ "a..b", 0 },
	{ "x.tmp.1", 0 },
	{ "a b", 0 },
	{ "a\nb", 0 },
	{ "caf\xc3\xa9", 0 },
	{ "fe80::1%eth0", 0 },
};

static void
test_server_names(void **state)
{
	struct ledger	*l;
	char		*cause;
	size_t		 i;
	struct stat	 st;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cause = NULL;
		l = NULL;
		if (names[i].ok) {
			if (ledger_open(&l, dir, names[i].name, &cause) != 0)
				fail_msg("%s: %s", names[i].name, cause);
			assert_int_equal(stat(fpath(names[i].name), &st), 0);
			assert_int_equal(st.st_mode & 07777, 0600);
			ledger_close(l);
		} else {
			if (ledger_open(&l, dir, names[i].name, &cause) != -1)
				fail_msg("accepted '%s'", names[i].name);
			assert_null(l);
			assert_non_null(cause);
			free(cause);
		}
	}
}

/* ----------------------------------------------------------- records */

static void
test_roundtrip(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct attempt	 a;
	char		*cause = NULL, *text, want[1024];
	uint64_t	 id;

	(void)state;
	l = xopen(SRV);
	/* A fresh ledger: empty file, empty history. */
	xlock(l, &h, T0);
	assert_int_equal(h.natt, 0);
	assert_int_equal(HCD(h), 0);
	memset(&a, 0, sizeof(a));
	a.start = T0;
	a.pid = getpid();
	a.proven = 1;
	strlcpy(a.host, "site-a", sizeof(a.host));
	strlcpy(a.who, "deploy ~/.ssh/site.key", sizeof(a.who));
	assert_int_equal(ledger_begin(l, &a, &cause), 0);
	id = a.id;
	assert_true(id >= (uint64_t)T0 * 1000);
	assert_int_equal(a.outcome, OUT_INFLIGHT);
	assert_int_equal(cooldown(l, T0 + 900, "ban sign", &cause), 0);
	ledger_unlock(l);
	history_free(&h);
	/* Not locked: begin is refused. */
	assert_int_equal(ledger_begin(l, &a, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;

	xsettle(l, id, OUT_AUTH, T0 + 2);
	xsettle(l, id, OUT_OK, T0 + 5);
	snprintf(want, sizeof(want),
	    "safessh-ledger 1 " SRV "\n"
	    "a %llu %ld %ld 1 site-a deploy%%20~/.ssh/site.key 0 0\n"
	    "g blocked %ld %ld %d 0 ban%%20sign\n"
	    "s %llu %ld %s\n"
	    "s %llu %ld %s\n",
	    (unsigned long long)id, T0, (long)getpid(), T0 + 900, T0 + 900,
	    BACKOFF_FIRST,
	    (unsigned long long)id, T0 + 2, outcome_name(OUT_AUTH),
	    (unsigned long long)id, T0 + 5, outcome_name(OUT_OK));
	text = slurp(fpath(SRV), NULL);
	assert_string_equal(text, want);
	free(text);

	xlock(l, &h, T0 + 10);
	assert_int_equal(h.natt, 1);
	assert_int_equal(h.att[0].id, id);
	assert_int_equal(h.att[0].start, T0);
	assert_int_equal(h.att[0].end, T0 + 5);
	assert_int_equal(h.att[0].outcome, OUT_OK);
	assert_int_equal(h.att[0].proven, 1);
	assert_int_equal(h.att[0].pid, getpid());
	assert_string_equal(h.att[0].host, "site-a");
	assert_string_equal(h.att[0].who, "deploy ~/.ssh/site.key");
	assert_int_equal(HCD(h), T0 + 900);
	assert_string_equal(h.st.why, "ban sign");
	/* Clearing the cooldown. */
	assert_int_equal(cooldown(l, 0, "ignored", &cause), 0);
	/* Settle while we hold the lock works too. */
	assert_int_equal(ledger_settle(l, id, OUT_AUTHFAIL, T0 + 11, &cause),
	    0);
	ledger_unlock(l);
	history_free(&h);
	xlock(l, &h, T0 + 12);
	assert_int_equal(HCD(h), 0);
	assert_string_equal(h.st.why, "");
	assert_int_equal(h.att[0].outcome, OUT_AUTHFAIL);
	ledger_unlock(l);
	history_free(&h);

	/* Settling an id the file does not hold is a quiet no-op. */
	text = slurp(fpath(SRV), NULL);
	xsettle(l, id + 12345, OUT_OK, T0 + 13);
	{
		char	*again = slurp(fpath(SRV), NULL);

		assert_string_equal(text, again);
		free(again);
	}
	free(text);
	/* Locking twice is an error, not a deadlock. */
	xlock(l, NULL, T0 + 14);
	assert_int_equal(ledger_lock(l, NULL, T0 + 14, &cause), -1);
	free(cause);
	ledger_close(l);
	assert_true(unlocked(fpath(SRV)));
}

/* Each new id is above every earlier one, also across servers' clocks. */
static void
test_ids(void **state)
{
	struct ledger	*l;
	uint64_t	 a, b, c;

	(void)state;
	l = xopen(SRV);
	a = xbegin(l, T0, "h", "w", getpid());
	b = xbegin(l, T0, "h", "w", getpid());
	c = xbegin(l, T0 - 100, "h", "w", getpid());	/* clock went back */
	assert_true(a < b && b < c);
	ledger_close(l);
}

static void
test_fold(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct str	 s = { NULL, 0 };
	long		 me = (long)getpid();

	(void)state;
	addf(&s, "safessh-ledger 1 " SRV "\n");
	addf(&s, "a 10 %ld %ld 0 h1 w1\n", T0, me);
	addf(&s, "a 11 %ld %ld 1 h2 w2\n", T0 + 1, me);
	addf(&s, "s 10 %ld %s\n", T0 + 2, outcome_name(OUT_AUTH));
	addf(&s, "c %ld first\n", T0 + 100);
	addf(&s, "a 12 %ld %ld 0 h3 w3\n", T0 + 3, me);
	addf(&s, "s 10 %ld %s\n", T0 + 4, outcome_name(OUT_OK));
	addf(&s, "s 12 %ld %s\n", T0 + 5, outcome_name(OUT_BAN));
	addf(&s, "c %ld second%%20one\n", T0 + 200);
	spit(fpath(SRV), s.p, s.len);
	l = xopen(SRV);
	xlock(l, &h, T0 + 6);
	assert_int_equal(h.natt, 3);
	assert_int_equal(h.att[0].id, 10);
	assert_int_equal(h.att[0].outcome, OUT_OK);
	assert_int_equal(h.att[0].end, T0 + 4);
	assert_int_equal(h.att[1].id, 11);
	assert_int_equal(h.att[1].outcome, OUT_INFLIGHT);
	assert_int_equal(h.att[1].end, T0 + 1);
	assert_int_equal(h.att[1].proven, 1);
	assert_int_equal(h.att[2].outcome, OUT_BAN);
	assert_int_equal(HCD(h), T0 + 200);
	assert_string_equal(h.st.why, "second one");
	ledger_close(l);
	history_free(&h);
	free(s.p);
}

/* ------------------------------------------------------------ lost */

static void
test_lost_pid(void **state)
{
	struct ledger	*l;
	struct history	 h;
	uint64_t	 live, dead;
	char		*text, want[128];

	(void)state;
	l = xopen(SRV);
	live = xbegin(l, T0, "h", "alive", getpid());
	dead = xbegin(l, T0, "h", "gone", deadpid());
	xlock(l, &h, T0 + 1);
	assert_int_equal(h.natt, 2);
	assert_int_equal(h.att[0].id, live);
	assert_int_equal(h.att[0].outcome, OUT_INFLIGHT);
	assert_int_equal(h.att[1].id, dead);
	assert_int_equal(h.att[1].outcome, OUT_LOST);
	assert_int_equal(h.att[1].end, T0 + 1);
	ledger_unlock(l);
	history_free(&h);
	/* It was written down, once. */
	text = slurp(fpath(SRV), NULL);
	snprintf(want, sizeof(want), "\ns %llu %ld %s\n",
	    (unsigned long long)dead, T0 + 1, outcome_name(OUT_LOST));
	assert_non_null(strstr(text, want));
	assert_null(strstr(strstr(text, want) + 1, want));
	free(text);
	xlock(l, &h, T0 + 2);
	assert_int_equal(h.att[1].outcome, OUT_LOST);
	assert_int_equal(h.att[1].end, T0 + 1);
	ledger_unlock(l);
	history_free(&h);
	/* A late real outcome still wins. */
	xsettle(l, dead, OUT_OK, T0 + 3);
	xlock(l, &h, T0 + 4);
	assert_int_equal(h.att[1].outcome, OUT_OK);
	ledger_close(l);
	history_free(&h);
}

/*
 * A live process's attempt is never lost, however long it runs (a
 * session whose authentication notice was off); a reused pid (another
 * start time) is.
 */
static void
test_lost_grace(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct attempt	 a;
	char		*cause = NULL;
	unsigned long long t;

	(void)state;
	l = xopen(SRV);
	xbegin(l, T0, "h", "w", getpid());
	xlock(l, &h, T0 + LOGIN_GRACE + 1);
	assert_int_equal(h.att[0].outcome, OUT_INFLIGHT);
	ledger_unlock(l);
	history_free(&h);
	xlock(l, &h, T0 + 86400);
	assert_int_equal(h.att[0].outcome, OUT_INFLIGHT);
	/* Our pid, but another start time: a reused pid. */
	assert_int_equal(util_pstart(getpid(), &t), 0);
	memset(&a, 0, sizeof(a));
	a.start = T0 + 86400;
	a.pid = getpid();
	a.pstart = t + 1;
	strlcpy(a.host, "h2", sizeof(a.host));
	strlcpy(a.who, "w2", sizeof(a.who));
	assert_int_equal(ledger_begin(l, &a, &cause), 0);
	/* Our own start time: alive. */
	a.pstart = t;
	a.start++;
	assert_int_equal(ledger_begin(l, &a, &cause), 0);
	ledger_unlock(l);
	history_free(&h);
	xlock(l, &h, T0 + 86402);
	assert_int_equal(h.natt, 3);
	assert_int_equal(h.att[0].outcome, OUT_INFLIGHT);
	assert_int_equal(h.att[1].outcome, OUT_LOST);
	assert_int_equal(h.att[1].pstart, t + 1);
	assert_int_equal(h.att[2].outcome, OUT_INFLIGHT);
	assert_int_equal(h.att[2].pstart, t);
	ledger_close(l);
	history_free(&h);
}

/* ------------------------------------------------------ encoding */

static const char *const hostile[] = {
	"a b",
	"line1\nline2",
	"100%",
	"%41%",
	"-",
	"",
	" lead",
	"trail ",
	"two  spaces",
	"\t\r\x01\x7f\xff\xc3\xa9",
	"s 1 2 ok\na 3 4 5 0 x y",
	"%%%%",
};

static void
test_encoding(void **state)
{
	struct ledger	*l;
	struct history	 h;
	char		 big[ATTEMPT_WHOLEN], host[ATTEMPT_HOSTLEN];
	char		*text, *p, *line;
	size_t		 i, n = sizeof(hostile) / sizeof(hostile[0]), nf;

	(void)state;
	l = xopen(SRV);
	for (i = 0; i < n; i++)
		xbegin(l, T0, hostile[i], hostile[n - 1 - i], getpid());
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(host, '%', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	xbegin(l, T0, host, big, getpid());
	xlock(l, &h, T0);
	assert_int_equal(h.natt, n + 1);
	for (i = 0; i < n; i++) {
		assert_string_equal(h.att[i].host, hostile[i]);
		assert_string_equal(h.att[i].who, hostile[n - 1 - i]);
	}
	assert_string_equal(h.att[n].host, host);
	assert_string_equal(h.att[n].who, big);
	ledger_close(l);
	history_free(&h);

	/* Every line is printable ASCII with 9 fields. */
	text = slurp(fpath(SRV), NULL);
	for (p = text; *p != '\0'; p++)
		assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
	line = strchr(text, '\n') + 1;
	for (i = 0; i <= n; i++) {
		nf = 1;
		for (p = line; *p != '\n'; p++)
			nf += *p == ' ';
		assert_int_equal(nf, 9);
		line = p + 1;
	}
	free(text);
}

/* ---------------------------------------------------------- damage */

#define HDR	"safessh-ledger 1 " SRV "\n"
#define A5	"a 5 1700000000 1 0 h w\n"
#define FIX	"; fix or remove the file, or run 'safessh --forget " SRV "'"

static const struct {
	const char	*what;
	const char	*text;
	size_t		 len;		/* 0: strlen */
	int		 line;
	const char	*cause;
} damage[] = {
	{ "bad header", "hello world\n", 0, 1, "not a safessh ledger" },
	{ "no header", A5, 0, 1, "not a safessh ledger" },
	{ "empty first line", "\n", 0, 1, "not a safessh ledger" },
	{ "version", "safessh-ledger 2 " SRV "\n", 0, 1,
	    "unsupported version '2'" },
	{ "other server", "safessh-ledger 1 srv2\n", 0, 1,
	    "header names server 'srv2'" },
	{ "field count", HDR "a 1 2 3 0 h\n", 0, 2,
	    "'a' record with 6 fields, not 7, 9 or 10" },
	{ "too many", HDR "a 1 2 3 0 h w 22 1 x y z\n", 0, 2, "too many fields" },
	{ "8 fields", HDR "a 1 2 3 0 h w 22\n", 0, 2,
	    "'a' record with 8 fields, not 7, 9 or 10" },
	{ "bad port", HDR "a 1 2 3 0 h w 65536 0\n", 0, 2,
	    "bad port or process start" },
	{ "g fields", HDR "g ok 1 2 3\n", 0, 2,
	    "'g' record with 5 fields, not 7" },
	{ "g state", HDR "g banned 1 2 3 0 -\n", 0, 2,
	    "unknown server state 'banned'" },
	{ "g number", HDR "g blocked 1 x 3 0 -\n", 0, 2,
	    "bad server state field" },
	{ "s fields", HDR A5 "s 5 7\n", 0, 3,
	    "'s' record with 3 fields, not 4" },
	{ "c fields", HDR "c 5\n", 0, 2, "'c' record with 2 fields, not 3" },
	{ "bad number", HDR "a 1 12x 3 0 h w\n", 0, 2, "bad start time" },
	{ "negative", HDR "a 1 -12 3 0 h w\n", 0, 2, "bad start time" },
	{ "overflow", HDR "a 99999999999999999999 1 3 0 h w\n", 0, 2,
	    "bad attempt id" },
	{ "zero id", HDR "a 0 1 3 0 h w\n", 0, 2, "bad attempt id" },
	{ "bad pid", HDR "a 1 1 0 0 h w\n", 0, 2, "bad pid" },
	{ "proven", HDR "a 1 1 3 2 h w\n", 0, 2, "bad proven flag" },
	{ "bad outcome", HDR A5 "s 5 7 exploded\n", 0, 3,
	    "unknown outcome 'exploded'" },
	{ "bad s time", HDR A5 "s 5 x ok\n", 0, 3, "bad time" },
	{ "bad c time", HDR "c soon why\n", 0, 2, "bad cooldown time" },
	{ "unknown type", HDR "x 1 2\n", 0, 2, "unknown record type 'x'" },
	{ "orphan", HDR "s 9 7 ok\n", 0, 2, "no attempt 9 before this line" },
	{ "id order", HDR A5 A5, 0, 3, "attempt id 5 not above 5" },
	{ "empty line", HDR A5 "\n" A5, 0, 3, "empty line" },
	{ "empty field", HDR "a 5 1 2 0  w\n", 0, 2, "empty field" },
	{ "tab", HDR "a 5 1 2 0 h\tx w\n", 0, 2, "control or non-ASCII byte" },
	{ "crlf", HDR "a 5 1 2 0 h w\r\n", 0, 2, "control or non-ASCII byte" },
	{ "latin1", HDR "a 5 1 2 0 caf\xe9 w\n", 0, 2,
	    "control or non-ASCII byte" },
	{ "nul", HDR "a 5 1 2 0 h\0x w\n", sizeof(HDR) + 15, 2,
	    "control or non-ASCII byte" },
	{ "garbage", "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\n\x03", 18, 1,
	    "control or non-ASCII byte" },
	{ "garbage, no newline", "\x89PNG\x1a\xff\xfe", 0, 1,
	    "control or non-ASCII byte" },
	{ "garbage tail", HDR A5 "\xff\xfe\x01", 0, 3,
	    "control or non-ASCII byte" },
	{ "bad percent", HDR "a 5 1 2 0 h%zz w\n", 0, 2,
	    "bad percent-encoding" },
	{ "short percent", HDR "a 5 1 2 0 h w%4\n", 0, 2,
	    "bad percent-encoding" },
	{ "percent nul", HDR "a 5 1 2 0 h%00 w\n", 0, 2,
	    "NUL byte in a field" },
};

static void
test_damaged(void **state)
{
	struct ledger	*l;
	struct history	 h;
	char		*cause, *after, want[PATH_MAX * 2];
	size_t		 i, len, alen;

	(void)state;
	for (i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		len = damage[i].len ? damage[i].len : strlen(damage[i].text);
		spit(fpath(SRV), damage[i].text, len);
		l = xopen(SRV);
		cause = NULL;
		h.natt = 99;
		if (ledger_lock(l, &h, T0, &cause) != -1)
			fail_msg("%s: accepted", damage[i].what);
		snprintf(want, sizeof(want), "ledger %s:%d: damaged (%s)" FIX,
		    fpath(SRV), damage[i].line, damage[i].cause);
		if (strcmp(cause, want) != 0)
			fail_msg("%s:\n want %s\n got  %s", damage[i].what,
			    want, cause);
		free(cause);
		assert_int_equal(h.natt, 0);
		assert_null(h.att);
		assert_true(unlocked(fpath(SRV)));
		/* Appends are refused; the file is byte-identical. */
		cause = NULL;
		assert_int_equal(cooldown(l, T0, "x", &cause), -1);
		free(cause);
		cause = NULL;
		assert_int_equal(ledger_settle(l, 5, OUT_OK, T0, &cause), -1);
		free(cause);
		ledger_close(l);
		after = slurp(fpath(SRV), &alen);
		assert_int_equal(alen, len);
		assert_memory_equal(after, damage[i].text, len);
		free(after);
	}
}

/* A long file with one bad line at the end: no compaction, no change. */
static void
test_damaged_big(void **state)
{
	struct ledger	*l;
	struct str	 s = { NULL, 0 };
	char		*cause = NULL, *after, want[PATH_MAX * 2];
	size_t		 i, alen;

	(void)state;
	addf(&s, HDR);
	for (i = 1; i <= 400; i++)
		addf(&s, "a %zu %ld 1 0 h w\ns %zu %ld %s\n", i,
		    T0 - 30 * 86400, i, T0 - 30 * 86400,
		    outcome_name(OUT_AUTHFAIL));
	addf(&s, "z\n");
	spit(fpath(SRV), s.p, s.len);
	l = xopen(SRV);
	assert_int_equal(ledger_lock(l, NULL, T0, &cause), -1);
	snprintf(want, sizeof(want), "ledger %s:802: damaged "
	    "(unknown record type 'z')" FIX, fpath(SRV));
	assert_string_equal(cause, want);
	free(cause);
	ledger_close(l);
	after = slurp(fpath(SRV), &alen);
	assert_int_equal(alen, s.len);
	assert_memory_equal(after, s.p, s.len);
	free(after);
	free(s.p);
}

/* A final line cut short is ignored, then cut off by the next append. */
static void
test_torn(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct str	 s = { NULL, 0 }, t = { NULL, 0 };
	const char	*tails[] = {
		"s 5 1700000001 o",
		"a",
		"c 17000",
		"s 5 1700000001 ok",
		"a 6 1700000000 1 0 h w",
	};
	char		*after;
	size_t		 i, alen;
	uint64_t	 id;

	(void)state;
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		free(s.p);
		s.p = NULL;
		s.len = 0;
		addf(&s, HDR "a 5 %ld %ld 0 h w\n%s", T0, (long)getpid(),
		    tails[i]);
		spit(fpath(SRV), s.p, s.len);
		l = xopen(SRV);
		xlock(l, &h, T0 + 1);
		assert_int_equal(h.natt, 1);
		assert_int_equal(h.att[0].outcome, OUT_INFLIGHT);
		assert_int_equal(HCD(h), 0);
		ledger_unlock(l);
		history_free(&h);
		after = slurp(fpath(SRV), &alen);
		assert_int_equal(alen, s.len);
		assert_memory_equal(after, s.p, s.len);
		free(after);
		/* The next append replaces the torn tail. */
		id = xbegin(l, T0 + 1, "h2", "w2", getpid());
		free(t.p);
		t.p = NULL;
		t.len = 0;
		addf(&t, HDR "a 5 %ld %ld 0 h w\na %llu %ld %ld 0 h2 w2 0 0\n",
		    T0, (long)getpid(), (unsigned long long)id, T0 + 1,
		    (long)getpid());
		after = slurp(fpath(SRV), NULL);
		assert_string_equal(after, t.p);
		free(after);
		ledger_close(l);
	}
	free(s.p);
	free(t.p);

	/* A torn header alone is an empty ledger. */
	spit(fpath(SRV), "safessh-led", 11);
	l = xopen(SRV);
	xlock(l, &h, T0);
	assert_int_equal(h.natt, 0);
	ledger_unlock(l);
	after = slurp(fpath(SRV), NULL);
	assert_string_equal(after, "safessh-led");
	free(after);
	id = xbegin(l, T0, "h", "w", getpid());
	after = slurp(fpath(SRV), NULL);
	assert_true(strncmp(after, HDR "a ", sizeof(HDR) + 1) == 0);
	free(after);
	ledger_close(l);
	/* A torn header that cannot be ours is damage. */
	spit(fpath(SRV), "safessh-ledger 1 srv2", 21);
	l = xopen(SRV);
	after = NULL;
	assert_int_equal(ledger_lock(l, &h, T0, &after), -1);
	assert_non_null(strstr(after, ":1: damaged (header names server "
	    "'srv2')"));
	free(after);
	ledger_close(l);
}

/* ------------------------------------------------------- compaction */

static void
test_compact(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct str	 s = { NULL, 0 };
	long		 me = (long)getpid(), old = T0 - 30 * 86400;
	size_t		 i, id = 1, n;
	char		*text;

	(void)state;
	addf(&s, HDR);
	for (i = 0; i < 10; i++, id++)		/* old successes, 10 keys */
		addf(&s, "a %zu %ld 1 0 h u%%20old%zu\ns %zu %ld %s\n", id,
		    old, i, id, old, outcome_name(OUT_OK));
	for (i = 0; i < 5; i++, id++)		/* old failures */
		addf(&s, "a %zu %ld 1 0 h u%%20k\ns %zu %ld %s\n", id, old,
		    id, old, outcome_name(OUT_AUTHFAIL));
	addf(&s, "c %ld old%%20cooldown\n", T0 + 3600);
	for (i = 0; i < 300; i++, id++)		/* recent, settled */
		addf(&s, "a %zu %ld 1 0 h u%%20k\ns %zu %ld %s\n", id,
		    T0 - 1000 + (long)i, id, T0 - 1000 + (long)i,
		    outcome_name(i % 2 ? OUT_OK : OUT_AUTHFAIL));
	addf(&s, "a %zu %ld %ld 0 h u%%20k\n", id++, T0 - 10, me);
	addf(&s, "a %zu %ld %ld 0 h u%%20k\n", id++, T0 - 5, me);
	spit(fpath(SRV), s.p, s.len);
	free(s.p);
	spit(fpath(SRV ".tmp.999999"), "left by a killed compaction", 27);

	l = xopen(SRV);
	xlock(l, &h, T0);
	assert_int_equal(access(fpath(SRV ".tmp.999999"), F_OK), -1);
	/* The caller sees what the compacted file holds. */
	assert_int_equal(h.natt, 10 + 200 + 2);
	ledger_unlock(l);
	history_free(&h);
	/* 1 header + 10 * 2 + 200 * 2 + 2 in flight + 1 cooldown. */
	assert_int_equal(nlines(fpath(SRV)), 424);
	text = slurp(fpath(SRV) , NULL);
	assert_null(strstr(text, "tmp"));
	free(text);

	xlock(l, &h, T0);
	n = h.natt;
	assert_int_equal(n, 10 + 200 + 2);
	for (i = 0; i < 10; i++) {
		char	who[32];

		snprintf(who, sizeof(who), "u old%zu", i);
		assert_string_equal(h.att[i].who, who);
		assert_int_equal(h.att[i].outcome, OUT_OK);
		assert_int_equal(h.att[i].start, old);
	}
	/* The newest 200 settled ones, then the two in flight, in order. */
	assert_int_equal(h.att[10].id, 16 + 300 - 200);
	assert_int_equal(h.att[10].start, T0 - 1000 + 300 - 200);
	assert_int_equal(h.att[n - 3].id, 315);
	assert_int_equal(h.att[n - 3].outcome, OUT_OK);
	assert_int_equal(h.att[n - 2].outcome, OUT_INFLIGHT);
	assert_int_equal(h.att[n - 2].id, 316);
	assert_int_equal(h.att[n - 1].outcome, OUT_INFLIGHT);
	assert_int_equal(HCD(h), T0 + 3600);
	assert_string_equal(h.st.why, "old cooldown");
	for (i = 1; i < n; i++)
		assert_true(h.att[i - 1].id < h.att[i].id);
	ledger_unlock(l);
	history_free(&h);

	/* New ids continue above the kept ones. */
	assert_true(xbegin(l, T0, "h", "w", getpid()) > 317);
	ledger_close(l);
	assert_int_equal(nlines(fpath(SRV)), 425);
}

/* A short file with records past the horizon is pruned too. */
static void
test_compact_old(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct str	 s = { NULL, 0 };
	long		 old = T0 - 30 * 86400;

	(void)state;
	addf(&s, HDR);
	addf(&s, "a 1 %ld 1 0 h w\ns 1 %ld %s\n", old, old,
	    outcome_name(OUT_AUTHFAIL));
	addf(&s, "a 2 %ld 1 0 h w\ns 2 %ld %s\n", old, old,
	    outcome_name(OUT_BAN));
	addf(&s, "c %ld expired\n", old + 900);
	addf(&s, "a 3 %ld 1 0 h w\ns 3 %ld %s\n", T0 - 60, T0 - 59,
	    outcome_name(OUT_AUTHFAIL));
	spit(fpath(SRV), s.p, s.len);
	free(s.p);
	l = xopen(SRV);
	xlock(l, &h, T0);
	assert_int_equal(h.natt, 1);
	ledger_unlock(l);
	history_free(&h);
	assert_int_equal(nlines(fpath(SRV)), 3);
	xlock(l, &h, T0);
	assert_int_equal(h.natt, 1);
	assert_int_equal(h.att[0].id, 3);
	assert_int_equal(h.att[0].end, T0 - 59);
	assert_int_equal(HCD(h), 0);
	ledger_close(l);
	history_free(&h);
}

/* 10 000 attempts one after another: the file stays bounded. */
static void
test_bound(void **state)
{
	struct ledger	*l;
	struct history	 h;
	const char	*who[] = { "u k1", "u k2", "u k3" };
	size_t		 i, n, most = 0;
	uint64_t	 id;
	struct stat	 st;
	off_t		 big = 0;

	(void)state;
	l = xopen(SRV);
	for (i = 0; i < 10000; i++) {
		id = xbegin(l, T0 + (time_t)i, "host", who[i % 3], getpid());
		xsettle(l, id, i % 7 ? OUT_OK : OUT_AUTHFAIL, T0 + (time_t)i);
		if (i % 10 == 0 && (n = nlines(fpath(SRV))) > most)
			most = n;
		assert_int_equal(stat(fpath(SRV), &st), 0);
		if (st.st_size > big)
			big = st.st_size;
	}
	assert_true(most <= 1024);
	assert_true(most > 400);
	assert_true(big < 1024 * 80);
	xlock(l, &h, T0 + 10000);
	assert_true(h.natt >= 200);
	assert_true(h.natt <= 512);
	assert_int_equal(h.att[h.natt - 1].id, id);
	ledger_close(l);
	history_free(&h);
}

/* A flood of attempts in flight: the cap refuses, the file is bounded. */
static void
test_flood(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct attempt	 a;
	char		*cause = NULL;
	size_t		 i, ok = 0;

	(void)state;
	l = xopen(SRV);
	xlock(l, &h, T0);
	for (i = 0; i < 600; i++) {
		memset(&a, 0, sizeof(a));
		a.start = T0;
		a.pid = getpid();
		strlcpy(a.who, "u k", sizeof(a.who));
		if (ledger_begin(l, &a, &cause) == 0) {
			ok++;
			continue;
		}
		assert_non_null(strstr(cause, "attempt not recorded"));
		assert_non_null(strstr(cause, "in flight"));
		free(cause);
		cause = NULL;
	}
	ledger_unlock(l);
	history_free(&h);
	assert_int_equal(ok, 256);
	assert_int_equal(nlines(fpath(SRV)), 257);
	/* All of them are kept by a compaction check, none lost. */
	xlock(l, &h, T0 + 1);
	assert_int_equal(h.natt, 256);
	for (i = 0; i < h.natt; i++)
		assert_int_equal(h.att[i].outcome, OUT_INFLIGHT);
	ledger_close(l);
	history_free(&h);
	assert_int_equal(nlines(fpath(SRV)), 257);
}

/* ------------------------------------------------------ short writes */

static void
test_short_write(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct attempt	 a;
	struct rlimit	 old, lim;
	struct stat	 st;
	char		*before, *after, *cause = NULL, want[PATH_MAX * 2];
	size_t		 blen, alen;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	l = xopen(SRV);
	xbegin(l, T0, "h", "w", getpid());
	before = slurp(fpath(SRV), &blen);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	xlock(l, &h, T0);
	lim = old;
	lim.rlim_cur = blen + 10;	/* room for 10 bytes only */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	memset(&a, 0, sizeof(a));
	a.start = T0;
	strlcpy(a.host, "a-host-name-longer-than-ten", sizeof(a.host));
	assert_int_equal(ledger_begin(l, &a, &cause), -1);
	snprintf(want, sizeof(want), "ledger %s: %s; attempt not recorded",
	    fpath(SRV), strerror(ENOSPC));
	assert_string_equal(cause, want);
	free(cause);
	cause = NULL;
	/* At the limit already: write(2) fails outright. */
	lim.rlim_cur = blen;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(cooldown(l, T0 + 60, "why", &cause), -1);
	snprintf(want, sizeof(want), "ledger %s: %s; server state not recorded",
	    fpath(SRV), strerror(EFBIG));
	assert_string_equal(cause, want);
	free(cause);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	ledger_unlock(l);
	history_free(&h);
	assert_int_equal(stat(fpath(SRV), &st), 0);
	assert_int_equal(st.st_size, (off_t)blen);
	after = slurp(fpath(SRV), &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(before, after, blen);
	free(after);
	/* And it works again once there is room. */
	xbegin(l, T0, "h", "w", getpid());
	xlock(l, &h, T0);
	assert_int_equal(h.natt, 2);
	ledger_close(l);
	history_free(&h);
	free(before);
	signal(SIGXFSZ, SIG_DFL);
}

/* ------------------------------------------------- forget, replace */

static void
test_forget(void **state)
{
	struct ledger	*a, *b;
	struct history	 h;
	char		**list, *cause = NULL;
	size_t		 n, i;
	uint64_t	 id1, id2;
	struct stat	 st;

	(void)state;
	a = xopen(SRV);
	b = xopen("other");
	id1 = xbegin(a, T0, "h", "w", getpid());
	xbegin(b, T0, "h", "w", getpid());
	spit(fpath(SRV ".tmp.123"), "junk", 4);
	spit(fpath(".hidden"), "junk", 4);
	assert_int_equal(ledger_servers(dir, &list, &n, &cause), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0], "other");
	assert_string_equal(list[1], SRV);
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);

	assert_int_equal(ledger_forget(dir, SRV, &cause), 0);
	assert_int_equal(stat(fpath(SRV), &st), -1);
	assert_int_equal(stat(fpath(SRV ".tmp.123"), &st), -1);
	assert_int_equal(stat(fpath(".hidden"), &st), 0);
	/* Forgetting what is not there is fine; bad names are not. */
	assert_int_equal(ledger_forget(dir, SRV, &cause), 0);
	assert_int_equal(ledger_forget(dir, "../x", &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(ledger_servers(dir, &list, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0], "other");
	free(list[0]);
	free(list);

	/* The handle opened before sees a new, empty ledger. */
	xlock(a, &h, T0 + 1);
	assert_int_equal(h.natt, 0);
	ledger_unlock(a);
	history_free(&h);
	id2 = xbegin(a, T0 + 1, "h", "w", getpid());
	assert_true(id2 > id1);
	assert_int_equal(stat(fpath(SRV), &st), 0);
	/* The other server was not touched. */
	xlock(b, &h, T0 + 1);
	assert_int_equal(h.natt, 1);
	ledger_close(a);
	ledger_close(b);
	history_free(&h);

	/* An empty state directory lists nothing. */
	assert_int_equal(ledger_forget(dir, "other", &cause), 0);
	assert_int_equal(ledger_forget(dir, SRV, &cause), 0);
	assert_int_equal(ledger_servers(dir, &list, &n, &cause), 0);
	assert_int_equal(n, 0);
	free(list);
}

/* A handle whose file was replaced by another's compaction follows it. */
static void
test_replaced(void **state)
{
	struct ledger	*a, *b;
	struct history	 h;
	struct stat	 st1, st2;
	size_t		 i;
	uint64_t	 id = 0, ida;

	(void)state;
	a = xopen(SRV);
	b = xopen(SRV);
	xbegin(a, T0, "h", "first", getpid());
	assert_int_equal(stat(fpath(SRV), &st1), 0);
	for (i = 0; i < 300; i++) {
		id = xbegin(b, T0 + 1, "h", "w", getpid());
		xsettle(b, id, OUT_OK, T0 + 1);
	}
	assert_int_equal(stat(fpath(SRV), &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);		/* it was replaced */
	ida = xbegin(a, T0 + 2, "h", "late", getpid());
	assert_true(ida > id);
	xlock(b, &h, T0 + 2);
	assert_string_equal(h.att[0].who, "first");
	assert_int_equal(h.att[h.natt - 1].id, ida);
	assert_string_equal(h.att[h.natt - 1].who, "late");
	ledger_close(a);
	ledger_close(b);
	history_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_statedir_create),
		T(test_statedir_refuse),
		T(test_file_refuse),
		T(test_server_names),
		T(test_roundtrip),
		T(test_ids),
		T(test_fold),
		T(test_lost_pid),
		T(test_lost_grace),
		T(test_encoding),
		T(test_damaged),
		T(test_damaged_big),
		T(test_torn),
		T(test_compact),
		T(test_compact_old),
		T(test_bound),
		T(test_flood),
		T(test_short_write),
		T(test_forget),
		T(test_replaced),
#undef T
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
