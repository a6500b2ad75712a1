// SPDX-License-Identifier: MIT
/* test_rules_score: the scheduling score - the paper's formula as a table (CpuReq
 * above, equal to and below CpuFree, zero, unknown), requirement units, the built-in
 * rule over a sample (cpu, mem, gpu, gpu_mem as the largest free device memory), a
 * Lua score rule that re-implements the formula giving the same numbers, profiles, and
 * the value-state NaN payloads of include/inforeg.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "inforeg.h"
#include "rules/lua_score.h"
#include "tap.h"

static void formula_table(void)
{
	static const struct {
		double free, req, want;
	} t[] = {
	    {2.07, 2.5, 2.07 / 2.5}, /* CpuReq above CpuFree: CpuFree / CpuReq */
	    {2.5, 2.5, 1},	     /* equal: 1 */
	    {4, 2.5, 1},	     /* below: 1 */
	    {0, 2, 0},		     /* nothing free */
	    {-1, 2, 0},		     /* a negative free reads as none */
	    {NAN, 2, 0},	     /* unknown free: not schedulable */
	    {3, 0, 1},		     /* nothing required */
	    {1e9, 4e9, 0.25},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		double got = score_perf(t[i].free, t[i].req);
		CHECKF(fabs(got - t[i].want) < 1e-12, "perf(%g, %g) = %g, want %g", t[i].free, t[i].req, got,
		       t[i].want);
	}
}

static struct score_def *builtin(void)
{
	char err[256];
	json_t *j = json_loads(score_default_rule, 0, NULL);
	struct score_def *d = score_def_parse("default", j, err, sizeof(err));
	json_decref(j);
	CHECKF(d != NULL, "%s", err);
	return d;
}

static void units(void)
{
	static const struct {
		const char *res, *val;
		double want;
	} ok[] = {
	    {"mem", "4GiB", 4294967296.0}, {"mem", "4Gi", 4294967296.0}, {"mem", "1.5GB", 1.5e9},
	    {"mem", "512", 512},	       {"mem", "2 MiB", 2097152},    {"cpu", "2.5", 2.5},
	    {"cpu", "500m", 0.5},	       {"gpu", "1", 1},		     {"gpu_mem", "16GiB", 17179869184.0},
	};
	static const struct {
		const char *res, *val, *msg;
	} bad[] = {
	    {"mem", "4XB", "mem: unknown unit"}, {"cpu", "-1", "cpu: must be"},    {"disk", "1", "disk: unknown resource"},
	    {"cpu", "two", "cpu: expected"},	 {"gpu", "1Gi", "gpu: unknown unit"}, {"cpu", "inf", "cpu: must be"},
	};
	struct score_def *d = builtin();
	char err[256];
	if (!d)
		return;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct score_reqset rs = {0};
		int e = score_req_add_text(d, &rs, ok[i].res, ok[i].val, err, sizeof(err));
		CHECKF(e == 0 && rs.n == 1 && rs.r[0].req == ok[i].want, "%s=%s: %s", ok[i].res, ok[i].val,
		       e ? err : "wrong value");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct score_reqset rs = {0};
		err[0] = 0;
		int e = score_req_add_text(d, &rs, bad[i].res, bad[i].val, err, sizeof(err));
		CHECKF(e < 0 && strstr(err, bad[i].msg), "%s=%s gave '%s'", bad[i].res, bad[i].val, err);
	}
	/* JSON: numbers and strings; a field named in the error */
	json_t *j = json_loads("{\"cpu\":2.5,\"mem\":\"4GiB\",\"gpu\":1}", 0, NULL);
	struct score_reqset rs;
	CHECK(score_req_parse(d, j, &rs, err, sizeof(err)) == 0 && rs.n == 3);
	json_decref(j);
	j = json_loads("{\"cpu\":true}", 0, NULL);
	CHECK(score_req_parse(d, j, &rs, err, sizeof(err)) < 0 && strstr(err, "cpu"));
	json_decref(j);
	score_def_free(d);
}

/* A small fake sample. */
static const char *names[] = {
    "cpu.free",		       "mem.available",		   "gpu.free",		       "gpu.mem.total{gpu=\"0\"}",
    "gpu.mem.used{gpu=\"0\"}", "gpu.mem.total{gpu=\"1\"}", "gpu.mem.used{gpu=\"1\"}", "site.cpu_free",
};
static double vals[] = {2.07, 8e9, 1, 16e9, 12e9, 16e9, 4e9, 2.5};
#define NS (sizeof(names) / sizeof(names[0]))

static const char *f_name(void *ctx, uint32_t i)
{
	(void)ctx;
	return names[i];
}
static int f_find(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	(void)len;
	for (size_t i = 0; i < NS; i++)
		if (!strcmp(names[i], name))
			return (int)i;
	return -1;
}
static const struct score_sample S = {.n = NS, .values = vals, .name = f_name, .find = f_find};

static int run(struct score_eval *e, const char *reqjson, struct score_result *out)
{
	char err[256];
	struct score_reqset rs;
	json_t *j = json_loads(reqjson, 0, NULL);
	int rc = score_req_parse(score_eval_def(e), j, &rs, err, sizeof(err));
	json_decref(j);
	if (rc == 0)
		rc = score_eval_run(e, &S, &rs, out, err, sizeof(err));
	if (rc)
		fprintf(stderr, "  %s: %s\n", reqjson, err);
	return rc;
}

