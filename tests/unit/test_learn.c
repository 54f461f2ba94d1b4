/*
 * test_learn.c: learning each server's limits from its own answers
 * (lib/learn.c, issue 14), with an injected clock: the rule as a table
 * (what a ban after which failures teaches, the floor, tightening only,
 * a policy that counts no window), the ban's length, the policy in force
 * and its refusal's why, the state machine recording it (attempt_next,
 * attempt_decide), and the ledger's "l" record: its grammar, compaction,
 * --forget keeping it and --forget --limits dropping it.
 */
#include <sys/stat.h>
#include <sys/types.h>

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
#include "fixture.h"

#define T0	((time_t)1700000000)	/* 22:13:20 UTC */
#define W	"deploy /home/u/.ssh/site.key"
#define SRV	"srv1"

enum { P_F2B, P_DEFAULT, P_OPENSSH, P_SHARED, P_MAX };
static struct policy	pols[P_MAX];

#define mkpol(i, ...)	fx_policy(&pols[i], __VA_ARGS__)

static int
gsetup(void **state)
{
	static const struct rule psp = FX_OPENSSH, f2b = FX_F2B;
	static const struct rule guard = FX_GUARD;
	static const struct rule shared = { RULE_COUNT, 1, 3600, 0, 0, 0 };

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	mkpol(P_F2B, "fail2ban", 900, &f2b, NULL, NULL);
	mkpol(P_DEFAULT, "default", 900, &psp, &f2b, &guard);
	mkpol(P_OPENSSH, "openssh", 900, &psp, NULL, NULL);
	mkpol(P_SHARED, "shared-hosting", 43200, &shared, NULL, NULL);
	return 0;
}

/* A history: one attempt per (outcome, end relative to T0), id 1 + i. */
#define MAXEV	12
struct ev {
	enum outcome	 o;	/* OUT_MAX ends the list */
	long		 end;
};
#define END	{ OUT_MAX, 0 }
#define F(t)	{ OUT_AUTHFAIL, (t) }

static void
mkhist(struct history *h, const struct ev *evs)
{
	static struct attempt	 att[MAXEV];
	size_t			 i;

	memset(h, 0, sizeof(*h));
	memset(att, 0, sizeof(att));
	for (i = 0; i < MAXEV && evs[i].o != OUT_MAX; i++) {
		att[i].id = i + 1;
		att[i].outcome = evs[i].o;
		att[i].start = T0 + evs[i].end - 1;
		att[i].end = T0 + evs[i].end;
		att[i].pid = 100 + (pid_t)i;
		att[i].port = 22;
		strlcpy(att[i].host, "site-a", sizeof(att[i].host));
		strlcpy(att[i].who, W, sizeof(att[i].who));
	}
	h->att = att;
	h->natt = i;
}

/* ------------------------------------------------------------ learn_ban */

struct bancase {
	const char	*name;
	int		 pol;
	struct ev	 evs[MAXEV];
	int		 omax;		/* what was learned before */
	long		 owin;
	long		 obanat;	/* relative; 0: none */
	int		 changed;
	int		 max;		/* what it is after */
	long		 win;
	const char	*why;		/* NULL: not checked */
};

