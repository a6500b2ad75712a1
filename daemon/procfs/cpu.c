// SPDX-License-Identifier: MIT
/*
 * cpu.c - "cpu": CPU time split, usage and free cores from /proc/stat.
 *
 * Why one file of about 510 lines: /proc/stat's parser and arithmetic (pure, unit-tested)
 * and the collector over them are one source, as every procfs file is.
 *
 * /proc/stat gives cumulative jiffies (USER_HZ, 10 ms) per state for the whole
 * machine ("cpu") and per online CPU ("cpuN"). Each field is reported as a percent of
 * the jiffies that elapsed on that line since the previous sample (the sum of the
 * eight fields user..steal; guest and guest_nice are already inside user and nice, so
 * they are not added again). Dividing by elapsed jiffies rather than by dt keeps the
 * fields summing to 100 however late a tick was; the price is the 10 ms resolution:
 * over a 100 ms period one CPU's percentages move in steps of about 10.
 *
 * A window closes only when at least one jiffy elapsed on its line. At a period
 * shorter than the kernel's tick (10 ms), most samples see no jiffy move: the window
 * then stays open (it spans several samples) and the line keeps the figures of its
 * last closed window, so cpu.* is never NaN for want of a jiffy. Such a figure
 * describes the last >= 1 jiffy, not the last period; cpu.usage.exact (eBPF) is the
 * sub-tick answer.
 *
 * cpu.usage is the percent not idle, iowait counted as idle (an iowaiting CPU is free
 * to run work); cpu.free = online CPUs x (1 - usage/100) is the idle capacity in
 * cores (the seed paper's CpuFree). The same file gives the context switch and fork
 * rates and the instantaneous runnable/blocked task counts.
 *
 * A field that goes backwards (idle and iowait can, briefly, on NO_HZ kernels) counts
 * as zero elapsed time rather than poisoning the sample. Per-CPU series exist for the
 * CPUs online when series are declared; a CPU that goes offline reads NaN, one that
 * comes online triggers a re-declaration. Everything is NaN until a line's first
 * window closes.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "procfs.h"

const char *const cpu_field_name[CPU_NFIELDS] = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};

static const char *const cpu_field_help[CPU_NFIELDS] = {
    "Percent of CPU time in user mode, guest time included, over the last period",
    "Percent of CPU time in user mode at positive nice, guest_nice included",
    "Percent of CPU time in kernel mode",
    "Percent of CPU time idle",
    "Percent of CPU time idle while I/O was outstanding",
    "Percent of CPU time servicing hardware interrupts",
    "Percent of CPU time servicing softirqs",
    "Percent of CPU time stolen by the hypervisor",
};

#define CPU_USAGE_HELP "Percent of CPU time not idle (iowait counts as idle), from /proc/stat"

/* ---- parsing and arithmetic (no I/O, no allocation) ------------------------- */

/* Linux's NR_CPUS tops out at 8192; anything far beyond is not a CPU id. */
#define CPU_ID_LIMIT (1u << 16)

struct cpustat *cpustat_new(unsigned cap)
{
	struct cpustat *s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->cap = cap ? cap : 1;
	for (int i = 0; i < 2; i++) {
		s->snap[i].cpu = calloc(s->cap, sizeof(*s->snap[i].cpu));
		if (!s->snap[i].cpu)
			goto nomem;
	}
	s->cpu = calloc(s->cap, sizeof(*s->cpu));
	s->base_cpu = calloc(s->cap, sizeof(*s->base_cpu));
	if (!s->cpu || !s->base_cpu)
		goto nomem;
	s->prev = &s->snap[0];
	s->cur = &s->snap[1];
	/* results are NaN until two snapshots exist */
	cpustat_update(s, NULL, 0);
	return s;
nomem:
	cpustat_free(s);
	errno = ENOMEM;
	return NULL;
}

void cpustat_free(struct cpustat *s)
{
	if (!s)
		return;
	free(s->snap[0].cpu);
	free(s->snap[1].cpu);
	free(s->base_cpu);
	free(s->cpu);
	free(s);
}

static void snap_clear(struct cpu_snap *sn, unsigned cap)
{
	struct cpu_times *cpu = sn->cpu;
	memset(cpu, 0, cap * sizeof(*cpu));
	memset(sn, 0, sizeof(*sn));
	sn->cpu = cpu;
}

