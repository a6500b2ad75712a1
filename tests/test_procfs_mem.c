// SPDX-License-Identifier: MIT
/*
 * test_procfs_mem.c - the "mem" collector: a /proc/meminfo fixture gives exact bytes and
 * the documented mem.used; missing, repeated, look-alike and cut lines give NaN (never
 * a plausible wrong number); garbage never crashes; the real file is consistent.
 */
#include "test_procfs_harness.h"

#define KB 1024.0

static const char MEMINFO[] = "MemTotal:       16000000 kB\n"
			      "MemFree:         4000000 kB\n"
			      "MemAvailable:    9000000 kB\n"
			      "Buffers:          500000 kB\n"
			      "SwapCached:         4444 kB\n"
			      "Cached:          3000000 kB\n"
			      "Active:          6000000 kB\n"
			      "Active(anon):    1000000 kB\n"
			      "SwapTotal:       2000000 kB\n"
			      "SwapFree:        1500000 kB\n"
			      "Dirty:              1234 kB\n"
			      "Shmem:            200000 kB\n"
			      "KReclaimable:     888888 kB\n"
			      "SReclaimable:     700000 kB\n"
			      "SUnreclaim:       100000 kB\n"
			      "HugePages_Total:       0\n"
			      "Hugepagesize:       2048 kB\n";

static void fixture_gives_exact_bytes(void)
{
	double o[MEM_NOUT];
	char *t = t_dup(MEMINFO, strlen(MEMINFO));
	CHECK(meminfo_parse(t, o) == 0);
	CHECK_NEAR(o[MEM_TOTAL], 16000000 * KB);
	CHECK_NEAR(o[MEM_FREE], 4000000 * KB);
	CHECK_NEAR(o[MEM_AVAILABLE], 9000000 * KB);
	CHECK_NEAR(o[MEM_BUFFERS], 500000 * KB);
	CHECK_NEAR(o[MEM_CACHED], 3000000 * KB);      /* not SwapCached, listed first */
	CHECK_NEAR(o[MEM_SRECLAIMABLE], 700000 * KB); /* not KReclaimable */
	CHECK_NEAR(o[MEM_SHMEM], 200000 * KB);
	CHECK_NEAR(o[MEM_DIRTY], 1234 * KB);
	CHECK_NEAR(o[MEM_SWAP_TOTAL], 2000000 * KB);
	CHECK_NEAR(o[MEM_SWAP_FREE], 1500000 * KB);
	CHECK_NEAR(o[MEM_SWAP_USED], 500000 * KB);
	/* free(1) of procps-ng 4: 16000000 - 9000000 (MemAvailable) */
	CHECK_NEAR(o[MEM_USED], 7000000 * KB);
	CHECK_NEAR(o[MEM_TOTAL], o[MEM_USED] + o[MEM_AVAILABLE]);
	free(t);
}

static void missing_available_is_nan_alone(void)
{
	double o[MEM_NOUT];
	CHECK(meminfo_parse("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 20 kB\n"
			    "SReclaimable: 30 kB\n",
			    o) == 0);
	CHECK_NAN(o[MEM_AVAILABLE]);
	CHECK_NAN(o[MEM_SWAP_USED]);
	/* no MemAvailable (kernel < 3.14): the classic used, 1000 - 100 - 10 - 20 - 30 */
	CHECK_NEAR(o[MEM_USED], 840 * KB);
}

static void available_above_total_is_nan(void)
{
	double o[MEM_NOUT];
	CHECK(meminfo_parse("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 1001 kB\n", o) == 0);
	CHECK_NAN(o[MEM_USED]);
	CHECK(meminfo_parse("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 1000 kB\n", o) == 0);
	CHECK_NEAR(o[MEM_USED], 0);
}

static void missing_total_is_einval_and_all_nan(void)
{
	double o[MEM_NOUT];
	CHECK(meminfo_parse("MemFree: 100 kB\nBuffers: 10 kB\n", o) == -EINVAL);
	for (int i = 0; i < MEM_NOUT; i++)
		CHECK_NAN(o[i]);
	CHECK(meminfo_parse("", o) == -EINVAL);
	CHECK_NAN(o[MEM_FREE]);
}

