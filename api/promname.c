/* SPDX-License-Identifier: MIT */
/*
 * promname.c - series-name parsing and the one rule that maps an inforeg series
 * (dotted name, unit, kind) to a Prometheus metric family name.
 *
 * The rule is documented in api_util.h (api_prom_name) and in api/openapi.yaml; it is
 * chosen so that `promtool check metrics` finds nothing to say: base units (seconds,
 * bytes), unit suffixes, "_total" only on counters, no reserved suffix on a plain
 * series, no abbreviated units, snake case. The reverse reading is simple: strip
 * "inforeg_", the unit suffix and "_total", and underscores are the dots.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "api_util.h"
#include "inforeg_layout.h"

size_t api_name_base_len(const char *name)
{
	const char *b = strchr(name, '{');

	return b ? (size_t)(b - name) : strlen(name);
}

static int is_label_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

int api_label_next(const char *name, size_t *pos, char *key, size_t keylen, const char **val, size_t *val_len,
		   size_t *span_start, size_t *span_end)
{
	size_t p = *pos, k = 0, v;

	if (p == 0) {
		p = api_name_base_len(name);
		if (name[p] == '\0')
			return 0;
		p++; /* '{' */
	}
	if (name[p] == ',')
		p++;
	if (name[p] == '}')
		return name[p + 1] == '\0' ? 0 : -EINVAL;
	if (name[p] == '\0')
		return -EINVAL;
	*span_start = p;
	while (is_label_char(name[p], k == 0)) {
		if (k + 1 >= keylen)
			return -EINVAL;
		key[k++] = name[p++];
	}
	key[k] = '\0';
	if (k == 0 || name[p] != '=' || name[p + 1] != '"')
		return -EINVAL;
	p += 2;
	v = p;
	while (name[p] && name[p] != '"') {
		if (name[p] == '\\') {
			if (!name[p + 1])
				return -EINVAL;
			p++;
		}
		p++;
	}
	if (name[p] != '"')
		return -EINVAL;
	*val = name + v;
	*val_len = p - v;
	p++;
	*span_end = p;
	if (name[p] != ',' && name[p] != '}')
		return -EINVAL;
	*pos = p;
	return 1;
}

/* ---- units ------------------------------------------------------------------- */

struct unit_map {
	const char *unit, *suffix;
	double scale;
};

/* Known units; anything else is used as its own (sanitized) suffix with scale 1. */
static const struct unit_map units[] = {
    {"", "", 1},
    {"1", "", 1},
    {"count", "", 1},
    {"ns", "seconds", 1e-9},
    {"us", "seconds", 1e-6},
    {"ms", "seconds", 1e-3},
    {"s", "seconds", 1},
    {"seconds", "seconds", 1},
    {"bytes", "bytes", 1},
    {"B", "bytes", 1},
    {"KiB", "bytes", 1024},
    {"MiB", "bytes", 1048576},
    {"kB", "bytes", 1e3},
    {"MB", "bytes", 1e6},
    {"bits", "bytes", 0.125},
    {"percent", "percent", 1},
    {"%", "percent", 1},
    {"ops", "ops", 1},
    {"Hz", "hertz", 1},
    {"MHz", "hertz", 1e6},
    {"C", "celsius", 1},
    {"W", "watts", 1},
    {"mW", "watts", 1e-3},
    {"J", "joules", 1},
    {"uJ", "joules", 1e-6},
    {"mJ", "joules", 1e-3},
};

static void sanitize(const char *in, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 1 < outlen; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '_';
		out[o++] = c;
	}
	out[o] = '\0';
}

static int unit_one(const char *unit, size_t n, char *suffix, size_t suffix_len, double *scale)
{
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].unit) == n && memcmp(units[i].unit, unit, n) == 0) {
			snprintf(suffix, suffix_len, "%s", units[i].suffix);
			*scale = units[i].scale;
			return 0;
		}
	}
	sanitize(unit, n, suffix, suffix_len);
	*scale = 1;
	return 0;
}

