/* SPDX-License-Identifier: MIT */
/*
 * ring.h - the registry's single-writer, many-reader sample ring and its documents.
 *
 * This is the only code that knows the shared-memory protocol. It works on
 * caller-given memory (ring_size + ring_init), so the unit tests run it on malloc and
 * the daemon on a POSIX shm object (shm/object.c).
 *
 * Protocol (positions p are free-running uint64; slot = p & (capacity-1)):
 *
 *   writer, publishing position p = head          reader of position p
 *   ----------------------------------------      ------------------------------------
 *   W1 store_relaxed(slot.seq, 2p+1)               R1 h = load_acquire(head)        [W5]
 *   W2 store_release(slot.word[i], x) for each     R2 s1 = load_acquire(slot.seq)   [W4]
 *      word (timestamps, values)                       s1 != 2p+2: not p (yet/any more)
 *   W3   (release in W2 orders W1 before data)     R3 x = load_acquire(slot.word[i]) [W2]
 *   W4 store_release(slot.seq, 2p+2)               R4 s2 = load_relaxed(slot.seq)
 *   W5 store_release(head, p+1)                        s2 == s1: x belongs to p, untorn
 *   W6 fetch_add_release(futex, 1); FUTEX_WAKE     R5 waiters: load_acquire(futex) [W6]
 *
 * Why R4 may be relaxed: if R3 read a word written for a later position p' (the
 * writer lapped the reader), R3's acquire synchronises with that W2 store-release,
 * which W1(p') precedes in program order, so R4 reads 2p'+1 or later and the reader
 * retries. R3's acquire also keeps R4 from being hoisted above the data loads. With
 * every shared word accessed atomically there is no data race in the C11 model, so
 * ThreadSanitizer can check the protocol, and on x86-64 every one of these accesses
 * compiles to a plain MOV.
 *
 * seq values are computed mod 2^64 and compared for equality only; positions are
 * compared by subtraction, so a ring started near UINT64_MAX (the tests do) works.
 * Documents use the same seqlock with a per-document counter (odd while written).
 *
 * Bounded retries: a reader retries a slot or document that changed under it at most
 * RING_READ_TRIES times, then gives up with -EAGAIN; it never returns a copy that did
 * not validate. (A writer that keeps a word odd that long is wedged or hostile.)
 *
 * Liveness (minor >= 1): W7 store_release(heartbeat_ns, now); fetch_add(heartbeat)
 * once per tick, after W6; readers load them relaxed (a hint, no data depends on it).
 *
 * Replacement order (shm/object.c): build under NAME.new.PID, rename over NAME, then
 * ring_retire() the predecessor (RETIRED set with release, then W6). A reader that
 * sees RETIRED and re-opens NAME therefore always finds the successor, if any.
 */
#ifndef INFOREG_RING_H
#define INFOREG_RING_H

#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include "inforeg_layout.h"

struct ring_params {
	uint32_t series_count;
	uint32_t capacity;      /* rounded up to a power of two, >= 2 */
	uint64_t period_ns;
	uint64_t generation;
	uint32_t writer_pid;
	uint64_t start_realtime_ns, start_monotonic_ns;
	uint64_t layout_serial;
	uint64_t first_pos;     /* first position this object holds (continues a predecessor's) */
	uint32_t writer_uid;
	uint64_t writer_pidns;  /* inode of /proc/self/ns/pid, 0 unknown */
};

#define RING_READ_TRIES 100000 /* seqlock retries before a reader gives up (-EAGAIN) */

/* Bytes an object with these parameters needs (after rounding capacity). */
size_t ring_size(const struct ring_params *p);
/* Smallest power of two >= x (x >= 1, <= 2^31). */
uint32_t ring_pow2(uint32_t x);

/*
 * Lays out a ring in MEM (SIZE bytes, zeroed or not, 64-byte aligned): header,
 * empty directory, empty documents, empty slots. Returns 0 or -EINVAL (too small,
 * bad parameters).
 */
int ring_init(void *mem, size_t size, const struct ring_params *p);

/*
 * Validates an object a reader mapped (SIZE bytes at MEM, possibly hostile): magic and
 * major layout version (-EPROTO), then that the header, directory, documents and every
 * slot lie within both SIZE and total_size, in that order, without overlapping, at
 * 8-byte aligned offsets, with a power-of-two capacity and slots big enough for
 * series_count values (-EINVAL). Every sum and product is checked for overflow. After
 * 0, every access the reader makes through ring.h's helpers stays inside MEM.
 */
int ring_check(const void *mem, size_t size);

static inline struct inforeg_series_desc *ring_dir(const struct inforeg_shm_header *h)
{
	return (struct inforeg_series_desc *)((char *)h + h->dir_offset);
}

