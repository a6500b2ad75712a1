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
 * Nothing here wakes user space: the daemon reads the maps once per tick, the per-CPU
 * state through a read-only mmap of the "cpus" array (see kernel/inforeg_bpf.h for the
 * layout and the sequence counter).
 *
 * Memory ordering: each CPU's entry of "cpus" is written only by that CPU's
 * sched_switch program (with interrupts off), so plain stores suffice for the data.
 * The sequence counter relies on stores becoming visible in program order, which x86
 * (TSO) gives for the JIT's plain stores; the compiler barriers keep clang from
 * reordering them. The reader's side is in daemon/col_bpf.c (cpu_read_open_state).
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

#define TASK_RUNNING_STATE 0

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

/* Wake-up (or preemption) time of each runnable task that has not run yet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} runq_since SEC(".maps");

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
	__u64 us = ns / 1000;
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

SEC("raw_tp/sched_switch")
int BPF_PROG(ir_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 now = bpf_ktime_get_ns();
	__u32 next_pid = BPF_CORE_READ(next, pid);
	__u64 next_mask = 0, live = 0;
	__u32 per = 0;
	struct ir_cpu *c;

	c = bpf_map_lookup_elem(&cpus, &cpu);
	if (!c)
		return 0;

	if (do_task) {
		live = live_mask;
		per = period;
		if (live && next_pid)
			next_mask = task_watch_mask(next) & live;
	}

	c->seq++;
	barrier();
	if (c->last_switch_ns && now > c->last_switch_ns) {
		__u64 delta = now - c->last_switch_ns;

		if (!c->cur_idle)
			c->busy_ns += delta;
		if (c->cur_mask & live)
			task_account(c, c->cur_mask & live, delta);
	}
	c->last_switch_ns = now;
	c->cur_idle = next_pid == 0;
	c->cur_mask = next_mask;
	c->cur_period = per;
	barrier();
	c->seq++;
	c->switches++;

	if (next_mask)
		task_seen(c, next_pid, next_mask, per);

	if (do_runq) {
		__u32 prev_pid = BPF_CORE_READ(prev, pid);
		__u64 *since;

		/* a preempted task is still runnable: its wait for the CPU starts now */
		if (prev_pid && (preempt || prev_state == TASK_RUNNING_STATE))
			bpf_map_update_elem(&runq_since, &prev_pid, &now, BPF_ANY);
		if (next_pid) {
			since = bpf_map_lookup_elem(&runq_since, &next_pid);
			if (since) {
				__u64 t0 = *since;

				bpf_map_delete_elem(&runq_since, &next_pid);
				if (now > t0) {
					c->runq[hist_slot(now - t0)]++;
				}
			}
		}
	}
	return 0;
}

static __always_inline int on_wakeup(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	__u64 now;

	if (!pid)
		return 0;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&runq_since, &pid, &now, BPF_ANY);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(ir_sched_wakeup, struct task_struct *p)
{
	return on_wakeup(p);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(ir_sched_wakeup_new, struct task_struct *p)
{
	return on_wakeup(p);
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
