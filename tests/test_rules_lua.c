// SPDX-License-Identifier: MIT
/* test_rules_lua: the Lua sandbox and derive rules - `while true do end` (also inside
 * pcall) is stopped by the instruction budget, a memory bomb by the cap, os, io, load,
 * loadfile, dofile, require, string.dump, debug, package and collectgarbage are
 * unreachable, bytecode is refused; a derive rule with a syntax error is refused with
 * Lua's message, names come from the dry run, results and history helpers (rate, avg,
 * max, min, ewma, quantile) are right over a ring, an error fails the rule. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>

#include "ring.h"
#include "rules/lua_sandbox.h"
#include "rules/rules.h"
#include "tap.h"

static int run_chunk(const char *src, char *err, size_t errlen)
{
	lua_State *L = lsb_new(LSB_MEM_DEFAULT);
	int rc = lsb_load(L, src, strlen(src), "=t", err, errlen);
	if (rc == 0)
		rc = lsb_call(L, 0, 1, LSB_BUDGET_DEFAULT, err, errlen);
	if (rc == 0 && !lua_toboolean(L, -1)) {
		snprintf(err, errlen, "returned false");
		rc = 1;
	}
	lsb_close(L);
	return rc;
}

static void budget(void)
{
	char err[256];
	CHECK(run_chunk("while true do end", err, sizeof(err)) == -ETIME && strstr(err, "budget"));
	/* a pcall cannot swallow the budget: the next instruction outside raises again */
	CHECK(run_chunk("while true do pcall(function() while true do end end) end", err, sizeof(err)) ==
	      -ETIME);
	CHECK(run_chunk("local function f() return f() end return f()", err, sizeof(err)) == -ETIME);
	CHECK(run_chunk("local n = 0 for i = 1, 1000 do n = n + i end return n == 500500", err, sizeof(err)) == 0);
}

static void memory_cap(void)
{
	char err[256];
	CHECK(run_chunk("local s = 'x' while true do s = s .. s end", err, sizeof(err)) == -ENOMEM);
	CHECK(run_chunk("return string.rep('x', 1 << 30)", err, sizeof(err)) == -ENOMEM);
	CHECK(run_chunk("local t = {} for i = 1, 1e7 do t[i] = {} end", err, sizeof(err)) < 0);
	/* the state survives: a later evaluation in a fresh state works */
	CHECK(run_chunk("return #string.rep('x', 1000) == 1000", err, sizeof(err)) == 0);
}

static void unreachable(void)
{
	char err[256];
	const char *const gone[] = {"os",	  "io",	     "load",	"loadfile", "dofile", "require",
				    "package",	  "debug",   "print",	"collectgarbage", "string.dump", NULL};
	for (const char *const *g = gone; *g; g++) {
		char src[128];
		snprintf(src, sizeof(src), "return %s == nil", *g);
		CHECKF(run_chunk(src, err, sizeof(err)) == 0, "%s is reachable", *g);
	}
	/* not through the string metatable either */
	CHECK(run_chunk("return getmetatable('').__index.dump == nil", err, sizeof(err)) == 0);
	CHECK(run_chunk("return _G.os == nil and _ENV.io == nil", err, sizeof(err)) == 0);
	/* bytecode is refused at load */
	lua_State *L = lsb_new(LSB_MEM_DEFAULT);
	CHECK(lsb_load(L, "\x1bLua\x54\x00", 6, "=b", err, sizeof(err)) < 0 && strstr(err, "binary"));
	lsb_close(L);
}

/* ---- derive rules over a fake layout and ring ---------------------------------- */

static struct rule *parse(const char *json, char *err, size_t errlen)
{
	return rule_parse_text(NULL, NULL, json, strlen(json), err, errlen);
}

static void derive_parse_errors(void)
{
	char err[256];
	struct rule *r = parse("{\"name\":\"x\",\"kind\":\"derive\",\"lua\":\"return { a = \"}", err, sizeof(err));
	CHECKF(r == NULL && strstr(err, "lua: x:1:"), "%s", err);
	r = parse("{\"name\":\"x\",\"kind\":\"derive\",\"lua\":\"while true do end\"}", err, sizeof(err));
	CHECKF(r == NULL && strstr(err, "budget"), "%s", err);
	r = parse("{\"name\":\"x\",\"kind\":\"derive\",\"lua\":\"return os.time()\"}", err, sizeof(err));
	CHECKF(r == NULL && strstr(err, "os"), "%s", err);
	r = parse("{\"name\":\"x\",\"kind\":\"derive\",\"lua\":\"return { ['Bad Name'] = 1 }\"}", err, sizeof(err));
	CHECKF(r == NULL && strstr(err, "series"), "%s", err);
	r = parse("{\"name\":\"x\",\"kind\":\"derive\",\"lua\":\"return {a=1}\",\"colour\":1}", err, sizeof(err));
	CHECKF(r == NULL && strstr(err, "colour: unknown field"), "%s", err);
	r = parse("{\"name\":\"x\",\"kind\":\"nope\"}", err, sizeof(err));
	CHECKF(r == NULL && strstr(err, "kind"), "%s", err);
	r = parse("{\"name\":\"x\",\"kind\":\"derive\",\"lua\":\"return {b = 1, a = v('q') * 2}\"}", err,
		  sizeof(err));
	CHECKF(r != NULL, "%s", err);
	rule_destroy(r);
}

