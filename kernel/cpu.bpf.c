// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * inforeg.bpf.c - the kernel half of inforegd's eBPF collectors: exact CPU busy time,
 * run-queue latency, per-watch task CPU time, block I/O latency, context switches and
 * migrations.
 *
 * There is exactly one program per hook, serving every collector that needs the hook
 * (the daemon turns features off through the read-only flags below before load and
 * does not load programs whose hook nothing needs). All programs are raw tracepoints:
 * they get the task and request pointers directly, so no per-event string formatting
 * or tracefs lookups, and bench/bpf_tpcost measures what that saves over the classic
 * tracepoint on sched_switch.
 *
 * The hot hook is sched_switch, so its program is kept to a few loads and stores (see
 * ir_sched_switch); run-queue latency needs no wake-up program.
 *
 * Nothing here wakes user space: the daemon reads the maps once per tick, the per-CPU
 * state through a read-only mmap of the "cpus" array (see kernel/inforeg_bpf.h for the
 * layout and the sequence counter).
 *
 * Memory ordering: each CPU's entry of "cpus" is written only by that CPU's
 * sched_switch program and, rarely, its cpu_idle and cpu_sync programs (each runs on
 * that CPU with interrupts or preemption off, so they never interleave), so plain
 * stores suffice for the data.
 * The sequence counter relies on stores becoming visible in program order, which x86
 * (TSO) gives for the JIT's plain stores; the compiler barriers keep clang from
 * reordering them. The reader's side is in daemon/ebpf/loader.c (cbpf_read_open).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "inforeg_bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Features, set by the daemon before load (skel->rodata): off costs nothing at run time. */
const volatile __u32 do_runq = 0;
const volatile __u32 do_task = 0;

/*
 * Watch control, written by the daemon through the skeleton's mmap of .bss at its
 * tick. They only select work (which lookups to do), so a stale read costs at most
 * one misattributed interval.
 */
volatile __u64 live_mask; /* watch slots in use */
volatile __u32 period;	  /* bumped by the daemon at every task sample */
volatile __u32 has_pid;	  /* some watch selects by tgid */
volatile __u32 has_comm;  /* some watch selects by comm */
volatile __u32 cg_levels; /* bit L: some watch selects a cgroup at v2 level L */

/* Set by sched_switch when it finds a switch it did not report; read by the daemon,
 * which then attaches ir_cpu_idle (a relaxed flag: one tick late costs nothing). */
volatile __u32 switch_unreported;

/* Entries ir_cpu_sync started, gave a new watch mask or repaired (for tests). */
volatile __u64 cpu_synced;

