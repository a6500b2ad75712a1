/* SPDX-License-Identifier: MIT */
/*
 * file.c - the "file" rule kind: one number read from a file at every tick.
 *
 *   {"name":"soc_temp","kind":"file","path":"/sys/class/thermal/thermal_zone0/temp",
 *    "scale":0.001,"unit":"celsius"}
 *
 * The file is opened once (col_file_open) and re-read at offset 0 in the tick's one
 * io_uring submission together with the built-in sources, so a file rule costs the
 * tick no system call of its own. An extractor picks the number out of the text:
 *   (none)                          the first token of the file
 *   "extract":{"line":L,"field":F}  whitespace-separated field F of line L (1-based)
 *   "extract":{"key":"MemFree"}     the number after "MemFree:" (or "MemFree =" /
 *                                   "MemFree 123") on the first line starting with it
 *   "extract":{"regex":"..."}       POSIX extended regex with exactly one capture group,
 *                                   compiled once; the first match's capture
 * then value = number * scale; with "rate": true the series is the per-second rate
 * of that (a counter), unknown (NaN) at the first sample and when it goes backwards.
 * An unreadable file or text that does not match marks the series failed.
 */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

enum extract { EX_FIRST, EX_FIELD, EX_KEY, EX_REGEX };

struct file_rule {
	char path[256];
	char series[INFOREG_NAME_MAX];
	char unit[INFOREG_UNIT_MAX];
	char help[INFOREG_HELP_MAX];
	enum extract ex;
	long line, field;
	char key[128];
	regex_t re;
	int re_ok;
	double scale;
	int rate;
	struct tick_files *tf;
	struct col_file *f;
	int idx;
	double prev;
	int have_prev;
};

static int parse_extract(struct file_rule *p, json_t *x, char *err, size_t errlen)
{
	json_t *l = json_object_get(x, "line"), *f = json_object_get(x, "field"),
	       *k = json_object_get(x, "key"), *re = json_object_get(x, "regex");
	int given = !!l + !!k + !!re;
	if (!json_is_object(x) || given != 1 || (f && !l)) {
		snprintf(err, errlen,
			 "extract: expected one of {\"line\":L,\"field\":F}, {\"key\":K}, {\"regex\":R}");
		return -EINVAL;
	}
	if (json_object_size(x) != (size_t)(given + !!f)) {
		snprintf(err, errlen, "extract: unknown field (line, field, key or regex)");
		return -EINVAL;
	}
	if (l) {
		if (!json_is_integer(l) || json_integer_value(l) < 1 ||
		    (f && (!json_is_integer(f) || json_integer_value(f) < 1))) {
			snprintf(err, errlen, "extract.line: line and field are integers >= 1");
			return -EINVAL;
		}
		p->ex = EX_FIELD;
		p->line = (long)json_integer_value(l);
		p->field = f ? (long)json_integer_value(f) : 1;
	} else if (k) {
		if (!json_is_string(k) || !json_string_length(k) || json_string_length(k) >= sizeof(p->key)) {
			snprintf(err, errlen, "extract.key: expected a non-empty string");
			return -EINVAL;
		}
		p->ex = EX_KEY;
		snprintf(p->key, sizeof(p->key), "%s", json_string_value(k));
	} else {
		if (!json_is_string(re)) {
			snprintf(err, errlen, "extract.regex: expected a string");
			return -EINVAL;
		}
		int rc = regcomp(&p->re, json_string_value(re), REG_EXTENDED);
		if (rc) {
			char m[160];
			regerror(rc, &p->re, m, sizeof(m));
			snprintf(err, errlen, "extract.regex: %s", m);
			return -EINVAL;
		}
		p->re_ok = 1;
		if (p->re.re_nsub != 1) {
			snprintf(err, errlen, "extract.regex: needs exactly one capture group, has %zu",
				 p->re.re_nsub);
			return -EINVAL;
		}
		p->ex = EX_REGEX;
	}
	return 0;
}

static int file_parse(struct rule *r, json_t *j, char *err, size_t errlen)
{
	static const char *const fields[] = {"path", "extract", "scale", "unit",
					     "rate", "series",	"help",	 NULL};
	struct file_rule *p = calloc(1, sizeof(*p));
	const char *path, *unit, *series, *help;
	json_t *rate = json_object_get(j, "rate"), *x = json_object_get(j, "extract");
	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->scale = 1;
	p->idx = -1;
	if (rule_json_only(j, fields, err, errlen) || rule_json_string(j, "path", 1, &path, err, errlen) ||
	    rule_json_string(j, "unit", 0, &unit, err, errlen) ||
	    rule_json_string(j, "series", 0, &series, err, errlen) ||
	    rule_json_string(j, "help", 0, &help, err, errlen) ||
	    rule_json_number(j, "scale", 0, &p->scale, err, errlen))
		return -EINVAL;
	if (path[0] != '/' || strlen(path) >= sizeof(p->path)) {
		snprintf(err, errlen, "path: expected an absolute path of at most %zu characters",
			 sizeof(p->path) - 1);
		return -EINVAL;
	}
	snprintf(p->path, sizeof(p->path), "%s", path);
	if (!isfinite(p->scale)) {
		snprintf(err, errlen, "scale: expected a finite number");
		return -EINVAL;
	}
	if (rate && !json_is_boolean(rate)) {
		snprintf(err, errlen, "rate: expected true or false");
		return -EINVAL;
	}
	p->rate = json_is_true(rate);
	if (unit && strlen(unit) >= sizeof(p->unit)) {
		snprintf(err, errlen, "unit: at most %zu characters", sizeof(p->unit) - 1);
		return -EINVAL;
	}
	snprintf(p->unit, sizeof(p->unit), "%s", unit ? unit : "");
	snprintf(p->help, sizeof(p->help), "%s", help ? help : "");
	if (!help)
		snprintf(p->help, sizeof(p->help), "file rule %.40s: %.50s", r->name, p->path);
	if (!series)
		series = r->name;
	struct series_reg scratch = {0};
	int e = reg_series(&scratch, series, p->unit, INFOREG_KIND_GAUGE, "");
	reg_free(&scratch);
	if (e < 0) {
		snprintf(err, errlen, "series: '%.40s' is not a series name%s", series,
			 json_object_get(j, "series") ? ""
						      : " (give \"series\" when the rule name is not one)");
		return -EINVAL;
	}
	snprintf(p->series, sizeof(p->series), "%s", series);
	if (x && parse_extract(p, x, err, errlen) < 0)
		return -EINVAL;
	return 0;
}

