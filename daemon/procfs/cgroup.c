// SPDX-License-Identifier: MIT
/*
 * cgroup.c - "cgroup": the container's view of CPU and memory (cgroup = PATH).
 *
 * An inference node is often a container with a CPU quota: the host's idle cores are
 * not its to use. With `cgroup = PATH` (or --cgroup PATH; PATH as /proc/PID/cgroup
 * prints it), this collector publishes cpu.count, cpu.usage, cpu.used, cpu.free,
 * mem.total, mem.used and mem.available as the container sees them, and the cpu and
 * mem collectors move the host-wide series under host.* (cpu.c, mem.c).
 *
 *   cpu.count  the limit in CPUs: quota / period (v1 cpu.cfs_quota_us and
 *              cpu.cfs_period_us, v2 cpu.max), else the cpuset's size (v1
 *              cpuset.effective_cpus, v2 cpuset.cpus.effective), else the host's
 *              online CPUs; never more than the cpuset allows
 *   cpu.used   cores the cgroup used over the last period (v1 cpuacct.usage in ns,
 *              v2 cpu.stat usage_usec)
 *   cpu.usage  100 x used / count, clamped to 0..100 (CFS lets a group run a little
 *              past its quota within one enforcement period)
 *   cpu.free   count - used, at least 0: the paper's CpuFree for this container
 *   mem.total  the memory limit (v1 memory.limit_in_bytes, v2 memory.max), the host's
 *              MemTotal when unlimited or larger
 *   mem.used   memory.usage_in_bytes (v1) or memory.current (v2): page cache
 *              included, as the kernel charges it against the limit
 *   mem.available  mem.total - mem.used, at least 0
 *
 * Both hierarchies are found under cgroup_root (default /sys/fs/cgroup): v2 when
 * ROOT/cgroup.controllers exists (files in ROOT/PATH), else v1 with one directory per
 * controller (ROOT/cpu/PATH, ROOT/cpuacct/PATH, ROOT/cpuset/PATH, ROOT/memory/PATH).
 * Limits can change while the container runs, so every file is re-read each tick in
 * the io_uring batch. A missing optional file (no cpuset controller there) falls back
 * as above; a cgroup without its usage files cannot be scoped and refuses to start.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "procfs.h"

enum cg_file {
	CG_QUOTA,
	CG_PERIOD,
	CG_CPUMAX,
	CG_USAGE,
	CG_CPUSTAT,
	CG_CPUSET,
	CG_MEMLIMIT,
	CG_MEMUSAGE,
	CG_NFILES
};

enum cg_out { CGO_COUNT, CGO_USAGE, CGO_USED, CGO_FREE, CGO_MEM_TOTAL, CGO_MEM_USED, CGO_MEM_AVAIL, CGO_N };

static const struct {
	const char *name, *unit, *help;
	enum inforeg_kind kind;
} cg_series[CGO_N] = {
    [CGO_COUNT] = {"cpu.count", "cpus", "The cgroup's CPU limit: quota/period, else its cpuset's size",
		   INFOREG_KIND_GAUGE},
    [CGO_USAGE] = {"cpu.usage", "percent", "CPU the cgroup used, percent of its limit (cpu.count)",
		   INFOREG_KIND_GAUGE},
    [CGO_USED] = {"cpu.used", "cores", "Cores the cgroup used over the last period", INFOREG_KIND_GAUGE},
    [CGO_FREE] = {"cpu.free", "cores", "The cgroup's idle capacity: cpu.count - cpu.used, at least 0",
		  INFOREG_KIND_GAUGE},
    [CGO_MEM_TOTAL] = {"mem.total", "bytes", "The cgroup's memory limit (the host's MemTotal when unlimited)",
		       INFOREG_KIND_GAUGE},
    [CGO_MEM_USED] = {"mem.used", "bytes", "Memory charged to the cgroup (page cache included)",
		      INFOREG_KIND_GAUGE},
    [CGO_MEM_AVAIL] = {"mem.available", "bytes", "mem.total - mem.used, at least 0", INFOREG_KIND_GAUGE},
};

struct cg_priv {
	int v2;
	struct col_file *f[CG_NFILES]; /* NULL where the file does not exist */
	char path[CG_NFILES][2 * CFG_PATH_MAX + 64];
	double host_cpus, host_mem;
	uint64_t prev_usage_ns;
	int have_prev;
	int idx[CGO_N];
};

/* ---- parsers (pure) ------------------------------------------------------------- */

/* A non-negative decimal integer, then only blanks; "max" gives UINT64_MAX. */
int cg_parse_u64(const char *text, uint64_t *v)
{
	if (!text)
		return -ENODATA;
	const char *p = text, *end = text + strlen(text);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p >= 3 && !memcmp(p, "max", 3)) {
		*v = UINT64_MAX;
		p += 3;
	} else if (col_scan_u64(&p, end, v) < 0) {
		return -EINVAL;
	}
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n')
			return -EINVAL;
	return 0;
}

