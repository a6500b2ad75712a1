/* SPDX-License-Identifier: MIT */
/*
 * extender_bench - scheduling decisions per second and their latency (p50, p99) through
 * inforeg-extender, for 10 and 100 nodes, beside two baselines measured in the same run
 * against the same nodes:
 *   - "fan-out alone": the extender's own fetch code in this process, asking every node
 *     at once over kept HTTP/2 connections (what a decision costs without the extender's
 *     HTTP hop and JSON work: the floor);
 *   - "one by one": the same nodes asked one after the other (what an extender that
 *     does not fan out would cost).
 * The nodes are stand-ins (tests/helper_fakenode: one process, one h2o thread, a port
 * per node) answering POST /v1/score with recorded bodies, so the figure is the
 * extender's, not inforegd's. The client posts ExtenderArgs with NodeNames to /filter
 * over HTTP/1.1 with keep-alive, one decision at a time, as kube-scheduler does.
 *
 * Besides rate and latency it gives the CPU each decision costs the process that
 * decides (the extender; this process for the baselines), which this shared 2-core VM
 * disturbs far less than wall-clock figures.
 *
 *   extender_bench [--build DIR] [--nodes 10,100] [--decisions K] [--deadline-ms MS]
 *                  [--node-delay-ms D]   (stand-ins answer D ms late, like a network)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "extender.h"

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double per_s, p50, p99, cpu_us; /* cpu_us: CPU per decision of the deciding process */
};