static int file_start(struct rule *r, const struct rule_env *env, char *err, size_t errlen)
{
	struct file_rule *p = r->priv;
	p->f = col_file_open(env->files, p->path, 4096);
	if (!p->f) {
		snprintf(err, errlen, "path: cannot open %s: %s", p->path, strerror(errno));
		return -errno;
	}
	p->tf = env->files;
	return 0;
}

static int file_declare(struct rule *r, struct series_reg *reg)
{
	struct file_rule *p = r->priv;
	p->idx = rule_declare(r, reg, p->series, p->unit, p->rate ? INFOREG_KIND_RATE : INFOREG_KIND_GAUGE,
			      p->help);
	p->have_prev = 0;
	return p->idx < 0 ? p->idx : 0;
}

/* Parses the number at S (strtod: decimal, exponent, hex, inf/nan refused). */
static int number_at(const char *s, const char *end, double *v)
{
	char buf[64];
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	size_t n = (size_t)(end - s);
	if (n == 0)
		return -1;
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *e;
	*v = strtod(buf, &e);
	if (e == buf || !isfinite(*v))
		return -1;
	return 0;
}

/* Field F (1-based, whitespace-separated) of line L of TEXT. */
static int extract_field(const char *text, long line, long field, double *v)
{
	const char *p = text;
	for (long l = 1; l < line; l++) {
		p = strchr(p, '\n');
		if (!p)
			return -1;
		p++;
	}
	const char *eol = strchr(p, '\n');
	if (!eol)
		eol = p + strlen(p);
	for (long f = 1;; f++) {
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= eol)
			return -1;
		const char *s = p;
		while (p < eol && *p != ' ' && *p != '\t')
			p++;
		if (f == field)
			return number_at(s, p, v);
	}
}

static int extract_key(const char *text, const char *key, double *v)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, key, kl))
			continue;
		const char *s = p + kl;
		if (*s != ':' && *s != '=' && *s != ' ' && *s != '\t')
			continue;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == ':' || *s == '=')
			s++;
		const char *eol = strchr(s, '\n');
		while (*s == ' ' || *s == '\t')
			s++;
		const char *e = s;
		while (*e && *e != '\n' && *e != ' ' && *e != '\t')
			e++;
		(void)eol;
		return number_at(s, e, v);
	}
	return -1;
}

static int file_sample(struct rule *r, const struct rule_tick *t, double *values)
{
	struct file_rule *p = r->priv;
	double x;
	int e = -1;
	if (p->f->len < 0) {
		rule_error(r, "reading %s: %s", p->path, strerror((int)-p->f->len));
		return (int)p->f->len;
	}
	const char *text = p->f->buf;
	switch (p->ex) {
	case EX_FIRST: {
		const char *s = text + strspn(text, " \t\n");
		e = number_at(s, s + strcspn(s, " \t\n"), &x);
		break;
	}
	case EX_FIELD:
		e = extract_field(text, p->line, p->field, &x);
		break;
	case EX_KEY:
		e = extract_key(text, p->key, &x);
		break;
	case EX_REGEX: {
		regmatch_t m[2];
		if (regexec(&p->re, text, 2, m, 0) == 0 && m[1].rm_so >= 0)
			e = number_at(text + m[1].rm_so, text + m[1].rm_eo, &x);
		break;
	}
	}
	if (e < 0) {
		p->have_prev = 0;
		rule_error(r, "%s: no number where the extractor looks", p->path);
		return -EINVAL;
	}
	x *= p->scale;
	if (p->rate) {
		double cur = x;
		x = p->have_prev && t->now->dt > 0 && cur >= p->prev ? (cur - p->prev) / t->now->dt : NAN;
		p->prev = cur;
		p->have_prev = 1;
	}
	values[p->idx] = x;
	return 0;
}

static void file_free(struct rule *r)
{
	struct file_rule *p = r->priv;
	if (!p)
		return;
	if (p->f)
		col_file_close(p->tf, p->f);
	if (p->re_ok)
		regfree(&p->re);
	free(p);
	r->priv = NULL;
}

const struct rule_kind_ops rule_file_ops = {
    .kind = "file",
    .phase = RULE_PHASE_COLLECT,
    .parse = file_parse,
    .start = file_start,
    .declare = file_declare,
    .sample = file_sample,
    .free = file_free,
};
