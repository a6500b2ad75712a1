/* SPDX-License-Identifier: MIT */
/*
 * procfs.h - the built-in /proc collectors and the pure parsers under them.
 *
 * Each collector (cpu, mem, load, pressure, net, disk) is one file exporting one
 * collector_ops. Its work is split in two so that tests can drive it with fixed
 * snapshots: a parser/updater over a NUL-terminated text buffer (the file's contents,
 * no I/O, no allocation) that leaves numbers in a plain struct, and a thin sample()
 * that copies those numbers to the series indices it declared. Stateful parsers keep
 * the previous snapshot themselves, so "two snapshots with known deltas" is two calls.
 *
 * Parsing rules shared by all: only complete lines ('\n'-terminated) are used, so a
 * truncated read drops its last line instead of producing a short number; a line that
 * does not match its expected shape is skipped; numbers are parsed by hand (no
 * locale, no strtod). Unknown values are NaN, never 0.
 */
#ifndef INFOREGD_COL_PROC_H
#define INFOREGD_COL_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "collector.h"

/* NULL-terminated, in the order the main loop initialises them. */
extern const struct collector_ops *const procfs_collectors[];

extern const struct collector_ops procfs_cpu_ops, procfs_mem_ops, procfs_load_ops, procfs_pressure_ops,
    procfs_net_ops, procfs_disk_ops, procfs_cgroup_ops;

/* ---- text helpers (scan.c, devtab.c) ------------------------------------------ */

/*
 * Steps *CURSOR over the next complete line of a NUL-terminated text. Returns 1 with
 * [*LINE, *EOL) set (EOL points at the '\n'), or 0 at the end of the text, including
 * when the last line has no '\n' (a truncated read): that line is not returned.
 */
int col_line_next(const char **cursor, const char **line, const char **eol);
/* Skips blanks, parses a decimal u64 before END. Returns 0, or -EINVAL (no digit, overflow). */
int col_scan_u64(const char **p, const char *end, uint64_t *v);
/* Same for a non-negative decimal with an optional fraction ("0.44", "12"). */
int col_scan_fixed(const char **p, const char *end, double *v);
/* 1 if [P, END) starts with the NUL-terminated WORD. */
int col_starts_with(const char *p, const char *end, const char *word);
/*
 * Copies a device name into a Prometheus label value that the registry accepts:
 * bytes below 0x20, '"' and '\\' become '_' (Linux allows them in interface names).
 * Returns the length, or -ENAMETOOLONG.
 */
int col_label_value(char *dst, size_t dstlen, const char *src);

/* ---- named devices with counters (net, disk) ----------------------------- */

#define COL_DEV_NAME_MAX 48 /* IFNAMSIZ is 16 and DISK_NAME_LEN 32 */
#define COL_DEV_NCTR	 8

struct col_dev {
	char name[COL_DEV_NAME_MAX];
	uint8_t keep;	  /* exported (declared); 0: listed but skipped (a partition...) */
	uint8_t have_cur; /* cur[] was read this tick */
	uint8_t have_prev;
	uint64_t cur[COL_DEV_NCTR], prev[COL_DEV_NCTR];
	double out[COL_DEV_NCTR]; /* this tick's values, NaN when unknown */
	int idx[COL_DEV_NCTR];	  /* series indices, -1 when not declared */
	int cidx[COL_DEV_NCTR];	  /* its cumulative counters' series indices, -1: none */
};

struct col_devtab {
	struct col_dev *dev;
	unsigned n;
	unsigned hint; /* where the next lookup starts: lines come in the same order every tick */
};

/* Finds NAME (LEN bytes) or returns NULL. */
struct col_dev *col_devtab_find(struct col_devtab *t, const char *name, size_t len);
/* Appends a device (allocates; init/declare only). Returns it, or NULL with errno set. */
struct col_dev *col_devtab_add(struct col_devtab *t, const char *name, size_t len);
/* Starts a tick: cur becomes prev for devices read last tick, nothing is read yet. */
void col_devtab_begin(struct col_devtab *t);
/* Moves FRESH into T, carrying the counters of devices present in both. */
void col_devtab_replace(struct col_devtab *t, struct col_devtab *fresh);
void col_devtab_free(struct col_devtab *t);

/* One per-device series family: NAME{dev="..."} with its unit and help. */
struct col_dev_series {
	const char *name, *unit, *help;
};
/*
 * One per-device cumulative counter: NAME{device="..."} (kind COUNTER, the label
 * node_exporter uses) = cur[CTR] x SCALE, what Prometheus rate()s over a scrape
 * interval where the per-period rates above would be sampled once.
 */
struct col_dev_counter {
	const char *name, *unit, *help;
	int ctr;
	double scale;
};
/*
 * Declares NOUT rate series per kept device of T (labels cleaned), recording their
 * indices in dev->idx[]. A device whose label the registry refuses (collision, bad
 * name) is reported with col_error, naming it as WHAT, and skipped. Returns 0 or -errno.
 */
