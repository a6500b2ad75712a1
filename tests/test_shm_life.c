// SPDX-License-Identifier: MIT
/* test_shm_life: the object's life around the ring (issue 8, issue 13 item 1):
 * every public libinforeg function with a NULL reader and a handle it never issued;
 * inforeg_wait sleeps (no busy loop) once the writer exited and wakes early for a
 * successor; a replacement is renamed into place before the old object is retired, so
 * a reader never meets a retired object without its successor; ring_carry continues
 * the sequence and carries history by name; ring_check refuses hostile headers
 * (wrapping offsets, truncated objects) and the reader refuses an object owned by
 * another user; the writer lock refuses a planted symlink (target untouched) and a
 * file owned by someone else; a full /dev/shm (a private tmpfs) is -ENOSPC with
 * nothing left behind, never a SIGBUS. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "object.h"
#include "ring.h"
#include "tap.h"

static char NAME[64], PATH[128];

static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int publish(struct shm_object *o, uint32_t n, uint64_t gen, uint64_t serial)
{
	struct inforeg_series_desc d[8];
	memset(d, 0, sizeof(d));
	for (uint32_t i = 0; i < n; i++)
		snprintf(d[i].name, sizeof(d[i].name), "s.%u", i);
	struct ring_params p = {.series_count = n,
				.capacity = 16,
				.period_ns = 10000000,
				.generation = gen,
				.writer_pid = (uint32_t)getpid(),
				.layout_serial = serial,
				.writer_uid = (uint32_t)geteuid()};
	struct stat st;
	if (stat("/proc/self/ns/pid", &st) == 0)
		p.writer_pidns = st.st_ino;
	return shm_object_publish(NAME, &p, d, 0644, (gid_t)-1, o);
}

static void put(struct shm_object *o, double base);

static int publish_with_sample(struct shm_object *o, uint32_t n, uint64_t gen, uint64_t serial, double base)
{
	struct inforeg_series_desc d[8];
	memset(d, 0, sizeof(d));
	for (uint32_t i = 0; i < n; i++)
		snprintf(d[i].name, sizeof(d[i].name), "s.%u", i);
	struct ring_params p = {.series_count = n, .capacity = 16, .period_ns = 10000000, .generation = gen,
				.writer_pid = (uint32_t)getpid(), .layout_serial = serial};
	struct shm_pending pend;
	int e = shm_object_create(NAME, &p, d, 0644, (gid_t)-1, &pend);
	if (e)
		return e;
	put(&pend.obj, base);
	return shm_object_commit(NAME, &pend, o);
}

static void put(struct shm_object *o, double base)
{
	double v[8];
	for (int i = 0; i < 8; i++)
		v[i] = base + i;
	ring_publish(o->hdr, v, (uint64_t)base, mono());
	ring_notify(o->hdr);
}

static void drop(struct shm_object *o)
{
	if (o->hdr)
		ring_retire(o->hdr);
	shm_object_unmap(o);
	unlink(PATH);
}

/* ---- issue 13 item 1: NULL reader, bad handles --------------------------------- */

