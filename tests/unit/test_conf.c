/*
 * test_conf.c: unit tests for lib/conf.c: durations, host patterns, whole
 * configuration files written to a private directory (precedence, every
 * key, every error message, file permission and symlink refusals), the
 * built-in and user policies, and conf_load_default's file set.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ini.h>

#include "safessh.h"

#define UNUSED	__attribute__((__unused__))

static char	 dir[PATH_MAX];
static int	 nfile;

/* ---------------------------------------------------------------- helpers */

/* Write text (len bytes) to a new file in dir with mode; returns its path. */
static char *
writefile(const char *text, size_t len, mode_t mode)
{
	char	*path;
	int	 fd;

	path = xstrfmt("%s/c%d.conf", dir, ++nfile);
	assert_non_null(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_true(write(fd, text, len) == (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static char *
writeconf(const char *text)
{
	return writefile(text, strlen(text), 0600);
}

/* A conf holding the built-ins and text; NULL with *cause on error. */
static struct conf *
loadtext(const char *text, char **path, char **cause)
{
	struct conf	*conf;

	assert_non_null(conf = conf_new());
	*path = writeconf(text);
	if (conf_load(conf, *path, 1, cause) == -1) {
		conf_free(conf);
		return NULL;
	}
	return conf;
}

static const char *
rulestr(const struct rule *r, char *buf, size_t len)
{
	if (r->kind == RULE_COUNT)
		snprintf(buf, len, "count %d/%ld", r->max_failures, r->window);
	else
		snprintf(buf, len, "penalty %ld/%ld/%ld", r->penalty,
		    r->noauth, r->limit);
	return buf;
}

/* "count 4/600, penalty 5/1/10; cooldown 900" */
static char *
polstr(const struct policy *pol)
{
	char	 buf[256], r[64];
	int	 i;

	buf[0] = '\0';
	for (i = 0; i < pol->nrules; i++) {
		if (i > 0)
			strlcat(buf, ", ", sizeof(buf));
		strlcat(buf, rulestr(&pol->rules[i], r, sizeof(r)),
		    sizeof(buf));
	}
	return xstrfmt("%s; cooldown %ld", buf, pol->cooldown);
}

/* The line number of a "file:line" string, or "-" for NULL. */
static char *
atline(const char *at)
{
	const char	*c;

	if (at == NULL)
		return xstrfmt("-");
	assert_non_null(c = strrchr(at, ':'));
	return xstrfmt("%s", c + 1);
}

/* One field of a hostconf as text; NULL strings are "-". */
static char *
field(const struct hostconf *hc, const char *name)
{
#define S(f)	if (strcmp(name, #f) == 0) \
		return xstrfmt("%s", hc->f == NULL ? "-" : hc->f)
#define N(f)	if (strcmp(name, #f) == 0) \
		return xstrfmt("%ld", (long)hc->f)
	S(hostname);
	S(user);
	S(identity);
	S(server);
	S(ssh);
	N(port);
	N(on_risk);
	N(max_delay);
	N(parallel);
	N(connect_timeout);
	N(retries);
	N(reuse);
	N(password);
	N(agent);
	N(certauto);
	S(certificate);
#undef S
#undef N
	if (strcmp(name, "policy") == 0)
		return xstrfmt("%s", hc->policy->name);
	if (strcmp(name, "hostname_at") == 0)
		return atline(hc->hostname_at);
	if (strcmp(name, "user_at") == 0)
		return atline(hc->user_at);
	if (strcmp(name, "identity_at") == 0)
		return atline(hc->identity_at);
	if (strcmp(name, "port_at") == 0)
		return atline(hc->port_at);
	if (strcmp(name, "certificate_at") == 0)
		return atline(hc->certificate_at);
	fail_msg("no field %s", name);
	return NULL;
}

/* ------------------------------------------------------------- durations */

static const struct {
	const char	*in;
	int		 ok;
	long		 want;
} durs[] = {
	{ "30", 1, 30 },
	{ "0", 1, 0 },
	{ "30s", 1, 30 },
	{ "10m", 1, 600 },
	{ "2h", 1, 7200 },
	{ "1d", 1, 86400 },
	{ "1h30m", 1, 5400 },
	{ "1d2h3m4s", 1, 93784 },
	{ "1d4s", 1, 86404 },
	{ "90m", 1, 5400 },
	{ "007s", 1, 7 },
	{ "2147483647", 1, 2147483647 },
	{ "24855d3h14m7s", 1, 2147483647 },
	{ "", 0, 0 },
	{ "-5", 0, 0 },
	{ "+5", 0, 0 },
	{ " 5", 0, 0 },
	{ "5 ", 0, 0 },
	{ "5x", 0, 0 },
	{ "5S", 0, 0 },
	{ "5M", 0, 0 },
	{ "s", 0, 0 },
	{ "1h30", 0, 0 },
	{ "30m1h", 0, 0 },
	{ "1m1m", 0, 0 },
	{ "1.5h", 0, 0 },
	{ "2147483648", 0, 0 },
	{ "24855d3h14m8s", 0, 0 },
	{ "99999999999999999999", 0, 0 },
	{ "99999999999999999999s", 0, 0 },
	{ "1h 30m", 0, 0 },
	{ "1w", 0, 0 },
};

static void
t_duration(void **state UNUSED)
{
	size_t	i;
	long	v;
	int	r;

	for (i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		v = -42;
		r = conf_duration(durs[i].in, &v);
		if (durs[i].ok) {
			if (r != 0 || v != durs[i].want)
				fail_msg("\"%s\": got %d %ld, want %ld",
				    durs[i].in, r, v, durs[i].want);
		} else if (r != -1 || v != -42)
			fail_msg("\"%s\": accepted as %ld", durs[i].in, v);
	}
	assert_int_equal(conf_duration(NULL, &v), -1);
}

/* --------------------------------------------------------------- matching */

static const struct {
	const char	*host;
	const char	*list;
	int		 want;
} matches[] = {
	{ "site-a", "site-a", 1 },
	{ "site-a", "site-b", 0 },
	{ "site-a", "site-b site-a", 1 },
	{ "site-a", "site-b,site-a", 1 },
	{ "Site-A", "site-a", 1 },
	{ "site-a", "SITE-*", 1 },
	{ "site-a", "*", 1 },
	{ "", "*", 1 },
	{ "site-a", "site-?", 1 },
	{ "site-ab", "site-?", 0 },
	{ "site-", "site-?", 0 },
	{ "site-a", "s*e*a", 1 },
	{ "site-a", "s*e*b", 0 },
	{ "db1.example.com", "*.example.com", 1 },
	{ "example.com", "*.example.com", 0 },
	{ "site-a", "* !site-a", 0 },
	{ "site-b", "* !site-a", 1 },
	{ "site-a", "!site-a *", 0 },
	{ "site-a", "!site-b", 0 },
	{ "site-a", "!site-*,site-a", 0 },
	{ "site-a", "", 0 },
	{ "site-a", "  ,, ", 0 },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	    "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c", 0 },
	{ "a*b", "a\\*b", 0 },
	{ "10.0.0.1", "10.0.0.*", 1 },
	{ "10.0.0.10", "10.0.0.?", 0 },
	{ "site-a", "site-a*", 1 },
	{ "site-a", "**site-a**", 1 },
};

static void
t_match(void **state UNUSED)
{
	size_t	i;

	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++)
		if (conf_match(matches[i].host, matches[i].list) !=
		    matches[i].want)
			fail_msg("conf_match(\"%s\", \"%s\") != %d",
			    matches[i].host, matches[i].list,
			    matches[i].want);
	assert_int_equal(conf_match(NULL, "*"), 0);
	assert_int_equal(conf_match("a", NULL), 0);
}

/* ----------------------------------------------------------- conf_keys[] */

static void
t_keys(void **state UNUSED)
{
	static const char *const want[] = {
		"policy", "on_risk", "max_delay", "parallel",
		"connect_timeout", "retries", "refused_status", "reuse",
		"identity", "user",
		"port", "password", "agent", "certificate", "ssh",
		"hostname", "server", "ledger", "ledger_prefix",
		"ledger_required",
		"max_failures", "window", "penalty", "penalty_limit",
		"cooldown", "login_grace"
	};
	size_t	i, j, n;

	for (n = 0; conf_keys[n] != NULL; n++)
		;
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(want[i], conf_keys[j]) == 0)
				break;
		if (j == n)
			fail_msg("conf_keys lacks %s", want[i]);
	}
}

