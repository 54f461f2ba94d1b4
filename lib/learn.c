/*
 * learn.c: each server's real limits, learned from its own answers
 * (issue 14).  Pure functions over a policy, a history, what was learned
 * before and a clock value; attempt.c calls them as the server's state
 * moves, and the ledger keeps the result (its "l" line).
 *
 * The rule.  A ban signature that moves the server to blocked from ok or
 * suspect (evidence of refusal after a recent failed login; not a
 * suspected overload with a clean history) is a measurement: the
 * failed logins booked in the window W before it drew it.  W is the
 * longest window the policy counts (RULE_COUNT), or the longest learned
 * so far; a policy that counts no window (a penalty model alone) uses the
 * time since the first failure of the last FAIL_WINDOW, at least
 * LEARN_MINWINDOW.  With n >= 1 such failures, the server allows at most
 * n - 1 per W from then on.  The floor is 1: a ban after one failure
 * teaches "1 per W" (0 would refuse everything, for good), and the
 * back-off, which admits only spaced probes, stays the protection after
 * that one failure.  A ban with no failure in W teaches no count.
 *
 * The learned rule counts only failures booked after the ban that
 * taught it (learnfrom): those before were paid for with the ban, and
 * counting them would hold back the probe that the back-off admits.
 *
 * Tightening only.  A new count merges with the old one as the stricter
 * of both in each part: the smaller count over the longer window, which
 * is at least as strict as either.  A ban's length is observed when the
 * server answers a probe after it: it refused this source from the ban
 * (banat) to the last refusal at least (the state's since), and that
 * lower bound becomes the cooldown (the longest back-off) when it is
 * longer than the one known.  The upper bound (the answered probe) is not
 * used: a user who calls again three days later did not see a three-day
 * ban.  Nothing here ever loosens; --forget --limits does.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "safessh.h"

/* The shortest window a penalty-only policy learns over. */
#define LEARN_MINWINDOW	600

static int
isfailure(enum outcome o)
{
	return o == OUT_AUTHFAIL || o == OUT_LOST || o == OUT_UNKNOWN;
}

/* When a was booked (as policy.c counts it), never later than now. */
static time_t
booked(const struct attempt *a, time_t now)
{
	time_t	t = a->outcome == OUT_INFLIGHT ? a->start :
	    a->end > a->start ? a->end : a->start;

	return t > now ? now : t;
}

static const char *
plural(long n)
{
	return n == 1 ? "" : "s";
}

int
learn_any(const struct learned *lr)
{
	return lr != NULL && (lr->max_failures > 0 || lr->cooldown > 0 ||
	    lr->banat != 0);
}

/* The longest window pol counts; 0 if it counts none. */
static long
longest(const struct policy *pol)
{
	long	w = 0;
	int	i;

	if (pol == NULL)
		return 0;
	for (i = 0; i < pol->nrules && i < POLICY_MAXRULES; i++)
		if (pol->rules[i].kind == RULE_COUNT &&
		    pol->rules[i].window > w)
			w = pol->rules[i].window;
	return w;
}

/*
 * A ban signature at now, after the history h, under the configured
 * policy pol; old is what was learned before (h->lr).  *out is old,
 * tightened by what this ban teaches, with the ban's start noted.
 * Returns 1 if *out differs from old.
 */
int
learn_ban(const struct policy *pol, const struct history *h,
    const struct learned *old, time_t now, struct learned *out)
{
	struct tm	 tm;
	time_t		 first = 0, t;
	long		 w, span;
	size_t		 i;
	int		 n = 0, max;
	char		 at[16], sp[32];

	*out = *old;
	if (out->banat == 0)
		out->banat = now;
	w = longest(pol);
	if (old->max_failures > 0 && old->window > w)
		w = old->window;
	if (w <= 0) {
		/* A penalty model alone: since the first recent failure. */
		for (i = 0; h != NULL && i < h->natt; i++) {
			if (!isfailure(h->att[i].outcome))
				continue;
			t = booked(&h->att[i], now);
			if (now - t <= FAIL_WINDOW && (first == 0 || t < first))
				first = t;
		}
		w = first != 0 ? (long)(now - first) : 0;
		if (w < LEARN_MINWINDOW)
			w = LEARN_MINWINDOW;
		first = 0;
	}
	for (i = 0; h != NULL && i < h->natt; i++) {
		if (!isfailure(h->att[i].outcome))
			continue;
		t = booked(&h->att[i], now);
		if (now - t > w)
			continue;
		n++;
		if (first == 0 || t < first)
			first = t;
	}
	if (n < 1)
		return memcmp(out, old, sizeof(*out)) != 0;

	max = n - 1 < 1 ? 1 : n - 1;
	if (old->max_failures > 0 && old->max_failures < max)
		max = old->max_failures;
	if (old->max_failures > 0 && old->window > w)
		w = old->window;
	if (max == old->max_failures && w == old->window)
		return memcmp(out, old, sizeof(*out)) != 0;

	span = (long)(now - first);
	localtime_r(&now, &tm);
	strftime(at, sizeof(at), "%H:%M", &tm);
	util_dur(span, sp, sizeof(sp));
	out->max_failures = max;
	out->window = w;
	out->since = now;
	snprintf(out->why, sizeof(out->why), "a ban after %d failed "
	    "connection%s in %s at %s", n, plural(n), sp, at);
	return 1;
}

