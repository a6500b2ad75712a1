// SPDX-License-Identifier: MIT
/* test_rules_file: file rules read through the tick's io_uring batch - the whole
 * file's first token, a whitespace field (line, column), a `key: value` lookup, a
 * POSIX regex with one capture, scale, rate (counter -> per second, unknown at the
 * first sample and when the counter goes back), text that does not match fails the
 * rule, bad extractors are refused at validation with the field named. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/rules.h"
#include "tick.h"
#include "tap.h"

static char dir[] = "/tmp/inforeg-test-file.XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Parses RULE (%s = the directory), starts, declares, reads, samples once. */
static struct rule *run(struct tick_files *tf, struct series_reg *reg, const char *rule_fmt, double *out,
			int *rc, double dt)
{
	char json[1024], err[256];
	snprintf(json, sizeof(json), rule_fmt, dir);
	struct rule *r = rule_parse_text(NULL, NULL, json, strlen(json), err, sizeof(err));
	CHECKF(r != NULL, "%s: %s", json, err);
	if (!r)
		return NULL;
	struct rule_env env = {.files = tf};
	CHECKF(r->ops->start(r, &env, err, sizeof(err)) == 0, "%s", err);
	reg_free(reg);
	CHECK(r->ops->declare(r, reg) == 0);
	double vals[4] = {NAN, NAN, NAN, NAN};
	struct col_now now = {.dt = dt};
	struct rule_tick t = {.now = &now, .reg = reg, .values = vals};
	CHECK(tick_files_read_all(tf) == 0);
	*rc = r->ops->sample(r, &t, vals);
	*out = vals[r->idx[0]];
	return r;
}

static void extractors(void)
{
	struct tick_files *tf = tick_files_new(16);
	struct series_reg reg = {0};
	double v;
	int rc;
	put("usage", "37.5\n");
	put("table", "name used free\ncpu0 12 3.25\ncpu1 40 7\n");
	put("meminfo", "MemTotal:       16000 kB\nMemFree:         1234 kB\nCached = 99\n");
	put("log", "boot ok\nload avg=0.73 over 5m\n");
	struct rule *r;
	r = run(tf, &reg, "{\"name\":\"usage\",\"kind\":\"file\",\"path\":\"%s/usage\",\"unit\":\"percent\"}", &v, &rc, 0);
	CHECK(rc == 0 && v == 37.5 && !strcmp(reg.defs[0].name, "usage") && !strcmp(reg.defs[0].unit, "percent"));
	rule_destroy(r);
	r = run(tf, &reg,
		"{\"name\":\"f\",\"kind\":\"file\",\"path\":\"%s/table\",\"extract\":{\"line\":3,\"field\":3},"
		"\"series\":\"site.cpu1_free\"}",
		&v, &rc, 0);
	CHECK(rc == 0 && v == 7 && !strcmp(reg.defs[0].name, "site.cpu1_free"));
	rule_destroy(r);
	r = run(tf, &reg,
		"{\"name\":\"k\",\"kind\":\"file\",\"path\":\"%s/meminfo\",\"extract\":{\"key\":\"MemFree\"},"
		"\"scale\":1024,\"unit\":\"bytes\"}",
		&v, &rc, 0);
	CHECK(rc == 0 && v == 1234 * 1024.0);
	rule_destroy(r);
	r = run(tf, &reg, "{\"name\":\"k2\",\"kind\":\"file\",\"path\":\"%s/meminfo\",\"extract\":{\"key\":\"Cached\"}}",
		&v, &rc, 0);
	CHECK(rc == 0 && v == 99);
	rule_destroy(r);
	r = run(tf, &reg,
		"{\"name\":\"re\",\"kind\":\"file\",\"path\":\"%s/log\",\"extract\":{\"regex\":\"avg=([0-9.]+)\"}}",
		&v, &rc, 0);
	CHECK(rc == 0 && v == 0.73);
	rule_destroy(r);
	/* no match: the rule fails (the engine marks its series failed), never a made-up 0 */
	r = run(tf, &reg,
		"{\"name\":\"re2\",\"kind\":\"file\",\"path\":\"%s/log\",\"extract\":{\"regex\":\"temp=([0-9]+)\"}}",
		&v, &rc, 0);
	CHECK(rc < 0 && strstr(r->errmsg, "no number"));
	rule_destroy(r);
	r = run(tf, &reg, "{\"name\":\"k3\",\"kind\":\"file\",\"path\":\"%s/meminfo\",\"extract\":{\"key\":\"Swap\"}}", &v,
		&rc, 0);
	CHECK(rc < 0);
	rule_destroy(r);
	CHECK(tick_files_count(tf) == 0); /* every rule closed its file */
	reg_free(&reg);
	tick_files_free(tf);
}

