// SPDX-License-Identifier: MIT
/* test_reader: libinforeg against real /dev/shm objects written with the ring code:
 * lookup, latest value, whole sample, zero-copy view, history by seq and by time,
 * futex wait (timeout and wake), following a retired object to a new layout with
 * handles re-bound by name, generation change, staleness, and -ESTALE with no successor. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "object.h"
#include "ring.h"
#include "tap.h"

static char NAME[64];

static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int publish(struct shm_object *o, const char *const *names, uint32_t n, uint64_t gen,
		   uint64_t serial)
{
	struct inforeg_series_desc d[8];
	memset(d, 0, sizeof(d));
	for (uint32_t i = 0; i < n; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "%s", names[i]);
		snprintf(d[i].unit, sizeof(d[i].unit), "u%u", i);
		d[i].kind = i % 3;
	}
	struct ring_params p = { .series_count = n, .capacity = 16, .period_ns = 10000000,
				 .generation = gen, .writer_pid = (uint32_t)getpid(),
				 .layout_serial = serial };
	return shm_object_publish(NAME, &p, d, 0644, (gid_t)-1, o);
}

static void put(struct shm_object *o, double base)
{
	double v[8];
	for (int i = 0; i < 8; i++)
		v[i] = base + i;
	ring_publish(o->hdr, v, (uint64_t)(base * 1000), mono());
	ring_notify(o->hdr);
}

static const char *const L1[] = { "a.x", "b.y{k=\"1\"}", "c.z" };
static const char *const L2[] = { "c.z", "new.one", "a.x" }; /* reordered, b gone */

static void test_basic_reads(void)
{
	struct shm_object o;
	CHECK(publish(&o, L1, 3, 7, 1) == 0);
	struct inforeg_reader *r = inforeg_open(NAME, 0);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(inforeg_generation(r) == 7 && inforeg_capacity(r) == 16);
	CHECK(inforeg_period_ns(r) == 10000000 && inforeg_writer_pid(r) == (uint32_t)getpid());
	int hb = inforeg_lookup(r, "b.y{k=\"1\"}");
	CHECK(hb >= 0);
	CHECK(inforeg_lookup(r, "b.y") == -ENOENT);
	CHECK(inforeg_lookup(r, "b.y{k=\"1\"}") == hb); /* same name, same handle */
	double v;
	CHECK(inforeg_read_latest(r, hb, &v, NULL) == -EAGAIN);
	CHECK(inforeg_is_stale(r, 5) == 1);
	for (int k = 1; k <= 20; k++)
		put(&o, k * 10);
	struct inforeg_meta m;
	CHECK(inforeg_read_latest(r, hb, &v, &m) == 0 && v == 201 && m.seq == 19 && m.generation == 7);
	CHECK(m.realtime_ns == 200000);
	CHECK(inforeg_read_latest(r, 12345, &v, NULL) == -EINVAL); /* never issued */
	CHECK(inforeg_is_stale(r, 5) == 0);

	double all[3];
	CHECK(inforeg_read_sample(r, all, 3, &m) == 3 && all[0] == 200 && all[2] == 202);
	CHECK(inforeg_read_sample(r, all, 1, NULL) == 3); /* count even when the buffer is short */

	struct inforeg_view view;
	CHECK(inforeg_view_latest(r, &view) == 0);
	double x = inforeg_view_value(&view, 2);
	CHECK(inforeg_view_valid(&view) && x == 202 && view.meta.seq == 19);
	put(&o, 210);
	CHECK(inforeg_view_valid(&view)); /* its slot is not reused yet */
	for (int k = 0; k < 16; k++)
		put(&o, 300 + k);
	CHECK(!inforeg_view_valid(&view)); /* lapped: the view says so */
	CHECK(isnan(inforeg_view_value(&view, 99)));

	/* history: 16 slots hold seq 21..36 now */
	double hv[64];
	struct inforeg_meta hm[64];
	uint64_t next;
	int n = inforeg_read_history(r, hb, 0, hv, hm, 64, &next);
	CHECK(n == 16 && hm[0].seq == 21 && hm[15].seq == 36 && next == 37 && hv[15] == 316);
	n = inforeg_read_history(r, hb, 30, hv, hm, 3, &next);
	CHECK(n == 3 && hm[0].seq == 30 && next == 33);
	n = inforeg_read_history(r, hb, 37, hv, hm, 64, &next);
	CHECK(n == 0 && next == 37);
	/* by time: realtime_ns = base*1000 */
	CHECK(inforeg_seq_at_time(r, 305000) == 26);
	CHECK(inforeg_seq_at_time(r, 1) == 21);
	CHECK(inforeg_seq_at_time(r, UINT64_MAX) == 37);

	char doc[64];
	CHECK(inforeg_doc_read(r, INFOREG_DOC_NODE, doc, sizeof(doc)) == -EAGAIN);
	ring_doc_write(o.hdr, INFOREG_DOC_NODE, "{\"n\":1}", 7, 1);
	CHECK(inforeg_doc_read(r, INFOREG_DOC_NODE, doc, sizeof(doc)) == 7);

	struct inforeg_series_info si;
	CHECK(inforeg_series_count(r) == 3);
	CHECK(inforeg_series_get(r, 1, &si) == 0 && !strcmp(si.name, "b.y{k=\"1\"}") && si.kind == 1);
	CHECK(inforeg_series_get(r, 3, &si) == -ENOENT);
	inforeg_close(r);
	ring_retire(o.hdr);
	shm_object_unmap(&o);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/%s", NAME);
	unlink(path);
}

