// SPDX-License-Identifier: MIT
/*
 * test_procfs_cpu.c - the "cpu" collector: /proc/stat snapshots with known deltas give
 * exact percentages and rates; first samples, offline CPUs, counters stepping back,
 * truncated and garbage input give NaN or in-range values and never crash; and the
 * collector run for real on this machine gives sane numbers.
 */
#include <unistd.h>

#include "test_procfs_harness.h"

/* ---- snapshots ------------------------------------------------------------------ */

/* One CPU line's ten fields: user nice system idle iowait irq softirq steal guest guest_nice. */
struct line {
	uint64_t f[10];
};

struct snap {
	struct line total, cpu[4];
	unsigned ncpu;
	unsigned offline_mask; /* bit i: no cpuI line */
	uint64_t ctxt, forks, running, blocked;
};

/* Writes a /proc/stat the way the kernel does, with the lines we skip included. */
static char *render(const struct snap *s)
{
	char *b = malloc(4096);
	size_t n = 0;
	n += (size_t)sprintf(b + n, "cpu ");
	for (int i = 0; i < 10; i++)
		n += (size_t)sprintf(b + n, " %llu", (unsigned long long)s->total.f[i]);
	n += (size_t)sprintf(b + n, "\n");
	for (unsigned c = 0; c < s->ncpu; c++) {
		if (s->offline_mask & (1u << c))
			continue;
		n += (size_t)sprintf(b + n, "cpu%u", c);
		for (int i = 0; i < 10; i++)
			n += (size_t)sprintf(b + n, " %llu", (unsigned long long)s->cpu[c].f[i]);
		n += (size_t)sprintf(b + n, "\n");
	}
	n += (size_t)sprintf(b + n,
			     "intr 172882 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 8\n"
			     "ctxt %llu\nbtime 1700000000\nprocesses %llu\nprocs_running %llu\n"
			     "procs_blocked %llu\nsoftirq 9999 1 2 3 4 5 6 7 8 9 10\n",
			     (unsigned long long)s->ctxt, (unsigned long long)s->forks,
			     (unsigned long long)s->running, (unsigned long long)s->blocked);
	char *exact = t_dup(b, n);
	free(b);
	return exact;
}

/* Snapshot A, then B = A + known deltas over dt = 0.5 s. */
static const struct snap SNAP_A = {
    .total = {{1000, 50, 500, 8000, 200, 10, 40, 100, 70, 0}},
    .cpu = {{{600, 50, 200, 3900, 150, 5, 20, 50, 70, 0}}, {{400, 0, 300, 4100, 50, 5, 20, 50, 0, 0}}},
    .ncpu = 2,
    .ctxt = 100000,
    .forks = 5000,
    .running = 3,
    .blocked = 1,
};

/*
 * cpu0: user +20 system +5 idle +20 iowait +5 (50 jiffies), guest +7 (inside user:
 * must not count again); cpu1: user +10 system +5 idle +30 irq +1 softirq +2 steal +2
 * (50); total = their sum (100). ctxt +500, processes +10.
 */
static struct snap snap_b(void)
{
	struct snap s = SNAP_A;
	static const uint64_t d0[10] = {20, 0, 5, 20, 5, 0, 0, 0, 7, 0};
	static const uint64_t d1[10] = {10, 0, 5, 30, 0, 1, 2, 2, 0, 0};
	for (int i = 0; i < 10; i++) {
		s.cpu[0].f[i] += d0[i];
		s.cpu[1].f[i] += d1[i];
		s.total.f[i] += d0[i] + d1[i];
	}
	s.ctxt += 500;
	s.forks += 10;
	s.running = 4;
	s.blocked = 0;
	return s;
}

static int update_with(struct cpustat *s, const struct snap *sn, double dt)
{
	char *t = render(sn);
	int e = cpustat_update(s, t, dt);
	free(t);
	return e;
}

static void check_all_nan(const struct cpu_pct *p)
{
	for (int f = 0; f < CPU_NFIELDS; f++)
		CHECK_NAN(p->field[f]);
	CHECK_NAN(p->usage);
}

