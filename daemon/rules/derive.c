/* SPDX-License-Identifier: MIT */
/*
 * derive.c - the "derive" rule kind: series computed by a sandboxed Lua chunk from
 * the tick's own sample and the ring's history.
 *
 * Why one file of about 500 lines: the Lua history helpers and the kind that calls them
 * share the ring binding; the sandbox itself is lua_sandbox.c.
 *
 *   {"name":"half_free","kind":"derive","lua":"return { half_free = v(\"cpu.free\") / 2 }"}
 *
 * The chunk runs at every tick, after the built-in collectors and the collecting
 * rules (file, exec, push) of that tick, and returns a table series name -> number
 * (a boolean is 1/0, nil or a missing name reads unknown). Results are written into
 * the same sample as their inputs. Derive rules run in name order, so one may read
 * what an earlier one produced in the same tick.
 *
 * Helpers (NAME is a full series name, labels included):
 *   v(NAME)                      value in this tick's sample (an error if no such series)
 *   rate(NAME)                   per-second change since the previous sample
 *   avg|max|min(NAME, SECONDS)   over this sample and the ring's last SECONDS
 *   ewma(NAME, ALPHA)            exponentially weighted mean, newest weight ALPHA
 *   quantile(NAME, Q, SECONDS)   Q in [0, 1], linear interpolation
 * History helpers skip NaN samples and give NaN when nothing is left; history starts
 * again after a layout change (a new object).
 *
 * Series: "series" lists them (["a","b"] or {"a":{"unit":"cores","help":"..."}}); when
 * absent they are what a dry run returns, the chunk called once at validation with
 * every input NaN. Returning a name that is not declared fails the rule. Globals
 * persist between ticks (a chunk may keep state in them); locals do not.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>

#include "lua_sandbox.h"
#include "ring.h"
#include "rules.h"

#define HIST_MAX 16384 /* samples one history helper looks at */

struct dseries {
	char name[INFOREG_NAME_MAX];
	char unit[INFOREG_UNIT_MAX];
	char help[INFOREG_HELP_MAX];
	int idx;
};

struct derive_rule {
	lua_State *L;
	int fn_ref;
	struct dseries *s;
	int n;
	int cache_ref;		   /* registry: name -> layout index + 1, for this layout */
	int slots_ref;		   /* registry: declared name -> position in s[] + 1 */
	const struct rule_tick *t; /* during an evaluation; NULL in the dry run */
	double *scratch;	   /* HIST_MAX doubles for quantile */
};

static struct derive_rule *priv_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

/*
 * Index of NAME in the tick's layout; raises a Lua error when unknown. -1 in the dry
 * run. Names are looked up once per layout and cached in a Lua table keyed by the
 * (interned) string, so a helper call costs a table lookup, not a hash of the name.
 */
static int series_arg(lua_State *L, struct derive_rule *p, int arg)
{
	const char *name = luaL_checkstring(L, arg);
	if (!p->t)
		return -1;
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->cache_ref);
	lua_pushvalue(L, arg);
	if (lua_rawget(L, -2) == LUA_TNUMBER) {
		int i = (int)lua_tointeger(L, -1) - 1;
		lua_pop(L, 2);
		return i;
	}
	lua_pop(L, 1);
	int i = rule_series_find(p->t, name);
	if (i < 0)
		luaL_error(L, "no series named '%s'", name);
	lua_pushvalue(L, arg);
	lua_pushinteger(L, i + 1);
	lua_rawset(L, -3);
	lua_pop(L, 1);
	return i;
}

/* Walks history of series I backwards: calls FN for this tick's value, then the ring's. */
typedef int (*hist_fn)(void *ctx, double v, double age_s);
static void hist_walk(const struct rule_tick *t, int i, hist_fn fn, void *ctx)
{
	if (fn(ctx, t->values[i], 0))
		return;
	const struct inforeg_shm_header *h = t->ring;
	if (!h || (uint32_t)i >= h->series_count)
		return;
	uint64_t head = ring_head(h);
	for (uint64_t k = 1; k <= HIST_MAX && head - h->first_pos >= k; k++) {
		double v;
		uint64_t mono;
		if (ring_read_at(h, head - k, (uint32_t)i, 1, &v, NULL, &mono) < 0)
			return;
		double age = (double)(int64_t)(t->now->mono_ns - mono) / 1e9;
		if (fn(ctx, v, age))
			return;
	}
}

