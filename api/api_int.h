/* SPDX-License-Identifier: MIT */
/*
 * api_int.h - what the REST server's files share: the per-worker state, the route
 * table, the sample snapshot each worker keeps, and the helpers every handler uses.
 *
 * Threading: every h2o worker thread owns one struct api_worker (its h2o context is
 * the first member, so a handler finds its worker from req->conn->ctx). Nothing in a
 * worker is touched by another thread; the only shared mutable state is the set of
 * counters in api_stats (atomics) and the route table (written before the threads
 * start, read-only afterwards).
 *
 * Snapshot: a worker copies the latest sample out of the ring once per published
 * sample (inforeg_read_sample) together with a decoded copy of the directory, and
 * every request that sees the same sample is answered from that copy; bulk bodies
 * (/v1/metrics, /metrics, the SSE event) are serialized once per sample into a
 * refcounted h2o shared block that requests link to their pool.
 */
#ifndef INFOREGD_API_INT_H
#define INFOREGD_API_INT_H

#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include "inforeg.h"
#include "api.h"
#include "api_util.h"

/* ---- limits ---------------------------------------------------------------- */

#define API_PATH_MAX	      2048	/* longer request targets get 414 */
#define API_BODY_MAX	      4096	/* longer request bodies get 413 */
#define API_ENTITY_MAX	      (1 << 20) /* h2o's own buffering limit (its 413 is not JSON) */
#define API_CONN_INFLIGHT_MAX 64	/* concurrent requests per connection before 429 */
#define API_H2_STREAMS_MAX    100	/* what we advertise in SETTINGS_MAX_CONCURRENT_STREAMS */
#define API_STREAMS_MAX	      256	/* SSE streams per worker before 503 */
#define API_HISTORY_LIMIT_MAX 10000
#define API_STALE_PERIODS     5	    /* /healthz says 503 past this age */
#define API_ACCEPT_PAUSE_MS   100   /* accept stopped this long after EMFILE/ENFILE/ENOBUFS */
#define API_CONNS_AUTO_MAX    16384 /* default max_connections never exceeds this */
#define API_TOKEN_MAX	      4096  /* longest bearer token (bytes); a longer file refuses to start */

/* ---- counters shared by every worker -------------------------------------- */

struct api_stats {
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t errors;
	atomic_uint_fast64_t errors_by_status[6]; /* 4xx/5xx bucketed by api_status_slot() */
	atomic_uint_fast64_t conns_total;
	atomic_int_fast64_t conns_open;
	atomic_int_fast64_t streams_open;
	atomic_uint_fast64_t events_sent;
	atomic_uint_fast64_t bodies_built;  /* bulk bodies serialized (cache misses) */
	atomic_uint_fast64_t bodies_reused; /* bulk bodies served from the cache */
	atomic_uint_fast64_t snapshots;	    /* samples copied out of the ring */
	atomic_uint_fast64_t limited;	    /* 429s */
	atomic_uint_fast64_t conns_refused; /* closed at accept: over max_connections */
	atomic_uint_fast64_t accept_pauses; /* accept stopped for a while: out of fds or memory */
	uint64_t started_realtime_ns;
};
extern struct api_stats api_stats;

/* ---- directory and snapshot ------------------------------------------------ */

/* One series as the server sees it (decoded once per layout). */
struct api_series {
	char name[INFOREG_NAME_MAX];
	char unit[INFOREG_UNIT_MAX];
	char help[INFOREG_HELP_MAX];
	uint32_t kind;
	uint32_t base_len; /* bytes of name before '{' */
};

/* A histogram: bucket series of NAME.bucket{...,le=...} plus NAME.count/.sum/.pNN. */
#define API_HIST_BUCKETS_MAX   64
#define API_HIST_QUANTILES_MAX 8
struct api_hist {
	char name[INFOREG_NAME_MAX];   /* "disk.io_latency" */
	char labels[INFOREG_NAME_MAX]; /* other labels, 'dev="vda"' or "" */
	char unit[INFOREG_UNIT_MAX];   /* unit of the bucket bounds ("us") */
	int count_idx, sum_idx;	       /* -1 when absent */
	int n_buckets;
	int bucket_idx[API_HIST_BUCKETS_MAX];
	double bucket_le[API_HIST_BUCKETS_MAX]; /* ascending, INFINITY last */
	int n_quantiles;
	int q_idx[API_HIST_QUANTILES_MAX];
	char q_name[API_HIST_QUANTILES_MAX][8]; /* "p50" */
};

