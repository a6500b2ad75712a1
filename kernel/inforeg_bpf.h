/* SPDX-License-Identifier: MIT */
/*
 * inforeg_bpf.h - the structs and constants the kernel/NAME.bpf.c programs share with the
 * daemon's eBPF collectors (daemon/ebpf/). Both sides include this file, so it holds only
 * fixed-width types and no pointers. (kernel/inforeg.bpf.h holds what only the BPF
 * programs share: the shared maps, the seqlock, the histogram slot.)
 *
 * The hot per-CPU state lives in one array map ("cpus", BPF_F_MMAPABLE) indexed by CPU
 * id: each CPU's sched_switch program (and its cpu_idle and cpu_sync programs, which never
 * run interleaved with it) is the only writer of its own entry
 * (except the migration counter, which other CPUs add to atomically), and the daemon reads every
 * entry once per tick through a read-only mmap, with no system call. Entries are whole
 * cache lines so CPUs never write the same line.
 *
 * The few fields that must be read together (busy time, the start of the interval still
 * open and what runs in it) sit under a per-CPU sequence counter: odd while the switch
 * program updates them. Everything else is a monotonically increasing 64-bit counter
 * that is read word by word.
 */
#ifndef INFOREG_BPF_H
#define INFOREG_BPF_H

/*
 * log2 latency histograms: slot 0 counts values below 1 us, slot i (1..IR_HIST_SLOTS-2)
 * counts [2^(i-1), 2^i) us, and the last slot counts everything from 2^(IR_HIST_SLOTS-2)
 * us (18 min) up. So slot i's upper bound is 2^i us and the last one is +Inf. A power
 * of two, so the programs index with a mask the verifier can follow.
 */
#define IR_HIST_SLOTS 32
/* One bit per watch slot in a __u64 mask; equals WATCH_MAX in daemon/ctl.h. */
#define IR_WATCH_MAX 64
/* Cgroup watches select a v2 cgroup at depth < IR_CG_LEVEL_MAX (one bit per level). */
#define IR_CG_LEVEL_MAX 16
/* Block devices tracked at once. */
#define IR_DEV_MAX 64
/* Block requests timed at once (blk_start); one issued while this many are in flight is
 * counted in blk_untracked instead of timed. */
#define IR_BLK_INFLIGHT_MAX 8192

/*
 * Slots of the "chain" program array (kernel/inforeg.bpf.h). The collectors that ride on
 * a hook another collector owns (task and runq on sched_switch, task on cpu_sync) put
 * their program here; cpu.bpf.c's attached program tail-calls them in slot order, each
 * goes on to the next, and the last is cpu.bpf.c's own body. An empty slot is skipped.
 */
#define IR_SLOT_SWITCH_TASK 0 /* task.bpf.c: watch masks of NEXT (and PREV) into the entry */
#define IR_SLOT_SWITCH_RUNQ 1 /* runq.bpf.c: run-queue latency of NEXT */
#define IR_SLOT_SWITCH_CORE 2 /* cpu.bpf.c: the interval, busy time, watch charges */
#define IR_SLOT_SYNC_TASK   3 /* task.bpf.c: watch mask of the running task */
#define IR_SLOT_SYNC_CORE   4 /* cpu.bpf.c: cpu_sync's body */
#define IR_SLOTS	    5

/*
 * Watch control, one entry of the "watch_ctl" array (BPF_F_MMAPABLE), written by the
 * daemon (ebpf.task) and read by task.bpf.c and cpu.bpf.c's cpu_idle. Each word only
 * selects work, so a stale read costs at most one misattributed interval; live_mask is
 * stored last, with release, after the selector maps (daemon/ebpf/task.c).
 */
struct ir_watch_ctl {
	__u64 live_mask;  /* watch slots in use */
	__u32 period;	  /* bumped by the daemon at every task sample */
	__u32 has_pid;	  /* some watch selects by tgid */
	__u32 has_comm;	  /* some watch selects by comm */
	__u32 cg_levels;  /* bit L: some watch selects a cgroup at v2 level L */
};

