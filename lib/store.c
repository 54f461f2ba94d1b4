/*
 * store.c: the shared ledger's store, Redis through hiredis: the
 * "ledger =" URL (parsed strictly, shown with its password as "***"),
 * and the few commands the ledger needs (ledger.c drives them).
 *
 * Layout: one list per server, PREFIX "srv:" SERVER, each element one
 * record line of the ledger grammar (ledger.c) without its LF.  A
 * transaction reads it under WATCH and writes with MULTI/EXEC: a list
 * changed by another client in between makes EXEC answer nil, and the
 * caller reads and decides again.
 *
 *	ledger	= "files" / tcp / unix
 *	tcp	= "redis://" [userinfo "@"] host [":" port] ["/" db]
 *	unix	= "unix:" [userinfo "@"] path ["?db=" db]
 *	userinfo = user [":" password]	; percent-encoding allowed
 *	host	= name / IPv4 / "[" IPv6 "]"
 *	path	= "/" ...		; absolute, < 108 bytes
 *	db	= 1*4DIGIT
 */
#include <sys/time.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "safessh.h"

#define STORE_MAXDB	9999
#define STORE_MAXELEM	4096	/* longer elements are damage */

static int	sconnect(struct store *, char **);
static int	retry(struct store *, char **);

struct store {
	redisContext	*c;
	char		*prefix;
	char		 shown[512];
	char		 epoch[32];	/* PREFIX "epoch": the store's life */
	struct ledgerurl u;		/* to connect again */
	long		 ms;
	int		 timedout;	/* the last failure was a timeout */
	char		 token[20];	/* the server's lock, when ours */
	int		 locked;
	int		 again;		/* connected again once already */
};

/* Percent-decode s (n bytes) into out (len with the NUL); 0 or -1. */
static int
pdec(const char *s, size_t n, char *out, size_t len)
{
	size_t	 i, k = 0;
	int	 hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = util_hexval(s[i + 1])) == -1 ||
			    (lo = util_hexval(s[i + 2])) == -1)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || k + 1 >= len)
			return -1;
		out[k++] = c;
	}
	out[k] = '\0';
	return 0;
}

