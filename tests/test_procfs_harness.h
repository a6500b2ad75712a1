/* SPDX-License-Identifier: MIT */
/*
 * test_col_harness.h - what the /proc collector tests share: checks that count
 * failures instead of aborting (so one run reports every broken expectation), exact
 * and NaN comparisons, fixtures copied into exact-size heap buffers (so ASan sees a
 * parser reading one byte too far), a deterministic garbage generator, and a live
 * harness that runs a collector for real through tick_files and the registry.
 *
 * Included by one test program at a time; everything is static.
 */
#ifndef TEST_COL_HARNESS_H
#define TEST_COL_HARNESS_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "procfs/procfs.h"
#include "tick.h"

static int t_failures;

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
			t_failures++;                                                                        \
		}                                                                                            \
	} while (0)

/* Equal to within 1e-9 relative: the expected values are exact decimal fractions. */
#define CHECK_NEAR(got, want)                                                                                \
	do {                                                                                                 \
		double g_ = (got), w_ = (want);                                                              \
		if (!(fabs(g_ - w_) <= 1e-9 * (fabs(w_) > 1 ? fabs(w_) : 1))) {                              \
			fprintf(stderr, "%s:%d: %s = %.12g, want %.12g\n", __FILE__, __LINE__, #got, g_,     \
				w_);                                                                         \
			t_failures++;                                                                        \
		}                                                                                            \
	} while (0)

