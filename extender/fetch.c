/* SPDX-License-Identifier: MIT */
/*
 * fetch.c - asks every candidate node's inforegd for a score, all at once, over HTTP/2,
 * and stops waiting at one deadline.
 *
 * One fetcher = one libcurl multi handle (HTTP/2 multiplexing on, connections kept in
 * its cache between decisions, so a warm decision costs one stream per node and no
 * handshake), a pool of easy handles and an epoll set driven through libcurl's socket
 * interface (a wake-up costs the sockets that moved). It belongs to one thread: the
 * server gives each worker its own, the `score` command has one. The call blocks its
 * thread until every node has answered or the deadline has passed.
 *
 * Per node, at most two requests inside the same deadline:
 *   1. POST /v1/score with [{"cpu":C,"mem":M,"gpu":G}] (requested resources only), the
 *      node's own score rule; or, for a pod with an inforeg.io/profile annotation,
 *      GET /v1/metrics/score{profile="P"}, the score the node publishes for P;
 *   2. only when (1) is 404/405 (a node without the score endpoint):
 *      GET /v1/metrics?match=cpu.free,mem.available,gpu.free, and the paper's formula
 *      here: perf = 1 if free >= req else free/req per requested resource, score = the
 *      minimum (cpu.free in cores, mem.available in bytes, gpu.free in devices; a node
 *      without gpu.free has none free). The result says which source it came from.
 * A node that refuses the connection, times out or has no current value is EXT_NODATA
 * ("no fresh data: ..."); one that answers an error or nonsense is EXT_BAD with the
 * reason (its own error message when it sent one); a node without the pod's profile
 * is EXT_BAD too (the formula cannot stand in for a profile's requirements).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "extender.h"

#define ANSWER_MAX (256u << 10) /* bytes of one node's answer */

const char *const ext_source_name[] = {"-", "score", "metrics", "profile"};

enum phase { PH_SCORE, PH_METRICS, PH_PROFILE };

struct xfer {
	CURL *easy;
	struct ext_result *out;
	const char *base;
	enum phase phase;
	int active;
	int restart; /* start PH_METRICS at the next turn of the loop */
	char *buf;
	size_t len, cap;
	int overflow;
};

struct ext_fetcher {
	CURLM *multi;
	struct ext_fetch_opts o;
	struct xfer *x;
	size_t nx;
	struct curl_slist *json_hdr;
	const struct ext_req *req;
	char body[256];
	char profile_path[160];
	double t0, deadline; /* ms, CLOCK_MONOTONIC */
	long cleartext_h2;   /* CURLOPT_HTTP_VERSION for http:// nodes */
	int epfd;	     /* the sockets libcurl wants watched (socket callback) */
	double timer_at;     /* when libcurl wants its timeout action (ms); < 0: never */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double ext_perf(double free, double req)
{
	if (!(req > 0))
		return 1;
	if (free >= req)
		return 1;
	return free > 0 ? free / req : 0;
}

/* ---- fetcher life ---------------------------------------------------------------------- */

/*
 * libcurl's socket interface: it says which sockets to watch for what (mirrored into an
 * epoll set) and when to call it back on a timer, so a wake-up costs the sockets that
 * moved, not a pass over every transfer (curl_multi_perform's cost with 100 nodes).
 */
static int on_socket(CURL *e, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct ext_fetcher *f = arg;
	struct epoll_event ev = {0};

	(void)e;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, s, NULL); /* may be closed already: fine */
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.fd = s;
	if (epoll_ctl(f->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT)
		epoll_ctl(f->epfd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *arg)
{
	(void)m;
	((struct ext_fetcher *)arg)->timer_at = timeout_ms < 0 ? -1 : now_ms() + (double)timeout_ms;
	return 0;
}

struct ext_fetcher *ext_fetcher_new(const struct ext_fetch_opts *o)
{
	struct ext_fetcher *f;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		errno = EIO;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->o = *o;
	f->timer_at = -1;
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->o.deadline_ms <= 0)
		f->o.deadline_ms = EXT_DEFAULT_DEADLINE_MS;
	f->multi = curl_multi_init();
	f->json_hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (!f->multi || !f->json_hdr || f->epfd < 0) {
		int e = f->epfd < 0 ? errno : ENOMEM;

		ext_fetcher_free(f);
		errno = e;
		return NULL;
	}
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/*
	 * h2c with prior knowledge, except on libcurl < 8.0: 7.88 (Debian 12) fails every
	 * request after the first on a kept prior-knowledge connection with "Error in the
	 * HTTP2 framing layer" (curl issue 10634, fixed in 8.0). There the first request on
	 * a connection upgrades it (Upgrade: h2c, which inforegd's h2o accepts, POST body
	 * included) and every later one is an HTTP/2 stream on it, as with prior knowledge.
	 */
	f->cleartext_h2 = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000
			      ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
			      : (long)CURL_HTTP_VERSION_2_0;
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, f->o.max_conns > 0 ? f->o.max_conns : 1024L);
	return f;
}