/* ------------------------------------------------------------ built-ins */

static const struct {
	const char	*name;
	const char	*want;
} builtins[] = {
	{ "openssh", "penalty 5/1/10; cooldown 900" },
	{ "fail2ban", "count 4/600; cooldown 900" },
	{ "sshguard", "count 2/1800; cooldown 900" },
	{ "default", "penalty 5/1/10, count 4/600, count 2/1800; "
	    "cooldown 900" },
};

static void
t_builtins(void **state UNUSED)
{
	struct conf		*conf;
	struct hostconf		 hc;
	const struct policy	*pol;
	char			*s, *cause;
	size_t			 i;

	assert_non_null(conf = conf_new());
	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		assert_non_null(pol = conf_policy(conf, builtins[i].name));
		assert_string_equal(pol->name, builtins[i].name);
		s = polstr(pol);
		assert_string_equal(s, builtins[i].want);
		free(s);
	}
	assert_null(conf_policy(conf, "nope"));
	assert_null(conf_policy(conf, "Default"));
	assert_null(conf_policy(conf, NULL));

	/* No file at all: the documented defaults. */
	assert_int_equal(conf_host(conf, "any", &hc, &cause), 0);
	assert_string_equal(hc.policy->name, "default");
	assert_int_equal(hc.on_risk, ONRISK_DELAY);
	assert_int_equal(hc.max_delay, 30);
	assert_int_equal(hc.parallel, 4);
	assert_int_equal(hc.connect_timeout, 15);
	assert_int_equal(hc.retries, 1);
	assert_int_equal(hc.reuse, 0);
	assert_int_equal(hc.password, 0);
	assert_int_equal(hc.port, 0);
	assert_null(hc.hostname);
	assert_null(hc.user);
	assert_null(hc.identity);
	assert_null(hc.server);
	assert_null(hc.ssh);
	assert_null(hc.hostname_at);
	assert_null(hc.user_at);
	assert_null(hc.identity_at);
	assert_null(hc.port_at);
	conf_free(conf);
	conf_free(NULL);
}

/* -------------------------------------------------- resolved settings */

static const char spec_example[] =
    "[defaults]\n"
    "policy = default\n"
    "on_risk = delay          ; delay | refuse\n"
    "max_delay = 30s\n"
    "parallel = 4             ; attempts in flight per server\n"
    "connect_timeout = 15s\n"
    "retries = 1              ; only for drops that cannot cost budget\n"
    "\n"
    "[host site-a site-b]     ; destination as typed\n"
    "hostname = sv1234.example.jp\n"
    "port = 10022\n"
    "user = deploy\n"
    "identity = ~/.ssh/site.key\n"
    "server = shared-sv1234   ; one ban budget for every host naming it\n"
    "policy = shared-hosting\n"
    "\n"
    "[policy shared-hosting]\n"
    "max_failures = 1\n"
    "window = 1h\n"
    "cooldown = 12h\n";

static const char every_key[] =
    "# every key, with values that differ from the defaults\n"
    "[defaults]\n"
    "policy = fail2ban\n"
    "on_risk = refuse\n"
    "max_delay = 1m30s\n"
    "parallel = 8\n"
    "connect_timeout = 1m\n"
    "retries = 0\n"
    "reuse = 10m\n"
    "identity = /keys/default\n"
    "user = alice\n"
    "port = 2222\n"
    "password = yes\n"
    "agent = yes\n"
    "certificate = ~/c-cert.pub\n"
    "ssh = /opt/ssh/bin/ssh\n"
    "[host h1]\n"
    "hostname = 192.0.2.7\n"
    "server = sv_1.x-y\n";

static const char precedence[] =
    "[host *]\n"			/* 1 */
    "user = star\n"			/* 2 */
    "[defaults]\n"			/* 3 */
    "user = dflt\n"			/* 4 */
    "port = 1\n"			/* 5 */
    "parallel = 2\n"			/* 6 */
    "[host a* !ab]\n"			/* 7 */
    "user = a-star\n"			/* 8 */
    "identity = ~/a.key\n"		/* 9 */
    "[host ac]\n"			/* 10 */
    "user = ac\n"			/* 11 */
    "port = 3\n"			/* 12 */
    "[defaults]\n"			/* 13 */
    "port = 2\n"			/* 14 */
    "parallel = 5\n";			/* 15 */

static const char comments[] =
    "\xef\xbb\xbf; a BOM, then comments of every kind\r\n"
    "# hash comment\r\n"
    "   ; indented comment\r\n"
    "[defaults]  # after a header\r\n"
    "user = deploy ; the user\r\n"
    "\tport = 22 # indentation is not a continuation\r\n"
    "identity = ~/k#1;2\r\n"
    "   parallel=7\r\n"
    "\r\n";

