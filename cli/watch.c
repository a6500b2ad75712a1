// SPDX-License-Identifier: MIT
/*
 * watch.c - `inforeg watch [PATTERN...]`: follow values live.
 *
 * Without -i: every sample, in place on a terminal, "SEQ NAME VALUE" lines otherwise.
 * With -i SECONDS [-n COUNT]: like `mpstat -P ALL 1 5`, one block per interval with the
 * mean of every sample taken in it, series grouped into rows by their labels
 * (cpu="0", cpu="1", ... "all" for none) and columns by their base name, then an
 * "Average:" block over the whole run; for scripts as much as for people.
 *
 * When the daemon goes away (retired object) it exits 1, unless --follow: then it
 * waits for a daemon to publish the same name again and carries on.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* After the daemon went away: waits for a new one (--follow) or says so. NULL: stop. */
static struct inforeg_reader *daemon_gone(const struct opts *o, struct inforeg_reader *r)
{
	inforeg_close(r);
	if (!o->follow) {
		fprintf(stderr, "inforeg: the daemon on /dev/shm/%s is gone\n", o->shm);
		return NULL;
	}
	fprintf(stderr, "inforeg: the daemon on /dev/shm/%s is gone; waiting for it (--follow)\n", o->shm);
	for (;;) {
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
		r = inforeg_open(o->shm, 0);
		if (r && inforeg_head(r) > 0) {
			fprintf(stderr, "inforeg: following the new daemon (pid %u)\n",
				inforeg_writer_pid(r));
			return r;
		}
		inforeg_close(r);
	}
}

/* ---- -i: interval means in rows and columns ---------------------------------------- */

struct grid {
	int n;		/* matching series */
	int *idx;	/* their sample indices */
	int *row, *col; /* their cell */
	char **rows, **cols;
	int nrows, ncols;
	double *sum, *tot; /* per series: this interval, whole run */
	long *cnt, *tcnt;
};

static int intern(char ***list, int *n, const char *s, size_t len)
{
	for (int i = 0; i < *n; i++)
		if (strlen((*list)[i]) == len && !strncmp((*list)[i], s, len))
			return i;
	*list = realloc(*list, (size_t)(*n + 1) * sizeof(char *));
	(*list)[*n] = strndup(s, len);
	return (*n)++;
}

static void grid_build(struct grid *g, struct inforeg_reader *r, const struct opts *o, int n)
{
	memset(g, 0, sizeof(*g));
	g->idx = calloc((size_t)n + 1, sizeof(int));
	g->row = calloc((size_t)n + 1, sizeof(int));
	g->col = calloc((size_t)n + 1, sizeof(int));
	for (int i = 0; i < n; i++) {
		struct inforeg_series_info si;
		if (inforeg_series_get(r, i, &si) || !cli_matches(o, si.name))
			continue;
		const char *brace = strchr(si.name, '{');
		size_t base = brace ? (size_t)(brace - si.name) : strlen(si.name);
		g->idx[g->n] = i;
		g->col[g->n] = intern(&g->cols, &g->ncols, si.name, base);
		if (brace)
			g->row[g->n] = intern(&g->rows, &g->nrows, brace + 1, strlen(brace + 1) - 1);
		else
			g->row[g->n] = intern(&g->rows, &g->nrows, "all", 3);
		g->n++;
	}
	g->sum = calloc((size_t)g->n + 1, sizeof(double));
	g->tot = calloc((size_t)g->n + 1, sizeof(double));
	g->cnt = calloc((size_t)g->n + 1, sizeof(long));
	g->tcnt = calloc((size_t)g->n + 1, sizeof(long));
}

static void grid_free(struct grid *g)
{
	for (int i = 0; i < g->nrows; i++)
		free(g->rows[i]);
	for (int i = 0; i < g->ncols; i++)
		free(g->cols[i]);
	free(g->rows), free(g->cols), free(g->idx), free(g->row), free(g->col);
	free(g->sum), free(g->tot), free(g->cnt), free(g->tcnt);
}

static void grid_print(const struct grid *g, const char *label, const double *sum, const long *cnt)
{
	printf("%-12s %-16s", label, "labels");
	for (int c = 0; c < g->ncols; c++)
		printf(" %14s", g->cols[c]);
	putchar('\n');
	for (int row = 0; row < g->nrows; row++) {
		printf("%-12s %-16s", label, g->rows[row]);
		for (int c = 0; c < g->ncols; c++) {
			char buf[32] = "-";
			for (int k = 0; k < g->n; k++)
				if (g->row[k] == row && g->col[k] == c)
					snprintf(buf, sizeof(buf), "%.2f",
						 cnt[k] ? sum[k] / (double)cnt[k] : NAN);
			printf(" %14s", buf);
		}
		putchar('\n');
	}
	putchar('\n');
	fflush(stdout);
}

