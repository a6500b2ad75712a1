/* SPDX-License-Identifier: MIT */
/*
 * blkio.c - "ebpf.blkio": block I/O latency per disk, from block_rq_issue to
 * block_rq_complete (the time the device and its driver took, queueing in the block
 * layer's scheduler excluded).
 *
 * The kernel keeps one log2 histogram per whole-disk dev_t in a small hash map; we read
 * it once per period, 1 s by default (one batch lookup for all disks). Disks present at
 * init with a non-zero size are declared at once; a disk that shows I/O later (a loop device attached after
 * start) is added and the layout re-declared (layout_changed). Names come from /sys/dev/block/MAJ:MIN/uevent
 * (DEVNAME), as /proc/diskstats names them.
 *
 * Series per disk: disk.io_latency.p50/.p90/.p99{dev="vda"} (us, last period, NaN if
 * no I/O completed) and disk.io_latency.bucket{dev="vda",le="N"} +
 * disk.io_latency.count{dev="vda"} (COUNTER, since load). disk.io_latency.untracked
 * (COUNTER, since load, all disks) counts the requests that were not timed: issued while
 * IR_BLK_INFLIGHT_MAX others were in flight (kernel/blkio.bpf.c), or whose issue or
 * completion the kernel did not run the program for (it skips a program that is already
 * running on that CPU, an issue or completion interrupted by another; the programs'
 * recursion_misses, read at most every BLK_MISSES_NS). So every request is either in a
 * histogram or in that count. When the table overflows, entries older than BLK_STALE_NS
 * (a completion never seen) are swept from it, at most every BLK_SWEEP_NS.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ebpf.h"
#include "daemon.h"
#include "blkio.skel.h"

struct blk_dev {
	uint32_t kdev; /* kernel dev_t encoding, the map's key */
	char name[32];
	int declared;
	struct cbpf_hist_idx idx;
	int idx_p50, idx_p90, idx_p99;
	uint64_t prev[IR_HIST_SLOTS];
	int have_prev;
};

/* An in-flight entry this old lost its completion; the block layer times out at 30 s. */
#define BLK_STALE_NS (60 * 1000000000ull)
#define BLK_SWEEP_NS (10 * 1000000000ull)
/* The programs' skipped runs cost a system call each to read: once a second is enough. */
#define BLK_MISSES_NS (1000000000ull)

struct blk_state {
	struct cbpf *b;
	int map_fd, start_fd;
	int idx_untracked;
	uint64_t untracked_seen; /* blk_untracked at the last sweep check */
	uint64_t swept_ns;	 /* CLOCK_MONOTONIC of the last sweep */
	uint64_t misses;	 /* recursion_misses of both programs, last read */
	uint64_t misses_ns;	 /* when */
	struct blk_dev devs[IR_DEV_MAX];
	int ndev;
	/* one BPF_MAP_LOOKUP_BATCH per tick copies every device's histogram here (a
	 * get_next_key + lookup walk cost two system calls per device and one more) */
	uint32_t keys[IR_DEV_MAX];
	struct ir_hist hists[IR_DEV_MAX];
};

/* The kernel's name of disk MAJ:MIN ("vda"), or "MAJ:MIN" when sysfs does not say. */
static void dev_name(uint32_t kdev, char *out, size_t len)
{
	char path[64], buf[512], *p;

	snprintf(out, len, "%u:%u", IR_DEV_MAJOR(kdev), IR_DEV_MINOR(kdev));
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", IR_DEV_MAJOR(kdev), IR_DEV_MINOR(kdev));
	if (col_read_small(path, buf, sizeof(buf)) <= 0)
		return;
	p = strstr(buf, "DEVNAME=");
	if (!p)
		return;
	p += 8;
	p[strcspn(p, "\n")] = 0;
	/* label values must stay printable and short; "mapper/x"-style names are fine */
	if (*p && strlen(p) < len && !strpbrk(p, "\"\\"))
		snprintf(out, len, "%s", p);
}

static struct blk_dev *dev_find(struct blk_state *s, uint32_t kdev)
{
	for (int i = 0; i < s->ndev; i++)
		if (s->devs[i].kdev == kdev)
			return &s->devs[i];
	return NULL;
}

static struct blk_dev *dev_add(struct blk_state *s, uint32_t kdev)
{
	struct blk_dev *d;