static void rate(void)
{
	struct tick_files *tf = tick_files_new(4);
	struct series_reg reg = {0};
	double v;
	int rc;
	put("ctr", "1000\n");
	struct rule *r = run(tf, &reg, "{\"name\":\"c\",\"kind\":\"file\",\"path\":\"%s/ctr\",\"rate\":true,\"scale\":2}",
			     &v, &rc, 0);
	CHECK(rc == 0 && isnan(v)); /* first sample: unknown */
	CHECK(reg.defs[0].kind == INFOREG_KIND_RATE);
	put("ctr", "1500\n");
	double vals[1];
	struct col_now now = {.dt = 0.5};
	struct rule_tick t = {.now = &now, .reg = &reg, .values = vals};
	CHECK(tick_files_read_all(tf) == 0 && r->ops->sample(r, &t, vals) == 0);
	CHECKF(vals[0] == 2000, "rate %g", vals[0]); /* (1500-1000)*2 / 0.5 s */
	put("ctr", "10\n");
	CHECK(tick_files_read_all(tf) == 0 && r->ops->sample(r, &t, vals) == 0 && isnan(vals[0]));
	rule_destroy(r);
	reg_free(&reg);
	tick_files_free(tf);
}

static void refused(void)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
	    {"{\"name\":\"a\",\"kind\":\"file\"}", "path: required"},
	    {"{\"name\":\"a\",\"kind\":\"file\",\"path\":\"rel\"}", "path: expected an absolute"},
	    {"{\"name\":\"a\",\"kind\":\"file\",\"path\":\"/x\",\"extract\":{\"regex\":\"(a)(b)\"}}", "one capture"},
	    {"{\"name\":\"a\",\"kind\":\"file\",\"path\":\"/x\",\"extract\":{\"regex\":\"(\"}}", "extract.regex"},
	    {"{\"name\":\"a\",\"kind\":\"file\",\"path\":\"/x\",\"extract\":{\"line\":0}}", "extract.line"},
	    {"{\"name\":\"a\",\"kind\":\"file\",\"path\":\"/x\",\"extract\":{\"key\":\"a\",\"line\":1}}", "extract"},
	    {"{\"name\":\"a-b\",\"kind\":\"file\",\"path\":\"/x\"}", "series"},
	    {"{\"name\":\"a\",\"kind\":\"file\",\"path\":\"/x\",\"rate\":1}", "rate"},
	    {"{\"name\":\"a\",\"kind\":\"file\",\"path\":\"/x\",\"scale\":\"2\"}", "scale"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		struct rule *r = rule_parse_text(NULL, NULL, bad[i].json, strlen(bad[i].json), err, sizeof(err));
		CHECKF(r == NULL && strstr(err, bad[i].msg), "%s gave '%s'", bad[i].json, err);
		rule_destroy(r);
	}
	/* a file's JSON syntax error and a schema error carry FILE:LINE:COLUMN */
	char err[256];
	const char *text = "{\n  \"kind\": \"file\",\n  \"path\": \"/x\",\n  \"extract\": {\"regex\": \"(\"}\n}\n";
	CHECK(rule_parse_text("/r/a.json", "a", text, strlen(text), err, sizeof(err)) == NULL);
	CHECKF(!strncmp(err, "/r/a.json:4:3: extract.regex", 28), "%s", err);
	CHECK(rule_parse_text("/r/a.json", "a", "{\n\"kind\": }", 11, err, sizeof(err)) == NULL);
	CHECKF(!strncmp(err, "/r/a.json:2:", 12), "%s", err);
}

int main(void)
{
	if (!mkdtemp(dir))
		SKIP("mkdtemp failed");
	RUN(extractors);
	RUN(rate);
	RUN(refused);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	TAP_EXIT();
}
