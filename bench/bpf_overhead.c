// SPDX-License-Identifier: MIT
/*
 * bpf_overhead - what the eBPF collectors cost.
 *
 *  1. Slowdown of a context-switch-heavy workload (a pipe ping-pong between two
 *     processes, the shape of `perf bench sched pipe`, or perf itself with --perf) with
 *     every inforegd eBPF program attached and the collectors sampled every 100 ms, against
 *     nothing attached. Runs are interleaved (the order rotates each round) so drift
 *     and noise hit both alike; we print medians and their ratio.
 *  2. The CPU each collector's sample() takes per tick (median, thread CPU time).
 *  3. Per-event run time of each program from the kernel's BPF stats (BPF_ENABLE_STATS,
 *     only during that phase: the stats' own clock reads are not in part 1).
 *  4. raw_tracepoint vs tracepoint for sched_switch: the same body (kernel/
 *     bench_switch.bpf.c) attached each way: per-event ns and workload slowdown.
 *
 * With --cpu N everything (both ends of the ping-pong, perf, the sampler) runs on CPU N:
 * two switches per round trip and no cross-CPU wake-ups, so the round trip does not
 * jump between the one-CPU and two-CPU shapes from run to run (the largest source of
 * noise on a 2-CPU machine), and the relative cost of the programs is at its highest.
 * With --cpu N,M (ping-pong only) the echoing end runs on CPU M instead: the two-CPU
 * shape, four switches (two to and from idle) and two cross-CPU wake-ups per round trip.
 * Besides the ratio of medians, the median of the per-round ratios (each round's runs
 * are back to back, so slow drift cancels) is printed.
 *
 * Every figure is also printed as @result lines (bench/bench.h) under bench
 * "bpf_overhead", metric names prefixed with --tag (bpf_overhead.sh runs several shapes).
 *
 * Usage: bpf_overhead [--rounds N] [--iters N] [--perf] [--cpu N[,M]] [--tag T]   (root)
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ebpf/ebpf.h"
#include "config.h"
#include "cpu.skel.h"
#include "sched.skel.h"
#include "blkio.skel.h"
#include "bench_switch.skel.h"
#include "bench.h"

#define MAXR 64
#define NCOL 5

static int iters = 20000, rounds = 11, use_perf, sync_only, pin_cpu = -1, pin_cpu2 = -1;
static const char *tag = "run";

/* @result bpf_overhead TAG.WHAT UNIT over V[N], against TAG.BASE (NULL: none) */
static void result(const char *what, const char *unit, double *v, int n, const char *base)
{
	char m[96], b[96];

	snprintf(m, sizeof(m), "%s.%s", tag, what);
	snprintf(b, sizeof(b), "%s.%s", tag, base ? base : "");
	bench_result(stdout, "bpf_overhead", m, unit, v, n, base ? b : NULL);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : NAN;
}

/* ---- workload: us per round trip ------------------------------------------------ */

static double pingpong_us(void)
{
	int a[2], b[2];
	char c = 0;
	pid_t pid;
	uint64_t t0, t1;

	if (pipe(a) || pipe(b))
		exit(1);
	pid = fork();
	if (pid == 0) {
		if (pin_cpu2 >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(pin_cpu2, &set);
			if (sched_setaffinity(0, sizeof(set), &set))
				_exit(1);
		}
		for (int i = 0; i < iters; i++)
			if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < iters; i++)
		if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
			exit(1);
	t1 = now_ns(CLOCK_MONOTONIC);
	waitpid(pid, NULL, 0);
	close(a[0]), close(a[1]), close(b[0]), close(b[1]);
	return (double)(t1 - t0) / 1e3 / iters;
}

static double perf_us(void)
{
	char cmd[128], line[256];
	double us = NAN;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "perf bench sched pipe -l %d 2>&1", iters);
	if (!(f = popen(cmd, "r")))
		exit(1);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "usecs/op"))
			sscanf(line, "%lf", &us);
	pclose(f);
	return us;
}

/*
 * Load, attach, detach and free leave work behind (text patching of the tracepoint's
 * static key, RCU callbacks and deferred work freeing maps and programs) that would
 * otherwise land in the next run: the daemon loads once and runs for days, so we time
 * the steady state and give every configuration, "no BPF" included, the same pause.
 */
