/*
 * policy.c: the budget arithmetic.  Pure functions over a policy, one
 * server's history and a clock value: may one more attempt start now,
 * what is the modelled PerSourcePenalties total, and how is a raw result
 * recorded given what came before.  No clock, no I/O, no allocation.
 *
 * Time of an attempt: a settled attempt counts at its end (when the
 * server booked it), one in flight at its start.  A time later than now
 * (the clock went backwards, or another host's clock is ahead) counts as
 * now: a failure from the "future" still costs, a success from the
 * "future" proves nothing.
 */
#include <stdio.h>
#include <string.h>

#include "safessh.h"

static time_t
clamp(time_t t, time_t now)
{
	return t > now ? now : t;
}

/* When the server booked a (see above), never later than now. */
static time_t
evtime(const struct attempt *a, time_t now)
{
	time_t	t;

	if (a->outcome == OUT_INFLIGHT)
		t = a->start;
	else
		t = a->end > a->start ? a->end : a->start;
	return clamp(t, now);
}

/*
 * A failed login on the server's books (and in ours).  A refusal before
 * the banner (ban, drop) is not: the server refused before anything
 * could fail, and counts nothing for it.
 */
static int
isfail(enum outcome o)
{
	return o == OUT_AUTHFAIL || o == OUT_LOST || o == OUT_UNKNOWN;
}

static int
issuccess(enum outcome o)
{
	return o == OUT_AUTH || o == OUT_OK;
}

/* What one attempt adds to a RULE_PENALTY total. */
static long
cost(const struct rule *r, enum outcome o)
{
	if (isfail(o))
		return r->penalty > 0 ? r->penalty : 0;
	if (o == OUT_NOAUTH)
		return r->noauth > 0 ? r->noauth : 0;
	return 0;
}

/* Any failure on the server booked at or after t?  (A tie cancels.) */
static int
failsince(const struct history *h, time_t t, time_t now)
{
	size_t	i;

	for (i = 0; i < h->natt; i++)
		if (isfail(h->att[i].outcome) &&
		    evtime(&h->att[i], now) >= t)
			return 1;
	return 0;
}

/*
 * Was who proven at time t: an authentication (OUT_AUTH or OUT_OK) by
 * the same who that ended within PROOF_WINDOW before t, with no failure
 * on this server since?  Records dated after now prove nothing.
 */
static int
provenat(const struct history *h, const char *who, time_t t, time_t now)
{
	const struct attempt	*a;
	time_t			 best = 0, e;
	size_t			 i;
	int			 found = 0;

	if (who == NULL || *who == '\0')
		return 0;
	for (i = 0; i < h->natt; i++) {
		a = &h->att[i];
		if (!issuccess(a->outcome) || strcmp(a->who, who) != 0)
			continue;
		e = a->end > a->start ? a->end : a->start;
		if (e > t || t - e > PROOF_WINDOW)
			continue;	/* t <= now: nothing from the future */
		if (!found || e > best)
			best = e;
		found = 1;
	}
	return found && !failsince(h, best, now);
}

/*
 * In flight and still able to fail?  sshd closes a connection that has
 * not authenticated within LoginGraceTime, so one that is older is a
 * session (its authentication notice was off): it cannot fail any more.
 */
static int
young(const struct policy *p, const struct attempt *a, time_t now)
{
	return a->outcome == OUT_INFLIGHT &&
	    (long long)(now - clamp(a->start, now)) <= policy_grace(p);
}

/* The server's LoginGraceTime as the policy knows it. */
long
policy_grace(const struct policy *p)
{
	return p != NULL && p->grace > 0 ? p->grace : LOGIN_GRACE;
}

/*
 * Is who clean: its latest success on this server is later than every
 * failure (a --check or a login after the cause was fixed)?
 */
static int
clean(const struct history *h, const char *who, time_t now)
{
	time_t	ok = 0, bad = 0, t;
	size_t	i;

	if (who == NULL || *who == '\0')
		return 0;
	for (i = 0; i < h->natt; i++) {
		t = evtime(&h->att[i], now);
		if (isfail(h->att[i].outcome) && t > bad)
			bad = t;
		/* A success from the "future" proves nothing. */
		if (issuccess(h->att[i].outcome) && h->att[i].end <= now &&
		    strcmp(h->att[i].who, who) == 0 && t > ok)
			ok = t;
	}
	return ok != 0 && ok > bad;
}

