// SPDX-License-Identifier: MIT
/* test_ring: the ring protocol on malloc'd memory: layout checks, empty ring, exact
 * values, wrap-around of slots, positions overflowing 2^64, lapped reads, documents. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "tap.h"

static struct inforeg_shm_header *make(uint32_t series, uint32_t cap, uint64_t first, size_t *size)
{
	struct ring_params p = { .series_count = series, .capacity = cap, .period_ns = 1000000,
				 .generation = 42, .first_pos = first };
	*size = ring_size(&p);
	void *m = aligned_alloc(4096, *size);
	memset(m, 0xa5, *size); /* garbage: ring_init must not rely on zeroed memory */
	CHECK(ring_init(m, *size, &p) == 0);
	return m;
}

static void fill(double *v, uint32_t n, uint64_t pos)
{
	for (uint32_t i = 0; i < n; i++)
		v[i] = (double)pos * 1000.0 + i + 0.25;
}

static void test_pow2(void)
{
	CHECK(ring_pow2(1) == 2);
	CHECK(ring_pow2(2) == 2);
	CHECK(ring_pow2(3) == 4);
	CHECK(ring_pow2(601) == 1024);
	CHECK(ring_pow2(1024) == 1024);
}

static void test_layout_checks(void)
{
	size_t size;
	struct inforeg_shm_header *h = make(5, 8, 0, &size);
	CHECK(ring_check(h, size) == 0);
	CHECK(h->capacity == 8 && h->series_count == 5);
	CHECK(h->slot_size % 64 == 0 && h->ring_offset % 4096 == 0);
	CHECK(ring_check(h, size - 4096) == -EINVAL); /* object shorter than the header says */
	h->magic ^= 1;
	CHECK(ring_check(h, size) == -EPROTO);
	h->magic ^= 1;
	h->layout_version = INFOREG_LAYOUT_VERSION + 1;
	CHECK(ring_check(h, size) == -EPROTO);
	h->layout_version = INFOREG_LAYOUT_VERSION;
	h->capacity = 6; /* not a power of two */
	CHECK(ring_check(h, size) == -EINVAL);
	h->capacity = 8;
	h->ring_offset = size; /* slots outside the object */
	CHECK(ring_check(h, size) == -EINVAL);
	struct ring_params bad = { .series_count = 1, .capacity = 4 };
	CHECK(ring_init(h, 16, &bad) == -EINVAL);
	free(h);
}

static void test_empty_and_first(void)
{
	size_t size;
	struct inforeg_shm_header *h = make(3, 4, 0, &size);
	double v, vals[3];
	uint64_t pos;
	CHECK(ring_read_latest(h, 0, &v, &pos) == -EAGAIN);
	CHECK(ring_read_at(h, 0, 0, 3, vals, NULL, NULL) == -EAGAIN);
	double in[3] = { 1.5, NAN, -2e300 };
	ring_publish(h, in, 111, 222);
	CHECK(ring_read_latest(h, 2, &v, &pos) == 0 && v == -2e300 && pos == 0);
	uint64_t rt, mono;
	CHECK(ring_read_at(h, 0, 0, 3, vals, &rt, &mono) == 0);
	CHECK(vals[0] == 1.5 && isnan(vals[1]) && vals[2] == -2e300 && rt == 111 && mono == 222);
	CHECK(ring_read_at(h, 1, 0, 3, vals, NULL, NULL) == -EAGAIN); /* not yet */
	CHECK(ring_read_at(h, 0, 2, 2, vals, NULL, NULL) == -EINVAL); /* beyond the series */
	free(h);
}

static void run_wrap(uint64_t first)
{
	size_t size;
	const uint32_t n = 4, cap = 8;
	struct inforeg_shm_header *h = make(n, cap, first, &size);
	double in[4], out[4];
	for (uint64_t k = 0; k < 20; k++) {
		fill(in, n, first + k);
		ring_publish(h, in, k, k);
		double v;
		uint64_t pos;
		CHECK(ring_read_latest(h, 3, &v, &pos) == 0 && pos == first + k && v == in[3]);
	}
	CHECK(ring_head(h) == first + 20);
	/* the last `cap` positions are readable and exact, older ones are lapped */
	for (uint64_t k = 0; k < 20; k++) {
		int e = ring_read_at(h, first + k, 0, n, out, NULL, NULL);
		if (k < 20 - cap) {
			CHECKF(e == -ESPIPE, "pos first+%llu: %d", (unsigned long long)k, e);
		} else {
			fill(in, n, first + k);
			CHECKF(e == 0 && !memcmp(in, out, sizeof(in)), "pos first+%llu: %d",
			       (unsigned long long)k, e);
		}
	}
	CHECK(ring_read_at(h, first + 20, 0, n, out, NULL, NULL) == -EAGAIN);
	free(h);
}

