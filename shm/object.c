// SPDX-License-Identifier: MIT
/*
 * object.c - creating, replacing, retiring and mapping registry objects in /dev/shm.
 *
 * Paths are built directly under /dev/shm (glibc's shm_open does the same on Linux)
 * so that rename(2) can swap a finished object into place atomically. See object.h
 * for the order of a replacement and what is checked about the lock and the object.
 */
#include <dirent.h>
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

int shm_lock_acquire(const char *name, pid_t *owner, uid_t *file_uid)
{
	char path[256];
	shm_path(path, sizeof(path), name, ".lock");
	*owner = 0;
	*file_uid = (uid_t)-1;
	/* O_NOFOLLOW: a symlink planted at the lock's path is refused (ELOOP), so its
	 * target is never truncated or written; 0600: nobody else can open it to flock */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		*file_uid = st.st_uid;
		close(fd);
		return -EPERM;
	}
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
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
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

void shm_clean_stale(const char *name)
{
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "%s.new.", name);
	size_t pl = strlen(prefix);
	DIR *dir = opendir(SHM_DIR);
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, prefix, pl) || !e->d_name[pl])
			continue;
		struct stat st;
		/* only our own leftovers; the lock says no other writer of NAME is alive */
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid())
			unlinkat(dirfd(dir), e->d_name, 0);
	}
	closedir(dir);
}

/* Marks the object open at FD retired, if it is a valid object of ours. */
static void retire_fd(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (size_t)st.st_size < sizeof(struct inforeg_shm_header))
		return;
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return;
	if (ring_check(m, (size_t)st.st_size) == 0)
		ring_retire(m);
	munmap(m, (size_t)st.st_size);
}

void shm_object_retire_existing(const char *name)
{
	char path[256];
	shm_path(path, sizeof(path), name, "");
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	retire_fd(fd);
	close(fd);
}

int shm_object_create(const char *name, const struct ring_params *p, const struct inforeg_series_desc *descs,
		      mode_t mode, gid_t gid, struct shm_pending *pend)
{
	size_t size = ring_size(p);
	void *m = MAP_FAILED;
	int err = 0;

	memset(pend, 0, sizeof(*pend));
	snprintf(pend->tmp, sizeof(pend->tmp), SHM_DIR "/%s.new.%d", name, (int)getpid());
	unlink(pend->tmp);
	int fd = open(pend->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0666);
	if (fd < 0)
		return -errno;
	/* umask must not narrow the mode readers rely on; the daemon is the only writer */
	if (fchmod(fd, mode & 0644) < 0 || (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0)) {
		err = -errno;
		goto fail;
	}
	/* Reserve every page now: ftruncate + MAP_POPULATE reserve nothing on tmpfs, and a
	 * store to a page tmpfs cannot supply is a SIGBUS. posix_fallocate returns the error. */
	err = -posix_fallocate(fd, 0, (off_t)size);
	if (err)
		goto fail;
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
	close(fd);
	pend->obj.hdr = h;
	pend->obj.size = size;
	return 0;
fail:
	if (m != MAP_FAILED)
		munmap(m, size);
	close(fd);
	unlink(pend->tmp);
	pend->tmp[0] = 0;
	return err;
}

int shm_object_commit(const char *name, struct shm_pending *pend, struct shm_object *out)
{
	char path[256];
	shm_path(path, sizeof(path), name, "");
	/* the object NAME names now (ours, or a killed writer's): kept open across the
	 * rename so it can be retired after the successor is in place */
	int old = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (rename(pend->tmp, path) < 0) {
		int e = -errno;
		if (old >= 0)
			close(old);
		shm_object_abort(pend);
		return e;
	}
	/* rename first, then retire: a reader woken by the retirement re-opens NAME and
	 * finds the successor at once */
	if (old >= 0) {
		retire_fd(old);
		close(old);
	}
	*out = pend->obj;
	pend->obj.hdr = NULL;
	pend->tmp[0] = 0;
	return 0;
}

void shm_object_abort(struct shm_pending *pend)
{
	shm_object_unmap(&pend->obj);
	if (pend->tmp[0])
		unlink(pend->tmp);
	pend->tmp[0] = 0;
}

int shm_object_publish(const char *name, const struct ring_params *p, const struct inforeg_series_desc *descs,
		       mode_t mode, gid_t gid, struct shm_object *out)
{
	struct shm_pending pend;
	int e = shm_object_create(name, p, descs, mode, gid, &pend);
	return e ? e : shm_object_commit(name, &pend, out);
}

void shm_object_unmap(struct shm_object *o)
{
	if (o && o->hdr) {
		munmap(o->hdr, o->size);
		o->hdr = NULL;
	}
}

/* Root, ourselves, or the daemon user named in $INFOREG_SHM_UID (a number). */
static int owner_trusted(uid_t uid)
{
	if (uid == 0 || uid == geteuid())
		return 1;
	const char *e = getenv("INFOREG_SHM_UID");
	char *end;
	if (!e || !*e)
		return 0;
	unsigned long v = strtoul(e, &end, 10);
	return !*end && v == (unsigned long)uid;
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
	if (!S_ISREG(st.st_mode) || !owner_trusted(st.st_uid)) {
		close(fd);
		return -EPERM;
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
