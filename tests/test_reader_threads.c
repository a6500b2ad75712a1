// SPDX-License-Identifier: MIT
/* test_reader_threads: one libinforeg reader shared by several threads while the
 * writer keeps replacing the object with a reordered series set (retire + rename):
 * every value read through a handle belongs to that handle's series, lookups from
 * many threads agree, and the readers follow every layout. Built under TSan too. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inforeg.h"
#include "object.h"
#include "ring.h"
#include "tap.h"

#define READERS 3
#define NS 3

static char NAME[64];
static const char *const L[2][NS] = { { "a.x", "b.y", "c.z" }, { "c.z", "a.x", "b.y" } };
static const int ID[2][NS] = { { 1, 2, 3 }, { 3, 1, 2 } }; /* series id by index */
static atomic_int stop, layouts;
static struct inforeg_reader *R;

static int publish(struct shm_object *o, int which, uint64_t serial)
{
	struct inforeg_series_desc d[NS];
	memset(d, 0, sizeof(d));
	for (int i = 0; i < NS; i++)
		snprintf(d[i].name, sizeof(d[i].name), "%s", L[which][i]);
	struct ring_params p = { .series_count = NS, .capacity = 8, .period_ns = 1000000,
				 .generation = 5, .writer_pid = (uint32_t)getpid(), .layout_serial = serial };
	return shm_object_publish(NAME, &p, d, 0644, (gid_t)-1, o);
}

static void *writer(void *arg)
{
	struct shm_object *o = arg;
	int which = 0;
	uint64_t seq = 0, serial = 1;
	while (!atomic_load(&stop)) {
		for (int k = 0; k < 500; k++, seq++) {
			double v[NS];
			for (int i = 0; i < NS; i++)
				v[i] = ID[which][i] * 1e9 + (double)seq; /* the series id travels with the value */
			ring_publish(o->hdr, v, seq, seq);
		}
		ring_notify(o->hdr);
		struct shm_object old = *o;
		which ^= 1;
		if (publish(o, which, ++serial) < 0)
			break;
		shm_object_unmap(&old);
		atomic_fetch_add(&layouts, 1);
		usleep(2000); /* let readers notice each layout */
	}
	return NULL;
}

struct rstat {
	long ok, wrong, lookups_bad;
};

static void *reader(void *arg)
{
	struct rstat *st = arg;
	int h[NS];
	for (int i = 0; i < NS; i++)
		h[i] = inforeg_lookup(R, L[0][i]);
	while (!atomic_load(&stop)) {
		for (int i = 0; i < NS; i++) {
			double v;
			int e = inforeg_read_latest(R, h[i], &v, NULL);
			if (e == 0) {
				if ((int)(v / 1e9) == ID[0][i])
					st->ok++;
				else
					st->wrong++;
			}
		}
		if (inforeg_lookup(R, "b.y") != h[1])
			st->lookups_bad++;
	}
	return NULL;
}

int main(void)
{
	snprintf(NAME, sizeof(NAME), "inforeg-test-rthreads-%d", (int)getpid());
	struct shm_object o;
	CHECK(publish(&o, 0, 1) == 0);
	double v0[NS] = { 1e9, 2e9, 3e9 };
	ring_publish(o.hdr, v0, 0, 0);
	R = inforeg_open(NAME, 0);
	CHECK(R != NULL);
	if (!R)
		return 1;
	pthread_t w, r[READERS];
	struct rstat st[READERS];
	memset(st, 0, sizeof(st));
	for (int i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, &st[i]);
	pthread_create(&w, NULL, writer, &o);
	usleep(1500000);
	atomic_store(&stop, 1);
	pthread_join(w, NULL);
	long ok = 0, wrong = 0, lb = 0;
	for (int i = 0; i < READERS; i++) {
		pthread_join(r[i], NULL);
		ok += st[i].ok;
		wrong += st[i].wrong;
		lb += st[i].lookups_bad;
	}
	printf("layouts %d, reopens %llu, reads ok %ld, wrong series %ld, bad lookups %ld\n",
	       atomic_load(&layouts), (unsigned long long)inforeg_reopens(R), ok, wrong, lb);
	CHECK(wrong == 0 && lb == 0);
	CHECK(ok > 1000);
	CHECK(atomic_load(&layouts) >= 10);
	CHECK(inforeg_reopens(R) >= 10); /* the readers really followed the writer */
	/* retired objects were released, not kept mapped: only the writer's current
	 * object and the reader's current one remain (an unlinked object mapped by
	 * anyone keeps its memory) */
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	int mapped = 0;
	while (maps && fgets(line, sizeof(line), maps))
		mapped += strstr(line, NAME) != NULL;
	if (maps)
		fclose(maps);
	CHECKF(mapped <= 2, "%d mappings of %s remain", mapped, NAME);
	inforeg_close(R);
	ring_retire(o.hdr);
	shm_object_unmap(&o);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/%s", NAME);
	unlink(path);
	TAP_EXIT();
}