static void test_null_and_bad_handles(void)
{
	double v = 0, vals[4];
	struct inforeg_meta m;
	struct inforeg_series_info si;
	struct inforeg_fast f;
	struct inforeg_view view;
	char buf[16];
	uint64_t next;

	CHECK(inforeg_lookup(NULL, "s.0") == -EINVAL);
	CHECK(inforeg_series_count(NULL) == -EINVAL);
	CHECK(inforeg_series_get(NULL, 0, &si) == -EINVAL);
	CHECK(inforeg_handle_index(NULL, 0) == -EINVAL);
	CHECK(inforeg_read_latest(NULL, -22, &v, NULL) == -EINVAL); /* the README's crash */
	CHECK(inforeg_read_latest(NULL, 0, &v, &m) == -EINVAL);
	CHECK(inforeg_fast_bind(NULL, 0, &f) == -EINVAL);
	memset(&f, 0, sizeof(f));
	CHECK(inforeg_fast_read(&f, &v) == -EINVAL); /* never bound */
	CHECK(inforeg_fast_read(NULL, &v) == -EINVAL);
	CHECK(inforeg_read_sample(NULL, vals, 4, &m) == -EINVAL);
	CHECK(inforeg_view_latest(NULL, &view) == -EINVAL);
	CHECK(isnan(inforeg_view_value(NULL, 0)));
	CHECK(inforeg_view_valid(NULL) == 0);
	CHECK(inforeg_read_history(NULL, 0, 0, vals, NULL, 4, &next) == -EINVAL);
	errno = 0;
	CHECK(inforeg_seq_at_time(NULL, 1) == 0 && errno == EINVAL);
	errno = 0;
	CHECK(inforeg_head(NULL) == 0 && errno == EINVAL);
	CHECK(inforeg_wait(NULL, 0, 10) == -EINVAL);
	errno = 0;
	CHECK(inforeg_generation(NULL) == 0 && errno == EINVAL);
	CHECK(inforeg_period_ns(NULL) == 0 && inforeg_writer_pid(NULL) == 0);
	CHECK(inforeg_start_realtime_ns(NULL) == 0 && inforeg_capacity(NULL) == 0);
	CHECK(inforeg_dropped(NULL) == 0 && inforeg_reopens(NULL) == 0);
	CHECK(isnan(inforeg_age_periods(NULL)));
	CHECK(inforeg_is_stale(NULL, 3) == -EINVAL);
	CHECK(inforeg_refresh(NULL) == -EINVAL);
	CHECK(inforeg_doc_read(NULL, 0, buf, sizeof(buf)) == -EINVAL);
	CHECK(inforeg_writer_alive(NULL) == -EINVAL);
	inforeg_close(NULL);

	struct shm_object o;
	CHECK(publish(&o, 3, 1, 1) == 0);
	put(&o, 10);
	struct inforeg_reader *r = inforeg_open(NAME, 0);
	CHECK(r != NULL);
	if (!r)
		return;
	int h = inforeg_lookup(r, "s.1");
	CHECK(h == 0);
	CHECK(inforeg_lookup(r, NULL) == -EINVAL);
	const int bad[] = {-22, -1, 1, 1000, 5000, 1 << 30};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECKF(inforeg_read_latest(r, bad[i], &v, NULL) == -EINVAL, "handle %d", bad[i]);
		CHECKF(inforeg_read_latest(r, bad[i], &v, &m) == -EINVAL, "handle %d", bad[i]);
		CHECKF(inforeg_handle_index(r, bad[i]) == -EINVAL, "handle %d", bad[i]);
		CHECKF(inforeg_fast_bind(r, bad[i], &f) == -EINVAL, "handle %d", bad[i]);
		CHECKF(inforeg_read_history(r, bad[i], 0, vals, NULL, 4, &next) == -EINVAL, "handle %d",
		       bad[i]);
	}
	CHECK(inforeg_read_latest(r, h, NULL, NULL) == -EINVAL);
	CHECK(inforeg_read_latest(r, h, &v, NULL) == 0 && v == 11);
	CHECK(inforeg_series_get(r, 0, NULL) == -EINVAL);
	CHECK(inforeg_read_sample(r, NULL, 4, NULL) == -EINVAL);
	CHECK(inforeg_read_sample(r, NULL, 0, NULL) == 3);
	CHECK(inforeg_fast_bind(r, h, NULL) == -EINVAL);
	CHECK(inforeg_view_latest(r, NULL) == -EINVAL);
	CHECK(inforeg_writer_alive(r) == 1); /* we are the writer */
	inforeg_close(r);
	drop(&o);
}

/* ---- item 3: inforeg_wait once the writer exited ------------------------------ */

struct successor {
	int delay_ms;
	int killed; /* 1: leave the old object in place unretired and replace it (kill -9) */
	struct shm_object o;
};

static void *start_successor(void *arg)
{
	struct successor *s = arg;
	usleep((useconds_t)s->delay_ms * 1000);
	publish(&s->o, 3, 99 + (uint64_t)s->killed, 1); /* a restarted writer: new generation */
	put(&s->o, 500);
	return NULL;
}

