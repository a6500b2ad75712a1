// SPDX-License-Identifier: MIT
/*
 * test_procfs_pressure.c - the "pressure" collector: two PSI snapshots give the exact
 * avg10 and stall percent; a missing "full" line, a counter going back, a spike
 * beyond 100 % and cut or garbage input behave as documented; the real
 * /proc/pressure gives values in range (skipped where the kernel has no PSI).
 */
#include "test_procfs_harness.h"

static const char PSI_A[] = "some avg10=1.25 avg60=0.50 avg300=0.10 total=1000000\n"
			    "full avg10=0.50 avg60=0.20 avg300=0.05 total=400000\n";
/* 0.1 s later: some +25000 us (25 %), full +10000 us (10 %) */
static const char PSI_B[] = "some avg10=2.00 avg60=0.60 avg300=0.11 total=1025000\n"
			    "full avg10=0.75 avg60=0.25 avg300=0.06 total=410000\n";

static void first_sample_has_avg10_but_no_stall(void)
{
	struct psi_state s;
	psi_reset(&s);
	CHECK_NAN(s.avg10[PSI_SOME]);
	CHECK(psi_update(&s, PSI_A, 0) == 0);
	CHECK(s.avg10[PSI_SOME] == 1.25);
	CHECK(s.avg10[PSI_FULL] == 0.5);
	CHECK_NAN(s.stall_pct[PSI_SOME]);
	CHECK_NAN(s.stall_pct[PSI_FULL]);
}

static void two_snapshots_give_exact_stall_percent(void)
{
	struct psi_state s;
	psi_reset(&s);
	CHECK(psi_update(&s, PSI_A, 0) == 0);
	CHECK(psi_update(&s, PSI_B, 0.1) == 0);
	CHECK(s.avg10[PSI_SOME] == 2.0);
	CHECK(s.avg10[PSI_FULL] == 0.75);
	CHECK_NEAR(s.stall_pct[PSI_SOME], 25);
	CHECK_NEAR(s.stall_pct[PSI_FULL], 10);
}

