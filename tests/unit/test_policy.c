/*
 * test_policy.c: the budget arithmetic, driven by an injected clock:
 * OpenSSH's penalty accumulation, fail2ban and sshguard windows, the
 * default combination, reservations for attempts in flight, proven keys,
 * parallel slots, cooldowns, a clock going backwards, and how raw results
 * settle.
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
#define W	"deploy /home/u/.ssh/site.key"	/* the who deciding */
#define W2	"deploy /home/u/.ssh/other.key"

enum { P_OPENSSH, P_F2B, P_GUARD, P_DEFAULT, P_SHARED, P_MIXED, P_ZERO,
    P_OVER, P_NONE, P_MAX };

static struct policy	pols[P_MAX];

static const struct rule r_openssh = FX_OPENSSH;
static const struct rule r_f2b = FX_F2B;
static const struct rule r_guard = FX_GUARD;

#define mkpol(i, ...)	fx_policy(&pols[i], __VA_ARGS__)

static int
setup(void **state)
{
	static const struct rule shared = { RULE_COUNT, 1, 3600, 0, 0, 0 };
	static const struct rule mixed = { RULE_COUNT, 3, 300, 0, 0, 0 };
	static const struct rule zero = { RULE_COUNT, 0, 600, 0, 0, 0 };
	static const struct rule over = { RULE_PENALTY, 0, 0, 15, 1, 10 };

	(void)state;
	mkpol(P_OPENSSH, "openssh", 900, &r_openssh, NULL, NULL);
	mkpol(P_F2B, "fail2ban", 900, &r_f2b, NULL, NULL);
	mkpol(P_GUARD, "sshguard", 900, &r_guard, NULL, NULL);
	mkpol(P_DEFAULT, "default", 900, &r_openssh, &r_f2b, &r_guard);
	mkpol(P_SHARED, "shared-hosting", 43200, &shared, NULL, NULL);
	mkpol(P_MIXED, "mine", 900, &r_openssh, &mixed, NULL);
	mkpol(P_ZERO, "never", 900, &zero, NULL, NULL);
	mkpol(P_OVER, "over", 900, &over, NULL, NULL);
	mkpol(P_NONE, "", 900, NULL, NULL, NULL);
	return 0;
}

/* One attempt, times relative to T0. */
struct ev {
	enum outcome	 o;	/* OUT_MAX ends a list */
	long		 start;
	long		 end;
	int		 proven;
	const char	*who;
};

#define MAXEV	12
#define END	{ OUT_MAX, 0, 0, 0, NULL }
#define FAIL(t)	{ OUT_AUTHFAIL, (t) - 1, (t), 0, W2 }
#define BAN(t)	{ OUT_BAN, (t), (t), 0, W2 }
#define LOST(t)	{ OUT_LOST, (t) - 120, (t), 0, W2 }
#define UNKN(t)	{ OUT_UNKNOWN, (t) - 1, (t), 0, W2 }
#define NOAU(t)	{ OUT_NOAUTH, (t), (t), 0, W2 }
#define OKW(t, w) { OUT_OK, (t) - 5, (t), 0, (w) }
#define AUTH(t, w) { OUT_AUTH, (t) - 1, (t), 0, (w) }
#define DROP(t)	{ OUT_DROP, (t), (t), 0, W2 }
#define NET(t)	{ OUT_NET, (t), (t), 0, W2 }
#define FLY(t)	{ OUT_INFLIGHT, (t), (t), 0, W }	/* unproven */
#define PFLY(t)	{ OUT_INFLIGHT, (t), (t), 1, W }	/* proven */

/* Build h from evs (an END-terminated list); h->att is static storage. */
static void
mkhist(struct history *h, const struct ev *evs, long cooldown,
    const char *cwhy)
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
		att[i].proven = evs[i].proven;
		att[i].pid = 100 + (pid_t)i;
		strlcpy(att[i].host, "site-a", sizeof(att[i].host));
		strlcpy(att[i].who, evs[i].who, sizeof(att[i].who));
	}
	h->att = att;
	h->natt = i;
	/* A cooldown is the state machine's blocked state (attempt.c). */
	if (cooldown != 0) {
		h->st.state = SS_BLOCKED;
		h->st.since = T0 - 1;
		h->st.until = T0 + cooldown;
		h->st.step = cooldown > 0 ? cooldown : 1;
	}
	if (cwhy != NULL)
		strlcpy(h->st.why, cwhy, sizeof(h->st.why));
}

/* The budget and the server's state, as admission sees them. */
static void
decide(const struct policy *p, const struct history *h, const char *who,
    int parallel, time_t now, struct decision *d)
{
	struct attreq	r;

	memset(&r, 0, sizeof(r));
	r.policy = p;
	r.host = "site-a";
	r.who = who;
	r.parallel = parallel;
	attempt_decide(&r, h, now, d);
}