/* CPU seconds (user + system) of PID, 0 = this process. */
static double cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	struct rusage ru;
	FILE *f;

	if (pid == 0) {
		getrusage(RUSAGE_SELF, &ru);
		return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return NAN;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL; /* fields after the command name */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return NAN;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* LAT (K latencies, ms) and the wall time they took -> rate and percentiles. */
static struct stats summarize(double *lat, size_t k, double wall_ms)
{
	struct stats s;

	qsort(lat, k, sizeof(*lat), cmp_double);
	s.per_s = (double)k / (wall_ms / 1e3);
	s.p50 = lat[k / 2];
	s.p99 = lat[(size_t)((double)k * 0.99) < k ? (size_t)((double)k * 0.99) : k - 1];
	return s;
}

static pid_t spawn(char *const argv[], const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc ? -1 : pid;
}

static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static const char pod_head[] =
    "{\"Pod\":{\"metadata\":{\"name\":\"llm-0\",\"namespace\":\"inference\"},\"spec\":{\"containers\":["
    "{\"name\":\"server\",\"resources\":{\"requests\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}}},"
    "{\"name\":\"sidecar\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"512Mi\"}}}]}},"
    "\"Nodes\":null,\"NodeNames\":[";

struct buf {
	char *p;
	size_t len, cap;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *q;

		while (cap < b->len + n + 1)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q)
			return 0;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* ---- one node count ---------------------------------------------------------------- */

static int run(const char *build, int n, size_t k, int deadline_ms, int node_delay_ms)
{
	char dir[] = "/tmp/extender_bench.XXXXXX", bodies[600], nodes[600], log1[600], log2[600];
	char helper[600], ext[600], count[16], listen[64], url[128], dl[16], nd[16];
	double c0 = 0;
	pid_t fake = -1, extd = -1;
	struct ext_nodemap *map = NULL;
	struct ext_fetcher *f = NULL;
	struct ext_result *res = NULL;
	const char **urls = NULL;
	char(*ubuf)[256] = NULL;
	double *lat = NULL, t0 = 0;
	struct stats s_ext, s_fan, s_one;
	struct ext_req req;
	struct buf body = {0}, answer = {0};
	CURL *c = NULL;
	FILE *f_out;
	size_t i, bad = 0, warm = k / 10 + 10;
	int port, rc = 1, keep_logs = 0;

	if (!mkdtemp(dir))
		return 1;
	snprintf(bodies, sizeof(bodies), "%s/bodies", dir);
	snprintf(nodes, sizeof(nodes), "%s/nodes", dir);
	snprintf(log1, sizeof(log1), "%s/fake.log", dir);
	snprintf(log2, sizeof(log2), "%s/extender.log", dir);
	snprintf(helper, sizeof(helper), "%s/tests/helper_fakenode", build);
	snprintf(ext, sizeof(ext), "%s/bin/inforeg-extender", build);
	if (access(helper, X_OK) || access(ext, X_OK)) {
		fprintf(stderr, "extender_bench: need %s and %s (make all tests)\n", helper, ext);
		return 77;
	}
	/* recorded /v1/score answers, ten different nodes' worth */
	f_out = fopen(bodies, "w");
	for (i = 0; f_out && i < 10; i++) {
		double free_cpu = 0.4 * (double)i, perf = free_cpu >= 2.5 ? 1 : free_cpu / 2.5;

		fprintf(
		    f_out,
		    "{\"seq\":%zu,\"rule\":\"default\",\"scores\":[{\"score\":%.4f,\"resources\":{\"cpu\":{"
		    "\"free\":%.2f,"
		    "\"req\":2.5,\"perf\":%.4f},\"mem\":{\"free\":%.0f,\"req\":4831838208,\"perf\":1}}}]}\n",
		    1000 + i, perf, free_cpu, perf, 2e10 + 1e9 * (double)i);
	}
	if (!f_out || fclose(f_out))
		goto out;
	snprintf(count, sizeof(count), "%d", n);
	snprintf(nd, sizeof(nd), "%d", node_delay_ms);
	{
		char *argv[] = {helper,	       "--count", count,	"--bodies", bodies,
				"--nodes-out", nodes,	  "--delay-ms", nd,	    NULL};

		fake = spawn(argv, log1);
	}
	for (i = 0; i < 200 && access(nodes, R_OK); i++)
		usleep(20000);
	if (access(nodes, R_OK)) {
		fprintf(stderr, "extender_bench: the stand-in nodes did not start (log %s)\n", log1);
		keep_logs = 1;
		goto out;
	}
	port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(dl, sizeof(dl), "%d", deadline_ms);
	{
		char *argv[] = {ext,	   "--listen",	    listen, "--nodes", nodes,
				"--quiet", "--deadline-ms", dl,	    NULL};

		extd = spawn(argv, log2);
	}
	snprintf(url, sizeof(url), "http://%s/filter", listen);

	/* the request: the recorded pod (2.5 cores, 4.5 GiB) and every node by name */
	on_body((char *)pod_head, 1, strlen(pod_head), &body);
	for (i = 0; i < (size_t)n; i++) {
		char nm[32];
		int l = snprintf(nm, sizeof(nm), "%s\"fake-%zu\"", i ? "," : "", i);

		on_body(nm, 1, (size_t)l, &body);
	}
	on_body("]}", 1, 2, &body);

	c = curl_easy_init();
	lat = calloc(k, sizeof(*lat));
	if (!c || !lat || !body.p)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.p);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body.len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	{
		struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");

		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h); /* lives until exit */
	}
	for (i = 0; i < 250; i++) { /* up? */
		answer.len = 0;
		if (curl_easy_perform(c) == CURLE_OK)
			break;
		usleep(20000);
	}
	if (i == 250) {
		fprintf(stderr, "extender_bench: the extender did not answer (log %s)\n", log2);
		keep_logs = 1;
		goto out;
	}
	for (i = 0; i < warm + k; i++) {
		double t = now_ms();
		long code = 0;

		if (i == warm) {
			t0 = t;
			c0 = cpu_s(extd);
		}
		answer.len = 0;
		if (curl_easy_perform(c) != CURLE_OK ||
		    (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code), code != 200) ||
		    strstr(answer.p, "no fresh data"))
			bad++;
		if (i >= warm)
			lat[i - warm] = now_ms() - t;
	}
	s_ext = summarize(lat, k, now_ms() - t0);
	s_ext.cpu_us = (cpu_s(extd) - c0) * 1e6 / (double)k;

	/* baselines: the same nodes, from this process, through the same fetch code */
	{
		char err[256];
		struct ext_fetch_opts fo = {.deadline_ms = deadline_ms};

		map = ext_nodemap_load(nodes, NULL, err, sizeof(err));
		f = ext_fetcher_new(&fo);
		res = calloc((size_t)n, sizeof(*res));
		urls = calloc((size_t)n, sizeof(*urls));
		ubuf = calloc((size_t)n, sizeof(*ubuf));
		if (!map || !f || !res || !urls || !ubuf)
			goto out;
		memset(&req, 0, sizeof(req));
		req.want[EXT_CPU] = 2.5;
		req.want[EXT_MEM] = 4831838208.0;
		for (i = 0; i < (size_t)n; i++) {
			char nm[32];

			snprintf(nm, sizeof(nm), "fake-%zu", i);
			if (ext_nodemap_url(map, nm, NULL, ubuf[i], sizeof(ubuf[i])) < 0)
				goto out;
			urls[i] = ubuf[i];
		}
	}
	for (i = 0; i < warm + k; i++) {
		double t = now_ms();
		size_t j;

		if (i == warm) {
			t0 = t;
			c0 = cpu_s(0);
		}
		ext_fetch_scores(f, &req, urls, (size_t)n, res);
		for (j = 0; j < (size_t)n; j++)
			bad += res[j].state != EXT_OK;
		if (i >= warm)
			lat[i - warm] = now_ms() - t;
	}
	s_fan = summarize(lat, k, now_ms() - t0);
	s_fan.cpu_us = (cpu_s(0) - c0) * 1e6 / (double)k;
	for (i = 0; i < warm + k / 4; i++) {
		double t = now_ms();
		size_t j;

		if (i == warm) {
			t0 = t;
			c0 = cpu_s(0);
		}
		for (j = 0; j < (size_t)n; j++) {
			ext_fetch_scores(f, &req, &urls[j], 1, &res[j]);
			bad += res[j].state != EXT_OK;
		}
		if (i >= warm)
			lat[i - warm] = now_ms() - t;
	}
	s_one = summarize(lat, k / 4, now_ms() - t0);
	s_one.cpu_us = (cpu_s(0) - c0) * 1e6 / (double)(k / 4);

	printf("%5d  %-44s %9.0f %9.3f %9.3f %9.0f\n", n, "extender POST /filter (HTTP/1.1 keep-alive)",
	       s_ext.per_s, s_ext.p50, s_ext.p99, s_ext.cpu_us);
	printf("%5d  %-44s %9.0f %9.3f %9.3f %9.0f\n", n, "baseline: fan-out alone, in-process (floor)",
	       s_fan.per_s, s_fan.p50, s_fan.p99, s_fan.cpu_us);
	printf("%5d  %-44s %9.0f %9.3f %9.3f %9.0f\n", n, "baseline: nodes asked one by one", s_one.per_s,
	       s_one.p50, s_one.p99, s_one.cpu_us);
	if (bad)
		printf("       WARNING: %zu node answers missing or failed (deadline %d ms): figures not "
		       "valid\n",
		       bad, deadline_ms);
	rc = bad ? 1 : 0;
