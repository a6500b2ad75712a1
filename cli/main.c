// SPDX-License-Identifier: MIT
/*
 * main.c - `inforeg`, the command-line reader of the registry.
 *
 *   inforeg list  [--shm NAME] [PATTERN...]      series with unit and kind
 *   inforeg get   [--shm NAME] [--json] NAME...  one "NAME VALUE" line per series
 *   inforeg watch [--shm NAME] [PATTERN...]      live values, in place on a terminal
 *   inforeg dump  [--shm NAME] --json            the latest sample as JSON
 *   inforeg status|node [--shm NAME]             the daemon's status / inventory documents
 *
 * It is a libinforeg client like any other: every read is a seqlock-validated copy
 * from the read-only mapping. Names are exact in `get`; other commands take
 * fnmatch(3) patterns. Exit status: 0, 1 (a series or the registry missing), 2 (usage).
 */
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inforeg.h"

static const char usage[] =
    "usage: inforeg COMMAND [--shm NAME] [options] [ARGS]\n"
    "  list  [PATTERN...]        list series (name, unit, kind)\n"
    "  get   [--json] NAME...    print 'NAME VALUE' for each named series (exact names)\n"
    "  watch [PATTERN...]        follow values live (plain lines when not a terminal)\n"
    "  dump  --json              print the latest sample as JSON\n"
    "  status | node             print the daemon's status or node inventory (JSON)\n"
    "Options: --shm NAME (default inforeg), --json, --count N (watch: stop after N samples)\n";

struct opts {
	const char *shm;
	int json;
	long count;
	char **args;
	int nargs;
};

static const char *kind_name(uint32_t k)
{
	return k == INFOREG_KIND_RATE ? "rate" : k == INFOREG_KIND_COUNTER ? "counter" : "gauge";
}

static void fmt_value(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "nan");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.6g", v);
}

static int matches(const struct opts *o, const char *name)
{
	if (o->nargs == 0)
		return 1;
	for (int i = 0; i < o->nargs; i++)
		if (fnmatch(o->args[i], name, 0) == 0)
			return 1;
	return 0;
}

static struct inforeg_reader *open_or_die(const struct opts *o)
{
	struct inforeg_reader *r = inforeg_open(o->shm, 0);
	if (!r) {
		if (errno == ENOENT)
			fprintf(stderr,
				"inforeg: no registry /dev/shm/%s (is inforegd running with --shm %s?)\n",
				o->shm, o->shm);
		else
			fprintf(stderr, "inforeg: cannot open /dev/shm/%s: %s\n", o->shm, strerror(errno));
		exit(1);
	}
	return r;
}

/* The latest sample and the directory. Returns the series count, exits on failure. */
static int snapshot(struct inforeg_reader *r, double **vals, struct inforeg_meta *meta)
{
	for (int tries = 0;; tries++) {
		int n = inforeg_series_count(r);
		*vals = realloc(*vals, (size_t)(n ? n : 1) * sizeof(double));
		int got = inforeg_read_sample(r, *vals, (size_t)n, meta);
		if (got == n)
			return n;
		if (got == -EAGAIN && tries < 50) {
			inforeg_wait(r, INFOREG_SEQ_NONE, 200);
			continue;
		}
		if (got >= 0 || got == -ESTALE)
			continue; /* re-mapped between count and read: once more */
		fprintf(stderr, "inforeg: reading the registry: %s\n", strerror(-got));
		exit(1);
	}
}

static int cmd_list(struct opts *o)
{
	struct inforeg_reader *r = open_or_die(o);
	int n = inforeg_series_count(r);
	for (int i = 0; i < n; i++) {
		struct inforeg_series_info si;
		if (inforeg_series_get(r, i, &si) == 0 && matches(o, si.name))
			printf("%-48s %-10s %s\n", si.name, si.unit, kind_name(si.kind));
	}
	inforeg_close(r);
	return 0;
}

static int cmd_get(struct opts *o)
{
	if (o->nargs == 0) {
		fputs("inforeg get: name at least one series\n", stderr);
		return 2;
	}
	struct inforeg_reader *r = open_or_die(o);
	int status = 0;
	json_t *out = o->json ? json_object() : NULL;
	for (int i = 0; i < o->nargs; i++) {
		int h = inforeg_lookup(r, o->args[i]);
		double v;
		struct inforeg_meta m;
		int e = h < 0 ? h : inforeg_read_latest(r, h, &v, &m);
		for (int t = 0; e == -EAGAIN && t < 50; t++) {
			inforeg_wait(r, INFOREG_SEQ_NONE, 200);
			e = inforeg_read_latest(r, h, &v, &m);
		}
		if (e < 0 && e != -ESTALE) {
			fprintf(stderr, "inforeg: %s: %s\n", o->args[i],
				e == -ENOENT ? "no such series" : strerror(-e));
			status = 1;
			continue;
		}
		if (out) {
			json_object_set_new(out, o->args[i], isnan(v) ? json_null() : json_real(v));
		} else {
			char buf[64];
			fmt_value(buf, sizeof(buf), v);
			printf("%s %s\n", o->args[i], buf);
		}
	}
	if (out) {
		json_dumpf(out, stdout, JSON_REAL_PRECISION(17) | JSON_COMPACT);
		putchar('\n');
		json_decref(out);
	}
	inforeg_close(r);
	return status;
}