static int l_v(lua_State *L)
{
	struct derive_rule *p = priv_of(L);
	int i = series_arg(L, p, 1);
	lua_pushnumber(L, i < 0 ? NAN : p->t->values[i]);
	return 1;
}

struct rate_ctx {
	double cur, prev, age;
	int n;
};
static int rate_step(void *c, double v, double age)
{
	struct rate_ctx *r = c;
	if (r->n++ == 0) {
		r->cur = v;
		return 0;
	}
	r->prev = v;
	r->age = age;
	return 1;
}

static int l_rate(lua_State *L)
{
	struct derive_rule *p = priv_of(L);
	int i = series_arg(L, p, 1);
	struct rate_ctx r = {0};
	if (i >= 0)
		hist_walk(p->t, i, rate_step, &r);
	lua_pushnumber(L, r.n >= 2 && r.age > 0 ? (r.cur - r.prev) / r.age : NAN);
	return 1;
}

struct win_ctx {
	double window, sum, mn, mx;
	long n;
	double *buf;
};
static int win_step(void *c, double v, double age)
{
	struct win_ctx *w = c;
	if (age > w->window + 1e-9)
		return 1;
	if (v != v)
		return 0;
	if (w->n == 0 || v < w->mn)
		w->mn = v;
	if (w->n == 0 || v > w->mx)
		w->mx = v;
	w->sum += v;
	if (w->buf)
		w->buf[w->n] = v;
	w->n++;
	return w->n >= HIST_MAX;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* avg (0), max (1), min (2) or quantile (3) over a window of seconds. */
static int window(lua_State *L, int what)
{
	struct derive_rule *p = priv_of(L);
	int i = series_arg(L, p, 1);
	double q = what == 3 ? luaL_checknumber(L, 2) : 0;
	double secs = luaL_checknumber(L, what == 3 ? 3 : 2);
	if (what == 3 && !(q >= 0 && q <= 1))
		return luaL_error(L, "quantile: q must be in [0, 1]");
	if (!(secs >= 0))
		return luaL_error(L, "the window must be >= 0 seconds");
	struct win_ctx w = {.window = secs, .buf = what == 3 ? p->scratch : NULL};
	if (i >= 0)
		hist_walk(p->t, i, win_step, &w);
	double r = NAN;
	if (w.n > 0) {
		if (what == 0)
			r = w.sum / (double)w.n;
		else if (what == 1)
			r = w.mx;
		else if (what == 2)
			r = w.mn;
		else {
			qsort(w.buf, (size_t)w.n, sizeof(double), dbl_cmp);
			double pos = q * (double)(w.n - 1);
			long lo = (long)floor(pos);
			long hi = lo + 1 < w.n ? lo + 1 : lo;
			r = w.buf[lo] + (w.buf[hi] - w.buf[lo]) * (pos - (double)lo);
		}
	}
	lua_pushnumber(L, r);
	return 1;
}

static int l_avg(lua_State *L)
{
	return window(L, 0);
}
static int l_max(lua_State *L)
{
	return window(L, 1);
}
static int l_min(lua_State *L)
{
	return window(L, 2);
}
static int l_quantile(lua_State *L)
{
	return window(L, 3);
}

struct ewma_ctx {
	double alpha, w, sum, wsum;
};
static int ewma_step(void *c, double v, double age)
{
	struct ewma_ctx *e = c;
	(void)age;
	if (v == v) {
		e->sum += e->w * v;
		e->wsum += e->w;
	}
	e->w *= 1 - e->alpha;
	return e->w < 1e-6;
}

static int l_ewma(lua_State *L)
{
	struct derive_rule *p = priv_of(L);
	int i = series_arg(L, p, 1);
	double a = luaL_checknumber(L, 2);
	if (!(a > 0 && a <= 1))
		return luaL_error(L, "ewma: alpha must be in (0, 1]");
	struct ewma_ctx e = {.alpha = a, .w = a};
	if (i >= 0)
		hist_walk(p->t, i, ewma_step, &e);
	lua_pushnumber(L, e.wsum > 0 ? e.sum / e.wsum : NAN);
	return 1;
}

static const luaL_Reg helpers[] = {
    {"v", l_v},	    {"rate", l_rate}, {"avg", l_avg},		{"max", l_max},
    {"min", l_min}, {"ewma", l_ewma}, {"quantile", l_quantile}, {NULL, NULL},
};

/* ---- parse ---------------------------------------------------------------------- */

static int add_series(struct derive_rule *p, const char *name, const char *unit, const char *help,
		      const char *rule, char *err, size_t errlen)
{
	struct series_reg scratch = {0};
	int e = reg_series(&scratch, name, unit ? unit : "", INFOREG_KIND_GAUGE, "");
	reg_free(&scratch);
	if (e < 0 || (unit && strlen(unit) >= INFOREG_UNIT_MAX)) {
		snprintf(err, errlen, "series: '%.80s' is not a series name (or its unit is too long)", name);
		return -EINVAL;
	}
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->s[i].name, name)) {
			snprintf(err, errlen, "series: '%.80s' twice", name);
			return -EINVAL;
		}
	if (p->n >= RULE_SERIES_MAX) {
		snprintf(err, errlen, "series: at most %d", RULE_SERIES_MAX);
		return -EINVAL;
	}
	struct dseries *d = &p->s[p->n++];
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->unit, sizeof(d->unit), "%s", unit ? unit : "");
	if (help)
		snprintf(d->help, sizeof(d->help), "%s", help);
	else
		snprintf(d->help, sizeof(d->help), "derive rule %s", rule);
	d->idx = -1;
	return 0;
}

