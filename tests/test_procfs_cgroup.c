// SPDX-License-Identifier: MIT
/*
 * test_procfs_cgroup.c - the "cgroup" collector (container scope): its parsers on the
 * kernels' file formats, then the collector on a fake cgroup v1 root and a fake v2
 * root with known usage deltas: cpu.count from quota and cpuset, cpu.used, usage and
 * free from the usage counter over a given dt, memory from limit and usage, the host's
 * figures where unlimited, and a cgroup without its usage files refused.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "test_procfs_harness.h"

static void parsers(void)
{
	uint64_t v;
	double cores;
	CHECK(cg_parse_u64("123\n", &v) == 0 && v == 123);
	CHECK(cg_parse_u64("max\n", &v) == 0 && v == UINT64_MAX);
	CHECK(cg_parse_u64("12x\n", &v) == -EINVAL);
	CHECK(cg_parse_u64("", &v) == -EINVAL);
	CHECK(cg_parse_u64(NULL, &v) == -ENODATA);
	CHECK(cg_parse_cpu_max("50000 100000\n", &cores) == 0);
	CHECK_NEAR(cores, 0.5);
	CHECK(cg_parse_cpu_max("max 100000\n", &cores) == 0);
	CHECK_NEAR(cores, 0);
	CHECK(cg_parse_cpu_max("50000 0\n", &cores) == -EINVAL);
	CHECK(cg_parse_cpu_max("garbage", &cores) == -EINVAL);
	CHECK(cg_parse_cfs("150000\n", "100000\n", &cores) == 0);
	CHECK_NEAR(cores, 1.5);
	CHECK(cg_parse_cfs("-1\n", "100000\n", &cores) == 0);
	CHECK_NEAR(cores, 0);
	CHECK(cg_parse_cfs("x", "100000\n", &cores) == -EINVAL);
	CHECK(cg_cpulist_size("0-3,8,10-11\n") == 7);
	CHECK(cg_cpulist_size("1\n") == 1);
	CHECK(cg_cpulist_size("\n") == 0);
	CHECK(cg_cpulist_size("3-1\n") == 0);
	CHECK(cg_parse_cpu_stat_ns("usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n", &v) == 0 &&
	      v == 2500000);
	CHECK(cg_parse_cpu_stat_ns("user_usec 2000\n", &v) == -EINVAL);
	/* quota capped by the cpuset; no quota: the cpuset; neither: the host */
	CHECK_NEAR(cg_cpu_limit(0.5, 4, 8), 0.5);
	CHECK_NEAR(cg_cpu_limit(6, 4, 8), 4);
	CHECK_NEAR(cg_cpu_limit(0, 3, 8), 3);
	CHECK_NEAR(cg_cpu_limit(0, 0, 8), 8);
}

/* ---- the collector on a fake root ------------------------------------------------ */

static char root[128];