static const char policies[] =
    "[policy p1]\n"
    "max_failures = 3\n"
    "window = 5m\n"
    "[policy p2]\n"
    "penalty = 5\n"
    "penalty_limit = 30\n"
    "cooldown = 1d\n"
    "[policy p3]\n"
    "max_failures = 1\n"
    "window = 1h\n"
    "penalty = 2s\n"
    "penalty_limit = 2s\n"
    "cooldown = 0\n"
    "[policy fail2ban]\n"
    "max_failures = 9\n"
    "window = 1m\n"
    "[defaults]\n"
    "policy = p1\n"
    "[host two]\n"
    "policy = p2\n"
    "[host three]\n"
    "policy = p3\n"
    "[host f2b]\n"
    "policy = fail2ban\n";

static const struct {
	const char	*text;
	const char	*host;
	const char	*field;
	const char	*want;
} resolved[] = {
	{ spec_example, "site-a", "hostname", "sv1234.example.jp" },
	{ spec_example, "site-b", "hostname", "sv1234.example.jp" },
	{ spec_example, "SITE-B", "hostname", "sv1234.example.jp" },
	{ spec_example, "site-c", "hostname", "-" },
	{ spec_example, "site-a", "port", "10022" },
	{ spec_example, "site-a", "user", "deploy" },
	{ spec_example, "site-a", "identity", "/home/t/.ssh/site.key" },
	{ spec_example, "site-a", "server", "shared-sv1234" },
	{ spec_example, "site-a", "policy", "shared-hosting" },
	{ spec_example, "site-c", "policy", "default" },
	{ spec_example, "site-a", "on_risk", "0" },
	{ spec_example, "site-a", "max_delay", "30" },
	{ spec_example, "site-a", "parallel", "4" },
	{ spec_example, "site-a", "connect_timeout", "15" },
	{ spec_example, "site-a", "retries", "1" },
	{ spec_example, "site-a", "hostname_at", "10" },
	{ spec_example, "site-a", "port_at", "11" },
	{ spec_example, "site-a", "user_at", "12" },
	{ spec_example, "site-a", "identity_at", "13" },
	{ spec_example, "site-c", "port_at", "-" },

	{ every_key, "h1", "policy", "fail2ban" },
	{ every_key, "h1", "on_risk", "1" },
	{ every_key, "h1", "max_delay", "90" },
	{ every_key, "h1", "parallel", "8" },
	{ every_key, "h1", "connect_timeout", "60" },
	{ every_key, "h1", "retries", "0" },
	{ every_key, "h1", "reuse", "600" },
	{ every_key, "h1", "identity", "/keys/default" },
	{ every_key, "h1", "user", "alice" },
	{ every_key, "h1", "port", "2222" },
	{ every_key, "h1", "password", "1" },
	{ every_key, "h1", "agent", "1" },
	{ every_key, "h1", "certificate", "/home/t/c-cert.pub" },
	{ every_key, "h1", "certauto", "0" },
	{ every_key, "h1", "certificate_at", "15" },
	{ every_key, "h1", "ssh", "/opt/ssh/bin/ssh" },
	{ every_key, "h1", "hostname", "192.0.2.7" },
	{ every_key, "h1", "server", "sv_1.x-y" },
	{ every_key, "h2", "server", "-" },
	{ every_key, "h2", "ssh", "/opt/ssh/bin/ssh" },

	/* Defaults (all of them, in order) first, then matching hosts. */
	{ precedence, "zz", "user", "star" },
	{ precedence, "zz", "user_at", "2" },
	{ precedence, "zz", "port", "2" },
	{ precedence, "zz", "port_at", "14" },
	{ precedence, "zz", "parallel", "5" },
	{ precedence, "zz", "identity", "-" },
	{ precedence, "ab", "user", "star" },
	{ precedence, "ab", "identity", "-" },
	{ precedence, "aX", "user", "a-star" },
	{ precedence, "aX", "identity", "/home/t/a.key" },
	{ precedence, "ac", "user", "ac" },
	{ precedence, "ac", "user_at", "11" },
	{ precedence, "ac", "port", "3" },
	{ precedence, "ac", "identity", "/home/t/a.key" },
	{ precedence, "ac", "identity_at", "9" },

	{ comments, "x", "user", "deploy" },
	{ comments, "x", "port", "22" },
	{ comments, "x", "port_at", "6" },
	{ comments, "x", "identity", "/home/t/k#1;2" },
	{ comments, "x", "parallel", "7" },

	{ policies, "one", "policy", "p1" },
	{ policies, "two", "policy", "p2" },
	{ policies, "three", "policy", "p3" },
	{ policies, "f2b", "policy", "fail2ban" },

	{ "[defaults]\nreuse = no\n", "x", "reuse", "0" },
	{ "[defaults]\nreuse = 1d\n", "x", "reuse", "86400" },
	{ "[defaults]\nmax_delay = 0\n", "x", "max_delay", "0" },
	{ "[defaults]\nmax_delay = 1h\n", "x", "max_delay", "3600" },
	{ "[defaults]\nconnect_timeout = 1\n", "x", "connect_timeout", "1" },
	{ "[defaults]\nconnect_timeout = 1h\n", "x", "connect_timeout",
	    "3600" },
	{ "[defaults]\nparallel = 1\n", "x", "parallel", "1" },
	{ "[defaults]\nparallel = 64\n", "x", "parallel", "64" },
	{ "[defaults]\nretries = 1\n", "x", "retries", "1" },
	{ "[defaults]\npassword = no\n", "x", "password", "0" },
	{ "", "x", "agent", "0" },
	{ "", "x", "certificate", "-" },
	{ "", "x", "certauto", "0" },
	{ "[defaults]\nagent = no\n[host x]\nagent = yes\n", "x", "agent",
	    "1" },
	{ "[defaults]\nagent = yes\n[host x]\nagent = no\n", "x", "agent",
	    "0" },
	{ "[defaults]\ncertificate = auto\n", "x", "certauto", "1" },
	{ "[defaults]\ncertificate = auto\n", "x", "certificate", "-" },
	{ "[defaults]\ncertificate = /c\n[host x]\ncertificate = auto\n",
	    "x", "certificate", "-" },
	{ "[defaults]\ncertificate = auto\n[host x]\ncertificate = no\n",
	    "x", "certauto", "0" },
	{ "[defaults]\ncertificate = auto\n[host x]\ncertificate = /c\n",
	    "x", "certauto", "0" },
	{ "[defaults]\ncertificate = auto\n[host x]\ncertificate = /c\n",
	    "x", "certificate", "/c" },
	{ "[defaults]\nport = 65535\n", "x", "port", "65535" },
	{ "[defaults]\nport = 1\n", "x", "port", "1" },
	{ "[defaults]\non_risk = delay\n", "x", "on_risk", "0" },
	{ "[defaults]\nidentity = ~/k\n", "x", "identity", "/home/t/k" },
	{ "[defaults]\nssh = ~/bin/ssh\n", "x", "ssh", "/home/t/bin/ssh" },
	{ "[host x]\nserver = a\n", "x", "server", "a" },
	{ "[host x]\nserver = "
	    "a234567890123456789012345678901234567890123456789012345678901234"
	    "\n", "x", "server",
	    "a234567890123456789012345678901234567890123456789012345678901234" },
	{ "[host x]\nhostname = db.example.com\n", "x", "hostname",
	    "db.example.com" },
	{ "[host x]\nhostname = ::1\n", "x", "hostname", "::1" },
	{ "[ host  x,y\t]\nuser = u\n", "y", "user", "u" },
	{ "[host x]\n[host y]\nuser = u\n", "x", "user", "-" },
	{ "[defaults]\nuser=u\n", "x", "user", "u" },
	{ "[defaults]\nidentity = /a;b\n", "x", "identity", "/a;b" },
	{ "[host x]\n", "x", "user", "-" },
	{ "", "x", "parallel", "4" },
	{ "[defaults]", "x", "parallel", "4" },
	{ "[defaults]\nparallel = 9", "x", "parallel", "9" },
};

