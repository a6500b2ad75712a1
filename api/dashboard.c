/* SPDX-License-Identifier: MIT */
/*
 * dashboard.c - the live web dashboard: GET / answers api/dashboard.html, one
 * self-contained page (no CDN, no library: it works on an air-gapped node) that plots
 * /v1/stream live and shows /v1/node and /v1/status. The page is embedded in the
 * daemon at build time (.incbin; the Makefile makes this object depend on the page),
 * so what is served is what was tested.
 */
#include <string.h>
#include "api_int.h"

/* The page's bytes, NUL-terminated, in .rodata. */
__asm__(".section .rodata\n"
	".global api_dashboard_html\n"
	".type api_dashboard_html, @object\n"
	".balign 16\n"
	"api_dashboard_html:\n"
	".incbin \"api/dashboard.html\"\n"
	".byte 0\n"
	".size api_dashboard_html, . - api_dashboard_html\n"
	".previous\n");
extern const char api_dashboard_html[];

static int get_dashboard(struct api_call *call)
{
	struct sbuf sb;
	size_t len = strlen(api_dashboard_html);
	sbuf_init(&sb, len + 1);
	sbuf_puts(&sb, api_dashboard_html);
	api_add_header(call->req, H2O_TOKEN_CACHE_CONTROL, "no-cache");
	return api_send_sbuf(call, 200, "text/html; charset=utf-8", &sb);
}

int api_dashboard_register(void)
{
	return api_route_add(API_GET, "/", get_dashboard);
}