/*
 * An attempt in flight reserves its full cost unless it was admitted on
 * a proven key and that proof still stands: a failure since cancels it.
 */
static int
reserves(const struct policy *p, const struct history *h,
    const struct attempt *a, time_t now)
{
	if (!young(p, a, now))
		return 0;
	if (!a->proven || a->start > now)
		return 1;	/* unproven, or dated in the future */
	return !provenat(h, a->who, a->start, now);
}

/*
 * The PerSourcePenalties total at now under rule r, as sshd's srclimit.c
 * keeps it: each connection adds its penalty when it ends, the total
 * decays one second per second and never goes below zero (an expired
 * entry is dropped; the next penalty starts afresh).  Evaluated in
 * closed form (Lindley's recursion unrolled), so no sorting is needed:
 *
 *	total(now) = max(0, max over events k of
 *	    (sum of costs booked at or after t_k) - (now - t_k))
 *
 * Only events within the sum of all costs of now can contribute.  Work is
 * quadratic in those events; the policy keeps them few.
 */
static long long
ptotal(const struct rule *r, const struct history *h, time_t now)
{
	long long	 all = 0, sum, v, best = 0;
	time_t		 tk;
	size_t		 i, k;
	long		 c;

	for (i = 0; i < h->natt; i++)
		all += cost(r, h->att[i].outcome);
	if (all == 0)
		return 0;
	for (k = 0; k < h->natt; k++) {
		if (cost(r, h->att[k].outcome) == 0)
			continue;
		tk = evtime(&h->att[k], now);
		if ((long long)(now - tk) >= all)
			continue;
		sum = 0;
		for (i = 0; i < h->natt; i++)
			if ((c = cost(r, h->att[i].outcome)) > 0 &&
			    evtime(&h->att[i], now) >= tk)
				sum += c;
		v = sum - (long long)(now - tk);
		if (v > best)
			best = v;
	}
	return best;
}

/* The modelled total at now of the policy's first penalty rule, in s. */
double
policy_penalty(const struct policy *p, const struct history *h, time_t now)
{
	int	i;

	if (p == NULL || h == NULL)
		return 0;
	for (i = 0; i < p->nrules && i < POLICY_MAXRULES; i++)
		if (p->rules[i].kind == RULE_PENALTY)
			return (double)ptotal(&p->rules[i], h, now);
	return 0;
}

/*
 * Failures (AUTHFAIL, LOST, UNKNOWN) booked in [now - window, now]; those
 * dated after now count as now.
 */
int
policy_failures(const struct history *h, long window, time_t now)
{
	size_t	i;
	int	n = 0;

	if (h == NULL)
		return 0;
	for (i = 0; i < h->natt; i++)
		if (isfail(h->att[i].outcome) &&
		    (long long)(now - evtime(&h->att[i], now)) <= window)
			n++;
	return n;
}

/*
 * How far back the ledger must keep history for this policy: its longest
 * window (limit + penalty for a penalty rule), its cooldown, and the
 * windows of proof, answers, recent failures and login grace.
 */
long
policy_horizon(const struct policy *p)
{
	long	h = ANSWER_WINDOW;
	int	i;

	if (h < PROOF_WINDOW)
		h = PROOF_WINDOW;
	if (h < FAIL_WINDOW)
		h = FAIL_WINDOW;
	if (h < policy_grace(p))
		h = policy_grace(p);
	if (p == NULL)
		return h;
	if (p->cooldown > h)
		h = p->cooldown;
	for (i = 0; i < p->nrules && i < POLICY_MAXRULES; i++) {
		const struct rule *r = &p->rules[i];

		if (r->kind == RULE_COUNT && r->window > h)
			h = r->window;
		if (r->kind == RULE_PENALTY && r->limit + r->penalty > h)
			h = r->limit + r->penalty;
	}
	return h;
}

/*
 * The name a rule goes by in messages: the policy's when it has one
 * rule, else the built-in whose numbers it carries, else the policy's.
 */
