// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * sched.bpf.c - ebpf.sched's kernel half: task migrations, counted on the destination
 * CPU's entry of cpu.bpf.c's "cpus" map (handed to this object before load). Context
 * switches need no program of ours: cpu.bpf.c's sched_switch counts them in the same
 * entries (switches), and ebpf.sched reads both.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "inforeg.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

IR_CPUS_MAP;

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
