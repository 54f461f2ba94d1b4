/*
 * ledger.c: the on-disk ledger of connection attempts, one text file per
 * server, appended under flock(2) and compacted by write-temp + rename.
 *
 * Files: <statedir>/servers/<server>, mode 0600, in 0700 directories
 * owned by the user.  <server> is an IP address or a "server =" name:
 * [A-Za-z0-9._:-], not starting with "." or "-", no "..", no ".tmp.".
 *
 * Grammar (ABNF; every line ends in LF; fields are separated by exactly
 * one space; a line holds printable ASCII only):
 *
 *	ledger	  = header *record
 *	header	  = "safessh-ledger" SP "1" SP server LF
 *	record	  = attempt / state / server / learned / cooldown
 *	attempt	  = "a" SP id SP start SP pid SP proven SP host SP who
 *		    [SP port SP pstart] LF
 *	state	  = "s" SP id SP time SP outcome LF
 *	server	  = "g" SP sstate SP since SP until SP step SP probe SP why LF
 *	learned	  = "l" SP max SP window SP lcool SP since SP banat SP why
 *		    LF
 *	cooldown  = "c" SP until SP why LF	; read only (older files)
 *	id	  = 1*20DIGIT	; above every earlier id in the file
 *	start	  = 1*19DIGIT	; epoch seconds
 *	time	  = 1*19DIGIT
 *	until	  = 1*19DIGIT	; 0: no cooldown
 *	pid	  = 1*10DIGIT	; the safessh process that started it
 *	port	  = 1*5DIGIT	; the server's port, 0: unknown
 *	pstart	  = 1*20DIGIT	; pid's start time, boot ticks; 0: unknown
 *	sstate	  = "ok" / "suspect" / "blocked"
 *	since, step = 1*19DIGIT	; seconds
 *	probe	  = 1*20DIGIT	; the probe's attempt id, 0: none
 *	max	  = 1*10DIGIT	; learned failures per window, 0: none
 *	window, lcool = 1*19DIGIT ; seconds; lcool 0: no ban length seen
 *	banat	  = 1*19DIGIT	; the ban under way began, 0: none
 *	proven	  = "0" / "1"	; admitted on a just-proven key
 *	outcome	  = "inflight" / "auth" / "ok" / "authfail" / "noauth" /
 *		    "ban" / "drop" / "net" / "lost" / "unknown"
 *		    ; see outcome_name()
 *	host, who, why = "-" / 1*(%x21-24 / %x26-7E / "%" 2HEXDIG)
 *
 * Text fields are percent-encoded: "%", space, control bytes, DEL and
 * bytes >= 0x80 are written as %XX; "-" alone is the empty string and
 * a literal "-" is written "%2D".  host is the alias as typed (< 256
 * bytes), who "user key" (< 512 bytes), why a cooldown's reason
 * (< 128 bytes).
 *
 * Meaning: "a" starts an attempt (in flight); "s" records its new state,
 * the last one for an id winning; "g" records the server's state (G3,
 * see attempt.c), the last one winning; "l" what the server's answers
 * taught (learn.c), the last one winning; "c", written by older versions,
 * reads as "blocked until" (0: ok).  Ids grow: a new one
 * is the larger of the file's last id + 1 and now * 1000, so that an
 * id handed out before a --forget is not handed out again after it
 * (unless within the same second).
 *
 * Every change is one write(2) of complete lines, under an exclusive
 * flock(2) of the file; a short write is truncated away.  A final line
 * without its LF is an append that never completed: it is ignored, and
 * cut off by the next append.  Any other malformed line makes the file
 * damaged: it is reported as "file:line" and never modified.  An
 * attempt still in flight whose process is gone (no such pid, or a pid
 * that started at another time: reused) is settled as "lost" by the
 * next reader.  A live one is never lost, however long it runs.
 *
 * Size: when the file holds more than 512 lines, or attempts that ended
 * before the horizon (7 days, or the default policy's longest window if
 * longer), it is rewritten keeping every attempt in flight, the latest
 * success of each of the 32 most recent credentials ("who"), the newest
 * 200 other attempts within the horizon, the server's state and what
 * was learned; one "a" and one "s" line per attempt kept.  --forget
 * keeps only the "l" line (a file without one is removed);
 * --forget --limits removes the file.  The new file is written
 * to <server>.tmp.<pid>, fsync'd and renamed over the old one; readers
 * notice the new inode once they hold the lock and reopen.  A new
 * attempt is refused while 256 are in flight or the file has 1024
 * lines, so the file stays bounded whatever the load.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safessh.h"

#define LEDGER_MAGIC	"safessh-ledger"
#define LEDGER_VERSION	"1"
#define LEDGER_MAXLINE	4096		/* longer lines are damage */
#define LEDGER_MAXFILE	(64L << 20)	/* a bigger file is damage */
#define LEDGER_MAXLINES	1024		/* no new attempt past this */
#define LEDGER_COMPACT	512		/* compact above this many lines */
#define LEDGER_KEEP	200		/* settled attempts kept, newest */
#define LEDGER_KEEPWHO	32		/* latest success of this many who */
#define LEDGER_MAXFLIGHT 256		/* attempts in flight at most */
#define LEDGER_HORIZON	(7L * 86400)	/* at least a week of history */

struct ledger {
	int		 fd;
	int		 locked;
	char		*dir;		/* <statedir>/servers */
	char		*path;		/* <dir>/<server> */
	char		*server;
	time_t		 now;		/* the clock given to ledger_lock */
	off_t		 good;		/* end of the last complete line */
	size_t		 nlines;	/* complete lines, header included */
	size_t		 nflight;	/* attempts in flight */
	uint64_t	 maxid;
	/* A shared ledger (store.c); all zero for the local files. */
	int		 shared;	/* the store's ledger */
	struct store	*rs;		/* its connection, once made */
	struct ledgerurl url;
	char		*prefix;
	char		 shown[512];	/* the URL without its password */
	int		 required;	/* ledger_required = yes */
	int		 fallen;	/* the store failed: local files now */
	int		 dead;		/* the store failed (deadcause) */
	char		*deadcause;
	char		*warn;		/* the line to say, once */
	int		 watching;	/* a WATCH to undo before the next */
	struct ledger	*local;		/* this machine's files (the mirror) */
	struct buf	 pend;		/* lines queued while locked */
	struct buf	 base;		/* a compaction: the list's content */
	int		 rewrite;
	struct mop	*mops;		/* to mirror once committed */
	size_t		 nmops;
	struct {
		uint64_t shared, local;
	}		 map[16];	/* our attempts' ids in the mirror */
	size_t		 nmap;
	char		 client[ATTEMPT_CLIENTLEN];
	char		*sdir;		/* the state directory */
	unsigned long	 conflicts;	/* EXECs another client beat */
	unsigned long	 lockwaits;	/* tries to take a taken lock */
};

/* What a shared ledger's commit repeats in the local files. */
struct mop {
	int		 begin;		/* 1: the attempt a; 0: an outcome */
	struct attempt	 a;
	uint64_t	 id;
	enum outcome	 o;
	time_t		 t;
};

static int	shared_lock(struct ledger *, struct history *, time_t,
		    char **);
static int	shared_commit(struct ledger *, char **);
static time_t	shared_now(struct ledger *);
static int	shared_mop(struct ledger *, const struct attempt *, uint64_t,
		    enum outcome, time_t);
static uint64_t	shared_unmap(const struct ledger *, uint64_t);

/* Formatting and percent-encoding into a struct buf (util.c). */
static int	sb_fmt(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	sb_enc(struct buf *, const char *);

/* ------------------------------------------------------------ helpers */

static int
sb_fmt(struct buf *sb, const char *fmt, ...)
{
	va_list	 ap;
	char	 tmp[512];
	int	 r;

	va_start(ap, fmt);
	r = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/*
	 * Only numbers and names go through here: they fit.  The longest
	 * is the header, "safessh-ledger 1 " and a server name of up to
	 * 255 bytes (valid_server): 256 bytes were too few, and a long
	 * server name failed every append as "out of memory".
	 */
	if (r < 0 || (size_t)r >= sizeof(tmp))
		return -1;
	return buf_add(sb, tmp, r);
}

/* Append s percent-encoded (see the grammar above). */
static int
sb_enc(struct buf *sb, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*u;
	char			 e[3];

	if (*s == '\0')
		return buf_add(sb, "-", 1);
	if (strcmp(s, "-") == 0)
		return buf_add(sb, "%2D", 3);
	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if (*u > 0x20 && *u < 0x7f && *u != '%') {
			if (buf_add(sb, (const char *)u, 1) == -1)
				return -1;
			continue;
		}
		e[0] = '%';
		e[1] = hex[*u >> 4];
		e[2] = hex[*u & 0xf];
		if (buf_add(sb, e, 3) == -1)
			return -1;
	}
	return 0;
}

/* Decode field s into buf (len bytes with the NUL); NULL or why not. */
static const char *
dec(const char *s, char *buf, size_t len)
{
	size_t	 n = 0;
	int	 hi, lo, c;

	if (strcmp(s, "-") == 0) {
		buf[0] = '\0';
		return NULL;
	}
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '%') {
			if ((hi = util_hexval(s[1])) == -1 ||
			    (lo = util_hexval(s[2])) == -1)
				return "bad percent-encoding";
			c = hi << 4 | lo;
			if (c == 0)
				return "NUL byte in a field";
			s += 2;
		}
		if (n + 1 >= len)
			return "field too long";
		buf[n++] = c;
	}
	buf[n] = '\0';
	return NULL;
}

