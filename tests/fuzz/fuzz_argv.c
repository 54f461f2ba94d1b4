/*
 * fuzz_argv.c: libFuzzer target for ssh's argv grammar (argv.c).
 *
 * The input is split on NUL into an argv (without argv[0]); argv_parse
 * must either accept it or give a cause, never crash.  On success the
 * argv handed to ssh is built and checked: "--" precedes the
 * destination, and the destination passes the G5 validators.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safessh.h"

#define MAXARGS	256

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshcmd	 cmd;
	struct rewrite	 rw;
	struct arglist	 out = { NULL, 0, 0 };
	char		*buf, *argv[MAXARGS + 1], *cause = NULL;
	const char	*why;
	size_t		 i, start;
	int		 argc = 0, port;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0, start = 0; i <= size && argc < MAXARGS; i++) {
		if (buf[i] == '\0') {
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;

	memset(&cmd, 0, sizeof(cmd));
	if (argv_parse(argc, argv, &cmd, &cause) == -1) {
		if (cause == NULL)
			abort();	/* a failure must say why */
		free(cause);
		argv_free(&cmd);
		free(buf);
		return 0;
	}
	free(cause);
	cause = NULL;

	/* Anything accepted as a destination must pass G5 on its own. */
	if (cmd.passthru == 0 && cmd.host != NULL &&
	    !argv_valid_host(cmd.host, &why))
		abort();
	if (cmd.user != NULL && !argv_valid_user(cmd.user, &why))
		abort();
	for (i = 0; i < cmd.nopts; i++)
		if (cmd.opts[i].opt == 'J' && cmd.opts[i].arg != NULL &&
		    cmd.passthru == 0 && !argv_valid_jump(cmd.opts[i].arg, &why))
			abort();
	(void)argv_option(&cmd, "ConnectTimeout");
	(void)argv_valid_port("22", &port, &why);

	memset(&rw, 0, sizeof(rw));
	rw.identity = "/nonexistent/key";
	rw.connect_timeout = 15;
	rw.localcmd = "/usr/bin/safessh --authed 1";
	if (cmd.dest != NULL &&
	    argv_build(&cmd, &rw, "ssh", &out, &cause) == 0) {
		/* "--", the destination, then exactly the command. */
		i = out.num - cmd.ncmd;
		if (out.num < cmd.ncmd + 3 ||
		    strcmp(out.list[i - 2], "--") != 0 ||
		    strcmp(out.list[i - 1], cmd.dest) != 0)
			abort();
		if (out.list[out.num] != NULL)
			abort();
		free(arglist_quote(out.list, out.num));
	}
	free(cause);
	arglist_free(&out);
	argv_free(&cmd);
	free(buf);
	return 0;
}
