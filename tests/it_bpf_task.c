// SPDX-License-Identifier: MIT
/*
 * it_bpf_task - ebpf.task measures the CPU time of a child that burns 10 ms of CPU time
 * every 40 ms (a demand of 25% of a CPU, which it gets even sharing its CPU with a busy
 * loop: CFS gives each of two tasks half), selected three ways at once: by pid, by its command name, and by a
 * cgroup v2 directory the child sits below (in a sub-cgroup, so descendants are matched). Over a 2 s window
 * each watch's task.cpu.seconds must agree with the kernel's own accounting of the child: /proc/PID/stat
 * utime+stime (USER_HZ ticks, each field truncated: 20 ms of slack plus 2%) and /proc/PID/schedstat
 * (sum_exec_runtime in ns, updated at ticks and switches: 8 ms plus 1%), plus h_unreported_slack() for the switches
 * the kernel did not report in the window (more of them under load; see it_bpf_harness.h). task.count must be at most 2 in every
 * period, and at least 1 in every period in which the child switched in (its schedstat pcount, read after the
 * period's first sample and before its last, rose): on a loaded machine the child may wait a whole period for its
 * CPU, and its 25% demand is then not met either, so neither is compared with a fixed figure. Also checks the
 * control path: duplicate names, unknown pids, missing cgroups, list and
 * delete (the deleted watch's series go at the next declare).
 */
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include "it_bpf_harness.h"

static char cg_top[256], cg_leaf[300];
static pid_t child;

static void cleanup(void)
{
	h_reap(&child);
	if (cg_leaf[0])
		rmdir(cg_leaf);
	if (cg_top[0])
		rmdir(cg_top);
}

static void child_loop(int go_fd, const char *comm)
{
	char b;
	struct timespec next;

	prctl(PR_SET_NAME, comm);
	if (read(go_fd, &b, 1) != 1)
		_exit(1);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		struct timespec t;
		uint64_t start, now;

		/* 10 ms of this thread's CPU time, however long it waits for it */
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
		start = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
		do {
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
			now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
		} while (now - start < 10000000ull);
		next.tv_nsec += 40000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}

static const char *v2_root(void)
{
	struct statfs sf;

	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == 0x63677270)
		return "/sys/fs/cgroup";
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == 0x63677270)
		return "/sys/fs/cgroup/unified";
	return NULL;
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		H_FAIL("writing %s to %s: %s", s, path, strerror(errno));
	close(fd);
}

/* Times PID was switched in after waiting on a run queue (/proc/PID/schedstat pcount). */
static unsigned long long switch_ins(pid_t pid)
{
	unsigned long long exec, delay, cnt;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if (!(f = fopen(path, "re")) || fscanf(f, "%llu %llu %llu", &exec, &delay, &cnt) != 3)
		H_FAIL("%s: %s", path, strerror(errno));
	fclose(f);
	return cnt;
}

/* utime+stime of PID in seconds, and sum_exec_runtime in seconds. */
static void kernel_cpu(pid_t pid, double *stat_s, double *sched_s)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st, ns;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")) || !fgets(buf, sizeof(buf), f))
		H_FAIL("%s: %s", path, strerror(errno));
	fclose(f);
	p = strrchr(buf, ')');
	/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		H_FAIL("cannot parse %s", path);
	*stat_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if (!(f = fopen(path, "re")) || fscanf(f, "%llu", &ns) != 1)
		H_FAIL("%s: %s", path, strerror(errno));
	fclose(f);
	*sched_s = (double)ns / 1e9;
}

static double secs(const struct harness *h, const char *w)
{
	char name[96];

	snprintf(name, sizeof(name), "task.cpu.seconds{watch=\"%s\"}", w);
	return h_get(h, name);
}

