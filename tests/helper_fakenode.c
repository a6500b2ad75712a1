/* SPDX-License-Identifier: MIT */
/*
 * helper_fakenode - stand-in inforegd nodes for the extender's tests and bench: one
 * process, one h2o thread, N listeners on free loopback ports, each one "node". Every
 * node answers POST /v1/score with a recorded body (line i % L of the bodies file for
 * node i) and 404 (inforegd's error document) for anything else, over HTTP/1.1, h2c
 * Upgrade and h2c prior knowledge, like inforegd.
 *
 *   helper_fakenode --count N --nodes-out FILE --bodies FILE [--name-prefix fake-]
 *                   [--delay-ms D] [--score-status CODE]
 *
 * --delay-ms answers each score D ms late (an h2o timer; other requests go on
 * meanwhile), as a node across a network would; --score-status answers it with that
 * HTTP status (the body as recorded), as a node refusing the requirements would.
 * It writes FILE (the extender's --nodes format, "fake-0 http://127.0.0.1:PORT" lines)
 * once every listener is bound, then serves until SIGTERM/SIGINT. Not a test: run.sh
 * does not run helper_* programs.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <h2o.h>

#define NODES_MAX 4096

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;
static char **bodies;
static size_t n_bodies;
static int ports[NODES_MAX], n_nodes;
static volatile sig_atomic_t stop;
static h2o_timeout_t delay;
static int delay_ms, score_status = 200;

/* A score answer waiting for its delay; freed with the request. */
struct late {
	h2o_timeout_entry_t entry;
	h2o_req_t *req;
};

static h2o_generator_t generator = {NULL, NULL};

static void reply(h2o_req_t *req, int status, const char *reason, const char *body)
{
	h2o_iovec_t b = h2o_iovec_init(body, strlen(body));

	req->res.status = status;
	req->res.reason = reason;
	req->res.content_length = b.len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
		       H2O_STRLIT("application/json"));
	h2o_start_response(req, &generator);
	h2o_send(req, &b, 1, H2O_SEND_STATE_FINAL);
}

/* Which node a connection reached: the index of its local port. */
static int node_of(h2o_req_t *req)
{
	struct sockaddr_storage ss;
	socklen_t len = req->conn->callbacks->get_sockname(req->conn, (struct sockaddr *)&ss);
	int port, i;

	if (len == 0 || ss.ss_family != AF_INET)
		return 0;
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	for (i = 0; i < n_nodes; i++)
		if (ports[i] == port)
			return i;
	return 0;
}

static void on_late(h2o_timeout_entry_t *entry)
{
	struct late *l = H2O_STRUCT_FROM_MEMBER(struct late, entry, entry);

	reply(l->req, score_status, "Score", bodies[(size_t)node_of(l->req) % n_bodies]);
}

/* the request went away (client reset) before its delay ended */
static void late_dispose(void *p)
{
	struct late *l = p;

	if (h2o_timeout_is_linked(&l->entry))
		h2o_timeout_unlink(&l->entry);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	(void)self;
	if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")) &&
	    h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/v1/score"))) {
		struct late *l;

		if (!delay_ms) {
			reply(req, score_status, "Score", bodies[(size_t)node_of(req) % n_bodies]);
			return 0;
		}
		l = h2o_mem_alloc_shared(&req->pool, sizeof(*l), late_dispose);
		memset(l, 0, sizeof(*l));
		l->req = req;
		l->entry.cb = on_late;
		h2o_timeout_link(ctx.loop, &delay, &l->entry);
		return 0;
	}
	reply(req, 404, "Not Found",
	      "{\"error\":{\"code\":404,\"type\":\"not_found\",\"message\":\"no such resource\"}}");
	return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	h2o_socket_t *sock;

	if (err)
		return;
	while ((sock = h2o_evloop_socket_accept(listener)))
		h2o_accept(&accept_ctx, sock);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int read_bodies(const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		char **b;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		b = realloc(bodies, (n_bodies + 1) * sizeof(*b));
		if (!b)
			break;
		bodies = b;
		bodies[n_bodies++] = strdup(line);
	}
	free(line);
	fclose(f);
	return n_bodies ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},
	    {"nodes-out", required_argument, NULL, 'o'},
	    {"bodies", required_argument, NULL, 'b'},
	    {"name-prefix", required_argument, NULL, 'p'},
	    {"delay-ms", required_argument, NULL, 'd'},
	    {"score-status", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	const char *out = NULL, *bodies_file = NULL, *prefix = "fake-";
	h2o_hostconf_t *host;
	h2o_evloop_t *loop;
	char tmp[4096];
	FILE *f;
	int c, i;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n_nodes = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'b':
			bodies_file = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'd':
			delay_ms = atoi(optarg);
			break;
		case 's':
			score_status = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (n_nodes < 1 || n_nodes > NODES_MAX || !out || !bodies_file) {
		fprintf(
		    stderr,
		    "usage: helper_fakenode --count N --nodes-out FILE --bodies FILE [--name-prefix P]\n");
		return 2;
	}
	if (read_bodies(bodies_file) < 0) {
		fprintf(stderr, "helper_fakenode: no bodies in %s\n", bodies_file);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	h2o_config_init(&config);
	host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_create_handler(h2o_config_register_path(host, "/", 0), sizeof(h2o_handler_t))->on_req = on_req;
	loop = h2o_evloop_create();
	h2o_context_init(&ctx, loop, &config);
	accept_ctx.ctx = &ctx;
	accept_ctx.hosts = config.hosts;
	h2o_timeout_init(loop, &delay, (uint64_t)(delay_ms > 0 ? delay_ms : 0));

	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	f = fopen(tmp, "we");
	if (!f)
		return 1;
	for (i = 0; i < n_nodes; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
		h2o_socket_t *sock;

		if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
			perror("helper_fakenode: listen");
			return 1;
		}
		ports[i] = ntohs(sa.sin_port);
		sock = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
		h2o_socket_read_start(sock, on_accept);
		fprintf(f, "%s%d http://127.0.0.1:%d\n", prefix, i, ports[i]);
	}
	if (fclose(f) != 0 || rename(tmp, out) != 0)
		return 1;
	while (!stop)
		h2o_evloop_run(loop, 100); /* -1 on EINTR: the signal flag decides */
	return 0;
}
