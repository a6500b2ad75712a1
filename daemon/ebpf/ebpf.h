/* SPDX-License-Identifier: MIT */
/*
 * ebpf.h - inforegd's eBPF collectors and what they share.
 *
 * The collectors in ebpf_collectors[] (ebpf.cpu, ebpf.runq, ebpf.task, ebpf.blkio,
 * ebpf.sched) each have their own BPF object, kernel/NAME.bpf.c, with its own skeleton.
 * The objects are loaded together by the first collector's init and destroyed by the
 * last one's fini (a plain refcount: init and fini run in the main-loop thread only),
 * but each loads, attaches and fails alone: struct cbpf says per collector whether its
 * object is up, and why not (see loader.c's first comment for the order and the maps
 * the objects share). Which objects get loaded is decided once, at that first load,
 * from the configuration (a collector listed in cfg->disabled costs nothing in the
 * kernel). The per-CPU state is read through a read-only mmap of the "cpus" array, so a
 * tick costs no system call for the CPU, run-queue, scheduler and task collectors.
 *
 * The watch control path (daemon/ctl.h, implemented in watch.c) hands validated watches
 * to the ebpf.task collector through the queue declared at the end of this file.
 */
#ifndef INFOREGD_COL_BPF_H
#define INFOREGD_COL_BPF_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include "collector.h"
#include "ctl.h"
#include "inforeg_bpf.h"

/* NULL-terminated; the main loop runs them after the /proc collectors unless cfg->no_ebpf. */
extern const struct collector_ops *const ebpf_collectors[];

extern const struct collector_ops ebpf_cpu_ops, ebpf_runq_ops, ebpf_task_ops, ebpf_blkio_ops, ebpf_sched_ops;

/* ---- the BPF objects (loader.c) ------------------------------------------- */

/* The collectors, in ebpf_collectors[] order; each has its object, kernel/NAME.bpf.c. */
enum cbpf_part { CBPF_CPU, CBPF_RUNQ, CBPF_TASK, CBPF_BLKIO, CBPF_SCHED, CBPF_NPARTS };

struct bpf_program;
struct bpf_link;
struct cpu_bpf; /* the bpftool skeletons */
struct runq_bpf;
struct task_bpf;
struct blkio_bpf;
struct sched_bpf;

struct cbpf {
	int refs;
	int ncpu;		   /* possible CPUs: entries of the cpus array */
	const struct ir_cpu *cpus; /* read-only mmap of cpu.bpf.c's "cpus" map; NULL if it is off */
	size_t cpus_len;
	struct ir_watch_ctl *watch_ctl; /* read-write mmap of cpu.bpf.c's "watch_ctl" map */
	size_t watch_ctl_len;
	struct cpu_bpf *cpu;
	struct runq_bpf *runq;
	struct task_bpf *task;
	struct blkio_bpf *blkio;
	struct sched_bpf *sched;
	int on[CBPF_NPARTS];	    /* the collector's object is loaded and attached */
	char off[CBPF_NPARTS][160]; /* why not, when !on[] */
	int nonline;		    /* CPUs online at load, listed in online[] */
	int *online;
	struct bpf_link *idle_link; /* ir_cpu_idle, attached by cbpf_repair() (common.c) */
	int idle_failed;	    /* attaching it failed (reported once) */
	uint64_t synced_tick;	    /* col_now.mono_ns of the last per-tick cbpf_sync_cpus() */
};

/*
 * For tests only, read at the first load (all NULL/0 in the daemon): the failure paths
 * they exercise are the real ones. attach_tp[P]: attach collector P's programs to this
 * raw tracepoint instead of their own (a name the kernel lacks fails the attach);
 * btf_path[P]: relocate P's object against this BTF file instead of the kernel's (one
 * lacking a field fails the relocation); blk_inflight_max: blk_start's capacity instead
 * of IR_BLK_INFLIGHT_MAX.
 */
struct cbpf_test_hooks {
	const char *attach_tp[CBPF_NPARTS];
	const char *btf_path[CBPF_NPARTS];
	uint32_t blk_inflight_max;
};
extern struct cbpf_test_hooks cbpf_test;

/*
 * Takes a reference on the objects, loading every enabled collector's on first use.
 * Returns them (each collector then checks its own part with cbpf_require), or NULL
 * with errno set and C's enabled/off_reason saying why when eBPF is off as a whole
 * (--no-ebpf). C may be NULL: the main loop holds a reference of its own while the
 * collectors' inits run, so that one collector found off (whose fini drops its
 * reference at once) does not unload, and the next one reload, the others' objects.
 */
struct cbpf *cbpf_get(struct collector *c, const struct ird_config *cfg);
/* Drops a reference taken by cbpf_get; the last one detaches and frees everything. */
void cbpf_put(struct cbpf *b);
/* Attaches PROG of part P to its section's raw tracepoint (or cbpf_test's); NULL and errno. */
struct bpf_link *cbpf_attach_prog(enum cbpf_part p, struct bpf_program *prog);

/*
 * For a collector's init: 0 when its object PART is loaded and attached, else records
 * why not in C and returns -EOPNOTSUPP; the loop then reports it and calls fini, which
 * drops the reference.
 */