struct comm_key {
	char c[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* set to the number of possible CPUs before load */
	__type(key, __u32);
	__type(value, struct ir_cpu);
} cpus SEC(".maps");

/* Watch selectors: value is the mask of watch slots the key belongs to. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IR_WATCH_MAX);
	__type(key, __u32);
	__type(value, __u64);
} watch_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IR_WATCH_MAX);
	__type(key, struct comm_key);
	__type(value, __u64);
} watch_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IR_WATCH_MAX);
	__type(key, __u64);
	__type(value, __u64);
} watch_cgrp SEC(".maps");

/* Last period in which each watched thread was counted (task.count dedup). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u32);
} task_period SEC(".maps");

/*
 * Block requests in flight: request pointer -> issue time. LRU, so that requests whose
 * completion we never see (a driver path without the tracepoint) cannot fill it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u64);
} blk_start SEC(".maps");

/* Per whole-disk dev_t latency histogram, shared by CPUs (atomic adds). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IR_DEV_MAX);
	__type(key, __u32);
	__type(value, struct ir_hist);
} blk_hist SEC(".maps");

#define barrier() asm volatile("" ::: "memory")

/* floor(log2(v)) for v > 0, branch-light so the verifier sees no loop. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xffffffffULL) << 5;
	v >>= s;
	r |= s;
	s = (v > 0xffff) << 4;
	v >>= s;
	r |= s;
	s = (v > 0xff) << 3;
	v >>= s;
	r |= s;
	s = (v > 0xf) << 2;
	v >>= s;
	r |= s;
	s = (v > 0x3) << 1;
	v >>= s;
	r |= s;
	r |= (v >> 1);
	return r;
}

/* Histogram slot of a latency in ns (see IR_HIST_SLOTS). */
static __always_inline __u32 hist_slot(__u64 ns)
{
	/*
	 * ns / 1000 without a divide instruction (tens of cycles) for waits under 4.29 s:
	 * 2199023256 = ceil(2^41 / 1000) and 448 * 2^32 < 2^41, so the product's top bits
	 * are the exact quotient for every ns below 2^32, and the product fits in 64 bits.
	 */
	__u64 us = ns < (1ULL << 32) ? (ns * 2199023256ULL) >> 41 : ns / 1000;
	__u32 s;

	if (!us)
		return 0;
	s = log2_u64(us) + 1;
	s = s < IR_HIST_SLOTS - 1 ? s : IR_HIST_SLOTS - 1;
	/*
	 * clang knows s <= 31 and would drop a mask, then index with a copy the verifier
	 * has no bound for; hiding s from it keeps the mask, which the verifier does follow.
	 */
	asm volatile("" : "+r"(s));
	return s & (IR_HIST_SLOTS - 1);
}

/* Watch slots task T belongs to: by tgid, by comm, by its v2 cgroup or an ancestor. */
static __always_inline __u64 task_watch_mask(struct task_struct *t)
{
	__u64 mask = 0, *m;

	if (has_pid) {
		__u32 tgid = BPF_CORE_READ(t, tgid);

		m = bpf_map_lookup_elem(&watch_pid, &tgid);
		if (m)
			mask |= *m;
	}
	if (has_comm) {
		struct comm_key k = {};
		int seen_nul = 0;

		bpf_probe_read_kernel(&k.c, sizeof(k.c), &t->comm);
		/* comm is NUL-padded by the kernel; clear anyway so the key is canonical */
		for (int i = 0; i < 16; i++) {
			if (!k.c[i])
				seen_nul = 1;
			if (seen_nul)
				k.c[i] = 0;
		}
		m = bpf_map_lookup_elem(&watch_comm, &k);
		if (m)
			mask |= *m;
	}
	if (cg_levels) {
		struct cgroup *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp);
		int level = BPF_CORE_READ(cg, level);
		__u32 want = cg_levels;

		for (int l = 0; l < IR_CG_LEVEL_MAX; l++) {
			struct cgroup *anc = NULL;
			__u64 id;

			if (l > level)
				break;
			if (!(want & (1u << l)))
				continue;
			bpf_core_read(&anc, sizeof(anc), &cg->ancestors[l]);
			if (!anc)
				continue;
			id = BPF_CORE_READ(anc, kn, id);
			m = bpf_map_lookup_elem(&watch_cgrp, &id);
			if (m)
				mask |= *m;
		}
	}
	return mask;
}

/* Adds DELTA ns to every watch slot in MASK on this CPU. */
static __always_inline void task_account(struct ir_cpu *c, __u64 mask, __u64 delta)
{
	for (int i = 0; i < IR_WATCH_MAX && mask; i++, mask >>= 1)
		if (mask & 1)
			c->task_ns[i] += delta;
}

/* Counts thread TID once per period in every slot of MASK. */
static __always_inline void task_seen(struct ir_cpu *c, __u32 tid, __u64 mask, __u32 per)
{
	__u32 *last = bpf_map_lookup_elem(&task_period, &tid);

	if (last && *last == per)
		return;
	bpf_map_update_elem(&task_period, &tid, &per, BPF_ANY);
	for (int i = 0; i < IR_WATCH_MAX && mask; i++, mask >>= 1)
		if (mask & 1)
			c->task_seen[i]++;
}

/*
 * This CPU's run queue (or NULL). At sched_switch the current task is still PREV, and
 * every task's CFS run queue (CONFIG_FAIR_GROUP_SCHED: se.cfs_rq->rq; it is kept for
 * tasks of every class, the idle task included) is that of the task's CPU. Through
 * bpf_get_current_task_btf() these are plain loads with a fault fixup (BTF pointers),
 * not bpf_probe_read_kernel() calls. The caller checks rq->curr against NEXT. A kernel
 * without cfs_rq->rq gets NULL: the program then runs on bpf_ktime_get_ns() and probe
 * reads, without run-queue latency.
 */
static __always_inline struct rq *this_rq(struct task_struct *cur)
{
	if (!bpf_core_field_exists(struct cfs_rq, rq))
		return NULL;
	return cur->se.cfs_rq->rq;
}

/*
 * The program's clock at CLOCK_MONOTONIC MONO, for the programs that run outside
 * sched_switch (cpu_idle, cpu_sync), where rq->clock may be as old as the last switch or
 * tick. Never before last_clk: the two clocks drift apart by parts per million.
 */
