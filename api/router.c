/* SPDX-License-Identifier: MIT */
/*
 * router.c - the REST server's route table, request dispatch, the error helper and
 * the response helpers every resource file uses.
 *
 * h2o sees one handler at "/"; this router matches the raw request path (before
 * percent-decoding, so an encoded '/' inside a series name stays inside its segment)
 * against patterns made of literal segments and "{name}" placeholders, then checks
 * the method (405 with Allow when the path exists under other methods), the request
 * target length (414) and the per-connection limit of requests in flight (429).
 *
 * The route table is filled once by api_routes_register_all() before any worker
 * starts and is read-only afterwards, so workers read it without locks. The same
 * table is what tests/test_api_openapi.c compares with api/openapi.yaml.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "api_int.h"

struct api_stats api_stats;

#define ROUTES_MAX 32
#define SEGS_MAX   6

struct route {
	const char *pattern;
	unsigned methods;
	api_handler_fn fn;
	int n_segs;
	struct {
		const char *s;
		size_t len;
		int param;
	} seg[SEGS_MAX];
};

static struct route routes[ROUTES_MAX];
static int n_routes;

int api_route_add(unsigned methods, const char *pattern, api_handler_fn fn)
{
	struct route *rt;
	const char *p;

	if (n_routes >= ROUTES_MAX)
		return -ENOSPC;
	if (pattern[0] != '/')
		return -EINVAL;
	rt = &routes[n_routes];
	memset(rt, 0, sizeof(*rt));
	rt->pattern = pattern;
	rt->methods = methods;
	rt->fn = fn;
	for (p = pattern + 1; *p;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (rt->n_segs >= SEGS_MAX || len == 0)
			return -EINVAL;
		rt->seg[rt->n_segs].s = p;
		rt->seg[rt->n_segs].len = len;
		rt->seg[rt->n_segs].param = p[0] == '{' && p[len - 1] == '}';
		rt->n_segs++;
		p += len;
		if (*p == '/')
			p++;
	}
	n_routes++;
	return 0;
}

void api_routes_reset(void)
{
	n_routes = 0;
}

int api_route_get(int i, const char **pattern, unsigned *methods)
{
	if (i < 0 || i >= n_routes)
		return -ENOENT;
	*pattern = routes[i].pattern;
	*methods = routes[i].methods;
	return 0;
}

int api_routes_register_all(void)
{
	int (*const regs[])(void) = {
	    api_metrics_register, api_history_register,	  api_histograms_register, api_node_register,
	    api_status_register,  api_stream_register,	  api_prom_register,	   api_healthz_register,
	    api_watch_register,	  api_dashboard_register, api_rules_register,	   api_score_register,
	    api_push_register,
	};
	size_t i;
	int rc;

	api_routes_reset();
	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if ((rc = regs[i]()) < 0)
			return rc;
	return 0;
}

/* ---- matching ------------------------------------------------------------------ */

/* Splits PATH (no query) into segments. Returns the count or -1 when too many / empty. */
static int split_path(const char *path, size_t len, const char **segs, size_t *lens)
{
	size_t i = 1, start;
	int n = 0;

	if (len == 0 || path[0] != '/')
		return -1;
	if (len == 1)
		return 0;
	while (i <= len) {
		start = i;
		while (i < len && path[i] != '/')
			i++;
		if (n >= SEGS_MAX)
			return -1;
		segs[n] = path + start;
		lens[n] = i - start;
		n++;
		i++;
	}
	/* a trailing slash makes an empty last segment: not a route of ours */
	return n;
}

static int route_matches(const struct route *rt, int n, const char **segs, const size_t *lens, int *param_seg)
{
	int i;

	if (rt->n_segs != n)
		return 0;
	*param_seg = -1;
	for (i = 0; i < n; i++) {
		if (rt->seg[i].param) {
			if (lens[i] == 0)
				return 0;
			*param_seg = i;
			continue;
		}
		if (lens[i] != rt->seg[i].len || memcmp(segs[i], rt->seg[i].s, lens[i]) != 0)
			return 0;
	}
	return 1;
}

int api_route_match(const char *path, size_t len, unsigned method, struct api_route_match *m)
{
	const char *segs[SEGS_MAX];
	size_t lens[SEGS_MAX];
	int i, n, param_seg;

	memset(m, 0, sizeof(*m));
	n = split_path(path, len, segs, lens);
	if (n < 0)
		return -ENOENT;
	for (i = 0; i < n_routes; i++) {
		const struct route *rt = &routes[i];

		if (!route_matches(rt, n, segs, lens, &param_seg))
			continue;
		if (!(rt->methods & method)) {
			m->allowed |= rt->methods;
			continue;
		}
		if (param_seg >= 0) {
			m->param = segs[param_seg];
			m->param_len = lens[param_seg];
		}
		return i;
	}
	return m->allowed ? -EPERM : -ENOENT;
}

