/*
 * doctor.c: safessh --doctor: audit the keys a plain ssh would offer (the
 * agent's, ~/.ssh/id_*, IdentityFile and CertificateFile lines,
 * certificates beside keys), safessh's own settings and the ledger, and
 * write a readable report with the configuration lines that fix what it
 * found.  No attempt is recorded and no file of the user's is changed.
 * The agent is asked over its socket (lib/agent.c).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "safessh.h"

#define AGENT_TIMEOUT	3000		/* ms for each step */
#define GVIEW_MAX	64
#define NOHOST		"safessh-doctor.invalid"

/* ------------------------------------------------------------ helpers */

/* The report is written to a memory stream; problems to another. */
struct report {
	FILE	*out;
	FILE	*prob;
	char	*obuf;
	size_t	 olen;
	char	*pbuf;
	size_t	 plen;
	int	 nprob;
};

static void __attribute__((format(printf, 2, 3)))
problem(struct report *r, const char *fmt, ...)
{
	va_list	ap;

	r->nprob++;
	fprintf(r->prob, "  %d. ", r->nprob);
	va_start(ap, fmt);
	vfprintf(r->prob, fmt, ap);
	va_end(ap);
	fputc('\n', r->prob);
}

/* A "fix:" block under the last problem: each line indented. */
static void
fix(struct report *r, const char *where, const char *lines)
{
	const char	*l, *e;

	fprintf(r->prob, "     fix (%s):\n", where);
	for (l = lines; *l != '\0'; l = *e ? e + 1 : e) {
		e = l + strcspn(l, "\n");
		fprintf(r->prob, "         %.*s\n", (int)(e - l), l);
	}
}

/* "~/x" against the passwd home; caller frees; NULL on ENOMEM. */
static char *
expand(const char *p)
{
	if (strncmp(p, "~/", 2) == 0)
		return xstrfmt("%s%s", state_sshhome(), p + 1);
	if (strcmp(p, "~") == 0)
		return strdup(state_sshhome());
	return strdup(p);
}

/* The path as the user would write it: $HOME shown as "~". */
static const char *
tilde(const char *p, char *buf, size_t len)
{
	const char	*h = state_sshhome();
	size_t		 n = strlen(h);

	if (n > 1 && strncmp(p, h, n) == 0 && p[n] == '/') {
		snprintf(buf, len, "~%s", p + n);
		return buf;
	}
	return p;
}

static int
isfile(const char *p)
{
	struct stat	st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Does path followed by suffix name a regular file? */
static int
isfile2(const char *p, const char *suffix)
{
	char	buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s%s", p, suffix) >=
	    sizeof(buf))
		return 0;
	return isfile(buf);
}

/* What "ssh -G" says about the keys for one command line. */
struct gview {
	int	 idonly;		/* IdentitiesOnly yes */
	char	 agent[PATH_MAX];	/* IdentityAgent, or "" */
	char	 pkcs11[PATH_MAX];	/* PKCS11Provider, or "" */
	char	 alias[1026];		/* the host as given (%n) */
	char	 hostname[1026];	/* %h */
	char	 user[256];		/* %r */
	char	 port[8];		/* %p */
	char	*ids[GVIEW_MAX];	/* IdentityFile, as ssh prints */
	size_t	 nids;
	char	*certs[GVIEW_MAX];	/* CertificateFile */
	size_t	 ncerts;
	int	 proxied;		/* ProxyCommand or ProxyJump */
};

static void
gview_free(struct gview *g)
{
	size_t	i;

	for (i = 0; i < g->nids; i++)
		free(g->ids[i]);
	for (i = 0; i < g->ncerts; i++)
		free(g->certs[i]);
	memset(g, 0, sizeof(*g));
}

/* Run "ssh [-F none] [-i key] -G -- host" and read the key settings. */
static int
gview_run(const char *ssh, int noconf, const char *key, const char *host,
    struct gview *g, char **cause)
{
	struct arglist	 av = { NULL, 0, 0 };
	char		*text = NULL, *line, *next, *v;
	int		 r = -1, status;

	memset(g, 0, sizeof(g[0]));
	strlcpy(g->alias, host, sizeof(g->alias));
	arglist_addv(&av, ssh);
	arglist_addv(&av, "-G");
	if (noconf) {
		arglist_addv(&av, "-F");
		arglist_addv(&av, "none");
	}
	if (key != NULL) {
		arglist_addv(&av, "-i");
		arglist_addv(&av, key);
	}
	arglist_addv(&av, "--");
	arglist_addv(&av, host);
	if (av.list == NULL) {
		*cause = xstrfmt("out of memory");
		goto out;
	}
	if (child_capture(av.list, CAPTURE_QUIET, &text, &status, cause) == -1)
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*cause = xstrfmt("'%s -G' failed for this destination", ssh);
		goto out;
	}
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((v = strchr(line, ' ')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "hostname") == 0)
			strlcpy(g->hostname, v, sizeof(g->hostname));
		else if (strcmp(line, "user") == 0)
			strlcpy(g->user, v, sizeof(g->user));
		else if (strcmp(line, "port") == 0)
			strlcpy(g->port, v, sizeof(g->port));
		else if (strcmp(line, "identitiesonly") == 0)
			g->idonly = strcmp(v, "yes") == 0;
		else if (strcmp(line, "identityagent") == 0)
			strlcpy(g->agent, v, sizeof(g->agent));
		else if ((strcmp(line, "proxycommand") == 0 ||
		    strcmp(line, "proxyjump") == 0) &&
		    strcasecmp(v, "none") != 0)
			g->proxied = 1;
		else if (strcmp(line, "pkcs11provider") == 0)
			strlcpy(g->pkcs11, v, sizeof(g->pkcs11));
		else if (strcmp(line, "identityfile") == 0 &&
		    g->nids < GVIEW_MAX) {
			if ((g->ids[g->nids] = strdup(v)) != NULL)
				g->nids++;
		} else if (strcmp(line, "certificatefile") == 0 &&
		    g->ncerts < GVIEW_MAX) {
			if ((g->certs[g->ncerts] = strdup(v)) != NULL)
				g->ncerts++;
		}
	}
	r = 0;
 out:
	free(text);
	arglist_free(&av);
	return r;
}