static void
t_resolve(void **state UNUSED)
{
	struct conf	*conf;
	struct hostconf	 hc;
	char		*path, *cause, *got;
	size_t		 i;

	setenv("HOME", "/home/t", 1);
	for (i = 0; i < sizeof(resolved) / sizeof(resolved[0]); i++) {
		cause = NULL;
		conf = loadtext(resolved[i].text, &path, &cause);
		if (conf == NULL)
			fail_msg("case %zu: %s", i, cause);
		if (conf_host(conf, resolved[i].host, &hc, &cause) == -1)
			fail_msg("case %zu: conf_host: %s", i, cause);
		got = field(&hc, resolved[i].field);
		if (strcmp(got, resolved[i].want) != 0)
			fail_msg("case %zu (%s %s): got \"%s\", want \"%s\"",
			    i, resolved[i].host, resolved[i].field, got,
			    resolved[i].want);
		free(got);
		conf_free(conf);
		free(path);
	}
}

/* The "file:line" strings are whole paths. */
static void
t_at(void **state UNUSED)
{
	struct conf	*conf;
	struct hostconf	 hc;
	char		*path, *cause, *want;

	assert_non_null(conf = loadtext(spec_example, &path, &cause));
	assert_int_equal(conf_host(conf, "site-a", &hc, &cause), 0);
	want = xstrfmt("%s:10", path);
	assert_string_equal(hc.hostname_at, want);
	free(want);
	conf_free(conf);
	free(path);
}

/* ------------------------------------------------------------- policies */

static const struct {
	const char	*text;
	const char	*name;
	const char	*want;
} userpols[] = {
	{ policies, "p1", "count 3/300; cooldown 900" },
	{ policies, "p2", "penalty 5/1/30; cooldown 86400" },
	{ policies, "p3", "count 1/3600, penalty 2/1/2; cooldown 0" },
	{ policies, "fail2ban", "count 9/60; cooldown 900" },
	{ policies, "openssh", "penalty 5/1/10; cooldown 900" },
	{ spec_example, "shared-hosting", "count 1/3600; cooldown 43200" },
	{ "[policy default]\nmax_failures = 2\nwindow = 1d\n", "default",
	    "count 2/86400; cooldown 900" },
	{ "[policy a.b_c-9]\npenalty = 1h\npenalty_limit = 1d\n", "a.b_c-9",
	    "penalty 3600/1/86400; cooldown 900" },
	{ "[policy m]\nmax_failures = 1000\nwindow = 30d\ncooldown = 30d\n",
	    "m", "count 1000/2592000; cooldown 2592000" },
};

