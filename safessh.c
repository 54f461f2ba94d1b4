/*
 * safessh.c: parse safessh's own options, pick the mode, call into lib/.
 * The only place that prints fatal errors and exits.
 */
#include <stdio.h>
#include <stdlib.h>

#include "safessh.h"

int
main(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	printf("safessh %s\n", SAFESSH_VERSION);
	return 0;
}
