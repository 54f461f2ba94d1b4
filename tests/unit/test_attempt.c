/*
 * test_attempt.c: the server state machine of attempt.c (SPEC G2, G3),
 * driven by an injected clock.  Admission against the state (back-off,
 * one probe at a time, --check, the budget still binding, a clock gone
 * backwards, unknown states), how every raw result settles in every
 * state, the back-off doubling up to the policy's cooldown, a server
 * restart and a ban played second by second, the state's description
 * and its names.
 *
 * attempt_admit and attempt_settle are emulated here the way they drive
 * the pure functions (append the attempt, mark the probe; record the
 * outcome, store the new state), without a ledger.
 *
 * The last two tests state behaviour that attempt.c does not have yet
 * (known bugs 1 and 2, explained above each): they fail until fixed.
 */
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "safessh.h"
#include "fixture.h"

/* Every time in the tables is relative to T0. */
#define T0	((time_t)1700000000)
#define W	"deploy /home/u/.ssh/site.key"	/* the caller's credential */
#define W2	"deploy /home/u/.ssh/other.key"
#define SWHY	"connection refused at 09:58"	/* a stored state's why */

#define ANY	(-999999L)	/* a field not checked */
#define NEVER	(-(long)T0)	/* until == 0: until the user acts */

enum { P_DEFAULT, P_OPENSSH, P_GUARD, P_SHARED, P_ZERO, P_SHORT, P_NOCOOL,
    P_MAX };
#define P_NULL	(-1)		/* no policy at all */

static struct policy	pols[P_MAX];

static const struct rule r_openssh = FX_OPENSSH;
static const struct rule r_f2b = FX_F2B;
static const struct rule r_guard = FX_GUARD;

#define mkpol(i, ...)	fx_policy(&pols[i], __VA_ARGS__)

static int
setup(void **state)
{
	static const struct rule shared = { RULE_COUNT, 1, 3600, 0, 0, 0 };
	static const struct rule zero = { RULE_COUNT, 0, 600, 0, 0, 0 };

	(void)state;
	mkpol(P_DEFAULT, "default", 900, &r_openssh, &r_f2b, &r_guard);
	mkpol(P_OPENSSH, "openssh", 900, &r_openssh, NULL, NULL);
	mkpol(P_GUARD, "sshguard", 900, &r_guard, NULL, NULL);
	mkpol(P_SHARED, "shared-hosting", 43200, &shared, NULL, NULL);
	mkpol(P_ZERO, "never", 900, &zero, NULL, NULL);
	mkpol(P_SHORT, "short", 10, &r_openssh, &r_f2b, &r_guard);
	mkpol(P_NOCOOL, "nocool", 0, &r_openssh, &r_f2b, &r_guard);
	return 0;
}

static const struct policy *
pol(int i)
{
	return i == P_NULL ? NULL : &pols[i];
}

/* One attempt of the history, times relative to T0; its id is 1 + index. */
struct ev {
	enum outcome	 o;	/* OUT_MAX ends a list */
	long		 start;
	long		 end;
	const char	*who;
	int		 port;
};

#define MAXEV	8
#define END	{ OUT_MAX, 0, 0, NULL, 0 }
#define FLY(t)	{ OUT_INFLIGHT, (t), (t), W, 22 }	/* the attempt */
#define FLYP(t, p) { OUT_INFLIGHT, (t), (t), W, (p) }
#define AUTHD(t) { OUT_AUTH, (t), (t) + 1, W, 22 }	/* notice seen */
#define FAIL(t)	{ OUT_AUTHFAIL, (t) - 1, (t), W2, 22 }
#define FAILP(t, p) { OUT_AUTHFAIL, (t) - 1, (t), W2, (p) }
#define LOST(t)	{ OUT_LOST, (t) - 120, (t), W2, 22 }
#define UNKN(t)	{ OUT_UNKNOWN, (t) - 1, (t), W2, 22 }
#define BAN(t)	{ OUT_BAN, (t), (t), W2, 22 }
#define BANP(t, p) { OUT_BAN, (t), (t), W2, (p) }
#define DROP(t)	{ OUT_DROP, (t), (t), W2, 22 }
#define NET(t)	{ OUT_NET, (t), (t), W, 22 }
#define NOAUP(t, p) { OUT_NOAUTH, (t), (t), W2, (p) }
#define OKP(t, p) { OUT_OK, (t) - 5, (t), W2, (p) }

/* The server's stored state; int so that unknown values can be stored. */
struct sspec {
	int		 state;
	long		 since;
	long		 until;
	long		 step;
	uint64_t	 probe;		/* an id: 1 + index into the events */
};

#define SOK		{ SS_OK, 0, 0, 0, 0 }
#define SOKP(id)	{ SS_OK, 0, 0, 0, (id) }
#define SUS(id)		{ SS_SUSPECT, 0, 2, 2, (id) }
#define BLK(id)		{ SS_BLOCKED, 0, 30, 30, (id) }

/* Build h from evs and st; h->att is static storage. */
static void
mkhist(struct history *h, const struct ev *evs, const struct sspec *st)
{
	static struct attempt	att[MAXEV];
	size_t			i;

	memset(h, 0, sizeof(*h));
	memset(att, 0, sizeof(att));
	for (i = 0; i < MAXEV && evs[i].o != OUT_MAX; i++) {
		att[i].id = i + 1;
		att[i].outcome = evs[i].o;
		att[i].start = T0 + evs[i].start;
		att[i].end = T0 + evs[i].end;
		att[i].pid = 100 + (pid_t)i;
		att[i].port = evs[i].port;
		strlcpy(att[i].host, "site-a", sizeof(att[i].host));
		strlcpy(att[i].who, evs[i].who, sizeof(att[i].who));
	}
	h->att = att;
	h->natt = i;
	h->st.state = (enum sstate)st->state;
	if (st->state != SS_OK || st->until != 0) {
		h->st.since = T0 + st->since;
		h->st.until = T0 + st->until;
	}
	h->st.step = st->step;
	h->st.probe = st->probe;
	if (st->state != SS_OK)
		strlcpy(h->st.why, SWHY, sizeof(h->st.why));
}

static void
mkreq(struct attreq *r, int p, int parallel, int check, int port)
{
	memset(r, 0, sizeof(*r));
	r->policy = pol(p);
	r->host = "site-a";
	r->who = W;
	r->port = port;
	r->parallel = parallel;
	r->check = check;
}

static const char *const vnames[] = {
	[V_ADMIT] = "ADMIT", [V_WAIT] = "WAIT", [V_DELAY] = "DELAY",
	[V_REFUSE] = "REFUSE"
};

static const char *
vname(enum verdict v)
{
	return (unsigned)v <= V_REFUSE ? vnames[v] : "?";
}

static long
rel(time_t t)
{
	return t == 0 ? NEVER : (long)(t - T0);
}

/* ------------------------------------------------------ attempt_state */

struct stcase {
	const char	*name;
	struct sspec	 in;
	long		 now;
	int		 state;
	long		 until;
	long		 step;
};

static const struct stcase stcases[] = {
	{ "ok is taken as stored, whatever its until",
	    { SS_OK, 0, 99999, 0, 0 }, 0, SS_OK, 99999, 0 },
	{ "blocked: an end exactly one step ahead is kept",
	    { SS_BLOCKED, 0, 30, 30, 0 }, 0, SS_BLOCKED, 30, 30 },
	{ "blocked: one second more is a clock gone back",
	    { SS_BLOCKED, 0, 31, 30, 0 }, 0, SS_BLOCKED, 30, 30 },
	{ "blocked: a day ahead: one step from now",
	    { SS_BLOCKED, 86400, 87300, 900, 0 }, 0, SS_BLOCKED, 900, 900 },
	{ "blocked: half-way through: kept",
	    { SS_BLOCKED, 0, 60, 60, 0 }, 30, SS_BLOCKED, 60, 60 },
	{ "blocked: ended long ago: kept",
	    { SS_BLOCKED, 0, 30, 30, 0 }, 5000, SS_BLOCKED, 30, 30 },
	{ "blocked: step 0 counts as 1",
	    { SS_BLOCKED, 0, 10, 0, 0 }, 0, SS_BLOCKED, 1, 1 },
	{ "blocked: a negative step counts as 1",
	    { SS_BLOCKED, 0, 10, -5, 0 }, 0, SS_BLOCKED, 1, 1 },
	{ "suspect: its back-off is kept",
	    { SS_SUSPECT, 0, 2, 2, 0 }, 0, SS_SUSPECT, 2, 2 },
	{ "suspect: far ahead: one step from now",
	    { SS_SUSPECT, 1000, 1002, 2, 0 }, 0, SS_SUSPECT, 2, 2 },
	{ "unknown 3: blocked, first step",
	    { 3, 0, 10, 0, 0 }, 0, SS_BLOCKED, 10, BACKOFF_FIRST },
	{ "unknown 3 far ahead: blocked, now + first step",
	    { 3, 0, 5000, 7, 0 }, 0, SS_BLOCKED, BACKOFF_FIRST,
	    BACKOFF_FIRST },
	{ "unknown -1: blocked",
	    { -1, 0, 20, 20, 0 }, 0, SS_BLOCKED, 20, BACKOFF_FIRST },
	{ "unknown 1000, ended: blocked, probe allowed",
	    { 1000, 0, -10, 0, 0 }, 0, SS_BLOCKED, -10, BACKOFF_FIRST },
};