/* Results of any input: NaN or in range; fields sum to 100 when known. */
static void check_sane(const struct cpustat *s)
{
	const struct cpu_pct *ps[5] = {&s->all};
	int n = 1;
	for (unsigned i = 0; i < s->cap && i < 4; i++)
		ps[n++] = &s->cpu[i];
	for (int k = 0; k < n; k++) {
		double sum = 0;
		int known = 0;
		for (int f = 0; f < CPU_NFIELDS; f++) {
			CHECK_NAN_OR_IN(ps[k]->field[f], 0, 100);
			if (!isnan(ps[k]->field[f])) {
				sum += ps[k]->field[f];
				known++;
			}
		}
		CHECK(known == 0 || known == CPU_NFIELDS);
		if (known)
			CHECK(fabs(sum - 100) < 1e-6);
		CHECK_NAN_OR_IN(ps[k]->usage, 0, 100);
	}
	CHECK_NAN_OR_IN(s->count, 1, s->cap);
	CHECK_NAN_OR_IN(s->free, 0, s->cap);
	CHECK(isnan(s->ctxt_per_s) || s->ctxt_per_s >= 0);
	CHECK(isnan(s->forks_per_s) || s->forks_per_s >= 0);
	CHECK(isnan(s->running) || s->running >= 0);
	CHECK(isnan(s->blocked) || s->blocked >= 0);
}

/* ---- tests ----------------------------------------------------------------------- */

static void first_sample_is_nan_but_gauges_are_known(void)
{
	struct cpustat *s = cpustat_new(4);
	CHECK(update_with(s, &SNAP_A, 0) == 0);
	check_all_nan(&s->all);
	check_all_nan(&s->cpu[0]);
	check_all_nan(&s->cpu[1]);
	CHECK_NAN(s->free);
	CHECK_NAN(s->ctxt_per_s);
	CHECK_NAN(s->forks_per_s);
	CHECK_NEAR(s->count, 2);
	CHECK_NEAR(s->running, 3);
	CHECK_NEAR(s->blocked, 1);
	cpustat_free(s);
}

static void two_snapshots_give_exact_percentages_and_rates(void)
{
	struct cpustat *s = cpustat_new(4);
	struct snap b = snap_b();
	CHECK(update_with(s, &SNAP_A, 0) == 0);
	CHECK(update_with(s, &b, 0.5) == 0);
	/* total: 100 jiffies elapsed */
	static const double all[CPU_NFIELDS] = {30, 0, 10, 50, 5, 1, 2, 2};
	static const double c0[CPU_NFIELDS] = {40, 0, 10, 40, 10, 0, 0, 0};
	static const double c1[CPU_NFIELDS] = {20, 0, 10, 60, 0, 2, 4, 4};
	for (int f = 0; f < CPU_NFIELDS; f++) {
		CHECK_NEAR(s->all.field[f], all[f]);
		CHECK_NEAR(s->cpu[0].field[f], c0[f]);
		CHECK_NEAR(s->cpu[1].field[f], c1[f]);
	}
	CHECK_NEAR(s->all.usage, 45);	 /* 100 - idle 50 - iowait 5 */
	CHECK_NEAR(s->cpu[0].usage, 50); /* iowait counts as idle */
	CHECK_NEAR(s->cpu[1].usage, 40);
	CHECK_NEAR(s->free, 1.1); /* 2 x (1 - 0.45) */
	CHECK_NEAR(s->count, 2);
	CHECK_NEAR(s->ctxt_per_s, 1000); /* 500 / 0.5 s */
	CHECK_NEAR(s->forks_per_s, 20);
	CHECK_NEAR(s->running, 4);
	CHECK_NEAR(s->blocked, 0);
	check_all_nan(&s->cpu[2]); /* never listed */
	cpustat_free(s);
}

