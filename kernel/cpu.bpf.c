// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cpu.bpf.c - ebpf.cpu's kernel half, and the switch core the other sched_switch
 * collectors ride on: exact CPU busy time, the per-CPU entries ("cpus") every scheduler
 * collector reads, context switch counts (ebpf.sched reads them), and the charging of
 * closed intervals to watches (ebpf.task finds the masks, this charges them).
 *
 * One program is attached to sched_switch, whatever the collectors: an attached program
 * costs the hook's dispatch (45-60 ns per event in this guest, an empty program's
 * cost), so the collectors that need the same event do not attach their own. This
 * program tail-calls the "chain" slots (kernel/inforeg_bpf.h, IR_SLOT_*) that the
 * daemon filled with task.bpf.c's and runq.bpf.c's programs; each of those goes on to
 * the next slot, and the last, IR_SLOT_SWITCH_CORE, is this file's body. A constant-slot
 * tail call is patched into a direct jump, and an empty slot into a jump over it, so
 * the chain costs a few ns where separate programs cost the dispatch each. A collector
 * whose object fails to load leaves its slot empty; the others go on.
 *
 * Nothing here wakes user space: the daemon reads the maps once per tick, the per-CPU
 * state through a read-only mmap of "cpus" (layout and seqlock: kernel/inforeg_bpf.h
 * and kernel/inforeg.bpf.h).
 *
 * Memory ordering: each CPU's entry of "cpus" is written only by that CPU's programs
 * (sched_switch and the chain, and rarely cpu_idle and cpu_sync; each runs on that CPU
 * with interrupts or preemption off, so they never interleave), so plain stores suffice
 * for the data; the seq counter's ordering is ir_seq_begin()/ir_seq_end()
 * (kernel/inforeg.bpf.h), the reader is cbpf_read_open() in daemon/ebpf/loader.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "inforeg.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by sched_switch when it finds a switch it did not report; read by the daemon,
 * which then attaches ir_cpu_idle (a relaxed flag: one tick late costs nothing). */
volatile __u32 switch_unreported;

/* Entries ir_cpu_sync started, gave a new watch mask or repaired (for tests). */
volatile __u64 cpu_synced;

IR_CPUS_MAP;
IR_CHAIN_MAP;
IR_WATCH_CTL_MAP;

/* What task.bpf.c left in the entry for this event (and clears it): the watch state. */
struct sw_in {
	__u64 next_mask, prev_mask, live;
	__u32 per;
};

static __always_inline void take_sw(struct ir_cpu *c, struct sw_in *in)
{
	if (c->sw_valid) {
		in->next_mask = c->sw_next_mask;
		in->prev_mask = c->sw_prev_mask;
		in->live = c->sw_live;
		in->per = c->sw_per;
		c->sw_valid = 0;
	} else {
		in->next_mask = in->prev_mask = in->live = 0;
		in->per = 0;
	}
}

/* Adds DELTA ns to every watch slot in MASK on this CPU. */
static __always_inline void task_account(struct ir_cpu *c, __u64 mask, __u64 delta)
{
	for (int i = 0; i < IR_WATCH_MAX && mask; i++, mask >>= 1)
		if (mask & 1)
			c->task_ns[i] += delta;
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
 * (cbpf_read_open): seq odd, the fields, seq even, ordered by ir_seq_begin/ir_seq_end.
 */
static __always_inline void switch_entry(struct ir_cpu *c, __u64 clk, __u64 mono, __u64 live, int busy,
					 __u64 charge, __u32 next_pid, __u32 next_idle, __u64 next_mask,
					 __u32 per)
{
	ir_seq_begin(c);
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
	ir_seq_end(c);
	c->last_clk = clk;
	c->cur_pid = next_pid;
}

/*
 * The switch core, at the end of the chain: on this kernel a handful of plain loads of
 * scheduler state and the CPU's own array entry; one real helper call
 * (bpf_get_current_task_btf(), a few instructions; the CPU id and the array lookup are
 * inlined by the verifier), no map update, no lock; CLOCK_MONOTONIC (about 60 ns in a
 * KVM guest) once per IR_CAL_NS at most.
 *
 * Its clock is the run queue's (rq->clock, sched_clock ns), which __schedule() has just
 * updated; last_switch_ns, which the daemon compares with CLOCK_MONOTONIC, is that plus
 * an offset recalibrated about every IR_CAL_NS (the rate of the two clocks differs by
 * parts per million at most, and the offset carries the time from the clock update
 * to this tracepoint, about a microsecond), while busy and task time add up rq clock
 * deltas, exact.
 */
static __always_inline int switch_core(struct task_struct *prev, struct task_struct *next)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 clk, mono;
	__u32 next_idle, next_pid, prev_pid, unrep;
	struct task_struct *cur = bpf_get_current_task_btf(); /* still PREV */
	struct sw_in in;
	struct ir_cpu *c;
	struct rq *rq;

	c = bpf_map_lookup_elem(&cpus, &cpu);
	if (!c)
		return 0;
	take_sw(c, &in);
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
	 * charged as what ran at its end: PREV, idle or busy, and to PREV's watches (which
	 * task.bpf.c looked up, seeing the same PREV). The switches this kernel drops are
	 * from a thread that ran for microseconds, so that is close; charging the interval to
	 * no watch lost a watched task's whole run since its switch-in (up to 160 ms in a
	 * test under load).
	 */
	unrep = c->last_clk && prev_pid != c->cur_pid;

	switch_entry(c, clk, mono, in.live, unrep ? prev_pid != 0 : !c->cur_idle,
		     unrep ? in.prev_mask : c->cur_mask, next_pid, next_idle, next_idle ? 0 : in.next_mask,
		     in.per);
	c->switches++;
	if (unrep) {
		c->unreported++;
		switch_unreported = 1;
	}
	return 0;
}