static const char *const vnames[] = {
	[V_ADMIT] = "ADMIT", [V_WAIT] = "WAIT", [V_DELAY] = "DELAY",
	[V_REFUSE] = "REFUSE"
};

#define ANY	(-999999)	/* until: not checked */
#define NEVER	(-T0)		/* until == 0: until the user acts */

struct dcase {
	const char	*name;
	int		 pol;
	struct ev	 ev[MAXEV];
	long		 now;
	int		 parallel;
	enum verdict	 want;
	long		 until;		/* relative; ANY; NEVER */
	int		 proven;
	const char	*why;		/* substring of d.why, or NULL */
	long		 cooldown;	/* relative; 0: none */
	const char	*cwhy;
};

static const struct dcase dcases[] = {
	/* --- openssh: 5 s per failure, 1 s per noauth, limit 10 --- */
	{ "openssh: nothing yet", P_OPENSSH, { END }, 0, 4, V_ADMIT, 0, 0,
	    NULL, 0, NULL },
	{ "openssh: one failure: 5+5 fits 10", P_OPENSSH, { FAIL(0), END },
	    0, 4, V_ADMIT, 0, 0, NULL, 0, NULL },
	{ "openssh: two back to back: 10, wait 5s", P_OPENSSH,
	    { FAIL(0), FAIL(0), END }, 0, 4, V_DELAY, 5, 0,
	    "modelled penalty 10s of 10s", 0, NULL },
	{ "openssh: two, 4s later: still 6s", P_OPENSSH,
	    { FAIL(0), FAIL(0), END }, 4, 4, V_DELAY, 5, 0,
	    "modelled penalty 6s of 10s", 0, NULL },
	{ "openssh: two, 5s later: allowed", P_OPENSSH,
	    { FAIL(0), FAIL(0), END }, 5, 4, V_ADMIT, 5, 0, NULL, 0, NULL },
	{ "openssh: three back to back (15): wait 10s", P_OPENSSH,
	    { FAIL(0), FAIL(0), FAIL(0), END }, 0, 4, V_DELAY, 10, 0,
	    "modelled penalty 15s", 0, NULL },
	{ "openssh: four back to back (20): wait 15s", P_OPENSSH,
	    { FAIL(0), FAIL(0), FAIL(0), FAIL(0), END }, 0, 4, V_DELAY, 15,
	    0, "modelled penalty 20s", 0, NULL },
	{ "openssh: four, 14s later: 6s left", P_OPENSSH,
	    { FAIL(0), FAIL(0), FAIL(0), FAIL(0), END }, 14, 4, V_DELAY, 15,
	    0, "modelled penalty 6s", 0, NULL },
	{ "openssh: four, 15s later: allowed", P_OPENSSH,
	    { FAIL(0), FAIL(0), FAIL(0), FAIL(0), END }, 15, 4, V_ADMIT, 15,
	    0, NULL, 0, NULL },
	{ "openssh: 0,1,2 s apart: 5, 9, 13", P_OPENSSH,
	    { FAIL(0), FAIL(1), FAIL(2), END }, 2, 4, V_DELAY, 10, 0,
	    "modelled penalty 13s", 0, NULL },
	{ "openssh: decay floors at zero", P_OPENSSH,
	    { FAIL(0), FAIL(0), FAIL(100), END }, 100, 4, V_ADMIT, 100, 0,
	    NULL, 0, NULL },
	{ "openssh: 5 noauth = 5s: allowed", P_OPENSSH,
	    { NOAU(0), NOAU(0), NOAU(0), NOAU(0), NOAU(0), END }, 0, 4,
	    V_ADMIT, 0, 0, NULL, 0, NULL },
	{ "openssh: 6 noauth = 6s: wait 1s", P_OPENSSH,
	    { NOAU(0), NOAU(0), NOAU(0), NOAU(0), NOAU(0), NOAU(0), END },
	    0, 4, V_DELAY, 1, 0, "modelled penalty 6s", 0, NULL },
	{ "openssh: LOST costs 5, a refusal (BAN) nothing", P_OPENSSH,
	    { LOST(0), BAN(0), END }, 0, 4, V_ADMIT, 0, 0, NULL, 0, NULL },
	{ "openssh: LOST and UNKNOWN cost 5 each", P_OPENSSH,
	    { LOST(0), UNKN(0), END }, 0, 4, V_DELAY, 5, 0, NULL, 0, NULL },
	{ "openssh: OK, AUTH, DROP, NET cost nothing", P_OPENSSH,
	    { OKW(0, W2), AUTH(0, W2), DROP(0), NET(0), DROP(0), NET(0),
	    END }, 0, 4, V_ADMIT, 0, 0, NULL, 0, NULL },
	{ "openssh: ends out of order are booked by end", P_OPENSSH,
	    { { OUT_AUTHFAIL, 0, 10, 0, W2 }, { OUT_AUTHFAIL, 5, 6, 0, W2 },
	    END }, 10, 4, V_DELAY, 11, 0, "modelled penalty 6s", 0, NULL },
	{ "openssh: one unproven in flight reserves 5: fits", P_OPENSSH,
	    { FLY(0), END }, 0, 4, V_ADMIT, 0, 0, NULL, 0, NULL },
	{ "openssh: two unproven in flight: wait, not delay", P_OPENSSH,
	    { FLY(0), FLY(0), END }, 0, 4, V_WAIT, ANY, 0,
	    "2 unproven attempts in flight reserve 10s", 0, NULL },
	{ "openssh: failure + one in flight: wait", P_OPENSSH,
	    { FAIL(0), FLY(0), END }, 0, 4, V_WAIT, ANY, 0, NULL, 0, NULL },
	{ "openssh: budget gone + in flight: delay beats wait", P_OPENSSH,
	    { FAIL(0), FAIL(0), FLY(0), END }, 0, 4, V_DELAY, 5, 0, NULL, 0,
	    NULL },

	/* --- fail2ban: at most 4 failures in 10 min --- */
	{ "fail2ban: 3 failures: a 4th may be risked", P_F2B,
	    { FAIL(0), FAIL(10), FAIL(20), END }, 100, 4, V_ADMIT, 100, 0,
	    NULL, 0, NULL },
	{ "fail2ban: 4 failures: until the oldest leaves", P_F2B,
	    { FAIL(0), FAIL(10), FAIL(20), FAIL(30), END }, 100, 4, V_DELAY,
	    601, 0, "4 failed connections in the last 10m (fail2ban allows 4)",
	    0, NULL },
	{ "fail2ban: at the window's edge it still counts", P_F2B,
	    { FAIL(0), FAIL(10), FAIL(20), FAIL(30), END }, 600, 4, V_DELAY,
	    601, 0, NULL, 0, NULL },
	{ "fail2ban: one second later it has left", P_F2B,
	    { FAIL(0), FAIL(10), FAIL(20), FAIL(30), END }, 601, 4, V_ADMIT,
	    601, 0, NULL, 0, NULL },
	{ "fail2ban: 6 failures: two must leave", P_F2B,
	    { FAIL(0), FAIL(0), FAIL(10), FAIL(20), FAIL(30), FAIL(40), END },
	    50, 4, V_DELAY, 611, 0, "6 failed connections", 0, NULL },
	{ "fail2ban: 3 failures + 1 unproven in flight: wait", P_F2B,
	    { FAIL(0), FAIL(10), FAIL(20), FLY(30), END }, 30, 4, V_WAIT, ANY,
	    0, "1 unproven attempt in flight and 3 failed connections", 0,
	    NULL },
	{ "fail2ban: noauth is not a failure", P_F2B,
	    { NOAU(0), NOAU(0), NOAU(0), NOAU(0), NOAU(0), END }, 1, 4,
	    V_ADMIT, 1, 0, NULL, 0, NULL },

	/* --- sshguard: at most 2 failures in 30 min --- */
	{ "sshguard: 1 failure: allowed", P_GUARD, { FAIL(0), END }, 60, 4,
	    V_ADMIT, 60, 0, NULL, 0, NULL },
	{ "sshguard: 2 failures: 30 min", P_GUARD,
	    { FAIL(0), FAIL(60), END }, 120, 4, V_DELAY, 1801, 0,
	    "2 failed connections in the last 30m (sshguard allows 2)", 0,
	    NULL },
	{ "sshguard: older than 30 min does not count", P_GUARD,
	    { FAIL(0), FAIL(60), END }, 1861, 4, V_ADMIT, 1861, 0, NULL, 0,
	    NULL },
	{ "sshguard: 1 failure + 1 in flight: wait", P_GUARD,
	    { FAIL(0), FLY(50), END }, 60, 4, V_WAIT, 50 + LOGIN_GRACE, 0,
	    NULL, 0, NULL },

	/* --- default: all three --- */
	{ "default: 1 failure: all rules fit", P_DEFAULT, { FAIL(0), END },
	    0, 4, V_ADMIT, 0, 0, NULL, 0, NULL },
	{ "default: 2 failures: sshguard binds (latest)", P_DEFAULT,
	    { FAIL(0), FAIL(0), END }, 0, 4, V_DELAY, 1801, 0,
	    "(sshguard allows 2)", 0, NULL },
	{ "default: 6 noauth: openssh binds", P_DEFAULT,
	    { NOAU(0), NOAU(0), NOAU(0), NOAU(0), NOAU(0), NOAU(0), END }, 0,
	    4, V_DELAY, 1, 0, "(openssh)", 0, NULL },
	{ "default: 4 failures, 700 s on: sshguard", P_DEFAULT,
	    { FAIL(0), FAIL(10), FAIL(20), FAIL(30), END }, 700, 4, V_DELAY,
	    1821, 0, "4 failed connections in the last 30m", 0, NULL },
	{ "default: 1 failure + 1 in flight: wait", P_DEFAULT,
	    { FAIL(0), FLY(0), END }, 0, 4, V_WAIT, ANY, 0, NULL, 0, NULL },
	{ "default: a 40-burst: 2nd unproven goes", P_DEFAULT,
	    { FLY(0), END }, 0, 4, V_ADMIT, 0, 0, NULL, 0, NULL },
	{ "default: a 40-burst: 3rd unproven waits", P_DEFAULT,
	    { FLY(0), FLY(0), END }, 0, 4, V_WAIT, ANY, 0, NULL, 0, NULL },
	{ "default: burst proven by the first: goes", P_DEFAULT,
	    { AUTH(1, W), FLY(0), PFLY(1), END }, 1, 4, V_ADMIT, 1, 1, NULL,
	    0, NULL },
	{ "custom multi-rule: labelled by policy name", P_MIXED,
	    { FAIL(0), FAIL(100), FAIL(200), END }, 250, 4, V_DELAY, 301, 0,
	    "(mine allows 3)", 0, NULL },
	{ "custom one rule: 1 per hour", P_SHARED, { FAIL(0), END }, 10, 4,
	    V_DELAY, 3601, 0,
	    "1 failed connection in the last 1h (shared-hosting allows 1)", 0,
	    NULL },

	/* --- proof --- */
	{ "proof: my success 10 s ago: proven", P_OPENSSH,
	    { OKW(-10, W), END }, 0, 4, V_ADMIT, 0, 1, NULL, 0, NULL },
	{ "proof: proven in flight reserve nothing", P_OPENSSH,
	    { AUTH(-5, W), PFLY(-4), PFLY(-3), PFLY(-2), END }, 0, 4,
	    V_ADMIT, 0, 1, NULL, 0, NULL },
	{ "proof: unproven in flight still reserve", P_OPENSSH,
	    { AUTH(-5, W), FLY(-4), FLY(-3), END }, 0, 4, V_WAIT, ANY, 1,
	    NULL, 0, NULL },
	{ "proof: someone else's success proves nothing", P_OPENSSH,
	    { OKW(-10, W2), FLY(-4), FLY(-3), END }, 0, 4, V_WAIT, ANY, 0,
	    NULL, 0, NULL },
	{ "proof: 60 s old still proves", P_OPENSSH, { OKW(-60, W), END }, 0,
	    4, V_ADMIT, 0, 1, NULL, 0, NULL },
	{ "proof: 61 s old does not", P_OPENSSH, { OKW(-61, W), END }, 0, 4,
	    V_ADMIT, 0, 0, NULL, 0, NULL },
	{ "proof: a failure since cancels it", P_OPENSSH,
	    { OKW(-10, W), FAIL(-5), END }, 0, 4, V_ADMIT, 0, 0, NULL, 0,
	    NULL },
	{ "proof: a failure in the same second cancels it", P_OPENSSH,
	    { OKW(-10, W), FAIL(-10), END }, 0, 4, V_ADMIT, 0, 0, NULL, 0,
	    NULL },
	{ "proof: a failure before it does not", P_OPENSSH,
	    { FAIL(-20), OKW(-10, W), END }, 0, 4, V_ADMIT, 0, 1, NULL, 0,
	    NULL },
	{ "proof: a lost attempt since cancels it", P_OPENSSH,
	    { OKW(-10, W), LOST(-1), END }, 0, 4, V_ADMIT, 0, 0, NULL, 0,
	    NULL },
	{ "proof: a refusal since is no failed login", P_OPENSSH,
	    { OKW(-10, W), BAN(-1), END }, 0, 4, V_ADMIT, 0, 1, NULL, 0,
	    NULL },
	{ "proof: an unknown end since cancels it", P_OPENSSH,
	    { OKW(-10, W), UNKN(-1), END }, 0, 4, V_ADMIT, 0, 0, NULL, 0,
	    NULL },
	{ "proof: a noauth since does not cancel it", P_OPENSSH,
	    { OKW(-10, W), NOAU(-1), END }, 0, 4, V_ADMIT, 0, 1, NULL, 0,
	    NULL },
	{ "proof: a failure cancels proven in flight", P_OPENSSH,
	    { AUTH(-9, W), PFLY(-8), PFLY(-7), FAIL(-1), END }, 0, 4, V_WAIT,
	    ANY, 0, "2 unproven attempts in flight reserve 10s", 0, NULL },
	{ "proof: in flight 'proven' without a proof reserves", P_GUARD,
	    { PFLY(-3), PFLY(-2), END }, 0, 4, V_WAIT, ANY, 0, NULL, 0, NULL },
	{ "clean: a success after the failures lets that key go", P_OPENSSH,
	    { FAIL(-1), FAIL(-1), OKW(0, W), END }, 0, 4, V_ADMIT, 0, 1, NULL,
	    0, NULL },
	{ "clean: one at a time", P_OPENSSH,
	    { FAIL(-1), FAIL(-1), OKW(0, W), PFLY(0), END }, 0, 4, V_DELAY, 4,
	    1, NULL, 0, NULL },
	{ "clean: another key stays held", P_GUARD,
	    { FAIL(-100), FAIL(-100), OKW(-50, W2), END }, 0, 4, V_DELAY, 1701,
	    0, "sshguard", 0, NULL },
	{ "clean: not after a later failure", P_GUARD,
	    { FAIL(-100), OKW(-50, W), FAIL(-10), END }, 0, 4, V_DELAY, 1701,
	    0, "sshguard", 0, NULL },
	{ "clean: a policy that allows nothing still refuses", P_ZERO,
	    { OKW(-50, W), END }, 0, 4, V_REFUSE, NEVER, 1, NULL, 0, NULL },

	/* --- parallel slots --- */
	{ "parallel: 4 proven in flight fill 4 slots", P_OPENSSH,
	    { AUTH(-5, W), PFLY(-4), PFLY(-3), PFLY(-2), PFLY(-1), END }, 0,
	    4, V_WAIT, 119, 1, "4 attempts in flight (parallel 4)", 0, NULL },
	{ "parallel: 1 slot, 1 in flight", P_OPENSSH, { FLY(0), END }, 0, 1,
	    V_WAIT, LOGIN_GRACE, 0, "(parallel 1)", 0, NULL },
	{ "parallel: 0 means 1: free", P_OPENSSH, { END }, 0, 0, V_ADMIT, 0,
	    0, NULL, 0, NULL },
	{ "parallel: 0 means 1: busy", P_OPENSSH, { FLY(0), END }, 0, 0,
	    V_WAIT, ANY, 0, NULL, 0, NULL },
	{ "parallel: authenticated sessions take no slot", P_OPENSSH,
	    { AUTH(-4, W), AUTH(-3, W), AUTH(-2, W), AUTH(-1, W), END }, 0, 2,
	    V_ADMIT, 0, 1, NULL, 0, NULL },

	/* --- cooldown: a blocked server (attempt_decide) --- */
	{ "cooldown: delayed until it ends", P_OPENSSH, { END }, 0, 4,
	    V_DELAY, 900, 0, "ban signature (connection refused)", 900,
	    "ban signature (connection refused)" },
	{ "cooldown: at its end: allowed", P_OPENSSH, { END }, 900, 4,
	    V_ADMIT, 900, 0, NULL, 900, "x" },
	{ "cooldown: a later rule delay wins", P_GUARD,
	    { FAIL(0), FAIL(0), END }, 0, 4, V_DELAY, 1801, 0, "sshguard",
	    100, "ban" },
	{ "cooldown: a later cooldown wins", P_GUARD,
	    { FAIL(0), FAIL(0), END }, 0, 4, V_DELAY, 2000, 0, "ban", 2000,
	    "ban" },
	{ "cooldown: a tie keeps the rule", P_GUARD,
	    { FAIL(0), FAIL(0), END }, 0, 4, V_DELAY, 1801, 0, "sshguard",
	    1801, "ban" },
	{ "cooldown: beats a wait", P_OPENSSH, { FLY(0), END }, 0, 1,
	    V_DELAY, 5, 0, "ban", 5, "ban" },

	/* --- clock gone backwards: the future counts as now --- */
	{ "backwards: failures in the future still cost", P_OPENSSH,
	    { FAIL(1000), FAIL(2000), END }, 0, 4, V_DELAY, 5, 0, NULL, 0,
	    NULL },
	{ "backwards: fail2ban counts them at now", P_F2B,
	    { FAIL(-5), FAIL(0), FAIL(50), FAIL(99999), END }, 0, 4, V_DELAY,
	    596, 0, NULL, 0, NULL },
	{ "backwards: a success in the future proves nothing", P_OPENSSH,
	    { OKW(30, W), END }, 0, 4, V_ADMIT, 0, 0, NULL, 0, NULL },
	{ "backwards: a failure in the future cancels a proof", P_OPENSSH,
	    { OKW(-10, W), FAIL(500), END }, 0, 4, V_ADMIT, 0, 0, NULL, 0,
	    NULL },
	{ "backwards: proven in flight from the future reserve", P_OPENSSH,
	    { OKW(-10, W), PFLY(30), PFLY(40), END }, 0, 4, V_WAIT, ANY, 1,
	    NULL, 0, NULL },
	{ "backwards: in flight from the future reserve", P_OPENSSH,
	    { FLY(300), FLY(400), END }, 0, 4, V_WAIT, LOGIN_GRACE, 0, NULL,
	    0, NULL },

	/* --- policies that can never admit --- */
	{ "max_failures 0: refused for good", P_ZERO, { END }, 0, 4,
	    V_REFUSE, NEVER, 0, "never allows no failed connection", 0,
	    NULL },
	{ "penalty over its limit: refused for good", P_OVER, { END }, 0, 4,
	    V_REFUSE, NEVER, 0, "exceeds the penalty limit", 0, NULL },
	{ "for good beats a cooldown", P_ZERO, { END }, 0, 4, V_REFUSE,
	    NEVER, 0, "never", 99999, "ban" },
	{ "a policy without rules admits", P_NONE, { FAIL(0), END }, 0, 4,
	    V_ADMIT, 0, 0, NULL, 0, NULL },
};
#define NDCASES	(sizeof(dcases) / sizeof(dcases[0]))

