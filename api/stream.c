/* SPDX-License-Identifier: MIT */
/*
 * stream.c - the stream resource: GET /v1/stream?match=GLOB, Server-Sent Events, one
 * event per published sample:
 *     id: SEQ
 *     event: sample
 *     data: {"seq":SEQ,"ts":TS,"values":{"cpu.usage":12.5,...}}
 *
 * Nothing here blocks the event loop. While a worker has at least one stream, an
 * h2o_timeout polls the ring head every quarter period (one atomic load when nothing
 * changed); a new sample is sent to every stream whose previous event the client has
 * consumed (h2o calls proceed). A stream still sending gets the newest sample when it
 * is done and skips the ones in between (its ids show the gap): a slow client costs
 * only its own events, never the sampler or other clients.
 *
 * Memory: the stream state is a shared block on the request pool, so it lives exactly
 * as long as the request; the unfiltered event is the per-sample cached body (one
 * reference held while it is being sent), a filtered one is the stream's own buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api_int.h"

struct api_stream {
	h2o_generator_t gen;
	h2o_linklist_t link;
	struct api_worker *w;
	h2o_req_t *req;
	const char *match; /* NULL: every series */
	uint64_t last_seq;
	int sent_any, inflight, stopped;
	char *shared;	 /* cached body referenced by the event in flight */
	struct sbuf own; /* filtered event in flight */
};

static void stream_tick(h2o_timeout_entry_t *e);

static int sse_build(struct api_worker *w, struct sbuf *sb, const char *match)
{
	uint32_t i;
	int first = 1;

	sbuf_puts(sb, "id: ");
	sbuf_u64(sb, w->snap.meta.seq);
	sbuf_puts(sb, "\nevent: sample\ndata: {\"seq\":");
	sbuf_u64(sb, w->snap.meta.seq);
	sbuf_puts(sb, ",\"ts\":");
	sbuf_ts(sb, w->snap.meta.realtime_ns);
	sbuf_puts(sb, ",\"values\":{");
	for (i = 0; i < w->snap.n; i++) {
		const char *name = w->dir.s[i].name;

		if (match && !api_match(match, name))
			continue;
		if (!first)
			sbuf_putc(sb, ',');
		first = 0;
		sbuf_json_str(sb, name, strlen(name));
		sbuf_putc(sb, ':');
		sbuf_json_num(sb, w->snap.values[i]);
	}
	sbuf_puts(sb, "}}\n\n");
	return 0;
}

int api_sse_event_build(struct api_worker *w, struct sbuf *sb)
{
	return sse_build(w, sb, NULL);
}

static void release_inflight(struct api_stream *s)
{
	if (s->shared) {
		h2o_mem_release_shared(s->shared);
		s->shared = NULL;
	}
}