int api_prom_unit(const char *unit, char *suffix, size_t suffix_len, double *scale)
{
	size_t n = strlen(unit);
	const char *slash = strchr(unit, '/');

	/* "X/s": X's suffix + "_per_second" (bytes/s -> bytes_per_second, 1/s -> per_second) */
	if (slash && (strcmp(slash, "/s") == 0 || strcmp(slash, "/sec") == 0)) {
		char num[32];

		unit_one(unit, (size_t)(slash - unit), num, sizeof(num), scale);
		snprintf(suffix, suffix_len, "%s%sper_second", num, num[0] ? "_" : "");
		return 0;
	}
	return unit_one(unit, n, suffix, suffix_len, scale);
}

/* ---- the naming rule ----------------------------------------------------------- */

static int ends_with(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && memcmp(s + n - m, suf, m) == 0;
}

int api_prom_name(const char *base, size_t base_len, const char *unit, uint32_t kind, int shape, char *out,
		  size_t outlen)
{
	static const char prefix[] = "inforeg_";
	static const char *const reserved[] = {"_count", "_sum", "_bucket", "_info", "_total"};
	char suffix[48], body[INFOREG_NAME_MAX + 64], unit_token[24];
	double scale;
	size_t n;
	int len;

	if (base_len >= INFOREG_NAME_MAX)
		return -ENAMETOOLONG;
	/* 1. lower case, [^a-z0-9_] -> '_' */
	sanitize(base, base_len, body, sizeof(body));
	n = strlen(body);

	/* 2. "_per_s" -> "_per_second"; drop a trailing token that abbreviates our own unit */
	if (ends_with(body, n, "_per_s")) {
		memcpy(body + n, "econd", 6);
		n += 5;
	}
	snprintf(unit_token, sizeof(unit_token), "_%s", unit);
	sanitize(unit_token, strlen(unit_token), unit_token, sizeof(unit_token));
	api_prom_unit(unit, suffix, sizeof(suffix), &scale);
	if (suffix[0] && strcmp(suffix, unit_token + 1) != 0 && unit_token[1] &&
	    ends_with(body, n, unit_token) && n > strlen(unit_token)) {
		n -= strlen(unit_token);
		body[n] = '\0';
	}

	/* 3. the unit suffix, unless already there */
	if (suffix[0]) {
		char s2[52];

		snprintf(s2, sizeof(s2), "_%s", suffix);
		/* a name that already says "per second" keeps its own numerator */
		if (!ends_with(body, n, s2) &&
		    !(ends_with(s2, strlen(s2), "_per_second") && ends_with(body, n, "_per_second"))) {
			if (n + strlen(s2) >= sizeof(body))
				return -ENAMETOOLONG;
			memcpy(body + n, s2, strlen(s2) + 1);
			n += strlen(s2);
		}
	}

	/* 4. plain non-counters must not end in a suffix Prometheus gives a meaning to
	 *    (counters get _total next, which ends the name instead) */
	if (shape == API_PROM_PLAIN && kind != INFOREG_KIND_COUNTER) {
		size_t i;

		for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
			if (ends_with(body, n, reserved[i])) {
				if (n + 6 >= sizeof(body))
					return -ENAMETOOLONG;
				memcpy(body + n, "_value", 7);
				n += 6;
				break;
			}
		}
	}

	/* 5. counters: _total */
	if (shape == API_PROM_PLAIN && kind == INFOREG_KIND_COUNTER && !ends_with(body, n, "_total")) {
		if (n + 6 >= sizeof(body))
			return -ENAMETOOLONG;
		memcpy(body + n, "_total", 7);
		n += 6;
	}

	len = snprintf(out, outlen, "%s%s", prefix, body);
	if (len < 0 || (size_t)len >= outlen)
		return -ENAMETOOLONG;
	return len;
}
