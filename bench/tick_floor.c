// SPDX-License-Identifier: MIT
/*
 * tick_floor - the floor under inforegd's per-tick CPU cost, for bench/daemon_cpu.sh:
 * wakes every PERIOD ms the way the daemon's loop does (sigtimedwait to an absolute
 * CLOCK_MONOTONIC deadline) and, given FILES, re-reads each at offset 0 with pread
 * (the sources the daemon reads, pre-opened). Without FILES it only wakes. With -u
 * the files are read by the daemon's own tick reader (daemon/tick.c: one io_uring
 * submission, pread for the files it must). Runs until SIGTERM or SIGINT.
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
#include "../daemon/tick.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	uint64_t period, next;
	int fds[64], n = 0, uring = 0, a = 1;
	struct tick_files *tf = NULL;
	sigset_t set;

	if (argc > 1 && !strcmp(argv[1], "-u"))
		uring = 1, a = 2;
	if (argc <= a || atoi(argv[a]) <= 0) {
		fprintf(stderr, "usage: tick_floor [-u] PERIOD_MS [FILE...]\n");
		return 2;
	}
	period = (uint64_t)atoi(argv[a]) * 1000000ull;
	if (uring && !(tf = tick_files_new((unsigned)(argc - a - 1)))) {
		fprintf(stderr, "tick_floor: io_uring: %s\n", strerror(errno));
		return 1;
	}
	for (int i = a + 1; i < argc && n < 64; i++, n++) {
		if (uring ? !col_file_open(tf, argv[i], 4096)
			  : (fds[n] = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "tick_floor: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
	}
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
		if (uring && tick_files_read_all(tf) < 0)
			return 1;
		for (int i = 0; i < n && !uring; i++)
			if (pread(fds[i], buf, sizeof(buf), 0) < 0)
				return 1;
		next += period;
	}
}
