// SPDX-License-Identifier: MIT
/*
 * tick_floor - the floor under inforegd's per-tick CPU cost, for bench/daemon_cpu.sh:
 * wakes every PERIOD ms the way the daemon's loop does (sigtimedwait to an absolute
 * CLOCK_MONOTONIC deadline) and, given FILES, re-reads each at offset 0 with pread
 * (the sources the daemon reads, pre-opened). Without FILES it only wakes. With -u
 * the reads are one io_uring submission, as the daemon's (daemon/tick.c), except for
 * the /proc/net/ files, which it preads too. Runs until SIGTERM or SIGINT.
 * Usage: tick_floor [-u] PERIOD_MS [FILE...]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	static char bufs[64][8192];
	uint64_t period, next;
	int fds[64], sync[64], n = 0, uring = 0, a = 1;
	struct io_uring ring;
	sigset_t set;

	if (argc > 1 && !strcmp(argv[1], "-u"))
		uring = 1, a = 2;
	if (argc <= a || atoi(argv[a]) <= 0) {
		fprintf(stderr, "usage: tick_floor [-u] PERIOD_MS [FILE...]\n");
		return 2;
	}
	period = (uint64_t)atoi(argv[a]) * 1000000ull;
	for (int i = a + 1; i < argc && n < 64; i++) {
		if ((fds[n] = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "tick_floor: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		sync[n] = !strncmp(argv[i], "/proc/net/", 10) || !strncmp(argv[i], "/proc/pressure/", 15);
		n++;
	}
	if (uring && io_uring_queue_init(64, &ring, 0) < 0)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	next = mono_ns() + period;
	for (;;) {
		uint64_t now = mono_ns();

		if (now < next) {
			struct timespec ts = {(time_t)((next - now) / 1000000000ull),
					      (long)((next - now) % 1000000000ull)};
			int sig = sigtimedwait(&set, NULL, &ts);

			if (sig == SIGTERM || sig == SIGINT)
				return 0;
			continue;
		}
		if (uring) {
			struct io_uring_cqe *cqe;
			unsigned nr = 0;

			for (int i = 0; i < n; i++)
				if (!sync[i]) {
					io_uring_prep_read(io_uring_get_sqe(&ring), fds[i], bufs[i],
							   sizeof(bufs[i]), 0);
					nr++;
				}
			if (nr && io_uring_submit_and_wait(&ring, nr) < 0)
				return 1;
			while (nr && io_uring_peek_cqe(&ring, &cqe) == 0) {
				io_uring_cqe_seen(&ring, cqe);
				nr--;
			}
		}
		for (int i = 0; i < n; i++)
			if ((!uring || sync[i]) && pread(fds[i], buf, sizeof(buf), 0) < 0)
				return 1;
		next += period;
	}
}