static int
digits(const char *s, size_t n, long max, long *v)
{
	long	 x = 0;
	size_t	 i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

/* user[:password] of n bytes into u. */
static int
userinfo(const char *s, size_t n, struct ledgerurl *u, const char **why)
{
	const char	*colon = memchr(s, ':', n);
	size_t		 un = colon != NULL ? (size_t)(colon - s) : n;

	if (pdec(s, un, u->user, sizeof(u->user)) == -1) {
		*why = "bad user name (control byte, bad %-encoding or too "
		    "long)";
		return -1;
	}
	if (colon != NULL) {
		if (pdec(colon + 1, n - un - 1, u->pass,
		    sizeof(u->pass)) == -1) {
			*why = "bad password (control byte, bad %-encoding or "
			    "too long)";
			return -1;
		}
		u->haspass = 1;
		if (u->pass[0] == '\0') {
			*why = "empty password";
			return -1;
		}
	}
	if (!u->haspass) {
		*why = "a user name needs a password (user:password@)";
		return -1;
	}
	return 0;
}

/*
 * Parse value into u.  "files" is the local ledger.  Anything else must
 * be a complete redis:// or unix: URL; 0, or -1 with *why.
 */
int
ledgerurl_parse(const char *v, struct ledgerurl *u, const char **why)
{
	const char	*p, *at, *end, *hp, *q;
	long		 x;
	size_t		 n;

	memset(u, 0, sizeof(*u));
	*why = NULL;
	if (strcmp(v, "files") == 0) {
		u->kind = LK_FILES;
		return 0;
	}
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			*why = "blank, control or non-ASCII byte";
			return -1;
		}
	if (strncmp(v, "rediss://", 9) == 0) {
		*why = "TLS (rediss://) is not supported: use a unix socket "
		    "or a tunnel";
		return -1;
	}
	if (strncmp(v, "redis://", 8) == 0) {
		u->kind = LK_TCP;
		u->port = 6379;
		p = v + 8;
		/* The last '@' ends the user part: a password may hold any. */
		if ((at = strrchr(p, '@')) != NULL) {
			if (userinfo(p, at - p, u, why) == -1)
				return -1;
			p = at + 1;
		}
		end = p + strcspn(p, "/");
		if (*p == '[') {
			if ((q = memchr(p, ']', end - p)) == NULL) {
				*why = "unclosed '[' in the host";
				return -1;
			}
			hp = p + 1;
			n = q - hp;
			if (n == 0 || strspn(hp, "0123456789abcdefABCDEF:.") <
			    n) {
				*why = "bad IPv6 address";
				return -1;
			}
			q++;
		} else {
			hp = p;
			q = p + strcspn(p, ":/");
			n = q - hp;
			if (n == 0) {
				*why = "no host";
				return -1;
			}
			if (strspn(hp, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") < n ||
			    *hp == '-' || *hp == '.') {
				*why = "bad host name";
				return -1;
			}
		}
		if (n >= sizeof(u->host)) {
			*why = "host name too long";
			return -1;
		}
		memcpy(u->host, hp, n);
		u->host[n] = '\0';
		if (*q == ':') {
			if (digits(q + 1, end - q - 1, 65535, &x) == -1 ||
			    x == 0) {
				*why = "port must be a number from 1 to 65535";
				return -1;
			}
			u->port = (int)x;
		} else if (q != end) {
			*why = "junk after the host";
			return -1;
		}
		if (*end == '/') {
			if (end[1] == '\0') {
				*why = "'/' with no database number";
				return -1;
			}
			if (digits(end + 1, strlen(end + 1), STORE_MAXDB,
			    &x) == -1) {
				*why = "database must be a number from 0 to "
				    "9999";
				return -1;
			}
			u->db = (int)x;
		}
		return 0;
	}
	if (strncmp(v, "unix:", 5) == 0) {
		u->kind = LK_UNIX;
		p = v + 5;
		if (strncmp(p, "//", 2) == 0 && p[2] != '/' &&
		    strstr(p, "@/") == NULL) {
			*why = "expected unix:/path (or unix:user:password@"
			    "/path)";
			return -1;
		}
		if (*p != '/') {
			/* user[:password]@/path: the last "@/" ends it. */
			for (at = NULL, q = p; (q = strstr(q, "@/")) != NULL;
			    q++)
				at = q;
			if (at == NULL) {
				*why = "the socket path must be absolute";
				return -1;
			}
			if (userinfo(p, at - p, u, why) == -1)
				return -1;
			p = at + 1;
		}
		end = p + strcspn(p, "?");
		n = end - p;
		if (n < 2 || n >= sizeof(u->path)) {
			*why = n < 2 ? "no socket path" :
			    "socket path too long (at most 107 bytes)";
			return -1;
		}
		memcpy(u->path, p, n);
		u->path[n] = '\0';
		if (*end == '?') {
			if (strncmp(end, "?db=", 4) != 0 ||
			    digits(end + 4, strlen(end + 4), STORE_MAXDB,
			    &x) == -1) {
				*why = "expected ?db=N (0 to 9999) after the "
				    "path";
				return -1;
			}
			u->db = (int)x;
		}
		return 0;
	}
	*why = "expected files, redis://[user[:password]@]host[:port][/db] "
	    "or unix:/path";
	return -1;
}

/* Append s to buf (len), %-encoding what the parser would misread. */
static void
showpart(char *buf, size_t len, const char *s)
{
	char	 e[4];

	for (; *s != '\0'; s++) {
		if (*s == '%' || *s == '@' || *s == ':' || *s == '/') {
			snprintf(e, sizeof(e), "%%%02X", (unsigned char)*s);
			strlcat(buf, e, len);
		} else {
			e[0] = *s;
			e[1] = '\0';
			strlcat(buf, e, len);
		}
	}
}

/* The URL for messages and --status: normalised, password "***". */
void
ledgerurl_show(const struct ledgerurl *u, char *buf, size_t len)
{
	char	 num[32];

	if (len == 0)
		return;
	buf[0] = '\0';
	if (u->kind == LK_FILES) {
		strlcpy(buf, "local files", len);
		return;
	}
	strlcat(buf, u->kind == LK_TCP ? "redis://" : "unix:", len);
	if (u->user[0] != '\0' || u->haspass) {
		showpart(buf, len, u->user);
		if (u->haspass)
			strlcat(buf, ":***", len);
		strlcat(buf, "@", len);
	}
	if (u->kind == LK_TCP) {
		if (strchr(u->host, ':') != NULL) {
			strlcat(buf, "[", len);
			strlcat(buf, u->host, len);
			strlcat(buf, "]", len);
		} else
			strlcat(buf, u->host, len);
		snprintf(num, sizeof(num), ":%d/%d", u->port, u->db);
		strlcat(buf, num, len);
	} else {
		strlcat(buf, u->path, len);
		if (u->db != 0) {
			snprintf(num, sizeof(num), "?db=%d", u->db);
			strlcat(buf, num, len);
		}
	}
}

int
store_prefix_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") == n;
}

