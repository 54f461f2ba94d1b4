/*
 * proxy.c: ProxyCommand mode: connect to the server and relay bytes
 * between ssh (our stdin/stdout) and the socket, watching what the
 * server's traffic reveals about the attempt.
 *
 * What the relay can see.  Before the server's banner, plain lines:
 * "SSH-..." is the banner, "Not allowed at this time" is OpenSSH's
 * (>= 9.8) PerSourcePenalties refusal, and a close or reset before
 * either is a drop.  Up to and including NEWKEYS the binary packets are
 * plain too, so both KEXINITs are parsed and the server-to-client
 * cipher, MAC and compression negotiated here exactly as ssh does.
 * After NEWKEYS only sizes and order remain, and three facts make them
 * enough:
 *
 *  - During user authentication client and server take turns: the
 *    client sends a request and waits for the reply, and sshd flushes
 *    each USERAUTH_SUCCESS/FAILURE/PK_OK at once (ssh_packet_write_wait).
 *    So "the server's bytes since the client last spoke" is one reply.
 *  - USERAUTH_SUCCESS has a one-byte payload, so it is the smallest
 *    packet the cipher can produce: M = 28 bytes for chacha20-poly1305,
 *    36 for AES-GCM, 52 for aes256-ctr with hmac-sha2-256-etm, 48 with
 *    hmac-sha2-256.  Nothing else sshd sends before authentication is
 *    that small (SERVICE_ACCEPT carries "ssh-userauth", FAILURE a
 *    method list, PK_OK a key).
 *  - Every packet is aad + k * block + tail bytes, so with
 *    chacha20-poly1305, GCM or an -etm MAC (aad 4) a read's size modulo
 *    the block size tells one packet from two.  OpenSSH 10 sends its
 *    hostkeys-00 notice right after SUCCESS, and under load both arrive
 *    in one read (measured: 26 of 40 parallel logins to a 10.5 sshd
 *    read "s456" = 28 + 428, not "s28").
 *
 * The rules, counting encrypted client turns (1 SERVICE_REQUEST,
 * 2 the "none" probe, 3 the first key):
 *
 *  PEV_AUTHED   the first read of a server reply is exactly M; or, at
 *               turn 4 or later, it holds two or more packets and the
 *               previous reply was a single packet in a single read that
 *               a failure does not explain (not the size of the one-packet
 *               reply to "none", nor of a later reply): PK_OK, then
 *               SUCCESS and what follows it.  With aes-ctr and a non-etm
 *               MAC only the first form applies.
 *  PEV_AUTHFAIL no SUCCESS seen; the client made a request after its
 *               "none" probe (turn 3 or later, at most OBS_MAXFAILTURN:
 *               a session would take more); the server's last reply was
 *               a single read the size of an earlier failure, or smaller
 *               than the reply to "none" (which carries EXT_INFO before
 *               its FAILURE when both ends are OpenSSH >= 9.6, so the
 *               SPEC's "same size as the first failure" alone would miss
 *               it: measured s304 then s44); and then the client closed
 *               (EOF on in, or SIGHUP).  sshd counts such a connection
 *               as a failed authentication (EXIT_AUTH_ATTEMPTED).
 *
 * A key that is accepted (PK_OK) but never signed, e.g. a passphrase
 * key under BatchMode, ends with neither event, though sshd counts it as
 * attempted.  Nothing is claimed with unknown ciphers or "zlib"
 * compression (zlib@openssh.com starts after authentication: fine).
 *
 * Measured (SAFESSH_PROXY_TRACE), bytes per read in the encrypted
 * phase, user root, ed25519 key, OpenSSH 9.2p1 client, Debian's 9.2p1
 * sshd and OpenSSH 10.5p1's alike:
 *
 *   cipher, MAC        service  none     query  PK_OK/no   sign  SUCCESS
 *   chacha20-poly1305  c44 s44  c60 s44  c140   s100/s44   c308  s28
 *   aes128-gcm         c52 s52  c68 s52  c148   s100/s52   c308  s36
 *   aes256-ctr, etm    c68 s68  c84 s68  c164   s116/s68   c324  s52
 *   aes256-ctr, hmac   c64 s64  c80 s64  c160   s112/s64   c320  s48
 *
 * (etm: hmac-sha2-256-etm@openssh.com; hmac: hmac-sha2-256.  rsa-3072
 * changes the query to c500/c500/c516/c512, PK_OK to s460/s468/s484/
 * s480 and the signature to c988/c996/c1012/c1008.)
 *
 * With an OpenSSH 10.5 client against the 10.5 sshd the reply to
 * "none" grows by EXT_INFO (chacha: s304, gcm: s312, etm: s344, hmac:
 * s336) and SUCCESS may come as s456; the rules above hold for all of
 * these (tests/unit/test_proxy.c replays them; tests/regress/
 * proxy_relay.sh checks them against the installed sshd every run).
 * A 10.5 sshd with PerSourcePenalties answered the third connection
 * after a failure with "Not allowed at this time": PEV_NOTALLOWED.
 *
 * Moving bytes.  OpenSSH hands a ProxyCommand two pipes (sshconnect.c,
 * ssh_proxy_connect); sockets work too.  While observing, both
 * directions use read/write.  Afterwards the server-to-ssh direction
 * moves with splice(2): straight into out when it is a pipe, else
 * through a private pipe (EINVAL, e.g. a terminal or an O_APPEND file,
 * falls back to read/write).  ssh-to-server stays read/write: on Linux
 * 6.18, splicing into the TCP socket cost over twice the CPU of
 * write(2) (1 GiB over loopback, median of 10: 0.72 s vs 0.30 s, and
 * no better straight from ssh's pipe), while splicing from the socket
 * into a pipe was a little cheaper than read(2) (0.53 s vs 0.58 s).
 * SAFESSH_PROXY_SPLICE=both splices both ways, to measure elsewhere.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safessh.h"

#define COPYBUF		(64 * 1024)	/* read/write buffer per direction */
#define PIPEBUF		(256 * 1024)	/* splice pipe size we ask for */
#define OBS_LINEMAX	256		/* longest pre-banner line kept */
#define OBS_PREMAX	(64 * 1024)	/* pre-banner bytes before giving up */
#define OBS_KEXMAX	(64 * 1024)	/* largest KEXINIT we parse */
#define OBS_MAXTURN	12		/* encrypted client turns observed */
#define OBS_MAXFAILTURN	6		/* a failure closes by this turn */

