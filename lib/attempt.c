/*
 * attempt.c: the life of one connection attempt against its server's
 * budget and state (SPEC G2, G3): admit (decide and reserve under one
 * lock), settle (classify, record and move the server's state under one
 * lock), and the authentication notice.
 *
 * The server's state is shared by every process through the ledger:
 *
 *   ok       no sign of refusal; the policy's budget alone decides.
 *   suspect  one refusal (a close or reset before the banner, "Not
 *            allowed at this time", a banner or connect timeout,
 *            "Connection refused") with no failed login in the last
 *            FAIL_WINDOW: maybe MaxStartups.  No attempt until a
 *            jittered SUSPECT_MINMS..SUSPECT_MAXMS back-off ends; then
 *            one probe, the first caller's (normally the process that
 *            saw the refusal: its one retry).
 *   blocked  a refusal while suspect, or after a recent failed login.
 *            No attempt until the back-off ends; then exactly one probe.
 *            Its refusal doubles the back-off, from BACKOFF_FIRST up to
 *            the policy's cooldown; its answer (a login, or even a
 *            failed one: the server spoke) makes the server ok.
 *
 * While a probe is in flight every other caller waits for its outcome.
 * An attempt that started before the state began is part of the burst
 * that caused it and moves nothing (one burst is one event).  A
 * "Connection refused" on a port that never answered, while another
 * port of the server answered within ANSWER_WINDOW, means nothing
 * listens there: it costs nothing and moves nothing.
 *
 * What the server teaches (learn.c) rides along: a ban signature that
 * blocks an ok or suspect server tightens its learned limits
 * (learn_ban), an answered probe ends the ban and measures it
 * (learn_lifted), and admission applies the learned count and cooldown
 * on top of the configured policy (learn_policy).
 *
 * The decisions (attempt_decide, attempt_next) are pure functions of
 * the request, the history and a clock value; attempt_admit and
 * attempt_settle wrap each in one ledger transaction.
 */
#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safessh.h"

static const char *const ssnames[] = {
	[SS_OK] = "ok",
	[SS_SUSPECT] = "suspect",
	[SS_BLOCKED] = "blocked"
};

/* The ledger's name for a server state; "?" if out of range. */
const char *
sstate_name(enum sstate s)
{
	if ((unsigned)s > SS_BLOCKED)
		return "?";
	return ssnames[s];
}

/* Look up a server state by its ledger name: 0 and *s, or -1. */
int
sstate_byname(const char *name, enum sstate *s)
{
	int	i;

	for (i = 0; i <= SS_BLOCKED; i++)
		if (strcmp(name, ssnames[i]) == 0) {
			*s = (enum sstate)i;
			return 0;
		}
	return -1;
}

static int
isfailure(enum outcome o)
{
	return o == OUT_AUTHFAIL || o == OUT_LOST || o == OUT_UNKNOWN;
}

static int
answered(enum outcome o)
{
	return o == OUT_OK || o == OUT_AUTH || o == OUT_AUTHFAIL ||
	    o == OUT_NOAUTH;
}

/* When a's outcome was booked (its start while in flight), <= now. */
static time_t
booked(const struct attempt *a, time_t now)
{
	time_t	t = a->outcome == OUT_INFLIGHT ? a->start :
	    a->end > a->start ? a->end : a->start;

	return t > now ? now : t;
}

static const struct attempt *
byid(const struct history *h, uint64_t id)
{
	size_t	i;

	if (id == 0)
		return NULL;
	for (i = 0; i < h->natt; i++)
		if (h->att[i].id == id)
			return &h->att[i];
	return NULL;
}

/* A failed login booked within FAIL_WINDOW of now? */
static int
recentfail(const struct history *h, time_t now)
{
	size_t	i;

	for (i = 0; i < h->natt; i++)
		if (isfailure(h->att[i].outcome) &&
		    now - booked(&h->att[i], now) <= FAIL_WINDOW)
			return 1;
	return 0;
}