/* ------------------------------------------------------------ talking */

/* What went wrong on the connection, as one phrase (allocated). */
static char *
connerr(const struct store *s, const char *what)
{
	const char	*e = s->c != NULL ? s->c->errstr : "out of memory";

	if (s->c != NULL && s->c->err == REDIS_ERR_IO &&
	    (errno == EAGAIN || errno == EWOULDBLOCK ||
	    strstr(e, "temporarily unavailable") != NULL)) {
		((struct store *)s)->timedout = 1;
		return xstrfmt("%s: no answer within %ldms", what,
		    strcmp(what, "EXEC") == 0 || strcmp(what, "MULTI") == 0 ?
		    (long)STORE_COMMIT_MS : s->ms);
	}
	return xstrfmt("%s: %s", what, e[0] != '\0' ? e :
	    "connection closed");
}

/*
 * One reply to a command already sent; NULL with *cause.  This is where
 * hiredis writes: a store that went away would raise SIGPIPE, which
 * must neither kill us nor be left ignored for ssh, so it is blocked
 * and a pending one taken away.
 */
static redisReply *
reply(struct store *s, const char *what, char **cause)
{
	sigset_t	 pipe, old, pend;
	struct timespec	 zero = { 0, 0 };
	void		*r = NULL;
	int		 ok, e;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe, &old);
	ok = redisGetReply(s->c, &r) == REDIS_OK && r != NULL;
	e = errno;
	if (!sigismember(&old, SIGPIPE) && sigpending(&pend) == 0 &&
	    sigismember(&pend, SIGPIPE))
		(void)sigtimedwait(&pipe, NULL, &zero);
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	if (!ok) {
		*cause = connerr(s, what);
		return NULL;
	}
	return r;
}

/* An error reply as a cause ("WRONGPASS ..." cut to one line). */
static char *
errreply(const char *what, const redisReply *r)
{
	char	 msg[160];
	size_t	 i;

	strlcpy(msg, r->str != NULL ? r->str : "?", sizeof(msg));
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20)
			msg[i] = ' ';
	return xstrfmt("%s: %s", what, msg);
}

static void
settimeout(struct store *s, long ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	(void)redisSetTimeout(s->c, tv);
}

/* Send argv; 0 or -1. */
static int
ssend(struct store *s, int argc, const char **argv, const size_t *lens,
    char **cause)
{
	if (redisAppendCommandArgv(s->c, argc, argv, lens) != REDIS_OK) {
		*cause = connerr(s, argv[0]);
		return -1;
	}
	return 0;
}

