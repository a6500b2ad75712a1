// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * blkio.bpf.c - ebpf.blkio's kernel half: block I/O latency per whole disk, from
 * block_rq_issue to block_rq_complete, into one log2 histogram per disk. A standalone
 * object (no map shared with the scheduler collectors), so it loads and fails alone.
 *
 * Requests in flight are timed in blk_start, a hash of IR_BLK_INFLIGHT_MAX entries keyed
 * by the request's address. A request issued while it is full is not timed and is
 * counted in blk_untracked (disk.io_latency.untracked), so a deep queue that outgrows it
 * shows as a count instead of silently missing latencies: an LRU map (as before) evicted
 * the oldest request in flight without a trace. Requests are preallocated per tag and
 * reused, so an entry whose completion was never seen is overwritten at the struct's
 * next issue; the daemon deletes entries older than a minute should the map still fill
 * (a device removed with requests in flight).
 *
 * CO-RE: a request's disk is rq->q->disk since the rq_disk field went (commit
 * f3fa33acca9f, "block: remove the ->rq_disk field in struct request"); before, it is
 * rq->rq_disk. The "___x" flavour below and bpf_core_field_exists() pick the one the
 * kernel has at load, as libbpf-tools' biolatency does. block_rq_issue lost its
 * request_queue argument in 5.11; the kernel version picks the argument, as there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "inforeg.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

extern int LINUX_KERNEL_VERSION __kconfig;

/* Requests issued while blk_start was full: not timed (read by the daemon, .bss mmap). */
volatile __u64 blk_untracked;

/* Block requests in flight: request address -> issue time (CLOCK_MONOTONIC ns).
 * max_entries is set before load (IR_BLK_INFLIGHT_MAX). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IR_BLK_INFLIGHT_MAX);
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

struct request_queue___x {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

struct request___x {
	struct request_queue___x *q;
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *request_disk(void *request)
{
	struct request___x *r = request;

	if (bpf_core_field_exists(r->rq_disk))
		return BPF_CORE_READ(r, rq_disk);
	return BPF_CORE_READ(r, q, disk);
}

SEC("raw_tp/block_rq_issue")
int ir_block_rq_issue(__u64 *ctx)
{
	/* 5.11 dropped the request_queue argument in front of the request */
	__u64 key = LINUX_KERNEL_VERSION < KERNEL_VERSION(5, 11, 0) ? ctx[1] : ctx[0];
	__u64 now = bpf_ktime_get_ns();

	/* -E2BIG: IR_BLK_INFLIGHT_MAX others in flight (a re-issue of one replaces it) */
	if (bpf_map_update_elem(&blk_start, &key, &now, BPF_ANY) != 0)
		__sync_fetch_and_add(&blk_untracked, 1);
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
		return 0; /* issued before we attached or untracked, or a second partial completion */
	t0 = *since;
	bpf_map_delete_elem(&blk_start, &key);
	if (now <= t0)
		return 0;

	disk = request_disk(rq);
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
