// SPDX-License-Identifier: MIT
/* it_daemon: the real inforegd on a unique shm name, read through libinforeg:
 * cpu.usage against an independent /proc/stat computation over the same window,
 * mem.available against /proc/meminfo, per-CPU series present, a reader that stays
 * open across a daemon restart (clean and SIGKILL) sees the generation change. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "tap.h"

static char SHM[64], IRD[512];

static pid_t start_daemon(void)
{
	pid_t p = fork();
	if (p == 0) {
		execl(IRD, "inforegd", "--shm", SHM, "--listen", "none", "--period", "100", (char *)NULL);
		_exit(127);
	}
	return p;
}

static struct inforeg_reader *wait_open(void)
{
	for (int i = 0; i < 100; i++) {
		struct inforeg_reader *r = inforeg_open(SHM, 0);
		if (r) {
			if (inforeg_wait(r, 0, 2000) == 0 || inforeg_head(r) > 0)
				return r;
			inforeg_close(r);
		}
		usleep(100000);
	}
	return NULL;
}

static void stop_daemon(pid_t p, int sig)
{
	int st;
	kill(p, sig);
	waitpid(p, &st, 0);
}

/* Sum of all jiffies and of idle+iowait jiffies on the "cpu " line. */
static int proc_stat(unsigned long long *total, unsigned long long *idle)
{
	FILE *f = fopen("/proc/stat", "re");
	unsigned long long v[10] = { 0 };
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9])
		  : 0;
	if (f)
		fclose(f);
	if (n < 8)
		return -1;
	*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]; /* guest is inside user */
	*idle = v[3] + v[4];
	return 0;
}

static atomic_int burn_stop;
static void *burn(void *arg)
{
	(void)arg;
	volatile unsigned long x = 0;
	while (!atomic_load_explicit(&burn_stop, memory_order_relaxed))
		x++;
	return NULL;
}

static void test_cpu_usage_matches_proc_stat(struct inforeg_reader *r)
{
	int h = inforeg_lookup(r, "cpu.usage");
	CHECK(h >= 0);
	CHECK(inforeg_lookup(r, "cpu.usage{cpu=\"0\"}") >= 0);
	CHECK(inforeg_lookup(r, "cpu.free") >= 0);
	if (h < 0)
		return;
	pthread_t th;
	pthread_create(&th, NULL, burn, NULL); /* ~1 of the CPUs busy: a value worth comparing */
	/* window: right after sample s1 .. right after sample s1+20 (2 s) */
	uint64_t s1 = inforeg_head(r) - 1, s2 = s1 + 20;
	CHECK(inforeg_wait(r, s1, 2000) == 0);
	s1 = inforeg_head(r) - 1;
	unsigned long long t0, i0, t1, i1;
	CHECK(proc_stat(&t0, &i0) == 0);
	s2 = s1 + 20;
	while (inforeg_head(r) - 1 < s2)
		CHECK(inforeg_wait(r, inforeg_head(r) - 1, 2000) == 0);
	CHECK(proc_stat(&t1, &i1) == 0);
	atomic_store(&burn_stop, 1);
	pthread_join(th, NULL);

	double v[32];
	struct inforeg_meta m[32];
	int n = inforeg_read_history(r, h, s1 + 1, v, m, 20, NULL);
	CHECK(n == 20);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	double ours = n ? sum / n : NAN;
	double ref = 100.0 * (double)((t1 - t0) - (i1 - i0)) / (double)(t1 - t0);
	/*
	 * Tolerance: /proc/stat counts in USER_HZ (10 ms) jiffies; over a 2 s window on
	 * N CPUs each boundary can misplace up to one jiffy per CPU (0.5% of 200 jiffies
	 * per CPU each end), our reads lag the daemon's by well under a millisecond, and
	 * the daemon's per-period percentages are averaged unweighted (periods differ by
	 * a jiffy). 4 percentage points covers that with margin and still catches a wrong
	 * formula (counting iowait as busy, or a per-CPU instead of total value).
	 */
	printf("cpu.usage over 2 s: inforeg %.2f%%, /proc/stat %.2f%%\n", ours, ref);
	CHECKF(fabs(ours - ref) < 4.0, "inforeg %.2f vs /proc/stat %.2f", ours, ref);
	CHECKF(ref > 100.0 / sysconf(_SC_NPROCESSORS_ONLN) * 0.6, "the burner did not load a CPU (%.1f%%)", ref);
}

