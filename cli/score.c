/* SPDX-License-Identifier: MIT */
/*
 * score.c - `inforeg score cpu=2.5 mem=4GiB [rule=NAME]`: the scheduling score of
 * this node, computed locally, the same as GET /v1/score.
 *
 * The score rule's definition comes from the daemon's status document (its
 * "rules.score_rules"), the sample from the ring; the rule is evaluated here, in this
 * process, by the same code the daemon and the REST server run (daemon/rules/
 * lua_score.c). The output is the REST call's JSON document. Exit status: 0, 1 (no
 * registry, no such rule, the rule failed), 2 (bad requirement).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "inforeg.h"
#include "rules/lua_score.h"

struct cli_sample {
	int n;
	struct inforeg_series_info *info;
};

static const char *cs_name(void *ctx, uint32_t i)
{
	return ((struct cli_sample *)ctx)->info[i].name;
}

static int cs_find(void *ctx, const char *name, size_t len)
{
	struct cli_sample *s = ctx;
	(void)len;
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->info[i].name, name))
			return i;
	return -1;
}

/* The JSON of score rule NAME from the status document (a new reference), or NULL. */
static json_t *rule_json(struct inforeg_reader *r, const char *name)
{
	char *buf = malloc(INFOREG_DOC_MAX);
	json_t *doc = NULL, *rule = NULL;
	for (int tries = 0; buf && tries < 20; tries++) {
		if (inforeg_doc_read(r, INFOREG_DOC_STATUS, buf, INFOREG_DOC_MAX) >= 0)
			break;
		inforeg_wait(r, INFOREG_SEQ_NONE,
			     100); /* the first status document follows the first sample */
	}
	if (buf && (doc = json_loads(buf, 0, NULL))) {
		rule = json_object_get(json_object_get(json_object_get(doc, "rules"), "score_rules"), name);
		json_incref(rule);
	}
	if (!rule && !strcmp(name, "default") && !json_object_get(doc, "rules"))
		rule = json_loads(score_default_rule, 0, NULL); /* a daemon without rules: the built-in */
	json_decref(doc);
	free(buf);
	return rule;
}

static int cmd_score(const char *shm, char **args, int nargs)
{
	const char *rule = "default";
	char err[256];
	int status = 1;

	for (int i = 0; i < nargs; i++)
		if (!strncmp(args[i], "rule=", 5))
			rule = args[i] + 5;
	struct inforeg_reader *r = inforeg_open(shm, 0);
	if (!r) {
		fprintf(stderr, "inforeg: cannot open /dev/shm/%s: %s\n", shm, strerror(errno));
		return 1;
	}
	struct score_def *def = NULL;
	struct score_eval *ev = NULL;
	struct cli_sample cs = {0};
	double *vals = NULL;
	json_t *rj = rule_json(r, rule);
	if (!rj) {
		fprintf(stderr, "inforeg: no score rule named '%s'\n", rule);
		goto out;
	}
	def = score_def_parse(rule, rj, err, sizeof(err));
	json_decref(rj);
	if (!def || !(ev = score_eval_new(def, err, sizeof(err)))) {
		fprintf(stderr, "inforeg: score rule %s: %s\n", rule, err);
		goto out;
	}
	struct score_reqset req = {0};
	for (int i = 0; i < nargs; i++) {
		char *eq = strchr(args[i], '=');
		if (!strncmp(args[i], "rule=", 5))
			continue;
		if (!eq) {
			fprintf(stderr, "inforeg score: expected RESOURCE=AMOUNT, got '%s'\n", args[i]);
			status = 2;
			goto out;
		}
		*eq = 0;
		int e = score_req_add_text(def, &req, args[i], eq + 1, err, sizeof(err));
		*eq = '=';
		if (e < 0) {
			fprintf(stderr, "inforeg score: %s\n", err);
			status = 2;
			goto out;
		}
	}
	/* one consistent sample and the directory it belongs to */
	struct inforeg_meta m;
	for (int tries = 0;; tries++) {
		int n = inforeg_series_count(r);
		free(vals);
		free(cs.info);
		vals = malloc((size_t)(n ? n : 1) * sizeof(double));
		cs.info = malloc((size_t)(n ? n : 1) * sizeof(*cs.info));
		cs.n = n;
		for (int i = 0; i < n; i++)
			if (inforeg_series_get(r, i, &cs.info[i]) < 0)
				cs.info[i].name[0] = 0;
		int got = inforeg_read_sample(r, vals, (size_t)n, &m);
		if (got == n && inforeg_series_count(r) == n)
			break;
		if (tries > 50) {
			fprintf(stderr, "inforeg: reading the registry: %s\n",
				got < 0 ? strerror(-got) : "no sample");
			goto out;
		}
		inforeg_wait(r, INFOREG_SEQ_NONE, 100);
	}
	struct score_sample s = {
	    .n = (uint32_t)cs.n, .values = vals, .ctx = &cs, .name = cs_name, .find = cs_find};
	struct score_result res;
	if (score_eval_run(ev, &s, &req, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "inforeg: %s\n", err);
		goto out;
	}
	json_t *o = score_result_json(&res);
	json_object_set_new(o, "seq", json_integer((json_int_t)m.seq));
	json_object_set_new(o, "rule", json_string(rule));
	json_dumpf(o, stdout, JSON_REAL_PRECISION(17) | JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
	status = 0;
out:
	score_eval_free(ev);
	score_def_free(def);
	free(vals);
	free(cs.info);
	inforeg_close(r);
	return status;
}

static int run(struct opts *o)
{
	return cmd_score(o->shm, o->args, o->nargs);
}

const struct cli_cmd cli_score = {
    .name = "score",
    .synopsis = "score RES=AMOUNT... [rule=NAME]  this node's scheduling score (cpu=2.5 mem=4GiB gpu=1)",
    .help = "inforeg score RES=AMOUNT... [rule=NAME]\n"
	    "  The scheduling score of this node for one requirement set, computed locally over\n"
	    "  the latest sample with the daemon's score rule (default: Perf = 1 when free >= req,\n"
	    "  else free/req, per resource, combined by the minimum); the same JSON document as\n"
	    "  GET /v1/score. Resources of the default rule: cpu (cores, or millicores 500m),\n"
	    "  mem and gpu_mem (bytes: 4GiB, 512Mi, 2GB...), gpu (devices).\n",
    .run = run,
};
