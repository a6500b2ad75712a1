// SPDX-License-Identifier: MIT
/*
 * tick.c - one io_uring submission per tick re-reads every pre-opened source file.
 *
 * /proc and /sys files regenerate their contents on a read at offset 0 of a kept
 * fd, so opening is paid once. Reads are queued for all files, submitted with one
 * io_uring_submit_and_wait(), and their completions matched back by user_data.
 * Buffers grow (doubling) when a read fills them; growth happens at most a few
 * times in the daemon's life, never in the steady state.
 *
 * Exception: proc files that only have a ->read method (no ->read_iter) fail
 * io_uring's non-blocking attempt, and since they have a poll method io_uring arms a
 * poll handler and retries from task work: PSI files under /proc/pressure cost ~70 us
 * each through io_uring against 3 us for a pread, /proc/net/dev ~67 us against 9 us
 * (measured on kernel 6.18). Those files are read with pread right after the
 * submission, flagged at open by their path. (The pressure collector prefers the
 * root cgroup's kernfs PSI files, which io_uring reads inline.)
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tick.h"

struct tick_files {
	struct io_uring ring;
	struct col_file **files;
	unsigned char *sync; /* [max]: read with pread, not io_uring (see above) */
	unsigned *group;     /* [max]: the group (collector) that opened it */
	unsigned n, max, cur_group;
};

static int needs_sync_read(const char *path)
{
	return strncmp(path, "/proc/pressure/", 15) == 0 || strncmp(path, "/proc/net/", 10) == 0;
}

struct tick_files *tick_files_new(unsigned max_files)
{
	struct tick_files *tf = calloc(1, sizeof(*tf));
	if (!tf)
		goto nomem;
	tf->files = calloc(max_files ? max_files : 1, sizeof(*tf->files));
	tf->sync = calloc(max_files ? max_files : 1, 1);
	tf->group = calloc(max_files ? max_files : 1, sizeof(*tf->group));
	if (!tf->files || !tf->sync || !tf->group)
		goto nomem;
	tf->max = max_files;
	unsigned entries = 8;
	while (entries < max_files)
		entries <<= 1;
	int e = io_uring_queue_init(entries, &tf->ring, 0);
	if (e < 0) {
		free(tf->files);
		free(tf->sync);
		free(tf->group);
		free(tf);
		errno = -e;
		return NULL;
	}
	return tf;
nomem:
	if (tf) {
		free(tf->files);
		free(tf->sync);
		free(tf->group);
	}
	free(tf);
	errno = ENOMEM;
	return NULL;
}

struct col_file *col_file_open(struct tick_files *tf, const char *path, size_t cap)
{
	if (tf->n >= tf->max) {
		errno = ENOSPC;
		return NULL;
	}
	struct col_file *f = calloc(1, sizeof(*f));
	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		int e = errno;
		free(f);
		errno = e;
		return NULL;
	}
	f->cap = cap < 256 ? 256 : cap;
	f->buf = malloc(f->cap);
	f->path = strdup(path);
	if (!f->buf || !f->path) {
		close(f->fd);
		free(f->buf);
		free((char *)f->path);
		free(f);
		errno = ENOMEM;
		return NULL;
	}
	f->buf[0] = '\0';
	f->len = -EAGAIN; /* nothing read yet */
	tf->sync[tf->n] = (unsigned char)needs_sync_read(path);
	tf->group[tf->n] = tf->cur_group;
	tf->files[tf->n++] = f;
	return f;
}

void col_file_close(struct tick_files *tf, struct col_file *f)
{
	for (unsigned i = 0; tf && f && i < tf->n; i++) {
		if (tf->files[i] != f)
			continue;
		tf->n--;
		/* keep the order of the others: user_data of a read is its index */
		memmove(&tf->files[i], &tf->files[i + 1], (tf->n - i) * sizeof(*tf->files));
		memmove(&tf->sync[i], &tf->sync[i + 1], tf->n - i);
		memmove(&tf->group[i], &tf->group[i + 1], (tf->n - i) * sizeof(*tf->group));
		close(f->fd);
		free(f->buf);
		free((char *)f->path);
		free(f);
		return;
	}
}

