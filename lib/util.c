/*
 * util.c: small helpers shared by the library: the argument list, the
 * allocating formatter for causes, tilde expansion, duration text.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safessh.h"

/* Append a copy of s; 0 or -1 (ENOMEM). */
int
arglist_addv(struct arglist *al, const char *s)
{
	char	**nl, *c;
	size_t	  n;

	if (al->num + 2 > al->nalloc) {
		n = al->nalloc ? al->nalloc * 2 : 16;
		if ((nl = reallocarray(al->list, n, sizeof(*nl))) == NULL)
			return -1;
		al->list = nl;
		al->nalloc = n;
	}
	if ((c = strdup(s)) == NULL)
		return -1;
	al->list[al->num++] = c;
	al->list[al->num] = NULL;
	return 0;
}

/* Append a formatted argument; 0 or -1. */
int
arglist_add(struct arglist *al, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	r = arglist_addv(al, s);
	free(s);
	return r;
}

void
arglist_free(struct arglist *al)
{
	size_t	i;

	for (i = 0; i < al->num; i++)
		free(al->list[i]);
	free(al->list);
	al->list = NULL;
	al->num = al->nalloc = 0;
}

/* Does s need quoting for a POSIX shell? */
static int
needquote(const char *s)
{
	if (*s == '\0')
		return 1;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("@%+=:,./_-", *s) == NULL)
			return 1;
	return 0;
}

/* Shell-quote v[0..n-1] into one line; NULL on ENOMEM; caller frees. */
char *
arglist_quote(char *const *v, size_t n)
{
	char	*out, *p;
	size_t	 i, len = 1;
	const char *s;

	for (i = 0; i < n; i++)
		len += 4 * strlen(v[i]) + 3;
	if ((out = p = malloc(len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ' ';
		if (!needquote(v[i])) {
			p = stpcpy(p, v[i]);
			continue;
		}
		*p++ = '\'';
		for (s = v[i]; *s != '\0'; s++) {
			if (*s == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *s;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return out;
}

char *
xstrfmt(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r == -1 ? NULL : s;
}

char *
util_tilde(const char *path)
{
	const char	*home;

	if (strncmp(path, "~/", 2) != 0 && strcmp(path, "~") != 0)
		return strdup(path);
	if ((home = state_home()) == NULL)
		return strdup(path);
	return xstrfmt("%s%s", home, path + 1);
}

/* Sleep ms milliseconds, through signals that interrupt it. */
void
util_msleep(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

char *
util_dur(long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%lds", s);
	else if (s < 3600)
		snprintf(buf, len, "%ldm", (s + 59) / 60);
	else if (s < 86400 && (s % 3600) / 60 != 0)
		snprintf(buf, len, "%ldh%ldm", s / 3600, (s % 3600) / 60);
	else if (s < 86400)
		snprintf(buf, len, "%ldh", s / 3600);
	else
		snprintf(buf, len, "%ldd%ldh", s / 86400, (s % 86400) / 3600);
	return buf;
}

uint64_t
util_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*c = p;

	while (n-- > 0) {
		h ^= *c++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * The start time of process pid in clock ticks since boot, field 22 of
 * /proc/PID/stat (after the command name, which may hold anything up to
 * its last ')').  0 with *t, or -1 (no /proc, no such process).
 */
int
util_pstart(pid_t pid, unsigned long long *t)
{
	char	 path[64], buf[1024], *p, *end;
	ssize_t	 n;
	int	 fd, field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* After ")": field 3 (state) onwards, separated by spaces. */
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return -1;
	errno = 0;
	*t = strtoull(p + 1, &end, 10);
	if (errno != 0 || end == p + 1)
		return -1;
	return 0;
}

int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint32_t
util_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void
util_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Append n bytes; 0, or -1 on ENOMEM (the buffer is unchanged). */
int
buf_add(struct buf *b, const void *s, size_t n)
{
	char	*np;
	size_t	 cap;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}
