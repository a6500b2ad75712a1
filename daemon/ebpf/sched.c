/* SPDX-License-Identifier: MIT */
/*
 * sched.c - "ebpf.sched": context switches and task migrations per CPU, as
 * per-second rates over the last period.
 *
 * Switches are counted by each CPU's sched_switch (the same event /proc/stat's ctxt
 * counts, so the totals agree), migrations by sched_migrate_task on the destination
 * CPU ("migrations into CPU N"). Both counters sit in the mmapped per-CPU entries.
 * Kernel half: kernel/sched.bpf.c (migrations); the switches are counted by
 * kernel/cpu.bpf.c's sched_switch, which this collector needs.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ebpf.h"

struct sched_state {
	struct cbpf *b;
	int idx_sw, idx_mig;
	int *idx_cpu_sw, *idx_cpu_mig;
	uint64_t *prev_sw, *prev_mig;
	uint64_t prev_ns;
};

static int sched_init(struct collector *c, struct col_env *env)
{
	struct sched_state *s = calloc(1, sizeof(*s));
	size_t n;

	if (!s)
		return -ENOMEM;
	c->priv = s;
	s->b = cbpf_get(c, env->cfg);
	if (!s->b)
		return -errno;
	int e = cbpf_require(c, s->b, CBPF_SCHED);
	if (e < 0)
		return e;
	n = (size_t)s->b->nonline;
	s->idx_cpu_sw = calloc(n, sizeof(int));
	s->idx_cpu_mig = calloc(n, sizeof(int));
	s->prev_sw = calloc(n, sizeof(uint64_t));
	s->prev_mig = calloc(n, sizeof(uint64_t));
	if (!s->idx_cpu_sw || !s->idx_cpu_mig || !s->prev_sw || !s->prev_mig)
		return -ENOMEM;
	return 0;
}

static int sched_declare(struct collector *c, struct series_reg *reg)
{
	struct sched_state *s = c->priv;
	const char *hs = "Context switches per second (sched_switch)";
	const char *hm = "Task migrations per second into the CPU (sched_migrate_task)";
	int r;

	if ((r = reg_series(reg, "sched.ctxsw_per_s", "switches/s", INFOREG_KIND_RATE, hs)) < 0)
		return r;
	s->idx_sw = r;
	if ((r = reg_series(reg, "sched.migrations_per_s", "migrations/s", INFOREG_KIND_RATE, hm)) < 0)
		return r;
	s->idx_mig = r;
	for (int i = 0; i < s->b->nonline; i++) {
		r = reg_seriesf(reg, "switches/s", INFOREG_KIND_RATE, hs, "sched.ctxsw_per_s{cpu=\"%d\"}",
				s->b->online[i]);
		if (r < 0)
			return r;
		s->idx_cpu_sw[i] = r;
		r = reg_seriesf(reg, "migrations/s", INFOREG_KIND_RATE, hm,
				"sched.migrations_per_s{cpu=\"%d\"}", s->b->online[i]);
		if (r < 0)
			return r;
		s->idx_cpu_mig[i] = r;
	}
	return 0;
}

static int sched_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct sched_state *s = c->priv;
	struct cbpf *b = s->b;
	uint64_t t = cbpf_now_ns(), tsw = 0, tmig = 0, psw = 0, pmig = 0;
	double dt = s->prev_ns ? (double)(t - s->prev_ns) / 1e9 : 0;

	(void)now;
	for (int i = 0; i < b->nonline; i++) {
		const struct ir_cpu *e = &b->cpus[b->online[i]];
		uint64_t sw = cbpf_load(&e->switches), mig = cbpf_load(&e->migrations);

		cbpf_put_value(values, s->idx_cpu_sw[i], col_rate(sw, s->prev_sw[i], dt));
		cbpf_put_value(values, s->idx_cpu_mig[i], col_rate(mig, s->prev_mig[i], dt));
		tsw += sw;
		tmig += mig;
		psw += s->prev_sw[i];
		pmig += s->prev_mig[i];
		s->prev_sw[i] = sw;
		s->prev_mig[i] = mig;
	}
	cbpf_put_value(values, s->idx_sw, col_rate(tsw, psw, dt));
	cbpf_put_value(values, s->idx_mig, col_rate(tmig, pmig, dt));
	s->prev_ns = t;
	return 0;
}

static void sched_fini(struct collector *c)
{
	struct sched_state *s = c->priv;

	if (!s)
		return;
	cbpf_put(s->b);
	free(s->idx_cpu_sw);
	free(s->idx_cpu_mig);
	free(s->prev_sw);
	free(s->prev_mig);
	free(s);
	c->priv = NULL;
}

const struct collector_ops ebpf_sched_ops = {
    .name = "ebpf.sched",
    .init = sched_init,
    .declare = sched_declare,
    .sample = sched_sample,
    .fini = sched_fini,
};
