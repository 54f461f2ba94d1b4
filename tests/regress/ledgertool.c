/*
 * ledgertool.c: a small command line over lib/ledger.c for the ledger
 * stress test and benchmark.  The state directory is safessh's own
 * ($SAFESSH_STATE_DIR, ...).
 *
 *	ledgertool begin [-p pid] SERVER HOST WHO   print the new id
 *	ledgertool settle SERVER ID OUTCOME
 *	ledgertool run SERVER HOST WHO OUTCOME      begin + settle, one process
 *	ledgertool churn SERVER N                   N runs, in one process
 *	ledgertool cooldown SERVER UNTIL WHY
 *	ledgertool dump SERVER                      the folded history
 *	ledgertool gen SERVER N                     append N settled attempts
 *	                                            raw (no compaction)
 *	ledgertool populate PREFIX N                N servers, one attempt each
 *	ledgertool decide SERVER N                  time N admission decisions
 *	ledgertool lines SERVER                     lines in the file
 *	ledgertool list | forget SERVER
 *
 * Exit 0, or 1 with "ledgertool: <cause>" on stderr.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safessh.h"

static char	 statedir[PATH_MAX];

static void __attribute__((noreturn))
die(const char *cause)
{
	fprintf(stderr, "ledgertool: %s\n", cause);
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: ledgertool begin [-p pid] server host who | "
	    "settle server id outcome |\n"
	    "\trun server host who outcome | churn server n | "
	    "cooldown server until why |\n"
	    "\tdump server | gen server n | populate prefix n | "
	    "decide server n |\n\tlines server | list | forget server\n");
	exit(2);
}

static long long
number(const char *s, long long min, long long max)
{
	const char	*err;
	long long	 n;

	n = strtonum(s, min, max, &err);
	if (err != NULL) {
		fprintf(stderr, "ledgertool: %s: %s\n", s, err);
		exit(2);
	}
	return n;
}

static struct ledger *
xopen(const char *server)
{
	struct ledger	*l;
	char		*cause = NULL;

	if (ledger_open(&l, statedir, server, &cause) == -1)
		die(cause);
	return l;
}

static uint64_t
begin(struct ledger *l, const char *host, const char *who, pid_t pid)
{
	struct history	 h;
	struct attempt	 a;
	char		*cause = NULL;
	time_t		 now = time(NULL);

	if (ledger_lock(l, &h, now, &cause) == -1)
		die(cause);
	memset(&a, 0, sizeof(a));
	a.start = now;
	a.pid = pid;
	strlcpy(a.host, host, sizeof(a.host));
	strlcpy(a.who, who, sizeof(a.who));
	if (ledger_begin(l, &a, &cause) == -1)
		die(cause);
	ledger_unlock(l);
	history_free(&h);
	return a.id;
}

static void
settle(struct ledger *l, uint64_t id, const char *name)
{
	enum outcome	 o;
	char		*cause = NULL;

	if (outcome_byname(name, &o) == -1) {
		fprintf(stderr, "ledgertool: %s: unknown outcome\n", name);
		exit(2);
	}
	if (ledger_settle(l, id, o, time(NULL), &cause) == -1)
		die(cause);
}

static void
dump(const char *server)
{
	struct ledger	*l = xopen(server);
	struct history	 h;
	char		*cause = NULL;
	size_t		 i;
	const struct attempt *a;

	if (ledger_lock(l, &h, time(NULL), &cause) == -1)
		die(cause);
	ledger_unlock(l);
	for (i = 0; i < h.natt; i++) {
		a = &h.att[i];
		printf("%llu %lld %lld %s %d %ld [%s] [%s]\n",
		    (unsigned long long)a->id, (long long)a->start,
		    (long long)a->end, outcome_name(a->outcome), a->proven,
		    (long)a->pid, a->host, a->who);
	}
	if (h.st.state != SS_OK)
		printf("state %s since %lld until %lld step %ld probe %llu "
		    "[%s]\n", sstate_name(h.st.state), (long long)h.st.since,
		    (long long)h.st.until, h.st.step,
		    (unsigned long long)h.st.probe, h.st.why);
	history_free(&h);
	ledger_close(l);
}

/* Lines in the server's file (0 if none). */
static size_t
lines(const char *server)
{
	char	 path[PATH_MAX * 2];
	FILE	*f;
	int	 c;
	size_t	 n = 0;

	snprintf(path, sizeof(path), "%s/servers/%s", statedir, server);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/*
 * Append n settled attempts straight to the file, under its lock but
 * bypassing the library, so that a file can be made as big as a ledger
 * never gets by itself.
 */
static void
gen(const char *server, long long n)
{
	struct ledger	*l = xopen(server);
	char		 path[PATH_MAX * 2], *cause = NULL;
	struct stat	 st;
	FILE		*f;
	int		 fd;
	long long	 i;
	unsigned long long id;
	time_t		 now = time(NULL);

	struct history	 h;

	/* Through the library first: it checks the file and tells us the
	 * largest id; ours go above it. */
	if (ledger_lock(l, &h, now, &cause) == -1)
		die(cause);
	ledger_unlock(l);
	ledger_close(l);
	id = (unsigned long long)now * 1000 - (unsigned long long)n - 10;
	if (h.natt > 0 && h.att[h.natt - 1].id >= id)
		id = h.att[h.natt - 1].id + 1;
	history_free(&h);
	snprintf(path, sizeof(path), "%s/servers/%s", statedir, server);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW)) == -1 ||
	    flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1 ||
	    (f = fdopen(fd, "a")) == NULL) {
		perror(path);
		exit(1);
	}
	if (st.st_size == 0)
		fprintf(f, "safessh-ledger 1 %s\n", server);
	for (i = 0; i < n; i++, id++) {
		time_t	t = now - n + i;

		fprintf(f, "a %llu %lld 1 0 host%lld u%%20key%lld\n"
		    "s %llu %lld %s\n", id, (long long)t, i % 5, i % 3, id,
		    (long long)t + 1, outcome_name(i % 10 == 9 ?
		    OUT_AUTHFAIL : OUT_OK));
	}
	if (fclose(f) == EOF) {
		perror(path);
		exit(1);
	}
}

