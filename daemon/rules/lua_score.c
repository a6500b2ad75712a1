/* SPDX-License-Identifier: MIT */
/*
 * lua_score.c - the scheduling score (lua_score.h): requirement parsing with units,
 * the built-in rule (the paper's formula per resource, combined by the minimum) and
 * Lua score rules evaluated in a sandboxed state per evaluator.
 *
 * Why one file of about 580 lines: requirement parsing, the built-in formula and Lua
 * score rules are the one score, linked into the daemon, the REST threads and the CLI
 * alike; kept together so the three cannot disagree.
 *
 * Where the built-in rule finds free capacity:
 *   cpu      cpu.free (idle cores)
 *   mem      mem.available (bytes)
 *   gpu      gpu.free (accelerators with no work), 0 when the node has none
 *   gpu_mem  the largest free memory of one accelerator: max over devices of
 *            gpu.mem.free{L}, or gpu.mem.total{L} - gpu.mem.used{L}; 0 when none
 * A free value that is NaN (the series is stale, failed or unknown) scores 0: a
 * scheduler must not place work on a node it cannot see.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>

#include "lua_sandbox.h"
#include "lua_score.h"

const char score_default_rule[] = "{\"name\":\"default\",\"kind\":\"score\"}";

static const struct {
	const char *name;
	enum score_unit unit;
} builtin_res[] = {
    {"cpu", SCORE_UNIT_CORES},
    {"mem", SCORE_UNIT_BYTES},
    {"gpu", SCORE_UNIT_NUMBER},
    {"gpu_mem", SCORE_UNIT_BYTES},
};
#define N_BUILTIN (int)(sizeof(builtin_res) / sizeof(builtin_res[0]))

double score_perf(double free, double req)
{
	if (!(req > 0))
		return 1;
	if (!(free > 0)) /* NaN or <= 0 */
		return 0;
	return free >= req ? 1 : free / req;
}

/* ---- requirements ---------------------------------------------------------------- */

static int res_index(const struct score_def *d, const char *res)
{
	for (int i = 0; i < d->n_res; i++)
		if (!strcmp(d->res[i].name, res))
			return i;
	return -1;
}

static int unit_mult(enum score_unit u, const char *suf, double *mult)
{
	static const struct {
		const char *s;
		double m;
	} bytes[] = {
	    {"", 1},
	    {"B", 1},
	    {"k", 1e3},
	    {"K", 1e3},
	    {"KB", 1e3},
	    {"kB", 1e3},
	    {"M", 1e6},
	    {"MB", 1e6},
	    {"G", 1e9},
	    {"GB", 1e9},
	    {"T", 1e12},
	    {"TB", 1e12},
	    {"Ki", 1024.0},
	    {"KiB", 1024.0},
	    {"Mi", 1048576.0},
	    {"MiB", 1048576.0},
	    {"Gi", 1073741824.0},
	    {"GiB", 1073741824.0},
	    {"Ti", 1099511627776.0},
	    {"TiB", 1099511627776.0},
	};
	if (u == SCORE_UNIT_BYTES) {
		for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++)
			if (!strcmp(suf, bytes[i].s)) {
				*mult = bytes[i].m;
				return 0;
			}
		return -1;
	}
	if (!strcmp(suf, "")) {
		*mult = 1;
		return 0;
	}
	if (u == SCORE_UNIT_CORES && !strcmp(suf, "m")) {
		*mult = 1e-3;
		return 0;
	}
	return -1;
}

static int add_checked(const struct score_def *d, struct score_reqset *out, const char *res, double v,
		       char *err, size_t errlen)
{
	if (!(v >= 0) || isinf(v)) {
		snprintf(err, errlen, "%s: must be a finite number >= 0", res);
		return -EINVAL;
	}
	(void)d;
	for (int i = 0; i < out->n; i++)
		if (!strcmp(out->r[i].res, res)) {
			snprintf(err, errlen, "%s: given twice", res);
			return -EINVAL;
		}
	if (out->n >= SCORE_RES_MAX) {
		snprintf(err, errlen, "%s: at most %d resources", res, SCORE_RES_MAX);
		return -EINVAL;
	}
	snprintf(out->r[out->n].res, sizeof(out->r[0].res), "%s", res);
	out->r[out->n++].req = v;
	return 0;
}

