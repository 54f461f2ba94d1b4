/*
 * fuzz_conf.c: libFuzzer target for the configuration file (conf.c).
 *
 * conf.c reads files only (no stream interface), so each input is
 * written to one file under /dev/shm (or $TMPDIR), reused for the whole
 * process, and loaded; then the settings for a few destinations are
 * resolved.  Oracles: a failure carries a cause; whatever is accepted
 * passes the same G5 validators the command line does, and numbers are
 * within their documented ranges.  The input, cut at its first NUL or
 * newline, also drives conf_duration() and conf_match().
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safessh.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	path[256];

static const char *const hosts[] = {
	"site-a", "site-b", "127.0.0.1", "x", "*", NULL
};

static void
checkhost(const struct hostconf *hc)
{
	const char	*why;

	if (hc->hostname != NULL && !argv_valid_host(hc->hostname, &why))
		abort();
	if (hc->user != NULL && !argv_valid_user(hc->user, &why))
		abort();
	if (hc->port < 0 || hc->port > 65535)
		abort();
	if (hc->parallel < 1 || hc->max_delay < 0 ||
	    hc->connect_timeout < 0 || hc->retries < 0 || hc->policy == NULL)
		abort();
	if (hc->policy->nrules < 0 || hc->policy->nrules > POLICY_MAXRULES)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*conf;
	struct hostconf	 hc;
	char		*cause = NULL, *s;
	const char	*dir;
	long		 secs;
	size_t		 n;
	int		 fd, i;

	if (path[0] == '\0') {
		dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
		    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
		snprintf(path, sizeof(path), "%s/fuzz_conf.%ld", dir,
		    (long)getpid());
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	if (fd == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	if ((conf = conf_new()) == NULL)
		return 0;
	if (conf_load(conf, path, 1, &cause) == -1) {
		if (cause == NULL)
			abort();
		free(cause);
	} else {
		free(cause);
		for (i = 0; hosts[i] != NULL; i++) {
			cause = NULL;
			if (conf_host(conf, hosts[i], &hc, &cause) == 0)
				checkhost(&hc);
			else if (cause == NULL)
				abort();
			free(cause);
		}
		(void)conf_policy(conf, "default");
		(void)conf_policy(conf, "shared-hosting");
	}
	conf_free(conf);

	/* The first line as a duration and as a host pattern. */
	for (n = 0; n < size && data[n] != '\0' && data[n] != '\n'; n++)
		;
	if ((s = malloc(n + 1)) == NULL)
		return 0;
	memcpy(s, data, n);
	s[n] = '\0';
	if (conf_duration(s, &secs) == 0 && secs < 0)
		abort();
	(void)conf_match(s, "site-a");
	(void)conf_match("site-* !site-b", s);
	free(s);
	unlink(path);
	return 0;
}
