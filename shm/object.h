/* SPDX-License-Identifier: MIT */
/*
 * object.h - the registry as a POSIX shared-memory object: /dev/shm/NAME.
 *
 * The writer builds a complete object under a temporary name and renames it over
 * NAME, so a reader opening NAME always finds a fully initialised header; an object
 * is never truncated or unmapped under its readers (a new layout is a new object,
 * the old one is marked retired). Ownership of NAME is a flock on /dev/shm/NAME.lock,
 * held for the writer's life, so two live daemons never share a name.
 */
#ifndef INFOREG_OBJECT_H
#define INFOREG_OBJECT_H

#include <stddef.h>
#include <sys/types.h>
#include "ring.h"

#define SHM_DIR "/dev/shm"

/* 0 if NAME is usable as a single path component under /dev/shm, else -EINVAL. */
int shm_name_check(const char *name);

/*
 * Takes the writer lock for NAME (/dev/shm/NAME.lock). Returns the lock fd, or
 * -EBUSY with the live owner's pid in *OWNER (0 if unknown), -ELOOP (a symlink),
 * -EPERM with the file's owner in *FILE_UID (not ours, or not a regular file), -errno.
 */
int shm_lock_acquire(const char *name, pid_t *owner, uid_t *file_uid);
void shm_lock_release(const char *name, int fd);
/* Removes NAME.new.* objects left by killed writers (call holding the lock). */
void shm_clean_stale(const char *name);

struct shm_object {
	struct inforeg_shm_header *hdr;
	size_t size;
};

/* An object built but not yet renamed into place (shm_object_create). */
struct shm_pending {
	struct shm_object obj;
	char tmp[256];
};

/*
 * Creates /dev/shm/NAME.new.PID with mode MODE and group GID ((gid_t)-1: unchanged),
 * reserves all its pages (posix_fallocate), maps it read-write and initialises it with
 * parameters P and series descriptors DESCS. Readers cannot see it yet: fill it
 * (ring_carry), then shm_object_commit() or shm_object_abort(). Returns 0, -ENOSPC
 * when /dev/shm has less room than ring_size(P), or -errno; on error nothing is left.
 */
int shm_object_create(const char *name, const struct ring_params *p,
		      const struct inforeg_series_desc *descs, mode_t mode, gid_t gid,
		      struct shm_pending *pend);
/* Renames the pending object over NAME, then retires the object it replaced (if ours). */
int shm_object_commit(const char *name, struct shm_pending *pend, struct shm_object *out);
/* Unmaps and unlinks a pending object. */
void shm_object_abort(struct shm_pending *pend);

/* shm_object_create() then shm_object_commit(). Returns 0 or -errno. */
int shm_object_publish(const char *name, const struct ring_params *p,
		       const struct inforeg_series_desc *descs, mode_t mode, gid_t gid,
		       struct shm_object *out);
/* Marks an existing object at NAME (a crashed writer's) retired, if one is there. */
void shm_object_retire_existing(const char *name);
/* Unmaps (does not unlink). */
void shm_object_unmap(struct shm_object *o);
/*
 * Opens NAME read-only and maps it; validates with ring_check. Refuses (-EPERM) an
 * object that is not a regular file or is owned by anyone but root, the caller's
 * effective uid or the uid in $INFOREG_SHM_UID. Returns 0 or -errno.
 */
int shm_object_map_ro(const char *name, struct shm_object *out, dev_t *dev, ino_t *ino);

#endif /* INFOREG_OBJECT_H */
