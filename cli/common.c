// SPDX-License-Identifier: MIT
/*
 * common.c - the helpers every `inforeg` subcommand uses (cli.h): opening the registry
 * with a message a user can act on, reading one whole sample, name matching and
 * suggestions, value formatting.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_kind_name(uint32_t k)
{
	return k == INFOREG_KIND_RATE ? "rate" : k == INFOREG_KIND_COUNTER ? "counter" : "gauge";
}

void cli_fmt_value(char *buf, size_t len, double v)
{
	if (isnan(v)) /* "stale" or "failed" when the value's NaN says so (inforeg.h) */
		snprintf(buf, len, "%s",
			 inforeg_value_state(v) == INFOREG_UNKNOWN
			     ? "nan"
			     : inforeg_state_name(inforeg_value_state(v)));
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.6g", v);
}

int cli_is_pattern(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

int cli_matches(const struct opts *o, const char *name)
{
	if (o->nargs == 0)
		return 1;
	for (int i = 0; i < o->nargs; i++)
		if (fnmatch(o->args[i], name, 0) == 0)
			return 1;
	return 0;
}

struct inforeg_reader *cli_open(const struct opts *o)
{
	struct inforeg_reader *r = inforeg_open(o->shm, 0);
	if (!r) {
		if (errno == ENOENT)
			fprintf(stderr,
				"inforeg: no registry /dev/shm/%s (is inforegd running with --shm %s?)\n",
				o->shm, o->shm);
		else
			fprintf(stderr, "inforeg: cannot open /dev/shm/%s: %s\n", o->shm, strerror(errno));
	}
	return r;
}

int cli_snapshot(struct inforeg_reader *r, double **vals, struct inforeg_meta *meta)
{
	for (int tries = 0;; tries++) {
		int n = inforeg_series_count(r);
		if (n < 0)
			return n;
		double *nv = realloc(*vals, (size_t)(n ? n : 1) * sizeof(double));
		if (!nv)
			return -ENOMEM;
		*vals = nv;
		int got = inforeg_read_sample(r, *vals, (size_t)n, meta);
		if (got == n)
			return n;
		if (got == -EAGAIN && tries < 50) { /* no sample yet */
			inforeg_wait(r, INFOREG_SEQ_NONE, 200);
			continue;
		}
		if ((got >= 0 || got == -ESTALE) && tries < 50) {
			/* re-mapped between count and read (a new layout), or retired: re-bind */
			if (inforeg_refresh(r) == -ESTALE && got == -ESTALE)
				return -ESTALE;
			continue;
		}
		return got < 0 ? got : -EAGAIN;
	}
}

/* Levenshtein distance, capped: returns CAP + 1 once it is certain to exceed CAP. */
static int edits(const char *a, const char *b, int cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if ((la > lb ? la - lb : lb - la) > (size_t)cap)
		return cap + 1;
	int *row = malloc((lb + 1) * sizeof(int));
	if (!row)
		return cap + 1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0], best = row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int v = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > cap) {
			free(row);
			return cap + 1;
		}
	}
	int d = row[lb];
	free(row);
	return d;
}

const char *cli_suggest(struct inforeg_reader *r, const char *name, char *buf, size_t len)
{
	int n = inforeg_series_count(r), best = 4;
	for (int i = 0; i < n; i++) {
		struct inforeg_series_info si;
		if (inforeg_series_get(r, i, &si))
			continue;
		int d = edits(name, si.name, best - 1);
		if (d < best) {
			best = d;
			snprintf(buf, len, "%s", si.name);
		}
	}
	return best <= 3 ? buf : NULL;
}