/*
 * Nothing listens on port: it never answered, and another port of the
 * server answered within ANSWER_WINDOW.
 */
static int
closedport(const struct history *h, int port, time_t now)
{
	size_t	i;
	int	other = 0;

	if (port <= 0)
		return 0;
	for (i = 0; i < h->natt; i++) {
		if (!answered(h->att[i].outcome) || h->att[i].port <= 0)
			continue;
		if (h->att[i].port == port)
			return 0;
		if (now - booked(&h->att[i], now) <= ANSWER_WINDOW)
			other = 1;
	}
	return other;
}

/*
 * The state as it stands at now.  A back-off that ends further away
 * than its own step means the clock went back: it ends a step from now.
 */
void
attempt_state(const struct history *h, time_t now, struct srvstate *st)
{
	*st = h->st;
	if ((unsigned)st->state > SS_BLOCKED) {
		st->state = SS_BLOCKED;
		st->step = BACKOFF_FIRST;
	}
	if (st->state == SS_OK)
		return;
	if (st->step < 1)
		st->step = 1;
	if (st->until > now && st->until - now > st->step)
		st->until = now + st->step;
}

/* The probe in flight, or NULL. */
static const struct attempt *
probing(const struct policy *pol, const struct history *h,
    const struct srvstate *st, time_t now)
{
	const struct attempt	*p;

	if (st->state == SS_OK || (p = byid(h, st->probe)) == NULL)
		return NULL;
	if (p->outcome != OUT_INFLIGHT ||
	    now - booked(p, now) > policy_grace(pol))
		return NULL;
	return p;
}

/*
 * Keep the binding verdict in d (policy_outranks), marking it as the
 * server's state's.
 */
static void
bind(struct decision *d, enum verdict v, time_t until, const char *why)
{
	if (!policy_outranks(d, v, until))
		return;
	d->verdict = v;
	d->until = until;
	d->state = 1;
	d->slot = 0;
	strlcpy(d->why, why, sizeof(d->why));	/* a phrase: cut is fine */
}

/*
 * Decide whether the attempt r describes may start now: the policy's
 * budget (policy_decide) and the server's state.  --check (r->check) is
 * the user's own probe, admitted at any time.  d->probe says the
 * attempt, once admitted, is the server's probe.  Pure.
 */
void
attempt_decide(const struct attreq *r, const struct history *h, time_t now,
    struct decision *d)
{
	static const struct history	 empty;
	struct srvstate			 st;
	struct policy			 eff;
	const struct policy		*pol = r->policy;
	const struct attempt		*p;
	char				 why[256];

	if (h == NULL)
		h = &empty;
	/* What the server taught applies on top of the policy (learn.c). */
	if (pol != NULL && learn_any(&h->lr)) {
		learn_policy(pol, &h->lr, &eff);
		pol = &eff;
	}
	policy_decide(pol, h, r->who, r->parallel, now, d);
	attempt_state(h, now, &st);
	if (r->check) {
		d->verdict = V_ADMIT;
		d->until = now;
		d->why[0] = '\0';
		d->probe = 1;
		return;
	}
	if (st.state == SS_OK)
		return;
	if ((p = probing(r->policy, h, &st, now)) != NULL) {
		snprintf(why, sizeof(why), "waiting for the probe of a %s "
		    "server (%s)", sstate_name(st.state), st.why);
		bind(d, V_WAIT, booked(p, now) + policy_grace(r->policy), why);
	} else if (now < st.until) {
		snprintf(why, sizeof(why), "%s: %s", sstate_name(st.state),
		    st.why);
		bind(d, V_DELAY, st.until, why);
	} else if (d->verdict == V_ADMIT)
		d->probe = 1;
	if (d->verdict != V_ADMIT)
		d->probe = 0;
}

