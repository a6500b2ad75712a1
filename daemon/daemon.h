/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - inforegd's internal interfaces between main(), the loop and the
 * status/inventory documents.
 */
#ifndef INFOREGD_DAEMON_H
#define INFOREGD_DAEMON_H

#include <getopt.h>
#include <stdint.h>
#include "collector.h"
#include "config.h"
#include "object.h"

/* Logs one line to stderr: "inforegd: <message>". */
void ird_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t ird_now_mono(void);
uint64_t ird_now_real(void);

#define IRD_COLLECTORS_MAX 32

struct ird {
	struct ird_config cfg;
	char config_path[CFG_PATH_MAX]; /* --config FILE, "" when none */
	int config_optional;            /* --config-if-present: a missing FILE is the embedded default */
	int lock_fd;
	uint64_t generation;
	uint64_t start_real_ns, start_mono_ns;
	uint64_t layout_serial;

	struct tick_files *files;
	struct collector cols[IRD_COLLECTORS_MAX];
	uint64_t col_last_mono[IRD_COLLECTORS_MAX]; /* its last sample, 0: none yet */
	uint64_t col_period_ns[IRD_COLLECTORS_MAX]; /* how often it samples (>= the tick) */
	uint32_t col_first[IRD_COLLECTORS_MAX], col_end[IRD_COLLECTORS_MAX]; /* its series */
	int col_age_idx[IRD_COLLECTORS_MAX]; /* collector.age{collector=NAME}, -1: none */
	uint8_t col_redo[IRD_COLLECTORS_MAX]; /* sample at the next tick: its series were re-declared */
	int ncols;
	struct series_reg reg;
	double *values;      /* the sample under construction, reg.count doubles */
	struct shm_object obj;

	uint64_t ticks, dropped;
	uint64_t last_tick_cost_ns;
	uint64_t last_read_cost_ns; /* tick_files_read_all() of the last tick */
	uint64_t last_status_mono;
	int argc;            /* the command line, re-applied over the file at reload */
	char **argv;
};

enum { OPT_CONFIG = 256, OPT_SHM, OPT_PERIOD, OPT_HISTORY, OPT_LISTEN, OPT_WORKERS, OPT_TOKEN,
       OPT_NO_EBPF, OPT_HELP, OPT_VERSION, OPT_TLS_CERT, OPT_TLS_KEY, OPT_CGROUP,
       OPT_MAX_CONNS, OPT_CONFIG_OPT };
extern const struct option ird_opts[];

/* Applies command-line flags (flags.c) over CFG. Returns 0 or -EINVAL with ERR set. */
int ird_apply_flags(struct ird_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* Checks what in CFG names collectors (period.NAME). Returns 0, or -EINVAL with
 * "FILE:LINE:COL: message" in ERR. */
int loop_check_config(const struct ird_config *cfg, char *err, size_t errlen);
/* 0 when D's configuration file is --config-if-present and does not exist, else 1. */
int loop_config_present(const struct ird *d);
/* Loads collectors and files for D->cfg, declares, publishes the first object. */
int loop_setup(struct ird *d, char *err, size_t errlen);
/* Runs until SIGTERM/SIGINT; SIGHUP reloads d->config_path. Returns the exit status. */
int loop_run(struct ird *d);
/* Retires and unlinks the object, releases collectors, files, the lock. */
void loop_teardown(struct ird *d);

/* Publishes the node inventory and status documents (status.c). */
void status_publish_node(struct ird *d);
void status_publish(struct ird *d);

#endif /* INFOREGD_DAEMON_H */