int score_req_add_text(const struct score_def *d, struct score_reqset *out, const char *res, const char *val,
		       char *err, size_t errlen)
{
	int i = res_index(d, res);
	if (i < 0) {
		snprintf(err, errlen, "%.40s: unknown resource (this rule knows:", res);
		for (int k = 0; k < d->n_res; k++)
			snprintf(err + strlen(err), errlen - strlen(err), " %s", d->res[k].name);
		snprintf(err + strlen(err), errlen - strlen(err), ")");
		return -EINVAL;
	}
	char *end;
	errno = 0;
	double v = strtod(val, &end);
	if (end == val || errno) {
		snprintf(err, errlen, "%s: expected a number with an optional unit, got '%.40s'", res, val);
		return -EINVAL;
	}
	while (*end == ' ')
		end++;
	double mult;
	if (unit_mult(d->res[i].unit, end, &mult) < 0) {
		snprintf(err, errlen, "%s: unknown unit '%.16s'%s", res, end,
			 d->res[i].unit == SCORE_UNIT_BYTES   ? " (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
			 : d->res[i].unit == SCORE_UNIT_CORES ? " (cores: a number, or millicores like 500m)"
							      : " (a plain number)");
		return -EINVAL;
	}
	return add_checked(d, out, res, v * mult, err, errlen);
}

int score_req_add(const struct score_def *d, struct score_reqset *out, const char *res, json_t *val,
		  char *err, size_t errlen)
{
	if (json_is_number(val)) {
		if (res_index(d, res) < 0)
			return score_req_add_text(d, out, res, "0", err,
						  errlen); /* the unknown-resource message */
		return add_checked(d, out, res, json_number_value(val), err, errlen);
	}
	if (json_is_string(val))
		return score_req_add_text(d, out, res, json_string_value(val), err, errlen);
	snprintf(err, errlen, "%.40s: expected a number or a string with a unit", res);
	return -EINVAL;
}

int score_req_parse(const struct score_def *d, json_t *obj, struct score_reqset *out, char *err,
		    size_t errlen)
{
	const char *k;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		snprintf(err, errlen,
			 "a requirement set must be a JSON object like {\"cpu\":2.5,\"mem\":\"4GiB\"}");
		return -EINVAL;
	}
	json_object_foreach(obj, k, v)
	{
		int e = score_req_add(d, out, k, v, err, errlen);
		if (e < 0)
			return e;
	}
	return 0;
}

/* ---- definitions ------------------------------------------------------------------- */

void score_def_free(struct score_def *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->lua);
	free(d);
}

static int label_value_ok(const char *s)
{
	if (!*s || strlen(s) >= 48)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return 0;
	return 1;
}