/* Enter state s at now, for why, with back-off step (0: keep none). */
static void
enter(struct settlement *out, enum sstate s, time_t now, long step,
    long ms, const char *why)
{
	memset(&out->st, 0, sizeof(out->st));
	out->st.state = s;
	out->st.since = now;
	out->st.step = step;
	out->st.until = now + (ms > 0 ? (ms + 999) / 1000 : step);
	strlcpy(out->st.why, why, sizeof(out->st.why));
	out->changed = 1;
}

static const char *
evidence(enum rawout raw)
{
	switch (raw) {
	case RAW_NOTALLOWED:
		return "\"Not allowed at this time\"";
	case RAW_PREBANNER:
		return "closed before the banner";
	case RAW_TIMEOUT:
		return "timed out";
	case RAW_REFUSED:
		return "connection refused";
	default:
		return "no answer";
	}
}

/*
 * How attempt a (NULL: no longer in the history) that ended with raw at
 * now is recorded, and how the server's state moves.  jitter_ms is the
 * caller's random back-off for a suspected overload (SUSPECT_MINMS to
 * SUSPECT_MAXMS).  Pure.
 */
void
attempt_next(const struct attreq *r, const struct history *h,
    const struct attempt *a, enum rawout raw, time_t now, long jitter_ms,
    struct settlement *out)
{
	static const struct history	 empty;
	struct srvstate			 st;
	char				 why[128], at[16];
	long				 step, cap;
	int				 probe, after;
	struct tm			 tm;
	time_t				 t = now;

	if (h == NULL)
		h = &empty;
	memset(out, 0, sizeof(*out));
	attempt_state(h, now, &st);
	out->st = st;
	probe = a != NULL && st.state != SS_OK && st.probe == a->id;
	/*
	 * Only the probe is admitted once a state begins, so an attempt
	 * that started in that second or before belongs to the burst that
	 * caused it.
	 */
	after = a == NULL || a->start > st.since;
	if (a != NULL && a->outcome == OUT_AUTH)
		raw = RAW_OK;	/* the notice said so */
	/* sshd ends an unauthenticated connection within LoginGraceTime. */
	if (a != NULL && raw == RAW_UNKNOWN &&
	    now - a->start > policy_grace(r->policy))
		raw = RAW_OK;
	if (raw == RAW_REFUSED && closedport(h, r->port, now)) {
		out->outcome = OUT_NET;
		out->closedport = 1;
		raw = RAW_NET;
	}
	/* A probe whose outcome the server never saw frees the turn. */
	if (probe && (raw == RAW_NET)) {
		out->st.probe = 0;
		out->changed = 1;
	}

	cap = r->policy != NULL ? r->policy->cooldown : BACKOFF_FIRST;
	if (r->policy != NULL && h->lr.cooldown > cap)
		cap = h->lr.cooldown;	/* a ban lasted that long (learn.c) */
	out->lr = h->lr;
	localtime_r(&t, &tm);
	strftime(at, sizeof(at), "%H:%M", &tm);
	switch (raw) {
	case RAW_OK:
	case RAW_AUTHFAIL:
	case RAW_NOAUTH:
	case RAW_HOSTKEY:
		out->outcome = raw == RAW_OK ? OUT_OK :
		    raw == RAW_AUTHFAIL ? OUT_AUTHFAIL : OUT_NOAUTH;
		/* The server spoke to us: it is not refusing this source. */
		if (st.state != SS_OK && (probe || after)) {
			memset(&out->st, 0, sizeof(out->st));
			out->st.since = now;
			out->changed = 1;
			/* The ban, if one was under way, is over: its length. */
			out->lchanged = learn_lifted(&h->lr, &st, now,
			    &out->lr);
		}
		return;
	case RAW_NET:
		if (!out->closedport)
			out->outcome = OUT_NET;
		return;
	case RAW_UNKNOWN:
		out->outcome = OUT_UNKNOWN;
		if (!probe)
			return;
		/* A probe that says nothing is not trusted: the worst case. */
		break;
	default:
		out->outcome = OUT_BAN;
		break;
	}