static long long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long long v = -1;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = atoll(line + kl + 1) * 1024;
	if (f)
		fclose(f);
	return v;
}

static void test_mem_available(struct inforeg_reader *r)
{
	int h = inforeg_lookup(r, "mem.available"), ht = inforeg_lookup(r, "mem.total");
	CHECK(h >= 0 && ht >= 0);
	if (h < 0 || ht < 0)
		return;
	CHECK(inforeg_wait(r, inforeg_head(r) - 1, 2000) == 0);
	long long ref = meminfo("MemAvailable"), total = meminfo("MemTotal");
	double v, t;
	CHECK(inforeg_read_latest(r, h, &v, NULL) == 0 && inforeg_read_latest(r, ht, &t, NULL) == 0);
	/* MemTotal is constant; MemAvailable may move by a few pages within a period:
	 * allow 1% of memory. */
	printf("mem.available inforeg %.0f, /proc/meminfo %lld\n", v, ref);
	CHECK(t == (double)total);
	CHECKF(fabs(v - (double)ref) < total * 0.01, "%.0f vs %lld", v, ref);
}

static void test_restart_changes_generation(struct inforeg_reader *r, pid_t *daemon)
{
	int h = inforeg_lookup(r, "cpu.usage");
	uint64_t g1 = inforeg_generation(r);
	stop_daemon(*daemon, SIGTERM);
	double v;
	CHECK(inforeg_read_latest(r, h, &v, NULL) == -ESTALE); /* retired, unlinked, no successor */
	*daemon = start_daemon();
	uint64_t g2 = g1;
	for (int i = 0; i < 100 && g2 == g1; i++) {
		usleep(100000);
		if (inforeg_read_latest(r, h, &v, NULL) == 0)
			g2 = inforeg_generation(r);
	}
	CHECK(g2 != g1);
	CHECK(inforeg_reopens(r) >= 1);

	/* a crashed daemon: SIGKILL leaves the object behind, not retired; the next
	 * daemon takes the name over and retires the stale object, so the reader moves */
	stop_daemon(*daemon, SIGKILL);
	CHECK(inforeg_read_latest(r, h, &v, NULL) == 0); /* stale data, but still readable */
	usleep(600000);
	CHECK(inforeg_is_stale(r, 3) == 1);
	*daemon = start_daemon();
	uint64_t g3 = g2;
	for (int i = 0; i < 100 && g3 == g2; i++) {
		usleep(100000);
		if (inforeg_read_latest(r, h, &v, NULL) == 0)
			g3 = inforeg_generation(r);
	}
	CHECK(g3 != g2 && g3 != g1);
	CHECK(inforeg_wait(r, inforeg_head(r) - 1, 2000) == 0);
	CHECK(inforeg_is_stale(r, 3) == 0);
}

int main(void)
{
	const char *b = getenv("INFOREG_BUILD");
	snprintf(IRD, sizeof(IRD), "%s/bin/inforegd", b ? b : "build");
	snprintf(SHM, sizeof(SHM), "irt-daemon-%d", (int)getpid());
	pid_t d = start_daemon();
	struct inforeg_reader *r = wait_open();
	CHECK(r != NULL);
	if (r) {
		int before = tap_failures;
		test_cpu_usage_matches_proc_stat(r);
		printf("%s test_cpu_usage_matches_proc_stat\n", tap_failures == before ? "ok  " : "FAIL");
		before = tap_failures;
		test_mem_available(r);
		printf("%s test_mem_available\n", tap_failures == before ? "ok  " : "FAIL");
		before = tap_failures;
		test_restart_changes_generation(r, &d);
		printf("%s test_restart_changes_generation\n", tap_failures == before ? "ok  " : "FAIL");
		inforeg_close(r);
	}
	stop_daemon(d, SIGTERM);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/%s", SHM);
	CHECK(access(path, F_OK) != 0); /* unlinked on exit */
	TAP_EXIT();
}
