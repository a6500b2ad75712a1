/* SPDX-License-Identifier: MIT */
/*
 * series_scaling - what 100, 1,000 and 10,000 series cost: publish (one ring_publish +
 * ring_notify of the whole sample, ns), read (libinforeg latest value of one series and
 * the whole-sample copy, ns) and GET /metrics (the REST server's Prometheus page,
 * connect + request + the whole body, ms), each N against N = 100 in the same run.
 *
 * A stand-in for series that inforegd would publish: the daemon has no way yet to be
 * given thousands of series on main (watches stop at 64; the rules engine's derived and
 * pushed series are on their own branch), so this process is the writer. It creates
 * the registry with the daemon's own code (shm/object.c: shm_object_publish, the ring
 * writer ring_publish/ring_notify), publishes N gauge series "bench.sNNNNN" at 100 Hz
 * from a thread, and runs the daemon's REST server (api/: api_start, one worker) over
 * it, so every figure is the daemon's code path minus the collectors. The publish cost
 * is timed in a tight loop on the same object (between two 100 Hz publishes readers
 * see a fresh sample either way).
 *
 * usage: series_scaling   (QUICK=1: 100 and 1,000 series, fewer repetitions)
 */
#include <arpa/inet.h>
#include <errno.h>
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

	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(s, (struct sockaddr *)&a, &l) == 0)
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
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	long total = 0, hdr = -1;
	char req[256];
	int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);

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

static int run_n(uint32_t n, int reps, int gets, const char *base)
{
	char shm[64], name[96], metric[96], bname[96];
	struct inforeg_series_desc *d = calloc(n, sizeof(*d));
	int rc = 1, lock;
	pid_t owner;
	pthread_t th;
	static double r[3][64];
	double *lat = calloc((size_t)gets, sizeof(double));

	snprintf(shm, sizeof(shm), "irbench-scale-%d-%u", (int)getpid(), n);
	vals = calloc(n, sizeof(double));
	if (!d || !vals || !lat)
		return 1;
	for (uint32_t i = 0; i < n; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "bench.s%05u", i);
		snprintf(d[i].unit, sizeof(d[i].unit), "bytes");
		snprintf(d[i].help, sizeof(d[i].help), "series_scaling stand-in series %u", i);
		d[i].kind = INFOREG_KIND_GAUGE;
		vals[i] = i;
	}
	struct ring_params p = {.series_count = n, .capacity = 64, .period_ns = 10000000ull,
				.generation = clk_ns(CLOCK_REALTIME) ^ n, .writer_pid = (uint32_t)getpid(),
				.start_realtime_ns = clk_ns(CLOCK_REALTIME), .start_monotonic_ns = clk_ns(CLOCK_MONOTONIC),
				.layout_serial = 1};
	lock = shm_lock_acquire(shm, &owner);
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
		fprintf(stderr, "series_scaling: %u series: reader %s, REST server: %s\n", n, h < 0 ? "failed" : "ok",
			port < 0 ? "no port" : err);
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
		r[0][i] = (double)(clk_ns(CLOCK_MONOTONIC) - t0) / (double)k;
		pthread_mutex_unlock(&wlock);
		usleep(5000);
	}
	/* read: one series' latest value; the whole sample */
	for (int i = 0; i < reps; i++) {
		long it = 200000;
		uint64_t t0 = clk_ns(CLOCK_MONOTONIC);
		for (long j = 0; j < it; j++) {
			double v;
			inforeg_read_latest(rd, h, &v, NULL);
			sink = v;
		}
		r[1][i] = (double)(clk_ns(CLOCK_MONOTONIC) - t0) / (double)it;
		it = n >= 10000 ? 500 : 5000;
		double *buf = malloc(n * sizeof(double));
		t0 = clk_ns(CLOCK_MONOTONIC);
		for (long j = 0; j < it; j++) {
			inforeg_read_sample(rd, buf, n, NULL);
			sink = buf[n - 1];
		}
		r[2][i] = (double)(clk_ns(CLOCK_MONOTONIC) - t0) / (double)it;
		free(buf);
	}
	/* GET /metrics */
	long bytes = 0;
	for (int i = 0; i < gets; i++) {
		uint64_t t0 = clk_ns(CLOCK_MONOTONIC);
		bytes = http_get(port, "/metrics");
		if (bytes < 0) {
			fprintf(stderr, "series_scaling: %u series: GET /metrics failed\n", n);
			goto out;
		}
		lat[i] = (double)(clk_ns(CLOCK_MONOTONIC) - t0) / 1e6;
	}
	printf("%6u series: publish %.0f ns, latest %.1f ns, sample copy %.0f ns, /metrics %ld bytes\n", n, r[0][0],
	       r[1][0], r[2][0], bytes);
	snprintf(metric, sizeof(metric), "n%u.publish", n);
	snprintf(bname, sizeof(bname), "%s.publish", base);
	bench_result(stdout, B, metric, "ns", r[0], reps, n == 100 ? NULL : bname);
	snprintf(metric, sizeof(metric), "n%u.read_latest", n);
	snprintf(bname, sizeof(bname), "%s.read_latest", base);
	bench_result(stdout, B, metric, "ns", r[1], reps, n == 100 ? NULL : bname);
	snprintf(metric, sizeof(metric), "n%u.read_sample", n);
	snprintf(bname, sizeof(bname), "%s.read_sample", base);
	bench_result(stdout, B, metric, "ns", r[2], reps, n == 100 ? NULL : bname);
	double p99 = bench_pct(lat, gets, 0.99);
	snprintf(metric, sizeof(metric), "n%u.metrics", n);
	snprintf(bname, sizeof(bname), "%s.metrics", base);
	bench_result(stdout, B, metric, "ms", lat, gets, n == 100 ? NULL : bname);
	snprintf(metric, sizeof(metric), "n%u.metrics_p99", n);
	snprintf(bname, sizeof(bname), "%s.metrics_p99", base);
	bench_result1(stdout, B, metric, "ms", p99, n == 100 ? NULL : bname);
	snprintf(metric, sizeof(metric), "n%u.metrics_body", n);
	snprintf(bname, sizeof(bname), "%s.metrics_body", base);
	bench_result1(stdout, B, metric, "kB", (double)bytes / 1024, n == 100 ? NULL : bname);
	rc = 0;
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
	free(d), free(vals), free(lat);
	return rc;
}

int main(void)
{
	static const uint32_t ns[] = {100, 1000, 10000};
	int quick = bench_quick(), nn = quick ? 2 : 3, reps = quick ? 3 : 9, gets = quick ? 30 : 200;

	printf("series_scaling: stand-in writer (this process, the daemon's ring and REST code), %d repetitions, "
	       "%d GET /metrics each\n",
	       reps, gets);
	/* one child per N: the REST server is started once per process */
	for (int i = 0; i < nn; i++) {
		int st;
		pid_t c;

		fflush(stdout);
		c = fork();
		if (c == 0)
			_exit(run_n(ns[i], reps, gets, "n100"));
		if (c < 0 || waitpid(c, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	bench_note(stdout, B,
		   "stand-in: this process publishes N gauge series with the daemon's ring writer (100 Hz) and runs "
		   "the daemon's REST server over them (1 worker); no collectors. /metrics: a new HTTP/1.1 "
		   "connection per GET, no gzip; median/min/max over %d GETs, p99 separately. publish = "
		   "ring_publish + ring_notify of the whole sample",
		   gets);
	return 0;
}
