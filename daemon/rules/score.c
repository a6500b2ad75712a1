/* SPDX-License-Identifier: MIT */
/*
 * score.c - the "score" rule kind: a scheduling score rule (lua_score.h) and its
 * profiles, published every tick.
 *
 *   {"name":"default","kind":"score",
 *    "profiles":{"resnet50":{"cpu":2,"mem":"1GiB"}}}
 *
 * Without "lua" the rule is the built-in paper formula; with "lua" the chunk returns
 * function(req) -> resources [, score]. The REST server (GET/POST /v1/score) and
 * `inforeg score` evaluate score rules on demand, each in a state of its own; what
 * this kind adds to the tick is the profiles: each named requirement set becomes the
 * series score{profile="NAME"} (score{rule="RULE",profile="NAME"} for a rule other
 * than "default"), evaluated over the tick's sample after every derive rule, so a
 * local engine reads a node's fitness for its model zero-copy.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_score.h"
#include "rules.h"

struct score_rule {
	struct score_def *def;
	struct score_eval *eval;
	int idx[SCORE_PROFILES_MAX];
	const struct rule_tick *t;
};

static int score_parse(struct rule *r, json_t *j, char *err, size_t errlen)
{
	static const char *const fields[] = {"lua", "resources", "profiles", NULL};
	struct score_rule *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->priv = p;
	if (rule_json_only(j, fields, err, errlen))
		return -EINVAL;
	p->def = score_def_parse(r->name, j, err, errlen);
	return p->def ? 0 : -EINVAL;
}

static int score_start(struct rule *r, const struct rule_env *env, char *err, size_t errlen)
{
	struct score_rule *p = r->priv;
	(void)env;
	p->eval = score_eval_new(p->def, err, errlen);
	return p->eval ? 0 : -EINVAL;
}

static int score_declare(struct rule *r, struct series_reg *reg)
{
	struct score_rule *p = r->priv;
	char name[INFOREG_NAME_MAX];
	for (int i = 0; i < p->def->n_prof; i++) {
		if (!strcmp(r->name, "default"))
			snprintf(name, sizeof(name), "score{profile=\"%s\"}", p->def->prof[i].name);
		else
			snprintf(name, sizeof(name), "score{rule=\"%s\",profile=\"%s\"}", r->name,
				 p->def->prof[i].name);
		int e = rule_declare(r, reg, name, "", INFOREG_KIND_GAUGE,
				     "Scheduling score in [0,1] of this node for the profile's requirements");
		if (e < 0)
			return e;
		p->idx[i] = e;
	}
	return 0;
}

static const char *tick_name(void *ctx, uint32_t i)
{
	const struct rule_tick *t = ctx;
	return t->reg->defs[i].name;
}

static int tick_find(void *ctx, const char *name, size_t len)
{
	(void)len;
	return rule_series_find(ctx, name);
}

static int score_sample(struct rule *r, const struct rule_tick *t, double *values)
{
	struct score_rule *p = r->priv;
	struct score_sample s = {
	    .n = t->reg->count, .values = values, .ctx = (void *)t, .name = tick_name, .find = tick_find};
	char err[RULE_ERR_MAX];
	int bad = 0;
	for (int i = 0; i < p->def->n_prof; i++) {
		struct score_result res;
		if (score_eval_run(p->eval, &s, &p->def->prof[i].req, &res, err, sizeof(err)) < 0) {
			rule_error(r, "profile %s: %s", p->def->prof[i].name, err);
			values[p->idx[i]] = rule_value(INFOREG_FAILED);
			bad = 1;
			continue;
		}
		values[p->idx[i]] = res.score;
	}
	(void)bad; /* a failed profile is failed on its own; the others keep their scores */
	return 0;
}

static void score_free(struct rule *r)
{
	struct score_rule *p = r->priv;
	if (!p)
		return;
	score_eval_free(p->eval);
	score_def_free(p->def);
	free(p);
	r->priv = NULL;
}

const struct rule_kind_ops rule_score_ops = {
    .kind = "score",
    .phase = RULE_PHASE_SCORE,
    .parse = score_parse,
    .start = score_start,
    .declare = score_declare,
    .sample = score_sample,
    .free = score_free,
};