static double workload(void)
{
	usleep(100000);
	return use_perf ? perf_us() : pingpong_us();
}

/* ---- the collectors, driven like the main loop does ---------------------------- */

struct loaded {
	struct ird_config cfg;
	struct series_reg reg;
	struct collector cols[NCOL];
	double *values;
	pthread_t thr;
	volatile int stop;
	double cost_us[NCOL][4096];
	int ncost;
};

static void *sampler(void *arg)
{
	struct loaded *l = arg;
	struct col_now now = {0};

	while (!l->stop) {
		usleep(100000);
		now.mono_ns = now_ns(CLOCK_MONOTONIC);
		for (int i = 0; i < NCOL; i++) {
			uint64_t t = now_ns(CLOCK_THREAD_CPUTIME_ID);

			l->cols[i].ops->sample(&l->cols[i], &now, l->values);
			if (l->ncost < 4096)
				l->cost_us[i][l->ncost] = (double)(now_ns(CLOCK_THREAD_CPUTIME_ID) - t) / 1e3;
		}
		if (l->ncost < 4096)
			l->ncost++;
	}
	return NULL;
}

static void load_all(struct loaded *l)
{
	memset(&l->reg, 0, sizeof(l->reg));
	cfg_defaults(&l->cfg);
	for (int i = 0; i < NCOL; i++) {
		struct col_env env = {.reg = &l->reg, .cfg = &l->cfg};
		struct collector *c = &l->cols[i];

		memset(c, 0, sizeof(*c));
		c->ops = ebpf_collectors[i];
		if (c->ops->init(c, &env) < 0 || c->ops->declare(c, &l->reg) < 0) {
			fprintf(stderr, "%s: %s\n", c->ops->name, c->off_reason);
			exit(1);
		}
	}
	l->values = calloc(l->reg.count, sizeof(double));
	l->stop = 0;
	pthread_create(&l->thr, NULL, sampler, l);
}

static void unload_all(struct loaded *l)
{
	l->stop = 1;
	pthread_join(l->thr, NULL);
	for (int i = 0; i < NCOL; i++)
		l->cols[i].ops->fini(&l->cols[i]);
	reg_free(&l->reg);
	free(l->values);
}

/* ---- raw_tp vs tp ------------------------------------------------------------------ */

/* The three sched_switch programs of kernel/bench_switch.bpf.c. */
enum { SW_TP, SW_RAW, SW_EMPTY };
static const char *const sw_name[] = {"tracepoint", "raw_tracepoint", "empty raw_tp"};

static struct bpf_program *switch_prog(struct bench_switch_bpf *s, int kind)
{
	if (kind == SW_EMPTY)
		return s->progs.sw_empty;
	return kind == SW_RAW ? s->progs.sw_raw : s->progs.sw_tp;
}

static struct bench_switch_bpf *attach_switch(int kind)
{
	struct bench_switch_bpf *s = bench_switch_bpf__open_and_load();
	struct bpf_program *p;
	struct bpf_link *lk;

	if (!s)
		exit(1);
	p = switch_prog(s, kind);
	lk = bpf_program__attach(p);
	if (!lk) {
		fprintf(stderr, "attach %s: %s\n", bpf_program__name(p), strerror(errno));
		exit(1);
	}
	/* destroy() detaches it */
	if (kind == SW_EMPTY)
		s->links.sw_empty = lk;
	else if (kind == SW_RAW)
		s->links.sw_raw = lk;
	else
		s->links.sw_tp = lk;
	return s;
}

static double prog_ns_per_run(int fd, uint64_t *cnt)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return NAN;
	*cnt = info.run_cnt;
	return info.run_cnt ? (double)info.run_time_ns / (double)info.run_cnt : NAN;
}

/*
 * What cbpf_sync_cpus() costs the daemon: once at load and per watch add on every CPU,
 * and per tick on the busy CPUs of a kernel that drops switches. The caller stays on its
 * CPU (a direct call there); another CPU is first kept busy by a child (an IPI to a
 * running CPU), then left idle (an IPI that wakes it, which the per-tick pass skips).
 */
