/* SPDX-License-Identifier: MIT */
/*
 * series_scaling - what 100, 1,000 and 10,000 series cost: publish, read (libinforeg
 * latest value of one series and the whole-sample copy, ns) and GET /metrics (the REST
 * server's Prometheus page, connect + request + the whole body, ms), each N against
 * N = 100 in the same run, two ways:
 *
 *  - daemon.*: a real inforegd (10 Hz, --no-ebpf) given N pushed series by push rules
 *    in its rules_dir (250 names a rule), a value pushed for each over the datagram
 *    socket; publish = the tick's whole cost from the status document (tick_cost_us,
 *    once a second: collectors, rules, publishing), beside its built-in series;
 *  - standin.*: this process as the writer, with the daemon's own code (shm/object.c
 *    shm_object_publish, ring_publish + ring_notify at 100 Hz from a thread) and REST
 *    server (api/: api_start, one worker) over exactly N series and nothing else; its
 *    publish figure is ring_publish + ring_notify of the whole sample alone, timed in a
 *    tight loop (ns).
 *
 * usage: series_scaling [BUILD_DIR]   (default $INFOREG_BUILD or build; QUICK=1: 100 and
 * 1,000 series, fewer repetitions)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "object.h"
#include "api.h"
#include "bench.h"

#define B "series_scaling"

static uint64_t clk_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct shm_object obj;
static double *vals;
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER; /* one writer at a time */
static atomic_int stop_writer;
static volatile double sink;

static void publish_once(uint32_t n)
{
	for (uint32_t i = 0; i < n; i += 97)
		vals[i] += 1;
	ring_publish(obj.hdr, vals, clk_ns(CLOCK_REALTIME), clk_ns(CLOCK_MONOTONIC));
	ring_notify(obj.hdr);
}

