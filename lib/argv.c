/*
 * argv.c: ssh's command-line grammar.  argv_parse() reads a command line
 * exactly as ssh(1) does (one option table, getopt(3) without permutation,
 * the destination, a second option pass after it, the remote command),
 * checks every host, user, port and jump hop (G5), and takes the one
 * identity out of the options; argv_build() writes the argv that safessh
 * hands to ssh: forced options, the user's options, "--", destination,
 * command.
 */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safessh.h"

/*
 * ssh's option letters in getopt(3) form (a letter followed by ':' takes
 * an argument), one table per grammar of the OpenSSH releases safessh
 * meets (read from ssh.c of each release): -P was a flag (ignored) until
 * 9.3 and takes a tag from 9.4 on; -Z (list the keys ssh would try, and
 * exit) came with 10.5.  grammar() picks one by the installed version.
 */
static const char opts_92[] = "1246ACGKMNPTVXYafgknqstvxy"
    "B:D:E:F:I:J:L:O:Q:R:S:W:b:c:e:i:l:m:o:p:w:";
static const char opts_94[] = "1246ACGKMNTVXYafgknqstvxy"
    "B:D:E:F:I:J:L:O:P:Q:R:S:W:b:c:e:i:l:m:o:p:w:";
static const char opts_105[] = "1246ACGKMNTVXYZafgknqstvxy"
    "B:D:E:F:I:J:L:O:P:Q:R:S:W:b:c:e:i:l:m:o:p:w:";

/* The option table for ssh version ver (major * 100 + minor; 0: latest). */
static const char *
grammar(int ver)
{
	if (ver <= 0 || ver >= 1005)
		return opts_105;
	return ver >= 904 ? opts_94 : opts_92;
}

#define HOST_MAX	1025	/* NI_MAXHOST: longer is not a host name */
#define USER_MAX	1025	/* no account name is longer */
#define SHOW_MAX	64	/* bytes of a bad value quoted in a message */
#define MSGLEN		1024
#define QLEN		(SHOW_MAX * 4 + 8)	/* show()'s output */
#define CFG_WS		" \t\r\n"	/* ssh_config's whitespace */

static const char onekey[] =
    "more than one identity (-i): safessh offers one key per connection";

/* Why a hop failed, for argv_valid_jump(). */
enum bad {
	BAD_SYNTAX,
	BAD_HOST,
	BAD_USER,
	BAD_PORT
};

/* Parser state beside the result. */
struct pstate {
	struct sshcmd	*cmd;
	size_t		 optalloc;
	int		 moreids;	/* a second, different identity */
	int		 morecerts;	/* a second, different certificate */
	int		 stop;		/* -V or -Q: ssh exits right there */
};

/* BSD getopt(3) state, without globals. */
struct gopt {
	const char	*opts;		/* the option table (grammar()) */
	int		 ac;
	char *const	*av;
	int		 ind;		/* the element being looked at */
	const char	*place;		/* rest of an option cluster, or NULL */
	const char	*arg;		/* the option's argument */
};

/* Set *cause to a formatted message; always returns -1. */
static int __attribute__((format(printf, 2, 3)))
fail(char **cause, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
}

/*
 * Write s into buf as a double-quoted string for a one-line message: at
 * most SHOW_MAX bytes of it (then "..." outside the quotes), with '"',
 * '\\', control and non-ASCII bytes escaped.
 */
static void
show(char *buf, size_t len, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, o = 0;
	char			 e[8];

	if (len < 8) {
		*buf = '\0';
		return;
	}
	buf[o++] = '"';
	/* Room is left for the longest escape, '"', "..." and the NUL. */
	for (i = 0; p[i] != '\0' && i < SHOW_MAX && o + 9 < len; i++) {
		if (p[i] == '\n')
			strlcpy(e, "\\n", sizeof(e));
		else if (p[i] == '\t')
			strlcpy(e, "\\t", sizeof(e));
		else if (p[i] == '\r')
			strlcpy(e, "\\r", sizeof(e));
		else if (p[i] == '"' || p[i] == '\\')
			snprintf(e, sizeof(e), "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			snprintf(e, sizeof(e), "\\x%02x", p[i]);
		else
			snprintf(e, sizeof(e), "%c", p[i]);
		o += strlcpy(buf + o, e, len - o);
	}
	buf[o++] = '"';
	buf[o] = '\0';
	if (p[i] != '\0')
		strlcat(buf, "...", len);
}

/* ------------------------------------------------------------ validation */

/* The reason a character may not appear in a host or user name, or NULL. */
static const char *
badchar(unsigned char c, int host)
{
	if (c == ' ' || (c >= '\t' && c <= '\r'))
		return "contains whitespace";
	if (c < 0x20 || c == 0x7f)
		return "contains a control character";
	switch (c) {
	case '\'':
		return "contains a single quote";
	case '"':
		return "contains a double quote";
	case '`':
		return "contains a backquote";
	case '\\':
		return "contains a backslash";
	case '$':
		return "contains '$'";
	case ';':
		return "contains ';'";
	case '&':
		return "contains '&'";
	case '<':
		return "contains '<'";
	case '>':
		return "contains '>'";
	case '|':
		return "contains '|'";
	case '(':
		return "contains '('";
	case ')':
		return "contains ')'";
	case '{':
		return "contains '{'";
	case '}':
		return "contains '}'";
	case ',':
		return host ? "contains ','" : NULL;
	}
	return NULL;
}

/* Shared by the host and user checks. */
static int
valid_name(const char *s, int host, const char **why)
{
	const char	*p, *w;
	size_t		 max = host ? HOST_MAX : USER_MAX;

	if (*s == '\0') {
		*why = "empty";
		return 0;
	}
	if (*s == '-') {
		*why = "leading '-'";
		return 0;
	}
	for (p = s; *p != '\0'; p++) {
		if ((w = badchar((unsigned char)*p, host)) != NULL) {
			*why = w;
			return 0;
		}
	}
	if ((size_t)(p - s) > max) {
		*why = "too long (over 1025 bytes)";
		return 0;
	}
	return 1;
}

/*
 * A host name from the command line or configuration: not empty, no
 * leading '-', no whitespace, control character or shell metacharacter
 * ('`"$\;&<>|(){},), at most 1025 bytes.  1, or 0 with *why.
 */
int
argv_valid_host(const char *s, const char **why)
{
	return valid_name(s, 1, why);
}

/*
 * A user name: as a host name, except that ',' is allowed ('\\' is not,
 * anywhere).  1, or 0 with *why.
 */
int
argv_valid_user(const char *s, const char **why)
{
	return valid_name(s, 0, why);
}

/*
 * A port: decimal digits only, 1 to 65535 (no service name, no sign, no
 * blanks).  1 with *port set, or 0 with *why.
 */
int
argv_valid_port(const char *s, int *port, const char **why)
{
	const char	*p;
	long		 v = 0;

	if (*s == '\0') {
		*why = "empty";
		return 0;
	}
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			*why = "not a number";
			return 0;
		}
		if (v <= 65535)
			v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535) {
		*why = "out of range (1-65535)";
		return 0;
	}
	*port = (int)v;
	return 1;
}

