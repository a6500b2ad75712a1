// SPDX-License-Identifier: MIT
/*
 * read_latency - ns per read, in one run, for:
 *   bare seqlock read of a 64-byte record in /dev/shm written by another process
 *   libinforeg latest value (inforeg_read_latest) from a live inforegd
 *   libinforeg whole-sample copy (inforeg_read_sample)
 *   /proc/stat pread at offset 0 on a kept fd
 *   /proc/stat open + read + close
 * Each figure is the median of REPS timed batches. The daemon (real inforegd, started
 * here with --listen none on a private shm name) and the bare record's writer publish
 * at 10 Hz, as in production, so the readers' cache lines are usually clean.
 *
 * usage: read_latency [path/to/inforegd]
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "bench.h"

#define B "read_latency"
static int REPS = 15, SCALE = 1; /* QUICK=1: 5 batches of a tenth */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The baseline: the smallest correct seqlock a C programmer would write by hand. */
struct bare_rec {
	_Atomic uint64_t seq;
	_Atomic uint64_t val[7];
};

static volatile double sink;

/* Times REPS batches of ITERS/SCALE runs of the body; prints the median and an @result
 * line METRIC (ns per read, median/min/max over the batches) against BASE. */
#define TIME_LOOP(label, metric, base, iters, ...)                                \
	({                                                                        \
		double r_[15];                                                    \
		long n_ = (iters) / SCALE;                                        \
		for (int k_ = 0; k_ < REPS; k_++) {                               \
			uint64_t t0_ = now_ns();                                  \
			for (long i_ = 0; i_ < n_; i_++) {                        \
				__VA_ARGS__;                                         \
			}                                                         \
			r_[k_] = (double)(now_ns() - t0_) / (double)n_;           \
		}                                                                 \
		double m_ = bench_stats_of(r_, REPS).median;                      \
		printf("%-44s %10.1f ns/read\n", label, m_);                      \
		bench_result(stdout, B, metric, "ns", r_, REPS, base);            \
		m_;                                                               \
	})

int main(int argc, char **argv)
{
	const char *ird = argc > 1 ? argv[1] : "build/bin/inforegd";
	char shm[64], path[128];
	if (bench_quick())
		REPS = 5, SCALE = 10;
	snprintf(shm, sizeof(shm), "irbench-%d", (int)getpid());

	/* bare seqlock record and its writer process */
	snprintf(path, sizeof(path), "/dev/shm/irbench-bare-%d", (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return perror("bare record"), 1;
	struct bare_rec *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct bare_rec *rr = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	pid_t bw = fork();
	if (bw == 0) {
		for (uint64_t s = 0;; s += 2) {
			atomic_store_explicit(&rw->seq, s + 1, memory_order_relaxed);
			for (int i = 0; i < 7; i++)
				atomic_store_explicit(&rw->val[i], s, memory_order_release);
			atomic_store_explicit(&rw->seq, s + 2, memory_order_release);
			usleep(100000);
		}
	}

	pid_t d = fork();
	if (d == 0) {
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 2);
		execl(ird, "inforegd", "--shm", shm, "--listen", "none", "--period", "100", (char *)NULL);
		_exit(127);
	}
	struct inforeg_reader *r = NULL;
	for (int i = 0; i < 100 && !r; i++) {
		usleep(100000);
		r = inforeg_open(shm, 0);
	}
	if (!r || inforeg_wait(r, 0, 3000) < 0) {
		fprintf(stderr, "read_latency: inforegd did not start (%s)\n", ird);
		kill(d, SIGTERM), kill(bw, SIGKILL);
		return 1;
	}
	int h = inforeg_lookup(r, "cpu.usage");
	int n = inforeg_series_count(r);
	double *vals = calloc((size_t)n, sizeof(double));
	printf("read_latency: %d series in the sample, %d timed batches each, median\n", n, REPS);

	double bare = TIME_LOOP("bare seqlock read (64 B record, other proc)", "bare_seqlock", NULL, 20000000, {
		uint64_t s1, v;
		do {
			s1 = atomic_load_explicit(&rr->seq, memory_order_acquire);
			v = atomic_load_explicit(&rr->val[3], memory_order_acquire);
		} while ((s1 & 1) || atomic_load_explicit(&rr->seq, memory_order_relaxed) != s1);
		sink = (double)v;
	});
	double latest = TIME_LOOP("libinforeg latest value", "latest", "bare_seqlock", 20000000, {
		double v;
		inforeg_read_latest(r, h, &v, NULL);
		sink = v;
	});
	struct inforeg_fast f;
	if (inforeg_fast_bind(r, h, &f) < 0)
		return fprintf(stderr, "inforeg_fast_bind failed\n"), 1;
	double fast = TIME_LOOP("libinforeg inforeg_fast_read (inline)", "fast_read", "bare_seqlock", 20000000, {
		double v = 0;
		inforeg_fast_read(&f, &v);
		sink = v;
	});
	double sample = TIME_LOOP("libinforeg whole sample copy", "sample_copy", "latest", 200000, {
		inforeg_read_sample(r, vals, (size_t)n, NULL);
		sink = vals[0];
	});
	char buf[16384];
	int pfd = open("/proc/stat", O_RDONLY);
	double pr = TIME_LOOP("/proc/stat pread, kept fd", "proc_stat_pread", "latest", 20000, {
		sink = (double)pread(pfd, buf, sizeof(buf), 0);
	});
	close(pfd);
	double orc = TIME_LOOP("/proc/stat open+read+close", "proc_stat_open_read_close", "latest", 20000, {
		int f = open("/proc/stat", O_RDONLY);
		sink = (double)read(f, buf, sizeof(buf));
		close(f);
	});
	printf("\nlatest value / bare seqlock:      %6.2fx  (goal <= 3x)\n", latest / bare);
	printf("fast read / bare seqlock:         %6.2fx\n", fast / bare);
	printf("pread kept fd / latest value:     %6.0fx  (goal ~600x)\n", pr / latest);
	printf("open+read+close / latest value:   %6.0fx\n", orc / latest);
	printf("whole sample (%d values) / latest: %6.1fx\n", n, sample / latest);
	bench_note(stdout, B, "%d series in the sample; goals: latest <= 3x bare seqlock, /proc/stat pread ~600x latest",
		   n);

	inforeg_close(r);
	kill(d, SIGTERM);
	kill(bw, SIGKILL);
	waitpid(d, NULL, 0);
	waitpid(bw, NULL, 0);
	unlink(path);
	free(vals);
	return 0;
}
