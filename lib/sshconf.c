/*
 * sshconf.c: the user's ssh configuration, as safessh must see it.
 *
 * Two jobs.  Neutralising: IdentityFile and CertificateFile lines in the
 * user's or the system's ssh_config add keys that IdentitiesOnly does not
 * remove, so when any are present safessh hands ssh (-F) a copy of those
 * files in which they are commented out; every other line, Include and
 * Match stays as it was.  Probing: "ssh -G" tells what ssh would use for
 * a destination (host name, user, identity files); its answer is cached
 * under the state directory, keyed by the arguments and by the contents
 * of every configuration file read, so repeat calls pay nothing.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>

#include <netdb.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "safessh.h"

#define MAXDEPTH	16
#define SYSCONF		"/etc/ssh/ssh_config"
#define SOURCE_TAG	"# safessh-source: "
#define CACHE_TTL	3600	/* seconds a cached resolution is trusted */

static int
readfile(const char *path, struct buf *b)
{
	char	 buf[8192];
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (buf_add(b, buf, (size_t)r) == -1) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* Write path (0600) only if its contents differ from b. */
static int
writeif(const char *path, const struct buf *b, char **cause)
{
	struct buf	 old = { NULL, 0, 0 };
	char		 tmp[PATH_MAX];
	int		 fd, same;

	same = readfile(path, &old) == 0 && old.len == b->len &&
	    (b->len == 0 || memcmp(old.p, b->p, b->len) == 0);
	free(old.p);
	if (same)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		*cause = xstrfmt("%s: path too long", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1 ||
	    write(fd, b->p != NULL ? b->p : "", b->len) != (ssize_t)b->len ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

struct scanctx {
	const char	*outdir;
	const char	*base;		/* relative Includes resolve here */
	struct sshconf	*sc;
	uint64_t	 stamp;
	int		 found;		/* IdentityFile/CertificateFile seen */
	struct buf	 removed;
};

static int filter_file(struct scanctx *, const char *, int, int, char *,
    size_t, char **);

/*
 * The keywords that add a key or a certificate, in every spelling ssh's
 * keyword table (readconf.c) accepts: matched after ssh's own tokenising
 * and lowercasing, so "IdentityFile", IDENTITYFILE=, a quoted keyword
 * and the obsolete alias IdentityFile2 are all caught.
 */
static const char *const keykw[] = {
	"identityfile", "identityfile2", "certificatefile"
};

/* The canonical name of a keyword that adds a key, or NULL. */
static const char *
keyword_adds_key(const char *kw)
{
	size_t	i;

	for (i = 0; kw != NULL && i < sizeof(keykw) / sizeof(keykw[0]); i++)
		if (strcmp(kw, keykw[i]) == 0)
			return i == 2 ? "CertificateFile" : "IdentityFile";
	return NULL;
}

/* Remove the stale copy of a source that is gone. */
static void
unlink_copy(const char *copy)
{
	(void)unlink(copy);
}

/*
 * Rewrite one Include line's arguments to filtered copies, resolving
 * each as ssh does: a relative path lives in ~/.ssh (user files) or
 * /etc/ssh (system files), "~" and "~user" are expanded by glob(3) with
 * GLOB_TILDE (ssh's own call), and matches are read in glob's order.
 * Where ssh would refuse the line (bad quotes, "~" in a system file, a
 * failing glob), the line is kept as it was so that ssh refuses it too.
 */
static int
filter_include(struct scanctx *x, const char *line, const char *args,
    int depth, int user, struct buf *out, char **cause)
{
	char	**words = NULL, *pat = NULL, copy[PATH_MAX];
	glob_t	 g;
	size_t	 i;
	int	 nw, k, any = 0, r, ret = -1;
	struct buf inc = { NULL, 0, 0 };

	if ((r = argv_cfgwords(args, &nw, &words)) == -2)
		return -1;
	if (r == -1 || nw == 0)
		goto asis;
	for (k = 0; k < nw; k++)
		if (words[k][0] == '\0' || (words[k][0] == '~' && !user))
			goto asis;
	if (buf_str(&inc, "Include") == -1)
		goto out;
	for (k = 0; k < nw; k++) {
		if (words[k][0] != '/' && words[k][0] != '~')
			pat = xstrfmt("%s/%s", user ? "~/.ssh" : "/etc/ssh",
			    words[k]);
		else
			pat = strdup(words[k]);
		if (pat == NULL)
			goto out;
		memset(&g, 0, sizeof(g));
		r = glob(pat, GLOB_TILDE, NULL, &g);
		free(pat);
		pat = NULL;
		if (r == GLOB_NOMATCH)
			continue;
		if (r != 0) {
			globfree(&g);
			goto asis;
		}
		for (i = 0; i < g.gl_pathc; i++) {
			r = filter_file(x, g.gl_pathv[i], depth + 1, user,
			    copy, sizeof(copy), cause);
			if (r == -1) {
				globfree(&g);
				goto out_cause;
			}
			if (r == 1)
				continue;	/* gone or unreadable */
			if (buf_str(&inc, " \"") == -1 ||
			    buf_str(&inc, copy) == -1 ||
			    buf_str(&inc, "\"") == -1) {
				globfree(&g);
				goto out;
			}
			any = 1;
		}
		globfree(&g);
	}
	argv_cfgwords_free(words);
	words = NULL;
	if (!any) {
		/* Nothing matched: ssh would read nothing either. */
		ret = buf_str(out, "# safessh: Include matched no file\n");
		goto done;
	}
	ret = buf_str(out, inc.p) == -1 || buf_str(out, "\n") == -1 ? -1 : 0;
	goto done;
 asis:
	ret = buf_str(out, line) == -1 || buf_str(out, "\n") == -1 ? -1 : 0;
	goto done;
 out:
	*cause = xstrfmt("out of memory");
 out_cause:
	ret = -1;
 done:
	argv_cfgwords_free(words);
	free(inc.p);
	return ret;
}

/*
 * Copy one ssh_config file into outdir with the lines that add keys
 * commented out and Includes pointing at copies; user is 1 for the
 * user's files (relative Includes live in ~/.ssh), 0 for the system's.
 * The copy's path goes to copy.  0; 1 when the file is not there (or
 * is a directory, or unreadable: ssh skips it too), and then no stale
 * copy of it is left; -1 with *cause.
 */
static int
filter_file(struct scanctx *x, const char *path, int depth, int user,
    char *copy, size_t copylen, char **cause)
{
	struct buf	 in = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	char		*line, *next, *lbuf = NULL, num[32];
	const char	*kw, *rest, *canon;
	size_t		 lineno = 0;
	uint64_t	 h;
	struct stat	 st;
	int		 r = -1;

	if (depth > MAXDEPTH) {
		*cause = xstrfmt("%s: Include nested too deep", path);
		return -1;
	}
	h = util_fnv(UTIL_FNV0, path, strlen(path));
	snprintf(copy, copylen, "%s/%016llx", x->outdir,
	    (unsigned long long)h);
	if ((stat(path, &st) == 0 && S_ISDIR(st.st_mode)) ||
	    readfile(path, &in) == -1) {
		/* As ssh: a missing or unreadable file is skipped. */
		free(in.p);
		unlink_copy(copy);
		x->stamp = util_fnv(x->stamp, "-", 2);
		return 1;
	}
	x->stamp = util_fnv(x->stamp, path, strlen(path) + 1);
	x->stamp = util_fnv(x->stamp, in.p != NULL ? in.p : "", in.len);
	if (buf_str(&out, "# safessh: filtered copy of ") == -1 ||
	    buf_str(&out, path) == -1 || buf_str(&out, "\n") == -1)
		goto out;
	for (line = in.p; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		free(lbuf);
		lbuf = NULL;
		if (argv_cfgline(line, &lbuf, &kw, &rest) == -1)
			goto out;
		if ((canon = keyword_adds_key(kw)) != NULL) {
			x->found = 1;
			if (buf_str(&out, "# safessh: ") == -1 ||
			    buf_str(&out, line) == -1 || buf_str(&out, "\n") == -1)
				goto out;
			if (buf_str(&x->removed, path) == -1 ||
			    buf_str(&x->removed, ":") == -1)
				goto out;
			snprintf(num, sizeof(num), "%zu: ", lineno);
			if (buf_str(&x->removed, num) == -1 ||
			    buf_str(&x->removed, canon) == -1 ||
			    buf_str(&x->removed, "\n") == -1)
				goto out;
			continue;
		}
		if (kw != NULL && strcmp(kw, "include") == 0 && rest != NULL) {
			if (filter_include(x, line, rest, depth, user, &out,
			    cause) == -1)
				goto out_cause;
			continue;
		}
		if (kw != NULL && (strcmp(kw, "localcommand") == 0 ||
		    strcmp(kw, "permitlocalcommand") == 0))
			x->sc->localcmd = 1;
		if (kw != NULL && strcmp(kw, "match") == 0 && rest != NULL &&
		    strcasestr(rest, "exec") != NULL)
			x->sc->dynamic = 1;
		if (buf_str(&out, line) == -1 || buf_str(&out, "\n") == -1)
			goto out;
	}
	if (writeif(copy, &out, cause) == -1)
		goto out_cause;
	r = 0;
	goto out_cause;
 out:
	*cause = xstrfmt("%s: %s", path, strerror(errno ? errno : ENOMEM));
 out_cause:
	free(lbuf);
	free(in.p);
	free(out.p);
	return r;
}

/*
 * Read the ssh_config files ssh would read (userconf is the user's -F,
 * or NULL for ~/.ssh/config and /etc/ssh/ssh_config) and, when they add
 * identities, write filtered copies under statedir/sshconfig.  Fills sc;
 * sc->path is "" when no filtering is needed.  0, or -1 with *cause.
 */
int
sshconf_scan(const char *statedir, const char *userconf, struct sshconf *sc,
    char **cause)
{
	struct scanctx	 x;
	struct buf	 top = { NULL, 0, 0 };
	char		 outdir[PATH_MAX], user[PATH_MAX];
	char		 ucopy[PATH_MAX], scopy[PATH_MAX];
	char		*home;
	int		 r = -1, ru;

	memset(sc, 0, sizeof(*sc));
	memset(&x, 0, sizeof(x));
	if ((size_t)snprintf(outdir, sizeof(outdir), "%s/sshconfig",
	    statedir) >= sizeof(outdir)) {
		*cause = xstrfmt("%s: path too long", statedir);
		return -1;
	}
	if (state_private(outdir, 0, cause) == -1)
		return -1;
	x.outdir = outdir;
	x.sc = sc;
	x.stamp = UTIL_FNV0;
	if (userconf != NULL && strcasecmp(userconf, "none") == 0)
		return 0;
	/* The source line lets a nested safessh find the original. */
	if (buf_str(&top, "# safessh: ssh_config without IdentityFile "
	    "and CertificateFile\n" SOURCE_TAG) == -1 ||
	    buf_str(&top, userconf != NULL ? userconf : "-") == -1 ||
	    buf_str(&top, "\n") == -1)
		goto nomem;
	if (userconf != NULL) {
		if ((home = util_tilde(userconf)) == NULL)
			goto nomem;
		strlcpy(user, home, sizeof(user));
		free(home);
	} else
		snprintf(user, sizeof(user), "%s/.ssh/config", state_sshhome());
	/* ssh reads -F and ~/.ssh/config as user files. */
	if ((ru = filter_file(&x, user, 0, 1, ucopy, sizeof(ucopy),
	    cause)) == -1)
		goto out;
	if (ru == 0 && (buf_str(&top, "Include \"") == -1 ||
	    buf_str(&top, ucopy) == -1 || buf_str(&top, "\"\n") == -1))
		goto nomem;
	if (userconf == NULL) {
		if ((ru = filter_file(&x, SYSCONF, 0, 0, scopy, sizeof(scopy),
		    cause)) == -1)
			goto out;
		if (ru == 0 && (buf_str(&top, "Include \"") == -1 ||
		    buf_str(&top, scopy) == -1 || buf_str(&top, "\"\n") == -1))
			goto nomem;
	}
	snprintf(sc->stamp, sizeof(sc->stamp), "%016llx",
	    (unsigned long long)x.stamp);
	if (x.found) {
		if ((size_t)snprintf(sc->path, sizeof(sc->path),
		    "%s/top-%016llx", outdir,
		    (unsigned long long)util_fnv(x.stamp, top.p, top.len)) >=
		    sizeof(sc->path)) {
			*cause = xstrfmt("%s: path too long", outdir);
			goto out;
		}
		if (writeif(sc->path, &top, cause) == -1)
			goto out;
		sc->removed = x.removed.p;
		x.removed.p = NULL;
	}
	r = 0;
	goto out;
 nomem:
	*cause = xstrfmt("out of memory");
 out:
	free(top.p);
	free(x.removed.p);
	return r;
}

/*
 * Is path (a -F argument) a filtered copy that safessh wrote under
 * statedir?  ssh hands its -F on to a jump host's command, so a safessh
 * run for the hop sees our copy, in which the hop's IdentityFile lines
 * are commented out.  1 with *orig set to the file the copy was made
 * from (allocated; NULL for ssh's default files), else 0.  -1 on ENOMEM.
 */
int
sshconf_unwrap(const char *statedir, const char *path, char **orig)
{
	struct buf	 b = { NULL, 0, 0 };
	char		 dir[PATH_MAX], rdir[PATH_MAX], rpath[PATH_MAX];
	char		*p, *e;
	size_t		 n;

	*orig = NULL;
	if (path == NULL ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/sshconfig", statedir) >=
	    sizeof(dir) || realpath(dir, rdir) == NULL ||
	    realpath(path, rpath) == NULL)
		return 0;
	n = strlen(rdir);
	if (strncmp(rpath, rdir, n) != 0 || strncmp(rpath + n, "/top-", 5) != 0)
		return 0;
	if (readfile(rpath, &b) == -1 || b.p == NULL) {
		free(b.p);
		return 0;
	}
	if ((p = strstr(b.p, "\n" SOURCE_TAG)) == NULL) {
		free(b.p);
		return 0;
	}
	p += 1 + strlen(SOURCE_TAG);
	if ((e = strchr(p, '\n')) != NULL)
		*e = '\0';
	if (strcmp(p, "-") != 0 && (*orig = strdup(p)) == NULL) {
		free(b.p);
		return -1;
	}
	free(b.p);
	return 1;
}

/*
 * For one "file:line: Keyword" of sshconf.removed (doctor.c): the
 * keyword as the filter understood it (IdentityFile or CertificateFile),
 * the line's first value word, and the Host or Match line above it (""
 * if none: it applies everywhere), each read with ssh's tokeniser.
 */
void
sshconf_where(const char *file, long lineno, char *kwbuf, size_t kwlen,
    char *value, size_t vlen, char *block, size_t blen, long *blockline)
{
	FILE		*fp;
	char		*line = NULL, *lb = NULL, **w;
	const char	*kw, *rest, *canon;
	size_t		 cap = 0;
	long		 n = 0;
	int		 nw;

	*kwbuf = *value = *block = '\0';
	*blockline = 0;
	if ((fp = fopen(file, "re")) == NULL)
		return;
	while (getline(&line, &cap, fp) != -1 && ++n <= lineno) {
		free(lb);
		if (argv_cfgline(line, &lb, &kw, &rest) == -1 || kw == NULL)
			continue;
		if (strcmp(kw, "host") == 0 || strcmp(kw, "match") == 0) {
			line[strcspn(line, "\r\n")] = '\0';
			strlcpy(block, line + strspn(line, " \t"), blen);
			*blockline = n;
		}
		if (n != lineno || (canon = keyword_adds_key(kw)) == NULL)
			continue;
		strlcpy(kwbuf, canon, kwlen);
		if (rest != NULL && argv_cfgwords(rest, &nw, &w) == 0 &&
		    w != NULL) {
			strlcpy(value, w[0], vlen);
			argv_cfgwords_free(w);
		}
	}
	free(lb);
	free(line);
	fclose(fp);
}

void
sshconf_free(struct sshconf *sc)
{
	free(sc->removed);
	sc->removed = NULL;
}

/* ------------------------------------------------------------- probing */

static void
probe_clear(struct sshprobe *pr)
{
	size_t	i;

	for (i = 0; i < pr->nids; i++)
		free(pr->ids[i]);
	for (i = 0; i < pr->ncerts; i++)
		free(pr->certs[i]);
	memset(pr, 0, sizeof(*pr));
}

void
sshconf_probe_free(struct sshprobe *pr)
{
	probe_clear(pr);
}

/* Take one "key value" line of ssh -G output (or of our cache). */
static void
probe_line(struct sshprobe *pr, char *line)
{
	char	*v;

	if ((v = strchr(line, ' ')) == NULL)
		return;
	*v++ = '\0';
	if (strcmp(line, "hostname") == 0)
		strlcpy(pr->hostname, v, sizeof(pr->hostname));
	else if (strcmp(line, "user") == 0)
		strlcpy(pr->user, v, sizeof(pr->user));
	else if (strcmp(line, "port") == 0)
		pr->port = (int)strtonum(v, 0, 65535, NULL);
	else if (strcmp(line, "addressfamily") == 0)
		pr->family = strcmp(v, "inet") == 0 ? AF_INET :
		    strcmp(v, "inet6") == 0 ? AF_INET6 : AF_UNSPEC;
	else if (strcmp(line, "identityfile") == 0 &&
	    pr->nids < SSHPROBE_MAXIDS)
		pr->ids[pr->nids++] = strdup(v);
	else if (strcmp(line, "certificatefile") == 0 &&
	    pr->ncerts < SSHPROBE_MAXIDS)
		pr->certs[pr->ncerts++] = strdup(v);
	else if (strcmp(line, "controlpath") == 0)
		strlcpy(pr->controlpath, v, sizeof(pr->controlpath));
	else if (strcmp(line, "controlmaster") == 0)
		strlcpy(pr->controlmaster, v, sizeof(pr->controlmaster));
	else if (strcmp(line, "proxycommand") == 0)
		pr->proxied |= strcmp(v, "none") != 0;
	else if (strcmp(line, "proxyjump") == 0) {
		pr->jump = strcmp(v, "none") != 0;
		pr->proxied |= pr->jump;
	}
	else if (strcmp(line, "server") == 0)
		strlcpy(pr->server, v, sizeof(pr->server));
	else if (strcmp(line, "resolved") == 0)
		pr->resolved = (time_t)strtonum(v, 0, LLONG_MAX, NULL);
}

static void
probe_parse(struct sshprobe *pr, char *text)
{
	char	*line, *next;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		probe_line(pr, line);
	}
}

/* Run argv (ssh -G ...) and collect its stdout; its stderr is ours. */
static int
run_capture(char *const argv[], struct buf *out, int quiet, char **cause)
{
	char	*text;
	int	 status;

	if (child_capture(argv, quiet ? CAPTURE_QUIET : 0, &text, &status, cause) == -1)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(text);
		*cause = xstrfmt("'%s -G' failed for this destination",
		    argv[0]);
		return -1;
	}
	out->p = text;
	out->len = strlen(text);
	out->cap = out->len + 1;
	return 0;
}

/* "OpenSSH_9.2p1 ..." -> 902; 0 when it is not OpenSSH's banner. */
static int
parse_version(const char *s)
{
	const char	*p;
	long		 maj, min;
	char		*e;

	if ((p = strstr(s, "OpenSSH_")) == NULL)
		return 0;
	p += 8;
	maj = strtol(p, &e, 10);
	if (e == p || *e != '.' || maj < 1 || maj > 99)
		return 0;
	p = e + 1;
	min = strtol(p, &e, 10);
	if (e == p || min < 0 || min > 99)
		return 0;
	return (int)(maj * 100 + min);
}

/*
 * The version of the ssh at path (major * 100 + minor: 902 for 9.2),
 * from "ssh -V", cached under statedir/sshconfig by the binary's path,
 * inode, size and time, so that it runs once per installed ssh.  0 with
 * *ver (0 when ssh does not say: the latest grammar then applies), or
 * -1 with *cause when ssh cannot be run.
 */
int
sshconf_version(const char *statedir, const char *ssh, int *ver,
    char **cause)
{
	struct stat	 st;
	struct buf	 b = { NULL, 0, 0 };
	char		 path[PATH_MAX], tmp[32], buf[512], *p0, *text;
	char		 a0[PATH_MAX], a1[] = "-V", *av[] = { a0, a1, NULL };
	struct buf	 out = { NULL, 0, 0 };
	uint64_t	 h;
	int		 status;

	*ver = 0;
	if (stat(ssh, &st) == -1) {
		*cause = xstrfmt("%s: %s", ssh, strerror(errno));
		return -1;
	}
	h = util_fnv(UTIL_FNV0, ssh, strlen(ssh) + 1);
	snprintf(buf, sizeof(buf), "%llu %llu %lld %lld",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	    (long long)st.st_size, (long long)st.st_mtime);
	h = util_fnv(h, buf, strlen(buf));
	snprintf(path, sizeof(path), "%s/sshconfig/version-%016llx", statedir,
	    (unsigned long long)h);
	if (readfile(path, &b) == 0 && b.p != NULL) {
		b.p[strcspn(b.p, "\n")] = '\0';
		*ver = (int)strtonum(b.p, 0, 9999, NULL);
		free(b.p);
		if (*ver > 0)
			return 0;
	} else
		free(b.p);
	/* ssh -V says its version on stderr. */
	strlcpy(a0, ssh, sizeof(a0));
	if (child_capture(av, CAPTURE_STDERR, &text, &status, cause) == -1)
		return -1;
	strlcpy(buf, text, sizeof(buf));
	free(text);
	*ver = parse_version(buf);
	if (*ver == 0 && (p0 = strstr(buf, "safessh: ")) != NULL) {
		/* Our own refusal, from a safessh run as this "ssh". */
		p0 += 9;
		p0[strcspn(p0, "\n")] = '\0';
		*cause = xstrfmt("%s", p0);
		return -1;
	}
	if (*ver > 0) {
		char	*c = NULL;

		snprintf(tmp, sizeof(tmp), "%d\n", *ver);
		/* A cache we cannot write is no error. */
		if (buf_str(&out, tmp) == 0 && writeif(path, &out, &c) == -1)
			free(c);
		free(out.p);
	}
	return 0;
}

/*
 * The server (ban domain) for a host name: the first address it resolves
 * to, as text without a zone, or the lowercased name when it does not
 * resolve here (behind a jump host, say).  family is AF_* or 0.
 */
void
sshconf_server(const char *name, int family, char *out, size_t len)
{
	struct addrinfo	 hints, *ai = NULL;
	char		 buf[INET6_ADDRSTRLEN];
	size_t		 i;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &ai) == 0 && ai != NULL &&
	    getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), NULL,
	    0, NI_NUMERICHOST) == 0) {
		buf[strcspn(buf, "%")] = '\0';
		strlcpy(out, buf, len);
	} else {
		strlcpy(out, name, len);
		for (i = 0; out[i] != '\0'; i++)
			out[i] = (char)tolower((unsigned char)out[i]);
	}
	if (ai != NULL)
		freeaddrinfo(ai);
}