static void
test_state(void **state)
{
	static const struct ev	 none[] = { END };
	struct history		 h;
	struct srvstate		 st;
	size_t			 i;
	int			 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(stcases) / sizeof(stcases[0]); i++) {
		const struct stcase *c = &stcases[i];

		mkhist(&h, none, &c->in);
		h.st.probe = 42;
		attempt_state(&h, T0 + c->now, &st);
		if ((int)st.state != c->state || rel(st.until) != c->until ||
		    st.step != c->step) {
			print_error("%s: state %d until %ld step %ld, want %d "
			    "%ld %ld\n", c->name, (int)st.state,
			    rel(st.until), st.step, c->state, c->until,
			    c->step);
			bad++;
		}
		if (st.probe != 42 || st.since != h.st.since ||
		    strcmp(st.why, h.st.why) != 0) {
			print_error("%s: probe, since or why changed\n",
			    c->name);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* ----------------------------------------------------- attempt_decide */

struct dcase {
	const char	*name;
	int		 pol;
	struct ev	 ev[MAXEV];
	struct sspec	 st;
	long		 now;
	int		 parallel;
	int		 check;		/* --check */
	enum verdict	 want;
	long		 until;		/* relative; ANY; NEVER */
	int		 probe;		/* d.probe; ANY */
	int		 bystate;	/* d.state; ANY */
	const char	*why;		/* substring of d.why, or NULL */
};

static const struct dcase dcases[] = {
	/* --- ok: the budget alone decides --- */
	{ "ok: nothing in flight: admitted, no probe", P_OPENSSH, { END },
	    SOK, 0, 4, 0, V_ADMIT, ANY, 0, 0, NULL },
	{ "ok: a stale probe id means nothing", P_OPENSSH, { FLY(0), END },
	    SOKP(1), 1, 4, 0, V_ADMIT, ANY, 0, 0, NULL },
	{ "ok: the budget delays", P_OPENSSH, { FAIL(0), FAIL(0), END },
	    SOK, 0, 4, 0, V_DELAY, 5, 0, 0, "modelled penalty 10s" },
	{ "ok: slots full: wait", P_OPENSSH, { FLY(0), END }, SOK, 1, 1, 0,
	    V_WAIT, LOGIN_GRACE, 0, 0, "(parallel 1)" },

	/* --- suspect: since 0, back-off ends at 2 --- */
	{ "suspect: before the back-off ends: delay to its end", P_OPENSSH,
	    { END }, SUS(0), 1, 4, 0, V_DELAY, 2, 0, 1, "suspect: " SWHY },
	{ "suspect: at its end: the first caller is the probe", P_OPENSSH,
	    { END }, SUS(0), 2, 4, 0, V_ADMIT, ANY, 1, ANY, NULL },
	{ "suspect: long after: still a probe", P_OPENSSH, { END }, SUS(0),
	    5000, 4, 0, V_ADMIT, ANY, 1, ANY, NULL },
	{ "suspect: probe in flight: wait for it", P_OPENSSH,
	    { FLY(2), END }, SUS(1), 3, 4, 0, V_WAIT, 2 + LOGIN_GRACE, 0, 1,
	    "waiting for the probe of a suspect server (" SWHY ")" },
	{ "suspect: probe in flight LOGIN_GRACE s: still waits", P_OPENSSH,
	    { FLY(2), END }, SUS(1), 2 + LOGIN_GRACE, 4, 0, V_WAIT,
	    2 + LOGIN_GRACE, 0, 1, NULL },
	{ "suspect: probe older than LOGIN_GRACE: a new probe", P_OPENSSH,
	    { FLY(2), END }, SUS(1), 3 + LOGIN_GRACE, 4, 0, V_ADMIT, ANY, 1,
	    ANY, NULL },
	{ "suspect: probe settled (no answer seen): the next probes",
	    P_OPENSSH, { NET(2), END }, SUS(1), 3, 4, 0, V_ADMIT, ANY, 1,
	    ANY, NULL },
	{ "suspect: probe no longer in the history: the next probes",
	    P_OPENSSH, { END }, SUS(7), 3, 4, 0, V_ADMIT, ANY, 1, ANY, NULL },

	/* --- blocked: since 0, back-off ends at 30 --- */
	{ "blocked: before the back-off ends: delay to its end", P_OPENSSH,
	    { END }, BLK(0), 10, 4, 0, V_DELAY, 30, 0, 1, "blocked: " SWHY },
	{ "blocked: a second before its end: delay", P_OPENSSH, { END },
	    BLK(0), 29, 4, 0, V_DELAY, 30, 0, 1, NULL },
	{ "blocked: at its end: the first caller is the probe", P_OPENSSH,
	    { END }, BLK(0), 30, 4, 0, V_ADMIT, ANY, 1, ANY, NULL },
	{ "blocked: probe in flight: wait for it", P_OPENSSH,
	    { FLY(30), END }, BLK(1), 31, 4, 0, V_WAIT, 30 + LOGIN_GRACE, 0,
	    1, "waiting for the probe of a blocked server" },
	{ "blocked: a --check in flight in the back-off: wait", P_OPENSSH,
	    { FLY(10), END }, BLK(1), 11, 4, 0, V_WAIT, 10 + LOGIN_GRACE, 0,
	    1, NULL },
	{ "blocked: probe in flight LOGIN_GRACE s: still waits", P_OPENSSH,
	    { FLY(30), END }, BLK(1), 30 + LOGIN_GRACE, 4, 0, V_WAIT,
	    30 + LOGIN_GRACE, 0, 1, NULL },
	{ "blocked: probe older than LOGIN_GRACE: a new probe", P_OPENSSH,
	    { FLY(30), END }, BLK(1), 31 + LOGIN_GRACE, 4, 0, V_ADMIT, ANY, 1,
	    ANY, NULL },
	{ "blocked: probe settled, still blocked: the next probes",
	    P_OPENSSH, { NET(30), END }, BLK(1), 31, 4, 0, V_ADMIT, ANY, 1,
	    ANY, NULL },
	{ "blocked: probe freed (id 0): the next probes", P_OPENSSH,
	    { NET(30), END }, BLK(0), 31, 4, 0, V_ADMIT, ANY, 1, ANY, NULL },
	/*
	 * The notice does not move the state: the next caller may become
	 * another probe.  Only admission is asserted here.
	 */
	{ "blocked: probe authenticated, session on: admitted", P_OPENSSH,
	    { AUTHD(30), END }, BLK(1), 32, 4, 0, V_ADMIT, ANY, ANY, ANY,
	    NULL },
	{ "blocked: an old burst member does not hold the probe",
	    P_OPENSSH, { FLY(-1), END }, BLK(0), 30, 4, 0, V_ADMIT, ANY, 1,
	    ANY, NULL },

	/* --- --check: the user's own probe, at any time --- */
	{ "check: blocked, in the back-off", P_OPENSSH, { END }, BLK(0), 10,
	    4, 1, V_ADMIT, 10, 1, ANY, NULL },
	{ "check: blocked, a probe in flight", P_OPENSSH, { FLY(30), END },
	    BLK(1), 31, 4, 1, V_ADMIT, 31, 1, ANY, NULL },
	{ "check: suspect, in the back-off", P_OPENSSH, { END }, SUS(0), 1,
	    4, 1, V_ADMIT, 1, 1, ANY, NULL },
	{ "check: ok", P_OPENSSH, { END }, SOK, 0, 4, 1, V_ADMIT, 0, 1, ANY,
	    NULL },
	{ "check: a budget spent for half an hour", P_GUARD,
	    { FAIL(0), FAIL(0), END }, SOK, 5, 4, 1, V_ADMIT, 5, 1, ANY,
	    NULL },
	{ "check: slots full", P_OPENSSH, { FLY(0), END }, SOK, 1, 1, 1,
	    V_ADMIT, 1, 1, ANY, NULL },
	{ "check: a policy that never admits", P_ZERO, { END }, BLK(0), 0, 4,
	    1, V_ADMIT, 0, 1, ANY, NULL },
	{ "check: an unknown state far ahead", P_OPENSSH, { END },
	    { 42, 0, 5000, 30, 0 }, 0, 4, 1, V_ADMIT, 0, 1, ANY, NULL },

	/* --- the budget still binds a probe --- */
	{ "budget: sshguard's delay beats the back-off's end", P_GUARD,
	    { FAIL(0), FAIL(10), END }, BLK(0), 30, 4, 0, V_DELAY, 1801, 0, 0,
	    "(sshguard allows 2)" },
	{ "budget: the later of back-off and budget binds", P_GUARD,
	    { FAIL(0), FAIL(10), END }, BLK(0), 10, 4, 0, V_DELAY, 1801, 0, 0,
	    "sshguard" },
	{ "budget: a later back-off beats the budget", P_OPENSSH,
	    { FAIL(0), FAIL(0), END }, { SS_BLOCKED, 0, 900, 900, 0 }, 0, 4,
	    0, V_DELAY, 900, 0, 1, "blocked: " SWHY },
	{ "budget: a tie keeps the budget's reason", P_OPENSSH,
	    { FAIL(0), FAIL(0), END }, { SS_BLOCKED, 0, 5, 5, 0 }, 0, 4, 0,
	    V_DELAY, 5, 0, 0, "modelled penalty" },
	{ "budget: slots full at the back-off's end: wait, no probe",
	    P_OPENSSH, { FLY(20), END }, BLK(0), 30, 1, 0, V_WAIT,
	    20 + LOGIN_GRACE, 0, 0, "(parallel 1)" },
	{ "budget: no room for the probe's failure: wait", P_OPENSSH,
	    { FAIL(30), FLY(30), END }, BLK(0), 30, 4, 0, V_WAIT, ANY, 0, 0,
	    "reserve" },
	{ "budget: a delay beats a probe in flight", P_GUARD,
	    { FAIL(0), FAIL(0), FLY(30), END }, BLK(3), 31, 4, 0, V_DELAY,
	    1801, 0, 0, NULL },
	{ "budget: refused for good, no probe", P_ZERO, { END }, BLK(0), 30,
	    4, 0, V_REFUSE, NEVER, 0, 0, NULL },
	{ "budget: no policy: refused, no probe", P_NULL, { END }, BLK(0),
	    30, 4, 0, V_REFUSE, NEVER, 0, 0, "no policy" },

	/* --- the clock gone backwards --- */
	{ "backwards: a back-off ending far ahead: one step", P_OPENSSH,
	    { END }, { SS_BLOCKED, 5000, 5030, 30, 0 }, 0, 4, 0, V_DELAY, 30,
	    0, 1, "blocked" },
	{ "backwards: 15 min a day ahead: 15 min", P_OPENSSH, { END },
	    { SS_BLOCKED, 86400, 87300, 900, 0 }, 0, 4, 0, V_DELAY, 900, 0,
	    1, NULL },
	{ "backwards: exactly one step ahead is kept", P_OPENSSH, { END },
	    BLK(0), 0, 4, 0, V_DELAY, 30, 0, 1, NULL },
	{ "backwards: suspect ahead: its step", P_OPENSSH, { END },
	    { SS_SUSPECT, 1000, 1002, 2, 0 }, 0, 4, 0, V_DELAY, 2, 0, 1,
	    "suspect" },
	{ "backwards: step 0 taken as 1", P_OPENSSH, { END },
	    { SS_BLOCKED, 0, 1000, 0, 0 }, 0, 4, 0, V_DELAY, 1, 0, 1, NULL },
	{ "backwards: a probe dated ahead is in flight now", P_OPENSSH,
	    { FLY(500), END }, BLK(1), 40, 4, 0, V_WAIT, 40 + LOGIN_GRACE, 0,
	    1, NULL },

	/* --- unknown state values: blocked --- */
	{ "unknown 3, back-off over: a probe", P_OPENSSH, { END },
	    { 3, 0, -5, 0, 0 }, 0, 4, 0, V_ADMIT, ANY, 1, ANY, NULL },
	{ "unknown 99, far ahead: blocked, first step", P_OPENSSH, { END },
	    { 99, 0, 5000, 0, 0 }, 0, 4, 0, V_DELAY, BACKOFF_FIRST, 0, 1,
	    "blocked" },
	{ "unknown -1, ahead within a step: kept", P_OPENSSH, { END },
	    { -1, 0, 10, 0, 0 }, 0, 4, 0, V_DELAY, 10, 0, 1, "blocked" },
	{ "unknown 7, probe in flight: wait", P_OPENSSH, { FLY(0), END },
	    { 7, 0, 0, 0, 1 }, 1, 4, 0, V_WAIT, LOGIN_GRACE, 0, 1, NULL },
};
#define NDCASES	(sizeof(dcases) / sizeof(dcases[0]))

static int
check_decision(const struct dcase *c)
{
	struct history	 h;
	struct attreq	 r;
	struct decision	 d;
	int		 bad = 0;

	mkhist(&h, c->ev, &c->st);
	mkreq(&r, c->pol, c->parallel, c->check, 22);
	memset(&d, 0xa5, sizeof(d));
	attempt_decide(&r, &h, T0 + c->now, &d);
	if (d.verdict != c->want) {
		print_error("%s: verdict %s, want %s (%s)\n", c->name,
		    vname(d.verdict), vname(c->want), d.why);
		bad++;
	}
	if (c->until != ANY && rel(d.until) != c->until) {
		print_error("%s: until %ld, want %ld\n", c->name,
		    rel(d.until), c->until);
		bad++;
	}
	if (c->probe != ANY && d.probe != c->probe) {
		print_error("%s: probe %d, want %d\n", c->name, d.probe,
		    c->probe);
		bad++;
	}
	if (d.verdict != V_ADMIT && d.probe) {
		print_error("%s: a probe that was not admitted\n", c->name);
		bad++;
	}
	if (c->bystate != ANY && d.state != c->bystate) {
		print_error("%s: state bound %d, want %d\n", c->name, d.state,
		    c->bystate);
		bad++;
	}
	if (c->why != NULL && strstr(d.why, c->why) == NULL) {
		print_error("%s: why \"%s\", want \"%s\"\n", c->name, d.why,
		    c->why);
		bad++;
	}
	if (d.verdict == V_ADMIT && d.why[0] != '\0') {
		print_error("%s: admitted with why \"%s\"\n", c->name, d.why);
		bad++;
	}
	if (memchr(d.why, '\0', sizeof(d.why)) == NULL) {
		print_error("%s: why not terminated\n", c->name);
		bad++;
	}
	return bad;
}

static void
test_decide(void **state)
{
	struct attreq	 r;
	struct decision	 d;
	size_t		 i;
	int		 bad = 0;

	(void)state;
	for (i = 0; i < NDCASES; i++)
		bad += check_decision(&dcases[i]);
	assert_int_equal(bad, 0);

	/* No history at all: an ok server with nothing on its books. */
	mkreq(&r, P_DEFAULT, 4, 0, 22);
	attempt_decide(&r, NULL, T0, &d);
	assert_int_equal(d.verdict, V_ADMIT);
	assert_int_equal(d.probe, 0);
	r.check = 1;
	attempt_decide(&r, NULL, T0, &d);
	assert_int_equal(d.verdict, V_ADMIT);
	assert_int_equal(d.probe, 1);
}

/* ------------------------------------------------ a simulated ledger */

#define SIMMAX	64

/* One server's ledger, driven the way attempt_admit and _settle do. */
struct sim {
	struct history	 h;
	struct attempt	 att[SIMMAX];
	int		 pol;
	int		 port;
};

static void
sim_init(struct sim *s, int p, const struct ev *evs)
{
	size_t	i;

	memset(s, 0, sizeof(*s));
	s->pol = p;
	s->port = 22;
	s->h.att = s->att;
	for (i = 0; evs != NULL && evs[i].o != OUT_MAX; i++) {
		s->att[i].id = i + 1;
		s->att[i].outcome = evs[i].o;
		s->att[i].start = T0 + evs[i].start;
		s->att[i].end = T0 + evs[i].end;
		s->att[i].port = evs[i].port;
		strlcpy(s->att[i].who, evs[i].who, sizeof(s->att[i].who));
	}
	s->h.natt = i;
}

/* attempt_admit without the ledger: 0 or the new attempt's id. */
static uint64_t
sim_admit(struct sim *s, long now, int check, struct decision *d)
{
	struct attreq	 r;
	struct attempt	*a;
	struct srvstate	 st;

	mkreq(&r, s->pol, 4, check, s->port);
	attempt_decide(&r, &s->h, T0 + now, d);
	if (d->verdict != V_ADMIT)
		return 0;
	assert_true(s->h.natt < SIMMAX);
	a = &s->att[s->h.natt++];
	memset(a, 0, sizeof(*a));
	a->id = s->h.natt;
	a->start = a->end = T0 + now;
	a->outcome = OUT_INFLIGHT;
	a->proven = d->proven;
	a->port = s->port;
	strlcpy(a->who, W, sizeof(a->who));
	if (d->probe) {
		attempt_state(&s->h, T0 + now, &st);
		st.probe = a->id;
		s->h.st = st;
	}
	return a->id;
}

/* attempt_settle without the ledger. */
static void
sim_settle(struct sim *s, uint64_t id, enum rawout raw, long now,
    long jitter, struct settlement *out)
{
	struct attreq	 r;
	struct attempt	*a = NULL;
	size_t		 i;

	mkreq(&r, s->pol, 4, 0, s->port);
	for (i = 0; i < s->h.natt; i++)
		if (s->att[i].id == id)
			a = &s->att[i];
	attempt_next(&r, &s->h, a, raw, T0 + now, jitter, out);
	if (a != NULL) {
		a->outcome = out->outcome;
		a->end = T0 + now;
	}
	if (out->changed)
		s->h.st = out->st;
}

/* ------------------------------------------------------- attempt_next */

struct scase {
	const char	*name;
	int		 pol;
	struct ev	 ev[MAXEV];
	struct sspec	 st;
	uint64_t	 a;		/* id of the attempt settled; 0: gone */
	enum rawout	 raw;
	long		 now;
	long		 jitter;	/* ms */
	int		 port;		/* the request's */
	enum outcome	 want;
	int		 changed;
	int		 state;		/* after */
	long		 until;		/* relative; ANY */
	long		 step;		/* ANY */
	int		 retry;
	int		 closedport;
};

/* Results: (outcome, changed, state, until, step, retry, closedport). */
#define SAME(o, s)	(o), 0, (s), ANY, ANY, 0, 0
#define TOOK(o)		(o), 1, SS_OK, NEVER, 0, 0, 0	/* it answered */
#define SUSP(u)		OUT_DROP, 1, SS_SUSPECT, (u), ANY, 1, 0
#define BLOCK(o, u, s)	(o), 1, SS_BLOCKED, (u), (s), 0, 0
#define FREED(s, u, st)	OUT_NET, 1, (s), (u), (st), 0, 0

/* Settings: (events, state, attempt, ...) for each situation. */
#define OKCLEAN		{ FLY(0), END }, SOK, 1
#define OKFAIL		{ FAIL(-3599), FLY(0), END }, SOK, 2
#define OKFAILOLD	{ FAIL(-3600), FLY(0), END }, SOK, 2
#define SPROBE		{ FLY(2), END }, SUS(1), 1
#define SAFTER		{ FLY(2), FLY(3), END }, SUS(2), 1
#define SBEFORE		{ FLY(-1), END }, SUS(0), 1
#define BPROBE		{ FLY(30), END }, BLK(1), 1
#define BAFTER		{ FLY(5), FLY(30), END }, BLK(2), 1
#define BBEFORE		{ FLY(-1), END }, BLK(0), 1
#define CLOSED		{ OKP(-100, 22), FLYP(0, 2222), END }, SOK, 2

static const struct scase scases[] = {
	/* --- ok, clean history: now 1, jitter 2 s --- */
	{ "ok: a session", P_DEFAULT, OKCLEAN, RAW_OK, 1, 2000, 22,
	    SAME(OUT_OK, SS_OK) },
	{ "ok: auth failure", P_DEFAULT, OKCLEAN, RAW_AUTHFAIL, 1, 2000, 22,
	    SAME(OUT_AUTHFAIL, SS_OK) },
	{ "ok: closed before the banner: suspect, one retry", P_DEFAULT,
	    OKCLEAN, RAW_PREBANNER, 1, 2000, 22, SUSP(3) },
	{ "ok: not allowed at this time: suspect", P_DEFAULT, OKCLEAN,
	    RAW_NOTALLOWED, 1, 2000, 22, SUSP(3) },
	{ "ok: connection refused: suspect", P_DEFAULT, OKCLEAN,
	    RAW_REFUSED, 1, 2000, 22, SUSP(3) },
	{ "ok: timeout: suspect", P_DEFAULT, OKCLEAN, RAW_TIMEOUT, 1, 2000,
	    22, SUSP(3) },
	{ "ok: host key: noauth, no state", P_DEFAULT, OKCLEAN, RAW_HOSTKEY,
	    1, 2000, 22, SAME(OUT_NOAUTH, SS_OK) },
	{ "ok: local network", P_DEFAULT, OKCLEAN, RAW_NET, 1, 2000, 22,
	    SAME(OUT_NET, SS_OK) },
	{ "ok: closed before auth", P_DEFAULT, OKCLEAN, RAW_NOAUTH, 1, 2000,
	    22, SAME(OUT_NOAUTH, SS_OK) },
	{ "ok: unknown: a failed login, no state", P_DEFAULT, OKCLEAN,
	    RAW_UNKNOWN, 1, 2000, 22, SAME(OUT_UNKNOWN, SS_OK) },

	/* --- ok, a failed login FAIL_WINDOW ago (still recent) --- */
	{ "ok+fail: a session", P_DEFAULT, OKFAIL, RAW_OK, 1, 2000, 22,
	    SAME(OUT_OK, SS_OK) },
	{ "ok+fail: auth failure", P_DEFAULT, OKFAIL, RAW_AUTHFAIL, 1, 2000,
	    22, SAME(OUT_AUTHFAIL, SS_OK) },
	{ "ok+fail: closed before the banner: blocked 30 s", P_DEFAULT,
	    OKFAIL, RAW_PREBANNER, 1, 2000, 22, BLOCK(OUT_BAN, 31, 30) },
	{ "ok+fail: not allowed: blocked", P_DEFAULT, OKFAIL,
	    RAW_NOTALLOWED, 1, 2000, 22, BLOCK(OUT_BAN, 31, 30) },
	{ "ok+fail: refused: blocked", P_DEFAULT, OKFAIL, RAW_REFUSED, 1,
	    2000, 22, BLOCK(OUT_BAN, 31, 30) },
	{ "ok+fail: timeout: blocked", P_DEFAULT, OKFAIL, RAW_TIMEOUT, 1,
	    2000, 22, BLOCK(OUT_BAN, 31, 30) },
	{ "ok+fail: host key", P_DEFAULT, OKFAIL, RAW_HOSTKEY, 1, 2000, 22,
	    SAME(OUT_NOAUTH, SS_OK) },
	{ "ok+fail: local network", P_DEFAULT, OKFAIL, RAW_NET, 1, 2000, 22,
	    SAME(OUT_NET, SS_OK) },
	{ "ok+fail: closed before auth", P_DEFAULT, OKFAIL, RAW_NOAUTH, 1,
	    2000, 22, SAME(OUT_NOAUTH, SS_OK) },
	{ "ok+fail: unknown: no state", P_DEFAULT, OKFAIL, RAW_UNKNOWN, 1,
	    2000, 22, SAME(OUT_UNKNOWN, SS_OK) },

	/* --- ok, the failed login FAIL_WINDOW + 1 s ago: not recent --- */
	{ "ok+old fail: closed before the banner: suspect", P_DEFAULT,
	    OKFAILOLD, RAW_PREBANNER, 1, 2000, 22, SUSP(3) },
	{ "ok+old fail: not allowed: suspect", P_DEFAULT, OKFAILOLD,
	    RAW_NOTALLOWED, 1, 2000, 22, SUSP(3) },
	{ "ok+old fail: refused: suspect", P_DEFAULT, OKFAILOLD,
	    RAW_REFUSED, 1, 2000, 22, SUSP(3) },
	{ "ok+old fail: timeout: suspect", P_DEFAULT, OKFAILOLD,
	    RAW_TIMEOUT, 1, 2000, 22, SUSP(3) },
	{ "ok+old fail: a session", P_DEFAULT, OKFAILOLD, RAW_OK, 1, 2000,
	    22, SAME(OUT_OK, SS_OK) },
	{ "ok+old fail: unknown", P_DEFAULT, OKFAILOLD, RAW_UNKNOWN, 1,
	    2000, 22, SAME(OUT_UNKNOWN, SS_OK) },

	/* --- which earlier outcomes are a recent failed login --- */
	{ "ok+lost 10 min ago: refused: blocked", P_DEFAULT,
	    { LOST(-600), FLY(0), END }, SOK, 2, RAW_REFUSED, 1, 2000, 22,
	    BLOCK(OUT_BAN, 31, 30) },
	{ "ok+unknown end 10 min ago: refused: blocked", P_DEFAULT,
	    { UNKN(-600), FLY(0), END }, SOK, 2, RAW_REFUSED, 1, 2000, 22,
	    BLOCK(OUT_BAN, 31, 30) },
	{ "ok+a failure dated ahead: recent", P_DEFAULT,
	    { FAIL(5000), FLY(0), END }, SOK, 2, RAW_TIMEOUT, 1, 2000, 22,
	    BLOCK(OUT_BAN, 31, 30) },
	{ "ok+an earlier ban is no failed login: suspect", P_DEFAULT,
	    { BAN(-600), FLY(0), END }, SOK, 2, RAW_REFUSED, 1, 2000, 22,
	    SUSP(3) },
	{ "ok+an earlier drop: suspect", P_DEFAULT,
	    { DROP(-600), FLY(0), END }, SOK, 2, RAW_PREBANNER, 1, 2000, 22,
	    SUSP(3) },
	{ "ok+an earlier noauth: suspect", P_DEFAULT,
	    { NOAUP(-600, 22), FLY(0), END }, SOK, 2, RAW_PREBANNER, 1, 2000,
	    22, SUSP(3) },
	{ "ok: a stale probe id is no probe: suspect", P_DEFAULT,
	    { FLY(0), END }, SOKP(1), 1, RAW_PREBANNER, 1, 2000, 22,
	    SUSP(3) },

	/* --- suspect (since 0, until 2): the probe settles at 5 --- */
	{ "suspect probe: a session: ok", P_DEFAULT, SPROBE, RAW_OK, 5,
	    2000, 22, TOOK(OUT_OK) },
	{ "suspect probe: auth failure: ok (it answered)", P_DEFAULT,
	    SPROBE, RAW_AUTHFAIL, 5, 2000, 22, TOOK(OUT_AUTHFAIL) },
	{ "suspect probe: closed before auth: ok", P_DEFAULT, SPROBE,
	    RAW_NOAUTH, 5, 2000, 22, TOOK(OUT_NOAUTH) },
	{ "suspect probe: host key: ok", P_DEFAULT, SPROBE, RAW_HOSTKEY, 5,
	    2000, 22, TOOK(OUT_NOAUTH) },
	{ "suspect probe: closed before the banner: blocked", P_DEFAULT,
	    SPROBE, RAW_PREBANNER, 5, 2000, 22, BLOCK(OUT_BAN, 35, 30) },
	{ "suspect probe: not allowed: blocked", P_DEFAULT, SPROBE,
	    RAW_NOTALLOWED, 5, 2000, 22, BLOCK(OUT_BAN, 35, 30) },
	{ "suspect probe: refused: blocked", P_DEFAULT, SPROBE, RAW_REFUSED,
	    5, 2000, 22, BLOCK(OUT_BAN, 35, 30) },
	{ "suspect probe: timeout: blocked", P_DEFAULT, SPROBE, RAW_TIMEOUT,
	    5, 2000, 22, BLOCK(OUT_BAN, 35, 30) },
	{ "suspect probe: local network: frees the turn", P_DEFAULT, SPROBE,
	    RAW_NET, 5, 2000, 22, FREED(SS_SUSPECT, 2, 2) },
	{ "suspect probe: silent: blocked", P_DEFAULT, SPROBE, RAW_UNKNOWN,
	    5, 2000, 22, BLOCK(OUT_UNKNOWN, 35, 30) },

	/* --- suspect: not the probe, started after the state began --- */
	{ "suspect after: a session: ok", P_DEFAULT, SAFTER, RAW_OK, 5, 2000,
	    22, TOOK(OUT_OK) },
	{ "suspect after: auth failure: ok", P_DEFAULT, SAFTER,
	    RAW_AUTHFAIL, 5, 2000, 22, TOOK(OUT_AUTHFAIL) },
	{ "suspect after: closed before auth: ok", P_DEFAULT, SAFTER,
	    RAW_NOAUTH, 5, 2000, 22, TOOK(OUT_NOAUTH) },
	{ "suspect after: host key: ok", P_DEFAULT, SAFTER, RAW_HOSTKEY, 5,
	    2000, 22, TOOK(OUT_NOAUTH) },
	{ "suspect after: closed before the banner: blocked", P_DEFAULT,
	    SAFTER, RAW_PREBANNER, 5, 2000, 22, BLOCK(OUT_BAN, 35, 30) },
	{ "suspect after: not allowed: blocked", P_DEFAULT, SAFTER,
	    RAW_NOTALLOWED, 5, 2000, 22, BLOCK(OUT_BAN, 35, 30) },
	{ "suspect after: refused: blocked", P_DEFAULT, SAFTER, RAW_REFUSED,
	    5, 2000, 22, BLOCK(OUT_BAN, 35, 30) },
	{ "suspect after: timeout: blocked", P_DEFAULT, SAFTER, RAW_TIMEOUT,
	    5, 2000, 22, BLOCK(OUT_BAN, 35, 30) },
	{ "suspect after: local network: nothing", P_DEFAULT, SAFTER,
	    RAW_NET, 5, 2000, 22, SAME(OUT_NET, SS_SUSPECT) },
	{ "suspect after: unknown: nothing", P_DEFAULT, SAFTER, RAW_UNKNOWN,
	    5, 2000, 22, SAME(OUT_UNKNOWN, SS_SUSPECT) },

	/* --- suspect: started before it, the same burst --- */
	{ "suspect burst: a session: nothing", P_DEFAULT, SBEFORE, RAW_OK, 5,
	    2000, 22, SAME(OUT_OK, SS_SUSPECT) },
	{ "suspect burst: auth failure: nothing", P_DEFAULT, SBEFORE,
	    RAW_AUTHFAIL, 5, 2000, 22, SAME(OUT_AUTHFAIL, SS_SUSPECT) },
	{ "suspect burst: closed before auth: nothing", P_DEFAULT, SBEFORE,
	    RAW_NOAUTH, 5, 2000, 22, SAME(OUT_NOAUTH, SS_SUSPECT) },
	{ "suspect burst: host key: nothing", P_DEFAULT, SBEFORE,
	    RAW_HOSTKEY, 5, 2000, 22, SAME(OUT_NOAUTH, SS_SUSPECT) },
	{ "suspect burst: closed before the banner: one event", P_DEFAULT,
	    SBEFORE, RAW_PREBANNER, 5, 2000, 22, SAME(OUT_DROP, SS_SUSPECT) },
	{ "suspect burst: not allowed: one event", P_DEFAULT, SBEFORE,
	    RAW_NOTALLOWED, 5, 2000, 22, SAME(OUT_DROP, SS_SUSPECT) },
	{ "suspect burst: refused: one event", P_DEFAULT, SBEFORE,
	    RAW_REFUSED, 5, 2000, 22, SAME(OUT_DROP, SS_SUSPECT) },
	{ "suspect burst: timeout: one event", P_DEFAULT, SBEFORE,
	    RAW_TIMEOUT, 5, 2000, 22, SAME(OUT_DROP, SS_SUSPECT) },
	{ "suspect burst: local network: nothing", P_DEFAULT, SBEFORE,
	    RAW_NET, 5, 2000, 22, SAME(OUT_NET, SS_SUSPECT) },
	{ "suspect burst: unknown: nothing", P_DEFAULT, SBEFORE,
	    RAW_UNKNOWN, 5, 2000, 22, SAME(OUT_UNKNOWN, SS_SUSPECT) },

	/* --- blocked (since 0, until 30): the probe settles at 31 --- */
	{ "blocked probe: a session: ok", P_DEFAULT, BPROBE, RAW_OK, 31,
	    2000, 22, TOOK(OUT_OK) },
	{ "blocked probe: auth failure: ok (it answered)", P_DEFAULT,
	    BPROBE, RAW_AUTHFAIL, 31, 2000, 22, TOOK(OUT_AUTHFAIL) },
	{ "blocked probe: closed before auth: ok", P_DEFAULT, BPROBE,
	    RAW_NOAUTH, 31, 2000, 22, TOOK(OUT_NOAUTH) },
	{ "blocked probe: host key: ok", P_DEFAULT, BPROBE, RAW_HOSTKEY, 31,
	    2000, 22, TOOK(OUT_NOAUTH) },
	{ "blocked probe: closed before the banner: 60 s", P_DEFAULT,
	    BPROBE, RAW_PREBANNER, 31, 2000, 22, BLOCK(OUT_BAN, 91, 60) },
	{ "blocked probe: not allowed: 60 s", P_DEFAULT, BPROBE,
	    RAW_NOTALLOWED, 31, 2000, 22, BLOCK(OUT_BAN, 91, 60) },
	{ "blocked probe: refused: 60 s", P_DEFAULT, BPROBE, RAW_REFUSED, 31,
	    2000, 22, BLOCK(OUT_BAN, 91, 60) },
	{ "blocked probe: timeout: 60 s", P_DEFAULT, BPROBE, RAW_TIMEOUT, 31,
	    2000, 22, BLOCK(OUT_BAN, 91, 60) },
	{ "blocked probe: local network: frees the turn", P_DEFAULT, BPROBE,
	    RAW_NET, 31, 2000, 22, FREED(SS_BLOCKED, 30, 30) },
	{ "blocked probe: silent: stays blocked, doubled", P_DEFAULT, BPROBE,
	    RAW_UNKNOWN, 31, 2000, 22, BLOCK(OUT_UNKNOWN, 91, 60) },

	/* --- blocked: not the probe, started after the state began --- */
	{ "blocked after: a session: ok", P_DEFAULT, BAFTER, RAW_OK, 31,
	    2000, 22, TOOK(OUT_OK) },
	{ "blocked after: auth failure: ok", P_DEFAULT, BAFTER, RAW_AUTHFAIL,
	    31, 2000, 22, TOOK(OUT_AUTHFAIL) },
	{ "blocked after: closed before auth: ok", P_DEFAULT, BAFTER,
	    RAW_NOAUTH, 31, 2000, 22, TOOK(OUT_NOAUTH) },
	{ "blocked after: host key: ok", P_DEFAULT, BAFTER, RAW_HOSTKEY, 31,
	    2000, 22, TOOK(OUT_NOAUTH) },
	{ "blocked after: closed before the banner: nothing", P_DEFAULT,
	    BAFTER, RAW_PREBANNER, 31, 2000, 22, SAME(OUT_BAN, SS_BLOCKED) },
	{ "blocked after: not allowed: nothing", P_DEFAULT, BAFTER,
	    RAW_NOTALLOWED, 31, 2000, 22, SAME(OUT_BAN, SS_BLOCKED) },
	{ "blocked after: refused: nothing", P_DEFAULT, BAFTER, RAW_REFUSED,
	    31, 2000, 22, SAME(OUT_BAN, SS_BLOCKED) },
	{ "blocked after: timeout: nothing", P_DEFAULT, BAFTER, RAW_TIMEOUT,
	    31, 2000, 22, SAME(OUT_BAN, SS_BLOCKED) },
	{ "blocked after: local network: nothing", P_DEFAULT, BAFTER,
	    RAW_NET, 31, 2000, 22, SAME(OUT_NET, SS_BLOCKED) },
	{ "blocked after: unknown: nothing", P_DEFAULT, BAFTER, RAW_UNKNOWN,
	    31, 2000, 22, SAME(OUT_UNKNOWN, SS_BLOCKED) },

	/* --- blocked: started before it, the same burst --- */
	{ "blocked burst: a session: nothing", P_DEFAULT, BBEFORE, RAW_OK,
	    31, 2000, 22, SAME(OUT_OK, SS_BLOCKED) },
	{ "blocked burst: auth failure: nothing", P_DEFAULT, BBEFORE,
	    RAW_AUTHFAIL, 31, 2000, 22, SAME(OUT_AUTHFAIL, SS_BLOCKED) },
	{ "blocked burst: closed before auth: nothing", P_DEFAULT, BBEFORE,
	    RAW_NOAUTH, 31, 2000, 22, SAME(OUT_NOAUTH, SS_BLOCKED) },
	{ "blocked burst: host key: nothing", P_DEFAULT, BBEFORE,
	    RAW_HOSTKEY, 31, 2000, 22, SAME(OUT_NOAUTH, SS_BLOCKED) },
	{ "blocked burst: closed before the banner: nothing", P_DEFAULT,
	    BBEFORE, RAW_PREBANNER, 31, 2000, 22, SAME(OUT_BAN, SS_BLOCKED) },
	{ "blocked burst: not allowed: nothing", P_DEFAULT, BBEFORE,
	    RAW_NOTALLOWED, 31, 2000, 22, SAME(OUT_BAN, SS_BLOCKED) },
	{ "blocked burst: refused: nothing", P_DEFAULT, BBEFORE, RAW_REFUSED,
	    31, 2000, 22, SAME(OUT_BAN, SS_BLOCKED) },
	{ "blocked burst: timeout: nothing", P_DEFAULT, BBEFORE, RAW_TIMEOUT,
	    31, 2000, 22, SAME(OUT_BAN, SS_BLOCKED) },
	{ "blocked burst: local network: nothing", P_DEFAULT, BBEFORE,
	    RAW_NET, 31, 2000, 22, SAME(OUT_NET, SS_BLOCKED) },
	{ "blocked burst: unknown: nothing", P_DEFAULT, BBEFORE, RAW_UNKNOWN,
	    31, 2000, 22, SAME(OUT_UNKNOWN, SS_BLOCKED) },

	/* --- the authentication notice was seen: OK whatever raw says --- */
	{ "notice: closed before the banner is a session", P_DEFAULT,
	    { AUTHD(0), END }, SOK, 1, RAW_PREBANNER, 5, 2000, 22,
	    SAME(OUT_OK, SS_OK) },
	{ "notice: unknown is a session", P_DEFAULT, { AUTHD(0), END }, SOK,
	    1, RAW_UNKNOWN, 5, 2000, 22, SAME(OUT_OK, SS_OK) },
	{ "notice: auth failure is a session", P_DEFAULT, { AUTHD(0), END },
	    SOK, 1, RAW_AUTHFAIL, 5, 2000, 22, SAME(OUT_OK, SS_OK) },
	{ "notice: the blocked probe timing out is a session", P_DEFAULT,
	    { AUTHD(30), END }, BLK(1), 1, RAW_TIMEOUT, 40, 2000, 22,
	    TOOK(OUT_OK) },
	{ "notice: a suspect burst member refused: a session", P_DEFAULT,
	    { AUTHD(-1), END }, SUS(0), 1, RAW_REFUSED, 5, 2000, 22,
	    SAME(OUT_OK, SS_SUSPECT) },

	/* --- unknown after LOGIN_GRACE: the session ran --- */
	{ "grace: unknown after 121 s is a session", P_DEFAULT, OKCLEAN,
	    RAW_UNKNOWN, LOGIN_GRACE + 1, 2000, 22, SAME(OUT_OK, SS_OK) },
	{ "grace: unknown after 120 s is a failed login", P_DEFAULT, OKCLEAN,
	    RAW_UNKNOWN, LOGIN_GRACE, 2000, 22, SAME(OUT_UNKNOWN, SS_OK) },
	{ "grace: a blocked probe unknown after 121 s: ok", P_DEFAULT,
	    BPROBE, RAW_UNKNOWN, 31 + LOGIN_GRACE, 2000, 22, TOOK(OUT_OK) },
	{ "grace: a blocked probe unknown after 120 s: doubled", P_DEFAULT,
	    BPROBE, RAW_UNKNOWN, 30 + LOGIN_GRACE, 2000, 22,
	    BLOCK(OUT_UNKNOWN, 90 + LOGIN_GRACE, 60) },
	{ "grace: a refusal stays a refusal after 121 s", P_DEFAULT,
	    OKCLEAN, RAW_TIMEOUT, LOGIN_GRACE + 1, 2000, 22,
	    SUSP(LOGIN_GRACE + 3) },

	/* --- the attempt is no longer in the history --- */
	{ "gone: ok, refused: suspect", P_DEFAULT, { END }, SOK, 0,
	    RAW_REFUSED, 1, 2000, 22, SUSP(3) },
	{ "gone: ok, unknown stays unknown", P_DEFAULT, { END }, SOK, 0,
	    RAW_UNKNOWN, 500, 2000, 22, SAME(OUT_UNKNOWN, SS_OK) },
	{ "gone: blocked, refused: not the probe", P_DEFAULT,
	    { FLY(30), END }, BLK(1), 0, RAW_REFUSED, 31, 2000, 22,
	    SAME(OUT_BAN, SS_BLOCKED) },
	{ "gone: blocked, a session: ok", P_DEFAULT, { FLY(30), END },
	    BLK(1), 0, RAW_OK, 31, 2000, 22, TOOK(OUT_OK) },
	{ "gone: suspect, refused: blocked", P_DEFAULT, { END }, SUS(0), 0,
	    RAW_PREBANNER, 5, 2000, 22, BLOCK(OUT_BAN, 35, 30) },

	/* --- a refused port where nothing listens --- */
	{ "closed port: another port answered: net, nothing moves",
	    P_DEFAULT, CLOSED, RAW_REFUSED, 1, 2000, 2222,
	    OUT_NET, 0, SS_OK, ANY, ANY, 0, 1 },
	{ "closed port: the other answered ANSWER_WINDOW ago", P_DEFAULT,
	    { OKP(-3599, 22), FLYP(0, 2222), END }, SOK, 2, RAW_REFUSED, 1,
	    2000, 2222, OUT_NET, 0, SS_OK, ANY, ANY, 0, 1 },
	{ "closed port: the other answered too long ago: suspect",
	    P_DEFAULT, { OKP(-3600, 22), FLYP(0, 2222), END }, SOK, 2,
	    RAW_REFUSED, 1, 2000, 2222, SUSP(3) },
	{ "closed port: this port answered before: suspect", P_DEFAULT,
	    { OKP(-90000, 2222), OKP(-100, 22), FLYP(0, 2222), END }, SOK, 3,
	    RAW_REFUSED, 1, 2000, 2222, SUSP(3) },
	{ "closed port: this port answered before, fail: blocked",
	    P_DEFAULT, { FAILP(-90000, 2222), OKP(-100, 22), FAIL(-50),
	    FLYP(0, 2222), END }, SOK, 4, RAW_REFUSED, 1, 2000, 2222,
	    BLOCK(OUT_BAN, 31, 30) },
	{ "closed port: even after a failed login: nothing", P_DEFAULT,
	    { FAILP(-100, 22), FLYP(0, 2222), END }, SOK, 2, RAW_REFUSED, 1,
	    2000, 2222, OUT_NET, 0, SS_OK, ANY, ANY, 0, 1 },
	{ "closed port: a noauth elsewhere is an answer", P_DEFAULT,
	    { NOAUP(-100, 22), FLYP(0, 2222), END }, SOK, 2, RAW_REFUSED, 1,
	    2000, 2222, OUT_NET, 0, SS_OK, ANY, ANY, 0, 1 },
	{ "closed port: a ban elsewhere is no answer: suspect", P_DEFAULT,
	    { BANP(-100, 22), FLYP(0, 2222), END }, SOK, 2, RAW_REFUSED, 1,
	    2000, 2222, SUSP(3) },
	{ "closed port: port unknown (0): suspect", P_DEFAULT,
	    { OKP(-100, 22), FLYP(0, 0), END }, SOK, 2, RAW_REFUSED, 1, 2000,
	    0, SUSP(3) },
	{ "closed port: a timeout is still a refusal", P_DEFAULT, CLOSED,
	    RAW_TIMEOUT, 1, 2000, 2222, SUSP(3) },
	{ "closed port: the blocked probe frees its turn", P_DEFAULT,
	    { OKP(-100, 22), FLYP(30, 2222), END }, BLK(2), 2, RAW_REFUSED,
	    31, 2000, 2222, OUT_NET, 1, SS_BLOCKED, 30, 30, 0, 1 },
	{ "closed port: a suspect burst member: nothing", P_DEFAULT,
	    { OKP(-100, 22), FLYP(-1, 2222), END }, SUS(0), 2, RAW_REFUSED, 5,
	    2000, 2222, OUT_NET, 0, SS_SUSPECT, ANY, ANY, 0, 1 },

	/* --- the back-off: doubling from BACKOFF_FIRST to cooldown --- */
	{ "backoff: 60 -> 120", P_DEFAULT, { FLY(60), END },
	    { SS_BLOCKED, 0, 60, 60, 1 }, 1, RAW_REFUSED, 61, 2000, 22,
	    BLOCK(OUT_BAN, 181, 120) },
	{ "backoff: 480 -> 900, the cooldown", P_DEFAULT, { FLY(480), END },
	    { SS_BLOCKED, 0, 480, 480, 1 }, 1, RAW_REFUSED, 481, 2000, 22,
	    BLOCK(OUT_BAN, 1381, 900) },
	{ "backoff: 900 stays 900", P_DEFAULT, { FLY(900), END },
	    { SS_BLOCKED, 0, 900, 900, 1 }, 1, RAW_PREBANNER, 901, 2000, 22,
	    BLOCK(OUT_BAN, 1801, 900) },
	{ "backoff: 12 h cooldown: 30720 -> 43200", P_SHARED,
	    { FLY(30720), END }, { SS_BLOCKED, 0, 30720, 30720, 1 }, 1,
	    RAW_TIMEOUT, 30721, 2000, 22, BLOCK(OUT_BAN, 73921, 43200) },
	{ "backoff: cooldown 10: blocked for 10", P_SHORT, OKFAIL,
	    RAW_REFUSED, 1, 2000, 22, BLOCK(OUT_BAN, 11, 10) },
	{ "backoff: cooldown 10: the suspect probe refused", P_SHORT, SPROBE,
	    RAW_REFUSED, 5, 2000, 22, BLOCK(OUT_BAN, 15, 10) },
	{ "backoff: cooldown 10: stays 10", P_SHORT, { FLY(10), END },
	    { SS_BLOCKED, 0, 10, 10, 1 }, 1, RAW_REFUSED, 11, 2000, 22,
	    BLOCK(OUT_BAN, 21, 10) },
	{ "backoff: cooldown 0: no back-off", P_NOCOOL, OKFAIL, RAW_REFUSED,
	    1, 2000, 22, BLOCK(OUT_BAN, 1, 0) },
	{ "backoff: cooldown 0: a refused probe, none", P_NOCOOL,
	    { FLY(0), END }, { SS_BLOCKED, 0, 0, 0, 1 }, 1, RAW_REFUSED, 1,
	    2000, 22, BLOCK(OUT_BAN, 1, 0) },
	{ "backoff: cooldown 0: a suspect probe refused", P_NOCOOL, SPROBE,
	    RAW_REFUSED, 5, 2000, 22, BLOCK(OUT_BAN, 5, 0) },
	{ "backoff: no policy: BACKOFF_FIRST at most", P_NULL, BPROBE,
	    RAW_REFUSED, 31, 2000, 22, BLOCK(OUT_BAN, 61, 30) },

	/* --- the suspect's jitter: until = now + ceil(ms / 1000) --- */
	{ "jitter 0: one step", P_DEFAULT, OKCLEAN, RAW_REFUSED, 1, 0, 22,
	    SUSP(2) },
	{ "jitter -5: one step", P_DEFAULT, OKCLEAN, RAW_REFUSED, 1, -5, 22,
	    SUSP(2) },
	{ "jitter 1 ms: 1 s", P_DEFAULT, OKCLEAN, RAW_REFUSED, 1, 1, 22,
	    SUSP(2) },
	{ "jitter 1000 ms: 1 s", P_DEFAULT, OKCLEAN, RAW_REFUSED, 1,
	    SUSPECT_MINMS, 22, SUSP(2) },
	{ "jitter 1001 ms: 2 s", P_DEFAULT, OKCLEAN, RAW_REFUSED, 1, 1001,
	    22, SUSP(3) },
	{ "jitter 2500 ms: 3 s", P_DEFAULT, OKCLEAN, RAW_REFUSED, 1, 2500,
	    22, SUSP(4) },
	{ "jitter 3000 ms: 3 s", P_DEFAULT, OKCLEAN, RAW_REFUSED, 1,
	    SUSPECT_MAXMS, 22, SUSP(4) },
};
#define NSCASES	(sizeof(scases) / sizeof(scases[0]))

/* The words attempt.c uses for each kind of evidence. */
static const char *
evword(enum rawout raw)
{
	switch (raw) {
	case RAW_PREBANNER:
		return "closed before the banner";
	case RAW_NOTALLOWED:
		return "Not allowed at this time";
	case RAW_TIMEOUT:
		return "timed out";
	case RAW_REFUSED:
		return "connection refused";
	default:
		return "no answer";
	}
}

static int
samestate(const struct srvstate *a, const struct srvstate *b)
{
	return a->state == b->state && a->since == b->since &&
	    a->until == b->until && a->step == b->step &&
	    a->probe == b->probe && strcmp(a->why, b->why) == 0;
}

static int
check_settlement(const struct scase *c)
{
	struct history		 h;
	struct attreq		 r;
	struct settlement	 out;
	struct srvstate		 before;
	const struct attempt	*a = NULL;
	time_t			 now = T0 + c->now;
	int			 bad = 0, entered;

	mkhist(&h, c->ev, &c->st);
	mkreq(&r, c->pol, 4, 0, c->port);
	if (c->a != 0)
		a = &h.att[c->a - 1];
	attempt_state(&h, now, &before);
	memset(&out, 0xa5, sizeof(out));
	attempt_next(&r, &h, a, c->raw, now, c->jitter, &out);
	if (out.outcome != c->want) {
		print_error("%s: outcome %s, want %s\n", c->name,
		    outcome_name(out.outcome), outcome_name(c->want));
		bad++;
	}
	if (out.changed != c->changed || (int)out.st.state != c->state) {
		print_error("%s: changed %d state %s, want %d %s\n", c->name,
		    out.changed, sstate_name(out.st.state), c->changed,
		    sstate_name((enum sstate)c->state));
		bad++;
	}
	if (c->until != ANY && rel(out.st.until) != c->until) {
		print_error("%s: until %ld, want %ld\n", c->name,
		    rel(out.st.until), c->until);
		bad++;
	}
	if (c->step != ANY && out.st.step != c->step) {
		print_error("%s: step %ld, want %ld\n", c->name, out.st.step,
		    c->step);
		bad++;
	}
	if (out.retry != c->retry || out.closedport != c->closedport) {
		print_error("%s: retry %d closedport %d, want %d %d\n",
		    c->name, out.retry, out.closedport, c->retry,
		    c->closedport);
		bad++;
	}
	if (!out.changed) {
		/* Nothing moves: the state is the one that stands at now. */
		if (!samestate(&out.st, &before)) {
			print_error("%s: unchanged, but st differs\n",
			    c->name);
			bad++;
		}
		return bad;
	}
	if (out.st.probe != 0) {
		print_error("%s: a new state keeps probe %llu\n", c->name,
		    (unsigned long long)out.st.probe);
		bad++;
	}
	entered = out.st.state != before.state ||
	    out.st.until != before.until || out.st.step != before.step;
	if (entered && out.st.since != now) {
		print_error("%s: since %ld, want now\n", c->name,
		    rel(out.st.since));
		bad++;
	}
	if (!entered && out.st.since != before.since) {
		print_error("%s: the turn was freed but since moved\n",
		    c->name);
		bad++;
	}
	if (entered && out.st.state != SS_OK &&
	    strstr(out.st.why, evword(c->raw)) == NULL) {
		print_error("%s: why \"%s\", want \"%s\"\n", c->name,
		    out.st.why, evword(c->raw));
		bad++;
	}
	if (out.st.state == SS_OK && (out.st.until != 0 ||
	    out.st.step != 0 || out.st.why[0] != '\0')) {
		print_error("%s: ok keeps a back-off or a why\n", c->name);
		bad++;
	}
	return bad;
}

static void
test_settle(void **state)
{
	size_t	i;
	int	bad = 0;

	(void)state;
	for (i = 0; i < NSCASES; i++)
		bad += check_settlement(&scases[i]);
	assert_int_equal(bad, 0);
}

/*
 * A long chain of refused probes: the first refusal makes the server
 * suspect, the retry's refusal blocked for BACKOFF_FIRST (or the
 * cooldown if shorter), and every refused probe doubles the back-off
 * up to the policy's cooldown, where it stays.
 */
static void
test_backoff_chain(void **state)
{
	static const struct {
		int	 pol;
		long	 want[12];	/* steps after each refusal; -1 ends */
	} chains[] = {
		{ P_DEFAULT, { 30, 60, 120, 240, 480, 900, 900, 900, -1 } },
		{ P_SHARED, { 30, 60, 120, 240, 480, 960, 1920, 3840, 7680,
		    15360, 30720, 43200 } },
		{ P_SHORT, { 10, 10, 10, -1 } },
		{ P_NOCOOL, { 0, 0, 0, -1 } },
	};
	struct sim		 s;
	struct settlement	 out;
	struct decision		 d;
	uint64_t		 id;
	size_t			 i, k;
	long			 now;

	(void)state;
	for (i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
		sim_init(&s, chains[i].pol, NULL);
		id = sim_admit(&s, 0, 0, &d);
		assert_int_not_equal(id, 0);
		assert_int_equal(d.probe, 0);
		sim_settle(&s, id, RAW_PREBANNER, 0, 1000, &out);
		assert_int_equal(out.st.state, SS_SUSPECT);
		now = rel(out.st.until);
		for (k = 0; k < 12 && chains[i].want[k] != -1; k++) {
			id = sim_admit(&s, now, 0, &d);
			assert_int_equal(d.verdict, V_ADMIT);
			assert_int_equal(d.probe, 1);
			sim_settle(&s, id, k % 2 ? RAW_TIMEOUT : RAW_REFUSED,
			    now, 2000, &out);
			assert_int_equal(out.outcome, OUT_BAN);
			assert_int_equal(out.st.state, SS_BLOCKED);
			assert_int_equal(out.st.step, chains[i].want[k]);
			assert_int_equal(rel(out.st.until),
			    now + chains[i].want[k]);
			now = rel(out.st.until);
			if (chains[i].want[k] > 0) {
				assert_int_equal(sim_admit(&s, now - 1, 0,
				    &d), 0);
				assert_int_equal(d.verdict, V_DELAY);
			}
		}
		/* A probe that answers ends it, even with a failed login. */
		id = sim_admit(&s, now, 0, &d);
		assert_int_equal(d.probe, 1);
		sim_settle(&s, id, RAW_AUTHFAIL, now + 1, 2000, &out);
		assert_int_equal(out.outcome, OUT_AUTHFAIL);
		assert_int_equal(out.st.state, SS_OK);
		assert_int_equal(out.changed, 1);
	}
}

/*
 * Several processes at once: once one admission marked the probe (its
 * id in the state, its attempt in flight), every other caller waits
 * for it, in any state that has a probe; then its outcome decides for
 * all of them.
 */
static void
test_one_probe(void **state)
{
	static const struct sspec starts[] = {
		SUS(0), BLK(0), { 5, 0, 30, 30, 0 },
	};
	static const struct ev	 burst[] = { DROP(0), BAN(0), END };
	struct sim		 s;
	struct decision		 d;
	struct settlement	 out;
	struct sspec		 sp;
	uint64_t		 id, probe;
	long			 now;
	size_t			 i;
	int			 k, admitted, outcome;

	(void)state;
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		for (outcome = 0; outcome < 2; outcome++) {
			struct history h;

			sim_init(&s, P_DEFAULT, burst);
			sp = starts[i];
			mkhist(&h, burst, &sp);
			s.h.st = h.st;
			now = sp.until;
			probe = 0;
			admitted = 0;
			for (k = 0; k < 6; k++) {
				id = sim_admit(&s, now, 0, &d);
				if (id == 0) {
					assert_int_equal(d.verdict, V_WAIT);
					assert_int_equal(rel(d.until),
					    now + LOGIN_GRACE);
					assert_int_equal(d.state, 1);
					continue;
				}
				assert_int_equal(d.probe, 1);
				probe = id;
				admitted++;
			}
			assert_int_equal(admitted, 1);
			assert_int_equal(s.h.st.probe, probe);
			/* A second later, still in flight: still waiting. */
			for (k = 0; k < 3; k++) {
				assert_int_equal(sim_admit(&s, now + 1, 0, &d),
				    0);
				assert_int_equal(d.verdict, V_WAIT);
			}
			if (outcome == 0) {
				/* Refused: all wait a longer back-off. */
				sim_settle(&s, probe, RAW_PREBANNER, now + 1,
				    2000, &out);
				assert_int_equal(out.st.state, SS_BLOCKED);
				for (k = 0; k < 5; k++) {
					assert_int_equal(sim_admit(&s, now + 1,
					    0, &d), 0);
					assert_int_equal(d.verdict, V_DELAY);
					assert_int_equal(d.until,
					    out.st.until);
				}
				continue;
			}
			/* It answered: ok; the proven key fills the slots. */
			sim_settle(&s, probe, RAW_OK, now + 1, 2000, &out);
			assert_int_equal(out.st.state, SS_OK);
			admitted = 0;
			for (k = 0; k < 6; k++) {
				id = sim_admit(&s, now + 1, 0, &d);
				assert_int_equal(d.probe, 0);
				if (id != 0)
					admitted++;
				else
					assert_int_equal(d.verdict, V_WAIT);
			}
			assert_int_equal(admitted, 4);	/* parallel */
		}
	}
}

/*
 * A server restart: ok -> refused -> suspect; the one retry at the
 * back-off's end is refused again -> blocked 30 s; the probe at +30
 * succeeds -> ok; later calls are admitted as usual.
 */
static void
test_scenario_restart(void **state)
{
	struct sim		 s;
	struct decision		 d;
	struct settlement	 out;
	uint64_t		 a, retry, probe;
	long			 t, until;

	(void)state;
	sim_init(&s, P_DEFAULT, NULL);

	a = sim_admit(&s, 0, 0, &d);
	assert_int_not_equal(a, 0);
	assert_int_equal(d.probe, 0);
	sim_settle(&s, a, RAW_REFUSED, 0, 2000, &out);
	assert_int_equal(out.outcome, OUT_DROP);
	assert_int_equal(out.st.state, SS_SUSPECT);
	assert_int_equal(out.retry, 1);
	until = rel(out.st.until);
	assert_int_equal(until, 2);

	/* Nobody before the back-off ends (its until: known bug 1). */
	for (t = 0; t < until; t++) {
		assert_int_equal(sim_admit(&s, t, 0, &d), 0);
		assert_int_equal(d.verdict, V_DELAY);
		assert_int_equal(d.state, 1);
	}
	/* The retry is the probe; the others wait for it. */
	retry = sim_admit(&s, until, 0, &d);
	assert_int_not_equal(retry, 0);
	assert_int_equal(d.probe, 1);
	assert_int_equal(sim_admit(&s, until, 0, &d), 0);
	assert_int_equal(d.verdict, V_WAIT);
	sim_settle(&s, retry, RAW_REFUSED, until, 2000, &out);
	assert_int_equal(out.outcome, OUT_BAN);
	assert_int_equal(out.st.state, SS_BLOCKED);
	assert_int_equal(out.st.step, BACKOFF_FIRST);
	assert_int_equal(out.retry, 0);
	assert_int_equal(rel(out.st.until), until + BACKOFF_FIRST);

	for (t = until; t < until + BACKOFF_FIRST; t++) {
		assert_int_equal(sim_admit(&s, t, 0, &d), 0);
		assert_int_equal(d.verdict, V_DELAY);
		assert_int_equal(rel(d.until), until + BACKOFF_FIRST);
	}
	t = until + BACKOFF_FIRST;
	probe = sim_admit(&s, t, 0, &d);
	assert_int_not_equal(probe, 0);
	assert_int_equal(d.probe, 1);
	assert_int_equal(sim_admit(&s, t, 0, &d), 0);
	assert_int_equal(d.verdict, V_WAIT);
	sim_settle(&s, probe, RAW_OK, t + 1, 2000, &out);
	assert_int_equal(out.outcome, OUT_OK);
	assert_int_equal(out.st.state, SS_OK);

	/* Back to normal: admitted, nobody a probe. */
	for (t = t + 1; t < until + BACKOFF_FIRST + 4; t++) {
		a = sim_admit(&s, t, 0, &d);
		assert_int_not_equal(a, 0);
		assert_int_equal(d.probe, 0);
		sim_settle(&s, a, RAW_OK, t, 2000, &out);
		assert_int_equal(out.changed, 0);
	}
}

/*
 * A ban after a failed login: blocked, and every probe is refused.
 * Played second by second for well over an hour with three callers a
 * second: no admission except exactly one probe at each back-off end,
 * the steps doubling to the cooldown.  Then the ban lifts.
 */
static void
test_scenario_ban(void **state)
{
	static const enum rawout refusals[] = {
		RAW_PREBANNER, RAW_TIMEOUT, RAW_REFUSED, RAW_NOTALLOWED
	};
	static const long	 steps[] = { 60, 120, 240, 480, 900, 900, 900,
	    900, 900, 900 };
	static const struct ev	 fail[] = { FAIL(-10), END };
	struct sim		 s;
	struct decision		 d;
	struct settlement	 out;
	uint64_t		 id, inflight = 0;
	long			 t, started = 0, end;
	size_t			 nprobes = 0;
	int			 k, admitted;

	(void)state;
	sim_init(&s, P_DEFAULT, fail);
	id = sim_admit(&s, 0, 0, &d);
	assert_int_not_equal(id, 0);
	sim_settle(&s, id, RAW_PREBANNER, 0, 2000, &out);
	assert_int_equal(out.outcome, OUT_BAN);
	assert_int_equal(out.st.state, SS_BLOCKED);
	assert_int_equal(out.st.step, BACKOFF_FIRST);
	end = rel(out.st.until);

	for (t = 0; t < 6000; t++) {
		/* The probe's connection times out a second later. */
		if (inflight != 0 && t == started + 1) {
			sim_settle(&s, inflight, refusals[nprobes % 4], t,
			    2000, &out);
			assert_int_equal(out.outcome, OUT_BAN);
			assert_int_equal(out.st.state, SS_BLOCKED);
			assert_true(nprobes > 0 &&
			    nprobes <= sizeof(steps) / sizeof(steps[0]));
			assert_int_equal(out.st.step, steps[nprobes - 1]);
			assert_int_equal(rel(out.st.until),
			    t + steps[nprobes - 1]);
			end = rel(out.st.until);
			inflight = 0;
		}
		admitted = 0;
		for (k = 0; k < 3; k++) {
			id = sim_admit(&s, t, 0, &d);
			if (id == 0) {
				assert_true(d.verdict == V_DELAY ||
				    d.verdict == V_WAIT);
				if (d.verdict == V_DELAY)
					assert_int_equal(rel(d.until), end);
				continue;
			}
			/* Only at the back-off's end, only the probe. */
			assert_int_equal(t, end);
			assert_int_equal(d.probe, 1);
			inflight = id;
			started = t;
			nprobes++;
			admitted++;
		}
		assert_true(admitted <= 1);
	}
	/* Probes at 30, 91, 212, 453, 934, 1835, ..., 5439: ten. */
	assert_int_equal(nprobes, 10);
	assert_int_equal(inflight, 0);

	/* The ban lifts: the next probe answers, everybody goes. */
	id = sim_admit(&s, end, 0, &d);
	assert_int_equal(d.probe, 1);
	sim_settle(&s, id, RAW_OK, end + 1, 2000, &out);
	assert_int_equal(out.st.state, SS_OK);
	id = sim_admit(&s, end + 1, 0, &d);
	assert_int_not_equal(id, 0);
	assert_int_equal(d.probe, 0);
}

/* ---------------------------------------------------- attempt_describe */

static void
test_describe(void **state)
{
	static const struct ev	 none[] = { END };
	static const struct ev	 fly[] = { FLY(30), END };
	static const struct sspec ok = SOK, sus = SUS(0), blk = BLK(0);
	static const struct sspec blkp = BLK(1);
	struct history		 h;
	char			 buf[256], small[12 + 4];

	(void)state;
	mkhist(&h, none, &ok);
	attempt_describe(&h, T0, buf, sizeof(buf));
	assert_string_equal(buf, "ok");
	strlcpy(h.st.why, "left over", sizeof(h.st.why));
	attempt_describe(&h, T0, buf, sizeof(buf));
	assert_string_equal(buf, "ok");

	mkhist(&h, none, &sus);
	attempt_describe(&h, T0 + 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "suspect"));
	assert_non_null(strstr(buf, "probe"));
	assert_non_null(strstr(buf, SWHY));

	mkhist(&h, none, &blk);
	attempt_describe(&h, T0 + 10, buf, sizeof(buf));
	assert_non_null(strstr(buf, "blocked"));
	assert_non_null(strstr(buf, "next probe at"));
	assert_non_null(strstr(buf, "back-off"));
	attempt_describe(&h, T0 + 31, buf, sizeof(buf));
	assert_non_null(strstr(buf, "blocked"));
	assert_non_null(strstr(buf, "probe allowed since"));

	mkhist(&h, fly, &blkp);
	attempt_describe(&h, T0 + 31, buf, sizeof(buf));
	assert_non_null(strstr(buf, "blocked"));
	assert_non_null(strstr(buf, "probe in flight"));

	/* An unknown state reads as blocked. */
	mkhist(&h, none, &blk);
	h.st.state = (enum sstate)9;
	attempt_describe(&h, T0 + 10, buf, sizeof(buf));
	assert_non_null(strstr(buf, "blocked"));
	assert_non_null(strstr(buf, "probe"));

	/* A short buffer is cut, terminated, and nothing beyond it. */
	memset(small, 'Z', sizeof(small));
	attempt_describe(&h, T0 + 10, small, 12);
	assert_int_equal(strlen(small), 11);
	assert_memory_equal(small + 12, "ZZZZ", 4);
}