static void test_wait_after_exit(void)
{
	struct shm_object o;
	CHECK(publish(&o, 3, 2, 1) == 0);
	put(&o, 1);
	struct inforeg_reader *r = inforeg_open(NAME, 0);
	if (!r)
		return;
	struct inforeg_meta m;
	double v;
	CHECK(inforeg_read_latest(r, inforeg_lookup(r, "s.0"), &v, &m) == 0);
	/* the writer exits normally: retired and unlinked, nobody replaces it */
	drop(&o);
	CHECK(inforeg_writer_alive(r) == 0);

	/* the README's client loop for 1 s: it must sleep, not spin */
	uint64_t t0 = mono(), c0 = cpu_ns();
	int calls = 0, rc = 0;
	while (mono() - t0 < 1000000000ull) {
		rc = inforeg_wait(r, m.seq, 200);
		calls++;
	}
	uint64_t cpu = cpu_ns() - c0;
	CHECKF(calls <= 7, "%d calls to inforeg_wait(200 ms) in 1 s", calls);
	CHECKF(cpu < 200000000ull, "%.1f ms of CPU in 1 s of waiting", cpu / 1e6);
	CHECK(rc == -ESTALE);
	printf("# after exit: %d waits, %.2f ms CPU in 1 s\n", calls, cpu / 1e6);

	/* a successor appears while we wait: the wait returns long before its timeout */
	struct successor s = {.delay_ms = 150};
	pthread_t th;
	pthread_create(&th, NULL, start_successor, &s);
	t0 = mono();
	rc = inforeg_wait(r, m.seq, 10000);
	uint64_t took = mono() - t0;
	pthread_join(th, NULL);
	CHECK(rc == 0);
	CHECKF(took < 5000000000ull, "woke after %.0f ms", took / 1e6);
	CHECK(inforeg_generation(r) == 99 && inforeg_writer_alive(r) == 1);
	CHECK(inforeg_read_latest(r, inforeg_lookup(r, "s.0"), &v, NULL) == 0 && v == 500);

	/* the writer is killed (object left in place, not retired), a new one replaces it:
	 * the replacement retires the old object, which wakes the sleeper at once */
	struct successor k = {.delay_ms = 100, .killed = 1};
	CHECK(inforeg_read_latest(r, inforeg_lookup(r, "s.0"), &v, &m) == 0);
	pthread_create(&th, NULL, start_successor, &k);
	t0 = mono();
	c0 = cpu_ns();
	rc = inforeg_wait(r, m.seq + 5, 10000); /* nothing of the old writer will satisfy it */
	took = mono() - t0;
	cpu = cpu_ns() - c0;
	pthread_join(th, NULL);
	CHECK(rc == 0); /* new generation: new data */
	CHECKF(took < 5000000000ull, "woke after %.0f ms", took / 1e6);
	CHECKF(cpu < 100000000ull, "%.1f ms of CPU", cpu / 1e6);
	inforeg_close(r);
	shm_object_unmap(&s.o); /* replaced by k.o, which retired it */
	drop(&k.o);
}

/* ---- item 5: rename first, then retire ----------------------------------------- */

struct watcher {
	struct shm_object *old;
	atomic_int go, done;
	int bad; /* saw the old object retired while NAME still named it */
	ino_t old_ino;
};

static void *watch_retire(void *arg)
{
	struct watcher *w = arg;
	atomic_store(&w->go, 1);
	while (!(atomic_load_explicit(&w->old->hdr->flags, memory_order_acquire) & INFOREG_F_RETIRED))
		if (atomic_load(&w->done))
			return NULL;
	struct stat st;
	if (stat(PATH, &st) != 0 || st.st_ino == w->old_ino)
		w->bad = 1;
	return NULL;
}

struct follower {
	struct inforeg_reader *r;
	int h;
	atomic_int stop;
	long reads, stale, other;
};

