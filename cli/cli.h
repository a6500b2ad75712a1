/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the `inforeg` subcommands share: parsed options, opening the registry,
 * reading a whole sample, matching names, printing values.
 *
 * Every subcommand is one file (list.c, get.c, watch.c, top.c, dump.c, doc.c, score.c) exporting
 * one `cli_cmd`; main.c parses the global options (accepted before or after the
 * subcommand) and dispatches. The tool is a libinforeg client like any other: it only
 * reads the read-only mapping. Exit status: 0, 1 (a series or the registry missing,
 * the daemon gone), 2 (usage).
 */
#ifndef INFOREG_CLI_H
#define INFOREG_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "inforeg.h"

struct opts {
	const char *shm;
	int json, follow;
	long count;	   /* watch/top: stop after N refreshes (0: never) */
	double interval_s; /* watch -i / top -i: seconds between rows (0: every sample) */
	char **args;
	int nargs;
};

struct cli_cmd {
	const char *name;
	const char *synopsis; /* one line for the global usage */
	const char *help;     /* `inforeg NAME --help` */
	int (*run)(struct opts *o);
};

extern const struct cli_cmd cli_list, cli_get, cli_watch, cli_top, cli_dump, cli_status, cli_node, cli_score;

const char *cli_kind_name(uint32_t kind);
/* A value for people: "nan", integers without decimals, else 6 significant digits. */
void cli_fmt_value(char *buf, size_t len, double v);
/* 1 if NAME matches one of O's patterns (fnmatch), or O has none. */
int cli_matches(const struct opts *o, const char *name);
/* 1 if S has glob characters. */
int cli_is_pattern(const char *s);
/* Opens O->shm or prints why not and returns NULL. */
struct inforeg_reader *cli_open(const struct opts *o);
/* The latest whole sample into *VALS (grown); returns the series count, or -errno after
 * printing why (the daemon gone: -ESTALE). */
int cli_snapshot(struct inforeg_reader *r, double **vals, struct inforeg_meta *meta);
/* The registry's series name closest to NAME (at most 3 edits), or NULL. */
const char *cli_suggest(struct inforeg_reader *r, const char *name, char *buf, size_t len);

#endif /* INFOREG_CLI_H */
