/*
 * safessh.h: the types and prototypes shared by safessh(1) and its tests.
 *
 * Library functions (lib/) never print and never exit: they return 0 on
 * success and -1 on failure with *cause set to an allocated one-line
 * message (the caller frees it), or 1/0 for predicates.  Pure logic takes
 * the time and its input as arguments so that tests can drive it.
 */
#ifndef SAFESSH_H
#define SAFESSH_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SAFESSH_VERSION		"0.1.0"

#define EXIT_REFUSED		75	/* EX_TEMPFAIL: refused for the budget */
#define EXIT_SSHERR		255	/* safessh's own errors, as ssh's */

/*
 * sshd's LoginGraceTime default: no connection stays unauthenticated
 * longer (a policy's login_grace says otherwise for its servers).
 */
#define LOGIN_GRACE		120
/* An authentication this recent (and no failure since) proves a key. */
#define PROOF_WINDOW		60
/* A server that answered this recently was up: a refusal is a ban sign. */
#define ANSWER_WINDOW		3600
/* A failed login this recent makes any refusal a ban sign (G3). */
#define FAIL_WINDOW		3600
/* The first back-off of a blocked server; it doubles up to cooldown. */
#define BACKOFF_FIRST		30
/* The jittered wait before the one retry of a suspected overload, ms. */
#define SUSPECT_MINMS		1000
#define SUSPECT_MAXMS		3000

/* --------------------------------------------------------------- state.c */
/* safessh's home: $HOME if absolute, else the passwd entry's; or NULL. */
const char *state_home(void);
/* ssh's home: the passwd entry's, else $HOME, else "/". */
const char *state_sshhome(void);
/* The state directory's path (SAFESSH_STATE_DIR, XDG_STATE_HOME, or
 * ~/.local/state/safessh); not created.  0 or -1 with *cause. */
int	 state_path(char *, size_t, char **);
/* Make path a private directory (0700; parents too when asked) or
 * check the one there: a directory, not a link, ours, writable by us
 * alone.  0 or -1 with *cause. */
int	 state_private(const char *, int, char **);

/* ---------------------------------------------------------------- util.c */

/* A growable, NULL-terminated argument vector (OpenSSH's arglist). */
struct arglist {
	char	**list;
	size_t	  num;
	size_t	  nalloc;
};

