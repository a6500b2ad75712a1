/* SPDX-License-Identifier: MIT */
/*
 * runq.c - "ebpf.runq": run-queue latency, the time a runnable task waits for a
 * CPU: from being queued (woken, newly created, or preempted while still runnable) to
 * the sched_switch that runs it. The start is the kernel's own schedstat stamp
 * (task->sched_info.last_queued, CONFIG_SCHED_INFO), so no wake-up program runs; the
 * wait is exactly what the kernel adds to the task's run_delay (/proc/PID/schedstat),
 * except that a task migrated while waiting counts only its wait on the CPU it ran on.
 *
 * The kernel keeps a log2 histogram per CPU (the CPU the task ran on) in the mmapped
 * per-CPU entries; we sum them, publish the cumulative buckets and count as COUNTER
 * series (the REST layer turns them into a Prometheus histogram), and the p50/p90/p99 of
 * the events of the last period, interpolated inside their log2 bucket (so a
 * percentile is exact to within its bucket, a factor of 2). NaN when the period had no
 * event.
 *
 * Kernel half: kernel/runq.bpf.c, a program in cpu.bpf.c's sched_switch chain that
 * fills the runq[] histograms of the shared per-CPU entries.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ebpf.h"

struct runq_state {
	struct cbpf *b;
	struct cbpf_hist_idx hist;
	int idx_p50, idx_p90, idx_p99;
	int *idx_cpu_p99;
	uint64_t *prev; /* [nonline + 1][IR_HIST_SLOTS]: per CPU, then the total */
	int have_prev;
};

static int runq_init(struct collector *c, struct col_env *env)
{
	struct runq_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	c->priv = s;
	s->b = cbpf_get(c, env->cfg);
	if (!s->b)
		return -errno;
	int e = cbpf_require(c, s->b, CBPF_RUNQ);
	if (e < 0)
		return e;
	s->idx_cpu_p99 = calloc((size_t)s->b->nonline, sizeof(int));
	s->prev = calloc((size_t)(s->b->nonline + 1) * IR_HIST_SLOTS, sizeof(uint64_t));
	if (!s->idx_cpu_p99 || !s->prev)
		return -ENOMEM;
	return 0;
}

static int runq_declare(struct collector *c, struct series_reg *reg)
{
	struct runq_state *s = c->priv;
	const char *h = "Run-queue latency (wake-up or preemption to run), last period";
	int r;

	if ((r = reg_series(reg, "sched.runq_latency.p50", "us", INFOREG_KIND_GAUGE, h)) < 0)
		return r;
	s->idx_p50 = r;
	if ((r = reg_series(reg, "sched.runq_latency.p90", "us", INFOREG_KIND_GAUGE, h)) < 0)
		return r;
	s->idx_p90 = r;
	if ((r = reg_series(reg, "sched.runq_latency.p99", "us", INFOREG_KIND_GAUGE, h)) < 0)
		return r;
	s->idx_p99 = r;
	for (int i = 0; i < s->b->nonline; i++) {
		r = reg_seriesf(reg, "us", INFOREG_KIND_GAUGE, h, "sched.runq_latency.p99{cpu=\"%d\"}",
				s->b->online[i]);
		if (r < 0)
			return r;
		s->idx_cpu_p99[i] = r;
	}
	return cbpf_declare_hist(reg, "sched.runq_latency", "", &s->hist, "Run-queue latency");
}

static int runq_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct runq_state *s = c->priv;
	struct cbpf *b = s->b;
	uint64_t *tot_prev = s->prev + (size_t)b->nonline * IR_HIST_SLOTS;
	uint64_t tot[IR_HIST_SLOTS] = {0}, d[IR_HIST_SLOTS], dtot[IR_HIST_SLOTS], n, ntot = 0;

	(void)now;
	for (int i = 0; i < b->nonline; i++) {
		const struct ir_cpu *e = &b->cpus[b->online[i]];
		uint64_t *prev = s->prev + (size_t)i * IR_HIST_SLOTS;

		n = 0;
		for (int k = 0; k < IR_HIST_SLOTS; k++) {
			uint64_t v = cbpf_load(&e->runq[k]);

			d[k] = v >= prev[k] ? v - prev[k] : 0;
			n += d[k];
			prev[k] = v;
			tot[k] += v;
		}
		cbpf_put_value(values, s->idx_cpu_p99[i],
			       s->have_prev ? cbpf_hist_quantile(d, n, 0.99) : NAN);
	}
	for (int k = 0; k < IR_HIST_SLOTS; k++) {
		dtot[k] = tot[k] >= tot_prev[k] ? tot[k] - tot_prev[k] : 0;
		ntot += dtot[k];
		tot_prev[k] = tot[k];
	}
	if (!s->have_prev)
		ntot = 0; /* first sample: the "period" would be everything since load */
	cbpf_put_value(values, s->idx_p50, cbpf_hist_quantile(dtot, ntot, 0.50));
	cbpf_put_value(values, s->idx_p90, cbpf_hist_quantile(dtot, ntot, 0.90));
	cbpf_put_value(values, s->idx_p99, cbpf_hist_quantile(dtot, ntot, 0.99));
	cbpf_write_hist(&s->hist, tot, values);
	s->have_prev = 1;
	return 0;
}

static void runq_fini(struct collector *c)
{
	struct runq_state *s = c->priv;

	if (!s)
		return;
	cbpf_put(s->b);
	free(s->idx_cpu_p99);
	free(s->prev);
	free(s);
	c->priv = NULL;
}

const struct collector_ops ebpf_runq_ops = {
    .name = "ebpf.runq",
    .init = runq_init,
    .declare = runq_declare,
    .sample = runq_sample,
    .fini = runq_fini,
};
