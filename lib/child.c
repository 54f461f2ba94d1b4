/*
 * child.c: find the real ssh, run it, and stay invisible while it runs.
 *
 * ssh gets our stdin and stdout as they are.  Its stderr comes through a
 * pipe so that safessh can read its messages: every byte is written on
 * to our stderr as soon as it arrives, unchanged and in order, and the
 * lines are also handed to a callback for classification.  Signals sent
 * to safessh by another process are passed on; signals the terminal sends
 * to the whole process group already reach ssh and are not sent twice.
 * When ssh stops (~^Z), safessh stops too, so the shell regains control.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safessh.h"

#define LINEMAX	4096

static int	sigpipe_w = -1;
static int	noted;		/* this process set SAFESSH_EXEC */
static pid_t	child_pid = -1;

static const int fwdsigs[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH,
	SIGALRM, SIGCONT
};
#define NFWD	(sizeof(fwdsigs) / sizeof(fwdsigs[0]))

/* Note the ssh this process runs, for looped() in the ones it starts. */
static int
note_exec(const char *ssh, char **cause)
{
	char	*v;

	if ((v = xstrfmt("%ld %s", (long)getpid(), ssh)) == NULL ||
	    setenv("SAFESSH_EXEC", v, 1) == -1) {
		free(v);
		*cause = xstrfmt("out of memory");
		return -1;
	}
	free(v);
	noted = 1;
	return 0;
}

/* Is the file at path the program that is running now? */
static int
is_self(const char *path)
{
	struct stat	a, b;

	if (stat(path, &a) == -1 || stat("/proc/self/exe", &b) == -1)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Did the safessh that chose its ssh start us as that ssh?  It notes
 * "PID PATH" in SAFESSH_EXEC; the ssh it runs is that very process (an
 * exec: "exec safessh" in a shim) or its child (a fork).  A hop run by
 * the real ssh is a grandchild, and so not a loop.
 */
static int
looped(char *path, size_t len)
{
	const char	*env, *sp, *errstr;
	char		 num[32];
	long long	 pid;
	size_t		 n;

	if ((env = getenv("SAFESSH_EXEC")) == NULL ||
	    (sp = strchr(env, ' ')) == NULL ||
	    (n = (size_t)(sp - env)) >= sizeof(num))
		return 0;
	memcpy(num, env, n);
	num[n] = '\0';
	pid = strtonum(num, 1, INT_MAX, &errstr);
	if (errstr != NULL || (pid != getpid() && pid != getppid()))
		return 0;
	strlcpy(path, sp + 1, len);
	return 1;
}

/*
 * Choose the real ssh: $SAFESSH_SSH, else configured, else the first
 * executable "ssh" on PATH that is not safessh itself (so that safessh
 * installed as ~/bin/ssh never runs itself).  An "ssh" that turns out to
 * run safessh again (a shim script "exec safessh") is a loop: refused
 * with its name.  The choice is noted in SAFESSH_EXEC for that check.
 * 0, or -1 with *cause.
 */
int
child_find_ssh(const char *configured, char *buf, size_t len, char **cause)
{
	const char	*env, *path, *p, *e;
	char		 loop[PATH_MAX];
	size_t		 n;

	if (!noted && looped(loop, sizeof(loop))) {
		*cause = xstrfmt("loop: %s, run as the real ssh, runs safessh "
		    "again; set SAFESSH_SSH (or ssh = in the config) to the "
		    "real ssh", loop);
		return -1;
	}
	if ((env = getenv("SAFESSH_SSH")) != NULL && *env != '\0')
		configured = env;
	if (configured != NULL) {
		if (strlcpy(buf, configured, len) >= len) {
			*cause = xstrfmt("ssh path too long");
			return -1;
		}
		if (access(buf, X_OK) == -1) {
			*cause = xstrfmt("cannot run ssh %s: %s", buf,
			    strerror(errno));
			return -1;
		}
		if (is_self(buf)) {
			*cause = xstrfmt("ssh %s is safessh itself", buf);
			return -1;
		}
		return note_exec(buf, cause);
	}
	if ((path = getenv("PATH")) == NULL || *path == '\0')
		path = "/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e == '\0' ? e : e + 1) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || n + 5 >= len)
			continue;
		memcpy(buf, p, n);
		memcpy(buf + n, "/ssh", 5);
		if (access(buf, X_OK) == 0 && !is_self(buf))
			return note_exec(buf, cause);
	}
	*cause = xstrfmt("no ssh found on PATH (set SAFESSH_SSH)");
	return -1;
}