static void
t_policies(void **state UNUSED)
{
	struct conf		*conf;
	const struct policy	*pol;
	char			*path, *cause, *s;
	size_t			 i;

	for (i = 0; i < sizeof(userpols) / sizeof(userpols[0]); i++) {
		conf = loadtext(userpols[i].text, &path, &cause);
		if (conf == NULL)
			fail_msg("case %zu: %s", i, cause);
		if ((pol = conf_policy(conf, userpols[i].name)) == NULL)
			fail_msg("case %zu: no policy %s", i,
			    userpols[i].name);
		s = polstr(pol);
		if (strcmp(s, userpols[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, s,
			    userpols[i].want);
		free(s);
		conf_free(conf);
		free(path);
	}
}

/* --------------------------------------------------------------- errors */

/* FILE is replaced by the file's path; a trailing '*' matches any rest. */
static const struct {
	const char	*text;
	const char	*want;
} errors[] = {
	/* Sections. */
	{ "[bogus]\n", "FILE:1: unknown section [bogus]" },
	{ "[Defaults]\n", "FILE:1: unknown section [Defaults]" },
	{ "[hosts a]\n", "FILE:1: unknown section [hosts]" },
	{ "[]\n", "FILE:1: empty section header" },
	{ "[  ]\n", "FILE:1: empty section header" },
	{ "[defaults\n", "FILE:1: bad section header: missing \"]\"" },
	{ "[defaults] x\n", "FILE:1: bad section header: missing \"]\"" },
	{ "[a[b]\n", "FILE:1: bad section header \"[a[b]\"" },
	{ "[defaults x]\n", "FILE:1: [defaults] takes no arguments" },
	{ "[host]\n", "FILE:1: expected [host PATTERN ...]" },
	{ "[host , ]\n", "FILE:1: expected [host PATTERN ...]" },
	{ "[host a b!c]\n", "FILE:1: bad host pattern \"b!c\"" },
	{ "[host a !]\n", "FILE:1: bad host pattern \"!\"" },
	{ "[host a;b]\n", "FILE:1: bad host pattern \"a;b\"" },
	{ "[policy]\n", "FILE:1: expected [policy NAME]" },
	{ "[policy a b]\n", "FILE:1: expected [policy NAME]" },
	{ "[policy -a]\n", "FILE:1: bad policy name \"-a\" (letters, "
	    "digits, '.', '_' and '-', at most 63)" },
	{ "[policy "
	    "a234567890123456789012345678901234567890123456789012345678901234"
	    "]\n", "FILE:1: bad policy name *" },

	/* Keys. */
	{ "port = 22\n", "FILE:1: \"port\" is outside any section" },
	{ "[defaults]\nprot = 22\n",
	    "FILE:2: unknown key \"prot\" in [defaults]" },
	{ "[host site-a]\n\nprot = 1\n",
	    "FILE:3: unknown key \"prot\" in [host site-a]" },
	{ "[host a,b  c]\nx = 1\n", "FILE:2: unknown key \"x\" in [host a b c]" },
	{ "[policy p]\nmax = 1\n", "FILE:2: unknown key \"max\" in [policy p]" },
	{ "[defaults]\nPort = 22\n", "FILE:2: unknown key \"Port\" in "
	    "[defaults] (did you mean \"port\"?)" },
	{ "[defaults]\nhostname = x\n", "FILE:2: key \"hostname\" is not "
	    "allowed in [defaults] (only in [host ...])" },
	{ "[defaults]\nserver = x\n", "FILE:2: key \"server\" is not "
	    "allowed in [defaults] (only in [host ...])" },
	{ "[host a]\nssh = /usr/bin/ssh\n", "FILE:2: key \"ssh\" is not "
	    "allowed in [host a] (only in [defaults])" },
	{ "[defaults]\nwindow = 1m\n", "FILE:2: key \"window\" is not "
	    "allowed in [defaults] (only in [policy ...])" },
	{ "[host a]\ncooldown = 1m\n", "FILE:2: key \"cooldown\" is not "
	    "allowed in [host a] (only in [policy ...])" },
	{ "[policy p]\nport = 1\n", "FILE:2: key \"port\" is not allowed in "
	    "[policy p] (only in [defaults] and [host ...])" },
	{ "[defaults]\nport = 1\nuser = u\nport = 2\n", "FILE:4: duplicate "
	    "key \"port\" in [defaults] (first at line 2)" },
	{ "[policy p]\nwindow = 1\nwindow = 2\n", "FILE:3: duplicate "
	    "key \"window\" in [policy p] (first at line 2)" },
	{ "[defaults]\nport =\n", "FILE:2: missing value for \"port\"" },
	{ "[defaults]\nport = ; comment\n",
	    "FILE:2: missing value for \"port\"" },
	{ "[defaults]\njunk\n", "FILE:2: syntax error: expected \"key = "
	    "value\" or \"[section]\"" },
	{ "[defaults]\nuser: x\n", "FILE:2: syntax error: *" },
	{ "[defaults]\n= x\n", "FILE:2: syntax error: *" },
	{ "[defaults]\nus er = x\n", "FILE:2: syntax error: *" },
	{ "[defaults]\nuser = a\n  continued\n", "FILE:3: syntax error: *" },

	/* Values. */
	{ "[defaults]\npolicy = a b\n",
	    "FILE:2: invalid policy \"a b\": not a policy name" },
	{ "[defaults]\non_risk = wait\n",
	    "FILE:2: invalid on_risk \"wait\": expected delay or refuse" },
	{ "[defaults]\non_risk = Delay\n", "FILE:2: invalid on_risk *" },
	{ "[defaults]\nmax_delay = 3x\n", "FILE:2: invalid max_delay \"3x\": "
	    "not a duration (like 30s, 10m, 1h30m)" },
	{ "[defaults]\nmax_delay = 1h1s\n", "FILE:2: invalid max_delay "
	    "\"1h1s\": must be from 0s to 1h" },
	{ "[defaults]\nmax_delay = -1\n", "FILE:2: invalid max_delay *" },
	{ "[defaults]\nparallel = 0\n", "FILE:2: invalid parallel \"0\": "
	    "must be a number from 1 to 64" },
	{ "[defaults]\nparallel = 65\n", "FILE:2: invalid parallel *" },
	{ "[defaults]\nparallel = 4x\n", "FILE:2: invalid parallel *" },
	{ "[defaults]\nparallel = +4\n", "FILE:2: invalid parallel *" },
	{ "[defaults]\nconnect_timeout = 0\n", "FILE:2: invalid "
	    "connect_timeout \"0\": must be from 1s to 1h" },
	{ "[defaults]\nconnect_timeout = 1h1s\n", "FILE:2: invalid "
	    "connect_timeout *" },
	{ "[defaults]\nretries = 2\n", "FILE:2: invalid retries \"2\": "
	    "must be a number from 0 to 1" },
	{ "[defaults]\nreuse = yes\n", "FILE:2: invalid reuse \"yes\": "
	    "expected no or a duration (like 30s, 10m, 1h30m)" },
	{ "[defaults]\nreuse = 0\n", "FILE:2: invalid reuse \"0\": "
	    "must be from 1s to 1d" },
	{ "[defaults]\npassword = true\n",
	    "FILE:2: invalid password \"true\": expected yes or no" },
	{ "[defaults]\nagent = 1\n",
	    "FILE:2: invalid agent \"1\": expected yes or no" },
	{ "[defaults]\ncertificate = yes\n", "FILE:2: invalid certificate "
	    "\"yes\": expected no, auto, or an absolute path or one "
	    "starting with ~/" },
	{ "[defaults]\ncertificate = /a b\n", "FILE:2: invalid "
	    "certificate *" },
	{ "[defaults]\nidentity = .ssh/k\n", "FILE:2: invalid identity "
	    "\".ssh/k\": must be an absolute path or start with ~/" },
	{ "[defaults]\nidentity = ~bob/k\n", "FILE:2: invalid identity *" },
	{ "[defaults]\nidentity = /a b\n", "FILE:2: invalid identity "
	    "\"/a b\": blanks, quotes, '\\', '%' and '$' are not supported "
	    "in paths" },
	{ "[defaults]\nidentity = /k/%d\n", "FILE:2: invalid identity *" },
	{ "[defaults]\nidentity = /k/${X}\n", "FILE:2: invalid identity *" },
	{ "[defaults]\nidentity = \"/k\"\n", "FILE:2: invalid identity "
	    "\"?/k?\": *" },
	{ "[defaults]\nssh = ssh\n", "FILE:2: invalid ssh \"ssh\": *" },
	{ "[defaults]\nuser = -oProxyCommand=x\n",
	    "FILE:2: invalid user \"-oProxyCommand=x\": *" },
	{ "[defaults]\nuser = a b\n", "FILE:2: invalid user \"a b\": *" },
	{ "[defaults]\nuser = a|b\n", "FILE:2: invalid user \"a|b\": *" },
	{ "[defaults]\nport = 0\n", "FILE:2: invalid port \"0\": *" },
	{ "[defaults]\nport = 65536\n", "FILE:2: invalid port \"65536\": *" },
	{ "[defaults]\nport = 22a\n", "FILE:2: invalid port \"22a\": must be "
	    "a number from 1 to 65535" },
	{ "[defaults]\nport = ssh\n", "FILE:2: invalid port *" },
	{ "[defaults]\nport = -1\n", "FILE:2: invalid port *" },
	{ "[host a]\nhostname = -oProxyCommand=x\n",
	    "FILE:2: invalid hostname \"-oProxyCommand=x\": *" },
	{ "[host a]\nhostname = a`id`\n", "FILE:2: invalid hostname *" },
	{ "[host a]\nhostname = a b\n", "FILE:2: invalid hostname *" },
	{ "[host a]\nserver = .x\n", "FILE:2: invalid server \".x\": letters, "
	    "digits, '.', '_' and '-', at most 64, not starting with '.' or "
	    "'-'" },
	{ "[host a]\nserver = -x\n", "FILE:2: invalid server *" },
	{ "[host a]\nserver = a/b\n", "FILE:2: invalid server *" },
	{ "[host a]\nserver = ..\n", "FILE:2: invalid server *" },
	{ "[host a]\nserver = "
	    "a2345678901234567890123456789012345678901234567890123456789012345"
	    "\n", "FILE:2: invalid server *" },
	{ "[host a]\nserver = \xc3\xa9t\xc3\xa9\n",
	    "FILE:2: invalid server \"??t??\": *" },

	/* Policies. */
	{ "[policy p]\nmax_failures = 0\n", "FILE:2: invalid max_failures "
	    "\"0\": must be a number from 1 to 1000" },
	{ "[policy p]\nmax_failures = 1001\n",
	    "FILE:2: invalid max_failures *" },
	{ "[policy p]\nwindow = 0\n", "FILE:2: invalid window \"0\": must "
	    "be from 1s to 30d" },
	{ "[policy p]\npenalty = 0\n", "FILE:2: invalid penalty *" },
	{ "[policy p]\npenalty_limit = 2d\n",
	    "FILE:2: invalid penalty_limit *" },
	{ "[policy p]\ncooldown = 31d\n", "FILE:2: invalid cooldown *" },
	{ "[policy p]\n\nmax_failures = 2\n[defaults]\n",
	    "FILE:3: max_failures needs window in [policy p]" },
	{ "[policy p]\nwindow = 1h\n",
	    "FILE:2: window needs max_failures in [policy p]" },
	{ "[policy p]\npenalty = 5\nmax_failures = 1\nwindow = 1\n",
	    "FILE:2: penalty needs penalty_limit in [policy p]" },
	{ "[policy p]\npenalty_limit = 5\n",
	    "FILE:2: penalty_limit needs penalty in [policy p]" },
	{ "[policy p]\npenalty = 5\npenalty_limit = 4\n", "FILE:3: "
	    "penalty_limit (4s) is less than penalty (5s) in [policy p]" },
	{ "[policy p]\ncooldown = 1h\n", "FILE:1: [policy p] has no rule: "
	    "set max_failures and window, or penalty and penalty_limit" },
	{ "[defaults]\n[policy p]\n", "FILE:2: [policy p] has no rule: *" },
	{ "[policy p]\n[policy q]\nmax_failures = 1\nwindow = 1\n",
	    "FILE:1: [policy p] has no rule: *" },
	{ "[policy p]\nmax_failures = 1\nwindow = 1\n[host x]\n"
	    "[policy p]\nmax_failures = 1\nwindow = 1\n",
	    "FILE:5: [policy p] already defined at line 1" },

	/* Bytes. */
	{ "[defaults]\nuser = a\rb\n",
	    "FILE:2: carriage return inside a line" },
	{ "[defaults]\nuser = a\x01\n", "FILE:2: binary data (byte 0x01)" },
	{ "[defaults]\n# \x1b[31m\n", "FILE:2: binary data (byte 0x1b)" },
	{ "[defaults]\nuser = a\x7f\n", "FILE:2: binary data (byte 0x7f)" },
	{ "\n\n\n\x04\x05", "FILE:4: binary data (byte 0x04)" },
};

/* Does got match want, with FILE standing for path and '*' at the end? */
static int
msgmatch(const char *got, const char *want, const char *path)
{
	char	*w;
	size_t	 n;
	int	 r;

	assert_int_equal(strncmp(want, "FILE", 4), 0);
	w = xstrfmt("%s%s", path, want + 4);
	n = strlen(w);
	if (n > 0 && w[n - 1] == '*')
		r = strncmp(got, w, n - 1) == 0;
	else
		r = strcmp(got, w) == 0;
	free(w);
	return r;
}

static void
t_errors(void **state UNUSED)
{
	struct conf	*conf;
	char		*path, *cause;
	size_t		 i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		cause = NULL;
		conf = loadtext(errors[i].text, &path, &cause);
		if (conf != NULL)
			fail_msg("case %zu: loaded, want \"%s\"", i,
			    errors[i].want);
		if (cause == NULL)
			fail_msg("case %zu: no cause", i);
		if (strchr(cause, '\n') != NULL)
			fail_msg("case %zu: two lines: %s", i, cause);
		if (!msgmatch(cause, errors[i].want, path))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i,
			    cause, errors[i].want);
		free(cause);
		free(path);
	}
}