/* The same three checks, with a full message in msg. */
static int
check_host(const char *s, char *msg, size_t len)
{
	const char	*why;
	char		 q[QLEN];

	if (argv_valid_host(s, &why))
		return 0;
	show(q, sizeof(q), s);
	snprintf(msg, len, "invalid host name %s: %s", q, why);
	return -1;
}

static int
check_user(const char *s, char *msg, size_t len)
{
	const char	*why;
	char		 q[QLEN];

	if (argv_valid_user(s, &why))
		return 0;
	show(q, sizeof(q), s);
	snprintf(msg, len, "invalid user name %s: %s", q, why);
	return -1;
}

static int
check_port(const char *s, int *port, char *msg, size_t len)
{
	const char	*why;
	char		 q[QLEN];

	if (argv_valid_port(s, port, &why))
		return 0;
	show(q, sizeof(q), s);
	snprintf(msg, len, "invalid port %s: %s", q, why);
	return -1;
}

/*
 * ssh also requires an ssh:// host to look like a domain name: it starts
 * with a letter, digit or '_', holds only those and '.' and '-', and has
 * no empty label.  A trailing '.' is dropped, as ssh does.
 */
static int
check_domain(char *h, char *msg, size_t len)
{
	const char	*why = NULL;
	char		 q[QLEN];
	size_t		 i, l = strlen(h);
	unsigned char	 c;

	c = (unsigned char)h[0];
	if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
	    !(c >= '0' && c <= '9') && c != '_')
		why = "an ssh:// host must start with a letter, digit or '_'";
	for (i = 0; why == NULL && i < l; i++) {
		c = (unsigned char)h[i];
		if (c == '.' && i > 0 && h[i - 1] == '.')
			why = "an ssh:// host may not hold \"..\"";
		else if (c != '.' && c != '-' && c != '_' &&
		    !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9'))
			why = "an ssh:// host holds only letters, digits, "
			    "'.', '-' and '_'";
	}
	if (why != NULL) {
		show(q, sizeof(q), h);
		snprintf(msg, len, "invalid host name %s: %s", q, why);
		return -1;
	}
	if (h[l - 1] == '.')
		h[l - 1] = '\0';
	return 0;
}

/* ------------------------------------------------- destinations and hops */