static void offline_cpu_reads_nan_and_recovers_after_two_samples(void)
{
	struct cpustat *s = cpustat_new(4);
	struct snap b = snap_b(), c = b;
	CHECK(update_with(s, &SNAP_A, 0) == 0);
	CHECK(update_with(s, &b, 0.5) == 0);
	/* cpu1 goes offline; cpu0 and the total advance by 10 jiffies of user */
	c.offline_mask = 2;
	c.cpu[0].f[0] += 10;
	c.total.f[0] += 10;
	CHECK(update_with(s, &c, 0.1) == 0);
	check_all_nan(&s->cpu[1]);
	CHECK_NEAR(s->cpu[0].usage, 100);
	CHECK_NEAR(s->all.usage, 100);
	CHECK_NEAR(s->count, 1);
	CHECK_NEAR(s->free, 0);
	/* back online: no previous for it yet */
	c.offline_mask = 0;
	c.cpu[1].f[3] += 10;
	c.total.f[3] += 10;
	CHECK(update_with(s, &c, 0.1) == 0);
	check_all_nan(&s->cpu[1]);
	CHECK_NEAR(s->count, 2);
	c.cpu[1].f[3] += 10;
	c.total.f[3] += 10;
	CHECK(update_with(s, &c, 0.1) == 0);
	CHECK_NEAR(s->cpu[1].field[CPU_IDLE], 100);
	CHECK_NEAR(s->cpu[1].usage, 0);
	cpustat_free(s);
}

static void field_going_backwards_counts_as_zero(void)
{
	struct cpustat *s = cpustat_new(4);
	struct snap b = SNAP_A;
	CHECK(update_with(s, &SNAP_A, 0) == 0);
	/* cpu0 and the total: idle steps back 5 (NO_HZ quirk), user +10, system +10 */
	b.cpu[0].f[CPU_IDLE] -= 5;
	b.cpu[0].f[CPU_USER] += 10;
	b.cpu[0].f[CPU_SYSTEM] += 10;
	b.total.f[CPU_IDLE] -= 5;
	b.total.f[CPU_USER] += 10;
	b.total.f[CPU_SYSTEM] += 10;
	CHECK(update_with(s, &b, 0.1) == 0);
	CHECK_NEAR(s->cpu[0].field[CPU_IDLE], 0);
	CHECK_NEAR(s->cpu[0].field[CPU_USER], 50);
	CHECK_NEAR(s->cpu[0].usage, 100);
	CHECK_NEAR(s->all.usage, 100);
	check_sane(s);
	cpustat_free(s);
}

static void no_elapsed_jiffies_before_a_window_closed_reads_nan(void)
{
	struct cpustat *s = cpustat_new(4);
	CHECK(update_with(s, &SNAP_A, 0) == 0);
	CHECK(update_with(s, &SNAP_A, 0.1) == 0);
	check_all_nan(&s->all);
	CHECK_NAN(s->free);
	CHECK_NEAR(s->ctxt_per_s, 0); /* the counter did not move: a real 0 */
	cpustat_free(s);
}

/* A period under the kernel's tick: samples in which no jiffy moved carry the last
 * closed window, and the next window spans every sample since it closed. */
static void window_stays_open_until_jiffies_move(void)
{
	struct cpustat *s = cpustat_new(4);
	struct snap b = snap_b(), c = b;
	CHECK(update_with(s, &SNAP_A, 0) == 0);
	CHECK(update_with(s, &b, 0.5) == 0);
	CHECK_NEAR(s->all.usage, 45);
	for (int k = 0; k < 5; k++) { /* five 1 ms samples, no jiffy */
		CHECK(update_with(s, &b, 0.001) == 0);
		CHECK_NEAR(s->all.usage, 45);
		CHECK_NEAR(s->cpu[0].usage, 50);
		CHECK_NEAR(s->cpu[1].usage, 40);
		CHECK_NEAR(s->free, 1.1);
	}
	/* cpu0 gets one jiffy of user: its window (since b) closes; cpu1 has none yet */
	c.cpu[0].f[CPU_USER] += 1;
	c.total.f[CPU_USER] += 1;
	CHECK(update_with(s, &c, 0.001) == 0);
	CHECK_NEAR(s->cpu[0].usage, 100);
	CHECK_NEAR(s->cpu[0].field[CPU_USER], 100);
	CHECK_NEAR(s->cpu[1].usage, 40); /* carried */
	CHECK_NEAR(s->all.usage, 100);
	/* cpu1: one idle jiffy closes its window, which opened at b */
	c.cpu[1].f[CPU_IDLE] += 1;
	c.total.f[CPU_IDLE] += 1;
	CHECK(update_with(s, &c, 0.001) == 0);
	CHECK_NEAR(s->cpu[1].usage, 0);
	CHECK_NEAR(s->cpu[0].usage, 100); /* its window is open again: carried */
	CHECK_NEAR(s->all.field[CPU_IDLE], 100);
	check_sane(s);
	cpustat_free(s);
}

