/* SPDX-License-Identifier: MIT */
/*
 * score.c - the scheduling score resource.
 *   GET  /v1/score?cpu=2.5&mem=4GiB[&rule=NAME]   one requirement set
 *   POST /v1/score[?rule=NAME]   body: [{"cpu":2.5,"mem":"4GiB","gpu":1}, ...]
 * answer {"score":S,"resources":{"cpu":{"free":F,"req":R,"perf":P},...},"seq":N,
 * "rule":"default"} and {"seq":N,"rule":"default","scores":[{"score":..,"resources":
 * {...}}, ...]} (every set scored over ONE sample: the cluster extender compares nodes
 * with it). Amounts are numbers in base units (cores, bytes, devices) or strings with
 * a unit ("4GiB", "512Mi", "500m" cores); a bad one is a 400 naming the field.
 *
 * The score rule (daemon/rules/lua_score.h; default: the paper's formula per
 * resource, combined by the minimum) is evaluated in this serving thread over the
 * worker's snapshot of the latest sample. Each thread keeps its own evaluators (a Lua
 * state for a Lua rule: the source is shared, the states are not), rebuilt when the
 * daemon's score rules change (ctl_score_version, one atomic load per request).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "api_int.h"
#include "ctl.h"
#include "rules/lua_score.h"

#define EVALS_PER_THREAD 8
#define SCORE_SETS_MAX	 1024
#define SCORE_BODY_MAX	 (256 * 1024)

struct eval_cache {
	uint64_t version;
	int n;
	struct {
		struct score_def *def;
		struct score_eval *eval;
	} e[EVALS_PER_THREAD];
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_clear(struct eval_cache *c)
{
	for (int i = 0; i < c->n; i++) {
		score_eval_free(c->e[i].eval);
		score_def_free(c->e[i].def);
	}
	c->n = 0;
}

static void cache_destroy(void *p)
{
	cache_clear(p);
	free(p);
}

static void cache_key_init(void)
{
	pthread_key_create(&cache_key, cache_destroy);
}

/* This thread's evaluator of score rule NAME. NULL with ERR (and *STATUS) on failure. */
static struct score_eval *evaluator(const char *name, int *status, char *err, size_t errlen)
{
	pthread_once(&cache_once, cache_key_init);
	struct eval_cache *c = pthread_getspecific(cache_key);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c || pthread_setspecific(cache_key, c)) {
			free(c);
			*status = 500;
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
	}
	uint64_t v = ctl_score_version();
	if (v != c->version) {
		cache_clear(c);
		c->version = v;
	}
	for (int i = 0; i < c->n; i++)
		if (!strcmp(score_eval_def(c->e[i].eval)->name, name))
			return c->e[i].eval;
	uint64_t dv;
	struct score_def *d = ctl_score_def(name, &dv, err, errlen);
	if (!d) {
		*status = 404;
		return NULL;
	}
	struct score_eval *e = score_eval_new(d, err, errlen);
	if (!e) {
		score_def_free(d);
		*status = 500;
		return NULL;
	}
	if (c->n == EVALS_PER_THREAD || dv != v) {
		/* full, or the set moved while we copied: keep only this one */
		cache_clear(c);
		c->version = dv;
	}
	c->e[c->n].def = d;
	c->e[c->n++].eval = e;
	return e;
}

static const char *snap_name(void *ctx, uint32_t i)
{
	const struct api_worker *w = ctx;
	return w->dir.s[i].name;
}

static int snap_find(void *ctx, const char *name, size_t len)
{
	const struct api_worker *w = ctx;
	return api_dir_find(&w->dir, name, len);
}

static void result_json(struct sbuf *sb, const struct score_result *r)
{
	sbuf_puts(sb, "{\"score\":");
	sbuf_json_num(sb, r->score);
	sbuf_puts(sb, ",\"resources\":{");
	for (int i = 0; i < r->n; i++) {
		if (i)
			sbuf_putc(sb, ',');
		sbuf_json_str(sb, r->r[i].res, strlen(r->r[i].res));
		sbuf_puts(sb, ":{\"free\":");
		sbuf_json_num(sb, r->r[i].free);
		sbuf_puts(sb, ",\"req\":");
		sbuf_json_num(sb, r->r[i].req);
		sbuf_puts(sb, ",\"perf\":");
		sbuf_json_num(sb, r->r[i].perf);
		sbuf_putc(sb, '}');
	}
	sbuf_puts(sb, "}}");
}

/* Next "k=v" of the query string; 0 at the end. */
static int query_next(const char **p, const char *end, const char **k, size_t *klen, const char **v,
		      size_t *vlen)
{
	const char *s = *p;
	while (s < end && *s == '&')
		s++;
	if (s >= end)
		return 0;
	const char *amp = memchr(s, '&', (size_t)(end - s));
	if (!amp)
		amp = end;
	const char *eq = memchr(s, '=', (size_t)(amp - s));
	*k = s;
	*klen = (size_t)((eq ? eq : amp) - s);
	*v = eq ? eq + 1 : amp;
	*vlen = eq ? (size_t)(amp - eq - 1) : 0;
	*p = amp;
	return 1;
}

static const char *rule_param(struct api_call *call)
{
	const char *rule = NULL;
	if (api_query_get(call->req, "rule", &rule) <= 0 || !rule[0])
		return "default";
	return rule;
}

