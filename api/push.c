/* SPDX-License-Identifier: MIT */
/*
 * push.c - the push resource: values for series that push rules declare.
 *   POST /v1/push   body {"npu.temp": 54, "npu.power": 180.5}
 * Needs "Authorization: Bearer TOKEN" (token_file), checked before the body is looked
 * at. The values go through the daemon's control path (ctl_push_values): all of them
 * or none, stamped on arrival, in the sample from the next tick. A name no running
 * push rule declares (or past its pattern's max) is a 404 naming it, so producers
 * cannot make the layout churn; a name a pattern matches that is another rule's or a
 * built-in series is a 409. Producers on the node can use the Unix datagram
 * socket beside the shm object instead (daemon/rules/push.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "api_int.h"
#include "ctl.h"

#define PUSH_VALUES_MAX 256

static int post_push(struct api_call *call)
{
	struct push_value v[PUSH_VALUES_MAX];
	h2o_iovec_t e = call->req->entity;
	json_error_t jerr;
	const char *key;
	json_t *body, *x;
	char err[256] = "";
	int n = 0, rc;

	if (api_auth_check(call)) /* before the body is looked at */
		return 0;
	if (api_snap_ready(call)) /* the layout, so a pattern admits no existing series */
		return 0;
	if (e.len > API_BODY_MAX)
		return api_error(call, 413, "payload_too_large", "body larger than %d bytes", API_BODY_MAX);
	body = json_loadb(e.base ? e.base : "", e.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!body || !json_is_object(body) || !json_object_size(body)) {
		rc = api_error(call, 400, "bad_body", "body must be a JSON object of series name: number%s%s",
			       body ? "" : ": ", body ? "" : jerr.text);
		json_decref(body);
		return rc;
	}
	json_object_foreach(body, key, x)
	{
		if (n == PUSH_VALUES_MAX) {
			json_decref(body);
			return api_error(call, 400, "bad_body", "at most %d values per request",
					 PUSH_VALUES_MAX);
		}
		if (!json_is_number(x)) {
			rc = api_error(call, 400, "bad_body", "%.64s: expected a number", key);
			json_decref(body);
			return rc;
		}
		v[n].name = key;
		v[n].exists = api_dir_find(&call->w->dir, key, strlen(key)) >= 0;
		v[n++].value = json_number_value(x);
	}
	rc = ctl_push_values(v, n, err, sizeof(err));
	json_decref(body);
	switch (rc) {
	case 0:
		return api_send_json(call, 200, json_pack("{s:i}", "accepted", n));
	case -ENOENT:
		return api_error(call, 404, "undeclared", "%s", err);
	case -EEXIST:
		return api_error(call, 409, "exists", "%s", err);
	case -EINVAL:
		return api_error(call, 400, "bad_body", "%s", err);
	default:
		return api_error(call, 500, "internal", "%s", err[0] ? err : strerror(-rc));
	}
}

int api_push_register(void)
{
	return api_route_add(API_POST, "/v1/push", post_push);
}