	if (s->ndev == IR_DEV_MAX)
		return NULL;
	d = &s->devs[s->ndev++];
	memset(d, 0, sizeof(*d));
	d->kdev = kdev;
	dev_name(kdev, d->name, sizeof(d->name));
	return d;
}

/* Pre-declares the disks that exist now and have media (unattached loop devices do not). */
static void add_present_disks(struct blk_state *s)
{
	DIR *dir = opendir("/sys/block");
	struct dirent *de;
	char path[300], buf[64];
	unsigned maj, min;

	if (!dir)
		return;
	while ((de = readdir(dir)) && s->ndev < IR_DEV_MAX) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/size", de->d_name);
		if (col_read_small(path, buf, sizeof(buf)) <= 0 || strtoull(buf, NULL, 10) == 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dev", de->d_name);
		if (col_read_small(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%u:%u", &maj, &min) != 2)
			continue;
		if (!dev_find(s, (maj << IR_MINORBITS) | min))
			dev_add(s, (maj << IR_MINORBITS) | min);
	}
	closedir(dir);
}

static int blk_init(struct collector *c, struct col_env *env)
{
	struct blk_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	c->priv = s;
	s->b = cbpf_get(c, env->cfg);
	if (!s->b)
		return -errno;
	int e = cbpf_require(c, s->b, CBPF_BLKIO);
	if (e < 0)
		return e;
	s->map_fd = bpf_map__fd(s->b->blkio->maps.blk_hist);
	s->start_fd = bpf_map__fd(s->b->blkio->maps.blk_start);
	add_present_disks(s);
	return 0;
}

static int blk_declare(struct collector *c, struct series_reg *reg)
{
	struct blk_state *s = c->priv;
	const char *h = "Block I/O latency, issue to completion, last period";
	char labels[64];
	int r;

	r = reg_series(reg, "disk.io_latency.untracked", "count", INFOREG_KIND_COUNTER,
		       "Block requests not timed since load: the in-flight table was full, or the kernel "
		       "skipped the program (already running on the CPU)");
	if (r < 0)
		return r;
	s->idx_untracked = r;
	for (int i = 0; i < s->ndev; i++) {
		struct blk_dev *d = &s->devs[i];

		if ((r = reg_seriesf(reg, "us", INFOREG_KIND_GAUGE, h, "disk.io_latency.p50{dev=\"%s\"}",
				     d->name)) < 0)
			return r;
		d->idx_p50 = r;
		if ((r = reg_seriesf(reg, "us", INFOREG_KIND_GAUGE, h, "disk.io_latency.p90{dev=\"%s\"}",
				     d->name)) < 0)
			return r;
		d->idx_p90 = r;
		if ((r = reg_seriesf(reg, "us", INFOREG_KIND_GAUGE, h, "disk.io_latency.p99{dev=\"%s\"}",
				     d->name)) < 0)
			return r;
		d->idx_p99 = r;
		snprintf(labels, sizeof(labels), "dev=\"%s\"", d->name);
		if ((r = cbpf_declare_hist(reg, "disk.io_latency", labels, &d->idx, "Block I/O latency")) < 0)
			return r;
		d->declared = 1;
	}
	return 0;
}

static void dev_write(struct blk_dev *d, const __u64 *slots, double *values)
{
	uint64_t cum[IR_HIST_SLOTS], delta[IR_HIST_SLOTS], n = 0;

	for (int k = 0; k < IR_HIST_SLOTS; k++) {
		cum[k] = slots[k];
		delta[k] = cum[k] >= d->prev[k] ? cum[k] - d->prev[k] : 0;
		n += delta[k];
		d->prev[k] = cum[k];
	}
	if (!d->have_prev)
		n = 0;
	d->have_prev = 1;
	cbpf_put_value(values, d->idx_p50, cbpf_hist_quantile(delta, n, 0.50));
	cbpf_put_value(values, d->idx_p90, cbpf_hist_quantile(delta, n, 0.90));
	cbpf_put_value(values, d->idx_p99, cbpf_hist_quantile(delta, n, 0.99));
	cbpf_write_hist(&d->idx, cum, values);
}

/* Runs of PROG the kernel skipped since load (it was already running on that CPU). */
static uint64_t prog_misses(const struct bpf_program *prog)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0)
		return 0;
	return info.recursion_misses;
}

