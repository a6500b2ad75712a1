/* SPDX-License-Identifier: MIT */
/*
 * decide.c - from the nodes' scores to kube-scheduler's answers, the decision table and
 * the log line. One rule for both verbs:
 *   filter:     a node passes when it was scored and score >= min-score (the pod's
 *               inforeg.io/min-score annotation, else --min-score); every other node
 *               is in FailedNodes with the reason ("no fresh data: ...", the score and
 *               the resource that limits it, ...);
 *   prioritize: every candidate once, Score = round(10 x score), 0 when not scored.
 * Replies use the upstream field names and casing (extender/v1 has no JSON tags, so
 * Go writes the field names as declared).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "extender.h"

static const char *const state_name[] = {"ok", "no_data", "no_address", "bad_answer"};

int ext_priority(double score)
{
	long p;

	if (!(score > 0))
		return 0;
	p = lround(score * 10);
	return p > 10 ? 10 : (int)p;
}

int ext_passes(const struct ext_result *r, double min_score)
{
	return r->state == EXT_OK && r->score >= min_score;
}

double ext_min_score(const struct ext_ctx *c, const struct ext_args *a)
{
	return isnan(a->req.min_score) ? c->min_score : a->req.min_score;
}

int ext_decide(const struct ext_ctx *c, const struct ext_args *a, struct ext_result *out)
{
	const char **urls;
	char *buf;
	size_t i;
	int k, rc;

	urls = calloc(a->n ? a->n : 1, sizeof(*urls));
	buf = malloc((a->n ? a->n : 1) * 512);
	if (!urls || !buf) {
		free(urls);
		free(buf);
		return -ENOMEM;
	}
	for (i = 0; i < a->n; i++) {
		struct ext_result *r = &out[i];

		memset(r, 0, sizeof(*r));
		for (k = 0; k < EXT_RES_N; k++)
			r->free[k] = r->perf[k] = NAN;
		rc = ext_nodemap_url(c->map, a->names[i], a->nodes ? ext_node_address(a->nodes[i]) : NULL,
				     buf + i * 512, 512);
		if (rc == 0) {
			urls[i] = buf + i * 512;
			continue;
		}
		r->state = EXT_NOADDR;
		snprintf(r->why, sizeof(r->why), "%s",
			 rc == -ENOENT	 ? "no address for the node (not in --nodes, and no --node-pattern)"
			 : rc == -ENXIO	 ? "no address for the node: --node-pattern wants {address}, the "
					   "request has no InternalIP "
					   "for it (NodeNames only: use --nodes or a {node} pattern)"
			 : rc == -EINVAL ? "the node's name or address is not fit for a URL: not used"
					 : "the node's URL is too long");
	}
	rc = ext_fetch_scores(c->fetch, &a->req, urls, a->n, out);
	free(urls);
	free(buf);
	return rc;
}

/* ---- numbers for people ------------------------------------------------------------------ */