static enum api_method method_of(h2o_req_t *req, int *head)
{
	h2o_iovec_t m = req->method;

	*head = 0;
	if (h2o_memis(m.base, m.len, H2O_STRLIT("GET")))
		return API_GET;
	if (h2o_memis(m.base, m.len, H2O_STRLIT("HEAD"))) {
		*head = 1;
		return API_GET;
	}
	if (h2o_memis(m.base, m.len, H2O_STRLIT("PUT")))
		return API_PUT;
	if (h2o_memis(m.base, m.len, H2O_STRLIT("DELETE")))
		return API_DELETE;
	if (h2o_memis(m.base, m.len, H2O_STRLIT("POST")))
		return API_POST;
	return 0;
}

static void allow_header(h2o_req_t *req, unsigned methods)
{
	char buf[64] = "";

	if (methods & API_GET)
		strcat(buf, "GET, HEAD, ");
	if (methods & API_PUT)
		strcat(buf, "PUT, ");
	if (methods & API_DELETE)
		strcat(buf, "DELETE, ");
	if (methods & API_POST)
		strcat(buf, "POST, ");
	if (buf[0])
		buf[strlen(buf) - 2] = '\0';
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
		       h2o_strdup(&req->pool, buf, SIZE_MAX).base, strlen(buf));
}

/* ---- per-connection requests in flight ----------------------------------------- */

struct inflight_token {
	struct api_worker *w;
	const void *conn;
};

static uint32_t conn_hash(const void *conn)
{
	uint64_t x = (uint64_t)(uintptr_t)conn;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)x & (API_CONN_SLOTS - 1);
}

/* Finds CONN's slot, or the empty slot where it would go; NULL when the table is full. */
static struct api_conn_slot *conn_slot(struct api_worker *w, const void *conn)
{
	uint32_t i = conn_hash(conn), k;

	for (k = 0; k < API_CONN_SLOTS; k++, i = (i + 1) & (API_CONN_SLOTS - 1)) {
		struct api_conn_slot *s = &w->conn_slots[i];

		if (s->conn == conn || s->conn == NULL)
			return s;
	}
	return NULL;
}

/* Removes slot S keeping every probe chain intact (backward-shift deletion). */
static void conn_slot_remove(struct api_worker *w, struct api_conn_slot *s)
{
	uint32_t i = (uint32_t)(s - w->conn_slots), j = i;

	for (;;) {
		uint32_t home;

		j = (j + 1) & (API_CONN_SLOTS - 1);
		if (w->conn_slots[j].conn == NULL)
			break;
		home = conn_hash(w->conn_slots[j].conn);
		/* move j back to i when its home is not in (i, j] cyclically */
		if (((j - home) & (API_CONN_SLOTS - 1)) >= ((j - i) & (API_CONN_SLOTS - 1))) {
			w->conn_slots[i] = w->conn_slots[j];
			i = j;
		}
	}
	w->conn_slots[i].conn = NULL;
	w->conn_slots[i].inflight = 0;
}

static void inflight_dispose(void *p)
{
	struct inflight_token *t = p;
	struct api_conn_slot *s = conn_slot(t->w, t->conn);

	if (s && s->conn == t->conn && --s->inflight == 0)
		conn_slot_remove(t->w, s);
}

/* Counts REQ in flight on its connection until its pool is freed. 0, or -EBUSY over the limit. */
static int inflight_enter(struct api_worker *w, h2o_req_t *req)
{
	struct api_conn_slot *s = conn_slot(w, req->conn);
	struct inflight_token *t;

	if (!s)
		return -EBUSY;
	if (s->conn == req->conn && s->inflight >= API_CONN_INFLIGHT_MAX)
		return -EBUSY;
	t = h2o_mem_alloc_shared(&req->pool, sizeof(*t), inflight_dispose);
	t->w = w;
	t->conn = req->conn;
	s->conn = req->conn;
	s->inflight++;
	return 0;
}

/* ---- HTTP/1.1 framing --------------------------------------------------------- */

/*
 * h2o 2.2.5 keeps Content-Length and Transfer-Encoding out of req->headers and picks
 * one of them; the raw header block is still at the start of the connection's input
 * buffer while the handler runs (h2o consumes it after the response). An HTTP/1
 * request whose framing is ambiguous is refused and its connection closed, since the
 * peer and we may disagree on where the next request starts. Returns the reason, or
 * NULL when the framing is unambiguous.
 */