/*
 * Deletes in-flight entries older than BLK_STALE_NS (requests whose completion was never
 * seen: a device removed with requests in flight), so they cannot keep the table full.
 * Batch reads of the whole table, then one delete per stale entry. Returns the number
 * deleted or -errno.
 */
static int blk_sweep(struct blk_state *s, uint64_t now_ns)
{
	enum { CHUNK = 1024 };
	static __u64 keys[CHUNK], vals[CHUNK];
	__u64 batch = 0;
	int deleted = 0, first = 1;

	for (;;) {
		__u32 count = CHUNK;
		int e = bpf_map_lookup_batch(s->start_fd, first ? NULL : &batch, &batch, keys, vals, &count,
					     NULL);

		if (e < 0 && errno != ENOENT)
			return -errno;
		for (__u32 i = 0; i < count; i++)
			if (now_ns > vals[i] && now_ns - vals[i] > BLK_STALE_NS &&
			    bpf_map_delete_elem(s->start_fd, &keys[i]) == 0)
				deleted++;
		if (e < 0) /* ENOENT: that was the last chunk */
			return deleted;
		first = 0;
	}
}

static int blk_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct blk_state *s = c->priv;
	uint8_t seen[IR_DEV_MAX] = {0};
	struct ir_hist h;
	int changed = 0;
	uint32_t count = IR_DEV_MAX, out_batch;

	(void)now;
	/* -ENOENT: the whole map was returned (count says how much); any other error
	 * leaves this tick's histograms unknown */
	int e = bpf_map_lookup_batch(s->map_fd, NULL, &out_batch, s->keys, s->hists, &count, NULL);
	if (e < 0 && e != -ENOENT) {
		col_error(c, "reading blk_hist: %s", strerror(-e));
		return e;
	}
	for (uint32_t n = 0; n < count && n < IR_DEV_MAX; n++) {
		struct blk_dev *d = dev_find(s, s->keys[n]);
		if (!d) {
			d = dev_add(s, s->keys[n]);
			changed |= d != NULL;
		}
		if (!d || !d->declared)
			continue; /* declared by the re-layout before the next tick */
		seen[d - s->devs] = 1;
		dev_write(d, s->hists[n].slots, values);
	}
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < s->ndev; i++)
		if (s->devs[i].declared && !seen[i])
			dev_write(&s->devs[i], h.slots, values);
	/* relaxed: a counter the programs only add to (a tick late is fine) */
	uint64_t untracked = __atomic_load_n(&s->b->blkio->bss->blk_untracked, __ATOMIC_RELAXED);
	if (!s->misses_ns || now->mono_ns - s->misses_ns >= BLK_MISSES_NS) {
		s->misses = prog_misses(s->b->blkio->progs.ir_block_rq_issue) +
			    prog_misses(s->b->blkio->progs.ir_block_rq_complete);
		s->misses_ns = now->mono_ns;
	}
	cbpf_put_value(values, s->idx_untracked, (double)(untracked + s->misses));
	if (untracked != s->untracked_seen && now->mono_ns - s->swept_ns >= BLK_SWEEP_NS) {
		int n = blk_sweep(s, cbpf_now_ns());

		s->untracked_seen = untracked;
		s->swept_ns = now->mono_ns;
		if (n > 0)
			ird_log("ebpf.blkio: %d block requests in flight for over %llu s dropped from the "
				"in-flight table",
				n, BLK_STALE_NS / 1000000000ull);
	}
	if (changed)
		layout_changed();
	return 0;
}

static void blk_fini(struct collector *c)
{
	struct blk_state *s = c->priv;

	if (!s)
		return;
	cbpf_put(s->b);
	free(s);
	c->priv = NULL;
}

const struct collector_ops ebpf_blkio_ops = {
    .name = "ebpf.blkio",
    .init = blk_init,
    .declare = blk_declare,
    .sample = blk_sample,
    .fini = blk_fini,
    /* the latency of the I/O the disks completed, beside disk's counters: once a second
     * unless asked (at 100 Hz most windows complete no request, and one batch lookup
     * plus the percentiles cost about as much as the rest of the tick) */
    .default_period_ms = 1000,
};
