// SPDX-License-Identifier: MIT
/*
 * pressure.c - "pressure": pressure stall information from /proc/pressure/.
 *
 * Each of /proc/pressure/{cpu,memory,io} has a "some" line (share of time at least
 * one task was stalled on the resource) and a "full" line (all non-idle tasks
 * stalled at once), each with avg10/avg60/avg300 percentages and a cumulative
 * total in microseconds. We export, per resource and line:
 *   pressure.R.L.avg10          the kernel's 10 s running average, percent;
 *   pressure.R.L.stall_percent  d(total)/dt as a percent of wall time over the last
 *                               period, the same quantity at the daemon's period
 *                               (a 100 ms spike shows here, avg10 smooths it out).
 * avg60/avg300 are not exported: the ring's history covers the former, and either
 * can be read from the file by whoever needs the slow view.
 *
 * The cpu "full" line does not exist before Linux 5.13 and is always zero at the
 * system level since (it is meaningful per cgroup): a line missing at init is not
 * declared. Without /proc/pressure (no CONFIG_PSI, or booted with psi=0) init fails
 * with -EOPNOTSUPP and the loop reports the collector off with the reason.
 *
 * Source file: the root cgroup2 directory's R.pressure files show the same system-wide
 * group (the kernel maps the root cgroup to psi_system) and are kernfs files that
 * io_uring reads inline with the tick's other sources; /proc/pressure files only have
 * a ->read method, which io_uring reaches through its poll-and-retry path (~20x dearer,
 * see tick.c). The cgroup file is used when its totals match /proc/pressure's (so a
 * cgroup namespace's root, which would show only its own tasks, is never taken).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

/* ---- parsing ----------------------------------------------------------------- */

void psi_reset(struct psi_state *s)
{
	memset(s, 0, sizeof(*s));
	for (int l = 0; l < PSI_NLINES; l++)
		s->avg10[l] = s->stall_pct[l] = NAN;
}

/* "some avg10=0.44 avg60=0.28 avg300=0.19 total=3342773": avg10 and total are required. */
static int parse_line(const char *p, const char *eol, double *avg10, uint64_t *total)
{
	int have_avg = 0, have_total = 0;
	while (p < eol) {
		while (p < eol && *p == ' ')
			p++;
		if (col_starts_with(p, eol, "avg10=")) {
			p += 6;
			if (col_scan_fixed(&p, eol, avg10) < 0)
				return -EINVAL;
			have_avg = 1;
		} else if (col_starts_with(p, eol, "total=")) {
			p += 6;
			if (col_scan_u64(&p, eol, total) < 0)
				return -EINVAL;
			have_total = 1;
		}
		/* any other key=value (avg60, avg300, a future one): skip the token */
		while (p < eol && *p != ' ')
			p++;
	}
	return have_avg && have_total ? 0 : -EINVAL;
}

int psi_update(struct psi_state *s, const char *text, double dt)
{
	static const char *const key[PSI_NLINES] = {"some ", "full "};
	double avg[PSI_NLINES] = {NAN, NAN};
	int any = 0;

	for (int l = 0; l < PSI_NLINES; l++) {
		s->prev_total[l] = s->total[l];
		s->have_prev[l] = s->have[l];
		s->have[l] = 0;
	}
	const char *cur = text, *p, *eol;
	while (text && col_line_next(&cur, &p, &eol)) {
		for (int l = 0; l < PSI_NLINES; l++) {
			if (!s->have[l] && col_starts_with(p, eol, key[l]) &&
			    parse_line(p + 5, eol, &avg[l], &s->total[l]) == 0) {
				s->have[l] = 1;
				any = 1;
			}
		}
	}
	for (int l = 0; l < PSI_NLINES; l++) {
		s->avg10[l] = s->have[l] ? avg[l] : NAN;
		double r = s->have[l] && s->have_prev[l] ? col_rate(s->total[l], s->prev_total[l], dt) : NAN;
		/* us of stall per s -> percent; the read time jitters against dt by a few
		 * percent of a period, which must not show as more than all of the time */
		r /= 1e4;
		s->stall_pct[l] = r > 100 ? 100 : r;
	}
	return any ? 0 : text ? -EINVAL : -ENODATA;
}

/* ---- the collector ------------------------------------------------------------ */

enum psi_res { PSI_CPU, PSI_MEMORY, PSI_IO, PSI_NRES };
static const char *const res_name[PSI_NRES] = {"cpu", "memory", "io"};
static const char *const line_name[PSI_NLINES] = {"some", "full"};

struct psi_res_state {
	struct col_file *f; /* NULL: this resource is not reported */
	struct psi_state s;
	uint8_t declare_line[PSI_NLINES];
	int idx_avg[PSI_NLINES], idx_stall[PSI_NLINES];
};

struct psi_priv {
	struct psi_res_state r[PSI_NRES];
};

/* "some ... total=N" of a PSI file, or -1. */
static long long psi_some_total(const char *path)
{
	char *buf = NULL;
	size_t cap = 0;
	long long t = -1;
	if (col_slurp(path, &buf, &cap) > 0) {
		const char *q = strstr(buf, "total=");
		if (q && !strncmp(buf, "some ", 5))
			t = atoll(q + 6);
	}
	free(buf);
	return t;
}

