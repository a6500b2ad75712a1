/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * inforeg.bpf.h - what the kernel/NAME.bpf.c objects share on the BPF side: the maps more
 * than one object uses, the per-CPU seqlock, the log2 histogram slot, and the way to the
 * run queue. Each object is built, loaded and failed alone (daemon/ebpf/loader.c); a map
 * declared here through one of the IR_*_MAP macros is created by the object that owns it
 * (named below) and handed to the others with bpf_map__reuse_fd() before they load, so
 * every object reads and writes the same kernel map.
 *
 * Kernel-version workarounds live here and in the object that needs them, each saying
 * why (CO-RE "___flavour" structs and bpf_core_field_exists(), as libbpf-tools does).
 */
#ifndef INFOREG_BPF_SIDE_H
#define INFOREG_BPF_SIDE_H

#include "inforeg_bpf.h"

/*
 * The per-CPU entries (struct ir_cpu), owned by cpu.bpf.c, shared with runq.bpf.c,
 * task.bpf.c and sched.bpf.c; mmapped read-only by the daemon. max_entries is set to the
 * number of possible CPUs before load.
 */
#define IR_CPUS_MAP                                                                                          \
	struct {                                                                                             \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                            \
		__uint(map_flags, BPF_F_MMAPABLE);                                                           \
		__uint(max_entries, 1);                                                                      \
		__type(key, __u32);                                                                          \
		__type(value, struct ir_cpu);                                                                \
	} cpus SEC(".maps")

/* The tail-call chain of the shared hooks (IR_SLOT_*), owned by cpu.bpf.c. */
#define IR_CHAIN_MAP                                                                                         \
	struct {                                                                                             \
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);                                                       \
		__uint(max_entries, IR_SLOTS);                                                               \
		__type(key, __u32);                                                                          \
		__type(value, __u32);                                                                        \
	} chain SEC(".maps")

/* Watch control (struct ir_watch_ctl), owned by cpu.bpf.c (its cpu_idle reads live_mask),
 * written by the daemon through an mmap, read by task.bpf.c. */
#define IR_WATCH_CTL_MAP                                                                                     \
	struct {                                                                                             \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                            \
		__uint(map_flags, BPF_F_MMAPABLE);                                                           \
		__uint(max_entries, 1);                                                                      \
		__type(key, __u32);                                                                          \
		__type(value, struct ir_watch_ctl);                                                          \
	} watch_ctl SEC(".maps")

#define barrier() asm volatile("" ::: "memory")

/*
 * The per-CPU seqlock's writer side (the reader is cbpf_read_open() in
 * daemon/ebpf/loader.c, acquire loads of seq, the fields, seq). An entry's seq-protected
 * fields have one writer at a time: the programs of the CPU the entry belongs to, which
 * run with interrupts or preemption off and never interleave. What the writer must
 * guarantee is the order in which other CPUs see its stores: seq odd before any field,
 * every field before seq even.
 *
 * - x86 (TSO): stores become visible in program order, and the JIT emits plain stores in
 *   the order of the BPF program; the compiler barriers keep clang from reordering them.
 * - Every other architecture: a BPF atomic with BPF_FETCH is fully ordered (the JITs emit
 *   LDADDAL or LL/SC with DMB ISH on arm64, AMOADD.D.AQRL on riscv64, as
 *   Documentation/bpf's memory model asks), which gives both smp_wmb()s of the kernel's
 *   write_seqcount_begin/end. The fetched value must be used, or clang emits the
 *   unordered non-fetch form: the empty asm consumes it. Needs -mcpu=v3 (clang) and a
 *   5.12+ kernel, which the Makefile passes for every BPF object.
 * IR_SEQ_FENCED forces the second form on x86 too (tests load it there).
 */
#if defined(__TARGET_ARCH_x86) && !defined(IR_SEQ_FENCED)
#define ir_seq_begin(c)                                                                                      \
	do {                                                                                                 \
		(c)->seq++;                                                                                  \
		barrier();                                                                                   \
	} while (0)
#define ir_seq_end(c)                                                                                        \
	do {                                                                                                 \
		barrier();                                                                                   \
		(c)->seq++;                                                                                  \
	} while (0)
#else
#define ir_seq_fetch_inc(c)                                                                                  \
	do {                                                                                                 \
		__u64 old_ = __sync_fetch_and_add(&(c)->seq, 1);                                             \
		asm volatile("" : : "r"(old_) : "memory");                                                   \
	} while (0)
#define ir_seq_begin(c) ir_seq_fetch_inc(c)
#define ir_seq_end(c)	ir_seq_fetch_inc(c)
#endif

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

/*
 * This CPU's run queue (or NULL), for the sched_switch programs. At sched_switch the
 * current task is still PREV, and every task's CFS run queue (CONFIG_FAIR_GROUP_SCHED:
 * se.cfs_rq->rq; it is kept for tasks of every class, the idle task included) is that of
 * the task's CPU. Through bpf_get_current_task_btf() these are plain loads with a fault
 * fixup (BTF pointers), not bpf_probe_read_kernel() calls. The caller checks rq->curr
 * against NEXT. A kernel without cfs_rq->rq gets NULL (the field test is resolved at
 * load, so the dead branch costs nothing).
 */
static __always_inline struct rq *this_rq(struct task_struct *cur)
{
	if (!bpf_core_field_exists(struct cfs_rq, rq))
		return NULL;
	return cur->se.cfs_rq->rq;
}

#endif /* INFOREG_BPF_SIDE_H */