static void *writer(void *arg)
{
	uint32_t n = (uint32_t)(uintptr_t)arg;

	while (!atomic_load_explicit(&stop_writer, memory_order_relaxed)) {
		pthread_mutex_lock(&wlock);
		publish_once(n);
		pthread_mutex_unlock(&wlock);
		usleep(10000);
	}
	return NULL;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

/* GET PATH over a fresh HTTP/1.1 connection closed by the server; returns body bytes
 * (all bytes after the header) or -1. */
static long http_get(int port, const char *path)
{
	static char buf[1 << 16];
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	long total = 0, hdr = -1;
	char req[256];
	int len = snprintf(req, sizeof(req),
			   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);

	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || write(s, req, (size_t)len) != len) {
		close(s);
		return -1;
	}
	for (;;) {
		ssize_t k = read(s, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (hdr < 0 && total == 0 && k > 12 && memcmp(buf, "HTTP/1.1 200", 12) != 0) {
			close(s);
			return -1;
		}
		if (hdr < 0) {
			char *e = memmem(buf, (size_t)k, "\r\n\r\n", 4);
			if (e)
				hdr = total + (e - buf) + 4;
		}
		total += k;
	}
	close(s);
	return hdr < 0 ? -1 : total - hdr;
}

/* @result series_scaling PREFIX.nN.WHAT UNIT over V[K], against PREFIX.n100.WHAT */
static void result(const char *prefix, uint32_t n, const char *what, const char *unit, double *v, int k)
{
	char m[96], b[96];

	snprintf(m, sizeof(m), "%s.n%u.%s", prefix, n, what);
	snprintf(b, sizeof(b), "%s.n100.%s", prefix, what);
	bench_result(stdout, B, m, unit, v, k, n == 100 ? NULL : b);
}

/* Read and /metrics figures of a registry (reader RD, series H of N, REST on PORT),
 * printed as PREFIX.nN.* against PREFIX.n100.*. Returns 0 or 1. */
static int measure_reads(struct inforeg_reader *rd, int h, uint32_t n, int port, int reps, int gets,
			 const char *prefix)
{
	static double r[2][64];
	double *lat = calloc((size_t)gets, sizeof(double)), *buf = malloc(n * 2 * sizeof(double) + 4096);
	long bytes = 0;
	int rc = 1;

	if (!lat || !buf)
		goto out;
	for (int i = 0; i < reps; i++) {
		long it = 200000;
		uint64_t t0 = clk_ns(CLOCK_MONOTONIC);
		for (long j = 0; j < it; j++) {
			double v;
			inforeg_read_latest(rd, h, &v, NULL);
			sink = v;
		}
		r[0][i] = (double)(clk_ns(CLOCK_MONOTONIC) - t0) / (double)it;
		it = n >= 10000 ? 500 : 5000;
		int cnt = inforeg_series_count(rd);
		t0 = clk_ns(CLOCK_MONOTONIC);
		for (long j = 0; j < it; j++) {
			inforeg_read_sample(rd, buf, (size_t)cnt, NULL);
			sink = buf[0];
		}
		r[1][i] = (double)(clk_ns(CLOCK_MONOTONIC) - t0) / (double)it;
	}
	for (int i = 0; i < gets; i++) {
		uint64_t t0 = clk_ns(CLOCK_MONOTONIC);
		bytes = http_get(port, "/metrics");
		if (bytes < 0) {
			fprintf(stderr, "series_scaling: %s %u series: GET /metrics failed\n", prefix, n);
			goto out;
		}
		lat[i] = (double)(clk_ns(CLOCK_MONOTONIC) - t0) / 1e6;
	}
	printf("%s %6u series (%d in the sample): latest %.1f ns, sample copy %.0f ns, /metrics %ld bytes\n",
	       prefix, n, inforeg_series_count(rd), r[0][0], r[1][0], bytes);
	double p99 = bench_pct(lat, gets, 0.99);
	result(prefix, n, "read_latest", "ns", r[0], reps);
	result(prefix, n, "read_sample", "ns", r[1], reps);
	result(prefix, n, "metrics", "ms", lat, gets);
	result(prefix, n, "metrics_p99", "ms", &p99, 1);
	double kb = (double)bytes / 1024;
	result(prefix, n, "metrics_body", "kB", &kb, 1);
	rc = 0;
out:
	free(lat), free(buf);
	return rc;
}

static struct inforeg_series_desc *descs(uint32_t n)
{
	struct inforeg_series_desc *d = calloc(n, sizeof(*d));

	for (uint32_t i = 0; d && i < n; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "bench.s%05u", i);
		snprintf(d[i].unit, sizeof(d[i].unit), "bytes");
		snprintf(d[i].help, sizeof(d[i].help), "series_scaling stand-in series %u", i);
		d[i].kind = INFOREG_KIND_GAUGE;
	}
	return d;
}

