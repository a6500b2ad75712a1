// SPDX-License-Identifier: MIT
/* test_stress_threads: one writer thread publishes as fast as it can into a small
 * ring (so readers are lapped constantly) while reader threads copy whole samples,
 * single values and positions; every copy must verify against its position. This is
 * the variant ThreadSanitizer checks (it sees threads, not processes). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ring.h"
#include "stress_common.h"
#include "tap.h"

#define READERS 3

static struct inforeg_shm_header *H;
static atomic_int stop;

struct rstats {
	uint64_t ok, retries, torn;
};

static void *writer(void *arg)
{
	(void)arg;
	double v[STRESS_SERIES];
	uint64_t pos = H->first_pos;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		stress_fill(v, pos);
		ring_publish(H, v, pos, pos);
		pos++;
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct rstats *st = arg;
	double v[STRESS_SERIES];
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t head = ring_head(H);
		if (head == H->first_pos)
			continue;
		uint64_t rt, mono;
		int e = ring_read_at(H, head - 1, 0, STRESS_SERIES, v, &rt, &mono);
		if (e) {
			st->retries++;
		} else if (stress_verify(v, head - 1) || rt != head - 1 || mono != head - 1) {
			st->torn++;
		} else {
			st->ok++;
		}
		double x;
		uint64_t pos;
		uint32_t idx = (uint32_t)(st->ok % (STRESS_SERIES - 1));
		if (ring_read_latest(H, idx, &x, &pos) == 0) {
			if (x != stress_value(pos, idx))
				st->torn++;
			else
				st->ok++;
		}
	}
	return NULL;
}

int main(void)
{
	struct ring_params p = { .series_count = STRESS_SERIES, .capacity = 4,
				 .first_pos = UINT64_MAX - 1000 }; /* cross 2^64 on the way */
	size_t size = ring_size(&p);
	H = aligned_alloc(4096, size);
	CHECK(ring_init(H, size, &p) == 0);
	pthread_t w, r[READERS];
	struct rstats st[READERS] = { 0 };
	pthread_create(&w, NULL, writer, NULL);
	for (int i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, &st[i]);
	struct timespec d = { 1, 500000000 };
	nanosleep(&d, NULL);
	atomic_store(&stop, 1);
	pthread_join(w, NULL);
	uint64_t ok = 0, torn = 0, retries = 0;
	for (int i = 0; i < READERS; i++) {
		pthread_join(r[i], NULL);
		ok += st[i].ok;
		torn += st[i].torn;
		retries += st[i].retries;
	}
	uint64_t written = ring_head(H) - p.first_pos;
	printf("written %llu samples, verified reads %llu, retries %llu, torn %llu\n",
	       (unsigned long long)written, (unsigned long long)ok, (unsigned long long)retries,
	       (unsigned long long)torn);
	CHECK(torn == 0);
	CHECK(written > 10000);
	CHECK(ok > 1000); /* the readers really read: the test cannot pass by doing nothing */
	free(H);
	TAP_EXIT();
}