static int cmd_dump(struct opts *o)
{
	struct inforeg_reader *r = open_or_die(o);
	double *vals = NULL;
	struct inforeg_meta m;
	int n = snapshot(r, &vals, &m);
	json_t *series = json_object();
	for (int i = 0; i < n; i++) {
		struct inforeg_series_info si;
		if (inforeg_series_get(r, i, &si) == 0 && matches(o, si.name))
			json_object_set_new(series, si.name,
					    isnan(vals[i]) ? json_null() : json_real(vals[i]));
	}
	char gen[24];
	snprintf(gen, sizeof(gen), "%016llx", (unsigned long long)m.generation);
	json_t *doc = json_pack("{s:I, s:I, s:s, s:o}", "seq", (json_int_t)m.seq, "ts_ns",
				(json_int_t)m.realtime_ns, "generation", gen, "series", series);
	json_dumpf(doc, stdout, JSON_REAL_PRECISION(17) | JSON_INDENT(1));
	putchar('\n');
	json_decref(doc);
	free(vals);
	inforeg_close(r);
	return 0;
}

static int cmd_doc(struct opts *o, unsigned id)
{
	struct inforeg_reader *r = open_or_die(o);
	char *buf = malloc(INFOREG_DOC_MAX);
	int n = buf ? inforeg_doc_read(r, id, buf, INFOREG_DOC_MAX) : -ENOMEM;
	if (n >= 0)
		puts(buf);
	else
		fprintf(stderr, "inforeg: reading the document: %s\n", strerror(-n));
	free(buf);
	inforeg_close(r);
	return n >= 0 ? 0 : 1;
}

static int cmd_watch(struct opts *o)
{
	struct inforeg_reader *r = open_or_die(o);
	int tty = isatty(STDOUT_FILENO);
	double *vals = NULL;
	uint64_t last = UINT64_MAX;
	for (long k = 0; o->count <= 0 || k < o->count; k++) {
		struct inforeg_meta m;
		int n = snapshot(r, &vals, &m);
		if (tty)
			fputs("\033[H\033[2J", stdout); /* home + clear: refresh in place */
		if (tty)
			printf("inforeg watch  /dev/shm/%s  seq %llu  (Ctrl-C to stop)\n\n", o->shm,
			       (unsigned long long)m.seq);
		for (int i = 0; i < n; i++) {
			struct inforeg_series_info si;
			if (inforeg_series_get(r, i, &si) || !matches(o, si.name))
				continue;
			char buf[64];
			fmt_value(buf, sizeof(buf), vals[i]);
			if (tty)
				printf("%-48s %16s %s\n", si.name, buf, si.unit);
			else
				printf("%llu %s %s\n", (unsigned long long)m.seq, si.name, buf);
		}
		fflush(stdout);
		last = m.seq;
		int e = inforeg_wait(r, last, 5000);
		if (e == -ESTALE) {
			fprintf(stderr, "inforeg: the daemon is gone\n");
			break;
		}
	}
	free(vals);
	inforeg_close(r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("inforeg %s (shm layout %u)\n", INFOREG_VERSION, INFOREG_LAYOUT_VERSION);
		return 0;
	}
	struct opts o = {.shm = getenv("INFOREG_SHM") ? getenv("INFOREG_SHM") : INFOREG_DEFAULT_SHM};
	o.args = calloc((size_t)argc, sizeof(char *));
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--shm") && i + 1 < argc)
			o.shm = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			o.json = 1;
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			o.count = strtol(argv[++i], NULL, 10);
		else if (argv[i][0] == '-' && argv[i][1] == '-') {
			fprintf(stderr, "inforeg: unknown option '%s'\n%s", argv[i], usage);
			return 2;
		} else
			o.args[o.nargs++] = argv[i];
	}
	const char *cmd = argv[1];
	int rc;
	if (!strcmp(cmd, "list"))
		rc = cmd_list(&o);
	else if (!strcmp(cmd, "get"))
		rc = cmd_get(&o);
	else if (!strcmp(cmd, "watch"))
		rc = cmd_watch(&o);
	else if (!strcmp(cmd, "dump")) {
		if (!o.json) {
			fputs("inforeg dump: only --json output exists; pass --json\n", stderr);
			rc = 2;
		} else
			rc = cmd_dump(&o);
	} else if (!strcmp(cmd, "status"))
		rc = cmd_doc(&o, INFOREG_DOC_STATUS);
	else if (!strcmp(cmd, "node"))
		rc = cmd_doc(&o, INFOREG_DOC_NODE);
	else {
		fprintf(stderr, "inforeg: unknown command '%s'\n%s", cmd, usage);
		rc = 2;
	}
	free(o.args);
	return rc;
}