/* Resource K's quantity V in its unit: cores, bytes (binary prefixes), devices. */
static void fmt_res(char *b, size_t n, int k, double v)
{
	static const char *const pre[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
	int i = 0;

	if (isnan(v)) {
		snprintf(b, n, "?");
		return;
	}
	if (k != EXT_MEM) {
		snprintf(b, n, "%.3g", v);
		return;
	}
	while (fabs(v) >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	snprintf(b, n, "%.3g%s", v, pre[i]);
}

static const char *const res_unit[EXT_RES_N] = {" cores", "B", " devices"};

/* Why R does not pass (or "" when it does): the score and every requested resource short. */
static void reason(char *b, size_t n, const struct ext_args *a, const struct ext_result *r, double min_score)
{
	size_t off;
	int k, any = 0;

	b[0] = '\0';
	if (r->state != EXT_OK) {
		snprintf(b, n, "%s", r->why);
		return;
	}
	if (r->score >= min_score)
		return;
	off = (size_t)snprintf(b, n, "inforeg score %.2f < min-score %.2f (", r->score, min_score);
	for (k = 0; k < EXT_RES_N && off < n; k++) {
		char fr[32], rq[32];

		if (!(a->req.want[k] > 0) || isnan(r->perf[k]) || r->perf[k] >= 1)
			continue;
		fmt_res(fr, sizeof(fr), k, r->free[k]);
		fmt_res(rq, sizeof(rq), k, a->req.want[k]);
		off += (size_t)snprintf(b + off, n - off, "%s%s: %s%s free of %s%s requested",
					any ? "; " : "", ext_res_name[k], fr, res_unit[k], rq, res_unit[k]);
		any = 1;
	}
	if (!any && off < n)
		off += (size_t)snprintf(b + off, n - off, "%s%s", r->source == EXT_SRC_PROFILE ? "" : "rule ",
					r->rule[0] ? r->rule : "?");
	if (off < n)
		snprintf(b + off, n - off, ")%s",
			 r->source == EXT_SRC_METRICS ? " [computed by the extender from /v1/metrics]" : "");
}

/* ---- kube-scheduler's answers -------------------------------------------------------------- */

json_t *ext_filter_json(const struct ext_args *a, const struct ext_result *res, double min_score,
			const char *errmsg)
{
	json_t *out = json_object(), *failed = json_object(), *names = NULL, *items = NULL, *list = NULL;
	char why[320];
	size_t i;

	if (!out || !failed)
		goto oom;
	if (a->by_names)
		names = json_array();
	else {
		list = json_pack("{s:{}}", "metadata");
		items = json_array();
		if (list && items)
			json_object_set(list, "items", items);
	}
	if (!errmsg) {
		for (i = 0; i < a->n; i++) {
			if (ext_passes(&res[i], min_score)) {
				if (names)
					json_array_append_new(names, json_string(a->names[i]));
				else if (items)
					json_array_append(items, a->nodes[i]);
				continue;
			}
			reason(why, sizeof(why), a, &res[i], min_score);
			json_object_set_new(failed, a->names[i], json_string(why));
		}
	}
	json_decref(items);
	json_object_set_new(out, "Nodes", list ? list : json_null());
	json_object_set_new(out, "NodeNames", names ? names : json_null());
	json_object_set_new(out, "FailedNodes", failed);
	json_object_set_new(out, "FailedAndUnresolvableNodes", json_object());
	json_object_set_new(out, "Error", json_string(errmsg ? errmsg : ""));
	return out;
oom:
	json_decref(out);
	json_decref(failed);
	return NULL;
}

json_t *ext_prioritize_json(const struct ext_args *a, const struct ext_result *res)
{
	json_t *out = json_array();
	size_t i;

	for (i = 0; out && i < a->n; i++)
		json_array_append_new(
		    out, json_pack("{s:s,s:I}", "Host", a->names[i], "Score",
				   (json_int_t)(res[i].state == EXT_OK ? ext_priority(res[i].score) : 0)));
	return out;
}

/* ---- the decision table ------------------------------------------------------------------- */

static void pod_line(FILE *out, const struct ext_ctx *c, const struct ext_args *a)
{
	char b[32];
	int k, any = 0;

	fprintf(out, "pod %s: requests", a->req.pod);
	for (k = 0; k < EXT_RES_N; k++) {
		if (!(a->req.want[k] > 0))
			continue;
		fmt_res(b, sizeof(b), k, a->req.want[k]);
		fprintf(out, "%s %s %s%s", any ? "," : "", ext_res_name[k], b, res_unit[k]);
		any = 1;
	}
	if (!any)
		fprintf(out, " nothing");
	if (a->req.profile[0])
		fprintf(out, "; profile %s", a->req.profile);
	fprintf(out, "; min-score %.2f (%s); deadline %d ms\n", ext_min_score(c, a),
		isnan(a->req.min_score) ? "--min-score" : "annotation", c->deadline_ms);
}

void ext_table_print(FILE *out, const struct ext_ctx *c, const struct ext_args *a,
		     const struct ext_result *res)
{
	double ms = ext_min_score(c, a);
	int any_metrics = 0;
	size_t i, w = 4;
	int k;

	pod_line(out, c, a);
	for (i = 0; i < a->n; i++)
		if (strlen(a->names[i]) > w)
			w = strlen(a->names[i]);
	fprintf(out, "%-*s  %-8s %8s", (int)w, "NODE", "SOURCE", "SEQ");
	for (k = 0; k < EXT_RES_N; k++)
		if (a->req.want[k] > 0)
			fprintf(out, "  %-17s",
				k == EXT_CPU   ? "CPU free/req perf"
				: k == EXT_MEM ? "MEM free/req perf"
					       : "GPU free/req perf");
	fprintf(out, "  %5s  %4s  %s\n", "SCORE", "PRIO", "FILTER");
	for (i = 0; i < a->n; i++) {
		const struct ext_result *r = &res[i];
		char why[320], seq[24] = "-";

		if (r->seq)
			snprintf(seq, sizeof(seq), "%llu", (unsigned long long)r->seq);
		fprintf(out, "%-*s  %-8s %8s", (int)w, a->names[i],
			r->source == EXT_SRC_METRICS ? "metrics*" : ext_source_name[r->source], seq);
		for (k = 0; k < EXT_RES_N; k++) {
			char fr[24], rq[24], cell[64];

			if (!(a->req.want[k] > 0))
				continue;
			fmt_res(fr, sizeof(fr), k, r->free[k]);
			fmt_res(rq, sizeof(rq), k, a->req.want[k]);
			if (isnan(r->perf[k]))
				snprintf(cell, sizeof(cell), "%s/%s -", fr, rq);
			else
				snprintf(cell, sizeof(cell), "%s/%s %.2f", fr, rq, r->perf[k]);
			fprintf(out, "  %-17s", cell);
		}
		if (r->state == EXT_OK)
			fprintf(out, "  %5.2f  %4d", r->score, ext_priority(r->score));
		else
			fprintf(out, "  %5s  %4d", "-", 0);
		reason(why, sizeof(why), a, r, ms);
		fprintf(out, "  %s%s\n", why[0] ? "fail: " : "pass", why);
		any_metrics |= r->source == EXT_SRC_METRICS;
	}
	if (any_metrics)
		fprintf(
		    out,
		    "* metrics: the node has no POST /v1/score; the extender computed the paper's formula "
		    "from its /v1/metrics (perf = 1 if free >= req else free/req, score = min)\n");
}

static json_t *num_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

json_t *ext_table_json(const struct ext_ctx *c, const struct ext_args *a, const struct ext_result *res)
{
	json_t *out, *nodes, *want;
	double ms = ext_min_score(c, a);
	size_t i;
	int k;

	out = json_pack("{s:s,s:s,s:f,s:s,s:i}", "pod", a->req.pod, "profile", a->req.profile, "min_score",
			ms, "min_score_from", isnan(a->req.min_score) ? "flag" : "annotation", "deadline_ms",
			c->deadline_ms);
	nodes = json_array();
	want = json_object();
	if (!out || !nodes || !want) {
		json_decref(out);
		json_decref(nodes);
		json_decref(want);
		return NULL;
	}
	for (k = 0; k < EXT_RES_N; k++)
		json_object_set_new(want, ext_res_name[k], json_real(a->req.want[k]));
	json_object_set_new(out, "requests", want);
	for (i = 0; i < a->n; i++) {
		const struct ext_result *r = &res[i];
		json_t *o, *rs = json_object();
		char why[320];

		reason(why, sizeof(why), a, r, ms);
		for (k = 0; rs && k < EXT_RES_N; k++) {
			if (!(a->req.want[k] > 0))
				continue;
			json_object_set_new(rs, ext_res_name[k],
					    json_pack("{s:o,s:f,s:o}", "free", num_or_null(r->free[k]), "req",
						      a->req.want[k], "perf", num_or_null(r->perf[k])));
		}
		o = json_pack("{s:s,s:s,s:s,s:o,s:i,s:b,s:s,s:I,s:s,s:o,s:f}", "node", a->names[i], "state",
			      state_name[r->state], "source", ext_source_name[r->source], "score",
			      r->state == EXT_OK ? json_real(r->score) : json_null(), "priority",
			      r->state == EXT_OK ? ext_priority(r->score) : 0, "passes", ext_passes(r, ms),
			      "reason", why, "seq", (json_int_t)r->seq, "rule", r->rule, "resources",
			      rs ? rs : json_object(), "ms", r->ms);
		json_array_append_new(nodes, o);
	}
	json_object_set_new(out, "nodes", nodes);
	return out;
}

void ext_log_decision(FILE *out, const char *verb, const struct ext_args *a, const struct ext_result *res,
		      double min_score, double ms)
{
	size_t i, pass = 0, scored = 0, nsrc[4] = {0}, shown = 0;
	char why[320];

	for (i = 0; i < a->n; i++) {
		pass += ext_passes(&res[i], min_score);
		scored += res[i].state == EXT_OK;
		nsrc[res[i].source]++;
	}
	fprintf(out,
		"%s %s: %zu nodes, %zu scored, %zu pass min-score %.2f, %.1f ms; sources: score %zu, "
		"profile %zu, metrics (formula here) %zu",
		verb, a->req.pod, a->n, scored, pass, min_score, ms, nsrc[EXT_SRC_SCORE],
		nsrc[EXT_SRC_PROFILE], nsrc[EXT_SRC_METRICS]);
	for (i = 0; i < a->n && shown < 3; i++) {
		if (ext_passes(&res[i], min_score))
			continue;
		reason(why, sizeof(why), a, &res[i], min_score);
		fprintf(out, "%s %s: %s", shown ? ";" : "; failed:", a->names[i], why);
		shown++;
	}
	if (a->n - pass > shown)
		fprintf(out, "; ... %zu more", a->n - pass - shown);
	fputc('\n', out);
}
