/* SPDX-License-Identifier: MIT */
/*
 * rules.c - the rules resource: user-defined collection, processing and scoring
 * rules, changeable while inforegd runs (daemon/rules/).
 *   GET    /v1/rules          every accepted rule with its status
 *   GET    /v1/rules/{name}   one rule
 *   PUT    /v1/rules/{name}   body: the rule's JSON object ({"kind":..., ...})
 *   DELETE /v1/rules/{name}
 * Writes need "Authorization: Bearer TOKEN", checked before the body is looked at.
 * They go through the daemon's control path (ctl.h), which validates at once (a bad
 * rule is a 400 with the reason and the old rule stays), persists into rules_dir and
 * applies the change at the next tick; a rule that adds or removes series makes the
 * daemon publish a new object, which readers follow by name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "api_int.h"
#include "ctl.h"
#include "rules/rules.h"

static int get_rules(struct api_call *call)
{
	char dir[256];
	int persisted = ctl_rules_persisted(dir, sizeof(dir));
	json_t *out = json_object();
	json_object_set_new(out, "rules", ctl_rule_list());
	json_object_set_new(out, "persisted", json_boolean(persisted));
	json_object_set_new(out, "dir", persisted ? json_string(dir) : json_null());
	return api_send_json(call, 200, out);
}

static int get_rule(struct api_call *call)
{
	json_t *r = ctl_rule_get(call->param);
	if (!r)
		return api_error(call, 404, "unknown_rule", "no rule named '%.64s'", call->param);
	return api_send_json(call, 200, r);
}

static int put_rule(struct api_call *call)
{
	h2o_iovec_t e = call->req->entity;
	char err[512] = "";
	int rc;

	if (api_auth_check(call)) /* before the body is looked at */
		return 0;
	if (e.len > RULE_BODY_MAX)
		return api_error(call, 413, "payload_too_large", "a rule is at most %d bytes", RULE_BODY_MAX);
	rc = ctl_rule_put(call->param, e.base ? e.base : "", e.len, err, sizeof(err));
	if (rc >= 0) {
		json_t *r = ctl_rule_get(call->param);
		return api_send_json(call, rc == 0 ? 201 : 200, r ? r : json_object());
	}
	switch (rc) {
	case -EINVAL:
		return api_error(call, 400, "bad_rule", "%s", err[0] ? err : "invalid rule");
	case -ENOSPC:
		return api_error(call, 409, "rule_limit", "%s", err);
	default:
		return api_error(call, 500, "internal", "%s", err[0] ? err : strerror(-rc));
	}
}

static int delete_rule(struct api_call *call)
{
	char err[512] = "";
	struct sbuf sb;
	int rc;

	if (api_auth_check(call))
		return 0;
	rc = ctl_rule_del(call->param, err, sizeof(err));
	if (rc == -ENOENT)
		return api_error(call, 404, "unknown_rule", "no rule named '%.64s'", call->param);
	if (rc < 0)
		return api_error(call, 500, "internal", "%s", err[0] ? err : strerror(-rc));
	sbuf_init(&sb, 64);
	sbuf_puts(&sb, "{\"deleted\":");
	sbuf_json_str(&sb, call->param, strlen(call->param));
	sbuf_puts(&sb, "}\n");
	return api_send_sbuf(call, 200, "application/json", &sb);
}

static int rule_item(struct api_call *call)
{
	if (call->method == API_GET)
		return get_rule(call);
	return call->method == API_PUT ? put_rule(call) : delete_rule(call);
}

int api_rules_register(void)
{
	int rc = api_route_add(API_GET, "/v1/rules", get_rules);

	if (rc == 0)
		rc = api_route_add(API_GET | API_PUT | API_DELETE, "/v1/rules/{name}", rule_item);
	return rc;
}
