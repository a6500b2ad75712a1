/* SPDX-License-Identifier: MIT */
/*
 * history.c - the history sub-resource of a series:
 *   GET /v1/metrics/{name}/history?since=SINCE&limit=N
 * read straight from the ring (inforeg_read_history), oldest first.
 *
 * SINCE is one of: a sequence number ("1234"); an absolute time, "@" + Unix seconds
 * ("@1718000000.5") or RFC 3339 UTC ("2024-06-10T12:00:00.25Z"); a time relative to
 * now, "-" + a number and a unit ms|s|m|h ("-10s"). With SINCE the reply pages forward:
 * the oldest LIMIT samples from SINCE on. Without it, the newest LIMIT samples (what a
 * client asking for "the last N" wants). LIMIT is 1..API_HISTORY_LIMIT_MAX (default
 * 100). Samples are oldest first either way; the reply carries next_seq: pass it as
 * since to continue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api_int.h"

/* Parses SINCE into a sequence number. Returns 0 or -EINVAL. */
static int parse_since(struct inforeg_reader *r, const char *s, uint64_t *seq)
{
	char *end;

	if (!s || !*s) {
		*seq = 0;
		return 0;
	}
	if (*s >= '0' && *s <= '9' && !strchr(s, 'T') && !strchr(s, '-')) {
		unsigned long long v;

		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || *end)
			return -EINVAL;
		*seq = v;
		return 0;
	}
	if (*s == '@') {
		double t = strtod(s + 1, &end);

		if (end == s + 1 || *end || !(t >= 0) || t > 1e11)
			return -EINVAL;
		*seq = inforeg_seq_at_time(r, (uint64_t)(t * 1e9));
		return 0;
	}
	if (*s == '-') {
		double d = strtod(s + 1, &end), mul;
		struct timespec now;
		uint64_t now_ns, back;

		if (end == s + 1 || !(d >= 0))
			return -EINVAL;
		if (!strcmp(end, "ms"))
			mul = 1e6;
		else if (!strcmp(end, "s"))
			mul = 1e9;
		else if (!strcmp(end, "m"))
			mul = 60e9;
		else if (!strcmp(end, "h"))
			mul = 3600e9;
		else
			return -EINVAL;
		clock_gettime(CLOCK_REALTIME, &now);
		now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
		if (d * mul > 1e18)
			return -EINVAL;
		back = (uint64_t)(d * mul);
		*seq = inforeg_seq_at_time(r, back < now_ns ? now_ns - back : 0);
		return 0;
	}
	{
		struct tm tm;
		const char *p;
		double frac = 0;
		time_t t;

		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
		if (!p)
			return -EINVAL;
		if (*p == '.') {
			frac = strtod(p, &end);
			p = end;
		}
		if (strcmp(p, "Z") != 0)
			return -EINVAL;
		t = timegm(&tm);
		if (t < 0)
			return -EINVAL;
		*seq = inforeg_seq_at_time(r, (uint64_t)t * 1000000000u + (uint64_t)(frac * 1e9));
		return 0;
	}
}

static int get_history(struct api_call *call)
{
	static const char *const allowed[] = {"since", "limit", NULL};
	const char *bad = api_query_unknown(call->req, allowed), *since = NULL, *lim = NULL;
	struct inforeg_series_info info;
	struct inforeg_reader *r = call->w->r;
	struct inforeg_meta *metas;
	uint64_t from, next = 0;
	double *values;
	unsigned long limit = 100;
	struct sbuf sb;
	int h, n, i, idx;

	if (bad)
		return api_error(call, 400, "bad_query", "unknown query parameter '%s'", bad);
	if (api_query_get(call->req, "since", &since) < 0 || api_query_get(call->req, "limit", &lim) < 0)
		return api_error(call, 400, "bad_query", "bad percent-encoding in the query");
	if (lim) {
		char *end;

		errno = 0;
		limit = strtoul(lim, &end, 10);
		if (errno || *end || !*lim || limit < 1 || limit > API_HISTORY_LIMIT_MAX)
			return api_error(call, 400, "bad_query", "limit must be 1..%d",
					 API_HISTORY_LIMIT_MAX);
	}
	if (parse_since(r, since, &from) < 0)
		return api_error(call, 400, "bad_query",
				 "since must be SEQ, @UNIX_SECONDS, RFC 3339 UTC or -DURATION(ms|s|m|h)");
	if (api_snap_ready(call))
		return 0;
	if (!since) { /* the newest LIMIT: start LIMIT before the head (older ones are clamped) */
		uint64_t head = inforeg_head(r);

		from = head > limit ? head - limit : 0;
	}
	h = inforeg_lookup(r, call->param);
	if (h < 0)
		return api_error(call, 404, "unknown_series", "no series named '%.128s'", call->param);
	idx = inforeg_handle_index(r, h);
	if (idx < 0 || inforeg_series_get(r, idx, &info) < 0)
		return api_error(call, 404, "unknown_series", "no series named '%.128s'", call->param);

	values = h2o_mem_alloc_pool(&call->req->pool, limit * sizeof(*values));
	metas = h2o_mem_alloc_pool(&call->req->pool, limit * sizeof(*metas));
	n = inforeg_read_history(r, h, from, values, metas, limit, &next);
	if (n < 0)
		return api_error(call, 503, "unavailable", "history read failed: %s", strerror(-n));

	sbuf_init(&sb, 128 + (size_t)n * 64);
	sbuf_puts(&sb, "{\"name\":");
	sbuf_json_str(&sb, call->param, strlen(call->param));
	sbuf_puts(&sb, ",\"unit\":");
	sbuf_json_str(&sb, info.unit, strnlen(info.unit, sizeof(info.unit)));
	sbuf_puts(&sb, ",\"since\":");
	sbuf_u64(&sb, from);
	sbuf_puts(&sb, ",\"next_seq\":");
	sbuf_u64(&sb, next);
	sbuf_puts(&sb, ",\"samples\":[");
	for (i = 0; i < n; i++) {
		if (i)
			sbuf_putc(&sb, ',');
		sbuf_puts(&sb, "{\"seq\":");
		sbuf_u64(&sb, metas[i].seq);
		sbuf_puts(&sb, ",\"ts\":");
		sbuf_ts(&sb, metas[i].realtime_ns);
		sbuf_puts(&sb, ",\"value\":");
		sbuf_json_num(&sb, values[i]);
		sbuf_putc(&sb, '}');
	}
	sbuf_puts(&sb, "]}\n");
	return api_send_sbuf(call, 200, "application/json", &sb);
}

int api_history_register(void)
{
	return api_route_add(API_GET, "/v1/metrics/{name}/history", get_history);
}
