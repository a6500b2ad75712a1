// SPDX-License-Identifier: MIT
/* it_api_healthz_stall: /healthz answers 200 while the daemon publishes and 503
 * "stalled" when sampling stops while the REST threads still run. The stall is real:
 * the daemon's main (sampling) thread alone is stopped with PTRACE_SEIZE +
 * PTRACE_INTERRUPT, which stops one thread, then released; /healthz returns to 200. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "tap.h"

static char SHM[64], IRD[512], URL[128];

/* A loopback TCP port nobody listens on now (the kernel picks it). */
static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(s, (struct sockaddr *)&a, &l) < 0)
		return -1;
	close(s);
	return ntohs(a.sin_port);
}

/* HTTP status of GET URL/healthz over h2c, and its body in BODY. */
static int healthz(char *body, size_t len)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "curl -s --max-time 5 --http2-prior-knowledge -w ' %%{http_code}' %s/healthz",
		 URL);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = fread(body, 1, len - 1, p);
	body[n] = 0;
	pclose(p);
	char *sp = strrchr(body, ' ');
	if (!sp)
		return -1;
	*sp = 0;
	return atoi(sp + 1);
}

int main(void)
{
	if (geteuid() != 0)
		SKIP("ptrace of the daemon's thread needs root (CAP_SYS_PTRACE)");
	const char *b = getenv("INFOREG_BUILD");
	snprintf(IRD, sizeof(IRD), "%s/bin/inforegd", b ? b : "build");
	snprintf(SHM, sizeof(SHM), "irt-healthz-%d", (int)getpid());
	int port = free_port();
	CHECK(port > 0);
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(URL, sizeof(URL), "http://%s", listen);
	pid_t d = fork();
	if (d == 0) {
		execl(IRD, "inforegd", "--shm", SHM, "--listen", listen, "--period", "50", "--no-ebpf",
		      (char *)NULL);
		_exit(127);
	}
	char body[1024];
	int code = -1;
	for (int i = 0; i < 100 && code != 200; i++) {
		usleep(100000);
		code = healthz(body, sizeof(body));
	}
	CHECKF(code == 200, "healthz while publishing: %d %s", code, body);

	/* stop the sampling thread only (tid == pid: main() runs the loop) */
	CHECK(ptrace(PTRACE_SEIZE, d, 0, 0) == 0);
	CHECK(ptrace(PTRACE_INTERRUPT, d, 0, 0) == 0);
	int st;
	CHECK(waitpid(d, &st, __WALL) == d && WIFSTOPPED(st));
	usleep(600000); /* 12 periods of 50 ms */
	code = healthz(body, sizeof(body));
	printf("stalled: %d %s\n", code, body);
	CHECKF(code == 503 && strstr(body, "\"stalled\""), "healthz with sampling stopped: %d %s", code, body);
	struct inforeg_reader *r = inforeg_open(SHM, 0);
	CHECK(r && inforeg_is_stale(r, 5));
	CHECK(ptrace(PTRACE_DETACH, d, 0, 0) == 0);

	code = -1;
	for (int i = 0; i < 30 && code != 200; i++) {
		usleep(100000);
		code = healthz(body, sizeof(body));
	}
	printf("resumed: %d %s\n", code, body);
	CHECKF(code == 200, "healthz after resuming: %d %s", code, body);
	CHECK(r && !inforeg_is_stale(r, 5));
	/* the ticks missed while stopped are counted, not bunched into late samples */
	CHECKF(r && inforeg_dropped(r) >= 5, "dropped %llu", r ? (unsigned long long)inforeg_dropped(r) : 0ull);
	inforeg_close(r);
	kill(d, SIGTERM);
	waitpid(d, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	TAP_EXIT();
}