/* v2 cpu.max "QUOTA PERIOD" or "max PERIOD": cores, or 0 when unlimited; -EINVAL. */
int cg_parse_cpu_max(const char *text, double *cores)
{
	if (!text)
		return -ENODATA;
	char q[32];
	unsigned long long period;
	if (sscanf(text, "%31s %llu", q, &period) != 2 || period == 0)
		return -EINVAL;
	if (!strcmp(q, "max")) {
		*cores = 0;
		return 0;
	}
	uint64_t quota;
	if (cg_parse_u64(q, &quota) < 0)
		return -EINVAL;
	*cores = (double)quota / (double)period;
	return 0;
}

/* v1 cpu.cfs_quota_us (-1 is unlimited) over cpu.cfs_period_us: cores, 0 when unlimited. */
int cg_parse_cfs(const char *quota, const char *period, double *cores)
{
	if (!quota || !period)
		return -ENODATA;
	long long q;
	unsigned long long per;
	if (sscanf(quota, "%lld", &q) != 1 || sscanf(period, "%llu", &per) != 1 || per == 0)
		return -EINVAL;
	*cores = q < 0 ? 0 : (double)q / (double)per;
	return 0;
}

/* Number of CPUs in a list such as "0-3,8,10-11\n"; 0 if empty or unparsable. */
unsigned cg_cpulist_size(const char *text)
{
	if (!text)
		return 0;
	const char *p = text, *end = text + strlen(text);
	unsigned n = 0;
	for (;;) {
		uint64_t a, b;
		if (col_scan_u64(&p, end, &a) < 0)
			break;
		b = a;
		if (p < end && *p == '-') {
			p++;
			if (col_scan_u64(&p, end, &b) < 0 || b < a)
				return 0;
		}
		n += (unsigned)(b - a + 1);
		if (p < end && *p == ',')
			p++;
		else
			break;
	}
	return n;
}