static void *follow_reads(void *arg)
{
	struct follower *f = arg;
	double v;
	while (!atomic_load(&f->stop)) {
		int e = inforeg_read_latest(f->r, f->h, &v, NULL);
		f->reads++;
		if (e == -ESTALE)
			f->stale++;
		else if (e != 0)
			f->other++;
	}
	return NULL;
}

static void test_rename_then_retire(void)
{
	struct shm_object cur;
	CHECK(publish(&cur, 3, 3, 1) == 0);
	put(&cur, 1);
	struct inforeg_reader *r = inforeg_open(NAME, 0);
	if (!r)
		return;
	struct follower f = {.r = r, .h = inforeg_lookup(r, "s.0")};
	pthread_t fth;
	pthread_create(&fth, NULL, follow_reads, &f);
	int bad = 0;
	for (int i = 0; i < 100; i++) {
		struct stat st;
		stat(PATH, &st);
		struct watcher w = {.old = &cur, .old_ino = st.st_ino};
		pthread_t th;
		pthread_create(&th, NULL, watch_retire, &w);
		while (!atomic_load(&w.go))
			sched_yield();
		struct shm_object next;
		/* same writer, new layout, its first sample in place before it is visible */
		CHECK(publish_with_sample(&next, 3, 3, (uint64_t)i + 2, 10 + i) == 0);
		atomic_store(&w.done, 1);
		pthread_join(th, NULL);
		bad += w.bad;
		shm_object_unmap(&cur);
		cur = next;
		usleep(2000);
	}
	atomic_store(&f.stop, 1);
	pthread_join(fth, NULL);
	CHECKF(bad == 0, "%d of 100 replacements retired the old object before the new one was in place",
	       bad);
	CHECKF(f.stale == 0 && f.other == 0, "%ld reads: %ld -ESTALE, %ld other errors", f.reads, f.stale,
	       f.other);
	double v;
	CHECK(inforeg_read_latest(r, f.h, &v, NULL) == 0 && v == 109);
	inforeg_close(r);
	drop(&cur);
}

/* ---- item 4: ring_carry ------------------------------------------------------- */

static void test_carry(void)
{
	struct ring_params pa = {.series_count = 3, .capacity = 8, .generation = 1, .first_pos = 100};
	size_t sa = ring_size(&pa);
	struct inforeg_shm_header *a = aligned_alloc(4096, sa);
	CHECK(ring_init(a, sa, &pa) == 0);
	const char *na[] = {"x", "y", "z"};
	for (int i = 0; i < 3; i++)
		snprintf(ring_dir(a)[i].name, INFOREG_NAME_MAX, "%s", na[i]);
	for (int k = 0; k < 20; k++) { /* positions 100..119; the ring holds 112..119 */
		double v[3] = {k, 100 + k, 200 + k};
		ring_publish(a, v, 1000 + (uint64_t)k, 2000 + (uint64_t)k);
	}
	/* the successor: z kept, w new, x kept, y gone; a smaller ring (4 slots) */
	struct ring_params pb = {.series_count = 3, .capacity = 4, .generation = 1, .first_pos = 120 - 4};
	size_t sb = ring_size(&pb);
	struct inforeg_shm_header *b = aligned_alloc(4096, sb);
	CHECK(ring_init(b, sb, &pb) == 0);
	const char *nb[] = {"z", "w", "x"};
	for (int i = 0; i < 3; i++)
		snprintf(ring_dir(b)[i].name, INFOREG_NAME_MAX, "%s", nb[i]);
	int32_t map[3] = {2, -1, 0};
	double scratch[6];
	CHECK(ring_carry(b, a, map, scratch) == 4);
	CHECK(ring_head(b) == ring_head(a) && ring_head(b) == 120);
	for (uint64_t p = 116; p < 120; p++) {
		double v[3];
		uint64_t rt, mo;
		CHECK(ring_read_at(b, p, 0, 3, v, &rt, &mo) == 0);
		int k = (int)(p - 100);
		CHECK(v[0] == 200 + k && isnan(v[1]) && v[2] == k && rt == 1000 + (uint64_t)k &&
		      mo == 2000 + (uint64_t)k);
	}
	double v[3] = {1, 2, 3};
	ring_publish(b, v, 0, 0);
	CHECK(ring_head(b) == 121); /* the sequence goes on */
	free(a);
	free(b);
}

