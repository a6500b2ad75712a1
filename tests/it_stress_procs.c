// SPDX-License-Identifier: MIT
/* it_stress_procs: a writer process publishes as fast as it can into a real
 * /dev/shm registry with a small ring (readers are lapped constantly); several reader
 * processes read through libinforeg (whole samples, single values with metadata,
 * zero-copy views) and verify every copy against its position: zero torn reads. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "object.h"
#include "ring.h"
#include "stress_common.h"
#include "tap.h"

#define READERS 3
#define SECONDS 2

static char NAME[64];

static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int writer_main(int ready_fd)
{
	struct inforeg_series_desc d[STRESS_SERIES];
	memset(d, 0, sizeof(d));
	for (int i = 0; i < STRESS_SERIES; i++)
		snprintf(d[i].name, sizeof(d[i].name), "stress.v%d", i);
	struct ring_params p = { .series_count = STRESS_SERIES, .capacity = 8, .period_ns = 1000,
				 .generation = 1, .writer_pid = (uint32_t)getpid() };
	struct shm_object o;
	if (shm_object_publish(NAME, &p, d, 0644, (gid_t)-1, &o) < 0)
		return 3;
	double v[STRESS_SERIES];
	uint64_t pos = 0;
	stress_fill(v, pos);
	ring_publish(o.hdr, v, pos, pos);
	pos++;
	if (write(ready_fd, "r", 1) != 1)
		return 3;
	uint64_t end = mono() + SECONDS * 1000000000ull;
	while (mono() < end) {
		for (int k = 0; k < 256; k++, pos++) {
			stress_fill(v, pos);
			ring_publish(o.hdr, v, pos, pos);
		}
		ring_notify(o.hdr);
	}
	ring_retire(o.hdr);
	printf("writer: %llu samples\n", (unsigned long long)pos);
	return 0;
}

static int reader_main(int id)
{
	struct inforeg_reader *r = inforeg_open(NAME, INFOREG_OPEN_NOREOPEN);
	if (!r)
		return 3;
	int h[STRESS_SERIES];
	for (int i = 0; i < STRESS_SERIES; i++) {
		char n[32];
		snprintf(n, sizeof(n), "stress.v%d", i);
		h[i] = inforeg_lookup(r, n);
		if (h[i] != i)
			return 3;
	}
	uint64_t ok = 0, torn = 0, lapped = 0;
	double v[STRESS_SERIES];
	uint64_t end = mono() + (SECONDS - 0.2) * 1e9;
	while (mono() < end) {
		struct inforeg_meta m;
		int e = inforeg_read_sample(r, v, STRESS_SERIES, &m);
		if (e == STRESS_SERIES && stress_verify(v, m.seq) == 0 && m.realtime_ns == m.seq)
			ok++;
		else if (e == STRESS_SERIES)
			torn++;
		int i = (int)(ok % (STRESS_SERIES - 1));
		double x;
		if (inforeg_read_latest(r, h[i], &x, &m) == 0) {
			if (x == stress_value(m.seq, (uint32_t)i))
				ok++;
			else
				torn++;
		}
		struct inforeg_view view;
		if (inforeg_view_latest(r, &view) == 0) {
			double a = inforeg_view_value(&view, 0), b = inforeg_view_value(&view, STRESS_SERIES - 2);
			if (!inforeg_view_valid(&view))
				lapped++; /* the view said so: not a torn read */
			else if (a == stress_value(view.meta.seq, 0) &&
				 b == stress_value(view.meta.seq, STRESS_SERIES - 2))
				ok++;
			else
				torn++;
		}
	}
	printf("reader %d: %llu verified, %llu views lapped, %llu torn\n", id, (unsigned long long)ok,
	       (unsigned long long)lapped, (unsigned long long)torn);
	inforeg_close(r);
	return torn ? 1 : ok < 1000 ? 2 : 0;
}

int main(void)
{
	snprintf(NAME, sizeof(NAME), "inforeg-test-stress-%d", (int)getpid());
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	fflush(stdout);
	pid_t w = fork();
	if (w == 0)
	{
		int rc = writer_main(pfd[1]);
		fflush(stdout);
		_exit(rc);
	}
	char c;
	CHECK(read(pfd[0], &c, 1) == 1);
	pid_t r[READERS];
	for (int i = 0; i < READERS; i++) {
		r[i] = fork();
		if (r[i] == 0)
		{
			int rc = reader_main(i);
			fflush(stdout);
			_exit(rc);
		}
	}
	int st;
	for (int i = 0; i < READERS; i++) {
		CHECK(waitpid(r[i], &st, 0) == r[i]);
		CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reader %d status %d", i, st);
	}
	CHECK(waitpid(w, &st, 0) == w && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/%s", NAME);
	unlink(path);
	TAP_EXIT();
}
