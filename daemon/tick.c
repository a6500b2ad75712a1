// SPDX-License-Identifier: MIT
/*
 * tick.c - one io_uring submission per tick re-reads every pre-opened source file.
 *
 * /proc and /sys files regenerate their contents on a read at offset 0 of a kept
 * fd, so opening is paid once. Reads are queued for all files, submitted with one
 * io_uring_submit_and_wait(), and their completions matched back by user_data.
 * Buffers grow (doubling) when a read fills them; growth happens at most a few
 * times in the daemon's life, never in the steady state.
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
	unsigned n, max;
};

struct tick_files *tick_files_new(unsigned max_files)
{
	struct tick_files *tf = calloc(1, sizeof(*tf));
	if (!tf)
		goto nomem;
	tf->files = calloc(max_files ? max_files : 1, sizeof(*tf->files));
	if (!tf->files)
		goto nomem;
	tf->max = max_files;
	unsigned entries = 8;
	while (entries < max_files)
		entries <<= 1;
	int e = io_uring_queue_init(entries, &tf->ring, 0);
	if (e < 0) {
		free(tf->files);
		free(tf);
		errno = -e;
		return NULL;
	}
	return tf;
nomem:
	if (tf)
		free(tf->files);
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
	tf->files[tf->n++] = f;
	return f;
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

int tick_files_read_all(struct tick_files *tf)
{
	if (tf->n == 0)
		return 0;
	for (unsigned i = 0; i < tf->n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&tf->ring);
		if (!sqe)
			return -EBUSY; /* cannot happen: the ring has >= max entries */
		struct col_file *f = tf->files[i];
		io_uring_prep_read(sqe, f->fd, f->buf, (unsigned)(f->cap - 1), 0);
		io_uring_sqe_set_data64(sqe, i);
	}
	int e;
	do
		e = io_uring_submit_and_wait(&tf->ring, tf->n);
	while (e == -EINTR);
	if (e < 0)
		return e;
	unsigned seen = 0;
	while (seen < tf->n) {
		struct io_uring_cqe *cqe;
		e = io_uring_wait_cqe(&tf->ring, &cqe);
		if (e == -EINTR)
			continue;
		if (e < 0)
			return e;
		uint64_t i = io_uring_cqe_get_data64(cqe);
		if (i < tf->n) {
			struct col_file *f = tf->files[i];
			f->len = cqe->res;
			if (cqe->res >= 0) {
				if ((size_t)cqe->res >= f->cap - 1)
					grow_and_reread(f);
				f->buf[f->len >= 0 ? f->len : 0] = '\0';
			} else {
				f->buf[0] = '\0';
			}
		}
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
	free(tf);
}
