// SPDX-License-Identifier: MIT
/*
 * publish.c - how the daemon's series set becomes a shm object, and how one object
 * replaces another without a reader losing anything.
 *
 * After a layout change (a collector called layout_changed(), a rule or watch was
 * added, a reload) every collector has re-declared its series into a fresh registry.
 * When the declared set, ring size and period equal the object's, the object stays (a
 * reload that changes nothing else costs readers nothing). Otherwise a new object is
 * built aside, gets the old one's ring history for the series it keeps (by name) and
 * continues its sequence, is renamed into place, and only then is the old one
 * retired: a follower sees no gap, and the switch costs well under a period.
 *
 * If the new object cannot be made (a full /dev/shm), the old one stays published:
 * its directory is what readers trust, so until a retry succeeds each tick's values
 * are matched to it by name (pub_map), never by position. A change that leaves the
 * series exactly as published (a rule's formula changed, not its series) keeps the
 * object, its readers and its history. loop.c calls publish_layout() at start-up and
 * reload, layout_step() after each tick's publish.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/rules.h"
#include "daemon.h"
#include "ring.h"

/* ---- publishing a layout ---------------------------------------------------- */

static struct inforeg_series_desc *descs_of(const struct series_reg *reg)
{
	struct inforeg_series_desc *descs = calloc(reg->count ? reg->count : 1, sizeof(*descs));
	if (!descs)
		return NULL;
	for (uint32_t i = 0; i < reg->count; i++) {
		memcpy(descs[i].name, reg->defs[i].name, sizeof(descs[i].name));
		memcpy(descs[i].unit, reg->defs[i].unit, sizeof(descs[i].unit));
		memcpy(descs[i].help, reg->defs[i].help, sizeof(descs[i].help));
		descs[i].kind = reg->defs[i].kind;
	}
	return descs;
}

static const struct inforeg_series_desc *sort_dir; /* qsort has no context argument */
static int by_name(const void *a, const void *b)
{
	return strncmp(sort_dir[*(const int32_t *)a].name, sort_dir[*(const int32_t *)b].name,
		       INFOREG_NAME_MAX);
}

