/*
 * state.c: where safessh's files are, and the one rule for the private
 * directories it makes.
 *
 * Two homes, each with one rule.  safessh's own files (its config, its
 * state directory, "~" in safessh.conf) follow $HOME, as the shell and
 * the XDG directories do; the passwd entry only when $HOME is unset or
 * not absolute.  What ssh reads (~/.ssh/config, its default keys) is
 * found where ssh finds it: under the passwd entry's home, $HOME only
 * when there is no entry.  Ownership is always checked against the real
 * uid (safessh is never setuid).
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safessh.h"

static const char *
pwhome(void)
{
	struct passwd	*pw;

	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
	    *pw->pw_dir == '/')
		return pw->pw_dir;
	return NULL;
}

static const char *
envhome(void)
{
	const char	*e;

	if ((e = getenv("HOME")) != NULL && *e == '/')
		return e;
	return NULL;
}

const char *
state_home(void)
{
	const char	*h;

	if ((h = envhome()) == NULL)
		h = pwhome();
	return h;
}

const char *
state_sshhome(void)
{
	const char	*h;

	if ((h = pwhome()) == NULL && (h = envhome()) == NULL)
		h = "/";
	return h;
}

int
state_path(char *buf, size_t len, char **cause)
{
	const char	*e;
	size_t		 n;
	int		 r;

	*cause = NULL;
	if ((e = getenv("SAFESSH_STATE_DIR")) != NULL && *e != '\0') {
		if (*e != '/') {
			*cause = xstrfmt("SAFESSH_STATE_DIR=%s: not an "
			    "absolute path", e);
			return -1;
		}
		r = snprintf(buf, len, "%s", e);
	} else if ((e = getenv("XDG_STATE_HOME")) != NULL && *e == '/')
		r = snprintf(buf, len, "%s/safessh", e);
	else if ((e = state_home()) != NULL)
		r = snprintf(buf, len, "%s/.local/state/safessh", e);
	else {
		*cause = xstrfmt("no state directory: set HOME or "
		    "SAFESSH_STATE_DIR");
		return -1;
	}
	if (r < 0 || (size_t)r >= len || (size_t)r >= PATH_MAX - 16) {
		*cause = xstrfmt("state directory path too long");
		return -1;
	}
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return 0;
}

/* Refuse a directory that is not ours alone; 0 or -1 with *cause. */
static int
check(const char *path, char **cause)
{
	struct stat	 st;

	if (lstat(path, &st) == -1) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		*cause = xstrfmt("%s: refusing: a symbolic link", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*cause = xstrfmt("%s: refusing: not a directory", path);
		return -1;
	}
	if (st.st_uid != getuid()) {
		*cause = xstrfmt("%s: refusing: owned by uid %lu, not %lu",
		    path, (unsigned long)st.st_uid, (unsigned long)getuid());
		return -1;
	}
	if ((st.st_mode & 022) != 0) {
		*cause = xstrfmt("%s: refusing: group or world writable "
		    "(mode %04o)", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
state_private(const char *path, int parents, char **cause)
{
	char	 tmp[PATH_MAX], *p;

	*cause = NULL;
	if (strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
		*cause = xstrfmt("%s: path too long", path);
		return -1;
	}
	/* The parents, as mkdir -p: each missing one 0700, not checked. */
	for (p = tmp + 1; parents && *p != '\0'; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST) {
			*cause = xstrfmt("%s: %s", tmp, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		return -1;
	}
	return check(path, cause);
}