static const char *
label(const struct policy *p, const struct rule *r)
{
	const char	*name = p->name[0] != '\0' ? p->name : "policy";

	if (p->learnrule > 0 && p->learnrule <= POLICY_MAXRULES &&
	    r == &p->rules[p->learnrule - 1])
		return p->learnlabel;	/* a learned rule (learn.c) */
	if (p->nrules <= 1)
		return name;
	if (r->kind == RULE_PENALTY && r->penalty == 5 && r->noauth == 1 &&
	    r->limit == 10)
		return "openssh";
	if (r->kind == RULE_COUNT && r->max_failures == 4 &&
	    r->window == 600)
		return "fail2ban";
	if (r->kind == RULE_COUNT && r->max_failures == 2 &&
	    r->window == 1800)
		return "sshguard";
	return name;
}

static const char *
plural(long long n)
{
	return n == 1 ? "" : "s";
}

/*
 * Keep the binding decision: a refusal with no end beats everything;
 * then the latest until among refusals and delays (a refusal wins a
 * tie); then a wait; then admission.
 */
static int
rank(enum verdict v, time_t until)
{
	if (v == V_REFUSE && until == 0)
		return 3;	/* until the user acts */
	if (v == V_REFUSE || v == V_DELAY)
		return 2;	/* until a time */
	return v == V_WAIT ? 1 : 0;
}

int
policy_outranks(const struct decision *best, enum verdict v, time_t until)
{
	int	rb, rc;

	rb = rank(best->verdict, best->until);
	rc = rank(v, until);
	if (rc != rb)
		return rc > rb;
	if (rc != 2)
		return 0;	/* the first of equals stays */
	return until > best->until || (until == best->until &&
	    v == V_REFUSE && best->verdict == V_DELAY);
}

static void
consider(struct decision *best, enum verdict v, time_t until,
    const char *why)
{
	if (!policy_outranks(best, v, until))
		return;
	best->verdict = v;
	best->until = until;
	/* a phrase for a message: cutting it short is harmless */
	strlcpy(best->why, why, sizeof(best->why));
}

/*
 * Does attempt a count for rule r?  A failure; for a learned rule
 * (learn.c) only one booked after the ban that taught it: those before
 * were paid for with that ban.
 */
static int
counts(const struct policy *p, const struct rule *r,
    const struct attempt *a, time_t now)
{
	if (!isfail(a->outcome))
		return 0;
	if (p->learnrule > 0 && p->learnrule <= POLICY_MAXRULES &&
	    r == &p->rules[p->learnrule - 1])
		return evtime(a, now) > p->learnfrom;
	return 1;
}

/* RULE_COUNT: failures in the window + reservations + 1 <= max. */
static void
rule_count(const struct policy *p, const struct rule *r,
    const struct history *h, int reserved, time_t now, time_t waitto,
    struct decision *d)
{
	char		 why[256], win[32];
	const char	*lb = label(p, r);
	time_t		 e, until = 0;
	size_t		 i, j;
	int		 n, later;

	util_dur(r->window, win, sizeof(win));
	if (r->max_failures < 1) {
		snprintf(why, sizeof(why), "%s allows no failed connection in "
		    "%s", lb, win);
		consider(d, V_REFUSE, 0, why);
		return;
	}
	n = 0;
	for (i = 0; i < h->natt; i++)
		if (counts(p, r, &h->att[i], now) &&
		    (long long)(now - evtime(&h->att[i], now)) <= r->window)
			n++;
	if ((long long)n + reserved + 1 <= r->max_failures)
		return;
	if (n + 1 <= r->max_failures) {
		snprintf(why, sizeof(why), "%d unproven attempt%s in flight "
		    "and %d failed connection%s in the last %s (%s allows %d)",
		    reserved, plural(reserved), n, plural(n), win, lb,
		    r->max_failures);
		consider(d, V_WAIT, waitto, why);
		return;
	}
	/*
	 * The earliest time enough counted failures have left the window:
	 * a failure booked at e counts until e + window, so at
	 * e + window + 1 only those booked after e remain.
	 */
	for (i = 0; i < h->natt; i++) {
		if (!counts(p, r, &h->att[i], now))
			continue;
		e = evtime(&h->att[i], now);
		if ((long long)(now - e) > r->window)
			continue;
		later = 0;
		for (j = 0; j < h->natt; j++)
			if (counts(p, r, &h->att[j], now) &&
			    evtime(&h->att[j], now) > e)
				later++;
		if (later + 1 <= r->max_failures &&
		    (until == 0 || e + r->window + 1 < until))
			until = e + r->window + 1;
	}
	snprintf(why, sizeof(why), "%d failed connection%s in the last %s "
	    "(%s allows %d)", n, plural(n), win, lb, r->max_failures);
	consider(d, V_DELAY, until, why);
}

