/*
 * storetool.c: the shared ledger (and, for comparison, the local files)
 * driven directly, for bench/redis.sh.  The ledger is the one the
 * configuration ($SAFESSH_CONFIG) gives [defaults] ("ledger =", or the
 * files); the state directory is safessh's own ($SAFESSH_STATE_DIR).
 *
 *	storetool gen SERVER N      N settled attempts written raw (no
 *	                            compaction): to the store's list, or
 *	                            appended to the file
 *	storetool time SERVER N     N admissions: decide (lock, read,
 *	                            attempt_decide, unlock) and admit
 *	                            (attempt_admit + attempt_settle), timed
 *	storetool race SERVER N     N processes at once, each one admission
 *	                            and its settlement: conflicts (EXECs
 *	                            another client beat) and failures
 *
 * Prints "key=value" pairs; exit 0, or 1 with "storetool: <cause>".
 */
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safessh.h"

static char		 statedir[PATH_MAX];
static struct conf	*conf;
static struct hostconf	 hc;

static void __attribute__((noreturn))
die(const char *cause)
{
	fprintf(stderr, "storetool: %s\n", cause);
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: storetool gen|time|race server n\n");
	exit(2);
}

static struct ledger *
xopen(const char *server)
{
	struct ledger	*l;
	char		*cause = NULL;

	if (ledger_open_conf(&l, statedir, server, &hc, &cause) == -1)
		die(cause);
	return l;
}