	/* Evidence of refusal (or a silent probe). */
	snprintf(why, sizeof(why), "%s at %s", evidence(raw), at);
	switch (st.state) {
	case SS_OK:
		if (raw != RAW_UNKNOWN && !recentfail(h, now)) {
			out->outcome = OUT_DROP;
			enter(out, SS_SUSPECT, now, jitter_ms > 0 ?
			    (jitter_ms + 999) / 1000 : 1, jitter_ms, why);
			out->retry = 1;
			return;
		}
		enter(out, SS_BLOCKED, now, cap < BACKOFF_FIRST ? cap :
		    BACKOFF_FIRST, 0, why);
		if (raw != RAW_UNKNOWN)
			out->lchanged = learn_ban(r->policy, h, &h->lr, now,
			    &out->lr);
		return;
	case SS_SUSPECT:
		if (!probe && !after) {
			out->outcome = OUT_DROP;	/* the same burst */
			return;
		}
		enter(out, SS_BLOCKED, now, cap < BACKOFF_FIRST ? cap :
		    BACKOFF_FIRST, 0, why);
		if (raw != RAW_UNKNOWN)
			out->lchanged = learn_ban(r->policy, h, &h->lr, now,
			    &out->lr);
		return;
	case SS_BLOCKED:
		if (!probe)
			return;
		step = st.step * 2;
		if (step > cap)
			step = cap;
		if (step < 1)
			step = cap < 1 ? 0 : 1;
		enter(out, SS_BLOCKED, now, step, 0, why);
		return;
	}
}

/*
 * Decide and, when admitted, reserve: one ledger transaction.  Never
 * sleeps.  Returns 0 with *d (and *id of the new attempt when d says
 * V_ADMIT and !dryrun), or -1 with *cause.
 */
int
attempt_admit(struct ledger *lg, const struct attreq *r, time_t now,
    int dryrun, struct decision *d, uint64_t *id, char **cause)
{
	struct history	 h;
	struct attempt	 a;
	struct srvstate	 st;
	int		 tries, c;

	*id = 0;
	for (tries = 0; tries < 16; tries++) {
		/* A ledger that cannot be read refuses (d says so). */
		memset(d, 0, sizeof(*d));
		d->verdict = V_REFUSE;
		if (ledger_lock(lg, &h, now, cause) == -1)
			return -1;
		attempt_decide(r, &h, now, d);
		if (dryrun || d->verdict != V_ADMIT) {
			ledger_unlock(lg);
			history_free(&h);
			return 0;
		}
		memset(&a, 0, sizeof(a));
		a.start = a.end = now;
		a.proven = d->proven;
		a.pid = getpid();
		(void)util_pstart(a.pid, &a.pstart);
		a.port = r->port;
		strlcpy(a.host, r->host, sizeof(a.host));
		strlcpy(a.who, r->who, sizeof(a.who));
		if (ledger_begin(lg, &a, cause) == -1)
			goto fail;
		if (d->probe) {
			attempt_state(&h, now, &st);
			st.probe = a.id;
			if (ledger_state(lg, &st, cause) == -1)
				goto fail;
		}
		history_free(&h);
		if ((c = ledger_commit(lg, cause)) == -1) {
			/* A required shared ledger that failed: a refusal. */
			if (ledger_refusing(lg))
				d->verdict = V_REFUSE;
			return -1;
		}
		if (c == 0) {
			*id = a.id;
			return 0;
		}
		/* Another client changed the ledger first: decide again. */
	}
	*cause = xstrfmt("ledger: too much contention; attempt not started");
	return -1;

fail:
	ledger_unlock(lg);
	history_free(&h);
	return -1;
}

/*
 * Record how attempt id ended (raw, judged at now) and move the
 * server's state: one ledger transaction.  0 with *out, or -1 with
 * *cause (out->outcome still says how it would have been recorded).
 */
