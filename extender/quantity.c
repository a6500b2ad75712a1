/* SPDX-License-Identifier: MIT */
/*
 * quantity.c - Kubernetes resource quantities ("500m", "2", "1.5", "512Mi", "1G",
 * "1e3") as doubles, with the grammar of k8s.io/apimachinery's resource.Quantity:
 *
 *   quantity ::= [+-] number suffix
 *   number   ::= digits | digits "." digits? | "." digits
 *   suffix   ::= "" | Ki Mi Gi Ti Pi Ei | n u m k M G T P E | (e|E) [+-] digits
 *
 * A double holds every value a pod spec can sensibly carry (cores, bytes up to 2^53
 * exactly, device counts); the scheduler's own rounding to milli-units does not
 * change which node scores higher.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "extender.h"

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The multiplier of suffix S (NUL-terminated); 0 if S is not a suffix. */
static double suffix_scale(const char *s)
{
	static const struct {
		const char *sfx;
		double scale;
	} tab[] = {
	    {"", 1},	    {"Ki", 0x1p10}, {"Mi", 0x1p20}, {"Gi", 0x1p30}, {"Ti", 0x1p40}, {"Pi", 0x1p50},
	    {"Ei", 0x1p60}, {"n", 1e-9},    {"u", 1e-6},    {"m", 1e-3},    {"k", 1e3},	    {"M", 1e6},
	    {"G", 1e9},	    {"T", 1e12},    {"P", 1e15},    {"E", 1e18},
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(s, tab[i].sfx) == 0)
			return tab[i].scale;
	if ((s[0] == 'e' || s[0] == 'E') && s[1]) {
		const char *p = s + 1;
		long e;

		if (*p == '+' || *p == '-')
			p++;
		if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 4)
			return 0;
		e = strtol(s + 1, NULL, 10);
		return pow(10.0, (double)e);
	}
	return 0;
}

int ext_quantity_parse(const char *s, double *out)
{
	char num[64];
	const char *p = s;
	size_t int_digits = 0, frac_digits = 0, n;
	double v, scale;

	if (!s)
		return -EINVAL;
	if (*p == '+' || *p == '-')
		p++;
	while (is_digit(*p)) {
		p++;
		int_digits++;
	}
	if (*p == '.') {
		p++;
		while (is_digit(*p)) {
			p++;
			frac_digits++;
		}
	}
	if (int_digits + frac_digits == 0)
		return -EINVAL;
	n = (size_t)(p - s);
	if (n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	scale = suffix_scale(p);
	if (scale == 0)
		return -EINVAL;
	v = strtod(num, NULL) * scale;
	if (!isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

int ext_quantity_json(const json_t *v, double *out)
{
	if (json_is_string(v))
		return ext_quantity_parse(json_string_value(v), out);
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return isfinite(*out) ? 0 : -EINVAL;
	}
	return -EINVAL;
}