/* A NUL byte is binary data, not the end of the line. */
static void
t_nul(void **state UNUSED)
{
	static const char	 text[] = "[defaults]\nuser = a\0b\n";
	struct conf		*conf;
	char			*path, *cause, *want;

	path = writefile(text, sizeof(text) - 1, 0600);
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load(conf, path, 1, &cause), -1);
	want = xstrfmt("%s:2: binary data (byte 0x00)", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	conf_free(conf);
	free(path);
}

/* Random bytes: an error, never a crash or a silent success. */
static void
t_garbage(void **state UNUSED)
{
	struct conf	*conf;
	char		 buf[4096], *path, *cause;
	unsigned	 seed, x;
	size_t		 i;

	for (seed = 1; seed <= 50; seed++) {
		x = seed;
		for (i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245 + 12345;
			buf[i] = (char)(x >> 16);
		}
		path = writefile(buf, sizeof(buf), 0600);
		assert_non_null(conf = conf_new());
		cause = NULL;
		assert_int_equal(conf_load(conf, path, 1, &cause), -1);
		assert_non_null(cause);
		assert_int_equal(strncmp(cause, path, strlen(path)), 0);
		free(cause);
		conf_free(conf);
		unlink(path);
		free(path);
	}
}

/* Lines up to inih's limit are read whole; longer ones are errors. */
static void
t_longline(void **state UNUSED)
{
	struct conf	*conf;
	struct hostconf	 hc;
	char		*path, *cause, *text, *want, *id;
	size_t		 cap = INI_MAX_LINE - 3, n;

	/* "identity = /" + padding: exactly cap bytes, then one more. */
	for (n = cap; n <= cap + 1; n++) {
		id = calloc(1, n + 1);
		assert_non_null(id);
		memset(id, 'k', n);
		memcpy(id, "identity = /", 12);
		text = xstrfmt("[defaults]\n%s\n", id);
		assert_non_null(conf = conf_new());
		path = writeconf(text);
		cause = NULL;
		if (n == cap) {
			assert_int_equal(conf_load(conf, path, 1, &cause), 0);
			assert_int_equal(conf_host(conf, "x", &hc, &cause), 0);
			assert_string_equal(hc.identity, id + 11);
		} else {
			assert_int_equal(conf_load(conf, path, 1, &cause), -1);
			want = xstrfmt("%s:2: line too long (limit %zu bytes)",
			    path, cap);
			assert_string_equal(cause, want);
			free(want);
			free(cause);
		}
		conf_free(conf);
		free(text);
		free(path);
		free(id);
	}

	/* Comments may be longer; the setting after one still counts. */
	id = calloc(1, 5001);
	assert_non_null(id);
	memset(id, '#', 5000);
	text = xstrfmt("[defaults]\n%s\n  ;%s\nparallel = 3\n", id, id);
	assert_non_null(conf = conf_new());
	path = writeconf(text);
	assert_int_equal(conf_load(conf, path, 1, &cause), 0);
	assert_int_equal(conf_host(conf, "x", &hc, &cause), 0);
	assert_int_equal(hc.parallel, 3);
	conf_free(conf);
	free(text);
	free(path);

	/* An inline comment counts: the line is read whole or not at all. */
	text = xstrfmt("[defaults]\nparallel = 3 ; %s\n", id);
	assert_non_null(conf = conf_new());
	path = writeconf(text);
	assert_int_equal(conf_load(conf, path, 1, &cause), -1);
	assert_non_null(strstr(cause, ":2: line too long"));
	free(cause);
	conf_free(conf);
	free(text);
	free(path);
	free(id);
}

