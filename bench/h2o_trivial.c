// SPDX-License-Identifier: MIT
/*
 * h2o_trivial - the ceiling for bench/api_bench.sh: the smallest useful h2o server,
 * built like inforegd's REST server (one evloop thread, same h2o configuration,
 * SO_REUSEPORT listener, h2c prior knowledge) answering every request with a fixed
 * small JSON body of the size a single-series reply has. No ring, no routing.
 *   usage: h2o_trivial PORT      (stops on SIGTERM/SIGINT)
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <h2o.h>

static const char body[] = "{\"name\":\"cpu.usage\",\"value\":12.5,\"unit\":\"percent\",\"kind\":\"gauge\","
			   "\"ts\":1718000000.123456789,\"seq\":42}\n";
static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;
static volatile sig_atomic_t stop;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	static h2o_generator_t gen = {NULL, NULL};
	h2o_iovec_t b = h2o_iovec_init(body, sizeof(body) - 1);

	(void)self;
	req->res.status = 200;
	req->res.reason = "OK";
	req->res.content_length = b.len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
		       H2O_STRLIT("application/json"));
	h2o_start_response(req, &gen);
	h2o_send(req, &b, 1, H2O_SEND_STATE_FINAL);
	return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	h2o_socket_t *sock;
	int i;

	if (err)
		return;
	for (i = 0; i < 16 && (sock = h2o_evloop_socket_accept(listener)) != NULL; i++)
		h2o_accept(&accept_ctx, sock);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	h2o_handler_t *h;
	h2o_evloop_t *loop;
	h2o_socket_t *ls;
	int fd, one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	h2o_config_init(&config);
	host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	path = h2o_config_register_path(host, "/", 0);
	h = h2o_create_handler(path, sizeof(*h));
	h->on_req = on_req;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		perror("listen");
		return 1;
	}
	loop = h2o_evloop_create();
	h2o_context_init(&ctx, loop, &config);
	accept_ctx.ctx = &ctx;
	accept_ctx.hosts = config.hosts;
	ls = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	h2o_socket_read_start(ls, on_accept);
	fprintf(stderr, "h2o_trivial listening on 127.0.0.1:%s\n", argv[1]);
	while (!stop)
		h2o_evloop_run(loop, 100); /* -1 on EINTR: the flag decides */
	return 0;
}