/* One line of the Prometheus exposition: precomputed "name{labels} " plus a scale. */
struct api_prom_line {
	uint32_t series; /* directory index of the value */
	uint32_t family; /* index into api_dir.prom_fam */
	double scale;	 /* unit conversion to base units (1e-6 for us) */
	char *prefix;	 /* "inforeg_x_bytes{dev=\"eth0\"} " */
	uint32_t prefix_len;
};
struct api_prom_family {
	char *head; /* "# HELP ...\n# TYPE ...\n" */
	uint32_t head_len;
};

struct api_dir {
	int valid;
	uint64_t generation, reopens;
	uint32_t n;
	struct api_series *s;
	uint32_t *hash; /* open addressing: directory index + 1, 0 empty */
	uint32_t hash_mask;
	struct api_hist *hist;
	int n_hist;
	struct api_prom_line *prom; /* in exposition order (built lazily) */
	struct api_prom_family *prom_fam;
	uint32_t n_prom, n_prom_fam;
	int prom_built;
};

enum api_body_kind { API_BODY_METRICS_JSON, API_BODY_PROM, API_BODY_SSE, API_BODY_KINDS };

struct api_body {
	char *data; /* h2o shared block (h2o_mem_alloc_shared), or NULL */
	size_t len;
};

struct api_snap {
	int valid;
	struct inforeg_meta meta;
	uint64_t head; /* inforeg_head() when it was taken */
	double *values;
	uint32_t n, cap;
	struct api_body body[API_BODY_KINDS];
};

/* ---- worker ----------------------------------------------------------------- */

struct api_stream; /* stream.c */

struct api_conn_slot {
	const void *conn;
	uint32_t inflight;
};
#define API_CONN_SLOTS 4096 /* power of two */

struct api_worker {
	h2o_context_t ctx; /* first: handlers find the worker via req->conn->ctx */
	h2o_accept_ctx_t accept_ctx;
	int id;
	pthread_t thread;
	int started;
	int listen_fd[API_LISTEN_MAX];
	h2o_socket_t *listener[API_LISTEN_MAX];
	int n_listen;
	int stop_fd; /* eventfd: api_stop() writes it */
	h2o_socket_t *stop_sock;
	atomic_int stopping;
	int64_t conns_open; /* this worker's connections (own thread only) */
	int64_t max_conns;  /* all workers' open connections past which accept() closes at once */

	/* accept paused after EMFILE & co.: listeners stop reading until the timer fires */
	int accept_paused;
	h2o_timeout_t accept_timeout;
	h2o_timeout_entry_t accept_resume;

	struct inforeg_reader *r;
	uint64_t period_ns;
	uint64_t last_refresh_ms; /* loop time of the last inforeg_refresh() */
	struct api_dir dir;
	struct api_snap snap;

	/* per-connection requests in flight (429 past API_CONN_INFLIGHT_MAX) */
	struct api_conn_slot conn_slots[API_CONN_SLOTS];

	/* Server-Sent Events */
	h2o_linklist_t streams;
	int n_streams;
	h2o_timeout_t stream_timeout;
	h2o_timeout_entry_t stream_tick;
	int stream_timeout_ready;
};

static inline struct api_worker *api_worker_of(h2o_req_t *req)
{
	return (struct api_worker *)req->conn->ctx;
}

/* ---- routes ----------------------------------------------------------------- */

enum api_method {
	API_GET = 1 << 0,
	API_PUT = 1 << 1,
	API_DELETE = 1 << 2,
	API_POST = 1 << 3,
};

/* What the router hands a handler: the decoded {name} segment, if the route has one. */
struct api_call {
	h2o_req_t *req;
	struct api_worker *w;
	const char *param; /* NUL-terminated, percent-decoded, from req->pool; or NULL */
	enum api_method method;
	int head_only; /* HEAD: send headers only */
};

typedef int (*api_handler_fn)(struct api_call *call);

/* Adds METHODS PATTERN -> FN; PATTERN segments are literal or "{name}". Returns 0 or -errno. */
int api_route_add(unsigned methods, const char *pattern, api_handler_fn fn);
/* Clears the table (api_stop). */
void api_routes_reset(void);
/* Registers every resource; the one list of resources the server has. */
int api_routes_register_all(void);
/* Route i (0..n-1): its pattern and method mask. Returns -ENOENT past the end. */
int api_route_get(int i, const char **pattern, unsigned *methods);
/* What api_route_match() found: the raw (still percent-encoded) {name} segment. */
struct api_route_match {
	const char *param; /* inside PATH, or NULL when the route has no placeholder */
	size_t param_len;
	unsigned allowed; /* -EPERM: the methods the path has */
};
/*
 * Matches PATH (LEN bytes, no query string) against the route table for METHOD.
 * Returns the route index, -ENOENT when no route has this path, -EPERM when some
 * route has it under other methods (M->allowed says which). Pure: the fuzz target
 * tests/fuzz/router.c drives it.
 */
