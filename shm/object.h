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
 * -EBUSY with the live owner's pid in *OWNER (0 if unknown), or -errno.
 */
int shm_lock_acquire(const char *name, pid_t *owner);
void shm_lock_release(const char *name, int fd);

struct shm_object {
	struct inforeg_shm_header *hdr;
	size_t size;
};

/*
 * Creates and maps (read-write) an object with parameters P, mode MODE, group GID
 * ((gid_t)-1: unchanged), initialised and with series descriptors DESCS copied in,
 * then renames it over /dev/shm/NAME. Any object it replaces is marked retired.
 * Returns 0 or -errno.
 */
int shm_object_publish(const char *name, const struct ring_params *p,
		       const struct inforeg_series_desc *descs, mode_t mode, gid_t gid,
		       struct shm_object *out);
/* Marks an existing object at NAME (a crashed writer's) retired, if one is there. */
void shm_object_retire_existing(const char *name);
/* Unmaps (does not unlink). */
void shm_object_unmap(struct shm_object *o);
/* Opens NAME read-only and maps it; validates with ring_check. Returns 0 or -errno. */
int shm_object_map_ro(const char *name, struct shm_object *out, dev_t *dev, ino_t *ino);

#endif /* INFOREG_OBJECT_H */
