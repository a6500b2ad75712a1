/* SPDX-License-Identifier: MIT */
/*
 * inforeg_layout.h - the shared-memory ABI of an inforeg registry object.
 *
 * One POSIX shared-memory object (/dev/shm/NAME) holds, at fixed offsets given in
 * its header:
 *
 *   +-----------------------+ 0
 *   | inforeg_shm_header    |  magic, layout version, sizes and offsets, head
 *   +-----------------------+ dir_offset
 *   | inforeg_series_desc[] |  series_count entries: name{labels}, unit, kind
 *   +-----------------------+ doc_offset
 *   | inforeg_doc[]         |  INFOREG_DOC_COUNT seqlocked JSON documents
 *   +-----------------------+ ring_offset
 *   | slot[capacity]        |  inforeg_slot_header + series_count uint64 words
 *   +-----------------------+ total_size
 *
 * There are no pointers in it: every reference is an offset from the start of the
 * object. The layout is versioned by INFOREG_LAYOUT_VERSION; a reader refuses an
 * object whose magic or major layout version differs from its own.
 *
 * Protocol (single writer, any number of readers, nobody locks, the writer never
 * waits and never reads reader state) is documented in shm/ring.h, which is the only
 * code that touches the atomics below. Values are IEEE-754 doubles stored as their
 * 64-bit pattern so they can be copied with (relaxed/acquire) atomic word accesses.
 *
 * Values and their state: a value that is a number is fresh. A NaN means there is no
 * number, and its bit pattern says why, so the slot layout never changes with a
 * series' health: 0x7ff8495200000001 (sign bit ignored) is STALE (the source's last
 * value outlived its time-to-live), 0x7ff8495200000002 is FAILED (the source failed:
 * a rule's error, a timeout, unparsable output), any other NaN is UNKNOWN (no value
 * yet). inforeg.h decodes them: inforeg_value_state(), INFOREG_NAN_*_BITS.
 */
#ifndef INFOREG_LAYOUT_H
#define INFOREG_LAYOUT_H

#include <stdint.h>

#ifdef __cplusplus
#include <atomic>
#define INFOREG_ATOMIC(t) std::atomic<t>
#else
#include <stdatomic.h>
#define INFOREG_ATOMIC(t) _Atomic t
#endif

#define INFOREG_MAGIC	       0x31474552464e4926ULL /* "&INFREG1" little-endian */
#define INFOREG_LAYOUT_VERSION 1u

#define INFOREG_NAME_MAX 128 /* series name with labels, NUL included */
#define INFOREG_UNIT_MAX 16
#define INFOREG_HELP_MAX 104

/* Header flags (inforeg_shm_header.flags). */
#define INFOREG_F_RETIRED 1u /* a newer object replaced this one, or the writer exited */

enum inforeg_kind {
	INFOREG_KIND_GAUGE = 0,	  /* instantaneous value (percent, bytes, load...) */
	INFOREG_KIND_RATE = 1,	  /* per-second rate the writer derived from a counter */
	INFOREG_KIND_COUNTER = 2, /* monotonically increasing cumulative count */
};

/* Read-mostly JSON documents published beside the ring (for the REST server, the CLI). */
enum inforeg_doc_id {
	INFOREG_DOC_NODE = 0,	/* node inventory: hostname, kernel, CPUs, memory... */
	INFOREG_DOC_STATUS = 1, /* collector health, eBPF state, ring state */
	INFOREG_DOC_COUNT = 2,
};
#define INFOREG_DOC_MAX 65536 /* bytes of one document, NUL included */

struct inforeg_series_desc {
	char name[INFOREG_NAME_MAX]; /* "cpu.usage{cpu=\"3\"}" */
	char unit[INFOREG_UNIT_MAX]; /* "percent", "bytes", "bytes/s", "us", ... */
	uint32_t kind;		     /* enum inforeg_kind */
	uint32_t flags;		     /* reserved, 0 */
	char help[INFOREG_HELP_MAX]; /* one line, for Prometheus HELP */
};
_Static_assert(sizeof(struct inforeg_series_desc) == 256, "series_desc ABI");

struct inforeg_doc {
	INFOREG_ATOMIC(uint64_t) seq; /* seqlock: odd while being written */
	uint32_t len;		      /* bytes in data, NUL excluded */
	uint32_t pad;
	uint64_t update_realtime_ns;
	uint64_t words[INFOREG_DOC_MAX / 8]; /* the document text, NUL-terminated */
};

/*
 * One ring slot. A slot holding position p carries seq == 2*p + 2 (mod 2^64) once
 * complete and 2*p + 1 while the writer fills it; values[] has series_count words.
 */
struct inforeg_slot_header {
	INFOREG_ATOMIC(uint64_t) seq;
	INFOREG_ATOMIC(uint64_t) realtime_ns;  /* CLOCK_REALTIME at the sample */
	INFOREG_ATOMIC(uint64_t) monotonic_ns; /* CLOCK_MONOTONIC at the sample */
	uint64_t reserved;
	/* INFOREG_ATOMIC(uint64_t) values[series_count]; */
};

struct inforeg_shm_header {
	/* --- immutable after creation (written before the object is renamed into place) --- */
	uint64_t magic;		 /* INFOREG_MAGIC */
	uint32_t layout_version; /* INFOREG_LAYOUT_VERSION */
	uint32_t header_size;	 /* sizeof(struct inforeg_shm_header) */
	uint64_t generation;	 /* random, new at each daemon start */
	uint64_t start_realtime_ns;
	uint64_t start_monotonic_ns;
	uint64_t period_ns; /* sampling period */
	uint32_t writer_pid;
	uint32_t series_count;
	uint32_t capacity;  /* slots, a power of two */
	uint32_t slot_size; /* bytes per slot, a multiple of 64 */
	uint64_t dir_offset;
	uint64_t doc_offset;
	uint64_t ring_offset;
	uint64_t total_size;
	uint64_t layout_serial; /* bumps each time this daemon republishes a new series set */
	uint64_t first_pos;	/* position of the first sample ever written (normally 0) */
	uint8_t reserved0[144];

	/* --- written by the writer at every publish; its own cache line --- */
	INFOREG_ATOMIC(uint64_t) head;	/* next position to write; latest complete is head-1 */
	INFOREG_ATOMIC(uint32_t) flags; /* INFOREG_F_* */
	uint32_t pad1;
	INFOREG_ATOMIC(uint64_t) dropped; /* ticks the writer could not sample in time */
	uint8_t reserved1[40];

	/* --- futex word, its own cache line: bumped and woken at every publish/retire --- */
	INFOREG_ATOMIC(uint32_t) futex;
	uint8_t reserved2[60];
};
_Static_assert(sizeof(struct inforeg_shm_header) == 384, "header ABI");

#endif /* INFOREG_LAYOUT_H */
