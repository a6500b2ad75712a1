// SPDX-License-Identifier: MIT
/*
 * scan.c - the hand-written scanners the /proc collectors parse with.
 *
 * The scanners work on a NUL-terminated buffer and a line end, never read past
 * either, and accept only plain decimal digits: /proc never prints signs, exponents
 * or locale separators, so anything else is garbage and is refused rather than
 * guessed at. col_label_value makes a device name a label value the registry takes.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

/* ---- scanners -------------------------------------------------------------- */

int col_line_next(const char **cursor, const char **line, const char **eol)
{
	const char *p = *cursor;
	if (!p || !*p)
		return 0;
	const char *nl = strchr(p, '\n');
	if (!nl) {
		/* a last line without '\n' was cut by a short read: its numbers may be too */
		*cursor = p + strlen(p);
		return 0;
	}
	*line = p;
	*eol = nl;
	*cursor = nl + 1;
	return 1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int col_scan_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	while (s < end && is_blank(*s))
		s++;
	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	uint64_t x = 0;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	*p = s;
	return 0;
}

int col_scan_fixed(const char **p, const char *end, double *v)
{
	/* powers of ten that are exact doubles, so m / 10^k is correctly rounded */
	static const double pow10[] = {1e0,  1e1,  1e2,	 1e3,  1e4,  1e5,  1e6,	 1e7,  1e8, 1e9,
				       1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
	uint64_t m;
	const char *s = *p;
	if (col_scan_u64(&s, end, &m) < 0)
		return -EINVAL;
	unsigned k = 0;
	if (s < end && *s == '.') {
		s++;
		if (s >= end || *s < '0' || *s > '9')
			return -EINVAL;
		for (; s < end && *s >= '0' && *s <= '9'; s++) {
			/* digits beyond double precision are dropped, not overflowed */
			if (k < 18 && m <= (UINT64_MAX - 9) / 10) {
				m = m * 10 + (unsigned)(*s - '0');
				k++;
			}
		}
	}
	*v = (double)m / pow10[k];
	*p = s;
	return 0;
}

int col_starts_with(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

int col_label_value(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);
	if (n >= dstlen)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];
		/* the registry keeps label values quotable without escapes */
		dst[i] = (ch < 0x20 || ch == '"' || ch == '\\' || ch == 0x7f) ? '_' : (char)ch;
	}
	dst[n] = '\0';
	return (int)n;
}