/*
 * An IdentityFile or CertificateFile path as ssh opens it: "~" and the
 * common % tokens expanded (ssh -G prints them as written).  Caller
 * frees; NULL on ENOMEM.
 */
static char *
idpath(const struct gview *g, const char *p)
{
	FILE		*fp;
	char		*buf = NULL, *e, host[256];
	const char	*v;
	size_t		 len = 0;
	struct passwd	*pw;

	if ((e = expand(p)) == NULL)
		return NULL;
	if (strchr(e, '%') == NULL)
		return e;
	if ((fp = open_memstream(&buf, &len)) == NULL) {
		free(e);
		return NULL;
	}
	pw = getpwuid(getuid());
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (p = e; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			fputc(*p, fp);
			continue;
		}
		switch (*++p) {
		case '%':
			v = "%";
			break;
		case 'd':
			v = state_sshhome();
			break;
		case 'h':
			v = g->hostname;
			break;
		case 'n':
			v = g->alias;
			break;
		case 'p':
			v = g->port;
			break;
		case 'r':
			v = g->user;
			break;
		case 'u':
			v = pw != NULL ? pw->pw_name : "";
			break;
		case 'L':
			host[strcspn(host, ".")] = '\0';
			/* FALLTHROUGH */
		case 'l':
			v = host;
			break;
		default:
			/* A token we do not know: left as ssh -G shows it. */
			fputc('%', fp);
			fputc(*p, fp);
			continue;
		}
		fputs(v, fp);
	}
	free(e);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ----------------------------------------------------- what ssh offers */

enum offerkind {
	OF_CERT,	/* CertificateFile */
	OF_AGENTFILE,	/* an identity file whose key the agent holds */
	OF_AGENT,	/* another agent key */
	OF_FILE,	/* an identity file */
	OF_AUTOCERT	/* KEY-cert.pub beside an identity file */
};

struct offer {
	enum offerkind	 kind;
	char		*path;		/* expanded path, or agent comment */
	unsigned char	*blob;		/* from the .pub, or NULL */
	size_t		 len;
	int		 matched;	/* the agent holds it */
};

struct offers {
	struct offer	 o[GVIEW_MAX * 2 + AGENT_MAXKEYS];
	size_t		 n;
	size_t		 nagent, nfile, ncert;
	int		 agentused;
};

static void
offers_free(struct offers *of)
{
	size_t	i;

	for (i = 0; i < of->n; i++) {
		free(of->o[i].path);
		free(of->o[i].blob);
	}
	of->n = 0;
}

static void
offer_add(struct offers *of, enum offerkind kind, const char *path,
    const unsigned char *blob, size_t len)
{
	struct offer	*o;

	if (of->n >= sizeof(of->o) / sizeof(of->o[0]))
		return;
	o = &of->o[of->n];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	if ((o->path = strdup(path)) == NULL)
		return;
	if (blob != NULL && (o->blob = malloc(len)) != NULL) {
		memcpy(o->blob, blob, len);
		o->len = len;
	}
	of->n++;
}

/*
 * The keys ssh would offer, in its order (sshconnect2.c pubkey_prepare):
 * CertificateFile certificates, identity files the agent holds, the
 * agent's other keys (unless IdentitiesOnly), the remaining identity
 * files with any KEY-cert.pub beside them.  Files that do not exist are
 * skipped, as ssh skips them.  (OpenSSH 10 also sorts keys it was not
 * given explicitly by type; the count is the same.)
 */
static void
offers_make(const struct gview *g, const struct agentkey *ak, size_t nak,
    int agentused, struct offers *of)
{
	struct offers	*files;
	unsigned char	*blob;
	size_t		 i, j, len;
	char		*p, buf[PATH_MAX];

	memset(of, 0, sizeof(*of));
	of->agentused = agentused;
	if ((files = calloc(1, sizeof(*files))) == NULL)
		return;
	for (i = 0; i < g->nids; i++) {
		if (strcasecmp(g->ids[i], "none") == 0 ||
		    (p = idpath(g, g->ids[i])) == NULL)
			continue;
		if (!isfile(p) && !isfile2(p, ".pub")) {
			free(p);
			continue;
		}
		blob = NULL;
		len = 0;
		snprintf(buf, sizeof(buf), "%s.pub", p);
		(void)agent_pubfile(buf, &blob, &len);
		offer_add(files, OF_FILE, p, blob, len);
		free(blob);
		if (g->ncerts == 0 && isfile2(p, "-cert.pub")) {
			snprintf(buf, sizeof(buf), "%s-cert.pub", p);
			blob = NULL;
			(void)agent_pubfile(buf, &blob, &len);
			offer_add(files, OF_AUTOCERT, buf, blob, len);
			free(blob);
		}
		free(p);
	}
	for (i = 0; i < g->ncerts; i++) {
		if ((p = idpath(g, g->certs[i])) == NULL)
			continue;
		if (isfile(p)) {
			offer_add(of, OF_CERT, p, NULL, 0);
			of->ncert++;
		}
		free(p);
	}
	/* Files the agent holds come first, in the agent's order... */
	for (i = 0; agentused && i < nak; i++) {
		for (j = 0; j < files->n; j++) {
			struct offer	*f = &files->o[j];

			if (!f->matched && f->blob != NULL &&
			    f->len == ak[i].len &&
			    memcmp(f->blob, ak[i].blob, f->len) == 0) {
				f->matched = 1;
				offer_add(of, OF_AGENTFILE, f->path, f->blob,
				    f->len);
				of->nfile++;
				break;
			}
		}
	}
	/* ...then the agent's other keys, unless IdentitiesOnly... */
	for (i = 0; agentused && !g->idonly && i < nak; i++) {
		for (j = 0; j < files->n; j++)
			if (files->o[j].blob != NULL &&
			    files->o[j].len == ak[i].len &&
			    memcmp(files->o[j].blob, ak[i].blob,
			    ak[i].len) == 0)
				break;
		if (j < files->n)
			continue;
		offer_add(of, OF_AGENT, ak[i].comment, ak[i].blob,
		    ak[i].len);
		of->nagent++;
	}
	/* ...then the remaining files. */
	for (j = 0; j < files->n; j++) {
		if (files->o[j].matched)
			continue;
		offer_add(of, files->o[j].kind, files->o[j].path,
		    files->o[j].blob, files->o[j].len);
		if (files->o[j].kind == OF_AUTOCERT)
			of->ncert++;
		else
			of->nfile++;
	}
	offers_free(files);
	free(files);
}