/* The root cgroup2 PSI file for resource R when it is the system-wide one, else /proc's. */
static void psi_path(char *out, size_t len, const char *res)
{
	static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/pressure/%s", res);
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(out, len, "%s/%s.pressure", roots[i], res);
		long long a = psi_some_total(proc), b = psi_some_total(out), a2 = psi_some_total(proc);
		/* b was read between a and a2: the same group lies in [a, a2] (10 ms of slack) */
		if (a >= 0 && b >= 0 && b >= a - 10000 && b <= a2 + 10000)
			return;
	}
	snprintf(out, len, "%s", proc);
}

static int pressure_init(struct collector *c, struct col_env *env)
{
	struct psi_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->priv = p;
	char path[96], *buf = NULL;
	size_t cap = 0;
	int first_err = 0, n = 0;
	for (int r = 0; r < PSI_NRES; r++) {
		struct psi_res_state *rs = &p->r[r];
		psi_reset(&rs->s);
		psi_path(path, sizeof(path), res_name[r]);
		/* opening is not enough: a PSI-disabled kernel may refuse the read itself */
		ssize_t len = col_slurp(path, &buf, &cap);
		int e = len < 0 ? (int)len : psi_update(&rs->s, buf, 0);
		if (e == 0) {
			for (int l = 0; l < PSI_NLINES; l++)
				rs->declare_line[l] = rs->s.have[l];
			psi_reset(&rs->s); /* init's read is not a sample */
			rs->f = col_file_open(env->files, path, 256);
			if (!rs->f)
				e = -errno;
		}
		if (e < 0) {
			rs->f = NULL;
			if (!first_err) {
				first_err = e;
				int absent = e == -ENOENT || e == -EOPNOTSUPP;
				snprintf(c->off_reason, sizeof(c->off_reason), "%.80s: %s%s", path,
					 e == -EINVAL ? "unexpected format" : strerror(-e),
					 absent ? " (kernel without CONFIG_PSI, or booted with psi=0)" : "");
			}
			continue;
		}
		n++;
	}
	free(buf);
	if (n == 0)
		return -EOPNOTSUPP; /* off_reason says which file and why */
	if (first_err) {
		/* some resources work: the collector stays on, the missing one is on record */
		col_error(c, "%s", c->off_reason);
		c->off_reason[0] = '\0';
	}
	return 0;
}

static int pressure_declare(struct collector *c, struct series_reg *reg)
{
	struct psi_priv *p = c->priv;
	char help[INFOREG_HELP_MAX];
	for (int r = 0; r < PSI_NRES; r++) {
		struct psi_res_state *rs = &p->r[r];
		for (int l = 0; l < PSI_NLINES; l++) {
			rs->idx_avg[l] = rs->idx_stall[l] = -1;
			if (!rs->f || !rs->declare_line[l])
				continue;
			const char *who = l == PSI_SOME ? "some tasks" : "all non-idle tasks";
			snprintf(help, sizeof(help), "Percent of time %s stalled on %s, kernel 10 s average",
				 who, res_name[r]);
			int e = reg_seriesf(reg, "percent", INFOREG_KIND_GAUGE, help, "pressure.%s.%s.avg10",
					    res_name[r], line_name[l]);
			if (e < 0)
				return e;
			rs->idx_avg[l] = e;
			snprintf(help, sizeof(help), "Percent of time %s stalled on %s over the last period",
				 who, res_name[r]);
			e = reg_seriesf(reg, "percent", INFOREG_KIND_RATE, help,
					"pressure.%s.%s.stall_percent", res_name[r], line_name[l]);
			if (e < 0)
				return e;
			rs->idx_stall[l] = e;
		}
	}
	return 0;
}

static int pressure_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct psi_priv *p = c->priv;
	int ret = 0;
	for (int r = 0; r < PSI_NRES; r++) {
		struct psi_res_state *rs = &p->r[r];
		if (!rs->f)
			continue;
		int e;
		if (rs->f->len < 0) {
			e = (int)rs->f->len;
			psi_update(&rs->s, NULL, now->dt);
			col_error(c, "reading %s: %s", rs->f->path, strerror(-e));
		} else if ((e = psi_update(&rs->s, rs->f->buf, now->dt)) < 0) {
			col_error(c, "%s: unexpected format", rs->f->path);
		}
		if (e < 0 && !ret)
			ret = e;
		for (int l = 0; l < PSI_NLINES; l++) {
			if (rs->idx_avg[l] >= 0)
				values[rs->idx_avg[l]] = rs->s.avg10[l];
			if (rs->idx_stall[l] >= 0)
				values[rs->idx_stall[l]] = rs->s.stall_pct[l];
		}
	}
	return ret;
}

static void pressure_fini(struct collector *c)
{
	free(c->priv);
	c->priv = NULL;
}

const struct collector_ops procfs_pressure_ops = {
    .name = "pressure",
    .default_period_ms = 1000, /* slow-moving: read once a second unless asked */
    .init = pressure_init,
    .declare = pressure_declare,
    .sample = pressure_sample,
    .fini = pressure_fini,
};