static __always_inline __u64 clk_at(const struct ir_cpu *c, __u64 mono)
{
	__u64 clk = mono - c->clk_off;

	return clk < c->last_clk ? c->last_clk : clk;
}

/*
 * The one writer of an entry's seq-protected fields (for sched_switch, and for cpu_idle's
 * repair, and for cpu_sync), on the CPU the entry belongs to: closes the interval open
 * since last_clk at CLK, adding it to busy time when BUSY and to the watches of CHARGE
 * still in LIVE, and opens the next one at CLK (MONO on CLOCK_MONOTONIC) for task NEXT_PID,
 * which is the idle task or not (NEXT_IDLE), matches watches NEXT_MASK and switched in
 * during watch period PER. The seq protocol the daemon's reader pairs with
 * (cbpf_read_open): seq odd, the fields, seq even, each step in program order.
 */
static __always_inline void switch_entry(struct ir_cpu *c, __u64 clk, __u64 mono, __u64 live, int busy,
					 __u64 charge, __u32 next_pid, __u32 next_idle, __u64 next_mask,
					 __u32 per)
{
	c->seq++;
	barrier();
	if (c->last_clk && clk > c->last_clk) {
		__u64 delta = clk - c->last_clk;

		if (busy)
			c->busy_ns += delta;
		if (charge & live)
			task_account(c, charge & live, delta);
	}
	c->last_switch_ns = mono;
	c->cur_idle = next_idle;
	c->cur_mask = next_mask;
	c->cur_period = per;
	barrier();
	c->seq++;
	c->last_clk = clk;
	c->cur_pid = next_pid;
}

/*
 * The hot path: on this kernel a handful of plain loads of scheduler state and the CPU's
 * own array entry; one real helper call (bpf_get_current_task_btf(), a few instructions;
 * the CPU id and the array lookup are inlined by the verifier), no map update, no lock,
 * no atomic; CLOCK_MONOTONIC (about 60 ns in a KVM guest) once per IR_CAL_NS at most.
 *
 * Its clock is the run queue's (rq->clock, sched_clock ns), which __schedule() has just
 * updated; last_switch_ns, which the daemon compares with CLOCK_MONOTONIC, is that plus
 * an offset recalibrated about every IR_CAL_NS (the rate of the two clocks differs by
 * parts per million at most, and the offset carries the time from the clock update
 * to this tracepoint, about a microsecond), while busy and task time add up rq clock
 * deltas, exact.
 *
 * Run-queue latency needs no wake-up program: the scheduler's own bookkeeping
 * (CONFIG_SCHED_INFO) stamps next->sched_info.last_queued with the rq clock when a task
 * is queued (woken, new, or preempted while runnable) and clears it when the task gets
 * the CPU, right after this tracepoint; rq->clock minus the stamp is the wait the kernel
 * adds to the task's run_delay (/proc/PID/schedstat). rq->curr is already NEXT here.
 */
