/* SPDX-License-Identifier: MIT */
/*
 * devices.h - accelerators and hardware sensors: one provider per vendor or source
 * (nvml.c, amd.c, hwmon.c, exec.c) behind one small interface, and the one collector
 * ("devices", devices.c) that hosts them.
 *
 * Why one collector for the accelerators and not one per provider: the series must
 * look the same whatever the vendor (gpu.util{gpu="0"} is the first accelerator,
 * NVIDIA or AMD or an NPU seen through a vendor CLI), gpu.count and gpu.free count
 * across all of them, and task.gpu.* joins per-process figures with the watches once.
 * So a provider does not declare series: it fills plain structs (struct dev_gpu) and
 * the devices collector names, declares and publishes them. A provider is thereby a
 * collector in all but the series registry: discover ~ init, sample ~ sample, fini ~
 * fini, and describe adds what the status document (/v1/status) says about it.
 *
 * The hwmon provider (sensors, struct dev_sensor) is the exception that proves the
 * fit: it shares nothing with the accelerators but wants its own period (sensors are
 * read once a second, period.hwmon), so it is wrapped as a collector of its own,
 * "hwmon", whose files the main loop reads only at the ticks it samples.
 *
 * Threads: everything here runs in the main-loop thread except what a provider keeps
 * to itself (the NVML worker, the exec runner). A provider whose discovery finishes
 * off the tick (NVML waits a bounded time at start-up, exec needs its command's first
 * output) sets ->relayout from its sample; the collector then asks for a re-layout.
 *
 * Values: NaN where unknown (a call that failed, a file missing this tick); never a
 * made-up 0. A provider that serves a reading taken off the tick sets ->reading_mono to
 * when it was taken; the collector publishes its age (devices.age{provider=...}).
 */
#ifndef INFOREGD_DEVICES_H
#define INFOREGD_DEVICES_H

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "collector.h"
#include "ctl.h"

/* NULL-terminated: "devices" (nvml, amd, exec) and "hwmon"; the loop runs them last. */
extern const struct collector_ops *const devices_collectors[];
extern const struct collector_ops devices_ops, devices_hwmon_ops;

#define DEV_GPU_MAX   32 /* accelerators per provider */
#define DEV_PROVIDERS 3	 /* hosted by "devices": nvml, amd, exec (hwmon is its own collector) */

/* Per-accelerator values, in series order (gpu.<name>{gpu="N"}). */
enum gpu_metric {
	GPU_UTIL,	/* percent of time a kernel ran */
	GPU_MEM_UTIL,	/* percent of time device memory was read or written */
	GPU_MEM_USED,	/* bytes */
	GPU_MEM_TOTAL,	/* bytes */
	GPU_MEM_FREE,	/* bytes: total - used, computed by the collector */
	GPU_POWER,	/* watts */
	GPU_TEMP,	/* celsius */
	GPU_CLOCK_SM,	/* MHz */
	GPU_CLOCK_MEM,	/* MHz */
	GPU_PCIE_RX,	/* bytes/s */
	GPU_PCIE_TX,	/* bytes/s */
	GPU_ECC_CORR,	/* corrected ECC errors since the driver loaded */
	GPU_ECC_UNCORR, /* uncorrected */
	GPU_THROTTLE,	/* NVML clocks event (throttle) reasons bit mask */
	GPU_NMETRIC
};

struct dev_metric_def {
	const char *name, *unit, *help;
	uint32_t kind;
};
extern const struct dev_metric_def gpu_metric_def[GPU_NMETRIC];

/* One accelerator, as its provider reports it. */
struct dev_gpu {
	char id[32];	 /* the provider's own id (NVML index, card name, exec "id") */
	char vendor[16]; /* "nvidia", "amd", or what exec says */
	char model[96];
	char bus_id[32]; /* PCI bus id when known */
	char uuid[96];
	char driver[64];   /* driver version (or name) */
	char firmware[64]; /* VBIOS / firmware version */
	double v[GPU_NMETRIC];
	int idx[GPU_NMETRIC]; /* series indices (devices.c), -1 when not declared */
	int global;	      /* gpu="N" label: index across every provider */
};

enum sensor_kind { SENSOR_TEMP, SENSOR_FAN, SENSOR_POWER, SENSOR_NKIND };

