/* SPDX-License-Identifier: MIT */
/*
 * config.h - inforegd configuration: an embedded default, a file, then flags.
 *
 * The file format is line-oriented "key = value" with '#' comments; repeated keys
 * (listen, watch) accumulate. The listen addresses of one layer (the embedded default,
 * the file, the --listen flags) replace those of the layer below, and one address
 * given twice in a layer is an error. Every error names FILE:LINE:COLUMN. The embedded default
 * is parsed by the same code under the name "<embedded>".
 */
#ifndef INFOREGD_CONFIG_H
#define INFOREGD_CONFIG_H

#include <stdint.h>
#include <sys/types.h>
#include "ctl.h"

#define CFG_LISTEN_MAX 8
#define CFG_PATH_MAX 256
#define CFG_PERIODS_MAX 32

/* period.NAME = MS: collector NAME samples every MS (at least every tick) */
struct cfg_period {
	char name[32];
	uint32_t ms;
	char where[CFG_PATH_MAX + 24]; /* "FILE:LINE:COL" of its key, for messages */
};

struct ird_config {
	char shm_name[64];         /* registry object: /dev/shm/<shm_name> */
	uint32_t period_ms;        /* sampling period, default 100 */
	uint32_t history_s;        /* ring keeps at least this many seconds, default 60 */
	uint32_t shm_mode;         /* default 0644 */
	gid_t shm_gid;             /* (gid_t)-1: unchanged */
	char listen[CFG_LISTEN_MAX][80];
	int n_listen;              /* 0 with listen_none: REST disabled */
	char listen_layer[CFG_PATH_MAX]; /* the text (file, "--listen") that set listen[] */
	int listen_none;
	int workers;               /* REST evloop threads, default 1 */
	int max_connections;       /* REST connections past which new ones are refused; 0: auto */
	char token_file[CFG_PATH_MAX];
	char tls_cert[CFG_PATH_MAX], tls_key[CFG_PATH_MAX];
	int no_ebpf;               /* --no-ebpf / ebpf = off */
	char disabled[256];        /* comma-separated collector names to turn off */
	char cgroup[CFG_PATH_MAX]; /* container scope: cpu.* and mem.* of this cgroup ("" none) */
	char cgroup_root[CFG_PATH_MAX]; /* where cgroup hierarchies are mounted ("" /sys/fs/cgroup) */
	struct cfg_period periods[CFG_PERIODS_MAX];
	int n_periods;
	struct watch_spec watches[WATCH_MAX];
	int n_watches;
	/* device providers (daemon/devices/) */
	char nvml_library[CFG_PATH_MAX]; /* dlopen()ed name or path, "off": no NVML */
	uint32_t nvml_period_ms;   /* NVML worker period; 0: period_ms, at least 100 */
	char sysfs_root[CFG_PATH_MAX]; /* where amd, hwmon, thermal look ("/sys") */
	char devices_exec[512];    /* exec provider command line ("" none), split on blanks */
	uint32_t devices_exec_period_ms, devices_exec_timeout_ms;
	uint32_t devices_stale_ms; /* a reading older than this publishes NaN */
	double gpu_free_util;      /* gpu.free: utilisation below this (percent) */
	double gpu_free_mem;       /* ... and at least this many bytes free */
	char rules_dir[CFG_PATH_MAX]; /* one NAME.json per rule; "": rules live in memory only */
	char source[CFG_PATH_MAX]; /* file the config came from, or "<embedded>" */
};

extern const char cfg_embedded_default[];

/* Sets the built-in defaults (no file). */
void cfg_defaults(struct ird_config *cfg);
/*
 * Parses TEXT (named NAME in messages) over CFG. Returns 0, or -EINVAL with
 * "NAME:LINE:COL: message" in ERR.
 */
int cfg_parse(struct ird_config *cfg, const char *name, const char *text, char *err, size_t errlen);
/* Reads and parses PATH. Returns 0, -errno with "PATH: strerror" or a parse error in ERR. */
int cfg_load_file(struct ird_config *cfg, const char *path, char *err, size_t errlen);
/* "host." when a cgroup scope is configured (host-wide cpu.* and mem.* move there), else "".
 * CFG may be NULL (tests driving a collector alone). */
const char *cfg_host_prefix(const struct ird_config *cfg);
/* The period.NAME entry for collector NAME, or NULL when it has none. */
const struct cfg_period *cfg_period_of(const struct ird_config *cfg, const char *name);
/* 1 if collector NAME is listed in cfg->disabled. */
int cfg_collector_disabled(const struct ird_config *cfg, const char *name);

#endif /* INFOREGD_CONFIG_H */