SEC("raw_tp/sched_switch")
int BPF_PROG(ir_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 next_mask = 0, prev_mask = 0, live = 0, clk, mono, lq = 0;
	__u32 per = 0, next_idle, next_pid, prev_pid, unrep;
	struct task_struct *cur = bpf_get_current_task_btf(); /* still PREV */
	struct ir_cpu *c;
	struct rq *rq;

	c = bpf_map_lookup_elem(&cpus, &cpu);
	if (!c)
		return 0;
	rq = this_rq(cur);
	/* rq->curr is NEXT only on the run queue switching to it: this CPU's */
	if (rq && (__u64)rq->curr == (__u64)next) {
		struct task_struct *n = rq->curr;

		clk = rq->clock;
		/* recalibrate on the first switch and whenever clk enters a new IR_CAL_NS span */
		if (!c->last_clk || c->clk_mono || (clk ^ c->last_clk) >= IR_CAL_NS)
			c->clk_off = bpf_ktime_get_ns() - clk;
		mono = clk + c->clk_off;
		if (c->clk_mono) { /* ir_cpu_sync started the entry on CLOCK_MONOTONIC */
			__u64 l = c->last_clk - c->clk_off;

			c->last_clk = l < clk ? l : clk;
			c->clk_mono = 0;
		}
		next_idle = n == rq->idle;
		next_pid = n->pid;
		prev_pid = cur->pid;
		if (do_runq && !next_idle)
			lq = n->sched_info.last_queued;
	} else {
		/*
		 * No run queue (another kernel): CLOCK_MONOTONIC, in the rq clock's terms should
		 * the rq path ever have run here; clk_off is 0 where it never does.
		 */
		mono = bpf_ktime_get_ns();
		clk = mono - c->clk_off;
		next_pid = BPF_CORE_READ(next, pid);
		prev_pid = BPF_CORE_READ(prev, pid);
		next_idle = next_pid == 0;
	}
	/*
	 * PREV is not the task the last switch here switched to: a switch in between was not
	 * reported (see ir_cpu_idle). Who ran when in this interval is unknown, so it is
	 * charged as what ran at its end: PREV, idle or busy, and to PREV's watches. The
	 * switches this kernel drops are from a thread that ran for microseconds, so that is
	 * close; charging the interval to no watch lost a watched task's whole run since its
	 * switch-in (up to 160 ms in a test under load).
	 */
	unrep = c->last_clk && prev_pid != c->cur_pid;

	if (do_task) {
		live = live_mask;
		per = period;
		if (live && !next_idle)
			next_mask = task_watch_mask(next) & live;
		if (unrep && live && prev_pid)
			prev_mask = task_watch_mask(cur) & live;
	}

	switch_entry(c, clk, mono, live, unrep ? prev_pid != 0 : !c->cur_idle,
		     unrep ? prev_mask : c->cur_mask, next_pid, next_idle, next_mask, per);
	c->switches++;
	if (unrep) {
		c->unreported++;
		switch_unreported = 1;
	}

	if (lq && clk >= lq)
		c->runq[hist_slot(clk - lq)]++;
	if (next_mask)
		task_seen(c, next_pid, next_mask, per);
	return 0;
}

/*
 * The idle loop is entering an idle state (cpu_idle with STATE != PWR_EVENT_EXIT), so
 * the task running is the idle task and this CPU's entry must say so. When it does not,
 * sched_switch did not report the switch to the idle task, and the task the entry names
 * would be counted busy (and charged to its watches) until the next reported switch:
 * for as long as the CPU stays idle, seconds on a quiet CPU. The kernel this was built
 * on (6.18, a Firecracker guest) drops about one such switch a second, from the threads
 * of the agent that drives the VM, with no recursion miss counted. Here the interval is
 * closed now (it includes the microseconds between that switch and the halt) and the
 * entry says idle.
 *
 * The daemon attaches this program only once sched_switch has seen an unreported switch
 * (switch_unreported), so a kernel that reports every switch pays nothing on its idle
 * path; where it is attached, the usual case is two loads and a return.
 *
 * Runs on the CPU it repairs, with interrupts off (do_idle), so it never interleaves
 * with that CPU's sched_switch; both write the entry through switch_entry().
 */
SEC("raw_tp/cpu_idle")
int BPF_PROG(ir_cpu_idle, unsigned int state, unsigned int cpu_id)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 mono, clk, live = 0;
	struct ir_cpu *c;

	if (state == (unsigned int)-1) /* PWR_EVENT_EXIT: leaving idle */
		return 0;
	c = bpf_map_lookup_elem(&cpus, &cpu);
	if (!c || c->cur_idle || !c->last_clk)
		return 0;
	/* rq->clock may be as old as the unreported switch: take CLOCK_MONOTONIC instead */
	mono = bpf_ktime_get_ns();
	clk = clk_at(c, mono);
	if (do_task)
		live = live_mask;
	/* the entry's task ran until now (busy, charged to its watches); the idle task from now */
	switch_entry(c, clk, mono, live, 1, c->cur_mask, 0, 1, 0, c->cur_period);
	c->unreported++;
	return 0;
}

