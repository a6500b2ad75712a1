/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - the metrics resource: GET /v1/metrics (the latest sample, every series
 * or those matching ?match=GLOB[,GLOB...]) and GET /v1/metrics/{name} (one series,
 * labels in the name, URL-encoded).
 *
 * Both answer from the worker's snapshot (snapshot.c). The unfiltered /v1/metrics
 * body is serialized once per sample and shared by every request that sees that
 * sample; filtered bodies and single series are written per request with the string
 * builder (a single series costs a hash lookup and one short snprintf, no jansson).
 * Numbers are written at full double precision; NaN is null, and "state" says why
 * (fresh, stale, failed, unknown: the value's NaN payload, include/inforeg.h).
 */
#include <errno.h>
#include <string.h>
#include "api_int.h"

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case INFOREG_KIND_GAUGE:
		return "gauge";
	case INFOREG_KIND_RATE:
		return "rate";
	case INFOREG_KIND_COUNTER:
		return "counter";
	default:
		return "unknown";
	}
}

void api_series_json(struct sbuf *sb, const struct api_worker *w, uint32_t i)
{
	const struct api_series *s = &w->dir.s[i];

	sbuf_put(sb, "{\"name\":", 8);
	sbuf_json_str(sb, s->name, strlen(s->name));
	sbuf_put(sb, ",\"value\":", 9);
	sbuf_json_num(sb, w->snap.values[i]);
	sbuf_put(sb, ",\"state\":\"", 10);
	sbuf_puts(sb, inforeg_state_name(inforeg_value_state(w->snap.values[i])));
	sbuf_put(sb, "\",\"unit\":", 9);
	sbuf_json_str(sb, s->unit, strlen(s->unit));
	sbuf_put(sb, ",\"kind\":\"", 9);
	sbuf_puts(sb, kind_name(s->kind));
	sbuf_put(sb, "\",\"ts\":", 7);
	sbuf_ts(sb, w->snap.meta.realtime_ns);
	sbuf_put(sb, ",\"seq\":", 7);
	sbuf_u64(sb, w->snap.meta.seq);
	sbuf_putc(sb, '}');
}

/* The whole sample (or the series matching MATCH) as one JSON document. */
static int sample_json(struct api_worker *w, struct sbuf *sb, const char *match)
{
	uint32_t i;
	int first = 1;

	sbuf_puts(sb, "{\"seq\":");
	sbuf_u64(sb, w->snap.meta.seq);
	sbuf_puts(sb, ",\"ts\":");
	sbuf_ts(sb, w->snap.meta.realtime_ns);
	sbuf_printf(sb, ",\"generation\":\"%016llx\",\"series\":[",
		    (unsigned long long)w->snap.meta.generation);
	for (i = 0; i < w->snap.n; i++) {
		if (match && !api_match(match, w->dir.s[i].name))
			continue;
		if (!first)
			sbuf_putc(sb, ',');
		first = 0;
		api_series_json(sb, w, i);
	}
	sbuf_puts(sb, "]}\n");
	return 0;
}

static int build_all(struct api_worker *w, struct sbuf *sb)
{
	return sample_json(w, sb, NULL);
}

static int get_metrics(struct api_call *call)
{
	static const char *const allowed[] = {"match", NULL};
	const char *bad = api_query_unknown(call->req, allowed), *match = NULL;
	const struct api_body *b;
	struct sbuf sb;

	if (bad)
		return api_error(call, 400, "bad_query", "unknown query parameter '%s'", bad);
	if (api_query_get(call->req, "match", &match) < 0)
		return api_error(call, 400, "bad_query", "bad percent-encoding in 'match'");
	if (api_snap_ready(call))
		return 0;
	if (!match || !match[0]) {
		b = api_snap_body(call->w, API_BODY_METRICS_JSON, build_all);
		if (!b)
			return api_error(call, 500, "internal", "out of memory");
		return api_send_body(call, "application/json", b);
	}
	sbuf_init(&sb, 4096);
	sample_json(call->w, &sb, match);
	return api_send_sbuf(call, 200, "application/json", &sb);
}

static int get_series(struct api_call *call)
{
	static const char *const allowed[] = {NULL};
	const char *bad = api_query_unknown(call->req, allowed);
	struct sbuf sb;
	int i;

	if (bad)
		return api_error(call, 400, "bad_query", "unknown query parameter '%s'", bad);
	if (api_snap_ready(call))
		return 0;
	i = api_dir_find(&call->w->dir, call->param, strlen(call->param));
	if (i < 0)
		return api_error(call, 404, "unknown_series", "no series named '%.128s'", call->param);
	sbuf_init(&sb, 256);
	api_series_json(&sb, call->w, (uint32_t)i);
	sbuf_putc(&sb, '\n');
	return api_send_sbuf(call, 200, "application/json", &sb);
}

int api_metrics_register(void)
{
	int rc = api_route_add(API_GET, "/v1/metrics", get_metrics);

	return rc < 0 ? rc : api_route_add(API_GET, "/v1/metrics/{name}", get_series);
}
