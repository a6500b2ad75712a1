// SPDX-License-Identifier: MIT
/*
 * it_bpf_runq - ebpf.runq sees run-queue waits: with four CPU-bound threads per CPU the
 * histogram's count rises and its p99 (over the window, from the published cumulative
 * buckets, and the per-period p99 series) is higher than in a quieter window before.
 * Also checks the histogram's shape: cumulative buckets never decrease and the +Inf
 * bucket equals the count.
 */
#include <pthread.h>
#include "it_bpf_harness.h"

static volatile int stop;

static void *burn(void *arg)
{
	volatile unsigned long x = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		x++;
	return NULL;
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

/* p99 (us) of the events between two cumulative bucket snapshots. */
static double window_p99(const double *c0, const double *c1, double *n_out)
{
	uint64_t d[IR_HIST_SLOTS], n = 0;

	for (int i = 0; i < IR_HIST_SLOTS; i++) {
		double prev0 = i ? c0[i - 1] : 0, prev1 = i ? c1[i - 1] : 0;

		d[i] = (uint64_t)((c1[i] - prev1) - (c0[i] - prev0));
		n += d[i];
	}
	*n_out = (double)n;
	return cbpf_hist_quantile(d, n, 0.99);
}

/* Samples every 100 ms for MS; returns the largest per-period p99 seen. */
static double run_window(struct harness *h, int ms, double *c0, double *c1, double *count0, double *count1)
{
	double maxp = 0;

	h_sample(h);
	read_buckets(h, c0);
	*count0 = h_get(h, "sched.runq_latency.count");
	for (int t = 0; t < ms; t += 100) {
		double p;

		h_sleep_ms(100);
		h_sample(h);
		p = h_get(h, "sched.runq_latency.p99");
		if (p > maxp)
			maxp = p;
	}
	read_buckets(h, c1);
	*count1 = h_get(h, "sched.runq_latency.count");
	return maxp;
}

int main(void)
{
	static const char *const names[] = {"ebpf.runq", NULL};
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), nthr = 4 * ncpu, finite_cpu = 0;
	double c0[IR_HIST_SLOTS], c1[IR_HIST_SLOTS], n0, n1, q_idle, q_load, w_idle, w_load;
	double idle_max, load_max;
	pthread_t thr[64];
	struct harness h;
	char name[64];

	h_init(&h, names);
	h_sample(&h);

	idle_max = run_window(&h, 1000, c0, c1, &n0, &n1);
	q_idle = window_p99(c0, c1, &w_idle);
	printf("quiet window: %.0f events, p99 %.1f us, max period p99 %.1f us\n", w_idle, q_idle, idle_max);
	H_CHECK(n1 >= n0, "count went backwards: %.0f -> %.0f", n0, n1);
	for (int i = 1; i < IR_HIST_SLOTS; i++)
		if (c1[i] < c1[i - 1])
			H_FAIL("cumulative bucket %d (%.0f) below bucket %d (%.0f)", i, c1[i], i - 1,
			       c1[i - 1]);
	H_CHECK(c1[IR_HIST_SLOTS - 1] == n1, "+Inf bucket %.0f != count %.0f", c1[IR_HIST_SLOTS - 1], n1);

	if (nthr > 64)
		nthr = 64;
	for (int i = 0; i < nthr; i++)
		if (pthread_create(&thr[i], NULL, burn, NULL) != 0)
			H_FAIL("pthread_create failed");
	h_sleep_ms(200);
	load_max = run_window(&h, 1500, c0, c1, &n0, &n1);
	for (int cpu = 0; cpu < ncpu; cpu++) {
		snprintf(name, sizeof(name), "sched.runq_latency.p99{cpu=\"%d\"}", cpu);
		if (h_find(&h, name) >= 0 && isfinite(h_get(&h, name)))
			finite_cpu++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nthr; i++)
		pthread_join(thr[i], NULL);
	q_load = window_p99(c0, c1, &w_load);
	printf("%d runnable threads on %d CPUs: %.0f events, p99 %.1f us, max period p99 %.1f us\n", nthr,
	       ncpu, w_load, q_load, load_max);

	H_CHECK(w_load > 0 && n1 > n0, "no run-queue events under load");
	H_CHECK(q_load > q_idle, "p99 under load %.1f us not above quiet %.1f us", q_load, q_idle);
	H_CHECK(q_load >= 1000.0, "p99 under load %.1f us: 4 threads per CPU should wait ms", q_load);
	H_CHECK(load_max > idle_max, "per-period p99 under load %.1f not above quiet %.1f", load_max,
		idle_max);
	H_CHECK(finite_cpu == ncpu, "per-CPU p99 finite on %d of %d CPUs", finite_cpu, ncpu);
	h_fini(&h);
	return 0;
}