static void missing_full_line_reads_nan(void)
{
	/* cpu before 5.13 has no "full" line */
	struct psi_state s;
	psi_reset(&s);
	CHECK(psi_update(&s, "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 0) == 0);
	CHECK(psi_update(&s, "some avg10=3.50 avg60=0.00 avg300=0.00 total=50000\n", 1) == 0);
	CHECK_NEAR(s.stall_pct[PSI_SOME], 5);
	CHECK(s.avg10[PSI_SOME] == 3.5);
	CHECK_NAN(s.avg10[PSI_FULL]);
	CHECK_NAN(s.stall_pct[PSI_FULL]);
}

static void backwards_total_is_nan_and_spike_is_capped(void)
{
	struct psi_state s;
	psi_reset(&s);
	CHECK(psi_update(&s, PSI_B, 0) == 0);
	CHECK(psi_update(&s, PSI_A, 0.1) == 0);
	CHECK_NAN(s.stall_pct[PSI_SOME]);
	/* 200 ms of stall in a 100 ms period: read-time jitter, shown as 100 */
	CHECK(psi_update(&s, "some avg10=0 total=1200000\nfull avg10=0 total=400000\n", 0.1) == 0);
	CHECK_NEAR(s.stall_pct[PSI_SOME], 100);
	CHECK_NEAR(s.stall_pct[PSI_FULL], 0);
}

static void lines_need_avg10_and_total(void)
{
	struct psi_state s;
	psi_reset(&s);
	CHECK(psi_update(&s, "some avg60=1.00 total=5\nfull avg10=1.00\n", 0) == -EINVAL);
	CHECK_NAN(s.avg10[PSI_SOME]);
	CHECK_NAN(s.avg10[PSI_FULL]);
	CHECK(psi_update(&s, "somex avg10=1.00 total=5\n", 0) == -EINVAL);
	CHECK(psi_update(&s, "some avg10=1.00 total=5", 0) == -EINVAL); /* cut */
	CHECK(psi_update(&s, NULL, 0) == -ENODATA);
	/* unknown keys in between are fine */
	CHECK(psi_update(&s, "some future=7 avg10=1.00 avg60=x total=5\n", 0) == 0);
	CHECK(s.avg10[PSI_SOME] == 1.0);
}

static void failed_read_breaks_the_chain(void)
{
	struct psi_state s;
	psi_reset(&s);
	CHECK(psi_update(&s, PSI_A, 0) == 0);
	CHECK(psi_update(&s, NULL, 0.1) == -ENODATA);
	CHECK_NAN(s.avg10[PSI_SOME]);
	CHECK(psi_update(&s, PSI_B, 0.1) == 0);
	CHECK_NAN(s.stall_pct[PSI_SOME]); /* no previous: not a 0.1 s delta */
}

static void truncated_read_gives_full_values_or_nan(void)
{
	struct psi_state ref, s;
	psi_reset(&ref);
	psi_update(&ref, PSI_A, 0);
	psi_update(&ref, PSI_B, 0.1);
	for (size_t len = 0; len <= strlen(PSI_B); len++) {
		char *t = t_dup(PSI_B, len);
		psi_reset(&s);
		psi_update(&s, PSI_A, 0);
		psi_update(&s, t, 0.1);
		for (int l = 0; l < PSI_NLINES; l++) {
			CHECK(isnan(s.avg10[l]) || s.avg10[l] == ref.avg10[l]);
			CHECK(isnan(s.stall_pct[l]) || s.stall_pct[l] == ref.stall_pct[l]);
		}
		free(t);
	}
}

static void garbage_never_crashes(void)
{
	struct psi_state s;
	psi_reset(&s);
	for (int i = 0; i < 5000 && t_failures < 20; i++) {
		char *g = i % 2 ? t_garbage(t_rand() % 200, NULL) : t_garbage(0, PSI_B);
		psi_update(&s, PSI_A, 0.1);
		int e = psi_update(&s, g, 0.1);
		CHECK(e == 0 || e == -EINVAL);
		for (int l = 0; l < PSI_NLINES; l++) {
			CHECK(isnan(s.avg10[l]) || s.avg10[l] >= 0);
			CHECK_NAN_OR_IN(s.stall_pct[l], 0, 100);
		}
		free(g);
	}
}

static void live_proc_pressure_through_tick_files(void)
{
	struct t_live l;
	int e = t_live_start(&l, &procfs_pressure_ops);
	CHECK(e == 0 || e == 77);
	if (e == 0) {
		static const char *const pfx[] = {"pressure.", NULL};
		t_check_directory(&l, pfx);
		/* some for cpu, memory and io at least: avg10 + stall each */
		CHECK(l.reg.count >= 6);
		CHECK(t_live_idx(&l, "pressure.memory.full.avg10") >= 0);
		CHECK(t_live_tick(&l) == 0);
		CHECK(t_live_get(&l, "pressure.cpu.some.avg10") >= 0);
		CHECK_NAN(t_live_get(&l, "pressure.io.some.stall_percent"));
		t_sleep_ms(100);
		CHECK(t_live_tick(&l) == 0);
		for (uint32_t i = 0; i < l.reg.count; i++) {
			if (!(l.v[i] >= 0 && l.v[i] <= 100))
				fprintf(stderr, "%s = %g\n", l.reg.defs[i].name, l.v[i]);
			CHECK(l.v[i] >= 0 && l.v[i] <= 100);
		}
	}
	t_live_stop(&l);
}

int main(void)
{
	RUN(first_sample_has_avg10_but_no_stall);
	RUN(two_snapshots_give_exact_stall_percent);
	RUN(missing_full_line_reads_nan);
	RUN(backwards_total_is_nan_and_spike_is_capped);
	RUN(lines_need_avg10_and_total);
	RUN(failed_read_breaks_the_chain);
	RUN(truncated_read_gives_full_values_or_nan);
	RUN(garbage_never_crashes);
	RUN(live_proc_pressure_through_tick_files);
	return t_exit();
}
