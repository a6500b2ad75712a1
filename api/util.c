/* SPDX-License-Identifier: MIT */
/*
 * util.c - the REST server's pure text helpers: a growable string buffer, JSON
 * string and number output, percent decoding, constant-time comparison, the
 * regular-file check for the files a user names (token, TLS) and the HTTP/1.1
 * framing check h2o 2.2.5 lacks (it takes the first of two Content-Lengths, and
 * Transfer-Encoding over Content-Length, where RFC 9112 section 6.3 says refuse).
 *
 * Numbers: a double is written with the fewest significant digits (15, 16 or 17) that
 * strtod() reads back bit-exactly, so values keep full double precision without the
 * noise "%.17g" adds to 0.1. NaN and infinities are not JSON: they become null there
 * and NaN/+Inf/-Inf in the Prometheus text format.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "api_util.h"

/* ---- files ------------------------------------------------------------------ */

int api_open_regular(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY), e;

	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFL, 0) < 0) { /* reads of a regular file never block anyway */
		e = errno;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* ---- HTTP/1.1 framing ------------------------------------------------------- */

static int name_is(const char *p, size_t n, const char *lc)
{
	size_t i;

	if (strlen(lc) != n)
		return 0;
	for (i = 0; i < n; i++)
		if ((p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]) != lc[i])
			return 0;
	return 1;
}

/* Every element of the comma list V (n bytes) must be digits equal to *CL (-1: unset). */
static int cl_values(const char *v, size_t n, long long *cl)
{
	size_t i = 0;

	while (i < n) {
		long long x = 0;
		size_t d = 0;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		if (i == n)
			break;
		for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, d++)
			if (x < 1000000000000000LL)
				x = x * 10 + (v[i] - '0');
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (d == 0 || (i < n && v[i] != ','))
			return -1; /* not a number: h2o refuses it itself */
		if (*cl >= 0 && *cl != x)
			return -1;
		*cl = x;
	}
	return 0;
}

int api_h1_framing_check(const char *buf, size_t len, const char **why)
{
	const char *p = buf, *end = buf + len, *eol;
	long long cl = -1;
	int n_cl = 0, n_te = 0;

	eol = memchr(p, '\n', len); /* the request line */
	if (!eol)
		return 0;
	for (p = eol + 1; p < end; p = eol + 1) {
		const char *colon, *v, *ve;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			return 0; /* incomplete: not what h2o handed us */
		ve = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (ve == p)
			break; /* the empty line ends the header block */
		colon = memchr(p, ':', (size_t)(ve - p));
		if (!colon)
			continue;
		v = colon + 1;
		if (name_is(p, (size_t)(colon - p), "content-length")) {
			n_cl++;
			if (cl_values(v, (size_t)(ve - v), &cl) < 0) {
				*why = "Content-Length values disagree";
				return -EINVAL;
			}
		} else if (name_is(p, (size_t)(colon - p), "transfer-encoding")) {
			n_te++;
		}
	}
	if (n_cl && n_te) {
		*why = "both Content-Length and Transfer-Encoding";
		return -EINVAL;
	}
	return 0;
}

/* ---- string buffer ---------------------------------------------------------- */

void sbuf_init(struct sbuf *sb, size_t cap)
{
	sb->len = 0;
	sb->oom = 0;
	sb->cap = cap ? cap : 64;
	sb->p = malloc(sb->cap);
	if (!sb->p) {
		sb->cap = 0;
		sb->oom = 1;
	} else {
		sb->p[0] = '\0';
	}
}

void sbuf_free(struct sbuf *sb)
{
	free(sb->p);
	sb->p = NULL;
	sb->len = sb->cap = 0;
}

char *sbuf_take(struct sbuf *sb, size_t *len)
{
	char *p = sb->p;

	if (len)
		*len = sb->len;
	sb->p = NULL;
	sb->len = sb->cap = 0;
	return p;
}

/* Makes room for N more bytes plus the NUL. Returns 0 or -ENOMEM (and sets oom). */
static int sbuf_reserve(struct sbuf *sb, size_t n)
{
	size_t need, cap;
	char *p;

	if (sb->oom)
		return -ENOMEM;
	need = sb->len + n + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->p, cap);
	if (!p) {
		sb->oom = 1;
		return -ENOMEM;
	}
	sb->p = p;
	sb->cap = cap;
	return 0;
}

void sbuf_put(struct sbuf *sb, const char *s, size_t n)
{
	if (sbuf_reserve(sb, n) < 0)
		return;
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

void sbuf_puts(struct sbuf *sb, const char *s)
{
	sbuf_put(sb, s, strlen(s));
}

void sbuf_putc(struct sbuf *sb, char c)
{
	sbuf_put(sb, &c, 1);
}

void sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sb->cap - sb->len) {
		if (sbuf_reserve(sb, (size_t)n) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

void sbuf_u64(struct sbuf *sb, uint64_t v)
{
	char tmp[24];
	int i = (int)sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sbuf_put(sb, tmp + i, sizeof(tmp) - (size_t)i);
}

void sbuf_json_str(struct sbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	sbuf_putc(sb, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t elen;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		/* flush the clean run before this character, then its escape */
		sbuf_put(sb, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			memcpy(esc, "\\\"", 2);
			elen = 2;
			break;
		case '\\':
			memcpy(esc, "\\\\", 2);
			elen = 2;
			break;
		case '\n':
			memcpy(esc, "\\n", 2);
			elen = 2;
			break;
		case '\t':
			memcpy(esc, "\\t", 2);
			elen = 2;
			break;
		case '\r':
			memcpy(esc, "\\r", 2);
			elen = 2;
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		sbuf_put(sb, esc, elen);
	}
	sbuf_put(sb, s + run, n - run);
	sbuf_putc(sb, '"');
}

int api_fmt_double(char *buf, size_t len, double v)
{
	int prec, n = 0;

	if (isnan(v))
		return snprintf(buf, len, "nan") < (int)len ? 3 : -ENOSPC;
	if (isinf(v))
		return snprintf(buf, len, v > 0 ? "inf" : "-inf") < (int)len ? (v > 0 ? 3 : 4) : -ENOSPC;
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, len, "%.*g", prec, v);
		if (n < 0 || (size_t)n >= len)
			return -ENOSPC;
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	return n;
}

void sbuf_json_num(struct sbuf *sb, double v)
{
	char tmp[40];
	int n;

	if (!isfinite(v)) {
		sbuf_put(sb, "null", 4);
		return;
	}
	n = api_fmt_double(tmp, sizeof(tmp), v);
	if (n > 0)
		sbuf_put(sb, tmp, (size_t)n);
}

void sbuf_prom_num(struct sbuf *sb, double v)
{
	char tmp[40];
	int n;

	if (isnan(v)) {
		sbuf_put(sb, "NaN", 3);
		return;
	}
	if (isinf(v)) {
		sbuf_puts(sb, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	n = api_fmt_double(tmp, sizeof(tmp), v);
	if (n > 0)
		sbuf_put(sb, tmp, (size_t)n);
}

void sbuf_ts(struct sbuf *sb, uint64_t ns)
{
	char tmp[16];

	sbuf_u64(sb, ns / 1000000000u);
	snprintf(tmp, sizeof(tmp), ".%09u", (unsigned)(ns % 1000000000u));
	sbuf_put(sb, tmp, 10);
}

/* ---- URL decoding ----------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int api_url_decode(const char *s, size_t n, char *out, size_t outlen, int plus_space)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == '\0')
			return -EINVAL;
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	if (o >= outlen)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return (int)o;
}

int api_ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char d = 0;
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}
