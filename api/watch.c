/* SPDX-License-Identifier: MIT */
/*
 * watch.c - the watch resource: per-task CPU watches served by the eBPF task
 * collector.
 *   GET    /v1/watch          the accepted watches
 *   PUT    /v1/watch/{name}   body {"pid":123} | {"comm":"python3"} | {"cgroup":"/path"}
 *   DELETE /v1/watch/{name}
 * Writes need "Authorization: Bearer TOKEN" (token_file); without a configured token
 * they are refused with 403. The token is checked before the body is looked at. The
 * request goes through the daemon's control path (ctl.h), which validates at once
 * (so a bad spec is a 400 with its reason) and applies it at the next tick; the
 * series task.cpu.usage{watch="NAME"} appears in the sample after that. When the
 * queue of changes is full (more changes than a few ticks drain), PUT and DELETE answer
 * 503 with Retry-After and change nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "api_int.h"
#include "ctl.h"

static const char *kind_name(enum watch_kind k)
{
	switch (k) {
	case WATCH_PID:
		return "pid";
	case WATCH_COMM:
		return "comm";
	case WATCH_CGROUP:
		return "cgroup";
	default:
		return "unknown";
	}
}

static json_t *watch_json(const struct watch_spec *w)
{
	json_t *o = json_object();
	char series[INFOREG_NAME_MAX];

	json_object_set_new(o, "name", json_string(w->name));
	json_object_set_new(o, "kind", json_string(kind_name(w->kind)));
	if (w->kind == WATCH_PID)
		json_object_set_new(o, "pid", json_integer(w->pid));
	else if (w->kind == WATCH_COMM)
		json_object_set_new(o, "comm", json_string(w->comm));
	else if (w->kind == WATCH_CGROUP)
		json_object_set_new(o, "cgroup", json_string(w->cgroup));
	snprintf(series, sizeof(series), "task.cpu.usage{watch=\"%s\"}", w->name);
	json_object_set_new(o, "series", json_string(series));
	return o;
}

static int get_watches(struct api_call *call)
{
	struct watch_spec list[WATCH_MAX];
	json_t *arr = json_array(), *out = json_object();
	int n = ctl_watch_list(list, WATCH_MAX), i;

	for (i = 0; i < n && i < WATCH_MAX; i++)
		json_array_append_new(arr, watch_json(&list[i]));
	json_object_set_new(out, "watches", arr);
	return api_send_json(call, 200, out);
}

/* Turns the JSON body into ctl.h's "kind:value" spec. Returns 0 or sends 400 and returns 1. */
static int body_to_spec(struct api_call *call, char *spec, size_t len)
{
	h2o_iovec_t e = call->req->entity;
	json_error_t jerr;
	json_t *v, *x;
	int given = 0;

	v = json_loadb(e.base ? e.base : "", e.len, 0, &jerr);
	if (!v || !json_is_object(v)) {
		json_decref(v);
		api_error(call, 400, "bad_body", "body must be a JSON object: %s",
			  v ? "not an object" : jerr.text);
		return 1;
	}
	if ((x = json_object_get(v, "pid"))) {
		given++;
		if (!json_is_integer(x) || json_integer_value(x) <= 0 || json_integer_value(x) > 0x3fffffff) {
			json_decref(v);
			api_error(call, 400, "bad_body", "pid must be a positive integer");
			return 1;
		}
		snprintf(spec, len, "pid:%lld", (long long)json_integer_value(x));
	}
	if ((x = json_object_get(v, "comm"))) {
		given++;
		snprintf(spec, len, "comm:%s", json_is_string(x) ? json_string_value(x) : "");
	}
	if ((x = json_object_get(v, "cgroup"))) {
		given++;
		snprintf(spec, len, "cgroup:%s", json_is_string(x) ? json_string_value(x) : "");
	}
	json_decref(v);
	if (given != 1) {
		api_error(call, 400, "bad_body", "give exactly one of pid, comm, cgroup");
		return 1;
	}
	return 0;
}

/*
 * The bounded queue of changes the main loop drains once a tick is full: load, not an
 * internal error. The client retries after a tick (nothing was changed).
 */
static int busy(struct api_call *call)
{
	api_add_header(call->req, H2O_TOKEN_RETRY_AFTER, "1");
	return api_error(call, 503, "busy", "too many watch changes waiting for the next tick; retry");
}

static int put_watch(struct api_call *call)
{
	struct watch_spec w;
	char spec[300], err[256] = "";
	int rc;

	if (api_auth_check(call)) /* before the body is looked at */
		return 0;
	if (call->req->entity.len > API_BODY_MAX)
		return api_error(call, 413, "payload_too_large", "body larger than %d bytes", API_BODY_MAX);
	if (body_to_spec(call, spec, sizeof(spec)))
		return 0;
	rc = watch_spec_parse(call->param, spec, &w, err, sizeof(err));
	if (rc < 0)
		return api_error(call, 400, "bad_watch", "%s", err[0] ? err : strerror(-rc));
	rc = ctl_watch_add(&w, err, sizeof(err));
	switch (rc) {
	case 0:
		return api_send_json(call, 201, watch_json(&w));
	case -EEXIST:
		return api_error(call, 409, "exists", "watch '%s' exists", w.name);
	case -ENOSPC:
		if (ctl_watch_list(NULL, 0) < WATCH_MAX)
			return busy(call); /* room for the watch, none in the queue of changes */
		return api_error(call, 409, "watch_limit", "at most %d watches", WATCH_MAX);
	case -EOPNOTSUPP:
		return api_error(call, 503, "ebpf_unavailable", "%s",
				 err[0] ? err : "eBPF task collector is off");
	case -EINVAL:
		return api_error(call, 400, "bad_watch", "%s", err[0] ? err : "invalid watch");
	default:
		return api_error(call, 500, "internal", "%s", err[0] ? err : strerror(-rc));
	}
}

static int delete_watch(struct api_call *call)
{
	struct sbuf sb;
	int rc;

	if (api_auth_check(call))
		return 0;
	rc = ctl_watch_del(call->param);
	if (rc == -ENOENT)
		return api_error(call, 404, "unknown_watch", "no watch named '%.64s'", call->param);
	if (rc == -EBUSY)
		return busy(call);
	if (rc < 0)
		return api_error(call, 500, "internal", "%s", strerror(-rc));
	sbuf_init(&sb, 64);
	sbuf_puts(&sb, "{\"deleted\":");
	sbuf_json_str(&sb, call->param, strlen(call->param));
	sbuf_puts(&sb, "}\n");
	return api_send_sbuf(call, 200, "application/json", &sb);
}

static int watch_item(struct api_call *call)
{
	return call->method == API_PUT ? put_watch(call) : delete_watch(call);
}

int api_watch_register(void)
{
	int rc = api_route_add(API_GET, "/v1/watch", get_watches);

	if (rc == 0)
		rc = api_route_add(API_PUT | API_DELETE, "/v1/watch/{name}", watch_item);
	return rc;
}
