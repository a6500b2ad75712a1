/* SPDX-License-Identifier: MIT */
/*
 * status.c - the status resource: GET /v1/status, the STATUS document the daemon
 * publishes (collector health: last success, last error, sample cost; eBPF state;
 * ring state) merged with what only the REST server knows (clients connected,
 * requests, errors by status, SSE streams, body cache) and what this reader sees of
 * the ring (head, capacity, dropped samples, age of the latest sample).
 *
 * When the daemon has not published the document yet the server's part is still
 * returned (with "daemon": null), so the endpoint answers from the first request.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "api_int.h"

static json_t *server_json(void)
{
	json_t *o = json_object(), *by = json_object();
	char key[8];
	int i;

	for (i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "%d", api_status_slots[i]);
		json_object_set_new(by, key,
				    json_integer((json_int_t)atomic_load_explicit(
					&api_stats.errors_by_status[i], memory_order_relaxed)));
	}
#define CTR(name, field)                                                                                     \
	json_object_set_new(                                                                                 \
	    o, name, json_integer((json_int_t)atomic_load_explicit(&api_stats.field, memory_order_relaxed)))
	CTR("clients_connected", conns_open);
	CTR("connections_total", conns_total);
	CTR("connections_refused", conns_refused);
	CTR("accept_pauses", accept_pauses);
	CTR("requests", requests);
	CTR("errors", errors);
	CTR("rate_limited", limited);
	CTR("streams_open", streams_open);
	CTR("events_sent", events_sent);
	CTR("bodies_built", bodies_built);
	CTR("bodies_reused", bodies_reused);
	CTR("snapshots", snapshots);
#undef CTR
	json_object_set_new(o, "errors_by_status", by);
	json_object_set_new(o, "started_realtime_ns",
			    json_integer((json_int_t)api_stats.started_realtime_ns));
	return o;
}

static json_t *reader_json(struct inforeg_reader *r)
{
	json_t *o = json_object();
	double age = inforeg_age_periods(r);

	json_object_set_new(o, "head", json_integer((json_int_t)inforeg_head(r)));
	json_object_set_new(o, "capacity", json_integer(inforeg_capacity(r)));
	json_object_set_new(o, "dropped", json_integer((json_int_t)inforeg_dropped(r)));
	json_object_set_new(o, "period_ns", json_integer((json_int_t)inforeg_period_ns(r)));
	json_object_set_new(o, "age_periods", age == age ? json_real(age) : json_null());
	json_object_set_new(o, "stale", json_boolean(inforeg_is_stale(r, API_STALE_PERIODS) == 1));
	json_object_set_new(o, "reopens", json_integer((json_int_t)inforeg_reopens(r)));
	return o;
}

static int get_status(struct api_call *call)
{
	json_t *doc, *out;
	int rc;

	doc = api_doc_json(call, INFOREG_DOC_STATUS, &rc);
	out = doc ? doc : json_object();
	if (!doc)
		json_object_set_new(out, "daemon", json_null());
	json_object_set_new(out, "api", server_json());
	json_object_set_new(out, "reader", reader_json(call->w->r));
	return api_send_json(call, 200, out);
}

int api_status_register(void)
{
	return api_route_add(API_GET, "/v1/status", get_status);
}
