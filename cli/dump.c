// SPDX-License-Identifier: MIT
/*
 * dump.c - `inforeg dump [PATTERN...] [--json]`: the latest sample, whole: a table
 * (name, value, unit) or a JSON document with its sequence, time and generation.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run(struct opts *o)
{
	struct inforeg_reader *r = cli_open(o);
	if (!r)
		return 1;
	double *vals = NULL;
	struct inforeg_meta m;
	int n = cli_snapshot(r, &vals, &m);
	if (n < 0) {
		fprintf(stderr, "inforeg: reading the registry: %s\n", strerror(-n));
		inforeg_close(r);
		return 1;
	}
	char gen[24];
	snprintf(gen, sizeof(gen), "%016llx", (unsigned long long)m.generation);
	json_t *series = o->json ? json_object() : NULL;
	if (!o->json)
		printf("# seq %llu  generation %s  time %.3f\n", (unsigned long long)m.seq, gen,
		       (double)m.realtime_ns / 1e9);
	for (int i = 0; i < n; i++) {
		struct inforeg_series_info si;
		if (inforeg_series_get(r, i, &si) || !cli_matches(o, si.name))
			continue;
		if (series) {
			json_object_set_new(series, si.name,
					    isnan(vals[i]) ? json_null() : json_real(vals[i]));
		} else {
			char buf[64];
			cli_fmt_value(buf, sizeof(buf), vals[i]);
			printf("%-48s %16s %s\n", si.name, buf, si.unit);
		}
	}
	if (series) {
		json_t *doc = json_pack("{s:I, s:I, s:s, s:o}", "seq", (json_int_t)m.seq, "ts_ns",
					(json_int_t)m.realtime_ns, "generation", gen, "series", series);
		json_dumpf(doc, stdout, JSON_REAL_PRECISION(17) | JSON_INDENT(1));
		putchar('\n');
		json_decref(doc);
	}
	free(vals);
	inforeg_close(r);
	return 0;
}

const struct cli_cmd cli_dump = {
    "dump",
    "dump  [PATTERN...] [--json]      the latest sample, whole",
    "usage: inforeg dump [--shm NAME] [--json] [PATTERN...]\n"
    "Prints every series of the latest sample (one sample: one sequence number) as a\n"
    "table, or with --json as {\"seq\",\"ts_ns\",\"generation\",\"series\":{NAME: VALUE}}\n"
    "(NaN as null).\n",
    run,
};
