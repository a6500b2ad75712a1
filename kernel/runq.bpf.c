// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * runq.bpf.c - ebpf.runq's kernel half: run-queue latency, the time a runnable task
 * waits for a CPU, into a log2 histogram per CPU (the runq[] of the CPU's entry in
 * cpu.bpf.c's "cpus" map, handed to this object before load).
 *
 * It needs no wake-up program: the scheduler's own bookkeeping (CONFIG_SCHED_INFO)
 * stamps next->sched_info.last_queued with the rq clock when a task is queued (woken,
 * new, or preempted while runnable) and clears it when the task gets the CPU, right
 * after sched_switch; rq->clock minus the stamp is the wait the kernel adds to the task's
 * run_delay (/proc/PID/schedstat). rq->curr is already NEXT at the tracepoint.
 *
 * ir_runq_switch rides on cpu.bpf.c's sched_switch program (chain slot
 * IR_SLOT_SWITCH_RUNQ) and goes on to the core. Where cfs_rq->rq or last_queued does not
 * exist (CONFIG_FAIR_GROUP_SCHED or CONFIG_SCHED_INFO off) the daemon does not load this
 * object and says so (runq_unsupported() in daemon/ebpf/loader.c); the field tests here
 * keep the relocation from failing should it be loaded anyway.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "inforeg.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

IR_CPUS_MAP;
IR_CHAIN_MAP;

SEC("raw_tp")
int BPF_PROG(ir_runq_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct task_struct *cur = bpf_get_current_task_btf(); /* still PREV */
	__u32 cpu = bpf_get_smp_processor_id();
	struct ir_cpu *c = bpf_map_lookup_elem(&cpus, &cpu);
	struct rq *rq = this_rq(cur);

	/* rq->curr is NEXT only on the run queue switching to it: this CPU's */
	if (c && rq && bpf_core_field_exists(struct sched_info, last_queued) &&
	    (__u64)rq->curr == (__u64)next) {
		struct task_struct *n = rq->curr;
		__u64 clk = rq->clock, lq;

		if (n != rq->idle) {
			lq = n->sched_info.last_queued;
			if (lq && clk >= lq)
				c->runq[hist_slot(clk - lq)]++;
		}
	}
	bpf_tail_call_static(ctx, &chain, IR_SLOT_SWITCH_CORE);
	return 0;
}
