/*
 * conf.c: the configuration file (INI, split by inih): [defaults],
 * [host PATTERN ...] and [policy NAME] sections, the built-in policies,
 * durations and ssh_config-style host patterns.
 *
 * Every line goes through our own reader before inih sees it.  The reader
 * counts lines, refuses binary data and overlong lines (inih would split
 * them silently), drops comments ("#" or ";" at the start of a line, or
 * after a blank inside it), strips the indentation that inih would take
 * for a continuation line, and checks section headers and "key = value"
 * syntax, so that no quirk of any inih build can change what a file means.
 * inih then only splits the lines we hand it.
 *
 * Settings are kept in file order as items; conf_host() replays every
 * [defaults] item of every file, then every item of every matching [host]
 * section, later values winning.  A [policy] section is a complete
 * definition: it replaces an earlier policy (built-in or not) of its name.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "safessh.h"

#ifndef SAFESSH_SYSCONF
#define SAFESSH_SYSCONF	"/etc/safessh.conf"
#endif

#define CONF_MAXFILE	(1024 * 1024)	/* a config is never this big */
#define DUR_MAX		INT_MAX		/* longest duration, seconds */
#define SERVER_MAXLEN	64
#define COOLDOWN_DEF	(15 * 60)
#define DAY		86400L

/* Where a key may appear. */
#define IN_DEF		0x1
#define IN_HOST		0x2
#define IN_POLICY	0x4

/* How a value is read. */
enum vtype {
	V_NAME,		/* a policy name */
	V_ONRISK,	/* delay | refuse */
	V_DUR,		/* a duration within [lo, hi] */
	V_INT,		/* digits within [lo, hi] */
	V_REUSE,	/* no, or a duration within [lo, hi] */
	V_YESNO,	/* yes | no */
	V_PATH,		/* absolute, or ~/; tilde expanded */
	V_CERT,		/* no | auto | a V_PATH */
	V_USER,		/* argv_valid_user */
	V_HOST,		/* argv_valid_host */
	V_PORT,		/* digits; argv_valid_port */
	V_SERVER,	/* a ban domain name */
	V_LEDGER,	/* files, redis://... or unix:/path (store.c) */
	V_PREFIX	/* a key prefix for the shared ledger */
};

/*
 * The one table of keys: it drives parsing and conf_keys[].
 * X(enum, name, where, type, lo, hi)
 */
#define CONF_KEYS(X)							\
	X(POLICY, "policy", IN_DEF | IN_HOST, V_NAME, 0, 0)		\
	X(ON_RISK, "on_risk", IN_DEF | IN_HOST, V_ONRISK, 0, 0)		\
	X(MAX_DELAY, "max_delay", IN_DEF | IN_HOST, V_DUR, 0, 3600)	\
	X(PARALLEL, "parallel", IN_DEF | IN_HOST, V_INT, 1, 64)		\
	X(CONNECT_TIMEOUT, "connect_timeout", IN_DEF | IN_HOST, V_DUR,	\
	    1, 3600)							\
	X(RETRIES, "retries", IN_DEF | IN_HOST, V_INT, 0, 1)		\
	X(REFUSED_STATUS, "refused_status", IN_DEF | IN_HOST, V_INT, 1, 255) \
	X(REUSE, "reuse", IN_DEF | IN_HOST, V_REUSE, 1, DAY)		\
	X(IDENTITY, "identity", IN_DEF | IN_HOST, V_PATH, 0, 0)		\
	X(USER, "user", IN_DEF | IN_HOST, V_USER, 0, 0)			\
	X(PORT, "port", IN_DEF | IN_HOST, V_PORT, 1, 65535)		\
	X(PASSWORD, "password", IN_DEF | IN_HOST, V_YESNO, 0, 1)	\
	X(AGENT, "agent", IN_DEF | IN_HOST, V_YESNO, 0, 1)		\
	X(CERTIFICATE, "certificate", IN_DEF | IN_HOST, V_CERT, 0, 0)	\
	X(SSH, "ssh", IN_DEF, V_PATH, 0, 0)				\
	X(HOSTNAME, "hostname", IN_HOST, V_HOST, 0, 0)			\
	X(SERVER, "server", IN_HOST, V_SERVER, 0, 0)			\
	X(LEDGER, "ledger", IN_DEF | IN_HOST, V_LEDGER, 0, 0)		\
	X(LEDGER_PREFIX, "ledger_prefix", IN_DEF | IN_HOST, V_PREFIX, 0, 0) \
	X(LEDGER_REQUIRED, "ledger_required", IN_DEF | IN_HOST, V_YESNO, 0, 1) \
	X(MAX_FAILURES, "max_failures", IN_POLICY, V_INT, 1, 1000)	\
	X(WINDOW, "window", IN_POLICY, V_DUR, 1, 30 * DAY)		\
	X(PENALTY, "penalty", IN_POLICY, V_DUR, 1, 3600)		\
	X(PENALTY_LIMIT, "penalty_limit", IN_POLICY, V_DUR, 1, DAY)	\
	X(COOLDOWN, "cooldown", IN_POLICY, V_DUR, 0, 30 * DAY)		\
	X(LOGIN_GRACE, "login_grace", IN_POLICY, V_DUR, 1, 3600)

#define KEY_ENUM(e, n, w, t, lo, hi)	K_##e,
#define KEY_NAME(e, n, w, t, lo, hi)	n,
#define KEY_DEF(e, n, w, t, lo, hi)	{ n, w, t, lo, hi },

enum key {
	CONF_KEYS(KEY_ENUM)
	K_MAX
};

struct keydef {
	const char	*name;
	int		 where;
	enum vtype	 type;
	long		 lo;
	long		 hi;
};

static const struct keydef keys[] = {
	CONF_KEYS(KEY_DEF)
};