/* "user nice system idle iowait irq softirq steal [guest guest_nice]": all eight or nothing. */
static int parse_times(const char *p, const char *eol, struct cpu_times *t)
{
	struct cpu_times x;
	if (t->valid)
		return -EEXIST; /* a repeated line is garbage: the first one stands */
	for (int i = 0; i < CPU_NFIELDS; i++)
		if (col_scan_u64(&p, eol, &x.t[i]) < 0)
			return -EINVAL;
	x.valid = 1;
	*t = x;
	return 0;
}

/* Named single-number lines: "ctxt 329934". */
static int parse_named(const char *p, const char *eol, const char *key, uint64_t *v, uint8_t *have)
{
	size_t n = strlen(key);
	if (!col_starts_with(p, eol, key) || (p + n < eol && p[n] != ' '))
		return 0;
	p += n;
	if (col_scan_u64(&p, eol, v) == 0)
		*have = 1;
	return 1;
}

/* "cpu12 ...": 1 with the id and the rest of the line. The id must touch "cpu" (the
 * total line "cpu  3629 ..." has none) and be followed by a blank. */
static int cpu_line_id(const char *p, const char *eol, uint64_t *id, const char **rest)
{
	const char *q = p + 3;
	if (!col_starts_with(p, eol, "cpu") || q >= eol || *q < '0' || *q > '9' ||
	    col_scan_u64(&q, eol, id) < 0 || q >= eol || *q != ' ')
		return 0;
	*rest = q;
	return 1;
}

unsigned cpustat_ids(const char *text)
{
	unsigned n = 0;
	const char *cur = text, *l, *eol, *rest;
	while (col_line_next(&cur, &l, &eol)) {
		uint64_t id;
		if (cpu_line_id(l, eol, &id, &rest) && id < CPU_ID_LIMIT && id + 1 > n)
			n = (unsigned)id + 1;
	}
	return n;
}

static void parse_stat(struct cpustat *s, struct cpu_snap *sn, const char *text)
{
	const char *cur = text, *p, *eol, *q;
	while (col_line_next(&cur, &p, &eol)) {
		uint64_t id;
		if (col_starts_with(p, eol, "cpu ")) {
			parse_times(p + 3, eol, &sn->total);
		} else if (cpu_line_id(p, eol, &id, &q)) {
			if (id >= s->cap) {
				s->ignored++;
				continue;
			}
			if (parse_times(q, eol, &sn->cpu[id]) == 0)
				sn->online++;
		} else {
			/* at most one matches; intr, softirq, btime... match none and are skipped */
			(void)(parse_named(p, eol, "ctxt", &sn->ctxt, &sn->have_ctxt) ||
			       parse_named(p, eol, "processes", &sn->forks, &sn->have_forks) ||
			       parse_named(p, eol, "procs_running", &sn->running, &sn->have_running) ||
			       parse_named(p, eol, "procs_blocked", &sn->blocked, &sn->have_blocked));
		}
	}
}

static double clamp_pct(double v)
{
	return v < 0 ? 0 : v > 100 ? 100 : v;
}

static void pct_nan(struct cpu_pct *o)
{
	for (int i = 0; i < CPU_NFIELDS; i++)
		o->field[i] = NAN;
	o->usage = NAN;
}

/*
 * One line's window: from BASE (where it opened) to CUR. Closes it when a jiffy
 * elapsed (O gets its percentages, BASE moves to CUR); otherwise leaves O and BASE
 * alone, carrying the last closed window. A line missing now (CPU offline, a failed
 * read) drops its window: O is NaN and the next valid snapshot opens a new one.
 */
static void window_update(const struct cpu_times *cur, struct cpu_times *base, struct cpu_pct *o)
{
	if (!cur->valid || !base->valid) {
		*base = *cur; /* opens a window at CUR, or none when CUR is invalid */
		pct_nan(o);
		return;
	}
	double d[CPU_NFIELDS], sum = 0;
	for (int i = 0; i < CPU_NFIELDS; i++) {
		/* NO_HZ idle/iowait accounting may step back a little: no time elapsed */
		d[i] = cur->t[i] >= base->t[i] ? (double)(cur->t[i] - base->t[i]) : 0;
		sum += d[i];
	}
	if (sum <= 0)
		return; /* no jiffy yet: the window stays open, O carries the last one */
	for (int i = 0; i < CPU_NFIELDS; i++)
		o->field[i] = clamp_pct(100.0 * d[i] / sum); /* rounding may pass 100 by an ulp */
	o->usage = clamp_pct(100.0 * (sum - d[CPU_IDLE] - d[CPU_IOWAIT]) / sum);
	*base = *cur;
}

