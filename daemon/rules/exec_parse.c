/* SPDX-License-Identifier: MIT */
/*
 * exec_parse.c - parses an exec rule's standard output (exec_parse.h): one number,
 * "name value" lines, or a JSON object of numbers (jansson).
 *
 * Strict on purpose: a value the daemon publishes must be what the program meant, so
 * a half-parsable output is an error for the whole run rather than a partial sample,
 * and a non-finite number ("nan", "inf") is refused like any other garbage: a missing
 * value is the failed state, never a number.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "collector.h"
#include "exec_parse.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A series name the registry takes (reg_name_valid), at most EXEC_KEY_MAX - 1 bytes,
 * printable ASCII only: a program's output is not trusted to be UTF-8. */
int exec_key_valid(const char *s)
{
	if (!s || strlen(s) >= EXEC_KEY_MAX || !reg_name_valid(s))
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p > 0x7e)
			return 0;
	return 1;
}

int exec_number_parse(const char *tok, double *v)
{
	char *end;
	if (!*tok)
		return -EINVAL;
	/* strtod also takes "0x1p3", "inf", "nan": only plain decimals are numbers here */
	for (const char *p = tok; *p; p++)
		if (!strchr("0123456789+-.eE", *p))
			return -EINVAL;
	errno = 0;
	*v = strtod(tok, &end);
	if (*end || errno == ERANGE || !isfinite(*v))
		return -EINVAL;
	return 0;
}

static int add_value(struct exec_output *out, const char *key, double v, char *err, size_t errlen,
		     const char *where)
{
	if (!exec_key_valid(key))
		return fail(err, errlen,
			    "%s\"%.64s\" is not a series name (lowercase [a-z0-9_.], optional {label=\"v\"})",
			    where, key);
	for (int i = 0; i < out->n; i++)
		if (!strcmp(out->v[i].key, key))
			return fail(err, errlen, "%s\"%.64s\" printed twice", where, key);
	if (out->n == EXEC_SERIES_MAX)
		return fail(err, errlen, "more than %d values", EXEC_SERIES_MAX);
	snprintf(out->v[out->n].key, sizeof(out->v[0].key), "%s", key);
	out->v[out->n++].value = v;
	return 0;
}

static int parse_json(const char *buf, size_t len, struct exec_output *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr), *v;
	const char *key;
	int e = 0;
	if (!o)
		return fail(err, errlen, "JSON line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return fail(err, errlen, "JSON output must be an object of numbers");
	}
	json_object_foreach(o, key, v)
	{
		if (!json_is_number(v)) {
			e = fail(err, errlen, "JSON key \"%.64s\" is not a number", key);
			break;
		}
		if ((e = add_value(out, key, json_number_value(v), err, errlen, "JSON key ")) < 0)
			break;
	}
	json_decref(o);
	if (!e && !out->n)
		e = fail(err, errlen, "empty JSON object");
	return e;
}

int exec_output_parse(const char *buf, size_t len, struct exec_output *out, char *err, size_t errlen)
{
	char line[512], where[32];
	size_t i = 0;
	int lineno = 0, e;

	out->n = 0;
	if (memchr(buf, '\0', len))
		return fail(err, errlen, "output contains a NUL byte");
	while (i < len && strchr(" \t\r\n", buf[i]))
		i++;
	if (i == len)
		return fail(err, errlen, "empty output");
	if (buf[i] == '{')
		return parse_json(buf + i, len - i, out, err, errlen);

	for (i = 0; i < len;) {
		size_t eol = i;
		while (eol < len && buf[eol] != '\n')
			eol++;
		lineno++;
		size_t n = eol - i;
		if (n >= sizeof(line))
			return fail(err, errlen, "line %d longer than %zu bytes", lineno, sizeof(line) - 1);
		memcpy(line, buf + i, n);
		line[n] = '\0';
		i = eol + 1;

		char *save, *a = strtok_r(line, " \t\r", &save);
		if (!a || a[0] == '#')
			continue;
		char *b = strtok_r(NULL, " \t\r", &save), *c = strtok_r(NULL, " \t\r", &save);
		double v;
		if (!b) { /* the single-number form: one token, and nothing else printed */
			if (exec_number_parse(a, &v) < 0)
				return fail(err, errlen, "line %d: \"%.64s\" is not a number", lineno, a);
			if (out->n)
				return fail(err, errlen, "line %d: a lone number among \"name value\" lines",
					    lineno);
			out->v[0].key[0] = '\0';
			out->v[0].value = v;
			out->n = 1;
			for (; i < len; i++)
				if (!strchr(" \t\r\n", buf[i]))
					return fail(err, errlen, "line %d: more output after a lone number",
						    lineno + 1);
			return 0;
		}
		if (c)
			return fail(err, errlen, "line %d: expected \"name value\", got more fields", lineno);
		if (exec_number_parse(b, &v) < 0)
			return fail(err, errlen, "line %d: \"%.64s\" is not a number", lineno, b);
		snprintf(where, sizeof(where), "line %d: ", lineno);
		if ((e = add_value(out, a, v, err, errlen, where)) < 0)
			return e;
	}
	if (!out->n)
		return fail(err, errlen, "no values (only comments)");
	return 0;
}
