/* SPDX-License-Identifier: MIT */
/*
 * lua_score.h - the scheduling score: requirements, the paper's formula, and the
 * evaluation of a score rule over one sample.
 *
 * A score rule maps a task's requirements (resource -> amount: cpu cores, mem bytes,
 * gpu devices, gpu_mem bytes, or whatever resources a Lua rule declares) and one
 * sample to a value in [0, 1] with a per-resource breakdown {free, req, perf}. The
 * built-in rule (no "lua" field) applies the paper's formula per resource,
 *     perf = 1 when free >= req, else free / req,
 * and combines them with the minimum. A Lua rule's chunk returns a function
 * score(req) -> resources [, score]; see docs/rules.md.
 *
 * Pure (no daemon state): the daemon (score rule profiles), the REST server (GET and
 * POST /v1/score, one evaluator per worker thread) and `inforeg score` all link it.
 */
#ifndef INFOREGD_LUA_SCORE_H
#define INFOREGD_LUA_SCORE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define SCORE_RES_MAX	   16
#define SCORE_RES_NAME_MAX 32
#define SCORE_PROFILES_MAX 64

enum score_unit { SCORE_UNIT_NUMBER = 0, SCORE_UNIT_BYTES = 1, SCORE_UNIT_CORES = 2 };

/* A set of requirements: resource -> amount in base units. */
struct score_reqset {
	int n;
	struct {
		char res[SCORE_RES_NAME_MAX];
		double req;
	} r[SCORE_RES_MAX];
};

struct score_result {
	double score;
	int n;
	struct {
		char res[SCORE_RES_NAME_MAX];
		double free, req, perf;
	} r[SCORE_RES_MAX];
};

/* A parsed score rule: what every evaluator of it shares (read-only once built). */
struct score_def {
	char *name;
	char *lua; /* NULL: the built-in formula */
	size_t lua_len;
	int n_res; /* resources the rule accepts */
	struct {
		char name[SCORE_RES_NAME_MAX];
		enum score_unit unit;
	} res[SCORE_RES_MAX];
	int n_prof;
	struct {
		char name[48];
		struct score_reqset req;
	} prof[SCORE_PROFILES_MAX];
};

/* One sample as the evaluator sees it: a directory and its values. */
struct score_sample {
	uint32_t n;
	const double *values;
	void *ctx;
	const char *(*name)(void *ctx, uint32_t i);	      /* series i's name */
	int (*find)(void *ctx, const char *name, size_t len); /* index, or < 0 */
};

/* The paper's formula: 1 when FREE >= REQ (or REQ <= 0), else FREE/REQ; 0 for an unknown or negative FREE. */
double score_perf(double free, double req);

/*
 * Parses a score rule's JSON (fields lua, resources, profiles; name and kind already
 * checked). Compiles the Lua in a scratch sandbox to check it. Returns the definition
 * or NULL with "FIELD: reason" in ERR.
 */
struct score_def *score_def_parse(const char *name, json_t *j, char *err, size_t errlen);
void score_def_free(struct score_def *d);

/*
 * Adds requirement RES = VAL to OUT: a JSON number or a string with a unit ("4GiB",
 * "512Mi", "2.5", "500m" cores). Returns 0, or -EINVAL with a message naming RES.
 */
int score_req_add(const struct score_def *d, struct score_reqset *out, const char *res, json_t *val,
		  char *err, size_t errlen);
/* Same, from text ("cpu", "2.5") as in a query string or on the command line. */
int score_req_add_text(const struct score_def *d, struct score_reqset *out, const char *res, const char *val,
		       char *err, size_t errlen);
/* A JSON object of requirements. */
int score_req_parse(const struct score_def *d, json_t *obj, struct score_reqset *out, char *err,
		    size_t errlen);

/* An evaluator of one definition, for one thread (it owns a Lua state for Lua rules). */
struct score_eval;
struct score_eval *score_eval_new(const struct score_def *d, char *err, size_t errlen);
void score_eval_free(struct score_eval *e);
const struct score_def *score_eval_def(const struct score_eval *e);
/* Evaluates REQ over S. Returns 0, or -errno with the rule's error in ERR. */
int score_eval_run(struct score_eval *e, const struct score_sample *s, const struct score_reqset *req,
		   struct score_result *out, char *err, size_t errlen);

/* The result as {"score":..,"resources":{"cpu":{"free":..,"req":..,"perf":..},...}} (jansson). */
json_t *score_result_json(const struct score_result *res);

/* The JSON of the built-in default score rule. */
extern const char score_default_rule[];

#endif /* INFOREGD_LUA_SCORE_H */