int col_devtab_declare(struct collector *c, struct series_reg *reg, struct col_devtab *t,
		       const struct col_dev_series *series, int nout, const char *what);
/* The same for NCTR cumulative counters per kept device (after col_devtab_declare). */
int col_devtab_declare_counters(struct collector *c, struct series_reg *reg, struct col_devtab *t,
				const struct col_dev_counter *ctrs, int nctr, const char *what);
/* Copies every declared device's out[] into VALUES. */
void col_devtab_put(const struct col_devtab *t, int nout, double *values);
/* Copies every declared device's counters (NaN when not read this tick) into VALUES. */
void col_devtab_put_counters(const struct col_devtab *t, const struct col_dev_counter *ctrs, int nctr,
			     double *values);

/*
 * A per-device collector over one /proc table file (net, disk): the file is re-read
 * every tick, the device set at init and at each declare; a device the tick's parse
 * does not know asks for a re-layout once. The parsers (netdev_*, diskstats_*) keep
 * their state in a struct col_devset.
 */
struct col_devset {
	struct col_devtab tab;
	int unknown; /* the last update saw a device not in tab: re-enumerate */
};
struct col_devsrc {
	const char *path;
	const char *what;      /* "interface", "device": for messages */
	const char *no_lines;  /* message when a tick's read has no usable line */
	size_t bytes_per_line; /* tick buffer: 1024 + lines * this */
	int (*enumerate)(struct col_devset *s, const char *text);
	int (*update)(struct col_devset *s, const char *text, double dt);
	void (*fini)(struct col_devset *s);
	const struct col_dev_series *series;
	int nout;
	const struct col_dev_counter *counters; /* may be NULL */
	int ncounters;
};
/* collector ops over SRC: init takes the source, the others find it in c->priv */
int col_devsrc_init(struct collector *c, struct col_env *env, const struct col_devsrc *src);
int col_devsrc_declare(struct collector *c, struct series_reg *reg);
int col_devsrc_sample(struct collector *c, const struct col_now *now, double *values);
void col_devsrc_fini(struct collector *c);

/* ---- cpu: /proc/stat (cpu.c) ----------------------------------------- */

/* The time fields we use, in /proc/stat order. guest and guest_nice are already
 * included in user and nice by the kernel, so they are not read. */
enum cpu_field {
	CPU_USER,
	CPU_NICE,
	CPU_SYSTEM,
	CPU_IDLE,
	CPU_IOWAIT,
	CPU_IRQ,
	CPU_SOFTIRQ,
	CPU_STEAL,
	CPU_NFIELDS
};
extern const char *const cpu_field_name[CPU_NFIELDS];

struct cpu_times {
	uint64_t t[CPU_NFIELDS];
	uint8_t valid;
};

struct cpu_snap {
	struct cpu_times total;
	struct cpu_times *cpu; /* [cap], by CPU id */
	uint64_t ctxt, forks, running, blocked;
	uint8_t have_ctxt, have_forks, have_running, have_blocked;
	unsigned online; /* cpuN lines */
};

/* Results of the last closed window: percent of its jiffies, NaN when unknown. */
struct cpu_pct {
	double field[CPU_NFIELDS];
	double usage; /* 100 - idle - iowait */
};

struct cpustat {
	unsigned cap; /* CPU ids 0..cap-1 are tracked */
	struct cpu_snap snap[2];
	struct cpu_snap *prev, *cur; /* point into snap[] */
	/* per line, where its open window starts: the snapshot at which its last window
	 * closed (a jiffy had elapsed), invalid when the line has no window open */
	struct cpu_times base_total, *base_cpu; /* base_cpu[cap] */
	struct cpu_pct all, *cpu;		/* results, cpu[cap] */
	double count, free, ctxt_per_s, forks_per_s, running, blocked;
	unsigned ignored; /* cpuN lines with N >= cap in the last update */
};

/* Allocates state for CPU ids below CAP. Returns NULL and sets errno. */
struct cpustat *cpustat_new(unsigned cap);
void cpustat_free(struct cpustat *s);
/*
 * Parses TEXT (/proc/stat) as the new snapshot. Each line's percentages cover the
 * window since that line's last closed window, closed now if at least one jiffy
 * elapsed on it; otherwise the window stays open and the line keeps the figures of
 * its last closed window (NaN if none). DT (seconds since the previous snapshot) is
 * for the ctxt and forks rates. TEXT NULL records a failed read (every window and the
 * previous snapshot are dropped). Returns 0, or
 * -EINVAL when there is no valid total "cpu" line (all results NaN). No allocation.
 */
int cpustat_update(struct cpustat *s, const char *text, double dt);
/* Highest cpuN id in TEXT plus one (ids of 65536 and more are not CPU ids): 0 if none. */
unsigned cpustat_ids(const char *text);
/* Possible CPUs (ids below it may come online), from /sys, at least MIN_CAP. */
unsigned cpustat_possible(unsigned min_cap);