/* ------------------------------------------------------------------ files */

static void
t_files(void **state UNUSED)
{
	struct conf	*conf;
	char		*path, *link, *cause, *want;
	size_t		 i;
	static const struct {
		mode_t		 mode;
		const char	*why;	/* NULL: accepted */
	} modes[] = {
		{ 0600, NULL },
		{ 0644, NULL },
		{ 0400, NULL },
		{ 0666, "group or world writable (mode 0666)" },
		{ 0620, "group or world writable (mode 0620)" },
		{ 0602, "group or world writable (mode 0602)" },
		{ 0660, "group or world writable (mode 0660)" },
	};

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		path = writefile("[defaults]\n", 11, modes[i].mode);
		assert_non_null(conf = conf_new());
		cause = NULL;
		if (modes[i].why == NULL)
			assert_int_equal(conf_load(conf, path, 1, &cause), 0);
		else {
			assert_int_equal(conf_load(conf, path, 1, &cause), -1);
			want = xstrfmt("%s: refusing: %s", path, modes[i].why);
			assert_string_equal(cause, want);
			free(want);
			free(cause);
		}
		conf_free(conf);
		free(path);
	}

	assert_non_null(conf = conf_new());

	/* A symlink, even to a good file, is refused. */
	path = writeconf("[defaults]\n");
	link = xstrfmt("%s/link.conf", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(conf_load(conf, link, 0, &cause), -1);
	want = xstrfmt("%s: refusing: symbolic link", link);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	unlink(link);
	free(link);

	/* A dangling symlink too, even when the file need not exist. */
	link = xstrfmt("%s/dangling.conf", dir);
	assert_int_equal(symlink("/nonexistent/x", link), 0);
	assert_int_equal(conf_load(conf, link, 0, &cause), -1);
	assert_non_null(strstr(cause, ": refusing: symbolic link"));
	free(cause);
	unlink(link);
	free(link);

	/* Not a regular file. */
	assert_int_equal(conf_load(conf, dir, 0, &cause), -1);
	want = xstrfmt("%s: refusing: not a regular file", dir);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	link = xstrfmt("%s/fifo", dir);
	assert_int_equal(mkfifo(link, 0600), 0);
	assert_int_equal(conf_load(conf, link, 0, &cause), -1);
	assert_non_null(strstr(cause, ": refusing: not a regular file"));
	free(cause);
	unlink(link);
	free(link);

	/* Missing: fine unless it must exist. */
	link = xstrfmt("%s/missing.conf", dir);
	assert_int_equal(conf_load(conf, link, 0, &cause), 0);
	assert_int_equal(conf_load(conf, link, 1, &cause), -1);
	want = xstrfmt("%s: %s", link, strerror(ENOENT));
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(link);
	link = xstrfmt("%s/sub/config", path);	/* under a file */
	assert_int_equal(conf_load(conf, link, 0, &cause), 0);
	assert_int_equal(conf_load(conf, link, 1, &cause), -1);
	free(cause);
	free(link);

	/* Someone else's file (only root can make one here). */
	if (getuid() == 0) {
		assert_int_equal(chown(path, 12345, 0), 0);
		assert_int_equal(conf_load(conf, path, 1, &cause), -1);
		want = xstrfmt("%s: refusing: owned by uid 12345, not by you "
		    "or root", path);
		assert_string_equal(cause, want);
		free(want);
		free(cause);
	}
	free(path);
	conf_free(conf);
}

/* Several files: later files win, hosts beat defaults of any file. */
static void
t_twofiles(void **state UNUSED)
{
	struct conf	*conf;
	struct hostconf	 hc;
	char		*sys, *user, *bad, *cause, *want;
	const char	*path, *pats, *at;
	int		 found;

	sys = writeconf(
	    "[defaults]\n"
	    "user = sysuser\n"
	    "parallel = 2\n"
	    "policy = strict\n"
	    "[host a]\n"
	    "port = 1001\n"
	    "user = sys-a\n"
	    "[policy strict]\n"
	    "max_failures = 1\n"
	    "window = 1h\n");
	user = writeconf(
	    "[defaults]\n"
	    "user = me\n"
	    "port = 22\n"
	    "[host a b]\n"
	    "port = 2002\n"
	    "[policy strict]\n"
	    "max_failures = 2\n"
	    "window = 1h\n");
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load(conf, sys, 0, &cause), 0);
	assert_int_equal(conf_load(conf, user, 0, &cause), 0);

	assert_int_equal(conf_host(conf, "a", &hc, &cause), 0);
	assert_string_equal(hc.user, "sys-a");	/* host beats defaults */
	assert_int_equal(hc.port, 2002);	/* later host wins */
	want = xstrfmt("%s:5", user);
	assert_string_equal(hc.port_at, want);
	free(want);
	assert_int_equal(hc.parallel, 2);
	assert_string_equal(hc.policy->name, "strict");
	assert_int_equal(hc.policy->rules[0].max_failures, 2);

	assert_int_equal(conf_host(conf, "c", &hc, &cause), 0);
	assert_string_equal(hc.user, "me");	/* later defaults win */
	assert_int_equal(hc.port, 22);

	/* A file with an error adds none of its settings. */
	bad = writeconf("[defaults]\nparallel = 9\n[host z]\nuser = x y\n");
	assert_int_equal(conf_load(conf, bad, 0, &cause), -1);
	free(cause);
	assert_int_equal(conf_host(conf, "c", &hc, &cause), 0);
	assert_int_equal(hc.parallel, 2);

	/* The files given and the [host] sections, with file:line. */
	want = xstrfmt("%s/nosuch", dir);
	assert_int_equal(conf_load(conf, want, 0, &cause), 0);
	assert_int_equal(conf_file(conf, 0, &path, &found), 0);
	assert_string_equal(path, sys);
	assert_int_equal(found, 1);
	assert_int_equal(conf_file(conf, 1, &path, &found), 0);
	assert_string_equal(path, user);
	assert_int_equal(conf_file(conf, 2, &path, &found), 0);
	assert_string_equal(path, bad);		/* given, though refused */
	assert_int_equal(conf_file(conf, 3, &path, &found), 0);
	assert_string_equal(path, want);
	assert_int_equal(found, 0);
	assert_int_equal(conf_file(conf, 4, &path, &found), -1);
	free(want);
	assert_int_equal(conf_section(conf, 0, &pats, &at), 0);
	assert_string_equal(pats, "a");
	want = xstrfmt("%s:5", sys);
	assert_string_equal(at, want);
	free(want);
	assert_int_equal(conf_section(conf, 1, &pats, &at), 0);
	assert_string_equal(pats, "a b");
	want = xstrfmt("%s:4", user);
	assert_string_equal(at, want);
	free(want);
	/* The refused file's [host z] is gone with its settings. */
	assert_int_equal(conf_section(conf, 2, &pats, &at), -1);

	free(bad);
	free(sys);
	free(user);
	conf_free(conf);
}