static double sync_median(struct cbpf *b, int busy_only)
{
	enum { N = 2000 };
	double v[N];

	for (int i = 0; i < N; i++) {
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);

		cbpf_sync_cpus(b, busy_only ? now_ns(CLOCK_MONOTONIC) : 0);
		v[i] = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e3;
	}
	return median(v, N);
}

static void sync_cost(struct cbpf *b)
{
	int me = sched_getcpu(), other = -1;
	cpu_set_t old, set;
	pid_t pid;

	for (int i = 0; i < b->nonline && other < 0; i++)
		if (b->online[i] != me)
			other = b->online[i];
	if (other < 0 || sched_getaffinity(0, sizeof(old), &old) != 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(me, &set);
	sched_setaffinity(0, sizeof(set), &set);
	pid = fork();
	if (pid == 0) {
		CPU_ZERO(&set);
		CPU_SET(other, &set);
		sched_setaffinity(0, sizeof(set), &set);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	if (pid < 0)
		return;
	usleep(100000);
	printf("\n== ir_cpu_sync through BPF_PROG_TEST_RUN: CPU %d direct, others by IPI (%d CPUs), median "
	       "of 2000 ==\n",
	       me, b->nonline);
	printf("CPU %d busy: all CPUs (load, watch add) %6.2f us, busy CPUs that did not switch (per tick) "
	       "%6.2f us\n",
	       other, sync_median(b, 0), sync_median(b, 1));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	usleep(100000);
	printf("CPU %d idle: all CPUs (load, watch add) %6.2f us, busy CPUs that did not switch (per tick) "
	       "%6.2f us\n",
	       other, sync_median(b, 0), sync_median(b, 1));
	sched_setaffinity(0, sizeof(old), &old);
}

int main(int argc, char **argv)
{
	static struct loaded l;
	double off[MAXR], on[MAXR], onidle[MAXR], raw[MAXR], tp[MAXR], emp[MAXR], q[5][MAXR],
	    cost[NCOL][4096 * 2];
	int ncost[NCOL] = {0}, mounted = 0, statfd;
	struct collector dummy;
	const char *shape = "not pinned";
	uint64_t cnt;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--perf"))
			use_perf = 1;
		else if (!strcmp(argv[i], "--sync"))
			sync_only = 1;
		else if (!strcmp(argv[i], "--tag") && i + 1 < argc)
			tag = argv[++i];
		else if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
			const char *comma;

			pin_cpu = atoi(argv[++i]);
			if ((comma = strchr(argv[i], ',')))
				pin_cpu2 = atoi(comma + 1);
		}
	}
	if (pin_cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(pin_cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("sched_setaffinity");
			return 1;
		}
	}
	if (rounds > MAXR)
		rounds = MAXR;
	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return 77;
	}
	/* classic tracepoints resolve their id through tracefs */
	if (access("/sys/kernel/tracing/events/sched/sched_switch/id", R_OK) != 0) {
		if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0)
			mounted = 1;
	}
	libbpf_set_print(NULL);
	if (sync_only) { /* the cost of ir_cpu_sync alone */
		struct cbpf *b;

		load_all(&l);
		memset(&dummy, 0, sizeof(dummy));
		b = cbpf_get(&dummy, &l.cfg);
		if (b) {
			sync_cost(b);
			cbpf_put(b);
		}
		unload_all(&l);
		return 0;
	}
	if (pin_cpu2 >= 0 && !use_perf)
		shape = "the two ends on two CPUs";
	else if (pin_cpu >= 0)
		shape = "all on one CPU";
	printf("workload: %s, %d round trips per run, %d rounds interleaved, %s\n",
	       use_perf ? "perf bench sched pipe" : "pipe ping-pong", iters, rounds, shape);
	workload(); /* warm up */
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 6; k++) {
			int which = (k + r) % 6; /* rotate the order each round */

			if (which == 0) {
				off[r] = workload();
			} else if (which == 5) {
				/* as "all", with the cpu_idle repair attached from the start, as it is
				 * on a kernel that drops switches (see ir_cpu_idle) */
				struct cbpf *b;

				load_all(&l);
				memset(&dummy, 0, sizeof(dummy));
				b = cbpf_get(&dummy, &l.cfg);
				b->cpu->bss->switch_unreported = 1;
				cbpf_repair(b, 0);
				onidle[r] = workload();
				cbpf_put(b);
				l.ncost = 0; /* sample() costs are taken from "all" alone */
				unload_all(&l);
			} else if (which == 1) {
				load_all(&l);
				on[r] = workload();
				for (int i = 0; i < NCOL; i++)
					for (int j = 0; j < l.ncost && ncost[i] < 4096 * 2; j++)
						cost[i][ncost[i]++] = l.cost_us[i][j];
				l.ncost = 0;
				unload_all(&l);
			} else {
				static const int kind[5] = {0, 0, SW_RAW, SW_TP, SW_EMPTY};
				double *res[5] = {NULL, NULL, raw, tp, emp};
				struct bench_switch_bpf *s = attach_switch(kind[which]);

				res[which][r] = workload();
				bench_switch_bpf__destroy(s);
			}
		}
		fprintf(
		    stderr,
		    "round %d: off %.2f on %.2f on+idle %.2f raw_tp %.2f tp %.2f empty %.2f us/round trip\n",
		    r, off[r], on[r], onidle[r], raw[r], tp[r], emp[r]);
	}
	/* paired ratios first: median() sorts its array in place */
	for (int r = 0; r < rounds; r++) {
		q[0][r] = on[r] / off[r];
		q[1][r] = raw[r] / off[r];
		q[2][r] = tp[r] / off[r];
		q[3][r] = emp[r] / off[r];
		q[4][r] = onidle[r] / off[r];
	}
	{
		double mo = median(off, rounds), mn = median(on, rounds), mr = median(raw, rounds),
		       mt = median(tp, rounds), me = median(emp, rounds), mi = median(onidle, rounds);

		printf("\n== workload, median us per round trip (same run, interleaved) ==\n");
		printf("no BPF                       %8.2f\n", mo);
		printf("all inforegd programs        %8.2f   ratio %.4f (%+.2f%%)\n", mn, mn / mo,
		       100 * (mn / mo - 1));
		printf("all + cpu_idle repair        %8.2f   ratio %.4f (%+.2f%%)\n", mi, mi / mo,
		       100 * (mi / mo - 1));
		printf("sched_switch raw_tracepoint  %8.2f   ratio %.4f (%+.2f%%)\n", mr, mr / mo,
		       100 * (mr / mo - 1));
		printf("sched_switch tracepoint      %8.2f   ratio %.4f (%+.2f%%)\n", mt, mt / mo,
		       100 * (mt / mo - 1));
		printf("empty program, sched_switch  %8.2f   ratio %.4f (%+.2f%%)  (the floor)\n", me,
		       me / mo, 100 * (me / mo - 1));
	}
	{
		/* medians sorted the arrays: [0] is each one's fastest run, which noise (only ever
		 * added time) touches least */
		printf(
		    "fastest runs: no BPF %.3f us; all %+.2f%%, all + cpu_idle %+.2f%%, sched_switch raw_tp "
		    "%+.2f%%, tp %+.2f%%, empty %+.2f%%\n",
		    off[0], 100 * (on[0] / off[0] - 1), 100 * (onidle[0] / off[0] - 1),
		    100 * (raw[0] / off[0] - 1), 100 * (tp[0] / off[0] - 1), 100 * (emp[0] / off[0] - 1));
		printf("median of per-round ratios: all %+.2f%%, all + cpu_idle %+.2f%%, sched_switch raw_tp "
		       "%+.2f%%, tp %+.2f%%, empty %+.2f%%\n",
		       100 * (median(q[0], rounds) - 1), 100 * (median(q[4], rounds) - 1),
		       100 * (median(q[1], rounds) - 1), 100 * (median(q[2], rounds) - 1),
		       100 * (median(q[3], rounds) - 1));
	}
	{
		double pct[5][MAXR];

		for (int r = 0; r < rounds; r++)
			for (int k = 0; k < 5; k++)
				pct[k][r] = 100 * (q[k][r] - 1);
		result("nobpf", "us", off, rounds, NULL);
		result("all", "us", on, rounds, "nobpf");
		result("all_cpu_idle", "us", onidle, rounds, "nobpf");
		result("switch_raw_tp", "us", raw, rounds, "nobpf");
		result("switch_tp", "us", tp, rounds, "nobpf");
		result("switch_empty", "us", emp, rounds, "nobpf");
		result("all.overhead", "%", pct[0], rounds, NULL); /* a ratio of two slowdowns means little */
		result("empty.overhead", "%", pct[3], rounds, NULL);
	}
	printf("\n== sample() CPU per tick, median (p90) over %d ticks ==\n", ncost[0]);
	{
		double total = 0;

		for (int i = 0; i < NCOL; i++) {
			double m = median(cost[i], ncost[i]), p90 = cost[i][(int)(0.9 * (ncost[i] - 1))];

			total += m;
			printf("%-12s %7.2f us  (%.2f)\n", ebpf_collectors[i]->name, m, p90);
			if (ncost[i] > 0) {
				char w[64];

				snprintf(w, sizeof(w), "sample.%s", ebpf_collectors[i]->name);
				bench_result(stdout, "bpf_overhead", w, "us", cost[i], ncost[i], NULL);
			}
		}
		printf("%-12s %7.2f us per tick = %.4f%% of one CPU at 100 ms\n", "all", total,
		       100 * total / 100000);
	}

	/* per-event run time, with the kernel's stats on only now */
	statfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (statfd < 0) {
		printf("\nBPF_ENABLE_STATS: %s: no per-event figures\n", strerror(errno));
	} else {
		struct cbpf *b;

		load_all(&l);
		memset(&dummy, 0, sizeof(dummy));
		b = cbpf_get(&dummy, &l.cfg);
		b->cpu->bss->switch_unreported = 1; /* the cpu_idle repair too, to time it */
		cbpf_repair(b, 0);
		workload();
		/* the attached program's figure includes the programs it tail-calls (the task and
		 * run-queue programs in cpu.bpf.c's sched_switch chain) */
		printf("\n== per-event BPF run time (kernel stats), during one workload run ==\n");
		struct {
			const char *n;
			struct bpf_program *p;
		} progs[] = {
		    {"sched_switch", b->cpu->progs.ir_sched_switch},
		    {"sched_migrate_task", b->sched->progs.ir_sched_migrate_task},
		    {"cpu_idle", b->cpu->progs.ir_cpu_idle},
		    {"block_rq_issue", b->blkio->progs.ir_block_rq_issue},
		    {"block_rq_complete", b->blkio->progs.ir_block_rq_complete},
		};
		for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
			double ns = prog_ns_per_run(bpf_program__fd(progs[i].p), &cnt);

			printf("ir_%-20s %8.0f ns/event  (%llu events)\n", progs[i].n, ns,
			       (unsigned long long)cnt);
			if (cnt) {
				char w[64];

				snprintf(w, sizeof(w), "event.%s", progs[i].n);
				bench_result1(stdout, "bpf_overhead", w, "ns", ns,
					      i == 0 ? "event.bench_switch_empty" : NULL);
			}
		}
		printf(
		    "(ir_cpu_idle: attached here by hand; inforegd attaches it only once the kernel drops a "
		    "switch)\n");
		sync_cost(b);
		cbpf_put(b);
		unload_all(&l);
		for (int kind = SW_EMPTY; kind >= SW_TP; kind--) {
			struct bench_switch_bpf *s = attach_switch(kind);
			double ns;

			workload();
			ns = prog_ns_per_run(bpf_program__fd(switch_prog(s, kind)), &cnt);
			printf("bench sched_switch %-14s %6.0f ns/event  (%llu events)\n", sw_name[kind], ns,
			       (unsigned long long)cnt);
			{
				char w[64];

				static const char *const tagname[] = {"tp", "raw_tp", "empty"};

				snprintf(w, sizeof(w), "event.bench_switch_%s", tagname[kind]);
				bench_result1(stdout, "bpf_overhead", w, "ns", ns, NULL);
			}
			bench_switch_bpf__destroy(s);
		}
		close(statfd);
	}
	if (mounted)
		umount("/sys/kernel/tracing");
	return 0;
}