struct score_def *score_def_parse(const char *name, json_t *j, char *err, size_t errlen)
{
	struct score_def *d = calloc(1, sizeof(*d));
	json_t *lua = json_object_get(j, "lua"), *res = json_object_get(j, "resources"),
	       *prof = json_object_get(j, "profiles");
	if (!d || !(d->name = strdup(name))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (lua && !json_is_string(lua)) {
		snprintf(err, errlen, "lua: expected a string (a chunk returning function(req))");
		goto fail;
	}
	if (res && !lua) {
		snprintf(err, errlen, "resources: only a Lua score rule declares its own resources");
		goto fail;
	}
	if (res) {
		const char *k;
		json_t *v;
		if (!json_is_object(res) || json_object_size(res) == 0 ||
		    json_object_size(res) > SCORE_RES_MAX) {
			snprintf(err, errlen, "resources: expected an object of 1-%d resource: unit",
				 SCORE_RES_MAX);
			goto fail;
		}
		json_object_foreach(res, k, v)
		{
			const char *u = json_string_value(v);
			if (!label_value_ok(k) || strlen(k) >= SCORE_RES_NAME_MAX) {
				snprintf(err, errlen, "resources: bad resource name '%.40s' ([a-z0-9_.-]+)",
					 k);
				goto fail;
			}
			if (!u || (strcmp(u, "bytes") && strcmp(u, "cores") && strcmp(u, "number"))) {
				snprintf(err, errlen,
					 "resources.%s: unit must be \"bytes\", \"cores\" or \"number\"", k);
				goto fail;
			}
			snprintf(d->res[d->n_res].name, SCORE_RES_NAME_MAX, "%s", k);
			d->res[d->n_res++].unit = !strcmp(u, "bytes")	? SCORE_UNIT_BYTES
						  : !strcmp(u, "cores") ? SCORE_UNIT_CORES
									: SCORE_UNIT_NUMBER;
		}
	} else {
		for (int i = 0; i < N_BUILTIN; i++) {
			snprintf(d->res[i].name, SCORE_RES_NAME_MAX, "%s", builtin_res[i].name);
			d->res[i].unit = builtin_res[i].unit;
		}
		d->n_res = N_BUILTIN;
	}
	if (lua) {
		d->lua_len = json_string_length(lua);
		d->lua = malloc(d->lua_len + 1);
		if (!d->lua) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		memcpy(d->lua, json_string_value(lua), d->lua_len + 1);
		/* compile and run the chunk once in a scratch state: it must give a function */
		struct score_eval *e = score_eval_new(d, err, errlen);
		if (!e)
			goto fail;
		score_eval_free(e);
	}
	if (prof) {
		const char *k;
		json_t *v;
		if (!json_is_object(prof) || json_object_size(prof) > SCORE_PROFILES_MAX) {
			snprintf(err, errlen,
				 "profiles: expected an object of at most %d NAME: {requirements}",
				 SCORE_PROFILES_MAX);
			goto fail;
		}
		json_object_foreach(prof, k, v)
		{
			char e2[200];
			if (!label_value_ok(k)) {
				snprintf(err, errlen,
					 "profiles: bad profile name '%.40s' ([a-z0-9_.-]{1,47})", k);
				goto fail;
			}
			snprintf(d->prof[d->n_prof].name, sizeof(d->prof[0].name), "%s", k);
			if (score_req_parse(d, v, &d->prof[d->n_prof].req, e2, sizeof(e2)) < 0) {
				snprintf(err, errlen, "profiles.%s.%s", k, e2);
				goto fail;
			}
			d->n_prof++;
		}
	}
	return d;
fail:
	score_def_free(d);
	return NULL;
}

/* ---- evaluation -------------------------------------------------------------------- */

struct score_eval {
	const struct score_def *def;
	lua_State *L;
	int fn_ref;
	const struct score_sample *cur;
};

const struct score_def *score_eval_def(const struct score_eval *e)
{
	return e->def;
}

static double sample_v(const struct score_sample *s, const char *name, int *found)
{
	int i = s->find(s->ctx, name, strlen(name));
	*found = i >= 0 && (uint32_t)i < s->n;
	return *found ? s->values[i] : NAN;
}

/* 1 when NAME's base (before '{') is BASE. */
static int base_is(const char *name, const char *base, size_t bl)
{
	return !strncmp(name, base, bl) && (name[bl] == '{' || name[bl] == '\0');
}

static double builtin_gpu_mem(const struct score_sample *s)
{
	double best = 0;
	char other[256];
	for (uint32_t i = 0; i < s->n; i++) {
		const char *nm = s->name(s->ctx, i);
		double f = NAN;
		if (base_is(nm, "gpu.mem.free", 12)) {
			f = s->values[i];
		} else if (base_is(nm, "gpu.mem.total", 13)) {
			snprintf(other, sizeof(other), "gpu.mem.used%s", nm + 13);
			int found;
			double used = sample_v(s, other, &found);
			if (!found)
				continue;
			f = s->values[i] - used;
		} else {
			continue;
		}
		if (f != f)
			return NAN; /* one device unknown: do not guess */
		if (f > best)
			best = f;
	}
	return best;
}

static double builtin_free(const struct score_sample *s, const char *res)
{
	int found;
	double v;
	if (!strcmp(res, "cpu"))
		return sample_v(s, "cpu.free", &found);
	if (!strcmp(res, "mem"))
		return sample_v(s, "mem.available", &found);
	if (!strcmp(res, "gpu")) {
		v = sample_v(s, "gpu.free", &found);
		return found ? v : 0;
	}
	if (!strcmp(res, "gpu_mem"))
		return builtin_gpu_mem(s);
	return NAN;
}

/* Lua helpers: v(name), series(base), perf(free, req). */
static struct score_eval *eval_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static int l_v(lua_State *L)
{
	struct score_eval *e = eval_of(L);
	const char *name = luaL_checkstring(L, 1);
	int found;
	double v = e->cur ? sample_v(e->cur, name, &found) : (found = 0, NAN);
	if (!found)
		lua_pushnil(L);
	else
		lua_pushnumber(L, v);
	return 1;
}

static int l_series(lua_State *L)
{
	struct score_eval *e = eval_of(L);
	size_t bl;
	const char *base = luaL_checklstring(L, 1, &bl);
	lua_newtable(L);
	for (uint32_t i = 0; e->cur && i < e->cur->n; i++) {
		const char *nm = e->cur->name(e->cur->ctx, i);
		if (base_is(nm, base, bl)) {
			lua_pushnumber(L, e->cur->values[i]);
			lua_setfield(L, -2, nm);
		}
	}
	return 1;
}

static int l_perf(lua_State *L)
{
	lua_pushnumber(L, score_perf(luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
	return 1;
}

struct score_eval *score_eval_new(const struct score_def *d, char *err, size_t errlen)
{
	struct score_eval *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->def = d;
	e->fn_ref = LUA_NOREF;
	if (!d->lua)
		return e;
	e->L = lsb_new(LSB_MEM_DEFAULT);
	if (!e->L) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	static const luaL_Reg fns[] = {{"v", l_v}, {"series", l_series}, {"perf", l_perf}, {NULL, NULL}};
	lua_pushglobaltable(e->L);
	lua_pushlightuserdata(e->L, e);
	luaL_setfuncs(e->L, fns, 1);
	lua_pop(e->L, 1);
	char msg[200];
	char chunk[80];
	snprintf(chunk, sizeof(chunk), "=score rule %s", d->name);
	if (lsb_load(e->L, d->lua, d->lua_len, chunk, msg, sizeof(msg)) < 0 ||
	    lsb_call(e->L, 0, 1, LSB_BUDGET_DEFAULT, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "lua: %s", msg);
		goto fail;
	}
	if (!lua_isfunction(e->L, -1)) {
		snprintf(err, errlen, "lua: the chunk must return a function(req), it returned a %s",
			 luaL_typename(e->L, -1));
		goto fail;
	}
	e->fn_ref = luaL_ref(e->L, LUA_REGISTRYINDEX);
	return e;
fail:
	score_eval_free(e);
	return NULL;
}

void score_eval_free(struct score_eval *e)
{
	if (!e)
		return;
	lsb_close(e->L);
	free(e);
}

static double min_perf(const struct score_result *out)
{
	double m = 1;
	for (int i = 0; i < out->n; i++)
		if (!(out->r[i].perf >= m))
			m = out->r[i].perf;
	return m;
}

/* Reads number field K of the table at the top (NaN when absent or not a number). */
static double field_num(lua_State *L, const char *k)
{
	lua_getfield(L, -1, k);
	double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : NAN;
	lua_pop(L, 1);
	return v;
}

static int run_lua(struct score_eval *e, const struct score_reqset *req, struct score_result *out, char *err,
		   size_t errlen)
{
	lua_State *L = e->L;
	char msg[200];
	int top = lua_gettop(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, e->fn_ref);
	lua_createtable(L, 0, req->n);
	for (int i = 0; i < req->n; i++) {
		lua_pushnumber(L, req->r[i].req);
		lua_setfield(L, -2, req->r[i].res);
	}
	int rc = lsb_call(L, 1, 2, LSB_BUDGET_DEFAULT, msg, sizeof(msg));
	if (rc < 0) {
		snprintf(err, errlen, "score rule %s: %s", e->def->name, msg);
		lua_settop(L, top);
		return rc;
	}
	if (!lua_istable(L, -2)) {
		snprintf(err, errlen, "score rule %s: the function must return a table of resources",
			 e->def->name);
		lua_settop(L, top);
		return -EINVAL;
	}
	int have_score = lua_isnumber(L, -1);
	double score = have_score ? lua_tonumber(L, -1) : NAN;
	lua_pop(L, 1);
	for (int i = 0; i < req->n; i++) {
		lua_getfield(L, -1, req->r[i].res);
		if (!lua_istable(L, -1)) {
			snprintf(err, errlen, "score rule %s: no {free, req, perf} entry for '%s'",
				 e->def->name, req->r[i].res);
			lua_settop(L, top);
			return -EINVAL;
		}
		snprintf(out->r[i].res, sizeof(out->r[i].res), "%s", req->r[i].res);
		out->r[i].free = field_num(L, "free");
		out->r[i].req = req->r[i].req;
		out->r[i].perf = field_num(L, "perf");
		lua_pop(L, 1);
		if (!(out->r[i].perf >= 0 && out->r[i].perf <= 1)) {
			snprintf(err, errlen, "score rule %s: perf of '%s' is not a number in [0, 1]",
				 e->def->name, req->r[i].res);
			lua_settop(L, top);
			return -EINVAL;
		}
	}
	out->n = req->n;
	lua_settop(L, top);
	out->score = have_score ? score : min_perf(out);
	if (!(out->score >= 0 && out->score <= 1)) {
		snprintf(err, errlen, "score rule %s: score is not a number in [0, 1]", e->def->name);
		return -EINVAL;
	}
	return 0;
}

int score_eval_run(struct score_eval *e, const struct score_sample *s, const struct score_reqset *req,
		   struct score_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (e->L) {
		e->cur = s;
		int rc = run_lua(e, req, out, err, errlen);
		e->cur = NULL;
		return rc;
	}
	for (int i = 0; i < req->n; i++) {
		snprintf(out->r[i].res, sizeof(out->r[i].res), "%s", req->r[i].res);
		out->r[i].req = req->r[i].req;
		out->r[i].free = builtin_free(s, req->r[i].res);
		out->r[i].perf = score_perf(out->r[i].free, out->r[i].req);
	}
	out->n = req->n;
	out->score = min_perf(out);
	return 0;
}

static json_t *num_or_null(double v)
{
	return v == v && !isinf(v) ? json_real(v) : json_null();
}

json_t *score_result_json(const struct score_result *res)
{
	json_t *o = json_object(), *r = json_object();
	for (int i = 0; i < res->n; i++)
		json_object_set_new(r, res->r[i].res,
				    json_pack("{s:o, s:o, s:o}", "free", num_or_null(res->r[i].free), "req",
					      num_or_null(res->r[i].req), "perf",
					      num_or_null(res->r[i].perf)));
	json_object_set_new(o, "score", num_or_null(res->score));
	json_object_set_new(o, "resources", r);
	return o;
}