const char *const conf_keys[] = {
	CONF_KEYS(KEY_NAME)
	NULL
};

/* One "key = value" of a [defaults] or [host] section. */
struct item {
	enum key	 key;
	long		 host;		/* index in conf->hosts; -1: defaults */
	long		 num;
	char		*str;
	char		*at;		/* "file:line" */
};

struct conf {
	struct item	 *items;	/* in the order read */
	size_t		  nitems;
	char		**hosts;	/* each [host] section's patterns */
	char		**hostat;	/* and its "file:line" */
	size_t		  nhosts;
	char		**files;	/* every file conf_load() was given */
	int		 *found;	/* 1: read; 0: not there */
	size_t		  nfiles;
	struct policy	**pols;		/* built-in, then user-defined */
	size_t		  npols;
};

enum sect {
	S_NONE,
	S_DEFAULTS,
	S_HOST,
	S_POLICY
};

/* A policy defined in the file being read, to refuse a second one. */
struct polseen {
	char	 name[POLICY_NAMELEN];
	int	 line;
};

/* The state of reading one file. */
struct parse {
	struct conf	*conf;
	const char	*file;
	FILE		*fp;
	int		 lineno;
	int		 failed;
	char		*err;		/* the first error */
	enum sect	 sect;
	char		*sname;		/* "[host a b]", for messages */
	long		 host;		/* current [host] in conf->hosts */
	int		 seen[K_MAX];	/* line of each key in this section */
	long		 pv[K_MAX];	/* values of the [policy] being read */
	char		 polname[POLICY_NAMELEN];
	int		 polline;
	struct polseen	*defs;
	size_t		 ndefs;
	mode_t		 mode;		/* the file's mode bits */
};

static const struct rule rule_openssh = {
	.kind = RULE_PENALTY, .penalty = 5, .noauth = 1, .limit = 10
};
static const struct rule rule_fail2ban = {
	.kind = RULE_COUNT, .max_failures = 4, .window = 600
};
static const struct rule rule_sshguard = {
	.kind = RULE_COUNT, .max_failures = 2, .window = 1800
};

/* Record the first error, "file:line: ..."; line 0 leaves it out. */
static void __attribute__((format(printf, 3, 4)))
perr(struct parse *p, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	int	 r;

	if (p->failed)
		return;
	p->failed = 1;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r == -1)
		return;
	if (line > 0)
		p->err = xstrfmt("%s:%d: %s", p->file, line, msg);
	else
		p->err = xstrfmt("%s: %s", p->file, msg);
	free(msg);
}

/* A printable, bounded copy of a value for a message. */
static const char *
shown(const char *s, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i + 4 < len; i++) {
		if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == '"' ||
		    s[i] == '\\')
			buf[i] = '?';
		else
			buf[i] = s[i];
	}
	if (s[i] != '\0')
		strlcpy(buf + i, "...", len - i);	/* room was kept */
	else
		buf[i] = '\0';
	return buf;
}

/*
 * A ledger URL for a message, its password never shown: what lies
 * between the scheme and the last '@' becomes "user:***" (or "***").
 */
static const char *
redact(const char *v, char *buf, size_t len)
{
	const char	*at, *sch, *colon;
	char		 tmp[256];
	size_t		 n;

	if ((at = strrchr(v, '@')) == NULL)
		return shown(v, buf, len);
	sch = strstr(v, "://");
	sch = sch != NULL && sch < at ? sch + 3 :
	    (sch = strchr(v, ':')) != NULL && sch < at ? sch + 1 : v;
	colon = memchr(sch, ':', at - sch);
	n = (size_t)(sch - v) + (colon != NULL ? (size_t)(colon - sch) : 0);
	if (n > 64)
		n = 64;
	snprintf(tmp, sizeof(tmp), "%.*s%s***%.64s", (int)n, v,
	    colon != NULL ? ":" : "", at);
	return shown(tmp, buf, len);
}

static int
isblank_c(int c)
{
	return c == ' ' || c == '\t';
}

/* A policy name or ban domain: [A-Za-z0-9._-], not starting "." or "-". */
static int
valid_name(const char *s, size_t max)
{
	size_t	n;

	n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
	return n > 0 && n <= max && s[n] == '\0' && s[0] != '.' &&
	    s[0] != '-';
}

/* A host pattern: [!]glob of host name characters, '*' and '?'. */
static int
valid_pattern(const char *s)
{
	if (*s == '!')
		s++;
	return *s != '\0' && s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:*?-")] == '\0';
}

static int
alldigits(const char *s)
{
	return *s != '\0' && s[strspn(s, "0123456789")] == '\0';
}

/* "30", "30s", "1h30m", "1d2h3m4s" (units largest first, once each). */
int
conf_duration(const char *s, long *out)
{
	static const char	 units[] = "smhd";
	static const long	 mult[] = { 1, 60, 3600, 86400 };
	const char		*u;
	long			 total = 0, n;
	int			 rank, last = 4;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s))
			return -1;
		for (n = 0; isdigit((unsigned char)*s); s++) {
			n = n * 10 + (*s - '0');
			if (n > DUR_MAX)
				return -1;
		}
		if (*s == '\0') {
			/* A bare number is seconds, but only on its own. */
			if (last != 4)
				return -1;
			total = n;
			break;
		}
		if ((u = strchr(units, *s)) == NULL)
			return -1;
		rank = u - units;
		/* Units go from the largest down, each at most once. */
		if (rank >= last)
			return -1;
		last = rank;
		s++;
		if (n > (DUR_MAX - total) / mult[rank])
			return -1;
		total += n * mult[rank];
	}
	*out = total;
	return 0;
}