/* RULE_PENALTY: total + reservations + one more penalty <= limit. */
static void
rule_penalty(const struct policy *p, const struct rule *r,
    const struct history *h, int reserved, time_t now, time_t waitto,
    struct decision *d)
{
	char		 why[256];
	const char	*lb = label(p, r);
	long long	 t, pen = r->penalty > 0 ? r->penalty : 0;
	long long	 res = pen * reserved;

	if (pen > r->limit) {
		snprintf(why, sizeof(why), "one failed connection (%llds) "
		    "exceeds the penalty limit %lds (%s)", pen, r->limit, lb);
		consider(d, V_REFUSE, 0, why);
		return;
	}
	t = ptotal(r, h, now);
	if (t + res + pen <= r->limit)
		return;
	if (t + pen <= r->limit) {
		snprintf(why, sizeof(why), "modelled penalty %llds of %lds, "
		    "%d unproven attempt%s in flight reserve %llds (%s)", t,
		    r->limit, reserved, plural(reserved), res, lb);
		consider(d, V_WAIT, waitto, why);
		return;
	}
	snprintf(why, sizeof(why), "modelled penalty %llds of %lds, a failed "
	    "connection adds %llds (%s)", t, r->limit, pen, lb);
	consider(d, V_DELAY, now + (time_t)(t + pen - r->limit), why);
}

/*
 * Decide whether one more attempt by who ("user key") may start now.
 * Each attempt in flight counts as a potential failure unless it was
 * admitted on a proven key whose proof still stands; the new attempt
 * always needs room for its own failure.  d->proven tells the caller to
 * record the new attempt as proven.  For V_WAIT, d->until is when the
 * attempts in flight are settled at the latest (LOGIN_GRACE).
 */
void
policy_decide(const struct policy *p, const struct history *h,
    const char *who, int parallel, time_t now, struct decision *d)
{
	static const struct history	 empty;
	struct decision			 b;
	char				 why[256];
	time_t				 waitto = now, t;
	size_t				 i;
	int				 inflight = 0, reserved = 0;

	memset(d, 0, sizeof(*d));
	memset(&b, 0, sizeof(b));
	b.verdict = V_ADMIT;
	d->verdict = V_ADMIT;
	d->until = now;
	if (h == NULL)
		h = &empty;
	if (p == NULL) {
		consider(d, V_REFUSE, 0, "no policy");
		return;
	}
	d->proven = provenat(h, who, now, now);

	for (i = 0; i < h->natt; i++) {
		if (!young(p, &h->att[i], now))
			continue;
		inflight++;
		reserved += reserves(p, h, &h->att[i], now);
		t = clamp(h->att[i].start, now) + policy_grace(p);
		if (t > waitto)
			waitto = t;
	}

	if (parallel < 1)
		parallel = 1;
	if (inflight >= parallel) {
		snprintf(why, sizeof(why), "%d attempt%s in flight (parallel "
		    "%d)", inflight, plural(inflight), parallel);
		consider(d, V_WAIT, waitto, why);
	}

	for (i = 0; i < (size_t)p->nrules && i < POLICY_MAXRULES; i++) {
		if (p->rules[i].kind == RULE_COUNT)
			rule_count(p, &p->rules[i], h, reserved, now, waitto,
			    &b);
		else if (p->rules[i].kind == RULE_PENALTY)
			rule_penalty(p, &p->rules[i], h, reserved, now,
			    waitto, &b);
	}
	/*
	 * A spent budget does not stop a clean credential (its success is
	 * later than every failure: the cause was fixed), one attempt at a
	 * time.  Worst case: the key is revoked after its success, and the
	 * server sees one failure beyond the budget.  A refusal with no end
	 * (a policy that allows nothing) stays.
	 */
	if (b.verdict == V_DELAY && inflight == 0 && clean(h, who, now))
		b.verdict = V_ADMIT;
	if (b.verdict != V_ADMIT)
		consider(d, b.verdict, b.until, b.why);
	/* A wait for a slot alone: no risk, only the parallel limit. */
	d->slot = d->verdict == V_WAIT && b.verdict == V_ADMIT;
	if (h->natt > 0)
		d->newest = h->att[h->natt - 1].id;
	if (d->verdict == V_ADMIT)
		d->why[0] = '\0';
}
