// SPDX-License-Identifier: MIT
/*
 * top.c - `inforeg top`: the node at a glance, refreshed in place like top(1) or
 * mpstat: one row per CPU (usr, sys, iowait, irq, steal, idle from /proc, and the
 * ns-exact eBPF usage), then memory, load, pressure, run-queue latency, network and
 * disk totals, the busiest watches, scores and accelerators when the registry has them.
 * Everything shown comes from one sample. -i SECONDS between refreshes (default 1),
 * --count N refreshes; not on a terminal it prints one screen per refresh.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct named {
	char name[INFOREG_NAME_MAX];
	int idx;
};

struct view {
	struct inforeg_reader *r;
	const double *v;
	int n;
	struct named *by_name; /* [n], sorted: this sample's directory */
};

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

/* Index of series NAME in this sample, or -1 (binary search: no handle is taken). */
static int find(const struct view *w, const char *name)
{
	struct named key;
	snprintf(key.name, sizeof(key.name), "%s", name);
	const struct named *f = bsearch(&key, w->by_name, (size_t)w->n, sizeof(key), cmp_named);
	return f ? f->idx : -1;
}

/* The value of series NAME in this sample, NaN when absent. */
static double val(const struct view *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static double val(const struct view *w, const char *fmt, ...)
{
	char name[INFOREG_NAME_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	int i = find(w, name);
	return i >= 0 ? w->v[i] : NAN;
}

static void cell(double v, const char *fmt)
{
	if (isnan(v))
		printf("%7s", "-");
	else
		printf(fmt, v);
}

static double add(double a, double b)
{
	return isnan(a) ? b : isnan(b) ? a : a + b;
}

static void cpu_row(const struct view *w, const char *label, const char *sel)
{
	printf("%-6s", label);
	cell(add(val(w, "cpu.user%s", sel), val(w, "cpu.nice%s", sel)), "%7.1f");
	cell(val(w, "cpu.system%s", sel), "%7.1f");
	cell(val(w, "cpu.iowait%s", sel), "%7.1f");
	cell(add(val(w, "cpu.irq%s", sel), val(w, "cpu.softirq%s", sel)), "%7.1f");
	cell(val(w, "cpu.steal%s", sel), "%7.1f");
	cell(val(w, "cpu.idle%s", sel), "%7.1f");
	cell(val(w, "cpu.usage%s", sel), "%7.1f");
	cell(val(w, "cpu.usage.exact%s", sel), "%7.1f");
	putchar('\n');
}

/* Sums every series matching PATTERN. */
static double sum_of(const struct view *w, const char *pattern)
{
	double s = NAN;
	for (int i = 0; i < w->n; i++) {
		struct inforeg_series_info si;
		if (inforeg_series_get(w->r, i, &si) == 0 && fnmatch(pattern, si.name, 0) == 0)
			s = add(s, w->v[i]);
	}
	return s;
}

/* Lines "  LABEL VALUE" for every series matching PATTERN (at most MAX, largest first). */
static void list_of(const struct view *w, const char *title, const char *pattern, const char *unit, int max)
{
	int idx[64], k = 0;
	for (int i = 0; i < w->n && k < 64; i++) {
		struct inforeg_series_info si;
		if (inforeg_series_get(w->r, i, &si) == 0 && fnmatch(pattern, si.name, 0) == 0)
			idx[k++] = i;
	}
	if (!k)
		return;
	for (int a = 0; a < k; a++) /* largest first; NaN last */
		for (int b = a + 1; b < k; b++)
			if (isnan(w->v[idx[a]]) || w->v[idx[b]] > w->v[idx[a]]) {
				int t = idx[a];
				idx[a] = idx[b], idx[b] = t;
			}
	printf("%s\n", title);
	for (int a = 0; a < k && a < max; a++) {
		struct inforeg_series_info si;
		inforeg_series_get(w->r, idx[a], &si);
		char buf[32];
		cli_fmt_value(buf, sizeof(buf), w->v[idx[a]]);
		printf("  %-56s %12s %s\n", si.name, buf, unit);
	}
}

static void screen(const struct view *w, const struct inforeg_meta *m, const char *shm)
{
	char when[32];
	time_t t = (time_t)(m->realtime_ns / 1000000000ull);
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	printf("inforeg top  /dev/shm/%s  %s  seq %llu  load %.2f %.2f %.2f\n\n", shm, when,
	       (unsigned long long)m->seq, val(w, "load.1"), val(w, "load.5"), val(w, "load.15"));
	printf("%-6s%7s%7s%7s%7s%7s%7s%7s%7s\n", "CPU", "%usr", "%sys", "%iowt", "%irq", "%steal", "%idle",
	       "%busy", "%exact");
	cpu_row(w, "all", "");
	for (int c = 0; c < 4096; c++) {
		char sel[32], a[64], b[64], label[16];
		snprintf(sel, sizeof(sel), "{cpu=\"%d\"}", c);
		snprintf(a, sizeof(a), "cpu.usage%s", sel);
		snprintf(b, sizeof(b), "cpu.usage.exact%s", sel);
		if (find(w, a) < 0 && find(w, b) < 0)
			break; /* CPU ids are dense from 0 in the registry */
		snprintf(label, sizeof(label), "%d", c);
		cpu_row(w, label, sel);
	}
	double gib = 1024.0 * 1024 * 1024;
	printf("\nMem   used %.2f GiB of %.2f GiB, available %.2f GiB", val(w, "mem.used") / gib,
	       val(w, "mem.total") / gib, val(w, "mem.available") / gib);
	if (!isnan(val(w, "cpu.free")))
		printf("   CPU free %.2f of %.0f cores", val(w, "cpu.free"), val(w, "cpu.count"));
	printf("\nPSI   some avg10: cpu %.2f%%  memory %.2f%%  io %.2f%%\n",
	       val(w, "pressure.cpu.some.avg10"), val(w, "pressure.memory.some.avg10"),
	       val(w, "pressure.io.some.avg10"));
	double p50 = val(w, "sched.runq_latency.p50"), p99 = val(w, "sched.runq_latency.p99");
	if (!isnan(p50) || !isnan(p99))
		printf("Runq  latency p50 %.0f us  p99 %.0f us\n", p50, p99);
	printf("Net   rx %.1f KiB/s  tx %.1f KiB/s     Disk  read %.1f KiB/s  write %.1f KiB/s\n",
	       sum_of(w, "net.rx.bytes_per_s{*") / 1024, sum_of(w, "net.tx.bytes_per_s{*") / 1024,
	       sum_of(w, "disk.read.bytes_per_s{*") / 1024, sum_of(w, "disk.write.bytes_per_s{*") / 1024);
	list_of(w, "\nWatches (CPU %)", "task.cpu.usage{*", "%", 8);
	list_of(w, "\nScores", "score{*", "", 8);
	list_of(w, "\nAccelerators (util %)", "gpu.util{*", "%", 8);
}

static int run(struct opts *o)
{
	struct inforeg_reader *r = cli_open(o);
	if (!r)
		return 1;
	double every = o->interval_s > 0 ? o->interval_s : 1.0, *vals = NULL;
	int tty = isatty(STDOUT_FILENO), status = 0;
	for (long k = 0; o->count <= 0 || k < o->count; k++) {
		struct inforeg_meta m;
		int n = cli_snapshot(r, &vals, &m);
		if (n < 0) {
			fprintf(stderr, "inforeg: %s\n", n == -ESTALE ? "the daemon is gone" : strerror(-n));
			status = 1;
			break;
		}
		struct named *by = calloc((size_t)n + 1, sizeof(*by));
		if (!by) {
			status = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct inforeg_series_info si;
			if (inforeg_series_get(r, i, &si) == 0)
				snprintf(by[i].name, sizeof(by[i].name), "%s", si.name);
			by[i].idx = i;
		}
		qsort(by, (size_t)n, sizeof(*by), cmp_named);
		struct view w = {r, vals, n, by};
		if (tty)
			fputs("\033[H\033[2J", stdout);
		screen(&w, &m, o->shm);
		free(by);
		if (!tty)
			putchar('\n');
		fflush(stdout);
		if (o->count > 0 && k + 1 >= o->count)
			break;
		struct timespec ts = {(time_t)every, (long)((every - (double)(time_t)every) * 1e9)};
		nanosleep(&ts, NULL);
	}
	free(vals);
	inforeg_close(r);
	return status;
}

const struct cli_cmd cli_top = {
    "top",
    "top   [-i S] [--count N]         the node at a glance, refreshed in place",
    "usage: inforeg top [--shm NAME] [-i SECONDS] [--count N]\n"
    "One screen per refresh (default every second): per-CPU usr/sys/iowait/irq/steal/\n"
    "idle and busy from /proc, exact busy from eBPF; memory, load, pressure, run-queue\n"
    "latency, network and disk totals; the busiest watches, scores and accelerators.\n",
    run,
};
