/*
 * test_store.c: the shared ledger's pure parts (lib/store.c, lib/conf.c,
 * lib/ledger.c, issue 13): the "ledger =" URL grammar as a table, its
 * shown form with the password as "***", key prefixes, the config keys
 * (a password in a file others can read, errors that never show it),
 * the attempt record's client field (old records still read), the client
 * id file, and a store that cannot be reached: the local files (with one
 * line to say so) or a refusal (ledger_required), the attempt recorded.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "safessh.h"

#define UNUSED	__attribute__((unused))

static const struct {
	const char	*in;
	int		 ok;
	enum lkind	 kind;
	const char	*host;		/* or the path */
	int		 port;
	int		 db;
	const char	*user;
	const char	*pass;		/* NULL: none */
	const char	*shown;		/* or a fragment of the error */
} urls[] = {
	{ "files", 1, LK_FILES, "", 0, 0, "", NULL, "local files" },
	{ "redis://127.0.0.1", 1, LK_TCP, "127.0.0.1", 6379, 0, "", NULL,
	    "redis://127.0.0.1:6379/0" },
	{ "redis://r.example.com:6380/3", 1, LK_TCP, "r.example.com", 6380,
	    3, "", NULL, "redis://r.example.com:6380/3" },
	{ "redis://[::1]:7000", 1, LK_TCP, "::1", 7000, 0, "", NULL,
	    "redis://[::1]:7000/0" },
	{ "redis://:s3cret@h", 1, LK_TCP, "h", 6379, 0, "", "s3cret",
	    "redis://:***@h:6379/0" },
	{ "redis://team:p%40ss:w@rd@h:1/2", 1, LK_TCP, "h", 1, 2, "team",
	    "p@ss:w@rd", "redis://team:***@h:1/2" },
	{ "unix:/run/redis.sock", 1, LK_UNIX, "/run/redis.sock", 0, 0, "",
	    NULL, "unix:/run/redis.sock" },
	{ "unix:/run/r.sock?db=5", 1, LK_UNIX, "/run/r.sock", 0, 5, "", NULL,
	    "unix:/run/r.sock?db=5" },
	{ "unix:default:pw@/run/r.sock", 1, LK_UNIX, "/run/r.sock", 0, 0,
	    "default", "pw", "unix:default:***@/run/r.sock" },
	{ "redis://user@h", 0, 0, NULL, 0, 0, NULL, NULL, "needs a password" },
	{ "redis://:@h", 0, 0, NULL, 0, 0, NULL, NULL, "empty password" },
	{ "redis://", 0, 0, NULL, 0, 0, NULL, NULL, "no host" },
	{ "redis://h:0", 0, 0, NULL, 0, 0, NULL, NULL, "port" },
	{ "redis://h:65536", 0, 0, NULL, 0, 0, NULL, NULL, "port" },
	{ "redis://h:12x", 0, 0, NULL, 0, 0, NULL, NULL, "port" },
	{ "redis://h/", 0, 0, NULL, 0, 0, NULL, NULL, "database" },
	{ "redis://h/10000", 0, 0, NULL, 0, 0, NULL, NULL, "database" },
	{ "redis://h/1/2", 0, 0, NULL, 0, 0, NULL, NULL, "database" },
	{ "redis://-h", 0, 0, NULL, 0, 0, NULL, NULL, "host" },
	{ "redis://h;rm", 0, 0, NULL, 0, 0, NULL, NULL, "host" },
	{ "redis://[::1", 0, 0, NULL, 0, 0, NULL, NULL, "'['" },
	{ "redis://:p%4@h", 0, 0, NULL, 0, 0, NULL, NULL, "password" },
	{ "redis://:p%0a@h", 0, 0, NULL, 0, 0, NULL, NULL, "password" },
	{ "redis://h x", 0, 0, NULL, 0, 0, NULL, NULL, "blank" },
	{ "rediss://h", 0, 0, NULL, 0, 0, NULL, NULL, "TLS" },
	{ "http://h", 0, 0, NULL, 0, 0, NULL, NULL, "expected files" },
	{ "Files", 0, 0, NULL, 0, 0, NULL, NULL, "expected files" },
	{ "unix:run/r.sock", 0, 0, NULL, 0, 0, NULL, NULL, "absolute" },
	{ "unix:/", 0, 0, NULL, 0, 0, NULL, NULL, "no socket path" },
	{ "unix:/r?db=x", 0, 0, NULL, 0, 0, NULL, NULL, "?db=" },
	{ "unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0,
	    NULL, 0, 0, NULL, NULL, "too long" },
};

