// SPDX-License-Identifier: MIT
/*
 * test_rules_exec_parse.c - an exec rule's output parser (daemon/rules/exec_parse.h):
 * the three forms give exact values and names; garbage, non-finite numbers, bad
 * names, duplicates, mixed forms and too many values are errors with a reason, never
 * a made-up value; every prefix of a valid output either parses or errors cleanly.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/exec_parse.h"
#include "tap.h"

static int parse(const char *s, struct exec_output *o, char *err)
{
	err[0] = '\0';
	return exec_output_parse(s, strlen(s), o, err, 256);
}

static void one_number(void)
{
	struct exec_output o;
	char err[256];
	static const char *const ok[] = {"42", "42\n", "  42.5  \n\n", "-3e2\n", "0\n", "\r\n7\r\n",
					 "# usage\n12\n"};
	static const double want[] = {42, 42, 42.5, -300, 0, 7, 12};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int e = parse(ok[i], &o, err);
		CHECKF(e == 0, "\"%s\": %s", ok[i], err);
		CHECK(o.n == 1 && o.v[0].key[0] == '\0' && o.v[0].value == want[i]);
	}
}

static void name_value_lines(void)
{
	struct exec_output o;
	char err[256];
	CHECKF(parse("user 12.5\nsystem 3\n# comment\n\nidle\t84.5\r\ngpu_temp{gpu=\"0\"} 54\n"
		     "x.y.z 1e3\n",
		     &o, err) == 0,
	       "%s", err);
	CHECK(o.n == 5);
	CHECK(!strcmp(o.v[0].key, "user") && o.v[0].value == 12.5);
	CHECK(!strcmp(o.v[1].key, "system") && o.v[1].value == 3);
	CHECK(!strcmp(o.v[2].key, "idle") && o.v[2].value == 84.5);
	CHECK(!strcmp(o.v[3].key, "gpu_temp{gpu=\"0\"}") && o.v[3].value == 54);
	CHECK(!strcmp(o.v[4].key, "x.y.z") && o.v[4].value == 1000);
	/* no trailing newline */
	CHECK(parse("a 1\nb 2", &o, err) == 0 && o.n == 2 && o.v[1].value == 2);
}

static void json_object(void)
{
	struct exec_output o;
	char err[256];
	CHECKF(parse(" {\"user\": 12.5, \"system\": 3, \"n{k=\\\"v\\\"}\": -1}\n", &o, err) == 0, "%s", err);
	CHECK(o.n == 3);
	int seen = 0;
	for (int i = 0; i < o.n; i++) {
		seen |= (!strcmp(o.v[i].key, "user") && o.v[i].value == 12.5) << 0;
		seen |= (!strcmp(o.v[i].key, "system") && o.v[i].value == 3) << 1;
		seen |= (!strcmp(o.v[i].key, "n{k=\"v\"}") && o.v[i].value == -1) << 2;
	}
	CHECK(seen == 7);
}

static void garbage_is_an_error_with_a_reason(void)
{
	static const struct {
		const char *in, *reason;
	} bad[] = {
	    {"", "empty output"},
	    {" \n\t\n", "empty output"},
	    {"# only a comment\n", "no values"},
	    {"hello\n", "\"hello\" is not a number"},
	    {"42abc\n", "not a number"},
	    {"nan\n", "not a number"},
	    {"inf\n", "not a number"},
	    {"0x10\n", "not a number"},
	    {"1e999\n", "not a number"},
	    {"42 43 44\n", "more fields"},
	    {"user 1\nuser 2\n", "printed twice"},
	    {"User 1\n", "not a series name"},
	    {"9lives 1\n", "not a series name"},
	    {"a..b 1\n", "not a series name"},
	    {"a{x=1} 1\n", "not a series name"},
	    {"user abc\n", "line 1: \"abc\" is not a number"},
	    {"user 1\n7\n", "lone number"},
	    {"7\nuser 1\n", "more output after a lone number"},
	    {"7\n8\n", "more output after a lone number"},
	    {"{\"a\": \"1\"}", "not a number"},
	    {"{\"a\": true}", "not a number"},
	    {"{\"a\": {\"b\": 1}}", "not a number"},
	    {"{\"a\": 1, \"a\": 2}", "JSON"},
	    {"{\"a\": 1", "JSON"},
	    {"{}", "empty JSON object"},
	    {"{\"Bad\": 1}", "not a series name"},
	    {"t{x=\"\xc3\xa9\"} 1\n", "not a series name"}, /* label values: printable ASCII */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct exec_output o;
		char err[256];
		int e = parse(bad[i].in, &o, err);
		CHECKF(e == -EINVAL, "accepted \"%s\"", bad[i].in);
		CHECKF(strstr(err, bad[i].reason) != NULL, "\"%s\": reason \"%s\", want \"%s\"", bad[i].in,
		       err, bad[i].reason);
	}
	/* a NUL byte inside the output */
	struct exec_output o;
	char err[256];
	CHECK(exec_output_parse("4\0002\n", 4, &o, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "NUL") != NULL);
}

static void too_many_values(void)
{
	char buf[8192];
	size_t n = 0;
	struct exec_output o;
	char err[256];
	for (int i = 0; i <= EXEC_SERIES_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "v%d %d\n", i, i);
	CHECK(exec_output_parse(buf, n, &o, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "more than") != NULL);
	/* exactly the maximum is fine */
	n = 0;
	for (int i = 0; i < EXEC_SERIES_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "v%d %d\n", i, i);
	CHECK(exec_output_parse(buf, n, &o, err, sizeof(err)) == 0 && o.n == EXEC_SERIES_MAX);
	/* a long line */
	memset(buf, 'a', 1000);
	memcpy(buf + 1000, " 1\n", 4);
	CHECK(exec_output_parse(buf, 1003, &o, err, sizeof(err)) == -EINVAL);
}

static void every_prefix_parses_or_errors(void)
{
	static const char *const full[] = {"user 12.5\nsystem 3\n", "{\"a\": 1.5, \"b\": 2}\n", "42.25\n"};
	for (size_t k = 0; k < sizeof(full) / sizeof(full[0]); k++) {
		size_t len = strlen(full[k]);
		for (size_t n = 0; n <= len; n++) {
			struct exec_output o;
			char err[256] = "";
			char *copy = malloc(n ? n : 1); /* exactly N bytes: ASan sees any overread */
			memcpy(copy, full[k], n);
			int e = exec_output_parse(copy, n, &o, err, sizeof(err));
			CHECK(e == 0 || (e == -EINVAL && err[0]));
			if (e == 0)
				for (int i = 0; i < o.n; i++)
					CHECK(isfinite(o.v[i].value));
			free(copy);
		}
	}
}

int main(void)
{
	RUN(one_number);
	RUN(name_value_lines);
	RUN(json_object);
	RUN(garbage_is_an_error_with_a_reason);
	RUN(too_many_values);
	RUN(every_prefix_parses_or_errors);
	TAP_EXIT();
}