static void missing_total_line_is_einval_and_breaks_the_chain(void)
{
	struct cpustat *s = cpustat_new(4);
	struct snap b = snap_b();
	CHECK(update_with(s, &SNAP_A, 0) == 0);
	CHECK(cpustat_update(s, "cpu0 1 2 3 4 5 6 7 8 0 0\nctxt 5\n", 0.1) == -EINVAL);
	check_all_nan(&s->all);
	check_all_nan(&s->cpu[0]);
	CHECK_NAN(s->count);
	CHECK_NAN(s->ctxt_per_s);
	/* the bad snapshot is no previous either */
	CHECK(update_with(s, &b, 0.1) == 0);
	check_all_nan(&s->all);
	CHECK(cpustat_update(s, NULL, 0.1) == -ENODATA);
	check_all_nan(&s->all);
	cpustat_free(s);
}

static void cpu_ids_come_from_cpuN_lines_only(void)
{
	char *a = render(&SNAP_A);
	CHECK(cpustat_ids(a) == 2); /* not 1001: the total line's first number is no id */
	free(a);
	CHECK(cpustat_ids("cpu  5 0 0 0 0 0 0 0\ncpu3 1 2 3 4 5 6 7 8\ncpu1 1\n") == 4);
	CHECK(cpustat_ids("cpu  5 0 0 0 0 0 0 0\ncpux3 1\ncpu99999999 1\n") == 0);
	CHECK(cpustat_ids("cpu7 1 2 3 4 5 6 7 8") == 0); /* cut line */
	/* what init sizes by: never below this machine's online CPUs, never absurd */
	unsigned n = cpustat_possible(0);
	CHECK(n >= (unsigned)sysconf(_SC_NPROCESSORS_ONLN) && n <= 65536);
	CHECK(cpustat_possible(n + 3) == n + 3);
}

static void short_cpu_lines_and_foreign_keys_are_skipped(void)
{
	struct cpustat *s = cpustat_new(2);
	const char *a = "cpu  10 0 10 80 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0\ncpu1 1 2 3\n"
			"cpu7 1 2 3 4 5 6 7 8\ncpux 1 2 3 4 5 6 7 8\ncpu 1\nctxtx 99\nctxt 10\n";
	const char *b = "cpu  20 0 20 160 0 0 0 0\ncpu0 10 0 10 80 0 0 0 0\ncpu1 1 2 3\n"
			"cpu7 1 2 3 4 5 6 7 8\nctxtx 1\nctxt 20\n";
	CHECK(cpustat_update(s, a, 0) == 0);
	CHECK(s->ignored == 1); /* cpu7 is beyond cap 2 */
	CHECK_NEAR(s->count, 1);
	CHECK(cpustat_update(s, b, 1) == 0);
	CHECK_NEAR(s->all.usage, 20);
	CHECK_NEAR(s->cpu[0].usage, 20);
	check_all_nan(&s->cpu[1]); /* three fields only */
	CHECK_NEAR(s->ctxt_per_s, 10);
	cpustat_free(s);
}

/* Only complete lines count, so a cut read yields the full read's values or NaN. */
static void truncated_read_gives_full_values_or_nan(void)
{
	struct snap b = snap_b();
	char *full = render(&b);
	size_t n = strlen(full);
	struct cpustat *ref = cpustat_new(4), *s = cpustat_new(4);
	CHECK(update_with(ref, &SNAP_A, 0) == 0);
	CHECK(cpustat_update(ref, full, 0.5) == 0);
	for (size_t len = 0; len <= n; len++) {
		char *cut = t_dup(full, len);
		update_with(s, &SNAP_A, 0);
		cpustat_update(s, cut, 0.5);
		const struct cpu_pct *got[3] = {&s->all, &s->cpu[0], &s->cpu[1]};
		const struct cpu_pct *want[3] = {&ref->all, &ref->cpu[0], &ref->cpu[1]};
		for (int k = 0; k < 3; k++) {
			for (int f = 0; f < CPU_NFIELDS; f++)
				CHECK(isnan(got[k]->field[f]) || got[k]->field[f] == want[k]->field[f]);
			CHECK(isnan(got[k]->usage) || got[k]->usage == want[k]->usage);
		}
		CHECK(isnan(s->ctxt_per_s) || s->ctxt_per_s == ref->ctxt_per_s);
		CHECK(isnan(s->forks_per_s) || s->forks_per_s == ref->forks_per_s);
		check_sane(s);
		free(cut);
	}
	cpustat_free(ref);
	cpustat_free(s);
	free(full);
}

