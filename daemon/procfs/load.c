// SPDX-License-Identifier: MIT
/*
 * load.c - "load": load averages and task counts from /proc/loadavg.
 *
 * The file is one line, "0.09 0.05 0.01 1/82 4819": the 1, 5 and 15 minute load
 * averages (exponentially damped counts of runnable plus uninterruptible tasks,
 * updated by the kernel every 5 s), then runnable scheduling entities / all threads,
 * then the last PID handed out (not exported: it says nothing about load). All are
 * gauges in tasks; a line that does not have all five fields reads NaN everywhere.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

int loadavg_parse(const char *text, double out[LOAD_NOUT])
{
	const char *cur = text, *p, *eol;
	double v[LOAD_NOUT];
	uint64_t run, threads;
	for (int i = 0; i < LOAD_NOUT; i++)
		out[i] = NAN;
	if (!col_line_next(&cur, &p, &eol))
		return -EINVAL;
	for (int i = LOAD_1; i <= LOAD_15; i++) {
		if (col_scan_fixed(&p, eol, &v[i]) < 0)
			return -EINVAL;
	}
	if (col_scan_u64(&p, eol, &run) < 0 || p >= eol || *p++ != '/' || col_scan_u64(&p, eol, &threads) < 0)
		return -EINVAL;
	v[LOAD_RUNNABLE] = (double)run;
	v[LOAD_THREADS] = (double)threads;
	memcpy(out, v, sizeof(v));
	return 0;
}

static const struct {
	const char *name, *help;
} load_series[LOAD_NOUT] = {
    [LOAD_1] = {"load.1", "Load average over 1 minute: runnable + uninterruptible tasks"},
    [LOAD_5] = {"load.5", "Load average over 5 minutes"},
    [LOAD_15] = {"load.15", "Load average over 15 minutes"},
    [LOAD_RUNNABLE] = {"load.runnable",
		       "Runnable scheduling entities now (/proc/loadavg 4th field, before the /)"},
    [LOAD_THREADS] = {"load.threads", "Threads in the system now (/proc/loadavg 4th field, after the /)"},
};

struct load_priv {
	struct col_file *f;
	int idx[LOAD_NOUT];
	double out[LOAD_NOUT];
};

static int load_init(struct collector *c, struct col_env *env)
{
	struct load_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->priv = p;
	p->f = col_file_open(env->files, "/proc/loadavg", 256);
	if (!p->f) {
		int e = -errno;
		snprintf(c->off_reason, sizeof(c->off_reason), "/proc/loadavg: %s", strerror(-e));
		return e;
	}
	return 0;
}

static int load_declare(struct collector *c, struct series_reg *reg)
{
	struct load_priv *p = c->priv;
	for (int i = 0; i < LOAD_NOUT; i++) {
		int e =
		    reg_series(reg, load_series[i].name, "tasks", INFOREG_KIND_GAUGE, load_series[i].help);
		if (e < 0)
			return e;
		p->idx[i] = e;
	}
	return 0;
}

static int load_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct load_priv *p = c->priv;
	int e;
	(void)now;
	if (p->f->len < 0) {
		e = (int)p->f->len;
		for (int i = 0; i < LOAD_NOUT; i++)
			p->out[i] = NAN;
		col_error(c, "reading /proc/loadavg: %s", strerror(-e));
	} else if ((e = loadavg_parse(p->f->buf, p->out)) < 0) {
		col_error(c, "/proc/loadavg: unexpected format");
	}
	for (int i = 0; i < LOAD_NOUT; i++)
		values[p->idx[i]] = p->out[i];
	return e;
}

static void load_fini(struct collector *c)
{
	free(c->priv);
	c->priv = NULL;
}

const struct collector_ops procfs_load_ops = {
    .name = "load",
    .init = load_init,
    .declare = load_declare,
    .sample = load_sample,
    .fini = load_fini,
    /* the kernel recomputes the averages every 5 s; the runnable count at the tick is
     * cpu's proc.running (procs_running in /proc/stat, read at every tick anyway) */
    .default_period_ms = 1000,
};