static const struct bancase bancases[] = {
	{ "3 failures in 10m under fail2ban: 2 per 10m",
	    P_F2B, { F(-60), F(-40), F(-20), END }, 0, 0, 0,
	    1, 2, 600, "a ban after 3 failed connections in 1m at 22:13" },
	{ "2 failures: 1 per 10m",
	    P_F2B, { F(-30), F(-10), END }, 0, 0, 0,
	    1, 1, 600, "a ban after 2 failed connections in 30s at 22:13" },
	{ "1 failure: the floor, 1 per 10m (never 0)",
	    P_F2B, { F(-5), END }, 0, 0, 0,
	    1, 1, 600, "a ban after 1 failed connection in 5s at 22:13" },
	{ "a failure outside the window does not count",
	    P_F2B, { F(-700), F(-20), F(-10), END }, 0, 0, 0,
	    1, 1, 600, NULL },
	{ "no failure in the window: no count, the ban's start noted",
	    P_F2B, { F(-700), END }, 0, 0, 0,
	    1, 0, 0, NULL },
	{ "no failure and a ban already under way: nothing new",
	    P_F2B, { END }, 0, 0, -50,
	    0, 0, 0, NULL },
	{ "lost and unknown are failures; ok, noauth, ban, drop are not",
	    P_F2B, { { OUT_LOST, -100 }, { OUT_UNKNOWN, -90 },
	    { OUT_OK, -80 }, { OUT_NOAUTH, -70 }, { OUT_BAN, -60 },
	    { OUT_DROP, -50 }, { OUT_NET, -40 }, { OUT_AUTH, -30 },
	    { OUT_INFLIGHT, -20 }, F(-10), END }, 0, 0, 0,
	    1, 2, 600, NULL },
	{ "default: the longest window counted (30m)",
	    P_DEFAULT, { F(-1500), F(-100), F(-50), END }, 0, 0, 0,
	    1, 2, 1800, "a ban after 3 failed connections in 25m at 22:13" },
	{ "openssh (no window): since the first failure, at least 10m",
	    P_OPENSSH, { F(-300), F(-200), F(-100), END }, 0, 0, 0,
	    1, 2, 600, NULL },
	{ "openssh: a longer run gives its own span",
	    P_OPENSSH, { F(-2000), F(-10), END }, 0, 0, 0,
	    1, 1, 2000, NULL },
	{ "openssh: a failure older than FAIL_WINDOW is not counted",
	    P_OPENSSH, { F(-4000), F(-10), END }, 0, 0, 0,
	    1, 1, 600, NULL },
	{ "tighten: learned 3 per 30m, then a ban after 2 in 10m",
	    P_F2B, { F(-1000), F(-20), END }, 3, 1800, 0,
	    1, 1, 1800, NULL },
	{ "never loosens: learned 1 per 1h, then a ban after 5",
	    P_F2B, { F(-50), F(-40), F(-30), F(-20), F(-10), END }, 1, 3600,
	    -5, 0, 1, 3600, NULL },
	{ "the same count again: unchanged",
	    P_F2B, { F(-30), F(-20), F(-10), END }, 2, 600, -5,
	    0, 2, 600, NULL },
	{ "a smaller count over the old window: tightened",
	    P_F2B, { F(-20), F(-10), END }, 2, 600, -5,
	    1, 1, 600, NULL },
	{ "a longer learned window is the one counted",
	    P_F2B, { F(-3000), F(-2000), F(-10), END }, 4, 3600, -5,
	    1, 2, 3600, NULL },
};

static void
test_ban_table(void **state)
{
	const struct bancase	*c;
	struct history		 h;
	struct learned		 old, out;
	size_t			 i;
	int			 r;

	(void)state;
	for (i = 0; i < sizeof(bancases) / sizeof(bancases[0]); i++) {
		c = &bancases[i];
		mkhist(&h, c->evs);
		memset(&old, 0, sizeof(old));
		old.max_failures = c->omax;
		old.window = c->owin;
		if (c->omax > 0)
			strlcpy(old.why, "an older ban", sizeof(old.why));
		old.banat = c->obanat ? T0 + c->obanat : 0;
		r = learn_ban(&pols[c->pol], &h, &old, T0, &out);
		if (r != c->changed || out.max_failures != c->max ||
		    (c->max > 0 && out.window != c->win))
			fail_msg("%s: changed %d max %d window %ld, want "
			    "%d %d %ld", c->name, r, out.max_failures,
			    out.window, c->changed, c->max, c->win);
		if (c->why != NULL && strcmp(out.why, c->why) != 0)
			fail_msg("%s: why \"%s\"", c->name, out.why);
		/* The ban's start: kept if under way, else now. */
		assert_int_equal(out.banat, c->obanat ? T0 + c->obanat : T0);
		/* Only ever tighter. */
		if (c->omax > 0) {
			assert_true(out.max_failures <= c->omax);
			assert_true(out.window >= c->owin);
		}
		if (r && out.max_failures != c->omax)
			assert_int_equal(out.since, T0);
	}
}

