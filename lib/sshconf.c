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
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "safessh.h"

#define MAXDEPTH	16
#define CACHE_TTL	3600	/* seconds a cached resolution is trusted */

static const char *
pwdir(void)
{
	struct passwd	*pw;

	/* ssh finds its files under the passwd entry's home, not $HOME. */
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		return pw->pw_dir;
	return getenv("HOME") != NULL ? getenv("HOME") : "/";
}

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

static int filter_file(struct scanctx *, const char *, int, char *, size_t,
    char **);

/* Split the next word of an ssh_config line ("quoted" allowed). */
static char *
nextword(char **sp)
{
	char	*s = *sp, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	if (*s == '"') {
		w = ++s;
		while (*s != '\0' && *s != '"')
			s++;
	} else {
		w = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
	}
	if (*s != '\0')
		*s++ = '\0';
	*sp = s;
	return w;
}

/* Rewrite one Include line's arguments to filtered copies. */
static int
filter_include(struct scanctx *x, char *args, int depth, struct buf *out,
    char **cause)
{
	char	*w, *exp, pat[PATH_MAX], copy[PATH_MAX];
	glob_t	 g;
	size_t	 i;
	int	 any = 0;

	if (buf_str(out, "Include") == -1)
		return -1;
	while ((w = nextword(&args)) != NULL) {
		if (strncmp(w, "~/", 2) == 0)
			exp = xstrfmt("%s%s", pwdir(), w + 1);
		else if (*w == '/')
			exp = strdup(w);
		else
			exp = xstrfmt("%s/%s", x->base, w);
		if (exp == NULL)
			return -1;
		strlcpy(pat, exp, sizeof(pat));
		free(exp);
		memset(&g, 0, sizeof(g));
		if (glob(pat, GLOB_NOCHECK, NULL, &g) != 0)
			continue;
		for (i = 0; i < g.gl_pathc; i++) {
			if (access(g.gl_pathv[i], R_OK) == -1)
				continue;
			if (filter_file(x, g.gl_pathv[i], depth + 1, copy,
			    sizeof(copy), cause) == -1) {
				globfree(&g);
				return -1;
			}
			if (buf_str(out, " \"") == -1 || buf_str(out, copy) ||
			    buf_str(out, "\"") == -1) {
				globfree(&g);
				return -1;
			}
			any = 1;
		}
		globfree(&g);
	}
	if (!any) {
		/* Nothing matched: ssh would read nothing either. */
		out->len -= strlen("Include");
		return buf_str(out, "# safessh: Include matched no file\n");
	}
	return buf_str(out, "\n");
}

/*
 * Copy one ssh_config file into outdir with IdentityFile and
 * CertificateFile commented out and Includes pointing at copies.
 * The copy's path goes to copy.
 */
