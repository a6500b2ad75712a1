/* SPDX-License-Identifier: MIT */
/*
 * node.c - the node resource: GET /v1/node, the node inventory the daemon publishes
 * as the NODE document beside the ring (hostname, kernel, CPU model and count,
 * memory, NUMA nodes, accelerators), completed with what any reader knows of the
 * writer: the inforeg version, its generation id and its start time, when the
 * document does not already carry them. Rarely asked for, so parsed per request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "api_int.h"

/* Reads document ID into req->pool and parses it. NULL with *RC set on failure. */
json_t *api_doc_json(struct api_call *call, unsigned id, int *rc)
{
	char *buf = h2o_mem_alloc_pool(&call->req->pool, INFOREG_DOC_MAX);
	json_error_t jerr;
	json_t *v;
	int n = inforeg_doc_read(call->w->r, id, buf, INFOREG_DOC_MAX);

	if (n < 0) {
		*rc = n;
		return NULL;
	}
	v = json_loadb(buf, (size_t)n, 0, &jerr);
	if (!v || !json_is_object(v)) {
		json_decref(v);
		*rc = -EPROTO;
		return NULL;
	}
	*rc = 0;
	return v;
}

static void set_default(json_t *o, const char *key, json_t *v)
{
	if (!json_object_get(o, key))
		json_object_set_new(o, key, v);
	else
		json_decref(v);
}

static int get_node(struct api_call *call)
{
	struct inforeg_reader *r = call->w->r;
	char gen[24], ts[40];
	uint64_t start;
	json_t *doc;
	int rc;

	doc = api_doc_json(call, INFOREG_DOC_NODE, &rc);
	if (!doc) {
		api_add_header(call->req, H2O_TOKEN_RETRY_AFTER, "1");
		return api_error(call, 503, "not_ready", "node document unavailable: %s",
				 rc == -EAGAIN ? "not published yet" : strerror(-rc));
	}
	snprintf(gen, sizeof(gen), "%016llx", (unsigned long long)inforeg_generation(r));
	start = inforeg_start_realtime_ns(r);
	snprintf(ts, sizeof(ts), "%llu.%09llu", (unsigned long long)(start / 1000000000u),
		 (unsigned long long)(start % 1000000000u));
	set_default(doc, "inforeg_version", json_string(INFOREG_VERSION));
	set_default(doc, "generation", json_string(gen));
	set_default(doc, "start_time", json_real(strtod(ts, NULL)));
	set_default(doc, "writer_pid", json_integer(inforeg_writer_pid(r)));
	set_default(doc, "period_ns", json_integer((json_int_t)inforeg_period_ns(r)));
	return api_send_json(call, 200, doc);
}

int api_node_register(void)
{
	return api_route_add(API_GET, "/v1/node", get_node);
}