/* Match s against one glob of plen bytes, ignoring ASCII case; 1 or 0. */
static int
glob1(const char *s, const char *pat, size_t plen)
{
	size_t		 pi = 0, star = 0;
	const char	*mark = NULL;

	/* Greedy with one backtrack point: linear, no recursion. */
	while (*s != '\0') {
		if (pi < plen && pat[pi] == '*') {
			star = ++pi;
			mark = s;
		} else if (pi < plen && (pat[pi] == '?' ||
		    tolower((unsigned char)pat[pi]) ==
		    tolower((unsigned char)*s))) {
			pi++;
			s++;
		} else if (mark != NULL) {
			pi = star;
			s = ++mark;
		} else
			return 0;
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

/*
 * Does host match the pattern list?  1 if a positive pattern matches and
 * no negated one does, else 0.  Case is ignored, as by ssh.
 */
int
conf_match(const char *host, const char *list)
{
	const char	*p;
	size_t		 n;
	int		 neg, pos = 0;

	if (host == NULL || list == NULL)
		return 0;
	for (p = list; *p != '\0'; p += n) {
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			continue;
		neg = *p == '!';
		if (glob1(host, p + neg, n - neg)) {
			if (neg)
				return 0;
			pos = 1;
		}
	}
	return pos;
}

/* Format s exactly, as conf_duration reads it: "0s", "1d", "1h30m". */
static char *
fmtdur(long s, char *buf, size_t len)
{
	static const char	 units[] = "dhms";
	static const long	 mult[] = { 86400, 3600, 60, 1 };
	size_t			 i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < 4 && n < len; i++) {
		if (s >= mult[i] || (n == 0 && i == 3)) {
			n += snprintf(buf + n, len - n, "%ld%c", s / mult[i],
			    units[i]);
			s %= mult[i];
		}
	}
	return buf;	/* callers' buffers hold any long */
}

/* Install pol, replacing a policy of the same name in place. */
static int
addpolicy(struct conf *conf, const struct policy *pol)
{
	struct policy	**np, *n;
	size_t		  i;

	for (i = 0; i < conf->npols; i++) {
		if (strcmp(conf->pols[i]->name, pol->name) == 0) {
			*conf->pols[i] = *pol;
			return 0;
		}
	}
	np = reallocarray(conf->pols, conf->npols + 1, sizeof(*np));
	if (np == NULL)
		return -1;
	conf->pols = np;
	if ((n = malloc(sizeof(*n))) == NULL)
		return -1;
	*n = *pol;
	conf->pols[conf->npols++] = n;
	return 0;
}

static int
builtin(struct conf *conf, const char *name, const struct rule *r1,
    const struct rule *r2, const struct rule *r3)
{
	struct policy	pol;

	memset(&pol, 0, sizeof(pol));
	strlcpy(pol.name, name, sizeof(pol.name));	/* short constants */
	pol.rules[pol.nrules++] = *r1;
	if (r2 != NULL)
		pol.rules[pol.nrules++] = *r2;
	if (r3 != NULL)
		pol.rules[pol.nrules++] = *r3;
	pol.cooldown = COOLDOWN_DEF;
	pol.grace = LOGIN_GRACE;
	return addpolicy(conf, &pol);
}

/* A conf with the built-in policies; NULL on ENOMEM.  conf_free() it. */
struct conf *
conf_new(void)
{
	struct conf	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	if (builtin(conf, "openssh", &rule_openssh, NULL, NULL) == -1 ||
	    builtin(conf, "fail2ban", &rule_fail2ban, NULL, NULL) == -1 ||
	    builtin(conf, "sshguard", &rule_sshguard, NULL, NULL) == -1 ||
	    builtin(conf, "default", &rule_openssh, &rule_fail2ban,
	    &rule_sshguard) == -1) {
		conf_free(conf);
		return NULL;
	}
	return conf;
}

/* Free conf and every string handed out by conf_host(); NULL is fine. */
void
conf_free(struct conf *conf)
{
	size_t	i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nitems; i++) {
		free(conf->items[i].str);
		free(conf->items[i].at);
	}
	free(conf->items);
	for (i = 0; i < conf->nhosts; i++) {
		free(conf->hosts[i]);
		free(conf->hostat[i]);
	}
	free(conf->hosts);
	free(conf->hostat);
	for (i = 0; i < conf->nfiles; i++)
		free(conf->files[i]);
	free(conf->files);
	free(conf->found);
	for (i = 0; i < conf->npols; i++)
		free(conf->pols[i]);
	free(conf->pols);
	free(conf);
}

/* The policy called name, built-in or defined; NULL if none. */
const struct policy *
conf_policy(const struct conf *conf, const char *name)
{
	size_t	i;

	if (conf == NULL || name == NULL)
		return NULL;
	for (i = 0; i < conf->npols; i++)
		if (strcmp(conf->pols[i]->name, name) == 0)
			return conf->pols[i];
	return NULL;
}

