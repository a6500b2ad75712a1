// SPDX-License-Identifier: MIT
/*
 * get.c - `inforeg get NAME|PATTERN... [--json]`: the latest value of each series, one
 * "NAME VALUE" line each. An exact name that does not exist is an error with a
 * suggestion ("did you mean cpu.usage?"); a pattern ('cpu.*') prints every match,
 * all from one sample.
 */
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void put(json_t *out, const char *name, double v)
{
	if (out) {
		json_object_set_new(out, name, isnan(v) ? json_null() : json_real(v));
	} else {
		char buf[64];
		cli_fmt_value(buf, sizeof(buf), v);
		printf("%s %s\n", name, buf);
	}
}

static int run(struct opts *o)
{
	if (o->nargs == 0) {
		fputs("inforeg get: name at least one series (or a pattern such as 'cpu.*')\n", stderr);
		return 2;
	}
	struct inforeg_reader *r = cli_open(o);
	if (!r)
		return 1;
	double *vals = NULL;
	struct inforeg_meta m;
	int n = cli_snapshot(r, &vals, &m); /* one sample for every name asked */
	if (n < 0) {
		fprintf(stderr, "inforeg: reading the registry: %s\n", strerror(-n));
		inforeg_close(r);
		return 1;
	}
	int status = 0;
	json_t *out = o->json ? json_object() : NULL;
	for (int a = 0; a < o->nargs; a++) {
		const char *arg = o->args[a];
		if (cli_is_pattern(arg)) {
			int hits = 0;
			for (int i = 0; i < n; i++) {
				struct inforeg_series_info si;
				if (inforeg_series_get(r, i, &si) == 0 && fnmatch(arg, si.name, 0) == 0) {
					put(out, si.name, vals[i]);
					hits++;
				}
			}
			if (!hits) {
				fprintf(stderr, "inforeg: %s: no series matches\n", arg);
				status = 1;
			}
			continue;
		}
		int h = inforeg_lookup(r, arg), idx = h < 0 ? h : inforeg_handle_index(r, h);
		if (idx < 0 || idx >= n) {
			char sug[INFOREG_NAME_MAX];
			if (cli_suggest(r, arg, sug, sizeof(sug)))
				fprintf(stderr, "inforeg: %s: no such series; did you mean %s?\n", arg, sug);
			else
				fprintf(stderr, "inforeg: %s: no such series (see 'inforeg list')\n", arg);
			status = 1;
			continue;
		}
		put(out, arg, vals[idx]);
	}
	if (out) {
		json_dumpf(out, stdout, JSON_REAL_PRECISION(17) | JSON_COMPACT);
		putchar('\n');
		json_decref(out);
	}
	free(vals);
	inforeg_close(r);
	return status;
}

const struct cli_cmd cli_get = {
    "get",
    "get   NAME|PATTERN... [--json]   latest value of each series",
    "usage: inforeg get [--shm NAME] [--json] NAME|PATTERN...\n"
    "Prints 'NAME VALUE' for each series, all from the same sample. NAME is exact\n"
    "(with labels: 'cpu.usage{cpu=\"0\"}'); a PATTERN ('cpu.*') prints every match.\n"
    "Exit status 1 if a name does not exist (with a suggestion) or nothing matches.\n",
    run,
};
