/*
 * outcome.c: reading ssh's messages.  Names the outcomes stored in the
 * ledger, and classifies one run of ssh(1) from the lines it wrote to
 * stderr and its wait status, by the formats OpenSSH 9.2 through 10.x
 * use (recorded and derived samples: tests/samples/README).
 *
 * Every pattern is anchored to a whole line as ssh's log.c writes it
 * ("%s\r\n", at most 1024 bytes), so text that merely contains a phrase
 * ("cat: x: Permission denied") does not match.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <limits.h>
#include <string.h>

#include "safessh.h"

/*
 * ssh's log lines never exceed its MSGBUFSIZ (1024); anything much longer
 * is not one of its messages, so it is skipped: bounded work per line.
 */
#define LINE_MAX_SSH	2048

static const char *const outnames[OUT_MAX] = {
	[OUT_INFLIGHT] = "inflight",
	[OUT_AUTH] = "auth",
	[OUT_OK] = "ok",
	[OUT_AUTHFAIL] = "authfail",
	[OUT_NOAUTH] = "noauth",
	[OUT_BAN] = "ban",
	[OUT_DROP] = "drop",
	[OUT_NET] = "net",
	[OUT_LOST] = "lost",
	[OUT_UNKNOWN] = "unknown",
};

/* The ledger's name for o; NULL if o is not an outcome. */
const char *
outcome_name(enum outcome o)
{
	if ((unsigned int)o >= OUT_MAX)
		return NULL;
	return outnames[o];
}

/* Look up a ledger name (exact, case-sensitive): 0 and *o set, or -1. */
int
outcome_byname(const char *name, enum outcome *o)
{
	int	i;

	if (name == NULL)
		return -1;
	for (i = 0; i < OUT_MAX; i++) {
		if (strcmp(name, outnames[i]) == 0) {
			*o = (enum outcome)i;
			return 0;
		}
	}
	return -1;
}

/* Start a scan: nothing seen yet. */
void
outcome_init(struct scan *sc)
{
	memset(sc, 0, sizeof(*sc));
}

/* A line, as pointer and length; it may hold any bytes, NUL included. */
struct ln {
	const char	*p;
	size_t		 n;
};

static int
eq(const struct ln *l, const char *s)
{
	size_t	n = strlen(s);

	return l->n == n && memcmp(l->p, s, n) == 0;
}

static int
prefix(const struct ln *l, const char *s)
{
	size_t	n = strlen(s);

	return l->n >= n && memcmp(l->p, s, n) == 0;
}

static int
suffix(const struct ln *l, const char *s)
{
	size_t	n = strlen(s);

	return l->n >= n && memcmp(l->p + l->n - n, s, n) == 0;
}

static int
contains(const struct ln *l, const char *s)
{
	return memmem(l->p, l->n, s, strlen(s)) != NULL;
}

