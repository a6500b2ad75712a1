// SPDX-License-Identifier: MIT
/*
 * it_bpf_cpu_exact - ebpf.cpu reads a pinned busy loop as ~100% of its CPU, smoothly at
 * 100 ms periods (where /proc/stat is quantised to 4 ms ticks and a CPU running one
 * thread never switches, so only the interval added at read time shows it), and its
 * total agrees with /proc/stat over a 2 s window.
 *
 * Tolerance for the total: /proc/stat charges whole ticks (CONFIG_HZ=250 here: 4 ms)
 * by sampling what runs at each tick. Over W = 2 s on N CPUs that gives (a) up to one
 * tick per CPU of quantisation at each end of the window: 2*N*4 ms / (N*2 s) = 0.4
 * points; (b) sampling error on the CPUs that are not burning: their short bursts are
 * counted as whole ticks when a tick hits them and not at all otherwise, and timer-
 * driven work that runs right at the tick is always counted (a bias towards busy).
 * On a quiet machine the agreement is under 0.3 points; we allow 3. But (b) has no
 * bound: with another process running 300 us bursts every 1 ms on the other CPU,
 * /proc/stat read 36% for that CPU where the process itself (CLOCK_PROCESS_CPUTIME_ID)
 * and ebpf.cpu read 29%. So the total is also compared with a reference that is
 * ns-exact and independent of sched_switch: the kernel's own run time of every thread
 * (/proc/PID/task/TID/schedstat, se.sum_exec_runtime), summed over the window. It
 * misses threads that exited inside the window and lags a running thread by up to a
 * tick, so it gets 1.5 points. The total passes when it agrees with /proc/stat within
 * 3 points, or, when tick sampling and the kernel's ns accounting disagree with each
 * other, with the ns reference within 1.5 points. Either way the burner's own CPU is
 * checked against /proc/stat (a CPU that never idles has no sampling error: 2 points).
 * A broken open interval (the burner reads 0) or idle counted as busy moves the total
 * by ~50 points. So did the kernel's unreported switches to the idle task before
 * ir_cpu_idle repaired them: 17 points in one CI run (0.2-2.6 points in quiet runs),
 * where the agent that drives this VM kept waking on the other CPU.
 */
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include "it_bpf_harness.h"

struct procstat {
	unsigned long long busy, total;
};

/* /proc/stat line for CPU (or the "cpu" total line when CPU < 0), in ticks. */
static struct procstat read_procstat(int cpu)
{
	char want[16], line[512];
	struct procstat p = {0, 0};
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		H_FAIL("/proc/stat: %s", strerror(errno));
	if (cpu < 0)
		snprintf(want, sizeof(want), "cpu ");
	else
		snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[10] = {0};

		if (strncmp(line, want, strlen(want)))
			continue;
		sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
		/* user nice system idle iowait irq softirq steal (guest is inside user) */
		p.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		p.total = p.busy + v[3] + v[4];
	}
	fclose(f);
	return p;
}