/* %-decode s in place as ssh does ('+' is a space; %00 is refused). */
static int
urldecode(char *s)
{
	char	*o = s;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (*s == '+')
			*o++ = ' ';
		else if (*s == '%') {
			if ((hi = util_hexval((unsigned char)s[1])) == -1 ||
			    (lo = util_hexval((unsigned char)s[2])) == -1 ||
			    (hi == 0 && lo == 0))
				return -1;
			*o++ = (char)(hi << 4 | lo);
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
	return 0;
}

/*
 * Split a host[:port] field (s is modified): a bracketed "[addr]" or text
 * up to the first ':' or '/'.  Returns the host (brackets removed) with
 * *delim the character that ended it ('\0', ':' or '/') and *rest what
 * follows it (NULL at the end), or NULL with *why.
 */
static char *
hostfield(char *s, char *delim, char **rest, const char **why)
{
	char	*e, *h = s;

	if (*s == '[') {
		if ((e = strchr(s, ']')) == NULL) {
			*why = "missing ']'";
			return NULL;
		}
		e++;
	} else
		e = s + strcspn(s, ":/");
	*delim = *e;
	if (*e != '\0' && *e != ':' && *e != '/') {
		*why = "junk after ']'";
		return NULL;
	}
	*rest = *e == '\0' ? NULL : e + 1;
	*e = '\0';
	if (*h == '\0') {
		*why = "empty host name";
		return NULL;
	}
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	return h;
}

/* The parts of a destination or hop. */
struct spec {
	char	*user;		/* NULL if none */
	char	*host;
	int	 port;		/* -1 if none */
};

static void
spec_free(struct spec *sp)
{
	free(sp->user);
	free(sp->host);
	sp->user = sp->host = NULL;
}

/*
 * Parse and check a destination (hop = 0: [user@]host, the last '@'
 * splitting) or a -J hop (hop = 1: [user@]host[:port]), either of which
 * may be ssh://[user[;params]@]host[:port][/] instead.  0, or -1 with
 * msg set: a bare reason for a syntax error (*bad = BAD_SYNTAX), else
 * a full "invalid host name ..." message.
 */
static int
spec_parse(const char *s, int hop, struct spec *sp, char *msg, size_t len,
    enum bad *bad)
{
	char		*dup, *t, *at, *h, *rest, *p, delim;
	const char	*why = NULL;
	int		 uri, r = -1;

	sp->user = sp->host = NULL;
	sp->port = -1;
	*bad = BAD_SYNTAX;
	uri = strncmp(s, "ssh://", 6) == 0;
	if ((dup = strdup(uri ? s + 6 : s)) == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	t = dup;
	at = uri ? strchr(t, '@') : strrchr(t, '@');
	if (at != NULL) {
		*at = '\0';
		if (uri && (p = strchr(t, ';')) != NULL)
			*p = '\0';	/* connection parameters: ignored */
		if (*t == '\0') {
			why = "empty user name";
			goto out;
		}
		if (uri && urldecode(t) == -1) {
			why = "bad %-escape in the user name";
			goto out;
		}
		if ((sp->user = strdup(t)) == NULL) {
			why = "out of memory";
			goto out;
		}
		t = at + 1;
	}
	if (!uri && !hop) {
		/* A plain destination is all host: ssh takes no port here. */
		h = t;
		rest = NULL;
		delim = '\0';
	} else if ((h = hostfield(t, &delim, &rest, &why)) == NULL)
		goto out;
	if ((sp->host = strdup(h)) == NULL) {
		why = "out of memory";
		goto out;
	}
	/* The names first, as ssh does: a hostile host is named as such. */
	if (sp->user != NULL && check_user(sp->user, msg, len) == -1) {
		*bad = BAD_USER;
		goto out;
	}
	if (check_host(sp->host, msg, len) == -1 ||
	    (uri && check_domain(sp->host, msg, len) == -1)) {
		*bad = BAD_HOST;
		goto out;
	}
	if (!uri && delim == '/') {
		why = "'/' after the host";
		goto out;
	}
	if (rest != NULL && *rest != '\0') {
		if (delim == ':') {
			/* Only a URI has a path after the port. */
			if (uri && (p = strchr(rest, '/')) != NULL)
				*p = '\0';
			else
				p = NULL;
			if (check_port(rest, &sp->port, msg, len) == -1) {
				*bad = BAD_PORT;
				goto out;
			}
			rest = p != NULL ? p + 1 : NULL;
		}
		if (rest != NULL && *rest != '\0') {
			why = "path not allowed";
			goto out;
		}
	}
	r = 0;
 out:
	if (why != NULL)
		snprintf(msg, len, "%s", why);
	if (r == -1)
		spec_free(sp);
	free(dup);
	return r;
}

/*
 * Check a -J / ProxyJump value: "none", or comma-separated hops.  As ssh,
 * a '#' starts a comment and trailing blanks go.  0, or -1 with msg and
 * *bad set.
 */
static int
jump_check(const char *label, const char *s, char *msg, enum bad *bad)
{
	struct spec	 sp;
	char		*dup, *hop, *next, *end;
	char		 inner[MSGLEN - QLEN - 32], q[QLEN];
	int		 r = 0;

	if (strcasecmp(s, "none") == 0)
		return 0;
	if ((dup = strdup(s)) == NULL) {
		*bad = BAD_SYNTAX;
		snprintf(msg, MSGLEN, "out of memory");
		return -1;
	}
	dup[strcspn(dup, "#")] = '\0';
	end = dup + strlen(dup);
	while (end > dup && strchr(" \t\n\v\f\r", end[-1]) != NULL)
		*--end = '\0';
	for (hop = dup; hop != NULL; hop = next) {
		if ((next = strchr(hop, ',')) != NULL)
			*next++ = '\0';
		if (spec_parse(hop, 1, &sp, inner, sizeof(inner), bad) == -1) {
			show(q, sizeof(q), hop);
			snprintf(msg, MSGLEN, "invalid %s hop %s: %s", label,
			    q, inner);
			r = -1;
			break;
		}
		spec_free(&sp);
	}
	free(dup);
	return r;
}

/*
 * A -J or ProxyJump value: "none", or comma-separated hops, each
 * [user@]host[:port] or ssh://[user@]host[:port], each checked as above.
 * 1, or 0 with *why.
 */
int
argv_valid_jump(const char *s, const char **why)
{
	char		msg[MSGLEN];
	enum bad	bad;

	if (jump_check("-J", s, msg, &bad) == 0)
		return 1;
	switch (bad) {
	case BAD_HOST:
		*why = "invalid host name in a hop";
		break;
	case BAD_USER:
		*why = "invalid user name in a hop";
		break;
	case BAD_PORT:
		*why = "invalid port in a hop";
		break;
	default:
		*why = "bad hop syntax";
		break;
	}
	return 0;
}

/* ---------------------------------------------------------- -o arguments */

/* One -o argument, split as ssh's configuration reader splits a line. */
struct cfgopt {
	char	*buf;		/* working copy (free it) */
	char	*kw;		/* keyword, lowercased; NULL: blank/comment */
	char	*val;		/* the rest, leading blanks skipped; or NULL */
	size_t	 valoff;	/* where val starts in the original */
};

/*
 * ssh's keyword tokeniser: a token ends at whitespace, a quote or one
 * '='; a quote starts a quoted token (the opening quote is removed, which
 * *shift counts).  Returns the token, or NULL.
 */
static char *
cfg_token(char **sp, size_t *shift)
{
	char	*old = *sp, *p;
	int	 eq;

	if (old == NULL)
		return NULL;
	if ((p = strpbrk(old, CFG_WS "\"=")) == NULL) {
		*sp = NULL;
		return old;
	}
	if (*p == '"') {
		memmove(p, p + 1, strlen(p));
		(*shift)++;
		if ((p = strchr(p, '"')) == NULL) {
			*sp = NULL;
			return NULL;
		}
		*p = '\0';
		*sp = p + 1 + strspn(p + 1, CFG_WS);
		return old;
	}
	eq = *p == '=';
	*p = '\0';
	p += 1 + strspn(p + 1, CFG_WS);
	if (!eq && *p == '=')
		p += 1 + strspn(p + 1, CFG_WS);
	*sp = p;
	return old;
}

/* Split line into keyword and value; 0, or -1 on ENOMEM. */
static int
cfg_split(const char *line, struct cfgopt *co)
{
	char	*s, *kw;
	size_t	 len, shift = 0;

	memset(co, 0, sizeof(*co));
	if ((co->buf = strdup(line)) == NULL)
		return -1;
	if ((len = strlen(co->buf)) == 0)
		return 0;
	for (len--; len > 0; len--) {
		if (strchr(CFG_WS "\f", co->buf[len]) == NULL)
			break;
		co->buf[len] = '\0';
	}
	s = co->buf;
	if ((kw = cfg_token(&s, &shift)) != NULL && *kw == '\0')
		kw = cfg_token(&s, &shift);
	if (kw == NULL || *kw == '\0' || *kw == '\n' || *kw == '#')
		return 0;
	for (co->kw = kw; *kw != '\0'; kw++)
		if (*kw >= 'A' && *kw <= 'Z')
			*kw = (char)(*kw - 'A' + 'a');
	if (s != NULL)
		s += strspn(s, CFG_WS);
	if (s != NULL && *s != '\0') {
		co->val = s;
		co->valoff = (size_t)(s - co->buf) + shift;
	}
	return 0;
}

/*
 * ssh's value splitter (misc.c argv_split with comments): blanks separate
 * words, quotes group, a backslash escapes a quote, a backslash or
 * (outside quotes) a space, and a '#' starting a word ends the line.
 * Sets *nw and, when all is not NULL, *all (every word, NULL-terminated;
 * free with argv_cfgwords_free).  0, -1 on an unbalanced quote, -2 on
 * ENOMEM.
 */
int
argv_cfgwords(const char *s, int *nw, char ***all)
{
	char	*w, *o, **v = NULL, **nv;
	int	 quote, n = 0;
	size_t	 i;
	char	 c;

	*nw = 0;
	if (all != NULL)
		*all = NULL;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] == '#')
			break;
		if ((w = o = malloc(strlen(s + i) + 1)) == NULL)
			goto nomem;
		for (quote = 0; s[i] != '\0'; i++) {
			c = s[i];
			if (c == '\\' && s[i + 1] != '\0' &&
			    (strchr("'\"\\", s[i + 1]) != NULL ||
			    (quote == 0 && s[i + 1] == ' ')))
				c = s[++i];
			else if (c == '\\')
				;	/* an unknown escape stays as it is */
			else if (quote == 0 && (c == ' ' || c == '\t'))
				break;
			else if (quote == 0 && (c == '"' || c == '\'')) {
				quote = c;
				continue;
			} else if (quote != 0 && c == quote) {
				quote = 0;
				continue;
			}
			*o++ = c;
		}
		*o = '\0';
		if (all != NULL) {
			if ((nv = reallocarray(v, (size_t)n + 2,
			    sizeof(*v))) == NULL) {
				free(w);
				goto nomem;
			}
			v = nv;
			v[n] = w;
			v[n + 1] = NULL;
		} else
			free(w);
		n++;
		if (s[i] == '\0') {
			if (quote != 0) {
				argv_cfgwords_free(v);
				return -1;
			}
			break;
		}
	}
	*nw = n;
	if (all != NULL)
		*all = v;
	return 0;
 nomem:
	argv_cfgwords_free(v);
	return -2;
}

