/* SPDX-License-Identifier: MIT */
/*
 * extender_args.c - libFuzzer target: what inforeg-extender does with a request body
 * from kube-scheduler before it asks any node: ExtenderArgs decoded the Go way
 * (ext_args_parse: case-insensitive fields, the pod's requirements, the candidates),
 * then both replies built from it (ext_filter_json with a score for every candidate,
 * ext_prioritize_json) and serialized; the same bytes read as a Kubernetes quantity.
 *
 * Any bytes give a decoded request or a refusal with a message, never a crash, a leak
 * or an out-of-bounds access (ASan), and a decoded request always has finite,
 * non-negative requirements and a name for every candidate. Seeds: tests/fuzz/extender_args/.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "extender.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ext_result *res;
	struct ext_args a;
	char err[512], q[64];
	double v;
	size_t i;
	int k, rc;

	/* as a quantity (NUL-terminated, as JSON strings reach it) */
	if (size < sizeof(q)) {
		memcpy(q, data, size);
		q[size] = '\0';
		if (ext_quantity_parse(q, &v) == 0 && !isfinite(v))
			abort();
	}

	err[0] = '\0';
	rc = ext_args_parse((const char *)data, size, &a, err, sizeof(err));
	if (rc < 0 && !err[0])
		abort(); /* a refusal always says why */
	if (rc == 0) {
		for (k = 0; k < EXT_RES_N; k++)
			if (!isfinite(a.req.want[k]) || a.req.want[k] < 0)
				abort();
		res = calloc(a.n ? a.n : 1, sizeof(*res));
		if (!res)
			abort();
		for (i = 0; i < a.n; i++) {
			if (!a.names[i] || (!a.by_names && !a.nodes[i]))
				abort();
			res[i].state = i % 3 == 2 ? EXT_NODATA : EXT_OK;
			res[i].score = (double)(i % 11) / 10;
			for (k = 0; k < EXT_RES_N; k++) {
				res[i].free[k] = (double)i;
				res[i].perf[k] = res[i].score;
			}
		}
		{
			json_t *f = ext_filter_json(&a, res, 0.5, NULL), *p = ext_prioritize_json(&a, res);
			char *s1 = f ? json_dumps(f, JSON_COMPACT) : NULL,
			     *s2 = p ? json_dumps(p, JSON_COMPACT) : NULL;

			if (!s1 || !s2 || json_array_size(p) != a.n)
				abort();
			free(s1);
			free(s2);
			json_decref(f);
			json_decref(p);
		}
		free(res);
	} else {
		/* what a filter reply says when it cannot judge */
		json_t *f = ext_filter_json(&a, NULL, 0.5, err);

		if (!f)
			abort();
		json_decref(f);
	}
	ext_args_free(&a);
	return 0;
}
