/* SPDX-License-Identifier: MIT */
/*
 * cpu.c - "ebpf.cpu": exact CPU busy time from sched_switch.
 *
 * /proc/stat samples CPU time at the scheduler tick (CONFIG_HZ), so over 10-100 ms it
 * is quantised to a few ticks. Here every switch closes an interval measured with
 * bpf_ktime_get_ns(), and the interval still open at read time (a CPU running one busy
 * thread may not switch for seconds) is added by us: if the CPU's current task is not
 * the idle task, it has been busy since last_switch_ns, on the same CLOCK_MONOTONIC.
 *
 * Series: cpu.usage.exact (percent of all online CPUs, 0-100) and
 * cpu.usage.exact{cpu="N"} (percent of that CPU). NaN until a CPU has switched once
 * since load (before that its state is unknown) and at the first sample.
 * cpu.usage.exact.unreported_switches counts the switches that sched_switch did not
 * report, found by the next switch or repaired by the cpu_idle program (see
 * ir_cpu_idle): a kernel that drops them would otherwise show idle CPUs busy.
 * A CPU whose entry cannot be read consistently (cbpf_read_open gives up) reads NaN,
 * and so does the total, with the error in the collector's status.
 *
 * Kernel half: kernel/cpu.bpf.c, which is also the switch core the other scheduler
 * collectors ride on (see daemon/ebpf/loader.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ebpf.h"

struct cpu_state {
	struct cbpf *b;
	int idx_total, idx_unreported;
	int *idx_cpu;	     /* per online CPU (index into b->online) */
	uint64_t *prev_busy; /* busy ns at the previous sample, per online CPU */
	uint8_t *prev_ok;
	uint64_t prev_ns;
};

static int cpu_init(struct collector *c, struct col_env *env)
{
	struct cpu_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	c->priv = s;
	s->b = cbpf_get(c, env->cfg);
	if (!s->b)
		return -errno;
	int e = cbpf_require(c, s->b, CBPF_CPU);
	if (e < 0)
		return e;
	s->idx_cpu = calloc((size_t)s->b->nonline, sizeof(*s->idx_cpu));
	s->prev_busy = calloc((size_t)s->b->nonline, sizeof(*s->prev_busy));
	s->prev_ok = calloc((size_t)s->b->nonline, 1);
	if (!s->idx_cpu || !s->prev_busy || !s->prev_ok)
		return -ENOMEM;
	return 0;
}

static int cpu_declare(struct collector *c, struct series_reg *reg)
{
	struct cpu_state *s = c->priv;
	int r;

	r = reg_series(reg, "cpu.usage.exact", "percent", INFOREG_KIND_GAUGE,
		       "Non-idle time of all online CPUs from sched_switch, ns-exact");
	if (r < 0)
		return r;
	s->idx_total = r;
	r = reg_series(reg, "cpu.usage.exact.unreported_switches", "count", INFOREG_KIND_COUNTER,
		       "Context switches the kernel did not report to sched_switch, since load");
	if (r < 0)
		return r;
	s->idx_unreported = r;
	for (int i = 0; i < s->b->nonline; i++) {
		r = reg_seriesf(reg, "percent", INFOREG_KIND_GAUGE,
				"Non-idle time of this CPU from sched_switch, ns-exact",
				"cpu.usage.exact{cpu=\"%d\"}", s->b->online[i]);
		if (r < 0)
			return r;
		s->idx_cpu[i] = r;
	}
	return 0;
}

static int cpu_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct cpu_state *s = c->priv;
	struct cbpf *b = s->b;
	struct cbpf_open o[b->nonline];
	int rc[b->nonline];
	uint64_t t, sum = 0, unreported = 0;
	int nsum = 0, err = 0;
	double dt;

	/* now->mono_ns only names the tick; the interval is our own clock read after the maps' */
	cbpf_repair(b, now->mono_ns);
	for (int i = 0; i < b->nonline; i++)
		rc[i] = cbpf_read_open(&b->cpus[b->online[i]], &o[i]);
	/* after the reads: t >= every last_switch_ns seen (both CLOCK_MONOTONIC) */
	t = cbpf_now_ns();
	dt = s->prev_ns ? (double)(t - s->prev_ns) : 0;

	for (int i = 0; i < b->nonline; i++) {
		int ok = o[i].last_switch_ns != 0;
		uint64_t busy = o[i].busy_ns, d = 0;
		double v = NAN;

		if (rc[i] < 0) {
			col_error(c, "CPU %d's entry changed under every one of %d reads", b->online[i],
				  CBPF_READ_TRIES);
			err = rc[i];
			ok = 0; /* NaN now, and the next sample starts this CPU afresh */
		}

		if (ok && !o[i].cur_idle && t > o[i].last_switch_ns)
			busy += t - o[i].last_switch_ns;
		if (ok && s->prev_ok[i] && dt > 0) {
			/* a switch racing our read can make the estimate step back by ns */
			d = busy > s->prev_busy[i] ? busy - s->prev_busy[i] : 0;
			v = fmin(100.0, 100.0 * (double)d / dt);
			sum += d;
			nsum++;
		}
		if (ok)
			s->prev_busy[i] = busy > s->prev_busy[i] || !s->prev_ok[i] ? busy : s->prev_busy[i];
		s->prev_ok[i] = (uint8_t)ok;
		cbpf_put_value(values, s->idx_cpu[i], v);
		unreported += cbpf_load(&b->cpus[b->online[i]].unreported);
	}
	cbpf_put_value(values, s->idx_unreported, (double)unreported);
	cbpf_put_value(values, s->idx_total,
		       nsum == b->nonline && dt > 0 ? fmin(100.0, 100.0 * (double)sum / (dt * nsum)) : NAN);
	s->prev_ns = t;
	return err;
}

static void cpu_fini(struct collector *c)
{
	struct cpu_state *s = c->priv;

	if (!s)
		return;
	cbpf_put(s->b);
	free(s->idx_cpu);
	free(s->prev_busy);
	free(s->prev_ok);
	free(s);
	c->priv = NULL;
}

const struct collector_ops ebpf_cpu_ops = {
    .name = "ebpf.cpu",
    .init = cpu_init,
    .declare = cpu_declare,
    .sample = cpu_sample,
    .fini = cpu_fini,
};