struct waker {
	struct shm_object *o;
	int delay_ms;
};

static void *wake_later(void *arg)
{
	struct waker *w = arg;
	usleep((useconds_t)w->delay_ms * 1000);
	put(w->o, 999);
	return NULL;
}

static void test_wait(void)
{
	struct shm_object o;
	CHECK(publish(&o, L1, 3, 8, 1) == 0);
	struct inforeg_reader *r = inforeg_open(NAME, 0);
	if (!r)
		return;
	CHECK(inforeg_wait(r, INFOREG_SEQ_NONE, 20) == -ETIMEDOUT); /* empty ring */
	put(&o, 1);
	CHECK(inforeg_wait(r, INFOREG_SEQ_NONE, 0) == 0); /* any sample will do */
	uint64_t t0 = mono();
	CHECK(inforeg_wait(r, 0, 50) == -ETIMEDOUT);
	CHECK(mono() - t0 >= 45000000ull);
	CHECK(inforeg_wait(r, UINT64_MAX, 0) == 0); /* "after" an older seq: data is there */
	struct waker w = { &o, 30 };
	pthread_t th;
	pthread_create(&th, NULL, wake_later, &w);
	t0 = mono();
	CHECK(inforeg_wait(r, 0, 5000) == 0);
	CHECK(mono() - t0 < 2000000000ull);
	pthread_join(th, NULL);
	CHECK(inforeg_head(r) == 2);
	inforeg_close(r);
	ring_retire(o.hdr);
	shm_object_unmap(&o);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/%s", NAME);
	unlink(path);
}

static void test_follow_retired(void)
{
	struct shm_object o1, o2;
	CHECK(publish(&o1, L1, 3, 9, 1) == 0);
	put(&o1, 10);
	struct inforeg_reader *r = inforeg_open(NAME, 0);
	if (!r)
		return;
	int ha = inforeg_lookup(r, "a.x"), hb = inforeg_lookup(r, "b.y{k=\"1\"}");
	double v;
	CHECK(inforeg_read_latest(r, ha, &v, NULL) == 0 && v == 10);
	CHECK(inforeg_handle_index(r, ha) == 0);

	struct inforeg_fast f;
	CHECK(inforeg_fast_bind(r, ha, &f) == 0);
	CHECK(inforeg_fast_read(&f, &v) == 0 && v == 10);

	/* same writer, new layout: a.x moves to index 2, b.y disappears */
	CHECK(publish(&o2, L2, 3, 9, 2) == 0);
	put(&o2, 50);
	CHECK(inforeg_fast_read(&f, &v) == -ESTALE); /* the fast path says: bind again */
	CHECK(inforeg_fast_bind(r, ha, &f) == 0);
	CHECK(inforeg_fast_read(&f, &v) == 0 && v == 52);
	CHECK(atomic_load(&o1.hdr->flags) & INFOREG_F_RETIRED);
	CHECK(inforeg_read_latest(r, ha, &v, NULL) == 0 && v == 52); /* followed, re-bound */
	CHECK(inforeg_handle_index(r, ha) == 2);
	CHECK(inforeg_read_latest(r, hb, &v, NULL) == -ENOENT);
	CHECK(inforeg_reopens(r) == 1);
	CHECK(inforeg_generation(r) == 9);

	/* writer restart: new generation */
	shm_object_unmap(&o1);
	CHECK(publish(&o1, L1, 3, 10, 1) == 0);
	put(&o1, 70);
	CHECK(inforeg_refresh(r) == (INFOREG_CHANGED_GENERATION | INFOREG_CHANGED_LAYOUT));
	CHECK(inforeg_generation(r) == 10);
	CHECK(inforeg_read_latest(r, hb, &v, NULL) == 0 && v == 71); /* b.y is back */

	/* writer exits: retired, unlinked, no successor */
	ring_retire(o1.hdr);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/%s", NAME);
	unlink(path);
	CHECK(inforeg_read_latest(r, ha, &v, NULL) == -ESTALE && v == 70); /* last value kept */
	CHECK(inforeg_wait(r, 0, 1000) == -ESTALE);
	inforeg_close(r);
	shm_object_unmap(&o1);
	shm_object_unmap(&o2);
}

static void test_open_errors(void)
{
	errno = 0;
	CHECK(inforeg_open("inforeg-test-does-not-exist", 0) == NULL && errno == ENOENT);
	CHECK(inforeg_open("../etc/passwd", 0) == NULL && errno == EINVAL);
	/* an object with a wrong magic is refused */
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/%s", NAME);
	FILE *f = fopen(path, "w");
	char junk[4096] = "not a registry";
	fwrite(junk, 1, sizeof(junk), f);
	fclose(f);
	CHECK(inforeg_open(NAME, 0) == NULL && errno == EPROTO);
	unlink(path);
	inforeg_close(NULL);
}

int main(void)
{
	snprintf(NAME, sizeof(NAME), "inforeg-test-reader-%d", (int)getpid());
	RUN(test_basic_reads);
	RUN(test_wait);
	RUN(test_follow_retired);
	RUN(test_open_errors);
	TAP_EXIT();
}