/* "policy =" must name a policy, wherever it is. */
static void
t_refs(void **state UNUSED)
{
	struct conf	*conf;
	struct hostconf	 hc;
	char		*a, *b, *cause, *want;

	a = writeconf("[defaults]\nuser = u\n\n[host x]\npolicy = later\n");
	b = writeconf("[policy later]\npenalty = 1\npenalty_limit = 3\n");
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load(conf, a, 1, &cause), 0);
	/* Unknown until the second file defines it. */
	assert_int_equal(conf_host(conf, "y", &hc, &cause), -1);
	want = xstrfmt("%s:5: unknown policy \"later\"", a);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	assert_int_equal(conf_load(conf, b, 1, &cause), 0);
	assert_int_equal(conf_host(conf, "x", &hc, &cause), 0);
	assert_string_equal(hc.policy->name, "later");
	assert_int_equal(hc.policy->rules[0].kind, RULE_PENALTY);
	assert_int_equal(hc.policy->rules[0].noauth, 1);
	conf_free(conf);
	free(a);
	free(b);
}

/* SAFESSH_CONFIG, /dev/null, XDG_CONFIG_HOME and HOME. */
static void
t_default(void **state UNUSED)
{
	struct conf	*conf;
	struct hostconf	 hc;
	char		*path, *xdg, *home, *sub, *cause, *want;

	unsetenv("XDG_CONFIG_HOME");

	path = writeconf("[defaults]\nparallel = 11\n");
	setenv("SAFESSH_CONFIG", path, 1);
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load_default(conf, &cause), 0);
	assert_int_equal(conf_host(conf, "x", &hc, &cause), 0);
	assert_int_equal(hc.parallel, 11);
	conf_free(conf);
	free(path);

	/* It must exist, and its references must resolve. */
	path = xstrfmt("%s/none.conf", dir);
	setenv("SAFESSH_CONFIG", path, 1);
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load_default(conf, &cause), -1);
	want = xstrfmt("%s: %s", path, strerror(ENOENT));
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	conf_free(conf);
	free(path);
	path = writeconf("[host q]\npolicy = nope\n");
	setenv("SAFESSH_CONFIG", path, 1);
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load_default(conf, &cause), -1);
	want = xstrfmt("%s:2: unknown policy \"nope\"", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	conf_free(conf);
	free(path);

	setenv("SAFESSH_CONFIG", "/dev/null", 1);
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load_default(conf, &cause), 0);
	conf_free(conf);

	/* Unset: the user's file under XDG_CONFIG_HOME, else ~/.config. */
	unsetenv("SAFESSH_CONFIG");
	xdg = xstrfmt("%s/xdg", dir);
	sub = xstrfmt("%s/xdg/safessh", dir);
	assert_int_equal(mkdir(xdg, 0700), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);
	sub = xstrfmt("%s/xdg/safessh/config", dir);
	path = writeconf("[defaults]\nparallel = 12\n");
	assert_int_equal(rename(path, sub), 0);
	free(path);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load_default(conf, &cause), 0);
	assert_int_equal(conf_host(conf, "x", &hc, &cause), 0);
	assert_int_equal(hc.parallel, 12);
	conf_free(conf);

	/* A bad user file is an error naming it. */
	assert_int_equal(chmod(sub, 0622), 0);
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load_default(conf, &cause), -1);
	want = xstrfmt("%s: refusing: group or world writable (mode 0622)",
	    sub);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	conf_free(conf);

	/* A relative XDG_CONFIG_HOME is ignored: HOME/.config instead. */
	setenv("XDG_CONFIG_HOME", "relative", 1);
	home = xstrfmt("%s/home", dir);
	free(sub);
	sub = xstrfmt("%s/home/.config/safessh", dir);
	assert_int_equal(mkdir(home, 0700), 0);
	path = xstrfmt("%s/home/.config", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);
	sub = xstrfmt("%s/home/.config/safessh/config", dir);
	path = writeconf("[defaults]\nparallel = 13\n");
	assert_int_equal(rename(path, sub), 0);
	free(path);
	setenv("HOME", home, 1);
	assert_non_null(conf = conf_new());
	assert_int_equal(conf_load_default(conf, &cause), 0);
	assert_int_equal(conf_host(conf, "x", &hc, &cause), 0);
	assert_int_equal(hc.parallel, 13);
	conf_free(conf);

	unsetenv("XDG_CONFIG_HOME");
	free(xdg);
	free(home);
	free(sub);
}

/* -------------------------------------------------------------------- main */

static int
setup(void **state UNUSED)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/test_conf.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		return -1;
	umask(022);
	unsetenv("SAFESSH_CONFIG");
	return 0;
}

static int
teardown(void **state UNUSED)
{
	char	*cmd;
	int	 r;

	if (getenv("KEEP") != NULL)
		return 0;
	/* Our own directory, created above; no user input in the name. */
	if ((cmd = xstrfmt("rm -rf '%s'", dir)) == NULL)
		return -1;
	r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_duration),
		cmocka_unit_test(t_match),
		cmocka_unit_test(t_keys),
		cmocka_unit_test(t_builtins),
		cmocka_unit_test(t_resolve),
		cmocka_unit_test(t_at),
		cmocka_unit_test(t_policies),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_nul),
		cmocka_unit_test(t_garbage),
		cmocka_unit_test(t_longline),
		cmocka_unit_test(t_files),
		cmocka_unit_test(t_twofiles),
		cmocka_unit_test(t_refs),
		cmocka_unit_test(t_default),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