static void
t_urls(void **state UNUSED)
{
	struct ledgerurl u;
	const char	*why;
	char		 shown[512];
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		r = ledgerurl_parse(urls[i].in, &u, &why);
		if (!urls[i].ok) {
			if (r != -1 || why == NULL ||
			    strstr(why, urls[i].shown) == NULL)
				fail_msg("%s: want an error with \"%s\", got "
				    "%d \"%s\"", urls[i].in, urls[i].shown, r,
				    why != NULL ? why : "");
			continue;
		}
		if (r != 0)
			fail_msg("%s: %s", urls[i].in, why);
		assert_int_equal(u.kind, urls[i].kind);
		assert_string_equal(u.kind == LK_UNIX ? u.path : u.host,
		    urls[i].host);
		assert_int_equal(u.port, urls[i].port);
		assert_int_equal(u.db, urls[i].db);
		assert_string_equal(u.user, urls[i].user);
		assert_int_equal(u.haspass, urls[i].pass != NULL);
		if (urls[i].pass != NULL)
			assert_string_equal(u.pass, urls[i].pass);
		ledgerurl_show(&u, shown, sizeof(shown));
		assert_string_equal(shown, urls[i].shown);
		/* The password never shows. */
		if (urls[i].pass != NULL)
			assert_null(strstr(shown, urls[i].pass));
	}
}

