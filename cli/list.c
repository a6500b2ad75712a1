// SPDX-License-Identifier: MIT
/*
 * list.c - `inforeg list [PATTERN...] [--json]`: the series directory (name, unit,
 * kind, help), filtered by fnmatch patterns.
 */
#include <jansson.h>
#include <stdio.h>

#include "cli.h"

static int run(struct opts *o)
{
	struct inforeg_reader *r = cli_open(o);
	if (!r)
		return 1;
	json_t *arr = o->json ? json_array() : NULL;
	int n = inforeg_series_count(r), shown = 0;
	for (int i = 0; i < n; i++) {
		struct inforeg_series_info si;
		if (inforeg_series_get(r, i, &si) || !cli_matches(o, si.name))
			continue;
		shown++;
		if (arr)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "name", si.name, "unit",
							     si.unit, "kind", cli_kind_name(si.kind), "help",
							     si.help));
		else
			printf("%-48s %-10s %s\n", si.name, si.unit, cli_kind_name(si.kind));
	}
	if (arr) {
		json_dumpf(arr, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(arr);
	}
	inforeg_close(r);
	if (!shown && o->nargs) {
		fprintf(stderr, "inforeg list: no series matches\n");
		return 1;
	}
	return 0;
}

const struct cli_cmd cli_list = {
    "list",
    "list  [PATTERN...] [--json]      series with unit and kind",
    "usage: inforeg list [--shm NAME] [--json] [PATTERN...]\n"
    "Lists the registry's series: name (with labels), unit and kind (gauge, rate,\n"
    "counter); with --json also the help text. PATTERNs are shell globs ('cpu.*').\n",
    run,
};