/* 1-based position of key (an expanded path) among the offers; 0. */
static size_t
offers_find(const struct offers *of, const char *key)
{
	unsigned char	*blob = NULL;
	size_t		 i, len = 0, at = 0;
	char		 buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s.pub", key);
	(void)agent_pubfile(buf, &blob, &len);
	for (i = 0; i < of->n && at == 0; i++) {
		if ((of->o[i].kind == OF_FILE ||
		    of->o[i].kind == OF_AGENTFILE) &&
		    strcmp(of->o[i].path, key) == 0)
			at = i + 1;
		else if (blob != NULL && of->o[i].blob != NULL &&
		    of->o[i].kind != OF_AUTOCERT && of->o[i].kind != OF_CERT &&
		    of->o[i].len == len &&
		    memcmp(of->o[i].blob, blob, len) == 0)
			at = i + 1;
	}
	free(blob);
	return at;
}

static void
offers_print(struct report *r, const struct offers *of)
{
	static const char *const kinds[] = {
		"certificate (CertificateFile)", "agent, and file",
		"agent", "file", "certificate beside the key"
	};
	char	buf[PATH_MAX];
	size_t	i;

	for (i = 0; i < of->n; i++)
		fprintf(r->out, "    %2zu. %-30s %s\n", i + 1,
		    kinds[of->o[i].kind],
		    tilde(of->o[i].path, buf, sizeof(buf)));
}

/* --------------------------------------------- the user's ssh_config */

/* Does a Host/Match line apply to every host ("Host *", "Match all")? */
static int
everyhost(const char *block)
{
	char	 buf[1024], *w, *save;
	int	 host, star = 0, neg = 0;

	if (*block == '\0')
		return 1;
	strlcpy(buf, block, sizeof(buf));
	if ((w = strtok_r(buf, " \t=", &save)) == NULL)
		return 0;
	host = strcasecmp(w, "host") == 0;
	while ((w = strtok_r(NULL, " \t,", &save)) != NULL) {
		if (w[0] == '"')
			w++;
		if (host && *w == '!')
			neg = 1;
		if (host && (strcmp(w, "*") == 0 || strcmp(w, "*\"") == 0))
			star = 1;
		if (!host && strcasecmp(w, "all") == 0)
			star = 1;
	}
	return star && !neg;
}

/* Is the (unexpanded) path among list, compared after expansion? */
static int
inlist(const char *path, char *const *list, size_t n)
{
	char	*a, *b;
	size_t	 i;
	int	 found = 0;

	if ((a = expand(path)) == NULL)
		return 0;
	for (i = 0; i < n && !found; i++) {
		if ((b = expand(list[i])) == NULL)
			continue;
		found = strcmp(a, b) == 0;
		free(b);
	}
	free(a);
	return found;
}

/* What "ssh -G HOST" says: the key files and settings that apply. */
static void
gview_part(struct report *r, const char *host, const struct gview *g)
{
	char	*p, buf[PATH_MAX];
	size_t	 i;

	fprintf(r->out, "\nWhat ssh uses for %s (ssh -G %s)\n", host, host);
	fprintf(r->out, "  IdentitiesOnly %s\n", g->idonly ? "yes" : "no");
	if (g->agent[0] != '\0')
		fprintf(r->out, "  IdentityAgent %s\n", g->agent);
	for (i = 0; i < g->nids; i++) {
		if ((p = idpath(g, g->ids[i])) == NULL)
			continue;
		fprintf(r->out, "  IdentityFile %s (%s%s)\n",
		    tilde(g->ids[i], buf, sizeof(buf)),
		    isfile(p) || isfile2(p, ".pub") ? "exists" : "missing",
		    isfile2(p, "-cert.pub") ? ", with a -cert.pub" : "");
		free(p);
	}
	for (i = 0; i < g->ncerts; i++) {
		if ((p = idpath(g, g->certs[i])) == NULL)
			continue;
		fprintf(r->out, "  CertificateFile %s (%s)\n",
		    tilde(g->certs[i], buf, sizeof(buf)),
		    isfile(p) ? "exists" : "missing");
		free(p);
	}
}