static void builtin_rule(void)
{
	struct score_def *d = builtin();
	char err[256];
	struct score_eval *e = d ? score_eval_new(d, err, sizeof(err)) : NULL;
	struct score_result r;
	CHECK(e != NULL);
	if (!e)
		return;
	/* the example: cpu 2.5 of 2.07 free -> 0.828; mem fits -> 1; min */
	CHECK(run(e, "{\"cpu\":2.5,\"mem\":\"4GiB\"}", &r) == 0);
	CHECK(r.n == 2 && !strcmp(r.r[0].res, "cpu") && fabs(r.r[0].perf - 2.07 / 2.5) < 1e-12);
	CHECK(r.r[1].perf == 1 && r.r[1].free == 8e9);
	CHECK(fabs(r.score - 2.07 / 2.5) < 1e-12);
	/* gpu_mem: the largest free device memory (12 GB on gpu 1), not the sum */
	CHECK(run(e, "{\"gpu_mem\":\"12GB\"}", &r) == 0 && r.r[0].free == 12e9 && r.score == 1);
	CHECK(run(e, "{\"gpu_mem\":24e9}", &r) == 0 && r.score == 0.5);
	CHECK(run(e, "{\"gpu\":2}", &r) == 0 && r.score == 0.5);
	CHECK(run(e, "{}", &r) == 0 && r.score == 1 && r.n == 0);
	score_eval_free(e);
	score_def_free(d);
}

/* The paper's formula written as a Lua score rule gives the built-in's numbers. */
static void lua_rule(void)
{
	const char *rule =
	    "{\"kind\":\"score\",\"resources\":{\"cpu\":\"cores\",\"mem\":\"bytes\"},"
	    "\"profiles\":{\"small\":{\"cpu\":1}},"
	    "\"lua\":\"local free = {cpu = function() return v('site.cpu_free') end, mem = function() return "
	    "v('mem.available') end}\\n"
	    "return function(req)\\n local out = {}\\n for k, r in pairs(req) do\\n  local f = free[k]()\\n"
	    "  local p = (r <= 0 and 1) or (f >= r and 1) or (f > 0 and f / r) or 0\\n"
	    "  out[k] = {free = f, req = r, perf = p}\\n end\\n return out\\nend\"}";
	char err[256];
	json_t *j = json_loads(rule, 0, NULL);
	CHECK(j != NULL);
	struct score_def *d = score_def_parse("paper", j, err, sizeof(err));
	json_decref(j);
	CHECKF(d != NULL, "%s", err);
	if (!d)
		return;
	CHECK(d->n_prof == 1 && d->prof[0].req.n == 1 && d->prof[0].req.r[0].req == 1);
	struct score_eval *e = score_eval_new(d, err, sizeof(err));
	CHECKF(e != NULL, "%s", err);
	struct score_result r;
	/* site.cpu_free = 2.5 (CpuFree): CpuReq above, equal, below */
	double reqs[] = {5, 3, 2.5, 2, 0.5};
	for (size_t i = 0; e && i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		char q[64];
		snprintf(q, sizeof(q), "{\"cpu\":%g}", reqs[i]);
		CHECK(run(e, q, &r) == 0);
		double want = 2.5 >= reqs[i] ? 1 : 2.5 / reqs[i];
		CHECKF(fabs(r.score - want) < 1e-12 && fabs(r.r[0].perf - score_perf(2.5, reqs[i])) < 1e-12,
		       "CpuReq %g: %g, want %g", reqs[i], r.score, want);
	}
	/* gpu is not a resource of this rule */
	struct score_reqset rs = {0};
	CHECK(score_req_add_text(d, &rs, "gpu", "1", err, sizeof(err)) < 0 && strstr(err, "gpu"));
	score_eval_free(e);
	score_def_free(d);

	/* a Lua score rule must return a function; a broken one is refused with the reason */
	j = json_loads("{\"kind\":\"score\",\"lua\":\"return 3\"}", 0, NULL);
	d = score_def_parse("bad", j, err, sizeof(err));
	CHECK(d == NULL && strstr(err, "function"));
	json_decref(j);
	j = json_loads("{\"kind\":\"score\",\"profiles\":{\"x\":{\"cpu\":\"lots\"}}}", 0, NULL);
	d = score_def_parse("bad", j, err, sizeof(err));
	CHECKF(d == NULL && strstr(err, "profiles.x.cpu"), "%s", err);
	json_decref(j);
}

static void value_states(void)
{
	CHECK(inforeg_value_state(1.5) == INFOREG_FRESH);
	CHECK(inforeg_value_state(0) == INFOREG_FRESH);
	CHECK(inforeg_value_state(NAN) == INFOREG_UNKNOWN);
	CHECK(inforeg_value_state(inforeg_state_value(INFOREG_STALE)) == INFOREG_STALE);
	CHECK(inforeg_value_state(inforeg_state_value(INFOREG_FAILED)) == INFOREG_FAILED);
	CHECK(inforeg_value_state(-inforeg_state_value(INFOREG_FAILED)) == INFOREG_FAILED); /* sign ignored */
	/* arithmetic on a failed value keeps its payload (x86-64, arm64): derived reads failed */
	volatile double f = inforeg_state_value(INFOREG_FAILED);
	CHECK(inforeg_value_state(f / 2 + 1) == INFOREG_FAILED);
	CHECK(!strcmp(inforeg_state_name(INFOREG_STALE), "stale"));
}

int main(void)
{
	RUN(formula_table);
	RUN(units);
	RUN(builtin_rule);
	RUN(lua_rule);
	RUN(value_states);
	TAP_EXIT();
}