static const char *framing_conflict(h2o_req_t *req)
{
	const char *why = NULL;
	h2o_socket_t *sock;

	if (req->version >= 0x200 || !req->conn->callbacks->get_socket)
		return NULL;
	sock = req->conn->callbacks->get_socket(req->conn);
	if (!sock || !sock->input || api_h1_framing_check(sock->input->bytes, sock->input->size, &why) == 0)
		return NULL;
	req->http1_is_persistent = 0;
	return why;
}

/* ---- dispatch ------------------------------------------------------------------- */

int api_router_on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct api_worker *w = api_worker_of(req);
	struct api_route_match m;
	struct api_call call;
	const char *why;
	size_t plen;
	int rc, head;

	(void)self;
	atomic_fetch_add_explicit(&api_stats.requests, 1, memory_order_relaxed);
	memset(&call, 0, sizeof(call));
	call.req = req;
	/* gzip only where a resource asks for it (/metrics): never an SSE stream */
	req->compress_hint = H2O_COMPRESS_HINT_DISABLE;
	call.w = w;
	call.method = method_of(req, &head);
	call.head_only = head;

	if ((why = framing_conflict(req)))
		return api_error(&call, 400, "bad_request", "ambiguous message framing: %s", why);
	if (req->path.len > API_PATH_MAX)
		return api_error(&call, 414, "uri_too_long", "request target longer than %d bytes",
				 API_PATH_MAX);
	if (inflight_enter(w, req) < 0) {
		atomic_fetch_add_explicit(&api_stats.limited, 1, memory_order_relaxed);
		api_add_header(req, H2O_TOKEN_RETRY_AFTER, "1");
		return api_error(&call, 429, "too_many_requests",
				 "more than %d requests in flight on this connection", API_CONN_INFLIGHT_MAX);
	}
	plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
	rc = api_route_match(req->path.base, plen, call.method, &m);
	if (rc == -EPERM) {
		allow_header(req, m.allowed);
		return api_error(&call, 405, "method_not_allowed", "method %.*s not allowed here",
				 (int)(req->method.len > 16 ? 16 : req->method.len), req->method.base);
	}
	if (rc < 0)
		return api_error(&call, 404, "not_found", "no such resource");
	if (m.param) {
		char *p = h2o_mem_alloc_pool(&req->pool, m.param_len + 1);

		if (api_url_decode(m.param, m.param_len, p, m.param_len + 1, 0) < 0)
			return api_error(&call, 400, "bad_request", "bad percent-encoding in the path");
		call.param = p;
	}
	return routes[rc].fn(&call);
}

/* ---- responses -------------------------------------------------------------------- */

const int api_status_slots[6] = {400, 401, 403, 404, 429, 503};

int api_status_slot(int status)
{
	int i;

	for (i = 0; i < 6; i++)
		if (api_status_slots[i] == status)
			return i;
	return -1;
}

void api_add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
	h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

static void free_linked(void *p)
{
	free(*(char **)p);
}

static h2o_generator_t static_generator = {NULL, NULL};

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

static void send_bytes(h2o_req_t *req, int head_only, int status, const char *ctype, const char *data,
		       size_t len)
{
	h2o_iovec_t body = h2o_iovec_init(data, len);

	req->res.status = status;
	req->res.reason = reason_of(status);
	req->res.content_length = len;
	api_add_header(req, H2O_TOKEN_CONTENT_TYPE, ctype);
	h2o_start_response(req, &static_generator);
	h2o_send(req, head_only ? NULL : &body, head_only ? 0 : 1, H2O_SEND_STATE_FINAL);
}

int api_send_sbuf(struct api_call *call, int status, const char *ctype, struct sbuf *sb)
{
	h2o_req_t *req = call->req;
	char **owner;
	size_t len;
	char *p;

	if (sb->oom) {
		sbuf_free(sb);
		return api_error(call, 500, "internal", "out of memory");
	}
	p = sbuf_take(sb, &len);
	/* the buffer lives until the request's pool is freed, after the last byte is sent */
	owner = h2o_mem_alloc_shared(&req->pool, sizeof(*owner), free_linked);
	*owner = p;
	send_bytes(req, call->head_only, status, ctype, p, len);
	return 0;
}

int api_send_body(struct api_call *call, const char *ctype, const struct api_body *b)
{
	/* addref: the cache may drop its own reference before this response is sent */
	h2o_mem_link_shared(&call->req->pool, b->data);
	send_bytes(call->req, call->head_only, 200, ctype, b->data, b->len);
	return 0;
}

