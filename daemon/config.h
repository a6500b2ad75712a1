/* SPDX-License-Identifier: MIT */
/*
 * config.h - inforegd configuration: an embedded default, a file, then flags.
 *
 * The file format is line-oriented "key = value" with '#' comments; repeated keys
 * (listen, watch) accumulate. Every error names FILE:LINE:COLUMN. The embedded default
 * is parsed by the same code under the name "<embedded>".
 */
#ifndef INFOREGD_CONFIG_H
#define INFOREGD_CONFIG_H

#include <stdint.h>
#include <sys/types.h>
#include "ctl.h"

#define CFG_LISTEN_MAX 8
#define CFG_PATH_MAX 256

struct ird_config {
	char shm_name[64];         /* registry object: /dev/shm/<shm_name> */
	uint32_t period_ms;        /* sampling period, default 100 */
	uint32_t history_s;        /* ring keeps at least this many seconds, default 60 */
	uint32_t shm_mode;         /* default 0644 */
	gid_t shm_gid;             /* (gid_t)-1: unchanged */
	char listen[CFG_LISTEN_MAX][80];
	int n_listen;              /* 0 with listen_none: REST disabled */
	int listen_none;
	int workers;               /* REST evloop threads, default 1 */
	char token_file[CFG_PATH_MAX];
	char tls_cert[CFG_PATH_MAX], tls_key[CFG_PATH_MAX];
	int no_ebpf;               /* --no-ebpf / ebpf = off */
	char disabled[256];        /* comma-separated collector names to turn off */
	struct watch_spec watches[WATCH_MAX];
	int n_watches;
	/* device providers (daemon/devices/) */
	char nvml_library[CFG_PATH_MAX]; /* dlopen()ed name or path, "off": no NVML */
	uint32_t nvml_period_ms;   /* NVML worker period; 0: period_ms, at least 100 */
	char sysfs_root[CFG_PATH_MAX]; /* where amd, hwmon, thermal look ("/sys") */
	char devices_exec[512];    /* exec provider command line ("" none), split on blanks */
	uint32_t devices_exec_period_ms, devices_exec_timeout_ms;
	uint32_t devices_stale_ms; /* a reading older than this publishes NaN */
	uint32_t sensors_period_ms; /* hwmon / thermal files are re-read this often */
	double gpu_free_util;      /* gpu.free: utilisation below this (percent) */
	double gpu_free_mem;       /* ... and at least this many bytes free */
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
/* 1 if collector NAME is listed in cfg->disabled. */
int cfg_collector_disabled(const struct ird_config *cfg, const char *name);

#endif /* INFOREGD_CONFIG_H */