/* ------------------------------------------------------- state names */

static void
test_names(void **state)
{
	static const char *const bad[] = {
		"", "OK", "Blocked", "blocked ", " ok", "?", "okay", "suspec",
		"suspected", "ban"
	};
	enum sstate	 s, x;
	size_t		 i;

	(void)state;
	assert_string_equal(sstate_name(SS_OK), "ok");
	assert_string_equal(sstate_name(SS_SUSPECT), "suspect");
	assert_string_equal(sstate_name(SS_BLOCKED), "blocked");
	for (s = SS_OK; s <= SS_BLOCKED; s++) {
		x = (enum sstate)77;
		assert_int_equal(sstate_byname(sstate_name(s), &x), 0);
		assert_int_equal(x, s);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		x = (enum sstate)77;
		assert_int_equal(sstate_byname(bad[i], &x), -1);
		assert_int_equal(x, (enum sstate)77);
	}
	assert_string_equal(sstate_name((enum sstate)3), "?");
	assert_string_equal(sstate_name((enum sstate)-1), "?");
}

/* ------------------------------------------------------ known bugs */

/*
 * Known bug 1: a suspect state is entered with step 1 and an until up
 * to SUSPECT_MAXMS / 1000 s ahead; attempt_state takes an until further
 * than one step ahead for a clock gone back and cuts it to now + 1, so
 * the admission right after the refusal reports a delay shorter than
 * the back-off actually stored (callers wake up every second).  A fresh
 * back-off must stand as it was stored.
 */
