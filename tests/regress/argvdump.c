/*
 * argvdump.c: print what argv_parse() makes of an ssh command line, in
 * the shape of "ssh -G" ("user X", "port N", "hostname H") and with the
 * grammar of the installed ssh (-P is a flag before 9.4), plus the
 * other fields, for tests/regress/argv_vs_ssh.sh.  Exit 0, or 255 with
 * "error: CAUSE" when argv_parse() refuses the line.
 */
#include <stdio.h>
#include <stdlib.h>

#include "safessh.h"

int
main(int argc, char *argv[])
{
	struct sshcmd	 cmd;
	char		*cause = NULL, ssh[4096];
	size_t		 i;
	int		 ver = 0;

	/* The installed ssh's grammar, as safessh reads it. */
	if (child_find_ssh(NULL, ssh, sizeof(ssh), &cause) == -1 ||
	    sshconf_version("/nonexistent", ssh, &ver, &cause) == -1) {
		free(cause);
		cause = NULL;
	}
	if (argv_parse_ver(argc - 1, argv + 1, ver, &cmd, &cause) == -1) {
		printf("error: %s\n", cause != NULL ? cause : "out of memory");
		free(cause);
		return 255;
	}
	printf("user %s\n", cmd.user != NULL ? cmd.user : "");
	printf("port %d\n", cmd.port);
	printf("hostname %s\n", cmd.host != NULL ? cmd.host : "");
	printf("dest %s\n", cmd.dest != NULL ? cmd.dest : "");
	printf("identity %s\n", cmd.identity != NULL ? cmd.identity : "");
	printf("config %s\n", cmd.config != NULL ? cmd.config : "");
	printf("passthru %c\n", cmd.passthru != 0 ? cmd.passthru : '-');
	for (i = 0; i < cmd.nopts; i++)
		printf("opt -%c%s%s\n", cmd.opts[i].opt,
		    cmd.opts[i].arg != NULL ? " " : "",
		    cmd.opts[i].arg != NULL ? cmd.opts[i].arg : "");
	for (i = 0; i < cmd.ncmd; i++)
		printf("cmd %s\n", cmd.cmd[i]);
	argv_free(&cmd);
	return 0;
}
