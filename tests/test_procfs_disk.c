// SPDX-License-Identifier: MIT
/*
 * test_procfs_disk.c - the "disk" collector: the partition rule follows the kernel's
 * naming, ram and loop devices are never exported, /proc/diskstats snapshots with
 * known deltas give exact byte, op and busy rates, new partitions do not re-declare
 * while new disks do, cut and garbage input never crash, and the real file gives
 * values in range for whole devices only.
 */
#include "test_procfs_harness.h"

static const char DISK_A[] = "   7       0 loop0 10 0 80 0 0 0 0 0 0 4 0 0 0 0 0 0 0\n"
			     "   1       0 ram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
			     "   8       0 sda 1000 0 20000 500 2000 0 40000 800 0 700 1300 0 0 0 0 0 0\n"
			     "   8       1 sda1 900 0 18000 450 1900 0 38000 700 0 600 1150 0 0 0 0 0 0\n"
			     " 259       0 nvme0n1 100 0 800 10 50 0 400 5 0 30 15\n"
			     " 259       1 nvme0n1p1 90 0 700 9 45 0 350 4 0 25 13\n"
			     " 259       2 nvme0n10 5 0 40 1 0 0 0 0 0 2 1\n"
			     " 179       0 mmcblk0 1 0 8 0 0 0 0 0 0 1 0\n"
			     " 179       1 mmcblk0p1 1 0 8 0 0 0 0 0 0 1 0\n"
			     " 253       0 dm-0 10 0 80 1 20 0 160 2 0 5 3\n"
			     " 252       0 zram0 0 0 0 0 0 0 0 0 0 0 0\n"
			     "   8      33 sdc1 5 0 40 1 0 0 0 0 0 1 1\n";

/* 0.5 s later, sda: reads +100, sectors read +2000, writes +50, sectors written +4000,
 * io_ticks +250 ms; the rest unchanged. */
static const char DISK_B[] = "   7       0 loop0 10 0 80 0 0 0 0 0 0 4 0 0 0 0 0 0 0\n"
			     "   1       0 ram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
			     "   8       0 sda 1100 0 22000 500 2050 0 44000 800 0 950 1300 0 0 0 0 0 0\n"
			     "   8       1 sda1 1000 0 20000 450 1950 0 42000 700 0 850 1150 0 0 0 0 0 0\n"
			     " 259       0 nvme0n1 100 0 800 10 50 0 400 5 0 30 15\n"
			     " 259       1 nvme0n1p1 90 0 700 9 45 0 350 4 0 25 13\n"
			     " 259       2 nvme0n10 5 0 40 1 0 0 0 0 0 2 1\n"
			     " 179       0 mmcblk0 1 0 8 0 0 0 0 0 0 1 0\n"
			     " 179       1 mmcblk0p1 1 0 8 0 0 0 0 0 0 1 0\n"
			     " 253       0 dm-0 10 0 80 1 20 0 160 2 0 5 3\n"
			     " 252       0 zram0 0 0 0 0 0 0 0 0 0 0 0\n"
			     "   8      33 sdc1 5 0 40 1 0 0 0 0 0 1 1\n";

static struct col_dev *dev(struct col_devset *s, const char *name)
{
	return col_devtab_find(&s->tab, name, strlen(name));
}

static void partition_rule_follows_kernel_naming(void)
{
	CHECK(diskstats_is_partition_of("sda1", "sda"));
	CHECK(diskstats_is_partition_of("sdb12", "sdb"));
	CHECK(diskstats_is_partition_of("nvme0n1p1", "nvme0n1"));
	CHECK(diskstats_is_partition_of("mmcblk0p2", "mmcblk0"));
	CHECK(!diskstats_is_partition_of("sda", "sda"));
	CHECK(!diskstats_is_partition_of("sdaa", "sda"));
	CHECK(!diskstats_is_partition_of("sda1x", "sda"));
	CHECK(!diskstats_is_partition_of("nvme0n10", "nvme0n1")); /* namespace 10, not a partition */
	CHECK(!diskstats_is_partition_of("nvme0n1p", "nvme0n1"));
	CHECK(!diskstats_is_partition_of("md127", "md1"));
	CHECK(!diskstats_is_partition_of("dm-10", "dm-1"));
	CHECK(!diskstats_is_partition_of("sda1", ""));
}

static void enumerate_keeps_whole_devices_only(void)
{
	static const char *const kept[] = {"sda", "nvme0n1", "nvme0n10", "mmcblk0", "dm-0", "zram0", "sdc1"};
	static const char *const listed_not_kept[] = {"sda1", "nvme0n1p1", "mmcblk0p1"};
	struct col_devset s = {0};
	CHECK(diskstats_enumerate(&s, DISK_A) == 10);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		CHECK(dev(&s, kept[i]) && dev(&s, kept[i])->keep);
	for (size_t i = 0; i < sizeof(listed_not_kept) / sizeof(listed_not_kept[0]); i++)
		CHECK(dev(&s, listed_not_kept[i]) && !dev(&s, listed_not_kept[i])->keep);
	CHECK(dev(&s, "loop0") == NULL);
	CHECK(dev(&s, "ram0") == NULL);
	diskstats_fini(&s);
}

