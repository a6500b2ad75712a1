/* SPDX-License-Identifier: MIT */
/*
 * collector.h - the one small interface every inforegd collector implements.
 *
 * A collector opens its sources at init, may pre-open files that the main loop
 * re-reads with io_uring at every tick (col_file_open), declares its series
 * (declare -> reg_series) and at each tick fills its values into the sample under
 * construction (sample). It never blocks and never allocates per tick. The series
 * set only changes through declare: when a collector's set changes (a watch added at
 * run time) it calls layout_changed() and the main loop re-declares every collector
 * and republishes the ring under a new object before the next sample.
 *
 * Error convention: int returns >= 0 or -errno. A collector whose init fails with
 * -EOPNOTSUPP / -EPERM is reported "off" with its reason and the daemon carries on.
 */
#ifndef INFOREGD_COLLECTOR_H
#define INFOREGD_COLLECTOR_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "inforeg_layout.h"

struct ird_config;

/* ---- series registry ---------------------------------------------------- */

struct series_def {
	char name[INFOREG_NAME_MAX];
	char unit[INFOREG_UNIT_MAX];
	char help[INFOREG_HELP_MAX];
	uint32_t kind;
};

struct series_reg {
	struct series_def *defs;
	uint32_t count, cap;
};

/*
 * Declares a series. NAME is the full dotted name with labels. Returns its index in
 * the sample (stable until the next re-init), -EEXIST for a duplicate, -EINVAL for a
 * bad name, -ENAMETOOLONG, -ENOMEM.
 */
int reg_series(struct series_reg *reg, const char *name, const char *unit, enum inforeg_kind kind,
	       const char *help);
/* 1 if NAME is a series name the registry takes: [a-z][a-z0-9_]*(\.[a-z0-9_]+)* then
 * optionally {k="v",...} with k [a-z_][a-z0-9_]* and no '\\' or control byte in v. */
int reg_name_valid(const char *name);
/* printf-style name: reg_seriesf(reg, "percent", INFOREG_KIND_GAUGE, help, "cpu.usage{cpu=\"%d\"}", n) */
int reg_seriesf(struct series_reg *reg, const char *unit, enum inforeg_kind kind, const char *help,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void reg_free(struct series_reg *reg);

/* ---- files the main loop re-reads every tick ---------------------------- */

struct col_file {
	const char *path;
	int fd;
	char *buf;   /* NUL-terminated contents after each tick's read */
	size_t cap;  /* buffer capacity (grows when a read fills it) */
	ssize_t len; /* bytes read this tick, or -errno */
};

struct tick_files; /* owned by the main loop */

/* Opens PATH read-only for per-tick re-reading. Returns NULL and sets errno on failure. */
struct col_file *col_file_open(struct tick_files *tf, const char *path, size_t initial_cap);
/* Closes F and forgets it (a rule deleted at run time); F is invalid afterwards. */
void col_file_close(struct tick_files *tf, struct col_file *f);

/* ---- the interface ------------------------------------------------------ */

struct col_env {
	struct series_reg *reg;
	struct tick_files *files;
	const struct ird_config *cfg;
};

struct col_now {
	uint64_t mono_ns; /* CLOCK_MONOTONIC of this tick */
	uint64_t real_ns; /* CLOCK_REALTIME of this tick */
	double dt;	  /* seconds since this collector's previous sample; 0 at the first */
};

struct collector;

struct collector_ops {
	const char *name; /* "cpu", "mem", "bpf.cpu" ... */
	/*
	 * How often it samples when the configuration says nothing (period.NAME = MS):
	 * 0 at every tick. A collector samples at most once a tick; between its samples
	 * its series keep their last values, and collector.age{collector="NAME"} says
	 * how old they are. Its files are read only at the ticks it samples.
	 */
	uint32_t default_period_ms;
	/* Opens sources (col_file_open, BPF objects...); stores private state in c->priv. */
	int (*init)(struct collector *c, struct col_env *env);
	/*
	 * Declares the collector's series into REG and remembers their indices. Called
	 * after init and again whenever the daemon rebuilds the layout (a watch added, a
	 * rule changed): sources stay open, only the series set is re-declared.
	 */
	int (*declare)(struct collector *c, struct series_reg *reg);
	/* Writes this tick's values (NaN where unknown). Files were read just before. */
	int (*sample)(struct collector *c, const struct col_now *now, double *values);
	/* Releases everything init took. Called even if init failed half-way. */
	void (*fini)(struct collector *c);
};

struct collector {
	const struct collector_ops *ops;
	void *priv;
	int enabled; /* 0: off (see off_reason) */
	char off_reason[160];
	/* health, maintained by the main loop */
	uint64_t runs, failures;
	uint64_t last_ok_real_ns, last_err_real_ns;
	int last_err;	       /* -errno of the last failure */
	char last_errmsg[160]; /* set by the collector (col_error) or the loop */
	uint64_t cost_ns;      /* CPU time of the last sample() */
	int errmsg_fresh;      /* col_error() called during this sample() */
};

/* Asks the main loop to re-declare all series before the next tick (main-loop thread only). */
void layout_changed(void);
/* For the main loop: 1 if layout_changed() was called since the last call, and clears it. */
int layout_take_change(void);

/* Records a human-readable error for the status document. */
void col_error(struct collector *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Per-second rate of a counter: NaN at the first sample or when the counter went backwards. */
static inline double col_rate(uint64_t cur, uint64_t prev, double dt)
{
	if (dt <= 0 || cur < prev)
		return __builtin_nan("");
	return (double)(cur - prev) / dt;
}

/* ---- blocking reads for init and declare (tick.c) ---------------------- */
/*
 * Reads all of PATH into *BUF (grown with realloc, NUL-terminated). Blocking: for
 * init and declare only, never for sample. Returns the length or -errno.
 */
ssize_t col_slurp(const char *path, char **buf, size_t *cap);
/* Reads at most LEN-1 bytes of a small file (sysfs attribute) into BUF, NUL-terminated.
 * Blocking, for init and declare. Returns the length or -errno. */
ssize_t col_read_small(const char *path, char *buf, size_t len);
/* The same, cut at the first '\n' (a sysfs attribute's value). Returns 0 or -errno. */
int col_read_line(const char *path, char *buf, size_t len);

#endif /* INFOREGD_COLLECTOR_H */