void ext_fetcher_free(struct ext_fetcher *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nx; i++) {
		if (f->x[i].active)
			curl_multi_remove_handle(f->multi, f->x[i].easy);
		curl_easy_cleanup(f->x[i].easy);
		free(f->x[i].buf);
	}
	free(f->x);
	curl_slist_free_all(f->json_hdr);
	if (f->multi)
		curl_multi_cleanup(f->multi);
	if (f->epfd >= 0)
		close(f->epfd);
	free(f);
}

static int pool_grow(struct ext_fetcher *f, size_t n)
{
	struct xfer *x;

	if (n <= f->nx)
		return 0;
	x = realloc(f->x, n * sizeof(*x));
	if (!x)
		return -ENOMEM;
	f->x = x;
	for (; f->nx < n; f->nx++) {
		memset(&x[f->nx], 0, sizeof(x[f->nx]));
		x[f->nx].easy = curl_easy_init();
		if (!x[f->nx].easy)
			return -ENOMEM;
	}
	return 0;
}

/* ---- one transfer ---------------------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (x->len + n + 1 > ANSWER_MAX) {
		x->overflow = 1;
		return 0; /* aborts the transfer */
	}
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		char *b;

		while (cap < x->len + n + 1)
			cap *= 2;
		b = realloc(x->buf, cap);
		if (!b)
			return 0;
		x->buf = b;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, p, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

static void set_failed(struct xfer *x, enum ext_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_failed(struct xfer *x, enum ext_state st, const char *fmt, ...)
{
	va_list ap;

	x->out->state = st;
	va_start(ap, fmt);
	vsnprintf(x->out->why, sizeof(x->out->why), fmt, ap);
	va_end(ap);
}

/* Starts (or restarts, in a new phase) X's request. Returns 0 or -errno. */
static int start(struct ext_fetcher *f, struct xfer *x, enum phase ph)
{
	CURL *e = x->easy;
	char url[1024];
	/* libcurl's own timeouts only back up the deadline the fetch loop enforces */
	long left = (long)ceil(f->deadline - now_ms()) + 5;
	int n;

	x->phase = ph;
	x->len = 0;
	x->overflow = 0;
	if (ph == PH_SCORE)
		n = snprintf(url, sizeof(url), "%s/v1/score", x->base);
	else if (ph == PH_PROFILE)
		n = snprintf(url, sizeof(url), "%s%s", x->base, f->profile_path);
	else
		n = snprintf(url, sizeof(url), "%s/v1/metrics?match=cpu.free,mem.available,gpu.free",
			     x->base);
	if (n < 0 || (size_t)n >= sizeof(url))
		return -ENAMETOOLONG;
	/* a clean slate: nothing of the previous phase (POST fields, headers) carries over */
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
			 strncmp(x->base, "https:", 6) == 0 ? (long)CURL_HTTP_VERSION_2TLS : f->cleartext_h2);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, left);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "inforeg-extender/" INFOREG_VERSION_STR);
	if (f->o.cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, f->o.cacert);
	if (ph == PH_SCORE) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, f->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(f->body));
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->json_hdr);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	}
	if (curl_multi_add_handle(f->multi, e) != CURLM_OK)
		return -ENOMEM;
	x->active = 1;
	return 0;
}

static void finish(struct ext_fetcher *f, struct xfer *x)
{
	if (x->active)
		curl_multi_remove_handle(f->multi, x->easy);
	x->active = 0;
	x->out->ms = now_ms() - f->t0;
}

/* ---- answers ---------------------------------------------------------------------------- */

