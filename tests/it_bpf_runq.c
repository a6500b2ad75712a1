// SPDX-License-Identifier: MIT
/*
 * it_bpf_runq - ebpf.runq sees run-queue waits. Four CPU-bound threads pinned to each
 * CPU must wait for it in turn, and the kernel's own schedstat of each thread
 * (/proc/self/task/TID/schedstat: run_delay, the waits, and pcount, the runs) says how
 * much, whatever else the machine runs. Over a load window:
 *  - the histogram's count rises by at least the threads' runs (the kernel counts a run
 *    in pcount exactly when it finds the queueing stamp the program reads; the machine's
 *    other tasks only add events), give or take 2%;
 *  - the histogram accounts for the threads' waits: counting every event of the window
 *    at its bucket's upper bound gives at least their run_delay (their waits are among
 *    the events, each at most its bucket's bound);
 *  - the window's p99 is at least 1 ms (the threads wait for three others' slices,
 *    milliseconds, in far more than 1% of the events);
 *  - every CPU's per-period p99 series is finite in some period of the window (each CPU
 *    has its four threads).
 * None of it compares with a quieter window, which on a shared machine need not be
 * quieter. Also checks the histogram's shape: cumulative buckets never decrease and the
 * +Inf bucket equals the count.
 */
#include <pthread.h>
#include "it_bpf_harness.h"

#define PER_CPU 4
#define MAXTHR	64

static volatile int stop;
static pid_t tids[MAXTHR];

static void *burn(void *arg)
{
	volatile unsigned long x = 0;
	long i = (long)arg;

	h_pin((int)(i % sysconf(_SC_NPROCESSORS_ONLN)));
	__atomic_store_n(&tids[i], gettid(), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		x++;
	return NULL;
}

/* Sums run_delay (ns) and pcount of the first N burner threads. */
static void burners_schedstat(int n, double *delay_ns, double *runs)
{
	*delay_ns = *runs = 0;
	for (int i = 0; i < n; i++) {
		unsigned long long exec, delay, cnt;
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tids[i]);
		if (!(f = fopen(path, "re")) || fscanf(f, "%llu %llu %llu", &exec, &delay, &cnt) != 3)
			H_FAIL("%s: %s", path, strerror(errno));
		fclose(f);
		*delay_ns += (double)delay;
		*runs += (double)cnt;
	}
}

/* Cumulative buckets of the last sample, in slot order. */
static void read_buckets(const struct harness *h, double *cum)
{
	char name[80];

	for (int i = 0; i < IR_HIST_SLOTS; i++) {
		if (i == IR_HIST_SLOTS - 1)
			snprintf(name, sizeof(name), "sched.runq_latency.bucket{le=\"+Inf\"}");
		else
			snprintf(name, sizeof(name), "sched.runq_latency.bucket{le=\"%llu\"}", 1ull << i);
		cum[i] = h_get(h, name);
	}
}

/*
 * p99 (us) of the events between two cumulative bucket snapshots; their number, and
 * their sum (us) counting each at its bucket's upper bound (+Inf: its lower bound).
 */
static double window_p99(const double *c0, const double *c1, double *n_out, double *upper_us)
{
	uint64_t d[IR_HIST_SLOTS], n = 0;

	*upper_us = 0;
	for (int i = 0; i < IR_HIST_SLOTS; i++) {
		double prev0 = i ? c0[i - 1] : 0, prev1 = i ? c1[i - 1] : 0;

		d[i] = (uint64_t)((c1[i] - prev1) - (c0[i] - prev0));
		n += d[i];
		*upper_us += (double)d[i] * (double)(1ull << (i < IR_HIST_SLOTS - 1 ? i : i - 1));
	}
	*n_out = (double)n;
	return cbpf_hist_quantile(d, n, 0.99);
}

/*
 * Samples every 100 ms for MS; FINITE[i] counts the periods CPU i's p99 was finite. With
 * NTHR > 0, reads the burners' schedstat into S0 after the first sample and into S1
 * before the last one, so the histogram's window holds theirs.
 */
