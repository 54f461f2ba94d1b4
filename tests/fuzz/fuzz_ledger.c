/*
 * fuzz_ledger.c: libFuzzer target for the ledger reader (ledger.c) and
 * the policy arithmetic that reads its history (policy.c).
 *
 * Each input is written as a server's ledger file in a private state
 * directory (under /dev/shm when writable), then locked and read.  The
 * server is the one its header names when that is a valid server name
 * (so that names up to the 255-byte limit are tried), else "srv".  A
 * damaged file must give a cause and stay byte for byte as it was
 * (G6).  A file that parses is then used the way safessh uses it: the
 * policy decides on it, an attempt is begun and settled (which may
 * compact the file), and the result must read back without damage, with
 * the new attempt in it.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safessh.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A fixed clock: inputs are reproducible, and seeds are written near it. */
#define NOW	((time_t)1800000000)

static char		 dir[256], file[600];
static struct conf	*conf;

#define HDR	"safessh-ledger 1 "

/* The server the header names, if any, into buf (at most len - 1). */
static const char *
server(const uint8_t *data, size_t size, char *buf, size_t len)
{
	size_t	 n, i;

	n = sizeof(HDR) - 1;
	if (size <= n || memcmp(data, HDR, n) != 0)
		return "srv";
	for (i = 0; n + i < size && data[n + i] != '\n'; i++) {
		if (i + 1 >= len || data[n + i] == '\0' || data[n + i] == '/')
			return "srv";
		buf[i] = (char)data[n + i];
	}
	buf[i] = '\0';
	return buf;
}

static void
setup(void)
{
	const char	*base;
	char		 sub[300];

	base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_ledger.%ld", base, (long)getpid());
	snprintf(sub, sizeof(sub), "%s/servers", dir);
	if ((mkdir(dir, 0700) == -1 && access(dir, F_OK) != 0) ||
	    (mkdir(sub, 0700) == -1 && access(sub, F_OK) != 0))
		abort();
	if ((conf = conf_new()) == NULL)
		abort();
}

/* The whole file, or NULL if there is none; *len set. */
static char *
slurp(size_t *len)
{
	FILE	*fp;
	char	*p = NULL;
	long	 n;

	*len = 0;
	if ((fp = fopen(file, "r")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL)
		*len = fread(p, 1, (size_t)n, fp);
	fclose(fp);
	return p;
}

static void
usepolicy(const struct history *h, time_t now)
{
	static const char *const names[] = {
		"default", "openssh", "fail2ban", "sshguard", NULL
	};
	const struct policy	*pol;
	struct decision		 d;
	struct settlement	 st;
	struct attreq		 rq;
	char			 line[256];
	int			 i, r;

	for (i = 0; names[i] != NULL; i++) {
		if ((pol = conf_policy(conf, names[i])) == NULL)
			abort();
		memset(&rq, 0, sizeof(rq));
		rq.policy = pol;
		rq.host = "h";
		rq.who = "user key 1.2.3.4:22";
		rq.port = 22;
		rq.parallel = 4;
		memset(&d, 0, sizeof(d));
		attempt_decide(&rq, h, now, &d);
		if (d.verdict < V_ADMIT || d.verdict > V_REFUSE)
			abort();
		(void)policy_penalty(pol, h, now);
		(void)policy_failures(h, policy_horizon(pol), now);
		for (r = RAW_OK; r <= RAW_UNKNOWN; r++) {
			attempt_next(&rq, h, h->natt > 0 ? &h->att[0] : NULL,
			    (enum rawout)r, now, 1500, &st);
			if ((unsigned)st.outcome >= OUT_MAX ||
			    (unsigned)st.st.state > SS_BLOCKED)
				abort();
		}
	}
	attempt_describe(h, now, line, sizeof(line));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger	*l = NULL;
	struct history	 h;
	struct attempt	 a;
	char		*cause = NULL, *after, namebuf[300];
	const char	*srv;
	size_t		 alen, i;
	uint64_t	 id;
	int		 fd, found;

	if (conf == NULL)
		setup();
	srv = server(data, size, namebuf, sizeof(namebuf));
	if (ledger_open(&l, dir, srv, &cause) == -1) {
		/* Not a valid server name: the ledger must say so. */
		if (cause == NULL || srv != namebuf)
			abort();
		free(cause);
		cause = NULL;
		srv = "srv";
		if (ledger_open(&l, dir, srv, &cause) == -1)
			abort();
	}
	snprintf(file, sizeof(file), "%s/servers/%s", dir, srv);
	unlink(file);
	if ((fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	if (ledger_lock(l, &h, NOW, &cause) == -1) {
		/* Damaged: a cause, and the file untouched. */
		if (cause == NULL)
			abort();
		free(cause);
		after = slurp(&alen);
		if (after == NULL || alen != size ||
		    (size > 0 && memcmp(after, data, size) != 0))
			abort();
		free(after);
		ledger_close(l);
		unlink(file);
		return 0;
	}
	usepolicy(&h, NOW);
	history_free(&h);

	memset(&a, 0, sizeof(a));
	a.start = NOW;
	strlcpy(a.host, "site-a", sizeof(a.host));
	strlcpy(a.who, "deploy /k%ey", sizeof(a.who));
	if (ledger_begin(l, &a, &cause) == -1) {
		/* Only a full ledger may refuse a new attempt. */
		if (cause == NULL || strstr(cause, ": full (") == NULL)
			abort();
		free(cause);
		ledger_close(l);
		unlink(file);
		return 0;
	}
	id = a.id;
	ledger_unlock(l);
	if (ledger_settle(l, id, OUT_AUTHFAIL, NOW + 1, &cause) == -1)
		abort();

	/* What we wrote reads back, and holds our attempt as settled. */
	if (ledger_lock(l, &h, NOW + 2, &cause) == -1)
		abort();
	for (i = 0, found = 0; i < h.natt; i++)
		if (h.att[i].id == id) {
			if (h.att[i].outcome != OUT_AUTHFAIL ||
			    strcmp(h.att[i].who, a.who) != 0)
				abort();
			found = 1;
		}
	if (!found)
		abort();
	usepolicy(&h, NOW + 2);
	history_free(&h);
	ledger_close(l);

	/* --forget, then a first attempt: a new file, header and all. */
	if (ledger_forget(dir, srv, &cause) == -1 ||
	    ledger_open(&l, dir, srv, &cause) == -1 ||
	    ledger_lock(l, &h, NOW + 3, &cause) == -1)
		abort();
	if (h.natt != 0 || ledger_begin(l, &a, &cause) == -1)
		abort();
	history_free(&h);
	ledger_unlock(l);
	if (ledger_lock(l, &h, NOW + 4, &cause) == -1 || h.natt != 1)
		abort();
	history_free(&h);
	ledger_close(l);
	unlink(file);
	return 0;
}