static int standin_n(uint32_t n, int reps, int gets)
{
	char shm[64], name[96];
	struct inforeg_series_desc *d = descs(n);
	int rc = 1, lock;
	pid_t owner;
	uid_t owner_uid;
	pthread_t th;
	static double r[64];

	snprintf(shm, sizeof(shm), "irbench-scale-%d-%u", (int)getpid(), n);
	vals = calloc(n, sizeof(double));
	if (!d || !vals)
		return 1;
	for (uint32_t i = 0; i < n; i++)
		vals[i] = i;
	struct ring_params p = {.series_count = n,
				.capacity = 64,
				.period_ns = 10000000ull,
				.generation = clk_ns(CLOCK_REALTIME) ^ n,
				.writer_pid = (uint32_t)getpid(),
				.start_realtime_ns = clk_ns(CLOCK_REALTIME),
				.start_monotonic_ns = clk_ns(CLOCK_MONOTONIC),
				.layout_serial = 1};
	lock = shm_lock_acquire(shm, &owner, &owner_uid);
	if (lock < 0 || shm_object_publish(shm, &p, d, 0600, (gid_t)-1, &obj) < 0) {
		fprintf(stderr, "series_scaling: cannot create /dev/shm/%s\n", shm);
		return 1;
	}
	publish_once(n);
	atomic_store(&stop_writer, 0);
	pthread_create(&th, NULL, writer, (void *)(uintptr_t)n);

	struct inforeg_reader *rd = inforeg_open(shm, 0);
	snprintf(name, sizeof(name), "bench.s%05u", n - 1);
	int h = rd ? inforeg_lookup(rd, name) : -1;
	int port = free_port();
	char listen[64], err[256];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	struct api_config ac = {.shm_name = shm, .listen = {listen}, .n_listen = 1, .workers = 1};
	if (h < 0 || port < 0 || api_start(&ac, err, sizeof(err)) < 0) {
		fprintf(stderr, "series_scaling: %u series: reader %s, REST server: %s\n", n,
			h < 0 ? "failed" : "ok", port < 0 ? "no port" : err);
		goto out;
	}
	usleep(100000);

	/* publish: batches of K publishes under the writer lock (the 100 Hz thread waits) */
	long k = n >= 10000 ? 200 : 2000;
	for (int i = 0; i < reps; i++) {
		pthread_mutex_lock(&wlock);
		uint64_t t0 = clk_ns(CLOCK_MONOTONIC);
		for (long j = 0; j < k; j++)
			publish_once(n);
		r[i] = (double)(clk_ns(CLOCK_MONOTONIC) - t0) / (double)k;
		pthread_mutex_unlock(&wlock);
		usleep(5000);
	}
	printf("standin %6u series: publish %.0f ns\n", n, r[0]);
	result("standin", n, "publish", "ns", r, reps);
	rc = measure_reads(rd, h, n, port, reps, gets, "standin");
out:
	api_stop();
	atomic_store(&stop_writer, 1);
	pthread_join(th, NULL);
	inforeg_close(rd);
	ring_retire(obj.hdr);
	shm_object_unmap(&obj);
	snprintf(name, sizeof(name), "%s/%s", SHM_DIR, shm);
	unlink(name);
	shm_lock_release(shm, lock);
	free(d), free(vals);
	return rc;
}

/* tick_cost_us of the daemon's status document (0 when not there yet) */
static double tick_cost(struct inforeg_reader *rd)
{
	static char doc[INFOREG_DOC_MAX];
	double v = 0;

	if (inforeg_doc_read(rd, INFOREG_DOC_STATUS, doc, sizeof(doc)) < 0)
		return 0;
	json_t *st = json_loads(doc, 0, NULL);
	if (st)
		v = json_number_value(json_object_get(st, "tick_cost_us"));
	json_decref(st);
	return v;
}

