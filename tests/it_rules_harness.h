/* SPDX-License-Identifier: MIT */
/*
 * it_rules_harness.h - what the rules integration tests share: a private directory
 * with a rules_dir and a configuration, the real inforegd started on a unique shm
 * name and a free loopback port (always stopped), series read through libinforeg with
 * their state, the status document, and REST calls through curl.
 */
#ifndef INFOREG_TESTS_IT_RULES_HARNESS_H
#define INFOREG_TESTS_IT_RULES_HARNESS_H

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "tap.h"

/* each test uses some of these */
#define RH_FN static __attribute__((unused))

/* Runs one step of a test and prints "ok   CALL" or "FAIL CALL". */
#define RH_STEP(call)                                                                     \
	do {                                                                              \
		int before_ = tap_failures;                                               \
		call;                                                                     \
		printf("%s %s\n", tap_failures == before_ ? "ok  " : "FAIL", #call);     \
	} while (0)

static char rh_dir[] = "/tmp/it_rules.XXXXXX";
static char rh_shm[64], rh_ird[512], rh_url[64], rh_token[64];
static pid_t rh_pid;

RH_FN double rh_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

RH_FN void rh_cleanup(void)
{
	char cmd[600];
	if (rh_pid > 0) {
		kill(rh_pid, SIGTERM);
		waitpid(rh_pid, NULL, 0);
		rh_pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s /dev/shm/%s /dev/shm/%s.lock /dev/shm/%s.sock", rh_dir, rh_shm,
		 rh_shm, rh_shm);
	if (rh_dir[0] == '/' && system(cmd) != 0)
		fprintf(stderr, "cleanup failed: %s\n", cmd);
}

RH_FN void rh_on_signal(int sig)
{
	(void)sig;
	rh_cleanup();
	_exit(1);
}

/* The private directory (rules under DIR/rules) and the daemon's name. */
RH_FN int rh_init(const char *test)
{
	/* one line at a time: a log then keeps each step's ok/FAIL beside its CHECK messages */
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *b = getenv("INFOREG_BUILD");
	char path[600];
	snprintf(rh_ird, sizeof(rh_ird), "%s/bin/inforegd", b ? b : "build");
	if (access(rh_ird, X_OK) != 0) {
		printf("SKIP: %s not built\n", rh_ird);
		exit(77);
	}
	if (!mkdtemp(rh_dir))
		return -errno;
	snprintf(rh_shm, sizeof(rh_shm), "irt-%s-%d", test, (int)getpid());
	snprintf(path, sizeof(path), "%s/rules", rh_dir);
	mkdir(path, 0755);
	snprintf(rh_token, sizeof(rh_token), "tok-%d-%ld", (int)getpid(), (long)time(NULL));
	snprintf(path, sizeof(path), "%s/token", rh_dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", rh_token);
	fclose(f);
	atexit(rh_cleanup);
	signal(SIGTERM, rh_on_signal);
	signal(SIGINT, rh_on_signal);
	return 0;
}

/* Writes DIR/NAME (printf-style contents). Returns the path in a static buffer. */
RH_FN const char *rh_file(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
RH_FN const char *rh_file(const char *name, const char *fmt, ...)
{
	static char path[600];
	va_list ap;
	snprintf(path, sizeof(path), "%s/%s", rh_dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	return path;
}

/* DIR/NAME; the last four results stay valid (several in one printf). */
RH_FN const char *rh_path(const char *name)
{
	static char path[4][600];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", rh_dir, name);
	return path[k];
}

RH_FN int rh_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Starts inforegd on the rules in DIR/rules (EXTRA: more configuration lines, or ""),
 * with REST on a free port and the token; waits for its first sample. */
RH_FN struct inforeg_reader *rh_start(const char *extra)
{
	char conf[700], listen[64], token[700], log[700];
	rh_file("inforegd.conf", "rules_dir = %s/rules\n%s", rh_dir, extra);
	snprintf(conf, sizeof(conf), "%s/inforegd.conf", rh_dir);
	snprintf(token, sizeof(token), "%s/token", rh_dir);
	snprintf(log, sizeof(log), "%s/inforegd.log", rh_dir);
	int port = rh_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(rh_url, sizeof(rh_url), "http://127.0.0.1:%d", port);
	rh_pid = fork();
	if (rh_pid == 0) {
		FILE *l = freopen(log, "w", stderr);
		(void)l;
		execl(rh_ird, "inforegd", "--config", conf, "--shm", rh_shm, "--listen", listen, "--token-file",
		      token, "--no-ebpf", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		struct inforeg_reader *r = inforeg_open(rh_shm, 0);
		if (r) {
			if (inforeg_wait(r, INFOREG_SEQ_NONE, 2000) == 0)
				return r;
			inforeg_close(r);
		}
		if (waitpid(rh_pid, NULL, WNOHANG) == rh_pid) {
			rh_pid = 0;
			break;
		}
		usleep(50000);
	}
	fprintf(stderr, "inforegd did not start; its log:\n");
	snprintf(conf, sizeof(conf), "cat %s/inforegd.log >&2", rh_dir);
	if (system(conf) != 0)
		fprintf(stderr, "(no log)\n");
	return NULL;
}

/* Latest value of NAME and its state; -ENOENT while the series does not exist. */
RH_FN int rh_read(struct inforeg_reader *r, const char *name, double *v, enum inforeg_value_state *st,
		   struct inforeg_meta *m)
{
	struct inforeg_meta mm;
	inforeg_refresh(r);
	int h = inforeg_lookup(r, name);
	if (h < 0)
		return h;
	int e = inforeg_read_latest(r, h, v, m ? m : &mm);
	if (e < 0)
		return e;
	*st = inforeg_value_state(*v);
	return 0;
}

/* The loop of rh_wait_state and rh_wait_fresh_min: with AT_LEAST, a FRESH value must be
 * >= WANT rather than equal to it. */
RH_FN int rh_wait_value(struct inforeg_reader *r, const char *name, enum inforeg_value_state st, double want,
			int at_least, double secs)
{
	double end = rh_now() + secs, v = NAN;
	enum inforeg_value_state s = INFOREG_UNKNOWN;
	int e = -ENOENT;
	while (rh_now() < end) {
		e = rh_read(r, name, &v, &s, NULL);
		if (e == 0 && s == st && (st != INFOREG_FRESH || want != want || (at_least ? v >= want : v == want)))
			return 1;
		usleep(20000);
	}
	fprintf(stderr, "%s: wanted %s %s%g, saw %s %g (read %d)\n", name, inforeg_state_name(st),
		at_least ? ">= " : "", want, e == 0 ? inforeg_state_name(s) : "nothing", v, e);
	return 0;
}

/*
 * Waits up to SECS for series NAME to be in state ST (and, for FRESH with WANT not NaN,
 * to equal WANT). Returns 1 when it got there; on timeout prints what it saw.
 */
RH_FN int rh_wait_state(struct inforeg_reader *r, const char *name, enum inforeg_value_state st, double want,
			 double secs)
{
	return rh_wait_value(r, name, st, want, 0, secs);
}

/* Waits up to SECS for NAME to be fresh with a value >= MIN: for a counter that moves
 * faster than a reader on a loaded machine is sure to look (it can skip any one value). */
RH_FN int rh_wait_fresh_min(struct inforeg_reader *r, const char *name, double min, double secs)
{
	return rh_wait_value(r, name, INFOREG_FRESH, min, 1, secs);
}

/* The status document (parsed; the caller decrefs), or NULL. */
RH_FN json_t *rh_status(struct inforeg_reader *r)
{
	static char buf[INFOREG_DOC_MAX];
	if (inforeg_doc_read(r, INFOREG_DOC_STATUS, buf, sizeof(buf)) < 0)
		return NULL;
	return json_loads(buf, 0, NULL);
}

/* The rules[] entry of rule NAME in the status document: its last_error ("" if none). */
RH_FN int rh_rule_error(struct inforeg_reader *r, const char *name, char *out, size_t len)
{
	json_t *st = rh_status(r), *x;
	size_t i;
	int found = 0;
	out[0] = '\0';
	json_array_foreach(json_object_get(json_object_get(st, "rules"), "rules"), i, x)
	{
		if (strcmp(json_string_value(json_object_get(x, "name")) ?: "", name))
			continue;
		found = 1;
		snprintf(out, len, "%s", json_string_value(json_object_get(x, "last_error")) ?: "");
	}
	json_decref(st);
	return found;
}

/* Waits up to SECS for rule NAME's last_error to contain WANT (the status document
 * is refreshed once a second). */
RH_FN int rh_wait_rule_error(struct inforeg_reader *r, const char *name, const char *want, double secs)
{
	char err[512] = "";
	double end = rh_now() + secs;
	while (rh_now() < end) {
		if (rh_rule_error(r, name, err, sizeof(err)) && strstr(err, want))
			return 1;
		usleep(100000);
	}
	fprintf(stderr, "rule %s: last_error \"%s\", wanted \"%s\"\n", name, err, want);
	return 0;
}

/*
 * METHOD PATH with BODY (or NULL) through curl, with the token when AUTH. Returns the
 * HTTP status (0: curl failed); the response body goes into OUT.
 */
RH_FN int rh_http(const char *method, const char *path, const char *body, int auth, char *out, size_t len)
{
	char cmd[2048], bodyfile[700];
	snprintf(bodyfile, sizeof(bodyfile), "%s/body", rh_dir);
	if (body && !rh_file("body", "%s", body))
		return 0;
	snprintf(cmd, sizeof(cmd), "curl -s -m 10 -w '\\n%%{http_code}' -X %s %s%s%s %s%s '%s%s'", method,
		 auth ? "-H 'Authorization: Bearer " : "", auth ? rh_token : "", auth ? "'" : "",
		 body ? "--data-binary @" : "", body ? bodyfile : "", rh_url, path);
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	pclose(p);
	char *nl = strrchr(out, '\n');
	if (!nl)
		return 0;
	int code = atoi(nl + 1);
	*nl = '\0';
	return code;
}

/* 1 if PID is gone or a zombie (killed; nobody may reap it in a container). */
RH_FN int rh_pid_dead(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

RH_FN pid_t rh_read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

#endif
