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
 * object. This header is valid C11 and C++17 (the words other processes change are
 * _Atomic / std::atomic; the static assertions below pin every offset).
 *
 * Versions. layout_version is the MAJOR version: a reader refuses an object whose
 * magic or major version differs from its own. layout_minor counts compatible
 * additions within a major version (fields taken from reserved space, meanings of
 * flags added): a reader accepts any minor version, uses a field introduced in minor
 * version m only when the object's layout_minor >= m, and accepts a header_size
 * larger than the struct it knows (a later minor version may append to the header).
 *   minor 0: the original layout.
 *   minor 1: heartbeat_ns/heartbeat (writer liveness), writer_pidns, writer_uid,
 *            sequence numbers continued across replacements (first_pos).
 *
 * Values. Slot word i belongs to directory entry i (the same index: the directory is
 * immutable for the object's life, so name -> index is looked up once). A value is an
 * IEEE-754 double stored as its 64-bit pattern (copied with atomic word accesses).
 * NaN means "no value in this sample": the source could not be read or failed this
 * tick, a rate or share has no previous reading yet (the first sample after start or
 * after a collector was (re)loaded), a device that vanished, or - in history carried
 * over from a replaced object - a series that did not exist in that object. The NaN's
 * payload says which kind of "no value" it is (below).
 *
 * Sequence numbers. A sample's position (its "seq") is a free-running uint64. Within
 * one writer's life (one generation) positions only grow and never repeat: an object
 * that replaces another of the same generation starts where it ended (its first_pos
 * is the first position it holds, usually copied history, and head continues the
 * predecessor's head) and carries the predecessor's ring history for the series it
 * still has (by name; NaN for new ones). A new generation (writer restart) starts its
 * own sequence. So (generation, seq) names a sample for good.
 *
 * Replacement (a new series set, ring size or period, or a writer restart). The writer
 * builds the complete new object under a temporary name (NAME.new.PID, space reserved
 * with fallocate), renames it over NAME, and only then sets INFOREG_F_RETIRED in the
 * old object and wakes its futex. A reader notices a replacement by the retired flag
 * (it re-opens NAME at once and finds the successor already there) or, for a writer
 * killed without retiring its object, by a new inode at NAME / a new generation. A
 * writer that exits normally retires its object and unlinks NAME; readers of a retired
 * object with no successor keep its data (the object is never truncated).
 *
 * Liveness (minor >= 1). The writer stores CLOCK_MONOTONIC into heartbeat_ns and bumps
 * heartbeat at every tick. A reader tells the writer is gone when the object is
 * retired, or (same PID namespace: writer_pidns equals the inode of the reader's
 * /proc/self/ns/pid) when kill(writer_pid, 0) fails with ESRCH or /proc/PID/stat names
 * a zombie, or (another PID namespace) when heartbeat_ns is older than 3 periods.
 * libinforeg does this in inforeg_writer_alive().
 *
 * Ownership. The object and NAME.lock are owned by the writer's user (writer_uid);
 * libinforeg refuses an object owned by anyone but root, the reader's own effective
 * uid or the uid named in $INFOREG_SHM_UID, and validates every offset and size
 * before use (ring_check in shm/ring.c), so a hostile object cannot make it fault.
 *
 * Protocol (single writer, any number of readers, nobody locks, the writer never
 * waits and never reads reader state) is documented in shm/ring.h: the barrier table
 * W1..W6 / R1..R5 there is what every atomic access in this file pairs with.
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

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#include <atomic>
#define INFOREG_ATOMIC(t)		 std::atomic<t>
#define INFOREG_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
/* the accessors the inline fast path uses, spelled for C++ and C */
#define INFOREG_LOAD_ACQUIRE(p) ((p)->load(std::memory_order_acquire))
#define INFOREG_LOAD_RELAXED(p) ((p)->load(std::memory_order_relaxed))
#else
#include <stdatomic.h>
#define INFOREG_ATOMIC(t)		 _Atomic t
#define INFOREG_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define INFOREG_LOAD_ACQUIRE(p)		 atomic_load_explicit((p), memory_order_acquire)
#define INFOREG_LOAD_RELAXED(p)		 atomic_load_explicit((p), memory_order_relaxed)
#endif

#define INFOREG_MAGIC		      0x31474552464e4926ULL /* "&INFREG1" little-endian */
#define INFOREG_LAYOUT_VERSION	      1u		    /* major: readers refuse another */
#define INFOREG_LAYOUT_MINOR	      1u		    /* compatible additions, see above */
#define INFOREG_LAYOUT_MINOR_LIVENESS 1u		    /* heartbeat_ns, writer_pidns, writer_uid */

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

/* Immutable for the object's life (written before the object is renamed into place). */
struct inforeg_series_desc {
	char name[INFOREG_NAME_MAX]; /* "cpu.usage{cpu=\"3\"}" */
	char unit[INFOREG_UNIT_MAX]; /* "percent", "bytes", "bytes/s", "us", ... */
	uint32_t kind;		     /* enum inforeg_kind */
	uint32_t flags;		     /* reserved, 0 */
	char help[INFOREG_HELP_MAX]; /* one line, for Prometheus HELP */
};

/*
 * A document: a seqlock (seq odd while the writer changes it) over its length, time and
 * text. Every field is read while the writer may be writing it, hence atomic; a reader
 * copies len, the time and words[], then accepts the copy only if seq was even and
 * unchanged (ring.h, "Documents").
 */
struct inforeg_doc {
	INFOREG_ATOMIC(uint64_t) seq;
	INFOREG_ATOMIC(uint32_t) len; /* bytes in the text, NUL excluded; < INFOREG_DOC_MAX */
	uint32_t pad;
	INFOREG_ATOMIC(uint64_t) update_realtime_ns;
	INFOREG_ATOMIC(uint64_t) words[INFOREG_DOC_MAX / 8]; /* the text, NUL-terminated */
};

/*
 * One ring slot. A slot holding position p carries seq == 2*p + 2 (mod 2^64) once
 * complete and 2*p + 1 while the writer fills it; values[] has series_count words,
 * value i for directory entry i.
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
	uint32_t layout_version; /* major: INFOREG_LAYOUT_VERSION */
	uint32_t header_size;	 /* >= sizeof(struct inforeg_shm_header) */
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
	uint64_t first_pos;	/* position of the first sample this object holds (see above) */
	uint32_t layout_minor;	/* minor >= 1: INFOREG_LAYOUT_MINOR of the writer */
	uint32_t writer_uid;	/* minor >= 1: the writer's effective uid */
	uint64_t writer_pidns;	/* minor >= 1: inode of the writer's /proc/self/ns/pid, 0 unknown */
	uint8_t reserved0[128];

	/* --- written by the writer at every publish; its own cache line --- */
	INFOREG_ATOMIC(uint64_t) head;	/* next position to write; latest complete is head-1 */
	INFOREG_ATOMIC(uint32_t) flags; /* INFOREG_F_* */
	uint32_t pad1;
	INFOREG_ATOMIC(uint64_t) dropped;      /* ticks the writer could not sample in time */
	INFOREG_ATOMIC(uint64_t) heartbeat_ns; /* minor >= 1: CLOCK_MONOTONIC of the last tick */
	INFOREG_ATOMIC(uint64_t) heartbeat;    /* minor >= 1: ticks since the object was published */
	uint8_t reserved1[24];

	/* --- futex word, its own cache line: bumped and woken at every publish/retire --- */
	INFOREG_ATOMIC(uint32_t) futex;
	uint8_t reserved2[60];
};

/* The ABI, pinned: every field's offset and every struct's size. */
#define INFOREG_ASSERT_OFF(type, field, off)                                                                 \
	INFOREG_STATIC_ASSERT(offsetof(struct type, field) == (off), #type "." #field " offset")
INFOREG_STATIC_ASSERT(sizeof(struct inforeg_series_desc) == 256, "series_desc size");
INFOREG_ASSERT_OFF(inforeg_series_desc, name, 0);
INFOREG_ASSERT_OFF(inforeg_series_desc, unit, 128);
INFOREG_ASSERT_OFF(inforeg_series_desc, kind, 144);
INFOREG_ASSERT_OFF(inforeg_series_desc, flags, 148);
INFOREG_ASSERT_OFF(inforeg_series_desc, help, 152);

INFOREG_STATIC_ASSERT(sizeof(struct inforeg_doc) == 24 + INFOREG_DOC_MAX, "doc size");
INFOREG_ASSERT_OFF(inforeg_doc, seq, 0);
INFOREG_ASSERT_OFF(inforeg_doc, len, 8);
INFOREG_ASSERT_OFF(inforeg_doc, pad, 12);
INFOREG_ASSERT_OFF(inforeg_doc, update_realtime_ns, 16);
INFOREG_ASSERT_OFF(inforeg_doc, words, 24);

INFOREG_STATIC_ASSERT(sizeof(struct inforeg_slot_header) == 32, "slot header size");
INFOREG_ASSERT_OFF(inforeg_slot_header, seq, 0);
INFOREG_ASSERT_OFF(inforeg_slot_header, realtime_ns, 8);
INFOREG_ASSERT_OFF(inforeg_slot_header, monotonic_ns, 16);
INFOREG_ASSERT_OFF(inforeg_slot_header, reserved, 24);

INFOREG_STATIC_ASSERT(sizeof(struct inforeg_shm_header) == 384, "header size");
INFOREG_ASSERT_OFF(inforeg_shm_header, magic, 0);
INFOREG_ASSERT_OFF(inforeg_shm_header, layout_version, 8);
INFOREG_ASSERT_OFF(inforeg_shm_header, header_size, 12);
INFOREG_ASSERT_OFF(inforeg_shm_header, generation, 16);
INFOREG_ASSERT_OFF(inforeg_shm_header, start_realtime_ns, 24);
INFOREG_ASSERT_OFF(inforeg_shm_header, start_monotonic_ns, 32);
INFOREG_ASSERT_OFF(inforeg_shm_header, period_ns, 40);
INFOREG_ASSERT_OFF(inforeg_shm_header, writer_pid, 48);
INFOREG_ASSERT_OFF(inforeg_shm_header, series_count, 52);
INFOREG_ASSERT_OFF(inforeg_shm_header, capacity, 56);
INFOREG_ASSERT_OFF(inforeg_shm_header, slot_size, 60);
INFOREG_ASSERT_OFF(inforeg_shm_header, dir_offset, 64);
INFOREG_ASSERT_OFF(inforeg_shm_header, doc_offset, 72);
INFOREG_ASSERT_OFF(inforeg_shm_header, ring_offset, 80);
INFOREG_ASSERT_OFF(inforeg_shm_header, total_size, 88);
INFOREG_ASSERT_OFF(inforeg_shm_header, layout_serial, 96);
INFOREG_ASSERT_OFF(inforeg_shm_header, first_pos, 104);
INFOREG_ASSERT_OFF(inforeg_shm_header, layout_minor, 112);
INFOREG_ASSERT_OFF(inforeg_shm_header, writer_uid, 116);
INFOREG_ASSERT_OFF(inforeg_shm_header, writer_pidns, 120);
INFOREG_ASSERT_OFF(inforeg_shm_header, reserved0, 128);
INFOREG_ASSERT_OFF(inforeg_shm_header, head, 256);
INFOREG_ASSERT_OFF(inforeg_shm_header, flags, 264);
INFOREG_ASSERT_OFF(inforeg_shm_header, pad1, 268);
INFOREG_ASSERT_OFF(inforeg_shm_header, dropped, 272);
INFOREG_ASSERT_OFF(inforeg_shm_header, heartbeat_ns, 280);
INFOREG_ASSERT_OFF(inforeg_shm_header, heartbeat, 288);
INFOREG_ASSERT_OFF(inforeg_shm_header, reserved1, 296);
INFOREG_ASSERT_OFF(inforeg_shm_header, futex, 320);
INFOREG_ASSERT_OFF(inforeg_shm_header, reserved2, 324);

#endif /* INFOREG_LAYOUT_H */