static int parse_series(struct derive_rule *p, json_t *s, const char *rule, char *err, size_t errlen)
{
	if (json_is_array(s)) {
		size_t i;
		json_t *x;
		json_array_foreach(s, i, x)
		{
			if (!json_is_string(x)) {
				snprintf(err, errlen, "series: expected names (strings)");
				return -EINVAL;
			}
			if (add_series(p, json_string_value(x), NULL, NULL, rule, err, errlen) < 0)
				return -EINVAL;
		}
		return 0;
	}
	if (json_is_object(s)) {
		const char *k;
		json_t *x;
		json_object_foreach(s, k, x)
		{
			json_t *u = json_object_get(x, "unit"), *h = json_object_get(x, "help");
			if (!json_is_object(x) || (u && !json_is_string(u)) || (h && !json_is_string(h))) {
				snprintf(err, errlen,
					 "series.%.60s: expected {\"unit\":\"...\",\"help\":\"...\"}", k);
				return -EINVAL;
			}
			if (add_series(p, k, json_string_value(u), json_string_value(h), rule, err, errlen) <
			    0)
				return -EINVAL;
		}
		return 0;
	}
	snprintf(err, errlen, "series: expected a list of names or an object name -> {unit, help}");
	return -EINVAL;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dseries *)a)->name, ((const struct dseries *)b)->name);
}

/* Runs the chunk with P->t set (or NULL: dry run); leaves the result table on the stack. */
static int evaluate(struct derive_rule *p, char *err, size_t errlen)
{
	lua_rawgeti(p->L, LUA_REGISTRYINDEX, p->fn_ref);
	int rc = lsb_call(p->L, 0, 1, LSB_BUDGET_DEFAULT, err, errlen);
	if (rc < 0)
		return rc;
	if (!lua_istable(p->L, -1)) {
		snprintf(err, errlen,
			 "the chunk must return a table of series name -> number, it returned a %s",
			 luaL_typename(p->L, -1));
		lua_pop(p->L, 1);
		return -EINVAL;
	}
	return 0;
}

