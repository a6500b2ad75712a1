/* SPDX-License-Identifier: MIT */
/*
 * it_bpf_disk.h - a file whose blocks are on a real block device, for the block I/O
 * tests (it_bpf_blkio, it_bpf_blkio_untracked): on the disk under /var/tmp, or, when that
 * is not a block device (or IR_TEST_LOOP is set), on a loop device with a fresh ext4
 * that is always detached at exit. Include after it_bpf_harness.h.
 */
#ifndef IT_BPF_DISK_H
#define IT_BPF_DISK_H

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

/* A 1 MiB buffer aligned for O_DIRECT. */
static void *aligned_buf(void)
{
	void *buf;

	if (posix_memalign(&buf, 4096, 1 << 20))
		H_FAIL("posix_memalign");
	memset(buf, 0x5a, 1 << 20);
	return buf;
}

/* Writes MB MiB to path[] on a block device (named in DISK) and syncs it. */
static void test_file(char *disk, size_t len, int mb)
{
	const char *dir = "/var/tmp";
	struct stat st;
	void *buf = aligned_buf();
	int fd;

	atexit(cleanup);
	if (stat(dir, &st) != 0)
		H_FAIL("stat %s: %s", dir, strerror(errno));
	disk_of(st.st_dev, disk, len);
	if (!disk[0] || getenv("IR_TEST_LOOP")) {
		printf("%s is not on a block device (or IR_TEST_LOOP is set): using a loop device\n", dir);
		dir = make_loop_fs();
		if (stat(dir, &st) != 0)
			H_FAIL("stat %s", dir);
		disk_of(st.st_dev, disk, len);
	}
	printf("disk under test: %s\n", disk);
	snprintf(path, sizeof(path), "%s/irblk-%d.dat", dir, (int)getpid());
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0)
		H_FAIL("%s: %s", path, strerror(errno));
	for (int i = 0; i < mb; i++)
		if (write(fd, buf, 1 << 20) != 1 << 20)
			H_FAIL("write: %s", strerror(errno));
	fsync(fd);
	close(fd);
	free(buf);
}

#endif /* IT_BPF_DISK_H */