static int
filter_file(struct scanctx *x, const char *path, int depth, char *copy,
    size_t copylen, char **cause)
{
	struct buf	 in = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	char		*line, *next, *s, *kw, *rest, lbuf[2048], num[32];
	size_t		 n, lineno = 0;
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
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (readfile(path, &in) == -1)
		return 0;	/* as ssh: an unreadable Include is skipped */
	x->stamp = util_fnv(x->stamp, path, strlen(path) + 1);
	x->stamp = util_fnv(x->stamp, in.p != NULL ? in.p : "", in.len);
	if (buf_str(&out, "# safessh: filtered copy of ") == -1 ||
	    buf_str(&out, path) == -1 || buf_str(&out, "\n") == -1)
		goto out;
	for (line = in.p; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		n = strlen(line);
		if (n >= sizeof(lbuf))
			n = sizeof(lbuf) - 1;
		memcpy(lbuf, line, n);
		lbuf[n] = '\0';
		s = lbuf;
		while (*s == ' ' || *s == '\t')
			s++;
		kw = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '=')
			s++;
		rest = s;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest == '=')
			rest++;
		n = (size_t)(s - kw);
		if ((n == 12 && strncasecmp(kw, "identityfile", 12) == 0) ||
		    (n == 15 && strncasecmp(kw, "certificatefile", 15) == 0)) {
			x->found = 1;
			if (buf_str(&out, "# safessh: ") == -1 ||
			    buf_str(&out, line) == -1 || buf_str(&out, "\n") == -1)
				goto out;
			n = (size_t)(s - kw);
			if (buf_str(&x->removed, path) == -1 ||
			    buf_str(&x->removed, ":") == -1)
				goto out;
			snprintf(num, sizeof(num), "%zu: ", lineno);
			if (buf_str(&x->removed, num) == -1 ||
			    buf_add(&x->removed, kw, n) == -1 ||
			    buf_str(&x->removed, "\n") == -1)
				goto out;
			continue;
		}
		if (n == 7 && strncasecmp(kw, "include", 7) == 0) {
			if (filter_include(x, rest, depth, &out, cause) == -1)
				goto out;
			continue;
		}
		if ((n == 12 && strncasecmp(kw, "localcommand", 12) == 0) ||
		    (n == 18 &&
		    strncasecmp(kw, "permitlocalcommand", 18) == 0))
			x->sc->localcmd = 1;
		if (n == 5 && strncasecmp(kw, "match", 5) == 0 &&
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
	char		 outdir[PATH_MAX], copy[PATH_MAX], user[PATH_MAX];
	char		*home;
	int		 r = -1;

	memset(sc, 0, sizeof(*sc));
	memset(&x, 0, sizeof(x));
	if ((size_t)snprintf(outdir, sizeof(outdir), "%s/sshconfig",
	    statedir) >= sizeof(outdir)) {
		*cause = xstrfmt("%s: path too long", statedir);
		return -1;
	}
	if (mkdir(outdir, 0700) == -1 && errno != EEXIST) {
		*cause = xstrfmt("%s: %s", outdir, strerror(errno));
		return -1;
	}
	x.outdir = outdir;
	x.sc = sc;
	x.stamp = UTIL_FNV0;
	if (buf_str(&top, "# safessh: ssh_config without IdentityFile "
	    "and CertificateFile\n") == -1)
		goto nomem;
	if (userconf != NULL && strcasecmp(userconf, "none") == 0) {
		r = 0;
		goto out;
	}
	if (userconf != NULL) {
		if ((home = util_tilde(userconf)) == NULL)
			goto nomem;
		strlcpy(user, home, sizeof(user));
		free(home);
	} else
		snprintf(user, sizeof(user), "%s/.ssh/config", pwdir());
	x.base = NULL;
	snprintf(copy, sizeof(copy), "%s/.ssh", pwdir());
	x.base = copy;
	{
		char	ucopy[PATH_MAX], scopy[PATH_MAX];

		if (filter_file(&x, user, 0, ucopy, sizeof(ucopy),
		    cause) == -1)
			goto out;
		if (buf_str(&top, "Include \"") == -1 ||
		    buf_str(&top, ucopy) == -1 || buf_str(&top, "\"\n") == -1)
			goto nomem;
		if (userconf == NULL) {
			x.base = "/etc/ssh";
			if (filter_file(&x, "/etc/ssh/ssh_config", 0, scopy,
			    sizeof(scopy), cause) == -1)
				goto out;
			if (buf_str(&top, "Include \"") == -1 ||
			    buf_str(&top, scopy) == -1 ||
			    buf_str(&top, "\"\n") == -1)
				goto nomem;
		}
	}
	snprintf(sc->stamp, sizeof(sc->stamp), "%016llx",
	    (unsigned long long)x.stamp);
	if (x.found) {
		if ((size_t)snprintf(sc->path, sizeof(sc->path),
		    "%s/top-%016llx", outdir,
		    (unsigned long long)util_fnv(x.stamp, "top", 3)) >=
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
	else if (strcmp(line, "proxycommand") == 0 ||
	    strcmp(line, "proxyjump") == 0)
		pr->proxied = strcmp(v, "none") != 0;
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
	int	 p[2], status = -1, devnull;
	pid_t	 pid;
	char	 buf[4096];
	ssize_t	 r;

	if (pipe2(p, O_CLOEXEC) == -1) {
		*cause = xstrfmt("pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		*cause = xstrfmt("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_RDWR)) != -1) {
			dup2(devnull, STDIN_FILENO);
			if (quiet)
				dup2(devnull, STDERR_FILENO);
		}
		dup2(p[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while ((r = read(p[0], buf, sizeof(buf))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (buf_add(out, buf, (size_t)r) == -1)
			break;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*cause = xstrfmt("'%s -G' failed for this destination",
		    argv[0]);
		return -1;
	}
	return 0;
}

/*
 * Run argv (an "ssh -G" command line), stdin from /dev/null, stderr ours
 * unless quiet, and hand back its standard output in *text (allocated,
 * NUL-terminated; the caller frees).  0, or -1 with *cause unless it
 * exited 0.
 */
int
sshconf_capture(char *const argv[], int quiet, char **text, char **cause)
{
	struct buf	out = { NULL, 0, 0 };

	*text = NULL;
	if (run_capture(argv, &out, quiet, cause) == -1) {
		free(out.p);
		return -1;
	}
	if (out.p == NULL && (out.p = strdup("")) == NULL) {
		*cause = xstrfmt("out of memory");
		return -1;
	}
	*text = out.p;
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