/* ---- item 9: hostile headers ------------------------------------------------------ */

static void test_hostile_headers(void)
{
	struct ring_params p = {.series_count = 8, .capacity = 8, .generation = 1};
	size_t size = ring_size(&p);
	struct inforeg_shm_header *h = aligned_alloc(4096, size), *g = aligned_alloc(4096, size);
	CHECK(ring_init(h, size, &p) == 0);
	CHECK(ring_check(h, size) == 0);
	CHECK(ring_check(NULL, size) == -EPROTO);
	CHECK(ring_check(h, sizeof(*h) - 1) == -EPROTO);
	static const char *const what[] = {
	    "dir_offset wraps", "doc_offset wraps", "ring_offset wraps", "ring_offset far out",
	    "series_count makes the directory wrap", "capacity * slot_size overflows 64 bits",
	    "capacity not a power of two", "capacity 0", "slot too small for its values",
	    "slot_size not a multiple of 64", "total_size beyond the mapping", "total_size wraps",
	    "directory overlaps the header", "documents overlap the directory",
	    "slots overlap the documents", "misaligned ring", "header_size too small",
	    "header_size beyond the object",
	};
	for (int i = 0; i < (int)(sizeof(what) / sizeof(what[0])); i++) {
		memcpy(g, h, size);
		struct inforeg_shm_header *x = g;
		switch (i) {
		case 0: x->dir_offset = UINT64_MAX - 200; break;
		case 1: x->doc_offset = UINT64_MAX - 4096; break;
		case 2: x->ring_offset = UINT64_MAX - 63; break;
		case 3: x->ring_offset = 1ull << 62; break;
		case 4: x->series_count = UINT32_MAX; x->slot_size = UINT32_MAX & ~63u; break;
		case 5: x->capacity = 1u << 30; x->slot_size = UINT32_MAX & ~63u; break;
		case 6: x->capacity = 6; break;
		case 7: x->capacity = 0; break;
		case 8: x->slot_size = 64; break;
		case 9: x->slot_size += 8; break;
		case 10: x->total_size += 4096; break;
		case 11: x->total_size = UINT64_MAX; break;
		case 12: x->dir_offset = 64; break;
		case 13: x->doc_offset = x->dir_offset + 8; break;
		case 14: x->ring_offset = x->doc_offset + 64; break;
		case 15: x->ring_offset += 4; break;
		case 16: x->header_size = 8; break;
		case 17: x->header_size = UINT32_MAX & ~7u; break;
		}
		int e = ring_check(g, size);
		CHECKF(e == -EINVAL || e == -EPROTO, "%s: ring_check says %d", what[i], e);
	}
	/* compatible minor versions are accepted (a longer header must still end before
	 * the directory) */
	memcpy(g, h, size);
	g->layout_minor = 7;
	CHECK(ring_check(g, size) == 0);
	g->header_size = (uint32_t)g->dir_offset;
	CHECK(ring_check(g, size) == 0);
	g->header_size = (uint32_t)g->dir_offset + 8;
	CHECK(ring_check(g, size) == -EINVAL);
	g->layout_version = INFOREG_LAYOUT_VERSION + 1; /* another major is not */
	CHECK(ring_check(g, size) == -EPROTO);
	free(h);
	free(g);

	/* a truncated object on disk, and one owned by someone else */
	struct shm_object o;
	CHECK(publish(&o, 3, 4, 1) == 0);
	CHECK(truncate(PATH, (off_t)o.size - 4096) == 0);
	errno = 0;
	CHECK(inforeg_open(NAME, 0) == NULL && errno == EINVAL);
	CHECK(truncate(PATH, 100) == 0);
	CHECK(inforeg_open(NAME, 0) == NULL && errno == EPROTO);
	shm_object_unmap(&o);
	unlink(PATH);
	CHECK(publish(&o, 3, 4, 1) == 0);
	struct inforeg_reader *r = inforeg_open(NAME, 0);
	CHECK(r != NULL);
	inforeg_close(r);
	if (geteuid() == 0) {
		CHECK(chown(PATH, 65534, (gid_t)-1) == 0);
		errno = 0;
		CHECK(inforeg_open(NAME, 0) == NULL && errno == EPERM);
		setenv("INFOREG_SHM_UID", "65534", 1); /* a daemon run as that user */
		r = inforeg_open(NAME, 0);
		CHECK(r != NULL);
		inforeg_close(r);
		unsetenv("INFOREG_SHM_UID");
	}
	drop(&o);
}

