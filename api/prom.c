/* SPDX-License-Identifier: MIT */
/*
 * prom.c - the Prometheus resource: GET /metrics, text exposition format 0.0.4.
 *
 * Names follow the one rule of api_prom_name() (promname.c, documented in
 * api/openapi.yaml): "inforeg_" + dotted name with '.' -> '_' + base-unit suffix
 * (+ "_total" for counters), values scaled to base units (us -> seconds). Histogram
 * series (NAME.bucket{le=...}, NAME.count, NAME.sum) become one real Prometheus
 * histogram family NAME_<unit> with _bucket/_sum/_count samples and the le bounds
 * scaled too, so no plain series carries a reserved suffix.
 *
 * Per layout a "line plan" is built once: the families in name order (a family's
 * samples must be contiguous), their HELP/TYPE header and, for every sample line, the
 * constant text before the value. Per published sample the body is then a walk that
 * appends prefix + value, done once and shared by every scrape of that sample. The
 * plan lives in the worker's directory (struct api_dir), which snapshot.c owns and
 * frees (api_dir_plan_free): this file calls into snapshot.c, never the reverse.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "api_int.h"

enum role { ROLE_PLAIN, ROLE_BUCKET, ROLE_SUM, ROLE_COUNT };

struct plan_tmp {
	char fam[INFOREG_NAME_MAX + 64];
	int hist; /* -1 for plain */
	int rank; /* bucket position, sum, count order inside a histogram */
	enum role role;
	uint32_t series;
};

static int tmp_cmp(const void *a, const void *b)
{
	const struct plan_tmp *x = a, *y = b;
	int c = strcmp(x->fam, y->fam);

	if (c)
		return c;
	if (x->hist != y->hist)
		return x->hist < y->hist ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->series < y->series ? -1 : x->series > y->series;
}

/* HELP text: backslash and newline escaped, as the format requires. */
static void help_escape(struct sbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sbuf_put(sb, "\\\\", 2);
		else if (*s == '\n')
			sbuf_put(sb, "\\n", 2);
		else
			sbuf_putc(sb, *s);
	}
}

static char *family_head(const struct api_dir *d, const struct plan_tmp *t, uint32_t *len)
{
	const struct api_series *s = &d->s[t->series];
	const char *type;
	struct sbuf sb;

	sbuf_init(&sb, 256);
	sbuf_printf(&sb, "# HELP %s ", t->fam);
	if (t->hist >= 0) {
		const struct api_hist *h = &d->hist[t->hist];

		help_escape(&sb, s->help[0] ? s->help : h->name);
		sbuf_printf(&sb, " (inforeg histogram %s.bucket/.count, bounds in %s)\n", h->name,
			    h->unit[0] ? h->unit : "1");
		type = "histogram";
	} else {
		help_escape(&sb, s->help[0] ? s->help : "inforeg series");
		sbuf_printf(&sb, " (inforeg %.*s, %s)\n", (int)s->base_len, s->name,
			    s->unit[0] ? s->unit : "no unit");
		type = s->kind == INFOREG_KIND_COUNTER ? "counter" : "gauge";
	}
	sbuf_printf(&sb, "# TYPE %s %s\n", t->fam, type);
	if (sb.oom) {
		sbuf_free(&sb);
		return NULL;
	}
	*len = (uint32_t)sb.len;
	return sbuf_take(&sb, NULL);
}

static char *line_prefix(const struct api_dir *d, const struct plan_tmp *t, double le_scale, uint32_t *len)
{
	const struct api_series *s = &d->s[t->series];
	struct sbuf sb;

	sbuf_init(&sb, 128);
	sbuf_puts(&sb, t->fam);
	if (t->role == ROLE_PLAIN) {
		sbuf_puts(&sb, s->name + s->base_len); /* the labels as published */
	} else {
		const struct api_hist *h = &d->hist[t->hist];

		sbuf_puts(&sb, t->role == ROLE_BUCKET ? "_bucket" : t->role == ROLE_SUM ? "_sum" : "_count");
		if (t->role == ROLE_BUCKET) {
			double le = h->bucket_le[t->rank];
			char num[40];

			sbuf_putc(&sb, '{');
			if (h->labels[0]) {
				sbuf_puts(&sb, h->labels);
				sbuf_putc(&sb, ',');
			}
			if (isinf(le))
				strcpy(num, "+Inf");
			else
				api_fmt_double(num, sizeof(num), le * le_scale);
			sbuf_printf(&sb, "le=\"%s\"}", num);
		} else if (h->labels[0]) {
			sbuf_printf(&sb, "{%s}", h->labels);
		}
	}
	sbuf_putc(&sb, ' ');
	if (sb.oom) {
		sbuf_free(&sb);
		return NULL;
	}
	*len = (uint32_t)sb.len;
	return sbuf_take(&sb, NULL);
}

