// SPDX-License-Identifier: MIT
/*
 * reader.c - libinforeg: the client side of the registry (include/inforeg.h).
 *
 * A reader holds the current mapping (struct mapping) behind one atomic pointer.
 * Reads load that pointer, check the retired flag (same cache line as head) and run
 * the ring protocol: no lock, no system call. When the writer retires the object
 * (restart, new series set), the first reader thread to notice takes the reader's
 * mutex, maps the successor, re-binds every handle by name into a new mapping and
 * publishes it with a store-release. Other threads may still be reading the retired
 * mapping, so its address range must stay readable: follow() replaces the retired
 * object's pages in place (mmap MAP_FIXED) with a private read-only page range holding
 * a header that says "retired, empty". That releases the object's memory at once (an
 * unlinked shm object lives as long as someone maps it), while a late reader of the
 * old range reads RETIRED/-EAGAIN, never a fault and never a torn value (every seqlock
 * word there is 0, which validates no position). The small private struct mapping is
 * kept until inforeg_close() (HANDLE_MAX * 4 bytes per layout change).
 *
 * The writer renames a successor into place before it retires the old object, so a
 * reader that sees the retired flag re-opens at once and finds it. Only when there is
 * no successor (the writer exited) are re-open attempts rate-limited (REOPEN_RETRY_NS),
 * and inforeg_wait() then sleeps instead of returning early.
 *
 * Every public function accepts a NULL reader (-EINVAL, or 0/NaN with errno = EINVAL
 * for those returning a value) and a handle it never issued (-EINVAL).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "object.h"
#include "ring.h"

#define HANDLE_MAX	1024
#define REOPEN_RETRY_NS 50000000ull /* a retired object with no successor: retry every 50 ms */
#define WAIT_STEP_NS	20000000ull /* inforeg_wait without a live writer: look again every 20 ms */
#define FOLLOW_CHAIN	8	    /* successors found already retired in a row before giving up */

struct mapping {
	struct shm_object obj;
	/* copies of immutable header fields, in private memory next to hidx[]: the fast
	 * path touches the header's hot line (head, flags) and the slot, nothing else */
	const char *slots;
	uint64_t mask, first_pos;
	uint32_t slot_size;
	dev_t dev;
	ino_t ino;
	struct mapping *older;			  /* retired mappings, unmapped at close */
	INFOREG_ATOMIC(int32_t) hidx[HANDLE_MAX]; /* handle -> directory index, -1: absent */
};

