// SPDX-License-Identifier: MIT
/* it_rules_reader: a libinforeg reader opened before a rule is PUT follows the daemon
 * to the new object and finds the rule's series by name; the derived series is in
 * the same sample as its input (half_mem == mem.available / 2 in every sample read);
 * replacing the formula of the same series keeps the object (no re-open); after
 * DELETE the handle reads -ENOENT. Needs curl for the REST writes. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inforeg.h"
#include "tap.h"

static char SHM[64], IRD[512], TOK[128], LISTEN[64], URL[64];

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(fd, (struct sockaddr *)&a, &l) < 0)
		return -1;
	close(fd);
	return ntohs(a.sin_port);
}

static int http(const char *method, const char *path, const char *body)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "curl -s -o /dev/null -w '%%{http_code}' -X %s -H 'Authorization: Bearer %s' %s%s%s '%s%s'", method,
		 "tok-it-rules-reader", body ? "--data-binary '" : "", body ? body : "", body ? "'" : "", URL, path);
	FILE *p = popen(cmd, "r");
	int code = 0;
	if (p) {
		if (fscanf(p, "%d", &code) != 1)
			code = -1;
		pclose(p);
	}
	return code;
}

int main(void)
{
	const char *b = getenv("INFOREG_BUILD");
	if (system("command -v curl >/dev/null 2>&1") != 0)
		SKIP("curl not installed");
	snprintf(IRD, sizeof(IRD), "%s/bin/inforegd", b ? b : "build");
	snprintf(SHM, sizeof(SHM), "irt-rr-%d", (int)getpid());
	snprintf(TOK, sizeof(TOK), "/tmp/inforeg-%s.token", SHM);
	int port = free_port();
	if (port < 0)
		SKIP("no loopback port");
	snprintf(LISTEN, sizeof(LISTEN), "127.0.0.1:%d", port);
	snprintf(URL, sizeof(URL), "http://127.0.0.1:%d", port);
	FILE *f = fopen(TOK, "w");
	fputs("tok-it-rules-reader\n", f);
	fclose(f);
	pid_t d = fork();
	if (d == 0) {
		execl(IRD, "inforegd", "--shm", SHM, "--listen", LISTEN, "--no-ebpf", "--token-file", TOK, (char *)NULL);
		_exit(127);
	}
	struct inforeg_reader *r = NULL;
	for (int i = 0; i < 100 && !r; i++) {
		usleep(100000);
		r = inforeg_open(SHM, 0);
	}
	CHECK(r != NULL);
	if (!r)
		goto out;
	CHECK(inforeg_wait(r, INFOREG_SEQ_NONE, 5000) == 0);
	CHECK(inforeg_lookup(r, "half_mem") == -ENOENT);
	int code = 0;
	for (int i = 0; i < 50 && code != 201; i++) { /* the REST server may still be starting */
		code = http("PUT", "/v1/rules/half", "{\"kind\":\"derive\",\"lua\":\"return { half_mem = v(\\\"mem.available\\\") / 2 }\"}");
		if (code != 201)
			usleep(100000);
	}
	CHECKF(code == 201, "PUT: %d", code);
	/* the same reader follows the republished object and finds the series by name */
	int h = -ENOENT;
	for (int i = 0; i < 100 && h < 0; i++) {
		inforeg_wait(r, inforeg_head(r), 200);
		usleep(60000);
		inforeg_refresh(r);
		h = inforeg_lookup(r, "half_mem");
	}
	CHECKF(h >= 0, "half_mem never appeared (%d)", h);
	CHECK(inforeg_reopens(r) >= 1);
	int hf = inforeg_lookup(r, "mem.available");
	int checked = 0;
	for (int i = 0; i < 40 && h >= 0 && hf >= 0; i++) {
		double vals[1024];
		struct inforeg_meta m;
		inforeg_wait(r, inforeg_head(r) - 1, 500);
		int n = inforeg_read_sample(r, vals, 1024, &m);
		int ih = inforeg_handle_index(r, h), ic = inforeg_handle_index(r, hf);
		if (n <= 0 || ih < 0 || ic < 0 || ih >= n || ic >= n)
			continue;
		if (isnan(vals[ic]))
			continue; /* mem.available unknown in this sample: half_mem is NaN too */
		CHECKF(vals[ih] == vals[ic] / 2, "seq %llu: half_mem %g, mem.available %g",
		       (unsigned long long)m.seq, vals[ih], vals[ic]);
		checked++;
	}
	CHECKF(checked >= 5, "only %d samples with a known mem.available", checked);
	/* a new formula for the same series keeps the object (and its history): no re-open */
	uint64_t reopens = inforeg_reopens(r);
	code = http("PUT", "/v1/rules/half", "{\"kind\":\"derive\",\"lua\":\"return { half_mem = v(\\\"mem.available\\\") / 4 }\"}");
	CHECKF(code == 200, "PUT (replace): %d", code);
	int quarter = 0;
	for (int i = 0; i < 60 && !quarter && hf >= 0; i++) {
		double vals[1024];
		struct inforeg_meta m;
		inforeg_wait(r, inforeg_head(r) - 1, 500);
		inforeg_refresh(r);
		int n = inforeg_read_sample(r, vals, 1024, &m);
		int ih = inforeg_handle_index(r, h), ic = inforeg_handle_index(r, hf);
		if (n > 0 && ih >= 0 && ic >= 0 && ih < n && ic < n && !isnan(vals[ic]) && vals[ic] != 0)
			quarter = vals[ih] == vals[ic] / 4;
	}
	CHECK(quarter);
	CHECKF(inforeg_reopens(r) == reopens, "the reader re-opened %llu times for a formula change",
	       (unsigned long long)(inforeg_reopens(r) - reopens));
	code = http("DELETE", "/v1/rules/half", NULL);
	CHECKF(code == 200, "DELETE: %d", code);
	double v;
	int e = 0;
	for (int i = 0; i < 100; i++) {
		inforeg_wait(r, inforeg_head(r), 200);
		usleep(60000); /* a retired object with no successor yet is retried every 50 ms */
		inforeg_refresh(r);
		if ((e = inforeg_read_latest(r, h, &v, NULL)) == -ENOENT)
			break;
	}
	CHECKF(e == -ENOENT, "after DELETE the handle reads %d", e);
	inforeg_close(r);
out:
	kill(d, SIGTERM);
	waitpid(d, NULL, 0);
	unlink(TOK);
	TAP_EXIT();
}