static void put(const char *rel, const char *text)
{
	char path[512], dir[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	mkdir(root, 0755);
	for (char *s = dir + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(dir, 0755);
		*s = '/';
	}
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

struct run {
	struct tick_files *tf;
	struct series_reg reg;
	struct collector c;
	struct ird_config cfg;
	double *v;
};

static int run_start(struct run *r, const char *cgroup)
{
	memset(r, 0, sizeof(*r));
	cfg_defaults(&r->cfg);
	snprintf(r->cfg.cgroup, sizeof(r->cfg.cgroup), "%s", cgroup);
	snprintf(r->cfg.cgroup_root, sizeof(r->cfg.cgroup_root), "%s", root);
	r->tf = tick_files_new(16);
	CHECK(r->tf != NULL);
	r->c.ops = &procfs_cgroup_ops;
	struct col_env env = {.reg = &r->reg, .files = r->tf, .cfg = &r->cfg};
	int e = r->c.ops->init(&r->c, &env);
	if (e < 0)
		return e;
	CHECK(r->c.ops->declare(&r->c, &r->reg) == 0);
	r->v = calloc(r->reg.count, sizeof(double));
	return 0;
}

static int run_tick(struct run *r, double dt)
{
	CHECK(tick_files_read_all(r->tf) == 0);
	struct col_now now = {.dt = dt};
	return r->c.ops->sample(&r->c, &now, r->v);
}

static double run_get(struct run *r, const char *name)
{
	for (uint32_t i = 0; i < r->reg.count; i++)
		if (!strcmp(r->reg.defs[i].name, name))
			return r->v[i];
	fprintf(stderr, "no series %s\n", name);
	t_failures++;
	return NAN;
}

static void run_stop(struct run *r)
{
	if (r->c.ops && r->c.ops->fini)
		r->c.ops->fini(&r->c);
	tick_files_free(r->tf);
	reg_free(&r->reg);
	free(r->v);
}

static void v1_quota_usage_and_memory(void)
{
	snprintf(root, sizeof(root), "/tmp/irt-cg-v1-%d", (int)getpid());
	put("cpu/pod/cpu.cfs_quota_us", "50000\n");
	put("cpu/pod/cpu.cfs_period_us", "100000\n");
	put("cpuacct/pod/cpuacct.usage", "1000000000\n");
	put("cpuset/pod/cpuset.effective_cpus", "0-1\n");
	put("memory/pod/memory.limit_in_bytes", "268435456\n");
	put("memory/pod/memory.usage_in_bytes", "67108864\n");
	struct run r;
	if (run_start(&r, "/pod") < 0) {
		CHECK(!"the v1 cgroup starts");
		return;
	}
	CHECK(run_tick(&r, 0) == 0);
	CHECK_NEAR(run_get(&r, "cpu.count"), 0.5);
	CHECK_NAN(run_get(&r, "cpu.used")); /* no previous usage yet */
	CHECK_NEAR(run_get(&r, "mem.total"), 268435456);
	CHECK_NEAR(run_get(&r, "mem.used"), 67108864);
	CHECK_NEAR(run_get(&r, "mem.available"), 268435456 - 67108864);
	/* 0.2 s of CPU over 0.5 s: 0.4 cores of 0.5 */
	put("cpuacct/pod/cpuacct.usage", "1200000000\n");
	CHECK(run_tick(&r, 0.5) == 0);
	CHECK_NEAR(run_get(&r, "cpu.used"), 0.4);
	CHECK_NEAR(run_get(&r, "cpu.usage"), 80);
	CHECK_NEAR(run_get(&r, "cpu.free"), 0.1);
	/* the quota is lifted at run time: the cpuset's two CPUs are the limit */
	put("cpu/pod/cpu.cfs_quota_us", "-1\n");
	put("cpuacct/pod/cpuacct.usage", "1300000000\n");
	CHECK(run_tick(&r, 0.1) == 0);
	CHECK_NEAR(run_get(&r, "cpu.count"), 2);
	CHECK_NEAR(run_get(&r, "cpu.used"), 1);
	CHECK_NEAR(run_get(&r, "cpu.usage"), 50);
	CHECK_NEAR(run_get(&r, "cpu.free"), 1);
	/* more than the limit within a window (CFS): usage clamped, free 0 */
	put("cpu/pod/cpu.cfs_quota_us", "50000\n");
	put("cpuacct/pod/cpuacct.usage", "1360000000\n");
	CHECK(run_tick(&r, 0.1) == 0);
	CHECK_NEAR(run_get(&r, "cpu.usage"), 100);
	CHECK_NEAR(run_get(&r, "cpu.free"), 0);
	/* garbage in the usage file: an error, NaN, never a made-up number */
	put("cpuacct/pod/cpuacct.usage", "garbage\n");
	CHECK(run_tick(&r, 0.1) < 0);
	CHECK_NAN(run_get(&r, "cpu.used"));
	run_stop(&r);
	/* unlimited memory (the v1 "no limit" is a huge number): the host's MemTotal */
	put("memory/pod/memory.limit_in_bytes", "9223372036854771712\n");
	put("cpuacct/pod/cpuacct.usage", "1400000000\n");
	CHECK(run_start(&r, "/pod") == 0);
	CHECK(run_tick(&r, 0) == 0);
	double host_total = run_get(&r, "mem.total");
	CHECK(host_total > 0 && host_total < 9e18);
	run_stop(&r);
	/* no usage file: refused, saying which */
	char path[256];
	snprintf(path, sizeof(path), "%s/cpuacct/pod/cpuacct.usage", root);
	unlink(path);
	CHECK(run_start(&r, "/pod") == -ENOENT);
	CHECK(strstr(r.c.off_reason, "cpuacct.usage") != NULL);
	run_stop(&r);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

static void v2_cpu_max_and_memory_max(void)
{
	snprintf(root, sizeof(root), "/tmp/irt-cg-v2-%d", (int)getpid());
	put("cgroup.controllers", "cpuset cpu io memory pids\n");
	put("kubepods/pod1/cpu.max", "150000 100000\n");
	put("kubepods/pod1/cpu.stat", "usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n");
	put("kubepods/pod1/cpuset.cpus.effective", "0-3\n");
	put("kubepods/pod1/memory.max", "max\n");
	put("kubepods/pod1/memory.current", "1048576\n");
	struct run r;
	if (run_start(&r, "/kubepods/pod1") < 0) {
		CHECK(!"the v2 cgroup starts");
		return;
	}
	CHECK(run_tick(&r, 0) == 0);
	CHECK_NEAR(run_get(&r, "cpu.count"), 1.5);
	double host_total = run_get(&r, "mem.total"); /* "max": the host's */
	CHECK(host_total > 1048576);
	CHECK_NEAR(run_get(&r, "mem.used"), 1048576);
	/* 0.3 s of CPU over 0.25 s: 1.2 cores of 1.5 */
	put("kubepods/pod1/cpu.stat", "usage_usec 5300000\nuser_usec 4200000\nsystem_usec 1100000\n");
	put("kubepods/pod1/memory.max", "2097152\n");
	CHECK(run_tick(&r, 0.25) == 0);
	CHECK_NEAR(run_get(&r, "cpu.used"), 1.2);
	CHECK_NEAR(run_get(&r, "cpu.usage"), 80);
	CHECK_NEAR(run_get(&r, "cpu.free"), 0.3);
	CHECK_NEAR(run_get(&r, "mem.total"), 2097152);
	CHECK_NEAR(run_get(&r, "mem.available"), 1048576);
	/* "max" quota: the cpuset's four CPUs */
	put("kubepods/pod1/cpu.max", "max 100000\n");
	CHECK(run_tick(&r, 0.25) == 0);
	CHECK_NEAR(run_get(&r, "cpu.count"), 4);
	run_stop(&r);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

static void off_without_a_cgroup(void)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	r.c.ops = &procfs_cgroup_ops;
	struct col_env env = {.reg = &r.reg, .files = NULL, .cfg = NULL};
	CHECK(r.c.ops->init(&r.c, &env) == -EOPNOTSUPP);
	r.c.ops->fini(&r.c);
}

int main(void)
{
	RUN(parsers);
	RUN(v1_quota_usage_and_memory);
	RUN(v2_cpu_max_and_memory_max);
	RUN(off_without_a_cgroup);
	return t_exit();
}