struct ir_hist {
	__u64 slots[IR_HIST_SLOTS];
};

struct ir_cpu {
	/* ---- line 0: written by this CPU's sched_switch (or cpu_idle), the first five under seq ---- */
	__u64 seq;	      /* odd while the fields below are being changed */
	__u64 busy_ns;	      /* closed intervals this CPU ran a non-idle task */
	__u64 last_switch_ns; /* CLOCK_MONOTONIC ns of the last switch; 0: none yet */
	__u64 cur_mask;	      /* watch slots the task running since last_switch_ns matches */
	__u32 cur_idle;	      /* 1 if that task is the idle task (pid 0) */
	__u32 cur_period;     /* ir_ctl.period when that task switched in */
	__u64 switches;	      /* context switches on this CPU (not under seq) */
	__u64 last_clk;	      /* the program's clock at the last switch (below) */
	__u64 clk_off;	      /* CLOCK_MONOTONIC minus the rq clock, at the last calibration */
	/*
	 * The program's clock is the run queue's own (rq->clock, sched_clock ns), which the
	 * scheduler has just updated when sched_switch fires: reading it is one load, where
	 * bpf_ktime_get_ns() costs about 60 ns in a KVM guest. last_switch_ns is that clock
	 * plus clk_off, recalibrated against bpf_ktime_get_ns() when the rq clock enters a
	 * new span of IR_CAL_NS. (On a kernel where the rq cannot be reached, the clock is
	 * bpf_ktime_get_ns() and clk_off 0.)
	 */
	/* ---- line 1: also this CPU's only, outside seq ---- */
	__u32 cur_pid;	/* pid of the task running since last_switch_ns (0: idle) */
	__u32 clk_mono; /* last_clk is CLOCK_MONOTONIC, not the rq clock, until the next switch
			 * (set by ir_cpu_sync when it starts the entry) */
	/*
	 * Switches this CPU made that sched_switch did not report, seen by the next one
	 * (its PREV is not cur_pid) or, once the daemon attached it, by cpu_idle (the idle
	 * loop runs while the entry names another task). See ir_cpu_idle.
	 */
	__u64 unreported;
	/*
	 * Handed from task.bpf.c's programs to cpu.bpf.c's body in the same tail-call chain
	 * (same CPU, one event): the watch masks task.bpf.c found and the watch state it
	 * read. sw_valid says they are for this event; the body clears it.
	 */
	__u64 sw_next_mask; /* watch slots NEXT (or the running task, for cpu_sync) matches */
	__u64 sw_prev_mask; /* watch slots PREV matches, when PREV is not cur_pid */
	__u64 sw_live;	    /* ir_watch_ctl.live_mask as read then */
	__u32 sw_per;	    /* ir_watch_ctl.period as read then */
	__u32 sw_valid;
	__u64 pad1[2];
	/* ---- line 2: sched_migrate_task with this CPU as destination (atomic adds) ---- */
	__u64 migrations;
	__u64 pad2[7];
	/* ---- run-queue latency of tasks that switched in on this CPU ---- */
	__u64 runq[IR_HIST_SLOTS];
	/* ---- per watch slot: closed CPU time and distinct threads seen per period ---- */
	__u64 task_ns[IR_WATCH_MAX];
	__u64 task_seen[IR_WATCH_MAX];
};

/* Span of the rq clock (ns, a power of two) after which a CPU's switch program re-reads
 * CLOCK_MONOTONIC for clk_off: about 17 ms. */
#define IR_CAL_NS (1ULL << 24)

/* Key of the per-device block latency map: the whole disk's dev_t (kernel encoding). */
#define IR_MINORBITS	20
#define IR_DEV_MAJOR(d) ((__u32)(d) >> IR_MINORBITS)
#define IR_DEV_MINOR(d) ((__u32)(d) & ((1U << IR_MINORBITS) - 1))

#endif /* INFOREG_BPF_H */
