// SPDX-License-Identifier: MIT
/*
 * it_bpf_sched - ebpf.sched's context-switch rate agrees with /proc/stat's ctxt (the
 * same kernel event, so within 5% over a 1 s window), and forcing a thread to hop
 * between two CPUs 200 times shows at least 200 migrations, landing on the CPUs it
 * was sent to.
 *
 * A rate is per the collector's own interval, which lies between the end of one
 * h_sample() and the start of the next (the shortest it can be) and between the start
 * of one and the end of the next (the longest); ctxt is read outside both samples (the
 * most switches the collector can have seen) and inside them (the fewest). So a late or
 * preempted test widens the bounds instead of breaking the comparison.
 */
#include <sched.h>
#include "it_bpf_harness.h"

static unsigned long long read_ctxt(void)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		H_FAIL("/proc/stat: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "ctxt %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

int main(void)
{
	static const char *const names[] = {"ebpf.sched", NULL};
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long long x0, x1, y0, y1;
	uint64_t a0, a1, b0, b1;
	double rate, lo, hi, mig, mig1;
	struct harness h;
	char name[64];

	h_init(&h, names);
	h_sample(&h);
	x0 = read_ctxt();
	a0 = h_now_ns();
	h_sample(&h);
	a1 = h_now_ns();
	y0 = read_ctxt();
	h_sleep_ms(1000);
	y1 = read_ctxt();
	b0 = h_now_ns();
	h_sample(&h);
	b1 = h_now_ns();
	x1 = read_ctxt();
	rate = h_get(&h, "sched.ctxsw_per_s");
	lo = rate * (double)(b0 - a1) / 1e9; /* switches the collector counted, at least */
	hi = rate * (double)(b1 - a0) / 1e9; /* and at most */
	printf("context switches: ebpf %.0f/s, so %.0f..%.0f in the collector's interval; /proc/stat ctxt "
	       "%llu..%llu\n",
	       rate, lo, hi, y1 - y0, x1 - x0);
	H_CHECK(hi >= 0.95 * (double)(y1 - y0) - 20 && lo <= 1.05 * (double)(x1 - x0) + 20,
		"ctxsw: ebpf %.0f..%.0f vs /proc/stat %llu..%llu", lo, hi, y1 - y0, x1 - x0);

	if (ncpu < 2) {
		printf("one CPU: no migration check\n");
		h_fini(&h);
		return 0;
	}
	a0 = h_now_ns();
	h_sample(&h);
	for (int i = 0; i < 200; i++)
		h_pin(i & 1);
	h_sample(&h);
	b1 = h_now_ns();
	/* the most the collector's interval can be: the hops are all inside it */
	mig = h_get(&h, "sched.migrations_per_s") * ((double)(b1 - a0) / 1e9);
	snprintf(name, sizeof(name), "sched.migrations_per_s{cpu=\"1\"}");
	mig1 = h_get(&h, name) * ((double)(b1 - a0) / 1e9);
	printf("migrations in the hop window: at most %.0f total, %.0f into CPU 1\n", mig, mig1);
	H_CHECK(mig >= 0.9 * 200, "%.0f migrations for 200 hops", mig);
	H_CHECK(mig1 >= 0.9 * 100, "%.0f migrations into CPU 1 for 100 hops there", mig1);
	h_fini(&h);
	return 0;
}