void
argv_cfgwords_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* The first word of s as above (*first: a copy, or NULL). */
static int
cfg_words(const char *s, int *nw, char **first)
{
	char	**v;
	size_t	  i;
	int	  r;

	*first = NULL;
	if ((r = argv_cfgwords(s, nw, &v)) != 0)
		return r;
	if (v != NULL) {
		*first = v[0];
		for (i = 1; v[i] != NULL; i++)
			free(v[i]);
		free(v);
	}
	return 0;
}

/*
 * One ssh_config line read as ssh reads it (readconf.c): trailing blanks
 * go, the keyword is a token that ends at a blank, a quote or one '=',
 * may be quoted, and is lowercased; blank and '#' lines have none.  Sets
 * *buf (free it), *kw (NULL: no keyword) and *val (the rest, or NULL).
 * 0, or -1 on ENOMEM.
 */
int
argv_cfgline(const char *line, char **buf, const char **kw, const char **val)
{
	struct cfgopt	co;

	*buf = NULL;
	*kw = *val = NULL;
	if (cfg_split(line, &co) == -1)
		return -1;
	*buf = co.buf;
	*kw = co.kw;
	*val = co.val;
	return 0;
}

/* --------------------------------------------------------------- parsing */

static int
nomem(char **cause)
{
	return fail(cause, "out of memory");
}

/* Append an option (a copy of arg) to cmd->opts. */
static int
addopt(struct pstate *st, int c, const char *arg, char **cause)
{
	struct sshcmd	*cmd = st->cmd;
	struct sshopt	*o;
	size_t		 n;

	if (cmd->nopts == st->optalloc) {
		n = st->optalloc ? st->optalloc * 2 : 16;
		if ((o = reallocarray(cmd->opts, n, sizeof(*o))) == NULL)
			return nomem(cause);
		cmd->opts = o;
		st->optalloc = n;
	}
	o = &cmd->opts[cmd->nopts];
	o->opt = (char)c;
	o->arg = NULL;
	if (arg != NULL && (o->arg = strdup(arg)) == NULL)
		return nomem(cause);
	cmd->nopts++;
	return 0;
}

/* Take path (allocated) as the identity; a different second one is kept
 * aside as an error for the end of the parse. */
static int
identity(struct pstate *st, const char *what, char *path, char **cause)
{
	if (path == NULL)
		return nomem(cause);
	if (*path == '\0') {
		free(path);
		return fail(cause, "%s: empty file name", what);
	}
	if (st->cmd->identity == NULL) {
		st->cmd->identity = path;
		return 0;
	}
	if (strcmp(st->cmd->identity, path) != 0)
		st->moreids = 1;
	free(path);
	return 0;
}

