/*
 * agent.c: the ssh-agent protocol client (the keys an agent holds) and
 * the key files it signs for: a .pub file's key blob, and whether a
 * private key file is protected by a passphrase.
 *
 * The agent is asked directly over its socket (SSH2_AGENTC_REQUEST_-
 * IDENTITIES, draft-miller-ssh-agent) rather than through "ssh-add -l":
 * the request is five bytes and the answer a counted list, so there is
 * no output format to parse that changes between releases, no exit codes
 * to tell apart (ssh-add says 1 for an empty agent and 2 for none), no
 * dependence on ssh-add being installed, and the key blobs come back so
 * that agent keys can be matched against the .pub files as ssh does.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safessh.h"

#define SSH2_AGENTC_REQUEST_IDENTITIES	11
#define SSH2_AGENT_IDENTITIES_ANSWER	12
#define AGENT_MAXREPLY	(256 * 1024)	/* ssh's own limit on a reply */
#define KEYFILE_MAX	(64 * 1024)	/* a private key file is smaller */


static int
waitfd(int fd, short ev, int ms)
{
	struct pollfd	pfd;
	int		r;

	pfd.fd = fd;
	pfd.events = ev;
	while ((r = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	return r;
}

/* Read exactly len bytes within ms per read; 0, or -1 with errno. */
static int
readall(int fd, unsigned char *p, size_t len, int ms)
{
	ssize_t	r;

	while (len > 0) {
		if (waitfd(fd, POLLIN, ms) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if ((r = read(fd, p, len)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Take one SSH string from [*p, end): 0, or -1 if it overruns. */
static int
getstr(const unsigned char **p, const unsigned char *end,
    const unsigned char **s, size_t *len)
{
	uint32_t	n;

	if (end - *p < 4)
		return -1;
	n = util_get32(*p);
	if ((size_t)(end - *p) - 4 < n)
		return -1;
	*s = *p + 4;
	*len = n;
	*p += 4 + n;
	return 0;
}

static char *
strndup_print(const unsigned char *s, size_t len)
{
	char	*t;
	size_t	 i;

	if ((t = malloc(len + 1)) == NULL)
		return NULL;
	/* Comments are the user's text: keep the report one line each. */
	for (i = 0; i < len; i++)
		t[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
	t[len] = '\0';
	return t;
}

void
agent_free(struct agentkey *k, size_t n)
{
	size_t	i;

	for (i = 0; i < n && k != NULL; i++) {
		free(k[i].type);
		free(k[i].comment);
		free(k[i].blob);
	}
	free(k);
}

/* Parse an IDENTITIES_ANSWER body (after the type byte). */
static int
agent_parse(const unsigned char *p, const unsigned char *end,
    struct agentkey **keysp, size_t *nkeysp, char **cause)
{
	struct agentkey		*k;
	const unsigned char	*b, *c, *t, *q;
	size_t			 blen, clen, tlen, i;
	uint32_t		 n;

	if (end - p < 4) {
		*cause = xstrfmt("agent: short answer");
		return -1;
	}
	n = util_get32(p);
	p += 4;
	if (n > AGENT_MAXKEYS) {
		*cause = xstrfmt("agent: says it holds %u keys", n);
		return -1;
	}
	if ((k = calloc(n ? n : 1, sizeof(*k))) == NULL) {
		*cause = xstrfmt("out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (getstr(&p, end, &b, &blen) == -1 ||
		    getstr(&p, end, &c, &clen) == -1) {
			agent_free(k, i);
			*cause = xstrfmt("agent: answer cut short at key %zu "
			    "of %u", i + 1, n);
			return -1;
		}
		q = b;
		if (getstr(&q, b + blen, &t, &tlen) == -1)
			tlen = 0;	/* no type inside: show it as "?" */
		k[i].type = tlen ? strndup_print(t, tlen) : strdup("?");
		k[i].comment = strndup_print(c, clen);
		k[i].blob = malloc(blen ? blen : 1);
		if (k[i].type == NULL || k[i].comment == NULL ||
		    k[i].blob == NULL) {
			agent_free(k, i + 1);
			*cause = xstrfmt("out of memory");
			return -1;
		}
		memcpy(k[i].blob, b, blen);
		k[i].len = blen;
	}
	if (p != end) {
		agent_free(k, n);
		*cause = xstrfmt("agent: %zu stray bytes after the keys",
		    (size_t)(end - p));
		return -1;
	}
	*keysp = k;
	*nkeysp = n;
	return 0;
}

/*
 * Ask the agent listening on the unix socket sock for the keys it holds,
 * waiting at most timeout_ms for each step.  Returns 0 with *keysp (free
 * with agent_free) and *nkeysp, or -1 with *cause.
 */
int
agent_list(const char *sock, int timeout_ms, struct agentkey **keysp,
    size_t *nkeysp, char **cause)
{
	static const unsigned char req[5] = {
		0, 0, 0, 1, SSH2_AGENTC_REQUEST_IDENTITIES
	};
	struct sockaddr_un	 sun;
	unsigned char		 hdr[4], *body = NULL;
	uint32_t		 len;
	ssize_t			 w;
	size_t			 off = 0;
	int			 fd, r = -1;

	*keysp = NULL;
	*nkeysp = 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sock, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		*cause = xstrfmt("%s: socket path too long", sock);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xstrfmt("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		*cause = xstrfmt("%s: %s", sock, strerror(errno));
		goto out;
	}
	while (off < sizeof(req)) {
		if (waitfd(fd, POLLOUT, timeout_ms) <= 0) {
			errno = ETIMEDOUT;
			break;
		}
		if ((w = send(fd, req + off, sizeof(req) - off,
		    MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		off += (size_t)w;
	}
	if (off < sizeof(req) || readall(fd, hdr, 4, timeout_ms) == -1) {
		*cause = xstrfmt("%s: %s", sock, strerror(errno));
		goto out;
	}
	len = util_get32(hdr);
	if (len < 1 || len > AGENT_MAXREPLY) {
		*cause = xstrfmt("%s: answer of %u bytes", sock, len);
		goto out;
	}
	if ((body = malloc(len)) == NULL) {
		*cause = xstrfmt("out of memory");
		goto out;
	}
	if (readall(fd, body, len, timeout_ms) == -1) {
		*cause = xstrfmt("%s: %s", sock, strerror(errno));
		goto out;
	}
	if (body[0] != SSH2_AGENT_IDENTITIES_ANSWER) {
		*cause = xstrfmt("%s: the agent answered message %u, not %u",
		    sock, body[0], SSH2_AGENT_IDENTITIES_ANSWER);
		goto out;
	}
	r = agent_parse(body + 1, body + len, keysp, nkeysp, cause);
 out:
	free(body);
	close(fd);
	return r;
}

/* ------------------------------------------------------- key files */

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
agent_pubfile(const char *path, unsigned char **blob, size_t *len)
{
	FILE		*fp;
	char		 line[16384], *s, *e;
	unsigned char	*b;
	size_t		 n = 0;
	unsigned int	 acc = 0;
	int		 bits = 0, v;

	*blob = NULL;
	*len = 0;
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	s = fgets(line, sizeof(line), fp);
	fclose(fp);
	if (s == NULL || (s = strpbrk(line, " \t")) == NULL)
		return -1;
	s += strspn(s, " \t");
	e = s + strcspn(s, " \t\r\n");
	if ((b = malloc((size_t)(e - s) * 3 / 4 + 1)) == NULL)
		return -1;
	for (; s < e && *s != '='; s++) {
		if ((v = b64val((unsigned char)*s)) == -1) {
			free(b);
			return -1;
		}
		acc = (acc << 6) | (unsigned int)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			b[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (n == 0) {
		free(b);
		return -1;
	}
	*blob = b;
	*len = n;
	return 0;
}


/* Does keys[0..n) hold the key blob?  1 or 0. */
int
agent_holds(const struct agentkey *keys, size_t n, const unsigned char *blob,
    size_t len)
{
	size_t	i;

	for (i = 0; blob != NULL && i < n; i++)
		if (keys[i].len == len && memcmp(keys[i].blob, blob, len) == 0)
			return 1;
	return 0;
}

/* Decode base64 text [s, e) into an allocated buffer; 0 or -1. */
static int
b64dec(const char *s, const char *e, unsigned char **out, size_t *outlen)
{
	unsigned char	*b;
	unsigned int	 acc = 0;
	size_t		 n = 0;
	int		 bits = 0, v;

	if ((b = malloc((size_t)(e - s) * 3 / 4 + 1)) == NULL)
		return -1;
	for (; s < e && *s != '='; s++) {
		if (*s == '\n' || *s == '\r')
			continue;
		if ((v = b64val((unsigned char)*s)) == -1) {
			free(b);
			return -1;
		}
		acc = (acc << 6) | (unsigned int)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			b[n++] = (unsigned char)(acc >> bits);
		}
	}
	*out = b;
	*outlen = n;
	return 0;
}

/*
 * Read a private key file (see safessh.h).  OpenSSH's format
 * ("openssh-key-v1") names its cipher ("none" when not encrypted) and
 * carries the public key in the clear; the older PEM files say
 * "Proc-Type: 4,ENCRYPTED" or "BEGIN ENCRYPTED PRIVATE KEY".
 */
int
agent_keyfile(const char *path, int *encrypted, unsigned char **blob,
    size_t *len)
{
	static const char	 begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char	 magic[] = "openssh-key-v1";
	FILE			*fp;
	char			*text, *s, *e;
	unsigned char		*raw = NULL;
	const unsigned char	*p, *end, *cipher, *kdf, *kopt, *pub;
	size_t			 n, rawlen, clen, klen, olen, plen;

	*encrypted = -1;
	*blob = NULL;
	*len = 0;
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	if ((text = malloc(KEYFILE_MAX + 1)) == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(text, 1, KEYFILE_MAX, fp);
	fclose(fp);
	text[n] = '\0';
	if (strstr(text, "Proc-Type: 4,ENCRYPTED") != NULL ||
	    strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL) {
		*encrypted = 1;
		goto out;
	}
	if ((s = strstr(text, begin)) == NULL) {
		if (strstr(text, "-----BEGIN ") != NULL &&
		    strstr(text, "PRIVATE KEY-----") != NULL)
			*encrypted = 0;
		goto out;
	}
	s += sizeof(begin) - 1;
	if ((e = strstr(s, "-----END")) == NULL ||
	    b64dec(s + strspn(s, "\r\n"), e, &raw, &rawlen) == -1)
		goto out;
	if (rawlen < sizeof(magic) || memcmp(raw, magic, sizeof(magic)) != 0)
		goto out;
	p = raw + sizeof(magic);
	end = raw + rawlen;
	if (getstr(&p, end, &cipher, &clen) == -1 ||
	    getstr(&p, end, &kdf, &klen) == -1 ||
	    getstr(&p, end, &kopt, &olen) == -1 || end - p < 4 ||
	    util_get32(p) < 1)
		goto out;
	p += 4;
	*encrypted = !(clen == 4 && memcmp(cipher, "none", 4) == 0);
	if (getstr(&p, end, &pub, &plen) == 0 && plen > 0 &&
	    (*blob = malloc(plen)) != NULL) {
		memcpy(*blob, pub, plen);
		*len = plen;
	}
 out:
	free(raw);
	free(text);
	return 0;
}

/*
 * Is cert (a certificate's blob) a certificate of key (a plain key's
 * blob)?  A certificate carries "TYPE-cert-v01@openssh.com", a nonce,
 * then the key's own public fields as the plain blob has them after its
 * type.  1 if so, 0 if not (or either is malformed).
 */
int
agent_certof(const unsigned char *cert, size_t clen, const unsigned char *key,
    size_t klen)
{
	static const char	 suffix[] = "-cert-v01@openssh.com";
	const unsigned char	*cp = cert, *kp = key, *ct, *kt, *nonce;
	const unsigned char	*cend = cert + clen, *kend = key + klen;
	size_t			 ctl, ktl, nl, sl = sizeof(suffix) - 1;

	if (getstr(&cp, cend, &ct, &ctl) == -1 ||
	    getstr(&kp, kend, &kt, &ktl) == -1 ||
	    getstr(&cp, cend, &nonce, &nl) == -1)
		return 0;
	if (ctl != ktl + sl || memcmp(ct, kt, ktl) != 0 ||
	    memcmp(ct + ktl, suffix, sl) != 0)
		return 0;
	return (size_t)(cend - cp) >= (size_t)(kend - kp) &&
	    memcmp(cp, kp, (size_t)(kend - kp)) == 0;
}
