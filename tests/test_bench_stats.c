/* SPDX-License-Identifier: MIT */
/*
 * test_bench_stats - bench/bench.h, the C benches' side of the result format: median
 * (odd and even counts), min, max, nearest-rank percentiles, and the exact @result line
 * (read back with the grammar bench/benchlib.py parses: 6 or 7 fields after @result).
 */
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "../bench/bench.h"

static void test_stats(void)
{
	double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2}, one[] = {7};
	struct bench_stats s = bench_stats_of(odd, 3);

	CHECK(s.median == 3 && s.min == 1 && s.max == 5);
	s = bench_stats_of(even, 4);
	CHECK(s.median == 2.5 && s.min == 1 && s.max == 4);
	s = bench_stats_of(one, 1);
	CHECK(s.median == 7 && s.min == 7 && s.max == 7);
	s = bench_stats_of(one, 0);
	CHECK(isnan(s.median));
}

static void test_pct(void)
{
	double v[100];

	for (int i = 0; i < 100; i++)
		v[i] = 100 - i; /* unsorted on purpose */
	CHECK(bench_pct(v, 100, 0.5) == 50);
	CHECK(bench_pct(v, 100, 0.99) == 99);
	CHECK(bench_pct(v, 100, 1.0) == 100);
	CHECK(bench_pct(v, 100, 0.0) == 1);
	CHECK(isnan(bench_pct(v, 0, 0.5)));
}

static void test_line(void)
{
	char buf[512];
	double v[] = {30, 10, 20, 40};
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	CHECK(f != NULL);
	if (!f)
		return;
	bench_result(f, "b", "m.x", "us", v, 4, "base");
	bench_result1(f, "b", "base", "us", 0.5, NULL);
	bench_note(f, "b", "n=%d", 3);
	fclose(f);
	CHECKF(strcmp(buf, "@result b m.x us 25 10 40 base\n@result b base us 0.5 0.5 0.5\n@note b n=3\n") ==
		   0,
	       "%s", buf);
}

int main(void)
{
	RUN(test_stats);
	RUN(test_pct);
	RUN(test_line);
	return tap_failures ? 1 : 0;
}