int	 arglist_add(struct arglist *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 arglist_addv(struct arglist *, const char *);
void	 arglist_free(struct arglist *);
/* One shell-quoted line (for --dry-run); NULL on ENOMEM; caller frees. */
char	*arglist_quote(char *const *, size_t);

/* Allocating sprintf for causes; returns NULL on ENOMEM. */
char	*xstrfmt(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Expand a leading "~/" against $HOME; caller frees; NULL on ENOMEM. */
char	*util_tilde(const char *);
/* Format a duration as "41m", "1h30m", "12s"; returns buf. */
char	*util_dur(long, char *, size_t);
void	 util_msleep(long);
/* 64-bit FNV-1a over n bytes, chained from h (start: UTIL_FNV0). */
#define UTIL_FNV0	0xcbf29ce484222325ULL
uint64_t util_fnv(uint64_t, const void *, size_t);
/* A process's start time in clock ticks since boot (Linux /proc). */
int	 util_pstart(pid_t, unsigned long long *);
/* The value of a hex digit, or -1. */
int	 util_hexval(int);
/* Big-endian 32-bit integers, as SSH's wire formats carry them. */
uint32_t util_get32(const unsigned char *);
void	 util_put32(unsigned char *, uint32_t);

/* A growable, NUL-terminated byte buffer; zero-initialise, free(p). */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};
int	 buf_add(struct buf *, const void *, size_t);
int	 buf_str(struct buf *, const char *);

/* ---------------------------------------------------------------- argv.c */

/* One of the user's ssh options, in the order given. */
struct sshopt {
	char	 opt;		/* option letter */
	char	*arg;		/* its argument, or NULL for a flag */
};

/* The user's command line, parsed with ssh's own grammar. */
struct sshcmd {
	struct sshopt	*opts;		/* options, except -i and IdentityFile */
	size_t		 nopts;
	char		*dest;		/* destination as typed, or NULL */
	char		*host;		/* its host part (the alias as typed) */
	char		*user;		/* -l or destination, ssh's precedence */
	int		 port;		/* -p or ssh://, ssh's precedence; -1 */
	char		*identity;	/* the one -i / -o IdentityFile, or NULL */
	char		*config;	/* -F FILE, or NULL */
	char		 passthru;	/* 'G', 'V', 'Q', 'O' or 'Z'; else 0 */
	char	       **cmd;		/* remote command and its arguments */
	size_t		 ncmd;
	char		*certificate;	/* -o CertificateFile, or NULL */
};

/*
 * Parse ssh's argv (without argv[0]) into cmd.  Returns 0, or -1 with
 * *cause (a bad option, a missing argument, a second -i, a hostile host,
 * user, port or -J hop).  argv_free() releases what it allocated.
 */
int	 argv_parse(int, char *const *, struct sshcmd *, char **);
/*
 * The same with the grammar of ssh version ver (major * 100 + minor, as
 * sshconf_version() gives it; 0: the latest): -P is a flag before 9.4.
 */
int	 argv_parse_ver(int, char *const *, int, struct sshcmd *, char **);
/* The passthrough letter (G V Q O Z) of a command line, read only with
 * getopt, nothing checked; 0 if none. */
int	 argv_passthru(int, char *const *, int);
/* Every -F becomes path (NULL: all -F go).  0, or -1 with *cause. */
int	 argv_set_config(struct sshcmd *, const char *, char **);
void	 argv_free(struct sshcmd *);
/*
 * ssh_config's line grammar (readconf.c): one line's keyword, lowercased
 * (NULL for blank and comment lines), and the rest; *buf to free.
 */
int	 argv_cfgline(const char *, char **, const char **, const char **);
/* ssh's argv_split of a value: every word (see argv.c); 0, -1, -2. */
int	 argv_cfgwords(const char *, int *, char ***);
void	 argv_cfgwords_free(char **);
/* The first value of -o KEYWORD (case-insensitive), or NULL. */
const char *argv_option(const struct sshcmd *, const char *);

/* What safessh forces ahead of the user's options. */
struct rewrite {
	const char	*identity;	/* path handed to ssh as IdentityFile */
	const char	*hostname;	/* HostName, or NULL */
	const char	*user;		/* User, or NULL */
	int		 port;		/* Port, or 0 */
	long		 connect_timeout; /* ConnectTimeout, or 0 */
	int		 password;	/* allow password/keyboard-interactive */
	int		 agent;		/* leave IdentityAgent to ssh */
	const char	*localcmd;	/* LocalCommand (auth notice), or NULL */
	const char	*sshconfig;	/* -F replacement, or NULL */
	const char	*controlpath;	/* ControlPath for reuse, or NULL */
	long		 controlpersist; /* seconds, with controlpath */
	int		 nojump;	/* leave -J out (a mux client) */
	int		 batch;		/* BatchMode=yes, ahead of the user's */
	const char	*command;	/* instead of the user's command; NULL */
};

/*
 * Build the argv for ssh: argv0, the forced options, the user's options
 * (without a -F when rw->sshconfig replaces it), "--", the destination,
 * the command.  Returns 0, or -1 with *cause.
 */
int	 argv_build(const struct sshcmd *, const struct rewrite *,
	    const char *, struct arglist *, char **);
/* The "ssh -G" probe's argv for the same call (see argv.c). */
int	 argv_build_probe(const struct sshcmd *, const struct rewrite *,
	    const char *, struct arglist *, char **);

/* G5 validation; return 1 if acceptable, else 0 with *why (static text). */
int	 argv_valid_host(const char *, const char **);
int	 argv_valid_user(const char *, const char **);
int	 argv_valid_port(const char *, int *, const char **);
int	 argv_valid_jump(const char *, const char **);
/* v quoted for ssh's "-o Key=value" splitter; allocated; NULL on ENOMEM. */
char	*argv_cfgquote(const char *);

/* ---------------------------------------------------------------- conf.c */

enum onrisk {
	ONRISK_DELAY,
	ONRISK_REFUSE
};

enum rulekind {
	RULE_COUNT,		/* at most max_failures failures in window */
	RULE_PENALTY		/* PerSourcePenalties: a decaying sum */
};

struct rule {
	enum rulekind	 kind;
	int		 max_failures;	/* RULE_COUNT */
	long		 window;	/* RULE_COUNT, seconds */
	long		 penalty;	/* RULE_PENALTY: per failed connection */
	long		 noauth;	/* RULE_PENALTY: per unauthenticated one */
	long		 limit;		/* RULE_PENALTY: never exceed this */
};

#define POLICY_MAXRULES	4
#define POLICY_NAMELEN	64

struct policy {
	char		 name[POLICY_NAMELEN];
	struct rule	 rules[POLICY_MAXRULES];
	int		 nrules;
	long		 cooldown;	/* longest back-off of a blocked server */
	long		 grace;		/* the server's LoginGraceTime */
	int		 learnrule;	/* 1 + index of a learned rule; 0 */
	char		 learnlabel[160]; /* its name in messages (learn.c) */
	time_t		 learnfrom;	/* it counts failures after this */
};

/* The settings for one destination, after all matching sections. */
struct hostconf {
	const char		*hostname;	/* NULL: unset */
	const char		*user;
	const char		*identity;
	const char		*server;	/* ban domain name, or NULL */
	const char		*ssh;		/* the real ssh, or NULL */
	int			 port;		/* 0: unset */
	const struct policy	*policy;
	enum onrisk		 on_risk;
	long			 max_delay;
	int			 parallel;
	long			 connect_timeout;
	int			 retries;
	int			 refused_status; /* exit status of a refusal */
	long			 reuse;		/* seconds; 0: no reuse */
	int			 password;	/* allow prompts */
	int			 agent;		/* the agent may sign */
	const char		*certificate;	/* certificate = PATH, or NULL */
	int			 certauto;	/* certificate = auto */
	/* "file:line" where each forced value was set, for messages. */
	const char		*hostname_at;
	const char		*user_at;
	const char		*identity_at;
	const char		*port_at;
	const char		*agent_at;
	const char		*certificate_at;
	/* The ledger: NULL (the local files) or a shared store's URL. */
	const char		*ledger;
	const char		*ledger_at;	/* its file:line */
	const char		*ledger_prefix;	/* key prefix; "safessh:" */
	int			 ledger_required; /* refuse when unreachable */
};

struct conf;

/* A new configuration holding only the built-in defaults and policies. */
struct conf	*conf_new(void);
/*
 * Read one INI file into conf, later values winning.  A missing file is
 * not an error unless must_exist.  The file must not be a symlink,
 * group/world-writable, or owned by anyone but the user or root.
 * Returns 0, or -1 with *cause naming "file:line: ...".
 */
int	 conf_load(struct conf *, const char *, int, char **);
/* Load the configured file set (SPEC "Files"), honouring SAFESSH_CONFIG. */
int	 conf_load_default(struct conf *, char **);
/* Settings for host (the alias as typed); strings belong to conf. */
int	 conf_host(const struct conf *, const char *, struct hostconf *,
	    char **);
const struct policy *conf_policy(const struct conf *, const char *);
void	 conf_free(struct conf *);
/* "30", "30s", "10m", "2h", "1d", "1h30m" -> seconds; 0 or -1. */
int	 conf_duration(const char *, long *);
/* ssh_config-style pattern list ("a*,!b" or space separated); 1/0. */
int	 conf_match(const char *, const char *);
/*
 * The i-th file conf_load() was given, in order: 0 with its path and
 * whether it was read (1) or not there (0); -1 past the end.
 */
int	 conf_file(const struct conf *, size_t, const char **, int *);
/*
 * The i-th [host] section read, in order: 0 with its patterns (blank
 * separated) and "file:line"; -1 past the end.  Strings belong to conf.
 */
int	 conf_section(const struct conf *, size_t, const char **,
	    const char **);
/* Each configuration key, for the documentation test; NULL-terminated. */
extern const char *const conf_keys[];

/* -------------------------------------------------------------- policy.c */

/* How an attempt ended (or where it is). Stored by name in the ledger. */
enum outcome {
	OUT_INFLIGHT,	/* started; not authenticated, not ended */
	OUT_AUTH,	/* authenticated; the session may still run */
	OUT_OK,		/* ended after a session, or ssh exited != 255 */
	OUT_AUTHFAIL,	/* tried to authenticate and failed */
	OUT_NOAUTH,	/* ended before authenticating; no ban sign */
	OUT_BAN,	/* the server refused this source: ban signature */
	OUT_DROP,	/* closed before the banner, no recent failure */
	OUT_NET,	/* local or network problem; the server saw nothing */
	OUT_LOST,	/* safessh died before the outcome was known */
	OUT_UNKNOWN,	/* exit 255, cause unseen: a failed login (deny) */
	OUT_MAX
};

const char	*outcome_name(enum outcome);
int		 outcome_byname(const char *, enum outcome *);

#define ATTEMPT_HOSTLEN	256
#define ATTEMPT_WHOLEN	512
#define ATTEMPT_CLIENTLEN 64

struct attempt {
	uint64_t	 id;
	time_t		 start;
	time_t		 end;		/* time of the last change */
	enum outcome	 outcome;
	int		 proven;	/* admitted on a just-proven key */
	pid_t		 pid;		/* the safessh process */
	unsigned long long pstart;	/* its start time (boot ticks); 0 */
	int		 port;		/* the server's port; 0: unknown */
	char		 host[ATTEMPT_HOSTLEN];	/* the alias as typed */
	char		 who[ATTEMPT_WHOLEN];	/* "user key": the credential */
	char		 client[ATTEMPT_CLIENTLEN]; /* shared: who made it; "" */
};

/* A server's state (G3), shared by every process through the ledger. */
enum sstate {
	SS_OK,		/* no sign of refusal */
	SS_SUSPECT,	/* one refusal, clean history: overload?  one probe */
	SS_BLOCKED	/* refusing: no attempt until, then one probe */
};

struct srvstate {
	enum sstate	 state;
	time_t		 since;		/* entered this state */
	time_t		 until;		/* no attempt before (back-off end) */
	long		 step;		/* the current back-off, seconds */
	uint64_t	 probe;		/* the attempt that is the probe; 0 */
	char		 why[128];	/* the evidence, for messages */
};

/*
 * What a server's own answers taught about its limits (learn.c): at most
 * max_failures failed connections per window, and a ban that lasted at
 * least cooldown.  Only ever tightened automatically; kept by compaction
 * and by --forget, dropped by --forget --limits.
 */
struct learned {
	int		 max_failures;	/* 0: no count learned */
	long		 window;	/* seconds */
	long		 cooldown;	/* longest ban seen, seconds; 0: none */
	time_t		 since;		/* when it was last tightened */
	time_t		 banat;		/* the ban under way began; 0: none */
	char		 why[128];	/* "a ban after 3 failures in 4m at
					   14:05" */
};

/* One server's recent history, as read from the ledger. */
struct history {
	struct attempt	*att;		/* oldest first */
	size_t		 natt;
	struct srvstate	 st;
	struct learned	 lr;
};

enum verdict {
	V_ADMIT,	/* go now */
	V_WAIT,		/* all parallel slots busy: poll again shortly */
	V_DELAY,	/* the budget recovers at until */
	V_REFUSE	/* until (0: until the user acts) */
};

struct decision {
	enum verdict	 verdict;
	time_t		 until;
	int		 proven;	/* admit on a just-proven key */
	int		 probe;		/* this attempt is the server's probe */
	int		 state;		/* the server's state bound the verdict */
	int		 slot;		/* V_WAIT only for a parallel slot */
	uint64_t	 newest;	/* the newest attempt's id: progress */
	char		 why[256];	/* "2 failed connections in the last 30m" */
};

/*
 * Decide whether one more attempt by who may start now, counting each
 * attempt in flight as a potential failure unless it was proven.
 * Pure: no clock, no I/O.
 */
/* Does (v, until) bind over best: an endless refusal, then the latest
 * end among refusals and delays (a refusal over a delay that ends with
 * it), then a wait; the first of equals stays. */
int	 policy_outranks(const struct decision *, enum verdict, time_t);
void	 policy_decide(const struct policy *, const struct history *,
	    const char *, int, time_t, struct decision *);
/* The modelled PerSourcePenalties total at now, in seconds (0 if none). */
double	 policy_penalty(const struct policy *, const struct history *,
	    time_t);
/* Failed logins (AUTHFAIL, LOST, UNKNOWN) in [now - window, now]. */
int	 policy_failures(const struct history *, long, time_t);
/* The server's LoginGraceTime (policy's login_grace, else 120 s). */
long	 policy_grace(const struct policy *);
/* The policy's longest window, for pruning and --status. */
long	 policy_horizon(const struct policy *);

/* What ssh's output and status say, before history is considered. */
enum rawout {
	RAW_OK,		/* a session ran, or exit != 255 */
	RAW_AUTHFAIL,	/* Permission denied / Too many authentication ... */
	RAW_PREBANNER,	/* closed or reset before the banner or auth */
	RAW_NOTALLOWED,	/* "Not allowed at this time" (proxy sees it) */
	RAW_REFUSED,	/* connect: Connection refused */
	RAW_TIMEOUT,	/* connect or banner timed out */
	RAW_HOSTKEY,	/* host key verification failed / changed */
	RAW_NET,	/* could not resolve, unreachable: local */
	RAW_NOAUTH,	/* answered, closed before authentication began */
	RAW_UNKNOWN	/* exit 255 and no cause seen: a failed login */
};


/* ------------------------------------------------------------- attempt.c */

struct ledger;

/* One attempt, as admission and settling see it. */
struct attreq {
	const struct policy	*policy;
	const char		*host;		/* the alias as typed */
	const char		*who;		/* credential: user key addr:port */
	int			 port;		/* the server's port; 0 */
	int			 parallel;
	int			 check;		/* --check: the user's probe */
};

/* How an attempt was recorded, and the server's state after it. */
struct settlement {
	enum outcome	 outcome;
	struct srvstate	 st;
	int		 changed;	/* st is new */
	int		 retry;		/* ours is the suspect's one retry */
	int		 closedport;	/* refused where nothing listens */
	struct learned	 lr;		/* what the server taught, after it */
	int		 lchanged;	/* lr is new */
};

const char	*sstate_name(enum sstate);
int		 sstate_byname(const char *, enum sstate *);
/* The server's state as it stands at now (clock jumps tamed). */
void	 attempt_state(const struct history *, time_t, struct srvstate *);
/* Pure: may the attempt start now (budget and state)? */
void	 attempt_decide(const struct attreq *, const struct history *,
	    time_t, struct decision *);
/* Pure: record attempt (NULL: gone) ended with raw; the state after. */
void	 attempt_next(const struct attreq *, const struct history *,
	    const struct attempt *, enum rawout, time_t, long,
	    struct settlement *);
/* Decide and reserve in one transaction; never sleeps.  0 or -1. */
int	 attempt_admit(struct ledger *, const struct attreq *, time_t, int,
	    struct decision *, uint64_t *, char **);
/* Classify, record, move the state in one transaction.  0 or -1. */
int	 attempt_settle(struct ledger *, const struct attreq *, uint64_t,
	    enum rawout, time_t, long, struct settlement *, char **);
/* The notice: id authenticated; a probe's makes the server ok. */
int	 attempt_authed(struct ledger *, uint64_t, time_t, char **);
/* The server's state as one line of text (--status, --doctor). */
void	 attempt_describe(const struct history *, time_t, char *, size_t);

/* --------------------------------------------------------------- learn.c */

/* Anything learned at all? */
int	 learn_any(const struct learned *);
/*
 * Pure: a ban signature at now after the history h, under policy pol:
 * what the server taught (old tightened).  1 if *out differs from old.
 */
int	 learn_ban(const struct policy *, const struct history *,
	    const struct learned *, time_t, struct learned *);
/*
 * Pure: the server answered a probe at now while blocked since
 * st->since: the ban lasted at least that long.  1 if *out changed.
 */
int	 learn_lifted(const struct learned *, const struct srvstate *, time_t,
	    struct learned *);
/*
 * The policy in force: pol with the learned count rule added (named in
 * out->learnlabel) and the longer cooldown.  *out is pol's copy when
 * nothing is learned; 1 if a learned rule was added.
 */
int	 learn_policy(const struct policy *, const struct learned *,
	    struct policy *);
/* One line for --status: "learned: at most 2 failed in 10m (...)". */
void	 learn_describe(const struct learned *, char *, size_t);
/* A policy's rules as one line: "4 failed/10m, penalty 5s/10s". */
void	 learn_rules(const struct policy *, char *, size_t);

/* ------------------------------------------------------------- outcome.c */

/* A streaming reader of ssh's stderr lines. */
struct scan {
	int	 authfail;
	int	 prebanner;
	int	 notallowed;
	int	 refused;
	int	 timeout;
	int	 hostkey;
	int	 net;
};

void	 outcome_init(struct scan *);
/* Feed one line of ssh's stderr (no newline; may hold any bytes). */
void	 outcome_line(struct scan *, const char *, size_t);
/* Classify: authed is 1 if authentication was seen to succeed. */
enum rawout outcome_classify(const struct scan *, int, int);

/* -------------------------------------------------------------- ledger.c */

/*
 * The ledger: one file per server under the state directory, appended
 * under a lock, compacted atomically.  See safessh(1), FILES.
 */
struct ledger;

/* Check or create the state directory (0700, ours, not a symlink). */
int	 ledger_statedir(char *, size_t, char **);
/* Open the ledger of server in dir; does not lock.  0 or -1. */
int	 ledger_open(struct ledger **, const char *, const char *, char **);
/*
 * Lock and read the server's history into h (freed by history_free).
 * Attempts in flight whose process is gone become OUT_LOST.  A damaged file gives -1 with a cause naming
 * file:line and leaves the file as it was.
 */
int	 ledger_lock(struct ledger *, struct history *, time_t, char **);
/* While locked: append a new attempt (a->id is assigned). */
int	 ledger_begin(struct ledger *, struct attempt *, char **);
/* While locked: record the server's new state. */
int	 ledger_state(struct ledger *, const struct srvstate *, char **);
/* While locked: record an attempt's new outcome at t. */
int	 ledger_outcome(struct ledger *, uint64_t, enum outcome, time_t,
	    char **);
void	 ledger_unlock(struct ledger *);
/*
 * Write what was queued while locked and unlock: 0, 1 when another
 * client changed the ledger first (a shared store: read and decide
 * again), or -1 with *cause.  The file ledger writes at once: always 0.
 */
int	 ledger_commit(struct ledger *, char **);
/* The ledger's clock (a shared store's, so that clients agree). */
time_t	 ledger_now(struct ledger *);
/* Lock, record the attempt's new outcome at t, unlock. */
int	 ledger_settle(struct ledger *, uint64_t, enum outcome, time_t,
	    char **);
void	 ledger_close(struct ledger *);
/*
 * Remove a server's history (--forget); what was learned stays (the
 * file then holds only its "l" line).  0, 1 if something learned
 * stays, or -1.
 */
int	 ledger_forget(const char *, const char *, char **);
/* The same, dropping what was learned too (--forget --limits). */
int	 ledger_forget_limits(const char *, const char *, char **);
/* While locked: record what the server taught (the last one wins). */
int	 ledger_learn(struct ledger *, const struct learned *, char **);
/* The servers with a ledger in dir; caller frees each and the array. */
int	 ledger_servers(const char *, char ***, size_t *, char **);
void	 history_free(struct history *);
/*
 * A shared ledger (store.c): the server's ledger under hc's "ledger ="
 * (NULL, or no ledger set: ledger_open's local files).  The store is
 * reached lazily, at the first lock or ledger_now; a store that fails
 * then gives -1 (ledger_required) or makes the ledger this machine's
 * local files for the rest of the call, with one line to say so
 * (ledger_warning).  Every attempt begun through the store is recorded
 * in the local files too.  0 or -1.
 */
int	 ledger_open_conf(struct ledger **, const char *, const char *,
	    const struct hostconf *, char **);
/* The one line to print about a fallen-back store, once; else NULL. */
char	*ledger_warning(struct ledger *);
/* "redis://127.0.0.1:6379/0 (shared, prefix safessh:)" or "local files". */
void	 ledger_describe(const struct ledger *, char *, size_t);
/* Is the ledger a shared store (and not fallen back)?  1 or 0. */
int	 ledger_shared(const struct ledger *);
/* How many commits another client beat (a shared ledger's retries). */
unsigned long ledger_conflicts(const struct ledger *);
/* How many times a shared ledger found its server's lock taken. */
unsigned long ledger_lockwaits(const struct ledger *);
/* Did a required shared store fail (a refusal, not our error)?  1/0. */
int	 ledger_refusing(const struct ledger *);
/* This machine's client id for shared ledgers (state dir); 0 or -1. */
int	 ledger_client(const char *, char *, size_t, char **);
/*
 * --forget on an open ledger of either kind (the shared history for
 * every machine): 0, 1 if something learned stays, or -1.
 */
int	 ledger_wipe(struct ledger *, int, char **);
/*
 * The servers of hc's ledger (shared: the store's keys; else dir's
 * files); *warn (caller frees) when the store failed and dir was read.
 */
int	 ledger_list(const char *, const struct hostconf *, char ***, size_t *,
	    char **, char **);

/* --------------------------------------------------------------- store.c */

enum lkind {
	LK_FILES,	/* the local files (no URL) */
	LK_TCP,		/* redis://host:port/db */
	LK_UNIX		/* unix:/path */
};

/* A parsed "ledger =" value. */
struct ledgerurl {
	enum lkind	 kind;
	char		 host[256];
	int		 port;
	char		 path[108];	/* sizeof(sun_path) */
	int		 db;
	char		 user[128];	/* "" : none */
	char		 pass[256];	/* "" : none */
	int		 haspass;
};

#define STORE_TIMEOUT_MS 300	/* connect and each read (one retry) */
#define STORE_COMMIT_MS	900	/* the answer to a sent EXEC */
#define STORE_PREFIX	"safessh:"

/* Parse a ledger = value; 0, or -1 with *why (static text). */
int	 ledgerurl_parse(const char *, struct ledgerurl *, const char **);
/* The URL as shown anywhere: the password as "***".  Pure. */
void	 ledgerurl_show(const struct ledgerurl *, char *, size_t);
/* A key prefix: 1 to 64 of [A-Za-z0-9_.:-]; 1 or 0. */
int	 store_prefix_ok(const char *);

struct store;

/* Connect (timeout ms), AUTH, SELECT.  0, or -1 with *cause. */
int	 store_open(struct store **, const struct ledgerurl *, const char *,
	    long, char **);
void	 store_close(struct store *);
/* The store's clock (TIME).  0 or -1. */
int	 store_time(struct store *, time_t *, char **);
#define STORE_LEASE_MS	3000	/* a server's lock runs out after */
#define STORE_LOCKWAIT_MS 60000	/* the longest wait for a server's lock */
#define STORE_WAKE_S	"0.1"	/* BLPOP on the wake list, seconds */
#define STORE_WAKE_TTL	"10000"	/* a wake token's life, ms */
/*
 * Take the server's lock (PREFIX "lock:" SERVER, a lease), WATCH it and
 * the list, read the list: each element and a LF appended to out.  0
 * locked, 1 when another client holds the lock (try again shortly), or
 * -1 with *cause (an element that is not one line is -2: damage).
 */
int	 store_read(struct store *, const char *, struct buf *, size_t *,
	    char **);
/* Give the server's lock back, if still ours (best effort). */
void	 store_unlock(struct store *, const char *);
/* UNWATCH.  0 or -1. */
int	 store_unwatch(struct store *, char **);
/*
 * MULTI; with base non-NULL DEL and RPUSH its lines; RPUSH add's lines;
 * PEXPIRE ttl seconds; DEL the lock; EXEC.  0, 1 if a watched key
 * changed (nothing written), or -1 with *cause.  The lock is given
 * back in every case.
 */
int	 store_commit(struct store *, const char *, const struct buf *,
	    const struct buf *, long, char **);
/* The servers that have a list (SCAN).  0 or -1. */
int	 store_servers(struct store *, char ***, size_t *, char **);
/* The store's epoch (PREFIX "epoch", set when it started empty). */
const char *store_epoch(const struct store *);
/* The key of a server's list, as redis-cli names it (allocated). */
char	*store_key(const struct store *, const char *);

/* ------------------------------------------------------------- sshconf.c */

#define SSHPROBE_MAXIDS	32

/* The user's ssh_config files as scanned (and, if needed, filtered). */
struct sshconf {
	char	 path[4096];	/* filtered top file for -F; "" if not needed */
	char	 stamp[32];	/* hash of every file's path and contents */
	int	 localcmd;	/* some file sets (Permit)LocalCommand */
	int	 dynamic;	/* Match exec: do not cache probes */
	char	*removed;	/* "file:line: IdentityFile\n"..., or NULL */
};

/* What "ssh -G" says about a destination, plus its resolved server. */
struct sshprobe {
	char	 hostname[1026];
	char	 user[256];
	int	 port;
	int	 family;
	char	*ids[SSHPROBE_MAXIDS];
	size_t	 nids;
	char	*certs[SSHPROBE_MAXIDS];
	size_t	 ncerts;
	char	 controlpath[4096];
	char	 controlmaster[16];
	int	 proxied;	/* ProxyCommand or ProxyJump in use */
	int	 jump;		/* ProxyJump (or -J) in use */
	char	 server[256];	/* first address, or the lowercased name */
	time_t	 resolved;
};

int	 sshconf_scan(const char *, const char *, struct sshconf *, char **);
void	 sshconf_free(struct sshconf *);
int	 sshconf_probe(const char *, char *const [], const char *, int,
	    time_t, struct sshprobe *, char **);
void	 sshconf_probe_free(struct sshprobe *);
void	 sshconf_server(const char *, int, char *, size_t);
/* The installed ssh's version (902 for 9.2; 0 unknown), cached. */
int	 sshconf_version(const char *, const char *, int *, char **);
/* Is a -F path our own filtered copy?  1 with the original (or NULL). */
int	 sshconf_unwrap(const char *, const char *, char **);
/* One removed line as ssh reads it: keyword, value, Host/Match block. */
void	 sshconf_where(const char *, long, char *, size_t, char *, size_t,
	    char *, size_t, long *);

/* --------------------------------------------------------------- child.c */

/* Called with each line of ssh's stderr (no newline, at most 4 KiB). */
typedef void child_line_cb(void *, const char *, size_t);

int	 child_find_ssh(const char *, char *, size_t, char **);
int	 child_run(char *const [], child_line_cb *, void *, int *, char **);
/* The same, running the program at path (argv[0] is only ssh's name). */
int	 child_run_as(const char *, char *const [], child_line_cb *, void *,
	    int *, char **);
/*
 * Run argv with stdin from /dev/null (stderr ours, or /dev/null when
 * quiet): 0 with its stdout in *text (caller frees) and its wait status,
 * or -1 with *cause.
 */
#define CAPTURE_QUIET	1	/* the child's stderr to /dev/null */
#define CAPTURE_STDERR	2	/* the child's stderr captured with stdout */
int	 child_capture(char *const [], int, char **, int *, char **);

/* --------------------------------------------------------------- proxy.c */

/* What the relay learns about the connection, reported as it happens. */
enum proxyev {
	PEV_BANNER,	/* the server sent "SSH-": it answered */
	PEV_NOTALLOWED,	/* "Not allowed at this time" before a banner */
	PEV_PREBANNER,	/* closed or reset before any banner */
	PEV_AUTHED,	/* the traffic shows authentication succeeded */
	PEV_AUTHFAIL,	/* the traffic shows a rejected key, client left */
	PEV_USERAUTH,	/* the client began user authentication */
	PEV_MANYKEYS,	/* it went on after a failure: several keys */
	PEV_CLOSED	/* both directions are done */
};

typedef void proxy_cb(void *, enum proxyev);

/*
 * Resolve host and port and connect, trying each address in order, each
 * bounded by timeout seconds.  Returns 0 with *fdp, or -1 with *rawp
 * (RAW_REFUSED, RAW_TIMEOUT or RAW_NET) and *cause.
 */
int	 proxy_connect(const char *, const char *, long, int *, enum rawout *,
	    char **);
/*
 * Relay between in/out and sock until both directions are done, with
 * half-close; cb (may be NULL) hears each event once.  0 or -1.
 */
int	 proxy_relay(int, int, int, proxy_cb *, void *, char **);

/* -------------------------------------------------------------- doctor.c */

/* sshd's default MaxAuthTries: a client cannot see the server's value. */
#define DOCTOR_MAXAUTHTRIES	6

/* What --doctor audits; safessh.c gathers it as the wrapper would. */
struct doctor {
	const char		*host;		/* alias as typed, or NULL */
	const struct conf	*conf;
	const struct hostconf	*hc;		/* with host: its settings */
	const struct sshconf	*sc;		/* sshconf_scan() result */
	const char		*ssh;		/* the real ssh */
	const char		*statedir;
	const char		*server;	/* with host: its ban domain */
	const char		*key;		/* the key safessh offers, "" */
	const char		*cert;		/* its certificate, or "" */
	time_t			 now;
};

/*
 * Audit the setup (agent, ~/.ssh/id_*, IdentityFile and CertificateFile
 * lines, certificates, safessh's settings, the ledger) and compare the
 * keys plain ssh offers with MaxAuthTries.  Runs "ssh -G", records no
 * attempt.  0 with the report in *report (caller frees) and the number
 * of problems in *problems, or -1 with *cause.
 */
int	 doctor_report(const struct doctor *, char **, int *, char **);

/* --------------------------------------------------------------- agent.c */

#define AGENT_MAXKEYS	2048

/* One key an agent holds. */
struct agentkey {
	char		*type;		/* "ssh-ed25519", from the blob */
	char		*comment;	/* control characters shown as '?' */
	unsigned char	*blob;
	size_t		 len;
};

/*
 * Ask the agent on the unix socket path for its keys (request 11,
 * answer 12), waiting at most timeout_ms for each step.  0 with *keys
 * (free with agent_free) and *nkeys, or -1 with *cause.
 */
int	 agent_list(const char *, int, struct agentkey **, size_t *,
	    char **);
void	 agent_free(struct agentkey *, size_t);
/* Does keys[0..n) hold the key blob?  1 or 0. */
int	 agent_holds(const struct agentkey *, size_t, const unsigned char *,
	    size_t);
/* The key blob of a "TYPE BASE64 [comment]" file (caller frees); 0/-1. */
int	 agent_pubfile(const char *, unsigned char **, size_t *);
/*
 * Read a private key file: *encrypted is 1 when it is protected by a
 * passphrase, 0 when not, -1 when the format does not say; *blob (may be
 * NULL; caller frees) is its public key when the file carries one
 * (OpenSSH's own format does, even encrypted).  0, or -1 with errno.
 */
int	 agent_keyfile(const char *, int *, unsigned char **, size_t *);
/* Is the first blob a certificate of the key that is the second?  1/0. */
int	 agent_certof(const unsigned char *, size_t, const unsigned char *,
	    size_t);

/* --------------------------------------------------------------- reuse.c */

/* ssh binds a master's socket as PATH.<16 random characters>, then links. */
#define REUSE_TMPSUFFIX	17
#define REUSE_PATHLEN	108	/* sizeof(sun_path) on Linux; checked */

/* How one call uses a master connection (see reuse_plan). */
enum reuseway {
	RU_NONE,	/* no multiplexing by safessh */
	RU_OURS,	/* safessh's master under the state directory */
	RU_USER		/* the ControlPath of the user's own ssh setup */
};

struct reuseplan {
	enum reuseway	 way;
	int		 check;		/* look for a live master first */
	int		 create;	/* RU_OURS: this call may become it */
	const char	*userpath;	/* RU_USER: ssh -G's expanded path */
};

/* A live master that safessh started, for --status and --forget. */
struct master {
	char	 path[REUSE_PATHLEN];
	char	 server[256];
	char	 host[ATTEMPT_HOSTLEN];
	pid_t	 pid;
};

/* Pure: decide from the command line, ssh -G and reuse (seconds). */
void	 reuse_plan(const struct sshcmd *, const struct sshprobe *, long,
	    struct reuseplan *);
/*
 * The control socket for id ("user key host:port server") under
 * statedir/cm, or /tmp/safessh-UID when that is too long for a Unix
 * socket; the directory is created 0700 and must be ours.  0 or -1.
 */
int	 reuse_path(const char *, const char *, char *, size_t, char **);
/*
 * Is a master answering on path (mux hello + alive check within ms)?
 * 1 with *pid, else 0.  ours: a stale or hung socket of ours is removed.
 */
int	 reuse_alive(const char *, int, long, pid_t *);
/* Ask the master on path to exit (MUX_C_TERMINATE).  0 or -1. */
int	 reuse_exit(const char *, long, char **);
/* Remember which server and host our master on path serves.  0 or -1. */
int	 reuse_note(const char *, const char *, const char *, const char *,
	    char **);
/* Live masters of server (NULL: all); caller frees *out.  0 or -1. */
int	 reuse_masters(const char *, const char *, struct master **,
	    size_t *, char **);
/* Close every master of server, waiting for each to go; 0 or -1. */
int	 reuse_close(const char *, const char *, size_t *, char **);
/* "%"-doubled path for -o ControlPath (allocated; NULL on ENOMEM). */
char	*reuse_escape(const char *);
/* The guard ProxyCommand: self --mux-lost NONCE; NULL if unquotable. */
char	*reuse_guard(const char *, const char *);
/* Put the mux client options right after av's argv[0].  0 or -1. */
int	 reuse_muxargs(struct arglist *, const char *, const char *);
/* 16 random hex digits (buf holds 17). */
void	 reuse_nonce(char *, size_t);
/* The guard's marker: take 0 sets it (0/-1), take 1 removes it (1/0). */
int	 reuse_lost(const char *, const char *, int);

#endif /* SAFESSH_H */