int api_prom_plan(struct api_dir *d)
{
	struct plan_tmp *t;
	uint32_t i, n = 0, k;
	enum role *role;
	int *hist_of, *rank;
	int j, rc = 0;

	if (d->prom_built)
		return 0;
	api_dir_plan_free(d);
	t = calloc(d->n ? d->n : 1, sizeof(*t));
	role = calloc(d->n ? d->n : 1, sizeof(*role));
	hist_of = calloc(d->n ? d->n : 1, sizeof(*hist_of));
	rank = calloc(d->n ? d->n : 1, sizeof(*rank));
	d->prom = calloc(d->n ? d->n : 1, sizeof(*d->prom));
	d->prom_fam = calloc(d->n ? d->n : 1, sizeof(*d->prom_fam));
	if (!t || !role || !hist_of || !rank || !d->prom || !d->prom_fam) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < d->n; i++)
		hist_of[i] = -1;
	for (j = 0; j < d->n_hist; j++) {
		const struct api_hist *h = &d->hist[j];
		int b;

		for (b = 0; b < h->n_buckets; b++) {
			role[h->bucket_idx[b]] = ROLE_BUCKET;
			hist_of[h->bucket_idx[b]] = j;
			rank[h->bucket_idx[b]] = b;
		}
		if (h->sum_idx >= 0) {
			role[h->sum_idx] = ROLE_SUM;
			hist_of[h->sum_idx] = j;
			rank[h->sum_idx] = API_HIST_BUCKETS_MAX;
		}
		if (h->count_idx >= 0) {
			role[h->count_idx] = ROLE_COUNT;
			hist_of[h->count_idx] = j;
			rank[h->count_idx] = API_HIST_BUCKETS_MAX + 1;
		}
	}
	for (i = 0; i < d->n; i++) {
		const struct api_series *s = &d->s[i];
		struct plan_tmp *p = &t[n];
		int len;

		p->series = i;
		p->role = role[i];
		p->hist = hist_of[i];
		p->rank = rank[i];
		if (p->hist >= 0) {
			const struct api_hist *h = &d->hist[p->hist];

			len = api_prom_name(h->name, strlen(h->name), h->unit, INFOREG_KIND_COUNTER,
					    API_PROM_HISTOGRAM, p->fam, sizeof(p->fam));
		} else {
			len = api_prom_name(s->name, s->base_len, s->unit, s->kind, API_PROM_PLAIN, p->fam,
					    sizeof(p->fam));
		}
		if (len > 0)
			n++; /* a name too long to map is left out of /metrics */
	}
	qsort(t, n, sizeof(*t), tmp_cmp);
	for (k = 0; k < n; k++) {
		struct api_prom_line *l = &d->prom[k];
		double unit_scale = 1;
		char suffix[48];

		if (k == 0 || strcmp(t[k].fam, t[k - 1].fam) != 0) {
			struct api_prom_family *f = &d->prom_fam[d->n_prom_fam];

			f->head = family_head(d, &t[k], &f->head_len);
			if (!f->head) {
				rc = -ENOMEM;
				goto out;
			}
			d->n_prom_fam++;
		}
		if (t[k].hist >= 0)
			api_prom_unit(d->hist[t[k].hist].unit, suffix, sizeof(suffix), &unit_scale);
		else
			api_prom_unit(d->s[t[k].series].unit, suffix, sizeof(suffix), &unit_scale);
		l->series = t[k].series;
		l->family = d->n_prom_fam - 1;
		/* bucket and count values are event counts; sums and plain values are scaled */
		l->scale = (t[k].role == ROLE_BUCKET || t[k].role == ROLE_COUNT) ? 1 : unit_scale;
		l->prefix = line_prefix(d, &t[k], unit_scale, &l->prefix_len);
		if (!l->prefix) {
			rc = -ENOMEM;
			goto out;
		}
		d->n_prom++;
	}
	d->prom_built = 1;
out:
	if (rc < 0)
		api_dir_plan_free(d);
	free(t);
	free(role);
	free(hist_of);
	free(rank);
	return rc;
}

static int build_prom(struct api_worker *w, struct sbuf *sb)
{
	struct api_dir *d = &w->dir;
	uint32_t k, fam = UINT32_MAX;
	int rc = api_prom_plan(d);

	if (rc < 0)
		return rc;
	for (k = 0; k < d->n_prom; k++) {
		const struct api_prom_line *l = &d->prom[k];
		double v = w->snap.values[l->series];

		if (inforeg_value_state(v) == INFOREG_FAILED)
			continue; /* a failed series has no sample, as Prometheus expects */
		if (l->family != fam) {
			fam = l->family;
			sbuf_put(sb, d->prom_fam[fam].head, d->prom_fam[fam].head_len);
		}
		sbuf_put(sb, l->prefix, l->prefix_len);
		sbuf_prom_num(sb, l->scale == 1 ? v : v * l->scale);
		sbuf_putc(sb, '\n');
	}
	return 0;
}

static int get_prom(struct api_call *call)
{
	const struct api_body *b;

	/* a scrape is tens of KB of repetitive text: gzip when the scraper accepts it
	 * (Prometheus sends Accept-Encoding: gzip); h2o's filter negotiates */
	call->req->compress_hint = H2O_COMPRESS_HINT_ENABLE;
	if (api_snap_ready(call))
		return 0;
	b = api_snap_body(call->w, API_BODY_PROM, build_prom);
	if (!b)
		return api_error(call, 500, "internal", "could not build the exposition");
	return api_send_body(call, "text/plain; version=0.0.4; charset=utf-8", b);
}

int api_prom_register(void)
{
	return api_route_add(API_GET, "/metrics", get_prom);
}