int
attempt_settle(struct ledger *lg, const struct attreq *r, uint64_t id,
    enum rawout raw, time_t now, long jitter_ms, struct settlement *out,
    char **cause)
{
	struct history		 h;
	const struct attempt	*a;
	int			 tries, c;

	for (tries = 0; tries < 16; tries++) {
		if (ledger_lock(lg, &h, now, cause) == -1) {
			attempt_next(r, NULL, NULL, raw, now, jitter_ms, out);
			return -1;
		}
		a = byid(&h, id);
		attempt_next(r, &h, a, raw, now, jitter_ms, out);
		if ((a != NULL && ledger_outcome(lg, id, out->outcome, now,
		    cause) == -1) || (out->changed &&
		    ledger_state(lg, &out->st, cause) == -1) ||
		    (out->lchanged && ledger_learn(lg, &out->lr, cause) == -1)) {
			ledger_unlock(lg);
			history_free(&h);
			return -1;
		}
		history_free(&h);
		if ((c = ledger_commit(lg, cause)) != 1)
			return c;
	}
	*cause = xstrfmt("ledger: too much contention; outcome not recorded");
	return -1;
}

/*
 * The authentication notice (ssh's LocalCommand, or the proxy seeing
 * USERAUTH_SUCCESS): attempt id authenticated at now.  If it was the
 * probe, the server is ok again at once: callers need not wait for the
 * probe's whole session.  0, or -1 with *cause.
 */
int
attempt_authed(struct ledger *lg, uint64_t id, time_t now, char **cause)
{
	struct history		 h;
	const struct attempt	*a;
	struct srvstate		 st, cur;
	struct learned		 lr;
	int			 tries, c;

	for (tries = 0; tries < 16; tries++) {
		if (ledger_lock(lg, &h, now, cause) == -1)
			return -1;
		if ((a = byid(&h, id)) != NULL && (a->outcome == OUT_INFLIGHT &&
		    ledger_outcome(lg, id, OUT_AUTH, now, cause) == -1))
			goto fail;
		if (a != NULL && h.st.state != SS_OK && h.st.probe == id) {
			attempt_state(&h, now, &cur);
			memset(&st, 0, sizeof(st));
			st.since = now;
			if (ledger_state(lg, &st, cause) == -1)
				goto fail;
			/* The ban, if one was under way, is over. */
			if (learn_lifted(&h.lr, &cur, now, &lr) &&
			    ledger_learn(lg, &lr, cause) == -1)
				goto fail;
		}
		history_free(&h);
		if ((c = ledger_commit(lg, cause)) != 1)
			return c;
	}
	*cause = xstrfmt("ledger: too much contention; notice not recorded");
	return -1;

fail:
	ledger_unlock(lg);
	history_free(&h);
	return -1;
}

/*
 * One line for a server's state at now, for --status and --doctor:
 * "ok"; "suspect since HH:MM: WHY; probe in flight"; "blocked: WHY;
 * next probe at HH:MM:SS (back-off 2m)" (or "probe allowed since" once
 * the back-off has ended).  Pure but for localtime.
 */
void
attempt_describe(const struct history *h, time_t now, char *buf,
    size_t len)
{
	struct srvstate	 st;
	struct tm	 tm;
	char		 at[16], step[32];

	attempt_state(h, now, &st);
	if (st.state == SS_OK) {
		strlcpy(buf, "ok", len);
		return;
	}
	util_dur(st.step, step, sizeof(step));
	if (probing(NULL, h, &st, now) != NULL) {
		localtime_r(&st.since, &tm);
		strftime(at, sizeof(at), "%H:%M", &tm);
		snprintf(buf, len, "%s since %s: %s; probe in flight",
		    sstate_name(st.state), at, st.why);
		return;
	}
	localtime_r(&st.until, &tm);
	strftime(at, sizeof(at), "%H:%M:%S", &tm);
	snprintf(buf, len, "%s: %s; %s %s (back-off %s)",
	    sstate_name(st.state), st.why,
	    st.until > now ? "next probe at" : "probe allowed since", at,
	    step);
}
