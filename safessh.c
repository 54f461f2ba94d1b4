/*
 * safessh.c: parse safessh's own options, pick the mode, call into lib/.
 * The only place that prints fatal errors and exits.
 *
 * Modes: the wrapper (ssh's own command line), --proxy, --status,
 * --check, --forget, --dry-run, --doctor, --version, --help, and the
 * internal --authed that ssh runs as LocalCommand after authenticating.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "safessh.h"

enum mode {
	M_WRAP,
	M_PROXY,
	M_STATUS,
	M_CHECK,
	M_FORGET,
	M_DRYRUN,
	M_DOCTOR,
	M_VERSION,
	M_HELP,
	M_AUTHED,
	M_MUXLOST
};

static const struct {
	const char	*name;
	enum mode	 mode;
} modes[] = {
	{ "--proxy",	M_PROXY },
	{ "--status",	M_STATUS },
	{ "--check",	M_CHECK },
	{ "--forget",	M_FORGET },
	{ "--dry-run",	M_DRYRUN },
	{ "--doctor",	M_DOCTOR },
	{ "--version",	M_VERSION },
	{ "--help",	M_HELP },
	{ "--authed",	M_AUTHED },	/* internal: ssh's LocalCommand */
	{ "--mux-lost",	M_MUXLOST },	/* reuse: the mux client's guard */
};
#define NMODES		(sizeof(modes) / sizeof(modes[0]))
#define NUSERMODES	(NMODES - 2)	/* the internal ones come last */

/* Everything one attempt needs, gathered before it is admitted. */
struct job {
	struct sshcmd	 cmd;
	struct conf	*conf;
	struct hostconf	 hc;
	struct sshconf	 sc;
	struct sshprobe	 pr;
	char		 statedir[PATH_MAX];
	char		 ssh[PATH_MAX];
	int		 sshver;		/* its version: 902 for 9.2 */
	char		 jumpl[PATH_MAX];	/* ssh's argv[0] with a jump */
	char		 key[PATH_MAX];		/* the key, as the user named it */
	char		 keyarg[PATH_MAX];	/* the path handed to ssh */
	int		 keypub;		/* only key.pub: the agent's */
	char		 cert[PATH_MAX];	/* the certificate offered, "" */
	char		 keysrc[PATH_MAX + 32];	/* where the key came from */
	int		 nomethod;	/* -o PreferredAuthentications=, */
	char		 server[256];
	char		 who[ATTEMPT_WHOLEN];
	const char	*host;			/* alias as typed */
	int		 check;			/* --check */
	/* Connection reuse (lib/reuse.c). */
	struct reuseplan rp;
	char		 cmpath[PATH_MAX];	/* the master's socket */
	char		*cmarg;		/* ControlPath= when we may start it */
	int		 shared;	/* admitted through a shared ledger */
};

static void	hop_start(void);
static void	hop_note(const char *, const char *, uint64_t);
static void	attempt_env(struct job *, uint64_t);
static int	hops_reached(struct job *, uint64_t);

#define SYNOPSIS \
	"usage: safessh [ssh options] destination [command [argument ...]]\n" \
	"       safessh --proxy host port\n" \
	"       safessh --status [host]\n" \
	"       safessh --check host\n" \
	"       safessh --forget [--limits] host\n" \
	"       safessh --dry-run [ssh options] destination [command ...]\n" \
	"       safessh --doctor [host]\n" \
	"       safessh --version | --help\n"

/* The synopsis on stderr, after the mistake if there is one; exit 255. */
static void __attribute__((noreturn))
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "safessh: %s\n", why);
	fputs(SYNOPSIS, stderr);
	exit(EXIT_SSHERR);
}

/* --help: the synopsis, each mode, the files; on stdout, exit 0. */
static void __attribute__((noreturn))
help(void)
{
	fputs(SYNOPSIS, stdout);
	fputs("\n"
	    "Runs ssh with one key per connection, after asking the server's "
	    "ledger\n"
	    "whether one more failed login could get this address banned.\n"
	    "safessh's own options are long ones and come first; "
	    "everything else is ssh's.\n"
	    "\n"
	    "  (none)       run ssh: one key, admitted against the server's "
	    "budget\n"
	    "  --proxy      ProxyCommand mode: relay host port, admitted "
	    "the same way\n"
	    "  --status     servers, recent failures, modelled penalty, "
	    "next attempt\n"
	    "  --check      one careful attempt (runs true), allowed during "
	    "a cooldown\n"
	    "  --forget     clear a server's history once the cause is "
	    "fixed\n"
	    "  --limits     after --forget: drop the limits learned from "
	    "its bans too\n"
	    "  --dry-run    print the ssh argv and the admission decision, "
	    "connect to none\n"
	    "  --doctor     audit agent keys, ~/.ssh/id_*, IdentityFile "
	    "lines; print fixes\n"
	    "  --version    print the version\n"
	    "  --help       print this help\n"
	    "\n"
	    "Configuration: /etc/safessh.conf, then "
	    "$XDG_CONFIG_HOME/safessh/config\n"
	    "  (default ~/.config/safessh/config); $SAFESSH_CONFIG "
	    "replaces both.\n"
	    "Ledger: $SAFESSH_STATE_DIR, else $XDG_STATE_HOME/safessh\n"
	    "  (default ~/.local/state/safessh).\n"
	    "Exit status: ssh's; 75 when safessh refused an attempt; "
	    "255 on its own errors.\n"
	    "\n"
	    "See safessh(1), safessh.conf(5).\n", stdout);
	if (fflush(stdout) == EOF || ferror(stdout))
		exit(EXIT_SSHERR);
	exit(0);
}

/* Print "safessh: <cause>" and exit 255; frees nothing (we exit). */
static void __attribute__((noreturn))
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("safessh: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_SSHERR);
}

/* A shared ledger that fell back says so, once per call. */
static void
lwarn(const struct job *j, struct ledger *lg)
{
	char	*w;

	if ((w = ledger_warning(lg)) == NULL)
		return;
	fprintf(stderr, "safessh: %s (server %s): %s\n", j->host, j->server,
	    w);
	free(w);
}

/* End the way ssh ended: same status, or death by the same signal. */
static void __attribute__((noreturn))
mimic(int status)
{
	struct rlimit	rl = { 0, 0 };
	sigset_t	set;
	int		sig;

	if (WIFEXITED(status))
		exit(WEXITSTATUS(status));
	if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		(void)setrlimit(RLIMIT_CORE, &rl);	/* no core of ours */
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		exit(128 + sig);
	}
	exit(EXIT_SSHERR);
}

static void
clockstr(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M", &tm);
}

/*
 * The one-line refusal of SPEC's Messages section: why, when the next
 * attempt would pass anyway, and the two ways on that the user has.
 */
static void
refusal(const char *host, const char *server, const struct decision *d,
    time_t now)
{
	char	at[16], in[32], next[96] = "";

	if (d->until > now) {
		clockstr(d->until, at, sizeof(at));
		util_dur((long)(d->until - now), in, sizeof(in));
		snprintf(next, sizeof(next), "next attempt allowed at %s "
		    "(in %s); ", at, in);
	}
	fprintf(stderr, "safessh: %s (server %s): refused: %s; %s'safessh "
	    "--check %s' tries now, 'safessh --forget %s' clears the "
	    "history; see 'safessh --status %s'\n", host, server, d->why,
	    next, host, host, host);
}

