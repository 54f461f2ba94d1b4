/*
 * proxytool.c: drive proxy_connect() and proxy_relay() on stdin/stdout,
 * as a ProxyCommand, printing each event to stderr ("proxytool: event
 * banner"), so the relay can be tested without safessh --proxy.
 *
 *	proxytool HOST PORT TIMEOUT
 *
 * Exits 0 after a relay, 255 on a connect or relay error (after printing
 * "proxytool: connect refused: <cause>" and the like).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "safessh.h"

static const char *const evname[] = {
	[PEV_BANNER] = "banner", [PEV_NOTALLOWED] = "notallowed",
	[PEV_PREBANNER] = "prebanner", [PEV_AUTHED] = "authed",
	[PEV_AUTHFAIL] = "authfail", [PEV_USERAUTH] = "userauth",
	[PEV_MANYKEYS] = "manykeys", [PEV_CLOSED] = "closed"
};

/* The events proxy_relay.sh compares (userauth, manykeys: unit tests). */
static void
event(void *arg, enum proxyev ev)
{
	(void)arg;
	if (ev == PEV_USERAUTH || ev == PEV_MANYKEYS)
		return;
	fprintf(stderr, "proxytool: event %s\n", evname[ev]);
}

static const char *
rawname(enum rawout raw)
{
	switch (raw) {
	case RAW_REFUSED:
		return "refused";
	case RAW_TIMEOUT:
		return "timeout";
	case RAW_NET:
		return "net";
	default:
		return "other";
	}
}

int
main(int argc, char *argv[])
{
	enum rawout	 raw;
	const char	*errstr;
	char		*cause;
	long		 timeout;
	int		 fd;

	if (argc != 4) {
		fprintf(stderr, "usage: proxytool host port timeout\n");
		return 255;
	}
	timeout = strtonum(argv[3], 0, 86400, &errstr);
	if (errstr != NULL) {
		fprintf(stderr, "proxytool: timeout %s: %s\n", argv[3],
		    errstr);
		return 255;
	}
	if (proxy_connect(argv[1], argv[2], timeout, &fd, &raw,
	    &cause) == -1) {
		fprintf(stderr, "proxytool: connect %s: %s\n", rawname(raw),
		    cause);
		free(cause);
		return 255;
	}
	fprintf(stderr, "proxytool: connected\n");
	if (proxy_relay(fd, STDIN_FILENO, STDOUT_FILENO, event, NULL,
	    &cause) == -1) {
		fprintf(stderr, "proxytool: relay: %s\n", cause);
		free(cause);
		close(fd);
		return 255;
	}
	close(fd);
	return 0;
}