static long long
nsec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
cmpll(const void *a, const void *b)
{
	long long	 x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* The n settled attempts "gen" writes, as ledger lines. */
static void
genlines(struct buf *b, long long n, time_t now, const char *client)
{
	char		 line[256];
	long long	 i;
	uint64_t	 id = (uint64_t)now * 1000 - (uint64_t)n - 10;

	for (i = 0; i < n; i++, id++) {
		time_t	t = now - n + i;

		snprintf(line, sizeof(line), "a %llu %lld 1 0 host%lld "
		    "u%%20key%lld 22 0%s%s\ns %llu %lld %s\n",
		    (unsigned long long)id, (long long)t, i % 5, i % 3,
		    client[0] ? " " : "", client, (unsigned long long)id,
		    (long long)t + 1, outcome_name(OUT_OK));
		if (buf_str(b, line) == -1)
			die("out of memory");
	}
}

static void
gen(const char *server, long long n)
{
	struct ledgerurl u;
	struct store	*s;
	struct buf	 b = { NULL, 0, 0 }, old = { NULL, 0, 0 };
	const char	*why;
	char		*cause = NULL, path[PATH_MAX * 2];
	size_t		 nel;
	FILE		*f;
	time_t		 now = time(NULL);

	if (hc.ledger != NULL) {
		if (ledgerurl_parse(hc.ledger, &u, &why) == -1)
			die(why);
		if (store_open(&s, &u, hc.ledger_prefix, 2000, &cause) == -1 ||
		    store_read(s, server, &old, &nel, &cause) != 0)
			die(cause);
		if (nel != 0)
			die("gen: the list is not empty");
		genlines(&b, n, now, "bench");
		if (store_commit(s, server, NULL, &b, 86400, &cause) != 0)
			die(cause != NULL ? cause : "conflict");
		store_close(s);
	} else {
		struct ledger	*l = xopen(server);

		ledger_close(l);	/* made, checked */
		snprintf(path, sizeof(path), "%s/servers/%s", statedir,
		    server);
		if ((f = fopen(path, "a")) == NULL)
			die(strerror(errno));
		if (ftell(f) == 0)
			fprintf(f, "safessh-ledger 1 %s\n", server);
		genlines(&b, n, now, "");
		fwrite(b.p, 1, b.len, f);
		if (fclose(f) == EOF)
			die(strerror(errno));
	}
	free(b.p);
	free(old.p);
}

static void
request(struct attreq *r)
{
	memset(r, 0, sizeof(*r));
	r->policy = hc.policy;
	r->host = "h";
	r->who = "u key1";
	r->parallel = 64;
}

/* One admission and its settlement (ok); 0, or -1 with *cause. */
static int
admit1(struct ledger *l, char **cause)
{
	struct attreq	 r;
	struct decision	 d;
	struct settlement st;
	uint64_t	 id;

	int		 waits = 0;
	uint32_t	 wms = 20;

	request(&r);
	for (;;) {
		if (attempt_admit(l, &r, ledger_now(l), 0, &d, &id,
		    cause) == -1)
			return -1;
		if (d.verdict == V_ADMIT)
			break;
		/* Attempts in flight settle within moments: poll, as
		 * safessh does. */
		if (d.verdict == V_REFUSE || ++waits > 1000) {
			*cause = xstrfmt("not admitted: %s", d.why);
			return -1;
		}
		/* As safessh polls: 20 ms doubling to 200, jittered. */
		usleep((useconds_t)(wms + arc4random_uniform(wms + 1)) * 1000);
		if (wms < 200)
			wms *= 2;
	}
	return attempt_settle(l, &r, id, RAW_OK, ledger_now(l), 1000, &st,
	    cause);
}

static void
timeit(const char *server, long long n)
{
	struct ledger	*l = xopen(server);
	struct history	 h;
	struct decision	 d;
	struct attreq	 r;
	char		*cause = NULL;
	long long	 i, t0, *dec, *adm;
	size_t		 natt = 0;
	time_t		 now;

	if ((dec = calloc(n, sizeof(*dec))) == NULL ||
	    (adm = calloc(n, sizeof(*adm))) == NULL)
		die("out of memory");
	request(&r);
	for (i = 0; i < n; i++) {
		t0 = nsec();
		now = ledger_now(l);
		if (ledger_lock(l, &h, now, &cause) == -1)
			die(cause);
		attempt_decide(&r, &h, now, &d);
		ledger_unlock(l);
		natt = h.natt;
		history_free(&h);
		dec[i] = nsec() - t0;
	}
	for (i = 0; i < n; i++) {
		t0 = nsec();
		if (admit1(l, &cause) == -1)
			die(cause);
		adm[i] = nsec() - t0;
	}
	if ((cause = ledger_warning(l)) != NULL)
		die(cause);
	qsort(dec, n, sizeof(*dec), cmpll);
	qsort(adm, n, sizeof(*adm), cmpll);
	printf("attempts_read=%zu decide_med_ns=%lld decide_p99_ns=%lld "
	    "admit_med_ns=%lld admit_p99_ns=%lld conflicts=%lu "
	    "lock_waits=%lu\n", natt, dec[n / 2], dec[(n * 99) / 100],
	    adm[n / 2], adm[(n * 99) / 100], ledger_conflicts(l),
	    ledger_lockwaits(l));
	free(dec);
	free(adm);
	ledger_close(l);
}

/*
 * n processes at once, started together (they wait on a pipe), each
 * one admission and its settlement; each reports its conflicts and
 * whether it failed through a pipe.
 */
static void
race(const char *server, long long n)
{
	int		 go[2], rep[2], st;
	long long	 i, conflicts = 0, maxc = 0, failed = 0, fell = 0;
	long long	 lockwaits = 0;
	long long	 t0, t1;
	unsigned long	 c;
	char		 line[64], byte;
	FILE		*f;
	pid_t		 pid;

	if (pipe(go) == -1 || pipe(rep) == -1)
		die(strerror(errno));
	for (i = 0; i < n; i++) {
		if ((pid = fork()) == -1)
			die(strerror(errno));
		if (pid == 0) {
			struct ledger	*l;
			char		*cause = NULL, *w;
			int		 ok;

			close(go[1]);
			close(rep[0]);
			l = xopen(server);
			if (read(go[0], &byte, 1) < 0)
				_exit(1);
			ok = admit1(l, &cause) == 0;
			w = ledger_warning(l);
			snprintf(line, sizeof(line), "%lu %d %d %lu\n",
			    ledger_conflicts(l), ok, w != NULL,
			    ledger_lockwaits(l));
			if (write(rep[1], line, strlen(line)) < 0)
				_exit(1);
			free(w);
			free(cause);
			ledger_close(l);
			_exit(0);
		}
	}
	close(go[0]);
	close(rep[1]);
	t0 = nsec();
	close(go[1]);		/* every child reads EOF: go */
	if ((f = fdopen(rep[0], "r")) == NULL)
		die(strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		int		 ok, w;
		unsigned long	 lw;

		if (sscanf(line, "%lu %d %d %lu", &c, &ok, &w, &lw) != 4)
			continue;
		lockwaits += lw;
		conflicts += c;
		if ((long long)c > maxc)
			maxc = c;
		failed += !ok;
		fell += w;
	}
	fclose(f);
	t1 = nsec();
	for (i = 0; i < n; i++)
		wait(&st);
	printf("processes=%lld conflicts=%lld max_conflicts=%lld "
	    "lock_waits=%lld failed=%lld fell_back=%lld wall_ms=%lld\n", n,
	    conflicts, maxc, lockwaits, failed, fell, (t1 - t0) / 1000000);
}

int
main(int argc, char *argv[])
{
	char	*cause = NULL;

	if (argc != 4)
		usage();
	if (ledger_statedir(statedir, sizeof(statedir), &cause) == -1)
		die(cause);
	if ((conf = conf_new()) == NULL)
		die("out of memory");
	if (conf_load_default(conf, &cause) == -1 ||
	    conf_host(conf, "*", &hc, &cause) == -1)
		die(cause);
	if (strcmp(argv[1], "gen") == 0)
		gen(argv[2], strtonum(argv[3], 0, 1000000, NULL));
	else if (strcmp(argv[1], "time") == 0)
		timeit(argv[2], strtonum(argv[3], 1, 1000000, NULL));
	else if (strcmp(argv[1], "race") == 0)
		race(argv[2], strtonum(argv[3], 1, 5000, NULL));
	else
		usage();
	conf_free(conf);
	return 0;
}
