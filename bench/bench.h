/* SPDX-License-Identifier: MIT */
/*
 * bench.h - the result format (bench/benchlib.py) for C benches: statistics over an
 * array of measurements and the one line the harness reads,
 *   @result BENCH METRIC UNIT MEDIAN MIN MAX [BASELINE_METRIC]
 * Header-only (static functions); tests/test_bench_stats.c checks it.
 */
#ifndef INFOREG_BENCH_H
#define INFOREG_BENCH_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_stats {
	double median, min, max;
};

static int bench_cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts V in place; the median of an even count is the mean of the two middle values. */
static inline struct bench_stats bench_stats_of(double *v, int n)
{
	struct bench_stats s = {NAN, NAN, NAN};

	if (n <= 0)
		return s;
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_d);
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.min = v[0];
	s.max = v[n - 1];
	return s;
}

/* The Q-quantile (0..1) of V by nearest rank; sorts V in place. */
static inline double bench_pct(double *v, int n, double q)
{
	int k;

	if (n <= 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_d);
	k = (int)ceil(q * n) - 1;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

/* Prints one @result line over N values (sorts V); BASELINE may be NULL. */
static inline void bench_result(FILE *f, const char *bench, const char *metric, const char *unit, double *v,
				int n, const char *baseline)
{
	struct bench_stats s = bench_stats_of(v, n);

	fprintf(f, "@result %s %s %s %.6g %.6g %.6g%s%s\n", bench, metric, unit, s.median, s.min, s.max,
		baseline ? " " : "", baseline ? baseline : "");
	fflush(f);
}

/* One @result line for a single measurement (median = min = max). */
static inline void bench_result1(FILE *f, const char *bench, const char *metric, const char *unit, double x,
				 const char *baseline)
{
	bench_result(f, bench, metric, unit, &x, 1, baseline);
}

static inline void bench_note(FILE *f, const char *bench, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void bench_note(FILE *f, const char *bench, const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "@note %s ", bench);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

/* 1 when the harness asked for its quick (smoke) form (QUICK=1). */
static inline int bench_quick(void)
{
	const char *q = getenv("QUICK");

	return q && strcmp(q, "1") == 0;
}

#endif /* INFOREG_BENCH_H */
