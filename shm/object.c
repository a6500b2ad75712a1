// SPDX-License-Identifier: MIT
/*
 * object.c - creating, replacing, retiring and mapping registry objects in /dev/shm.
 *
 * Paths are built directly under /dev/shm (glibc's shm_open does the same on Linux)
 * so that rename(2) can swap a finished object into place atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "object.h"

int shm_name_check(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 200 || name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return -EINVAL;
	}
	return 0;
}

static void shm_path(char *buf, size_t len, const char *name, const char *suffix)
{
	snprintf(buf, len, SHM_DIR "/%s%s", name, suffix);
}

int shm_lock_acquire(const char *name, pid_t *owner)
{
	char path[256];
	shm_path(path, sizeof(path), name, ".lock");
	*owner = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char buf[32] = {0};
		if (pread(fd, buf, sizeof(buf) - 1, 0) > 0)
			*owner = (pid_t)atoi(buf);
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

void shm_lock_release(const char *name, int fd)
{
	char path[256];
	if (fd < 0)
		return;
	shm_path(path, sizeof(path), name, ".lock");
	unlink(path); /* still holding the lock: nobody else owns this path now */
	close(fd);
}

void shm_object_retire_existing(const char *name)
{
	char path[256];
	shm_path(path, sizeof(path), name, "");
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(struct inforeg_shm_header)) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			if (ring_check(m, (size_t)st.st_size) == 0)
				ring_retire(m);
			munmap(m, (size_t)st.st_size);
		}
	}
	close(fd);
}

int shm_object_publish(const char *name, const struct ring_params *p, const struct inforeg_series_desc *descs,
		       mode_t mode, gid_t gid, struct shm_object *out)
{
	char tmp[256], path[256];
	snprintf(tmp, sizeof(tmp), SHM_DIR "/%s.new.%d", name, (int)getpid());
	shm_path(path, sizeof(path), name, "");
	size_t size = ring_size(p);
	void *m = MAP_FAILED;
	int err = 0;

	unlink(tmp);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0666);
	if (fd < 0)
		return -errno;
	/* umask must not narrow the mode readers rely on; the daemon is the only writer */
	if (fchmod(fd, mode & 0644) < 0 || (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0) ||
	    ftruncate(fd, (off_t)size) < 0) {
		err = -errno;
		goto fail;
	}
	/* populate: the writer touches every slot within one ring cycle anyway; faulting
	 * the pages in now keeps page faults out of the first cycle of ticks */
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (m == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	err = ring_init(m, size, p);
	if (err)
		goto fail;
	struct inforeg_shm_header *h = m;
	memcpy(ring_dir(h), descs, (size_t)p->series_count * sizeof(*descs));

	/* Retire the object being replaced only after ours is ready, then swap names:
	 * a reader that wakes on the retirement finds the new object (or, in the tiny
	 * window before rename, the old retired one again and retries later). */
	shm_object_retire_existing(name);
	if (rename(tmp, path) < 0) {
		err = -errno;
		goto fail;
	}
	close(fd);
	out->hdr = h;
	out->size = size;
	return 0;
fail:
	if (m != MAP_FAILED)
		munmap(m, size);
	close(fd);
	unlink(tmp);
	return err;
}

void shm_object_unmap(struct shm_object *o)
{
	if (o && o->hdr) {
		munmap(o->hdr, o->size);
		o->hdr = NULL;
	}
}

int shm_object_map_ro(const char *name, struct shm_object *out, dev_t *dev, ino_t *ino)
{
	char path[256];
	if (shm_name_check(name) < 0)
		return -EINVAL;
	shm_path(path, sizeof(path), name, "");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if ((size_t)st.st_size < sizeof(struct inforeg_shm_header)) {
		close(fd);
		return -EPROTO;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	int e = m == MAP_FAILED ? -errno : 0;
	close(fd);
	if (e)
		return e;
	e = ring_check(m, (size_t)st.st_size);
	if (e) {
		munmap(m, (size_t)st.st_size);
		return e;
	}
	out->hdr = m;
	out->size = (size_t)st.st_size;
	if (dev)
		*dev = st.st_dev;
	if (ino)
		*ino = st.st_ino;
	return 0;
}