int api_route_match(const char *path, size_t len, unsigned method, struct api_route_match *m);
/*
 * Next "k=v" pair of a query string: *P walks to END; K/V point into it (still
 * percent-encoded; V empty for a bare key). Returns 0 at the end.
 */
int api_query_next(const char **p, const char *end, const char **k, size_t *klen, const char **v,
		   size_t *vlen);
/* The h2o on_req entry point (one handler at "/"; this router does the rest). */
int api_router_on_req(h2o_handler_t *self, h2o_req_t *req);

/* Resource registration functions, one per file. */
int api_metrics_register(void);
int api_history_register(void);
int api_histograms_register(void);
int api_node_register(void);
int api_status_register(void);
int api_stream_register(void);
int api_prom_register(void);
int api_healthz_register(void);
int api_watch_register(void);
int api_rules_register(void);
int api_score_register(void);
int api_dashboard_register(void);
int api_push_register(void);

/* ---- responses ---------------------------------------------------------------- */

/*
 * The one error path: sends {"error":{"code":STATUS,"type":TYPE,"message":...}} with
 * STATUS and counts it. Always returns 0 (the request was handled).
 */
int api_error(struct api_call *call, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int api_error_req(h2o_req_t *req, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends SB's bytes (ownership moves to the request) with STATUS and CTYPE. Returns 0. */
int api_send_sbuf(struct api_call *call, int status, const char *ctype, struct sbuf *sb);
/* Sends a cached body (linked to the request's pool, no copy). Returns 0. */
int api_send_body(struct api_call *call, const char *ctype, const struct api_body *b);
/* Sends a jansson value (consumes the reference). Returns 0. */
struct json_t;
int api_send_json(struct api_call *call, int status, struct json_t *v);
/* Reads and parses published document ID (node.c). NULL with *RC = -errno on failure. */
struct json_t *api_doc_json(struct api_call *call, unsigned id, int *rc);
void api_add_header(h2o_req_t *req, const h2o_token_t *token, const char *value);

/* Query string: the decoded value of KEY into req->pool. Returns 1 found, 0 absent. */
int api_query_get(h2o_req_t *req, const char *key, const char **value);
/* 1 when KEY is present but not one of ALLOWED... (NULL-terminated): for 400s. */
const char *api_query_unknown(h2o_req_t *req, const char *const *allowed);

/* Bearer-token check for write endpoints. Returns 0, or sends 401/403 and returns 1. */
int api_auth_check(struct api_call *call);
int api_auth_load(const char *token_file, char *err, size_t errlen);
void api_auth_clear(void);

/* ---- snapshot (snapshot.c) ------------------------------------------------------ */

/*
 * Makes W's snapshot the latest complete sample (no-op when the head did not move).
 * Returns 0, -EAGAIN (nothing published yet), -ESTALE (retired, no successor), -errno.
 */
int api_snap_update(struct api_worker *w);
/* api_snap_update() for a handler: 0 when ready, else sends 503 and returns 1. */
int api_snap_ready(struct api_call *call);
/* Directory index of series NAME in the current snapshot, or -ENOENT. */
int api_dir_find(const struct api_dir *d, const char *name, size_t len);
/*
 * Returns the cached body KIND of the current snapshot, building it with BUILD on
 * first use. Returns NULL on allocation failure.
 */
typedef int (*api_body_build_fn)(struct api_worker *w, struct sbuf *sb);
const struct api_body *api_snap_body(struct api_worker *w, enum api_body_kind kind, api_body_build_fn build);
void api_snap_free(struct api_worker *w);
/* Builds the Prometheus line plan of the current directory (prom.c). Returns 0 or -errno. */
int api_prom_plan(struct api_dir *d);
/* Frees D's Prometheus line plan (snapshot.c: the directory owns it). */
void api_dir_plan_free(struct api_dir *d);
/* Writes the JSON object of series I of the snapshot into SB (metrics.c). */
void api_series_json(struct sbuf *sb, const struct api_worker *w, uint32_t i);
/* Builds the SSE "data:" payload for the snapshot (stream.c). */
int api_sse_event_build(struct api_worker *w, struct sbuf *sb);
/* 1 when NAME (len) matches the comma-separated glob list MATCH (NULL: everything). */
int api_match(const char *match, const char *name);

/* ---- SSE (stream.c) and worker lifecycle ----------------------------------------- */
void api_streams_init(struct api_worker *w);
void api_streams_fini(struct api_worker *w);

/* Counters of the error helper, by status (for /v1/status). */
int api_status_slot(int status);
extern const int api_status_slots[6];

#endif /* INFOREGD_API_INT_H */