static void run_window(struct harness *h, int ms, double *c0, double *c1, double *count0, double *count1,
		       int *finite, int nthr, double *s0, double *s1)
{
	char name[64];

	h_sample(h);
	read_buckets(h, c0);
	*count0 = h_get(h, "sched.runq_latency.count");
	if (nthr)
		burners_schedstat(nthr, &s0[0], &s0[1]);
	for (int t = 0; t < ms; t += 100) {
		h_sleep_ms(100);
		if (nthr && t + 100 >= ms)
			burners_schedstat(nthr, &s1[0], &s1[1]);
		h_sample(h);
		for (int cpu = 0; finite && cpu < (int)sysconf(_SC_NPROCESSORS_ONLN); cpu++) {
			snprintf(name, sizeof(name), "sched.runq_latency.p99{cpu=\"%d\"}", cpu);
			if (h_find(h, name) >= 0 && isfinite(h_get(h, name)))
				finite[cpu]++;
		}
	}
	read_buckets(h, c1);
	*count1 = h_get(h, "sched.runq_latency.count");
}

int main(void)
{
	static const char *const names[] = {"ebpf.runq", NULL};
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), nthr = PER_CPU * ncpu, finite[MAXTHR] = {0};
	double c0[IR_HIST_SLOTS], c1[IR_HIST_SLOTS], n0, n1, q_load, w_load, w_idle, up_us, up_idle;
	double s0[2], s1[2];
	pthread_t thr[MAXTHR];
	struct harness h;

	h_init(&h, names);
	h_sample(&h);

	run_window(&h, 500, c0, c1, &n0, &n1, NULL, 0, NULL, NULL);
	window_p99(c0, c1, &w_idle, &up_idle);
	H_CHECK(n1 >= n0, "count went backwards: %.0f -> %.0f", n0, n1);
	for (int i = 1; i < IR_HIST_SLOTS; i++)
		if (c1[i] < c1[i - 1])
			H_FAIL("cumulative bucket %d (%.0f) below bucket %d (%.0f)", i, c1[i], i - 1,
			       c1[i - 1]);
	H_CHECK(c1[IR_HIST_SLOTS - 1] == n1, "+Inf bucket %.0f != count %.0f", c1[IR_HIST_SLOTS - 1], n1);

	if (nthr > MAXTHR)
		nthr = MAXTHR - MAXTHR % ncpu;
	for (long i = 0; i < nthr; i++)
		if (pthread_create(&thr[i], NULL, burn, (void *)i) != 0)
			H_FAIL("pthread_create failed");
	for (int i = 0; i < nthr; i++)
		while (!__atomic_load_n(&tids[i], __ATOMIC_ACQUIRE))
			h_sleep_ms(1);
	h_sleep_ms(200);
	run_window(&h, 1500, c0, c1, &n0, &n1, finite, nthr, s0, s1);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nthr; i++)
		pthread_join(thr[i], NULL);
	q_load = window_p99(c0, c1, &w_load, &up_us);
	printf("%d threads pinned %d per CPU: %.0f events, p99 %.1f us, upper-bound sum %.3f s; the threads: "
	       "%.0f runs, %.3f s waiting\n",
	       nthr, PER_CPU, w_load, q_load, up_us / 1e6, s1[1] - s0[1], (s1[0] - s0[0]) / 1e9);
	for (int cpu = 0; cpu < ncpu; cpu++)
		printf("CPU %d: per-period p99 finite in %d periods\n", cpu, finite[cpu]);

	/* the kernel counts a run (pcount) exactly when it finds the stamp ebpf.runq reads */
	H_CHECK(w_load >= 0.98 * (s1[1] - s0[1]) && s1[1] > s0[1], "%.0f events for the threads' %.0f runs",
		w_load, s1[1] - s0[1]);
	H_CHECK(up_us * 1e3 >= s1[0] - s0[0], "the histogram holds at most %.3f s of waits, the threads waited %.3f s",
		up_us / 1e6, (s1[0] - s0[0]) / 1e9);
	H_CHECK(q_load >= 1000.0, "p99 under load %.1f us: %d threads per CPU should wait ms", q_load, PER_CPU);
	for (int cpu = 0; cpu < ncpu; cpu++)
		H_CHECK(finite[cpu] > 0, "CPU %d's per-period p99 never finite under load", cpu);
	h_fini(&h);
	return 0;
}
