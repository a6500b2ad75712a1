// SPDX-License-Identifier: MIT
/*
 * ring.c - layout and seqlock protocol of the sample ring (see ring.h for the
 * barrier table W1..W6 / R1..R5 that every comment below refers to).
 *
 * Works on caller-given memory; no allocation, no system call except the futex
 * wake in ring_notify(). The writer is one thread; readers are anywhere.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring.h"

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

uint32_t ring_pow2(uint32_t x)
{
	uint32_t p = 2;
	while (p < x && p < (1u << 31))
		p <<= 1;
	return p;
}

static size_t slot_bytes(uint32_t series_count)
{
	return ALIGN64(sizeof(struct inforeg_slot_header) + (size_t)series_count * 8);
}

static size_t dir_off(void)
{
	return ALIGN64(sizeof(struct inforeg_shm_header));
}

static size_t doc_off(uint32_t series_count)
{
	return ALIGN64(dir_off() + (size_t)series_count * sizeof(struct inforeg_series_desc));
}

static size_t ring_off(uint32_t series_count)
{
	/* slots start on a page boundary: readers of the ring never share a page with the directory */
	size_t o = doc_off(series_count) + INFOREG_DOC_COUNT * sizeof(struct inforeg_doc);
	return (o + 4095) & ~(size_t)4095;
}

size_t ring_size(const struct ring_params *p)
{
	uint32_t cap = ring_pow2(p->capacity ? p->capacity : 2);
	size_t total = ring_off(p->series_count) + (size_t)cap * slot_bytes(p->series_count);
	return (total + 4095) & ~(size_t)4095;
}

int ring_init(void *mem, size_t size, const struct ring_params *p)
{
	if (!mem || ((uintptr_t)mem & 63) || p->capacity > (1u << 30) || p->series_count > (1u << 20))
		return -EINVAL;
	if (size < ring_size(p))
		return -EINVAL;
	uint32_t cap = ring_pow2(p->capacity ? p->capacity : 2);
	memset(mem, 0, ring_off(p->series_count)); /* header, directory, documents */

	struct inforeg_shm_header *h = mem;
	h->magic = INFOREG_MAGIC;
	h->layout_version = INFOREG_LAYOUT_VERSION;
	h->header_size = sizeof(*h);
	h->generation = p->generation;
	h->start_realtime_ns = p->start_realtime_ns;
	h->start_monotonic_ns = p->start_monotonic_ns;
	h->period_ns = p->period_ns;
	h->writer_pid = p->writer_pid;
	h->series_count = p->series_count;
	h->capacity = cap;
	h->slot_size = (uint32_t)slot_bytes(p->series_count);
	h->dir_offset = dir_off();
	h->doc_offset = doc_off(p->series_count);
	h->ring_offset = ring_off(p->series_count);
	h->total_size = ring_size(p);
	h->layout_serial = p->layout_serial;
	h->first_pos = p->first_pos;
	h->layout_minor = INFOREG_LAYOUT_MINOR;
	h->writer_uid = p->writer_uid;
	h->writer_pidns = p->writer_pidns;
	/*
	 * Every slot starts with a seq that matches no position it can hold before it
	 * is written: slot k holds positions p == k (mod cap), whose complete seq is
	 * 2p+2; 2*first_pos+1 is odd, so it reads "being written" to everyone.
	 */
	for (uint32_t k = 0; k < cap; k++) {
		struct inforeg_slot_header *s = ring_slot(h, k);
		atomic_store_explicit(&s->seq, 2 * p->first_pos + 1, memory_order_relaxed);
	}
	atomic_store_explicit(&h->head, p->first_pos, memory_order_relaxed);
	atomic_store_explicit(&h->flags, 0, memory_order_relaxed);
	atomic_store_explicit(&h->dropped, 0, memory_order_relaxed);
	atomic_store_explicit(&h->heartbeat_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&h->heartbeat, 0, memory_order_relaxed);
	/* No release needed here: the object becomes visible to readers only through
	 * rename(2) after ring_init returns, and the mapping they create sees it all. */
	return 0;
}

/* [OFF, OFF+LEN) lies within [LO, LIMIT), computed without wrapping. */
static int span_ok(uint64_t off, uint64_t len, uint64_t lo, uint64_t limit)
{
	return off >= lo && off <= limit && len <= limit - off;
}

