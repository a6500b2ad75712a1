/* SPDX-License-Identifier: MIT */
/*
 * extender.h - inforeg-extender's internal interface: the kube-scheduler extender that
 * ranks and filters nodes from what each node's inforegd says right now.
 *
 * Data flows one way through five small modules:
 *   args.c     the request (ExtenderArgs, decoded as Go's encoding/json does: field names
 *              matched case-insensitively) -> the pod's requirements and the candidates;
 *   quantity.c Kubernetes quantities ("500m", "512Mi", "1G") -> numbers;
 *   nodes.c    node name -> inforegd URL (a file of "name url" lines and/or a pattern);
 *   fetch.c    every candidate's score, asked of its inforegd over HTTP/2, all in parallel,
 *              under one deadline (libcurl multi; one fetcher per thread);
 *   decide.c   scores -> ExtenderFilterResult / HostPriorityList / the decision table.
 * server.c serves /filter and /prioritize with h2o; main.c holds the flags and the
 * `score` (dry-run) command. Nothing here links or includes the daemon.
 *
 * Errors: int returns >= 0 or -errno; messages go to a caller's (err, errlen) buffer.
 */
#ifndef INFOREG_EXTENDER_H
#define INFOREG_EXTENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#define EXT_DEFAULT_LISTEN	"127.0.0.1:9471"
#define EXT_DEFAULT_DEADLINE_MS 50
#define EXT_DEFAULT_MIN_SCORE	0.5
#define EXT_ANN_PROFILE		"inforeg.io/profile"
#define EXT_ANN_MIN_SCORE	"inforeg.io/min-score"
#define EXT_NO_DATA		"no fresh data"

/* ---- quantity.c ---------------------------------------------------------------------- */

/*
 * Parses a Kubernetes resource quantity: a decimal number (sign, digits, optional
 * fraction) then a suffix: binary Ki Mi Gi Ti Pi Ei, decimal n u m k M G T P E, or an
 * exponent e/E followed by an integer. "500m" -> 0.5, "512Mi" -> 536870912, "1G" -> 1e9.
 * Returns 0, or -EINVAL for anything else (empty, spaces, unknown suffix, "1mi").
 */
int ext_quantity_parse(const char *s, double *out);

/* The same for a JSON value: a string as above, or a JSON number (Go accepts both). */
int ext_quantity_json(const json_t *v, double *out);

/* ---- args.c: the request ------------------------------------------------------------- */

/* Resources the score knows, in the order of the decision table. */
enum ext_res { EXT_CPU, EXT_MEM, EXT_GPU, EXT_RES_N };
extern const char *const ext_res_name[EXT_RES_N]; /* "cpu", "mem", "gpu": /v1/score keys */

struct ext_req {
	double want[EXT_RES_N]; /* cores, bytes, devices; 0 = not requested */
	char pod[256];		/* namespace/name, for logs and the table */
	char profile[65];	/* inforeg.io/profile, "" if none */
	double min_score;	/* inforeg.io/min-score, or NAN when absent */
};

/*
 * Go's encoding/json lookup of a struct field in OBJ: the value of the last key (in
 * document order) that equals NAME ignoring case (Unicode simple folding, so "K" also
 * matches the Kelvin sign and "s" the long s). NULL if none or OBJ is not an object.
 * Map keys (annotations, resource names) are exact and are not looked up with this.
 */
json_t *ext_json_field(const json_t *obj, const char *name);

/*
 * The pod's requirements as Kubernetes computes them for scheduling: the sum over
 * containers, at least the largest init container (restartable "sidecar" init
 * containers, restartPolicy Always, add to the sum and to every later init container),
 * plus spec.overhead. Resource names: cpu, memory, and any "VENDOR/gpu" (summed).
 * Returns 0 or -EINVAL with the reason in ERR (e.g. a bad quantity, with its path).
 */
int ext_pod_requirements(const json_t *pod, struct ext_req *r, char *err, size_t errlen);

struct ext_args {
	json_t *root; /* the decoded body; everything below borrows from it */
	json_t *pod;
	struct ext_req req;
	size_t n;	    /* candidates */
	const char **names; /* node names, n of them */
	json_t **nodes;	    /* the Node objects when the request had Nodes, else NULL */
	int by_names;	    /* the request had NodeNames (nodeCacheCapable) */
};

/*
 * Decodes an ExtenderArgs body. On error returns -EINVAL (or -ENOMEM) with a message in
 * ERR; A is then still safe to free, and A->by_names / A->n tell how much was understood
 * (so a filter reply can still keep the shape of the request).
 */
int ext_args_parse(const char *body, size_t len, struct ext_args *a, char *err, size_t errlen);

/* The first InternalIP in a Node object's status.addresses, or NULL. */
const char *ext_node_address(const json_t *node);

/* Decodes a bare Pod or an ExtenderArgs document from a file (the `score` command). */
int ext_args_load_file(const char *path, struct ext_args *a, char *err, size_t errlen);

void ext_args_free(struct ext_args *a);

/* ---- nodes.c: where each node's inforegd is -------------------------------------------- */

struct ext_nodemap;

/*
 * FILE: lines "NAME URL" ('#' comments, blank lines); PATTERN: a URL with "{node}" (the
 * node's name) or "{address}" (its InternalIP) in it, e.g. "http://{node}:9470". Either
 * may be NULL, not both. The file wins where both name a node. Returns NULL with a
 * message (FILE:LINE: ...) in ERR.
 */
struct ext_nodemap *ext_nodemap_load(const char *file, const char *pattern, char *err, size_t errlen);
void ext_nodemap_free(struct ext_nodemap *m);

