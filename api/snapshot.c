/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - each worker's copy of the latest sample and of the directory it is
 * read against, plus the bulk bodies serialized from it.
 *
 * A request first calls api_snap_update(): one acquire load of the ring head
 * (inforeg_head) tells whether a newer sample exists; only then is the sample copied
 * (inforeg_read_sample) and the cached bodies dropped. The directory is decoded again
 * only when the reader followed the writer to a new object (generation or reopen
 * count changed), and a sample is accepted only if the directory key is the same
 * before and after the copy, so values and names always belong together.
 *
 * Cost per request when nothing changed: one atomic load and a compare. Per sample and
 * worker: one copy of series_count doubles. Per layout: a name hash and the
 * histogram index (Prometheus line plan lazily, in prom.c; the directory owns it and
 * frees it here, so prom.c depends on this file and not the other way).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "api_int.h"

/* ---- directory ------------------------------------------------------------------- */

static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

int api_dir_find(const struct api_dir *d, const char *name, size_t len)
{
	uint32_t i, k;

	if (!d->valid || !d->hash)
		return -ENOENT;
	i = name_hash(name, len) & d->hash_mask;
	for (k = 0; k <= d->hash_mask; k++, i = (i + 1) & d->hash_mask) {
		uint32_t v = d->hash[i];
		const struct api_series *s;

		if (v == 0)
			return -ENOENT;
		s = &d->s[v - 1];
		if (strncmp(s->name, name, len) == 0 && s->name[len] == '\0')
			return (int)(v - 1);
	}
	return -ENOENT;
}

void api_dir_plan_free(struct api_dir *d)
{
	uint32_t i;

	for (i = 0; i < d->n_prom; i++)
		free(d->prom[i].prefix);
	for (i = 0; i < d->n_prom_fam; i++)
		free(d->prom_fam[i].head);
	free(d->prom);
	free(d->prom_fam);
	d->prom = NULL;
	d->prom_fam = NULL;
	d->n_prom = d->n_prom_fam = 0;
	d->prom_built = 0;
}

static void dir_free(struct api_dir *d)
{
	api_dir_plan_free(d);
	free(d->s);
	free(d->hash);
	free(d->hist);
	memset(d, 0, sizeof(*d));
}

/* Finds label LE in a bucket name; fills the other labels' text. Returns 1 if found. */
static int split_le(const char *name, double *le, char *others, size_t olen)
{
	size_t pos = 0, ss, se, vl, o = 0;
	const char *v;
	char key[64];
	int rc, found = 0;

	others[0] = '\0';
	while ((rc = api_label_next(name, &pos, key, sizeof(key), &v, &vl, &ss, &se)) == 1) {
		if (strcmp(key, "le") == 0) {
			char tmp[40];

			if (vl >= sizeof(tmp))
				return 0;
			memcpy(tmp, v, vl);
			tmp[vl] = '\0';
			if (strcmp(tmp, "+Inf") == 0 || strcmp(tmp, "inf") == 0 || strcmp(tmp, "+inf") == 0) {
				*le = INFINITY;
			} else {
				char *end;

				*le = strtod(tmp, &end);
				if (end == tmp || *end)
					return 0;
			}
			found = 1;
			continue;
		}
		if (o + (se - ss) + 2 > olen)
			return 0;
		if (o)
			others[o++] = ',';
		memcpy(others + o, name + ss, se - ss);
		o += se - ss;
		others[o] = '\0';
	}
	return rc == 0 && found;
}

/* Other labels of a non-bucket series, as text ("" when none). Returns 0 or -EINVAL. */
static int labels_text(const char *name, char *out, size_t olen)
{
	size_t b = api_name_base_len(name), n;

	if (!name[b]) {
		out[0] = '\0';
		return 0;
	}
	n = strlen(name + b);
	if (n < 2 || n - 2 >= olen)
		return -EINVAL;
	memcpy(out, name + b + 1, n - 2);
	out[n - 2] = '\0';
	return 0;
}

static int hist_find(struct api_dir *d, const char *name, size_t nlen, const char *labels)
{
	int i;

	for (i = 0; i < d->n_hist; i++)
		if (strlen(d->hist[i].name) == nlen && strncmp(d->hist[i].name, name, nlen) == 0 &&
		    strcmp(d->hist[i].labels, labels) == 0)
			return i;
	return -1;
}