/*
 * Handle -o ARG as ssh reads it: IdentityFile (or IdentityFile2) and
 * CertificateFile are taken out of the options; User, Port, HostName and
 * ProxyJump are checked (the first User and Port count, as ssh's first value wins);
 * every other keyword is kept for ssh as it is.
 */
static int
opt_config(struct pstate *st, const char *arg, char **cause)
{
	static const struct {
		const char	*kw;
		const char	*name;
	} watch[] = {
		{ "identityfile", "IdentityFile" },
		{ "identityfile2", "IdentityFile" },
		{ "certificatefile", "CertificateFile" },
		{ "user", "User" },
		{ "port", "Port" },
		{ "hostname", "HostName" },
		{ "proxyjump", "ProxyJump" },
	};
	struct sshcmd	*cmd = st->cmd;
	struct cfgopt	 co;
	const char	*name = NULL;
	char		*w = NULL, msg[MSGLEN];
	enum bad	 bad;
	size_t		 i;
	int		 nw, r, port, split;

	if (cfg_split(arg, &co) == -1)
		return nomem(cause);
	for (i = 0; co.kw != NULL && i < sizeof(watch) / sizeof(watch[0]); i++)
		if (strcmp(co.kw, watch[i].kw) == 0)
			name = watch[i].name;
	if (name == NULL) {
		r = addopt(st, 'o', arg, cause);
		goto out;
	}
	r = -1;
	if (co.val == NULL) {
		fail(cause, "-o %s: missing argument", name);
		goto out;
	}
	/* ssh splits every value first, even ProxyJump's. */
	if ((split = cfg_words(co.val, &nw, &w)) == -2) {
		nomem(cause);
		goto out;
	} else if (split == -1) {
		fail(cause, "-o %s: unbalanced quotes", name);
		goto out;
	}
	if (strcmp(name, "ProxyJump") == 0) {
		/* ssh reads ProxyJump's raw rest of line. */
		if (jump_check("ProxyJump", co.val + strspn(co.val,
		    CFG_WS "="), msg, &bad) == -1) {
			fail(cause, "%s", msg);
			goto out;
		}
		r = addopt(st, 'o', arg, cause);
		goto out;
	}
	if (w == NULL || *w == '\0') {
		fail(cause, "-o %s: missing argument", name);
		goto out;
	}
	if (nw > 1) {
		fail(cause, "-o %s: extra arguments", name);
		goto out;
	}
	if (strcmp(name, "IdentityFile") == 0) {
		r = identity(st, "-o IdentityFile", w, cause);
		w = NULL;
		goto out;
	}
	if (strcmp(name, "CertificateFile") == 0) {
		/* A key of its own: taken out, as IdentityFile is. */
		if (cmd->certificate == NULL) {
			cmd->certificate = w;
			w = NULL;
		} else if (strcmp(cmd->certificate, w) != 0)
			st->morecerts = 1;
		r = 0;
		goto out;
	}
	if (strcmp(name, "User") == 0) {
		if (check_user(w, msg, sizeof(msg)) == -1)
			goto bad;
		if (cmd->user == NULL) {
			cmd->user = w;
			w = NULL;
		}
	} else if (strcmp(name, "Port") == 0) {
		if (check_port(w, &port, msg, sizeof(msg)) == -1)
			goto bad;
		if (cmd->port == -1)
			cmd->port = port;
	} else if (check_host(w, msg, sizeof(msg)) == -1)
		goto bad;
	r = addopt(st, 'o', arg, cause);
	goto out;
 bad:
	fail(cause, "%s", msg);
 out:
	free(w);
	free(co.buf);
	return r;
}

/*
 * ssh takes a service name ("-p ssh") where safessh needs the number to
 * know the server it counts against: say so rather than call it wrong.
 */
static const char *
svcport(const char *arg)
{
	if (*arg == '\0' || getservbyname(arg, "tcp") == NULL)
		return "";
	return " (ssh takes it as a service name; safessh needs the number "
	    "to know the server it counts against)";
}

/* Act on one option letter and its argument. */
static int
opt_handle(struct pstate *st, int c, const char *arg, char **cause)
{
	struct sshcmd	*cmd = st->cmd;
	char		 msg[MSGLEN];
	enum bad	 bad;
	int		 port;

	switch (c) {
	case 'i':
		return identity(st, "-i", strdup(arg), cause);
	case 'o':
		return opt_config(st, arg, cause);
	case 'F':
		/* ssh reads the last -F; it stays in the options too. */
		free(cmd->config);
		if ((cmd->config = strdup(arg)) == NULL)
			return nomem(cause);
		break;
	case 'l':
		if (check_user(arg, msg, sizeof(msg)) == -1)
			return fail(cause, "%s", msg);
		if (cmd->user == NULL && (cmd->user = strdup(arg)) == NULL)
			return nomem(cause);
		break;
	case 'p':
		if (check_port(arg, &port, msg, sizeof(msg)) == -1)
			return fail(cause, "%s%s", msg, svcport(arg));
		if (cmd->port == -1)
			cmd->port = port;
		break;
	case 'J':
		if (jump_check("-J", arg, msg, &bad) == -1)
			return fail(cause, "%s", msg);
		break;
	case 'V':
	case 'Q':
		st->stop = 1;
		/* FALLTHROUGH */
	case 'G':
	case 'O':
	case 'Z':	/* only in a grammar that has it (10.5 on) */
		if (cmd->passthru == 0)
			cmd->passthru = (char)c;
		break;
	}
	return addopt(st, c, arg, cause);
}

/* 0: not an option letter; 1: a flag; 2: takes an argument. */
static int
optkind(const char *opts, int c)
{
	const char	*p;

	if (c == ':' || c == '\0' || (p = strchr(opts, c)) == NULL)
		return 0;
	return p[1] == ':' ? 2 : 1;
}