/*
 * Brings this CPU's entry in line with the task running now, for the three cases where
 * waiting for the next switch would be wrong, and is otherwise a no-op. The daemon runs
 * it on online CPUs (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU: an IPI, or a
 * direct call with preemption off on its own CPU), where the current task is the one
 * that was interrupted:
 *
 * - after attaching, on entries no switch has written yet: a CPU whose one busy thread
 *   keeps it (a pinned polling thread, an isolated core) may not switch for minutes, and
 *   until it does the entry would know nothing and cpu.usage.exact would be unknown;
 *   the entry now starts with the task running. Its last_clk is CLOCK_MONOTONIC then,
 *   which clk_mono tells sched_switch to convert to the rq clock (see there);
 * - after a watch goes live: a task's watch mask is looked up when it switches in, so a
 *   watch would miss a running task it selects until its next switch-in (seconds, for
 *   a busy thread alone on its CPU). If the entry names the running task and the live
 *   watches it matches have changed, the open interval is closed now (charged as
 *   before) and a new one opens with the new mask;
 * - at every tick on a kernel that drops switches (switch_unreported), on the CPUs
 *   whose entry names a busy task and has seen no switch since the previous tick (the
 *   daemon picks them, cbpf_sync_cpus): the entry may name a task that stopped running
 *   at a dropped switch, while the task now running (a watched one, say) goes
 *   uncounted until the next reported switch there, which on a CPU with one busy task
 *   can be hundreds of milliseconds off. The entry is set to the task running now.
 *
 * Runs on the CPU whose entry it writes, never interleaved with that CPU's sched_switch
 * or cpu_idle (interrupts or preemption off), and writes through switch_entry().
 * Attached to nothing: the section names no tracepoint.
 */
SEC("raw_tp")
int ir_cpu_sync(void *ctx)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 cpu = bpf_get_smp_processor_id(), pid = cur->pid, idle = pid == 0; /* the idle task */
	__u64 mono, clk, live = 0, mask = 0;
	struct ir_cpu *c;

	c = bpf_map_lookup_elem(&cpus, &cpu);
	if (!c)
		return 0;
	if (do_task) {
		live = live_mask;
		if (live && !idle)
			mask = task_watch_mask(cur) & live;
	}
	mono = bpf_ktime_get_ns();
	if (!c->last_clk) {
		/* nothing to close: the entry starts now, on CLOCK_MONOTONIC */
		c->clk_mono = 1;
		switch_entry(c, mono, mono, live, 0, 0, pid, idle, mask, period);
		__sync_fetch_and_add(&cpu_synced, 1);
		return 0;
	}
	/* the entry names this task, which is idle or matches the same watches: nothing to do */
	if (c->cur_pid == pid && (c->cur_idle || mask == (c->cur_mask & live)))
		return 0;
	clk = clk_at(c, mono);
	if (c->cur_pid == pid) {
		/* a watch went live: close the interval as before, reopen it with the new mask */
		switch_entry(c, clk, mono, live, 1, c->cur_mask, pid, 0, mask, c->cur_period);
	} else {
		/*
		 * The switch to the task running now was not reported. Charged as sched_switch
		 * charges one it finds: as what ran at the end of the interval, the task running
		 * now (idle or busy, and its watches). Found here, the task's time counts from
		 * this tick on, not from its next reported switch, which may be far off.
		 */
		switch_entry(c, clk, mono, live, !idle, mask, pid, idle, mask, period);
		c->unreported++;
		switch_unreported = 1;
	}
	__sync_fetch_and_add(&cpu_synced, 1);
	return 0;
}

SEC("raw_tp/sched_migrate_task")
int BPF_PROG(ir_sched_migrate_task, struct task_struct *p, int dest_cpu)
{
	__u32 cpu = dest_cpu;
	struct ir_cpu *c = bpf_map_lookup_elem(&cpus, &cpu);

	/* another CPU's entry: the only field more than one CPU writes, hence atomic */
	if (c)
		__sync_fetch_and_add(&c->migrations, 1);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(ir_block_rq_issue, struct request *rq)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();

	bpf_map_update_elem(&blk_start, &key, &now, BPF_ANY);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(ir_block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns(), t0, *since;
	struct gendisk *disk;
	struct ir_hist *h;
	__u32 dev, s;

	since = bpf_map_lookup_elem(&blk_start, &key);
	if (!since)
		return 0; /* issued before we attached, or a second partial completion */
	t0 = *since;
	bpf_map_delete_elem(&blk_start, &key);
	if (now <= t0)
		return 0;

	disk = BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0;
	dev = ((__u32)BPF_CORE_READ(disk, major) << IR_MINORBITS) | (__u32)BPF_CORE_READ(disk, first_minor);
	h = bpf_map_lookup_elem(&blk_hist, &dev);
	if (!h) {
		struct ir_hist zero = {};

		bpf_map_update_elem(&blk_hist, &dev, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&blk_hist, &dev);
		if (!h)
			return 0; /* IR_DEV_MAX devices already */
	}
	s = hist_slot(now - t0);
	__sync_fetch_and_add(&h->slots[s], 1);
	return 0;
}