/* ---- item 2: the lock file ------------------------------------------------------- */

static void test_lock_file(void)
{
	char lock[160], target[160];
	snprintf(lock, sizeof(lock), "/dev/shm/%s.lock", NAME);
	snprintf(target, sizeof(target), "/tmp/%s.target", NAME);
	FILE *t = fopen(target, "w");
	fputs("precious\n", t);
	fclose(t);
	CHECK(symlink(target, lock) == 0);
	pid_t owner;
	uid_t fu;
	CHECK(shm_lock_acquire(NAME, &owner, &fu) == -ELOOP);
	char buf[32] = "";
	t = fopen(target, "r");
	CHECK(t && fgets(buf, sizeof(buf), t) && !strcmp(buf, "precious\n")); /* untouched */
	if (t)
		fclose(t);
	unlink(lock);
	unlink(target);

	int fd = shm_lock_acquire(NAME, &owner, &fu);
	CHECK(fd >= 0);
	struct stat st;
	CHECK(stat(lock, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_uid == geteuid());
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(shm_lock_acquire(NAME, &owner, &fu) == -EBUSY && owner == getpid());
	shm_lock_release(NAME, fd);
	CHECK(access(lock, F_OK) != 0);

	if (geteuid() == 0) { /* a lock file someone else owns (and could flock) is refused */
		fd = open(lock, O_CREAT | O_WRONLY, 0666);
		CHECK(fd >= 0 && fchown(fd, 65534, 65534) == 0);
		close(fd);
		CHECK(shm_lock_acquire(NAME, &owner, &fu) == -EPERM && fu == 65534);
		unlink(lock);
	}
}

/* ---- item 1: a full /dev/shm ------------------------------------------------------ */

static void test_full_shm(void)
{
	if (geteuid() != 0) {
		printf("# not root: the private tmpfs part is skipped\n");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* a private mount namespace with a 1 MiB tmpfs over /dev/shm */
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m") < 0) {
			perror("namespace");
			_exit(2);
		}
		struct inforeg_series_desc d[64];
		memset(d, 0, sizeof(d));
		struct ring_params p = {.series_count = 64, .capacity = 4096, .generation = 1};
		struct shm_pending pend;
		int e = shm_object_create(NAME, &p, d, 0644, (gid_t)-1, &pend); /* ~2.2 MB */
		int left = 0;
		char tmp[160];
		snprintf(tmp, sizeof(tmp), "/dev/shm/%s.new.%d", NAME, (int)getpid());
		left = access(tmp, F_OK) == 0;
		/* a small one still fits */
		p.capacity = 16;
		struct shm_object o;
		int e2 = shm_object_publish(NAME, &p, d, 0644, (gid_t)-1, &o);
		double v64[64] = {0};
		if (e2 == 0)
			ring_publish(o.hdr, v64, 1, 1); /* touches its pages: must not SIGBUS */
		_exit(e == -ENOSPC && !left && e2 == 0 ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
}

int main(void)
{
	snprintf(NAME, sizeof(NAME), "inforeg-test-life-%d", (int)getpid());
	snprintf(PATH, sizeof(PATH), "/dev/shm/%s", NAME);
	RUN(test_null_and_bad_handles);
	RUN(test_wait_after_exit);
	RUN(test_rename_then_retire);
	RUN(test_carry);
	RUN(test_hostile_headers);
	RUN(test_lock_file);
	RUN(test_full_shm);
	TAP_EXIT();
}