static void garbage_never_crashes_and_stays_in_range(void)
{
	struct snap b = snap_b();
	char *good = render(&b);
	struct cpustat *s = cpustat_new(4);
	for (int i = 0; i < 3000; i++) {
		char *g = i % 2 ? t_garbage(t_rand() % 600, NULL) : t_garbage(0, good);
		/* garbage after a good snapshot, and a good one after garbage */
		update_with(s, &SNAP_A, 0);
		cpustat_update(s, g, 0.1);
		check_sane(s);
		cpustat_update(s, good, 0.1);
		check_sane(s);
		free(g);
		if (t_failures > 20)
			break;
	}
	cpustat_free(s);
	free(good);
}

static void live_proc_stat_through_tick_files(void)
{
	struct t_live l;
	int e = t_live_start(&l, &procfs_cpu_ops);
	if (e == 77) {
		t_live_stop(&l);
		return;
	}
	CHECK(e == 0);
	if (e) {
		t_live_stop(&l);
		return;
	}
	static const char *const pfx[] = {"cpu.", "sched.", "proc.", NULL};
	t_check_directory(&l, pfx);
	CHECK(t_live_tick(&l) == 0);
	CHECK_NAN(t_live_get(&l, "cpu.usage")); /* no previous */
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	CHECK_NEAR(t_live_get(&l, "cpu.count"), (double)online);
	t_sleep_ms(100);
	CHECK(t_live_tick(&l) == 0);

	double usage = t_live_get(&l, "cpu.usage"), cnt = t_live_get(&l, "cpu.count");
	CHECK(usage >= 0 && usage <= 100);
	CHECK(cnt >= 1);
	double fr = t_live_get(&l, "cpu.free");
	CHECK(fr >= 0 && fr <= cnt);
	double sum = 0;
	char name[64];
	for (int f = 0; f < CPU_NFIELDS; f++) {
		snprintf(name, sizeof(name), "cpu.%s", cpu_field_name[f]);
		double v = t_live_get(&l, name);
		CHECK(v >= 0 && v <= 100);
		sum += v;
	}
	CHECK(fabs(sum - 100) < 1e-6);
	/* every per-CPU series of an online CPU has a value */
	int per_cpu = 0;
	for (uint32_t i = 0; i < l.reg.count; i++) {
		if (strncmp(l.reg.defs[i].name, "cpu.usage{cpu=\"", 15) != 0)
			continue;
		per_cpu++;
		CHECK(l.v[i] >= 0 && l.v[i] <= 100);
	}
	CHECK(per_cpu == online);
	CHECK(t_live_get(&l, "sched.ctxt_per_s") > 0); /* our own sleep switched */
	CHECK(t_live_get(&l, "proc.forks_per_s") >= 0);
	CHECK(t_live_get(&l, "proc.running") >= 1); /* we are running */
	CHECK(t_live_get(&l, "proc.blocked") >= 0);
	t_live_stop(&l);
}

int main(void)
{
	RUN(first_sample_is_nan_but_gauges_are_known);
	RUN(two_snapshots_give_exact_percentages_and_rates);
	RUN(offline_cpu_reads_nan_and_recovers_after_two_samples);
	RUN(field_going_backwards_counts_as_zero);
	RUN(no_elapsed_jiffies_before_a_window_closed_reads_nan);
	RUN(window_stays_open_until_jiffies_move);
	RUN(missing_total_line_is_einval_and_breaks_the_chain);
	RUN(cpu_ids_come_from_cpuN_lines_only);
	RUN(short_cpu_lines_and_foreign_keys_are_skipped);
	RUN(truncated_read_gives_full_values_or_nan);
	RUN(garbage_never_crashes_and_stays_in_range);
	RUN(live_proc_stat_through_tick_files);
	return t_exit();
}
