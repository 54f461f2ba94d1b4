/*
 * confcheck: load safessh's configuration and print what it resolves to,
 * for the regress tests.
 *
 *	confcheck [-f file ...] host	with -f, those files in order (each
 *					must exist); else conf_load_default
 *	confcheck -k			the configuration keys, one a line
 *
 * Prints "key value" lines; unset values print as "-".  An error prints
 * "confcheck: CAUSE" on stderr and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safessh.h"

static void
usage(void)
{
	fprintf(stderr, "usage: confcheck [-f file ...] host | -k\n");
	exit(2);
}

static void
str(const char *k, const char *v)
{
	printf("%s %s\n", k, v != NULL ? v : "-");
}

int
main(int argc, char **argv)
{
	struct conf		*conf;
	struct hostconf		 hc;
	const struct policy	*pol;
	const struct rule	*r;
	char			*cause = NULL;
	const char		*files[64];
	int			 ch, i, nfiles = 0;

	while ((ch = getopt(argc, argv, "f:k")) != -1) {
		switch (ch) {
		case 'f':
			if (nfiles == 64)
				usage();
			files[nfiles++] = optarg;
			break;
		case 'k':
			for (i = 0; conf_keys[i] != NULL; i++)
				printf("%s\n", conf_keys[i]);
			return 0;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();

	if ((conf = conf_new()) == NULL) {
		fprintf(stderr, "confcheck: out of memory\n");
		return 1;
	}
	if (nfiles == 0) {
		if (conf_load_default(conf, &cause) == -1)
			goto fail;
	}
	for (i = 0; i < nfiles; i++)
		if (conf_load(conf, files[i], 1, &cause) == -1)
			goto fail;
	if (conf_host(conf, argv[0], &hc, &cause) == -1)
		goto fail;

	str("hostname", hc.hostname);
	str("hostname_at", hc.hostname_at);
	str("user", hc.user);
	str("user_at", hc.user_at);
	str("identity", hc.identity);
	str("identity_at", hc.identity_at);
	printf("port %d\n", hc.port);
	str("port_at", hc.port_at);
	str("server", hc.server);
	str("ssh", hc.ssh);
	printf("on_risk %s\n", hc.on_risk == ONRISK_REFUSE ? "refuse" :
	    "delay");
	printf("max_delay %ld\n", hc.max_delay);
	printf("parallel %d\n", hc.parallel);
	printf("connect_timeout %ld\n", hc.connect_timeout);
	printf("retries %d\n", hc.retries);
	printf("reuse %ld\n", hc.reuse);
	printf("password %s\n", hc.password ? "yes" : "no");
	pol = hc.policy;
	printf("policy %s\n", pol->name);
	printf("rules");
	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		if (r->kind == RULE_COUNT)
			printf(" count:%d/%ld", r->max_failures, r->window);
		else
			printf(" penalty:%ld/%ld/%ld", r->penalty, r->noauth,
			    r->limit);
	}
	printf("\n");
	printf("cooldown %ld\n", pol->cooldown);
	conf_free(conf);
	return 0;
fail:
	fprintf(stderr, "confcheck: %s\n", cause != NULL ? cause :
	    "out of memory");
	free(cause);
	conf_free(conf);
	return 1;
}