static json_t *load_answer(struct xfer *x, const char *what)
{
	json_error_t jerr;
	json_t *j = json_loadb(x->buf ? x->buf : "", x->len, 0, &jerr);

	if (!json_is_object(j)) {
		set_failed(x, EXT_BAD, "%s: not a JSON object (%.60s)", what, j ? "" : jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

static void take_seq(struct ext_result *r, const json_t *root)
{
	const json_t *s = json_object_get(root, "seq");

	if (json_is_integer(s) && json_integer_value(s) > 0)
		r->seq = (uint64_t)json_integer_value(s);
}

static double num_or_nan(const json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* {"seq":N,"rule":"default","scores":[{"score":0.83,"resources":{"cpu":{...},...}}]} */
static void parse_score(struct xfer *x)
{
	struct ext_result *r = x->out;
	json_t *root = load_answer(x, "POST /v1/score"), *s0, *res, *rule;
	double sc;
	int k;

	if (!root)
		return;
	take_seq(r, root);
	rule = json_object_get(root, "rule");
	if (json_is_string(rule))
		snprintf(r->rule, sizeof(r->rule), "%s", json_string_value(rule));
	s0 = json_array_get(json_object_get(root, "scores"), 0);
	if (!json_is_object(s0)) {
		set_failed(x, EXT_BAD, "POST /v1/score: no scores[0] in the answer");
		goto out;
	}
	res = json_object_get(s0, "resources");
	for (k = 0; k < EXT_RES_N; k++) {
		const json_t *o = json_object_get(res, ext_res_name[k]);

		r->free[k] = num_or_nan(json_object_get(o, "free"));
		r->perf[k] = num_or_nan(json_object_get(o, "perf"));
	}
	if (json_is_null(json_object_get(s0, "score"))) {
		set_failed(x, EXT_NODATA, EXT_NO_DATA ": the node's score is unknown (seq %llu)",
			   (unsigned long long)r->seq);
		goto out;
	}
	sc = num_or_nan(json_object_get(s0, "score"));
	if (isnan(sc)) {
		set_failed(x, EXT_BAD, "POST /v1/score: scores[0].score is not a number");
		goto out;
	}
	r->score = sc < 0 ? 0 : sc > 1 ? 1 : sc;
	r->source = EXT_SRC_SCORE;
	r->state = EXT_OK;
out:
	json_decref(root);
}

/* {"name":"score{profile=\"P\"}","value":0.83,"seq":N,...} */
static void parse_profile(struct ext_fetcher *f, struct xfer *x)
{
	struct ext_result *r = x->out;
	json_t *root = load_answer(x, "profile score");
	const json_t *v;

	if (!root)
		return;
	take_seq(r, root);
	v = json_object_get(root, "value");
	snprintf(r->rule, sizeof(r->rule), "profile %s", f->req->profile);
	if (json_is_number(v)) {
		double sc = json_number_value(v);

		r->score = sc < 0 ? 0 : sc > 1 ? 1 : sc;
		r->source = EXT_SRC_PROFILE;
		r->state = EXT_OK;
	} else {
		set_failed(x, EXT_NODATA, EXT_NO_DATA ": score{profile=\"%s\"} is unknown", f->req->profile);
	}
	json_decref(root);
}

/* {"seq":N,"series":[{"name":"cpu.free","value":1.9},...]}: the formula, here. */
static void parse_metrics(struct ext_fetcher *f, struct xfer *x)
{
	static const char *const series[EXT_RES_N] = {"cpu.free", "mem.available", "gpu.free"};
	struct ext_result *r = x->out;
	json_t *root = load_answer(x, "GET /v1/metrics"), *arr, *s;
	int present[EXT_RES_N] = {0};
	double score = 1;
	size_t i;
	int k;

	if (!root)
		return;
	take_seq(r, root);
	arr = json_object_get(root, "series");
	json_array_foreach(arr, i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));

		for (k = 0; name && k < EXT_RES_N; k++) {
			if (strcmp(name, series[k]) == 0) {
				present[k] = 1;
				r->free[k] = num_or_nan(json_object_get(s, "value"));
			}
		}
	}
	for (k = 0; k < EXT_RES_N; k++) {
		double want = f->req->want[k];

		if (!(want > 0))
			continue;
		if (!present[k] && k == EXT_GPU) {
			r->free[k] = 0; /* no accelerator series: nothing to give */
		} else if (!present[k] || isnan(r->free[k])) {
			set_failed(x, EXT_NODATA, EXT_NO_DATA ": %s is %s (seq %llu)", series[k],
				   present[k] ? "unknown" : "not published", (unsigned long long)r->seq);
			goto out;
		}
		r->perf[k] = ext_perf(r->free[k], want);
		if (r->perf[k] < score)
			score = r->perf[k];
	}
	r->score = score;
	r->source = EXT_SRC_METRICS;
	r->state = EXT_OK;
	snprintf(r->rule, sizeof(r->rule), "paper formula (extender)");
out:
	json_decref(root);
}

/* X's request ended with RC. May restart X in the fallback phase. */
static void on_done(struct ext_fetcher *f, struct xfer *x, CURLcode rc)
{
	long code = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	finish(f, x);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		set_failed(x, EXT_NODATA, EXT_NO_DATA ": no answer within %d ms", f->o.deadline_ms);
		return;
	}
	if (x->overflow) {
		set_failed(x, EXT_BAD, "answer larger than %u bytes", ANSWER_MAX);
		return;
	}
	if (rc != CURLE_OK) {
		set_failed(x, EXT_NODATA, EXT_NO_DATA ": %s", curl_easy_strerror(rc));
		return;
	}
	if (x->phase == PH_SCORE && (code == 404 || code == 405)) {
		/* a node without the score endpoint: its metrics and the formula here, started
		 * once the finished stream is out of libcurl's way (after info_read) */
		x->restart = 1;
		return;
	}
	if (x->phase == PH_PROFILE && code == 404) {
		set_failed(x, EXT_BAD, "the node has no profile '%s' (no series score{profile=\"%s\"})",
			   f->req->profile, f->req->profile);
		return;
	}
	if (code != 200) {
		/* inforegd's errors are {"error":{"code":..,"message":..}}: pass the message on */
		json_t *e = json_loadb(x->buf ? x->buf : "", x->len, 0, NULL);
		const char *msg = json_string_value(json_object_get(json_object_get(e, "error"), "message"));

		set_failed(x, EXT_BAD, "%s: HTTP %ld%s%.120s",
			   x->phase == PH_SCORE	    ? "POST /v1/score"
			   : x->phase == PH_PROFILE ? "GET profile score"
						    : "GET /v1/metrics",
			   code, msg ? ": " : "", msg ? msg : "");
		json_decref(e);
		return;
	}
	if (x->phase == PH_SCORE)
		parse_score(x);
	else if (x->phase == PH_PROFILE)
		parse_profile(f, x);
	else
		parse_metrics(f, x);
}

/* ---- one decision ----------------------------------------------------------------------- */

static void build_body(struct ext_fetcher *f, const struct ext_req *req)
{
	size_t off = 0;
	int k, first = 1;

	off += (size_t)snprintf(f->body + off, sizeof(f->body) - off, "[{");
	for (k = 0; k < EXT_RES_N; k++) {
		if (!(req->want[k] > 0))
			continue;
		off += (size_t)snprintf(f->body + off, sizeof(f->body) - off, "%s\"%s\":%.17g",
					first ? "" : ",", ext_res_name[k], req->want[k]);
		first = 0;
	}
	snprintf(f->body + off, sizeof(f->body) - off, "}]");
	/* score{profile="P"} percent-encoded; P is [A-Za-z0-9_.-] (args.c checked) */
	snprintf(f->profile_path, sizeof(f->profile_path), "/v1/metrics/score%%7Bprofile%%3D%%22%s%%22%%7D",
		 req->profile);
}

int ext_fetch_scores(struct ext_fetcher *f, const struct ext_req *req, const char *const *urls, size_t n,
		     struct ext_result *out)
{
	size_t i, active = 0;
	int k, rc;

	rc = pool_grow(f, n);
	if (rc < 0)
		return rc;
	f->req = req;
	build_body(f, req);
	f->t0 = now_ms();
	f->deadline = f->t0 + f->o.deadline_ms;
	for (i = 0; i < n; i++) {
		struct xfer *x = &f->x[i];

		x->active = x->restart = 0;
		if (!urls[i])
			continue;
		memset(&out[i], 0, sizeof(out[i]));
		for (k = 0; k < EXT_RES_N; k++)
			out[i].free[k] = out[i].perf[k] = NAN;
		x->out = &out[i];
		x->base = urls[i];
		if (start(f, x, req->profile[0] ? PH_PROFILE : PH_SCORE) < 0) {
			set_failed(x, EXT_BAD, "cannot start the request");
			continue;
		}
	}
	for (;;) {
		struct epoll_event ev[64];
		CURLMsg *m;
		int running = 0, left, ne, j;
		double until = f->timer_at >= 0 && f->timer_at < f->deadline ? f->timer_at : f->deadline;
		double wait = ceil(until - now_ms());

		ne = epoll_wait(f->epfd, ev, 64, wait > 0 ? (int)wait : 0);
		for (j = 0; j < ne; j++)
			curl_multi_socket_action(
			    f->multi, ev[j].data.fd,
			    (ev[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR) ? CURL_CSELECT_IN : 0) |
				(ev[j].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
				(ev[j].events & EPOLLERR ? CURL_CSELECT_ERR : 0),
			    &running);
		if (f->timer_at >= 0 && now_ms() >= f->timer_at) {
			f->timer_at = -1; /* one shot: libcurl re-arms what it still needs */
			curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		while ((m = curl_multi_info_read(f->multi, &left))) {
			struct xfer *x = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			if (x && x->active)
				on_done(f, x, m->data.result);
		}
		for (active = 0, i = 0; i < n; i++) {
			struct xfer *x = &f->x[i];

			if (x->restart) {
				x->restart = 0;
				if (start(f, x, PH_METRICS) < 0)
					set_failed(x, EXT_BAD, "cannot start GET /v1/metrics");
			}
			active += x->active;
		}
		if (!active || now_ms() >= f->deadline)
			break;
	}
	for (i = 0; active && i < n; i++) {
		struct xfer *x = &f->x[i];

		if (!x->active)
			continue;
		finish(f, x);
		set_failed(x, EXT_NODATA, EXT_NO_DATA ": no answer within %d ms", f->o.deadline_ms);
	}
	return 0;
}