static inline int cbpf_require(struct collector *c, const struct cbpf *b, enum cbpf_part part)
{
	if (b->on[part])
		return 0;
	snprintf(c->off_reason, sizeof(c->off_reason), "%s", b->off[part]);
	return -EOPNOTSUPP;
}

/*
 * Once per tick, from the collectors whose figures depend on seeing every switch (cpu,
 * task), with the tick's col_now.mono_ns. Costs one load on a kernel that reports every
 * switch. Once sched_switch has found a switch the kernel did not report, it
 *  - attaches the cpu_idle program that repairs the ones to idle (kernel/inforeg.bpf.c,
 *    ir_cpu_idle) and logs it, once;
 *  - runs ir_cpu_sync, once per tick, on every CPU whose entry names a busy task and
 *    has seen no switch since the previous tick, so an entry left naming a task that
 *    stopped at a dropped switch names the task running now before the tick's figures
 *    are read (an IPI each; idle CPUs and CPUs that switched are left alone).
 */
void cbpf_repair(struct cbpf *b, uint64_t tick_ns);

/*
 * Runs ir_cpu_sync on every online CPU, or, with QUIET_SINCE (CLOCK_MONOTONIC ns), on
 * those whose entry names a busy task and has seen no switch since then: entries no
 * switch has written yet start with the task running there (done once at load, so a CPU
 * whose busy thread never switches is measured from the start), a task running when a
 * watch went live (ebpf.task calls it then) is charged to the watch from now on, not
 * from its next switch-in, and an entry naming a task other than the one running (a
 * dropped switch) is set to it (see cbpf_repair). Returns 0, or the first error (-errno)
 * of BPF_PROG_TEST_RUN.
 */
int cbpf_sync_cpus(struct cbpf *b, uint64_t quiet_since);

/* The fields of a CPU's entry that only make sense together (read under its seqlock). */
struct cbpf_open {
	uint64_t busy_ns, last_switch_ns, cur_mask;
	uint32_t cur_idle, cur_period;
};
/* Attempts of cbpf_read_open before it gives up on an entry whose seq never settles. */
#define CBPF_READ_TRIES 10000
/*
 * Copies C's open-interval fields under its seqlock. Returns 0, or -EAGAIN when every
 * one of CBPF_READ_TRIES attempts raced a writer (OUT then holds nothing usable: the
 * caller reports an error and publishes NaN, never a torn copy).
 */
int cbpf_read_open(const struct ir_cpu *c, struct cbpf_open *out);
/* One counter of a mapped entry (a single aligned 64-bit load; counters only grow). */
static inline uint64_t cbpf_load(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}
uint64_t cbpf_now_ns(void); /* CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns() */

/* ---- log2 histograms (slot layout in kernel/inforeg_bpf.h) ---------------- */

/* Series indices of one histogram: cumulative buckets le="1".."2^26", "+Inf", and count. */
struct cbpf_hist_idx {
	int bucket[IR_HIST_SLOTS];
	int count;
};

/*
 * Declares BASE.bucket{LABELS,le="N"} for every slot and BASE.count{LABELS} as COUNTER
 * series. LABELS is "" or a label list without braces ("dev=\"vda\"").
 */
int cbpf_declare_hist(struct series_reg *reg, const char *base, const char *labels, struct cbpf_hist_idx *idx,
		      const char *what);
/* Writes cumulative buckets and the count of CUM (slot counts since load) into VALUES. */
void cbpf_write_hist(const struct cbpf_hist_idx *idx, const uint64_t *cum, double *values);
/* Q-quantile (0..1) in us of the slot counts D (N events), interpolated in its bucket; NaN if N is 0. */
double cbpf_hist_quantile(const uint64_t *d, uint64_t n, double q);

/* Sets VALUES[IDX] if IDX is a declared index. */
static inline void cbpf_put_value(double *values, int idx, double v)
{
	if (idx >= 0)
		values[idx] = v;
}

/* ---- watches: control path (watch.c) -> ebpf.task ------------------------ */

/* A validated watch with its selector resolved. */
struct watch_resolved {
	struct watch_spec spec;
	uint64_t cgid; /* WATCH_CGROUP: inode of the v2 cgroup directory (= kernfs id) */
	int cglevel;   /* WATCH_CGROUP: depth below the v2 root (root = 0) */
};

struct watch_op {
	int del; /* 1: remove spec.name; 0: add */
	struct watch_resolved w;
};

/*
 * Called by ebpf.task: AVAILABLE=1 once it can take watches, 0 (with REASON) when it is
 * off or going away; going off also forgets every watch and pending request.
 */
void watch_set_available(int available, const char *reason);
/* Moves up to MAX queued requests, oldest first, into OPS; returns how many. */
int watch_take_pending(struct watch_op *ops, int max);
/* Validates W and resolves its selector. Returns 0 or -EINVAL/-ENOENT with ERR set. */
int watch_resolve(const struct watch_spec *w, struct watch_resolved *out, char *err, size_t errlen);

#endif /* INFOREGD_COL_BPF_H */