/* ".p50", ".p999": a quantile gauge published beside a histogram. */
static int is_quantile_suffix(const char *dot, const char *end)
{
	const char *p;

	if (end - dot < 3 || end - dot > 7 || dot[1] != 'p')
		return 0;
	for (p = dot + 2; p < end; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

static int cmp_bucket(struct api_hist *h, int a, int b)
{
	return h->bucket_le[a] > h->bucket_le[b];
}

/* Groups NAME.bucket{..., le} series into histograms, then attaches .count/.sum/.pNN. */
static int hist_index(struct api_dir *d)
{
	char others[INFOREG_NAME_MAX];
	uint32_t i;
	int k;

	d->hist = calloc(d->n ? d->n : 1, sizeof(*d->hist));
	if (!d->hist)
		return -ENOMEM;
	for (i = 0; i < d->n; i++) {
		const struct api_series *s = &d->s[i];
		struct api_hist *h;
		double le = 0;
		size_t bl = s->base_len;
		int j;

		if (bl < 8 || memcmp(s->name + bl - 7, ".bucket", 7) != 0)
			continue;
		if (!split_le(s->name, &le, others, sizeof(others)))
			continue;
		j = hist_find(d, s->name, bl - 7, others);
		if (j < 0) {
			j = d->n_hist++;
			h = &d->hist[j];
			memcpy(h->name, s->name, bl - 7);
			h->name[bl - 7] = '\0';
			strcpy(h->labels, others);
			memcpy(h->unit, s->unit, sizeof(h->unit));
			h->count_idx = h->sum_idx = -1;
		}
		h = &d->hist[j];
		if (h->n_buckets >= API_HIST_BUCKETS_MAX)
			continue;
		h->bucket_idx[h->n_buckets] = (int)i;
		h->bucket_le[h->n_buckets] = le;
		h->n_buckets++;
	}
	for (k = 0; k < d->n_hist; k++) {
		struct api_hist *h = &d->hist[k];
		int a, b;

		/* insertion sort by le: a handful of buckets */
		for (a = 1; a < h->n_buckets; a++)
			for (b = a; b > 0 && cmp_bucket(h, b - 1, b); b--) {
				double tl = h->bucket_le[b];
				int ti = h->bucket_idx[b];

				h->bucket_le[b] = h->bucket_le[b - 1];
				h->bucket_idx[b] = h->bucket_idx[b - 1];
				h->bucket_le[b - 1] = tl;
				h->bucket_idx[b - 1] = ti;
			}
	}
	for (i = 0; i < d->n; i++) {
		const struct api_series *s = &d->s[i];
		const char *dot;
		int j;

		if (labels_text(s->name, others, sizeof(others)) < 0)
			continue;
		dot = memrchr(s->name, '.', s->base_len);
		if (!dot)
			continue;
		j = hist_find(d, s->name, (size_t)(dot - s->name), others);
		if (j < 0)
			continue;
		if (strncmp(dot, ".count", 6) == 0 && dot + 6 == s->name + s->base_len) {
			d->hist[j].count_idx = (int)i;
		} else if (strncmp(dot, ".sum", 4) == 0 && dot + 4 == s->name + s->base_len) {
			d->hist[j].sum_idx = (int)i;
		} else if (is_quantile_suffix(dot, s->name + s->base_len) &&
			   d->hist[j].n_quantiles < API_HIST_QUANTILES_MAX) {
			struct api_hist *h = &d->hist[j];
			size_t ql = s->base_len - (size_t)(dot - s->name) - 1;

			memcpy(h->q_name[h->n_quantiles], dot + 1, ql);
			h->q_name[h->n_quantiles][ql] = '\0';
			h->q_idx[h->n_quantiles++] = (int)i;
			/* the bounds' unit: buckets often carry a count unit, quantiles the time */
			if (s->unit[0] && strcmp(h->unit, s->unit) != 0 &&
			    (!h->unit[0] || !strcmp(h->unit, "count") || !strcmp(h->unit, "1")))
				memcpy(h->unit, s->unit, sizeof(h->unit));
		}
	}
	return 0;
}

/* Decodes the reader's current directory into D. Returns 0 or -errno. */
static int dir_load(struct api_worker *w, struct api_dir *d)
{
	struct inforeg_series_info info;
	int n, i, rc;
	uint32_t cap;

	dir_free(d);
	d->generation = inforeg_generation(w->r);
	d->reopens = inforeg_reopens(w->r);
	n = inforeg_series_count(w->r);
	if (n < 0)
		return n;
	d->n = (uint32_t)n;
	d->s = calloc(n ? (size_t)n : 1, sizeof(*d->s));
	for (cap = 16; cap < 2u * (uint32_t)n; cap *= 2)
		;
	d->hash = calloc(cap, sizeof(*d->hash));
	d->hash_mask = cap - 1;
	if (!d->s || !d->hash) {
		dir_free(d);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct api_series *s = &d->s[i];
		uint32_t h;

		rc = inforeg_series_get(w->r, i, &info);
		if (rc < 0) {
			dir_free(d);
			return rc;
		}
		memcpy(s->name, info.name, sizeof(s->name));
		s->name[sizeof(s->name) - 1] = '\0';
		memcpy(s->unit, info.unit, sizeof(s->unit));
		s->unit[sizeof(s->unit) - 1] = '\0';
		memcpy(s->help, info.help, sizeof(s->help));
		s->help[sizeof(s->help) - 1] = '\0';
		s->kind = info.kind;
		s->base_len = (uint32_t)api_name_base_len(s->name);
		h = name_hash(s->name, strlen(s->name)) & d->hash_mask;
		while (d->hash[h])
			h = (h + 1) & d->hash_mask;
		d->hash[h] = (uint32_t)i + 1;
	}
	rc = hist_index(d);
	if (rc < 0) {
		dir_free(d);
		return rc;
	}
	d->valid = 1;
	return 0;
}

/* ---- snapshot -------------------------------------------------------------------- */

static void bodies_drop(struct api_snap *s)
{
	int k;

	for (k = 0; k < API_BODY_KINDS; k++) {
		if (s->body[k].data)
			h2o_mem_release_shared(s->body[k].data);
		s->body[k].data = NULL;
		s->body[k].len = 0;
	}
}

static int dir_is_current(struct api_worker *w)
{
	return w->dir.valid && w->dir.generation == inforeg_generation(w->r) &&
	       w->dir.reopens == inforeg_reopens(w->r);
}

int api_snap_update(struct api_worker *w)
{
	struct api_snap *s = &w->snap;
	uint64_t head, now = h2o_now(w->ctx.loop);
	int tries, rc = 0;

	/* follow a restarted writer or a new layout: at most every 50 ms per worker */
	if (now - w->last_refresh_ms >= 50 || !s->valid) {
		w->last_refresh_ms = now;
		rc = inforeg_refresh(w->r);
		if (rc == -ESTALE)
			return rc;
	}
	head = inforeg_head(w->r);
	if (head == 0)
		return -EAGAIN;
	if (s->valid && head == s->head && dir_is_current(w))
		return 0;

	for (tries = 0; tries < 4; tries++) {
		struct inforeg_meta meta;
		uint64_t reopens;
		int n;

		if (!dir_is_current(w)) {
			s->valid = 0;
			bodies_drop(s);
			rc = dir_load(w, &w->dir);
			if (rc < 0)
				return rc;
		}
		reopens = inforeg_reopens(w->r);
		head = inforeg_head(w->r);
		n = inforeg_read_sample(w->r, s->values, s->cap, &meta);
		if (n < 0)
			return n;
		if ((uint32_t)n > s->cap) {
			double *v = realloc(s->values, (size_t)n * sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->values = v;
			s->cap = (uint32_t)n;
			tries--; /* growing is not a race: do not count it */
			continue;
		}
		/* names and values must come from the same object */
		if (inforeg_reopens(w->r) != reopens || (uint32_t)n != w->dir.n ||
		    meta.generation != w->dir.generation) {
			w->dir.valid = 0;
			continue;
		}
		if (s->valid && meta.seq == s->meta.seq) {
			s->head = head;
			return 0;
		}
		bodies_drop(s);
		s->meta = meta;
		s->n = (uint32_t)n;
		s->head = head;
		s->valid = 1;
		atomic_fetch_add_explicit(&api_stats.snapshots, 1, memory_order_relaxed);
		return 0;
	}
	return -EAGAIN;
}

const struct api_body *api_snap_body(struct api_worker *w, enum api_body_kind kind, api_body_build_fn build)
{
	struct api_body *b = &w->snap.body[kind];
	struct sbuf sb;
	char *data;

	if (b->data) {
		atomic_fetch_add_explicit(&api_stats.bodies_reused, 1, memory_order_relaxed);
		return b;
	}
	sbuf_init(&sb, kind == API_BODY_PROM ? 65536 : 16384);
	if (build(w, &sb) < 0 || sb.oom) {
		sbuf_free(&sb);
		return NULL;
	}
	/* refcounted: the cache holds one reference, every response in flight one more */
	data = h2o_mem_alloc_shared(NULL, sb.len + 1, NULL);
	memcpy(data, sb.p, sb.len + 1);
	b->data = data;
	b->len = sb.len;
	sbuf_free(&sb);
	atomic_fetch_add_explicit(&api_stats.bodies_built, 1, memory_order_relaxed);
	return b;
}

void api_snap_free(struct api_worker *w)
{
	bodies_drop(&w->snap);
	free(w->snap.values);
	memset(&w->snap, 0, sizeof(w->snap));
	dir_free(&w->dir);
}

int api_snap_ready(struct api_call *call)
{
	int rc = api_snap_update(call->w);

	if (rc == 0)
		return 0;
	api_add_header(call->req, H2O_TOKEN_RETRY_AFTER, "1");
	if (rc == -EAGAIN)
		api_error(call, 503, "not_ready", "no sample published yet");
	else if (rc == -ESTALE)
		api_error(call, 503, "retired", "the registry was retired and has no successor");
	else
		api_error(call, 503, "unavailable", "registry read failed: %s", strerror(-rc));
	return 1;
}