/* Sends the snapshot's sample to S (which must not have an event in flight). */
static void stream_send(struct api_stream *s)
{
	struct api_worker *w = s->w;
	h2o_iovec_t buf;

	if (s->stopped || s->inflight || !w->snap.valid)
		return;
	if (s->sent_any && s->last_seq == w->snap.meta.seq)
		return;
	if (!s->match) {
		const struct api_body *b = api_snap_body(w, API_BODY_SSE, api_sse_event_build);

		if (!b)
			return;
		h2o_mem_addref_shared(b->data);
		s->shared = b->data;
		buf = h2o_iovec_init(b->data, b->len);
	} else {
		s->own.len = 0;
		if (s->own.p)
			s->own.p[0] = '\0';
		sse_build(w, &s->own, s->match);
		if (s->own.oom)
			return;
		buf = h2o_iovec_init(s->own.p, s->own.len);
	}
	s->last_seq = w->snap.meta.seq;
	s->sent_any = 1;
	s->inflight = 1;
	atomic_fetch_add_explicit(&api_stats.events_sent, 1, memory_order_relaxed);
	h2o_send(s->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void stream_proceed(h2o_generator_t *g, h2o_req_t *req)
{
	struct api_stream *s = H2O_STRUCT_FROM_MEMBER(struct api_stream, gen, g);

	(void)req;
	s->inflight = 0;
	release_inflight(s);
	stream_send(s); /* a sample that arrived while the client was reading */
}

static void stream_unlink(struct api_stream *s)
{
	if (h2o_linklist_is_linked(&s->link)) {
		h2o_linklist_unlink(&s->link);
		s->w->n_streams--;
		atomic_fetch_sub_explicit(&api_stats.streams_open, 1, memory_order_relaxed);
	}
}

static void stream_stop(h2o_generator_t *g, h2o_req_t *req)
{
	struct api_stream *s = H2O_STRUCT_FROM_MEMBER(struct api_stream, gen, g);

	(void)req;
	s->stopped = 1;
	stream_unlink(s);
}

/* Pool dispose: the request is gone. */
static void stream_dispose(void *p)
{
	struct api_stream *s = p;

	stream_unlink(s);
	release_inflight(s);
	sbuf_free(&s->own);
}

static void tick_arm(struct api_worker *w)
{
	if (!h2o_timeout_is_linked(&w->stream_tick))
		h2o_timeout_link(w->ctx.loop, &w->stream_timeout, &w->stream_tick);
}

static void stream_tick(h2o_timeout_entry_t *e)
{
	struct api_worker *w = H2O_STRUCT_FROM_MEMBER(struct api_worker, stream_tick, e);
	h2o_linklist_t *node, *next;

	if (h2o_linklist_is_empty(&w->streams))
		return; /* disarmed until the next stream */
	if (api_snap_update(w) == 0) {
		for (node = w->streams.next; node != &w->streams; node = next) {
			next = node->next; /* h2o_send may end a stream */
			stream_send(H2O_STRUCT_FROM_MEMBER(struct api_stream, link, node));
		}
	}
	tick_arm(w);
}

static int get_stream(struct api_call *call)
{
	static const char *const allowed[] = {"match", NULL};
	const char *bad = api_query_unknown(call->req, allowed), *match = NULL;
	struct api_worker *w = call->w;
	h2o_req_t *req = call->req;
	struct api_stream *s;

	if (bad)
		return api_error(call, 400, "bad_query", "unknown query parameter '%s'", bad);
	if (api_query_get(req, "match", &match) < 0)
		return api_error(call, 400, "bad_query", "bad percent-encoding in 'match'");
	if (call->head_only)
		return api_error(call, 405, "method_not_allowed", "HEAD is not supported on a stream");
	if (w->n_streams >= API_STREAMS_MAX) {
		api_add_header(req, H2O_TOKEN_RETRY_AFTER, "5");
		return api_error(call, 503, "busy", "too many streams (%d)", API_STREAMS_MAX);
	}
	if (api_snap_ready(call))
		return 0;

	s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), stream_dispose);
	memset(s, 0, sizeof(*s));
	s->gen.proceed = stream_proceed;
	s->gen.stop = stream_stop;
	s->w = w;
	s->req = req;
	s->match = match && match[0] ? match : NULL;
	if (s->match)
		sbuf_init(&s->own, 4096);
	h2o_linklist_insert(&w->streams, &s->link);
	w->n_streams++;
	atomic_fetch_add_explicit(&api_stats.streams_open, 1, memory_order_relaxed);

	req->res.status = 200;
	req->res.reason = "OK";
	api_add_header(req, H2O_TOKEN_CONTENT_TYPE, "text/event-stream");
	api_add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-cache");
	h2o_start_response(req, &s->gen);
	stream_send(s); /* the current sample at once */
	tick_arm(w);
	return 0;
}

void api_streams_init(struct api_worker *w)
{
	uint64_t ms = w->period_ns / 4000000u;

	if (ms < 5)
		ms = 5;
	if (ms > 250)
		ms = 250;
	h2o_linklist_init_anchor(&w->streams);
	h2o_timeout_init(w->ctx.loop, &w->stream_timeout, ms);
	memset(&w->stream_tick, 0, sizeof(w->stream_tick));
	w->stream_tick.cb = stream_tick;
	w->stream_timeout_ready = 1;
}

void api_streams_fini(struct api_worker *w)
{
	if (!w->stream_timeout_ready)
		return;
	if (h2o_timeout_is_linked(&w->stream_tick))
		h2o_timeout_unlink(&w->stream_tick);
	h2o_timeout_dispose(w->ctx.loop, &w->stream_timeout);
	w->stream_timeout_ready = 0;
}

int api_stream_register(void)
{
	return api_route_add(API_GET, "/v1/stream", get_stream);
}
