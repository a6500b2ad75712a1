// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * task.bpf.c - ebpf.task's kernel half: which watches a task belongs to (by tgid, by
 * comm, by its cgroup v2 directory or an ancestor's), looked up when it switches in,
 * and how many distinct watched threads ran in each period.
 *
 * Its programs ride on hooks cpu.bpf.c owns (no attach of their own): the daemon puts
 * ir_task_switch in the chain's IR_SLOT_SWITCH_TASK and ir_task_sync in
 * IR_SLOT_SYNC_TASK. Each leaves the masks it found in the CPU's entry (sw_* in struct
 * ir_cpu) and tail-calls on; cpu.bpf.c's body then closes the interval, charges the
 * watches and opens the next interval with NEXT's mask, all under the entry's seqlock
 * (one interval per CPU, one clock read, one writer). The selector maps and the period
 * counter are this object's own; "cpus", "chain" and "watch_ctl" are cpu.bpf.c's,
 * handed over before load. If this object fails to load, the slots stay empty and only
 * ebpf.task is off.
 *
 * CO-RE: a cgroup's ancestors are cgroup->ancestors[] (pointers) since Linux 6.1
 * (commit 7f203bc89eb6, "cgroup: Replace cgroup->ancestor_ids[] with ->ancestors[]") and
 * cgroup->ancestor_ids[] (the ids) before: the one that exists is chosen at load with
 * bpf_core_field_exists() on a "___pre61" flavour of struct cgroup, as libbpf-tools
 * does, so neither kernel fails the relocation. (Older differences, such as the kernfs
 * id before 5.5, are below the 5.11 every object needs for bpf_get_current_task_btf().)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "inforeg.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

IR_CPUS_MAP;
IR_CHAIN_MAP;
IR_WATCH_CTL_MAP;

struct comm_key {
	char c[16];
};

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

/* Before 6.1: the ids of a cgroup's ancestors, by level. */
struct cgroup___pre61 {
	int level;
	__u64 ancestor_ids[];
} __attribute__((preserve_access_index));

/* The v2 cgroup id (kernfs node id) of CG's ancestor at LEVEL (LEVEL <= CG's level). */
static __always_inline __u64 cgroup_ancestor_id(struct cgroup *cg, int level)
{
	struct cgroup___pre61 *old = (void *)cg;
	struct cgroup *anc = NULL;
	__u64 id = 0;

	if (!bpf_core_field_exists(cg->ancestors)) {
		bpf_core_read(&id, sizeof(id), &old->ancestor_ids[level]);
		return id;
	}
	bpf_core_read(&anc, sizeof(anc), &cg->ancestors[level]);
	if (!anc)
		return 0;
	return BPF_CORE_READ(anc, kn, id);
}

/* Watch slots task T belongs to: by tgid, by comm, by its v2 cgroup or an ancestor. */
static __always_inline __u64 task_watch_mask(struct task_struct *t, const struct ir_watch_ctl *w)
{
	__u64 mask = 0, *m;

	if (w->has_pid) {
		__u32 tgid = BPF_CORE_READ(t, tgid);

		m = bpf_map_lookup_elem(&watch_pid, &tgid);
		if (m)
			mask |= *m;
	}
	if (w->has_comm) {
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
	if (w->cg_levels) {
		struct cgroup *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp);
		int level = BPF_CORE_READ(cg, level);
		__u32 want = w->cg_levels;

		for (int l = 0; l < IR_CG_LEVEL_MAX; l++) {
			__u64 id;

			if (l > level)
				break;
			if (!(want & (1u << l)))
				continue;
			id = cgroup_ancestor_id(cg, l);
			if (!id)
				continue;
			m = bpf_map_lookup_elem(&watch_cgrp, &id);
			if (m)
				mask |= *m;
		}
	}
	return mask;
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
 * IR_SLOT_SWITCH_TASK. With no watch live it only goes on. Otherwise it looks up NEXT's
 * watches (and PREV's, when PREV is not the task the entry names: an unreported switch,
 * whose interval cpu.bpf.c charges to PREV) and counts NEXT once per period. NEXT and
 * PREV are read as the core reads them (the run queue's curr, the current task), so both
 * programs agree on who they are.
 */
SEC("raw_tp")
int BPF_PROG(ir_task_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0, next_pid, prev_pid;
	struct task_struct *cur = bpf_get_current_task_btf(); /* still PREV */
	struct ir_watch_ctl *w = bpf_map_lookup_elem(&watch_ctl, &zero);
	__u64 live, next_mask = 0, prev_mask = 0;
	struct ir_cpu *c;
	struct rq *rq;
	__u32 per;

	/* no watch: straight on (one load of the mmapped control word) */
	if (!w || !(live = w->live_mask))
		goto next;
	c = bpf_map_lookup_elem(&cpus, &cpu);
	if (!c)
		goto next;
	per = w->period;
	rq = this_rq(cur);
	if (rq && (__u64)rq->curr == (__u64)next) {
		struct task_struct *n = rq->curr;

		next_pid = n != rq->idle ? n->pid : 0;
		prev_pid = cur->pid;
		if (next_pid)
			next_mask = task_watch_mask(n, w) & live;
	} else {
		next_pid = BPF_CORE_READ(next, pid);
		prev_pid = BPF_CORE_READ(prev, pid);
		if (next_pid)
			next_mask = task_watch_mask(next, w) & live;
	}
	if (c->last_clk && prev_pid != c->cur_pid && prev_pid)
		prev_mask = task_watch_mask(cur, w) & live;
	c->sw_next_mask = next_mask;
	c->sw_prev_mask = prev_mask;
	c->sw_live = live;
	c->sw_per = per;
	c->sw_valid = 1;
	if (next_mask)
		task_seen(c, next_pid, next_mask, per);
next:
	bpf_tail_call_static(ctx, &chain, IR_SLOT_SWITCH_RUNQ);
	bpf_tail_call_static(ctx, &chain, IR_SLOT_SWITCH_CORE);
	return 0;
}

/* IR_SLOT_SYNC_TASK: the running task's watches, for cpu.bpf.c's cpu_sync body. */
SEC("raw_tp")
int ir_task_sync(void *ctx)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0;
	struct ir_watch_ctl *w = bpf_map_lookup_elem(&watch_ctl, &zero);
	struct ir_cpu *c = bpf_map_lookup_elem(&cpus, &cpu);
	__u64 live;

	if (!w || !c)
		goto next;
	live = w->live_mask;
	c->sw_next_mask = live && cur->pid ? task_watch_mask(cur, w) & live : 0;
	c->sw_prev_mask = 0;
	c->sw_live = live;
	c->sw_per = w->period;
	c->sw_valid = 1;
next:
	bpf_tail_call_static(ctx, &chain, IR_SLOT_SYNC_CORE);
	return 0;
}