/* An option letter for a message: itself if printable, else escaped. */
static void
showopt(char *buf, size_t len, int c)
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, len, "%c", c);
	else
		snprintf(buf, len, "\\x%02x", c);
}

/*
 * The next option letter, as BSD getopt(3) (which ssh uses) without
 * permutation: -1 at the first non-option, after "--" (consumed), or at
 * a '-' ending a cluster ("-v-": the whole word is then the non-option);
 * '?' with *cause for an unknown letter or a missing argument.
 */
static int
nextopt(struct gopt *g, char **cause)
{
	const char	*s;
	char		 l[8];
	int		 c, k;

	g->arg = NULL;
	if (g->place == NULL || *g->place == '\0') {
		g->place = NULL;
		if (g->ind >= g->ac)
			return -1;
		s = g->av[g->ind];
		if (s[0] != '-' || s[1] == '\0')
			return -1;
		if (s[1] == '-' && s[2] == '\0') {
			g->ind++;
			return -1;
		}
		g->place = s + 1;
	}
	c = (unsigned char)*g->place++;
	if (c == '-' && *g->place == '\0')
		return -1;
	if (c == '-' && g->place == g->av[g->ind] + 2) {
		/* "--word": a long option, which ssh has none of. */
		fail(cause, "unknown option %s", g->av[g->ind]);
		return '?';
	}
	if ((k = optkind(g->opts, c)) == 0) {
		showopt(l, sizeof(l), c);
		fail(cause, "unknown option -- %s", l);
		return '?';
	}
	if (k == 1) {
		if (*g->place == '\0')
			g->ind++;
		return c;
	}
	if (*g->place != '\0')
		g->arg = g->place;
	else if (g->ind + 1 >= g->ac) {
		fail(cause, "option requires an argument -- %c", c);
		return '?';
	} else
		g->arg = g->av[++g->ind];
	g->place = NULL;
	g->ind++;
	return c;
}

/* Run one getopt pass, handling each option; 0 or -1. */
static int
options(struct gopt *g, struct pstate *st, char **cause)
{
	int	c;

	while (!st->stop && (c = nextopt(g, cause)) != -1) {
		if (c == '?')
			return -1;
		if (opt_handle(st, c, g->arg, cause) == -1)
			return -1;
	}
	return 0;
}

/* The destination: its user (unless one was given first), host, port. */
static int
destination(struct pstate *st, const char *d, char **cause)
{
	struct sshcmd	*cmd = st->cmd;
	struct spec	 sp;
	enum bad	 bad;
	char		 msg[MSGLEN], q[QLEN];

	if ((cmd->dest = strdup(d)) == NULL)
		return nomem(cause);
	if (spec_parse(d, 0, &sp, msg, sizeof(msg), &bad) == -1) {
		if (bad != BAD_SYNTAX)
			return fail(cause, "%s", msg);
		show(q, sizeof(q), d);
		return fail(cause, "invalid destination %s: %s", q, msg);
	}
	cmd->host = sp.host;
	if (cmd->user == NULL)
		cmd->user = sp.user;
	else
		free(sp.user);
	if (cmd->port == -1)
		cmd->port = sp.port;
	return 0;
}

/*
 * Parse ssh's argv (without argv[0]) into cmd, as ssh(1) does: options,
 * the destination, more options unless "--" came first, then the remote
 * command from the first non-option on.  -i and -o IdentityFile go to
 * cmd->identity; the first -l / -o User / destination user wins, as does
 * the first -p / -o Port / ssh:// port.  After -V or -Q parsing stops,
 * since ssh exits there; with a passthru option no destination is needed
 * and a second identity is not an error.  Returns 0, or -1 with *cause
 * (and cmd freed).
 */
int
argv_parse(int ac, char *const *av, struct sshcmd *cmd, char **cause)
{
	return argv_parse_ver(ac, av, 0, cmd, cause);
}

/* As argv_parse(), with the grammar of ssh version ver (0: latest). */
int
argv_parse_ver(int ac, char *const *av, int ver, struct sshcmd *cmd,
    char **cause)
{
	struct pstate	 st;
	struct gopt	 g;
	int		 term, i;

	memset(cmd, 0, sizeof(*cmd));
	cmd->port = -1;
	*cause = NULL;
	memset(&st, 0, sizeof(st));
	st.cmd = cmd;
	memset(&g, 0, sizeof(g));
	g.opts = grammar(ver);
	g.ac = ac;
	g.av = av;

	if (options(&g, &st, cause) == -1)
		goto bad;
	if (st.stop)
		return 0;
	/* As ssh: an argument "--" just before the destination ends options. */
	term = g.ind > 0 && strcmp(av[g.ind - 1], "--") == 0;
	if (g.ind < ac) {
		if (destination(&st, av[g.ind], cause) == -1)
			goto bad;
		g.ind++;
		g.place = NULL;
		if (g.ind < ac && !term) {
			if (options(&g, &st, cause) == -1)
				goto bad;
			if (st.stop)
				return 0;
		}
	} else if (cmd->passthru == 0) {
		fail(cause, "no destination given");
		goto bad;
	}
	if (st.moreids && cmd->passthru == 0) {
		fail(cause, "%s", onekey);
		goto bad;
	}
	if (st.morecerts && cmd->passthru == 0) {
		fail(cause, "more than one -o CertificateFile: safessh offers "
		    "one key per connection");
		goto bad;
	}
	if (g.ind < ac) {
		cmd->ncmd = (size_t)(ac - g.ind);
		cmd->cmd = calloc(cmd->ncmd + 1, sizeof(char *));
		if (cmd->cmd == NULL) {
			nomem(cause);
			goto bad;
		}
		for (i = 0; g.ind + i < ac; i++) {
			if ((cmd->cmd[i] = strdup(av[g.ind + i])) == NULL) {
				nomem(cause);
				goto bad;
			}
		}
	}
	return 0;
 bad:
	argv_free(cmd);
	cmd->port = -1;
	return -1;
}

