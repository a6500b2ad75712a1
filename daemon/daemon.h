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
	struct shm_object obj; /* the published object; its directory names what is published */
	uint32_t obj_mode;     /* mode and group obj was created with */
	gid_t obj_gid;
	/* Set while obj's directory differs from reg (a republish failed): value j of obj
	 * is values[pub_map[j]] (-1: NaN), matched by name, so names never shift. */
	int32_t *pub_map;
	double *pub_values;
	int pub_blocked;	    /* names could not be matched (no memory): publish nothing */
	uint64_t layout_retry_mono; /* when to try the pending republish again */
	uint64_t layout_failures;   /* consecutive failed republishes */
	char layout_error[256];	    /* why the last republish failed, "" when none pending */

	/* the last SIGHUP: "" (none yet), "applied", "failed" (bad configuration) or
	 * "refused" (no object for it: the old configuration and object stay) */
	char reload_result[16];
	char reload_error[512];
	uint64_t reload_real_ns;

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
/* ---- publish.c: the registry becomes the shm object readers see ---------------- */
/* Makes D->reg the published object now (start-up, reload), or keeps the object when
 * it already has exactly that set. Returns 0 or -errno with ERR set. */
int publish_layout(struct ird *d, char *err, size_t errlen);
/* After a tick's publish: applies a layout change (CHANGED; DECLARE_FAILED when the
 * re-declaration ran out of memory), finishing or retrying a successor object. */
void layout_step(struct ird *d, uint64_t now_ns, int changed, int declare_failed);
/* Stops a successor being built in the background (teardown, reload). */
void builder_cancel(void);
/* Forgets the by-name mapping to an older object. */
void drop_pub_map(struct ird *d);

/* 0 when D's configuration file is --config-if-present and does not exist, else 1. */
int loop_config_present(const struct ird *d);
/* Loads collectors and files for D->cfg, declares, publishes the first object. */
int loop_setup(struct ird *d, char *err, size_t errlen);
/* Runs until SIGTERM/SIGINT; SIGHUP reloads d->config_path. Returns the exit status. */
int loop_run(struct ird *d);
/* Retires and unlinks the object, releases collectors, files, the lock. */
void loop_teardown(struct ird *d);

/* Publishes the node inventory and status documents (status.c) into d->obj. */
void status_publish_node(struct ird *d);
void status_publish(struct ird *d);

#endif /* INFOREGD_DAEMON_H */