static void
test_suspect_jitter_kept(void **state)
{
	static const long	 jitters[] = { 1000, 1001, 2000, 2500, 3000 };
	static const struct ev	 fly[] = { FLY(0), END };
	static const struct sspec ok = SOK;
	struct history		 h;
	struct attreq		 r;
	struct settlement	 out;
	struct srvstate		 st;
	struct decision		 d;
	size_t			 i;
	int			 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(jitters) / sizeof(jitters[0]); i++) {
		mkhist(&h, fly, &ok);
		mkreq(&r, P_DEFAULT, 4, 0, 22);
		attempt_next(&r, &h, &h.att[0], RAW_REFUSED, T0, jitters[i],
		    &out);
		assert_int_equal(out.st.state, SS_SUSPECT);
		h.att[0].outcome = out.outcome;
		h.st = out.st;
		attempt_state(&h, T0, &st);
		attempt_decide(&r, &h, T0, &d);
		if (st.until != out.st.until || d.verdict != V_DELAY ||
		    d.until != out.st.until) {
			print_error("jitter %ld: stored until %ld, stands "
			    "%ld, decide %s until %ld\n", jitters[i],
			    rel(out.st.until), rel(st.until),
			    vname(d.verdict), rel(d.until));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/*
 * Known bug 2: "after" is a->start >= st.since, with one-second times.
 * An attempt that started in the very second the state began was
 * admitted before it (nothing but a probe is admitted after, and not
 * before until > since): it is part of the burst, one event.  Two
 * calls refused together by a restarting sshd must make the server
 * suspect, not blocked; a session of the burst proves nothing.
 */
static const struct scase tiecases[] = {
	{ "tie: suspect, a burst member refused the same second",
	    P_DEFAULT, { FLY(0), END }, SUS(0), 1, RAW_REFUSED, 0, 2000, 22,
	    SAME(OUT_DROP, SS_SUSPECT) },
	{ "tie: suspect, a burst member timing out later", P_DEFAULT,
	    { FLY(0), END }, SUS(0), 1, RAW_TIMEOUT, 15, 2000, 22,
	    SAME(OUT_DROP, SS_SUSPECT) },
	{ "tie: blocked, a burst member's session proves nothing",
	    P_DEFAULT, { FLY(0), END }, BLK(0), 1, RAW_OK, 40, 2000, 22,
	    SAME(OUT_OK, SS_BLOCKED) },
};

static void
test_burst_same_second(void **state)
{
	struct sim		 s;
	struct decision		 d;
	struct settlement	 out;
	uint64_t		 a, b;
	size_t			 i;
	int			 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(tiecases) / sizeof(tiecases[0]); i++)
		bad += check_settlement(&tiecases[i]);
	assert_int_equal(bad, 0);

	/* Two processes, one second, sshd restarting. */
	sim_init(&s, P_DEFAULT, NULL);
	a = sim_admit(&s, 0, 0, &d);
	b = sim_admit(&s, 0, 0, &d);
	assert_true(a != 0 && b != 0);
	sim_settle(&s, a, RAW_REFUSED, 0, 2000, &out);
	assert_int_equal(out.st.state, SS_SUSPECT);
	sim_settle(&s, b, RAW_REFUSED, 0, 2000, &out);
	assert_int_equal(out.outcome, OUT_DROP);
	assert_int_equal(s.h.st.state, SS_SUSPECT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_settle),
		cmocka_unit_test(test_backoff_chain),
		cmocka_unit_test(test_one_probe),
		cmocka_unit_test(test_scenario_restart),
		cmocka_unit_test(test_scenario_ban),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_suspect_jitter_kept),
		cmocka_unit_test(test_burst_same_second),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
