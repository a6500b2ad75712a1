// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench_switch.bpf.c - the same small sched_switch body attached two ways, for
 * bench/bpf_tpcost: as a raw tracepoint (arguments are the kernel's pointers, read with
 * CO-RE) and as a classic tracepoint (the kernel first formats the event record, then
 * the program reads the record's fields). The body is the exact-CPU bookkeeping of
 * inforeg.bpf.c: per-CPU busy time and the last switch time. sw_empty does nothing: what
 * any program on sched_switch costs (the tracepoint's dispatch), the floor for the rest.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct cpu_acct {
	__u64 busy_ns, last_ns, idle, switches;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_acct);
} acct SEC(".maps");

static __always_inline void account(__u32 next_pid)
{
	__u32 zero = 0;
	__u64 now = bpf_ktime_get_ns();
	struct cpu_acct *a = bpf_map_lookup_elem(&acct, &zero);

	if (!a)
		return;
	if (a->last_ns && !a->idle)
		a->busy_ns += now - a->last_ns;
	a->last_ns = now;
	a->idle = next_pid == 0;
	a->switches++;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sw_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	account(BPF_CORE_READ(next, pid));
	return 0;
}

SEC("tp/sched/sched_switch")
int sw_tp(struct trace_event_raw_sched_switch *ctx)
{
	account((__u32)ctx->next_pid);
	return 0;
}

SEC("raw_tp/sched_switch")
int sw_empty(void *ctx)
{
	return 0;
}