/* MAP[j] = index in FROM (NFROM entries) of the series named as TO[j], or -1. */
static int map_by_name(int32_t *map, const struct inforeg_series_desc *to, uint32_t nto,
		       const struct inforeg_series_desc *from, uint32_t nfrom)
{
	int32_t *idx = malloc((nfrom ? nfrom : 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (uint32_t i = 0; i < nfrom; i++)
		idx[i] = (int32_t)i;
	sort_dir = from;
	qsort(idx, nfrom, sizeof(*idx), by_name);
	for (uint32_t j = 0; j < nto; j++) {
		size_t lo = 0, hi = nfrom;
		map[j] = -1;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = strncmp(to[j].name, from[idx[mid]].name, INFOREG_NAME_MAX);
			if (c == 0) {
				map[j] = idx[mid];
				break;
			}
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
	free(idx);
	return 0;
}

static uint64_t pid_namespace(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static struct ring_params params_of(struct ird *d, uint32_t n)
{
	uint64_t want = (uint64_t)d->cfg.history_s * 1000ull / d->cfg.period_ms;
	struct ring_params p = {
	    .series_count = n,
	    .capacity = ring_pow2(want > (1u << 20) ? (1u << 20) : (uint32_t)(want + 1)),
	    .period_ns = (uint64_t)d->cfg.period_ms * 1000000ull,
	    .generation = d->generation,
	    .writer_pid = (uint32_t)getpid(),
	    .start_realtime_ns = d->start_real_ns,
	    .start_monotonic_ns = d->start_mono_ns,
	    .layout_serial = d->layout_serial + 1,
	    .writer_uid = (uint32_t)geteuid(),
	    .writer_pidns = pid_namespace(),
	};
	p.capacity = ring_pow2(p.capacity);
	return p;
}

/* 1 when the published object already has exactly this series set and ring shape. */
static int object_fits(const struct ird *d, const struct inforeg_series_desc *descs,
		       const struct ring_params *p)
{
	const struct inforeg_shm_header *h = d->obj.hdr;
	return h && h->series_count == p->series_count && h->capacity == p->capacity &&
	       h->period_ns == p->period_ns && d->obj_mode == d->cfg.shm_mode &&
	       d->obj_gid == d->cfg.shm_gid &&
	       !memcmp(ring_dir(h), descs, (size_t)p->series_count * sizeof(*descs));
}

/* Publishing goes on into the current object, its values matched by name to d->reg. */
static void keep_object_by_name(struct ird *d, const struct inforeg_series_desc *descs)
{
	const struct inforeg_shm_header *h = d->obj.hdr;
	size_t n = h->series_count ? h->series_count : 1;
	/* its indices are not the registry's: derive rules get no ring history meanwhile */
	rules_bind_ring(NULL);
	int32_t *map = malloc(n * sizeof(*map));
	double *pv = malloc(n * sizeof(*pv));
	free(d->pub_map);
	free(d->pub_values);
	d->pub_map = map;
	d->pub_values = pv;
	/* no memory to match names: publish no sample rather than shifted names */
	d->pub_blocked =
	    !map || !pv || map_by_name(map, ring_dir(h), h->series_count, descs, d->reg.count) < 0;
}

void drop_pub_map(struct ird *d)
{
	/* the object is the registry again: derive rules may read its history by index */
	rules_bind_ring(d->obj.hdr);
	d->pub_blocked = 0;
	free(d->pub_map);
	free(d->pub_values);
	d->pub_map = NULL;
	d->pub_values = NULL;
}

/*
 * Puts the pending object PEND (created for DESCS/P, its pages reserved) in place of
 * the current one: re-initialises it to continue the current object's sequence (first
 * position = the oldest sample it can carry), carries the history of the series that
 * remain (by name), writes the documents, renames it over the name and retires the old
 * object. Returns 0 or -errno with ERR set (PEND is then aborted).
 */
static int finish_object(struct ird *d, struct shm_pending *pend, const struct inforeg_series_desc *descs,
			 struct ring_params p, uint64_t t0, char *err, size_t errlen)
{
	const struct inforeg_shm_header *oh = d->obj.hdr;
	int32_t *map = NULL;
	double *scratch = NULL;
	uint64_t carried = 0;
	if (oh) {
		/* continue the sequence; carry at most what the new ring holds */
		uint64_t head = ring_head(oh);
		uint64_t oldest = head - oh->first_pos > oh->capacity ? head - oh->capacity : oh->first_pos;
		if (head - oldest > p.capacity)
			oldest = head - p.capacity;
		p.first_pos = oldest;
		map = malloc((p.series_count ? p.series_count : 1) * sizeof(*map));
		scratch = malloc(((size_t)oh->series_count + p.series_count + 1) * sizeof(*scratch));
		if (!map || !scratch ||
		    map_by_name(map, descs, p.series_count, ring_dir(oh), oh->series_count) < 0) {
			snprintf(err, errlen, "out of memory");
			free(map);
			free(scratch);
			shm_object_abort(pend);
			return -ENOMEM;
		}
	}
	/* its pages are populated: laying it out again for the current head is cheap */
	ring_init(pend->obj.hdr, pend->obj.size, &p);
	memcpy(ring_dir(pend->obj.hdr), descs, (size_t)p.series_count * sizeof(*descs));
	if (oh)
		carried = ring_carry(pend->obj.hdr, oh, map, scratch);
	free(map);
	free(scratch);
	atomic_store_explicit(&pend->obj.hdr->dropped, d->dropped, memory_order_relaxed);
	ring_heartbeat(pend->obj.hdr, ird_now_mono());
	/* the documents are in place before any reader can open the object; they describe
	 * the daemon as it will be once the object is published */
	struct shm_object keep = d->obj;
	char pending[sizeof(d->layout_error)];
	memcpy(pending, d->layout_error, sizeof(pending));
	d->layout_error[0] = 0;
	d->obj = pend->obj;
	status_publish_node(d);
	status_publish(d);
	d->obj = keep;
	memcpy(d->layout_error, pending, sizeof(pending));
	struct shm_object nobj;
	int e = shm_object_commit(d->cfg.shm_name, pend, &nobj);
	if (e < 0) {
		snprintf(err, errlen, "cannot rename the new object to /dev/shm/%s: %s", d->cfg.shm_name,
			 strerror(-e));
		return e;
	}
	if (oh)
		ring_retire(d->obj.hdr); /* after the rename (commit did it too, by name) */
	shm_object_unmap(&d->obj);
	d->obj = nobj;
	d->obj_mode = d->cfg.shm_mode;
	d->obj_gid = d->cfg.shm_gid;
	d->layout_serial = p.layout_serial;
	drop_pub_map(d);
	d->layout_error[0] = 0;
	if (oh)
		ird_log("new object for %u series (%zu bytes): sequence continues at %llu, %llu samples "
			"of history carried, switched in %.1f ms",
			p.series_count, ring_size(&p), (unsigned long long)ring_head(nobj.hdr),
			(unsigned long long)carried, (double)(ird_now_mono() - t0) / 1e6);
	return 0;
}

static void create_error(struct ird *d, int e, const struct ring_params *p, char *err, size_t errlen)
{
	if (e == -ENOSPC)
		snprintf(err, errlen, "not enough space in /dev/shm: need %zu bytes", ring_size(p));
	else
		snprintf(err, errlen, "cannot create /dev/shm/%s: %s", d->cfg.shm_name, strerror(-e));
}

/*
 * Makes the declared registry d->reg the published one, now (start-up, reload). Keeps
 * the object when it already fits; otherwise builds a successor that continues the old
 * one's sequence and carries its history, renames it into place and retires the old
 * one. Returns 1 (kept), 0 (replaced) or -errno with ERR set; on failure the old object
 * stays published and the values are matched to it by name.
 */

int publish_layout(struct ird *d, char *err, size_t errlen)
{
	builder_cancel(); /* one object under construction at a time (one NAME.new.PID) */
	struct inforeg_series_desc *descs = descs_of(&d->reg);
	if (!descs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct ring_params p = params_of(d, d->reg.count);
	if (object_fits(d, descs, &p)) {
		drop_pub_map(d);
		d->layout_error[0] = 0;
		free(descs);
		return 1;
	}
	struct shm_pending pend;
	uint64_t t0 = ird_now_mono();
	int e = shm_object_create(d->cfg.shm_name, &p, descs, d->cfg.shm_mode, d->cfg.shm_gid, &pend);
	if (e < 0)
		create_error(d, e, &p, err, errlen);
	else
		e = finish_object(d, &pend, descs, p, t0, err, errlen);
	if (e < 0 && d->obj.hdr)
		keep_object_by_name(d, descs);
	free(descs);
	return e < 0 ? e : 0;
}

/* ---- a successor built in the background ------------------------------------
 *
 * Reserving and zeroing a big object's pages costs about 4 ms per MiB here, many
 * periods at a short period. A layout change found inside a tick (a new device, a
 * watch) therefore has its object created by a helper thread while the ticks go on
 * publishing the old set by name; the tick that finds it ready lays it out, carries
 * the history and renames it into place (under a millisecond for 8192 slots of 100
 * series). The helper only calls shm_object_create() on its own copies; the main
 * thread reads its result after `done` (store-release in the helper, load-acquire here)
 * and joins it.
 */
static struct builder {
	pthread_t th;
	int running; /* main thread only */
	atomic_int done;
	int result;
	char name[sizeof(((struct ird_config *)0)->shm_name)];
	struct ring_params p;
	struct inforeg_series_desc *descs;
	uint32_t mode;
	gid_t gid;
	struct shm_pending pend;
	uint64_t t0;
} B;

static void *build_object(void *arg)
{
	(void)arg;
	B.result = shm_object_create(B.name, &B.p, B.descs, B.mode, B.gid, &B.pend);
	atomic_store_explicit(&B.done, 1, memory_order_release); /* pairs with builder_ready() */
	return NULL;
}

static int builder_start(struct ird *d, const struct inforeg_series_desc *descs, const struct ring_params *p)
{
	size_t n = (p->series_count ? p->series_count : 1) * sizeof(*descs);
	B.descs = malloc(n);
	if (!B.descs)
		return -ENOMEM;
	memcpy(B.descs, descs, n);
	snprintf(B.name, sizeof(B.name), "%s", d->cfg.shm_name);
	B.p = *p;
	B.mode = d->cfg.shm_mode;
	B.gid = d->cfg.shm_gid;
	B.t0 = ird_now_mono();
	atomic_store_explicit(&B.done, 0, memory_order_relaxed);
	int e = pthread_create(&B.th, NULL, build_object, NULL);
	if (e) {
		free(B.descs);
		B.descs = NULL;
		return -e;
	}
	B.running = 1;
	return 0;
}

static int builder_ready(void)
{
	return B.running && atomic_load_explicit(&B.done, memory_order_acquire); /* pairs with the helper */
}

/* Waits for a running helper and throws its object away (reload, exit). */
void builder_cancel(void)
{
	if (!B.running)
		return;
	pthread_join(B.th, NULL);
	B.running = 0;
	if (B.result == 0)
		shm_object_abort(&B.pend);
	free(B.descs);
	B.descs = NULL;
}

static void layout_failed(struct ird *d, uint64_t now_ns, const char *err)
{
	snprintf(d->layout_error, sizeof(d->layout_error), "%s", err);
	/* retry once a second, logging the first failure and then every minute */
	d->layout_retry_mono = now_ns + 1000000000ull;
	if (d->layout_failures++ % 60 == 0)
		ird_log("publishing the new series set failed (%s); still publishing the old one, matched "
			"by name, retrying every second",
			err);
	status_publish(d);
}

/*
 * After a tick's publish: re-declares on a layout change (the old object goes on being
 * published by name), starts the helper, and switches to its object once it is ready
 * and still matches the declared set.
 */
void layout_step(struct ird *d, uint64_t now_ns, int changed, int declare_failed)
{
	char err[256];
	if (declare_failed) {
		layout_failed(d, now_ns, "out of memory");
		return;
	}
	if (!changed && !d->pub_map && !d->pub_blocked && !B.running)
		return;
	struct inforeg_series_desc *descs = descs_of(&d->reg);
	if (!descs) {
		layout_failed(d, now_ns, "out of memory");
		return;
	}
	struct ring_params p = params_of(d, d->reg.count);
	if (object_fits(d, descs, &p)) { /* unchanged (a rule's formula), or back to the object's */
		builder_cancel();
		drop_pub_map(d);
		d->layout_error[0] = 0;
		d->layout_failures = 0;
		free(descs);
		if (changed)
			status_publish(d); /* what changed (a rule) shows in the status document now */
		return;
	}
	if (changed)
		keep_object_by_name(d, descs);
	if (builder_ready()) {
		pthread_join(B.th, NULL);
		B.running = 0;
		int same = B.p.series_count == p.series_count && B.p.capacity == p.capacity &&
			   B.p.period_ns == p.period_ns && B.mode == d->cfg.shm_mode &&
			   B.gid == d->cfg.shm_gid &&
			   !memcmp(B.descs, descs, (size_t)p.series_count * sizeof(*descs));
		int e = B.result;
		if (e < 0) {
			create_error(d, e, &B.p, err, sizeof(err));
			layout_failed(d, now_ns, err);
		} else if (!same) {
			shm_object_abort(&B.pend); /* the set changed again meanwhile */
		} else if (finish_object(d, &B.pend, descs, p, ird_now_mono(), err, sizeof(err)) < 0) {
			layout_failed(d, now_ns, err);
		} else if (d->layout_failures) {
			ird_log("new series set published after %llu failed attempts",
				(unsigned long long)d->layout_failures);
			d->layout_failures = 0;
		}
		free(B.descs);
		B.descs = NULL;
		if (e < 0 || !(d->pub_map || d->pub_blocked)) {
			free(descs);
			return;
		}
	}
	if (!B.running && (d->pub_map || d->pub_blocked) && (changed || now_ns >= d->layout_retry_mono)) {
		int e = builder_start(d, descs, &p);
		if (e < 0) {
			snprintf(err, sizeof(err), "cannot start the object builder: %s", strerror(-e));
			layout_failed(d, now_ns, err);
		}
	}
	free(descs);
}