/* A layout (q, then the rule's series), a ring of history for q at 1 s per sample. */
static void derive_sample(void)
{
	char err[256];
	const char *src = "{\"name\":\"d\",\"kind\":\"derive\",\"lua\":\"return { "
			  "cur = v('q'), r = rate('q'), a = avg('q', 3), mx = max('q', 3), mn = min('q', 3), "
			  "e = ewma('q', 0.5), md = quantile('q', 0.5, 100), flag = v('q') > 5 }\"}";
	struct rule *r = parse(src, err, sizeof(err));
	CHECKF(r != NULL, "%s", err);
	if (!r)
		return;
	struct series_reg reg = {0};
	CHECK(reg_series(&reg, "q", "", INFOREG_KIND_GAUGE, "") == 0);
	CHECK(r->ops->declare(r, &reg) == 0 && r->n_idx == 8 && reg.count == 9);
	/* history: q = 1, 2, ..., 10 at t = 1..10 s; this tick t = 11 s, q = 20 */
	struct ring_params p = {.series_count = reg.count, .capacity = 64, .period_ns = 1000000000ull};
	size_t sz = ring_size(&p);
	void *mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	CHECK(ring_init(mem, sz, &p) == 0);
	double *vals = calloc(32, sizeof(double)); /* room for the later rules' series too */
	for (int k = 1; k <= 10; k++) {
		for (uint32_t i = 0; i < reg.count; i++)
			vals[i] = NAN;
		vals[0] = k;
		ring_publish(mem, vals, 0, (uint64_t)k * 1000000000ull);
	}
	for (uint32_t i = 0; i < reg.count; i++)
		vals[i] = NAN;
	vals[0] = 20;
	struct col_now now = {.mono_ns = 11000000000ull, .dt = 1};
	struct rule_tick t = {.now = &now, .reg = &reg, .ring = mem, .values = vals};
	rules_test_hash(&reg);
	CHECK(r->ops->sample(r, &t, vals) == 0);
	/* series are declared in name order: a cur e flag md mn mx r */
	const char *order[] = {"a", "cur", "e", "flag", "md", "mn", "mx", "r"};
	double want[] = {(20 + 10 + 9 + 8) / 4.0, 20, NAN, 1, 5.5 + 0.5 * 0 /* set below */, 8, 20, 10};
	/* ewma newest-first: weights .5,.25,.125... normalised over what exists */
	double s = 0, ws = 0, w = 0.5, h[] = {20, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
	for (int k = 0; k < 11; k++, w *= 0.5)
		s += w * h[k], ws += w;
	want[2] = s / ws;
	want[4] = 6; /* median of 1..10 and 20: 6 */
	for (int i = 0; i < 8; i++) {
		CHECKF(!strcmp(reg.defs[r->idx[i]].name, order[i]), "series %d is %s", i, reg.defs[r->idx[i]].name);
		CHECKF(fabs(vals[r->idx[i]] - want[i]) < 1e-9, "%s = %g, want %g", order[i], vals[r->idx[i]],
		       want[i]);
	}
	/* an input that fails propagates: q failed -> cur failed */
	vals[0] = inforeg_state_value(INFOREG_FAILED);
	CHECK(r->ops->sample(r, &t, vals) == 0 && inforeg_value_state(vals[r->idx[1]]) == INFOREG_FAILED);
	rule_destroy(r);

	/* a runtime error and an undeclared result fail the rule with a message */
	r = parse("{\"name\":\"e\",\"kind\":\"derive\",\"series\":[\"z\"],\"lua\":\"return { z = v('nope') }\"}", err,
		  sizeof(err));
	CHECKF(r != NULL, "%s", err);
	if (r) {
		CHECK(r->ops->declare(r, &reg) == 0);
		rules_test_hash(&reg);
		t.reg = &reg;
		CHECK(r->ops->sample(r, &t, vals) < 0 && strstr(r->errmsg, "no series named 'nope'"));
		rule_destroy(r);
	}
	r = parse("{\"name\":\"f\",\"kind\":\"derive\",\"series\":[\"y\"],\"lua\":\"return { y = 1, w = 2 }\"}", err,
		  sizeof(err));
	if (r) {
		CHECK(r->ops->declare(r, &reg) == 0);
		rules_test_hash(&reg);
		CHECK(r->ops->sample(r, &t, vals) < 0 && strstr(r->errmsg, "'w'"));
		rule_destroy(r);
	}
	/* with "series" given there is no dry run: a budget overrun happens at the tick */
	r = parse("{\"name\":\"g\",\"kind\":\"derive\",\"series\":[\"x1\"],\"lua\":\"while true do end\"}", err,
		  sizeof(err));
	CHECKF(r != NULL, "%s", err);
	if (r) {
		CHECK(r->ops->declare(r, &reg) == 0);
		rules_test_hash(&reg);
		CHECK(r->ops->sample(r, &t, vals) == -ETIME && strstr(r->errmsg, "budget"));
		rule_destroy(r);
	}
	rules_test_hash(NULL);
	free(vals);
	free(mem);
	reg_free(&reg);
}

int main(void)
{
	RUN(budget);
	RUN(memory_cap);
	RUN(unreachable);
	RUN(derive_parse_errors);
	RUN(derive_sample);
	TAP_EXIT();
}
