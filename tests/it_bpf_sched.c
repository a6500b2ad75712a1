// SPDX-License-Identifier: MIT
/*
 * it_bpf_sched - ebpf.sched's context-switch rate agrees with /proc/stat's ctxt (the
 * same kernel event, so within 5% over a 1 s window), and forcing a thread to hop
 * between two CPUs 200 times shows at least 200 migrations, landing on the CPUs it
 * was sent to.
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
	unsigned long long x0, x1;
	uint64_t t0, t1;
	double rate, proc, mig, mig1;
	struct harness h;
	char name[64];

	h_init(&h, names);
	h_sample(&h);
	x0 = read_ctxt();
	t0 = h_now_ns();
	h_sample(&h);
	h_sleep_ms(1000);
	h_sample(&h);
	t1 = h_now_ns();
	x1 = read_ctxt();
	rate = h_get(&h, "sched.ctxsw_per_s");
	proc = (double)(x1 - x0) / ((double)(t1 - t0) / 1e9);
	printf("context switches: %.0f/s (ebpf) vs %.0f/s (/proc/stat ctxt)\n", rate, proc);
	H_CHECK(fabs(rate - proc) <= 0.05 * proc + 20, "ctxsw %.0f/s vs /proc/stat %.0f/s", rate, proc);

	if (ncpu < 2) {
		printf("one CPU: no migration check\n");
		h_fini(&h);
		return 0;
	}
	h_sample(&h);
	t0 = h_now_ns();
	for (int i = 0; i < 200; i++)
		h_pin(i & 1);
	h_sample(&h);
	t1 = h_now_ns();
	mig = h_get(&h, "sched.migrations_per_s") * ((double)(t1 - t0) / 1e9);
	snprintf(name, sizeof(name), "sched.migrations_per_s{cpu=\"1\"}");
	mig1 = h_get(&h, name) * ((double)(t1 - t0) / 1e9);
	printf("migrations in the hop window: %.0f total, %.0f into CPU 1\n", mig, mig1);
	/* rates are over the collector's own interval, a bit longer than ours: allow 10% */
	H_CHECK(mig >= 0.9 * 200, "%.0f migrations for 200 hops", mig);
	H_CHECK(mig1 >= 0.9 * 100, "%.0f migrations into CPU 1 for 100 hops there", mig1);
	h_fini(&h);
	return 0;
}