static void
onsig(int sig, siginfo_t *si, void *uc)
{
	int		 save = errno;
	unsigned char	 c = (unsigned char)sig;

	(void)uc;
	/*
	 * Pass on what another process sent to safessh; what the terminal
	 * sent (SI_KERNEL) went to ssh as well, being in our process group.
	 */
	if (sig != SIGCHLD && child_pid > 0 && si != NULL &&
	    si->si_code <= 0 && si->si_pid != child_pid)
		kill(child_pid, sig);
	if (sigpipe_w != -1)
		(void)write(sigpipe_w, &c, 1);
	errno = save;
}

static int
writeall(int fd, const char *p, size_t n)
{
	ssize_t	r;

	while (n > 0) {
		if ((r = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

struct pump {
	child_line_cb	*cb;
	void		*arg;
	char		 line[LINEMAX];
	size_t		 len;
	int		 out_ok;
};

/* Pass a chunk on to stderr and hand complete lines to the callback. */
static void
pump(struct pump *pu, const char *p, size_t n)
{
	size_t	i;

	if (pu->out_ok && writeall(STDERR_FILENO, p, n) == -1)
		pu->out_ok = 0;	/* our stderr is gone; keep reading */
	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (pu->cb != NULL)
				pu->cb(pu->arg, pu->line, pu->len);
			pu->len = 0;
		} else if (pu->len < sizeof(pu->line) - 1)
			pu->line[pu->len++] = p[i];
	}
}

static void
pump_end(struct pump *pu)
{
	if (pu->len > 0 && pu->cb != NULL)
		pu->cb(pu->arg, pu->line, pu->len);
	pu->len = 0;
}

/* Read what the pipe holds now; 1 at EOF, 0 otherwise. */
static int
drain(int fd, struct pump *pu)
{
	char	buf[8192];
	ssize_t	r;

	for (;;) {
		r = read(fd, buf, sizeof(buf));
		if (r > 0) {
			pump(pu, buf, (size_t)r);
			continue;
		}
		if (r == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : 1;
	}
}

/*
 * Run argv[0] (a path) with argv, no shell.  ssh's stderr is passed on
 * byte for byte and each of its lines is given to cb.  On return
 * *wstatus holds ssh's wait status.  0, or -1 with *cause when ssh could
 * not be started.  Signal handlers are restored before returning.
 */
int
child_run(char *const argv[], child_line_cb *cb, void *arg, int *wstatus,
    char **cause)
{
	return child_run_as(argv[0], argv, cb, arg, wstatus, cause);
}

/*
 * As child_run(), running the program at path with argv as given: ssh
 * sees argv[0], which it uses to run a jump host (see safessh.c).
 */
int
child_run_as(const char *path, char *const argv[], child_line_cb *cb,
    void *arg, int *wstatus, char **cause)
{
	struct sigaction	 sa, osa[NFWD], ochld, opipe;
	sigset_t		 all, omask;
	struct pump		 pu;
	struct pollfd		 pfd[2];
	int			 errp[2], execp[2], sigp[2];
	int			 eof = 0, done = 0, err, status = 0;
	ssize_t			 r;
	unsigned char		 c;
	size_t			 i;
	pid_t			 pid, w;

	memset(&pu, 0, sizeof(pu));
	pu.cb = cb;
	pu.arg = arg;
	pu.out_ok = 1;

	if (pipe2(errp, O_CLOEXEC) == -1 || pipe2(execp, O_CLOEXEC) == -1 ||
	    pipe2(sigp, O_CLOEXEC | O_NONBLOCK) == -1) {
		*cause = xstrfmt("pipe: %s", strerror(errno));
		return -1;
	}

	/* Handlers in place before fork, so no signal is lost or fatal. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &omask);
	sigpipe_w = sigp[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = onsig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NFWD; i++)
		sigaction(fwdsigs[i], &sa, &osa[i]);
	/* No SA_NOCLDSTOP: a stopped ssh must stop us too. */
	sigaction(SIGCHLD, &sa, &ochld);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &opipe);

	if ((pid = fork()) == -1) {
		err = errno;
		*cause = xstrfmt("fork: %s", strerror(err));
		goto restore_fail;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (i = 0; i < NFWD; i++)
			sigaction(fwdsigs[i], &osa[i], NULL);
		sigaction(SIGCHLD, &ochld, NULL);
		sigaction(SIGPIPE, &opipe, NULL);
		sigprocmask(SIG_SETMASK, &omask, NULL);
		if (dup2(errp[1], STDERR_FILENO) == -1)
			_exit(127);
		execv(path, argv);
		err = errno;
		(void)write(execp[1], &err, sizeof(err));
		_exit(127);
	}
	child_pid = pid;
	close(errp[1]);
	close(execp[1]);
	sigprocmask(SIG_SETMASK, &omask, NULL);

	/* The exec pipe closes on a successful exec, or carries errno. */
	do {
		r = read(execp[0], &err, sizeof(err));
	} while (r == -1 && errno == EINTR);
	close(execp[0]);
	if (r == (ssize_t)sizeof(err)) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		*cause = xstrfmt("cannot run %s: %s", path, strerror(err));
		close(errp[0]);
		goto restore_fail2;
	}

	while (!done) {
		pfd[0].fd = eof ? -1 : errp[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = sigp[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		if (!eof && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			char	buf[8192];

			r = read(errp[0], buf, sizeof(buf));
			if (r > 0)
				pump(&pu, buf, (size_t)r);
			else if (r == 0 || (errno != EINTR && errno != EAGAIN))
				eof = 1;
		}
		while (read(sigp[0], &c, 1) == 1)
			;	/* any signal: look at the child */
		for (;;) {
			w = waitpid(pid, &status, WNOHANG | WUNTRACED);
			if (w == -1 && errno == EINTR)
				continue;
			break;
		}
		if (w == pid && WIFSTOPPED(status)) {
			/* ssh suspended itself (~^Z): do the same. */
			raise(SIGSTOP);
			kill(pid, SIGCONT);
			continue;
		}
		if (w == pid)
			done = 1;
		else if (w == -1 && errno == ECHILD)
			break;
	}
	/*
	 * ssh has exited: take what its pipe holds now, but do not wait
	 * for EOF, which a backgrounded ControlPersist master may delay.
	 */
	if (!eof) {
		(void)fcntl(errp[0], F_SETFL, O_NONBLOCK);
		drain(errp[0], &pu);
	}
	pump_end(&pu);
	close(errp[0]);
	*wstatus = status;
	child_pid = -1;
	sigpipe_w = -1;
	for (i = 0; i < NFWD; i++)
		sigaction(fwdsigs[i], &osa[i], NULL);
	sigaction(SIGCHLD, &ochld, NULL);
	sigaction(SIGPIPE, &opipe, NULL);
	close(sigp[0]);
	close(sigp[1]);
	return 0;

 restore_fail:
	close(errp[1]);
	close(execp[1]);
	close(errp[0]);
	close(execp[0]);
 restore_fail2:
	child_pid = -1;
	sigpipe_w = -1;
	for (i = 0; i < NFWD; i++)
		sigaction(fwdsigs[i], &osa[i], NULL);
	sigaction(SIGCHLD, &ochld, NULL);
	sigaction(SIGPIPE, &opipe, NULL);
	sigprocmask(SIG_SETMASK, &omask, NULL);
	close(sigp[0]);
	close(sigp[1]);
	return -1;
}

/*
 * Run argv (argv[0] a path) with stdin from /dev/null and stderr ours
 * (/dev/null with CAPTURE_QUIET, captured too with CAPTURE_STDERR) and
 * collect its standard output: 0 with *text
 * (allocated, NUL-terminated; the caller frees) and its wait status in
 * *wstatus, or -1 with *cause when it could not be run or read.
 */
int
child_capture(char *const argv[], int how, char **text, int *wstatus,
    char **cause)
{
	struct buf	 out = { NULL, 0, 0 };
	char		 buf[4096];
	ssize_t		 r;
	pid_t		 pid;
	int		 p[2], devnull, status, nomem = 0;

	*text = NULL;
	*wstatus = -1;
	/* Opened before fork: only dup2, execv and _exit in the child. */
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		*cause = xstrfmt("/dev/null: %s", strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		*cause = xstrfmt("pipe: %s", strerror(errno));
		close(devnull);
		return -1;
	}
	if ((pid = fork()) == -1) {
		*cause = xstrfmt("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		close(devnull);
		return -1;
	}
	if (pid == 0) {
		if (dup2(devnull, STDIN_FILENO) == -1 ||
		    ((how & CAPTURE_QUIET) &&
		    dup2(devnull, STDERR_FILENO) == -1) ||
		    ((how & CAPTURE_STDERR) &&
		    dup2(p[1], STDERR_FILENO) == -1) ||
		    dup2(p[1], STDOUT_FILENO) == -1)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	close(devnull);
	while ((r = read(p[0], buf, sizeof(buf))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!nomem && buf_add(&out, buf, (size_t)r) == -1)
			nomem = 1;	/* read on: the child must not block */
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (nomem || (out.p == NULL && (out.p = strdup("")) == NULL)) {
		free(out.p);
		*cause = xstrfmt("out of memory");
		return -1;
	}
	if (status == -1) {
		free(out.p);
		*cause = xstrfmt("%s: %s", argv[0], strerror(errno));
		return -1;
	}
	*text = out.p;
	*wstatus = status;
	return 0;
}