/* Repeated bans never loosen, whatever order their counts come in. */
static void
test_ban_monotone(void **state)
{
	static const int	 runs[] = { 5, 2, 7, 1, 3, 4 };
	struct ev		 evs[MAXEV];
	struct history		 h;
	struct learned		 lr, out;
	size_t			 i;
	int			 k, best = 0;

	(void)state;
	memset(&lr, 0, sizeof(lr));
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		for (k = 0; k < runs[i]; k++) {
			evs[k].o = OUT_AUTHFAIL;
			evs[k].end = -10 - k;
		}
		evs[k].o = OUT_MAX;
		mkhist(&h, evs);
		learn_ban(&pols[P_F2B], &h, &lr, T0, &out);
		k = runs[i] - 1 < 1 ? 1 : runs[i] - 1;
		best = best == 0 || k < best ? k : best;
		assert_int_equal(out.max_failures, best);
		assert_int_equal(out.window, 600);
		lr = out;
		lr.banat = 0;	/* each ban lifted before the next */
	}
}

/* --------------------------------------------------------- learn_lifted */

static void
test_lifted(void **state)
{
	struct learned	 old, out;
	struct srvstate	 st;

	(void)state;
	memset(&old, 0, sizeof(old));
	memset(&st, 0, sizeof(st));
	st.state = SS_BLOCKED;
	st.since = T0 - 100;	/* the last refusal */

	/* No ban under way: nothing to measure. */
	assert_int_equal(learn_lifted(&old, &st, T0, &out), 0);
	assert_int_equal(out.cooldown, 0);

	/* Banned at -7300, refused until -100: at least 2h. */
	old.banat = T0 - 7300;
	assert_int_equal(learn_lifted(&old, &st, T0, &out), 1);
	assert_int_equal(out.cooldown, 7200);
	assert_int_equal(out.banat, 0);
	assert_int_equal(out.since, T0);

	/* A shorter ban than one seen before: the longer stays. */
	old.cooldown = 86400;
	assert_int_equal(learn_lifted(&old, &st, T0, &out), 1);
	assert_int_equal(out.cooldown, 86400);
	assert_int_equal(out.banat, 0);

	/* Suspect (an overload, no ban): the ban ends, no length. */
	old.cooldown = 0;
	st.state = SS_SUSPECT;
	assert_int_equal(learn_lifted(&old, &st, T0, &out), 1);
	assert_int_equal(out.cooldown, 0);
	assert_int_equal(out.banat, 0);

	/* Answered at the first probe: refused only at the ban itself. */
	st.state = SS_BLOCKED;
	st.since = old.banat;
	assert_int_equal(learn_lifted(&old, &st, T0, &out), 1);
	assert_int_equal(out.cooldown, 0);

	/* A last refusal "after" now (clock went back): not a length. */
	st.since = T0 + 50;
	assert_int_equal(learn_lifted(&old, &st, T0, &out), 1);
	assert_int_equal(out.cooldown, 0);
}

/* ---------------------------------------------- the policy in force */