/* The IdentityFile/CertificateFile lines safessh neutralises. */
static void
ssh_lines(struct report *r, const struct doctor *d, const struct gview *g)
{
	const char	*s, *e, *colon, *kwp;
	char		 file[PATH_MAX], value[1024], block[1024], kw[32];
	char		 fixbuf[2048], buf[PATH_MAX];
	const char	*errstr;
	long		 lineno, bl;
	int		 applies, every, n = 0;

	fprintf(r->out, "\nIdentityFile and CertificateFile lines in the ssh "
	    "configuration\n");
	if (d->sc == NULL || d->sc->removed == NULL) {
		fprintf(r->out, "  none (ssh uses its default key list)\n");
		return;
	}
	for (s = d->sc->removed; *s != '\0'; s = *e ? e + 1 : e) {
		e = s + strcspn(s, "\n");
		/* "file:line: Keyword"; the file name may hold ':'. */
		if ((kwp = memmem(s, (size_t)(e - s), ": ", 2)) == NULL)
			continue;
		for (colon = kwp - 1; colon > s && *colon != ':'; colon--)
			;
		if (colon <= s || (size_t)(colon - s) >= sizeof(file))
			continue;
		memcpy(file, s, (size_t)(colon - s));
		file[colon - s] = '\0';
		snprintf(buf, sizeof(buf), "%.*s", (int)(kwp - colon - 1),
		    colon + 1);
		lineno = (long)strtonum(buf, 1, LONG_MAX, &errstr);
		if (errstr != NULL)
			continue;
		/* The keyword and value as the file has them now. */
		sshconf_where(file, lineno, kw, sizeof(kw), value,
		    sizeof(value), block, sizeof(block), &bl);
		if (*kw == '\0')
			continue;
		every = everyhost(block);
		applies = strcasecmp(kw, "identityfile") == 0 ?
		    inlist(value, g->ids, g->nids) :
		    inlist(value, g->certs, g->ncerts);
		n++;
		fprintf(r->out, "  %s:%ld: %s %s\n", file, lineno, kw, value);
		if (*block != '\0')
			fprintf(r->out, "      in \"%s\" (line %ld)%s\n", block,
			    bl, every ? ": applies to every host" : "");
		else
			fprintf(r->out, "      before any Host line: applies "
			    "to every host\n");
		if (d->host != NULL)
			fprintf(r->out, "      %s %s\n", applies ?
			    "applies to" : "does not apply to", d->host);
		fprintf(r->out, "      safessh comments it out in the copy of "
		    "the configuration it hands ssh (-F)\n");
		if (!every)
			continue;
		if (g->idonly) {
			/* A deliberate default key: ssh offers only it. */
			fprintf(r->out, "      with IdentitiesOnly yes: plain "
			    "ssh offers the listed files only\n");
			continue;
		}
		problem(r, "%s:%ld: \"%s %s\" %s: plain ssh offers this key "
		    "to every server, along with every agent key "
		    "(IdentitiesOnly is not set)",
		    file, lineno, kw, value,
		    *block != '\0' ? "is in a block for every host" :
		    "comes before any Host line");
		snprintf(fixbuf, sizeof(fixbuf),
		    "remove line %ld, or move it into a block for the hosts "
		    "that use it:\nHost NAME\n    %s %s\n    IdentitiesOnly "
		    "yes", lineno, kw, value);
		fix(r, tilde(file, buf, sizeof(buf)), fixbuf);
	}
	if (n == 0)
		fprintf(r->out, "  none (ssh uses its default key list)\n");
}

/* ----------------------------------------------------- safessh config */

/* The files conf.c read and their [host] sections, with file:line. */
static void
conf_files(struct report *r, const struct doctor *d)
{
	struct hostconf	 hc;
	const char	*path, *pats, *at;
	char		 pat[1024], *cause = NULL;
	size_t		 i;
	int		 found;

	fprintf(r->out, "\nsafessh's [host] sections\n");
	for (i = 0; conf_file(d->conf, i, &path, &found) == 0; i++)
		fprintf(r->out, "  config: %s (%s)\n", path, found ? "read" :
		    "not there");
	if (i == 0)
		fprintf(r->out, "  config: none%s\n",
		    getenv("SAFESSH_CONFIG") != NULL ? " (SAFESSH_CONFIG)" :
		    "");
	for (i = 0; conf_section(d->conf, i, &pats, &at) == 0; i++) {
		fprintf(r->out, "  %s: [host %s]\n", at, pats);
		/* Show the settings of its first plain pattern. */
		strlcpy(pat, pats, sizeof(pat));
		pat[strcspn(pat, " \t,")] = '\0';
		if (pat[0] == '!' ||
		    conf_host(d->conf, pat, &hc, &cause) == -1) {
			free(cause);
			cause = NULL;
			continue;
		}
		fprintf(r->out, "      identity = %s, server = %s, "
		    "policy = %s%s%s\n", hc.identity != NULL ? hc.identity :
		    "(unset: ssh's first key file)", hc.server != NULL ?
		    hc.server : "(the host's address)", hc.policy->name,
		    hc.agent ? ", agent = yes" : "", hc.certificate != NULL ||
		    hc.certauto ? ", certificate" : "");
	}
	if (i == 0)
		fprintf(r->out, "  none: every host gets [defaults]; safessh "
		    "then offers ssh's first existing key file\n");
}

/* Replace every "HOST" in s with host (for fix lines); static buffer. */
static const char *
withhost(const char *s, const char *host)
{
	static char	 buf[2048];
	const char	*p;
	size_t		 k = 0;

	for (p = s; *p != '\0' && k < sizeof(buf) - 1; ) {
		if (strncmp(p, "HOST", 4) == 0) {
			k += strlcpy(buf + k, host, sizeof(buf) - k);
			if (k >= sizeof(buf))
				k = sizeof(buf) - 1;
			p += 4;
		} else
			buf[k++] = *p++;
	}
	buf[k] = '\0';
	return buf;
}

/* ----------------------------------------------------------- the ledger */