static void test_wrap_around(void)
{
	run_wrap(0);
}

static void test_position_overflow(void)
{
	/* positions (and the seq words 2p+2) cross 2^64 during the run */
	run_wrap(UINT64_MAX - 5);
	run_wrap((UINT64_MAX >> 1) - 3);
}

static void test_in_progress_slot_is_not_read(void)
{
	size_t size;
	struct inforeg_shm_header *h = make(2, 4, 0, &size);
	double in[2] = { 1, 2 }, out[2];
	ring_publish(h, in, 1, 1);
	ring_publish(h, in, 2, 2);
	/* simulate the writer between W1 and W4 for position 2 (which reuses no slot yet) */
	struct inforeg_slot_header *s = ring_slot(h, 2);
	atomic_store(&s->seq, 2 * 2 + 1);
	CHECK(ring_read_at(h, 2, 0, 2, out, NULL, NULL) == -EAGAIN);
	/* and lapping: writer starts position 5 in slot 1 (position 1's) */
	s = ring_slot(h, 5);
	atomic_store(&s->seq, 2 * 5 + 1);
	atomic_store(&h->head, 5);
	CHECK(ring_read_at(h, 1, 0, 2, out, NULL, NULL) == -ESPIPE);
	free(h);
}

static void test_documents(void)
{
	size_t size;
	struct inforeg_shm_header *h = make(1, 2, 0, &size);
	char buf[64];
	CHECK(ring_doc_read(h, INFOREG_DOC_STATUS, buf, sizeof(buf)) == -EAGAIN);
	ring_doc_write(h, INFOREG_DOC_STATUS, "{\"a\":1}", 7, 5);
	CHECK(ring_doc_read(h, INFOREG_DOC_STATUS, buf, sizeof(buf)) == 7 && !strcmp(buf, "{\"a\":1}"));
	ring_doc_write(h, INFOREG_DOC_STATUS, "{}", 2, 6); /* shorter: no trailing garbage */
	CHECK(ring_doc_read(h, INFOREG_DOC_STATUS, buf, sizeof(buf)) == 2 && !strcmp(buf, "{}"));
	char big[100];
	memset(big, 'x', sizeof(big));
	ring_doc_write(h, INFOREG_DOC_NODE, big, sizeof(big), 7);
	CHECK(ring_doc_read(h, INFOREG_DOC_NODE, buf, sizeof(buf)) == -E2BIG);
	CHECK(ring_doc_read(h, INFOREG_DOC_COUNT, buf, sizeof(buf)) == -EINVAL);
	char *huge = malloc(INFOREG_DOC_MAX + 10), *back = malloc(INFOREG_DOC_MAX);
	memset(huge, 'y', INFOREG_DOC_MAX + 10);
	ring_doc_write(h, INFOREG_DOC_NODE, huge, INFOREG_DOC_MAX + 10, 8); /* truncated to fit */
	CHECK(ring_doc_read(h, INFOREG_DOC_NODE, back, INFOREG_DOC_MAX) == INFOREG_DOC_MAX - 1);
	free(huge);
	free(back);
	free(h);
}

static void test_retire_flag(void)
{
	size_t size;
	struct inforeg_shm_header *h = make(1, 2, 0, &size);
	uint32_t w = atomic_load(&h->futex);
	ring_retire(h);
	CHECK(atomic_load(&h->flags) & INFOREG_F_RETIRED);
	CHECK(atomic_load(&h->futex) == w + 1);
	free(h);
}

int main(void)
{
	RUN(test_pow2);
	RUN(test_layout_checks);
	RUN(test_empty_and_first);
	RUN(test_wrap_around);
	RUN(test_position_overflow);
	RUN(test_in_progress_slot_is_not_read);
	RUN(test_documents);
	RUN(test_retire_flag);
	TAP_EXIT();
}