/* One hwmon or thermal-zone sensor: sensor.<kind>{dev=...,chip=...,sensor=...}. */
struct dev_sensor {
	char dev[32];	/* "hwmon3", "thermal_zone0" */
	char chip[48];	/* hwmon "name", or "thermal" */
	char label[64]; /* tempN_label / thermal zone type, or "temp1" */
	enum sensor_kind kind;
	double scale; /* raw file value -> series unit */
	struct col_file *file;
	double value;
	int idx;
};

/* A watch's use of one provider's accelerators in its latest reading. */
struct dev_task_use {
	char watch[WATCH_NAME_MAX];
	double mem[DEV_GPU_MAX];  /* bytes used by the watch's processes, per local gpu */
	double util[DEV_GPU_MAX]; /* percent of the gpu's time (sum over its processes) */
};

struct dev_provider;

struct dev_provider_ops {
	const char *name; /* "nvml", "amd", "hwmon", "exec" */
	/*
	 * Looks for devices (may start a worker). Returns the number found now (>= 0) or
	 * -errno; either way ->why says what was found or why not. 0 is "nothing here",
	 * not an error. Called once, at start-up or reload, from the collector's init.
	 */
	int (*discover)(struct dev_provider *p, struct col_env *env);
	/* Fills this tick's values (NaN where unknown). Never blocks. Returns 0 or -errno. */
	int (*sample)(struct dev_provider *p, const struct col_now *now);
	/* Adds provider-specific fields to its status object (optional). */
	void (*describe)(const struct dev_provider *p, json_t *status);
	/* Releases everything discover took; called even when discover failed. */
	void (*fini)(struct dev_provider *p);
};

struct dev_provider {
	const struct dev_provider_ops *ops;
	void *priv;
	const struct ird_config *cfg;
	int found;	     /* devices or sensors are being reported */
	char why[192];	     /* what was found, or why nothing */
	struct dev_gpu *gpu; /* [ngpu], owned by the provider */
	int ngpu;
	struct dev_sensor *sensor; /* [nsensor] */
	int nsensor;
	struct dev_task_use *task; /* [ntask]: every watch the latest reading considered */
	int ntask;
	int has_tasks;	       /* the provider joins per-process use with watches */
	uint64_t reading_mono; /* CLOCK_MONOTONIC of the reading served; 0: none yet */
	int stale;	       /* older than devices_stale_ms: published as NaN (devices.c) */
	int relayout;	       /* set by sample: the device set changed, re-declare */
	int last_err;	       /* -errno of the last failed sample, 0 after a good one */
	char errmsg[160];
	uint64_t failures;
};

extern const struct dev_provider_ops dev_nvml_ops, dev_amd_ops, dev_hwmon_ops, dev_exec_ops;

/* ---- helpers shared by providers (devices.c) ------------------------------ */

/* Resets every value of G to NaN and its indices to -1 (for discovery). */
void dev_gpu_init(struct dev_gpu *g);
/* PATH under the configured sysfs root: ROOT + "/class/drm" etc. Returns 0 or -ENAMETOOLONG. */
int dev_sysfs_path(const struct ird_config *cfg, char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* vsnprintf into OUT; -ENAMETOOLONG when it does not fit (paths built from readdir). */
int dev_pathf(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Parses a sysfs integer attribute (decimal, trailing newline). NaN if it is not one. */
double dev_parse_attr(const struct col_file *f);
/*
 * Which of the N watches in WS select process PID (tgid): pid equal, /proc/PID/comm
 * equal, or /proc/PID/cgroup inside the watch's cgroup v2 directory. Blocking reads of
 * /proc: for workers, never for the tick. Returns a bit mask over WS.
 */
uint64_t dev_watch_match(pid_t pid, const struct watch_spec *ws, int n);
/*
 * Parses an exec provider's output ({"devices":[{"id":"0","model":"...","util":..,
 * "mem_used":..,"mem_total":..}, ...]}) into up to MAX gpus. Returns the count or
 * -EINVAL with ERR saying what is wrong.
 */
int dev_exec_parse(const char *text, size_t len, struct dev_gpu *gpu, int max, char *err, size_t errlen);

/* ---- what status.c publishes ---------------------------------------------- */

/* Inventory: one object per accelerator (vendor, model, memory, ids, provider). */
json_t *devices_inventory(void);
/* Status: one object per provider (found, what or why, age of the last reading). */
json_t *devices_status(void);
/* The running hwmon collector's provider, or NULL (hwmon.c, main-loop thread). */
const struct dev_provider *dev_hwmon_provider(void);

#endif /* INFOREGD_DEVICES_H */