static void two_snapshots_give_exact_rates_and_busy(void)
{
	struct col_devset s = {0};
	diskstats_enumerate(&s, DISK_A);
	CHECK(diskstats_update(&s, DISK_A, 0) == 0);
	for (int k = 0; k < DISK_NOUT; k++)
		CHECK_NAN(dev(&s, "sda")->out[k]);
	CHECK(diskstats_update(&s, DISK_B, 0.5) == 0);
	CHECK(!s.unknown);
	const double *o = dev(&s, "sda")->out;
	CHECK_NEAR(o[DISK_READ_BYTES], 2000.0 * 512 / 0.5);
	CHECK_NEAR(o[DISK_WRITE_BYTES], 4000.0 * 512 / 0.5);
	CHECK_NEAR(o[DISK_READ_OPS], 200);
	CHECK_NEAR(o[DISK_WRITE_OPS], 100);
	CHECK_NEAR(o[DISK_BUSY], 50); /* 250 ms busy in 500 ms */
	for (int k = 0; k < DISK_NOUT; k++)
		CHECK_NEAR(dev(&s, "nvme0n1")->out[k], 0);
	diskstats_fini(&s);
}

static void busy_is_capped_and_backwards_is_nan(void)
{
	static const char a[] = "8 0 sda 0 0 0 0 0 0 0 0 0 1000 0\n";
	static const char b[] = "8 0 sda 0 0 0 0 0 0 0 0 0 1600 0\n"; /* 600 ms in 500 ms */
	struct col_devset s = {0};
	diskstats_enumerate(&s, a);
	diskstats_update(&s, a, 0);
	CHECK(diskstats_update(&s, b, 0.5) == 0);
	CHECK_NEAR(dev(&s, "sda")->out[DISK_BUSY], 100);
	CHECK(diskstats_update(&s, a, 0.5) == 0);
	CHECK_NAN(dev(&s, "sda")->out[DISK_BUSY]);
	diskstats_fini(&s);
}

static void new_partition_is_quiet_new_disk_asks_for_declare(void)
{
	static const char with_sda2[] = "8 0 sda 0 0 0 0 0 0 0 0 0 0 0\n"
					"8 1 sda1 0 0 0 0 0 0 0 0 0 0 0\n"
					"8 2 sda2 0 0 0 0 0 0 0 0 0 0 0\n"
					"7 9 loop9 0 0 0 0 0 0 0 0 0 0 0\n";
	static const char with_sdb[] = "8 0 sda 0 0 0 0 0 0 0 0 0 0 0\n"
				       "8 16 sdb 0 0 0 0 0 0 0 0 0 0 0\n"
				       "8 17 sdb1 0 0 0 0 0 0 0 0 0 0 0\n";
	struct col_devset s = {0};
	diskstats_enumerate(&s, "8 0 sda 0 0 0 0 0 0 0 0 0 0 0\n8 1 sda1 0 0 0 0 0 0 0 0 0 0 0\n");
	CHECK(diskstats_update(&s, with_sda2, 0.1) == 0);
	CHECK(!s.unknown); /* a partition of sda and a loop device: nothing to declare */
	CHECK(diskstats_update(&s, with_sdb, 0.1) == 0);
	CHECK(s.unknown);
	diskstats_enumerate(&s, with_sdb);
	CHECK(dev(&s, "sdb") && dev(&s, "sdb")->keep);
	CHECK(dev(&s, "sdb1") && !dev(&s, "sdb1")->keep);
	CHECK(dev(&s, "sda1") == NULL); /* gone from the file, gone from the table */
	diskstats_fini(&s);
}

static void odd_lines_are_skipped_and_empty_file_is_fine(void)
{
	static const char odd[] = "8 0 sda 1 2 3 4 5 6 7 8 9 10\n" /* 10 fields: too few */
				  "x 0 sdb 1 2 3 4 5 6 7 8 9 10 11\n"
				  "8 0 1 2 3 4 5 6 7 8 9 10 11 12\n" /* the name is "1"... */
				  "8 1\n"
				  "8 2 sdd 1 2 3 4 5 6 7 8 9 10 11"; /* cut */
	struct col_devset s = {0};
	CHECK(diskstats_enumerate(&s, odd) == 1);
	CHECK(dev(&s, "1") != NULL); /* odd but well-formed: a device called "1" */
	CHECK(diskstats_update(&s, odd, 0) == 0);
	CHECK(diskstats_update(&s, "", 0.1) == 0); /* a container with no block device */
	CHECK(diskstats_update(&s, "nonsense\n", 0.1) == -EINVAL);
	CHECK(diskstats_update(&s, NULL, 0.1) == -ENODATA);
	CHECK_NAN(dev(&s, "1")->out[DISK_BUSY]);
	diskstats_fini(&s);
}

