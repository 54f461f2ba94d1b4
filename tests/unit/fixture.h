/*
 * fixture.h: what several unit tests build the same way.  Included by
 * them after safessh.h and cmocka.h; everything here is static inline.
 *
 *	FX_OPENSSH, FX_F2B, FX_GUARD	the built-in policies' rules
 *	fx_policy(p, name, cooldown, a, b, c)
 *					a policy of up to three rules
 *	fx_rmtree(dir)			rm -rf dir (a test's private tree)
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <string.h>

/* PerSourcePenalties: 5 s per failed login, up to 10 s (noauth counts). */
#define FX_OPENSSH	{ RULE_PENALTY, 0, 0, 5, 1, 10 }
/* fail2ban: 4 failures in 10 min.  sshguard: 2 in 30 min. */
#define FX_F2B		{ RULE_COUNT, 4, 600, 0, 0, 0 }
#define FX_GUARD	{ RULE_COUNT, 2, 1800, 0, 0, 0 }

static inline void
fx_policy(struct policy *p, const char *name, long cooldown,
    const struct rule *a, const struct rule *b, const struct rule *c)
{
	memset(p, 0, sizeof(*p));
	strlcpy(p->name, name, sizeof(p->name));
	p->cooldown = cooldown;
	if (a != NULL)
		p->rules[p->nrules++] = *a;
	if (b != NULL)
		p->rules[p->nrules++] = *b;
	if (c != NULL)
		p->rules[p->nrules++] = *c;
}

static inline int
fx_rmone(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static inline void
fx_rmtree(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, fx_rmone, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