/* v2 cpu.stat's usage_usec in ns; -EINVAL when absent. */
int cg_parse_cpu_stat_ns(const char *text, uint64_t *ns)
{
	if (!text)
		return -ENODATA;
	const char *cur = text, *line, *eol;
	while (col_line_next(&cur, &line, &eol)) {
		if (col_starts_with(line, eol, "usage_usec ")) {
			const char *p = line + 11;
			uint64_t us;
			if (col_scan_u64(&p, eol, &us) < 0)
				return -EINVAL;
			*ns = us * 1000;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * The CPU limit in cores from a quota in cores (0: none), a cpuset size (0: unknown)
 * and the host's CPUs: the quota, capped by the cpuset, else the cpuset, else the host.
 */
double cg_cpu_limit(double quota_cores, unsigned cpuset, double host_cpus)
{
	double lim = cpuset ? (double)cpuset : host_cpus;
	return quota_cores > 0 && quota_cores < lim ? quota_cores : lim;
}

/* ---- the collector -------------------------------------------------------------- */

static const char *cg_text(const struct cg_priv *p, enum cg_file k)
{
	const struct col_file *f = p->f[k];
	return f && f->len >= 0 ? f->buf : NULL;
}

static double host_mem_total(void)
{
	char *buf = NULL;
	size_t cap = 0;
	double out[MEM_NOUT], total = NAN;
	if (col_slurp("/proc/meminfo", &buf, &cap) > 0 && meminfo_parse(buf, out) == 0)
		total = out[MEM_TOTAL];
	free(buf);
	return total;
}

static int cg_init(struct collector *c, struct col_env *env)
{
	const struct ird_config *cfg = env->cfg;
	if (!cfg || !cfg->cgroup[0]) {
		snprintf(c->off_reason, sizeof(c->off_reason), "no cgroup configured (cgroup = PATH)");
		return -EOPNOTSUPP;
	}
	struct cg_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->priv = p;
	const char *root = cfg->cgroup_root[0] ? cfg->cgroup_root : "/sys/fs/cgroup";
	const char *cg = cfg->cgroup;
	char probe[CFG_PATH_MAX + 32];
	snprintf(probe, sizeof(probe), "%s/cgroup.controllers", root);
	p->v2 = access(probe, F_OK) == 0;

	static const char *const v1[CG_NFILES][2] = {
	    [CG_QUOTA] = {"cpu", "cpu.cfs_quota_us"},
	    [CG_PERIOD] = {"cpu", "cpu.cfs_period_us"},
	    [CG_USAGE] = {"cpuacct", "cpuacct.usage"},
	    [CG_CPUSET] = {"cpuset", "cpuset.effective_cpus"},
	    [CG_MEMLIMIT] = {"memory", "memory.limit_in_bytes"},
	    [CG_MEMUSAGE] = {"memory", "memory.usage_in_bytes"},
	};
	static const char *const v2[CG_NFILES] = {
	    [CG_CPUMAX] = "cpu.max",
	    [CG_CPUSTAT] = "cpu.stat",
	    [CG_CPUSET] = "cpuset.cpus.effective",
	    [CG_MEMLIMIT] = "memory.max",
	    [CG_MEMUSAGE] = "memory.current",
	};
	for (int k = 0; k < CG_NFILES; k++) {
		int n;
		if (p->v2 && v2[k])
			n = snprintf(p->path[k], sizeof(p->path[k]), "%s%s/%s", root, cg, v2[k]);
		else if (!p->v2 && v1[k][0])
			n = snprintf(p->path[k], sizeof(p->path[k]), "%s/%s%s/%s", root, v1[k][0], cg,
				     v1[k][1]);
		else
			continue;
		if (n < 0 || (size_t)n >= sizeof(p->path[k])) {
			snprintf(c->off_reason, sizeof(c->off_reason), "cgroup path too long");
			return -ENAMETOOLONG;
		}
		if (access(p->path[k], R_OK) < 0)
			continue; /* optional unless checked below */
		p->f[k] = col_file_open(env->files, p->path[k], 4096);
		if (!p->f[k]) {
			int e = -errno;
			snprintf(c->off_reason, sizeof(c->off_reason), "%.120s: %s", p->path[k],
				 strerror(errno));
			return e;
		}
	}
	enum cg_file usage = p->v2 ? CG_CPUSTAT : CG_USAGE;
	enum cg_file need[] = {usage, CG_MEMUSAGE};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!p->f[need[i]]) {
			snprintf(c->off_reason, sizeof(c->off_reason), "cgroup v%d: cannot read %.130s",
				 p->v2 ? 2 : 1, p->path[need[i]]);
			return -ENOENT;
		}
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	p->host_cpus = n > 0 ? (double)n : 1;
	p->host_mem = host_mem_total();
	return 0;
}

static int cg_declare(struct collector *c, struct series_reg *reg)
{
	struct cg_priv *p = c->priv;
	for (int i = 0; i < CGO_N; i++) {
		int e = reg_series(reg, cg_series[i].name, cg_series[i].unit, cg_series[i].kind,
				   cg_series[i].help);
		if (e < 0)
			return e;
		p->idx[i] = e;
	}
	return 0;
}

static int cg_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct cg_priv *p = c->priv;
	double quota = 0, out[CGO_N];
	for (int i = 0; i < CGO_N; i++)
		out[i] = NAN;
	int err = 0;

	if (p->v2 ? cg_parse_cpu_max(cg_text(p, CG_CPUMAX), &quota) == -EINVAL
		  : cg_parse_cfs(cg_text(p, CG_QUOTA), cg_text(p, CG_PERIOD), &quota) == -EINVAL) {
		col_error(c, "unparsable CPU quota in %s", p->path[p->v2 ? CG_CPUMAX : CG_QUOTA]);
		err = -EINVAL;
	}
	out[CGO_COUNT] = cg_cpu_limit(quota, cg_cpulist_size(cg_text(p, CG_CPUSET)), p->host_cpus);

	uint64_t ns;
	int e = p->v2 ? cg_parse_cpu_stat_ns(cg_text(p, CG_CPUSTAT), &ns)
		      : cg_parse_u64(cg_text(p, CG_USAGE), &ns);
	if (e < 0) {
		col_error(c, "cannot read the CPU usage in %s", p->path[p->v2 ? CG_CPUSTAT : CG_USAGE]);
		p->have_prev = 0;
		err = e;
	} else {
		if (p->have_prev && now->dt > 0 && ns >= p->prev_usage_ns) {
			double used = (double)(ns - p->prev_usage_ns) / 1e9 / now->dt;
			out[CGO_USED] = used;
			double pct = 100.0 * used / out[CGO_COUNT];
			out[CGO_USAGE] = pct < 0 ? 0 : pct > 100 ? 100 : pct;
			out[CGO_FREE] = used < out[CGO_COUNT] ? out[CGO_COUNT] - used : 0;
		}
		p->prev_usage_ns = ns;
		p->have_prev = 1;
	}

	uint64_t limit, usage;
	if (cg_parse_u64(cg_text(p, CG_MEMUSAGE), &usage) < 0) {
		col_error(c, "cannot read the memory usage in %s", p->path[CG_MEMUSAGE]);
		err = -EINVAL;
	} else {
		double total = p->host_mem;
		if (cg_parse_u64(cg_text(p, CG_MEMLIMIT), &limit) == 0 &&
		    (isnan(total) || (double)limit < total))
			total = (double)limit;
		out[CGO_MEM_TOTAL] = total;
		out[CGO_MEM_USED] = (double)usage;
		out[CGO_MEM_AVAIL] = (double)usage < total ? total - (double)usage : 0;
	}
	for (int i = 0; i < CGO_N; i++)
		values[p->idx[i]] = out[i];
	return err;
}

static void cg_fini(struct collector *c)
{
	free(c->priv); /* the files belong to the tick and are closed with it */
	c->priv = NULL;
}

const struct collector_ops procfs_cgroup_ops = {
    .name = "cgroup",
    .init = cg_init,
    .declare = cg_declare,
    .sample = cg_sample,
    .fini = cg_fini,
};