/* A decimal number of at most max; 0 or -1. */
static int
num(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t	 n = 0;
	unsigned	 d;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = *s - '0';
		if (d > max || n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*v = n;
	return 0;
}

/* 1 if s may name a server file, else 0 with *why. */
static int
valid_server(const char *s, const char **why)
{
	const char	*p;

	if (*s == '\0') {
		*why = "empty server name";
		return 0;
	}
	if (strlen(s) > 255) {
		*why = "server name too long";
		return 0;
	}
	if (*s == '.' || *s == '-') {
		*why = "server name starts with '.' or '-'";
		return 0;
	}
	for (p = s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._:-", *p) != NULL)
			continue;
		*why = "server name holds a character other than "
		    "[A-Za-z0-9._:-]";
		return 0;
	}
	if (strstr(s, "..") != NULL) {
		*why = "server name holds \"..\"";
		return 0;
	}
	if (strstr(s, ".tmp.") != NULL) {
		*why = "server name holds \".tmp.\"";
		return 0;
	}
	return 1;
}

/* <dir>/servers, created if missing and checked; 0 or -1. */
static int
serversdir(const char *dir, char *buf, size_t len, char **cause)
{
	if ((size_t)snprintf(buf, len, "%s/servers", dir) >= len) {
		*cause = xstrfmt("%s: path too long", dir);
		return -1;
	}
	return state_private(buf, 0, cause);
}

static char *
damaged(const struct ledger *l, size_t line, const char *what)
{
	if (l->shared)
		return xstrfmt("ledger %s element %zu: damaged (%s); run "
		    "'safessh --forget %s'", l->path, line > 1 ? line - 2 : 0,
		    what, l->server);
	return xstrfmt("ledger %s:%zu: damaged (%s); fix or remove the file, "
	    "or run 'safessh --forget %s'", l->path, line, what, l->server);
}

/* ---------------------------------------------------------- state dir */

/*
 * Fill buf with the state directory ($SAFESSH_STATE_DIR, else
 * $XDG_STATE_HOME/safessh, else $HOME/.local/state/safessh), creating
 * it and its servers/ directory (and missing parents) 0700.  Refuses a
 * directory that is a symlink, not the user's, or group/world writable.
 * Returns 0, or -1 with *cause.
 */
int
ledger_statedir(char *buf, size_t len, char **cause)
{
	char		 sd[PATH_MAX];

	if (state_path(buf, len, cause) == -1 ||
	    state_private(buf, 1, cause) == -1)
		return -1;
	return serversdir(buf, sd, sizeof(sd), cause);
}

/* ------------------------------------------------------ open and lock */

/*
 * Open l->path into l->fd (creating it if create) and check it.  0, or
 * 1 if !create and it does not exist, or -1 with *cause.
 */
static int
openfile(struct ledger *l, int create, char **cause)
{
	struct stat	 st;
	int		 fl = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC;

	if (create)
		fl |= O_CREAT;
	if ((l->fd = open(l->path, fl, 0600)) == -1) {
		if (!create && errno == ENOENT)
			return 1;
		if (errno == ELOOP)
			*cause = xstrfmt("%s: refusing: a symbolic link",
			    l->path);
		else
			*cause = xstrfmt("%s: %s", l->path, strerror(errno));
		return -1;
	}
	if (fstat(l->fd, &st) == -1)
		*cause = xstrfmt("%s: %s", l->path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		*cause = xstrfmt("%s: refusing: not a regular file", l->path);
	else if (st.st_uid != getuid())
		*cause = xstrfmt("%s: refusing: owned by uid %lu, not %lu",
		    l->path, (unsigned long)st.st_uid,
		    (unsigned long)getuid());
	else if ((st.st_mode & 022) != 0)
		*cause = xstrfmt("%s: refusing: group or world writable "
		    "(mode %04o)", l->path, (unsigned)(st.st_mode & 07777));
	else
		return 0;
	close(l->fd);
	l->fd = -1;
	return -1;
}

/* ledger_open, optionally without creating: 0, 1 (missing) or -1. */
static int
lopen(struct ledger **lp, const char *dir, const char *server, int create,
    char **cause)
{
	struct ledger	*l;
	const char	*why;
	char		 sd[PATH_MAX];
	int		 r;

	*lp = NULL;
	*cause = NULL;
	if (!valid_server(server, &why)) {
		*cause = xstrfmt("%s: %s", server, why);
		return -1;
	}
	if (serversdir(dir, sd, sizeof(sd), cause) == -1)
		return -1;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto nomem;
	l->fd = -1;
	if ((l->dir = strdup(sd)) == NULL ||
	    (l->server = strdup(server)) == NULL ||
	    (l->path = xstrfmt("%s/%s", sd, server)) == NULL)
		goto nomem;
	if ((r = openfile(l, create, cause)) != 0) {
		ledger_close(l);
		return r;
	}
	*lp = l;
	return 0;

nomem:
	ledger_close(l);
	*cause = xstrfmt("ledger: %s", strerror(ENOMEM));
	return -1;
}

/*
 * Open the ledger of server under the state directory dir (creating an
 * empty file); it is not locked.  Returns 0 with *lp (ledger_close
 * frees it), or -1 with *cause.
 */
int
ledger_open(struct ledger **lp, const char *dir, const char *server,
    char **cause)
{
	return lopen(lp, dir, server, 1, cause) == 0 ? 0 : -1;
}

/*
 * Take the exclusive lock on the file that is at l->path now: a
 * compaction or --forget may have replaced or removed the one we have
 * open, so after each flock check that it is still the one named by the
 * path, else reopen and lock again.  0, 1 (gone and !create) or -1 with
 * *cause.
 */
static int
lockfile(struct ledger *l, int create, char **cause)
{
	struct stat	 fst, pst;
	int		 tries, r;

	for (tries = 0; tries < 1000; tries++) {
		if (l->fd == -1 && (r = openfile(l, create, cause)) != 0)
			return r;
		while (flock(l->fd, LOCK_EX) == -1) {
			if (errno != EINTR) {
				*cause = xstrfmt("%s: lock: %s", l->path,
				    strerror(errno));
				return -1;
			}
		}
		if (fstat(l->fd, &fst) == -1) {
			*cause = xstrfmt("%s: %s", l->path, strerror(errno));
			return -1;
		}
		if (lstat(l->path, &pst) == 0) {
			if (pst.st_dev == fst.st_dev &&
			    pst.st_ino == fst.st_ino)
				return 0;
		} else if (errno != ENOENT) {
			*cause = xstrfmt("%s: %s", l->path, strerror(errno));
			return -1;
		}
		close(l->fd);
		l->fd = -1;
	}
	*cause = xstrfmt("%s: lock: the file keeps being replaced", l->path);
	return -1;
}

/* ------------------------------------------------------------ reading */

/* Read the whole file; 0 or -1 with *cause. */
static int
readall(struct ledger *l, char **bufp, size_t *lenp, char **cause)
{
	struct stat	 st;
	char		*buf, *nb;
	size_t		 len = 0, cap;
	ssize_t		 n;

	if (fstat(l->fd, &st) == -1) {
		*cause = xstrfmt("%s: %s", l->path, strerror(errno));
		return -1;
	}
	if (st.st_size > LEDGER_MAXFILE) {
		*cause = damaged(l, 1, "file too large");
		return -1;
	}
	cap = st.st_size + 1;
	if ((buf = malloc(cap)) == NULL)
		goto nomem;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > LEDGER_MAXFILE) {
				free(buf);
				*cause = damaged(l, 1, "file too large");
				return -1;
			}
			if ((nb = realloc(buf, cap * 2)) == NULL) {
				free(buf);
				goto nomem;
			}
			buf = nb;
			cap *= 2;
		}
		n = pread(l->fd, buf + len, cap - len - 1, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*cause = xstrfmt("%s: %s", l->path, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;

nomem:
	*cause = xstrfmt("ledger: %s", strerror(ENOMEM));
	return -1;
}

/* The attempt with this id (ids ascend in h->att), or NULL. */
static struct attempt *
findid(const struct history *h, uint64_t id)
{
	size_t	 lo = 0, hi = h->natt, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (h->att[mid].id == id)
			return &h->att[mid];
		if (h->att[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

#define MAXFIELDS	10

/*
 * Parse one complete line (NUL-terminated, no LF) into h.  Returns NULL,
 * or what is wrong with it (in why, or a static string).
 */
static const char *
parseline(struct ledger *l, struct history *h, char *line, size_t lineno,
    char *why, size_t whylen)
{
	char		*f[MAXFIELDS], *p;
	size_t		 nf = 0;
	uint64_t	 id, t, pid, proven, port, pstart, since, step;
	struct attempt	*a, *na;
	enum outcome	 out;
	enum sstate	 ss;
	const char	*err;

	/* One pass: check the bytes, cut the fields at each space. */
	f[nf++] = line;
	for (p = line; *p != '\0'; p++) {
		if (*p == ' ') {
			*p = '\0';
			if (nf < MAXFIELDS)
				f[nf] = p + 1;
			nf++;
		} else if ((unsigned char)*p < 0x20 ||
		    (unsigned char)*p > 0x7e)
			return "control or non-ASCII byte";
	}
	if (p - line > LEDGER_MAXLINE)
		return "line too long";
	if (*line == '\0' && nf == 1)
		return lineno == 1 ? "not a safessh ledger" : "empty line";
	if (nf > MAXFIELDS)
		return "too many fields";
	for (size_t i = 0; i < nf; i++)
		if (*f[i] == '\0')
			return "empty field";

	if (lineno == 1) {
		if (nf != 3 || strcmp(f[0], LEDGER_MAGIC) != 0)
			return "not a safessh ledger";
		if (strcmp(f[1], LEDGER_VERSION) != 0) {
			snprintf(why, whylen, "unsupported version '%.32s'",
			    f[1]);
			return why;
		}
		if (strcmp(f[2], l->server) != 0) {
			snprintf(why, whylen, "header names server '%.64s'",
			    f[2]);
			return why;
		}
		return NULL;
	}

	if (strcmp(f[0], "a") == 0) {
		if (nf != 7 && nf != 9 && nf != 10) {
			snprintf(why, whylen, "'a' record with %zu fields, "
			    "not 7, 9 or 10", nf);
			return why;
		}
		port = pstart = 0;
		if (nf >= 9 && (num(f[7], 65535, &port) == -1 ||
		    num(f[8], UINT64_MAX, &pstart) == -1))
			return "bad port or process start";
		if (num(f[1], UINT64_MAX, &id) == -1 || id == 0)
			return "bad attempt id";
		if (num(f[2], INT64_MAX, &t) == -1)
			return "bad start time";
		if (num(f[3], INT_MAX, &pid) == -1 || pid == 0)
			return "bad pid";
		if (num(f[4], 1, &proven) == -1)
			return "bad proven flag";
		if (h->natt > 0 && id <= h->att[h->natt - 1].id) {
			snprintf(why, whylen, "attempt id %llu not above %llu",
			    (unsigned long long)id,
			    (unsigned long long)h->att[h->natt - 1].id);
			return why;
		}
		/* Capacity is implicit: 16, then each power of two. */
		if (h->natt == 0 || (h->natt >= 16 &&
		    (h->natt & (h->natt - 1)) == 0)) {
			na = reallocarray(h->att, h->natt ? h->natt * 2 : 16,
			    sizeof(*h->att));
			if (na == NULL)
				return "out of memory";
			h->att = na;
		}
		a = &h->att[h->natt];
		memset(a, 0, sizeof(*a));
		a->id = id;
		a->start = a->end = (time_t)t;
		a->pid = (pid_t)pid;
		a->pstart = pstart;
		a->port = (int)port;
		a->proven = (int)proven;
		a->outcome = OUT_INFLIGHT;
		if ((err = dec(f[5], a->host, sizeof(a->host))) != NULL ||
		    (err = dec(f[6], a->who, sizeof(a->who))) != NULL ||
		    (nf == 10 && (err = dec(f[9], a->client,
		    sizeof(a->client))) != NULL))
			return err;
		h->natt++;
		if (id > l->maxid)
			l->maxid = id;
		return NULL;
	}
	if (strcmp(f[0], "s") == 0) {
		if (nf != 4) {
			snprintf(why, whylen, "'s' record with %zu fields, "
			    "not 4", nf);
			return why;
		}
		if (num(f[1], UINT64_MAX, &id) == -1 || id == 0)
			return "bad attempt id";
		if (num(f[2], INT64_MAX, &t) == -1)
			return "bad time";
		if (outcome_byname(f[3], &out) == -1) {
			snprintf(why, whylen, "unknown outcome '%.32s'", f[3]);
			return why;
		}
		if ((a = findid(h, id)) == NULL) {
			snprintf(why, whylen, "no attempt %llu before this "
			    "line", (unsigned long long)id);
			return why;
		}
		a->outcome = out;
		a->end = (time_t)t;
		return NULL;
	}
	if (strcmp(f[0], "g") == 0) {
		if (nf != 7) {
			snprintf(why, whylen, "'g' record with %zu fields, "
			    "not 7", nf);
			return why;
		}
		if (sstate_byname(f[1], &ss) == -1) {
			snprintf(why, whylen, "unknown server state '%.32s'",
			    f[1]);
			return why;
		}
		if (num(f[2], INT64_MAX, &since) == -1 ||
		    num(f[3], INT64_MAX, &t) == -1 ||
		    num(f[4], INT32_MAX, &step) == -1 ||
		    num(f[5], UINT64_MAX, &id) == -1)
			return "bad server state field";
		memset(&h->st, 0, sizeof(h->st));
		if ((err = dec(f[6], h->st.why, sizeof(h->st.why))) != NULL)
			return err;
		h->st.state = ss;
		h->st.since = (time_t)since;
		h->st.until = (time_t)t;
		h->st.step = (long)step;
		h->st.probe = id;
		return NULL;
	}
	if (strcmp(f[0], "l") == 0) {
		uint64_t	 max, win, cool, banat;

		if (nf != 7) {
			snprintf(why, whylen, "'l' record with %zu fields, "
			    "not 7", nf);
			return why;
		}
		if (num(f[1], INT32_MAX, &max) == -1 ||
		    num(f[2], INT32_MAX, &win) == -1 ||
		    num(f[3], INT32_MAX, &cool) == -1 ||
		    num(f[4], INT64_MAX, &since) == -1 ||
		    num(f[5], INT64_MAX, &banat) == -1)
			return "bad learned limit field";
		if (max > 0 && win == 0)
			return "learned limit with no window";
		memset(&h->lr, 0, sizeof(h->lr));
		if ((err = dec(f[6], h->lr.why, sizeof(h->lr.why))) != NULL)
			return err;
		h->lr.max_failures = (int)max;
		h->lr.window = (long)win;
		h->lr.cooldown = (long)cool;
		h->lr.since = (time_t)since;
		h->lr.banat = (time_t)banat;
		return NULL;
	}
	if (strcmp(f[0], "c") == 0) {
		/* An older version's cooldown: blocked until then. */
		if (nf != 3) {
			snprintf(why, whylen, "'c' record with %zu fields, "
			    "not 3", nf);
			return why;
		}
		if (num(f[1], INT64_MAX, &t) == -1)
			return "bad cooldown time";
		memset(&h->st, 0, sizeof(h->st));
		if ((err = dec(f[2], h->st.why, sizeof(h->st.why))) != NULL)
			return err;
		if (t != 0) {
			h->st.state = SS_BLOCKED;
			h->st.until = h->st.since = (time_t)t;
			h->st.step = BACKOFF_FIRST;
		}
		return NULL;
	}
	snprintf(why, whylen, "unknown record type '%.16s'", f[0]);
	return why;
}

/*
 * Could this unterminated final line be an append cut short?  Printable
 * ASCII, and the start of a header (line 1) or of a record.
 */
static int
torn(const struct ledger *l, const char *s, size_t n, size_t lineno)
{
	char	 hdr[300];
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	if (lineno == 1) {
		snprintf(hdr, sizeof(hdr), "%s %s %s", LEDGER_MAGIC,
		    LEDGER_VERSION, l->server);
		return n <= strlen(hdr) && strncmp(s, hdr, n) == 0;
	}
	if (strchr("ascgl", s[0]) == NULL)
		return 0;
	return n == 1 || s[1] == ' ';
}

/* Parse the file into h; 0 or -1 with *cause naming file:line. */
static int
parse(struct ledger *l, char *buf, size_t len, struct history *h,
    char **cause)
{
	char		*line = buf, *nl, why[160];
	const char	*err;
	size_t		 lineno = 1;

	memset(h, 0, sizeof(*h));
	l->maxid = 0;
	l->nlines = 0;
	l->good = 0;
	while (line < buf + len) {
		if ((nl = memchr(line, '\n', buf + len - line)) == NULL) {
			/* A final line without its LF. */
			if (torn(l, line, buf + len - line, lineno))
				break;
			err = parseline(l, h, line, lineno, why, sizeof(why));
			if (err == NULL)
				err = "incomplete final line";
			goto bad;
		}
		*nl = '\0';
		if (memchr(line, '\0', nl - line) != NULL) {
			err = "control or non-ASCII byte";
			goto bad;
		}
		if ((err = parseline(l, h, line, lineno, why,
		    sizeof(why))) != NULL)
			goto bad;
		l->nlines++;
		l->good = nl + 1 - buf;
		line = nl + 1;
		lineno++;
	}
	return 0;

bad:
	*cause = damaged(l, lineno, err);
	history_free(h);
	return -1;
}

/* ------------------------------------------------------------ writing */

/*
 * Append complete lines with one write(2), preceded by the header if the
 * file is still empty and after cutting off a torn final line.  On a
 * short write, truncate back and fail: nothing half-written stays.
 */
static int
append(struct ledger *l, const struct buf *rec, size_t nrec,
    const char *what, char **cause)
{
	struct buf	 sb = { NULL, 0, 0 };
	struct stat	 st;
	ssize_t		 n;
	int		 saved;

	if (!l->locked) {
		*cause = xstrfmt("%s: not locked", l->path);
		return -1;
	}
	if (l->shared) {
		/* Queued: the commit writes it, or a conflict drops it. */
		if (buf_add(&l->pend, rec->p, rec->len) == -1) {
			*cause = xstrfmt("ledger %s: %s; %s not recorded",
			    l->path, strerror(ENOMEM), what);
			return -1;
		}
		l->nlines += nrec;
		return 0;
	}
	if (fstat(l->fd, &st) == -1) {
		*cause = xstrfmt("%s: %s", l->path, strerror(errno));
		return -1;
	}
	if (st.st_size < l->good) {
		*cause = xstrfmt("%s: changed while locked; %s not recorded",
		    l->path, what);
		return -1;
	}
	if (st.st_size > l->good && ftruncate(l->fd, l->good) == -1) {
		*cause = xstrfmt("ledger %s: %s; %s not recorded", l->path,
		    strerror(errno), what);
		return -1;
	}
	if (l->good == 0 && (sb_fmt(&sb, "%s %s %s\n", LEDGER_MAGIC,
	    LEDGER_VERSION, l->server) == -1))
		goto nomem;
	if (buf_add(&sb, rec->p, rec->len) == -1)
		goto nomem;
	n = write(l->fd, sb.p, sb.len);
	if (n != (ssize_t)sb.len) {
		saved = n == -1 ? errno : ENOSPC;
		/* Never leave a partial line behind. */
		if (ftruncate(l->fd, l->good) == -1)
			saved = errno;
		*cause = xstrfmt("ledger %s: %s; %s not recorded", l->path,
		    strerror(saved), what);
		free(sb.p);
		return -1;
	}
	l->nlines += nrec + (l->good == 0);
	l->good += sb.len;
	free(sb.p);
	return 0;

nomem:
	free(sb.p);
	*cause = xstrfmt("ledger %s: %s; %s not recorded", l->path,
	    strerror(ENOMEM), what);
	return -1;
}

static int
fmt_attempt(struct buf *sb, const struct attempt *a)
{
	if (sb_fmt(sb, "a %llu %lld %ld %d ", (unsigned long long)a->id,
	    (long long)a->start, (long)a->pid, a->proven ? 1 : 0) == -1 ||
	    sb_enc(sb, a->host) == -1 || buf_add(sb, " ", 1) == -1 ||
	    sb_enc(sb, a->who) == -1 ||
	    sb_fmt(sb, " %d %llu", a->port >= 0 && a->port <= 65535 ?
	    a->port : 0, a->pstart) == -1)
		return -1;
	/* The client (shared ledgers) only when there is one: older
	 * readers of the local files know 9 fields. */
	if (a->client[0] != '\0' && (buf_add(sb, " ", 1) == -1 ||
	    sb_enc(sb, a->client) == -1))
		return -1;
	return buf_add(sb, "\n", 1);
}

static int
fmt_state(struct buf *sb, uint64_t id, time_t t, enum outcome o)
{
	return sb_fmt(sb, "s %llu %lld %s\n", (unsigned long long)id,
	    (long long)t, outcome_name(o));
}

static int
fmt_srvstate(struct buf *sb, const struct srvstate *st)
{
	char	 w[sizeof(st->why)];

	/* Cut to what a reader keeps: the file must always read back. */
	strlcpy(w, st->why, sizeof(w));
	if (sb_fmt(sb, "g %s %lld %lld %ld %llu ", sstate_name(st->state),
	    (long long)(st->since < 0 ? 0 : st->since),
	    (long long)(st->until < 0 ? 0 : st->until),
	    st->step < 0 ? 0 : st->step > INT32_MAX ? INT32_MAX : st->step,
	    (unsigned long long)st->probe) == -1 ||
	    sb_enc(sb, w) == -1 || buf_add(sb, "\n", 1) == -1)
		return -1;
	return 0;
}

static int
fmt_learned(struct buf *sb, const struct learned *lr)
{
	char	 w[sizeof(lr->why)];
	long	 win = lr->window;

	strlcpy(w, lr->why, sizeof(w));
	if (lr->max_failures > 0 && win < 1)
		win = 1;	/* never written as damage */
	if (sb_fmt(sb, "l %d %ld %ld %lld %lld ",
	    lr->max_failures < 0 ? 0 : lr->max_failures,
	    win < 0 ? 0 : win > INT32_MAX ? INT32_MAX : win,
	    lr->cooldown < 0 ? 0 : lr->cooldown > INT32_MAX ? INT32_MAX :
	    lr->cooldown,
	    (long long)(lr->since < 0 ? 0 : lr->since),
	    (long long)(lr->banat < 0 ? 0 : lr->banat)) == -1 ||
	    sb_enc(sb, w) == -1 || buf_add(sb, "\n", 1) == -1)
		return -1;
	return 0;
}

/* The history we never drop: at least a week, or the default policy's. */
static long
horizon(void)
{
	static long	 hz;
	struct conf	*c;
	const struct policy *p;
	long		 ph;

	if (hz != 0)
		return hz;
	hz = LEDGER_HORIZON;
	if ((c = conf_new()) != NULL) {
		if ((p = conf_policy(c, "default")) != NULL &&
		    (ph = policy_horizon(p)) > hz)
			hz = ph;
		conf_free(c);
	}
	return hz;
}

/*
 * Choose what a compaction keeps: every attempt in flight, the latest
 * success of each of the LEDGER_KEEPWHO most recent credentials, and the
 * newest LEDGER_KEEP others within the horizon.  Returns the number of
 * lines the rewritten file would have; *old is set if an attempt older
 * than the horizon would go.
 */
static size_t
choose(const struct ledger *l, const struct history *h, char *keep,
    int *old)
{
	const char	*seen[LEDGER_KEEPWHO];
	size_t		 nseen = 0, nrecent = 0, lines = 1, i, j;
	time_t		 edge = l->now - horizon();
	const struct attempt *a;

	*old = 0;
	memset(keep, 0, h->natt);
	for (i = h->natt; i-- > 0;) {
		a = &h->att[i];
		if (a->outcome == OUT_INFLIGHT) {
			keep[i] = 1;
			continue;
		}
		if ((a->outcome == OUT_OK || a->outcome == OUT_AUTH) &&
		    nseen < LEDGER_KEEPWHO) {
			for (j = 0; j < nseen; j++)
				if (strcmp(seen[j], a->who) == 0)
					break;
			if (j == nseen) {
				seen[nseen++] = a->who;
				keep[i] = 1;
			}
		}
		if (a->end >= edge && nrecent < LEDGER_KEEP) {
			nrecent++;
			keep[i] = 1;
		}
		if (!keep[i] && a->end < edge)
			*old = 1;
	}
	for (i = 0; i < h->natt; i++) {
		if (!keep[i])
			continue;
		lines++;
		if (h->att[i].outcome != OUT_INFLIGHT ||
		    h->att[i].end != h->att[i].start)
			lines++;
	}
	if (h->st.state != SS_OK)
		lines++;
	if (learn_any(&h->lr))
		lines++;
	return lines;
}

/*
 * Remove <server>.tmp.* in the servers directory sd: left by compactions
 * killed before their rename.  Only call it holding the lock on the
 * current file: then no other compaction of this server is under way.
 * Best effort.
 */
static void
untmp(const char *sd, const char *server)
{
	char		 pre[300];
	DIR		*d;
	struct dirent	*de;
	size_t		 n;

	if ((size_t)snprintf(pre, sizeof(pre), "%s.tmp.", server) >=
	    sizeof(pre) || (d = opendir(sd)) == NULL)
		return;
	n = strlen(pre);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, pre, n) == 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/*
 * Rewrite the file with what choose() keeps: write <path>.tmp.<pid>,
 * lock it, fsync, rename over the path, fsync the directory, then drop
 * the old file (and its lock).  0, or -1 with *cause and the old file
 * left as it was.
 */
/*
 * The records a compaction keeps (keep[i] for h->att[i]), one "a" and
 * one "s" line per attempt, then the server's state and what was
 * learned, appended to sb; *lines and *nflight count them.  0 or -1.
 */
static int
records(const struct history *h, const char *keep, struct buf *sb,
    size_t *lines, size_t *nflight)
{
	const struct attempt	*a;
	size_t			 i;

	for (i = 0; i < h->natt; i++) {
		if (!keep[i])
			continue;
		a = &h->att[i];
		if (fmt_attempt(sb, a) == -1)
			return -1;
		(*lines)++;
		if (a->outcome == OUT_INFLIGHT && a->end == a->start) {
			(*nflight)++;
			continue;
		}
		if (a->outcome == OUT_INFLIGHT)
			(*nflight)++;
		if (fmt_state(sb, a->id, a->end, a->outcome) == -1)
			return -1;
		(*lines)++;
	}
	if (h->st.state != SS_OK) {
		if (fmt_srvstate(sb, &h->st) == -1)
			return -1;
		(*lines)++;
	}
	if (learn_any(&h->lr)) {
		if (fmt_learned(sb, &h->lr) == -1)
			return -1;
		(*lines)++;
	}
	return 0;
}

static int
compact(struct ledger *l, const struct history *h, const char *keep,
    char **cause)
{
	struct buf	 sb = { NULL, 0, 0 };
	char		*tmp = NULL;
	int		 tfd = -1, dfd, saved;
	size_t		 lines = 1, nflight = 0, i;
	ssize_t		 n;

	if (sb_fmt(&sb, "%s %s %s\n", LEDGER_MAGIC, LEDGER_VERSION,
	    l->server) == -1 || records(h, keep, &sb, &lines, &nflight) == -1)
		goto nomem;
	if ((tmp = xstrfmt("%s.tmp.%ld", l->path, (long)getpid())) == NULL)
		goto nomem;
	for (i = 0; i < 2; i++) {
		tfd = open(tmp, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (tfd != -1 || errno != EEXIST)
			break;
		/* Left by a dead process that had our pid. */
		unlink(tmp);
	}
	if (tfd == -1) {
		*cause = xstrfmt("%s: %s", tmp, strerror(errno));
		goto fail;
	}
	/* Whoever opens the new file after the rename must wait for us. */
	if (flock(tfd, LOCK_EX) == -1 || fchmod(tfd, 0600) == -1)
		goto syserr;
	if ((n = write(tfd, sb.p, sb.len)) != (ssize_t)sb.len) {
		if (n != -1)
			errno = ENOSPC;
		goto syserr;
	}
	if (fsync(tfd) == -1 || rename(tmp, l->path) == -1)
		goto syserr;
	if ((dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		/* The rename is done; a failed directory sync loses nothing
		 * that the old file did not also hold. */
		fsync(dfd);
		close(dfd);
	}
	untmp(l->dir, l->server);
	close(l->fd);
	l->fd = tfd;
	l->good = sb.len;
	l->nlines = lines;
	l->nflight = nflight;
	free(tmp);
	free(sb.p);
	return 0;

syserr:
	saved = errno;
	*cause = xstrfmt("%s: %s", tmp, strerror(saved));
fail:
	if (tfd != -1) {
		close(tfd);
		unlink(tmp);
	}
	free(tmp);
	free(sb.p);
	return -1;
nomem:
	*cause = xstrfmt("ledger %s: %s", l->path, strerror(ENOMEM));
	free(tmp);
	free(sb.p);
	return -1;
}

/* Keep in h only what the compacted file holds. */
static void
prune(struct history *h, const char *keep)
{
	size_t	 i, j = 0;

	for (i = 0; i < h->natt; i++) {
		if (!keep[i])
			continue;
		if (i != j)
			h->att[j] = h->att[i];
		j++;
	}
	h->natt = j;
}

/*
 * Is the process that started a alive: its pid exists and, where its
 * start time was recorded, started then (not a reused pid)?
 */
static int
alive(const struct attempt *a)
{
	unsigned long long	 t;

	if (kill(a->pid, 0) == -1 && errno == ESRCH)
		return 0;
	if (a->pstart != 0 && util_pstart(a->pid, &t) == 0 && t != a->pstart)
		return 0;
	return 1;
}

/*
 * A shared ledger's attempt of ours whose process is gone: how the
 * local files (the mirror, same pid, process start and start time)
 * recorded its end, when the store could not be told (it failed while
 * the attempt ran).  1 with *o and *t, or 0.  *lh caches the local
 * history (loaded: *loaded).
 */
static int
mirrored(struct ledger *l, const struct attempt *a, struct history *lh,
    int *loaded, enum outcome *o, time_t *t)
{
	char	*cause = NULL;
	size_t	 i;

	if (!*loaded) {
		*loaded = 1;
		if (ledger_lock(l->local, lh, l->now, &cause) == -1) {
			free(cause);
			memset(lh, 0, sizeof(*lh));
			return 0;
		}
		ledger_unlock(l->local);
	}
	for (i = 0; i < lh->natt; i++) {
		const struct attempt *m = &lh->att[i];

		if (m->pid == a->pid && m->pstart == a->pstart &&
		    m->start == a->start && m->outcome != OUT_INFLIGHT &&
		    strcmp(m->who, a->who) == 0) {
			*o = m->outcome;
			*t = m->end;
			return 1;
		}
	}
	return 0;
}

/* Settle attempts whose process is gone. */
static void
marklost(struct ledger *l, struct history *h)
{
	struct buf	 sb = { NULL, 0, 0 };
	struct attempt	*a;
	struct history	 lh;
	size_t		 i, n = 0;
	char		*cause = NULL;
	int		 loaded = 0;

	l->nflight = 0;
	for (i = 0; i < h->natt; i++) {
		a = &h->att[i];
		if (a->outcome != OUT_INFLIGHT)
			continue;
		/*
		 * Another machine's process cannot be looked at: its attempt
		 * is lost (to this reader, not written) once sshd would have
		 * ended an unauthenticated connection.
		 */
		if (l->shared && strcmp(a->client, l->client) != 0) {
			if (l->now - a->start > LOGIN_GRACE + 60) {
				a->outcome = OUT_LOST;
				a->end = l->now;
			} else
				l->nflight++;
			continue;
		}
		if (alive(a)) {
			l->nflight++;
			continue;
		}
		a->outcome = OUT_LOST;
		a->end = l->now;
		if (l->shared && !mirrored(l, a, &lh, &loaded, &a->outcome,
		    &a->end)) {
			a->outcome = OUT_LOST;
			a->end = l->now;
		}
		if (fmt_state(&sb, a->id, a->end, a->outcome) == -1)
			break;
		n++;
	}
	/*
	 * Best effort: if this write fails (a full disk), this reader still
	 * counts them lost, and the next reader will write it.
	 */
	if (n > 0 && append(l, &sb, n, "lost attempt", &cause) == -1)
		free(cause);
	free(sb.p);
	if (loaded)
		history_free(&lh);
}

/*
 * Lock the ledger and read its history into h (history_free releases
 * it; h may be NULL).  now is the caller's clock.  Attempts in flight
 * whose process is gone become OUT_LOST (recorded).  A file over its size limits is compacted
 * first, and h then holds what the compacted file holds.
 * Returns 0 locked, or -1 unlocked with *cause; a damaged file gives a
 * cause naming file:line and is left exactly as it was.
 */
int
ledger_lock(struct ledger *l, struct history *h, time_t now, char **cause)
{
	struct history	 tmp;
	char		*buf = NULL, *keep, *ccause = NULL;
	size_t		 len, lines;
	int		 old;

	*cause = NULL;
	if (l->shared)
		return shared_lock(l, h, now, cause);
	if (h == NULL)
		h = &tmp;
	memset(h, 0, sizeof(*h));
	if (l->locked) {
		*cause = xstrfmt("%s: already locked", l->path);
		return -1;
	}
	if (lockfile(l, 1, cause) != 0)
		return -1;
	if (readall(l, &buf, &len, cause) == -1 ||
	    parse(l, buf, len, h, cause) == -1) {
		free(buf);
		flock(l->fd, LOCK_UN);
		return -1;
	}
	free(buf);
	l->locked = 1;
	l->now = now;
	/* A back-off that ended before the horizon is history too. */
	if (h->st.state != SS_OK && h->st.until < now - horizon())
		memset(&h->st, 0, sizeof(h->st));
	marklost(l, h);

	if ((keep = malloc(h->natt + 1)) != NULL) {
		lines = choose(l, h, keep, &old);
		if (lines < l->nlines && (old || l->nlines > LEDGER_COMPACT)) {
			if (compact(l, h, keep, &ccause) == 0)
				prune(h, keep);
			else
				free(ccause);	/* the old file is intact */
		}
		free(keep);
	}
	if (h == &tmp)
		history_free(h);
	return 0;
}

/*
 * While locked: record a new attempt in flight.  Assigns a->id, sets
 * a->outcome and a->end; a->pid 0 means this process.  Returns 0, or -1
 * with *cause (nothing was written).
 */
int
ledger_begin(struct ledger *l, struct attempt *a, char **cause)
{
	struct buf	 sb = { NULL, 0, 0 };
	uint64_t	 id;
	int		 r;

	*cause = NULL;
	if (l->fallen)
		return ledger_begin(l->local, a, cause);
	if (!l->locked) {
		*cause = xstrfmt("%s: not locked", l->path);
		return -1;
	}
	if (l->shared)
		strlcpy(a->client, l->client, sizeof(a->client));
	if (strnlen(a->host, sizeof(a->host)) == sizeof(a->host) ||
	    strnlen(a->who, sizeof(a->who)) == sizeof(a->who)) {
		*cause = xstrfmt("ledger %s: host or key name too long; "
		    "attempt not recorded", l->path);
		return -1;
	}
	if (l->nflight >= LEDGER_MAXFLIGHT ||
	    l->nlines + 1 >= LEDGER_MAXLINES) {
		*cause = xstrfmt("ledger %s: full (%zu attempts in flight, "
		    "%zu lines); attempt not recorded", l->path, l->nflight,
		    l->nlines);
		return -1;
	}
	id = l->maxid + 1;
	if (l->now > 0 && (uint64_t)l->now * 1000 > id)
		id = (uint64_t)l->now * 1000;
	if (a->pid <= 0)
		a->pid = getpid();
	a->id = id;
	a->outcome = OUT_INFLIGHT;
	a->end = a->start;
	if (fmt_attempt(&sb, a) == -1) {
		free(sb.p);
		a->id = 0;
		*cause = xstrfmt("ledger %s: %s; attempt not recorded",
		    l->path, strerror(ENOMEM));
		return -1;
	}
	r = append(l, &sb, 1, "attempt", cause);
	free(sb.p);
	if (r == 0 && l->shared && shared_mop(l, a, 0, 0, 0) == -1) {
		*cause = xstrfmt("ledger %s: %s; attempt not recorded",
		    l->path, strerror(ENOMEM));
		r = -1;
	}
	if (r == 0) {
		l->maxid = id;
		l->nflight++;
	} else
		a->id = 0;
	return r;
}

/*
 * While locked: append the one record fmt writes of arg (what names it
 * in a message).  0, or -1 with *cause.
 */
static int
record1(struct ledger *l, int (*fmt)(struct buf *, const void *),
    const void *arg, const char *what, char **cause)
{
	struct buf	 sb = { NULL, 0, 0 };
	int		 r;

	*cause = NULL;
	if (!l->locked) {
		*cause = xstrfmt("%s: not locked", l->path);
		return -1;
	}
	if (fmt(&sb, arg) == -1) {
		free(sb.p);
		*cause = xstrfmt("ledger %s: %s; %s not recorded", l->path,
		    strerror(ENOMEM), what);
		return -1;
	}
	r = append(l, &sb, 1, what, cause);
	free(sb.p);
	return r;
}

static int
fmt_state1(struct buf *sb, const void *st)
{
	return fmt_srvstate(sb, st);
}

static int
fmt_learned1(struct buf *sb, const void *lr)
{
	return fmt_learned(sb, lr);
}

/*
 * While locked: record the server's new state (cut to fit struct
 * history).  0, or -1 with *cause.
 */
int
ledger_state(struct ledger *l, const struct srvstate *st, char **cause)
{
	if (l->fallen)
		return ledger_state(l->local, st, cause);
	return record1(l, fmt_state1, st, "server state", cause);
}

/*
 * While locked: record what the server taught (the last "l" line wins).
 * 0, or -1 with *cause.
 */
int
ledger_learn(struct ledger *l, const struct learned *lr, char **cause)
{
	if (l->fallen)
		return ledger_learn(l->local, lr, cause);
	return record1(l, fmt_learned1, lr, "learned limit", cause);
}

/*
 * While locked: record that attempt id (read under this lock) changed
 * to outcome o at t.  0, or -1 with *cause.
 */
int
ledger_outcome(struct ledger *l, uint64_t id, enum outcome o, time_t t,
    char **cause)
{
	struct buf	 sb = { NULL, 0, 0 };
	int		 r;

	*cause = NULL;
	if (l->fallen)
		return ledger_outcome(l->local, shared_unmap(l, id), o, t,
		    cause);
	if (!l->locked || (unsigned)o >= OUT_MAX) {
		*cause = xstrfmt("%s: not locked, or bad outcome", l->path);
		return -1;
	}
	if (fmt_state(&sb, id, t, o) == -1) {
		free(sb.p);
		*cause = xstrfmt("ledger %s: %s; outcome not recorded",
		    l->path, strerror(ENOMEM));
		return -1;
	}
	r = append(l, &sb, 1, "outcome", cause);
	free(sb.p);
	if (r == 0 && l->shared && shared_mop(l, NULL, id, o, t) == -1) {
		*cause = xstrfmt("ledger %s: %s; outcome not recorded",
		    l->path, strerror(ENOMEM));
		r = -1;
	}
	return r;
}

/*
 * Files are written as each record is queued: commit only unlocks.  A
 * shared ledger writes what was queued in one transaction (1: another
 * client changed the list first).
 */
int
ledger_commit(struct ledger *l, char **cause)
{
	*cause = NULL;
	if (l->shared)
		return shared_commit(l, cause);
	ledger_unlock(l);
	return 0;
}

/* The ledger's clock: the store's (TIME) for a shared one. */
time_t
ledger_now(struct ledger *l)
{
	if (l != NULL && l->shared)
		return shared_now(l);
	return time(NULL);
}

/* Release the lock (a no-op when not locked); queued records go. */
void
ledger_unlock(struct ledger *l)
{
	if (l == NULL)
		return;
	if (l->shared) {
		if (l->local != NULL)
			ledger_unlock(l->local);
		if (l->locked && l->rs != NULL)
			store_unlock(l->rs, l->server);
		l->pend.len = 0;
		l->base.len = 0;
		l->rewrite = 0;
		l->nmops = 0;
		l->locked = 0;
		return;
	}
	if (!l->locked)
		return;
	flock(l->fd, LOCK_UN);
	l->locked = 0;
}

/*
 * Record that attempt id changed to outcome o at t: lock (unless the
 * caller holds the lock), append, unlock.  An id no longer in the file
 * (forgotten, or compacted away long after it ended) is not an error:
 * there is nothing left to settle.  0, or -1 with *cause.
 */
int
ledger_settle(struct ledger *l, uint64_t id, enum outcome o, time_t t,
    char **cause)
{
	struct history	 h;
	struct attempt	*a;
	struct buf	 sb = { NULL, 0, 0 };
	int		 r = 0, held = l->locked;

	*cause = NULL;
	if ((unsigned)o >= OUT_MAX) {
		*cause = xstrfmt("ledger %s: bad outcome %d", l->path, o);
		return -1;
	}
	if (l->shared) {
		int	 tries;

		for (tries = 0; tries < 16; tries++) {
			if (ledger_lock(l, &h, t, cause) == -1)
				return -1;
			for (size_t i = 0; i < h.natt; i++)
				if (h.att[i].id == id &&
				    (h.att[i].outcome != o || h.att[i].end != t) &&
				    ledger_outcome(l, id, o, t, cause) == -1) {
					ledger_unlock(l);
					history_free(&h);
					return -1;
				}
			history_free(&h);
			if ((r = ledger_commit(l, cause)) != 1)
				return r;
		}
		*cause = xstrfmt("ledger %s: too much contention", l->path);
		return -1;
	}
	if (held) {
		/* Read again under the lock we hold: ids come from the file. */
		char	*buf;
		size_t	 len;

		if (readall(l, &buf, &len, cause) == -1)
			return -1;
		r = parse(l, buf, len, &h, cause);
		free(buf);
		if (r == -1)
			return -1;
	} else if (ledger_lock(l, &h, t, cause) == -1)
		return -1;
	if ((a = findid(&h, id)) != NULL &&
	    (a->outcome != o || a->end != t)) {
		if (fmt_state(&sb, id, t, o) == -1) {
			*cause = xstrfmt("ledger %s: %s; outcome not recorded",
			    l->path, strerror(ENOMEM));
			r = -1;
		} else
			r = append(l, &sb, 1, "outcome", cause);
		free(sb.p);
	}
	history_free(&h);
	if (!held)
		ledger_unlock(l);
	return r;
}

/* Unlock if locked, close and free l (NULL is fine). */
void
ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	ledger_unlock(l);
	if (l->fd != -1)
		close(l->fd);
	if (l->shared) {
		store_close(l->rs);
		ledger_close(l->local);
		explicit_bzero(&l->url, sizeof(l->url));
		free(l->prefix);
		free(l->sdir);
		free(l->deadcause);
		free(l->warn);
		free(l->pend.p);
		free(l->base.p);
		free(l->mops);
	}
	free(l->dir);
	free(l->path);
	free(l->server);
	free(l);
}

/*
 * Remove server's ledger under its lock, so that writers waiting for
 * the lock see it gone and start a new file; with it go the temporary
 * files of killed compactions.  Unless limits, what was learned stays:
 * the file is replaced (as a compaction does) by one that holds only
 * its "l" line, with no ban under way.  A damaged file is removed.  A
 * missing ledger is not an error.  0, 1 when what was learned stays, or
 * -1 with *cause.
 */
static int
forget(const char *dir, const char *server, int limits, char **cause)
{
	struct ledger	*l;
	struct history	 h, keep;
	char		*buf = NULL, *pc = NULL;
	size_t		 len;
	int		 r, parsed = 0;

	if ((r = lopen(&l, dir, server, 0, cause)) != 0)
		return r == 1 ? 0 : -1;
	if ((r = lockfile(l, 0, cause)) == 0) {
		untmp(l->dir, server);
		if (!limits && readall(l, &buf, &len, &pc) == 0 &&
		    parse(l, buf, len, &h, &pc) == 0) {
			parsed = learn_any(&h.lr);
			memset(&keep, 0, sizeof(keep));
			keep.lr = h.lr;
			keep.lr.banat = 0;
			history_free(&h);
		}
		free(buf);
		free(pc);
		pc = NULL;
		if (parsed && learn_any(&keep.lr)) {
			l->locked = 1;
			l->now = time(NULL);
			if ((r = compact(l, &keep, "", cause)) == 0)
				r = 1;
		} else if (unlink(l->path) == -1 && errno != ENOENT) {
			*cause = xstrfmt("%s: %s", l->path, strerror(errno));
			r = -1;
		}
	}
	ledger_close(l);
	return r == -1 ? -1 : r == 1 ? 1 : 0;
}

int
ledger_forget(const char *dir, const char *server, char **cause)
{
	return forget(dir, server, 0, cause);
}

int
ledger_forget_limits(const char *dir, const char *server, char **cause)
{
	return forget(dir, server, 1, cause);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The servers that have a ledger under dir, sorted (temporary files and
 * foreign names skipped).  Returns 0 with *list and *n (the caller frees
 * each name and the array), or -1 with *cause.
 */
int
ledger_servers(const char *dir, char ***list, size_t *n, char **cause)
{
	char		 sd[PATH_MAX], **v = NULL, **nv;
	size_t		 nv_ = 0, cap = 0, i;
	DIR		*d;
	struct dirent	*de;
	const char	*why;

	*cause = NULL;
	*list = NULL;
	*n = 0;
	if ((size_t)snprintf(sd, sizeof(sd), "%s/servers", dir) >=
	    sizeof(sd)) {
		*cause = xstrfmt("%s: path too long", dir);
		return -1;
	}
	if ((d = opendir(sd)) == NULL) {
		if (errno == ENOENT)
			return 0;
		*cause = xstrfmt("%s: %s", sd, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (!valid_server(de->d_name, &why))
			continue;
		if (nv_ == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto nomem;
			v = nv;
		}
		if ((v[nv_] = strdup(de->d_name)) == NULL)
			goto nomem;
		nv_++;
	}
	closedir(d);
	if (nv_ > 0)
		qsort(v, nv_, sizeof(*v), cmpstr);
	*list = v;
	*n = nv_;
	return 0;

nomem:
	closedir(d);
	for (i = 0; i < nv_; i++)
		free(v[i]);
	free(v);
	*cause = xstrfmt("%s: %s", sd, strerror(ENOMEM));
	return -1;
}

/* Free what ledger_lock read into h. */
void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	free(h->att);
	memset(h, 0, sizeof(*h));
}

/* ---------------------------------------------------------- shared */

/*
 * A shared ledger keeps the same records in a Redis list (store.c) and
 * follows the same protocol: ledger_lock WATCHes the list and reads it,
 * the records queue up, ledger_commit writes them with MULTI/EXEC (1:
 * another client wrote first, read and decide again).  A compaction
 * replaces the list in the same transaction.  The list expires a
 * horizon after its last write.  Attempts this machine begins and their
 * outcomes are repeated in the local files once committed, so that no
 * attempt that happened goes unrecorded here.  When the store fails
 * (unreachable, no answer within STORE_TIMEOUT_MS, an error reply) the
 * ledger is the local files for the rest of the call, with one line to
 * say so, or, with ledger_required, every lock fails.
 */

static long long
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Remember id (shared) is lid in the local files. */
static void
shared_map(struct ledger *l, uint64_t id, uint64_t lid)
{
	size_t	 n = sizeof(l->map) / sizeof(l->map[0]);

	if (l->nmap == n) {
		memmove(&l->map[0], &l->map[1], (n - 1) * sizeof(l->map[0]));
		l->nmap--;
	}
	l->map[l->nmap].shared = id;
	l->map[l->nmap].local = lid;
	l->nmap++;
}

/* Is shared id one of ours, mirrored as *lid?  1 or 0. */
static int
shared_mapped(const struct ledger *l, uint64_t id, uint64_t *lid)
{
	size_t	 i;

	for (i = 0; i < l->nmap; i++)
		if (l->map[i].shared == id) {
			*lid = l->map[i].local;
			return 1;
		}
	return 0;
}

/* The local id of shared id (itself if not ours). */
static uint64_t
shared_unmap(const struct ledger *l, uint64_t id)
{
	uint64_t	 lid;

	return shared_mapped(l, id, &lid) ? lid : id;
}

static int
shared_mop(struct ledger *l, const struct attempt *a, uint64_t id,
    enum outcome o, time_t t)
{
	struct mop	*m;

	if ((m = reallocarray(l->mops, l->nmops + 1, sizeof(*m))) == NULL)
		return -1;
	l->mops = m;
	m += l->nmops++;
	memset(m, 0, sizeof(*m));
	if (a != NULL) {
		m->begin = 1;
		m->a = *a;
	}
	m->id = id;
	m->o = o;
	m->t = t;
	return 0;
}

/*
 * The store failed with err (freed): forget the connection; with
 * ledger_required -1 with *cause, else the local files from now on
 * (and the line to say so).
 */
static int
shared_fail(struct ledger *l, char *err, char **cause)
{
	store_close(l->rs);
	l->rs = NULL;
	l->watching = 0;
	l->locked = 0;
	l->pend.len = 0;
	l->base.len = 0;
	l->rewrite = 0;
	l->nmops = 0;
	if (!l->dead) {
		l->dead = 1;
		l->deadcause = xstrfmt("shared ledger %s: %s", l->shown,
		    err != NULL ? err : "failed");
	}
	free(err);
	/* An attempt begun here is always settled, locally if need be. */
	if (l->required && l->nmap == 0) {
		*cause = xstrfmt("%s; the shared ledger is required "
		    "(ledger_required = yes)", l->deadcause != NULL ?
		    l->deadcause : "shared ledger failed");
		return -1;
	}
	if (!l->fallen && l->warn == NULL)
		l->warn = xstrfmt("%s; using this machine's local ledger for "
		    "this call", l->deadcause != NULL ? l->deadcause :
		    "shared ledger failed");
	l->fallen = 1;
	return 0;
}

/*
 * Compare the store's epoch with the one this machine saw last (the
 * state directory's epoch.HASH file, HASH of the URL and prefix): a
 * store that restarted empty has a new one.  Say so once; best effort.
 */
static void
shared_epoch(struct ledger *l)
{
	const char	*ep = store_epoch(l->rs);
	char		 path[PATH_MAX], old[64], tmp[PATH_MAX + 32];
	uint64_t	 hv;
	ssize_t		 n;
	int		 fd;

	if (ep[0] == '\0' || l->sdir == NULL)
		return;
	hv = util_fnv(UTIL_FNV0, l->shown, strlen(l->shown));
	hv = util_fnv(hv, l->prefix, strlen(l->prefix));
	if ((size_t)snprintf(path, sizeof(path), "%s/epoch.%016llx", l->sdir,
	    (unsigned long long)hv) >= sizeof(path))
		return;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		n = read(fd, old, sizeof(old) - 1);
		close(fd);
		old[n > 0 ? n : 0] = '\0';
		old[strcspn(old, "\n")] = '\0';
		if (strcmp(old, ep) == 0)
			return;
		if (old[0] != '\0' && l->warn == NULL)
			l->warn = xstrfmt("shared ledger %s restarted empty "
			    "(its history is gone): the shared budget starts "
			    "again; this machine's attempts are in its local "
			    "ledger", l->shown);
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return;
	n = write(fd, ep, strlen(ep));
	if (close(fd) == 0 && n == (ssize_t)strlen(ep))
		(void)rename(tmp, path);
	else
		(void)unlink(tmp);
}

/* Connect if not yet: 0 (connected, or fallen back), or -1. */
static int
shared_up(struct ledger *l, char **cause)
{
	char	*err = NULL;

	if (l->fallen || l->rs != NULL)
		return 0;
	if (l->dead)
		return shared_fail(l, NULL, cause);
	if (store_open(&l->rs, &l->url, l->prefix, STORE_TIMEOUT_MS,
	    &err) == -1)
		return shared_fail(l, err, cause);
	shared_epoch(l);
	return 0;
}

/* The local files, locked, with our attempts under their shared ids. */
static int
fallen_lock(struct ledger *l, struct history *h, time_t now, char **cause)
{
	size_t	 i, j;

	if (ledger_lock(l->local, h, now, cause) == -1)
		return -1;
	if (h == NULL)
		return 0;
	for (i = 0; i < h->natt; i++)
		for (j = 0; j < l->nmap; j++)
			if (h->att[i].id == l->map[j].local)
				h->att[i].id = l->map[j].shared;
	return 0;
}

static int
shared_lock(struct ledger *l, struct history *h, time_t now, char **cause)
{
	struct history	 tmp;
	struct buf	 sb = { NULL, 0, 0 };
	char		*err = NULL, *keep;
	size_t		 nel, lines, nflight;
	long		 waited, step;
	long long	 t0;
	int		 r, old;

	if (l->locked) {
		*cause = xstrfmt("%s: already locked", l->path);
		return -1;
	}
	if (shared_up(l, cause) == -1)
		return -1;
	if (l->fallen)
		return fallen_lock(l, h, now, cause);
	if (h == NULL)
		h = &tmp;
	memset(h, 0, sizeof(*h));
	/*
	 * The server's lock in the store: another client holds it for a
	 * few milliseconds; wait with a jittered back-off (1 to 32 ms).
	 */
	t0 = mono();
	for (step = 0;;) {
		sb.len = 0;
		if (sb_fmt(&sb, "%s %s %s\n", LEDGER_MAGIC, LEDGER_VERSION,
		    l->server) == -1) {
			free(sb.p);
			*cause = xstrfmt("ledger: %s", strerror(ENOMEM));
			return -1;
		}
		if ((r = store_read(l->rs, l->server, &sb, &nel, &err)) !=
		    1)
			break;
		/* store_read waited on the wake list (up to 100 ms). */
		waited = (long)((mono() - t0) / 1000000);
		if (waited >= STORE_LOCKWAIT_MS) {
			free(sb.p);
			err = xstrfmt("the lock of %ssrv:%s stayed taken for "
			    "%lds", l->prefix, l->server, waited / 1000);
			goto storefail;
		}
		l->lockwaits++;
		/* A little jitter against a crowd woken at once. */
		if (step++ > 8)
			util_msleep((long)arc4random_uniform(4));
	}
	if (r == -1) {
		free(sb.p);
		goto storefail;
	}
	l->watching = 1;
	if (r == -2) {
		*cause = xstrfmt("ledger %s: damaged (%s); run 'safessh "
		    "--forget %s'", l->path, err, l->server);
		free(err);
		free(sb.p);
		return -1;
	}
	r = parse(l, sb.p, sb.len, h, cause);
	free(sb.p);
	if (r == -1)
		return -1;
	l->locked = 1;
	l->now = now;
	l->pend.len = 0;
	l->base.len = 0;
	l->rewrite = 0;
	l->nmops = 0;
	if (h->st.state != SS_OK && h->st.until < now - horizon())
		memset(&h->st, 0, sizeof(h->st));
	marklost(l, h);
	if ((keep = malloc(h->natt + 1)) != NULL) {
		lines = choose(l, h, keep, &old);
		if (lines < l->nlines && (old || l->nlines > LEDGER_COMPACT)) {
			lines = 1;
			nflight = 0;
			if (records(h, keep, &l->base, &lines, &nflight) == 0) {
				/* The lost marks are in the new list. */
				l->rewrite = 1;
				l->pend.len = 0;
				l->nlines = lines;
				l->nflight = nflight;
				prune(h, keep);
			} else
				l->base.len = 0;
		}
		free(keep);
	}
	if (h == &tmp)
		history_free(h);
	return 0;

storefail:
	if (shared_fail(l, err, cause) == -1)
		return -1;
	return fallen_lock(l, h == &tmp ? NULL : h, now, cause);
}

/* Repeat in the local files what this process began and settled. */
static int
mirror(struct ledger *l, char **cause)
{
	struct attempt	 a;
	struct mop	*m;
	uint64_t	 lid;
	size_t		 i;
	int		 need = 0;

	for (i = 0; i < l->nmops; i++) {
		m = &l->mops[i];
		if (m->begin || shared_mapped(l, m->id, &lid))
			need = 1;
	}
	if (!need)
		return 0;
	if (ledger_lock(l->local, NULL, l->now, cause) == -1)
		return -1;
	for (i = 0; i < l->nmops; i++) {
		m = &l->mops[i];
		if (m->begin) {
			a = m->a;
			a.client[0] = '\0';
			if (ledger_begin(l->local, &a, cause) == -1)
				goto fail;
			shared_map(l, m->a.id, a.id);
		} else if (shared_mapped(l, m->id, &lid) &&
		    ledger_outcome(l->local, lid, m->o, m->t, cause) == -1)
			goto fail;
	}
	return ledger_commit(l->local, cause);
fail:
	ledger_unlock(l->local);
	return -1;
}

static int
shared_commit(struct ledger *l, char **cause)
{
	char	*err = NULL;
	int	 r;

	if (l->fallen)
		return ledger_commit(l->local, cause);
	if (!l->locked)
		return 0;
	if (l->pend.len == 0 && !l->rewrite) {
		ledger_unlock(l);
		return 0;
	}
	r = store_commit(l->rs, l->server, l->rewrite ? &l->base : NULL,
	    &l->pend, horizon(), &err);
	l->watching = 0;
	if (r == 0 && (r = mirror(l, cause)) == -1)
		r = -2;
	ledger_unlock(l);
	if (r == 1)
		l->conflicts++;
	if (r == -1) {
		/* Decide again, locally (or fail: ledger_required). */
		if (shared_fail(l, err, cause) == -1)
			return -1;
		return 1;
	}
	free(err);
	return r == -2 ? -1 : r;
}

static time_t
shared_now(struct ledger *l)
{
	char	*err = NULL, *c = NULL;
	time_t	 t;

	if (shared_up(l, &c) == -1 || l->fallen) {
		free(c);
		return time(NULL);
	}
	if (store_time(l->rs, &t, &err) == 0)
		return t;
	if (shared_fail(l, err, &c) == -1)
		free(c);
	return time(NULL);
}

/* A client id: [A-Za-z0-9._-], 1 to 63 bytes. */
static int
valid_client(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && n < ATTEMPT_CLIENTLEN && strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

/*
 * This machine's client id for shared ledgers: the state directory's
 * "client" file, made on first use as the host name and 8 random hex
 * digits ("build7-3fa2c1d0"), so that every state directory (machine,
 * or user) is told apart.  0, or -1 with *cause.
 */
int
ledger_client(const char *dir, char *buf, size_t len, char **cause)
{
	char	 path[PATH_MAX], tmp[PATH_MAX + 32], host[64], id[128];
	ssize_t	 n;
	size_t	 i;
	int	 fd, tries;

	*cause = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/client", dir) >=
	    sizeof(path)) {
		*cause = xstrfmt("%s: path too long", dir);
		return -1;
	}
	for (tries = 0; tries < 2; tries++) {
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) !=
		    -1) {
			n = read(fd, id, sizeof(id) - 1);
			close(fd);
			if (n > 0 && id[n - 1] == '\n') {
				id[n - 1] = '\0';
				if (valid_client(id) &&
				    strlcpy(buf, id, len) < len)
					return 0;
			}
			*cause = xstrfmt("%s: not a client id (remove it: a "
			    "new one is made)", path);
			return -1;
		}
		if (errno != ENOENT)
			break;
		if (gethostname(host, sizeof(host)) == -1)
			strlcpy(host, "host", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		for (i = 0; host[i] != '\0' && i < 40; i++)
			if (strchr(".-_", host[i]) == NULL &&
			    !((host[i] >= 'a' && host[i] <= 'z') ||
			    (host[i] >= 'A' && host[i] <= 'Z') ||
			    (host[i] >= '0' && host[i] <= '9')))
				host[i] = '_';
		host[i] = '\0';
		snprintf(id, sizeof(id), "%s-%08x\n", host[0] != '\0' ?
		    host : "host", arc4random());
		/* Written whole under a temporary name, then linked: a
		 * reader never sees half of it, and the first one wins. */
		snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
		(void)unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1)
			break;
		n = write(fd, id, strlen(id));
		if (close(fd) == -1 || n != (ssize_t)strlen(id)) {
			unlink(tmp);
			break;
		}
		if (link(tmp, path) == -1 && errno != EEXIST) {
			unlink(tmp);
			break;
		}
		unlink(tmp);
	}
	*cause = xstrfmt("%s: %s", path, strerror(errno));
	return -1;
}

int
ledger_open_conf(struct ledger **lp, const char *dir, const char *server,
    const struct hostconf *hc, char **cause)
{
	struct ledgerurl u;
	struct ledger	*l = NULL, *local;
	const char	*why;

	*lp = NULL;
	*cause = NULL;
	if (hc == NULL || hc->ledger == NULL)
		return ledger_open(lp, dir, server, cause);
	if (ledgerurl_parse(hc->ledger, &u, &why) == -1) {
		*cause = xstrfmt("%s: ledger: %s", hc->ledger_at != NULL ?
		    hc->ledger_at : "config", why);
		return -1;
	}
	if (u.kind == LK_FILES)
		return ledger_open(lp, dir, server, cause);
	if (ledger_open(&local, dir, server, cause) == -1) {
		explicit_bzero(&u, sizeof(u));
		return -1;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto nomem;
	l->fd = -1;
	l->shared = 1;
	l->local = local;
	l->url = u;
	explicit_bzero(&u, sizeof(u));
	l->required = hc->ledger_required;
	l->sdir = strdup(dir);
	ledgerurl_show(&l->url, l->shown, sizeof(l->shown));
	if ((l->prefix = strdup(hc->ledger_prefix != NULL ?
	    hc->ledger_prefix : STORE_PREFIX)) == NULL ||
	    (l->server = strdup(server)) == NULL ||
	    (l->dir = strdup(local->dir)) == NULL ||
	    (l->path = xstrfmt("%s %ssrv:%s", l->shown, l->prefix,
	    server)) == NULL)
		goto nomem;
	if (ledger_client(dir, l->client, sizeof(l->client), cause) == -1) {
		ledger_close(l);
		return -1;
	}
	*lp = l;
	return 0;
nomem:
	if (l == NULL)
		ledger_close(local);
	ledger_close(l);
	*cause = xstrfmt("ledger: %s", strerror(ENOMEM));
	return -1;
}

char *
ledger_warning(struct ledger *l)
{
	char	*w;

	if (l == NULL || !l->shared || l->warn == NULL)
		return NULL;
	w = l->warn;
	l->warn = NULL;
	return w;
}

unsigned long
ledger_conflicts(const struct ledger *l)
{
	return l != NULL ? l->conflicts : 0;
}

unsigned long
ledger_lockwaits(const struct ledger *l)
{
	return l != NULL ? l->lockwaits : 0;
}

int
ledger_refusing(const struct ledger *l)
{
	return l != NULL && l->shared && l->dead && l->required &&
	    !l->fallen;
}

int
ledger_shared(const struct ledger *l)
{
	return l != NULL && l->shared && !l->fallen;
}

void
ledger_describe(const struct ledger *l, char *buf, size_t len)
{
	if (l == NULL || !l->shared) {
		snprintf(buf, len, "local files (%s)", l != NULL ? l->dir :
		    "state directory");
		return;
	}
	if (l->fallen) {
		snprintf(buf, len, "local files (%s), as %s failed",
		    l->local->dir, l->shown);
		return;
	}
	snprintf(buf, len, "%s (shared, keys %ssrv:*, this machine is "
	    "client %s)", l->shown, l->prefix, l->client);
}

/*
 * --forget on a shared ledger: the list becomes what was learned (or
 * goes, with limits), in one transaction.  0, 1 if something learned
 * stays, or -1 with *cause (the store failed: nothing was cleared).
 */
int
ledger_wipe(struct ledger *l, int limits, char **cause)
{
	struct history	 h;
	struct learned	 lr;
	int		 tries, c, kept;

	*cause = NULL;
	if (!l->shared) {
		*cause = xstrfmt("%s: not a shared ledger", l->path);
		return -1;
	}
	for (tries = 0; tries < 16; tries++) {
		if (ledger_lock(l, &h, ledger_now(l), cause) == -1) {
			if (l->dead && *cause != NULL) {
				char	*was = *cause;

				*cause = xstrfmt("%s; the shared history was "
				    "not cleared", was);
				free(was);
			}
			return -1;
		}
		if (l->fallen) {
			ledger_unlock(l);
			history_free(&h);
			free(l->warn);
			l->warn = NULL;
			*cause = xstrfmt("%s; the shared history was not "
			    "cleared", l->deadcause != NULL ? l->deadcause :
			    l->shown);
			return -1;
		}
		l->pend.len = 0;
		l->base.len = 0;
		l->nmops = 0;
		kept = !limits && learn_any(&h.lr);
		if (kept) {
			lr = h.lr;
			lr.banat = 0;
			if (fmt_learned(&l->base, &lr) == -1) {
				ledger_unlock(l);
				history_free(&h);
				*cause = xstrfmt("ledger: %s", strerror(ENOMEM));
				return -1;
			}
		}
		l->rewrite = 1;
		history_free(&h);
		if ((c = ledger_commit(l, cause)) == -1)
			return -1;
		if (c == 0 && !l->fallen)
			return kept;
	}
	*cause = xstrfmt("ledger %s: too much contention; not cleared",
	    l->path);
	return -1;
}

int
ledger_list(const char *dir, const struct hostconf *hc, char ***list,
    size_t *n, char **warn, char **cause)
{
	struct ledgerurl u;
	struct store	*s;
	const char	*why;
	char		 shown[512], *err = NULL;
	int		 r;

	*warn = NULL;
	*cause = NULL;
	if (hc == NULL || hc->ledger == NULL ||
	    ledgerurl_parse(hc->ledger, &u, &why) == -1 || u.kind == LK_FILES)
		return ledger_servers(dir, list, n, cause);
	ledgerurl_show(&u, shown, sizeof(shown));
	r = store_open(&s, &u, hc->ledger_prefix != NULL ?
	    hc->ledger_prefix : STORE_PREFIX, STORE_TIMEOUT_MS, &err);
	explicit_bzero(&u, sizeof(u));
	if (r == 0) {
		r = store_servers(s, list, n, &err);
		store_close(s);
		if (r == 0)
			return 0;
	}
	if (hc->ledger_required) {
		*cause = xstrfmt("shared ledger %s: %s; the shared ledger is "
		    "required (ledger_required = yes)", shown, err);
		free(err);
		return -1;
	}
	*warn = xstrfmt("shared ledger %s: %s; listing this machine's local "
	    "ledger", shown, err);
	free(err);
	return ledger_servers(dir, list, n, cause);
}