/* Finish the [policy] section being read: check it and install it. */
static int
policy_end(struct parse *p)
{
	struct policy	 pol;
	int		*seen = p->seen;
	long		*pv = p->pv;

	if (seen[K_MAX_FAILURES] && !seen[K_WINDOW]) {
		perr(p, seen[K_MAX_FAILURES], "max_failures needs window in %s",
		    p->sname);
		return -1;
	}
	if (seen[K_WINDOW] && !seen[K_MAX_FAILURES]) {
		perr(p, seen[K_WINDOW], "window needs max_failures in %s",
		    p->sname);
		return -1;
	}
	if (seen[K_PENALTY] && !seen[K_PENALTY_LIMIT]) {
		perr(p, seen[K_PENALTY], "penalty needs penalty_limit in %s",
		    p->sname);
		return -1;
	}
	if (seen[K_PENALTY_LIMIT] && !seen[K_PENALTY]) {
		perr(p, seen[K_PENALTY_LIMIT],
		    "penalty_limit needs penalty in %s", p->sname);
		return -1;
	}
	if (seen[K_PENALTY] && pv[K_PENALTY_LIMIT] < pv[K_PENALTY]) {
		perr(p, seen[K_PENALTY_LIMIT], "penalty_limit (%lds) is less "
		    "than penalty (%lds) in %s", pv[K_PENALTY_LIMIT],
		    pv[K_PENALTY], p->sname);
		return -1;
	}
	memset(&pol, 0, sizeof(pol));
	strlcpy(pol.name, p->polname, sizeof(pol.name));  /* same size */
	if (seen[K_MAX_FAILURES]) {
		pol.rules[pol.nrules].kind = RULE_COUNT;
		pol.rules[pol.nrules].max_failures = (int)pv[K_MAX_FAILURES];
		pol.rules[pol.nrules].window = pv[K_WINDOW];
		pol.nrules++;
	}
	if (seen[K_PENALTY]) {
		pol.rules[pol.nrules].kind = RULE_PENALTY;
		pol.rules[pol.nrules].penalty = pv[K_PENALTY];
		pol.rules[pol.nrules].noauth = pv[K_PENALTY] < 1 ?
		    pv[K_PENALTY] : 1;
		pol.rules[pol.nrules].limit = pv[K_PENALTY_LIMIT];
		pol.nrules++;
	}
	if (pol.nrules == 0) {
		perr(p, p->polline, "%s has no rule: set max_failures and "
		    "window, or penalty and penalty_limit", p->sname);
		return -1;
	}
	pol.cooldown = seen[K_COOLDOWN] ? pv[K_COOLDOWN] : COOLDOWN_DEF;
	pol.grace = seen[K_LOGIN_GRACE] ? pv[K_LOGIN_GRACE] : LOGIN_GRACE;
	if (addpolicy(p->conf, &pol) == -1) {
		perr(p, 0, "%s", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

/* Begin a [policy NAME] section. */
static int
policy_begin(struct parse *p, const char *name)
{
	struct polseen	*nd;
	char		 buf[80];
	size_t		 i;

	if (!valid_name(name, POLICY_NAMELEN - 1)) {
		perr(p, p->lineno, "bad policy name \"%s\" (letters, digits, "
		    "'.', '_' and '-', at most %d)",
		    shown(name, buf, sizeof(buf)), POLICY_NAMELEN - 1);
		return -1;
	}
	for (i = 0; i < p->ndefs; i++) {
		if (strcmp(p->defs[i].name, name) == 0) {
			perr(p, p->lineno, "[policy %s] already defined at "
			    "line %d", name, p->defs[i].line);
			return -1;
		}
	}
	nd = reallocarray(p->defs, p->ndefs + 1, sizeof(*nd));
	if (nd == NULL) {
		perr(p, 0, "%s", strerror(ENOMEM));
		return -1;
	}
	p->defs = nd;
	strlcpy(nd[p->ndefs].name, name, sizeof(nd->name)); /* checked */
	nd[p->ndefs++].line = p->lineno;
	strlcpy(p->polname, name, sizeof(p->polname));	/* checked */
	p->polline = p->lineno;
	return 0;
}

/* Read a section header "[...]" (blanks trimmed); rewrites s. */
static int
section(struct parse *p, char *s)
{
	char	 buf[64], *kind, *rest, *t, *save, *pats, **nh, **na, *at;
	size_t	 len;

	if (p->sect == S_POLICY && policy_end(p) == -1)
		return -1;
	len = strlen(s);
	if (s[len - 1] != ']') {
		perr(p, p->lineno, "bad section header: missing \"]\"");
		return -1;
	}
	s[len - 1] = '\0';
	if (strpbrk(s + 1, "[]") != NULL) {
		perr(p, p->lineno, "bad section header \"[%s]\"",
		    shown(s + 1, buf, sizeof(buf)));
		return -1;
	}
	memset(p->seen, 0, sizeof(p->seen));
	memset(p->pv, 0, sizeof(p->pv));
	free(p->sname);
	p->sname = NULL;

	kind = s + 1 + strspn(s + 1, " \t");
	len = strcspn(kind, " \t");
	rest = kind + len + strspn(kind + len, " \t");
	kind[len] = '\0';	/* rest starts after it, or is kind's "" */
	if (*kind == '\0') {
		perr(p, p->lineno, "empty section header");
		return -1;
	}
	if (strcmp(kind, "defaults") == 0) {
		if (*rest != '\0') {
			perr(p, p->lineno, "[defaults] takes no arguments");
			return -1;
		}
		p->sect = S_DEFAULTS;
		p->sname = strdup("[defaults]");
	} else if (strcmp(kind, "policy") == 0) {
		if (*rest == '\0' || strpbrk(rest, " \t") != NULL) {
			perr(p, p->lineno, "expected [policy NAME]");
			return -1;
		}
		if (policy_begin(p, rest) == -1)
			return -1;
		p->sect = S_POLICY;
		p->sname = xstrfmt("[policy %s]", rest);
	} else if (strcmp(kind, "host") == 0) {
		/* Patterns may be separated by commas too, as in conf_match. */
		pats = NULL;
		for (t = strtok_r(rest, " \t,", &save); t != NULL;
		    t = strtok_r(NULL, " \t,", &save)) {
			if (!valid_pattern(t)) {
				perr(p, p->lineno, "bad host pattern \"%s\"",
				    shown(t, buf, sizeof(buf)));
				free(pats);
				return -1;
			}
			t = pats == NULL ? strdup(t) :
			    xstrfmt("%s %s", pats, t);
			free(pats);
			if ((pats = t) == NULL) {
				perr(p, 0, "%s", strerror(ENOMEM));
				return -1;
			}
		}
		if (pats == NULL) {
			perr(p, p->lineno, "expected [host PATTERN ...]");
			return -1;
		}
		nh = reallocarray(p->conf->hosts, p->conf->nhosts + 1,
		    sizeof(*nh));
		if (nh != NULL)
			p->conf->hosts = nh;
		na = reallocarray(p->conf->hostat, p->conf->nhosts + 1,
		    sizeof(*na));
		if (na != NULL)
			p->conf->hostat = na;
		at = xstrfmt("%s:%d", p->file, p->lineno);
		if (nh == NULL || na == NULL || at == NULL) {
			free(pats);
			free(at);
			perr(p, 0, "%s", strerror(ENOMEM));
			return -1;
		}
		p->host = (long)p->conf->nhosts;
		na[p->conf->nhosts] = at;
		nh[p->conf->nhosts++] = pats;
		p->sect = S_HOST;
		p->sname = xstrfmt("[host %s]", pats);
	} else {
		perr(p, p->lineno, "unknown section [%s]",
		    shown(kind, buf, sizeof(buf)));
		return -1;
	}
	if (p->sname == NULL) {
		perr(p, 0, "%s", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

/*
 * inih's reader: hand it the next line, checked and normalised (see the
 * comment at the top).  A line inih may not see ends the parse with
 * p->err set.
 */
static char *
reader(char *str, int num, void *arg)
{
	struct parse	*p = arg;
	char		*s, *q;
	size_t		 len, cap, n;
	int		 c, comment;

	if (p->failed)
		return NULL;
	if ((c = getc(p->fp)) == EOF) {
		if (ferror(p->fp))
			perr(p, 0, "read error: %s", strerror(errno));
		return NULL;
	}
	p->lineno++;
	if (num < 16) {
		perr(p, p->lineno, "inih line buffer too small");
		return NULL;
	}
	/* inih needs room for "\r\n\0" (INI_MAX_LINE); we give it "\n\0". */
	cap = (size_t)num - 3;
	len = 0;
	comment = -1;		/* not known before the first non-blank */
	for (; c != EOF && c != '\n'; c = getc(p->fp)) {
		if (c == '\r') {
			/* CRLF is fine; a lone CR is not. */
			if ((c = getc(p->fp)) == '\n' || c == EOF)
				break;
			perr(p, p->lineno, "carriage return inside a line");
			return NULL;
		}
		if (c < 0x20 && c != '\t') {
			perr(p, p->lineno, "binary data (byte 0x%02x)", c);
			return NULL;
		}
		if (c == 0x7f) {
			perr(p, p->lineno, "binary data (byte 0x7f)");
			return NULL;
		}
		if (comment == -1 && !isblank_c(c))
			comment = c == ';' || c == '#';
		if (comment == 1)
			continue;	/* comments may be of any length */
		if (len == cap) {
			perr(p, p->lineno, "line too long (limit %zu bytes)",
			    cap);
			return NULL;
		}
		str[len++] = (char)c;
	}
	if (ferror(p->fp)) {
		perr(p, 0, "read error: %s", strerror(errno));
		return NULL;
	}
	str[len] = '\0';
	if (comment == 1)
		str[0] = '\0';

	s = str + strspn(str, " \t");
	/* An inline comment starts at a ';' or '#' after a blank. */
	for (q = s; *q != '\0'; q++) {
		if ((*q == ';' || *q == '#') && q > s && isblank_c(q[-1])) {
			*q = '\0';
			break;
		}
	}
	n = strlen(s);
	while (n > 0 && isblank_c(s[n - 1]))
		s[--n] = '\0';

	if (*s == '\0')
		;
	else if (*s == '[') {
		if (section(p, s) == -1)
			return NULL;
		s = p->sname;	/* never longer than the line */
	} else {
		n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
		q = s + n + strspn(s + n, " \t");
		if (n == 0 || *q != '=') {
			perr(p, p->lineno, "syntax error: expected "
			    "\"key = value\" or \"[section]\"");
			return NULL;
		}
		if (p->sect == S_NONE) {
			perr(p, p->lineno, "\"%.*s\" is outside any section",
			    (int)n, s);
			return NULL;
		}
	}
	n = strlen(s);
	memmove(str, s, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

/* Describe where a key may go, for "not allowed" errors. */
static const char *
wherename(int where)
{
	switch (where) {
	case IN_DEF:
		return "[defaults]";
	case IN_HOST:
		return "[host ...]";
	case IN_DEF | IN_HOST:
		return "[defaults] and [host ...]";
	default:
		return "[policy ...]";
	}
}

/* Read value for key k; 0, or -1 with why (static or in wbuf). */
static int
value(struct parse *p, enum key k, const char *v, long *num, char **str,
    const char **why, char *wbuf, size_t wlen)
{
	const struct keydef	*kd = &keys[k];
	const char		*errstr;
	char			 a[32], b[32];
	int			 port;

	*num = 0;
	*str = NULL;
	switch (kd->type) {
	case V_NAME:
		if (!valid_name(v, POLICY_NAMELEN - 1)) {
			*why = "not a policy name";
			return -1;
		}
		break;
	case V_ONRISK:
		if (strcmp(v, "delay") == 0)
			*num = ONRISK_DELAY;
		else if (strcmp(v, "refuse") == 0)
			*num = ONRISK_REFUSE;
		else {
			*why = "expected delay or refuse";
			return -1;
		}
		return 0;
	case V_YESNO:
		if (strcmp(v, "yes") == 0)
			*num = 1;
		else if (strcmp(v, "no") != 0) {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	case V_REUSE:
		if (strcmp(v, "no") == 0)
			return 0;
		/* FALLTHROUGH */
	case V_DUR:
		if (conf_duration(v, num) == -1) {
			if (kd->type == V_REUSE)
				*why = "expected no or a duration (like 30s, "
				    "10m, 1h30m)";
			else
				*why = "not a duration (like 30s, 10m, 1h30m)";
			return -1;
		}
		if (*num < kd->lo || *num > kd->hi) {
			snprintf(wbuf, wlen, "must be from %s to %s",
			    fmtdur(kd->lo, a, sizeof(a)),
			    fmtdur(kd->hi, b, sizeof(b)));
			*why = wbuf;
			return -1;
		}
		return 0;
	case V_INT:
		*num = alldigits(v) ? (long)strtonum(v, kd->lo, kd->hi,
		    &errstr) : 0;
		if (!alldigits(v) || errstr != NULL) {
			snprintf(wbuf, wlen, "must be a number from %ld to %ld",
			    kd->lo, kd->hi);
			*why = wbuf;
			return -1;
		}
		return 0;
	case V_PORT:
		if (!alldigits(v)) {
			*why = "must be a number from 1 to 65535";
			return -1;
		}
		if (!argv_valid_port(v, &port, why))
			return -1;
		if (port < 1 || port > 65535) {
			*why = "must be a number from 1 to 65535";
			return -1;
		}
		*num = port;
		return 0;
	case V_USER:
		if (!argv_valid_user(v, why))
			return -1;
		break;
	case V_HOST:
		if (!argv_valid_host(v, why))
			return -1;
		break;
	case V_SERVER:
		if (!valid_name(v, SERVER_MAXLEN)) {
			*why = "letters, digits, '.', '_' and '-', at most 64, "
			    "not starting with '.' or '-'";
			return -1;
		}
		break;
	case V_LEDGER: {
		struct ledgerurl	u;

		if (ledgerurl_parse(v, &u, why) == -1)
			return -1;
		/* A password others could read is no password. */
		if (u.haspass && (p->mode & (S_IRGRP | S_IROTH)) != 0) {
			snprintf(wbuf, wlen, "a password in a file others can "
			    "read (mode %04o); chmod go-r it",
			    (unsigned)(p->mode & 07777));
			*why = wbuf;
			explicit_bzero(&u, sizeof(u));
			return -1;
		}
		*num = u.kind != LK_FILES;
		explicit_bzero(&u, sizeof(u));
		if (*num == 0)
			return 0;	/* files: str stays NULL */
		break;
	}
	case V_PREFIX:
		if (!store_prefix_ok(v)) {
			*why = "1 to 64 of letters, digits, '_', '.', ':' and "
			    "'-'";
			return -1;
		}
		break;
	case V_CERT:
		/* num: 0 no, 1 auto, 2 a path (in str). */
		if (strcmp(v, "no") == 0)
			return 0;
		if (strcmp(v, "auto") == 0) {
			*num = 1;
			return 0;
		}
		*num = 2;
		/* FALLTHROUGH */
	case V_PATH:
		if (v[0] != '/' && strncmp(v, "~/", 2) != 0) {
			*why = kd->type == V_CERT ? "expected no, auto, or an "
			    "absolute path or one starting with ~/" :
			    "must be an absolute path or start with ~/";
			return -1;
		}
		if (strpbrk(v, " \t\"'\\%$") != NULL) {
			*why = "blanks, quotes, '\\', '%' and '$' are not "
			    "supported in paths";
			return -1;
		}
		if (strlen(v) >= PATH_MAX) {
			*why = "too long";
			return -1;
		}
		if ((*str = util_tilde(v)) == NULL)
			goto nomem;
		return 0;
	}
	if ((*str = strdup(v)) == NULL)
		goto nomem;
	return 0;
nomem:
	*why = NULL;
	perr(p, 0, "%s", strerror(ENOMEM));
	return -1;
}

/* One "key = value" line. */
static int
setting(struct parse *p, const char *name, const char *v)
{
	const char	*why = NULL;
	char		 buf[64], wbuf[128], *str;
	struct item	*it;
	int		 k, sbit;
	long		 num;

	for (k = 0; k < K_MAX; k++)
		if (strcmp(keys[k].name, name) == 0)
			break;
	if (k == K_MAX) {
		for (k = 0; k < K_MAX; k++)
			if (strcasecmp(keys[k].name, name) == 0)
				break;
		if (k < K_MAX)
			perr(p, p->lineno, "unknown key \"%s\" in %s (did you "
			    "mean \"%s\"?)", name, p->sname, keys[k].name);
		else
			perr(p, p->lineno, "unknown key \"%s\" in %s", name,
			    p->sname);
		return -1;
	}
	sbit = p->sect == S_DEFAULTS ? IN_DEF : p->sect == S_HOST ?
	    IN_HOST : IN_POLICY;
	if ((keys[k].where & sbit) == 0) {
		perr(p, p->lineno, "key \"%s\" is not allowed in %s (only in "
		    "%s)", name, p->sname, wherename(keys[k].where));
		return -1;
	}
	if (p->seen[k]) {
		perr(p, p->lineno, "duplicate key \"%s\" in %s (first at line "
		    "%d)", name, p->sname, p->seen[k]);
		return -1;
	}
	if (*v == '\0') {
		perr(p, p->lineno, "missing value for \"%s\"", name);
		return -1;
	}
	if (value(p, k, v, &num, &str, &why, wbuf, sizeof(wbuf)) == -1) {
		if (why != NULL)
			perr(p, p->lineno, "invalid %s \"%s\": %s", name,
			    k == K_LEDGER ? redact(v, buf, sizeof(buf)) :
			    shown(v, buf, sizeof(buf)), why);
		return -1;
	}
	p->seen[k] = p->lineno;
	if (p->sect == S_POLICY) {
		p->pv[k] = num;
		free(str);
		return 0;
	}
	it = reallocarray(p->conf->items, p->conf->nitems + 1, sizeof(*it));
	if (it == NULL) {
		free(str);
		perr(p, 0, "%s", strerror(ENOMEM));
		return -1;
	}
	p->conf->items = it;
	it += p->conf->nitems;
	it->key = k;
	it->host = p->sect == S_HOST ? p->host : -1;
	it->num = num;
	it->str = str;
	if ((it->at = xstrfmt("%s:%d", p->file, p->lineno)) == NULL) {
		free(str);
		perr(p, 0, "%s", strerror(ENOMEM));
		return -1;
	}
	p->conf->nitems++;
	return 0;
}

/* inih's handler: the reader has already checked the line. */
static int
handler(void *arg, const char *section_, const char *name, const char *v)
{
	struct parse	*p = arg;

	(void)section_;		/* the reader keeps its own, checked */
	if (p->failed)
		return 0;
	if (name == NULL)
		return 1;	/* a new section, with some inih builds */
	if (v == NULL) {
		perr(p, p->lineno, "missing value for \"%s\"", name);
		return 0;
	}
	return setting(p, name, v) == 0;
}

/* Open path for reading if it is a file we may trust; fd, -1, or -2. */
static int
openconf(const char *path, int must_exist, char **cause)
{
	struct stat	 st;
	int		 fd, e;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		e = errno;
		if ((e == ENOENT || e == ENOTDIR) && !must_exist)
			return -2;
		if (e == ELOOP)
			*cause = xstrfmt("%s: refusing: symbolic link", path);
		else
			*cause = xstrfmt("%s: %s", path, strerror(e));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*cause = xstrfmt("%s: refusing: not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		*cause = xstrfmt("%s: refusing: group or world writable "
		    "(mode %04o)", path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		*cause = xstrfmt("%s: refusing: owned by uid %lu, not by you "
		    "or root", path, (unsigned long)st.st_uid);
		goto fail;
	}
	if (st.st_size > CONF_MAXFILE) {
		*cause = xstrfmt("%s: refusing: larger than %d bytes", path,
		    CONF_MAXFILE);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Remember a file conf_load() was given: read (1) or not there (0). */
static int
addfile(struct conf *conf, const char *path, int found)
{
	char	**nf;
	int	 *nb;

	if ((nf = reallocarray(conf->files, conf->nfiles + 1,
	    sizeof(*nf))) == NULL)
		return -1;
	conf->files = nf;
	if ((nb = reallocarray(conf->found, conf->nfiles + 1,
	    sizeof(*nb))) == NULL)
		return -1;
	conf->found = nb;
	if ((nf[conf->nfiles] = strdup(path)) == NULL)
		return -1;
	nb[conf->nfiles++] = found;
	return 0;
}

/* The i-th file given to conf_load(): 0 with *path and *found; -1. */
int
conf_file(const struct conf *conf, size_t i, const char **path, int *found)
{
	if (conf == NULL || i >= conf->nfiles)
		return -1;
	*path = conf->files[i];
	*found = conf->found[i];
	return 0;
}

/* The i-th [host] section: 0 with *patterns and *at; -1 past the end. */
int
conf_section(const struct conf *conf, size_t i, const char **patterns,
    const char **at)
{
	if (conf == NULL || i >= conf->nhosts)
		return -1;
	*patterns = conf->hosts[i];
	*at = conf->hostat[i];
	return 0;
}

/*
 * Read one file into conf (see safessh.h).  On error nothing of this
 * file's settings is kept, but [policy] sections already read stay.
 */
int
conf_load(struct conf *conf, const char *path, int must_exist, char **cause)
{
	struct parse	 p;
	size_t		 nitems, nhosts;
	char		 bom[3];
	int		 fd, r;

	*cause = NULL;
	fd = openconf(path, must_exist, cause);
	if (fd != -1 && addfile(conf, path, fd != -2) == -1) {
		if (fd >= 0)
			close(fd);
		*cause = xstrfmt("%s", strerror(ENOMEM));
		return -1;
	}
	if (fd == -2)
		return 0;
	if (fd == -1)
		return -1;
	memset(&p, 0, sizeof(p));
	p.conf = conf;
	p.file = path;
	{
		struct stat	 st;

		if (fstat(fd, &st) == 0)
			p.mode = st.st_mode;
	}
	if ((p.fp = fdopen(fd, "r")) == NULL) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* A UTF-8 byte order mark is allowed, as by inih. */
	if (fread(bom, 1, 3, p.fp) != 3 || memcmp(bom, "\xef\xbb\xbf", 3) != 0)
		rewind(p.fp);

	nitems = conf->nitems;
	nhosts = conf->nhosts;
	r = ini_parse_stream(reader, &p, handler, &p);
	if (!p.failed && r == 0 && p.sect == S_POLICY)
		policy_end(&p);
	if (!p.failed && r != 0) {
		/* inih refused a line we checked: should not happen. */
		if (r > 0)
			perr(&p, r, "syntax error");
		else
			perr(&p, 0, "%s", r == -2 ? strerror(ENOMEM) :
			    "cannot read");
	}
	fclose(p.fp);
	free(p.sname);
	free(p.defs);
	if (p.failed) {
		/* Drop this file's settings (its policies stay replaced). */
		while (conf->nitems > nitems) {
			conf->nitems--;
			free(conf->items[conf->nitems].str);
			free(conf->items[conf->nitems].at);
		}
		while (conf->nhosts > nhosts) {
			conf->nhosts--;
			free(conf->hosts[conf->nhosts]);
			free(conf->hostat[conf->nhosts]);
		}
		*cause = p.err;
		return -1;
	}
	return 0;
}

/* Every "policy =" must name a policy; 0, or -1 with *cause. */
static int
checkrefs(const struct conf *conf, char **cause)
{
	const struct item	*it;
	char			 buf[64];
	size_t			 i;

	for (i = 0; i < conf->nitems; i++) {
		it = &conf->items[i];
		if (it->key == K_POLICY && conf_policy(conf, it->str) == NULL) {
			*cause = xstrfmt("%s: unknown policy \"%s\"", it->at,
			    shown(it->str, buf, sizeof(buf)));
			return -1;
		}
	}
	return 0;
}

/*
 * $SAFESSH_CONFIG alone (it must exist; "/dev/null" is no file), else
 * the system file then the user's; then every "policy =" must resolve.
 */
int
conf_load_default(struct conf *conf, char **cause)
{
	const char	*env, *home;
	char		*path;
	int		 r;

	*cause = NULL;
	if ((env = getenv("SAFESSH_CONFIG")) != NULL && *env != '\0') {
		/* As with GIT_CONFIG_GLOBAL, /dev/null means no file. */
		if (strcmp(env, "/dev/null") == 0)
			return 0;
		if (conf_load(conf, env, 1, cause) == -1)
			return -1;
		return checkrefs(conf, cause);
	}
	if (conf_load(conf, SAFESSH_SYSCONF, 0, cause) == -1)
		return -1;
	/* XDG: a relative $XDG_CONFIG_HOME is invalid and ignored. */
	if ((env = getenv("XDG_CONFIG_HOME")) != NULL && *env == '/')
		path = xstrfmt("%s/safessh/config", env);
	else {
		if ((home = state_home()) == NULL)
			return checkrefs(conf, cause);
		path = xstrfmt("%s/.config/safessh/config", home);
	}
	if (path == NULL) {
		*cause = xstrfmt("%s", strerror(ENOMEM));
		return -1;
	}
	r = conf_load(conf, path, 0, cause);
	free(path);
	if (r == -1)
		return -1;
	return checkrefs(conf, cause);
}

/* Apply one item to hc. */
static void
apply(const struct item *it, struct hostconf *hc, const char **pol)
{
	switch (it->key) {
	case K_POLICY:
		*pol = it->str;
		break;
	case K_ON_RISK:
		hc->on_risk = it->num == ONRISK_REFUSE ? ONRISK_REFUSE :
		    ONRISK_DELAY;
		break;
	case K_MAX_DELAY:
		hc->max_delay = it->num;
		break;
	case K_PARALLEL:
		hc->parallel = (int)it->num;
		break;
	case K_CONNECT_TIMEOUT:
		hc->connect_timeout = it->num;
		break;
	case K_RETRIES:
		hc->retries = (int)it->num;
		break;
	case K_REUSE:
		hc->reuse = it->num;
		break;
	case K_IDENTITY:
		hc->identity = it->str;
		hc->identity_at = it->at;
		break;
	case K_USER:
		hc->user = it->str;
		hc->user_at = it->at;
		break;
	case K_PORT:
		hc->port = (int)it->num;
		hc->port_at = it->at;
		break;
	case K_PASSWORD:
		hc->password = (int)it->num;
		break;
	case K_AGENT:
		hc->agent = (int)it->num;
		hc->agent_at = it->at;
		break;
	case K_CERTIFICATE:
		hc->certificate = it->num == 2 ? it->str : NULL;
		hc->certauto = it->num == 1;
		hc->certificate_at = it->at;
		break;
	case K_REFUSED_STATUS:
		hc->refused_status = (int)it->num;
		break;
	case K_SSH:
		hc->ssh = it->str;
		break;
	case K_HOSTNAME:
		hc->hostname = it->str;
		hc->hostname_at = it->at;
		break;
	case K_SERVER:
		hc->server = it->str;
		break;
	case K_LEDGER:
		hc->ledger = it->str;
		hc->ledger_at = it->at;
		break;
	case K_LEDGER_PREFIX:
		hc->ledger_prefix = it->str;
		break;
	case K_LEDGER_REQUIRED:
		hc->ledger_required = (int)it->num;
		break;
	default:
		break;		/* policy keys are never items */
	}
}

/*
 * Resolve host's settings into hc: built-in defaults, every [defaults]
 * item, then the items of every matching [host] section, in the order
 * read.  Strings point into conf.  0, or -1 with *cause (an unknown
 * policy, naming the file:line that referred to it).
 */
int
conf_host(const struct conf *conf, const char *host, struct hostconf *hc,
    char **cause)
{
	const struct item	*it;
	const char		*pol = "default";
	long			 last = -1;
	size_t			 i;
	int			 match = 0;

	*cause = NULL;
	memset(hc, 0, sizeof(*hc));
	hc->on_risk = ONRISK_DELAY;
	hc->max_delay = 30;
	hc->parallel = 4;
	hc->connect_timeout = 15;
	hc->retries = 1;
	hc->refused_status = EXIT_REFUSED;
	hc->reuse = 0;
	hc->password = 0;
	hc->ledger_prefix = STORE_PREFIX;
	if (checkrefs(conf, cause) == -1)
		return -1;
	/* Every file's [defaults] first, then the matching [host]s. */
	for (i = 0; i < conf->nitems; i++)
		if (conf->items[i].host == -1)
			apply(&conf->items[i], hc, &pol);
	for (i = 0; i < conf->nitems; i++) {
		it = &conf->items[i];
		if (it->host == -1)
			continue;
		if (it->host != last) {
			last = it->host;
			match = conf_match(host, conf->hosts[last]);
		}
		if (match)
			apply(it, hc, &pol);
	}
	if ((hc->policy = conf_policy(conf, pol)) == NULL) {
		/* Only "default" gets here, and it is always defined. */
		*cause = xstrfmt("unknown policy \"%s\"", pol);
		return -1;
	}
	return 0;
}