int api_send_json(struct api_call *call, int status, json_t *v)
{
	struct sbuf sb;
	char *s;

	if (!v)
		return api_error(call, 500, "internal", "out of memory");
	s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(v);
	if (!s)
		return api_error(call, 500, "internal", "out of memory");
	sb.p = s;
	sb.len = strlen(s);
	sb.cap = sb.len + 1;
	sb.oom = 0;
	return api_send_sbuf(call, status, "application/json", &sb);
}

static int error_v(h2o_req_t *req, int head_only, int status, const char *type, const char *fmt, va_list ap)
{
	char msg[256];
	struct sbuf sb;
	int slot = api_status_slot(status);
	char **owner;
	size_t len;
	char *p;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	atomic_fetch_add_explicit(&api_stats.errors, 1, memory_order_relaxed);
	if (slot >= 0)
		atomic_fetch_add_explicit(&api_stats.errors_by_status[slot], 1, memory_order_relaxed);
	sbuf_init(&sb, 128 + strlen(msg));
	sbuf_printf(&sb, "{\"error\":{\"code\":%d,\"type\":", status);
	sbuf_json_str(&sb, type, strlen(type));
	sbuf_puts(&sb, ",\"message\":");
	sbuf_json_str(&sb, msg, strlen(msg));
	sbuf_puts(&sb, "}}\n");
	if (sb.oom) {
		sbuf_free(&sb);
		h2o_send_error_generic(req, status, "Error", "error", 0);
		return 0;
	}
	p = sbuf_take(&sb, &len);
	owner = h2o_mem_alloc_shared(&req->pool, sizeof(*owner), free_linked);
	*owner = p;
	send_bytes(req, head_only, status, "application/json", p, len);
	return 0;
}

int api_error(struct api_call *call, int status, const char *type, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = error_v(call->req, call->head_only, status, type, fmt, ap);
	va_end(ap);
	return rc;
}

int api_error_req(h2o_req_t *req, int status, const char *type, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = error_v(req, 0, status, type, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- query strings ------------------------------------------------------------------ */

int api_query_next(const char **p, const char *end, const char **k, size_t *klen, const char **v,
		   size_t *vlen)
{
	const char *s = *p, *amp, *eq;

	while (s < end && *s == '&')
		s++;
	if (s >= end)
		return 0;
	amp = memchr(s, '&', (size_t)(end - s));
	if (!amp)
		amp = end;
	eq = memchr(s, '=', (size_t)(amp - s));
	*k = s;
	*klen = (size_t)((eq ? eq : amp) - s);
	*v = eq ? eq + 1 : amp;
	*vlen = eq ? (size_t)(amp - eq - 1) : 0;
	*p = amp;
	return 1;
}

int api_query_get(h2o_req_t *req, const char *key, const char **value)
{
	const char *p, *end, *k, *v;
	size_t klen, vlen, keylen = strlen(key);

	if (req->query_at == SIZE_MAX)
		return 0;
	p = req->path.base + req->query_at + 1;
	end = req->path.base + req->path.len;
	while (api_query_next(&p, end, &k, &klen, &v, &vlen)) {
		char *out;

		if (klen != keylen || memcmp(k, key, klen) != 0)
			continue;
		out = h2o_mem_alloc_pool(&req->pool, vlen + 1);
		if (api_url_decode(v, vlen, out, vlen + 1, 1) < 0)
			return -EINVAL;
		*value = out;
		return 1;
	}
	return 0;
}

const char *api_query_unknown(h2o_req_t *req, const char *const *allowed)
{
	const char *p, *end, *k, *v;
	size_t klen, vlen;

	if (req->query_at == SIZE_MAX)
		return NULL;
	p = req->path.base + req->query_at + 1;
	end = req->path.base + req->path.len;
	while (api_query_next(&p, end, &k, &klen, &v, &vlen)) {
		const char *const *a;
		int ok = 0;

		for (a = allowed; *a; a++)
			if (strlen(*a) == klen && memcmp(*a, k, klen) == 0)
				ok = 1;
		if (!ok)
			return h2o_strdup(&req->pool, k, klen > 64 ? 64 : klen).base;
	}
	return NULL;
}

/* ---- glob filters --------------------------------------------------------------------- */

#include <fnmatch.h>

int api_match(const char *match, const char *name)
{
	char pat[INFOREG_NAME_MAX * 2];
	const char *p = match;

	if (!match || !match[0])
		return 1;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		if (n < sizeof(pat)) {
			memcpy(pat, p, n);
			pat[n] = '\0';
			if (fnmatch(pat, name, 0) == 0)
				return 1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}