/* ---- mem: /proc/meminfo (mem.c) -------------------------------------- */

enum mem_out {
	MEM_TOTAL,
	MEM_AVAILABLE,
	MEM_FREE,
	MEM_USED,
	MEM_BUFFERS,
	MEM_CACHED,
	MEM_SRECLAIMABLE,
	MEM_SHMEM,
	MEM_DIRTY,
	MEM_SWAP_TOTAL,
	MEM_SWAP_FREE,
	MEM_SWAP_USED,
	MEM_NOUT
};

/*
 * Parses TEXT (/proc/meminfo) into OUT, in bytes; a missing field is NaN. Returns 0,
 * or -EINVAL when MemTotal or MemFree is missing (everything NaN then).
 */
int meminfo_parse(const char *text, double out[MEM_NOUT]);

/* ---- load: /proc/loadavg (load.c) ------------------------------------ */

enum load_out { LOAD_1, LOAD_5, LOAD_15, LOAD_RUNNABLE, LOAD_THREADS, LOAD_NOUT };

/* Parses "0.09 0.05 0.01 1/82 4819\n". Returns 0, or -EINVAL (all NaN). */
int loadavg_parse(const char *text, double out[LOAD_NOUT]);

/* ---- pressure: /proc/pressure/{cpu,memory,io} (pressure.c) ------------ */

enum psi_line { PSI_SOME, PSI_FULL, PSI_NLINES };

struct psi_state {
	uint64_t total[PSI_NLINES], prev_total[PSI_NLINES];
	uint8_t have[PSI_NLINES], have_prev[PSI_NLINES];
	double avg10[PSI_NLINES];     /* percent, as the kernel reports it */
	double stall_pct[PSI_NLINES]; /* d(total us)/dt as percent of wall time */
};

/* Initial state (nothing read). */
void psi_reset(struct psi_state *s);
/*
 * Parses TEXT (one pressure file; NULL: the read failed) and computes the stall
 * percentages over DT seconds. A missing line (cpu "full" before 5.13) stays NaN.
 * Returns 0, or -EINVAL when neither line parses.
 */
int psi_update(struct psi_state *s, const char *text, double dt);

/* ---- net: /proc/net/dev (net.c) -------------------------------------- */

/* Per-interface values, in the order of col_dev.out[] and .idx[]. */
enum net_out {
	NET_RX_BYTES,
	NET_TX_BYTES,
	NET_RX_PACKETS,
	NET_TX_PACKETS,
	NET_RX_ERRORS,
	NET_TX_ERRORS,
	NET_RX_DROPS,
	NET_TX_DROPS,
	NET_NOUT
};

/* Sets the interface list from TEXT, keeping counters of interfaces already known. */
int netdev_enumerate(struct col_devset *s, const char *text);
/* Per tick: parses TEXT (NULL: read failed), computes the rates over DT. No allocation. */
int netdev_update(struct col_devset *s, const char *text, double dt);
void netdev_fini(struct col_devset *s);

/* ---- disk: /proc/diskstats (disk.c) ---------------------------------- */

enum disk_out { DISK_READ_BYTES, DISK_WRITE_BYTES, DISK_READ_OPS, DISK_WRITE_OPS, DISK_BUSY, DISK_NOUT };

/* 1 if NAME is a partition of DISK by the kernel's naming rule (sda1, nvme0n1p2). */
int diskstats_is_partition_of(const char *name, const char *disk);
/* Sets the device list from TEXT (see disk.c for what is kept), keeping counters. */
int diskstats_enumerate(struct col_devset *s, const char *text);
/* Per tick: parses TEXT (NULL: read failed), computes the rates over DT. No allocation. */
int diskstats_update(struct col_devset *s, const char *text, double dt);
void diskstats_fini(struct col_devset *s);

/* ---- cgroup: a container's CPU and memory (cgroup.c) -------------------------- */

/* A decimal integer or "max" (UINT64_MAX), blanks and one '\n' around. -EINVAL, -ENODATA (NULL). */
int cg_parse_u64(const char *text, uint64_t *v);
/* v2 cpu.max: the quota in cores, 0 when "max". */
int cg_parse_cpu_max(const char *text, double *cores);
/* v1 cpu.cfs_quota_us / cpu.cfs_period_us: the quota in cores, 0 when -1 (none). */
int cg_parse_cfs(const char *quota, const char *period, double *cores);
/* CPUs in a list such as "0-3,8": 0 when empty or unparsable. */
unsigned cg_cpulist_size(const char *text);
/* v2 cpu.stat usage_usec, in ns. */
int cg_parse_cpu_stat_ns(const char *text, uint64_t *ns);
/* The limit in cores: the quota (0: none) capped by the cpuset's size (0: unknown), else
 * the cpuset, else HOST_CPUS. */
double cg_cpu_limit(double quota_cores, unsigned cpuset, double host_cpus);

#endif /* INFOREGD_COL_PROC_H */
