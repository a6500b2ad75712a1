/* SPDX-License-Identifier: MIT */
/*
 * server.c - api_start()/api_stop(): the REST server's listeners and worker threads.
 *
 * api_start() runs in inforegd's main thread after the registry exists. It loads the
 * token, builds the TLS context (when a certificate is configured), fills the route
 * table and the h2o global configuration, binds every listener for every worker (so
 * EADDRINUSE and friends come back to the caller before the daemon reports ready),
 * opens one registry reader per worker and starts the workers.
 *
 * Each worker is one thread with its own h2o evloop, context and SO_REUSEPORT
 * listening sockets; the h2o socket wrappers, the context and the timers are all
 * created inside that thread (h2o's buffer recycling is thread-local). The kernel
 * spreads connections over the workers. One port speaks HTTP/1.1 and h2c with prior
 * knowledge in cleartext, or TLS with ALPN (h2, http/1.1) when TLS is configured.
 *
 * Connections: past max_connections open ones (all workers; by default three quarters
 * of RLIMIT_NOFILE) a new connection is accepted and closed at once, with a 503 for a
 * cleartext client. When accept() fails for lack of descriptors or memory the worker
 * stops reading its listeners for API_ACCEPT_PAUSE_MS instead of retrying at once (the
 * listener stays readable while the backlog is full, so retrying spins a core).
 *
 * api_preflight() runs the checks of what the user wrote (addresses, token, TLS files)
 * before inforegd publishes anything, so that those errors exit 2 like a bad flag.
 *
 * Stopping: api_stop() writes each worker's eventfd; the worker closes its listeners
 * and leaves its loop. h2o_evloop_run() returns -1 on EINTR, so the loop runs until
 * that flag is set whatever it returns.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "api_int.h"

#define WORKERS_MAX 64

static struct {
	int running;
	h2o_globalconf_t config;
	int config_ready;
	SSL_CTX *ssl_ctx;
	struct api_worker *workers;
	int n_workers;
	int n_listen;
	struct sockaddr_storage addr[API_LISTEN_MAX];
	socklen_t addrlen[API_LISTEN_MAX];
} srv;

/* ---- addresses and listening sockets ---------------------------------------------- */

/* Parses "127.0.0.1:9470", "[::1]:9470", "*:9470", ":9470". Returns 0 or -EINVAL. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128], port[16];
	struct addrinfo hints, *res = NULL;
	const char *colon;
	size_t hl;
	int rc;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - spec - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec + 1, hl);
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - spec);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec, hl);
	}
	host[hl] = '\0';
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	strcpy(port, colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port, &hints, &res);
	if (rc != 0 || !res)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* A bound, listening, non-blocking socket. REUSEPORT: shared with the other workers. */