static int daemon_n(const char *build, uint32_t n, int reps, int gets, int costs)
{
	char dir[] = "/tmp/series_scaling.XXXXXX", path[600], shm[64], name[64], ird[512], listen[64];
	int rc = 1, port = free_port();
	pid_t pid = -1;
	struct inforeg_reader *rd = NULL;
	static double cost[64];

	if (!mkdtemp(dir) || port < 0)
		return 1;
	snprintf(shm, sizeof(shm), "irbench-scaled-%d-%u", (int)getpid(), n);
	snprintf(path, sizeof(path), "%s/rules", dir);
	mkdir(path, 0700);
	for (uint32_t first = 0; first < n; first += 250) {
		snprintf(path, sizeof(path), "%s/rules/p%03u.json", dir, first / 250);
		FILE *f = fopen(path, "w");
		if (!f)
			goto out;
		fprintf(f,
			"{\"name\":\"p%03u\",\"kind\":\"push\",\"ttl_ms\":86400000,\"unit\":\"bytes\","
			"\"names\":[",
			first / 250);
		for (uint32_t i = first; i < n && i < first + 250; i++)
			fprintf(f, "%s\"bench.s%05u\"", i > first ? "," : "", i);
		fprintf(f, "]}\n");
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/inforegd.conf", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		goto out;
	fprintf(f, "rules_dir = %s/rules\n", dir);
	fclose(f);
	snprintf(ird, sizeof(ird), "%s/bin/inforegd", build);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		snprintf(name, sizeof(name), "%s/inforegd.log", dir);
		int lg = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(lg, 1), dup2(lg, 2);
		execl(ird, "inforegd", "--shm", shm, "--listen", listen, "--no-ebpf", "--config", path,
		      (char *)NULL);
		_exit(127);
	}
	snprintf(name, sizeof(name), "bench.s%05u", n - 1);
	int h = -1;
	for (int i = 0; i < 300 && h < 0; i++) {
		usleep(100000);
		if (!rd)
			rd = inforeg_open(shm, 0);
		if (rd) {
			inforeg_refresh(rd);
			h = inforeg_lookup(rd, name);
		}
	}
	if (h < 0) {
		fprintf(stderr,
			"series_scaling: inforegd with %u pushed series did not publish them (log "
			"%s/inforegd.log)\n",
			n, dir);
		goto out;
	}
	/* one value for every series, over the datagram socket, 100 lines a datagram */
	struct sockaddr_un su = {.sun_family = AF_UNIX};
	snprintf(su.sun_path, sizeof(su.sun_path), "%s/%s.sock", SHM_DIR, shm);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	static char dg[4096];
	for (uint32_t first = 0; s >= 0 && first < n; first += 100) {
		int len = 0;
		for (uint32_t i = first; i < n && i < first + 100; i++)
			len +=
			    snprintf(dg + len, sizeof(dg) - (size_t)len, "bench.s%05u %u\n", i, i * 1000 + 1);
		if (sendto(s, dg, (size_t)len, 0, (struct sockaddr *)&su, sizeof(su)) < 0) {
			perror("series_scaling: push socket");
			close(s);
			goto out;
		}
	}
	if (s >= 0)
		close(s);
	/* the last series has its value: the sample carries every pushed value */
	for (int i = 0; i < 100; i++) {
		double v = NAN;
		inforeg_read_latest(rd, h, &v, NULL);
		if (!isnan(v))
			break;
		usleep(50000);
	}
	/* the tick's cost, once a second from the status document */
	int nc = 0;
	double last = -1;
	for (int i = 0; i < costs * 12 && nc < costs; i++) {
		double c = tick_cost(rd);
		if (c > 0 && c != last)
			cost[nc++] = last = c;
		usleep(100000);
	}
	if (nc == 0) {
		fprintf(stderr, "series_scaling: no tick_cost_us in the status document\n");
		goto out;
	}
	printf("daemon  %6u pushed series: tick %.0f us\n", n, cost[0]);
	result("daemon", n, "tick_cost", "us", cost, nc);
	rc = measure_reads(rd, h, n, port, reps, gets, "daemon");
out:
	inforeg_close(rd);
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}

int main(int argc, char **argv)
{
	static const uint32_t ns[] = {100, 1000, 10000};
	const char *env = getenv("INFOREG_BUILD");
	const char *build = argc > 1 ? argv[1] : env ? env : "build";
	int quick = bench_quick(), nn = quick ? 2 : 3, reps = quick ? 3 : 9, gets = quick ? 30 : 200;

	printf("series_scaling: a real inforegd with pushed series, and a stand-in writer, %d repetitions, "
	       "%d GET /metrics each\n",
	       reps, gets);
	/* one child per case: the stand-in's REST server is started once per process */
	for (int i = 0; i < 2 * nn; i++) {
		int st;
		pid_t c;

		fflush(stdout);
		c = fork();
		if (c == 0)
			_exit(i < nn ? daemon_n(build, ns[i], reps, gets, quick ? 2 : 5)
				     : standin_n(ns[i - nn], reps, gets));
		if (c < 0 || waitpid(c, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	bench_note(
	    stdout, B,
	    "daemon.*: inforegd (10 Hz, --no-ebpf, REST 1 worker) with N series pushed through push rules "
	    "(rules_dir, 250 names a rule) beside its built-in ones; tick_cost = the status document's "
	    "tick_cost_us (collectors + rules + publish), once a second. standin.*: this process publishes "
	    "exactly N series with the daemon's ring writer at 100 Hz and runs the daemon's REST server over "
	    "them; publish = ring_publish + ring_notify of the whole sample. /metrics: a new HTTP/1.1 "
	    "connection per GET, no gzip; median/min/max over %d GETs, p99 separately",
	    gets);
	return 0;
}