/*
 * splice(2) is Linux's; elsewhere every direction uses read/write (the
 * stub only keeps the code in one piece).  ppoll(2) and pipe2(2) are in
 * the BSDs too.
 */
#ifndef __linux__
#define SPLICE_F_MOVE		0
#define SPLICE_F_NONBLOCK	0
static ssize_t
splice(int in, off_t *inoff, int out, off_t *outoff, size_t len, unsigned fl)
{
	errno = EINVAL;
	return -1;
}
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL		0	/* SIGPIPE is ignored while relaying */
#endif

#define MSG_KEXINIT	20
#define MSG_NEWKEYS	21

/* ------------------------------------------------------------ connect */

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * Connect fd to one address within timeout seconds (<= 0: the kernel's
 * own limit).  Returns 0, or the errno (ETIMEDOUT on our timeout).
 */
static int
connect_one(int fd, const struct sockaddr *sa, socklen_t salen, long timeout)
{
	struct timespec	t0;
	struct pollfd	pfd;
	socklen_t	len;
	long		left, ms;
	int		err, r;

	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return errno;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ms = timeout > 0 ? (timeout > INT_MAX / 1000 ? INT_MAX :
	    timeout * 1000) : -1;
	for (;;) {
		left = ms < 0 ? -1 : ms - elapsed_ms(&t0);
		if (ms >= 0 && left <= 0)
			return ETIMEDOUT;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (r == 0)
			return ETIMEDOUT;
		break;
	}
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	/*
	 * Established, then reset before we looked: the server answered.
	 * Hand the socket on so the relay reports it (PEV_PREBANNER), as
	 * ssh would ("kex_exchange_identification: ... reset").
	 */
	if (err == ECONNRESET || err == EPIPE)
		return 0;
	return err;
}

/* How telling a failed connect is: a refusal proves the host answered. */
static enum rawout
connect_class(int err, int *rank)
{
	switch (err) {
	case ECONNREFUSED:
		*rank = 3;
		return RAW_REFUSED;
	case ETIMEDOUT:
		*rank = 2;
		return RAW_TIMEOUT;
	default:
		/*
		 * ENETUNREACH, EHOSTUNREACH (also what an ICMP
		 * host-prohibited reject gives), EADDRNOTAVAIL,
		 * EAFNOSUPPORT (no IPv6 here): local or network.
		 */
		*rank = 1;
		return RAW_NET;
	}
}

/*
 * Resolve host and port (AF_UNSPEC, like ssh) and connect to each address
 * in turn, each within timeout seconds (<= 0: no limit of our own).
 * Returns 0 with a connected, blocking TCP socket in *fdp (TCP_NODELAY and
 * SO_KEEPALIVE on, close-on-exec), or -1 with *rawp and an allocated
 * *cause worded like ssh's own message.
 */
int
proxy_connect(const char *host, const char *port, long timeout, int *fdp,
    enum rawout *rawp, char **cause)
{
	struct addrinfo	 hints, *res, *ai;
	enum rawout	 raw, braw = RAW_NET;
	int		 gerr, fd, err, berr = 0, rank, brank = 0, on = 1, fl;