static int eval_error(struct api_call *call, int rc, const char *err)
{
	return api_error(call, rc == -ENOMEM ? 503 : 500, "rule_failed", "%s", err);
}

static int get_score(struct api_call *call)
{
	h2o_req_t *req = call->req;
	const char *rule = rule_param(call);
	char err[256], key[SCORE_RES_NAME_MAX + 8], val[128];
	int status = 0;
	struct score_eval *e = evaluator(rule, &status, err, sizeof(err));
	if (!e)
		return api_error(call, status, status == 404 ? "unknown_rule" : "internal", "%s", err);
	struct score_reqset rs = {0};
	if (req->query_at != SIZE_MAX) {
		const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len, *k,
			   *v;
		size_t kl, vl;
		while (query_next(&p, end, &k, &kl, &v, &vl)) {
			if (api_url_decode(k, kl, key, sizeof(key), 1) < 0 ||
			    api_url_decode(v, vl, val, sizeof(val), 1) < 0)
				return api_error(call, 400, "bad_query", "bad or over-long query parameter");
			if (!strcmp(key, "rule"))
				continue;
			if (score_req_add_text(score_eval_def(e), &rs, key, val, err, sizeof(err)) < 0)
				return api_error(call, 400, "bad_requirement", "%s", err);
		}
	}
	if (api_snap_ready(call))
		return 0;
	struct api_worker *w = call->w;
	struct score_sample s = {
	    .n = w->snap.n, .values = w->snap.values, .ctx = w, .name = snap_name, .find = snap_find};
	struct score_result res;
	int rc = score_eval_run(e, &s, &rs, &res, err, sizeof(err));
	if (rc < 0)
		return eval_error(call, rc, err);
	struct sbuf sb;
	sbuf_init(&sb, 256);
	result_json(&sb, &res);
	sb.len--; /* reopen the object: add seq and rule */
	sbuf_puts(&sb, ",\"seq\":");
	sbuf_u64(&sb, w->snap.meta.seq);
	sbuf_puts(&sb, ",\"rule\":");
	sbuf_json_str(&sb, rule, strlen(rule));
	sbuf_puts(&sb, "}\n");
	return api_send_sbuf(call, 200, "application/json", &sb);
}

static int post_score(struct api_call *call)
{
	static const char *const allowed[] = {"rule", NULL};
	h2o_iovec_t body = call->req->entity;
	const char *bad = api_query_unknown(call->req, allowed), *rule = rule_param(call);
	char err[256];
	int status = 0;
	json_error_t je;

	if (bad)
		return api_error(call, 400, "bad_query", "unknown query parameter '%s'", bad);
	if (body.len > SCORE_BODY_MAX)
		return api_error(call, 413, "payload_too_large", "body larger than %d bytes", SCORE_BODY_MAX);
	struct score_eval *e = evaluator(rule, &status, err, sizeof(err));
	if (!e)
		return api_error(call, status, status == 404 ? "unknown_rule" : "internal", "%s", err);
	json_t *arr = json_loadb(body.base ? body.base : "", body.len, 0, &je);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return api_error(call, 400, "bad_body", "body must be a JSON array of requirement sets: %s",
				 arr ? "not an array" : je.text);
	}
	size_t n = json_array_size(arr);
	if (n > SCORE_SETS_MAX) {
		json_decref(arr);
		return api_error(call, 400, "bad_body", "at most %d requirement sets", SCORE_SETS_MAX);
	}
	struct score_reqset *rs = h2o_mem_alloc_pool(&call->req->pool, (n ? n : 1) * sizeof(*rs));
	for (size_t i = 0; i < n; i++) {
		char e2[200];
		if (score_req_parse(score_eval_def(e), json_array_get(arr, i), &rs[i], e2, sizeof(e2)) < 0) {
			json_decref(arr);
			return api_error(call, 400, "bad_requirement", "[%zu].%s", i, e2);
		}
	}
	json_decref(arr);
	if (api_snap_ready(call))
		return 0;
	struct api_worker *w = call->w;
	struct score_sample s = {
	    .n = w->snap.n, .values = w->snap.values, .ctx = w, .name = snap_name, .find = snap_find};
	struct sbuf sb;
	sbuf_init(&sb, 128 + n * 160);
	sbuf_puts(&sb, "{\"seq\":");
	sbuf_u64(&sb, w->snap.meta.seq);
	sbuf_puts(&sb, ",\"rule\":");
	sbuf_json_str(&sb, rule, strlen(rule));
	sbuf_puts(&sb, ",\"scores\":[");
	for (size_t i = 0; i < n; i++) {
		struct score_result res;
		int rc = score_eval_run(e, &s, &rs[i], &res, err, sizeof(err));
		if (rc < 0) {
			sbuf_free(&sb);
			return eval_error(call, rc, err);
		}
		if (i)
			sbuf_putc(&sb, ',');
		result_json(&sb, &res);
	}
	sbuf_puts(&sb, "]}\n");
	return api_send_sbuf(call, 200, "application/json", &sb);
}

static int score_entry(struct api_call *call)
{
	return call->method == API_POST ? post_score(call) : get_score(call);
}

int api_score_register(void)
{
	return api_route_add(API_GET | API_POST, "/v1/score", score_entry);
}