/*
 * The base URL (no trailing slash) of NODE's inforegd in BUF; ADDRESS is the node's
 * InternalIP from the request, or NULL. Returns 0, -ENOENT when no entry and no pattern,
 * -ENXIO when the pattern wants an address and there is none, -EINVAL when NODE is not a
 * DNS name or ADDRESS not an IP address (nothing enters a URL unchecked), -ENAMETOOLONG
 * when BUF is too small.
 */
int ext_nodemap_url(const struct ext_nodemap *m, const char *node, const char *address, char *buf,
		    size_t len);

/* The names listed in the file (for `score` without candidates). */
size_t ext_nodemap_count(const struct ext_nodemap *m);
const char *ext_nodemap_name(const struct ext_nodemap *m, size_t i);

/* ---- fetch.c: ask the nodes ----------------------------------------------------------- */

enum ext_state {
	EXT_OK,	    /* scored */
	EXT_NODATA, /* no answer in time, connection refused, unknown value: "no fresh data" */
	EXT_NOADDR, /* no address for the node */
	EXT_BAD,    /* the node answered something unusable (HTTP 500, bad JSON, no profile) */
};

enum ext_source {
	EXT_SRC_NONE,
	EXT_SRC_SCORE,	 /* POST /v1/score: the node's own score rule */
	EXT_SRC_METRICS, /* the node has no /v1/score: the paper's formula here, on /v1/metrics */
	EXT_SRC_PROFILE, /* the node's published score{profile="P"} series */
};
extern const char *const ext_source_name[]; /* "-", "score", "metrics", "profile" */

struct ext_result {
	enum ext_state state;
	enum ext_source source;
	double score;		/* [0, 1] when state == EXT_OK */
	double free[EXT_RES_N]; /* what the node reported free; NAN when unknown */
	double perf[EXT_RES_N]; /* per-resource perf; NAN when not reported */
	uint64_t seq;		/* the node's sample sequence, 0 when unknown */
	char rule[80];		/* the node's score rule ("default"), "" when unknown */
	char why[192];		/* the reason when state != EXT_OK */
	double ms;		/* time to the answer (or to the deadline) */
};

struct ext_fetch_opts {
	int deadline_ms;    /* whole decision, both fetch phases included */
	const char *cacert; /* for https:// nodes; NULL = system store */
	long max_conns;	    /* connection cache size; 0 = 1024 */
};

struct ext_fetcher;

/* One per thread (a curl multi handle and its connection cache). NULL + errno. */
struct ext_fetcher *ext_fetcher_new(const struct ext_fetch_opts *o);
void ext_fetcher_free(struct ext_fetcher *f);

/*
 * Scores REQ on the N nodes whose base URLs are URLS (NULL entries: already decided by
 * the caller, left untouched in OUT). Every node is asked at once; the call returns at
 * the latest DEADLINE_MS after it starts, with every node that has not answered marked
 * EXT_NODATA "no fresh data: no answer within N ms". Returns 0 or -ENOMEM.
 */
int ext_fetch_scores(struct ext_fetcher *f, const struct ext_req *req, const char *const *urls, size_t n,
		     struct ext_result *out);

/* The paper's formula for one resource: 1 when free >= req, else free/req (>= 0). */
double ext_perf(double free, double req);

/* ---- decide.c ------------------------------------------------------------------------- */

struct ext_ctx {
	const struct ext_nodemap *map;
	struct ext_fetcher *fetch;
	double min_score; /* the default when the pod has no annotation */
	int deadline_ms;
};

/* Resolves every candidate's URL and fetches the scores into OUT (A->n entries). */
int ext_decide(const struct ext_ctx *c, const struct ext_args *a, struct ext_result *out);

/* The min-score that applies to A: its annotation, else the default. */
double ext_min_score(const struct ext_ctx *c, const struct ext_args *a);

/* Score [0,1] -> extender priority 0..10 (rounded to nearest). */
int ext_priority(double score);

/* A node passes the filter: it was scored, and score >= min_score. */
int ext_passes(const struct ext_result *r, double min_score);

/*
 * ExtenderFilterResult for A. With ERRMSG (the request could not be judged) Error is
 * set and every candidate passes nothing; Nodes/NodeNames keep the request's shape.
 */
json_t *ext_filter_json(const struct ext_args *a, const struct ext_result *res, double min_score,
			const char *errmsg);

/* HostPriorityList for A: [{"Host":..,"Score":0..10}], every candidate once. */
json_t *ext_prioritize_json(const struct ext_args *a, const struct ext_result *res);

/* The decision table (the `score` command) and its JSON twin. */
void ext_table_print(FILE *out, const struct ext_ctx *c, const struct ext_args *a,
		     const struct ext_result *res);
json_t *ext_table_json(const struct ext_ctx *c, const struct ext_args *a, const struct ext_result *res);

/* One log line for a decision (server), e.g. to stderr. */
void ext_log_decision(FILE *out, const char *verb, const struct ext_args *a, const struct ext_result *res,
		      double min_score, double ms);

/* ---- server.c ------------------------------------------------------------------------- */

struct ext_server_opts {
	const char *listen; /* HOST:PORT, [V6]:PORT, *:PORT */
	int workers;
	size_t max_body; /* bytes */
	int quiet;	 /* no log line per decision */
	const struct ext_nodemap *map;
	struct ext_fetch_opts fetch;
	double min_score;
};

/* Serves until SIGTERM/SIGINT. Returns 0, or -errno with a message in ERR. */
int ext_serve(const struct ext_server_opts *o, char *err, size_t errlen);

#endif