static inline struct inforeg_slot_header *ring_slot(const struct inforeg_shm_header *h, uint64_t pos)
{
	return (struct inforeg_slot_header *)((char *)h + h->ring_offset +
					      (size_t)(pos & (h->capacity - 1)) * h->slot_size);
}

static inline INFOREG_ATOMIC(uint64_t) *ring_slot_values(struct inforeg_slot_header *s)
{
	return (INFOREG_ATOMIC(uint64_t) *)(s + 1);
}

/* ---- writer side (one thread) ------------------------------------------- */

/* Publishes one sample at position head (values: series_count doubles). */
void ring_publish(struct inforeg_shm_header *h, const double *values, uint64_t realtime_ns,
		  uint64_t monotonic_ns);
/* Wakes every reader sleeping on the futex word (shared futex; one syscall). */
void ring_notify(struct inforeg_shm_header *h);
/* Marks the object retired and wakes readers. */
void ring_retire(struct inforeg_shm_header *h);
/* W7: the writer is alive at MONOTONIC_NS (once per tick). */
void ring_heartbeat(struct inforeg_shm_header *h, uint64_t monotonic_ns);
/*
 * Copies the history of FROM into the fresh object TO (not yet visible to readers),
 * for positions [TO->first_pos, ring_head(FROM)): value j of TO is value MAP[j] of FROM,
 * or NaN where MAP[j] < 0. SCRATCH holds FROM->series_count + TO->series_count doubles.
 * Afterwards ring_head(TO) == ring_head(FROM). Returns the number of samples copied.
 */
uint64_t ring_carry(struct inforeg_shm_header *to, const struct inforeg_shm_header *from,
		    const int32_t *map, double *scratch);
/* Replaces document ID with TEXT (LEN bytes, truncated to fit). */
void ring_doc_write(struct inforeg_shm_header *h, unsigned id, const char *text, size_t len,
		    uint64_t realtime_ns);

/* ---- reader side (any thread, any process) ------------------------------ */

/* Latest complete position + 1, acquire (pairs with W5). Empty when == h->first_pos. */
static inline uint64_t ring_head(const struct inforeg_shm_header *h)
{
	return atomic_load_explicit(&((struct inforeg_shm_header *)h)->head, memory_order_acquire);
}

/*
 * Copies words [first, first+n) of the sample at position POS into OUT (as doubles),
 * and its timestamps into RT/MONO (either may be NULL). Returns 0, -EAGAIN if POS was
 * not written yet or is being written, -ESPIPE if it was overwritten (lapped).
 */
int ring_read_at(const struct inforeg_shm_header *h, uint64_t pos, uint32_t first, uint32_t n,
		 double *out, uint64_t *rt, uint64_t *mono);

static inline uint64_t ring_bits(double d)
{
	uint64_t u;
	__builtin_memcpy(&u, &d, sizeof(u));
	return u;
}

static inline double ring_double(uint64_t u)
{
	double d;
	__builtin_memcpy(&d, &u, sizeof(d));
	return d;
}

/*
 * Reads value IDX of the latest complete sample, retrying when the writer lapped
 * the reader between R1 and R4. Returns 0 with *POS set, or -EAGAIN when empty or
 * after RING_READ_TRIES failed attempts.
 * Inline: this is the nanosecond path of inforeg_read_latest().
 */
static inline int ring_read_latest(const struct inforeg_shm_header *h, uint32_t idx, double *out,
				   uint64_t *pos)
{
	for (int tries = 0; tries < RING_READ_TRIES; tries++) {
		uint64_t head = ring_head(h); /* R1, pairs with W5 */
		if (head == h->first_pos)
			return -EAGAIN;
		uint64_t p = head - 1;
		struct inforeg_slot_header *s = ring_slot(h, p);
		/* R2, pairs with W4: the words below are p's or newer */
		uint64_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (s1 != 2 * p + 2)
			continue; /* lapped (a newer p in this slot) or racing: reload head */
		/* R3, pairs with W2: a newer writer's word makes R4 see its odd seq */
		uint64_t x = atomic_load_explicit(&ring_slot_values(s)[idx], memory_order_acquire);
		/* R4: relaxed is enough, see the table above */
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
			continue;
		*out = ring_double(x);
		*pos = p;
		return 0;
	}
	return -EAGAIN;
}

/* Copies document ID into BUF. Returns its length, -EAGAIN (empty, or retries
 * exhausted), -E2BIG, -EINVAL. */
int ring_doc_read(const struct inforeg_shm_header *h, unsigned id, char *buf, size_t len);

#endif /* INFOREG_RING_H */