static void truncated_read_gives_full_values_or_nan(void)
{
	struct col_devset ref = {0}, s = {0};
	diskstats_enumerate(&ref, DISK_A);
	diskstats_update(&ref, DISK_A, 0);
	diskstats_update(&ref, DISK_B, 0.5);
	diskstats_enumerate(&s, DISK_A);
	for (size_t len = 0; len <= strlen(DISK_B); len++) {
		char *t = t_dup(DISK_B, len);
		diskstats_update(&s, DISK_A, 0);
		diskstats_update(&s, t, 0.5);
		CHECK(!s.unknown);
		for (unsigned i = 0; i < s.tab.n; i++)
			for (int k = 0; k < DISK_NOUT; k++)
				CHECK(isnan(s.tab.dev[i].out[k]) ||
				      s.tab.dev[i].out[k] == ref.tab.dev[i].out[k]);
		free(t);
	}
	diskstats_fini(&ref);
	diskstats_fini(&s);
}

static void garbage_never_crashes(void)
{
	struct col_devset s = {0};
	diskstats_enumerate(&s, DISK_A);
	unsigned n = s.tab.n;
	for (int i = 0; i < 3000 && t_failures < 20; i++) {
		char *g = i % 2 ? t_garbage(t_rand() % 600, NULL) : t_garbage(0, DISK_B);
		diskstats_update(&s, DISK_A, 0.5);
		int e = diskstats_update(&s, g, 0.5);
		CHECK(e == 0 || e == -EINVAL);
		CHECK(s.tab.n == n);
		for (unsigned d = 0; d < s.tab.n; d++) {
			for (int k = 0; k < DISK_NOUT; k++)
				CHECK(isnan(s.tab.dev[d].out[k]) || s.tab.dev[d].out[k] >= 0);
			CHECK_NAN_OR_IN(s.tab.dev[d].out[DISK_BUSY], 0, 100);
		}
		struct col_devset t = {0};
		CHECK(diskstats_enumerate(&t, g) >= 0);
		diskstats_fini(&t);
		free(g);
	}
	diskstats_fini(&s);
}

static void live_proc_diskstats_through_tick_files(void)
{
	struct t_live l;
	int e = t_live_start(&l, &procfs_disk_ops);
	CHECK(e == 0 || e == 77);
	if (e == 0) {
		static const char *const pfx[] = {"disk.", NULL};
		t_check_directory(&l, pfx);
		/* per device: DISK_NOUT rates and 5 cumulative counters */
		CHECK(l.reg.count % (DISK_NOUT + 5) == 0);
		CHECK(t_live_tick(&l) == 0);
		double *first = calloc(l.reg.count + 1, sizeof(double));
		memcpy(first, l.v, l.reg.count * sizeof(double));
		t_sleep_ms(100);
		CHECK(t_live_tick(&l) == 0);
		/* the names we export: never ram/loop, never a partition of a listed disk */
		char *buf = NULL;
		size_t cap = 0;
		CHECK(col_slurp("/proc/diskstats", &buf, &cap) >= 0);
		for (uint32_t i = 0; i < l.reg.count; i++) {
			const char *nm = l.reg.defs[i].name, *q = strstr(nm, "{dev=\"");
			const char *qc = strstr(nm, "{device=\"");
			CHECK(q != NULL || qc != NULL);
			if (!q && !qc)
				continue;
			char devname[COL_DEV_NAME_MAX] = "";
			sscanf(q ? q + 6 : qc + 9, "%47[^\"]", devname);
			/* the counters (device= labels, like node_exporter): cumulative, never back */
			CHECK(!qc || (l.reg.defs[i].kind == INFOREG_KIND_COUNTER && l.v[i] >= first[i]));
			CHECK(strncmp(devname, "ram", 3) != 0 && strncmp(devname, "loop", 4) != 0);
			char other[64];
			for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
				if (sscanf(p, "%*u %*u %63s", other) == 1)
					CHECK(!diskstats_is_partition_of(devname, other));
			}
			/* existing at both ticks: a value, in range */
			CHECK(!isnan(l.v[i]) && l.v[i] >= 0);
			if (strncmp(nm, "disk.busy.percent", 17) == 0)
				CHECK(l.v[i] <= 100);
		}
		if (l.reg.count == 0)
			printf("note: no whole block device listed here; only the empty case ran\n");
		free(buf);
		free(first);
	}
	t_live_stop(&l);
}

int main(void)
{
	RUN(partition_rule_follows_kernel_naming);
	RUN(enumerate_keeps_whole_devices_only);
	RUN(two_snapshots_give_exact_rates_and_busy);
	RUN(busy_is_capped_and_backwards_is_nan);
	RUN(new_partition_is_quiet_new_disk_asks_for_declare);
	RUN(odd_lines_are_skipped_and_empty_file_is_fine);
	RUN(truncated_read_gives_full_values_or_nan);
	RUN(garbage_never_crashes);
	RUN(live_proc_diskstats_through_tick_files);
	return t_exit();
}