static void
test_policy(void **state)
{
	struct learned	 lr;
	struct policy	 eff;
	char		 buf[512];

	(void)state;
	memset(&lr, 0, sizeof(lr));
	assert_int_equal(learn_policy(&pols[P_DEFAULT], &lr, &eff), 0);
	assert_int_equal(eff.nrules, 3);
	assert_int_equal(eff.learnrule, 0);
	learn_rules(&eff, buf, sizeof(buf));
	assert_string_equal(buf, "default: penalty 5s per failure up to "
	    "10s, 4 failed per 10m, 2 failed per 30m; cooldown 15m");

	lr.max_failures = 2;
	lr.window = 600;
	lr.cooldown = 7200;
	lr.since = T0;
	strlcpy(lr.why, "a ban after 3 failed connections in 1m at 22:13",
	    sizeof(lr.why));
	assert_int_equal(learn_policy(&pols[P_DEFAULT], &lr, &eff), 1);
	assert_int_equal(eff.nrules, 4);
	assert_int_equal(eff.learnrule, 4);
	assert_int_equal(eff.rules[3].kind, RULE_COUNT);
	assert_int_equal(eff.rules[3].max_failures, 2);
	assert_int_equal(eff.cooldown, 7200);
	learn_rules(&eff, buf, sizeof(buf));
	assert_string_equal(buf, "default: penalty 5s per failure up to "
	    "10s, 4 failed per 10m, 2 failed per 30m, 2 failed per 10m "
	    "(learned); cooldown 2h");
	/* The configured policy itself is untouched. */
	assert_int_equal(pols[P_DEFAULT].nrules, 3);
	assert_int_equal(pols[P_DEFAULT].cooldown, 900);

	/* A shorter learned cooldown never shortens the policy's. */
	lr.cooldown = 60;
	learn_policy(&pols[P_SHARED], &lr, &eff);
	assert_int_equal(eff.cooldown, 43200);

	learn_describe(&lr, buf, sizeof(buf));
	assert_string_equal(buf, "learned: at most 2 failed connections per "
	    "10m (a ban after 3 failed connections in 1m at 22:13, "
	    "2023-11-14); a ban lasted 1m at least (cooldown)");
	memset(&lr, 0, sizeof(lr));
	learn_describe(&lr, buf, sizeof(buf));
	assert_string_equal(buf, "learned: nothing");
}

/* --------------------------------------- admission and the state machine */

static void
mkreq(struct attreq *r, int p)
{
	memset(r, 0, sizeof(*r));
	r->policy = &pols[p];
	r->host = "site-a";
	r->who = W;
	r->port = 22;
	r->parallel = 4;
}

static void
test_decide(void **state)
{
	static const struct ev	 two[] = { F(-60), F(-30), END };
	static const struct ev	 one[] = { F(-30), END };
	static const struct ev	 four[] = { F(-90), F(-80), F(-70), F(-60),
	    END };
	struct history		 h;
	struct attreq		 r;
	struct decision		 d;

	(void)state;
	mkreq(&r, P_F2B);
	/* Without learning, fail2ban's 4 per 10m admits a third. */
	mkhist(&h, two);
	attempt_decide(&r, &h, T0, &d);
	assert_int_equal(d.verdict, V_ADMIT);

	/* Learned 2 per 10m: the learned limit refuses, and says so. */
	h.lr.max_failures = 2;
	h.lr.window = 600;
	h.lr.since = T0 - 3600;
	strlcpy(h.lr.why, "a ban after 3 failed connections in 1m at 21:13",
	    sizeof(h.lr.why));
	attempt_decide(&r, &h, T0, &d);
	assert_int_equal(d.verdict, V_DELAY);
	assert_int_equal(d.until, T0 - 60 + 600 + 1);
	assert_string_equal(d.why, "2 failed connections in the last 10m "
	    "(learned: a ban after 3 failed connections in 1m at 21:13 "
	    "allows 2)");

	/* One failure: the learned limit leaves room for one more. */
	mkhist(&h, one);
	h.lr.max_failures = 2;
	h.lr.window = 600;
	attempt_decide(&r, &h, T0, &d);
	assert_int_equal(d.verdict, V_ADMIT);

	/* Both bind: the configured policy's until is the earlier one. */
	mkhist(&h, four);
	h.lr.max_failures = 2;
	h.lr.window = 600;
	strlcpy(h.lr.why, "x", sizeof(h.lr.why));
	attempt_decide(&r, &h, T0, &d);
	assert_int_equal(d.verdict, V_DELAY);
	assert_int_equal(d.until, T0 - 70 + 600 + 1);
	assert_non_null(strstr(d.why, "(learned: x allows 2)"));

	/* The failures that drew the ban were paid for with it. */
	mkhist(&h, two);
	h.lr.max_failures = 1;
	h.lr.window = 600;
	h.lr.since = T0 - 10;
	attempt_decide(&r, &h, T0, &d);
	assert_int_equal(d.verdict, V_ADMIT);
	h.lr.since = T0 - 45;	/* one after it: the learned 1 binds */
	attempt_decide(&r, &h, T0, &d);
	assert_int_equal(d.verdict, V_DELAY);
	assert_int_equal(d.until, T0 - 30 + 600 + 1);

	/* Only a cooldown learned: the budget is the policy's. */
	mkhist(&h, two);
	h.lr.cooldown = 7200;
	attempt_decide(&r, &h, T0, &d);
	assert_int_equal(d.verdict, V_ADMIT);
}