int ring_check(const void *mem, size_t size)
{
	const struct inforeg_shm_header *h = mem;
	if (!mem || size < sizeof(*h) || h->magic != INFOREG_MAGIC)
		return -EPROTO;
	if (h->layout_version != INFOREG_LAYOUT_VERSION)
		return -EPROTO;
	/* any minor version of this major is readable; a later one may append to the header */
	if (h->header_size < sizeof(*h) || (h->header_size & 7))
		return -EINVAL;
	uint64_t limit = h->total_size;
	if (limit > size || limit < h->header_size)
		return -EINVAL;
	/* offsets 8-byte aligned: every word a reader loads atomically is naturally aligned */
	if ((h->dir_offset | h->doc_offset | h->ring_offset) & 7)
		return -EINVAL;
	if (h->series_count > (1u << 24) || h->capacity < 2 || h->capacity > (1u << 30) ||
	    (h->capacity & (h->capacity - 1)))
		return -EINVAL;
	if (h->slot_size & 63 || h->slot_size < slot_bytes(h->series_count))
		return -EINVAL;
	uint64_t dir_len = (uint64_t)h->series_count * sizeof(struct inforeg_series_desc);
	uint64_t doc_len = INFOREG_DOC_COUNT * (uint64_t)sizeof(struct inforeg_doc);
	uint64_t ring_len;
	if (__builtin_mul_overflow((uint64_t)h->capacity, (uint64_t)h->slot_size, &ring_len))
		return -EINVAL;
	/* header | directory | documents | slots, in this order, each inside the object */
	if (!span_ok(h->dir_offset, dir_len, h->header_size, limit) ||
	    !span_ok(h->doc_offset, doc_len, h->dir_offset + dir_len, limit) ||
	    !span_ok(h->ring_offset, ring_len, h->doc_offset + doc_len, limit))
		return -EINVAL;
	return 0;
}

void ring_publish(struct inforeg_shm_header *h, const double *values, uint64_t realtime_ns,
		  uint64_t monotonic_ns)
{
	/* the writer owns head: a relaxed load of its own last store */
	uint64_t p = atomic_load_explicit(&h->head, memory_order_relaxed);
	struct inforeg_slot_header *s = ring_slot(h, p);
	INFOREG_ATOMIC(uint64_t) *w = ring_slot_values(s);

	/* W1: odd = being written; made visible before any data word by W2's release */
	atomic_store_explicit(&s->seq, 2 * p + 1, memory_order_relaxed);
	/* W2: pairs with R3 (a reader that sees this word also sees W1 at R4) */
	atomic_store_explicit(&s->realtime_ns, realtime_ns, memory_order_release);
	atomic_store_explicit(&s->monotonic_ns, monotonic_ns, memory_order_release);
	for (uint32_t i = 0; i < h->series_count; i++)
		atomic_store_explicit(&w[i], ring_bits(values[i]), memory_order_release);
	/* W4: pairs with R2: a reader that sees 2p+2 sees every word above */
	atomic_store_explicit(&s->seq, 2 * p + 2, memory_order_release);
	/* W5: pairs with R1: position p is complete before head says so */
	atomic_store_explicit(&h->head, p + 1, memory_order_release);
}

