/*
 * test_doctor.c: unit tests for lib/doctor.c's agent client: a fake
 * agent on a unix socket answers each request with a canned reply, good
 * or broken, and agent_list() must count the keys or fail cleanly.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "safessh.h"

static char	 dir[256];
static char	 sock[300];

/* A growable reply buffer. */
struct msg {
	unsigned char	 b[8192];
	size_t		 n;
};

static void
put32(struct msg *m, uint32_t v)
{
	m->b[m->n++] = (unsigned char)(v >> 24);
	m->b[m->n++] = (unsigned char)(v >> 16);
	m->b[m->n++] = (unsigned char)(v >> 8);
	m->b[m->n++] = (unsigned char)v;
}

static void
putstr(struct msg *m, const void *s, size_t len)
{
	put32(m, (uint32_t)len);
	memcpy(m->b + m->n, s, len);
	m->n += len;
}

/* A key blob: string type, string 32 bytes. */
static void
putkey(struct msg *m, const char *type, const char *comment)
{
	struct msg	blob = { { 0 }, 0 };
	unsigned char	pk[32];

	memset(pk, 0xab, sizeof(pk));
	putstr(&blob, type, strlen(type));
	putstr(&blob, pk, sizeof(pk));
	putstr(m, blob.b, blob.n);
	putstr(m, comment, strlen(comment));
}

/* Frame body (type byte first) with its length. */
static void
frame(struct msg *out, const struct msg *body)
{
	out->n = 0;
	put32(out, (uint32_t)body->n);
	memcpy(out->b + out->n, body->b, body->n);
	out->n += body->n;
}

enum canned {
	C_THREE,	/* three keys */
	C_EMPTY,	/* no keys */
	C_FAILURE,	/* SSH_AGENT_FAILURE */
	C_CUT,		/* says two keys, sends one */
	C_HUGE,		/* announces a 1 MiB reply */
	C_CLOSE,	/* closes without answering */
	C_HANG,		/* never answers */
	C_STRAY,	/* one key and stray bytes */
	C_CONTROL,	/* a comment with control characters */
	C_MANY		/* claims more keys than any agent holds */
};

static void
reply(enum canned c, struct msg *out)
{
	struct msg	body = { { 0 }, 0 };

	body.b[body.n++] = 12;
	switch (c) {
	case C_THREE:
		put32(&body, 3);
		putkey(&body, "ssh-ed25519", "one");
		putkey(&body, "ssh-rsa", "two");
		putkey(&body, "ecdsa-sha2-nistp256", "three");
		break;
	case C_EMPTY:
		put32(&body, 0);
		break;
	case C_FAILURE:
		body.n = 0;
		body.b[body.n++] = 5;
		break;
	case C_CUT:
		put32(&body, 2);
		putkey(&body, "ssh-ed25519", "one");
		break;
	case C_STRAY:
		put32(&body, 1);
		putkey(&body, "ssh-ed25519", "one");
		body.b[body.n++] = 0;
		break;
	case C_CONTROL:
		put32(&body, 1);
		putkey(&body, "ssh-ed25519", "a\033[2Jb\nc");
		break;
	case C_MANY:
		put32(&body, 100000);
		break;
	case C_HUGE:
	case C_CLOSE:
	case C_HANG:
		break;
	}
	frame(out, &body);
	if (c == C_HUGE) {
		out->n = 0;
		put32(out, 1024 * 1024);
		out->b[out->n++] = 12;
	}
}

/* Serve one request with canned reply c; returns the child's pid. */
static pid_t
agent(enum canned c)
{
	struct sockaddr_un	 sun;
	struct msg		 m;
	unsigned char		 req[5];
	pid_t			 pid;
	int			 s, fd;

	unlink(sock);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(s, 1), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if ((fd = accept(s, NULL, NULL)) == -1)
			_exit(1);
		if (read(fd, req, sizeof(req)) != (ssize_t)sizeof(req) ||
		    req[3] != 1 || req[4] != 11)
			_exit(2);	/* the request must be exact */
		if (c == C_HANG) {
			sleep(5);
			_exit(0);
		}
		if (c != C_CLOSE) {
			reply(c, &m);
			if (write(fd, m.b, m.n) != (ssize_t)m.n)
				_exit(3);
		}
		_exit(0);
	}
	close(s);
	return pid;
}

static void
reap(pid_t pid)
{
	int	status;

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

static const struct {
	enum canned	 c;
	int		 ok;
	size_t		 nkeys;
	const char	*first;		/* first key's "type comment" */
	const char	*err;		/* part of the cause */
} cases[] = {
	{ C_THREE,	1, 3, "ssh-ed25519 one", NULL },
	{ C_EMPTY,	1, 0, NULL, NULL },
	{ C_CONTROL,	1, 1, "ssh-ed25519 a?[2Jb?c", NULL },
	{ C_FAILURE,	0, 0, NULL, "answered message 5" },
	{ C_CUT,	0, 0, NULL, "cut short at key 2 of 2" },
	{ C_HUGE,	0, 0, NULL, "answer of 1048576 bytes" },
	{ C_CLOSE,	0, 0, NULL, "reset" },
	{ C_HANG,	0, 0, NULL, "timed out" },
	{ C_STRAY,	0, 0, NULL, "stray bytes" },
	{ C_MANY,	0, 0, NULL, "holds 100000 keys" },
};

static void
test_agent_table(void **state)
{
	struct agentkey	*keys;
	size_t		 n, i;
	char		*cause, got[256];
	pid_t		 pid;
	int		 r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid = agent(cases[i].c);
		cause = NULL;
		keys = NULL;
		n = 99;
		r = agent_list(sock, 300, &keys, &n, &cause);
		reap(pid);
		if (cases[i].ok) {
			if (r != 0)
				fail_msg("case %zu: %s", i, cause);
			assert_int_equal(n, cases[i].nkeys);
			if (cases[i].first != NULL) {
				snprintf(got, sizeof(got), "%s %s",
				    keys[0].type, keys[0].comment);
				assert_string_equal(got, cases[i].first);
				assert_true(keys[0].len > 32);
			}
			agent_free(keys, n);
		} else {
			assert_int_equal(r, -1);
			assert_non_null(cause);
			if (strstr(cause, cases[i].err) == NULL)
				fail_msg("case %zu: cause \"%s\" lacks \"%s\"",
				    i, cause, cases[i].err);
			assert_null(keys);
			assert_int_equal(n, 0);
			free(cause);
		}
	}
}

static void
test_agent_nosocket(void **state)
{
	struct agentkey	*keys;
	size_t		 n;
	char		*cause = NULL, path[400], longpath[200];

	(void)state;
	snprintf(path, sizeof(path), "%s/nosuch", dir);
	assert_int_equal(agent_list(path, 300, &keys, &n, &cause), -1);
	assert_non_null(strstr(cause, "No such file"));
	free(cause);
	cause = NULL;
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(agent_list(longpath, 300, &keys, &n, &cause), -1);
	assert_non_null(strstr(cause, "too long"));
	free(cause);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_doctor.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock, sizeof(sock), "%s/agent", dir);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(sock);
	rmdir(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_table),
		cmocka_unit_test(test_agent_nosocket),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
