/* SPDX-License-Identifier: MIT */
/*
 * histograms.c - the histogram resource: GET /v1/histograms (the histograms the
 * sample holds) and GET /v1/histograms/{name} (one histogram with its buckets).
 *
 * The eBPF collectors publish a histogram as cumulative COUNTER series
 * NAME.bucket{...,le="B"} (one per bound, "+Inf" last), NAME.count{...}, optionally
 * NAME.sum{...}, and quantile gauges NAME.p50/.p90/.p99{...}; snapshot.c groups them
 * per layout (struct api_hist). {name} is "sched.runq_latency" (every label set of
 * that histogram) or "disk.io_latency{dev=\"vda\"}" (that label set only).
 */
#include <math.h>
#include <string.h>
#include "api_int.h"

static void hist_json(struct sbuf *sb, const struct api_worker *w, const struct api_hist *h)
{
	const double *v = w->snap.values;
	int i;

	sbuf_puts(sb, "{\"name\":");
	sbuf_json_str(sb, h->name, strlen(h->name));
	sbuf_puts(sb, ",\"labels\":");
	sbuf_json_str(sb, h->labels, strlen(h->labels));
	sbuf_puts(sb, ",\"unit\":");
	sbuf_json_str(sb, h->unit, strlen(h->unit));
	sbuf_puts(sb, ",\"count\":");
	sbuf_json_num(sb, h->count_idx >= 0 ? v[h->count_idx] : NAN);
	if (h->sum_idx >= 0) {
		sbuf_puts(sb, ",\"sum\":");
		sbuf_json_num(sb, v[h->sum_idx]);
	}
	sbuf_puts(sb, ",\"buckets\":[");
	for (i = 0; i < h->n_buckets; i++) {
		sbuf_puts(sb, i ? ",{\"le\":" : "{\"le\":");
		if (isinf(h->bucket_le[i]))
			sbuf_puts(sb, "\"+Inf\"");
		else
			sbuf_json_num(sb, h->bucket_le[i]);
		sbuf_puts(sb, ",\"count\":");
		sbuf_json_num(sb, v[h->bucket_idx[i]]);
		sbuf_putc(sb, '}');
	}
	sbuf_puts(sb, "],\"quantiles\":{");
	for (i = 0; i < h->n_quantiles; i++) {
		if (i)
			sbuf_putc(sb, ',');
		sbuf_json_str(sb, h->q_name[i], strlen(h->q_name[i]));
		sbuf_putc(sb, ':');
		sbuf_json_num(sb, v[h->q_idx[i]]);
	}
	sbuf_puts(sb, "}}");
}

static void head_json(struct sbuf *sb, const struct api_worker *w)
{
	sbuf_puts(sb, "{\"seq\":");
	sbuf_u64(sb, w->snap.meta.seq);
	sbuf_puts(sb, ",\"ts\":");
	sbuf_ts(sb, w->snap.meta.realtime_ns);
}

static int get_histograms(struct api_call *call)
{
	const struct api_dir *d;
	struct sbuf sb;
	int i, j;

	if (api_snap_ready(call))
		return 0;
	d = &call->w->dir;
	sbuf_init(&sb, 1024);
	head_json(&sb, call->w);
	sbuf_puts(&sb, ",\"histograms\":[");
	for (i = 0; i < d->n_hist; i++) {
		/* one entry per name, however many label sets */
		for (j = 0; j < i; j++)
			if (!strcmp(d->hist[j].name, d->hist[i].name))
				break;
		if (j < i)
			continue;
		if (i)
			sbuf_putc(&sb, ',');
		sbuf_json_str(&sb, d->hist[i].name, strlen(d->hist[i].name));
	}
	sbuf_puts(&sb, "]}\n");
	return api_send_sbuf(call, 200, "application/json", &sb);
}

static int get_histogram(struct api_call *call)
{
	const char *name = call->param;
	size_t bl = api_name_base_len(name), ll = 0;
	const char *labels = "";
	const struct api_dir *d;
	struct sbuf sb;
	int i, found = 0;

	if (name[bl]) {
		size_t n = strlen(name);

		if (name[n - 1] != '}')
			return api_error(call, 400, "bad_request", "malformed label list");
		labels = name + bl + 1;
		ll = n - bl - 2;
	}
	if (api_snap_ready(call))
		return 0;
	d = &call->w->dir;
	sbuf_init(&sb, 2048);
	head_json(&sb, call->w);
	sbuf_puts(&sb, ",\"name\":");
	sbuf_json_str(&sb, name, bl);
	sbuf_puts(&sb, ",\"histograms\":[");
	for (i = 0; i < d->n_hist; i++) {
		const struct api_hist *h = &d->hist[i];

		if (strlen(h->name) != bl || strncmp(h->name, name, bl) != 0)
			continue;
		if (name[bl] && (strlen(h->labels) != ll || strncmp(h->labels, labels, ll) != 0))
			continue;
		if (found++)
			sbuf_putc(&sb, ',');
		hist_json(&sb, call->w, h);
	}
	sbuf_puts(&sb, "]}\n");
	if (!found) {
		sbuf_free(&sb);
		return api_error(call, 404, "unknown_histogram", "no histogram named '%.128s'", name);
	}
	return api_send_sbuf(call, 200, "application/json", &sb);
}

int api_histograms_register(void)
{
	int rc = api_route_add(API_GET, "/v1/histograms", get_histograms);

	return rc < 0 ? rc : api_route_add(API_GET, "/v1/histograms/{name}", get_histogram);
}
