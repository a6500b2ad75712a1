/* SPDX-License-Identifier: MIT */
/*
 * healthz.c - the liveness resource: GET /healthz answers 200 while the daemon
 * publishes and 503 when sampling has stalled (the latest sample is older than
 * API_STALE_PERIODS periods, or nothing was ever published) or the registry was
 * retired without a successor. It reads the ring directly, not the snapshot, so a
 * stall is seen at once.
 */
#include <errno.h>
#include <math.h>
#include "api_int.h"

static int get_healthz(struct api_call *call)
{
	struct inforeg_reader *r = call->w->r;
	struct sbuf sb;
	double age;
	int rc = inforeg_refresh(r);

	if (rc == -ESTALE)
		return api_error(call, 503, "retired", "the registry was retired and has no successor");
	age = inforeg_age_periods(r);
	if (inforeg_head(r) == 0)
		return api_error(call, 503, "not_ready", "no sample published yet");
	if (inforeg_is_stale(r, API_STALE_PERIODS))
		return api_error(call, 503, "stalled", "latest sample is %.1f periods old (limit %d)", age,
				 API_STALE_PERIODS);
	sbuf_init(&sb, 128);
	sbuf_puts(&sb, "{\"status\":\"ok\",\"age_periods\":");
	sbuf_json_num(&sb, age);
	sbuf_puts(&sb, ",\"head\":");
	sbuf_u64(&sb, inforeg_head(r));
	sbuf_puts(&sb, "}\n");
	return api_send_sbuf(call, 200, "application/json", &sb);
}

int api_healthz_register(void)
{
	return api_route_add(API_GET, "/healthz", get_healthz);
}
