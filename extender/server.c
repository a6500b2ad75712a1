/* SPDX-License-Identifier: MIT */
/*
 * server.c - the extender's HTTP server (h2o 2.2.5): POST .../filter, POST
 * .../prioritize (any prefix, so kube-scheduler's urlPrefix may carry a path) and
 * GET /healthz. One port serves HTTP/1.1 (what kube-scheduler's Go client speaks over
 * cleartext) and h2c with prior knowledge.
 *
 * Threads: N workers, each with its own h2o evloop, context, SO_REUSEPORT listener and
 * fetcher (curl multi); everything h2o is created inside the thread that runs it (h2o's
 * buffer recycling is thread-local). A worker decides one request at a time: the
 * handler asks the nodes and returns after at most the deadline (50 ms by default),
 * which is what kube-scheduler needs - it calls its extenders one scheduling cycle at a
 * time. More workers serve more concurrent callers.
 *
 * Answers: filter is always 200 with an ExtenderFilterResult; a request it cannot
 * judge gets Error set (the protocol's convention: kube-scheduler then fails the cycle,
 * or skips the extender when it is "ignorable"). prioritize has no Error field: a pod it
 * cannot judge gets every candidate at Score 0 (no preference, logged), a body it
 * cannot read at all a 400 with {"Error":...} (kube-scheduler logs prioritize errors and
 * goes on).
 *
 * Stopping: the main thread waits for SIGTERM/SIGINT with sigwait() and writes each
 * worker's eventfd; h2o_evloop_run() returns -1 on EINTR, so the loop runs until that
 * flag is set whatever it returns.
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <h2o.h>
#include "extender.h"

#define WORKERS_MAX 64

struct worker {
	h2o_context_t ctx; /* first: a request's conn->ctx leads back here */
	h2o_accept_ctx_t accept_ctx;
	pthread_t thread;
	int started;
	int listen_fd, stop_fd;
	atomic_int stopping; /* relaxed: only ends the loop; no data is published with it */
	struct ext_fetcher *fetch;
	const char *fetch_err;
	int conns_open; /* this thread only */
};

static struct {
	const struct ext_server_opts *o;
	h2o_globalconf_t config;
	struct worker *w;
	int n;
	struct sockaddr_storage addr;
	socklen_t addrlen;
} srv;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- responses ------------------------------------------------------------------------ */

static h2o_generator_t static_generator = {NULL, NULL};

static void free_owner(void *p)
{
	free(*(char **)p);
}

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	default:
		return "Internal Server Error";
	}
}

static void send_text(h2o_req_t *req, int status, const char *ctype, char *owned, size_t len)
{
	char **owner = h2o_mem_alloc_shared(&req->pool, sizeof(*owner), free_owner);
	h2o_iovec_t body = h2o_iovec_init(owned, len);

	*owner = owned; /* freed with the request's pool, after the last byte is sent */
	req->res.status = status;
	req->res.reason = reason_of(status);
	req->res.content_length = len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
	h2o_start_response(req, &static_generator);
	h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

/* Sends J (taking its reference) as JSON. */
static int send_json(h2o_req_t *req, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!s) {
		h2o_send_error_generic(req, 500, "Internal Server Error", "out of memory", 0);
		return 0;
	}
	send_text(req, status, "application/json", s, strlen(s));
	return 0;
}

static int send_error(h2o_req_t *req, int status, const char *msg)
{
	return send_json(req, status, json_pack("{s:s}", "Error", msg));
}

/* ---- the two verbs --------------------------------------------------------------------- */

static int path_ends_with(const h2o_req_t *req, const char *verb)
{
	size_t n = strlen(verb), len = req->path_normalized.len;
	const char *p = req->path_normalized.base;

	return len >= n + 1 && p[len - n - 1] == '/' && memcmp(p + len - n, verb, n) == 0;
}