static void futex_wake_all(INFOREG_ATOMIC(uint32_t) * word)
{
	/* shared (not PRIVATE) futex: waiters are other processes mapping the object */
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void ring_notify(struct inforeg_shm_header *h)
{
	/* W6: pairs with R5 (inforeg_wait's acquire load before FUTEX_WAIT): the bump
	 * follows W5, so a waiter that sees the new word also sees the new head */
	atomic_fetch_add_explicit(&h->futex, 1, memory_order_release);
	futex_wake_all(&h->futex);
}

void ring_heartbeat(struct inforeg_shm_header *h, uint64_t monotonic_ns)
{
	/* W7: a liveness hint, no data depends on it: readers load it relaxed */
	atomic_store_explicit(&h->heartbeat_ns, monotonic_ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->heartbeat, 1, memory_order_relaxed);
}

uint64_t ring_carry(struct inforeg_shm_header *to, const struct inforeg_shm_header *from, const int32_t *map,
		    double *scratch)
{
	double *in = scratch, *out = scratch + from->series_count;
	uint64_t end = ring_head(from), n = 0;
	/* TO is not visible to readers yet and FROM is the caller's own (single writer):
	 * nothing changes under these reads; ring_publish() orders the stores as usual */
	for (uint64_t p = to->first_pos; (int64_t)(end - p) > 0; p++) {
		uint64_t rt = 0, mono = 0;
		int ok = ring_read_at(from, p, 0, from->series_count, in, &rt, &mono) == 0;
		for (uint32_t j = 0; j < to->series_count; j++)
			out[j] = ok && map[j] >= 0 ? in[map[j]] : __builtin_nan("");
		ring_publish(to, out, rt, mono);
		n++;
	}
	return n;
}

void ring_retire(struct inforeg_shm_header *h)
{
	/* release: pairs with the readers' flag check; everything published before it
	 * stays readable (the object is never truncated) */
	atomic_fetch_or_explicit(&h->flags, INFOREG_F_RETIRED, memory_order_release);
	ring_notify(h);
}

int ring_read_at(const struct inforeg_shm_header *h, uint64_t pos, uint32_t first, uint32_t n, double *out,
		 uint64_t *rt, uint64_t *mono)
{
	if ((uint64_t)first + n > h->series_count)
		return -EINVAL;
	struct inforeg_slot_header *s = ring_slot(h, pos);
	INFOREG_ATOMIC(uint64_t) *w = ring_slot_values(s);
	/* R2, pairs with W4 */
	uint64_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (s1 != 2 * pos + 2) {
		/* the slot holds another position: pos is not published yet, or it was
		 * lapped. head is read after s1, so look at the slot once more: it may
		 * have completed pos in between. */
		uint64_t head = ring_head(h);
		if ((int64_t)(pos - head) >= 0)
			return -EAGAIN;
		s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (s1 != 2 * pos + 2)
			return -ESPIPE;
	}
	/* R3, pairs with W2 */
	uint64_t t_rt = atomic_load_explicit(&s->realtime_ns, memory_order_acquire);
	uint64_t t_mono = atomic_load_explicit(&s->monotonic_ns, memory_order_acquire);
	for (uint32_t i = 0; i < n; i++)
		out[i] = ring_double(atomic_load_explicit(&w[first + i], memory_order_acquire));
	/* R4 */
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
		return -ESPIPE;
	if (rt)
		*rt = t_rt;
	if (mono)
		*mono = t_mono;
	return 0;
}

static struct inforeg_doc *doc_at(const struct inforeg_shm_header *h, unsigned id)
{
	return (struct inforeg_doc *)((char *)h + h->doc_offset + (size_t)id * sizeof(struct inforeg_doc));
}

void ring_doc_write(struct inforeg_shm_header *h, unsigned id, const char *text, size_t len,
		    uint64_t realtime_ns)
{
	if (id >= INFOREG_DOC_COUNT)
		return;
	struct inforeg_doc *d = doc_at(h, id);
	INFOREG_ATOMIC(uint64_t) *w = d->words;
	if (len > INFOREG_DOC_MAX - 1)
		len = INFOREG_DOC_MAX - 1;
	uint64_t seq = atomic_load_explicit(&d->seq, memory_order_relaxed);
	/* W1 for documents: odd */
	atomic_store_explicit(&d->seq, seq + 1, memory_order_relaxed);
	size_t nw = (len + 8) / 8; /* words including the NUL */
	for (size_t i = 0; i < nw; i++) {
		uint64_t x = 0;
		size_t off = i * 8, k = len - off < 8 ? len - off : 8;
		if (off < len)
			memcpy(&x, text + off, k);
		/* W2: pairs with the reader's acquire loads in ring_doc_read */
		atomic_store_explicit(&w[i], x, memory_order_release);
	}
	/* W2 for the length and time: pair with the reader's acquire loads */
	atomic_store_explicit(&d->update_realtime_ns, realtime_ns, memory_order_release);
	atomic_store_explicit(&d->len, (uint32_t)len, memory_order_release);
	/* W4: even = complete; pairs with the reader's acquire load of seq */
	atomic_store_explicit(&d->seq, seq + 2, memory_order_release);
}

int ring_doc_read(const struct inforeg_shm_header *h, unsigned id, char *buf, size_t len)
{
	if (id >= INFOREG_DOC_COUNT || !buf || len == 0)
		return -EINVAL;
	struct inforeg_doc *d = doc_at(h, id);
	INFOREG_ATOMIC(uint64_t) *w = d->words;
	for (int tries = 0; tries < RING_READ_TRIES; tries++) {
		uint64_t s1 = atomic_load_explicit(&d->seq, memory_order_acquire); /* pairs with W4 */
		if (s1 & 1)
			continue;
		if (s1 == 0)
			return -EAGAIN;						  /* never written */
		uint32_t n = atomic_load_explicit(&d->len, memory_order_acquire); /* pairs with W2 */
		if (n >= INFOREG_DOC_MAX)
			continue;
		if ((size_t)n + 1 > len)
			return -E2BIG;
		size_t nw = ((size_t)n + 8) / 8;
		for (size_t i = 0; i < nw; i++) {
			uint64_t x = atomic_load_explicit(&w[i], memory_order_acquire); /* pairs with W2 */
			size_t off = i * 8, k = n + 1 - off < 8 ? n + 1 - off : 8;
			memcpy(buf + off, &x, k);
		}
		if (atomic_load_explicit(&d->seq, memory_order_relaxed) != s1)
			continue;
		buf[n] = '\0';
		return (int)n;
	}
	return -EAGAIN; /* the writer kept it odd or changing: no validated copy */
}