static int
isdigitc(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * "PFX ADDR port N" + sfx, whole line: packet.c's connection id as the
 * client prints it ("127.0.0.1", "2001:db8::7", "UNKNOWN" behind a
 * ProxyCommand), the port 1-5 digits.
 */
static int
byport(const struct ln *l, const char *pfx, const char *sfx)
{
	size_t	 i, a, np = strlen(pfx), ns = strlen(sfx), d;

	if (!prefix(l, pfx) || !suffix(l, sfx) || l->n < np + ns)
		return 0;
	i = np;
	a = i;
	while (i < l->n - ns && l->p[i] != ' ' && l->p[i] != '\0')
		i++;
	if (i == a)
		return 0;
	if (l->n - ns - i < 7 || memcmp(l->p + i, " port ", 6) != 0)
		return 0;
	i += 6;
	for (d = 0; i < l->n - ns && isdigitc(l->p[i]); i++)
		d++;
	return d >= 1 && d <= 5 && i == l->n - ns;
}

/*
 * sshconnect2.c: fatal("%s@%s: Permission denied (%s).", user, host,
 * methods).  Anchored at the end: the methods list holds only
 * [a-z0-9@.,-], and the text before ": Permission denied" must name
 * user@host.  "cat: x: Permission denied" and "connect to host ... :
 * Permission denied" (a local EACCES) do not match.
 */
static int
denied(const struct ln *l)
{
	static const char	 mid[] = ": Permission denied (";
	size_t			 i, m = sizeof(mid) - 1;
	char			 c;

	if (l->n < m + 4 || !suffix(l, ")."))
		return 0;
	i = l->n - 2;
	while (i > 0) {
		c = l->p[i - 1];
		if (!((c >= 'a' && c <= 'z') || isdigitc(c) || c == '@' ||
		    c == '.' || c == ',' || c == '-'))
			break;
		i--;
	}
	if (i == l->n - 2 || i < m + 1)
		return 0;	/* no methods, or no room for user@host */
	if (memcmp(l->p + i - m, mid, m) != 0)
		return 0;
	/* user@host: non-empty, holds '@', no NUL */
	return memchr(l->p, '@', i - m) != NULL &&
	    memchr(l->p, '\0', i - m) == NULL;
}

/* "Not allowed at this time" raw, or "...banner line N: Not allowed ..." */
static int
notallowed(const struct ln *l)
{
	static const char	 na[] = "Not allowed at this time";
	static const char	 bl[] = "banner line ";
	size_t			 n = sizeof(na) - 1, i;

	static const char	 px[] = "\": server said \"Not allowed at this "
				    "time\"";

	if (eq(l, na))
		return 1;
	/* safessh --proxy under the wrapper: "safessh: H: server said ..." */
	if (l->n > sizeof(px) && memcmp(l->p, "safessh: ", 9) == 0 &&
	    suffix(l, px + 1))
		return 1;
	if (!suffix(l, na) || l->n < n + 2)
		return 0;
	/* ... "banner line " DIGITS ": " na */
	i = l->n - n;
	if (l->p[i - 1] != ' ' || l->p[i - 2] != ':')
		return 0;
	i -= 2;
	if (i == 0 || !isdigitc(l->p[i - 1]))
		return 0;
	while (i > 0 && isdigitc(l->p[i - 1]))
		i--;
	return i >= sizeof(bl) - 1 &&
	    memcmp(l->p + i - (sizeof(bl) - 1), bl, sizeof(bl) - 1) == 0;
}

/* sshconnect.c: error("ssh: connect to host %s port %s: %s", strerror) */
static int
connecterr(const struct ln *l, const char *err)
{
	return prefix(l, "ssh: connect to host ") && suffix(l, err);
}

static void
bump(int *v)
{
	if (*v < INT_MAX)
		(*v)++;
}

/*
 * Feed one line of ssh's stderr, with or without its "\r\n".  Any bytes
 * are accepted; work is bounded by LINE_MAX_SSH.
 */
void
outcome_line(struct scan *sc, const char *line, size_t len)
{
	struct ln	 l;

	if (sc == NULL || line == NULL)
		return;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0 || len > LINE_MAX_SSH)
		return;
	l.p = line;
	l.n = len;

	if (denied(&l) || (prefix(&l, "Received disconnect from ") &&
	    contains(&l, ": Too many authentication failures")))
		bump(&sc->authfail);
	else if (eq(&l, "Host key verification failed.") ||
	    contains(&l, "REMOTE HOST IDENTIFICATION HAS CHANGED") ||
	    (prefix(&l, "No ") && contains(&l, " host key is known for ")) ||
	    (prefix(&l, "Host key for ") &&
	    suffix(&l, " has changed and you have requested strict checking.")))
		bump(&sc->hostkey);
	else if (notallowed(&l))
		bump(&sc->notallowed);
	else if (eq(&l,
	    "kex_exchange_identification: Connection closed by remote host") ||
	    eq(&l,
	    "kex_exchange_identification: read: Connection reset by peer") ||
	    prefix(&l, "ssh_exchange_identification: ") ||
	    byport(&l, "Connection closed by ", "") ||
	    byport(&l, "Connection reset by ", ""))
		bump(&sc->prebanner);
	else if (connecterr(&l, ": Connection timed out") ||
	    eq(&l, "Connection timed out during banner exchange") ||
	    byport(&l, "Connection to ", " timed out"))
		bump(&sc->timeout);
	else if (connecterr(&l, ": Connection refused") ||
	    /*
	     * EHOSTUNREACH is also what a firewall's REJECT with
	     * icmp-host-prohibited (firewalld's default) gives: treat it as
	     * a refusal, which is a ban sign when the server answered
	     * recently, not as a purely local problem.
	     */
	    connecterr(&l, ": No route to host"))
		bump(&sc->refused);
	else if (prefix(&l, "ssh: Could not resolve hostname ") ||
	    prefix(&l, "ssh: Could not resolve host \"") ||
	    connecterr(&l, ": Network is unreachable") ||
	    /* a local route or packet filter forbids it: EACCES, EPERM */
	    connecterr(&l, ": Permission denied") ||
	    connecterr(&l, ": Operation not permitted") ||
	    connecterr(&l, ": Cannot assign requested address"))
		bump(&sc->net);
}

/*
 * Classify one run.  wstatus is waitpid's status; authed is 1 if the
 * session was seen to authenticate (safessh's LocalCommand notice).
 *
 * - authenticated: RAW_OK, whatever was printed (remote output may say
 *   anything, and exit 255 is a valid remote status);
 * - exited with a status other than 255: RAW_OK (ssh itself fails 255);
 * - killed by a signal before authenticating: RAW_NOAUTH;
 * - exit 255: by the lines seen, in this order of precedence:
 *     authfail    "Permission denied (...)." / "Too many authentication
 *                 failures": the server booked a failed login; beats
 *                 everything, including the "Connection closed by" or
 *                 "Disconnected from" that may follow it;
 *     hostkey     the key exchange completed, so a later close was not
 *                 before the banner: beats prebanner;
 *     notallowed  the specific refusal line (sshd >= 9.8, seen at -v),
 *                 followed by a close: beats prebanner;
 *     prebanner   closed or reset before the banner (or, behind a
 *                 ProxyCommand / -J hop, "by UNKNOWN port 65535"):
 *                 a ban sign beats the connect-level lines below, which
 *                 then came from a hop;
 *     timeout, refused, net: connect-level, most suspicious first;
 *     otherwise   RAW_NOAUTH.
 */
enum rawout
outcome_classify(const struct scan *sc, int wstatus, int authed)
{
	if (authed)
		return RAW_OK;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 255)
		return RAW_OK;
	/*
	 * Default-deny: a signal death or an exit 255 whose cause ssh did
	 * not say (-q, -E, -y, a quiet LogLevel) may have been a failed
	 * login, and is counted as one.
	 */
	if (!WIFEXITED(wstatus))
		return RAW_UNKNOWN;
	if (sc == NULL)
		return RAW_UNKNOWN;
	if (sc->authfail > 0)
		return RAW_AUTHFAIL;
	if (sc->hostkey > 0)
		return RAW_HOSTKEY;
	if (sc->notallowed > 0)
		return RAW_NOTALLOWED;
	if (sc->prebanner > 0)
		return RAW_PREBANNER;
	if (sc->timeout > 0)
		return RAW_TIMEOUT;
	if (sc->refused > 0)
		return RAW_REFUSED;
	if (sc->net > 0)
		return RAW_NET;
	return RAW_UNKNOWN;
}
