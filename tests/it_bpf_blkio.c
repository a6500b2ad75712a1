// SPDX-License-Identifier: MIT
/*
 * it_bpf_blkio - ebpf.blkio sees O_DIRECT reads: 256 4 KiB O_DIRECT reads of a file on
 * the real disk (or, when the test directory is not on a block device, on a loop device
 * we attach and always detach) raise disk.io_latency.count{dev=...} of that disk by at
 * least 256, give a finite p50 within the reads' own measured range for that period, and
 * keep the histogram's shape (cumulative buckets non-decreasing, +Inf == count).
 */
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "it_bpf_harness.h"

#define NREADS	256
#define FILE_MB 16

static char path[200], loopdev[64], loopmnt[128], loopimg[128];

static void cleanup(void)
{
	if (path[0])
		unlink(path);
	if (loopmnt[0]) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "umount %s 2>/dev/null; rmdir %s", loopmnt, loopmnt);
		if (system(cmd)) {
		}
	}
	if (loopdev[0]) {
		int fd = open(loopdev, O_RDONLY);

		if (fd >= 0) {
			ioctl(fd, LOOP_CLR_FD, 0);
			close(fd);
		}
	}
	if (loopimg[0])
		unlink(loopimg);
}

/* Name of the whole disk holding DEV (a partition's parent), or "" if not a block device. */
static void disk_of(dev_t dev, char *out, size_t len)
{
	char p[128], real[512], *slash;

	out[0] = 0;
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u", major(dev), minor(dev));
	if (!realpath(p, real))
		return;
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/partition", major(dev), minor(dev));
	if (access(p, F_OK) == 0 && (slash = strrchr(real, '/')))
		*slash = 0; /* a partition: its disk is the parent directory */
	slash = strrchr(real, '/');
	slash = slash ? slash + 1 : real;
	if (strlen(slash) < len)
		strcpy(out, slash);
}

/* Attaches a loop device to a fresh ext4 image and mounts it; returns the mount point. */
static const char *make_loop_fs(void)
{
	char cmd[512];
	FILE *f;

	snprintf(loopimg, sizeof(loopimg), "/var/tmp/irblk-%d.img", (int)getpid());
	snprintf(cmd, sizeof(cmd), "truncate -s 64M %s && losetup -f --show %s", loopimg, loopimg);
	if (!(f = popen(cmd, "r")) || !fgets(loopdev, sizeof(loopdev), f))
		H_FAIL("losetup failed");
	pclose(f);
	loopdev[strcspn(loopdev, "\n")] = 0;
	snprintf(loopmnt, sizeof(loopmnt), "/var/tmp/irblk-%d.mnt", (int)getpid());
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q %s && mkdir -p %s && mount %s %s", loopdev, loopmnt, loopdev,
		 loopmnt);
	if (system(cmd) != 0)
		H_FAIL("mkfs/mount on %s failed", loopdev);
	return loopmnt;
}

int main(void)
{
	static const char *const names[] = {"ebpf.blkio", NULL};
	const char *dir = "/var/tmp";
	char disk[64], name[160];
	struct harness h;
	struct stat st;
	double c0, c1, p50, minlat = 1e18, maxlat = 0, prev = 0;
	void *buf;
	int fd;

	h_need_root();
	atexit(cleanup);
	if (stat(dir, &st) != 0)
		H_FAIL("stat %s: %s", dir, strerror(errno));
	disk_of(st.st_dev, disk, sizeof(disk));
	if (!disk[0] || getenv("IR_TEST_LOOP")) {
		printf("%s is not on a block device (or IR_TEST_LOOP is set): using a loop device\n", dir);
		dir = make_loop_fs();
		if (stat(dir, &st) != 0)
			H_FAIL("stat %s", dir);
		disk_of(st.st_dev, disk, sizeof(disk));
	}
	printf("disk under test: %s\n", disk);

	/* a file whose blocks are really on the disk */
	snprintf(path, sizeof(path), "%s/irblk-%d.dat", dir, (int)getpid());
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0)
		H_FAIL("%s: %s", path, strerror(errno));
	if (posix_memalign(&buf, 4096, 1 << 20))
		H_FAIL("posix_memalign");
	memset(buf, 0x5a, 1 << 20);
	for (int i = 0; i < FILE_MB; i++)
		if (write(fd, buf, 1 << 20) != 1 << 20)
			H_FAIL("write: %s", strerror(errno));
	fsync(fd);
	close(fd);

	h_init(&h, names);
	h_sample(&h);
	/* a disk that had no series yet is added at its first I/O and needs a re-layout */
	snprintf(name, sizeof(name), "disk.io_latency.count{dev=\"%s\"}", disk);
	c0 = h_find(&h, name) >= 0 ? h_get(&h, name) : 0;

	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0)
		H_FAIL("O_DIRECT open: %s", strerror(errno));
	srand((unsigned)getpid());
	for (int i = 0; i < NREADS; i++) {
		off_t off = (off_t)(rand() % (FILE_MB * 256)) * 4096;
		uint64_t t = h_now_ns();
		double us;

		if (pread(fd, buf, 4096, off) != 4096)
			H_FAIL("pread: %s", strerror(errno));
		us = (double)(h_now_ns() - t) / 1e3;
		minlat = us < minlat ? us : minlat;
		maxlat = us > maxlat ? us : maxlat;
	}
	close(fd);
	h_sample(&h);
	if (h_find(&h, name) < 0) {
		h_declare(&h);
		h_sample(&h); /* counts are since load, so nothing was lost */
	}
	c1 = h_get(&h, name);
	snprintf(name, sizeof(name), "disk.io_latency.p50{dev=\"%s\"}", disk);
	p50 = h_get(&h, name);
	printf("%d O_DIRECT reads: count %.0f -> %.0f, p50 %.1f us (reads took %.1f..%.1f us)\n", NREADS, c0,
	       c1, p50, minlat, maxlat);
	H_CHECK(c1 - c0 >= NREADS, "count rose by %.0f for %d reads", c1 - c0, NREADS);
	if (isfinite(p50)) /* the period of the reads; NaN only if the re-layout sample came after */
		H_CHECK(p50 > 0 && p50 <= 2 * maxlat, "p50 %.1f us vs reads of %.1f..%.1f us", p50, minlat,
			maxlat);
	for (int i = 0; i < IR_HIST_SLOTS; i++) {
		double v;

		if (i == IR_HIST_SLOTS - 1)
			snprintf(name, sizeof(name), "disk.io_latency.bucket{dev=\"%s\",le=\"+Inf\"}", disk);
		else
			snprintf(name, sizeof(name), "disk.io_latency.bucket{dev=\"%s\",le=\"%llu\"}", disk,
				 1ull << i);
		v = h_get(&h, name);
		if (v < prev)
			H_FAIL("bucket %s = %.0f below the previous %.0f", name, v, prev);
		prev = v;
	}
	H_CHECK(prev == c1, "+Inf bucket %.0f != count %.0f", prev, c1);
	free(buf);
	h_fini(&h);
	return 0;
}