/* Send, read one reply, check it is not an error; NULL or the reply. */
static redisReply *
cmd(struct store *s, int argc, const char **argv, char **cause)
{
	redisReply	*r;

	if (ssend(s, argc, argv, NULL, cause) == -1 ||
	    (r = reply(s, argv[0], cause)) == NULL)
		return NULL;
	if (r->type == REDIS_REPLY_ERROR) {
		*cause = errreply(argv[0], r);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

int
store_open(struct store **sp, const struct ledgerurl *u, const char *prefix,
    long ms, char **cause)
{
	struct store	*s;

	*sp = NULL;
	*cause = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->prefix = strdup(prefix)) == NULL) {
		store_close(s);
		*cause = xstrfmt("%s", strerror(ENOMEM));
		return -1;
	}
	s->u = *u;
	s->ms = ms;
	ledgerurl_show(u, s->shown, sizeof(s->shown));
	if (sconnect(s, cause) == -1 && !retry(s, cause)) {
		store_close(s);
		return -1;
	}
	*sp = s;
	return 0;
}

/*
 * A read timed out: once per store, connect again and let the caller
 * repeat it (a loaded machine can starve the store for a moment; a
 * write is never repeated, as it may have been done).  1 to repeat.
 */
static int
retry(struct store *s, char **cause)
{
	char	*c2 = NULL;

	if (!s->timedout || s->again)
		return 0;
	s->again = 1;
	s->timedout = 0;
	if (s->c != NULL)
		redisFree(s->c);
	s->c = NULL;
	if (sconnect(s, &c2) == -1) {
		free(c2);
		return 0;
	}
	free(*cause);
	*cause = NULL;
	return 1;
}

/* Connect, AUTH, SELECT, read the epoch.  0, or -1 with *cause. */
static int
sconnect(struct store *s, char **cause)
{
	const struct ledgerurl *u = &s->u;
	struct timeval	 tv;
	redisReply	*r;
	const char	*av[4];
	char		 db[32], *key = NULL;
	int		 ac;
	long		 ms = s->ms;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (u->kind == LK_UNIX)
		s->c = redisConnectUnixWithTimeout(u->path, tv);
	else
		s->c = redisConnectWithTimeout(u->host, u->port, tv);
	if (s->c == NULL || s->c->err) {
		*cause = connerr(s, "connect");
		goto fail;
	}
	if (redisSetTimeout(s->c, tv) != REDIS_OK) {
		*cause = connerr(s, "connect");
		goto fail;
	}
	if (u->haspass || u->user[0] != '\0') {
		ac = 0;
		av[ac++] = "AUTH";
		if (u->user[0] != '\0')
			av[ac++] = u->user;
		av[ac++] = u->haspass ? u->pass : "";
		if ((r = cmd(s, ac, av, cause)) == NULL)
			goto fail;
		freeReplyObject(r);
	}
	if (u->db != 0) {
		snprintf(db, sizeof(db), "%d", u->db);
		av[0] = "SELECT";
		av[1] = db;
		if ((r = cmd(s, 2, av, cause)) == NULL)
			goto fail;
		freeReplyObject(r);
	}
	/*
	 * The store's epoch: set by the first client after the store
	 * started empty, so that a restart that lost the data shows.
	 */
	snprintf(db, sizeof(db), "%08x%08x", arc4random(), arc4random());
	if ((key = xstrfmt("%sepoch", s->prefix)) == NULL) {
		*cause = xstrfmt("%s", strerror(ENOMEM));
		goto fail;
	}
	av[0] = "SET";
	av[1] = key;
	av[2] = db;
	av[3] = "NX";
	if (ssend(s, 4, av, NULL, cause) == -1)
		goto fail;
	av[0] = "GET";
	if (ssend(s, 2, av, NULL, cause) == -1)
		goto fail;
	if ((r = reply(s, "SET", cause)) == NULL)
		goto fail;
	if (r->type == REDIS_REPLY_ERROR)
		*cause = errreply("SET", r);
	freeReplyObject(r);
	if ((r = reply(s, "GET", cause)) == NULL)
		goto fail;
	if (r->type == REDIS_REPLY_ERROR && *cause == NULL)
		*cause = errreply("GET", r);
	if (*cause != NULL) {
		freeReplyObject(r);
		goto fail;
	}
	if (r->type == REDIS_REPLY_STRING)
		strlcpy(s->epoch, r->str, sizeof(s->epoch));
	freeReplyObject(r);
	free(key);
	return 0;
fail:
	free(key);
	return -1;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->c != NULL)
		redisFree(s->c);
	explicit_bzero(&s->u, sizeof(s->u));
	free(s->prefix);
	free(s);
}

