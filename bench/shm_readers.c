// SPDX-License-Identifier: MIT
/*
 * shm_readers - N reader processes following a live registry, for bench/api_soak.sh.
 *
 * Each child opens the registry, then for SECONDS waits for every new sample
 * (inforeg_wait on the shared futex) and copies it whole (inforeg_read_sample),
 * checking that sequence numbers only grow. It counts samples read, samples skipped
 * (seq jumped: the reader was too slow, not an error) and errors (any other failure:
 * a return code other than the documented -EAGAIN/-ETIMEDOUT/-EINTR, or a sequence
 * going back). The parent sums the children's counts and exits 1 on any error.
 *
 * usage: shm_readers SHM_NAME N SECONDS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"

struct counts {
	unsigned long long reads, skipped, errors;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void child(const char *shm, double secs, int fd)
{
	struct counts c = {0, 0, 0};
	struct inforeg_reader *r = inforeg_open(shm, 0);
	struct inforeg_meta m;
	uint64_t last = INFOREG_SEQ_NONE;
	double *v = NULL, end = now_s() + secs;
	size_t cap = 0;

	if (!r) {
		c.errors = 1;
		goto out;
	}
	while (now_s() < end) {
		int n, e = inforeg_wait(r, last, 100);

		if (e == -ETIMEDOUT || e == -EINTR)
			continue;
		if (e < 0 && e != -ESTALE) {
			c.errors++;
			continue;
		}
		n = inforeg_read_sample(r, v, cap, &m);
		if (n == -EAGAIN)
			continue;
		if (n < 0) {
			c.errors++;
			continue;
		}
		if ((size_t)n > cap) { /* first sample, or the series set grew: read again */
			free(v);
			cap = (size_t)n;
			v = malloc(cap * sizeof(*v));
			if (!v) {
				c.errors++;
				break;
			}
			continue;
		}
		if (last != INFOREG_SEQ_NONE && m.seq < last) {
			c.errors++; /* a sequence going back within one generation */
		} else if (last != INFOREG_SEQ_NONE && m.seq > last + 1) {
			c.skipped += m.seq - last - 1;
		}
		if (last == INFOREG_SEQ_NONE || m.seq != last)
			c.reads++;
		last = m.seq;
	}
out:
	if (write(fd, &c, sizeof(c)) != (ssize_t)sizeof(c))
		_exit(2);
	free(v);
	inforeg_close(r);
	_exit(0);
}

int main(int argc, char **argv)
{
	struct counts sum = {0, 0, 0}, c;
	int n, i, p[2], status, bad = 0;
	double secs;

	if (argc != 4) {
		fprintf(stderr, "usage: shm_readers SHM_NAME N SECONDS\n");
		return 2;
	}
	n = atoi(argv[2]);
	secs = atof(argv[3]);
	if (n < 1 || secs <= 0 || pipe(p) < 0)
		return 2;
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 2;
		if (pid == 0) {
			close(p[0]);
			child(argv[1], secs, p[1]);
		}
	}
	close(p[1]);
	while (read(p[0], &c, sizeof(c)) == (ssize_t)sizeof(c)) {
		sum.reads += c.reads;
		sum.skipped += c.skipped;
		sum.errors += c.errors;
	}
	for (i = 0; i < n; i++)
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	printf("readers %d samples_read %llu samples_skipped %llu errors %llu failed_children %d\n", n,
	       sum.reads, sum.skipped, sum.errors, bad);
	return sum.errors || bad ? 1 : 0;
}