	*fdp = -1;
	*cause = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/*
	 * No AI_ADDRCONFIG: glibc ignores loopback addresses when it
	 * decides which families are "configured", so on a machine with
	 * only loopback (containers, CI) it would drop ::1 and 127.0.0.1
	 * themselves.  ssh does not use it either; an address family that
	 * is not routed fails fast below and the next address is tried.
	 */
	if ((gerr = getaddrinfo(host, port, &hints, &res)) != 0) {
		*rawp = RAW_NET;
		*cause = xstrfmt("Could not resolve hostname %s: %s", host,
		    gerr == EAI_SYSTEM ? strerror(errno) : gai_strerror(gerr));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			err = errno;
		else {
			err = connect_one(fd, ai->ai_addr, ai->ai_addrlen,
			    timeout);
			if (err == 0)
				break;
			close(fd);
		}
		raw = connect_class(err, &rank);
		if (rank > brank) {
			brank = rank;
			braw = raw;
			berr = err;
		}
	}
	freeaddrinfo(res);
	if (ai == NULL) {
		*rawp = braw;
		*cause = xstrfmt("connect to host %s port %s: %s", host, port,
		    berr == 0 ? "failure" : strerror(berr));
		return -1;
	}
	/* Small packets go at once; a dead peer is noticed eventually. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		err = errno;
		close(fd);
		*rawp = RAW_NET;
		*cause = xstrfmt("connect to host %s port %s: %s", host, port,
		    strerror(err));
		return -1;
	}
	*fdp = fd;
	return 0;
}

/* ------------------------------------------------------------ observe */

/* One direction's plain-text parser: banner line, then packets. */
struct side {
	int		 state;		/* SIDE_LINE, SIDE_PKT, SIDE_CRYPT */
	char		 line[OBS_LINEMAX];
	size_t		 linelen;
	size_t		 pre;		/* bytes before the banner */
	unsigned char	 hdr[6];	/* packet length, padding, type */
	size_t		 hdrlen;
	size_t		 left;		/* bytes of this packet still due */
	int		 type;
	unsigned char	*kex;		/* this side's KEXINIT payload */
	size_t		 kexlen, kexcap;
	int		 capture;	/* storing this packet's payload */
};

#define SIDE_LINE	0
#define SIDE_PKT	1
#define SIDE_CRYPT	2

struct obs {
	proxy_cb	*cb;
	void		*arg;
	int		 told[PEV_CLOSED + 1];
	int		 done;		/* nothing more to learn */
	int		 blind;		/* stopped at key exchange: unknown */
	int		 banner;
	struct side	 s, c;		/* server, client */
	size_t		 msize;		/* smallest server packet; 0: unknown */
	size_t		 block;		/* cipher block size */
	size_t		 r1;		/* one packet's size modulo block */
	int		 counts;	/* r1 tells one packet from two */
	int		 last;		/* 'c' or 's': who spoke last (crypt) */
	int		 turn;		/* encrypted client turns */
	size_t		 reply[OBS_MAXTURN + 1]; /* server reply per turn */
	int		 nreads[OBS_MAXTURN + 1]; /* its number of reads */
	FILE		*trace;
};

static void
obs_tell(struct obs *o, enum proxyev ev)
{
	static const char *const names[] = {
		"banner", "notallowed", "prebanner", "authed", "authfail",
		"userauth", "manykeys", "closed"
	};

	if (o->told[ev])
		return;
	o->told[ev] = 1;
	if (o->trace != NULL)
		fprintf(o->trace, "event %s\n", names[ev]);
	if (o->cb != NULL)
		o->cb(o->arg, ev);
}

/* Give up watching packets; lines and the banner are already settled. */
static void
obs_stop(struct obs *o, const char *why)
{
	if (!o->done && o->trace != NULL)
		fprintf(o->trace, "stop %s\n", why);
	o->done = 1;
}

/*
 * Give up at key exchange (a cipher, MAC or compression the rules do
 * not cover): what follows cannot be seen, so the end is judged as the
 * worst it could be (obs_end).
 */
static void
obs_blind(struct obs *o, const char *why)
{
	obs_stop(o, why);
	o->blind = 1;
}

/* A whole line arrived from the server before its banner. */
static void
obs_line(struct obs *o, const char *l, size_t len)
{
	while (len > 0 && (l[len - 1] == '\n' || l[len - 1] == '\r'))
		len--;
	if (len >= 4 && memcmp(l, "SSH-", 4) == 0) {
		o->banner = 1;
		obs_tell(o, PEV_BANNER);
	} else if (len == 24 && memcmp(l, "Not allowed at this time", 24) == 0)
		obs_tell(o, PEV_NOTALLOWED);
}

/* Name-list i (0-based) of a KEXINIT payload; 0, or -1 if malformed. */
static int
kex_list(const unsigned char *p, size_t len, int i, const char **lp,
    size_t *llp)
{
	size_t		off = 1 + 16;	/* type, cookie */
	uint32_t	n;

	for (;;) {
		if (len < off + 4)
			return -1;
		n = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 |
		    (uint32_t)p[off + 2] << 8 | p[off + 3];
		off += 4;
		if (n > len - off)
			return -1;
		if (i-- == 0) {
			*lp = (const char *)p + off;
			*llp = n;
			return 0;
		}
		off += n;
	}
}

/* The first name of the client's list also in the server's (ssh's rule). */
static int
kex_match(const struct obs *o, int i, char *out, size_t outlen)
{
	const char	*cl, *sl, *cn, *sn, *ce, *se;
	size_t		 cll, sll, n, m;

	if (kex_list(o->c.kex, o->c.kexlen, i, &cl, &cll) == -1 ||
	    kex_list(o->s.kex, o->s.kexlen, i, &sl, &sll) == -1)
		return -1;
	for (cn = cl; cn < cl + cll; cn = ce + 1) {
		if ((ce = memchr(cn, ',', cl + cll - cn)) == NULL)
			ce = cl + cll;
		n = ce - cn;
		for (sn = sl; sn < sl + sll; sn = se + 1) {
			if ((se = memchr(sn, ',', sl + sll - sn)) == NULL)
				se = sl + sll;
			m = se - sn;
			if (n == m && memcmp(cn, sn, n) == 0) {
				if (n >= outlen)
					return -1;
				memcpy(out, cn, n);
				out[n] = '\0';
				return 0;
			}
		}
	}
	return -1;
}

struct cipherinfo {
	const char	*name;
	unsigned	 block;
	unsigned	 tag;		/* AEAD tag length; 0: uses a MAC */
};

static const struct cipherinfo ciphers[] = {
	{ "chacha20-poly1305@openssh.com",	8,	16 },
	{ "aes128-gcm@openssh.com",		16,	16 },
	{ "aes256-gcm@openssh.com",		16,	16 },
	{ "aes128-ctr",				16,	0 },
	{ "aes192-ctr",				16,	0 },
	{ "aes256-ctr",				16,	0 },
	{ "aes128-cbc",				16,	0 },
	{ "aes192-cbc",				16,	0 },
	{ "aes256-cbc",				16,	0 },
	{ "rijndael-cbc@lysator.liu.se",	16,	0 },
	{ "3des-cbc",				8,	0 },
};

struct macinfo {
	const char	*name;
	unsigned	 len;
};

static const struct macinfo macs[] = {
	{ "hmac-sha2-256",		32 },
	{ "hmac-sha2-512",		64 },
	{ "hmac-sha1",			20 },
	{ "hmac-sha1-96",		12 },
	{ "hmac-md5",			16 },
	{ "hmac-md5-96",		12 },
	{ "umac-64@openssh.com",	8 },
	{ "umac-128@openssh.com",	16 },
	{ "umac-64",			8 },	/* umac-64-etm@openssh.com */
	{ "umac-128",			16 },	/* umac-128-etm@openssh.com */
};

/*
 * Both KEXINITs are in: work out the size of the smallest packet the
 * server can send under the negotiated cipher (OpenSSH's padding rule,
 * packet.c: pad to the block size, length field excluded when it is
 * authenticated data, at least 4 bytes of padding).
 */
static void
obs_negotiate(struct obs *o)
{
	char		 enc[128], mac[128], comp[128];
	const struct cipherinfo *ci = NULL;
	size_t		 i, n, len, pad, aad, tail = 0;
	int		 etm = 0;

	/* Lists: kex, hostkey, enc c2s, enc s2c, mac c2s, mac s2c, ... */
	if (kex_match(o, 3, enc, sizeof(enc)) == -1 ||
	    kex_match(o, 7, comp, sizeof(comp)) == -1) {
		obs_blind(o, "no agreement");
		return;
	}
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (strcmp(ciphers[i].name, enc) == 0)
			ci = &ciphers[i];
	if (ci == NULL) {
		obs_blind(o, "unknown cipher");
		return;
	}
	/* zlib@openssh.com starts after authentication: fine. */
	if (strcmp(comp, "none") != 0 && strcmp(comp, "zlib@openssh.com")) {
		obs_blind(o, "compression");
		return;
	}
	if (ci->tag != 0)
		tail = ci->tag;
	else {
		if (kex_match(o, 5, mac, sizeof(mac)) == -1) {
			obs_blind(o, "no mac");
			return;
		}
		n = strlen(mac);
		if (n > 16 && strcmp(mac + n - 16, "-etm@openssh.com") == 0) {
			etm = 1;
			mac[n - 16] = '\0';
		}
		for (i = 0; i < sizeof(macs) / sizeof(macs[0]); i++)
			if (strcmp(macs[i].name, mac) == 0)
				tail = macs[i].len;
		if (tail == 0) {
			obs_blind(o, "unknown mac");
			return;
		}
	}
	aad = (ci->tag != 0 || etm) ? 4 : 0;
	len = 4 + 1 + 1;		/* length, padding length, type */
	pad = ci->block - ((len - aad) % ci->block);
	if (pad < 4)
		pad += ci->block;
	o->msize = len + pad + tail;
	/*
	 * Every packet is aad + k * block + tail bytes long, so its size
	 * modulo the block size is r1 = (aad + tail) % block, and two
	 * packets leave 2 * r1: when r1 is not 0 (chacha20-poly1305, GCM,
	 * the -etm MACs) a read's size says whether it holds one packet
	 * or two.
	 */
	o->block = ci->block;
	o->r1 = (aad + tail) % ci->block;
	o->counts = o->r1 != 0;
	if (o->trace != NULL)
		fprintf(o->trace, "cipher %s%s%s%s min %zu\n", enc,
		    ci->tag ? "" : " mac ", ci->tag ? "" : mac,
		    etm ? "-etm" : "", o->msize);
}

/*
 * Feed one side's bytes through its banner line and plain packets.
 * Returns how many leading bytes were plain; the rest are encrypted.
 */
static size_t
obs_plain(struct obs *o, struct side *sd, const unsigned char *p, size_t n)
{
	size_t		 i = 0, k, plen;
	unsigned char	*nk;

	while (i < n && sd->state != SIDE_CRYPT &&
	    !(o->done && sd->state == SIDE_PKT)) {
		if (sd->state == SIDE_LINE) {
			if (sd->linelen < sizeof(sd->line))
				sd->line[sd->linelen++] = p[i];
			if (++sd->pre > OBS_PREMAX) {
				/* Not SSH: stop looking for lines too. */
				obs_stop(o, "long pre-banner");
				sd->state = SIDE_CRYPT;
				return n;
			}
			if (p[i++] != '\n')
				continue;
			if (sd == &o->s)
				obs_line(o, sd->line, sd->linelen);
			if (sd->linelen >= 4 &&
			    memcmp(sd->line, "SSH-", 4) == 0)
				sd->state = SIDE_PKT;
			sd->linelen = 0;
			continue;
		}
		/* SIDE_PKT: header first, then the rest of the packet. */
		if (sd->hdrlen < sizeof(sd->hdr)) {
			sd->hdr[sd->hdrlen++] = p[i++];
			if (sd->hdrlen < sizeof(sd->hdr))
				continue;
			plen = (size_t)sd->hdr[0] << 24 | sd->hdr[1] << 16 |
			    sd->hdr[2] << 8 | sd->hdr[3];
			if (plen < 2 || plen > 256 * 1024) {
				obs_stop(o, "bad packet");
				return n;
			}
			sd->type = sd->hdr[5];
			sd->left = plen - 2;
			sd->capture = 0;
			if (sd->type == MSG_KEXINIT && sd->kex == NULL) {
				if (plen > OBS_KEXMAX ||
				    (nk = malloc(plen)) == NULL) {
					obs_stop(o, "kexinit");
					return n;
				}
				sd->kex = nk;
				sd->kexcap = plen;
				sd->kex[0] = MSG_KEXINIT;
				sd->kexlen = 1;
				sd->capture = 1;
			}
		} else {
			k = n - i < sd->left ? n - i : sd->left;
			if (sd->capture) {
				memcpy(sd->kex + sd->kexlen, p + i, k);
				sd->kexlen += k;
			}
			i += k;
			sd->left -= k;
		}
		if (sd->hdrlen == sizeof(sd->hdr) && sd->left == 0) {
			/* A whole packet; drop the padding from KEXINIT. */
			if (sd->capture) {
				if ((size_t)sd->hdr[4] + 1 > sd->kexlen) {
					obs_stop(o, "bad kexinit");
					return n;
				}
				sd->kexlen -= sd->hdr[4];
				sd->capture = 0;
				if (o->c.kex != NULL && o->s.kex != NULL &&
				    o->c.capture == 0 && o->s.capture == 0)
					obs_negotiate(o);
			}
			if (sd->type == MSG_NEWKEYS) {
				sd->state = SIDE_CRYPT;
				if (o->trace != NULL)
					fprintf(o->trace, "%c newkeys, %zu "
					    "encrypted\n", sd == &o->s ? 's' :
					    'c', n - i);
			}
			sd->hdrlen = 0;
		}
	}
	return i;
}

/* Reply j came in one read of one packet, not one a failure repeats. */
static int
obs_pkok(const struct obs *o, int j)
{
	size_t	r = o->reply[j];
	int	i;

	if (j < 3 || o->nreads[j] != 1 || r % o->block != o->r1)
		return 0;
	/* The reply to "none", when it is one packet, is the failure. */
	if (o->nreads[2] == 1 && o->reply[2] % o->block == o->r1)
		return r != o->reply[2];
	for (i = 3; i < j; i++)
		if (o->reply[i] == r)
			return 0;
	return 1;
}

/*
 * Encrypted bytes, in arrival order.  A client turn is a run of client
 * reads; a server reply the run of server reads after it.  SUCCESS is
 * recognised (see the top of the file) when the first read of a reply
 * is exactly the smallest packet, or when it holds two or more packets
 * and answers the request that followed a one-packet reply which a
 * failure does not explain (PK_OK): SUCCESS with what sshd sends right
 * after it (OpenSSH 10's hostkeys-00 notice) in one read.
 */
static void
obs_crypt(struct obs *o, int who, size_t n)
{
	int	t = o->turn;

	if (n == 0 || o->done)
		return;
	if (who == 'c') {
		if (o->last != 'c' && ++o->turn > OBS_MAXTURN) {
			obs_stop(o, "turns");
			return;
		}
		o->last = 'c';
		/* Turn 2 is the first USERAUTH_REQUEST (1: SERVICE_REQUEST). */
		if (o->turn >= 2)
			obs_tell(o, PEV_USERAUTH);
		return;
	}
	if (o->last != 's') {
		o->last = 's';
		o->reply[o->turn] = 0;
		o->nreads[o->turn] = 0;
		if (t >= 1 && o->msize != 0 && (n == o->msize ||
		    (o->counts && t >= 4 && n >= 2 * o->msize &&
		    n % o->block != o->r1 && obs_pkok(o, t - 1)))) {
			obs_tell(o, PEV_AUTHED);
			obs_stop(o, "authed");
		}
	}
	o->reply[o->turn] += n;
	o->nreads[o->turn]++;
}

/* Bytes read from the server (who 's') or the client ('c'). */
static void
obs_data(struct obs *o, int who, const void *buf, size_t n)
{
	struct side	*sd = who == 's' ? &o->s : &o->c;
	size_t		 k = 0;

	if (o->trace != NULL && !o->done)
		fprintf(o->trace, "%c %zu\n", who, n);
	/* Lines before the server's banner are watched to the end. */
	if (o->done && !(who == 's' && sd->state == SIDE_LINE))
		return;
	if (sd->state != SIDE_CRYPT)
		k = obs_plain(o, sd, buf, n);
	if (sd->state == SIDE_CRYPT && k < n)
		obs_crypt(o, who, n - k);
}

/*
 * The connection is over.  Decide on an authentication failure (rule
 * at the top of the file) and report how it ended.  clientfirst: the
 * client closed before the server did.
 */
static void
obs_end(struct obs *o, int serverclosed, int clientfirst)
{
	size_t	last, none;
	int	i, t = o->turn;

	/* A server that closes because ssh left is not dropping us. */
	if (!o->banner && serverclosed && !clientfirst &&
	    !o->told[PEV_NOTALLOWED])
		obs_tell(o, PEV_PREBANNER);
	if (!o->done && !o->told[PEV_AUTHED] && clientfirst &&
	    o->last == 's' && t >= 3 && t <= OBS_MAXFAILTURN &&
	    o->nreads[t] == 1) {
		last = o->reply[t];
		none = o->reply[2];
		for (i = 2; i < t; i++)
			if (o->reply[i] == last)
				break;
		if (i < t || last < none)
			obs_tell(o, PEV_AUTHFAIL);
	}
	/* Blind after the banner: user authentication may have begun. */
	if (o->blind && o->banner && !o->told[PEV_AUTHED])
		obs_tell(o, PEV_USERAUTH);
	/*
	 * Requests after the first key's (turn 3) with no success: a client
	 * that offered several keys (or whose accepted key did not sign).
	 */
	if (!o->told[PEV_AUTHED] && t >= 4)
		obs_tell(o, PEV_MANYKEYS);
	if (o->trace != NULL) {
		fprintf(o->trace, "end turns %d", t);
		for (i = 0; i <= t && i <= OBS_MAXTURN; i++)
			fprintf(o->trace, " %zu", o->reply[i]);
		fprintf(o->trace, "\n");
	}
	obs_tell(o, PEV_CLOSED);
}

static void
obs_free(struct obs *o)
{
	free(o->s.kex);
	free(o->c.kex);
	if (o->trace != NULL)
		fclose(o->trace);
}

/* -------------------------------------------------------------- relay */

/* ssh sends its ProxyCommand SIGHUP as it exits (ssh_kill_proxy_command). */
static volatile sig_atomic_t relay_hup;

static void
relay_onhup(int sig)
{
	(void)sig;
	relay_hup = 1;
}

/* One direction: src -> (pipe or buffer) -> dst. */
struct dir {
	int		 src, dst;
	int		 dstsock;	/* dst is a socket: send(2) */
	int		 srcsock;
	int		 p[2];		/* splice pipe, or -1 */
	size_t		 pcap;
	char		*buf;		/* read/write buffer */
	size_t		 bcap, off;
	size_t		 count;		/* bytes held in pipe or buffer */
	int		 splice;	/* moving with splice now */
	int		 direct;	/* splice src to dst: one is a pipe */
	int		 blocked;	/* direct: dst full, await POLLOUT */
	int		 srcfifo, dstfifo;
	int		 cansplice;	/* may splice once observing is over */
	int		 eof;		/* src ended */
	int		 drop;		/* dst gone: read src, discard */
	int		 done;
};

static int
fd_type(int fd)
{
	struct stat	st;

	return fstat(fd, &st) == 0 ? (int)(st.st_mode & S_IFMT) : 0;
}

static int
dir_init(struct dir *d, int src, int dst, int cansplice)
{
	memset(d, 0, sizeof(*d));
	d->src = src;
	d->dst = dst;
	d->p[0] = d->p[1] = -1;
	d->srcsock = fd_type(src) == S_IFSOCK;
	d->dstsock = fd_type(dst) == S_IFSOCK;
	d->srcfifo = fd_type(src) == S_IFIFO;
	d->dstfifo = fd_type(dst) == S_IFIFO;
	d->cansplice = cansplice;
	d->bcap = COPYBUF;
	if ((d->buf = malloc(d->bcap)) == NULL)
		return -1;
	return 0;
}

static void
dir_free(struct dir *d)
{
	if (d->p[0] != -1)
		close(d->p[0]);
	if (d->p[1] != -1)
		close(d->p[1]);
	free(d->buf);
}

/* Switch to splice if allowed and the buffer is empty. */
static void
dir_try_splice(struct dir *d)
{
	int	sz;

	if (d->splice || !d->cansplice || d->count != 0 || d->drop)
		return;
	/* One end a pipe (ssh's, for a ProxyCommand): splice directly. */
	if (d->srcfifo || d->dstfifo) {
		d->direct = d->splice = 1;
		d->blocked = 0;
		return;
	}
	if (d->p[0] == -1) {
		if (pipe2(d->p, O_NONBLOCK | O_CLOEXEC) == -1) {
			d->cansplice = 0;
			return;
		}
		sz = 65536;
#ifdef F_SETPIPE_SZ
		/* A bigger pipe means fewer calls; the default is fine too. */
		(void)fcntl(d->p[1], F_SETPIPE_SZ, PIPEBUF);
		if ((sz = fcntl(d->p[1], F_GETPIPE_SZ)) <= 0)
			sz = 65536;
#endif
		d->pcap = sz;
	}
	d->splice = 1;
}

/* Splice is refused here: move what the pipe holds into the buffer. */
static int
dir_unsplice(struct dir *d)
{
	char	*nb;
	ssize_t	 r;
	size_t	 got = 0;

	d->cansplice = 0;
	d->splice = 0;
	if (d->count > d->bcap) {
		if ((nb = realloc(d->buf, d->count)) == NULL)
			return -1;
		d->buf = nb;
		d->bcap = d->count;
	}
	while (got < d->count) {
		r = read(d->p[0], d->buf + got, d->count - got);
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		got += r;
	}
	d->off = 0;
	return 0;
}

/* Errors that end a direction rather than the relay. */
static int
net_end(int e)
{
	return e == EPIPE || e == ECONNRESET || e == ETIMEDOUT ||
	    e == ENOTCONN || e == ESHUTDOWN || e == EHOSTUNREACH ||
	    e == ENETUNREACH || e == ECONNABORTED;
}

/* Stop moving bytes: dst is gone, what src still sends is read and dropped. */
static void
dir_drop(struct dir *d)
{
	d->drop = 1;
	d->count = 0;
	d->splice = d->direct = d->blocked = 0;
}

/*
 * Direct splice from src to dst, after src polled readable (afterout 0)
 * or dst polled writable (1).  Returns as dir_fill(), and -4 when dst
 * is gone.  EAGAIN is ambiguous here (src empty or dst full), so it is
 * taken to mean the side that was not just polled.
 */
static ssize_t
dir_direct(struct dir *d, int afterout)
{
	ssize_t	r;

	r = splice(d->src, NULL, d->dst, NULL, PIPEBUF,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (r >= 0) {
		d->blocked = 0;
		return r;
	}
	switch (errno) {
	case EAGAIN:
		d->blocked = !afterout;
		return -2;
	case EINTR:
		return -2;
	case EINVAL:
		/* Not for these descriptors: read/write from now on. */
		d->splice = d->direct = d->cansplice = d->blocked = 0;
		return -2;
	case EPIPE:
		return -4;
	default:
		if (!net_end(errno))
			return -1;
		return d->srcsock ? -3 : -4;
	}
}

/*
 * Read from src.  Returns the bytes read (0 at EOF), -2 for "nothing
 * now", -3 for a reset, -4 (direct splice) when dst is gone, or -1 with
 * errno for a local error.
 */
static ssize_t
dir_fill(struct dir *d, struct obs *o, int who)
{
	char	*end;
	size_t	 room;
	ssize_t	 r;

	if (d->direct && !d->drop)
		return dir_direct(d, 0);
	if (d->splice && !d->drop) {
		r = splice(d->src, NULL, d->p[1], NULL, d->pcap - d->count,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (r == -1 && errno == EINVAL && d->count == 0) {
			d->splice = d->cansplice = 0;
			return dir_fill(d, o, who);
		}
	} else if (d->drop) {
		r = d->srcsock ? recv(d->src, d->buf, d->bcap, 0) :
		    read(d->src, d->buf, d->bcap);
		if (r > 0)
			return r;
	} else {
		if (d->count == 0)
			d->off = 0;
		else if (d->off + d->count == d->bcap) {
			memmove(d->buf, d->buf + d->off, d->count);
			d->off = 0;
		}
		end = d->buf + d->off + d->count;
		room = d->bcap - d->off - d->count;
		r = d->srcsock ? recv(d->src, end, room, 0) :
		    read(d->src, end, room);
		if (r > 0)
			obs_data(o, who, end, r);
	}
	if (r == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return -2;
		if (net_end(errno))
			return -3;
		return -1;
	}
	if (r > 0)
		d->count += r;
	return r;
}

/* Write to dst.  Returns 0, 1 if dst is gone, or -1 with errno. */
static int
dir_drain(struct dir *d)
{
	ssize_t	r;

	if (d->count == 0)
		return 0;
	if (d->splice) {
		r = splice(d->p[0], NULL, d->dst, NULL, d->count,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (r == -1 && errno == EINVAL) {
			if (dir_unsplice(d) == -1)
				return -1;
			return dir_drain(d);
		}
	} else if (d->dstsock)
		r = send(d->dst, d->buf + d->off, d->count, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
	else
		r = write(d->dst, d->buf + d->off, d->count);
	if (r == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (net_end(errno))
			return 1;
		return -1;
	}
	d->count -= r;
	if (!d->splice)
		d->off = d->count == 0 ? 0 : d->off + r;
	return 0;
}

/* Tell ssh the server is done: close out, keeping the number in use. */
static void
close_out(int out, int outsock)
{
	int	fd;

	if (outsock && shutdown(out, SHUT_WR) == 0)
		return;
	/*
	 * dup2 over it rather than close(2), so a later open() cannot
	 * take descriptor 1 and receive stray output.
	 */
	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1) {
		close(out);
		return;
	}
	if (fd != out) {
		dup2(fd, out);
		close(fd);
	}
}

/* Does d wait for its source to be readable / its sink writable? */
static int
dir_wantin(const struct dir *d)
{
	if (d->done || d->eof)
		return 0;
	if (d->drop)
		return 1;
	if (d->direct)
		return !d->blocked;
	return d->count < (d->splice ? d->pcap : d->bcap);
}

static int
dir_wantout(const struct dir *d)
{
	if (d->done || d->drop)
		return 0;
	return d->direct ? d->blocked : d->count > 0;
}

static int
relay_loop(int sock, struct dir *up, struct dir *down, struct obs *o,
    const sigset_t *pollmask, char **cause)
{
	struct pollfd	 pfd[5];
	int		 n, iu, ou, id, od, oo, r, rst = 0, clientfirst = -1;
	ssize_t		 got;

	while (!up->done || !down->done) {
		/* Lines before the banner are watched until it comes. */
		if (o->done) {
			dir_try_splice(up);
			if (o->banner || o->s.state == SIDE_CRYPT)
				dir_try_splice(down);
		}
		n = 0;
		iu = ou = id = od = oo = -1;
		if (dir_wantin(up)) {
			pfd[n].fd = up->src;
			pfd[n].events = POLLIN;
			iu = n++;
		}
		if (dir_wantout(up)) {
			pfd[n].fd = sock;
			pfd[n].events = POLLOUT;
			ou = n++;
		}
		if (dir_wantin(down)) {
			pfd[n].fd = sock;
			pfd[n].events = POLLIN;
			id = n++;
		}
		if (dir_wantout(down)) {
			pfd[n].fd = down->dst;
			pfd[n].events = POLLOUT;
			od = n++;
		} else if (!down->done && !down->drop) {
			/* Watch for ssh going away (POLLERR on the pipe). */
			pfd[n].fd = down->dst;
			pfd[n].events = 0;
			oo = n++;
		}
		if (n == 0)
			break;
		/* SIGHUP is let in only while waiting here. */
		if (ppoll(pfd, n, NULL, pollmask) == -1) {
			if (errno != EINTR) {
				*cause = xstrfmt("poll: %s", strerror(errno));
				return -1;
			}
			if (relay_hup) {
				/* ssh has exited: both directions end. */
				if (o->trace != NULL)
					fprintf(o->trace, "c hangup\n");
				if (clientfirst == -1)
					clientfirst = !down->eof;
				up->eof = 1;
				dir_drop(up);
				down->drop = 1;
				if (!down->done) {
					down->done = 1;
					shutdown(sock, SHUT_RD);
				}
				up->done = 1;
				shutdown(sock, SHUT_WR);
			}
			continue;
		}

		/* Client to server. */
		got = -2;
		if (iu != -1 && pfd[iu].revents != 0)
			got = dir_fill(up, o, 'c');
		else if (ou != -1 && pfd[ou].revents != 0 && up->direct)
			got = dir_direct(up, 1);
		if (got == -1) {
			*cause = xstrfmt("read: %s", strerror(errno));
			return -1;
		}
		if (got == -4)
			dir_drop(up);	/* the server is gone */
		if (got == 0 || got == -3) {
			up->eof = 1;
			if (clientfirst == -1)
				clientfirst = !down->eof;
			if (o->trace != NULL)
				fprintf(o->trace, "c eof\n");
		}
		if (ou != -1 && pfd[ou].revents != 0 && !up->direct &&
		    !up->drop) {
			if ((r = dir_drain(up)) == -1) {
				*cause = xstrfmt("send: %s", strerror(errno));
				return -1;
			}
			/* The server is gone: swallow ssh's rest. */
			if (r == 1)
				dir_drop(up);
		}

		/* Server to client. */
		got = -2;
		if (id != -1 && pfd[id].revents != 0)
			got = dir_fill(down, o, 's');
		else if (od != -1 && pfd[od].revents != 0 && down->direct)
			got = dir_direct(down, 1);
		if (got == -1) {
			*cause = xstrfmt("recv: %s", strerror(errno));
			return -1;
		}
		if (got == -4)
			down->drop = 1;	/* ssh is gone */
		if (got == 0 || got == -3) {
			down->eof = 1;
			if (got == -3) {
				rst = 1;
				/* Nothing more can reach the server. */
				dir_drop(up);
			}
			if (o->trace != NULL)
				fprintf(o->trace, "s %s\n", got == 0 ?
				    "eof" : "reset");
		}
		if (od != -1 && pfd[od].revents != 0 && !down->direct &&
		    !down->drop) {
			if ((r = dir_drain(down)) == -1) {
				*cause = xstrfmt("write: %s", strerror(errno));
				return -1;
			}
			if (r == 1 || (pfd[od].revents & POLLERR))
				down->drop = 1;
		}
		if (oo != -1 && (pfd[oo].revents & (POLLERR | POLLHUP |
		    POLLNVAL)))
			down->drop = 1;

		/* Finish what is finished. */
		if (!up->done && up->eof && (up->count == 0 || up->drop)) {
			up->done = 1;
			if (!rst)
				shutdown(sock, SHUT_WR);
		}
		if (!down->done && down->drop) {
			/* ssh is gone; stop reading the server. */
			down->done = 1;
			down->count = 0;
			shutdown(sock, SHUT_RD);
		}
		if (!down->done && down->eof && down->count == 0) {
			down->done = 1;
			close_out(down->dst, down->dstsock);
		}
	}
	obs_end(o, down->eof, clientfirst == 1);
	return 0;
}

/*
 * Relay between in/out (ssh's side) and sock (the server) until both
 * directions are done: EOF on in shuts down sock for writing, EOF from
 * the server closes out (replaced by /dev/null, or shut down if out is a
 * socket) while in keeps flowing.  cb (may be NULL) hears each event of
 * enum proxyev at most once, PEV_CLOSED last.  SIGPIPE is ignored while
 * relaying; SIGHUP (what ssh sends its ProxyCommand as it exits) ends
 * the relay as if in and out had closed: the events are still reported
 * and the function returns 0; the caller should then finish promptly
 * (ssh does not wait for it).  Returns 0 when the connection ended
 * (even by a reset), or -1 with *cause for a local error (the caller
 * closes sock).
 *
 * SAFESSH_PROXY_TRACE=file appends the size of each read and each
 * event to file (debugging; the file is created 0600, never followed
 * through a symlink).  SAFESSH_PROXY_NOSPLICE=1 forces read/write both
 * ways; SAFESSH_PROXY_SPLICE=both splices client-to-server too.
 */
int
proxy_relay(int sock, int in, int out, proxy_cb *cb, void *arg,
    char **cause)
{
	struct sigaction sa, osa, ha, oha, ota;
	sigset_t	 hup, omask, pollmask;
	struct dir	 up, down;
	struct obs	 o;
	const char	*tr, *ns, *sp;
	int		 fd, fl, r, cansplice, upsplice;

	*cause = NULL;
	memset(&o, 0, sizeof(o));
	memset(&up, 0, sizeof(up));
	memset(&down, 0, sizeof(down));
	up.p[0] = up.p[1] = down.p[0] = down.p[1] = -1;
	o.cb = cb;
	o.arg = arg;
	if ((tr = getenv("SAFESSH_PROXY_TRACE")) != NULL && *tr != '\0' &&
	    (fd = open(tr, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) != -1) {
		if ((o.trace = fdopen(fd, "a")) == NULL)
			close(fd);
		else
			setvbuf(o.trace, NULL, _IOLBF, 0);
	}
	ns = getenv("SAFESSH_PROXY_NOSPLICE");
	cansplice = ns == NULL || *ns == '\0' || strcmp(ns, "0") == 0;
#ifndef __linux__
	cansplice = 0;
#endif
	/* Splicing into the TCP socket measured slower: see the top. */
	sp = getenv("SAFESSH_PROXY_SPLICE");
	upsplice = cansplice && sp != NULL && strcmp(sp, "both") == 0;

	if ((fl = fcntl(sock, F_GETFL)) == -1 ||
	    fcntl(sock, F_SETFL, fl | O_NONBLOCK) == -1) {
		*cause = xstrfmt("fcntl: %s", strerror(errno));
		obs_free(&o);
		return -1;
	}
	if (dir_init(&up, in, sock, upsplice) == -1 ||
	    dir_init(&down, sock, out, cansplice) == -1) {
		*cause = xstrfmt("%s", strerror(errno));
		dir_free(&up);
		dir_free(&down);
		obs_free(&o);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, &osa);
	/*
	 * SIGHUP means ssh is gone: block it, and let it in only during
	 * ppoll() so it cannot slip between a check and the wait.  No
	 * SA_RESTART: a blocking write to out returns EINTR too.
	 */
	relay_hup = 0;
	memset(&ha, 0, sizeof(ha));
	ha.sa_handler = relay_onhup;
	sigemptyset(&ha.sa_mask);
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigaddset(&hup, SIGTERM);
	sigprocmask(SIG_BLOCK, &hup, &omask);
	pollmask = omask;
	sigdelset(&pollmask, SIGHUP);
	sigdelset(&pollmask, SIGTERM);
	sigaction(SIGHUP, &ha, &oha);
	/* paramiko's ProxyCommand.close() sends SIGTERM: the same end. */
	sigaction(SIGTERM, &ha, &ota);

	r = relay_loop(sock, &up, &down, &o, &pollmask, cause);

	/* A pending SIGHUP lands in our handler before the old one returns. */
	sigprocmask(SIG_SETMASK, &omask, NULL);
	sigaction(SIGHUP, &oha, NULL);
	sigaction(SIGTERM, &ota, NULL);
	sigaction(SIGPIPE, &osa, NULL);
	dir_free(&up);
	dir_free(&down);
	obs_free(&o);
	return r;
}