static void
report_ledger(struct report *r, const struct doctor *d)
{
	struct ledger	*lg = NULL;
	struct history	 h;
	struct decision	 dec;
	struct attreq	 req;
	struct srvstate	 st;
	char		 line[256];
	char		*cause = NULL, at[32], in[32];
	const struct policy *pol = d->hc->policy;
	struct tm	 tm;
	time_t		 now = d->now;

	fprintf(r->out, "\nLedger for server %s\n", d->server);
	if (ledger_open(&lg, d->statedir, d->server, &cause) == -1 ||
	    ledger_lock(lg, &h, now, &cause) == -1) {
		fprintf(r->out, "  cannot read it: %s\n", cause);
		problem(r, "the ledger of server %s cannot be read: %s; "
		    "safessh refuses this server until it is fixed",
		    d->server, cause);
		fix(r, "shell", withhost("look at the file named above; if "
		    "its history may go:\nsafessh --forget HOST", d->host));
		free(cause);
		if (lg != NULL)
			ledger_close(lg);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.policy = pol;
	req.host = req.who = "";
	req.parallel = d->hc->parallel;
	attempt_decide(&req, &h, now, &dec);
	attempt_state(&h, now, &st);
	util_dur(policy_horizon(pol), in, sizeof(in));
	fprintf(r->out, "  %zu attempt%s on record; %d failed in the last "
	    "%s; modelled penalty %.0fs\n", h.natt, h.natt == 1 ? "" : "s",
	    policy_failures(&h, policy_horizon(pol), now), in,
	    policy_penalty(pol, &h, now));
	if (dec.until > now) {
		localtime_r(&dec.until, &tm);
		strftime(at, sizeof(at), "%H:%M", &tm);
		util_dur((long)(dec.until - now), in, sizeof(in));
	} else {
		strlcpy(at, "-", sizeof(at));
		strlcpy(in, "-", sizeof(in));
	}
	if (st.state != SS_OK) {
		attempt_describe(&h, now, line, sizeof(line));
		fprintf(r->out, "  state: %s\n", line);
		problem(r, "server %s is %s: it refused this source (%s); "
		    "safessh lets one probe through when the back-off ends",
		    d->server, sstate_name(st.state), st.why);
		fix(r, "shell", withhost("wait; or, once the cause is "
		    "fixed, one careful attempt:\nsafessh --check HOST",
		    d->host));
	} else if (dec.verdict == V_DELAY || dec.verdict == V_REFUSE) {
		fprintf(r->out, "  state: %s until %s (in %s): %s\n",
		    dec.verdict == V_DELAY && dec.until - now <=
		    d->hc->max_delay ? "delaying" : "refusing", at, in,
		    dec.why);
		problem(r, "server %s: the next attempt is held back until "
		    "%s: %s", d->server, at, dec.why);
		fix(r, "shell", withhost("wait; see:\nsafessh --status HOST",
		    d->host));
	} else
		fprintf(r->out, "  state: ok (an attempt may start now)\n");
	ledger_unlock(lg);
	ledger_close(lg);
	history_free(&h);
}

/*
 * The one key and the agent: a passphrase, or a private half that lives
 * only in the agent, needs agent = yes and the agent to hold the key.
 * Returns 1 if the agent holds it.
 */
static int
key_agent(struct report *r, const struct doctor *d,
    const struct agentkey *ak, size_t nak, int used)
{
	unsigned char	*blob = NULL;
	size_t		 len = 0;
	char		 pub[PATH_MAX], buf[PATH_MAX], fixbuf[PATH_MAX + 64];
	const char	*key = d->key, *t;
	int		 enc = -1, holds, pubonly, need;

	t = tilde(key, buf, sizeof(buf));
	pubonly = !isfile(key) && isfile2(key, ".pub");
	if (!pubonly)
		(void)agent_keyfile(key, &enc, &blob, &len);
	if (blob == NULL &&
	    (size_t)snprintf(pub, sizeof(pub), "%s.pub", key) < sizeof(pub))
		(void)agent_pubfile(pub, &blob, &len);
	holds = used && agent_holds(ak, nak, blob, len);
	free(blob);
	if (pubonly)
		fprintf(r->out, "  only %s.pub is on disk: the private half "
		    "must be in the agent, which %s\n", t, !used ?
		    "is not reachable" : holds ? "holds it" :
		    "does not hold it");
	else if (enc == 1)
		fprintf(r->out, "  %s is protected by a passphrase; %s\n", t,
		    !used ? "no agent is reachable" : holds ?
		    "the agent holds it" : "the agent does not hold it");
	else if (enc == 0 && holds)
		fprintf(r->out, "  %s has no passphrase; the agent holds it "
		    "too\n", t);
	fprintf(r->out, "  agent = %s%s%s%s\n", d->hc->agent ? "yes" : "no",
	    d->hc->agent_at != NULL ? " (" : " (the default)",
	    d->hc->agent_at != NULL ? d->hc->agent_at : "",
	    d->hc->agent_at != NULL ? ")" : "");
	need = pubonly || enc == 1;
	if (need && !d->hc->agent) {
		problem(r, "%s: the key %s %s, and safessh asks no agent "
		    "(agent = no): %s; in batch mode (git, rsync, scripts) "
		    "each call fails, a failed login on the server's books",
		    d->host, t, pubonly ? "is only in the agent" :
		    "has a passphrase", pubonly ? "ssh cannot sign" :
		    "every call asks for the passphrase");
		snprintf(fixbuf, sizeof(fixbuf), "[host %s]\nagent = yes",
		    d->host);
		fix(r, "safessh config", fixbuf);
		if (!holds && !pubonly) {
			snprintf(fixbuf, sizeof(fixbuf), "ssh-add %s", t);
			fix(r, "shell, once per login", fixbuf);
		}
	} else if (need && !holds) {
		problem(r, "%s: agent = yes, but the agent does not hold %s: "
		    "%s", d->host, t, pubonly ? "ssh cannot sign (a failed "
		    "login)" : "ssh asks for the passphrase (in batch mode: "
		    "a failed login)");
		snprintf(fixbuf, sizeof(fixbuf), "ssh-add %s", t);
		fix(r, "shell, once per login", fixbuf);
	}
	return holds;
}

/* Can ssh resolve name?  (Behind a proxy it is not asked.)  1 or 0. */
static int
resolves(const char *name)
{
	struct addrinfo	hints, *ai = NULL;
	int		r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(name, NULL, &hints, &ai) == 0;
	if (ai != NULL)
		freeaddrinfo(ai);
	return r;
}

/*
 * The ~/.ssh/config block that makes plain ssh do what safessh does for
 * d->host: its HostName, Port and User (safessh forces them; plain ssh
 * does not read safessh's config), and the one key only.
 */
static void
hostblock(const struct doctor *d, const char *key, char *out, size_t len)
{
	char	buf[PATH_MAX], port[32] = "";

	if (d->hc->port != 0)
		snprintf(port, sizeof(port), "\n    Port %d", d->hc->port);
	snprintf(out, len, "Host %s%s%s%s%s%s\n    IdentityFile %s\n"
	    "    IdentitiesOnly yes", d->host,
	    d->hc->hostname != NULL ? "\n    HostName " : "",
	    d->hc->hostname != NULL ? d->hc->hostname : "", port,
	    d->hc->user != NULL ? "\n    User " : "",
	    d->hc->user != NULL ? d->hc->user : "",
	    key != NULL ? tilde(key, buf, sizeof(buf)) : "~/.ssh/site.key");
}

/* ------------------------------------------------------------ the report */

/* The agent part; fills *keys and says whether plain ssh would use it. */
static void
agent_part(struct report *r, const struct gview *g, struct agentkey **keys,
    size_t *nkeys, int *used)
{
	const char	*sock = NULL;
	char		*cause = NULL, *exp = NULL;
	size_t		 i;

	*keys = NULL;
	*nkeys = 0;
	*used = 0;
	fprintf(r->out, "Agent\n");
	if (strcasecmp(g->agent, "none") == 0) {
		fprintf(r->out, "  IdentityAgent none: ssh asks no agent\n");
		return;
	}
	if (g->agent[0] != '\0' && strcmp(g->agent, "SSH_AUTH_SOCK") != 0) {
		if (g->agent[0] == '$')
			sock = getenv(g->agent + 1 + (g->agent[1] == '{'));
		else if ((exp = expand(g->agent)) != NULL)
			sock = exp;
		fprintf(r->out, "  IdentityAgent %s\n", g->agent);
	} else
		sock = getenv("SSH_AUTH_SOCK");
	if (sock == NULL || *sock == '\0') {
		fprintf(r->out, "  SSH_AUTH_SOCK is not set: no agent\n");
		free(exp);
		return;
	}
	if (agent_list(sock, AGENT_TIMEOUT, keys, nkeys, &cause) == -1) {
		fprintf(r->out, "  %s: not reachable (%s); ssh goes on "
		    "without it\n", sock, cause);
		free(cause);
		free(exp);
		return;
	}
	*used = 1;
	fprintf(r->out, "  %s: %zu key%s (asked the agent itself: "
	    "request 11, answer 12)\n", sock, *nkeys, *nkeys == 1 ? "" : "s");
	for (i = 0; i < *nkeys; i++)
		fprintf(r->out, "    %s %s\n", (*keys)[i].type,
		    (*keys)[i].comment);
	free(exp);
}

/* The ~/.ssh/id_* files of ssh's default list (ssh -G -F none). */
static void
idfiles_part(struct report *r, const struct gview *def)
{
	char	*p, buf[PATH_MAX];
	size_t	 i;
	int	 n = 0;

	fprintf(r->out, "\nDefault key files (ssh's list, in its order)\n");
	for (i = 0; i < def->nids; i++) {
		if ((p = expand(def->ids[i])) == NULL)
			continue;
		if (isfile(p) || isfile2(p, ".pub")) {
			n++;
			fprintf(r->out, "  %-28s present%s%s\n",
			    tilde(p, buf, sizeof(buf)),
			    isfile2(p, ".pub") ? ", with .pub" : "",
			    isfile2(p, "-cert.pub") ? ", certificate "
			    "-cert.pub beside it" : "");
		}
		free(p);
	}
	if (n == 0)
		fprintf(r->out, "  none present\n");
	fprintf(r->out, "  (ssh tries:");
	for (i = 0; i < def->nids; i++) {
		const char *b = strrchr(def->ids[i], '/');

		fprintf(r->out, " %s", b != NULL ? b + 1 : def->ids[i]);
	}
	fprintf(r->out, "; only when no IdentityFile applies)\n");
}

static void
offers_part(struct report *r, const char *cmd, const char *pkcs11,
    const struct offers *of, const char *key, int *over)
{
	size_t	at = key != NULL ? offers_find(of, key) : 0;
	char	buf[PATH_MAX];

	fprintf(r->out, "  plain '%s' offers %zu key%s: %zu from the agent, "
	    "%zu key file%s, %zu certificate%s\n", cmd, of->n,
	    of->n == 1 ? "" : "s", of->nagent, of->nfile,
	    of->nfile == 1 ? "" : "s", of->ncert, of->ncert == 1 ? "" : "s");
	offers_print(r, of);
	if (pkcs11 != NULL && pkcs11[0] != '\0' &&
	    strcasecmp(pkcs11, "none") != 0)
		fprintf(r->out, "  and the keys of PKCS11Provider %s (not "
		    "counted: a token is not read here)\n", pkcs11);
	if (of->n > DOCTOR_MAXAUTHTRIES) {
		*over = 1;
		fprintf(r->out, "  %zu > MaxAuthTries %d: the server cuts the "
		    "connection with \"Too many authentication failures\" "
		    "after the %dth key\n", of->n, DOCTOR_MAXAUTHTRIES,
		    DOCTOR_MAXAUTHTRIES);
	}
	if (key != NULL && at == 0)
		fprintf(r->out, "  %s is not among them\n",
		    tilde(key, buf, sizeof(buf)));
	else if (key != NULL && at > DOCTOR_MAXAUTHTRIES)
		fprintf(r->out, "  %s is key #%zu: never reached\n",
		    tilde(key, buf, sizeof(buf)), at);
	else if (key != NULL)
		fprintf(r->out, "  %s is key #%zu\n",
		    tilde(key, buf, sizeof(buf)), at);
}

/*
 * Audit the setup described by d (see safessh(1), --doctor): the agent,
 * ~/.ssh/id_*, the ssh configuration's IdentityFile and CertificateFile
 * lines, certificates, safessh's settings and the ledger.  Returns 0
 * with the report in *report (the caller frees) and the number of
 * problems in *problems, or -1 with *cause.  Records no attempt.
 */
int
doctor_report(const struct doctor *d, char **report, int *problems,
    char **cause)
{
	struct report	 r;
	struct gview	 def, g, gi;
	struct agentkey	*ak = NULL;
	struct offers	*of = NULL, *ofi = NULL;
	size_t		 nak = 0;
	char		 buf[PATH_MAX], cmd[PATH_MAX + 300], fixbuf[2048];
	const char	*key = d->key != NULL && d->key[0] != '\0' ? d->key :
			    NULL;
	int		 used, over = 0, overi = 0, holds = 0, unres;
	struct stat	 st;

	*report = NULL;
	*problems = 0;
	memset(&r, 0, sizeof(r));
	memset(&g, 0, sizeof(g));
	memset(&gi, 0, sizeof(gi));
	memset(&def, 0, sizeof(def));
	if ((r.out = open_memstream(&r.obuf, &r.olen)) == NULL ||
	    (r.prob = open_memstream(&r.pbuf, &r.plen)) == NULL) {
		if (r.out != NULL)
			fclose(r.out);
		free(r.obuf);
		*cause = xstrfmt("out of memory");
		return -1;
	}
	if ((of = calloc(1, sizeof(*of))) == NULL ||
	    (ofi = calloc(1, sizeof(*ofi))) == NULL)
		goto nomem;

	/* ssh's own default list, from the installed ssh itself. */
	if (gview_run(d->ssh, 1, NULL, NOHOST, &def, cause) == -1)
		goto fail;
	if (gview_run(d->ssh, 0, NULL, d->host != NULL ? d->host : NOHOST,
	    &g, cause) == -1) {
		char *c = *cause;

		*cause = xstrfmt("%s for %s", c, d->host != NULL ?
		    d->host : "a host with no entry of its own");
		free(c);
		goto fail;
	}

	fprintf(r.out, "safessh --doctor%s%s\n\n", d->host != NULL ? " " : "",
	    d->host != NULL ? d->host : "");
	agent_part(&r, &g, &ak, &nak, &used);
	idfiles_part(&r, &def);
	if (d->host != NULL)
		gview_part(&r, d->host, &g);
	ssh_lines(&r, d, &g);

	if (d->host == NULL) {
		conf_files(&r, d);
		fprintf(r.out, "\nKeys offered to a host with no entry of its "
		    "own (ssh -G %s)\n", NOHOST);
		offers_make(&g, ak, nak, used, of);
		offers_part(&r, "ssh HOST", g.pkcs11, of, NULL, &over);
		fprintf(r.out, "  safessh offers 1 key per connection: the "
		    "host's identity =, or ssh's first existing key file\n");
		if (over) {
			problem(&r, "plain ssh offers %zu keys to a host with "
			    "no entry of its own; the server's MaxAuthTries "
			    "(assumed %d, sshd's default) ends the connection "
			    "first, and each such connection counts as a "
			    "failure", of->n, DOCTOR_MAXAUTHTRIES);
			fix(&r, "safessh config", "[host NAME]\nidentity = "
			    "~/.ssh/NAME.key");
			fix(&r, "~/.ssh/config", "Host NAME\n    IdentityFile "
			    "~/.ssh/NAME.key\n    IdentitiesOnly yes");
			if (of->nagent > 0)
				fix(&r, "shell", "ssh-add -D    # drop every "
				    "agent key; add back only the one you "
				    "need: ssh-add KEY");
		}
		goto done;
	}

	/* safessh's own view of the host. */
	fprintf(r.out, "\nsafessh's settings for %s\n", d->host);
	if (d->hc->identity != NULL)
		fprintf(r.out, "  identity = %s (%s)\n", d->hc->identity,
		    d->hc->identity_at != NULL ? d->hc->identity_at : "?");
	else
		fprintf(r.out, "  identity: unset; safessh uses ssh's first "
		    "existing IdentityFile%s%s\n", key != NULL ? ": " : "",
		    key != NULL ? tilde(key, buf, sizeof(buf)) : "");
	fprintf(r.out, "  server = %s%s\n", d->server, d->hc->server != NULL ?
	    "" : " (the host's address: its ban domain)");
	fprintf(r.out, "  policy = %s (cooldown %s after a ban signature)\n",
	    d->hc->policy->name, util_dur(d->hc->policy->cooldown, buf,
	    sizeof(buf)));
	if (key == NULL) {
		problem(&r, "%s: safessh has no key to offer (no identity =, "
		    "no IdentityFile that exists); it refuses to connect",
		    d->host);
		snprintf(fixbuf, sizeof(fixbuf), "[host %s]\nidentity = "
		    "~/.ssh/site.key", d->host);
		fix(&r, "safessh config", fixbuf);
	} else if ((stat(key, &st) == -1 || access(key, R_OK) == -1) &&
	    !(isfile2(key, ".pub") && !isfile(key))) {
		problem(&r, "%s: the key %s cannot be read: %s", d->host, key,
		    strerror(errno));
		snprintf(fixbuf, sizeof(fixbuf), "[host %s]\nidentity = "
		    "PATH-OF-THE-KEY", d->host);
		fix(&r, "safessh config", fixbuf);
	} else if ((st.st_mode & 077) != 0 && st.st_uid == getuid()) {
		problem(&r, "%s: the key %s is readable by others (mode "
		    "%03o): ssh refuses to use it", d->host, key,
		    (unsigned)(st.st_mode & 0777));
		snprintf(fixbuf, sizeof(fixbuf), "chmod 600 %s", key);
		fix(&r, "shell", fixbuf);
	}
	if (key != NULL && d->cert != NULL && d->cert[0] != '\0')
		fprintf(r.out, "  certificate = %s (%s): safessh offers the "
		    "certificate alone, never the plain key after it\n",
		    tilde(d->cert, buf, sizeof(buf)),
		    d->hc->certificate_at != NULL ? d->hc->certificate_at :
		    "?");
	else if (key != NULL) {
		snprintf(buf, sizeof(buf), "%s-cert.pub", key);
		if (isfile(buf))
			fprintf(r.out, "  a certificate is beside the key "
			    "(%s): safessh offers the key without it "
			    "(certificate = auto offers the certificate "
			    "instead)\n", buf);
	}
	if (key != NULL)
		holds = key_agent(&r, d, ak, nak, used);

	/* Plain ssh against safessh. */
	fprintf(r.out, "\nKeys offered to %s\n", d->host);
	offers_make(&g, ak, nak, used, of);
	snprintf(cmd, sizeof(cmd), "ssh %s", d->host);
	unres = !g.proxied && g.hostname[0] != '\0' && !resolves(g.hostname);
	if (unres) {
		/* ssh stops at the lookup: nothing is offered anywhere. */
		fprintf(r.out, "  plain '%s' cannot resolve \"%s\": it fails "
		    "before it connects and offers no key\n", cmd,
		    g.hostname);
		if (d->hc->hostname != NULL)
			fprintf(r.out, "  (safessh connects to %s: hostname = "
			    "at %s)\n", d->hc->hostname, d->hc->hostname_at);
	} else
		offers_part(&r, cmd, g.pkcs11, of, key, &over);
	if (!unres && key != NULL && offers_find(of, key) == 0 &&
	    gview_run(d->ssh, 0, key, d->host, &gi, cause) == 0) {
		offers_make(&gi, ak, nak, used, ofi);
		snprintf(cmd, sizeof(cmd), "ssh -i %s %s",
		    tilde(key, buf, sizeof(buf)), d->host);
		offers_part(&r, cmd, gi.pkcs11, ofi, key, &overi);
	} else if (*cause != NULL) {
		free(*cause);
		*cause = NULL;
	}
	fprintf(r.out, "  MaxAuthTries: assumed %d (sshd's default; a client "
	    "cannot see the server's value)\n", DOCTOR_MAXAUTHTRIES);
	if (key != NULL && d->cert != NULL && d->cert[0] != '\0')
		fprintf(r.out, "  safessh offers 1 key: the certificate %s%s\n",
		    tilde(d->cert, buf, sizeof(buf)), d->hc->agent && holds ?
		    " (the agent signs)" : "");
	else if (key != NULL)
		fprintf(r.out, "  safessh offers 1 key: %s%s\n",
		    tilde(key, buf, sizeof(buf)), d->hc->agent && holds ?
		    " (the agent signs)" : "");
	else
		fprintf(r.out, "  safessh offers no key: it refuses to "
		    "connect\n");
	if (over || overi) {
		problem(&r, "plain ssh offers %zu keys to %s, more than the "
		    "server's MaxAuthTries (assumed %d): it fails with \"Too "
		    "many authentication failures\", and each such connection "
		    "counts as a failure against your address (safessh "
		    "offers 1)", over ? of->n : ofi->n, d->host,
		    DOCTOR_MAXAUTHTRIES);
		if (d->hc->identity == NULL) {
			snprintf(fixbuf, sizeof(fixbuf), "[host %s]\n"
			    "identity = %s", d->host, key != NULL ?
			    tilde(key, buf, sizeof(buf)) : "~/.ssh/site.key");
			fix(&r, "safessh config", fixbuf);
		}
		hostblock(d, key, fixbuf, sizeof(fixbuf));
		fix(&r, "~/.ssh/config, for programs that run plain ssh",
		    fixbuf);
		if ((over ? of : ofi)->nagent > 0)
			fix(&r, "shell", "ssh-add -D    # drop every agent "
			    "key; add back only what you need: ssh-add KEY");
	}
	report_ledger(&r, d);

 done:
	fflush(r.prob);
	if (r.nprob == 0)
		fprintf(r.out, "\nNo problems found.\n");
	else {
		fprintf(r.out, "\n%d problem%s found:\n", r.nprob,
		    r.nprob == 1 ? "" : "s");
		fwrite(r.pbuf, 1, r.plen, r.out);
	}
	fclose(r.prob);
	free(r.pbuf);
	if (fclose(r.out) != 0) {
		free(r.obuf);
		r.obuf = NULL;
		goto nomem_closed;
	}
	*report = r.obuf;
	*problems = r.nprob;
	gview_free(&def);
	gview_free(&g);
	gview_free(&gi);
	agent_free(ak, nak);
	offers_free(of);
	offers_free(ofi);
	free(of);
	free(ofi);
	return 0;

 nomem:
	*cause = xstrfmt("out of memory");
 fail:
	fclose(r.out);
	fclose(r.prob);
	free(r.obuf);
	free(r.pbuf);
 nomem_closed:
	if (*cause == NULL)
		*cause = xstrfmt("out of memory");
	gview_free(&def);
	gview_free(&g);
	gview_free(&gi);
	agent_free(ak, nak);
	if (of != NULL)
		offers_free(of);
	if (ofi != NULL)
		offers_free(ofi);
	free(of);
	free(ofi);
	return -1;
}