/* Run time (ns) of every thread now, from the kernel's own accounting. */
static double threads_runtime_ns(void)
{
	DIR *procd = opendir("/proc"), *taskd;
	struct dirent *p, *t;
	double sum = 0;
	char path[600];

	if (!procd)
		H_FAIL("/proc: %s", strerror(errno));
	while ((p = readdir(procd))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		if (!(taskd = opendir(path)))
			continue; /* exited */
		while ((t = readdir(taskd))) {
			unsigned long long ns;
			FILE *f;

			if (t->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/schedstat", p->d_name, t->d_name);
			if (!(f = fopen(path, "re")))
				continue;
			if (fscanf(f, "%llu", &ns) == 1)
				sum += (double)ns;
			fclose(f);
		}
		closedir(taskd);
	}
	closedir(procd);
	return sum;
}

static pid_t start_burner(int cpu)
{
	pid_t pid = fork();

	if (pid == 0) {
		cpu_set_t set;
		volatile unsigned long x = 0;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		for (;;)
			x++;
	}
	if (pid < 0)
		H_FAIL("fork: %s", strerror(errno));
	return pid;
}

/* The highest CPU we may run on (and the number of them). */
static int last_allowed_cpu(void)
{
	cpu_set_t set;
	int last = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		H_FAIL("sched_getaffinity: %s", strerror(errno));
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			last = i;
	return last;
}

int main(void)
{
	static const char *const names[] = {"ebpf.cpu", NULL};
	struct harness h;
	struct procstat p0, p1, b0, b1;
	char name[64];
	int cpu;
	pid_t burner;
	double exact, proc, burnproc, ref, r0, r1, t0, t1, minv = 1000;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);

	h_init(&h, names);
	cpu = last_allowed_cpu();
	snprintf(name, sizeof(name), "cpu.usage.exact{cpu=\"%d\"}", cpu);
	printf("burning CPU %d\n", cpu);

	h_sample(&h);
	burner = start_burner(cpu);
	h_sleep_ms(300); /* let it settle on its CPU */

	/* short periods: the burner's CPU must read ~100% every time, not tick-quantised */
	h_sample(&h);
	for (int i = 0; i < 10; i++) {
		h_sleep_ms(100);
		h_sample(&h);
		printf("100 ms period %d: %s = %.2f%%\n", i, name, h_get(&h, name));
		if (!(h_get(&h, name) >= minv))
			minv = h_get(&h, name);
	}
	H_CHECK(minv >= 95.0, "burner CPU read %.2f%% in a 100 ms period (want >= 95)", minv);

	/* long window: against /proc/stat and the threads' run time, read next to our samples */
	t0 = (double)h_now_ns();
	r0 = threads_runtime_ns();
	p0 = read_procstat(-1);
	b0 = read_procstat(cpu);
	h_sample(&h);
	h_sleep_ms(2000);
	h_sample(&h);
	b1 = read_procstat(cpu);
	p1 = read_procstat(-1);
	r1 = threads_runtime_ns();
	t1 = (double)h_now_ns();
	kill(burner, SIGKILL);
	waitpid(burner, NULL, 0);

	exact = h_get(&h, "cpu.usage.exact");
	proc = 100.0 * (double)(p1.busy - p0.busy) / (double)(p1.total - p0.total);
	burnproc = 100.0 * (double)(b1.busy - b0.busy) / (double)(b1.total - b0.total);
	ref = 100.0 * (r1 - r0) / ((t1 - t0) * ncpu);
	printf("2 s window: %s = %.2f%% (/proc/stat %.2f%%), cpu.usage.exact = %.2f%%, /proc/stat total = "
	       "%.2f%%, threads' run time = %.2f%%\n",
	       name, h_get(&h, name), burnproc, exact, proc, ref);
	/* informational: how many switches the kernel's sched_switch did not report */
	printf("unreported switches since load: %.0f\n", h_get(&h, "cpu.usage.exact.unreported_switches"));
	H_CHECK(h_get(&h, name) >= 97.0, "burner CPU over 2 s: %.2f%% (want >= 97)", h_get(&h, name));
	H_CHECK(fabs(h_get(&h, name) - burnproc) <= 2.0,
		"burner CPU %.2f%% vs /proc/stat %.2f%% (tolerance 2)", h_get(&h, name), burnproc);
	if (fabs(exact - proc) > 3.0)
		printf("/proc/stat total is %.2f points off; the threads' run time decides\n", exact - proc);
	H_CHECK(fabs(exact - proc) <= 3.0 || fabs(exact - ref) <= 1.5,
		"total %.2f%% vs /proc/stat %.2f%% (tolerance 3) and vs the threads' run time %.2f%% (1.5)",
		exact, proc, ref);
	/* the burner alone keeps one of ncpu CPUs busy */
	H_CHECK(exact >= 0.97 * 100.0 / ncpu && exact <= 100.0, "total %.2f%% with %d CPUs", exact, ncpu);
	h_fini(&h);
	return 0;
}