static void
populate(const char *prefix, long long n)
{
	struct ledger	*l;
	char		 name[256];
	long long	 i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%lld", prefix, i);
		l = xopen(name);
		settle(l, begin(l, "host", "u key", getpid()), "ok");
		ledger_close(l);
	}
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

/*
 * Time n admission decisions (lock, read, attempt_decide: the budget and
 * the server's state, unlock) with the default policy.  The first is reported apart (it may compact);
 * of the others, the median and the 90th percentile.
 */
static void
decide(const char *server, long long n)
{
	struct ledger	*l = xopen(server);
	struct conf	*conf;
	const struct policy *pol;
	struct history	 h;
	struct decision	 d;
	struct attreq	 r;
	char		*cause = NULL;
	long long	 i, t0, *ns;
	size_t		 before, after, natt = 0;
	time_t		 now = time(NULL);

	if ((conf = conf_new()) == NULL ||
	    (pol = conf_policy(conf, "default")) == NULL)
		die("no default policy");
	if ((ns = calloc(n, sizeof(*ns))) == NULL)
		die("out of memory");
	memset(&r, 0, sizeof(r));
	r.policy = pol;
	r.host = "h";
	r.who = "u key1";
	r.parallel = 4;
	before = lines(server);
	for (i = 0; i < n; i++) {
		t0 = nsec();
		if (ledger_lock(l, &h, now, &cause) == -1)
			die(cause);
		attempt_decide(&r, &h, now, &d);
		ledger_unlock(l);
		natt = h.natt;
		history_free(&h);
		ns[i] = nsec() - t0;
	}
	after = lines(server);
	printf("lines_before=%zu lines_after=%zu attempts_read_last=%zu "
	    "first_ns=%lld", before, after, natt, ns[0]);
	if (n > 1) {
		qsort(ns + 1, n - 1, sizeof(*ns), cmpll);
		printf(" ns_per_decision=%lld p90_ns=%lld", ns[1 + (n - 1) / 2],
		    ns[1 + (n - 1) * 9 / 10]);
	} else
		printf(" ns_per_decision=%lld p90_ns=%lld", ns[0], ns[0]);
	printf(" verdict=%d\n", (int)d.verdict);
	free(ns);
	ledger_close(l);
	conf_free(conf);
}

