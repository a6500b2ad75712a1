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
	uint64_t first_pos;     /* 0 in production; tests start near UINT64_MAX */
};

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
 * Validates an object a reader mapped: magic, layout version, and that every offset
 * and size in the header lies within SIZE. Returns 0, -EPROTO or -EINVAL.
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
	union { double d; uint64_t u; } c = { .d = d };
	return c.u;
}

static inline double ring_double(uint64_t u)
{
	union { double d; uint64_t u; } c = { .u = u };
	return c.d;
}

/*
 * Reads value IDX of the latest complete sample, retrying when the writer lapped
 * the reader between R1 and R4. Returns 0 with *POS set, or -EAGAIN when empty.
 * Inline: this is the nanosecond path of inforeg_read_latest().
 */
static inline int ring_read_latest(const struct inforeg_shm_header *h, uint32_t idx, double *out,
				   uint64_t *pos)
{
	for (;;) {
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
}

/* Copies document ID into BUF. Returns its length, -EAGAIN (empty), -E2BIG, -EINVAL. */
int ring_doc_read(const struct inforeg_shm_header *h, unsigned id, char *buf, size_t len);

#endif /* INFOREG_RING_H */
