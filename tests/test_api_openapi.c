// SPDX-License-Identifier: MIT
/* test_api_openapi: api/openapi.yaml lists exactly the routes the REST server
 * registers - every (path, method) of the route table is documented and every
 * documented (path, method) is registered - so the file cannot drift from the code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "tap.h"

#define MAXR 64

struct pm {
	char path[128];
	unsigned methods;
};

static unsigned method_bit(const char *m)
{
	if (!strcmp(m, "get"))
		return API_GET;
	if (!strcmp(m, "put"))
		return API_PUT;
	if (!strcmp(m, "delete"))
		return API_DELETE;
	if (!strcmp(m, "post"))
		return API_POST;
	return 0x100; /* documented but unknown to the router: never equal */
}

/* Reads the paths: section (two-space path keys, four-space method keys). */
static int load_openapi(const char *file, struct pm *out)
{
	char line[512];
	int n = 0, in_paths = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] && line[0] != ' ' && line[0] != '#') {
			in_paths = !strcmp(line, "paths:");
			continue;
		}
		if (!in_paths)
			continue;
		if (!strncmp(line, "  /", 3) && line[strlen(line) - 1] == ':' && n < MAXR) {
			snprintf(out[n].path, sizeof(out[n].path), "%.*s", (int)strlen(line) - 3, line + 2);
			out[n++].methods = 0;
		} else if (n && !strncmp(line, "    ", 4) && line[4] != ' ' &&
			   line[strlen(line) - 1] == ':') {
			char m[32];

			snprintf(m, sizeof(m), "%.*s", (int)strlen(line) - 5, line + 4);
			if (!strcmp(m, "parameters") || !strcmp(m, "summary"))
				continue;
			out[n - 1].methods |= method_bit(m);
		}
	}
	fclose(f);
	return n;
}

static void test_routes_match_openapi(void)
{
	struct pm doc[MAXR];
	const char *top = getenv("INFOREG_TOP");
	char file[512];
	const char *pattern;
	unsigned methods;
	int nd, i, j, nr = 0;

	snprintf(file, sizeof(file), "%s/api/openapi.yaml", top ? top : ".");
	nd = load_openapi(file, doc);
	CHECKF(nd > 0, "cannot read %s", file);
	CHECK(api_routes_register_all() == 0);
	for (i = 0; api_route_get(i, &pattern, &methods) == 0; i++) {
		nr++;
		for (j = 0; j < nd; j++)
			if (!strcmp(doc[j].path, pattern))
				break;
		CHECKF(j < nd, "route %s is not in openapi.yaml", pattern);
		if (j < nd)
			CHECKF(doc[j].methods == methods, "%s: methods 0x%x registered, 0x%x documented",
			       pattern, methods, doc[j].methods);
	}
	for (j = 0; j < nd; j++) {
		int found = 0;

		for (i = 0; api_route_get(i, &pattern, &methods) == 0; i++)
			found |= !strcmp(doc[j].path, pattern);
		CHECKF(found, "openapi.yaml documents %s, which the server does not register", doc[j].path);
	}
	CHECKF(nr == nd, "%d routes registered, %d paths documented", nr, nd);
	CHECK(nr >= 12);
	api_routes_reset();
}

int main(void)
{
	RUN(test_routes_match_openapi);
	TAP_EXIT();
}