#define CHECK_NAN(got)                                                                                       \
	do {                                                                                                 \
		double g_ = (got);                                                                           \
		if (!isnan(g_)) {                                                                            \
			fprintf(stderr, "%s:%d: %s = %.12g, want NaN\n", __FILE__, __LINE__, #got, g_);      \
			t_failures++;                                                                        \
		}                                                                                            \
	} while (0)

/* NaN or within [lo, hi]: what any value from garbage input must be. */
#define CHECK_NAN_OR_IN(got, lo, hi)                                                                         \
	do {                                                                                                 \
		double g_ = (got);                                                                           \
		if (!isnan(g_) && !(g_ >= (lo) && g_ <= (hi))) {                                             \
			fprintf(stderr, "%s:%d: %s = %.12g, not NaN nor in [%g, %g]\n", __FILE__, __LINE__,  \
				#got, g_, (double)(lo), (double)(hi));                                       \
			t_failures++;                                                                        \
		}                                                                                            \
	} while (0)

#define RUN(test)                                                                                            \
	do {                                                                                                 \
		int f0_ = t_failures;                                                                        \
		test();                                                                                      \
		printf("%s %s\n", t_failures == f0_ ? "ok  " : "FAIL", #test);                               \
	} while (0)

static inline int t_exit(void)
{
	if (t_failures)
		fprintf(stderr, "%d check(s) failed\n", t_failures);
	return t_failures ? 1 : 0;
}

/* A heap copy of the first N bytes of S, NUL-terminated, nothing more. */
static inline char *t_dup(const char *s, size_t n)
{
	char *b = malloc(n + 1);
	if (!b) {
		perror("malloc");
		exit(1);
	}
	memcpy(b, s, n);
	b[n] = '\0';
	return b;
}

/* ---- garbage ------------------------------------------------------------------ */

static uint64_t t_rng = 0x9e3779b97f4a7c15ull;

static inline uint32_t t_rand(void)
{
	/* xorshift64*: deterministic, so a failing case is reproducible */
	t_rng ^= t_rng >> 12;
	t_rng ^= t_rng << 25;
	t_rng ^= t_rng >> 27;
	return (uint32_t)((t_rng * 0x2545f4914f6cdd1dull) >> 32);
}

/*
 * Fills a fresh buffer of LEN bytes: either bytes drawn from an alphabet that looks
 * like /proc (digits, blanks, newlines, ':', '/', '=', '.', letters) or, with
 * MUTATE_FROM set, that text with a few bytes replaced, inserted runs of digits
 * (overflowing numbers) and lines cut. Caller frees.
 */
static inline char *t_garbage(size_t len, const char *mutate_from)
{
	static const char alpha[] = "0123456789999999    \n\n::/=.-cpuavgtotalsomefullkBMemTotaleth0";
	char *b;
	if (mutate_from) {
		size_t n = strlen(mutate_from);
		b = malloc(n + 64);
		if (!b)
			exit(1);
		memcpy(b, mutate_from, n + 1);
		int edits = 1 + (int)(t_rand() % 8);
		for (int i = 0; i < edits && n; i++) {
			size_t at = t_rand() % n;
			switch (t_rand() % 4) {
			case 0:
				b[at] = alpha[t_rand() % (sizeof(alpha) - 1)];
				break;
			case 1: { /* any byte but NUL */
				unsigned ch = t_rand() & 0xff;
				b[at] = (char)(ch ? ch : 1);
				break;
			}
			case 2: /* a number too long for 64 bits; capacity stays n + 64 */
				memmove(b + at + 40, b + at, n - at + 1);
				memset(b + at, '9', 40);
				n += 40;
				b = realloc(b, n + 64);
				if (!b)
					exit(1);
				break;
			case 3:
				b[at] = '\n';
				break;
			}
		}
		/* sometimes cut it short too */
		if (t_rand() % 3 == 0)
			b[t_rand() % (n + 1)] = '\0';
		char *exact = t_dup(b, strlen(b));
		free(b);
		return exact;
	}
	b = malloc(len + 1);
	if (!b)
		exit(1);
	for (size_t i = 0; i < len; i++)
		b[i] = alpha[t_rand() % (sizeof(alpha) - 1)];
	b[len] = '\0';
	return b;
}

/* ---- live runs through tick_files and the registry ----------------------------- */

struct t_live {
	struct tick_files *tf;
	struct series_reg reg;
	struct collector c;
	double *v;
	uint64_t last_ns;
	double last_dt; /* the dt given to the last sample() */
	int inited;
};

static inline uint64_t t_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Returns 0, 77 (this machine cannot run it: prints why), or 1. */
static inline int t_live_start(struct t_live *l, const struct collector_ops *ops)
{
	memset(l, 0, sizeof(*l));
	l->tf = tick_files_new(64);
	if (!l->tf) {
		printf("SKIP: io_uring unavailable: %s\n", strerror(errno));
		return 77;
	}
	l->c.ops = ops;
	struct col_env env = {.reg = &l->reg, .files = l->tf, .cfg = NULL};
	int e = ops->init(&l->c, &env);
	l->inited = 1;
	if (e == -EOPNOTSUPP || e == -EPERM || e == -EACCES) {
		printf("SKIP: %s off: %s\n", ops->name, l->c.off_reason);
		return 77;
	}
	if (e < 0) {
		fprintf(stderr, "%s init: %s (%s)\n", ops->name, strerror(-e), l->c.off_reason);
		return 1;
	}
	e = ops->declare(&l->c, &l->reg);
	if (e < 0) {
		fprintf(stderr, "%s declare: %s\n", ops->name, strerror(-e));
		return 1;
	}
	l->v = calloc(l->reg.count ? l->reg.count : 1, sizeof(double));
	return l->v ? 0 : 1;
}

/* One tick: read every file, sample with the real elapsed dt. Returns sample()'s result. */
static inline int t_live_tick(struct t_live *l)
{
	int e = tick_files_read_all(l->tf);
	if (e < 0)
		return e;
	uint64_t now = t_mono_ns();
	struct col_now cn = {.mono_ns = now, .real_ns = 0, .dt = l->last_ns ? (now - l->last_ns) / 1e9 : 0};
	l->last_ns = now;
	l->last_dt = cn.dt;
	for (uint32_t i = 0; i < l->reg.count; i++)
		l->v[i] = NAN;
	return l->c.ops->sample(&l->c, &cn, l->v);
}

static inline void t_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Index of series NAME, or -1. */
static inline int t_live_idx(const struct t_live *l, const char *name)
{
	for (uint32_t i = 0; i < l->reg.count; i++)
		if (strcmp(l->reg.defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Value of series NAME; a missing series fails the test and reads NaN. */
static inline double t_live_get(const struct t_live *l, const char *name)
{
	int i = t_live_idx(l, name);
	if (i < 0) {
		fprintf(stderr, "series %s not declared\n", name);
		t_failures++;
		return NAN;
	}
	return l->v[i];
}

static inline void t_live_stop(struct t_live *l)
{
	if (l->inited && l->c.ops->fini)
		l->c.ops->fini(&l->c);
	tick_files_free(l->tf);
	reg_free(&l->reg);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Every declared series has a unit, a help line and one of the NULL-terminated
 * name PREFIXES (the collector stays in its namespace). */
static inline void t_check_directory(const struct t_live *l, const char *const *prefixes)
{
	for (uint32_t i = 0; i < l->reg.count; i++) {
		const struct series_def *d = &l->reg.defs[i];
		int ok = 0;
		for (const char *const *p = prefixes; *p; p++)
			ok |= strncmp(d->name, *p, strlen(*p)) == 0;
		if (!ok || !d->unit[0] || !d->help[0]) {
			fprintf(stderr, "bad directory entry: %s [%s] %s\n", d->name, d->unit, d->help);
			t_failures++;
		}
	}
}

#endif /* TEST_COL_HARNESS_H */