static void used_needs_every_term_and_falls_back_like_free(void)
{
	double o[MEM_NOUT];
	/* no SReclaimable: used unknown rather than too big */
	CHECK(meminfo_parse("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 20 kB\n", o) == 0);
	CHECK_NAN(o[MEM_USED]);
	/* cache larger than total - free (can happen with odd accounting): total - free */
	CHECK(meminfo_parse("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 950 kB\n"
			    "SReclaimable: 30 kB\n",
			    o) == 0);
	CHECK_NEAR(o[MEM_USED], 900 * KB);
	/* free > total is not meminfo */
	CHECK(meminfo_parse("MemTotal: 100 kB\nMemFree: 1000 kB\nBuffers: 10 kB\nCached: 950 kB\n"
			    "SReclaimable: 30 kB\n",
			    o) == 0);
	CHECK_NAN(o[MEM_USED]);
}

static void repeated_and_malformed_lines(void)
{
	double o[MEM_NOUT];
	CHECK(meminfo_parse("MemTotal: 1000 kB\nMemTotal: 5 kB\nMemFree 7 kB\nMemFree: x kB\n"
			    "MemFree:\nMemFree: 100 kB\nDirty: 99999999999999999999999 kB\n",
			    o) == 0);
	CHECK_NEAR(o[MEM_TOTAL], 1000 * KB); /* the first stands */
	CHECK_NEAR(o[MEM_FREE], 100 * KB);
	CHECK_NAN(o[MEM_DIRTY]); /* overflows 64 bits */
	/* a last line without '\n' was cut: not used */
	CHECK(meminfo_parse("MemTotal: 1000 kB\nMemFree: 10", o) == -EINVAL);
}

static void truncated_read_gives_full_values_or_nan(void)
{
	double full[MEM_NOUT], o[MEM_NOUT];
	size_t n = strlen(MEMINFO);
	CHECK(meminfo_parse(MEMINFO, full) == 0);
	for (size_t len = 0; len <= n; len++) {
		char *t = t_dup(MEMINFO, len);
		meminfo_parse(t, o);
		for (int i = 0; i < MEM_NOUT; i++)
			CHECK(isnan(o[i]) || o[i] == full[i]);
		free(t);
	}
}

static void garbage_never_crashes(void)
{
	double o[MEM_NOUT];
	for (int i = 0; i < 4000 && t_failures < 20; i++) {
		char *g = i % 2 ? t_garbage(t_rand() % 400, NULL) : t_garbage(0, MEMINFO);
		int e = meminfo_parse(g, o);
		CHECK(e == 0 || e == -EINVAL);
		for (int k = 0; k < MEM_NOUT; k++)
			CHECK(isnan(o[k]) || o[k] >= 0);
		if (!isnan(o[MEM_USED]))
			CHECK(o[MEM_USED] <= o[MEM_TOTAL]);
		free(g);
	}
}

static void live_proc_meminfo_through_tick_files(void)
{
	struct t_live l;
	int e = t_live_start(&l, &procfs_mem_ops);
	CHECK(e == 0 || e == 77);
	if (e == 0) {
		static const char *const pfx[] = {"mem.", NULL};
		t_check_directory(&l, pfx);
		CHECK(l.reg.count == MEM_NOUT);
		for (int k = 0; k < 2; k++) {
			CHECK(t_live_tick(&l) == 0);
			double total = t_live_get(&l, "mem.total"), avail = t_live_get(&l, "mem.available");
			CHECK(total > 0);
			CHECK(avail > 0 && avail <= total);
			CHECK(t_live_get(&l, "mem.free") <= total);
			double used = t_live_get(&l, "mem.used");
			CHECK(used > 0 && used <= total);
			CHECK_NEAR(used, total - avail); /* free(1) of procps-ng 4 */
			CHECK(t_live_get(&l, "mem.cached") >= 0);
			CHECK(t_live_get(&l, "mem.dirty") >= 0);
			CHECK(t_live_get(&l, "mem.shmem") >= 0);
			double st = t_live_get(&l, "mem.swap.total"), sf = t_live_get(&l, "mem.swap.free");
			CHECK(sf <= st);
			CHECK_NEAR(t_live_get(&l, "mem.swap.used"), st - sf);
			t_sleep_ms(100);
		}
	}
	t_live_stop(&l);
}

int main(void)
{
	RUN(fixture_gives_exact_bytes);
	RUN(missing_available_is_nan_alone);
	RUN(available_above_total_is_nan);
	RUN(missing_total_is_einval_and_all_nan);
	RUN(used_needs_every_term_and_falls_back_like_free);
	RUN(repeated_and_malformed_lines);
	RUN(truncated_read_gives_full_values_or_nan);
	RUN(garbage_never_crashes);
	RUN(live_proc_meminfo_through_tick_files);
	return t_exit();
}
