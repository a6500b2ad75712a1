// SPDX-License-Identifier: MIT
/*
 * disk.c - "disk": per-device I/O rates and busy time from /proc/diskstats.
 *
 * Which devices: every whole device the file lists, with two exceptions.
 *  - Partitions are skipped when their disk is listed: their I/O is already in the
 *    disk's line. A partition is recognised by the kernel's own naming rule (disk
 *    "sda" -> "sda1"; a disk whose name ends in a digit gets a 'p': "nvme0n1p1",
 *    "mmcblk0p2"), so "nvme0n10" is a disk, not a partition of "nvme0n1", and no
 *    sysfs lookup is needed. A partition whose disk is not listed is kept.
 *  - ram* and loop* devices are never exported: ramdisks move memory, and loop I/O
 *    reaches a real disk again through the backing file. zram is kept: it is usually
 *    swap, and its traffic is a memory-pressure signal.
 * Stacked devices (dm-*, md*) are kept, so a reader summing all devices counts their
 * I/O twice, once on the stack and once below; no total is published for that reason.
 *
 * Per device, kind RATE: bytes read and written per second (sectors are always 512
 * bytes in this file, whatever the hardware sector size), read and write requests
 * completed per second, and disk.busy.percent = d(io_ticks ms)/dt/10, the share of
 * wall time with at least one request in flight, capped at 100 (the read time jitters
 * against dt). 100% busy is saturation for a single spindle, not for an SSD or NVMe
 * device that serves many requests in parallel. Discard and flush counters (4.18+,
 * 5.5+) are not exported.
 *
 * The device set follows the same rules as net.c: read at init and at each
 * declare; a vanished device reads NaN; a new one triggers layout_changed().
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

/* ---- parsing ----------------------------------------------------------------- */

/* Column (1-based after the name) of each counter kept in col_dev.cur[], by enum disk_out. */
static const int disk_col[DISK_NOUT] = {
    [DISK_READ_BYTES] = 3,  /* sectors read */
    [DISK_WRITE_BYTES] = 7, /* sectors written */
    [DISK_READ_OPS] = 1,    /* reads completed */
    [DISK_WRITE_OPS] = 5,   /* writes completed */
    [DISK_BUSY] = 10,	    /* io_ticks, ms */
};
#define DISK_COLS_NEEDED 11 /* the 2.6 format; later kernels append fields */

static int name_is_digit_end(const char *s, size_t n)
{
	return n > 0 && s[n - 1] >= '0' && s[n - 1] <= '9';
}

