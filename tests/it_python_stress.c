// SPDX-License-Identifier: MIT
/* it_python_stress: the Python reader under a writer that laps it. A writer process
 * publishes bursts of samples as fast as it can into a real /dev/shm registry with an
 * 8-slot ring (with short pauses, so reads also succeed), every sample the
 * stress_common.h pattern (values a function of the position, the last one a checksum);
 * tests/py/stress_reader.py reads it through python/inforeg (whole samples, read_at,
 * history, get, zero-copy views) and verifies every copy against its position: zero torn
 * reads in Python, across processes, on the real protocol. */
#include <errno.h>
#include <fcntl.h>
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

#define SECONDS 3

static char NAME[64];

static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int writer_main(int ready_fd, int stop_fd)
{
	struct inforeg_series_desc d[STRESS_SERIES];
	memset(d, 0, sizeof(d));
	for (int i = 0; i < STRESS_SERIES; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "stress.v%d", i);
		snprintf(d[i].unit, sizeof(d[i].unit), "things");
	}
	struct ring_params p = {.series_count = STRESS_SERIES,
				.capacity = 8,
				.period_ns = 1000000,
				.generation = 1,
				.writer_pid = (uint32_t)getpid()};
	struct shm_object o;
	if (shm_object_publish(NAME, &p, d, 0644, (gid_t)-1, &o) < 0)
		return 3;
	double v[STRESS_SERIES];
	uint64_t pos = 0;
	for (; pos < 8; pos++) {
		stress_fill(v, pos);
		ring_publish(o.hdr, v, pos, pos);
	}
	if (write(ready_fd, "r", 1) != 1)
		return 3;
	/* until the reader is done (stop_fd readable: it closed its end), or a deadline */
	uint64_t end = mono() + (SECONDS + 30) * 1000000000ull;
	struct timespec pause = {0, 200000};
	char c;
	while (mono() < end && read(stop_fd, &c, 1) < 0 && errno == EAGAIN) {
		for (int k = 0; k < 64; k++, pos++) {
			stress_fill(v, pos);
			ring_publish(o.hdr, v, pos, pos);
		}
		ring_notify(o.hdr);
		nanosleep(&pause, NULL);
	}
	ring_retire(o.hdr);
	printf("writer: %llu samples\n", (unsigned long long)pos);
	return 0;
}

int main(void)
{
	const char *top = getenv("INFOREG_TOP") ? getenv("INFOREG_TOP") : ".";
	char script[512];
	snprintf(script, sizeof(script), "%s/tests/py/stress_reader.py", top);
	if (access("/usr/bin/python3", X_OK) != 0 || access(script, R_OK) != 0) {
		printf("SKIP: no /usr/bin/python3 or no %s (set INFOREG_TOP)\n", script);
		return 77;
	}
	snprintf(NAME, sizeof(NAME), "inforeg-test-pystress-%d", (int)getpid());
	int ready[2], stop[2];
	CHECK(pipe(ready) == 0 && pipe(stop) == 0);
	fflush(stdout);
	pid_t w = fork();
	if (w == 0) {
		close(stop[1]);
		fcntl(stop[0], F_SETFL, O_NONBLOCK);
		int rc = writer_main(ready[1], stop[0]);
		fflush(stdout);
		_exit(rc);
	}
	close(stop[0]);
	char c;
	CHECK(read(ready[0], &c, 1) == 1);
	pid_t r = fork();
	if (r == 0) {
		char secs[16];
		snprintf(secs, sizeof(secs), "%d", SECONDS);
		execl("/usr/bin/python3", "python3", script, NAME, secs, (char *)NULL);
		_exit(127);
	}
	int st;
	CHECK(waitpid(r, &st, 0) == r);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "python reader status %d", st);
	close(stop[1]); /* the writer stops */
	CHECK(waitpid(w, &st, 0) == w && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/%s", NAME);
	unlink(path);
	TAP_EXIT();
}