static int derive_parse(struct rule *r, json_t *j, char *err, size_t errlen)
{
	static const char *const fields[] = {"lua", "series", NULL};
	const char *src;
	char msg[RULE_ERR_MAX], chunk[80];
	struct derive_rule *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->fn_ref = LUA_NOREF;
	if (rule_json_only(j, fields, err, errlen) || rule_json_string(j, "lua", 1, &src, err, errlen))
		return -EINVAL;
	p->s = calloc(RULE_SERIES_MAX, sizeof(*p->s));
	p->scratch = malloc(HIST_MAX * sizeof(double));
	p->L = lsb_new(LSB_MEM_DEFAULT);
	if (!p->s || !p->scratch || !p->L) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	lua_pushglobaltable(p->L);
	lua_pushlightuserdata(p->L, p);
	luaL_setfuncs(p->L, helpers, 1);
	lua_pop(p->L, 1);
	snprintf(chunk, sizeof(chunk), "=%s", r->name);
	if (lsb_load(p->L, src, json_string_length(json_object_get(j, "lua")), chunk, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "lua: %s", msg);
		return -EINVAL;
	}
	p->fn_ref = luaL_ref(p->L, LUA_REGISTRYINDEX);
	lua_newtable(p->L);
	p->cache_ref = luaL_ref(p->L, LUA_REGISTRYINDEX);
	lua_newtable(p->L);
	p->slots_ref = luaL_ref(p->L, LUA_REGISTRYINDEX);
	json_t *s = json_object_get(j, "series");
	if (s)
		return parse_series(p, s, r->name, err, errlen) < 0 ? -EINVAL : 0;
	/* dry run: every input NaN; the names it returns are the series */
	p->t = NULL;
	if (evaluate(p, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "lua: the dry run (every input NaN) failed: %s; or list \"series\"",
			 msg);
		return -EINVAL;
	}
	lua_pushnil(p->L);
	while (lua_next(p->L, -2)) {
		lua_pop(p->L, 1);
		if (lua_type(p->L, -1) != LUA_TSTRING) {
			snprintf(err, errlen, "lua: the returned table has a key that is not a series name");
			return -EINVAL;
		}
		if (add_series(p, lua_tostring(p->L, -1), NULL, NULL, r->name, err, errlen) < 0)
			return -EINVAL;
	}
	lua_pop(p->L, 1);
	if (p->n == 0) {
		snprintf(err, errlen, "lua: the dry run returned no series; return {name = value, ...}");
		return -EINVAL;
	}
	qsort(p->s, (size_t)p->n, sizeof(*p->s), name_cmp);
	return 0;
}

static int derive_declare(struct rule *r, struct series_reg *reg)
{
	struct derive_rule *p = r->priv;
	/* a new layout: forget cached indices; (re)build the name -> slot map */
	lua_newtable(p->L);
	lua_rawseti(p->L, LUA_REGISTRYINDEX, p->cache_ref);
	lua_rawgeti(p->L, LUA_REGISTRYINDEX, p->slots_ref);
	for (int i = 0; i < p->n; i++) {
		lua_pushinteger(p->L, i + 1);
		lua_setfield(p->L, -2, p->s[i].name);
	}
	lua_pop(p->L, 1);
	for (int i = 0; i < p->n; i++) {
		int e = rule_declare(r, reg, p->s[i].name, p->s[i].unit, INFOREG_KIND_GAUGE, p->s[i].help);
		if (e < 0)
			return e;
		p->s[i].idx = e;
	}
	return 0;
}

static int derive_sample(struct rule *r, const struct rule_tick *t, double *values)
{
	struct derive_rule *p = r->priv;
	lua_State *L = p->L;
	char msg[RULE_ERR_MAX];
	p->t = t;
	int rc = evaluate(p, msg, sizeof(msg));
	p->t = NULL;
	if (rc < 0) {
		rule_error(r, "%s", msg);
		return rc;
	}
	for (int i = 0; i < p->n; i++)
		values[p->s[i].idx] = NAN; /* not returned this tick: unknown */
	/* one pass over what the chunk returned: every key must be a declared series */
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->slots_ref); /* result, slots */
	lua_pushnil(L);
	while (lua_next(L, -3)) { /* result, slots, key, value */
		lua_pushvalue(L, -2);
		int known = lua_type(L, -1) == LUA_TSTRING && lua_rawget(L, -4) == LUA_TNUMBER;
		int slot = known ? (int)lua_tointeger(L, -1) - 1 : -1;
		lua_pop(L, 1);
		if (slot < 0) {
			const char *k =
			    lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "(not a string)";
			rule_error(
			    r, "returned '%.80s', which is not one of its series (declare it in \"series\")",
			    k);
			lua_pop(L, 4);
			return -EINVAL;
		}
		int ty = lua_type(L, -1);
		if (ty == LUA_TNUMBER) {
			values[p->s[slot].idx] = lua_tonumber(L, -1);
		} else if (ty == LUA_TBOOLEAN) {
			values[p->s[slot].idx] = lua_toboolean(L, -1);
		} else {
			rule_error(r, "'%s' is a %s, not a number", p->s[slot].name, lua_typename(L, ty));
			lua_pop(L, 4);
			return -EINVAL;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	return 0;
}

static void derive_free(struct rule *r)
{
	struct derive_rule *p = r->priv;
	if (!p)
		return;
	lsb_close(p->L);
	free(p->s);
	free(p->scratch);
	free(p);
	r->priv = NULL;
}

const struct rule_kind_ops rule_derive_ops = {
    .kind = "derive",
    .phase = RULE_PHASE_DERIVE,
    .parse = derive_parse,
    .declare = derive_declare,
    .sample = derive_sample,
    .free = derive_free,
};