int diskstats_is_partition_of(const char *name, const char *disk)
{
	size_t dn = strlen(disk), nn = strlen(name);
	if (dn == 0 || nn <= dn || strncmp(name, disk, dn) != 0)
		return 0;
	const char *s = name + dn;
	/* block/partitions/core.c: "%s%d", or "%sp%d" when the disk name ends in a digit */
	if (name_is_digit_end(disk, dn) && *s++ != 'p')
		return 0;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* ram0, loop7: skipped before any lookup, so new loop devices never re-declare. */
static int name_never_exported(const char *name, size_t n)
{
	if (n > 3 && memcmp(name, "ram", 3) == 0 && name[3] >= '0' && name[3] <= '9')
		return 1;
	if (n > 4 && memcmp(name, "loop", 4) == 0 && name[4] >= '0' && name[4] <= '9')
		return 1;
	return 0;
}

/* " 254  0 vda 54284 9634 2929178 16993 10156 6405 1308152 5757 0 11076 24700 ..." */
static int parse_line(const char *p, const char *eol, const char **name, size_t *nlen,
		      uint64_t ctr[DISK_NOUT])
{
	uint64_t major, minor, col[DISK_COLS_NEEDED + 1];
	if (col_scan_u64(&p, eol, &major) < 0 || col_scan_u64(&p, eol, &minor) < 0)
		return -EINVAL;
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	const char *n = p;
	while (p < eol && *p != ' ' && *p != '\t')
		p++;
	if (p == n || (size_t)(p - n) >= COL_DEV_NAME_MAX)
		return -EINVAL;
	*name = n;
	*nlen = (size_t)(p - n);
	for (int i = 1; i <= DISK_COLS_NEEDED; i++)
		if (col_scan_u64(&p, eol, &col[i]) < 0)
			return -EINVAL;
	for (int i = 0; i < DISK_NOUT; i++)
		ctr[i] = col[disk_col[i]];
	return 0;
}

int diskstats_enumerate(struct col_devset *s, const char *text)
{
	struct col_devtab fresh = {0};
	const char *cur = text, *p, *eol, *name;
	size_t n;
	uint64_t ctr[DISK_NOUT];
	while (col_line_next(&cur, &p, &eol)) {
		if (parse_line(p, eol, &name, &n, ctr) < 0 || name_never_exported(name, n) ||
		    col_devtab_find(&fresh, name, n))
			continue;
		if (!col_devtab_add(&fresh, name, n)) {
			col_devtab_free(&fresh);
			return -ENOMEM;
		}
	}
	/* partitions stay in the table (so lookups find them) but are not exported */
	for (unsigned i = 0; i < fresh.n; i++)
		for (unsigned j = 0; j < fresh.n; j++)
			if (i != j && diskstats_is_partition_of(fresh.dev[i].name, fresh.dev[j].name)) {
				fresh.dev[i].keep = 0;
				break;
			}
	col_devtab_replace(&s->tab, &fresh);
	s->unknown = 0;
	return (int)s->tab.n;
}

/* A name not in the table: a new partition of a disk we export is no news. */
static int is_new_partition(const struct col_devtab *t, const char *name, size_t n)
{
	char nm[COL_DEV_NAME_MAX];
	memcpy(nm, name, n);
	nm[n] = '\0';
	for (unsigned i = 0; i < t->n; i++)
		if (t->dev[i].keep && diskstats_is_partition_of(nm, t->dev[i].name))
			return 1;
	return 0;
}

int diskstats_update(struct col_devset *s, const char *text, double dt)
{
	const char *cur = text, *p, *eol, *name;
	size_t n;
	uint64_t ctr[DISK_NOUT];
	int lines = 0;

	col_devtab_begin(&s->tab);
	s->unknown = 0;
	while (text && col_line_next(&cur, &p, &eol)) {
		if (parse_line(p, eol, &name, &n, ctr) < 0)
			continue;
		lines++;
		if (name_never_exported(name, n))
			continue;
		struct col_dev *d = col_devtab_find(&s->tab, name, n);
		if (!d) {
			if (!is_new_partition(&s->tab, name, n))
				s->unknown = 1;
			continue;
		}
		if (d->have_cur)
			continue; /* listed twice: garbage, keep the first */
		memcpy(d->cur, ctr, sizeof(ctr));
		d->have_cur = 1;
	}
	for (unsigned i = 0; i < s->tab.n; i++) {
		struct col_dev *d = &s->tab.dev[i];
		double r[DISK_NOUT];
		for (int k = 0; k < DISK_NOUT; k++)
			r[k] = d->have_cur && d->have_prev ? col_rate(d->cur[k], d->prev[k], dt) : NAN;
		d->out[DISK_READ_BYTES] = r[DISK_READ_BYTES] * 512;
		d->out[DISK_WRITE_BYTES] = r[DISK_WRITE_BYTES] * 512;
		d->out[DISK_READ_OPS] = r[DISK_READ_OPS];
		d->out[DISK_WRITE_OPS] = r[DISK_WRITE_OPS];
		/* ms busy per s -> percent */
		double busy = r[DISK_BUSY] / 10;
		d->out[DISK_BUSY] = busy > 100 ? 100 : busy;
	}
	/* an empty file is valid (a container may see no block device) */
	return text ? (lines || !*text ? 0 : -EINVAL) : -ENODATA;
}

void diskstats_fini(struct col_devset *s)
{
	col_devtab_free(&s->tab);
}

/* ---- the collector ------------------------------------------------------------ */

static const struct col_dev_series disk_series[DISK_NOUT] = {
    [DISK_READ_BYTES] = {"disk.read.bytes_per_s", "bytes/s", "Bytes read per second (sectors x 512)"},
    [DISK_WRITE_BYTES] = {"disk.write.bytes_per_s", "bytes/s", "Bytes written per second (sectors x 512)"},
    [DISK_READ_OPS] = {"disk.read.ops_per_s", "ops/s", "Read requests completed per second"},
    [DISK_WRITE_OPS] = {"disk.write.ops_per_s", "ops/s", "Write requests completed per second"},
    [DISK_BUSY] = {"disk.busy.percent", "percent",
		   "Percent of time with I/O in flight (io_ticks); not saturation for SSD/NVMe"},
};

/* the cumulative counters, named as node_exporter's node_disk_*_total */
static const struct col_dev_counter disk_counters[] = {
    {"disk.read.bytes", "bytes", "Bytes read (sectors x 512, cumulative)", DISK_READ_BYTES, 512},
    {"disk.written.bytes", "bytes", "Bytes written (sectors x 512, cumulative)", DISK_WRITE_BYTES, 512},
    {"disk.reads.completed", "count", "Read requests completed (cumulative)", DISK_READ_OPS, 1},
    {"disk.writes.completed", "count", "Write requests completed (cumulative)", DISK_WRITE_OPS, 1},
    {"disk.io_time.seconds", "seconds", "Time with I/O in flight (io_ticks, cumulative)", DISK_BUSY, 1e-3},
};

#define DISK_PATH "/proc/diskstats"

static const struct col_devsrc disk_src = {
    .path = DISK_PATH,
    .what = "device",
    .no_lines = "no device line",
    .bytes_per_line = 192,
    .enumerate = diskstats_enumerate,
    .update = diskstats_update,
    .fini = diskstats_fini,
    .series = disk_series,
    .nout = DISK_NOUT,
    .counters = disk_counters,
    .ncounters = sizeof(disk_counters) / sizeof(disk_counters[0]),
};

static int disk_init(struct collector *c, struct col_env *env)
{
	return col_devsrc_init(c, env, &disk_src);
}

const struct collector_ops procfs_disk_ops = {
    .name = "disk",
    .default_period_ms = 1000, /* slow-moving: read once a second unless asked */
    .init = disk_init,
    .declare = col_devsrc_declare,
    .sample = col_devsrc_sample,
    .fini = col_devsrc_fini,
};