/*
 * The attached program: the collectors' slots, then the core (or the core at once). The
 * task slot is only taken while some watch is live (one load of the mmapped control
 * word): the usual node has none, and each link of the chain costs its own prologue.
 */
SEC("raw_tp/sched_switch")
int BPF_PROG(ir_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 zero = 0;
	struct ir_watch_ctl *w = bpf_map_lookup_elem(&watch_ctl, &zero);

	if (w && w->live_mask)
		bpf_tail_call_static(ctx, &chain, IR_SLOT_SWITCH_TASK);
	bpf_tail_call_static(ctx, &chain, IR_SLOT_SWITCH_RUNQ);
	return switch_core(prev, next);
}

/* IR_SLOT_SWITCH_CORE: where task.bpf.c's and runq.bpf.c's programs end. */
SEC("raw_tp")
int BPF_PROG(ir_switch_core, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return switch_core(prev, next);
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
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0;
	struct ir_watch_ctl *w;
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
	w = bpf_map_lookup_elem(&watch_ctl, &zero);
	if (w)
		live = w->live_mask;
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
 * The running task's watch mask comes from task.bpf.c's IR_SLOT_SYNC_TASK program, which
 * ends in IR_SLOT_SYNC_CORE (this body); without it the mask is 0.
 *
 * Runs on the CPU whose entry it writes, never interleaved with that CPU's sched_switch
 * or cpu_idle (interrupts or preemption off), and writes through switch_entry().
 * Attached to nothing: the section names no tracepoint.
 */
static __always_inline int sync_core(void)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 cpu = bpf_get_smp_processor_id(), pid = cur->pid, idle = pid == 0; /* the idle task */
	__u64 mono, clk, mask;
	struct sw_in in;
	struct ir_cpu *c;

	c = bpf_map_lookup_elem(&cpus, &cpu);
	if (!c)
		return 0;
	take_sw(c, &in);
	mask = idle ? 0 : in.next_mask;
	mono = bpf_ktime_get_ns();
	if (!c->last_clk) {
		/* nothing to close: the entry starts now, on CLOCK_MONOTONIC */
		c->clk_mono = 1;
		switch_entry(c, mono, mono, in.live, 0, 0, pid, idle, mask, in.per);
		__sync_fetch_and_add(&cpu_synced, 1);
		return 0;
	}
	/* the entry names this task, which is idle or matches the same watches: nothing to do */
	if (c->cur_pid == pid && (c->cur_idle || mask == (c->cur_mask & in.live)))
		return 0;
	clk = clk_at(c, mono);
	if (c->cur_pid == pid) {
		/* a watch went live: close the interval as before, reopen it with the new mask */
		switch_entry(c, clk, mono, in.live, 1, c->cur_mask, pid, 0, mask, c->cur_period);
	} else {
		/*
		 * The switch to the task running now was not reported. Charged as sched_switch
		 * charges one it finds: as what ran at the end of the interval, the task running
		 * now (idle or busy, and its watches). Found here, the task's time counts from
		 * this tick on, not from its next reported switch, which may be far off.
		 */
		switch_entry(c, clk, mono, in.live, !idle, mask, pid, idle, mask, in.per);
		c->unreported++;
		switch_unreported = 1;
	}
	__sync_fetch_and_add(&cpu_synced, 1);
	return 0;
}

SEC("raw_tp")
int ir_cpu_sync(void *ctx)
{
	bpf_tail_call_static(ctx, &chain, IR_SLOT_SYNC_TASK);
	return sync_core();
}

/* IR_SLOT_SYNC_CORE: where task.bpf.c's sync program ends. */
SEC("raw_tp")
int ir_sync_core(void *ctx)
{
	return sync_core();
}
