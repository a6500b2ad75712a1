// SPDX-License-Identifier: MIT
/*
 * log.c - the daemon's two pieces of plumbing every room uses: its log line
 * (stderr, "inforegd: ...") and its clocks (CLOCK_MONOTONIC for periods and costs,
 * CLOCK_REALTIME for timestamps). Kept out of loop.c so that collectors, rules and
 * devices depend on this small file and never on the main loop that calls them.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "daemon.h"

void ird_log(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "inforegd: %s\n", buf);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ird_now_mono(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t ird_now_real(void)
{
	return clock_ns(CLOCK_REALTIME);
}
