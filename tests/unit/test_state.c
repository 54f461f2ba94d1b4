/*
 * test_state.c: the home directory rules, the private directory rule
 * (lib/state.c), and "ssh -V" through child_capture (sshconf_version).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "safessh.h"

static char	top[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/safessh-test-state.XXXXXX");
	if (mkdtemp(top) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_homes(void **state)
{
	struct passwd	*pw;
	char		 old[PATH_MAX];
	const char	*e;

	(void)state;
	e = getenv("HOME");
	snprintf(old, sizeof(old), "%s", e != NULL ? e : "");
	pw = getpwuid(getuid());
	setenv("HOME", "/some/where", 1);
	assert_string_equal(state_home(), "/some/where");
	/* ssh's home is the passwd entry's, whatever $HOME says. */
	if (pw != NULL && *pw->pw_dir == '/')
		assert_string_equal(state_sshhome(), pw->pw_dir);
	/* A relative or empty HOME is no home: the passwd entry's. */
	setenv("HOME", "rel/dir", 1);
	if (pw != NULL && *pw->pw_dir == '/')
		assert_string_equal(state_home(), pw->pw_dir);
	setenv("HOME", "", 1);
	if (pw != NULL && *pw->pw_dir == '/')
		assert_string_equal(state_home(), pw->pw_dir);
	/* "~" in safessh's files follows the same rule. */
	setenv("HOME", "/h", 1);
	{
		char	*t = util_tilde("~/.ssh/k");

		assert_string_equal(t, "/h/.ssh/k");
		free(t);
		t = util_tilde("~other/k");
		assert_string_equal(t, "~other/k");
		free(t);
	}
	if (*old != '\0')
		setenv("HOME", old, 1);
	else
		unsetenv("HOME");
}

static void
test_private(void **state)
{
	char		 p[PATH_MAX], q[PATH_MAX], *cause = NULL;
	struct stat	 st;

	(void)state;
	/* Parents made as needed, each 0700; the last one checked. */
	snprintf(p, sizeof(p), "%s/a/b/c", top);
	assert_int_equal(state_private(p, 0, &cause), -1);
	assert_non_null(strstr(cause, "No such file"));
	free(cause);
	assert_int_equal(state_private(p, 1, &cause), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(q, sizeof(q), "%s/a/b", top);
	assert_int_equal(stat(q, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Found again: fine. */
	assert_int_equal(state_private(p, 0, &cause), 0);
	/* Writable by the group: refused, and left as it is. */
	assert_int_equal(chmod(p, 0770), 0);
	assert_int_equal(state_private(p, 0, &cause), -1);
	assert_non_null(strstr(cause, "refusing: group or world writable "
	    "(mode 0770)"));
	free(cause);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0770);
	/* Readable by others is no risk. */
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(state_private(p, 0, &cause), 0);
	/* A symbolic link in its place: refused, not followed. */
	snprintf(q, sizeof(q), "%s/link", top);
	assert_int_equal(symlink(p, q), 0);
	assert_int_equal(state_private(q, 0, &cause), -1);
	assert_non_null(strstr(cause, "refusing: a symbolic link"));
	free(cause);
	/* A file in its place. */
	snprintf(q, sizeof(q), "%s/file", top);
	fclose(fopen(q, "w"));
	assert_int_equal(state_private(q, 0, &cause), -1);
	assert_non_null(strstr(cause, "refusing: not a directory"));
	free(cause);
	/* Owned by another user: only root can make one. */
	if (getuid() == 0) {
		snprintf(q, sizeof(q), "%s/theirs", top);
		assert_int_equal(mkdir(q, 0700), 0);
		assert_int_equal(chown(q, 4242, 4242), 0);
		assert_int_equal(state_private(q, 0, &cause), -1);
		assert_non_null(strstr(cause, "owned by uid 4242"));
		free(cause);
	}
}

/* Write an executable script at top/name. */
static void
script(char *path, size_t len, const char *name, const char *body)
{
	FILE	*f;

	snprintf(path, len, "%s/%s", top, name);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

static int
count_versions(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "version-", 8) == 0;
	closedir(d);
	return n;
}

static void
test_version(void **state)
{
	char	 ssh[PATH_MAX], sd[PATH_MAX], cd[PATH_MAX], *cause = NULL;
	int	 ver;

	(void)state;
	snprintf(sd, sizeof(sd), "%s/st", top);
	snprintf(cd, sizeof(cd), "%s/st/sshconfig", top);
	assert_int_equal(state_private(cd, 1, &cause), 0);
	/* ssh -V answers on stderr, nothing on stdout. */
	script(ssh, sizeof(ssh), "ssh-a", "echo run >> \"$0.runs\"; "
	    "[ \"$1\" = -V ] && echo 'OpenSSH_9.2p1 Debian-2, OpenSSL 3' >&2");
	assert_int_equal(sshconf_version(sd, ssh, &ver, &cause), 0);
	assert_int_equal(ver, 902);
	assert_int_equal(count_versions(cd), 1);
	/* Cached by the binary's identity: asked once. */
	ver = 0;
	assert_int_equal(sshconf_version(sd, ssh, &ver, &cause), 0);
	assert_int_equal(ver, 902);
	{
		char	 runs[PATH_MAX + 8], line[16];
		FILE	*f;
		int	 n = 0;

		snprintf(runs, sizeof(runs), "%s.runs", ssh);
		assert_non_null(f = fopen(runs, "r"));
		while (fgets(line, sizeof(line), f) != NULL)
			n++;
		fclose(f);
		assert_int_equal(n, 1);
	}
	/* One that says no version: 0, the latest grammar. */
	script(ssh, sizeof(ssh), "ssh-c", "echo hello >&2");
	assert_int_equal(sshconf_version(sd, ssh, &ver, &cause), 0);
	assert_int_equal(ver, 0);
	/* A safessh run as "ssh" that refuses: its reason, one line. */
	script(ssh, sizeof(ssh), "ssh-b",
	    "echo 'safessh: ssh is safessh itself' >&2; exit 255");
	assert_int_equal(sshconf_version(sd, ssh, &ver, &cause), -1);
	assert_string_equal(cause, "ssh is safessh itself");
	free(cause);
	/* Not there at all. */
	snprintf(ssh, sizeof(ssh), "%s/none", top);
	assert_int_equal(sshconf_version(sd, ssh, &ver, &cause), -1);
	assert_non_null(strstr(cause, "No such file"));
	free(cause);
}

static void
test_capture(void **state)
{
	char	 sh[] = "/bin/sh", c[] = "-c";
	char	 body[] = "echo out; echo err >&2; exit 3";
	char	*av[] = { sh, c, body, NULL }, *text = NULL, *cause = NULL;
	int	 st;

	(void)state;
	assert_int_equal(child_capture(av, CAPTURE_STDERR, &text, &st,
	    &cause), 0);
	assert_string_equal(text, "out\nerr\n");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	free(text);
	assert_int_equal(child_capture(av, CAPTURE_QUIET, &text, &st,
	    &cause), 0);
	assert_string_equal(text, "out\n");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_homes),
		cmocka_unit_test(test_private),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_capture),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