/*
 * Does ssh's command line (without argv[0]) ask for a mode in which ssh
 * connects nowhere new (-G, -V, -Q, -O, and -Z where the grammar has
 * it)?  Read with getopt(3) alone, as ssh reads it (options, the
 * destination, options again unless "--" came first, the command), and
 * nothing is checked: such a line goes to ssh untouched, and ssh judges
 * it.  The letter, or 0 (also when an unknown option comes first: then
 * argv_parse() has the message).
 */
int
argv_passthru(int ac, char *const *av, int ver)
{
	struct gopt	 g;
	char		*cause = NULL;
	int		 c, pass, term;

	memset(&g, 0, sizeof(g));
	g.opts = grammar(ver);
	g.ac = ac;
	g.av = av;
	for (pass = 0; pass < 2; pass++) {
		while ((c = nextopt(&g, &cause)) != -1) {
			if (c == '?') {
				free(cause);
				return 0;
			}
			if (strchr("GVQOZ", c) != NULL)
				return c;
		}
		term = g.ind > 0 && strcmp(av[g.ind - 1], "--") == 0;
		if (g.ind >= ac || term)
			break;
		/* The destination; then a second pass, as ssh makes. */
		g.ind++;
		g.place = NULL;
	}
	return 0;
}

/*
 * Point the parsed line at another ssh_config: every -F becomes path,
 * or goes when path is NULL (ssh's own default files).  0, or -1 with
 * *cause.
 */
int
argv_set_config(struct sshcmd *cmd, const char *path, char **cause)
{
	size_t	i, k = 0;
	char	*dup = NULL;

	*cause = NULL;
	if (path != NULL && (dup = strdup(path)) == NULL)
		return nomem(cause);
	for (i = 0; i < cmd->nopts; i++) {
		if (cmd->opts[i].opt != 'F') {
			cmd->opts[k++] = cmd->opts[i];
			continue;
		}
		if (path == NULL) {
			free(cmd->opts[i].arg);
			continue;
		}
		free(cmd->opts[i].arg);
		if ((cmd->opts[i].arg = strdup(path)) == NULL) {
			free(dup);
			return nomem(cause);
		}
		cmd->opts[k++] = cmd->opts[i];
	}
	cmd->nopts = k;
	free(cmd->config);
	cmd->config = dup;
	return 0;
}

/* Free what argv_parse() allocated; cmd is left empty. */
void
argv_free(struct sshcmd *cmd)
{
	size_t	i;

	for (i = 0; i < cmd->nopts; i++)
		free(cmd->opts[i].arg);
	free(cmd->opts);
	for (i = 0; i < cmd->ncmd; i++)
		free(cmd->cmd[i]);
	free(cmd->cmd);
	free(cmd->dest);
	free(cmd->host);
	free(cmd->user);
	free(cmd->identity);
	free(cmd->certificate);
	free(cmd->config);
	memset(cmd, 0, sizeof(*cmd));
	cmd->port = -1;
}

/*
 * The value of the first -o whose keyword is kw (case-insensitive), as
 * typed after the keyword and its separator; NULL if none.  The pointer
 * is into cmd's storage.
 */
const char *
argv_option(const struct sshcmd *cmd, const char *kw)
{
	struct cfgopt	 co;
	size_t		 i;
	const char	*v;

	for (i = 0; i < cmd->nopts; i++) {
		if (cmd->opts[i].opt != 'o' || cmd->opts[i].arg == NULL)
			continue;
		if (cfg_split(cmd->opts[i].arg, &co) == -1)
			return NULL;
		v = NULL;
		if (co.kw != NULL && co.val != NULL &&
		    strcasecmp(co.kw, kw) == 0)
			v = cmd->opts[i].arg + co.valoff;
		free(co.buf);
		if (v != NULL)
			return v;
	}
	return NULL;
}

/* --------------------------------------------------------------- building */

/*
 * A value for a forced "-o Key=value", quoted for ssh's value splitter
 * when it holds a blank, quote, backslash or '#', or is empty.  Returns
 * an allocated string, or NULL on ENOMEM.
 */
char *
argv_cfgquote(const char *v)
{
	char	*q, *o;

	if (*v != '\0' && strpbrk(v, " \t\r\n\"'\\#") == NULL)
		return strdup(v);
	if ((q = o = malloc(2 * strlen(v) + 3)) == NULL)
		return NULL;
	*o++ = '"';
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			*o++ = '\\';
		*o++ = *v;
	}
	*o++ = '"';
	*o = '\0';
	return q;
}

/*
 * Is the user's -o PreferredAuthentications no wider than what safessh
 * allows (publickey; with password, keyboard-interactive and password
 * too)?  ssh-copy-id's "publickey" check of a key, or its "," probe that
 * tries no method at all, only make the connection safer: then the
 * user's value stands.  1 or 0.
 */
static int
narrower_auth(const struct sshcmd *cmd, int password)
{
	const char	*v, *t;
	size_t		 n;

	if ((v = argv_option(cmd, "PreferredAuthentications")) == NULL ||
	    strpbrk(v, " \t\"'\\") != NULL)
		return 0;
	for (t = v; *t != '\0'; t += n + (t[n] == ',')) {
		n = strcspn(t, ",");
		if (n == 0)
			continue;
		if (n == 9 && strncmp(t, "publickey", n) == 0)
			continue;
		if (password && ((n == 8 && strncmp(t, "password", n) == 0) ||
		    (n == 20 && strncmp(t, "keyboard-interactive", n) == 0)))
			continue;
		return 0;
	}
	return 1;
}

/* Add "-o" and "key=value" (value quoted as above). */
static int
addcfg(struct arglist *al, const char *key, const char *v)
{
	char	*q;
	int	 r;

	if ((q = argv_cfgquote(v)) == NULL)
		return -1;
	r = arglist_addv(al, "-o") == -1 ||
	    arglist_add(al, "%s=%s", key, q) == -1 ? -1 : 0;
	free(q);
	return r;
}