int
main(int argc, char *argv[])
{
	struct ledger	*l;
	char		*cause = NULL, **list;
	size_t		 i, n;
	pid_t		 pid = 0;
	long long	 k;
	uint64_t	 id;

	if (argc < 2)
		usage();
	if (ledger_statedir(statedir, sizeof(statedir), &cause) == -1)
		die(cause);
	argc--;
	argv++;
	if (strcmp(argv[0], "begin") == 0) {
		if (argc >= 3 && strcmp(argv[1], "-p") == 0) {
			pid = number(argv[2], 1, INT_MAX);
			argc -= 2;
			argv += 2;
		}
		if (argc != 4)
			usage();
		l = xopen(argv[1]);
		printf("%llu\n", (unsigned long long)begin(l, argv[2],
		    argv[3], pid));
		ledger_close(l);
	} else if (strcmp(argv[0], "settle") == 0 && argc == 4) {
		l = xopen(argv[1]);
		settle(l, strtoull(argv[2], NULL, 10), argv[3]);
		ledger_close(l);
	} else if (strcmp(argv[0], "run") == 0 && argc == 5) {
		l = xopen(argv[1]);
		settle(l, begin(l, argv[2], argv[3], 0), argv[4]);
		ledger_close(l);
	} else if (strcmp(argv[0], "churn") == 0 && argc == 3) {
		l = xopen(argv[1]);
		k = number(argv[2], 0, LLONG_MAX);
		while (k-- > 0) {
			id = begin(l, "host", k % 2 ? "u a" : "u b", 0);
			settle(l, id, k % 7 ? "ok" : "authfail");
		}
		ledger_close(l);
	} else if (strcmp(argv[0], "cooldown") == 0 && argc == 4) {
		/* The server blocked until UNTIL (0: ok), as after a ban. */
		struct srvstate	 st;

		memset(&st, 0, sizeof(st));
		st.until = (time_t)number(argv[2], 0, LLONG_MAX);
		if (st.until != 0) {
			st.state = SS_BLOCKED;
			st.since = time(NULL);
			st.step = st.until > st.since ? st.until - st.since : 1;
		}
		strlcpy(st.why, argv[3], sizeof(st.why));
		l = xopen(argv[1]);
		if (ledger_lock(l, NULL, time(NULL), &cause) == -1 ||
		    ledger_state(l, &st, &cause) == -1)
			die(cause);
		ledger_close(l);
	} else if (strcmp(argv[0], "dump") == 0 && argc == 2)
		dump(argv[1]);
	else if (strcmp(argv[0], "gen") == 0 && argc == 3)
		gen(argv[1], number(argv[2], 0, 10000000));
	else if (strcmp(argv[0], "populate") == 0 && argc == 3)
		populate(argv[1], number(argv[2], 0, 10000000));
	else if (strcmp(argv[0], "decide") == 0 && argc == 3)
		decide(argv[1], number(argv[2], 1, LLONG_MAX));
	else if (strcmp(argv[0], "lines") == 0 && argc == 2)
		printf("%zu\n", lines(argv[1]));
	else if (strcmp(argv[0], "list") == 0 && argc == 1) {
		if (ledger_servers(statedir, &list, &n, &cause) == -1)
			die(cause);
		for (i = 0; i < n; i++) {
			printf("%s\n", list[i]);
			free(list[i]);
		}
		free(list);
	} else if (strcmp(argv[0], "forget") == 0 && argc == 2) {
		if (ledger_forget(statedir, argv[1], &cause) == -1)
			die(cause);
	} else
		usage();
	return 0;
}