/*
 * What ssh would use for this destination: run "ssh -G" with argv (a
 * complete ssh -G command line), cached under statedir by the arguments
 * and stamp (the configuration's contents).  Also resolves the server
 * address (cached for an hour).  cacheable is 0 when the configuration
 * runs commands (Match exec).  0, or -1 with *cause.
 */
int
sshconf_probe(const char *statedir, char *const argv[], const char *stamp,
    int cacheable, time_t now, struct sshprobe *pr, char **cause)
{
	struct buf	 out = { NULL, 0, 0 }, cached = { NULL, 0, 0 };
	char		 path[PATH_MAX], line[PATH_MAX + 64];
	uint64_t	 h = UTIL_FNV0;
	size_t		 i;
	int		 r = -1;

	memset(pr, 0, sizeof(*pr));
	for (i = 0; argv[i] != NULL; i++)
		h = util_fnv(h, argv[i], strlen(argv[i]) + 1);
	h = util_fnv(h, stamp, strlen(stamp));
	snprintf(path, sizeof(path), "%s/sshconfig/probe-%016llx", statedir,
	    (unsigned long long)h);
	if (cacheable && readfile(path, &cached) == 0 && cached.p != NULL) {
		probe_parse(pr, cached.p);
		free(cached.p);
		if (pr->hostname[0] != '\0' && pr->resolved <= now &&
		    now - pr->resolved < CACHE_TTL)
			return 0;
		probe_clear(pr);
	} else
		free(cached.p);

	/*
	 * Quietly first (ssh -G remarks on stdin not being a terminal); on
	 * failure once more, so that ssh's own message reaches the user.
	 */
	if (run_capture(argv, &out, 1, cause) == -1) {
		free(*cause);
		free(out.p);
		memset(&out, 0, sizeof(out));
		if (run_capture(argv, &out, 0, cause) == -1)
			goto out;
	}
	probe_parse(pr, out.p != NULL ? out.p : (char *)"");
	if (pr->hostname[0] == '\0') {
		*cause = xstrfmt("'%s -G' printed no hostname", argv[0]);
		goto out;
	}
	sshconf_server(pr->hostname, pr->family, pr->server,
	    sizeof(pr->server));
	pr->resolved = now;
	r = 0;
	if (!cacheable)
		goto out;
	/* Cache the part we use. */
	free(out.p);
	memset(&out, 0, sizeof(out));
#define ADD(k, v) do { snprintf(line, sizeof(line), "%s %s\n", k, v); \
	if (buf_str(&out, line) == -1) goto out; } while (0)
	ADD("hostname", pr->hostname);
	if (pr->user[0] != '\0')
		ADD("user", pr->user);
	snprintf(line, sizeof(line), "port %d\n", pr->port);
	if (buf_str(&out, line) == -1)
		goto out;
	ADD("addressfamily", pr->family == AF_INET ? "inet" :
	    pr->family == AF_INET6 ? "inet6" : "any");
	for (i = 0; i < pr->nids; i++)
		ADD("identityfile", pr->ids[i]);
	for (i = 0; i < pr->ncerts; i++)
		ADD("certificatefile", pr->certs[i]);
	if (pr->controlpath[0] != '\0')
		ADD("controlpath", pr->controlpath);
	if (pr->controlmaster[0] != '\0')
		ADD("controlmaster", pr->controlmaster);
	ADD("proxycommand", pr->proxied ? "yes" : "none");
	if (pr->jump)
		ADD("proxyjump", "yes");
	ADD("server", pr->server);
	snprintf(line, sizeof(line), "resolved %lld\n",
	    (long long)pr->resolved);
	if (buf_str(&out, line) == -1)
		goto out;
#undef ADD
	{
		char	*c = NULL;

		if (writeif(path, &out, &c) == -1)
			free(c);	/* a cache we cannot write is no error */
	}
 out:
	free(out.p);
	if (r == -1)
		probe_clear(pr);
	return r;
}