static int listen_socket(const struct sockaddr_storage *ss, socklen_t len, int reuseport)
{
	int fd, one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || (reuseport && listen(fd, 1024) < 0)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* ---- worker thread --------------------------------------------------------------------- */

static void on_conn_close(void *data)
{
	struct api_worker *w = data;

	w->conns_open--;
	atomic_fetch_sub_explicit(&api_stats.conns_open, 1, memory_order_relaxed);
}

static void on_accept(h2o_socket_t *listener, const char *err);

/* The pause is over: listen again (a new EMFILE pauses again, one accept() later). */
static void on_accept_resume(h2o_timeout_entry_t *entry)
{
	struct api_worker *w = H2O_STRUCT_FROM_MEMBER(struct api_worker, accept_resume, entry);
	int i;

	w->accept_paused = 0;
	for (i = 0; i < w->n_listen; i++)
		h2o_socket_read_start(w->listener[i], on_accept);
}

/*
 * accept() failed for lack of descriptors or memory. The listening socket stays
 * readable while the backlog holds connections, so accepting again at once spins
 * (the loop woke about 2,000 times a second): stop reading every listener for
 * API_ACCEPT_PAUSE_MS; the backlog keeps the waiting clients meanwhile.
 */
static void accept_pause(struct api_worker *w)
{
	int i;

	if (w->accept_paused)
		return;
	w->accept_paused = 1;
	for (i = 0; i < w->n_listen; i++)
		h2o_socket_read_stop(w->listener[i]);
	h2o_timeout_link(w->ctx.loop, &w->accept_timeout, &w->accept_resume);
	atomic_fetch_add_explicit(&api_stats.accept_pauses, 1, memory_order_relaxed);
}

/* Over max_connections: a cleartext client gets a 503 it can read, then the close. */
static void refuse(struct api_worker *w, h2o_socket_t *sock)
{
#define REFUSE_BODY                                                                                          \
	"{\"error\":{\"code\":503,\"type\":\"too_many_connections\",\"message\":\"connection limit "         \
	"reached\"}}\n"
	static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
				   "Retry-After: 1\r\nContent-Type: application/json\r\n"
				   "Content-Length: 90\r\n\r\n" REFUSE_BODY;
	_Static_assert(sizeof(REFUSE_BODY) - 1 == 90, "Content-Length of the 503 body");

	int fd = h2o_socket_get_fd(sock), k;
	char sink[4096];

	if (!w->accept_ctx.ssl_ctx) {
		/* what already arrived is read first: closing over unread bytes sends a reset,
		 * which can overtake the 503 (a request arriving later still can) */
		for (k = 0; k < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; k++)
			;
		if (send(fd, resp, sizeof(resp) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			/* nothing more to do: the client only sees the close */
		}
	}
	atomic_fetch_add_explicit(&api_stats.conns_refused, 1, memory_order_relaxed);
	h2o_socket_close(sock);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	struct api_worker *w = listener->data;
	int i;

	if (err)
		return;
	for (i = 0; i < 16; i++) { /* a few per wake-up, like h2o's own server */
		h2o_socket_t *sock = h2o_evloop_socket_accept(listener);

		if (!sock) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause(w);
			break;
		}
		/* relaxed: a cap, not a synchronisation; other workers' counts may lag a little */
		if (atomic_load_explicit(&api_stats.conns_open, memory_order_relaxed) >= w->max_conns) {
			refuse(w, sock);
			continue;
		}
		w->conns_open++;
		atomic_fetch_add_explicit(&api_stats.conns_open, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&api_stats.conns_total, 1, memory_order_relaxed);
		sock->on_close.cb = on_conn_close;
		sock->on_close.data = w;
		h2o_accept(&w->accept_ctx, sock);
	}
}

static void on_stop(h2o_socket_t *sock, const char *err)
{
	struct api_worker *w = sock->data;
	uint64_t v;

	(void)err;
	/* read it, or the level-triggered eventfd keeps the loop busy (STACK pitfall 3) */
	if (read(w->stop_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	atomic_store_explicit(&w->stopping, 1, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
	struct api_worker *w = arg;
	h2o_evloop_t *loop = h2o_evloop_create();
	char name[16];
	int i;

	snprintf(name, sizeof(name), "ir-rest-%d", w->id);
	pthread_setname_np(pthread_self(), name); /* tests find the REST threads by name */
	/* everything h2o below is made in this thread, for this loop */
	h2o_context_init(&w->ctx, loop, &srv.config);
	h2o_timeout_init(loop, &w->accept_timeout, API_ACCEPT_PAUSE_MS);
	w->accept_resume.cb = on_accept_resume;
	w->accept_ctx.ctx = &w->ctx;
	w->accept_ctx.hosts = srv.config.hosts;
	w->accept_ctx.ssl_ctx = srv.ssl_ctx;
	api_streams_init(w);
	for (i = 0; i < w->n_listen; i++) {
		w->listener[i] = h2o_evloop_socket_create(loop, w->listen_fd[i], H2O_SOCKET_FLAG_DONT_READ);
		w->listen_fd[i] = -1; /* owned by the socket now */
		w->listener[i]->data = w;
		h2o_socket_read_start(w->listener[i], on_accept);
	}
	w->stop_sock = h2o_evloop_socket_create(loop, w->stop_fd, H2O_SOCKET_FLAG_DONT_READ);
	w->stop_sock->data = w;
	h2o_socket_read_start(w->stop_sock, on_stop);

	while (!atomic_load_explicit(&w->stopping, memory_order_relaxed))
		h2o_evloop_run(loop, INT32_MAX); /* -1 on EINTR: just go round */

	if (h2o_timeout_is_linked(&w->accept_resume))
		h2o_timeout_unlink(&w->accept_resume);
	for (i = 0; i < w->n_listen; i++)
		h2o_socket_close(w->listener[i]);
	/*
	 * Let the listeners close. Open connections are not chased (h2o's graceful
	 * shutdown arms timers that would outlive the context); with clients still
	 * connected the context is left to process exit.
	 */
	h2o_evloop_run(loop, 0);
	h2o_socket_close(w->stop_sock);
	h2o_evloop_run(loop, 0);
	api_streams_fini(w);
	api_snap_free(w);
	h2o_timeout_dispose(loop, &w->accept_timeout);
	if (w->conns_open == 0) {
		h2o_context_dispose(&w->ctx);
		h2o_evloop_destroy(loop);
	}
	/* else: clients still connected at exit; the process is going away */
	return NULL;
}

/* ---- TLS -------------------------------------------------------------------------------- */

static SSL_CTX *tls_create(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	unsigned long e;
	int fd;

	/* OpenSSL would block on a FIFO: refuse anything but a regular file first */
	if ((fd = api_open_regular("TLS certificate", cert, err, errlen)) < 0)
		return NULL;
	close(fd);
	if ((fd = api_open_regular("TLS key", key, err, errlen)) < 0)
		return NULL;
	close(fd);
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
	return ctx;
fail:
	e = ERR_get_error();
	snprintf(err, errlen, "TLS (%s, %s): %s", cert, key, e ? ERR_reason_error_string(e) : "failed");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---- start / stop ------------------------------------------------------------------------ */

static int config_init(void)
{
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	h2o_handler_t *h;

	h2o_config_init(&srv.config);
	srv.config_ready = 1;
	srv.config.server_name = h2o_iovec_init(H2O_STRLIT("inforegd/" INFOREG_VERSION));
	srv.config.max_request_entity_size = API_ENTITY_MAX;
	srv.config.http2.max_concurrent_requests_per_connection = API_H2_STREAMS_MAX;
	host = h2o_config_register_host(&srv.config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	path = h2o_config_register_path(host, "/", 0);
	h = h2o_create_handler(path, sizeof(*h));
	if (!host || !path || !h)
		return -ENOMEM;
	h->on_req = api_router_on_req;
	/* the gzip output filter; the router disables it per request but for /metrics */
	h2o_compress_args_t gz = {.min_size = 1024, .gzip = {.quality = 1}, .brotli = {.quality = -1}};
	h2o_compress_register(path, &gz);
	return 0;
}

/* Same address and port (the sockaddr, so "127.0.0.1:80" and "127.0.0.1:080" match). */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return 0;
}

/* Parses every listen address into srv.addr, refusing one given twice. 0 or -EINVAL. */
static int addrs_parse(const struct api_config *cfg, char *err, size_t errlen)
{
	int i, j;

	if (cfg->n_listen < 1 || cfg->n_listen > API_LISTEN_MAX || cfg->workers < 1 ||
	    cfg->workers > WORKERS_MAX) {
		snprintf(err, errlen, "REST: need 1..%d listeners and 1..%d workers", API_LISTEN_MAX,
			 WORKERS_MAX);
		return -EINVAL;
	}
	srv.n_listen = cfg->n_listen;
	for (i = 0; i < cfg->n_listen; i++) {
		if (parse_listen(cfg->listen[i], &srv.addr[i], &srv.addrlen[i]) < 0) {
			snprintf(err, errlen, "REST: bad listen address '%s' (want HOST:PORT or [V6]:PORT)",
				 cfg->listen[i]);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (same_addr(&srv.addr[i], &srv.addr[j])) {
				snprintf(err, errlen, "REST: listen address '%s' given twice (as '%s')",
					 cfg->listen[i], cfg->listen[j]);
				return -EINVAL;
			}
	}
	return 0;
}

/*
 * Binds every address once without SO_REUSEPORT and releases it, so a port someone
 * else holds (even with SO_REUSEPORT, same user) fails here with EADDRINUSE instead
 * of silently sharing the traffic. An address that is not this host's is a
 * configuration error (-EINVAL); the rest are returned as they are.
 */
static int addrs_try_bind(const struct api_config *cfg, char *err, size_t errlen)
{
	int j;

	for (j = 0; j < srv.n_listen; j++) {
		int fd = listen_socket(&srv.addr[j], srv.addrlen[j], 0);

		if (fd < 0) {
			snprintf(err, errlen, "REST: listen %s: %s", cfg->listen[j], strerror(-fd));
			return fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT ? -EINVAL : fd;
		}
		close(fd);
	}
	return 0;
}

int api_preflight(const struct api_config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int rc;

	if (srv.running) {
		snprintf(err, errlen, "REST server already running");
		return -EALREADY;
	}
	memset(&srv, 0, sizeof(srv));
	rc = addrs_parse(cfg, err, errlen);
	if (rc == 0)
		rc = api_auth_load(cfg->token_file, err, errlen);
	api_auth_clear();
	if (rc == 0 && (cfg->tls_cert && cfg->tls_cert[0]) != (cfg->tls_key && cfg->tls_key[0])) {
		snprintf(err, errlen, "REST: TLS needs both a certificate and a key");
		rc = -EINVAL;
	}
	if (rc == 0 && cfg->tls_cert && cfg->tls_cert[0]) {
		ctx = tls_create(cfg->tls_cert, cfg->tls_key, err, errlen);
		if (!ctx)
			rc = -EINVAL;
		SSL_CTX_free(ctx);
	}
	if (rc == 0)
		rc = addrs_try_bind(cfg, err, errlen);
	if (rc < 0 && rc != -EADDRINUSE && rc != -EACCES && rc != -ENOMEM && rc != -EMFILE && rc != -ENFILE)
		rc = -EINVAL; /* a missing or unreadable file, a bad address: the user's to fix */
	memset(&srv, 0, sizeof(srv));
	return rc;
}

/*
 * The connection cap when none is configured: well under the descriptor limit, leaving
 * room for what the daemon itself holds (proc files, eBPF maps, a second object during
 * a reload): a quarter of the limit or 64 descriptors, whichever is more, stays free.
 */
static int64_t max_conns_auto(void)
{
	struct rlimit rl;
	int64_t lim, reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return API_CONNS_AUTO_MAX;
	lim = (int64_t)rl.rlim_cur;
	reserve = lim / 4 > 64 ? lim / 4 : 64;
	if (lim - reserve < 16)
		return 16;
	return lim - reserve < API_CONNS_AUTO_MAX ? lim - reserve : API_CONNS_AUTO_MAX;
}

int api_start(const struct api_config *cfg, char *err, size_t errlen)
{
	struct timespec now;
	int64_t max_conns;
	int i, j, rc;

	if (srv.running) {
		snprintf(err, errlen, "REST server already running");
		return -EALREADY;
	}
	memset(&srv, 0, sizeof(srv));
	memset(&api_stats, 0, sizeof(api_stats));
	clock_gettime(CLOCK_REALTIME, &now);
	api_stats.started_realtime_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	rc = addrs_parse(cfg, err, errlen);
	if (rc < 0)
		return rc;
	max_conns = cfg->max_connections > 0 ? cfg->max_connections : max_conns_auto();
	rc = api_auth_load(cfg->token_file, err, errlen);
	if (rc < 0)
		return rc;
	if ((cfg->tls_cert && cfg->tls_cert[0]) != (cfg->tls_key && cfg->tls_key[0])) {
		snprintf(err, errlen, "REST: TLS needs both a certificate and a key");
		rc = -EINVAL;
		goto fail;
	}
	if (cfg->tls_cert && cfg->tls_cert[0]) {
		srv.ssl_ctx = tls_create(cfg->tls_cert, cfg->tls_key, err, errlen);
		if (!srv.ssl_ctx) {
			rc = -EINVAL;
			goto fail;
		}
	}
	rc = api_routes_register_all();
	if (rc < 0) {
		snprintf(err, errlen, "REST: route table: %s", strerror(-rc));
		goto fail;
	}
	rc = config_init();
	if (rc < 0) {
		snprintf(err, errlen, "REST: h2o configuration: %s", strerror(-rc));
		goto fail;
	}

	/* every worker binds its own SO_REUSEPORT socket below; first make sure the port is ours */
	rc = addrs_try_bind(cfg, err, errlen);
	if (rc < 0)
		goto fail;
	srv.workers = calloc((size_t)cfg->workers, sizeof(*srv.workers));
	if (!srv.workers) {
		rc = -ENOMEM;
		snprintf(err, errlen, "REST: out of memory");
		goto fail;
	}
	srv.n_workers = cfg->workers;
	for (i = 0; i < srv.n_workers; i++) {
		struct api_worker *w = &srv.workers[i];

		w->id = i;
		w->max_conns = max_conns;
		w->stop_fd = -1;
		for (j = 0; j < API_LISTEN_MAX; j++)
			w->listen_fd[j] = -1;
	}
	for (i = 0; i < srv.n_workers; i++) {
		struct api_worker *w = &srv.workers[i];

		w->r = inforeg_open(cfg->shm_name, 0);
		if (!w->r) {
			rc = -errno;
			snprintf(err, errlen, "REST: open registry '%s': %s",
				 cfg->shm_name ? cfg->shm_name : INFOREG_DEFAULT_SHM, strerror(-rc));
			goto fail;
		}
		w->period_ns = inforeg_period_ns(w->r);
		w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->stop_fd < 0) {
			rc = -errno;
			snprintf(err, errlen, "REST: eventfd: %s", strerror(-rc));
			goto fail;
		}
		for (j = 0; j < srv.n_listen; j++) {
			int fd = listen_socket(&srv.addr[j], srv.addrlen[j], 1);

			if (fd < 0) {
				rc = fd;
				snprintf(err, errlen, "REST: listen %s: %s", cfg->listen[j], strerror(-rc));
				goto fail;
			}
			w->listen_fd[j] = fd;
			w->n_listen = j + 1;
		}
	}
	for (i = 0; i < srv.n_workers; i++) {
		struct api_worker *w = &srv.workers[i];

		rc = -pthread_create(&w->thread, NULL, worker_main, w);
		if (rc < 0) {
			snprintf(err, errlen, "REST: thread: %s", strerror(-rc));
			goto fail;
		}
		w->started = 1;
	}
	srv.running = 1;
	return 0;
fail:
	srv.running = 1; /* let api_stop() undo what was done */
	api_stop();
	return rc;
}

void api_stop(void)
{
	int i, j;

	if (!srv.running)
		return;
	for (i = 0; i < srv.n_workers; i++) {
		struct api_worker *w = &srv.workers[i];
		uint64_t one = 1;

		if (w->started && write(w->stop_fd, &one, sizeof(one)) < 0)
			atomic_store_explicit(&w->stopping, 1, memory_order_relaxed);
	}
	for (i = 0; i < srv.n_workers; i++) {
		struct api_worker *w = &srv.workers[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		else if (w->stop_fd >= 0)
			close(w->stop_fd); /* a started worker's socket closed it */
		for (j = 0; j < API_LISTEN_MAX; j++)
			if (w->listen_fd[j] >= 0)
				close(w->listen_fd[j]);
		inforeg_close(w->r);
	}
	free(srv.workers);
	if (srv.config_ready)
		h2o_config_dispose(&srv.config);
	SSL_CTX_free(srv.ssl_ctx);
	api_routes_reset();
	api_auth_clear();
	memset(&srv, 0, sizeof(srv));
}