out:
	if (c)
		curl_easy_cleanup(c);
	ext_fetcher_free(f);
	ext_nodemap_free(map);
	free(res);
	free(urls);
	free(ubuf);
	free(lat);
	free(body.p);
	free(answer.p);
	reap(extd);
	reap(fake);
	unlink(bodies);
	unlink(nodes);
	if (!keep_logs) {
		unlink(log1);
		unlink(log2);
		rmdir(dir);
	}
	return rc;
}

static const char *loadavg(void)
{
	static char buf[128] = "?\n";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "?\n");
		fclose(f);
	}
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"build", required_argument, NULL, 'b'},	     {"nodes", required_argument, NULL, 'n'},
	    {"decisions", required_argument, NULL, 'k'},     {"deadline-ms", required_argument, NULL, 'd'},
	    {"node-delay-ms", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0},
	};
	char build[512], *list = NULL, *save = NULL, *tok;
	long k = 0;
	int c, deadline = 1000, node_delay = 0, rc = 0;

	snprintf(build, sizeof(build), "%s", argv[0]);
	if (strrchr(build, '/'))
		*strrchr(build, '/') = '\0';
	else
		snprintf(build, sizeof(build), ".");
	strncat(build, "/..", sizeof(build) - strlen(build) - 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			snprintf(build, sizeof(build), "%s", optarg);
			break;
		case 'n':
			list = optarg;
			break;
		case 'k':
			k = atol(optarg);
			break;
		case 'd':
			deadline = atoi(optarg);
			break;
		case 'l':
			node_delay = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	list = strdup(list ? list : "10,100");
	printf("# inforeg-extender: decisions through the extender vs the fan-out alone, same run\n");
	printf("# stand-in nodes answer %d ms late; load average %s", node_delay, loadavg());
	printf("%5s  %-44s %9s %9s %9s %9s\n", "nodes", "what", "per s", "p50 ms", "p99 ms", "CPU us");
	fflush(stdout);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int n = atoi(tok);
		size_t kk = k > 0 ? (size_t)k : (size_t)(n <= 10 ? 2000 : 400);
		int r;

		if (n < 1 || n > 4096)
			continue;
		r = run(build, n, kk, deadline, node_delay);
		if (r == 77)
			return 77;
		rc |= r;
	}
	free(list);
	return rc;
}
