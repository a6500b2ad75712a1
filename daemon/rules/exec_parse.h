/* SPDX-License-Identifier: MIT */
/*
 * exec_parse.h - what an exec rule's program may print, and its parser.
 *
 * Standard output is one of:
 *   - one number ("42.5\n"): one value, named after the rule;
 *   - "name value" lines ("user 12.5\nsystem 3\n"), '#' comments and blank lines
 *     allowed: one value per line, series RULE.name;
 *   - a JSON object of numbers ({"user":12.5,"system":3}): series RULE.key.
 * Names are lowercase dotted identifiers with optional Prometheus-style labels
 * (gpu_temp{gpu="0"}). Values are finite decimal numbers. Anything else is an error
 * with a reason ("line 2: \"abc\" is not a number"); the caller marks the rule's series
 * failed with it. Runs on the spawn runner's thread, never in the tick.
 */
#ifndef INFOREGD_EXEC_PARSE_H
#define INFOREGD_EXEC_PARSE_H

#include <stddef.h>

#define EXEC_SERIES_MAX 64 /* values one program may print */
#define EXEC_KEY_MAX 96    /* bytes of one printed name, NUL included */

struct exec_value {
	char key[EXEC_KEY_MAX]; /* "" for the single-number form */
	double value;
};

struct exec_output {
	int n;
	struct exec_value v[EXEC_SERIES_MAX];
};

/*
 * Parses LEN bytes of BUF into OUT. Returns 0, or -EINVAL with the reason in ERR
 * (empty output, not a number, bad name, duplicate name, too many values, bad JSON).
 */
int exec_output_parse(const char *buf, size_t len, struct exec_output *out, char *err, size_t errlen);

/* A finite decimal number spanning all of TOK (no "nan", "inf", hex). 0 or -EINVAL. */
int exec_number_parse(const char *tok, double *v);

/* 1 if KEY is a valid printed name (see above). */
int exec_key_valid(const char *key);

#endif /* INFOREGD_EXEC_PARSE_H */