/* Sleep ms milliseconds, resuming after signals that do not kill us. */
/* Wait until t, showing a countdown on a terminal (Ctrl-C aborts). */
static void
delay(const char *host, const char *server, const struct decision *d)
{
	time_t	now;
	char	in[32];
	int	tty = isatty(STDERR_FILENO);

	now = time(NULL);
	util_dur((long)(d->until - now), in, sizeof(in));
	if (!tty)
		fprintf(stderr, "safessh: %s (server %s): delaying %s: %s\n",
		    host, server, in, d->why);
	while ((now = time(NULL)) < d->until) {
		if (tty) {
			util_dur((long)(d->until - now), in, sizeof(in));
			fprintf(stderr, "\rsafessh: %s (server %s): waiting "
			    "%s: %s (Ctrl-C aborts)\033[K", host, server, in,
			    d->why);
		}
		util_msleep(d->until - now > 1 ? 1000 : 250);
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
}

/* The attempt as lib/attempt.c sees it. */
static void
request(struct job *j, int check, struct attreq *r)
{
	memset(r, 0, sizeof(*r));
	r->policy = j->hc.policy;
	r->host = j->host;
	r->who = j->who;
	r->port = j->pr.port;
	r->parallel = j->hc.parallel;
	r->check = check;
}

/*
 * Admit one attempt against the server's budget and state.  A delay
 * (the budget or the server's back-off recovers at a known time) is
 * waited out when on_risk = delay and it ends within max_delay of the
 * first try; a wait for attempts in flight is polled while it lasts
 * less than max_delay, and a wait for a parallel slot alone while other
 * attempts keep starting (no start for max_delay: refused), whatever
 * on_risk says, since a slot carries no risk.  check: the user's own
 * probe (--check).  Returns the attempt id, or exits 75 with the
 * refusal.
 */
static uint64_t
admit(struct job *j, struct ledger *lg, int check)
{
	struct attreq	 r;
	struct decision	 d;
	char		*cause = NULL;
	uint64_t	 id, newest = 0;
	time_t		 now, first = 0, moved = 0;
	long		 waitms = 20;
	int		 said = 0, late;

	request(j, check, &r);
	for (;;) {
		now = ledger_now(lg);
		if (first == 0)
			first = moved = now;
		if (attempt_admit(lg, &r, now, 0, &d, &id, &cause) == -1) {
			lwarn(j, lg);
			/* Admitted but not recorded (a full disk): ssh stays
			 * unrun, as for any error of ours. */
			if (d.verdict == V_ADMIT)
				die("%s", cause);
			fprintf(stderr, "safessh: %s (server %s): refused: %s\n",
			    j->host, j->server, cause);
			exit(j->hc.refused_status);
		}
		lwarn(j, lg);
		if (d.verdict == V_ADMIT) {
			j->shared = ledger_shared(lg);
			return id;
		}
		if (d.newest != newest) {
			newest = d.newest;
			moved = now;
		}
		switch (d.verdict) {
		case V_WAIT:
			late = d.slot ? now - moved > j->hc.max_delay :
			    j->hc.on_risk == ONRISK_REFUSE ||
			    now - first > j->hc.max_delay;
			break;
		case V_DELAY:
			late = j->hc.on_risk == ONRISK_REFUSE ||
			    d.until - first > j->hc.max_delay;
			break;
		default:
			late = 1;
			break;
		}
		if (late) {
			if (d.verdict == V_WAIT && d.until <= now)
				d.until = now + 1;
			refusal(j->host, j->server, &d, now);
			exit(j->hc.refused_status);
		}
		if (d.verdict == V_DELAY) {
			delay(j->host, j->server, &d);
			continue;
		}
		/* V_WAIT: attempts in flight settle within seconds. */
		if (!said && d.state) {
			fprintf(stderr, "safessh: %s (server %s): %s\n",
			    j->host, j->server, d.why);
			said = 1;
		}
		util_msleep(waitms + arc4random_uniform((uint32_t)waitms + 1));
		if (waitms < 200)
			waitms *= 2;
	}
}

/*
 * Record how attempt id ended and move the server's state; say so when
 * the server is refusing us.  Returns the settlement.
 */
static void
settle(struct job *j, struct ledger *lg, uint64_t id, enum rawout raw,
    int check, struct settlement *out)
{
	struct attreq	 r;
	char		*cause = NULL, at[16], step[32];
	long		 jitter;

	request(j, check, &r);
	jitter = SUSPECT_MINMS + (long)arc4random_uniform(
	    SUSPECT_MAXMS - SUSPECT_MINMS + 1);
	if (attempt_settle(lg, &r, id, raw, ledger_now(lg), jitter, out,
	    &cause) == -1) {
		lwarn(j, lg);
		fprintf(stderr, "safessh: %s (server %s): %s\n", j->host,
		    j->server, cause);
		free(cause);
	}
	lwarn(j, lg);
	if (out->closedport)
		fprintf(stderr, "safessh: %s (server %s): nothing listens on "
		    "port %d (other ports answer); not counted\n", j->host,
		    j->server, j->pr.port);
	if (!out->changed || out->st.state != SS_BLOCKED)
		return;
	clockstr(out->st.until, at, sizeof(at));
	util_dur(out->st.step, step, sizeof(step));
	fprintf(stderr, "safessh: %s (server %s): the server is refusing "
	    "this source (%s); no attempts until %s (back-off %s), then one "
	    "probe; see 'safessh --status %s'\n", j->host, j->server,
	    out->st.why, at, step, j->host);
}

static int
file_exists(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Point path at target, atomically (a temporary, then rename); 0 or -1. */
static int
linkto(const char *target, const char *path)
{
	char	 buf[PATH_MAX], tmp[PATH_MAX];
	ssize_t	 n;

	if ((n = readlink(path, buf, sizeof(buf) - 1)) >= 0) {
		buf[n] = '\0';
		if (strcmp(buf, target) == 0)
			return 0;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path,
	    (long)getpid()) >= sizeof(tmp))
		return -1;
	(void)unlink(tmp);
	if (symlink(target, tmp) == -1)
		return -1;
	if (rename(tmp, path) == -1) {
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* An absolute form of path (which need not exist) into out. */
static int
abspath(const char *path, char *out, size_t len)
{
	char	cwd[PATH_MAX];

	if (realpath(path, out) != NULL)
		return 0;
	if (path[0] == '/')
		return strlcpy(out, path, len) < len ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	return (size_t)snprintf(out, len, "%s/%s", cwd, path) < len ? 0 : -1;
}

/*
 * Hand ssh one public key and nothing else.  ssh offers IdentityFile K
 * and then, unasked, K-cert.pub; it reads K's public half from K.pub.
 * So, when a certificate is beside the key (and not wanted) or is the
 * one key (certificate =), ssh is given a private link L -> K under the
 * state directory, with L.pub -> K.pub (the plain key) or L.pub -> the
 * certificate (then the certificate is the only identity, and ssh signs
 * with K, or with the agent when it holds that certificate), and never
 * an L-cert.pub.  Exits when that cannot be done: the fallback would be
 * two keys.
 */
static void
shadow_key(struct job *j)
{
	char		 cert[PATH_MAX], dir[PATH_MAX], link[PATH_MAX];
	char		 pub[PATH_MAX], abskey[PATH_MAX], src[PATH_MAX];
	char		*cause;
	uint64_t	 h;

	strlcpy(j->keyarg, j->key, sizeof(j->keyarg));
	if (j->keypub) {
		/* Only K.pub is on disk: ssh takes it to pick the agent's. */
		if ((size_t)snprintf(j->keyarg, sizeof(j->keyarg), "%s.pub",
		    j->key) >= sizeof(j->keyarg))
			die("%s: identity %s: path too long", j->host, j->key);
	}
	src[0] = '\0';
	if (j->cert[0] != '\0') {
		if (abspath(j->cert, src, sizeof(src)) == -1)
			die("%s: certificate %s: path too long", j->host,
			    j->cert);
	} else {
		if ((size_t)snprintf(cert, sizeof(cert), "%s-cert.pub",
		    j->key) >= sizeof(cert) || !file_exists(cert))
			return;
		if ((size_t)snprintf(cert, sizeof(cert), "%s.pub", j->key) <
		    sizeof(cert) && file_exists(cert) &&
		    abspath(cert, src, sizeof(src)) == -1)
			src[0] = '\0';
	}
	if (abspath(j->key, abskey, sizeof(abskey)) == -1)
		die("%s: identity %s: path too long", j->host, j->key);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/keys", j->statedir) >=
	    sizeof(dir))
		die("%s: %s/keys: path too long", j->host, j->statedir);
	if (state_private(dir, 0, &cause) == -1)
		die("%s: %s", j->host, cause);
	/* Named after the key and what L.pub shows: links are reused. */
	h = util_fnv(UTIL_FNV0, abskey, strlen(abskey) + 1);
	h = util_fnv(h, src, strlen(src));
	if ((size_t)snprintf(link, sizeof(link), "%s/%016llx", dir,
	    (unsigned long long)h) >= sizeof(link) ||
	    (size_t)snprintf(pub, sizeof(pub), "%s.pub", link) >= sizeof(pub))
		die("%s: %s: path too long", j->host, dir);
	if (linkto(abskey, link) == -1 ||
	    (src[0] != '\0' && linkto(src, pub) == -1))
		die("%s: %s: %s", j->host, link, strerror(errno));
	if (src[0] == '\0')
		(void)unlink(pub);
	strlcpy(j->keyarg, link, sizeof(j->keyarg));
}

/* Is there a path.pub? */
static int
haspub(const char *path)
{
	char	pub[PATH_MAX];

	return (size_t)snprintf(pub, sizeof(pub), "%s.pub", path) <
	    sizeof(pub) && file_exists(pub);
}

/* Expand "~/" against the passwd home, as ssh does for -G's output. */
static void
expand_key(const char *in, char *out, size_t len)
{
	char	*t;

	if ((t = util_tilde(in)) == NULL)
		die("out of memory");
	strlcpy(out, t, len);
	free(t);
}

/*
 * The real ssh for host (its [host] ssh =, else the default) in j->ssh,
 * and its version in j->sshver (cached under the state directory).
 */
static void
ssh_grammar(struct job *j, const char *host)
{
	struct hostconf	 hc;
	char		*cause = NULL;

	if (conf_host(j->conf, host, &hc, &cause) == -1 ||
	    child_find_ssh(hc.ssh, j->ssh, sizeof(j->ssh), &cause) == -1 ||
	    sshconf_version(j->statedir, j->ssh, &j->sshver, &cause) == -1)
		die("%s", cause);
}

static int
has_jump(const struct sshcmd *cmd)
{
	size_t	i;

	for (i = 0; i < cmd->nopts; i++)
		if (cmd->opts[i].opt == 'J' &&
		    strcasecmp(cmd->opts[i].arg, "none") != 0)
			return 1;
	return 0;
}

/*
 * ssh runs a jump host (-J, ProxyJump) as "ARGV0 [-l user] [-p port]
 * [-J more] [-F config] -W '[%h]:%p' hop" through the shell, ARGV0 being
 * its own argv[0] (ssh.c, "Setup proxyjump"; OpenSSH 9.2 to 10.x).  So
 * ssh is run under the name of a link to safessh, called "ssh" so that
 * ssh's messages still say "ssh:", under the state directory: the hop is
 * then a connection safessh starts, with its own admission, key and
 * record.  The program run is still the real ssh (child_run_as).  The
 * path goes unquoted into a shell command, so it must hold no character
 * the shell treats.
 */
static void
jump_link(struct job *j)
{
	char		 self[PATH_MAX], dir[PATH_MAX], cur[PATH_MAX];
	char		 tmp[PATH_MAX], *v, *cause;
	const char	*p;
	ssize_t		 n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		die("%s: cannot find safessh itself for the jump host: %s",
		    j->host, strerror(errno));
	self[n] = '\0';
	if ((size_t)snprintf(dir, sizeof(dir), "%s/bin", j->statedir) >=
	    sizeof(dir) || (size_t)snprintf(j->jumpl, sizeof(j->jumpl),
	    "%s/ssh", dir) >= sizeof(j->jumpl))
		die("%s: state directory path too long", j->host);
	if (strspn(j->jumpl, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz0123456789/._+-") != strlen(j->jumpl))
		die("%s: the state directory %s holds characters a shell "
		    "command cannot carry unquoted; ssh could not run the "
		    "jump host through safessh (set SAFESSH_STATE_DIR)",
		    j->host, j->statedir);
	if (state_private(dir, 0, &cause) == -1)
		die("%s: %s", j->host, cause);
	/*
	 * A ProxyCommand of the user's that runs "ssh -W %h:%p hop" finds
	 * the same link first on PATH: that hop is safessh's too.  The
	 * hop's safessh skips the link when it looks for the real ssh.
	 */
	if ((p = getenv("PATH")) == NULL)
		p = "/usr/bin:/bin";
	if (strncmp(p, dir, strlen(dir)) != 0 || p[strlen(dir)] != ':') {
		if ((v = xstrfmt("%s:%s", dir, p)) == NULL ||
		    setenv("PATH", v, 1) == -1)
			die("out of memory");
		free(v);
	}
	if ((n = readlink(j->jumpl, cur, sizeof(cur) - 1)) > 0) {
		cur[n] = '\0';
		if (strcmp(cur, self) == 0)
			return;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.ssh.%ld", dir,
	    (long)getpid()) >= sizeof(tmp))
		die("%s: state directory path too long", j->host);
	(void)unlink(tmp);
	if (symlink(self, tmp) == -1 || rename(tmp, j->jumpl) == -1) {
		(void)unlink(tmp);
		die("%s: %s: %s", j->host, j->jumpl, strerror(errno));
	}
}

/* Where the certificate came from, for messages (static text). */
static const char *
certsrc(const struct job *j)
{
	static char	buf[PATH_MAX + 48];

	if (j->cmd.certificate != NULL)
		return "-o CertificateFile";
	snprintf(buf, sizeof(buf), "certificate = %sat %s",
	    j->hc.certauto && j->hc.certificate == NULL ? "auto " : "",
	    j->hc.certificate_at != NULL ? j->hc.certificate_at : "?");
	return buf;
}

/*
 * The certificate must be one of the key's: ssh would offer it, fail to
 * sign with the key, and the server would book a failed login.  Exits
 * when it is not; a key whose public half cannot be read here (an old
 * PEM file without its .pub) is left to ssh.
 */
static void
cert_matches(const struct job *j, const char *keypath)
{
	unsigned char	*cb = NULL, *kb = NULL;
	size_t		 cl = 0, kl = 0;
	char		 pub[PATH_MAX];
	int		 enc, ok = 1;

	if (agent_pubfile(j->cert, &cb, &cl) == -1)
		die("%s: certificate %s (%s): not a certificate file",
		    j->host, j->cert, certsrc(j));
	if (!j->keypub)
		(void)agent_keyfile(keypath, &enc, &kb, &kl);
	if (kb == NULL && (size_t)snprintf(pub, sizeof(pub), "%s.pub",
	    j->key) < sizeof(pub))
		(void)agent_pubfile(pub, &kb, &kl);
	if (kb != NULL)
		ok = agent_certof(cb, cl, kb, kl);
	free(cb);
	free(kb);
	if (!ok)
		die("%s: certificate %s (%s) is not a certificate of the key "
		    "%s (%s): ssh would offer it and fail", j->host, j->cert,
		    certsrc(j), j->key, j->keysrc);
}

/* A connection of its own needs the one key: exits without it. */
static void
require_key(struct job *j)
{
	char		 path[PATH_MAX];
	const char	*at;

	/* With password = yes a call may offer no key at all. */
	if (j->key[0] == '\0' && !j->hc.password)
		die("%s: no key: give -i, or set identity = in the [host] "
		    "section; safessh offers exactly one key", j->host);
	if (j->key[0] == '\0')
		return;
	if (j->keypub) {
		/* haspub() saw this fit. */
		if ((size_t)snprintf(path, sizeof(path), "%s.pub", j->key) >=
		    sizeof(path))
			die("%s: identity %s: path too long", j->host, j->key);
	} else
		strlcpy(path, j->key, sizeof(path));
	if (access(path, R_OK) == -1)
		die("%s: identity %s: %s", j->host, path, strerror(errno));
	/*
	 * access() passes a directory or a FIFO: ssh would then start a
	 * connection offering no key at all (a failed login on the
	 * server's books) or block reading the FIFO.  stat(), not open():
	 * opening a FIFO would block here.
	 */
	if (!file_exists(path))
		die("%s: identity %s: not a regular file", j->host, path);
	at = certsrc(j);
	if (j->cert[0] != '\0' && access(j->cert, R_OK) == -1)
		die("%s: certificate %s (%s): %s", j->host, j->cert, at,
		    strerror(errno));
	if (j->cert[0] != '\0' && !file_exists(j->cert))
		die("%s: certificate %s (%s): not a regular file", j->host,
		    j->cert, at);
	if (j->cert[0] != '\0')
		cert_matches(j, path);
}

/*
 * Everything before admission: config, ssh's config, the server, the
 * key.  Exits with a one-line error when something is wrong.
 */
static void
prepare(struct job *j, int argc, char **argv, int need_key)
{
	struct arglist	 g = { NULL, 0, 0 };
	struct rewrite	 rw;
	char		*cause = NULL;
	const char	*user, *pa;
	size_t		 i;
	time_t		 now = time(NULL);

	if ((j->conf = conf_new()) == NULL)
		die("out of memory");
	if (conf_load_default(j->conf, &cause) == -1 ||
	    ledger_statedir(j->statedir, sizeof(j->statedir), &cause) == -1)
		die("%s", cause);
	/*
	 * The command line is read with the installed ssh's grammar.  A
	 * line that every grammar refuses is refused before ssh is asked
	 * anything (not even its version).
	 */
	if (argv_parse_ver(argc, argv, 0, &j->cmd, &cause) == -1) {
		struct sshcmd	 c92;
		char		*c = NULL;

		if (argv_parse_ver(argc, argv, 902, &c92, &c) == -1)
			die("%s", cause);
		argv_free(&c92);
		free(c);
		free(cause);
		cause = NULL;
	} else
		argv_free(&j->cmd);
	ssh_grammar(j, "*");
	if (argv_parse_ver(argc, argv, j->sshver, &j->cmd, &cause) == -1)
		die("%s", cause);
	if (j->cmd.dest == NULL)
		usage("no destination");
	j->host = j->cmd.host;
	if (conf_host(j->conf, j->host, &j->hc, &cause) == -1)
		die("%s", cause);
	if (j->hc.ssh != NULL) {
		int	ver = j->sshver;

		ssh_grammar(j, j->host);	/* this host's own ssh */
		if (ver != j->sshver) {
			argv_free(&j->cmd);
			if (argv_parse_ver(argc, argv, j->sshver, &j->cmd,
			    &cause) == -1)
				die("%s", cause);
			j->host = j->cmd.host;
		}
	}
	/* A jump host's -F is our filtered copy: read the original. */
	{
		char	*orig = NULL;
		int	 r;

		if ((r = sshconf_unwrap(j->statedir, j->cmd.config,
		    &orig)) == -1 || (r == 1 &&
		    argv_set_config(&j->cmd, orig, &cause) == -1))
			die("%s", cause != NULL ? cause : "out of memory");
		free(orig);
	}

	/* The command line and the config must not disagree silently. */
	if (j->cmd.identity != NULL && j->hc.identity != NULL) {
		char	a[PATH_MAX], b[PATH_MAX];

		expand_key(j->cmd.identity, a, sizeof(a));
		expand_key(j->hc.identity, b, sizeof(b));
		if (strcmp(a, b) != 0)
			die("%s: -i %s conflicts with identity = %s (%s)",
			    j->host, j->cmd.identity, j->hc.identity,
			    j->hc.identity_at);
	}
	if (j->cmd.port != -1 && j->hc.port != 0 && j->cmd.port != j->hc.port)
		die("%s: port %d on the command line conflicts with "
		    "port = %d (%s)", j->host, j->cmd.port, j->hc.port,
		    j->hc.port_at);
	if (j->cmd.user != NULL && j->hc.user != NULL &&
	    strcmp(j->cmd.user, j->hc.user) != 0)
		die("%s: user %s on the command line conflicts with "
		    "user = %s (%s)", j->host, j->cmd.user, j->hc.user,
		    j->hc.user_at);

	if (sshconf_scan(j->statedir, j->cmd.config, &j->sc, &cause) == -1)
		die("%s", cause);

	/* What would ssh use?  (Cached: see sshconf.c.) */
	memset(&rw, 0, sizeof(rw));
	rw.hostname = j->hc.hostname;
	rw.port = j->hc.port;
	rw.user = j->hc.user;
	if (argv_build_probe(&j->cmd, &rw, j->ssh, &g, &cause) == -1)
		die("%s", cause);
	if (sshconf_probe(j->statedir, g.list, j->sc.stamp, !j->sc.dynamic,
	    now, &j->pr, &cause) == -1)
		die("%s: %s", j->host, cause);
	arglist_free(&g);
	if (j->pr.proxied || has_jump(&j->cmd))
		jump_link(j);

	if (j->hc.server != NULL)
		strlcpy(j->server, j->hc.server, sizeof(j->server));
	else
		strlcpy(j->server, j->pr.server, sizeof(j->server));

	/* The one key: -i, else identity =, else ssh's first that exists. */
	if (j->cmd.identity != NULL) {
		expand_key(j->cmd.identity, j->key, sizeof(j->key));
		strlcpy(j->keysrc, "-i", sizeof(j->keysrc));
	} else if (j->hc.identity != NULL) {
		expand_key(j->hc.identity, j->key, sizeof(j->key));
		snprintf(j->keysrc, sizeof(j->keysrc), "identity = at %s",
		    j->hc.identity_at);
	} else {
		for (i = 0; i < j->pr.nids; i++) {
			expand_key(j->pr.ids[i], j->key, sizeof(j->key));
			if (file_exists(j->key) ||
			    (j->hc.agent && haspub(j->key)))
				break;
			j->key[0] = '\0';
		}
		strlcpy(j->keysrc, "ssh's default order (no -i, no identity "
		    "=)", sizeof(j->keysrc));
	}
	pa = argv_option(&j->cmd, "PreferredAuthentications");
	j->nomethod = pa != NULL && pa[strspn(pa, ",")] == '\0';
	/*
	 * agent = yes and only KEY.pub on disk: the agent holds the private
	 * half, and ssh is handed the .pub to pick it.
	 */
	if (j->key[0] != '\0' && j->hc.agent && !file_exists(j->key) &&
	    haspub(j->key))
		j->keypub = 1;
	/*
	 * -o CertificateFile (taken out of the options: it is the one key
	 * then, as certificate = is), else certificate = PATH, or auto:
	 * KEY-cert.pub when it is there.
	 */
	if (j->cmd.certificate != NULL) {
		expand_key(j->cmd.certificate, j->cert, sizeof(j->cert));
		if (j->hc.certificate != NULL) {
			char	b[PATH_MAX];

			expand_key(j->hc.certificate, b, sizeof(b));
			if (strcmp(j->cert, b) != 0)
				die("%s: -o CertificateFile %s conflicts with "
				    "certificate = %s (%s)", j->host,
				    j->cmd.certificate, j->hc.certificate,
				    j->hc.certificate_at);
		}
	} else if (j->hc.certificate != NULL)
		strlcpy(j->cert, j->hc.certificate, sizeof(j->cert));
	else if (j->hc.certauto && j->key[0] != '\0' &&
	    (size_t)snprintf(j->cert, sizeof(j->cert), "%s-cert.pub",
	    j->key) < sizeof(j->cert) && !file_exists(j->cert))
		j->cert[0] = '\0';
	if (need_key)
		require_key(j);
	if (j->key[0] != '\0')
		shadow_key(j);

	user = j->cmd.user != NULL ? j->cmd.user : j->hc.user != NULL ?
	    j->hc.user : j->pr.user;
	/* A key path too long for the record is cut: still one key. */
	/* Proofs are as narrow as bans are wide: user, key, address, port. */
	if ((size_t)snprintf(j->who, sizeof(j->who), "%s %s %s:%d", user,
	    j->cert[0] != '\0' ? j->cert : j->key, j->server, j->pr.port) >=
	    sizeof(j->who))
		j->who[sizeof(j->who) - 1] = '\0';
}

/*
 * Build ssh's argv for the job; localcmd may be NULL.  mux: for a mux
 * client of a live master (share_argv), which starts no master and
 * connects nowhere, so -J goes (ssh refuses it beside the guard's
 * ProxyCommand).
 */
static void
build_as(struct job *j, const char *localcmd, int mux, struct arglist *out)
{
	struct rewrite	 rw;
	char		*cause = NULL;

	memset(&rw, 0, sizeof(rw));
	rw.identity = j->keyarg[0] != '\0' ? j->keyarg : NULL;
	rw.hostname = j->hc.hostname;
	rw.user = j->hc.user;
	rw.port = j->hc.port;
	rw.connect_timeout = j->hc.connect_timeout;
	rw.password = j->hc.password;
	rw.agent = j->hc.agent;
	rw.localcmd = localcmd;
	/* --check: one careful attempt, no prompt, one harmless command. */
	rw.batch = j->check;
	rw.command = j->check ? "true" : NULL;
	rw.sshconfig = j->sc.path[0] != '\0' ? j->sc.path : NULL;
	if (j->cmarg != NULL && !mux) {
		rw.controlpath = j->cmarg;
		rw.controlpersist = j->hc.reuse;
	}
	rw.nojump = mux;
	if (argv_build(&j->cmd, &rw, j->jumpl[0] != '\0' ? j->jumpl : j->ssh,
	    out, &cause) == -1)
		die("%s", cause);
}

static void
build(struct job *j, const char *localcmd, struct arglist *out)
{
	build_as(j, localcmd, 0, out);
}

/* The LocalCommand that tells the ledger the attempt authenticated. */
static char *
notice_cmd(struct job *j, uint64_t id)
{
	char	 self[PATH_MAX], esc[2 * PATH_MAX];
	ssize_t	 n;
	size_t	 i, k = 0;

	/*
	 * The user's own LocalCommand stays, and then the attempt counts as
	 * in flight until ssh ends.  A bare "PermitLocalCommand=no" (scp and
	 * sftp pass it, to keep a chatty LocalCommand off their stream) does
	 * not stop ours: it is silent, and ours comes first.
	 */
	if (j->sc.localcmd || argv_option(&j->cmd, "LocalCommand") != NULL)
		return NULL;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return NULL;
	self[n] = '\0';
	/* Single-quoted for the shell; '%' doubled for ssh's expansion. */
	for (i = 0; self[i] != '\0' && k < sizeof(esc) - 8; i++) {
		if (self[i] == '\'')
			return NULL;
		if (self[i] == '%')
			esc[k++] = '%';
		esc[k++] = self[i];
	}
	esc[k] = '\0';
	if (strchr(j->server, '%') != NULL)
		return NULL;
	/* A shared ledger's notice finds it through the host's config. */
	if (j->shared && j->host != NULL && j->host[0] != '-' &&
	    strpbrk(j->host, "%'") == NULL)
		return xstrfmt("'%s' --authed %s %llu '%s'", esc, j->server,
		    (unsigned long long)id, j->host);
	return xstrfmt("'%s' --authed %s %llu", esc, j->server,
	    (unsigned long long)id);
}

struct scanarg {
	struct scan	scan;
};

static void
online(void *arg, const char *line, size_t len)
{
	outcome_line(&((struct scanarg *)arg)->scan, line, len);
}

/* The user's -E log file, where ssh writes its messages instead. */
static const char *
logfile(const struct sshcmd *cmd)
{
	const char	*f = NULL;
	size_t		 i;

	for (i = 0; i < cmd->nopts; i++)
		if (cmd->opts[i].opt == 'E' && f == NULL)
			f = cmd->opts[i].arg;
	return f;
}

/* Did the user silence ssh's messages (-q, LogLevel QUIET)? */
static int
quiet(const struct sshcmd *cmd)
{
	const char	*ll;
	size_t		 i;

	for (i = 0; i < cmd->nopts; i++)
		if (cmd->opts[i].opt == 'q')
			return 1;
	ll = argv_option(cmd, "LogLevel");
	return ll != NULL && strncasecmp(ll, "quiet", 5) == 0;
}

/*
 * After a failed login: one line naming the key offered and where that
 * choice came from (-i, identity = at file:line, ssh's default order).
 */
static void
keynote(const struct job *j)
{
	if (quiet(&j->cmd) || j->key[0] == '\0')
		return;
	if (j->cert[0] != '\0')
		fprintf(stderr, "safessh: %s: the key offered was certificate "
		    "%s of %s (%s; %s)\n", j->host, j->cert, j->key,
		    j->keysrc, certsrc(j));
	else
		fprintf(stderr, "safessh: %s: the key offered was %s%s (%s)\n",
		    j->host, j->key, j->keypub ? ".pub, from the agent" : "",
		    j->keysrc);
}

/* The size of path now (0 when it does not exist yet). */
static off_t
logsize(const char *path)
{
	struct stat	st;

	return path != NULL && stat(path, &st) == 0 ? st.st_size : 0;
}

/*
 * Feed the lines ssh appended to its -E log since off (at most the
 * last 64 KiB) to the scan.  Best effort: what cannot be read is left
 * to default-deny.
 */
static void
logscan(const char *path, off_t off, struct scanarg *sa)
{
	char	 buf[65536], *p, *nl;
	off_t	 end;
	ssize_t	 n;
	int	 fd;

	if (path == NULL || (fd = open(path, O_RDONLY | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return;
	end = logsize(path);
	if (end - off > (off_t)sizeof(buf) - 1)
		off = end - (off_t)sizeof(buf) + 1;
	if (end > off && (n = pread(fd, buf, sizeof(buf) - 1, off)) > 0) {
		buf[n] = '\0';
		for (p = buf; p < buf + n; p = nl + 1) {
			if ((nl = memchr(p, '\n', buf + n - p)) == NULL)
				nl = buf + n;
			online(sa, p, (size_t)(nl - p));
		}
	}
	close(fd);
}

/*
 * Connection reuse (lib/reuse.c): find this call's master.  Returns 1
 * with *pid when a master answers (ours, or the one of the user's own
 * ControlPath): the call rides on it, unadmitted.  Otherwise 0; when
 * the call may start our master, j->cmarg is set for build() and a note
 * says which server it serves (unless dryrun).
 */
static int
share_find(struct job *j, int dryrun, pid_t *pid)
{
	char	 id[ATTEMPT_WHOLEN + 1400], *cause = NULL;

	*pid = 0;
	reuse_plan(&j->cmd, &j->pr, j->hc.reuse, &j->rp);
	if (j->rp.way == RU_NONE)
		return 0;
	if (j->rp.way == RU_USER)
		strlcpy(j->cmpath, j->rp.userpath, sizeof(j->cmpath));
	else {
		/* One master per account, key and server. */
		snprintf(id, sizeof(id), "%s %s:%d %s", j->who,
		    j->pr.hostname, j->pr.port, j->server);
		if (reuse_path(j->statedir, id, j->cmpath, sizeof(j->cmpath),
		    &cause) == -1) {
			fprintf(stderr, "safessh: %s: no connection reuse: "
			    "%s\n", j->host, cause);
			free(cause);
			j->rp.way = RU_NONE;
			return 0;
		}
	}
	if (j->rp.check &&
	    reuse_alive(j->cmpath, j->rp.way == RU_OURS, 3000, pid))
		return 1;
	if (j->rp.way == RU_OURS && j->rp.create && j->cmarg == NULL) {
		if ((j->cmarg = reuse_escape(j->cmpath)) == NULL)
			die("out of memory");
		if (!dryrun && reuse_note(j->statedir, j->cmpath, j->server,
		    j->host, &cause) == -1)
			free(cause);	/* only --status and --forget miss it */
	}
	return 0;
}

/*
 * The argv of a mux client of the master at j->cmpath: ControlMaster=no,
 * and a guard ProxyCommand ("--mux-lost nonce") in case the master dies
 * before ssh reaches it, so that ssh can never fall back to a direct,
 * unadmitted connection.  -J goes (ssh refuses it with a ProxyCommand;
 * a mux client never connects anyway).  0, or -1 when no guard can be
 * built (safessh's path holds a quote): then do not ride.
 */
static int
share_argv(struct job *j, const char *nonce, struct arglist *av)
{
	char		 self[PATH_MAX], *guard;
	ssize_t		 n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return -1;
	self[n] = '\0';
	if ((guard = reuse_guard(self, nonce)) == NULL)
		return -1;
	memset(av, 0, sizeof(*av));
	build_as(j, NULL, 1, av);
	if (reuse_muxargs(av, j->cmpath, guard) == -1)
		die("out of memory");
	free(guard);
	return 0;
}

/*
 * After --check: say what the probe found, and whether anything still
 * stands between the user and the next call (with the same key).
 */
static void
checked(struct job *j, struct ledger *lg, const struct settlement *st)
{
	struct attreq	 r;
	struct decision	 d;
	char		*cause = NULL, at[16];
	uint64_t	 id;
	time_t		 now = ledger_now(lg);

	if (st->outcome != OUT_OK) {
		fprintf(stderr, "safessh: %s (server %s): check failed (%s); "
		    "see 'safessh --status %s'\n", j->host, j->server,
		    outcome_name(st->outcome), j->host);
		return;
	}
	request(j, 0, &r);
	if (attempt_admit(lg, &r, now, 1, &d, &id, &cause) == -1) {
		fprintf(stderr, "safessh: %s (server %s): check passed; %s\n",
		    j->host, j->server, cause);
		free(cause);
		return;
	}
	if (d.verdict == V_ADMIT || d.verdict == V_WAIT) {
		fprintf(stderr, "safessh: %s (server %s): check passed; the "
		    "server is ok and calls with this key are admitted\n",
		    j->host, j->server);
		return;
	}
	clockstr(d.until, at, sizeof(at));
	fprintf(stderr, "safessh: %s (server %s): check passed; the server "
	    "is ok, but calls are still refused until %s: %s; 'safessh "
	    "--forget %s' clears the history\n", j->host, j->server,
	    d.until ? at : "the user acts", d.why, j->host);
}

/* The wrapper: admit, run ssh, record, retry only what cannot hurt. */
static void __attribute__((noreturn))
mode_wrap(int argc, char **argv, int check)
{
	struct job	 j;
	struct ledger	*lg;
	struct arglist	 av;
	struct settlement st;
	struct scanarg	 sa;
	char		*cause = NULL, *lc;
	const char	*elog;
	uint64_t	 id;
	enum rawout	 raw;
	off_t		 logoff;
	int		 status, tries = 0;
	pid_t		 mpid;

	memset(&j, 0, sizeof(j));
	hop_start();		/* a hop: tell the wrapper first */
	prepare(&j, argc, argv, 0);
	/* Riding the user's own live master needs no key of ours. */
	reuse_plan(&j.cmd, &j.pr, j.hc.reuse, &j.rp);
	if (check || j.rp.way != RU_USER)
		require_key(&j);
	if (ledger_open_conf(&lg, j.statedir, j.server, &j.hc, &cause) == -1)
		die("%s", cause);
	if (setenv("SAFESSH_STATE_DIR", j.statedir, 1) == -1)
		die("setenv: %s", strerror(errno));

	/*
	 * A live master: no connection, no authentication, so no admission,
	 * no record, no parallel slot.  If the master went away before ssh
	 * reached it, the guard left its marker and nothing ran: go on as a
	 * new attempt.  --check always makes a connection of its own.
	 */
	if (!check && share_find(&j, 0, &mpid)) {
		char	nonce[17];

		reuse_nonce(nonce, sizeof(nonce));
		if (share_argv(&j, nonce, &av) == 0) {
			/* The guard may end this ssh (mode_muxlost). */
			setenv("SAFESSH_MUXGUARD", nonce, 1);
			if (child_run_as(j.ssh, av.list, NULL, NULL, &status,
			    &cause) == -1)
				die("%s", cause);
			unsetenv("SAFESSH_MUXGUARD");
			arglist_free(&av);
			if (!reuse_lost(j.statedir, nonce, 1)) {
				ledger_close(lg);
				mimic(status);
			}
			(void)share_find(&j, 0, &mpid);
		}
	}
	require_key(&j);

	if (check && j.cmd.ncmd != 0)
		usage("--check takes only a host");
	j.check = check;
	elog = logfile(&j.cmd);
	for (;;) {
		id = admit(&j, lg, check);
		hop_note(j.statedir, j.server, id);
		attempt_env(&j, id);	/* for --proxy and jump hosts */
		memset(&av, 0, sizeof(av));
		lc = notice_cmd(&j, id);
		/*
		 * ssh runs LocalCommand with $SHELL; the notice needs no more
		 * than sh, which starts in a fraction of bash's time.  Left
		 * alone when the user's config runs commands of its own
		 * (LocalCommand, ProxyCommand, Match exec), which were
		 * written for $SHELL.
		 */
		if (lc != NULL && !j.pr.proxied && !j.sc.dynamic)
			setenv("SHELL", "/bin/sh", 1);
		build(&j, lc, &av);
		free(lc);
		memset(&sa, 0, sizeof(sa));
		outcome_init(&sa.scan);
		logoff = logsize(elog);
		if (child_run_as(j.ssh, av.list, online, &sa, &status,
		    &cause) == -1) {
			settle(&j, lg, id, RAW_NET, check, &st);
			die("%s", cause);
		}
		arglist_free(&av);
		logscan(elog, logoff, &sa);
		/* authed: the notice, which settle reads from the ledger. */
		raw = outcome_classify(&sa.scan, status, 0);
		/* A hop that failed: the destination saw nothing. */
		if (!hops_reached(&j, id))
			raw = RAW_NET;
		/* ssh tried no method (ssh-copy-id's probe): no login failed. */
		if (raw == RAW_AUTHFAIL && j.nomethod)
			raw = RAW_NOAUTH;
		settle(&j, lg, id, raw, check, &st);
		if (st.outcome == OUT_AUTHFAIL || st.outcome == OUT_UNKNOWN)
			keynote(&j);
		if (check)
			checked(&j, lg, &st);
		if (!st.retry || check || tries >= j.hc.retries)
			break;
		/* A suspected overload (G3): the one retry, after back-off. */
		tries++;
		fprintf(stderr, "safessh: %s (server %s): %s with no recent "
		    "failures (server busy?); one retry in %lds\n", j.host,
		    j.server, st.st.why, (long)(st.st.until - time(NULL)));
		/* Its own back-off, whatever on_risk says: then the probe. */
		while (time(NULL) < st.st.until)
			util_msleep(250);
	}
	ledger_close(lg);
	mimic(status);
}

static void __attribute__((noreturn))
mode_dryrun(int argc, char **argv)
{
	struct job	 j;
	struct ledger	*lg;
	struct arglist	 av = { NULL, 0, 0 };
	struct decision	 d;
	struct attreq	 r;
	char		*cause = NULL, *q;
	char		 at[16];
	uint64_t	 id;
	pid_t		 mpid;

	memset(&j, 0, sizeof(j));
	prepare(&j, argc, argv, 1);
	if (ledger_open_conf(&lg, j.statedir, j.server, &j.hc, &cause) == -1)
		die("%s", cause);
	if (share_find(&j, 1, &mpid) &&
	    share_argv(&j, "0000000000000000", &av) == 0) {
		if ((q = arglist_quote(av.list, av.num)) == NULL)
			die("out of memory");
		printf("%s\n", q);
		printf("server: %s\n", j.server);
		printf("reuse: master pid %ld at %s\n", (long)mpid, j.cmpath);
		printf("decision: ride on the master: not admitted, not "
		    "counted\n");
		free(q);	/* LeakSanitizer: nothing left at exit */
		exit(0);
	}
	q = notice_cmd(&j, 0);
	build(&j, q, &av);
	free(q);
	if ((q = arglist_quote(av.list, av.num)) == NULL)
		die("out of memory");
	printf("%s\n", q);
	free(q);
	printf("server: %s\n", j.server);
	if (j.cmarg != NULL)
		printf("reuse: no master yet; this call starts one at %s "
		    "(ControlPersist %lds)\n", j.cmpath, j.hc.reuse);
	else if (j.rp.way != RU_NONE)
		printf("reuse: no master at %s\n", j.cmpath);
	request(&j, 0, &r);
	if (j.hc.policy != NULL) {
		struct history	h;
		struct policy	eff;
		char		line[512];

		if (ledger_lock(lg, &h, ledger_now(lg), &cause) == -1)
			die("%s", cause);
		ledger_unlock(lg);
		learn_policy(j.hc.policy, &h.lr, &eff);
		history_free(&h);
		learn_rules(&eff, line, sizeof(line));
		printf("policy %s\n", line);
	}
	if (attempt_admit(lg, &r, ledger_now(lg), 1, &d, &id, &cause) == -1)
		die("%s", cause);
	lwarn(&j, lg);
	if (j.hc.ledger != NULL) {
		char	line[1024];

		ledger_describe(lg, line, sizeof(line));
		printf("ledger: %s\n", line);
	}
	switch (d.verdict) {
	case V_ADMIT:
		printf("decision: admit%s%s\n", d.proven ? " (key proven)" : "",
		    d.probe ? " (as the server's probe)" : "");
		break;
	case V_WAIT:
		printf("decision: wait: %s\n", d.why);
		break;
	case V_DELAY:
	case V_REFUSE:
		clockstr(d.until, at, sizeof(at));
		printf("decision: %s until %s: %s\n",
		    d.verdict == V_DELAY ? "delay" : "refuse",
		    d.until ? at : "the user acts", d.why);
		break;
	}
	exit(0);
}

/* Find the server for a host without needing a key (status, forget). */
static void
hostserver(struct job *j, const char *host)
{
	char	*args[2];

	args[0] = (char *)host;
	args[1] = NULL;
	prepare(j, 1, args, 0);
}

/*
 * --forget closes the masters safessh started for the server (reuse);
 * a live master of the user's own ControlPath is theirs and stays.
 */
static void
forget_masters(struct job *j, int probed)
{
	struct reuseplan rp;
	char		*cause = NULL;
	size_t		 n;
	pid_t		 pid;

	if (reuse_close(j->statedir, j->server, &n, &cause) == -1) {
		fprintf(stderr, "safessh: %s (server %s): %s\n", j->host,
		    j->server, cause);
		free(cause);
	} else if (n > 0)
		fprintf(stderr, "safessh: %s (server %s): closed %zu shared "
		    "connection%s\n", j->host, j->server, n, n == 1 ? "" : "s");
	if (!probed)
		return;
	reuse_plan(&j->cmd, &j->pr, 0, &rp);
	if (rp.way == RU_USER && reuse_alive(rp.userpath, 0, 1000, &pid))
		fprintf(stderr, "safessh: %s: your own master (pid %ld, "
		    "ControlPath %s) stays open; 'ssh -O exit %s' closes it\n",
		    j->host, (long)pid, rp.userpath, j->host);
}

/* --status: the live masters of server (NULL: all), one line each. */
static void
status_masters(const char *statedir, const char *server, struct job *j)
{
	struct reuseplan rp;
	struct master	*ms;
	char		*cause = NULL;
	size_t		 n, i;
	pid_t		 pid;

	if (reuse_masters(statedir, server, &ms, &n, &cause) == -1) {
		printf("live masters: %s\n", cause);
		free(cause);
		return;
	}
	for (i = 0; i < n; i++)
		printf("live master: server %s, host %s, pid %ld, socket %s\n",
		    ms[i].server, ms[i].host, (long)ms[i].pid, ms[i].path);
	free(ms);
	if (j == NULL)
		return;
	reuse_plan(&j->cmd, &j->pr, 0, &rp);
	if (rp.way == RU_USER && reuse_alive(rp.userpath, 0, 1000, &pid))
		printf("live master: server %s, host %s, pid %ld, socket %s "
		    "(your ControlPath)\n", j->server, j->host, (long)pid,
		    rp.userpath);
}

static void __attribute__((noreturn))
mode_forget(int argc, char **argv)
{
	struct job	 j;
	char		*cause = NULL, **sv, *warn = NULL;
	size_t		 n, i;
	int		 found = 0, limits = 0, r, kept = 0;

	if (argc > 0 && strcmp(argv[0], "--limits") == 0) {
		limits = 1;
		argc--;
		argv++;
	}
	if (argc != 1)
		usage("--forget takes one host");
	memset(&j, 0, sizeof(j));
	/* The ledger of [defaults] (and [host *]), for a server name. */
	if ((j.conf = conf_new()) == NULL)
		die("out of memory");
	if (conf_load_default(j.conf, &cause) == -1 ||
	    conf_host(j.conf, "*", &j.hc, &cause) == -1)
		die("%s", cause);
	/* A server name as --status shows it, or a host. */
	if (ledger_statedir(j.statedir, sizeof(j.statedir), &cause) == 0 &&
	    ledger_list(j.statedir, &j.hc, &sv, &n, &warn, &cause) == 0) {
		for (i = 0; i < n; i++) {
			if (strcmp(sv[i], argv[0]) == 0)
				found = 1;
			free(sv[i]);
		}
		free(sv);
		free(warn);
	}
	free(cause);
	cause = NULL;
	if (found) {
		j.host = argv[0];
		strlcpy(j.server, argv[0], sizeof(j.server));
	} else {
		conf_free(j.conf);
		hostserver(&j, argv[0]);
	}
	forget_masters(&j, !found);
	/* A shared ledger's history goes for every machine. */
	if (j.hc.ledger != NULL) {
		struct ledger	*lg;

		if (ledger_open_conf(&lg, j.statedir, j.server, &j.hc,
		    &cause) == -1)
			die("%s", cause);
		if (ledger_shared(lg) && (kept = ledger_wipe(lg, limits,
		    &cause)) == -1) {
			/* This machine's files are cleared all the same;
			 * the message says the store's history is not. */
			if ((limits ? ledger_forget_limits(j.statedir,
			    j.server, &warn) : ledger_forget(j.statedir,
			    j.server, &warn)) == -1)
				free(warn);
			die("%s", cause);
		}
		ledger_close(lg);
	}
	r = limits ? ledger_forget_limits(j.statedir, j.server, &cause) :
	    ledger_forget(j.statedir, j.server, &cause);
	if (r != -1 && kept == 1)
		r = 1;
	if (r == -1)
		die("%s", cause);
	if (limits)
		fprintf(stderr, "safessh: %s (server %s): history and learned "
		    "limits cleared\n", j.host, j.server);
	else if (r == 1)
		fprintf(stderr, "safessh: %s (server %s): history cleared; "
		    "the limits learned from its bans stay ('safessh --forget "
		    "--limits %s' drops them)\n", j.host, j.server, j.host);
	else
		fprintf(stderr, "safessh: %s (server %s): history cleared\n",
		    j.host, j.server);
	exit(0);
}

/* Is name one of the comma-separated names in list? */
static int
listed(const char *list, const char *name)
{
	size_t	n = strlen(name);
	const char *p;

	for (p = list; *p != '\0'; p++) {
		if ((p == list || p[-1] == ',') && strncmp(p, name, n) == 0 &&
		    (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

/*
 * A shared ledger's row: which machines (client ids) made the attempts
 * it holds, newest first: "clients: build7-3fa2c1d0 4 (last 14:05
 * authfail), ...".
 */
static void
status_clients(const struct history *h)
{
	char		 line[1024] = "", item[160], at[16];
	const char	*seen[8];
	size_t		 nseen = 0, i, k, n;
	int		 count;

	for (i = h->natt; i-- > 0 && nseen < 8;) {
		const struct attempt *a = &h->att[i];
		const char *c = a->client[0] != '\0' ? a->client : "?";

		for (k = 0; k < nseen; k++)
			if (strcmp(seen[k], c) == 0)
				break;
		if (k < nseen)
			continue;
		seen[nseen++] = c;
		for (count = 0, n = 0; n < h->natt; n++)
			if (strcmp(h->att[n].client[0] != '\0' ?
			    h->att[n].client : "?", c) == 0)
				count++;
		clockstr(a->end > a->start ? a->end : a->start, at,
		    sizeof(at));
		snprintf(item, sizeof(item), "%s%s %d (last %s %s)",
		    line[0] != '\0' ? ", " : "", c, count, at,
		    outcome_name(a->outcome));
		strlcat(line, item, sizeof(line));
	}
	if (nseen > 0)
		printf("    clients: %s\n", line);
}

/* One --status row, and the server's state under it when not ok. */
static void
status_row(const char *statedir, const char *server,
    const struct hostconf *hc, time_t now, char *backend, size_t blen)
{
	const struct policy *pol = hc->policy;
	int		 parallel = hc->parallel;
	long		 maxdelay = hc->max_delay;
	struct ledger	*lg;
	struct history	 h;
	struct decision	 d;
	struct attreq	 r;
	struct srvstate	 st;
	struct policy	 eff;
	char		*cause = NULL, hosts[64] = "", last[16] = "-";
	char		 state[64], next[32], pen[16], line[512];
	size_t		 i;
	int		 inflight = 0;
	time_t		 lastok = 0;

	if (ledger_open_conf(&lg, statedir, server, hc, &cause) == 0 &&
	    hc->ledger != NULL)
		now = ledger_now(lg);	/* the store's clock */
	if (lg == NULL || ledger_lock(lg, &h, now, &cause) == -1) {
		printf("%-20s %s\n", server, cause);
		free(cause);
		if (lg != NULL && backend != NULL)
			ledger_describe(lg, backend, blen);
		ledger_close(lg);
		return;
	}
	if (backend != NULL)
		ledger_describe(lg, backend, blen);
	if ((cause = ledger_warning(lg)) != NULL) {
		fprintf(stderr, "safessh: server %s: %s\n", server, cause);
		free(cause);
		cause = NULL;
	}
	for (i = 0; i < h.natt; i++) {
		const struct attempt *a = &h.att[i];

		if (a->outcome == OUT_INFLIGHT)
			inflight++;
		if ((a->outcome == OUT_OK || a->outcome == OUT_AUTH) &&
		    a->end > lastok)
			lastok = a->end;
		if (!listed(hosts, a->host) &&
		    strlen(hosts) + strlen(a->host) + 2 < sizeof(hosts)) {
			if (hosts[0] != '\0')
				strlcat(hosts, ",", sizeof(hosts));
			strlcat(hosts, a->host, sizeof(hosts));
		}
	}
	if (lastok != 0)
		clockstr(lastok, last, sizeof(last));
	memset(&r, 0, sizeof(r));
	r.policy = pol;
	r.who = "";
	r.host = "";
	r.parallel = parallel;
	attempt_decide(&r, &h, now, &d);
	attempt_state(&h, now, &st);
	snprintf(pen, sizeof(pen), "%.0fs", policy_penalty(pol, &h, now));
	strlcpy(next, "now", sizeof(next));
	switch (d.verdict) {
	case V_ADMIT:
		strlcpy(state, st.state == SS_OK ? "ok" : "probe allowed",
		    sizeof(state));
		break;
	case V_WAIT:
		strlcpy(state, d.state ? "probing" : "busy", sizeof(state));
		break;
	case V_DELAY:
	case V_REFUSE:
		if (d.until == 0) {
			strlcpy(state, "refusing", sizeof(state));
			strlcpy(next, "after --forget", sizeof(next));
			break;
		}
		clockstr(d.until, next, sizeof(next));
		snprintf(state, sizeof(state), "%s until %s", d.state ?
		    sstate_name(st.state) : d.until - now > maxdelay ?
		    "refusing" : "delaying", next);
		break;
	}
	printf("%-20s %-20s %-6s %4d %7s %8d  %-24s %s\n", server,
	    hosts[0] ? hosts : "-", last,
	    policy_failures(&h, policy_horizon(pol), now), pen, inflight,
	    state, next);
	if (st.state != SS_OK) {
		attempt_describe(&h, now, line, sizeof(line));
		printf("    %s\n", line);
	}
	/* The policy in force, and what the server's bans taught. */
	if (pol != NULL) {
		learn_policy(pol, &h.lr, &eff);
		learn_rules(&eff, line, sizeof(line));
		printf("    policy %s\n", line);
	}
	if (learn_any(&h.lr)) {
		learn_describe(&h.lr, line, sizeof(line));
		printf("    %s\n", line);
	}
	if (ledger_shared(lg))
		status_clients(&h);
	ledger_unlock(lg);
	ledger_close(lg);
	history_free(&h);
}

static void __attribute__((noreturn))
mode_status(int argc, char **argv)
{
	struct job	 j;
	struct conf	*conf;
	struct hostconf	 hc;
	char		 statedir[PATH_MAX], *cause = NULL, **sv, *warn;
	char		 backend[1024] = "";
	size_t		 n, i;
	int		 fallen = 0;
	time_t		 now = time(NULL);

	if (argc > 1)
		usage("--status takes at most one host");
	printf("%-20s %-20s %-6s %4s %7s %8s  %-24s %s\n", "SERVER", "HOSTS",
	    "LASTOK", "FAIL", "PENALTY", "INFLIGHT", "STATE", "NEXT");
	if (argc == 1) {
		memset(&j, 0, sizeof(j));
		hostserver(&j, argv[0]);
		status_row(j.statedir, j.server, &j.hc, now, backend,
		    sizeof(backend));
		status_masters(j.statedir, j.server, &j);
		printf("ledger: %s\n", backend);
		exit(0);
	}
	if ((conf = conf_new()) == NULL)
		die("out of memory");
	if (conf_load_default(conf, &cause) == -1 ||
	    conf_host(conf, "*", &hc, &cause) == -1 ||
	    ledger_statedir(statedir, sizeof(statedir), &cause) == -1 ||
	    ledger_list(statedir, &hc, &sv, &n, &warn, &cause) == -1)
		die("%s", cause);
	if (warn != NULL) {
		struct ledgerurl u;
		const char	*why;
		char		 url[512] = "the shared ledger";

		fprintf(stderr, "safessh: %s\n", warn);
		free(warn);
		if (ledgerurl_parse(hc.ledger, &u, &why) == 0)
			ledgerurl_show(&u, url, sizeof(url));
		explicit_bzero(&u, sizeof(u));
		hc.ledger = NULL;	/* the store failed: local rows */
		snprintf(backend, sizeof(backend), "local files (%.400s/"
		    "servers), as %.500s failed", statedir, url);
		fallen = 1;
	}
	for (i = 0; i < n; i++) {
		status_row(statedir, sv[i], &hc, now, fallen ? NULL : backend,
		    sizeof(backend));
		free(sv[i]);
	}
	free(sv);
	status_masters(statedir, NULL, NULL);
	if (backend[0] == '\0') {
		struct ledgerurl u;
		const char	*why;

		if (hc.ledger != NULL &&
		    ledgerurl_parse(hc.ledger, &u, &why) == 0) {
			ledgerurl_show(&u, backend, sizeof(backend));
			strlcat(backend, " (shared)", sizeof(backend));
			explicit_bzero(&u, sizeof(u));
		} else
			snprintf(backend, sizeof(backend), "local files (%.900s/"
			    "servers)", statedir);
	}
	printf("ledger: %s\n", backend);
	/* Freed, not left to exit: LeakSanitizer fails the run otherwise. */
	conf_free(conf);
	exit(0);
}

/*
 * Nested safessh processes.  The wrapper puts its attempt in
 * SAFESSH_ATTEMPT as "ID PID PORT HOSTNAME SERVER" for what ssh runs.
 * A --proxy for that very host and port, below that very process, is
 * the wrapper's own connection (it must not count twice); anything else
 * (a jump host, a user's "ProxyCommand ssh -W", a --proxy for another
 * host) is a new attempt, which tells the wrapper about itself in the
 * attempt's hop file (hop_note, hops_reached).
 */
struct parentatt {
	unsigned long long id;
	long		 pid;
	int		 port;
	char		 host[1026];
	char		 server[256];
};

/* Is pid an ancestor of this process (a few levels up)? */
static int
ancestor(long pid)
{
	char	 path[64], buf[512], *p;
	long	 cur = (long)getppid();
	int	 fd, i;
	ssize_t	 n;

	for (i = 0; i < 16 && cur > 1; i++) {
		if (cur == pid)
			return 1;
		snprintf(path, sizeof(path), "/proc/%ld/stat", cur);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			return 0;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return 0;
		buf[n] = '\0';
		/* "pid (comm) state ppid ...": comm may hold anything. */
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %ld", &cur) != 1)
			return 0;
	}
	return 0;
}

/* The wrapper's attempt this process runs under, if any: 1 or 0. */
static int
parent_attempt(struct parentatt *pa)
{
	const char	*env = getenv("SAFESSH_ATTEMPT");
	int		 off = 0;

	memset(pa, 0, sizeof(*pa));
	if (env == NULL || sscanf(env, "%llu %ld %d %1025s %n", &pa->id,
	    &pa->pid, &pa->port, pa->host, &off) != 4 || off == 0 ||
	    env[off] == '\0')
		return 0;
	strlcpy(pa->server, env + off, sizeof(pa->server));
	return ancestor(pa->pid);
}

/* Before anything else, a hop notes that it started (see hops_reached). */
static void
hop_start(void)
{
	struct parentatt pa;
	char		 dir[PATH_MAX], *cause = NULL;

	if (!parent_attempt(&pa))
		return;
	if (ledger_statedir(dir, sizeof(dir), &cause) == -1) {
		free(cause);
		return;
	}
	hop_note(dir, NULL, 0);
}

/* Am I the --proxy of my wrapper's own attempt to host port? */
static int
proxy_of_parent(const char *host, int port)
{
	struct parentatt pa;

	return parent_attempt(&pa) && pa.port == port &&
	    strcasecmp(pa.host, host) == 0;
}

/* Announce attempt id to what ssh runs. */
static void
attempt_env(struct job *j, uint64_t id)
{
	char	*v;

	if ((v = xstrfmt("%llu %ld %d %s %s", (unsigned long long)id,
	    (long)getpid(), j->pr.port, j->pr.hostname[0] != '\0' ?
	    j->pr.hostname : "-", j->server)) == NULL ||
	    setenv("SAFESSH_ATTEMPT", v, 1) == -1)
		die("out of memory");
	free(v);
}

/* The hop file of the parent's attempt. */
static int
hop_file(const char *statedir, const char *server, unsigned long long id,
    char *path, size_t len)
{
	char		buf[300];
	uint64_t	h;

	snprintf(buf, sizeof(buf), "%s %llu", server, id);
	h = util_fnv(UTIL_FNV0, buf, strlen(buf));
	return (size_t)snprintf(path, len, "%s/hops-%016llx", statedir,
	    (unsigned long long)h) < len ? 0 : -1;
}

/*
 * A new attempt under a wrapper's attempt (a hop): note "start" when
 * it begins, then "SERVER ID" once admitted, in the parent's hop file.
 */
static void
hop_note(const char *statedir, const char *server, uint64_t id)
{
	struct parentatt pa;
	char		 path[PATH_MAX], *line;
	int		 fd;

	if (!parent_attempt(&pa) || hop_file(statedir, pa.server, pa.id,
	    path, sizeof(path)) == -1)
		return;
	line = server == NULL ? xstrfmt("start\n") : xstrfmt("%llu %s\n",
	    (unsigned long long)id, server);
	if (line == NULL)
		return;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) != -1) {
		(void)write(fd, line, strlen(line));
		close(fd);
	}
	free(line);
}

/*
 * Did the connection of attempt id get past its hops?  With a jump host
 * (or a hop that announced itself) the destination is reached only when
 * every hop authenticated; otherwise the destination saw nothing of it,
 * whatever ssh printed (the hop's own messages come on ssh's stderr).
 * The hop file is removed.
 */
static int
hops_reached(struct job *j, uint64_t id)
{
	struct ledger	*hl;
	struct history	 h;
	FILE		*fp;
	char		 path[PATH_MAX], line[400], *cause = NULL, *sp;
	unsigned long long hid;
	size_t		 i;
	int		 starts = 0, ids = 0, ok = 1, authed;

	if (hop_file(j->statedir, j->server, id, path, sizeof(path)) == -1)
		return 1;
	if ((fp = fopen(path, "re")) == NULL)
		return !j->pr.jump;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "start") == 0) {
			starts++;
			continue;
		}
		if ((sp = strchr(line, ' ')) == NULL)
			continue;
		*sp++ = '\0';
		ids++;
		hid = strtoull(line, NULL, 10);
		authed = 0;
		if (ledger_open_conf(&hl, j->statedir, sp, &j->hc,
		    &cause) == 0) {
			if (ledger_lock(hl, &h, time(NULL), &cause) == 0) {
				for (i = 0; i < h.natt; i++)
					if (h.att[i].id == hid &&
					    (h.att[i].outcome == OUT_AUTH ||
					    h.att[i].outcome == OUT_OK))
						authed = 1;
				ledger_unlock(hl);
				history_free(&h);
			}
			ledger_close(hl);
		}
		free(cause);
		cause = NULL;
		ok &= authed;
	}
	fclose(fp);
	(void)unlink(path);
	return ok && ids > 0 && ids >= starts;
}

/* ProxyCommand mode. */
struct proxyctx {
	struct job	*j;
	struct ledger	*lg;
	uint64_t	 id;
	int		 nested;	/* under the wrapper: it records */
	int		 banner;
	int		 authed;
	int		 authfail;
	int		 notallowed;
	int		 prebanner;
	int		 userauth;
	int		 manykeys;
};

static void
onproxy(void *arg, enum proxyev ev)
{
	struct proxyctx	*px = arg;
	char		*cause = NULL;

	switch (ev) {
	case PEV_BANNER:
		px->banner = 1;
		break;
	case PEV_NOTALLOWED:
		px->notallowed = 1;
		/* The wrapper reads this line from ssh's stderr. */
		fprintf(stderr, "safessh: %s: server said \"Not allowed at "
		    "this time\"\n", px->j->host);
		break;
	case PEV_PREBANNER:
		px->prebanner = 1;
		break;
	case PEV_AUTHED:
		px->authed = 1;
		if (!px->nested && attempt_authed(px->lg, px->id,
		    ledger_now(px->lg), &cause) == -1)
			free(cause);
		break;
	case PEV_AUTHFAIL:
		px->authfail = 1;
		break;
	case PEV_USERAUTH:
		px->userauth = 1;
		break;
	case PEV_MANYKEYS:
		px->manykeys = 1;
		break;
	case PEV_CLOSED:
		break;
	}
}

static void __attribute__((noreturn))
mode_proxy(int argc, char **argv)
{
	struct job	 j;
	struct ledger	*lg = NULL;
	struct settlement st;
	struct proxyctx	 px;
	const char	*why;
	char		*cause = NULL;
	enum rawout	 raw;
	int		 fd, port;

	if (argc != 2)
		usage("--proxy takes a host and a port");
	if (!argv_valid_host(argv[0], &why))
		die("%s", why);
	if (!argv_valid_port(argv[1], &port, &why))
		die("%s", why);
	memset(&j, 0, sizeof(j));
	memset(&px, 0, sizeof(px));
	j.host = argv[0];
	if ((j.conf = conf_new()) == NULL)
		die("out of memory");
	if (conf_load_default(j.conf, &cause) == -1 ||
	    conf_host(j.conf, j.host, &j.hc, &cause) == -1 ||
	    ledger_statedir(j.statedir, sizeof(j.statedir), &cause) == -1)
		die("%s", cause);
	px.j = &j;
	px.nested = proxy_of_parent(argv[0], port);
	if (!px.nested) {
		/* The server as the wrapper names it, without ssh -G. */
		if (j.hc.server != NULL)
			strlcpy(j.server, j.hc.server, sizeof(j.server));
		else
			sshconf_server(argv[0], 0, j.server,
			    sizeof(j.server));
		/*
		 * The proxy cannot see the key: no credential, so no proof
		 * (every attempt reserves its full cost).
		 */
		j.who[0] = '\0';
		j.pr.port = port;
		if (ledger_open_conf(&lg, j.statedir, j.server, &j.hc,
		    &cause) == -1)
			die("%s", cause);
		px.lg = lg;
		px.id = admit(&j, lg, 0);
	}
	if (proxy_connect(argv[0], argv[1], j.hc.connect_timeout, &fd, &raw,
	    &cause) == -1) {
		fprintf(stderr, "safessh: %s\n", cause);
		if (!px.nested)
			settle(&j, lg, px.id, raw, 0, &st);
		exit(EXIT_SSHERR);
	}
	/*
	 * ssh sends SIGHUP as it exits, paramiko SIGTERM: the relay takes
	 * either as the end; after it, nothing may cut the record short.
	 */
	if (!px.nested) {
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
	}
	if (proxy_relay(fd, STDIN_FILENO, STDOUT_FILENO, onproxy, &px,
	    &cause) == -1)
		fprintf(stderr, "safessh: %s\n", cause);
	if (!px.nested) {
		if (px.notallowed)
			raw = RAW_NOTALLOWED;
		else if (px.prebanner)
			raw = RAW_PREBANNER;
		else if (px.authed)
			raw = RAW_OK;
		else if (px.authfail || px.userauth)
			raw = RAW_AUTHFAIL;	/* the worst it could be */
		else if (!px.banner)
			raw = RAW_TIMEOUT;	/* ssh gave up before a banner */
		else
			raw = RAW_NOAUTH;
		settle(&j, lg, px.id, raw, 0, &st);
		if (px.manykeys)
			fprintf(stderr, "safessh: %s (server %s): the client "
			    "offered several keys in one connection (one "
			    "failed login on the server's books); give it one "
			    "key (IdentitiesOnly=yes, look_for_keys=False)\n",
			    j.host, j.server);
	}
	exit(0);
}

/* Audit the setup; exit 0 when nothing is wrong, 1 when something is. */
static void __attribute__((noreturn))
mode_doctor(int argc, char **argv)
{
	struct job	 j;
	struct doctor	 d;
	char		*cause = NULL, *report;
	int		 problems;

	if (argc > 1)
		usage("--doctor takes at most one host");
	memset(&j, 0, sizeof(j));
	memset(&d, 0, sizeof(d));
	if (argc == 1) {
		hostserver(&j, argv[0]);	/* as the wrapper sees it */
		d.host = j.host;
		d.hc = &j.hc;
		d.server = j.server;
		d.key = j.key;
		d.cert = j.cert;
	} else {
		if ((j.conf = conf_new()) == NULL)
			die("out of memory");
		if (conf_load_default(j.conf, &cause) == -1 ||
		    conf_host(j.conf, "*", &j.hc, &cause) == -1 ||
		    ledger_statedir(j.statedir, sizeof(j.statedir),
		    &cause) == -1 ||
		    child_find_ssh(j.hc.ssh, j.ssh, sizeof(j.ssh),
		    &cause) == -1 ||
		    sshconf_scan(j.statedir, NULL, &j.sc, &cause) == -1)
			die("%s", cause);
	}
	d.conf = j.conf;
	d.sc = &j.sc;
	d.ssh = j.ssh;
	d.statedir = j.statedir;
	d.now = time(NULL);
	if (doctor_report(&d, &report, &problems, &cause) == -1)
		die("--doctor: %s", cause);
	fputs(report, stdout);
	free(report);
	exit(problems > 0 ? 1 : 0);
}

/*
 * Run by ssh as the ProxyCommand of a mux client whose master went away
 * or refused the session (sshd's MaxSessions) before ssh could use it
 * (see share_argv): leave the marker the wrapper looks for and fail
 * before anything reaches the network.  Under our own wrapper (its
 * nonce in the environment) the ssh that ran us is ended at once, so
 * that it does not add its own "connection closed" lines.
 */
static void __attribute__((noreturn))
mode_muxlost(int argc, char **argv)
{
	char		 statedir[PATH_MAX], *cause = NULL;
	const char	*env = getenv("SAFESSH_MUXGUARD");

	if (argc == 1 &&
	    ledger_statedir(statedir, sizeof(statedir), &cause) == 0 &&
	    reuse_lost(statedir, argv[0], 0) == 0) {
		fprintf(stderr, "safessh: the shared connection is gone or "
		    "full; connecting afresh\n");
		if (env != NULL && strcmp(env, argv[0]) == 0)
			kill(getppid(), SIGKILL);
	}
	free(cause);
	exit(1);
}

static void __attribute__((noreturn))
mode_authed(int argc, char **argv)
{
	struct ledger	*lg;
	struct conf	*conf = NULL;
	struct hostconf	 hc, *hcp = NULL;
	char		 statedir[PATH_MAX], *cause = NULL;
	unsigned long long id;
	const char	*errstr;

	/* Run by ssh as LocalCommand: silent whatever happens. */
	if (argc != 2 && argc != 3)
		exit(0);
	id = strtonum(argv[1], 1, LLONG_MAX, &errstr);
	if (errstr != NULL)
		exit(0);
	/* A third argument: the host whose shared ledger admitted it. */
	if (argc == 3 && (conf = conf_new()) != NULL &&
	    conf_load_default(conf, &cause) == 0 &&
	    conf_host(conf, argv[2], &hc, &cause) == 0)
		hcp = &hc;
	if (ledger_statedir(statedir, sizeof(statedir), &cause) == -1 ||
	    ledger_open_conf(&lg, statedir, argv[0], hcp, &cause) == -1 ||
	    attempt_authed(lg, id, ledger_now(lg), &cause) == -1)
		exit(0);
	ledger_close(lg);
	conf_free(conf);
	exit(0);
}

/*
 * Edit distance between a and b counting a swap of two neighbours as
 * one edit (--stauts is one from --status); strings of up to 31.
 */
static size_t
typos(const char *a, const char *b)
{
	size_t	d[32][32], la = strlen(a), lb = strlen(b), i, j, c, m;

	if (la >= 32 || lb >= 32)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			c = a[i - 1] != b[j - 1];
			m = d[i - 1][j - 1] + c;
			if (d[i - 1][j] + 1 < m)
				m = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < m)
				m = d[i - 2][j - 2] + 1;
			d[i][j] = m;
		}
	}
	return d[la][lb];
}

/* An option safessh does not know: name it, offer the closest mode. */
static void __attribute__((noreturn))
unknown(const char *opt)
{
	char	 why[160];
	size_t	 i, best = NUSERMODES, dist, bestdist = 3;

	for (i = 0; i < NUSERMODES; i++) {
		if ((dist = typos(opt, modes[i].name)) < bestdist) {
			bestdist = dist;
			best = i;
		}
	}
	/* Truncation only shortens the echo of a silly argument. */
	if (best < NUSERMODES)
		(void)snprintf(why, sizeof(why), "unknown option %s "
		    "(did you mean %s?)", opt, modes[best].name);
	else
		(void)snprintf(why, sizeof(why), "unknown option %s", opt);
	usage(why);
}

/*
 * The arguments of --status, --check, --forget, --doctor, --proxy are
 * hosts (and a port): an option there is a mistake, caught before the
 * mode prints anything.
 */
static void
hostargs(const char *mode, int argc, char **argv)
{
	char	why[160];
	int	i;

	for (i = 0; i < argc; i++) {
		if (argv[i][0] != '-')
			continue;
		(void)snprintf(why, sizeof(why), "%s: unknown option %s",
		    mode, argv[i]);
		usage(why);
	}
}

/*
 * -G -V -Q -O (and -Z where the installed ssh has it) go straight to
 * ssh, touching nothing: the line is read with the installed ssh's
 * grammar and nothing in it is checked, so that ssh answers exactly as
 * it would (git runs "ssh -G" on every fetch).  Returns when the line is
 * not one of those.
 */
static void
passthru(int argc, char **argv)
{
	struct conf	*conf;
	struct hostconf	 hc;
	char		*cause = NULL, ssh[PATH_MAX], dir[PATH_MAX];
	const char	*sshcfg = NULL;
	int		 ver = 0, pt;

	if ((conf = conf_new()) != NULL &&
	    conf_load_default(conf, &cause) == 0 &&
	    conf_host(conf, "*", &hc, &cause) == 0)
		sshcfg = hc.ssh;
	free(cause);
	cause = NULL;
	/* The grammars differ in -P and -Z only: most lines need no version. */
	pt = argv_passthru(argc, argv, 0);
	if (pt == argv_passthru(argc, argv, 902) &&
	    pt == argv_passthru(argc, argv, 1004)) {
		if (pt == 0) {
			if (conf != NULL)
				conf_free(conf);
			return;
		}
		ver = -1;
	}
	if (child_find_ssh(sshcfg, ssh, sizeof(ssh), &cause) == -1)
		die("%s", cause);
	if (ver == -1)
		goto run;
	/*
	 * The version is cached in the state directory if there is one;
	 * none is made here (ledger_statedir would create it).
	 */
	if (state_path(dir, sizeof(dir), &cause) == -1) {
		free(cause);
		snprintf(dir, sizeof(dir), "/nonexistent");
	}
	if (sshconf_version(dir, ssh, &ver, &cause) == -1)
		die("%s", cause);
	if (conf != NULL)
		conf_free(conf);
	if (argv_passthru(argc, argv, ver) == 0)
		return;
 run:
	argv[-1] = ssh;
	execv(ssh, argv - 1);
	die("cannot run %s: %s", ssh, strerror(errno));
}

int
main(int argc, char *argv[])
{
	enum mode	 mode = M_WRAP;
	size_t		 i;

	if (argc < 2)
		usage(NULL);		/* as ssh does with no arguments */
	if (strncmp(argv[1], "--", 2) == 0 && argv[1][2] != '\0') {
		for (i = 0; i < NMODES; i++)
			if (strcmp(argv[1], modes[i].name) == 0)
				break;
		if (i == NMODES)
			unknown(argv[1]);
		mode = modes[i].mode;
		if (mode == M_DRYRUN) {
			/* ssh's options follow, never one of ours. */
			if (argc > 2 && strncmp(argv[2], "--", 2) == 0 &&
			    argv[2][2] != '\0')
				hostargs(argv[1], 1, argv + 2);
		} else if (mode == M_FORGET && argc > 2 &&
		    strcmp(argv[2], "--limits") == 0)
			hostargs(argv[1], argc - 3, argv + 3);
		else if (mode != M_AUTHED && mode != M_MUXLOST)
			hostargs(argv[1], argc - 2, argv + 2);
		argc -= 2;
		argv += 2;
	} else {
		argc--;
		argv++;
	}

	switch (mode) {
	case M_AUTHED:
		mode_authed(argc, argv);
	case M_MUXLOST:
		mode_muxlost(argc, argv);
	case M_VERSION:
		printf("safessh %s\n", SAFESSH_VERSION);
		exit(0);
	case M_HELP:
		help();
	case M_PROXY:
		mode_proxy(argc, argv);
	case M_STATUS:
		mode_status(argc, argv);
	case M_FORGET:
		mode_forget(argc, argv);
	case M_DRYRUN:
		mode_dryrun(argc, argv);
	case M_CHECK:
		if (argc != 1)
			usage("--check takes one host");
		mode_wrap(argc, argv, 1);
	case M_DOCTOR:
		mode_doctor(argc, argv);
	case M_WRAP:
		break;
	}
	passthru(argc, argv);
	mode_wrap(argc, argv, 0);
}