static double gauge(uint64_t v, uint8_t have)
{
	return have ? (double)v : NAN;
}

int cpustat_update(struct cpustat *s, const char *text, double dt)
{
	struct cpu_snap *t = s->prev;
	s->prev = s->cur;
	s->cur = t;
	snap_clear(s->cur, s->cap);
	s->ignored = 0;
	if (text)
		parse_stat(s, s->cur, text);
	int err = 0;
	if (!s->cur->total.valid) {
		/* not /proc/stat: no part of it is trusted, and it is no previous either */
		snap_clear(s->cur, s->cap);
		err = text ? -EINVAL : -ENODATA;
	}
	const struct cpu_snap *c = s->cur, *p = s->prev;
	window_update(&c->total, &s->base_total, &s->all);
	for (unsigned i = 0; i < s->cap; i++)
		window_update(&c->cpu[i], &s->base_cpu[i], &s->cpu[i]);
	s->count = c->online ? (double)c->online : NAN;
	s->free = s->count * (1.0 - s->all.usage / 100.0); /* NaN propagates */
	s->ctxt_per_s = c->have_ctxt && p->have_ctxt ? col_rate(c->ctxt, p->ctxt, dt) : NAN;
	s->forks_per_s = c->have_forks && p->have_forks ? col_rate(c->forks, p->forks, dt) : NAN;
	s->running = gauge(c->running, c->have_running);
	s->blocked = gauge(c->blocked, c->have_blocked);
	return err;
}

/* Highest id in a CPU list such as "0-3,8-11\n", plus one; 0 if unparsable. */
static unsigned cpulist_count(const char *text)
{
	const char *p = text, *end = text + strlen(text);
	unsigned n = 0;
	for (;;) {
		uint64_t a, b;
		if (col_scan_u64(&p, end, &a) < 0)
			break;
		b = a;
		if (p < end && *p == '-') {
			p++;
			if (col_scan_u64(&p, end, &b) < 0)
				break;
		}
		if (b >= CPU_ID_LIMIT)
			break; /* not a CPU list */
		if (b + 1 > n)
			n = (unsigned)b + 1;
		if (p >= end || *p != ',')
			break;
		p++;
	}
	return n;
}

unsigned cpustat_possible(unsigned min_cap)
{
	char *buf = NULL;
	size_t cap = 0;
	unsigned n = 0;
	/* the possible mask is fixed at boot: no CPU id outside it can ever come online */
	if (col_slurp("/sys/devices/system/cpu/possible", &buf, &cap) > 0)
		n = cpulist_count(buf);
	free(buf);
	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_CONF);
		n = c > 0 && c < CPU_ID_LIMIT ? (unsigned)c : 1;
	}
	return n > min_cap ? n : min_cap;
}

/* ---- the collector ------------------------------------------------------------ */

struct cpu_priv {
	struct col_file *f;
	struct cpustat *s;
	uint8_t *declared; /* [cap]: CPUs with series */
	int *idx_cpu;	   /* [cap][CPU_NFIELDS + 1]: fields, then usage */
	int *idx_sec;	   /* [cap][CPU_NFIELDS]: cpu.seconds{cpu,mode} counters */
	int idx_ctxt_total, idx_forks_total;
	double sec_per_tick; /* 1 / USER_HZ */
	int idx_all[CPU_NFIELDS + 1];
	int idx_free, idx_count, idx_ctxt, idx_forks, idx_running, idx_blocked;
	int asked; /* layout_changed() called; cleared by declare */
	int warned_ignored;
	const char *pfx; /* "host." under a cgroup scope (cgroup.c), else "" */
};

#define NIDX (CPU_NFIELDS + 1)