/*
 * Build the argv of the "ssh -G" probe that tells what ssh would use for
 * the call: argv0 -G, the host name, port and user safessh forces (rw),
 * the user's options as given (their -F, not the filtered copy: the
 * probe must see the IdentityFile lines), "--", the destination.  The
 * passthrough letters and -s are left out.  0, or -1 with *cause.
 */
int
argv_build_probe(const struct sshcmd *cmd, const struct rewrite *rw,
    const char *argv0, struct arglist *al, char **cause)
{
	size_t	i;
	int	e = 0;

	*cause = NULL;
	if (cmd->dest == NULL)
		return fail(cause, "no destination given");
	e |= arglist_addv(al, argv0);
	e |= arglist_addv(al, "-G");
	if (rw->hostname != NULL)
		e |= arglist_add(al, "-oHostName=%s", rw->hostname);
	if (rw->port > 0)
		e |= arglist_add(al, "-oPort=%d", rw->port);
	if (rw->user != NULL)
		e |= arglist_add(al, "-oUser=%s", rw->user);
	for (i = 0; i < cmd->nopts; i++) {
		if (strchr("GVQOZs", cmd->opts[i].opt) != NULL)
			continue;
		e |= arglist_add(al, "-%c", cmd->opts[i].opt);
		if (cmd->opts[i].arg != NULL)
			e |= arglist_addv(al, cmd->opts[i].arg);
	}
	e |= arglist_addv(al, "--");
	e |= arglist_addv(al, cmd->dest);
	if (e != 0) {
		arglist_free(al);
		return nomem(cause);
	}
	return 0;
}

/*
 * Build ssh's argv into al (empty on entry; emptied on failure): argv0,
 * the forced options of rw, the user's options in split form (without
 * -F when rw->sshconfig replaces it), "--", the destination as typed,
 * the command.  A passthru command is not built here: the caller execs
 * ssh with the original argv.  Returns 0, or -1 with *cause.
 */
int
argv_build(const struct sshcmd *cmd, const struct rewrite *rw,
    const char *argv0, struct arglist *al, char **cause)
{
	char		 msg[MSGLEN];
	size_t		 i;
	int		 e = 0;

	*cause = NULL;
	if (cmd->passthru != 0)
		return fail(cause, "-%c is passed to ssh unchanged, not "
		    "rebuilt", cmd->passthru);
	if (cmd->dest == NULL)
		return fail(cause, "no destination given");
	if (rw->hostname != NULL &&
	    check_host(rw->hostname, msg, sizeof(msg)) == -1)
		return fail(cause, "HostName: %s", msg);
	if (rw->user != NULL && check_user(rw->user, msg, sizeof(msg)) == -1)
		return fail(cause, "User: %s", msg);
	if (rw->port < 0 || rw->port > 65535)
		return fail(cause, "Port: invalid port %d: %s", rw->port,
		    "out of range (1-65535)");
	if (rw->identity != NULL && *rw->identity == '\0')
		return fail(cause, "IdentityFile: empty file name");

	e |= arglist_addv(al, argv0);
	e |= addcfg(al, "IdentitiesOnly", "yes");
	/* agent = yes: IdentitiesOnly still limits it to the one key. */
	if (!rw->agent)
		e |= addcfg(al, "IdentityAgent", "none");
	if (rw->identity != NULL)
		e |= addcfg(al, "IdentityFile", rw->identity);
	e |= addcfg(al, "PKCS11Provider", "none");
	e |= addcfg(al, "ConnectionAttempts", "1");
	if (rw->batch)
		e |= addcfg(al, "BatchMode", "yes");
	if (!narrower_auth(cmd, rw->password))
		e |= addcfg(al, "PreferredAuthentications", rw->password ?
		    "publickey,keyboard-interactive,password" : "publickey");
	if (rw->hostname != NULL)
		e |= addcfg(al, "HostName", rw->hostname);
	if (rw->port > 0)
		e |= arglist_addv(al, "-o") |
		    arglist_add(al, "Port=%d", rw->port);
	if (rw->user != NULL)
		e |= addcfg(al, "User", rw->user);
	if (rw->connect_timeout > 0 &&
	    argv_option(cmd, "ConnectTimeout") == NULL)
		e |= arglist_addv(al, "-o") |
		    arglist_add(al, "ConnectTimeout=%ld", rw->connect_timeout);
	if (rw->localcmd != NULL) {
		/* ssh takes LocalCommand's whole rest of line: no quoting. */
		e |= addcfg(al, "PermitLocalCommand", "yes");
		e |= arglist_addv(al, "-o") |
		    arglist_add(al, "LocalCommand=%s", rw->localcmd);
	}
	if (rw->sshconfig != NULL)
		e |= arglist_addv(al, "-F") | arglist_addv(al, rw->sshconfig);
	if (rw->controlpath != NULL) {
		e |= addcfg(al, "ControlMaster", "auto");
		e |= addcfg(al, "ControlPath", rw->controlpath);
		e |= arglist_addv(al, "-o") |
		    arglist_add(al, "ControlPersist=%ld", rw->controlpersist);
	}
	for (i = 0; i < cmd->nopts; i++) {
		if (cmd->opts[i].opt == 'F' && rw->sshconfig != NULL)
			continue;
		if (cmd->opts[i].opt == 'J' && rw->nojump)
			continue;
		e |= arglist_add(al, "-%c", cmd->opts[i].opt);
		if (cmd->opts[i].arg != NULL)
			e |= arglist_addv(al, cmd->opts[i].arg);
	}
	e |= arglist_addv(al, "--");
	e |= arglist_addv(al, cmd->dest);
	if (rw->command != NULL)
		e |= arglist_addv(al, rw->command);
	else
		for (i = 0; i < cmd->ncmd; i++)
			e |= arglist_addv(al, cmd->cmd[i]);
	if (e != 0) {
		arglist_free(al);
		return nomem(cause);
	}
	return 0;
}