/*
 * The server answered a probe at now, while in state st (blocked since
 * st->since, the last refusal).  The ban under way (old->banat) lasted
 * at least st->since - banat: that becomes the cooldown if longer.  The
 * ban is over either way.  Returns 1 if *out differs from old.
 */
int
learn_lifted(const struct learned *old, const struct srvstate *st,
    time_t now, struct learned *out)
{
	long	len;

	*out = *old;
	if (old->banat == 0)
		return 0;
	out->banat = 0;
	if (st != NULL && st->state == SS_BLOCKED && st->since > old->banat &&
	    st->since <= now) {
		len = (long)(st->since - old->banat);
		if (len > old->cooldown) {
			out->cooldown = len;
			out->since = now;
		}
	}
	return 1;
}

/*
 * The policy in force for a server: pol, with the learned count as one
 * more rule (its name in messages, out->learnlabel, says whence) and
 * the longer of both cooldowns.  Returns 1 if a learned rule was added.
 */
int
learn_policy(const struct policy *pol, const struct learned *lr,
    struct policy *out)
{
	struct rule	*r;

	*out = *pol;
	if (lr == NULL)
		return 0;
	if (lr->cooldown > out->cooldown)
		out->cooldown = lr->cooldown;
	if (lr->max_failures < 1 || lr->window < 1)
		return 0;
	if (out->nrules < 0)
		out->nrules = 0;
	/* conf.c's policies have at most 3 rules: this never overwrites. */
	if (out->nrules >= POLICY_MAXRULES)
		out->nrules = POLICY_MAXRULES - 1;
	r = &out->rules[out->nrules++];
	memset(r, 0, sizeof(*r));
	r->kind = RULE_COUNT;
	r->max_failures = lr->max_failures;
	r->window = lr->window;
	out->learnrule = out->nrules;
	/* The failures that drew the ban were paid for with it. */
	out->learnfrom = lr->since;
	/* policy.c says "(LABEL allows N)". */
	snprintf(out->learnlabel, sizeof(out->learnlabel), "learned: %s",
	    lr->why[0] != '\0' ? lr->why : "a ban");
	return 1;
}

/*
 * What was learned, for --status: "learned: at most 2 failed
 * connections per 10m (a ban after 3 failed connections in 4m at 14:05,
 * 2026-12-05); bans last 2h at least (cooldown)", or "learned:
 * nothing".
 */
void
learn_describe(const struct learned *lr, char *buf, size_t len)
{
	struct tm	 tm;
	char		 w[32], day[16], cd[32], at[16];
	int		 n;

	if (!learn_any(lr)) {
		strlcpy(buf, "learned: nothing", len);
		return;
	}
	n = snprintf(buf, len, "learned:");
	if (n < 0 || (size_t)n >= len)
		return;
	if (lr->max_failures > 0) {
		util_dur(lr->window, w, sizeof(w));
		localtime_r(&lr->since, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		n += snprintf(buf + n, len - n, " at most %d failed "
		    "connection%s per %s (%s, %s);", lr->max_failures,
		    plural(lr->max_failures), w, lr->why, day);
	}
	if (n > 0 && (size_t)n < len && lr->cooldown > 0) {
		util_dur(lr->cooldown, cd, sizeof(cd));
		n += snprintf(buf + n, len - n, " a ban lasted %s at least "
		    "(cooldown);", cd);
	}
	if (n > 0 && (size_t)n < len && lr->banat != 0) {
		localtime_r(&lr->banat, &tm);
		strftime(at, sizeof(at), "%H:%M", &tm);
		n += snprintf(buf + n, len - n, " a ban under way since %s;",
		    at);
	}
	if (n > 0 && (size_t)n < len && buf[n - 1] == ';')
		buf[n - 1] = '\0';
}

/*
 * A policy's rules as one line, for --status and --dry-run: "default:
 * penalty 5s per failure up to 10s, 4 failed per 10m, 2 failed per 30m,
 * 2 failed per 10m (learned); cooldown 15m".
 */
void
learn_rules(const struct policy *pol, char *buf, size_t len)
{
	const struct rule	*r;
	char			 a[32], b[32];
	int			 i, n;

	if (pol == NULL) {
		strlcpy(buf, "no policy", len);
		return;
	}
	n = snprintf(buf, len, "%s:", pol->name[0] != '\0' ? pol->name :
	    "policy");
	for (i = 0; i < pol->nrules && i < POLICY_MAXRULES; i++) {
		if (n < 0 || (size_t)n >= len)
			return;
		r = &pol->rules[i];
		if (r->kind == RULE_COUNT) {
			util_dur(r->window, a, sizeof(a));
			n += snprintf(buf + n, len - n, "%s %d failed per %s%s",
			    i > 0 ? "," : "", r->max_failures, a,
			    pol->learnrule == i + 1 ? " (learned)" : "");
		} else {
			util_dur(r->penalty, a, sizeof(a));
			util_dur(r->limit, b, sizeof(b));
			n += snprintf(buf + n, len - n, "%s penalty %s per "
			    "failure up to %s", i > 0 ? "," : "", a, b);
		}
	}
	if (n < 0 || (size_t)n >= len)
		return;
	util_dur(pol->cooldown, a, sizeof(a));
	snprintf(buf + n, len - n, "; cooldown %s", a);
}