static int cpu_init(struct collector *c, struct col_env *env)
{
	struct cpu_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->priv = p;
	p->pfx = cfg_host_prefix(env->cfg);

	char *buf = NULL;
	size_t bcap = 0;
	ssize_t n = col_slurp("/proc/stat", &buf, &bcap);
	if (n < 0) {
		snprintf(c->off_reason, sizeof(c->off_reason), "/proc/stat: %s", strerror((int)-n));
		free(buf);
		return (int)n;
	}
	/* size for every possible CPU, and any id this /proc/stat shows beyond that */
	p->s = cpustat_new(cpustat_possible(cpustat_ids(buf)));
	p->declared = p->s ? calloc(p->s->cap, 1) : NULL;
	p->idx_cpu = p->s ? malloc((size_t)p->s->cap * NIDX * sizeof(int)) : NULL;
	p->idx_sec = p->s ? malloc((size_t)p->s->cap * CPU_NFIELDS * sizeof(int)) : NULL;
	long hz = sysconf(_SC_CLK_TCK);
	p->sec_per_tick = 1.0 / (double)(hz > 0 ? hz : 100);
	if (!p->s || !p->declared || !p->idx_cpu || !p->idx_sec) {
		free(buf);
		return -ENOMEM;
	}
	/* the CPUs online now get series; parse into the state once to learn them */
	int e = cpustat_update(p->s, buf, 0);
	free(buf);
	if (e < 0) {
		snprintf(c->off_reason, sizeof(c->off_reason), "/proc/stat has no \"cpu\" line");
		return -EOPNOTSUPP;
	}
	for (unsigned i = 0; i < p->s->cap; i++)
		p->declared[i] = p->s->cur->cpu[i].valid;
	/* that parse was not a sample: the first real one must still read NaN */
	cpustat_update(p->s, NULL, 0);

	/* /proc/stat's intr line grows with the interrupt count; the tick grows the buffer */
	p->f = col_file_open(env->files, "/proc/stat", 16384 + (size_t)p->s->cap * 128);
	if (!p->f) {
		e = -errno;
		snprintf(c->off_reason, sizeof(c->off_reason), "/proc/stat: %s", strerror(errno));
		return e;
	}
	return 0;
}

static int cpu_declare(struct collector *c, struct series_reg *reg)
{
	struct cpu_priv *p = c->priv;
	struct cpustat *s = p->s;
	int e;

	/* CPUs seen online since the last declaration join; offline ones stay (NaN) */
	for (unsigned i = 0; i < s->cap; i++)
		if (s->cur->cpu[i].valid)
			p->declared[i] = 1;
	p->asked = 0;

#define DECL(dst, ...)                                                                                       \
	do {                                                                                                 \
		if ((e = reg_seriesf(reg, __VA_ARGS__)) < 0)                                                 \
			return e;                                                                            \
		dst = e;                                                                                     \
	} while (0)

	DECL(p->idx_all[CPU_NFIELDS], "percent", INFOREG_KIND_GAUGE, CPU_USAGE_HELP, "%scpu.usage", p->pfx);
	DECL(p->idx_free, "cores", INFOREG_KIND_GAUGE,
	     "Idle capacity in cores: online CPUs x (1 - cpu.usage/100)", "%scpu.free", p->pfx);
	DECL(p->idx_count, "cpus", INFOREG_KIND_GAUGE, "Online CPUs (cpuN lines of /proc/stat)",
	     "%scpu.count", p->pfx);
	for (int f = 0; f < CPU_NFIELDS; f++)
		DECL(p->idx_all[f], "percent", INFOREG_KIND_GAUGE, cpu_field_help[f], "%scpu.%s", p->pfx,
		     cpu_field_name[f]);
	for (unsigned i = 0; i < s->cap; i++) {
		int *idx = &p->idx_cpu[(size_t)i * NIDX];
		for (int f = 0; f < NIDX; f++)
			idx[f] = -1;
		if (!p->declared[i])
			continue;
		DECL(idx[CPU_NFIELDS], "percent", INFOREG_KIND_GAUGE, CPU_USAGE_HELP,
		     "%scpu.usage{cpu=\"%u\"}", p->pfx, i);
		for (int f = 0; f < CPU_NFIELDS; f++)
			DECL(idx[f], "percent", INFOREG_KIND_GAUGE, cpu_field_help[f], "%scpu.%s{cpu=\"%u\"}",
			     p->pfx, cpu_field_name[f], i);
	}
	/* the cumulative counters Prometheus rate()s (node_exporter's node_cpu_seconds_total) */
	for (unsigned i = 0; i < s->cap; i++) {
		int *sec = &p->idx_sec[(size_t)i * CPU_NFIELDS];
		for (int f = 0; f < CPU_NFIELDS; f++)
			sec[f] = -1;
		if (!p->declared[i])
			continue;
		for (int f = 0; f < CPU_NFIELDS; f++)
			DECL(sec[f], "seconds", INFOREG_KIND_COUNTER,
			     "CPU time in this mode since boot (cumulative)",
			     "%scpu.seconds{cpu=\"%u\",mode=\"%s\"}", p->pfx, i, cpu_field_name[f]);
	}
	DECL(p->idx_ctxt_total, "count", INFOREG_KIND_COUNTER, "Context switches since boot, all CPUs",
	     "sched.context_switches");
	DECL(p->idx_forks_total, "count", INFOREG_KIND_COUNTER, "Processes and threads created since boot",
	     "proc.forks");
	DECL(p->idx_ctxt, "switches/s", INFOREG_KIND_RATE, "Context switches per second, all CPUs",
	     "sched.ctxt_per_s");
	DECL(p->idx_forks, "forks/s", INFOREG_KIND_RATE,
	     "Processes and threads created per second (processes counter)", "proc.forks_per_s");
	DECL(p->idx_running, "tasks", INFOREG_KIND_GAUGE, "Runnable tasks now (procs_running)",
	     "proc.running");
	DECL(p->idx_blocked, "tasks", INFOREG_KIND_GAUGE, "Tasks blocked on I/O now (procs_blocked)",
	     "proc.blocked");
#undef DECL
	return 0;
}