int main(void)
{
	static const char *const names[] = {"ebpf.task", NULL};
	static const char *const watches[] = {"bypid", "bycomm", "bycg"};
	struct watch_spec w, list[WATCH_MAX];
	double s0[3], s1[3], st0, st1, sc0, sc1, count_min[3], count_max[3];
	unsigned long long sw_after, sw_before;
	int checked = 0;
	struct collector dummy;
	double un0, un1;
	struct cbpf *b;
	const char *root;
	char err[256], comm[16], spec[400], pidbuf[32], name[96];
	int go[2], r;
	struct harness h;
	uint64_t t0, t1;

	h_init(&h, names);
	root = v2_root();
	if (!root)
		H_FAIL("no cgroup v2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified");
	atexit(cleanup);

	snprintf(comm, sizeof(comm), "irtask%d", (int)getpid() % 100000);
	if (pipe(go) != 0)
		H_FAIL("pipe: %s", strerror(errno));
	child = fork();
	if (child == 0)
		child_loop(go[0], comm);
	if (child < 0)
		H_FAIL("fork: %s", strerror(errno));
	snprintf(cg_top, sizeof(cg_top), "%s/irtest-%d", root, (int)getpid());
	snprintf(cg_leaf, sizeof(cg_leaf), "%s/leaf", cg_top);
	if (mkdir(cg_top, 0755) != 0 || mkdir(cg_leaf, 0755) != 0)
		H_FAIL("mkdir %s: %s", cg_leaf, strerror(errno));
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)child);
	snprintf(spec, sizeof(spec), "%s/cgroup.procs", cg_leaf);
	write_file(spec, pidbuf);
	if (write(go[1], "g", 1) != 1)
		H_FAIL("pipe write");

	/* the control path */
	snprintf(spec, sizeof(spec), "pid:%d", (int)child);
	H_CHECK(watch_spec_parse("bypid", spec, &w, err, sizeof(err)) == 0, "parse: %s", err);
	H_CHECK((r = ctl_watch_add(&w, err, sizeof(err))) == 0, "add bypid: %s", err);
	H_CHECK(ctl_watch_add(&w, err, sizeof(err)) == -EEXIST, "duplicate name accepted");
	snprintf(spec, sizeof(spec), "comm:%s", comm);
	H_CHECK(watch_spec_parse("bycomm", spec, &w, err, sizeof(err)) == 0, "parse: %s", err);
	H_CHECK(ctl_watch_add(&w, err, sizeof(err)) == 0, "add bycomm: %s", err);
	snprintf(spec, sizeof(spec), "cgroup:irtest-%d", (int)getpid()); /* relative to the v2 root */
	H_CHECK(watch_spec_parse("bycg", spec, &w, err, sizeof(err)) == 0, "parse: %s", err);
	H_CHECK(ctl_watch_add(&w, err, sizeof(err)) == 0, "add bycg: %s", err);
	H_CHECK(watch_spec_parse("Bad Name", "pid:1", &w, err, sizeof(err)) == -EINVAL, "bad name parsed");
	H_CHECK(watch_spec_parse("x", "tid:1", &w, err, sizeof(err)) == -EINVAL, "bad kind parsed");
	watch_spec_parse("gone", "pid:999999999", &w, err, sizeof(err));
	H_CHECK(ctl_watch_add(&w, err, sizeof(err)) == -EINVAL, "watch on a missing pid accepted");
	printf("    missing pid: %s\n", err);
	watch_spec_parse("nocg", "cgroup:no/such/group", &w, err, sizeof(err));
	H_CHECK(ctl_watch_add(&w, err, sizeof(err)) == -EINVAL, "watch on a missing cgroup accepted");
	printf("    missing cgroup: %s\n", err);
	H_CHECK(ctl_watch_list(list, WATCH_MAX) == 3, "list has %d watches", ctl_watch_list(list, WATCH_MAX));

	/* applied at the next sample, declared at the re-layout that follows */
	h_sample(&h);
	h_declare(&h);
	h_sample(&h);
	h_sleep_ms(300);

	memset(&dummy, 0, sizeof(dummy));
	b = cbpf_get(&dummy, &h.cfg); /* the objects ebpf.task loaded: one more reference */
	if (!b)
		H_FAIL("cbpf_get: %s", dummy.off_reason);
	un0 = h_unreported(b);
	kernel_cpu(child, &st0, &sc0);
	h_sample(&h);
	t0 = h_now_ns();
	for (int k = 0; k < 3; k++) {
		s0[k] = secs(&h, watches[k]);
		count_min[k] = 1e9;
		count_max[k] = -1;
	}
	sw_after = switch_ins(child);
	for (int i = 0; i < 20; i++) {
		int in_period;

		h_sleep_ms(100);
		sw_before = switch_ins(child);
		h_sample(&h);
		/* switched in strictly inside this sample's period: counted in it */
		in_period = sw_before > sw_after;
		checked += in_period;
		for (int k = 0; k < 3; k++) {
			double c;

			snprintf(name, sizeof(name), "task.count{watch=\"%s\"}", watches[k]);
			c = h_get(&h, name);
			if (in_period)
				count_min[k] = c < count_min[k] ? c : count_min[k];
			count_max[k] = c > count_max[k] ? c : count_max[k];
		}
		sw_after = switch_ins(child);
	}
	t1 = h_now_ns();
	for (int k = 0; k < 3; k++)
		s1[k] = secs(&h, watches[k]);
	kernel_cpu(child, &st1, &sc1);
	un1 = h_unreported(b);

	printf("kernel: /proc/PID/stat %.3f s, schedstat %.4f s over %.3f s; %.0f unreported switches\n",
	       st1 - st0, sc1 - sc0, (double)(t1 - t0) / 1e9, un1 - un0);
	for (int k = 0; k < 3; k++) {
		double d = s1[k] - s0[k], sched = sc1 - sc0, stat = st1 - st0;
		double usage = 100.0 * d / ((double)(t1 - t0) / 1e9);

		printf("%-6s: %.4f s (%.1f%% of a CPU), task.count in [%.0f, %.0f] (minimum over the %d periods "
		       "the child switched in)\n",
		       watches[k], d, usage, count_min[k], count_max[k], checked);
		double slack = h_unreported_slack(un1 - un0);

		H_CHECK(fabs(d - stat) <= 0.020 + 0.02 * stat + slack, "%s: %.4f s vs /proc/PID/stat %.3f s",
			watches[k], d, stat);
		H_CHECK(fabs(d - sched) <= 0.008 + 0.01 * sched + slack, "%s: %.4f s vs schedstat %.4f s", watches[k],
			d, sched);
		H_CHECK(sched > 0.05, "the child barely ran: %.4f s in the window", sched);
		H_CHECK((checked == 0 || count_min[k] >= 1) && count_max[k] <= 2,
			"%s: task.count in [%.0f, %.0f], want 1", watches[k], count_min[k], count_max[k]);
	}

	/* delete: gone from the list at once, from the series at the next declare */
	H_CHECK(ctl_watch_del("bycomm") == 0, "delete bycomm");
	H_CHECK(ctl_watch_del("bycomm") == -ENOENT, "second delete");
	H_CHECK(ctl_watch_list(list, WATCH_MAX) == 2, "list after delete");
	h_sample(&h);
	H_CHECK(isnan(secs(&h, "bycomm")), "deleted watch still has a value");
	h_declare(&h);
	H_CHECK(h_find(&h, "task.cpu.seconds{watch=\"bycomm\"}") < 0, "deleted watch still declared");
	h_sample(&h);
	H_CHECK(secs(&h, "bypid") >= s1[0], "bypid went backwards after the re-layout");

	cleanup();
	cbpf_put(b);
	h_fini(&h);
	snprintf(spec, sizeof(spec), "pid:%d", (int)getpid());
	watch_spec_parse("self", spec, &w, err, sizeof(err));
	H_CHECK(ctl_watch_add(&w, err, sizeof(err)) == -EOPNOTSUPP, "add after fini");
	printf("    after fini: %s\n", err);
	return 0;
}
