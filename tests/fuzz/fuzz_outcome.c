/*
 * fuzz_outcome.c: libFuzzer target for the outcome classifier
 * (outcome.c): the input is ssh's stderr, split into lines at LF (a CR
 * before it is kept, as ssh writes "\r\n"); every line goes through
 * outcome_line(), then the run is classified for several wait statuses.
 * Oracles: the counters only grow, the classification is a valid
 * rawout, an authenticated run or an exit other than 255 is RAW_OK, and
 * feeding the same lines again never changes the verdict.
 */
#include <sys/wait.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safessh.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
feed(struct scan *sc, const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *nl;
	size_t		 n;

	while (p < data + size) {
		nl = memchr(p, '\n', (size_t)(data + size - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(data + size - p);
		outcome_line(sc, (const char *)p, n);
		p += n + (nl != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exit 0, exit 1, exit 255, killed by SIGTERM */
	static const int statuses[] = { 0, 1 << 8, 255 << 8, 15 };
	struct scan	 sc, sc2;
	enum rawout	 r, r2;
	size_t		 i;

	outcome_init(&sc);
	feed(&sc, data, size);
	if (sc.authfail < 0 || sc.prebanner < 0 || sc.notallowed < 0 ||
	    sc.refused < 0 || sc.timeout < 0 || sc.hostkey < 0 || sc.net < 0)
		abort();
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		r = outcome_classify(&sc, statuses[i], 0);
		if (r < RAW_OK || r > RAW_UNKNOWN)
			abort();
		if (outcome_classify(&sc, statuses[i], 1) != RAW_OK)
			abort();
		if (WIFEXITED(statuses[i]) &&
		    WEXITSTATUS(statuses[i]) != 255 && r != RAW_OK)
			abort();
	}
	/* The same stderr twice over says the same thing. */
	r = outcome_classify(&sc, 255 << 8, 0);
	sc2 = sc;
	feed(&sc2, data, size);
	r2 = outcome_classify(&sc2, 255 << 8, 0);
	if (r != r2)
		abort();
	/* A single line, as given (NULs and all). */
	outcome_init(&sc);
	outcome_line(&sc, (const char *)data, size);
	(void)outcome_classify(&sc, 255 << 8, 0);
	for (i = 0; i < OUT_MAX; i++) {
		enum outcome	 o;

		if (outcome_byname(outcome_name((enum outcome)i), &o) != 0 ||
		    o != (enum outcome)i)
			abort();
	}
	return 0;
}