struct inforeg_reader {
	_Atomic(struct mapping *) cur; /* store-release in follow(), load-acquire in readers */
	pthread_mutex_t lock;	       /* lookups and re-opens */
	char name[256];
	unsigned flags;
	INFOREG_ATOMIC(int) nhandles; /* store-release after hname[h] is set */
	char *hname[HANDLE_MAX];
	INFOREG_ATOMIC(uint64_t) reopens;
	INFOREG_ATOMIC(uint64_t) next_try_ns; /* rate limit for a successor-less retired object */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Replaces the pages of retired mapping M with a private read-only range of the same
 * size whose header reads retired and empty (see the file comment). On failure the
 * old object simply stays mapped until close.
 */
static void release_retired(struct mapping *m)
{
	const struct inforeg_shm_header *old = m->obj.hdr;
	/* build the replacement aside, then move it over the old range in one step
	 * (mremap MREMAP_FIXED): a late reader sees either the old object or the tomb */
	void *p = mmap(NULL, m->obj.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	struct inforeg_shm_header *h = p;
	memcpy(h, old, offsetof(struct inforeg_shm_header, head)); /* the immutable part */
	/* the writer bumped the futex word for the last time when it retired the object:
	 * a thread that read any value of it and is about to FUTEX_WAIT on this address
	 * must find a different one there, or it would sleep on a page nobody wakes */
	uint32_t fw = atomic_load_explicit(&((struct inforeg_shm_header *)old)->futex, memory_order_acquire);
	atomic_store_explicit(&h->head, h->first_pos, memory_order_relaxed); /* empty */
	atomic_store_explicit(&h->flags, INFOREG_F_RETIRED, memory_order_relaxed);
	atomic_store_explicit(&h->futex, fw + 1, memory_order_relaxed);
	if (mprotect(p, m->obj.size, PROT_READ) < 0 ||
	    mremap(p, m->obj.size, m->obj.size, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)old) == MAP_FAILED)
		munmap(p, m->obj.size); /* the old object simply stays mapped until close */
}

static int dir_find(const struct inforeg_shm_header *h, const char *name)
{
	const struct inforeg_series_desc *d = ring_dir(h);
	for (uint32_t i = 0; i < h->series_count; i++)
		if (strncmp(d[i].name, name, INFOREG_NAME_MAX) == 0)
			return (int)i;
	return -ENOENT;
}

static struct mapping *mapping_open(const char *name, int *err)
{
	struct mapping *m = calloc(1, sizeof(*m));
	if (!m) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = shm_object_map_ro(name, &m->obj, &m->dev, &m->ino);
	if (*err) {
		free(m);
		return NULL;
	}
	for (int i = 0; i < HANDLE_MAX; i++)
		atomic_store_explicit(&m->hidx[i], -1, memory_order_relaxed);
	const struct inforeg_shm_header *h = m->obj.hdr;
	m->slots = (const char *)h + h->ring_offset;
	m->mask = h->capacity - 1;
	m->first_pos = h->first_pos;
	m->slot_size = h->slot_size;
	return m;
}

static inline int is_retired(const struct mapping *m)
{
	return atomic_load_explicit(&m->obj.hdr->flags, memory_order_acquire) & INFOREG_F_RETIRED;
}

struct inforeg_reader *inforeg_open(const char *name, unsigned flags)
{
	if (!name)
		name = getenv("INFOREG_SHM") ? getenv("INFOREG_SHM") : INFOREG_DEFAULT_SHM;
	if (strlen(name) >= sizeof(((struct inforeg_reader *)0)->name)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	struct inforeg_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	int err;
	struct mapping *m = mapping_open(name, &err);
	if (!m) {
		free(r);
		errno = -err;
		return NULL;
	}
	strcpy(r->name, name);
	r->flags = flags;
	pthread_mutex_init(&r->lock, NULL);
	atomic_store_explicit(&r->cur, m, memory_order_release);
	return r;
}

void inforeg_close(struct inforeg_reader *r)
{
	if (!r)
		return;
	struct mapping *m = atomic_load_explicit(&r->cur, memory_order_acquire);
	while (m) {
		struct mapping *o = m->older;
		shm_object_unmap(&m->obj);
		free(m);
		m = o;
	}
	int n = atomic_load_explicit(&r->nhandles, memory_order_acquire);
	for (int i = 0; i < n; i++)
		free(r->hname[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/*
 * Follows the writer from retired mapping OLD to the object now at the name.
 * Returns INFOREG_CHANGED_* (> 0), 0 if someone else already did, or -ESTALE when
 * there is no successor yet (rate-limited so a dead writer costs no syscall per read).
 */
static int follow(struct inforeg_reader *r, struct mapping *old)
{
	if (r->flags & INFOREG_OPEN_NOREOPEN)
		return -ESTALE;
	uint64_t now = mono_ns();
	if (now < atomic_load_explicit(&r->next_try_ns, memory_order_relaxed))
		return -ESTALE;
	pthread_mutex_lock(&r->lock);
	int ret;
	if (atomic_load_explicit(&r->cur, memory_order_relaxed) != old) {
		ret = 0; /* another thread moved on already */
		goto out;
	}
	int err;
	struct mapping *m = NULL;
	/* the writer renamed the successor into place before retiring OLD: it is there now.
	 * A successor already retired in turn (two quick replacements) is skipped at once. */
	for (int k = 0; k < FOLLOW_CHAIN; k++) {
		m = mapping_open(r->name, &err);
		if (!m || (m->dev == old->dev && m->ino == old->ino) || !is_retired(m))
			break;
		shm_object_unmap(&m->obj);
		free(m);
		m = NULL;
	}
	if (!m || (m->dev == old->dev && m->ino == old->ino)) {
		if (m) {
			shm_object_unmap(&m->obj);
			free(m);
		}
		atomic_store_explicit(&r->next_try_ns, now + REOPEN_RETRY_NS, memory_order_relaxed);
		ret = -ESTALE;
		goto out;
	}
	int n = atomic_load_explicit(&r->nhandles, memory_order_relaxed);
	for (int i = 0; i < n; i++) {
		int idx = dir_find(m->obj.hdr, r->hname[i]);
		atomic_store_explicit(&m->hidx[i], idx >= 0 ? idx : -1, memory_order_relaxed);
	}
	ret = 0;
	if (m->obj.hdr->generation != old->obj.hdr->generation)
		ret |= INFOREG_CHANGED_GENERATION;
	if (m->obj.hdr->layout_serial != old->obj.hdr->layout_serial || ret & INFOREG_CHANGED_GENERATION)
		ret |= INFOREG_CHANGED_LAYOUT;
	m->older = old;
	atomic_fetch_add_explicit(&r->reopens, 1, memory_order_relaxed);
	/* pairs with the load-acquire in current(): hidx[] and the mapping are complete */
	atomic_store_explicit(&r->cur, m, memory_order_release);
	release_retired(old);
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* The mapping to read, following a retirement first. *STALE is set when retired
 * without a successor (the old mapping is still returned: its data stays valid). */
static inline struct mapping *current(struct inforeg_reader *r, int *stale)
{
	struct mapping *m = atomic_load_explicit(&r->cur, memory_order_acquire);
	*stale = 0;
	if (__builtin_expect(is_retired(m), 0)) {
		if (follow(r, m) < 0)
			*stale = 1;
		m = atomic_load_explicit(&r->cur, memory_order_acquire);
	}
	return m;
}

int inforeg_refresh(struct inforeg_reader *r)
{
	if (!r)
		return -EINVAL;
	struct mapping *m = atomic_load_explicit(&r->cur, memory_order_acquire);
	if (!is_retired(m))
		return 0;
	atomic_store_explicit(&r->next_try_ns, 0, memory_order_relaxed);
	return follow(r, m);
}

int inforeg_lookup(struct inforeg_reader *r, const char *name)
{
	if (!r || !name)
		return -EINVAL;
	int stale;
	struct mapping *m = current(r, &stale);
	pthread_mutex_lock(&r->lock);
	m = atomic_load_explicit(&r->cur, memory_order_relaxed);
	int n = atomic_load_explicit(&r->nhandles, memory_order_relaxed), ret;
	for (int i = 0; i < n; i++)
		if (strcmp(r->hname[i], name) == 0) {
			ret = atomic_load_explicit(&m->hidx[i], memory_order_relaxed) >= 0 ? i : -ENOENT;
			goto out;
		}
	int idx = dir_find(m->obj.hdr, name);
	if (idx < 0) {
		ret = -ENOENT;
		goto out;
	}
	if (n >= HANDLE_MAX) {
		ret = -ENOSPC;
		goto out;
	}
	r->hname[n] = strdup(name);
	if (!r->hname[n]) {
		ret = -ENOMEM;
		goto out;
	}
	atomic_store_explicit(&m->hidx[n], idx, memory_order_relaxed);
	/* pairs with the load-acquire of nhandles in the read path */
	atomic_store_explicit(&r->nhandles, n + 1, memory_order_release);
	ret = n;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* Directory index of handle H: -EINVAL for a handle never issued, -ENOENT for one
 * whose series is not in the current object. */
static inline int handle_index(struct inforeg_reader *r, struct mapping *m, int h)
{
	if ((unsigned)h >= (unsigned)atomic_load_explicit(&r->nhandles, memory_order_acquire))
		return -EINVAL;
	int idx = atomic_load_explicit(&m->hidx[h], memory_order_relaxed);
	return idx >= 0 ? idx : -ENOENT;
}

int inforeg_handle_index(struct inforeg_reader *r, int h)
{
	if (!r)
		return -EINVAL;
	int stale;
	return handle_index(r, current(r, &stale), h);
}

int inforeg_series_count(struct inforeg_reader *r)
{
	if (!r)
		return -EINVAL;
	int stale;
	return (int)current(r, &stale)->obj.hdr->series_count;
}

int inforeg_series_get(struct inforeg_reader *r, int idx, struct inforeg_series_info *out)
{
	if (!r || !out)
		return -EINVAL;
	int stale;
	const struct inforeg_shm_header *h = current(r, &stale)->obj.hdr;
	if (idx < 0 || (uint32_t)idx >= h->series_count)
		return -ENOENT;
	const struct inforeg_series_desc *d = &ring_dir(h)[idx];
	memcpy(out->name, d->name, sizeof(out->name));
	memcpy(out->unit, d->unit, sizeof(out->unit));
	memcpy(out->help, d->help, sizeof(out->help));
	out->name[sizeof(out->name) - 1] = out->unit[sizeof(out->unit) - 1] = 0;
	out->help[sizeof(out->help) - 1] = 0;
	out->kind = d->kind;
	return 0;
}

static void fill_meta(const struct inforeg_shm_header *h, uint64_t pos, struct inforeg_meta *meta)
{
	struct inforeg_slot_header *s = ring_slot(h, pos);
	meta->seq = pos;
	meta->realtime_ns = atomic_load_explicit(&s->realtime_ns, memory_order_acquire);
	meta->monotonic_ns = atomic_load_explicit(&s->monotonic_ns, memory_order_acquire);
	meta->generation = h->generation;
}

/* inforeg_read_latest() when something is unusual: metadata wanted, the object
 * retired, an unbound handle. */
static int read_latest_slow(struct inforeg_reader *r, int h, double *value, struct inforeg_meta *meta)
{
	int stale;
	struct mapping *m = current(r, &stale);
	int idx = handle_index(r, m, h);
	if (idx < 0)
		return idx;
	for (int tries = 0; tries < RING_READ_TRIES; tries++) {
		uint64_t head = ring_head(m->obj.hdr);
		if (head == m->first_pos)
			return -EAGAIN;
		uint64_t rt, mono;
		int e = ring_read_at(m->obj.hdr, head - 1, (uint32_t)idx, 1, value, &rt, &mono);
		if (e == 0) {
			if (meta) {
				meta->seq = head - 1;
				meta->realtime_ns = rt;
				meta->monotonic_ns = mono;
				meta->generation = m->obj.hdr->generation;
			}
			return stale ? -ESTALE : 0;
		}
	}
	return -EAGAIN; /* the writer kept lapping us: no validated value */
}

int inforeg_read_latest(struct inforeg_reader *r, int h, double *value, struct inforeg_meta *meta)
{
	if (__builtin_expect(!r || !value, 0))
		return -EINVAL;
	/* pairs with the store-release in follow(): hidx[] and the copies are complete */
	struct mapping *m = atomic_load_explicit(&r->cur, memory_order_acquire);
	if (__builtin_expect(meta != NULL || (unsigned)h >= HANDLE_MAX, 0))
		return read_latest_slow(r, h, value, meta);
	/* relaxed: the handle came from inforeg_lookup(), which set this entry before
	 * returning it (a thread using a handle is ordered after that lookup) */
	int idx = atomic_load_explicit(&m->hidx[h], memory_order_relaxed);
	struct inforeg_shm_header *hdr = m->obj.hdr;
	for (int tries = 0; tries < RING_READ_TRIES; tries++) {
		uint64_t head = ring_head(hdr); /* R1, pairs with W5 */
		/* same cache line as head; relaxed is enough to notice: follow() re-reads
		 * everything it needs under the lock with acquire */
		uint32_t flags = atomic_load_explicit(&hdr->flags, memory_order_relaxed);
		if (__builtin_expect(idx < 0 || (flags & INFOREG_F_RETIRED), 0))
			return read_latest_slow(r, h, value, NULL);
		if (__builtin_expect(head == m->first_pos, 0))
			return -EAGAIN;
		uint64_t p = head - 1;
		struct inforeg_slot_header *s =
		    (struct inforeg_slot_header *)(m->slots + (size_t)(p & m->mask) * m->slot_size);
		uint64_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire); /* R2, pairs with W4 */
		if (__builtin_expect(s1 != 2 * p + 2, 0))
			continue; /* lapped: reload head */
		/* R3, pairs with W2 */
		uint64_t x = atomic_load_explicit(&ring_slot_values(s)[idx], memory_order_acquire);
		if (__builtin_expect(atomic_load_explicit(&s->seq, memory_order_relaxed) != s1, 0))
			continue; /* R4 */
		*value = ring_double(x);
		return 0;
	}
	return -EAGAIN;
}

int inforeg_fast_bind(struct inforeg_reader *r, int h, struct inforeg_fast *f)
{
	if (!r || !f)
		return -EINVAL;
	int stale;
	struct mapping *m = current(r, &stale);
	int idx = handle_index(r, m, h);
	if (idx < 0)
		return idx;
	f->hdr = m->obj.hdr;
	f->slots = m->slots;
	f->mask = m->mask;
	f->first_pos = m->first_pos;
	f->slot_size = m->slot_size;
	f->idx = (uint32_t)idx;
	return stale ? -ESTALE : 0;
}

int inforeg_read_sample(struct inforeg_reader *r, double *values, size_t n, struct inforeg_meta *meta)
{
	if (!r || (!values && n))
		return -EINVAL;
	int stale;
	struct mapping *m = current(r, &stale);
	const struct inforeg_shm_header *h = m->obj.hdr;
	uint32_t count = h->series_count, take = n < count ? (uint32_t)n : count;
	for (int tries = 0; tries < RING_READ_TRIES; tries++) {
		uint64_t head = ring_head(h);
		if (head == h->first_pos)
			return -EAGAIN;
		uint64_t rt, mono;
		if (ring_read_at(h, head - 1, 0, take, values, &rt, &mono) != 0)
			continue; /* lapped while copying: take the newer one */
		if (meta) {
			meta->seq = head - 1;
			meta->realtime_ns = rt;
			meta->monotonic_ns = mono;
			meta->generation = h->generation;
		}
		return stale ? -ESTALE : (int)count;
	}
	return -EAGAIN;
}

int inforeg_view_latest(struct inforeg_reader *r, struct inforeg_view *v)
{
	if (!r || !v)
		return -EINVAL;
	int stale;
	struct mapping *m = current(r, &stale);
	const struct inforeg_shm_header *h = m->obj.hdr;
	for (int tries = 0; tries < RING_READ_TRIES; tries++) {
		uint64_t head = ring_head(h);
		if (head == h->first_pos)
			return -EAGAIN;
		uint64_t p = head - 1;
		struct inforeg_slot_header *s = ring_slot(h, p);
		uint64_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire); /* R2 */
		if (s1 != 2 * p + 2)
			continue;
		v->slot = s;
		v->seq_word = s1;
		v->count = h->series_count;
		fill_meta(h, p, &v->meta);
		if (!inforeg_view_valid(v))
			continue;
		return stale ? -ESTALE : 0;
	}
	return -EAGAIN;
}

double inforeg_view_value(const struct inforeg_view *v, uint32_t idx)
{
	if (!v || !v->slot || idx >= v->count)
		return __builtin_nan("");
	struct inforeg_slot_header *s = (struct inforeg_slot_header *)v->slot;
	/* R3: acquire, so that inforeg_view_valid()'s R4 cannot pass it */
	return ring_double(atomic_load_explicit(&ring_slot_values(s)[idx], memory_order_acquire));
}

int inforeg_view_valid(const struct inforeg_view *v)
{
	if (!v || !v->slot)
		return 0;
	struct inforeg_slot_header *s = (struct inforeg_slot_header *)v->slot;
	return atomic_load_explicit(&s->seq, memory_order_relaxed) == v->seq_word; /* R4 */
}

uint64_t inforeg_head(struct inforeg_reader *r)
{
	if (!r) {
		errno = EINVAL;
		return 0;
	}
	int stale;
	return ring_head(current(r, &stale)->obj.hdr);
}

int inforeg_read_history(struct inforeg_reader *r, int hd, uint64_t since, double *values,
			 struct inforeg_meta *metas, size_t n, uint64_t *next_seq)
{
	if (!r)
		return -EINVAL;
	int stale;
	struct mapping *m = current(r, &stale);
	const struct inforeg_shm_header *h = m->obj.hdr;
	int idx = -1;
	if (values) {
		idx = handle_index(r, m, hd);
		if (idx < 0)
			return idx;
	}
	uint64_t head = ring_head(h);
	uint64_t oldest = head - h->first_pos > h->capacity ? head - h->capacity : h->first_pos;
	uint64_t p = (int64_t)(since - oldest) > 0 ? since : oldest;
	size_t got = 0;
	for (; (int64_t)(head - p) > 0 && got < n; p++) {
		double v;
		uint64_t rt, mono;
		int e = values ? ring_read_at(h, p, (uint32_t)idx, 1, &v, &rt, &mono)
			       : ring_read_at(h, p, 0, 0, &v, &rt, &mono);
		if (e)
			continue; /* overwritten while we walked: skip it */
		if (values)
			values[got] = v;
		if (metas) {
			metas[got].seq = p;
			metas[got].realtime_ns = rt;
			metas[got].monotonic_ns = mono;
			metas[got].generation = h->generation;
		}
		got++;
	}
	if (next_seq)
		*next_seq = p;
	return (int)got;
}

uint64_t inforeg_seq_at_time(struct inforeg_reader *r, uint64_t realtime_ns)
{
	if (!r) {
		errno = EINVAL;
		return 0;
	}
	int stale;
	const struct inforeg_shm_header *h = current(r, &stale)->obj.hdr;
	uint64_t head = ring_head(h);
	uint64_t lo = head - h->first_pos > h->capacity ? head - h->capacity : h->first_pos;
	/* binary search over [lo, head): timestamps rise with position */
	uint64_t n = head - lo;
	while (n > 0) {
		uint64_t half = n / 2, mid = lo + half, rt;
		double dummy;
		if (ring_read_at(h, mid, 0, 0, &dummy, &rt, NULL) == 0 && rt < realtime_ns) {
			lo = mid + 1;
			n -= half + 1;
		} else {
			n = half;
		}
	}
	return lo;
}

/*
 * Sleeps on the futex word of H until it changes from W or NS nanoseconds pass.
 * Returns -EINTR on a signal, 0 otherwise.
 */
static int futex_sleep(const struct inforeg_shm_header *h, uint32_t w, uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)};
	/* UINT64_MAX: no timeout */
	if (syscall(SYS_futex, (uint32_t *)&h->futex, FUTEX_WAIT, w, ns == UINT64_MAX ? NULL : &ts, NULL, 0) <
		0 &&
	    errno == EINTR)
		return -EINTR;
	return 0;
}

int inforeg_wait(struct inforeg_reader *r, uint64_t after_seq, int timeout_ms)
{
	if (!r)
		return -EINVAL;
	uint64_t deadline = timeout_ms >= 0 ? mono_ns() + (uint64_t)timeout_ms * 1000000ull : UINT64_MAX;
	struct mapping *m0 = atomic_load_explicit(&r->cur, memory_order_acquire);
	for (;;) {
		int stale;
		struct mapping *m = current(r, &stale);
		const struct inforeg_shm_header *h = m->obj.hdr;
		if (m != m0) {
			/* followed the writer to a new object. A restarted writer starts its own
			 * sequence: whatever it has is new. The same writer's new layout continues
			 * the sequence (and the history): keep waiting for AFTER_SEQ + 1 there. */
			if (h->generation != m0->obj.hdr->generation)
				return 0;
			m0 = m;
		}
		/* R5: pairs with W6; the word is read before head so a publish between
		 * the two makes FUTEX_WAIT return at once instead of sleeping */
		uint32_t w =
		    atomic_load_explicit(&((struct inforeg_shm_header *)h)->futex, memory_order_acquire);
		uint64_t head = ring_head(h);
		if (head != h->first_pos && (int64_t)(head - 1 - after_seq) > 0)
			return 0;
		uint64_t now = mono_ns();
		if (now >= deadline)
			return stale ? -ESTALE : -ETIMEDOUT;
		uint64_t left = deadline == UINT64_MAX ? UINT64_MAX : deadline - now;
		if (stale) {
			/* retired, no successor yet (the writer exited): sleep in short steps and
			 * look for a successor after each, never returning before the deadline. A
			 * successor that retires a killed writer's object wakes us at once. */
			if (left > WAIT_STEP_NS)
				left = WAIT_STEP_NS;
			atomic_store_explicit(&r->next_try_ns, 0, memory_order_relaxed);
		}
		if (futex_sleep(h, w, left) < 0)
			return -EINTR;
	}
}

/* The current header, or NULL with errno = EINVAL for a NULL reader. */
static const struct inforeg_shm_header *hdr_of(struct inforeg_reader *r)
{
	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	return atomic_load_explicit(&r->cur, memory_order_acquire)->obj.hdr;
}
uint64_t inforeg_generation(struct inforeg_reader *r)
{
	const struct inforeg_shm_header *h = hdr_of(r);
	return h ? h->generation : 0;
}
uint64_t inforeg_period_ns(struct inforeg_reader *r)
{
	const struct inforeg_shm_header *h = hdr_of(r);
	return h ? h->period_ns : 0;
}
uint32_t inforeg_writer_pid(struct inforeg_reader *r)
{
	const struct inforeg_shm_header *h = hdr_of(r);
	return h ? h->writer_pid : 0;
}
uint64_t inforeg_start_realtime_ns(struct inforeg_reader *r)
{
	const struct inforeg_shm_header *h = hdr_of(r);
	return h ? h->start_realtime_ns : 0;
}
uint32_t inforeg_capacity(struct inforeg_reader *r)
{
	const struct inforeg_shm_header *h = hdr_of(r);
	return h ? h->capacity : 0;
}
uint64_t inforeg_dropped(struct inforeg_reader *r)
{
	const struct inforeg_shm_header *h = hdr_of(r);
	return h ? atomic_load_explicit(&((struct inforeg_shm_header *)h)->dropped, memory_order_relaxed) : 0;
}
uint64_t inforeg_reopens(struct inforeg_reader *r)
{
	if (!r) {
		errno = EINVAL;
		return 0;
	}
	return atomic_load_explicit(&r->reopens, memory_order_relaxed);
}

/* Inode of this process's PID namespace, 0 if unknown. */
static uint64_t own_pidns(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* 1 if process PID exists and is not a zombie, 0 if not, -1 if we cannot tell. */
static int pid_running(pid_t pid)
{
	if (pid <= 0)
		return -1;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 1; /* kill said it exists (0 or EPERM); /proc may hide it (hidepid) */
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "pid (comm) S ...": comm may hold spaces and parentheses, so use the last ')' */
	char *p = strrchr(buf, ')');
	if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return 0; /* exited, not yet reaped */
	return 1;
}

int inforeg_writer_alive(struct inforeg_reader *r)
{
	if (!r)
		return -EINVAL;
	int stale;
	const struct inforeg_shm_header *h = current(r, &stale)->obj.hdr;
	if (stale || is_retired(atomic_load_explicit(&r->cur, memory_order_acquire)))
		return 0;
	if (h->layout_minor < INFOREG_LAYOUT_MINOR_LIVENESS)
		return pid_running((pid_t)h->writer_pid) != 0; /* no pid namespace to compare */
	uint64_t ns = own_pidns();
	if (h->writer_pidns && ns && h->writer_pidns == ns) {
		int run = pid_running((pid_t)h->writer_pid);
		if (run >= 0)
			return run;
	}
	/* another PID namespace: the writer's pid means nothing here; use its heartbeat
	 * (W7, a hint loaded relaxed), allowed to be 3 periods old */
	uint64_t hb =
	    atomic_load_explicit(&((struct inforeg_shm_header *)h)->heartbeat_ns, memory_order_relaxed);
	uint64_t now = mono_ns(), period = h->period_ns ? h->period_ns : 1;
	return hb && now - hb <= 3 * period + period / 2;
}

double inforeg_age_periods(struct inforeg_reader *r)
{
	if (!r) {
		errno = EINVAL;
		return __builtin_nan("");
	}
	int stale;
	const struct inforeg_shm_header *h = current(r, &stale)->obj.hdr;
	uint64_t head = ring_head(h);
	if (head == h->first_pos)
		return __builtin_inf();
	struct inforeg_meta meta;
	fill_meta(h, head - 1, &meta);
	uint64_t now = mono_ns();
	double age = now > meta.monotonic_ns ? (double)(now - meta.monotonic_ns) : 0;
	return age / (double)(h->period_ns ? h->period_ns : 1);
}

int inforeg_is_stale(struct inforeg_reader *r, unsigned n_periods)
{
	if (!r)
		return -EINVAL;
	return inforeg_age_periods(r) > (double)n_periods;
}

int inforeg_doc_read(struct inforeg_reader *r, unsigned id, char *buf, size_t len)
{
	if (!r)
		return -EINVAL;
	int stale;
	return ring_doc_read(current(r, &stale)->obj.hdr, id, buf, len);
}