static void
test_next(void **state)
{
	static const struct ev	 three[] = { F(-60), F(-40), F(-20),
	    { OUT_INFLIGHT, 0 }, END };
	static const struct ev	 clean[] = { { OUT_OK, -300 },
	    { OUT_INFLIGHT, 0 }, END };
	static const struct ev	 probe[] = { { OUT_INFLIGHT, 0 }, END };
	struct history		 h;
	struct attreq		 r;
	struct settlement	 out;

	(void)state;
	mkreq(&r, P_F2B);

	/* ok -> blocked after 3 failures: 2 per 10m learned. */
	mkhist(&h, three);
	attempt_next(&r, &h, &h.att[3], RAW_REFUSED, T0, 1500, &out);
	assert_int_equal(out.st.state, SS_BLOCKED);
	assert_int_equal(out.lchanged, 1);
	assert_int_equal(out.lr.max_failures, 2);
	assert_int_equal(out.lr.window, 600);
	assert_int_equal(out.lr.banat, T0);

	/* Same with "closed before the banner". */
	attempt_next(&r, &h, &h.att[3], RAW_PREBANNER, T0, 1500, &out);
	assert_int_equal(out.lr.max_failures, 2);

	/* A clean history: suspect (overload?), nothing learned. */
	mkhist(&h, clean);
	attempt_next(&r, &h, &h.att[1], RAW_PREBANNER, T0, 1500, &out);
	assert_int_equal(out.st.state, SS_SUSPECT);
	assert_int_equal(out.lchanged, 0);
	assert_int_equal(out.lr.max_failures, 0);

	/* suspect -> blocked with no failure: the start only, no count. */
	mkhist(&h, probe);
	h.st.state = SS_SUSPECT;
	h.st.since = T0 - 3;
	h.st.until = T0 - 1;
	h.st.step = 2;
	h.st.probe = 1;
	attempt_next(&r, &h, &h.att[0], RAW_PREBANNER, T0, 1500, &out);
	assert_int_equal(out.st.state, SS_BLOCKED);
	assert_int_equal(out.lchanged, 1);
	assert_int_equal(out.lr.max_failures, 0);
	assert_int_equal(out.lr.banat, T0);

	/* The probe answers 2h after the ban, refused until -100. */
	mkhist(&h, probe);
	h.st.state = SS_BLOCKED;
	h.st.since = T0 - 100;
	h.st.until = T0 - 1;
	h.st.step = 900;
	h.st.probe = 1;
	h.lr.max_failures = 2;
	h.lr.window = 600;
	h.lr.banat = T0 - 7300;
	attempt_next(&r, &h, &h.att[0], RAW_OK, T0, 1500, &out);
	assert_int_equal(out.st.state, SS_OK);
	assert_int_equal(out.lchanged, 1);
	assert_int_equal(out.lr.cooldown, 7200);
	assert_int_equal(out.lr.banat, 0);
	assert_int_equal(out.lr.max_failures, 2);

	/* A refused probe: the back-off doubles up to the learned 2h. */
	h.lr.cooldown = 7200;
	h.st.step = 900;
	attempt_next(&r, &h, &h.att[0], RAW_REFUSED, T0, 1500, &out);
	assert_int_equal(out.st.state, SS_BLOCKED);
	assert_int_equal(out.st.step, 1800);
	assert_int_equal(out.lchanged, 0);
	h.lr.cooldown = 0;
	attempt_next(&r, &h, &h.att[0], RAW_REFUSED, T0, 1500, &out);
	assert_int_equal(out.st.step, 900);	/* the policy's cap */
}