void tick_files_set_group(struct tick_files *tf, unsigned group)
{
	tf->cur_group = group;
}

unsigned tick_files_count(const struct tick_files *tf)
{
	return tf->n;
}

/* A read that filled the buffer may have been truncated: grow and re-read synchronously. */
static void grow_and_reread(struct col_file *f)
{
	while ((size_t)f->len >= f->cap - 1 && f->cap < (64u << 20)) {
		char *nb = realloc(f->buf, f->cap * 2);
		if (!nb)
			return;
		f->buf = nb;
		f->cap *= 2;
		ssize_t n = pread(f->fd, f->buf, f->cap - 1, 0);
		f->len = n < 0 ? -errno : n;
		if (n < 0)
			return;
	}
}

static void finish_read(struct col_file *f, ssize_t res)
{
	f->len = res;
	if (res >= 0) {
		if ((size_t)res >= f->cap - 1)
			grow_and_reread(f);
		f->buf[f->len >= 0 ? f->len : 0] = '\0';
	} else {
		f->buf[0] = '\0';
	}
}

int tick_files_read_all(struct tick_files *tf)
{
	return tick_files_read(tf, NULL, 0);
}

/* 1 if file I is read this tick: its group is due (or no mask was given). */
static int is_due(const struct tick_files *tf, unsigned i, const unsigned char *due, unsigned ngroups)
{
	return !due || (tf->group[i] < ngroups && due[tf->group[i]]);
}

int tick_files_read(struct tick_files *tf, const unsigned char *due, unsigned ngroups)
{
	unsigned nring = 0;
	for (unsigned i = 0; i < tf->n; i++) {
		if (tf->sync[i] || !is_due(tf, i, due, ngroups))
			continue;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&tf->ring);
		if (!sqe)
			return -EBUSY; /* cannot happen: the ring has >= max entries */
		struct col_file *f = tf->files[i];
		io_uring_prep_read(sqe, f->fd, f->buf, (unsigned)(f->cap - 1), 0);
		io_uring_sqe_set_data64(sqe, i);
		nring++;
	}
	int e = 0;
	if (nring) {
		do
			e = io_uring_submit_and_wait(&tf->ring, nring);
		while (e == -EINTR);
		if (e < 0)
			return e;
	}
	for (unsigned i = 0; i < tf->n; i++) {
		if (!tf->sync[i] || !is_due(tf, i, due, ngroups))
			continue;
		struct col_file *f = tf->files[i];
		ssize_t n = pread(f->fd, f->buf, f->cap - 1, 0);
		finish_read(f, n < 0 ? -errno : n);
	}
	unsigned seen = 0;
	while (seen < nring) {
		struct io_uring_cqe *cqe;
		e = io_uring_wait_cqe(&tf->ring, &cqe);
		if (e == -EINTR)
			continue;
		if (e < 0)
			return e;
		uint64_t i = io_uring_cqe_get_data64(cqe);
		if (i < tf->n)
			finish_read(tf->files[i], cqe->res);
		io_uring_cqe_seen(&tf->ring, cqe);
		seen++;
	}
	return 0;
}

void tick_files_free(struct tick_files *tf)
{
	if (!tf)
		return;
	for (unsigned i = 0; i < tf->n; i++) {
		close(tf->files[i]->fd);
		free(tf->files[i]->buf);
		free((char *)tf->files[i]->path);
		free(tf->files[i]);
	}
	io_uring_queue_exit(&tf->ring);
	free(tf->files);
	free(tf->sync);
	free(tf->group);
	free(tf);
}

/* ---- blocking reads for init and declare -------------------------------- */

ssize_t col_read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	return n;
}

ssize_t col_slurp(const char *path, char **buf, size_t *cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	ssize_t ret;
	for (;;) {
		if (!*buf || *cap - len < 2) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			char *nb = realloc(*buf, ncap);
			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			*buf = nb;
			*cap = ncap;
		}
		ssize_t n = read(fd, *buf + len, *cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(*buf)[len] = '\0';
	ret = (ssize_t)len;
out:
	close(fd);
	return ret;
}

int col_read_line(const char *path, char *buf, size_t len)
{
	ssize_t n = col_read_small(path, buf, len);
	if (n < 0)
		return (int)n;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}