static int handle_verb(struct worker *w, h2o_req_t *req, int is_filter)
{
	const struct ext_server_opts *o = srv.o;
	struct ext_ctx c = {o->map, w->fetch, o->min_score, o->fetch.deadline_ms};
	const char *verb = is_filter ? "filter" : "prioritize";
	struct ext_result *res = NULL;
	struct ext_args a;
	char err[512];
	double t0 = now_ms(), ms;
	json_t *j;
	int rc;

	rc = ext_args_parse(req->entity.base ? req->entity.base : "", req->entity.len, &a, err, sizeof(err));
	if (rc == 0) {
		res = calloc(a.n ? a.n : 1, sizeof(*res));
		rc = !res ? -ENOMEM : !w->fetch ? -EIO : ext_decide(&c, &a, res);
		if (rc == -ENOMEM)
			snprintf(err, sizeof(err), "out of memory");
		else if (rc == -EIO)
			snprintf(err, sizeof(err), "this worker has no HTTP client: %s", w->fetch_err);
	}
	if (rc < 0) {
		if (!o->quiet)
			fprintf(stderr, "%s %s: cannot judge: %s\n", verb,
				a.req.pod[0] ? a.req.pod : "(no pod)", err);
		if (is_filter) {
			j = ext_filter_json(&a, NULL, 0, err);
		} else if (!a.names) {
			j = NULL; /* not even the candidates: a 400 below */
		} else {
			/* every candidate at 0: no preference from a pod we cannot read */
			free(res);
			res = calloc(a.n ? a.n : 1, sizeof(*res));
			j = res ? ext_prioritize_json(&a, res) : NULL;
		}
		free(res);
		ext_args_free(&a);
		if (!j && !is_filter)
			return send_error(req, 400, err);
		return send_json(req, 200, j);
	}
	ms = now_ms() - t0;
	j = is_filter ? ext_filter_json(&a, res, ext_min_score(&c, &a), NULL) : ext_prioritize_json(&a, res);
	if (!o->quiet)
		ext_log_decision(stderr, verb, &a, res, ext_min_score(&c, &a), ms);
	free(res);
	ext_args_free(&a);
	return send_json(req, 200, j);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct worker *w = (struct worker *)req->conn->ctx;
	int is_post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
	int is_get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));

	(void)self;
	if (h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/healthz"))) {
		char *ok = strdup("ok\n");

		if (!is_get)
			return send_error(req, 405, "use GET");
		if (!ok)
			return send_error(req, 500, "out of memory");
		send_text(req, 200, "text/plain", ok, 3);
		return 0;
	}
	if (path_ends_with(req, "filter") || path_ends_with(req, "prioritize")) {
		if (!is_post)
			return send_error(req, 405, "use POST with ExtenderArgs");
		return handle_verb(w, req, path_ends_with(req, "filter"));
	}
	return send_error(req, 404, "unknown path: POST .../filter, POST .../prioritize, GET /healthz");
}

/* ---- sockets --------------------------------------------------------------------------- */

/* "127.0.0.1:9471", "[::1]:9471", "*:9471", ":9471". Returns 0 or -EINVAL. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128], port[16];
	struct addrinfo hints, *ai = NULL;
	const char *colon, *h = spec;
	size_t hl;

	if (spec[0] == '[') {
		colon = strchr(spec, ']');
		if (!colon || colon[1] != ':')
			return -EINVAL;
		h = spec + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - spec);
	}
	if (hl >= sizeof(host) || !colon[1] || strlen(colon + 1) >= sizeof(port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port, &hints, &ai) != 0 || !ai)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int listen_socket(int reuseport)
{
	int fd, one = 1;

	fd = socket(srv.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&srv.addr, srv.addrlen) < 0 || (reuseport && listen(fd, 1024) < 0)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* ---- workers ---------------------------------------------------------------------------- */

static void on_conn_close(void *data)
{
	((struct worker *)data)->conns_open--;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	struct worker *w = listener->data;
	int i;

	if (err)
		return;
	for (i = 0; i < 16; i++) {
		h2o_socket_t *sock = h2o_evloop_socket_accept(listener);

		if (!sock)
			break;
		w->conns_open++;
		sock->on_close.cb = on_conn_close;
		sock->on_close.data = w;
		h2o_accept(&w->accept_ctx, sock);
	}
}

