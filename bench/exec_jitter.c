// SPDX-License-Identifier: MIT
/*
 * exec_jitter - what exec rules cost the tick: inforegd at 10 Hz with no rules, and
 * with 10 exec rules each running a program at 10 Hz (sh -c 'sleep 0.05; echo 1':
 * every program is in flight half its period, so some always are), one arm after the
 * other, alternating, in the same run. Per arm, from the ring's own timestamps: the
 * spread of the interval between consecutive samples around the period (jitter: p50,
 * p99, max of |interval - period|), missed ticks, and from /proc/PID/task/TID/schedstat
 * the main loop's CPU per tick and the process runner thread's (ird-spawn); from the
 * status document once a second, the tick's cost and the rules collector's share.
 *
 * Usage: exec_jitter [INFOREGD [SECONDS_PER_ARM [ROUNDS]]]   (default build/bin/inforegd 10 2)
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "inforeg.h"

#define NRULES	  10
#define PERIOD_MS 100

static char dir[] = "/tmp/exec_jitter.XXXXXX";

struct arm {
	const char *label;
	int rules;
	/* sums over rounds */
	double dev[1 << 16];
	int ndev;
	double main_us, spawn_us, secs;
	/* once a second from the status document: the tick's and the rules collector's cost */
	double tick_us[4096], rules_us[4096];
	int ncost;
	unsigned long long ticks, dropped, runs;
};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* CPU ns of thread TID of PID (schedstat), or of every thread named COMM when TID is 0. */
static unsigned long long thread_ns(pid_t pid, pid_t tid, const char *comm)
{
	char path[300], buf[128];
	unsigned long long sum = 0, v;
	DIR *d;
	struct dirent *e;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (tid && atoi(e->d_name) != tid)
			continue;
		if (comm) {
			snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			int same = fgets(buf, sizeof(buf), f) && !strncmp(buf, comm, strlen(comm));
			fclose(f);
			if (!same)
				continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &v) == 1)
			sum += v;
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

/* Runs of the exec rules so far: each run appends one byte to its rule's file. */
static unsigned long long runs_total(void)
{
	char path[300];
	unsigned long long total = 0;
	for (int i = 0; i < NRULES; i++) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/runs.%d", dir, i);
		if (stat(path, &st) == 0)
			total += (unsigned long long)st.st_size;
	}
	return total;
}

static void run_arm(const char *ird, struct arm *a, int secs, int round)
{
	char shm[64], conf[256], rules[256];
	snprintf(shm, sizeof(shm), "irbench-exec-%d-%d", (int)getpid(), round);
	snprintf(rules, sizeof(rules), "%s/%s", dir, a->rules ? "rules" : "empty");
	snprintf(conf, sizeof(conf), "%s/%s.conf", dir, a->rules ? "rules" : "empty");
	FILE *f = fopen(conf, "w");
	fprintf(f, "rules_dir = %s\n", rules);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(126);
		execl(ird, "inforegd", "--config", conf, "--shm", shm, "--listen", "none", "--period", "100",
		      (char *)NULL);
		_exit(127);
	}
	struct inforeg_reader *r = NULL;
	for (int i = 0; i < 100 && !r; i++) {
		usleep(100000);
		r = inforeg_open(shm, 0);
	}
	if (!r) {
		fprintf(stderr, "inforegd did not start\n");
		kill(pid, SIGKILL);
		exit(1);
	}
	sleep(2); /* start-up: first runs, the re-layout after them */
	inforeg_refresh(r);
	int h = inforeg_lookup(r, "cpu.usage");
	uint64_t since = inforeg_head(r);
	uint64_t d0 = inforeg_dropped(r);
	unsigned long long m0 = thread_ns(pid, pid, NULL), s0 = thread_ns(pid, 0, "ird-spawn");
	unsigned long long r0 = runs_total();
	for (int i = 0; i < secs; i++) {
		static char doc[INFOREG_DOC_MAX];
		sleep(1);
		if (inforeg_doc_read(r, INFOREG_DOC_STATUS, doc, sizeof(doc)) < 0 || a->ncost >= 4096)
			continue;
		json_t *st = json_loads(doc, 0, NULL), *c;
		size_t k;
		json_array_foreach(json_object_get(st, "collectors"), k, c)
		{
			if (!strcmp(json_string_value(json_object_get(c, "name")) ?: "", "rules")) {
				a->tick_us[a->ncost] = json_number_value(json_object_get(st, "tick_cost_us"));
				a->rules_us[a->ncost++] =
				    json_number_value(json_object_get(c, "sample_cost_us"));
			}
		}
		json_decref(st);
	}
	unsigned long long m1 = thread_ns(pid, pid, NULL), s1 = thread_ns(pid, 0, "ird-spawn");
	if (inforeg_refresh(r) & INFOREG_CHANGED_LAYOUT)
		fprintf(stderr, "%s: the layout changed during the measurement\n", a->label);
	static struct inforeg_meta m[1 << 14];
	int n = inforeg_read_history(r, h, since, NULL, m, 1 << 14, NULL);
	for (int i = 1; i < n && a->ndev < (int)(sizeof(a->dev) / sizeof(a->dev[0])); i++) {
		double iv = (double)(m[i].monotonic_ns - m[i - 1].monotonic_ns) / 1e3;
		double dv = iv - PERIOD_MS * 1000.0;
		a->dev[a->ndev++] = dv < 0 ? -dv : dv;
	}
	a->ticks += n > 0 ? (unsigned long long)n : 0;
	a->dropped += inforeg_dropped(r) - d0;
	a->main_us += (double)(m1 - m0) / 1e3;
	a->spawn_us += (double)(s1 - s0) / 1e3;
	a->secs += secs;
	a->runs += runs_total() - r0;
	inforeg_close(r);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static double median(const double *v, int n)
{
	double *d = malloc(sizeof(double) * (size_t)(n ? n : 1));
	memcpy(d, v, sizeof(double) * (size_t)n);
	qsort(d, (size_t)n, sizeof(double), cmp_d);
	double m = n ? d[n / 2] : 0;
	free(d);
	return m;
}