/* ---------------------------------------------------------- the ledger */

static char	 top[256];
static char	 dir[512];

static int
setup(void **state)
{
	char	*cause = NULL;

	(void)state;
	snprintf(top, sizeof(top), "%s/test_learn.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/state", top);
	setenv("SAFESSH_STATE_DIR", dir, 1);
	if (ledger_statedir(dir, sizeof(dir), &cause) == -1) {
		free(cause);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	fx_rmtree(top);
	return 0;
}

static const char *
fpath(void)
{
	static char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/servers/%s", dir, SRV);
	return p;
}

static void
spit(const char *s)
{
	FILE	*f;

	assert_non_null(f = fopen(fpath(), "w"));
	fputs(s, f);
	fclose(f);
	chmod(fpath(), 0600);
}

static char *
slurp(void)
{
	static char	 buf[65536];
	FILE		*f;
	size_t		 n;

	if ((f = fopen(fpath(), "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
mklr(struct learned *lr)
{
	memset(lr, 0, sizeof(*lr));
	lr->max_failures = 2;
	lr->window = 600;
	lr->cooldown = 7200;
	lr->since = T0;
	lr->banat = T0 - 10;
	strlcpy(lr->why, "a ban after 3 failed connections in 1m at 22:13",
	    sizeof(lr->why));
}

static void
test_ledger_record(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct learned	 lr;
	char		*cause = NULL;

	(void)state;
	mklr(&lr);
	assert_int_equal(ledger_open(&l, dir, SRV, &cause), 0);
	assert_int_equal(ledger_lock(l, &h, T0, &cause), 0);
	assert_false(learn_any(&h.lr));
	assert_int_equal(ledger_learn(l, &lr, &cause), 0);
	history_free(&h);
	ledger_unlock(l);
	assert_string_equal(slurp(), "safessh-ledger 1 srv1\n"
	    "l 2 600 7200 1700000000 1699999990 a%20ban%20after%203%20failed"
	    "%20connections%20in%201m%20at%2022:13\n");
	assert_int_equal(ledger_lock(l, &h, T0, &cause), 0);
	assert_memory_equal(&h.lr, &lr, sizeof(lr));
	/* The last one wins. */
	lr.max_failures = 1;
	lr.why[0] = '\0';
	assert_int_equal(ledger_learn(l, &lr, &cause), 0);
	history_free(&h);
	ledger_unlock(l);
	assert_int_equal(ledger_lock(l, &h, T0, &cause), 0);
	assert_int_equal(h.lr.max_failures, 1);
	assert_string_equal(h.lr.why, "");
	history_free(&h);
	ledger_close(l);
}

static void
test_ledger_grammar(void **state)
{
	static const struct {
		const char	*line;
		const char	*err;	/* NULL: reads */
	} cases[] = {
		{ "l 2 600 0 0 0 -", NULL },
		{ "l 0 0 3600 5 0 -", NULL },
		{ "l 2 600 0 0 0 why%20not", NULL },
		{ "l 2 0 0 0 0 -", "learned limit with no window" },
		{ "l 2 600 0 0 0", "'l' record with 6 fields, not 7" },
		{ "l 2 600 0 0 0 - x", "'l' record with 8 fields, not 7" },
		{ "l -1 600 0 0 0 -", "bad learned limit field" },
		{ "l 2 600 0 0 x -", "bad learned limit field" },
		{ "l 2 99999999999 0 0 0 -", "bad learned limit field" },
		{ "l 2 600 0 0 0 %zz", "bad percent-encoding" },
	};
	struct ledger	*l;
	struct history	 h;
	char		*cause = NULL, buf[256];
	size_t		 i;
	int		 r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "safessh-ledger 1 srv1\n%s\n",
		    cases[i].line);
		spit(buf);
		assert_int_equal(ledger_open(&l, dir, SRV, &cause), 0);
		r = ledger_lock(l, &h, T0, &cause);
		if (cases[i].err == NULL) {
			if (r != 0)
				fail_msg("%s: %s", cases[i].line, cause);
			history_free(&h);
		} else {
			if (r != -1)
				fail_msg("%s: read", cases[i].line);
			if (strstr(cause, cases[i].err) == NULL ||
			    strstr(cause, ":2:") == NULL)
				fail_msg("%s: %s", cases[i].line, cause);
			free(cause);
			cause = NULL;
		}
		ledger_close(l);
	}
	/* A torn final "l" line is an append that never completed. */
	spit("safessh-ledger 1 srv1\nl 2 60");
	assert_int_equal(ledger_open(&l, dir, SRV, &cause), 0);
	assert_int_equal(ledger_lock(l, &h, T0, &cause), 0);
	assert_false(learn_any(&h.lr));
	history_free(&h);
	ledger_close(l);
}

/* Compaction keeps the "l" line; --forget keeps it, --limits drops it. */
static void
test_ledger_keep(void **state)
{
	struct ledger	*l;
	struct history	 h;
	struct attempt	 a;
	struct learned	 lr;
	struct srvstate	 st;
	char		*cause = NULL, *s;
	int		 i, n;

	(void)state;
	mklr(&lr);
	assert_int_equal(ledger_open(&l, dir, SRV, &cause), 0);
	assert_int_equal(ledger_lock(l, &h, T0, &cause), 0);
	assert_int_equal(ledger_learn(l, &lr, &cause), 0);
	memset(&st, 0, sizeof(st));
	st.state = SS_BLOCKED;
	st.since = T0;
	st.until = T0 + 30;
	st.step = 30;
	assert_int_equal(ledger_state(l, &st, &cause), 0);
	for (i = 0; i < 300; i++) {
		if (i == 200) {
			/* Under 256 counted in flight within one lock. */
			history_free(&h);
			ledger_unlock(l);
			assert_int_equal(ledger_lock(l, &h, T0, &cause), 0);
		}
		memset(&a, 0, sizeof(a));
		a.start = T0 - 4000 + i;
		strlcpy(a.host, "site-a", sizeof(a.host));
		strlcpy(a.who, W, sizeof(a.who));
		assert_int_equal(ledger_begin(l, &a, &cause), 0);
		assert_int_equal(ledger_outcome(l, a.id, OUT_AUTHFAIL,
		    a.start + 1, &cause), 0);
	}
	history_free(&h);
	ledger_unlock(l);
	/* Over 512 lines: the next lock compacts. */
	assert_int_equal(ledger_lock(l, &h, T0, &cause), 0);
	history_free(&h);
	ledger_unlock(l);
	s = slurp();
	for (n = 0, i = 0; s[i] != '\0'; i++)
		n += s[i] == '\n';
	assert_true(n < 500);
	assert_non_null(strstr(s, "\nl 2 600 7200 "));
	assert_int_equal(ledger_lock(l, &h, T0, &cause), 0);
	assert_memory_equal(&h.lr, &lr, sizeof(lr));
	assert_int_equal(h.st.state, SS_BLOCKED);
	history_free(&h);
	ledger_close(l);

	/* --forget: the history and state go, what was learned stays. */
	assert_int_equal(ledger_forget(dir, SRV, &cause), 1);
	assert_string_equal(slurp(), "safessh-ledger 1 srv1\n"
	    "l 2 600 7200 1700000000 0 a%20ban%20after%203%20failed"
	    "%20connections%20in%201m%20at%2022:13\n");
	assert_int_equal(ledger_open(&l, dir, SRV, &cause), 0);
	assert_int_equal(ledger_lock(l, &h, T0, &cause), 0);
	assert_int_equal(h.natt, 0);
	assert_int_equal(h.st.state, SS_OK);
	assert_int_equal(h.lr.max_failures, 2);
	assert_int_equal(h.lr.cooldown, 7200);
	assert_int_equal(h.lr.banat, 0);	/* no ban under way */
	/* New attempts go on after it. */
	memset(&a, 0, sizeof(a));
	a.start = T0;
	strlcpy(a.host, "site-a", sizeof(a.host));
	strlcpy(a.who, W, sizeof(a.who));
	assert_int_equal(ledger_begin(l, &a, &cause), 0);
	history_free(&h);
	ledger_close(l);
	assert_int_equal(ledger_forget(dir, SRV, &cause), 1);
	assert_non_null(slurp());

	/* --forget --limits: nothing stays. */
	assert_int_equal(ledger_forget_limits(dir, SRV, &cause), 0);
	assert_null(slurp());
	assert_int_equal(ledger_forget_limits(dir, SRV, &cause), 0);

	/* Only a ban under way (no count, no length): nothing to keep. */
	spit("safessh-ledger 1 srv1\nl 0 0 0 0 1700000000 -\n");
	assert_int_equal(ledger_forget(dir, SRV, &cause), 0);
	assert_null(slurp());

	/* A damaged file is removed, as before. */
	spit("safessh-ledger 1 srv1\nl 2 600 0 0 0 -\nbogus\n");
	assert_int_equal(ledger_forget(dir, SRV, &cause), 0);
	assert_null(slurp());
}

/* Played through the ledger: a ban, then the learned limit binds. */
static void
test_settle_admit(void **state)
{
	struct ledger		*l;
	struct attreq		 r;
	struct decision		 d;
	struct settlement	 out;
	char			*cause = NULL;
	uint64_t		 id;
	time_t			 t = T0;
	int			 i;

	(void)state;
	mkreq(&r, P_F2B);
	assert_int_equal(ledger_open(&l, dir, SRV, &cause), 0);
	/* 3 failed logins, then the server refuses: learned 2 per 10m. */
	for (i = 0; i < 3; i++, t += 10) {
		assert_int_equal(attempt_admit(l, &r, t, 0, &d, &id, &cause),
		    0);
		assert_int_equal(d.verdict, V_ADMIT);
		assert_int_equal(attempt_settle(l, &r, id, RAW_AUTHFAIL, t + 1,
		    1500, &out, &cause), 0);
	}
	assert_int_equal(attempt_admit(l, &r, t, 0, &d, &id, &cause), 0);
	assert_int_equal(d.verdict, V_ADMIT);
	assert_int_equal(attempt_settle(l, &r, id, RAW_REFUSED, t + 1, 1500,
	    &out, &cause), 0);
	assert_int_equal(out.st.state, SS_BLOCKED);
	assert_int_equal(out.lr.max_failures, 2);
	ledger_close(l);

	/* The user fixed nothing but ran --forget after the ban lifted. */
	assert_int_equal(ledger_forget(dir, SRV, &cause), 1);
	assert_int_equal(ledger_open(&l, dir, SRV, &cause), 0);
	t += 3600;
	for (i = 0; i < 2; i++, t += 10) {
		assert_int_equal(attempt_admit(l, &r, t, 0, &d, &id, &cause),
		    0);
		assert_int_equal(d.verdict, V_ADMIT);
		assert_int_equal(attempt_settle(l, &r, id, RAW_AUTHFAIL, t + 1,
		    1500, &out, &cause), 0);
	}
	/* fail2ban's 4 would admit a third; the learned 2 does not. */
	assert_int_equal(attempt_admit(l, &r, t, 0, &d, &id, &cause), 0);
	assert_int_equal(d.verdict, V_DELAY);
	assert_non_null(strstr(d.why, "(learned: a ban after 3 failed "
	    "connections in 30s at "));
	ledger_close(l);
	assert_int_equal(ledger_forget_limits(dir, SRV, &cause), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ban_table),
		cmocka_unit_test(test_ban_monotone),
		cmocka_unit_test(test_lifted),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_next),
		cmocka_unit_test_setup_teardown(test_ledger_record, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ledger_grammar, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ledger_keep, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_settle_admit, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, gsetup, NULL);
}
