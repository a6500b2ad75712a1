/* SPDX-License-Identifier: MIT */
/*
 * freshness - how old a sample is when a reader sleeping in inforeg_wait() (shared futex)
 * sees it: a live inforegd at a 10 ms period (100 Hz, --listen none, eBPF as configured
 * by default), the reader waking on every publish and taking now - the sample's own
 * timestamps (CLOCK_MONOTONIC and CLOCK_REALTIME, taken at the start of the tick, so
 * the age includes reading the sources, publishing and the wake-up), p50 and p99 per
 * round. The baseline, measured in the same run: the floor of any futex-woken design,
 * a bare process that stamps CLOCK_MONOTONIC and does FUTEX_WAKE every 10 ms on a shared
 * word, with the same reader loop (no sources read, no ring).
 *
 * usage: freshness [BUILD_DIR]   (default $INFOREG_BUILD or build; QUICK=1: short form)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "bench.h"

#define B	  "freshness"
#define PERIOD_MS 10
#define MAXN	  4096

static uint64_t clk_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The floor's shared page: the word readers sleep on and the stamp of the last wake. */
struct floor_page {
	_Atomic uint32_t word;
	_Atomic uint64_t stamp_ns;
};

static void floor_writer(struct floor_page *p)
{
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		next.tv_nsec += PERIOD_MS * 1000000L;
		if (next.tv_nsec >= 1000000000L)
			next.tv_sec++, next.tv_nsec -= 1000000000L;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		atomic_store_explicit(&p->stamp_ns, clk_ns(CLOCK_MONOTONIC), memory_order_relaxed);
		/* release: orders the stamp before the new word; pairs with the reader's acquire
		 * load of word after its wake (floor_round) */
		atomic_fetch_add_explicit(&p->word, 1, memory_order_release);
		syscall(SYS_futex, &p->word, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

/* One round of the floor: ages (us) of N wakes. */
static int floor_round(struct floor_page *p, double *age, int n)
{
	int k = 0;

	while (k < n) {
		uint32_t w = atomic_load_explicit(&p->word, memory_order_acquire);
		struct timespec to = {1, 0};

		if (syscall(SYS_futex, &p->word, FUTEX_WAIT, w, &to, NULL, 0) < 0 && errno != EAGAIN &&
		    errno != EINTR)
			return -errno;
		uint64_t now = clk_ns(CLOCK_MONOTONIC);
		/* acquire: pairs with the writer's fetch_add release, so stamp_ns is this wake's */
		if (atomic_load_explicit(&p->word, memory_order_acquire) == w)
			continue; /* timed out or spurious */
		age[k++] = (double)(now - atomic_load_explicit(&p->stamp_ns, memory_order_relaxed)) / 1e3;
	}
	return 0;
}

/* One round against inforegd: ages (us, both clocks) of N samples as the reader sees them. */
static int daemon_round(struct inforeg_reader *r, int h, double *mono, double *real, int n, int *missed)
{
	struct inforeg_meta m;
	double v;
	uint64_t seq = inforeg_head(r) - 1;
	int k = 0;

	while (k < n) {
		int e = inforeg_wait(r, seq, 2000);

		if (e == -ETIMEDOUT)
			return e;
		if (e < 0 && e != -EINTR)
			return e;
		uint64_t now_m = clk_ns(CLOCK_MONOTONIC), now_r = clk_ns(CLOCK_REALTIME);
		if (inforeg_read_latest(r, h, &v, &m) < 0 || m.seq == seq)
			continue;
		if (m.seq > seq + 1)
			*missed += (int)(m.seq - seq - 1);
		seq = m.seq;
		mono[k] = (double)(now_m - m.monotonic_ns) / 1e3;
		real[k] = ((double)now_r - (double)m.realtime_ns) / 1e3;
		k++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("INFOREG_BUILD");
	const char *build = argc > 1 ? argv[1] : env ? env : "build";
	int rounds = bench_quick() ? 3 : 7, per = bench_quick() ? 100 : 300, missed = 0;
	char ird[512], shm[64];
	static double p50[2][16], p99[2][16], real50[16], age[MAXN], agr[MAXN];

	snprintf(ird, sizeof(ird), "%s/bin/inforegd", build);
	snprintf(shm, sizeof(shm), "irbench-fresh-%d", (int)getpid());
	struct floor_page *fp = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fp == MAP_FAILED)
		return perror("mmap"), 1;
	pid_t fw = fork();
	if (fw == 0) {
		floor_writer(fp);
		_exit(0);
	}
	pid_t d = fork();
	if (d == 0) {
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 1), dup2(nul, 2);
		execl(ird, "inforegd", "--shm", shm, "--listen", "none", "--period", "10", (char *)NULL);
		_exit(127);
	}
	struct inforeg_reader *r = NULL;
	for (int i = 0; i < 200 && !r; i++) {
		usleep(100000);
		r = inforeg_open(shm, 0);
	}
	int h = r ? inforeg_lookup(r, "cpu.usage") : -1;
	if (!r || h < 0 || inforeg_wait(r, INFOREG_SEQ_NONE, 5000) < 0) {
		fprintf(stderr, "freshness: inforegd did not start (%s)\n", ird);
		kill(d, SIGTERM), kill(fw, SIGKILL);
		waitpid(d, NULL, 0), waitpid(fw, NULL, 0);
		return 1;
	}
	usleep(500000); /* past the start-up ticks */
	printf("freshness: %d rounds of %d samples each, inforegd at %d ms and the bare futex floor, "
	       "interleaved\n",
	       rounds, per, PERIOD_MS);
	int rc = 0;
	for (int k = 0; k < rounds && !rc; k++) {
		int e = daemon_round(r, h, age, agr, per, &missed);
		if (e < 0) {
			fprintf(stderr, "freshness: reading inforegd: %s\n", strerror(-e));
			rc = 1;
			break;
		}
		real50[k] = bench_pct(agr, per, 0.5);
		p50[0][k] = bench_pct(age, per, 0.5);
		p99[0][k] = bench_pct(age, per, 0.99);
		if ((e = floor_round(fp, age, per)) < 0) {
			fprintf(stderr, "freshness: futex: %s\n", strerror(-e));
			rc = 1;
			break;
		}
		p50[1][k] = bench_pct(age, per, 0.5);
		p99[1][k] = bench_pct(age, per, 0.99);
		printf("round %d: inforegd p50 %.1f us p99 %.1f us (realtime p50 %.1f us); floor p50 %.1f us "
		       "p99 "
		       "%.1f us\n",
		       k, p50[0][k], p99[0][k], real50[k], p50[1][k], p99[1][k]);
	}
	if (!rc) {
		bench_result(stdout, B, "floor.p50", "us", p50[1], rounds, NULL);
		bench_result(stdout, B, "floor.p99", "us", p99[1], rounds, NULL);
		bench_result(stdout, B, "inforegd.p50", "us", p50[0], rounds, "floor.p50");
		bench_result(stdout, B, "inforegd.p99", "us", p99[0], rounds, "floor.p99");
		bench_result(stdout, B, "inforegd.realtime.p50", "us", real50, rounds, "inforegd.p50");
		bench_note(
		    stdout, B,
		    "period %d ms; age = reader's clock after inforeg_wait() returns - the sample's "
		    "timestamp (taken when the tick starts); p50/p99 over %d samples per round, "
		    "median/min/max "
		    "over %d rounds; %d samples were published while the reader was still busy (skipped)",
		    PERIOD_MS, per, rounds, missed);
	}
	inforeg_close(r);
	kill(d, SIGTERM);
	kill(fw, SIGKILL);
	waitpid(d, NULL, 0);
	waitpid(fw, NULL, 0);
	return rc;
}