static void report(const struct arm *a)
{
	double *d = malloc(sizeof(double) * (size_t)(a->ndev ? a->ndev : 1));
	memcpy(d, a->dev, sizeof(double) * (size_t)a->ndev);
	qsort(d, (size_t)a->ndev, sizeof(double), cmp_d);
	double p50 = a->ndev ? d[a->ndev / 2] : 0, p99 = a->ndev ? d[(a->ndev * 99) / 100] : 0,
	       mx = a->ndev ? d[a->ndev - 1] : 0;
	printf("  %-28s %5llu ticks  jitter |interval-100ms| p50 %6.1f us  p99 %7.1f us  max %7.1f us"
	       "  dropped %llu  main loop %6.1f us/tick",
	       a->label, a->ticks, p50, p99, mx, a->dropped, a->ticks ? a->main_us / (double)a->ticks : 0);
	if (a->rules)
		printf("  ird-spawn %.1f%% of a core", 100 * a->spawn_us / 1e6 / a->secs);
	printf(
	    "\n  %-28s tick (status document, median of %d) %.1f us, of which the rules collector %.1f us\n",
	    "", a->ncost, median(a->tick_us, a->ncost), median(a->rules_us, a->ncost));
	free(d);
}

int main(int argc, char **argv)
{
	const char *ird = argc > 1 ? argv[1] : "build/bin/inforegd";
	int secs = argc > 2 ? atoi(argv[2]) : 10, rounds = argc > 3 ? atoi(argv[3]) : 2;
	char path[300];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/empty", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/rules", dir);
	mkdir(path, 0755);
	for (int i = 0; i < NRULES; i++) {
		snprintf(path, sizeof(path), "%s/rules/x%d.json", dir, i);
		FILE *f = fopen(path, "w");
		fprintf(
		    f,
		    "{\"name\":\"x%d\",\"kind\":\"exec\",\"shell\":true,\"period_ms\":%d,\"timeout_ms\":1000,"
		    "\"argv\":[\"printf . >> %s/runs.%d; sleep 0.05; echo %d\"]}\n",
		    i, PERIOD_MS, dir, i, i);
		fclose(f);
	}
	static struct arm none = {.label = "no rules", .rules = 0},
			  ten = {.label = "10 exec rules at 10 Hz", .rules = 1};
	printf("inforegd at 10 Hz, %d s per arm, %d rounds, arms alternating, REST off\n", secs, rounds);
	for (int k = 0; k < rounds; k++) {
		run_arm(ird, &none, secs, 2 * k);
		run_arm(ird, &ten, secs, 2 * k + 1);
	}
	report(&none);
	report(&ten);
	printf("  exec runs while measured: %llu in %.0f s, %.1f a second (10 rules at 10 Hz: 100 at most)\n",
	       ten.runs, ten.secs, ten.secs ? (double)ten.runs / ten.secs : 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return 0;
}