static void put_pct(double *values, const int *idx, const struct cpu_pct *v)
{
	for (int f = 0; f < CPU_NFIELDS; f++)
		if (idx[f] >= 0)
			values[idx[f]] = v->field[f];
	if (idx[CPU_NFIELDS] >= 0)
		values[idx[CPU_NFIELDS]] = v->usage;
}

static int cpu_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct cpu_priv *p = c->priv;
	struct cpustat *s = p->s;
	int e;

	if (p->f->len < 0) {
		e = (int)p->f->len;
		cpustat_update(s, NULL, now->dt);
		col_error(c, "reading /proc/stat: %s", strerror(-e));
	} else {
		e = cpustat_update(s, p->f->buf, now->dt);
		if (e < 0)
			col_error(c, "/proc/stat: no valid \"cpu\" line");
	}
	put_pct(values, p->idx_all, &s->all);
	values[p->idx_free] = s->free;
	values[p->idx_count] = s->count;
	values[p->idx_ctxt] = s->ctxt_per_s;
	values[p->idx_forks] = s->forks_per_s;
	values[p->idx_running] = s->running;
	values[p->idx_blocked] = s->blocked;
	const struct cpu_snap *cur = s->cur;
	values[p->idx_ctxt_total] = cur->have_ctxt ? (double)cur->ctxt : NAN;
	values[p->idx_forks_total] = cur->have_forks ? (double)cur->forks : NAN;
	int newcpu = 0;
	for (unsigned i = 0; i < s->cap; i++) {
		if (p->declared[i]) {
			put_pct(values, &p->idx_cpu[(size_t)i * NIDX], &s->cpu[i]);
			const int *sec = &p->idx_sec[(size_t)i * CPU_NFIELDS];
			for (int f = 0; f < CPU_NFIELDS; f++)
				values[sec[f]] =
				    cur->cpu[i].valid ? (double)cur->cpu[i].t[f] * p->sec_per_tick : NAN;
		} else if (s->cur->cpu[i].valid)
			newcpu = 1;
	}
	if (newcpu && !p->asked) {
		p->asked = 1;
		layout_changed();
	}
	if (s->ignored && !p->warned_ignored) {
		p->warned_ignored = 1;
		col_error(c, "/proc/stat lists CPU ids beyond the %u possible: ignored", s->cap);
	}
	return e;
}

static void cpu_fini(struct collector *c)
{
	struct cpu_priv *p = c->priv;
	if (!p)
		return;
	/* p->f belongs to the tick files and is closed with them */
	cpustat_free(p->s);
	free(p->declared);
	free(p->idx_cpu);
	free(p->idx_sec);
	free(p);
	c->priv = NULL;
}

const struct collector_ops procfs_cpu_ops = {
    .name = "cpu",
    .init = cpu_init,
    .declare = cpu_declare,
    .sample = cpu_sample,
    .fini = cpu_fini,
};