static int
check_decision(const struct dcase *c)
{
	struct history	 h;
	struct decision	 d;
	long		 u;
	int		 bad = 0;

	mkhist(&h, c->ev, c->cooldown, c->cwhy);
	memset(&d, 0xa5, sizeof(d));
	decide(&pols[c->pol], &h, W, c->parallel, T0 + c->now, &d);
	u = d.until == 0 ? NEVER : (long)(d.until - T0);
	if (d.verdict != c->want) {
		print_error("%s: verdict %s, want %s (%s)\n", c->name,
		    vnames[d.verdict], vnames[c->want], d.why);
		bad++;
	}
	if (c->until != ANY && (c->want != V_ADMIT || c->until != 0) &&
	    u != c->until) {
		print_error("%s: until %ld, want %ld\n", c->name, u, c->until);
		bad++;
	}
	if (d.proven != c->proven) {
		print_error("%s: proven %d, want %d\n", c->name, d.proven,
		    c->proven);
		bad++;
	}
	if (c->why != NULL && strstr(d.why, c->why) == NULL) {
		print_error("%s: why \"%s\", want \"%s\"\n", c->name, d.why,
		    c->why);
		bad++;
	}
	if (c->want == V_ADMIT && d.why[0] != '\0') {
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
	size_t	i;
	int	bad = 0;

	(void)state;
	for (i = 0; i < NDCASES; i++)
		bad += check_decision(&dcases[i]);
	assert_int_equal(bad, 0);
}

/*
 * The verdict a delay table promises: at until - 1 still held, at until
 * admitted (nothing else changing), for every DELAY row -- except those
 * with records dated in the future, which keep counting as "now" until
 * the clock catches up with them.
 */
static void
test_until_is_exact(void **state)
{
	struct history	 h;
	struct decision	 d;
	size_t		 i;
	int		 bad = 0, n = 0;

	(void)state;
	for (i = 0; i < NDCASES; i++) {
		const struct dcase *c = &dcases[i];

		if (c->want != V_DELAY || c->cooldown != 0 ||
		    strncmp(c->name, "backwards:", 10) == 0)
			continue;	/* future records follow the clock */
		mkhist(&h, c->ev, 0, NULL);
		policy_decide(&pols[c->pol], &h, W, c->parallel,
		    T0 + c->now, &d);
		if (d.until <= T0 + c->now) {
			print_error("%s: delay into the past\n", c->name);
			bad++;
			continue;
		}
		n++;
		policy_decide(&pols[c->pol], &h, W, c->parallel,
		    d.until - 1, &d);
		if (d.verdict == V_ADMIT) {
			print_error("%s: admitted a second early\n", c->name);
			bad++;
		}
		policy_decide(&pols[c->pol], &h, W, c->parallel, T0 + c->now,
		    &d);
		policy_decide(&pols[c->pol], &h, W, c->parallel, d.until, &d);
		if (d.verdict != V_ADMIT && d.verdict != V_WAIT) {
			print_error("%s: %s at until\n", c->name,
			    vnames[d.verdict]);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	assert_true(n >= 10);
}

/* --------------------------------------------------------- penalty */

struct pcase {
	const char	*name;
	int		 pol;
	struct ev	 ev[MAXEV];
	long		 now;
	double		 want;
};

static const struct pcase pcases[] = {
	{ "empty", P_OPENSSH, { END }, 0, 0 },
	{ "one", P_OPENSSH, { FAIL(0), END }, 0, 5 },
	{ "one, decayed 3", P_OPENSSH, { FAIL(0), END }, 3, 2 },
	{ "one, long gone", P_OPENSSH, { FAIL(0), END }, 1000, 0 },
	{ "5, 10, 15, 20", P_OPENSSH,
	    { FAIL(0), FAIL(0), FAIL(0), FAIL(0), END }, 0, 20 },
	{ "20 decays to 10", P_OPENSSH,
	    { FAIL(0), FAIL(0), FAIL(0), FAIL(0), END }, 10, 10 },
	{ "a fresh entry after expiry", P_OPENSSH,
	    { FAIL(0), FAIL(20), END }, 20, 5 },
	{ "fail then noauth", P_OPENSSH, { FAIL(0), NOAU(2), END }, 2, 4 },
	{ "noauth only: 1, 1, 1", P_OPENSSH,
	    { NOAU(0), NOAU(1), NOAU(2), END }, 2, 1 },
	{ "noauth piling up", P_OPENSSH,
	    { NOAU(0), NOAU(0), NOAU(0), NOAU(1), END }, 1, 3 },
	{ "lost and unknown", P_OPENSSH, { LOST(0), UNKN(0), END }, 1, 9 },
	{ "a refusal (ban) costs nothing", P_OPENSSH, { BAN(0), END }, 1, 0 },
	{ "free outcomes", P_OPENSSH,
	    { OKW(0, W), AUTH(0, W), DROP(0), NET(0), FLY(0), END }, 0, 0 },
	{ "out of order", P_OPENSSH,
	    { { OUT_AUTHFAIL, 0, 10, 0, W2 }, { OUT_AUTHFAIL, 5, 6, 0, W2 },
	    END }, 10, 6 },
	{ "future counts as now", P_OPENSSH, { FAIL(50), END }, 0, 5 },
	{ "no penalty rule", P_F2B, { FAIL(0), END }, 0, 0 },
	{ "first penalty rule of default", P_DEFAULT, { FAIL(0), END }, 1, 4 },
};

static void
test_penalty(void **state)
{
	struct history	 h;
	size_t		 i;
	double		 got;
	int		 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		mkhist(&h, pcases[i].ev, 0, NULL);
		got = policy_penalty(&pols[pcases[i].pol], &h,
		    T0 + pcases[i].now);
		if (got != pcases[i].want) {
			print_error("%s: %g, want %g\n", pcases[i].name, got,
			    pcases[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	assert_true(policy_penalty(NULL, &h, T0) == 0);
	assert_true(policy_penalty(&pols[P_OPENSSH], NULL, T0) == 0);
}

/* The closed form equals a step-by-step simulation of sshd's table. */
static void
test_penalty_simulated(void **state)
{
	struct ev	 evs[MAXEV + 1];
	struct history	 h;
	uint32_t	 x = 42;
	long		 t, sim, step, now;
	double		 got;
	int		 round, i, n, bad = 0;

	(void)state;
	for (round = 0; round < 2000; round++) {
		n = (int)((x = x * 1103515245 + 12345) >> 16) % MAXEV;
		t = 0;
		sim = 0;
		for (i = 0; i < n; i++) {
			step = (long)((x = x * 1103515245 + 12345) >> 16) % 8;
			/* decay, floored, then add: srclimit.c's expiry */
			sim = sim - step < 0 ? 0 : sim - step;
			t += step;
			if (((x = x * 1103515245 + 12345) >> 16) % 3 == 0) {
				evs[i] = (struct ev)NOAU(t);
				sim += 1;
			} else {
				evs[i] = (struct ev)FAIL(t);
				sim += 5;
			}
		}
		evs[n] = (struct ev)END;
		step = (long)((x = x * 1103515245 + 12345) >> 16) % 30;
		now = t + step;
		sim = sim - step < 0 ? 0 : sim - step;
		mkhist(&h, evs, 0, NULL);
		got = policy_penalty(&pols[P_OPENSSH], &h, T0 + now);
		if (got != (double)sim) {
			print_error("round %d: %g, simulated %ld\n", round,
			    got, sim);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* --------------------------------------------------------- failures */

static void
test_failures(void **state)
{
	static const struct ev evs[] = {
		FAIL(0), UNKN(100), LOST(200), NOAU(300), OKW(300, W),
		DROP(300), NET(300), FLY(300), AUTH(300, W), FAIL(5000),
		BAN(300), END
	};
	struct history	h;

	(void)state;
	mkhist(&h, evs, 0, NULL);
	/* at 300 the failure dated 5000 counts as now */
	assert_int_equal(policy_failures(&h, 600, T0 + 300), 4);
	assert_int_equal(policy_failures(&h, 300, T0 + 300), 4);
	assert_int_equal(policy_failures(&h, 299, T0 + 300), 3);
	assert_int_equal(policy_failures(&h, 100, T0 + 300), 2);
	assert_int_equal(policy_failures(&h, 0, T0 + 300), 1);
	assert_int_equal(policy_failures(&h, 10000, T0 + 6000), 4);
	assert_int_equal(policy_failures(&h, 1000, T0 + 6000), 1);
	assert_int_equal(policy_failures(&h, 999, T0 + 6000), 0);
	assert_int_equal(policy_failures(NULL, 600, T0), 0);
}

/* --------------------------------------------------------- horizon */

static void
test_horizon(void **state)
{
	struct policy	p;

	(void)state;
	assert_int_equal(policy_horizon(NULL), ANSWER_WINDOW);
	assert_int_equal(policy_horizon(&pols[P_OPENSSH]), ANSWER_WINDOW);
	assert_int_equal(policy_horizon(&pols[P_DEFAULT]), ANSWER_WINDOW);
	assert_int_equal(policy_horizon(&pols[P_SHARED]), 43200);
	p = pols[P_GUARD];
	p.rules[0].window = 86400;
	assert_int_equal(policy_horizon(&p), 86400);
	p = pols[P_OPENSSH];
	p.rules[0].limit = 5000;
	p.rules[0].penalty = 10;
	assert_int_equal(policy_horizon(&p), 5010);
	p = pols[P_OPENSSH];
	p.cooldown = 7200;
	assert_int_equal(policy_horizon(&p), 7200);
	assert_true(policy_horizon(&pols[P_GUARD]) >= 1800);
	assert_true(policy_horizon(&pols[P_GUARD]) >= PROOF_WINDOW);
	assert_true(policy_horizon(&pols[P_GUARD]) >= LOGIN_GRACE);
}

/* --------------------------------------------------------- monotone */

static int
strictness(const struct decision *d, time_t now)
{
	switch (d->verdict) {
	case V_ADMIT:
		return 0;
	case V_WAIT:
		return 1;
	default:
		return d->until == 0 ? 1 << 30 : 2 + (int)(d->until - now);
	}
}

/*
 * Moving any record into the future (a clock set back) never makes the
 * decision more permissive; nor does adding a failure.
 */
static void
test_monotone(void **state)
{
	static const enum outcome kinds[] = {
		OUT_AUTHFAIL, OUT_BAN, OUT_LOST, OUT_NOAUTH, OUT_OK, OUT_AUTH,
		OUT_DROP, OUT_INFLIGHT
	};
	struct ev	 evs[MAXEV], mod[MAXEV];
	struct history	 h;
	struct decision	 d;
	uint32_t	 x = 7;
	int		 round, n, i, j, pol, s0, s1, bad = 0;
	time_t		 now = T0 + 1000;

	(void)state;
	for (round = 0; round < 3000; round++) {
		pol = (int)((x = x * 1103515245 + 12345) >> 16) % 4;
		n = (int)((x = x * 1103515245 + 12345) >> 16) % (MAXEV - 2);
		for (i = 0; i < n; i++) {
			long t = 1000 - (long)((x = x * 1103515245 +
			    12345) >> 16) % 900;

			evs[i].o = kinds[(x = x * 1103515245 + 12345) % 8];
			evs[i].start = t - 1;
			evs[i].end = t;
			evs[i].proven = (x >> 20) & 1;
			evs[i].who = (x >> 21) & 1 ? W : W2;
		}
		evs[n] = (struct ev)END;
		mkhist(&h, evs, 0, NULL);
		policy_decide(&pols[pol], &h, W, 3, now, &d);
		s0 = strictness(&d, now);
		for (j = 0; j < n; j++) {
			memcpy(mod, evs, sizeof(mod));
			mod[j].start += 5000;
			mod[j].end += 5000;
			mkhist(&h, mod, 0, NULL);
			policy_decide(&pols[pol], &h, W, 3, now, &d);
			s1 = strictness(&d, now);
			if (s1 < s0) {
				print_error("round %d: moving %d into the "
				    "future loosened %d -> %d\n", round, j, s0,
				    s1);
				bad++;
			}
		}
		memcpy(mod, evs, sizeof(mod));
		mod[n] = (struct ev)FAIL(1000);
		mod[n + 1] = (struct ev)END;
		mkhist(&h, mod, 0, NULL);
		policy_decide(&pols[pol], &h, W, 3, now, &d);
		if (strictness(&d, now) < s0) {
			print_error("round %d: a failure loosened\n", round);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
test_nulls(void **state)
{
	struct decision	d;

	(void)state;
	policy_decide(NULL, NULL, W, 4, T0, &d);
	assert_int_equal(d.verdict, V_REFUSE);
	assert_int_equal(d.until, 0);
	policy_decide(&pols[P_DEFAULT], NULL, NULL, 4, T0, &d);
	assert_int_equal(d.verdict, V_ADMIT);
	assert_int_equal(d.proven, 0);
	assert_string_equal(d.why, "");
	policy_decide(&pols[P_DEFAULT], NULL, "", 4, T0, &d);
	assert_int_equal(d.verdict, V_ADMIT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_until_is_exact),
		cmocka_unit_test(test_penalty),
		cmocka_unit_test(test_penalty_simulated),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_horizon),
		cmocka_unit_test(test_monotone),
		cmocka_unit_test(test_nulls),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