static void
t_prefix(void **state UNUSED)
{
	assert_true(store_prefix_ok("safessh:"));
	assert_true(store_prefix_ok("team-1.a_b:"));
	assert_false(store_prefix_ok(""));
	assert_false(store_prefix_ok("a b"));
	assert_false(store_prefix_ok("a*"));
	assert_false(store_prefix_ok("a{b}"));
	assert_false(store_prefix_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa"));
}

/* ------------------------------------------------- files and configs */

static char	 dir[64];	/* /tmp/test_store.XXXXXX */

static int
rmfn(const char *p, const struct stat *st UNUSED, int f UNUSED,
    struct FTW *w UNUSED)
{
	return remove(p);
}

static int
setup(void **state UNUSED)
{
	strlcpy(dir, "/tmp/test_store.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL)
		return -1;
	setenv("SAFESSH_STATE_DIR", dir, 1);
	return 0;
}

static int
teardown(void **state UNUSED)
{
	nftw(dir, rmfn, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* Load text as a config file of mode; 0 with *c, or -1 with *cause. */
static int
load(const char *text, mode_t mode, struct conf **c, char **cause)
{
	char	 path[PATH_MAX];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/conf", dir);
	unlink(path);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	*c = conf_new();
	return conf_load(*c, path, 1, cause);
}

static void
t_conf(void **state UNUSED)
{
	struct conf	*c;
	struct hostconf	 hc;
	char		*cause = NULL;

	/* Defaults: the files, the prefix, not required. */
	assert_int_equal(load("[defaults]\n", 0600, &c, &cause), 0);
	assert_int_equal(conf_host(c, "h", &hc, &cause), 0);
	assert_null(hc.ledger);
	assert_string_equal(hc.ledger_prefix, "safessh:");
	assert_int_equal(hc.ledger_required, 0);
	conf_free(c);

	/* [defaults] shared, one [host] back on the files. */
	assert_int_equal(load("[defaults]\nledger = unix:/r.sock\n"
	    "ledger_prefix = t:\nledger_required = yes\n[host lone]\n"
	    "ledger = files\n", 0600, &c, &cause), 0);
	assert_int_equal(conf_host(c, "h", &hc, &cause), 0);
	assert_string_equal(hc.ledger, "unix:/r.sock");
	assert_string_equal(hc.ledger_prefix, "t:");
	assert_int_equal(hc.ledger_required, 1);
	assert_non_null(strstr(hc.ledger_at, "/conf:2"));
	assert_int_equal(conf_host(c, "lone", &hc, &cause), 0);
	assert_null(hc.ledger);
	conf_free(c);

	/* A password in a file others can read: refused, not shown. */
	assert_int_equal(load("[defaults]\nledger = redis://u:Sekr1t@h\n",
	    0644, &c, &cause), -1);
	assert_non_null(strstr(cause, "/conf:2: invalid ledger "
	    "\"redis://u:***@h\": a password in a file others can read"));
	assert_null(strstr(cause, "Sekr1t"));
	free(cause);
	cause = NULL;
	conf_free(c);
	assert_int_equal(load("[defaults]\nledger = redis://u:Sekr1t@h\n",
	    0600, &c, &cause), 0);
	conf_free(c);

	/* A bad URL's error hides what may be a password. */
	assert_int_equal(load("[defaults]\nledger = redis://u:Sekr1t@h:0\n",
	    0600, &c, &cause), -1);
	assert_non_null(strstr(cause, "/conf:2: invalid ledger "
	    "\"redis://u:***@h:0\": port"));
	assert_null(strstr(cause, "Sekr1t"));
	free(cause);
	cause = NULL;
	conf_free(c);
	assert_int_equal(load("[defaults]\nledger = unix:x:Sekr1t@run/s\n",
	    0600, &c, &cause), -1);
	assert_null(strstr(cause, "Sekr1t"));
	free(cause);
	cause = NULL;
	conf_free(c);
	assert_int_equal(load("[defaults]\nledger_prefix = a b\n", 0600, &c,
	    &cause), -1);
	assert_non_null(strstr(cause, "invalid ledger_prefix"));
	free(cause);
	conf_free(c);
}

/* The 10th field of an "a" record: written, read, optional. */
static void
t_client_field(void **state UNUSED)
{
	struct ledger	*l;
	struct history	 h;
	char		 path[PATH_MAX], *cause = NULL;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/servers", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/servers/s1", dir);
	f = fopen(path, "w");
	fputs("safessh-ledger 1 s1\n"
	    "a 5 100 1 0 h u%20k\n"
	    "a 6 101 1 0 h u%20k 22 7\n"
	    "a 7 102 1 0 h u%20k 22 7 build7-3fa2c1d0\n"
	    "s 5 103 ok\ns 6 103 ok\ns 7 103 authfail\n", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(ledger_open(&l, dir, "s1", &cause), 0);
	assert_int_equal(ledger_lock(l, &h, 200, &cause), 0);
	ledger_unlock(l);
	assert_int_equal(h.natt, 3);
	assert_string_equal(h.att[0].client, "");
	assert_string_equal(h.att[1].client, "");
	assert_int_equal(h.att[1].port, 22);
	assert_string_equal(h.att[2].client, "build7-3fa2c1d0");
	assert_int_equal(h.att[2].outcome, OUT_AUTHFAIL);
	history_free(&h);
	ledger_close(l);
}

static void
t_client_id(void **state UNUSED)
{
	char	 a[ATTEMPT_CLIENTLEN], b[ATTEMPT_CLIENTLEN], path[PATH_MAX];
	char	*cause = NULL;
	FILE	*f;

	assert_int_equal(ledger_client(dir, a, sizeof(a), &cause), 0);
	assert_true(strlen(a) > 9);
	assert_non_null(strchr(a, '-'));
	/* Stable: read back, not made anew. */
	assert_int_equal(ledger_client(dir, b, sizeof(b), &cause), 0);
	assert_string_equal(a, b);
	/* A damaged file is said, not overwritten. */
	snprintf(path, sizeof(path), "%s/client", dir);
	f = fopen(path, "w");
	fputs("bad id\n", f);
	fclose(f);
	assert_int_equal(ledger_client(dir, b, sizeof(b), &cause), -1);
	assert_non_null(strstr(cause, "not a client id"));
	free(cause);
}

/*
 * A store nobody listens on: with ledger_required = no the admission
 * goes on in the local files and says so once; with yes it is refused,
 * and nothing is recorded.
 */
static void
t_unreachable(void **state UNUSED)
{
	struct ledger	*l;
	struct hostconf	 hc;
	struct conf	*c = conf_new();
	struct attreq	 r;
	struct decision	 d;
	struct history	 h;
	char		 url[128], *cause = NULL, *w;
	char		 desc[1024];
	uint64_t	 id;

	snprintf(url, sizeof(url), "unix:%s/nobody.sock", dir);
	assert_int_equal(conf_host(c, "h", &hc, &cause), 0);
	hc.ledger = url;
	memset(&r, 0, sizeof(r));
	r.policy = hc.policy;
	r.host = "h";
	r.who = "u key";
	r.parallel = 4;

	assert_int_equal(ledger_open_conf(&l, dir, "s2", &hc, &cause), 0);
	assert_true(ledger_shared(l));
	assert_int_equal(attempt_admit(l, &r, ledger_now(l), 0, &d, &id,
	    &cause), 0);
	assert_int_equal(d.verdict, V_ADMIT);
	assert_false(ledger_shared(l));
	w = ledger_warning(l);
	assert_non_null(w);
	assert_non_null(strstr(w, "connect: "));
	assert_non_null(strstr(w, "using this machine's local ledger"));
	free(w);
	assert_null(ledger_warning(l));		/* once */
	ledger_describe(l, desc, sizeof(desc));
	assert_non_null(strstr(desc, "local files"));
	ledger_close(l);
	/* The attempt is in the local files. */
	assert_int_equal(ledger_open(&l, dir, "s2", &cause), 0);
	assert_int_equal(ledger_lock(l, &h, time(NULL), &cause), 0);
	ledger_unlock(l);
	assert_int_equal(h.natt, 1);
	assert_int_equal(h.att[0].id, id);
	history_free(&h);
	ledger_close(l);

	hc.ledger_required = 1;
	assert_int_equal(ledger_open_conf(&l, dir, "s3", &hc, &cause), 0);
	assert_int_equal(attempt_admit(l, &r, ledger_now(l), 0, &d, &id,
	    &cause), -1);
	assert_int_equal(d.verdict, V_REFUSE);
	assert_non_null(strstr(cause, "ledger_required = yes"));
	free(cause);
	cause = NULL;
	/* --forget says the shared history stays. */
	assert_int_equal(ledger_wipe(l, 0, &cause), -1);
	assert_non_null(strstr(cause, "not cleared"));
	free(cause);
	ledger_close(l);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_urls),
		cmocka_unit_test(t_prefix),
		cmocka_unit_test_setup_teardown(t_conf, setup, teardown),
		cmocka_unit_test_setup_teardown(t_client_field, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_client_id, setup, teardown),
		cmocka_unit_test_setup_teardown(t_unreachable, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
