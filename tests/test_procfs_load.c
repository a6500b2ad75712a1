// SPDX-License-Identifier: MIT
/*
 * test_procfs_load.c - the "load" collector: /proc/loadavg lines give exact values;
 * malformed or cut lines give -EINVAL and NaN everywhere; garbage never crashes;
 * the real file gives sane numbers.
 */
#include "test_procfs_harness.h"

static const char LOADAVG[] = "1.50 0.75 12.25 3/456 7890\n";

static void fixture_gives_exact_values(void)
{
	double o[LOAD_NOUT];
	char *t = t_dup(LOADAVG, strlen(LOADAVG));
	CHECK(loadavg_parse(t, o) == 0);
	CHECK(o[LOAD_1] == 1.5);
	CHECK(o[LOAD_5] == 0.75);
	CHECK(o[LOAD_15] == 12.25);
	CHECK(o[LOAD_RUNNABLE] == 3);
	CHECK(o[LOAD_THREADS] == 456);
	free(t);
	/* the same rounding as strtod: 0.09 is the double nearest to 0.09 */
	CHECK(loadavg_parse("0.09 0.05 0.01 1/82 4819\n", o) == 0);
	CHECK(o[LOAD_1] == 0.09 && o[LOAD_5] == 0.05 && o[LOAD_15] == 0.01);
	CHECK(o[LOAD_RUNNABLE] == 1 && o[LOAD_THREADS] == 82);
}

static void malformed_lines_are_einval_and_all_nan(void)
{
	static const char *const bad[] = {
	    "",
	    "\n",
	    "1.50 0.75 0.25 3/456 7890",   /* no '\n': cut */
	    "1.50 0.75 0.25 3 456 7890\n", /* no '/' */
	    "1.50 0.75 3/456 7890\n",	   /* two averages */
	    "1.50 x 0.25 3/456 7890\n",
	    "1. 0.75 0.25 3/456 7890\n",
	    "-1.50 0.75 0.25 3/456 7890\n",
	    "1.50 0.75 0.25 3/\n",
	    "1.50 0.75 0.25 99999999999999999999999/4\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double o[LOAD_NOUT];
		char *t = t_dup(bad[i], strlen(bad[i]));
		int e = loadavg_parse(t, o);
		if (e != -EINVAL)
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
		CHECK(e == -EINVAL);
		for (int k = 0; k < LOAD_NOUT; k++)
			CHECK_NAN(o[k]);
		free(t);
	}
}

static void truncated_read_gives_full_values_or_nan(void)
{
	double o[LOAD_NOUT];
	for (size_t len = 0; len < strlen(LOADAVG); len++) {
		char *t = t_dup(LOADAVG, len);
		CHECK(loadavg_parse(t, o) == -EINVAL); /* the only line is cut */
		for (int k = 0; k < LOAD_NOUT; k++)
			CHECK_NAN(o[k]);
		free(t);
	}
}

static void garbage_never_crashes(void)
{
	double o[LOAD_NOUT];
	for (int i = 0; i < 5000 && t_failures < 20; i++) {
		char *g = i % 2 ? t_garbage(t_rand() % 64, NULL) : t_garbage(0, LOADAVG);
		int e = loadavg_parse(g, o);
		CHECK(e == 0 || e == -EINVAL);
		for (int k = 0; k < LOAD_NOUT; k++)
			CHECK(e == 0 ? o[k] >= 0 : isnan(o[k]));
		free(g);
	}
}

static void live_proc_loadavg_through_tick_files(void)
{
	struct t_live l;
	int e = t_live_start(&l, &procfs_load_ops);
	CHECK(e == 0 || e == 77);
	if (e == 0) {
		static const char *const pfx[] = {"load.", NULL};
		t_check_directory(&l, pfx);
		CHECK(l.reg.count == LOAD_NOUT);
		for (int k = 0; k < 2; k++) {
			CHECK(t_live_tick(&l) == 0);
			CHECK(t_live_get(&l, "load.1") >= 0);
			CHECK(t_live_get(&l, "load.5") >= 0);
			CHECK(t_live_get(&l, "load.15") >= 0);
			double run = t_live_get(&l, "load.runnable"), thr = t_live_get(&l, "load.threads");
			CHECK(run >= 1); /* this thread is running while it reads */
			CHECK(thr >= run);
			t_sleep_ms(100);
		}
	}
	t_live_stop(&l);
}

int main(void)
{
	RUN(fixture_gives_exact_values);
	RUN(malformed_lines_are_einval_and_all_nan);
	RUN(truncated_read_gives_full_values_or_nan);
	RUN(garbage_never_crashes);
	RUN(live_proc_loadavg_through_tick_files);
	return t_exit();
}