const char *
store_epoch(const struct store *s)
{
	return s->epoch;
}

char *
store_key(const struct store *s, const char *server)
{
	return xstrfmt("%ssrv:%s", s->prefix, server);
}

static int	time1(struct store *, time_t *, char **);
static int	read1(struct store *, const char *, struct buf *, size_t *,
		    char **);

int
store_time(struct store *s, time_t *t, char **cause)
{
	int	 r;

	*cause = NULL;
	if ((r = time1(s, t, cause)) == -1 && retry(s, cause))
		r = time1(s, t, cause);
	return r;
}

int
store_read(struct store *s, const char *server, struct buf *out,
    size_t *nel, char **cause)
{
	size_t	 len = out->len;
	int	 r;

	*cause = NULL;
	if ((r = read1(s, server, out, nel, cause)) == -1 &&
	    retry(s, cause)) {
		out->len = len;
		r = read1(s, server, out, nel, cause);
	}
	return r;
}

static int
time1(struct store *s, time_t *t, char **cause)
{
	const char	*av[1] = { "TIME" };
	redisReply	*r;
	long long	 sec;

	*cause = NULL;
	if ((r = cmd(s, 1, av, cause)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    (sec = strtoll(r->element[0]->str, NULL, 10)) <= 0) {
		freeReplyObject(r);
		*cause = xstrfmt("TIME: unexpected reply");
		return -1;
	}
	*t = (time_t)sec;
	freeReplyObject(r);
	return 0;
}

static int
read1(struct store *s, const char *server, struct buf *out, size_t *nel,
    char **cause)
{
	static const char *const what[] = { "UNWATCH", "SET", "WATCH",
	    "LRANGE" };
	const char	*av[6];
	redisReply	*rr[4] = { NULL, NULL, NULL, NULL }, *r, *e;
	char		*key = NULL, *lock = NULL, *wake = NULL, px[16];
	size_t		 i;
	int		 ret = -1;

	*cause = NULL;
	*nel = 0;
	if ((key = store_key(s, server)) == NULL ||
	    (lock = xstrfmt("%slock:%s", s->prefix, server)) == NULL ||
	    (wake = xstrfmt("%swake:%s", s->prefix, server)) == NULL) {
		*cause = xstrfmt("%s", strerror(ENOMEM));
		goto out;
	}
	/*
	 * Take the server's lock (a lease): one small command, so that
	 * waiting clients cost the store little.  Then, in one round trip,
	 * drop an earlier WATCH, watch the list and the lock, read the list.
	 */
	snprintf(s->token, sizeof(s->token), "%08x%08x", arc4random(),
	    arc4random());
	snprintf(px, sizeof(px), "%d", STORE_LEASE_MS);
	av[0] = "SET";
	av[1] = lock;
	av[2] = s->token;
	av[3] = "NX";
	av[4] = "PX";
	av[5] = px;
	if ((rr[1] = cmd(s, 6, av, cause)) == NULL)
		goto out;
	if (rr[1]->type == REDIS_REPLY_NIL) {
		/*
		 * Another client holds the lock: wait on the wake list,
		 * which each release pushes to; Redis wakes blocked clients
		 * in turn.  At most STORE_WAKE_S, then try again anyway
		 * (a holder that died leaves its lease to run out).
		 */
		ret = 1;
		av[0] = "BLPOP";
		av[1] = wake;
		av[2] = STORE_WAKE_S;
		settimeout(s, STORE_COMMIT_MS);
		r = cmd(s, 3, av, cause);
		if (s->c != NULL && !s->c->err)
			settimeout(s, s->ms);
		if (r == NULL)
			ret = -1;
		else
			freeReplyObject(r);
		goto out;
	}
	s->locked = 1;
	av[0] = "UNWATCH";
	if (ssend(s, 1, av, NULL, cause) == -1)
		goto out;
	av[0] = "WATCH";
	av[1] = key;
	av[2] = lock;
	if (ssend(s, 3, av, NULL, cause) == -1)
		goto out;
	av[0] = "LRANGE";
	av[2] = "0";
	av[3] = "-1";
	if (ssend(s, 4, av, NULL, cause) == -1)
		goto out;
	for (i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		if ((rr[i] = reply(s, what[i], cause)) == NULL)
			goto out;
		if (rr[i]->type == REDIS_REPLY_ERROR && *cause == NULL)
			*cause = errreply(what[i], rr[i]);
	}
	if (*cause != NULL)
		goto out;
	r = rr[3];
	if (r->type != REDIS_REPLY_ARRAY) {
		*cause = xstrfmt("LRANGE %s: not a list", key);
		ret = -2;
		goto out;
	}
	for (i = 0; i < r->elements; i++) {
		e = r->element[i];
		if (e->type != REDIS_REPLY_STRING || e->len > STORE_MAXELEM ||
		    memchr(e->str, '\n', e->len) != NULL ||
		    memchr(e->str, '\0', e->len) != NULL) {
			*cause = xstrfmt("element %zu is not one line", i);
			ret = -2;
			goto out;
		}
		if (buf_add(out, e->str, e->len) == -1 ||
		    buf_add(out, "\n", 1) == -1) {
			*cause = xstrfmt("%s", strerror(ENOMEM));
			goto out;
		}
	}
	*nel = r->elements;
	ret = 0;
out:
	for (i = 0; i < 4; i++)
		if (rr[i] != NULL)
			freeReplyObject(rr[i]);
	free(key);
	free(lock);
	free(wake);
	return ret;
}

/*
 * Give the server's lock back if it is still ours (a lease that ran out
 * may be another client's now): compare and delete, in Lua.  Best
 * effort: a lock left behind runs out by itself.
 */
void
store_unlock(struct store *s, const char *server)
{
	static const char cad[] = "if redis.call('get', KEYS[1]) == "
	    "ARGV[1] then redis.call('del', KEYS[1]); "
	    "redis.call('rpush', KEYS[2], '1'); "
	    "redis.call('ltrim', KEYS[2], 0, 0); "
	    "redis.call('pexpire', KEYS[2], " STORE_WAKE_TTL "); "
	    "return 1 end return 0";
	const char	*av[6];
	redisReply	*r;
	char		*lock, *wake, *cause = NULL;

	if (s == NULL || !s->locked)
		return;
	s->locked = 0;
	lock = xstrfmt("%slock:%s", s->prefix, server);
	wake = xstrfmt("%swake:%s", s->prefix, server);
	if (lock != NULL && wake != NULL) {
		av[0] = "EVAL";
		av[1] = cad;
		av[2] = "2";
		av[3] = lock;
		av[4] = wake;
		av[5] = s->token;
		if ((r = cmd(s, 6, av, &cause)) != NULL)
			freeReplyObject(r);
	}
	free(cause);
	free(lock);
	free(wake);
}

int
store_unwatch(struct store *s, char **cause)
{
	const char	*av[1] = { "UNWATCH" };
	redisReply	*r;

	if ((r = cmd(s, 1, av, cause)) == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* Queue RPUSH key with each line of b (LF-terminated); count commands. */
static int
pushlines(struct store *s, const char *key, const struct buf *b,
    size_t *ncmd, char **cause)
{
	const char	**av = NULL;
	size_t		 *lens = NULL, n = 1, i;
	const char	*p, *nl, *end;
	int		  r;

	if (b == NULL || b->len == 0)
		return 0;
	end = b->p + b->len;
	for (p = b->p; p < end; p++)
		if (*p == '\n')
			n++;
	if ((av = calloc(n + 1, sizeof(*av))) == NULL ||
	    (lens = calloc(n + 1, sizeof(*lens))) == NULL) {
		free(av);
		*cause = xstrfmt("%s", strerror(ENOMEM));
		return -1;
	}
	av[0] = "RPUSH";
	lens[0] = 5;
	av[1] = key;
	lens[1] = strlen(key);
	i = 2;
	for (p = b->p; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		if (nl > p) {
			av[i] = p;
			lens[i] = nl - p;
			i++;
		}
	}
	r = 0;
	if (i > 2) {
		r = ssend(s, (int)i, av, lens, cause);
		(*ncmd)++;
	}
	free(av);
	free(lens);
	return r;
}

int
store_commit(struct store *s, const char *server, const struct buf *base,
    const struct buf *add, long ttl, char **cause)
{
	const char	*av[3], *av4[4];
	char		*key, *lock = NULL, *wake = NULL, ms[32];
	redisReply	*r = NULL, *last = NULL;
	size_t		 ncmd = 0, i;
	int		 ret = -1;

	*cause = NULL;
	if ((key = store_key(s, server)) == NULL ||
	    (lock = xstrfmt("%slock:%s", s->prefix, server)) == NULL ||
	    (wake = xstrfmt("%swake:%s", s->prefix, server)) == NULL) {
		free(key);
		free(lock);
		*cause = xstrfmt("%s", strerror(ENOMEM));
		return -1;
	}
	av[0] = "MULTI";
	if (ssend(s, 1, av, NULL, cause) == -1)
		goto out;
	ncmd++;
	if (base != NULL) {
		av[0] = "DEL";
		av[1] = key;
		if (ssend(s, 2, av, NULL, cause) == -1)
			goto out;
		ncmd++;
		if (pushlines(s, key, base, &ncmd, cause) == -1)
			goto out;
	}
	if (pushlines(s, key, add, &ncmd, cause) == -1)
		goto out;
	snprintf(ms, sizeof(ms), "%lld", (long long)ttl * 1000);
	av[0] = "PEXPIRE";
	av[1] = key;
	av[2] = ms;
	if (ssend(s, 3, av, NULL, cause) == -1)
		goto out;
	ncmd++;
	/* The lock is watched: if EXEC runs, it is still ours. */
	if (s->locked) {
		av[0] = "DEL";
		av[1] = lock;
		if (ssend(s, 2, av, NULL, cause) == -1)
			goto out;
		/* Wake one waiting client (at most one token stays). */
		av[0] = "RPUSH";
		av[1] = wake;
		av[2] = "1";
		if (ssend(s, 3, av, NULL, cause) == -1)
			goto out;
		av4[0] = "LTRIM";
		av4[1] = wake;
		av4[2] = "0";
		av4[3] = "0";
		if (ssend(s, 4, av4, NULL, cause) == -1)
			goto out;
		av[0] = "PEXPIRE";
		av[2] = STORE_WAKE_TTL;
		if (ssend(s, 3, av, NULL, cause) == -1)
			goto out;
		ncmd += 4;
	}
	av[0] = "EXEC";
	if (ssend(s, 1, av, NULL, cause) == -1)
		goto out;
	ncmd++;
	/*
	 * Once EXEC is sent the write may be done: its answer is waited
	 * for longer than a read's (a loaded machine), never repeated.
	 */
	settimeout(s, STORE_COMMIT_MS);
	/* MULTI and each queued command answer; EXEC's answer is last. */
	for (i = 0; i < ncmd; i++) {
		if ((r = reply(s, i == ncmd - 1 ? "EXEC" : "MULTI", cause)) ==
		    NULL)
			goto out;
		if (r->type == REDIS_REPLY_ERROR && *cause == NULL)
			*cause = errreply(i == ncmd - 1 ? "EXEC" : "MULTI", r);
		if (i == ncmd - 1)
			last = r;
		else
			freeReplyObject(r);
	}
	if (*cause != NULL)
		goto out;
	if (last->type == REDIS_REPLY_NIL)
		ret = 1;	/* the watched list changed */
	else if (last->type != REDIS_REPLY_ARRAY) {
		*cause = xstrfmt("EXEC: unexpected reply");
	} else {
		ret = 0;
		for (i = 0; i < last->elements; i++)
			if (last->element[i]->type == REDIS_REPLY_ERROR) {
				*cause = errreply("EXEC", last->element[i]);
				ret = -1;
				break;
			}
	}
out:
	if (s->c != NULL && !s->c->err)
		settimeout(s, s->ms);
	if (last != NULL)
		freeReplyObject(last);
	if (ret == 0)
		s->locked = 0;		/* EXEC deleted it */
	else if (ret == 1)
		store_unlock(s, server);
	else
		s->locked = 0;		/* the lease runs out */
	free(key);
	free(lock);
	free(wake);
	return ret;
}

static int
cmpname(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
store_servers(struct store *s, char ***list, size_t *n, char **cause)
{
	const char	*av[6];
	char		 cursor[32] = "0", *pat, **v = NULL, **nv;
	redisReply	*r, *ks;
	size_t		 nv_ = 0, cap = 0, i, plen;
	int		 rounds;

	*list = NULL;
	*n = 0;
	*cause = NULL;
	if ((pat = xstrfmt("%ssrv:*", s->prefix)) == NULL) {
		*cause = xstrfmt("%s", strerror(ENOMEM));
		return -1;
	}
	plen = strlen(pat) - 1;
	for (rounds = 0; rounds < 10000; rounds++) {
		av[0] = "SCAN";
		av[1] = cursor;
		av[2] = "MATCH";
		av[3] = pat;
		av[4] = "COUNT";
		av[5] = "1000";
		if ((r = cmd(s, 6, av, cause)) == NULL)
			goto fail;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			*cause = xstrfmt("SCAN: unexpected reply");
			goto fail;
		}
		strlcpy(cursor, r->element[0]->str, sizeof(cursor));
		ks = r->element[1];
		for (i = 0; i < ks->elements; i++) {
			if (ks->element[i]->type != REDIS_REPLY_STRING ||
			    ks->element[i]->len <= plen)
				continue;
			if (nv_ == cap) {
				cap = cap ? cap * 2 : 16;
				nv = reallocarray(v, cap, sizeof(*v));
				if (nv == NULL)
					goto nomem;
				v = nv;
			}
			if ((v[nv_] = strdup(ks->element[i]->str + plen)) ==
			    NULL)
				goto nomem;
			nv_++;
		}
		freeReplyObject(r);
		if (strcmp(cursor, "0") == 0)
			break;
	}
	free(pat);
	/* SCAN may name a key twice: sort, drop repeats. */
	if (nv_ > 1) {
		size_t	 j = 1;

		qsort(v, nv_, sizeof(*v), cmpname);
		for (i = 1; i < nv_; i++) {
			if (strcmp(v[i], v[j - 1]) == 0)
				free(v[i]);
			else
				v[j++] = v[i];
		}
		nv_ = j;
	}
	*list = v;
	*n = nv_;
	return 0;
nomem:
	freeReplyObject(r);
	*cause = xstrfmt("%s", strerror(ENOMEM));
fail:
	for (i = 0; i < nv_; i++)
		free(v[i]);
	free(v);
	free(pat);
	return -1;
}