static void on_stop(h2o_socket_t *sock, const char *err)
{
	struct worker *w = sock->data;
	uint64_t v;

	(void)err;
	/* read it, or the level-triggered eventfd keeps the loop busy */
	if (read(w->stop_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	atomic_store_explicit(&w->stopping, 1, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	h2o_evloop_t *loop = h2o_evloop_create();
	h2o_socket_t *listener, *stop;

	w->fetch = ext_fetcher_new(&srv.o->fetch);
	if (!w->fetch)
		w->fetch_err = strerror(errno);
	h2o_context_init(&w->ctx, loop, &srv.config);
	w->accept_ctx.ctx = &w->ctx;
	w->accept_ctx.hosts = srv.config.hosts;
	listener = h2o_evloop_socket_create(loop, w->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
	listener->data = w;
	h2o_socket_read_start(listener, on_accept);
	stop = h2o_evloop_socket_create(loop, w->stop_fd, H2O_SOCKET_FLAG_DONT_READ);
	stop->data = w;
	h2o_socket_read_start(stop, on_stop);

	while (!atomic_load_explicit(&w->stopping, memory_order_relaxed))
		h2o_evloop_run(loop, INT32_MAX); /* -1 on EINTR: go round */

	h2o_socket_close(listener);
	h2o_socket_close(stop);
	h2o_evloop_run(loop, 0);
	/* with clients still connected the context is left to process exit (as inforegd does:
	 * h2o 2.2.5's graceful shutdown arms timers that would outlive it) */
	if (w->conns_open == 0) {
		h2o_context_dispose(&w->ctx);
		h2o_evloop_destroy(loop);
	}
	ext_fetcher_free(w->fetch);
	w->fetch = NULL;
	return NULL;
}

int ext_serve(const struct ext_server_opts *o, char *err, size_t errlen)
{
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	h2o_handler_t *h;
	sigset_t set;
	int i, fd, sig, rc = 0;

	memset(&srv, 0, sizeof(srv));
	srv.o = o;
	if (o->workers < 1 || o->workers > WORKERS_MAX) {
		snprintf(err, errlen, "--workers: want 1..%d", WORKERS_MAX);
		return -EINVAL;
	}
	if (parse_listen(o->listen, &srv.addr, &srv.addrlen) < 0) {
		snprintf(err, errlen, "--listen '%s': want HOST:PORT or [V6]:PORT", o->listen);
		return -EINVAL;
	}
	/* a port somebody else holds fails here instead of silently sharing the traffic */
	fd = listen_socket(0);
	if (fd < 0) {
		snprintf(err, errlen, "listen %s: %s", o->listen, strerror(-fd));
		return fd;
	}
	close(fd);

	h2o_config_init(&srv.config);
	srv.config.server_name = h2o_iovec_init(H2O_STRLIT("inforeg-extender/" INFOREG_VERSION_STR));
	srv.config.max_request_entity_size = o->max_body;
	host = h2o_config_register_host(&srv.config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	path = h2o_config_register_path(host, "/", 0);
	h = h2o_create_handler(path, sizeof(*h));
	h->on_req = on_req;

	/* SIGTERM/SIGINT for sigwait() below only: blocked before any thread starts */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	srv.w = calloc((size_t)o->workers, sizeof(*srv.w));
	if (!srv.w) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	srv.n = o->workers;
	for (i = 0; i < srv.n; i++) {
		struct worker *w = &srv.w[i];

		w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->listen_fd = listen_socket(1);
		if (w->stop_fd < 0 || w->listen_fd < 0) {
			rc = w->listen_fd < 0 ? w->listen_fd : -errno;
			snprintf(err, errlen, "listen %s: %s", o->listen, strerror(-rc));
			goto stop;
		}
		rc = -pthread_create(&w->thread, NULL, worker_main, w);
		if (rc < 0) {
			snprintf(err, errlen, "thread: %s", strerror(-rc));
			goto stop;
		}
		w->started = 1;
	}
	fprintf(stderr, "inforeg-extender: listening on %s (%d worker%s), deadline %d ms, min-score %.2f\n",
		o->listen, srv.n, srv.n > 1 ? "s" : "", o->fetch.deadline_ms, o->min_score);
	while (sigwait(&set, &sig) != 0)
		;
stop:
	for (i = 0; i < srv.n; i++) {
		struct worker *w = &srv.w[i];
		uint64_t one = 1;

		if (w->started) {
			if (write(w->stop_fd, &one, sizeof(one)) < 0)
				atomic_store_explicit(&w->stopping, 1, memory_order_relaxed);
			pthread_join(w->thread, NULL);
		} else {
			if (w->stop_fd >= 0)
				close(w->stop_fd);
			if (w->listen_fd >= 0)
				close(w->listen_fd);
		}
	}
	free(srv.w);
out:
	h2o_config_dispose(&srv.config);
	return rc;
}