static int run_interval(struct opts *o, struct inforeg_reader *r)
{
	double *vals = NULL;
	struct inforeg_meta m;
	int n = cli_snapshot(r, &vals, &m), status = 0;
	if (n < 0) {
		fprintf(stderr, "inforeg: reading the registry: %s\n", strerror(-n));
		inforeg_close(r);
		return 1;
	}
	struct grid g;
	grid_build(&g, r, o, n);
	if (!g.n) {
		fprintf(stderr, "inforeg watch: no series matches\n");
		grid_free(&g);
		free(vals);
		inforeg_close(r);
		return 1;
	}
	uint64_t gen = m.generation, last = m.seq, step = (uint64_t)(o->interval_s * 1e9);
	uint64_t next = mono_ns() + step;
	for (long done = 0; o->count <= 0 || done < o->count;) {
		int w = inforeg_wait(r, last, 200);
		n = w == -ESTALE ? -ESTALE : cli_snapshot(r, &vals, &m);
		if (n == -ESTALE) {
			if (!(r = daemon_gone(o, r))) {
				status = 1;
				break;
			}
			continue; /* the new daemon's generation rebuilds the grid */
		}
		if (n > 0 && m.generation != gen) {
			fprintf(stderr, "inforeg: a new daemon or layout: columns rebuilt\n");
			grid_free(&g);
			grid_build(&g, r, o, n);
			gen = m.generation;
		}
		if (n > 0 && m.seq != last) {
			last = m.seq;
			for (int k = 0; k < g.n; k++) {
				double v = g.idx[k] < n ? vals[g.idx[k]] : NAN;
				if (!isnan(v)) {
					g.sum[k] += v, g.cnt[k]++;
					g.tot[k] += v, g.tcnt[k]++;
				}
			}
		}
		if (mono_ns() >= next) {
			char label[16];
			time_t t = time(NULL);
			strftime(label, sizeof(label), "%H:%M:%S", localtime(&t));
			grid_print(&g, label, g.sum, g.cnt);
			memset(g.sum, 0, (size_t)g.n * sizeof(double));
			memset(g.cnt, 0, (size_t)g.n * sizeof(long));
			next += step;
			done++;
		}
	}
	grid_print(&g, "Average:", g.tot, g.tcnt);
	grid_free(&g);
	free(vals);
	inforeg_close(r);
	return status;
}

/* ---- every sample ---------------------------------------------------------------- */

static int run(struct opts *o)
{
	struct inforeg_reader *r = cli_open(o);
	if (!r)
		return 1;
	if (o->interval_s > 0)
		return run_interval(o, r);
	int tty = isatty(STDOUT_FILENO), status = 0;
	double *vals = NULL;
	for (long k = 0; o->count <= 0 || k < o->count;) {
		struct inforeg_meta m;
		int n = cli_snapshot(r, &vals, &m);
		if (n == -ESTALE) {
			if (!(r = daemon_gone(o, r))) {
				status = 1;
				break;
			}
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "inforeg: reading the registry: %s\n", strerror(-n));
			status = 1;
			break;
		}
		if (tty)
			printf("\033[H\033[2Jinforeg watch  /dev/shm/%s  seq %llu  (Ctrl-C to stop)\n\n",
			       o->shm, (unsigned long long)m.seq);
		for (int i = 0; i < n; i++) {
			struct inforeg_series_info si;
			if (inforeg_series_get(r, i, &si) || !cli_matches(o, si.name))
				continue;
			char buf[64];
			cli_fmt_value(buf, sizeof(buf), vals[i]);
			if (tty)
				printf("%-48s %16s %s\n", si.name, buf, si.unit);
			else
				printf("%llu %s %s\n", (unsigned long long)m.seq, si.name, buf);
		}
		fflush(stdout);
		k++;
		if (o->count > 0 && k >= o->count)
			break;
		/* up to 5 s for the next sample, in 200 ms waits: once the daemon has exited,
		 * inforeg_wait sleeps its whole timeout before it says -ESTALE */
		int e, waits = 0;
		do
			e = inforeg_wait(r, m.seq, 200);
		while (e == -ETIMEDOUT && ++waits < 25);
		if (e == -ESTALE && !(r = daemon_gone(o, r))) {
			status = 1;
			break;
		}
	}
	free(vals);
	inforeg_close(r);
	return status;
}

const struct cli_cmd cli_watch = {
    "watch",
    "watch [PATTERN...] [-i S [-n N]] follow values live; -i: interval means like mpstat",
    "usage: inforeg watch [--shm NAME] [--count N] [--follow] [PATTERN...]\n"
    "       inforeg watch [--shm NAME] -i SECONDS [-n COUNT] [PATTERN...]\n"
    "Without -i: every sample, refreshed in place on a terminal, 'SEQ NAME VALUE'\n"
    "lines otherwise; --count N stops after N samples.\n"
    "With -i: every SECONDS the mean of the samples taken in the interval, one row per\n"
    "label set ('cpu=\"0\"', 'all') and one column per series name, like mpstat -P ALL;\n"
    "-n COUNT intervals, then an Average: block.\n"
    "When the daemon goes away it exits 1; with --follow it waits for a new one.\n",
    run,
};
