/* SPDX-License-Identifier: MIT */
/*
 * router.c - libFuzzer target: what the REST router does with a request's bytes
 * before a handler runs: the request target's path matched against the real route
 * table (api_route_match) and its {name} segment percent-decoded, the query string
 * split into pairs (api_query_next) and each key and value decoded, and the HTTP/1.1
 * framing check on the same bytes read as a header block (api_h1_framing_check).
 *
 * The input is a request target ("/v1/metrics/x%2Fy?match=a*&limit=3"); any bytes
 * give a match or a refusal, never a crash or an out-of-bounds access (ASan).
 * Seeds: tests/fuzz/router/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes S[0..N) into a buffer of exactly the size the router gives it. */
static void decode(const char *s, size_t n, int plus)
{
	char *out = malloc(n + 1);
	int len;

	if (!out)
		return;
	len = api_url_decode(s, n, out, n + 1, plus);
	if (len >= 0 && ((size_t)len > n || out[len] != '\0' || strlen(out) != (size_t)len))
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned methods[] = {API_GET, API_PUT, API_DELETE, API_POST};
	static int ready;
	const char *t = (const char *)data, *q, *end = t + size, *p, *k, *v, *why = NULL;
	struct api_route_match m;
	size_t plen, klen, vlen;
	char *copy;
	unsigned i;
	int rc;

	if (!ready) {
		if (api_routes_register_all() < 0)
			abort();
		ready = 1;
	}
	/* an exact-size copy, so ASan sees any read past the target */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	t = copy;
	end = t + size;
	q = memchr(t, '?', size);
	plen = q ? (size_t)(q - t) : size;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		rc = api_route_match(t, plen, methods[i], &m);
		if (rc >= 0) {
			const char *pat;
			unsigned ms;

			if (api_route_get(rc, &pat, &ms) < 0 || !(ms & methods[i]))
				abort();
			if (m.param) {
				if (m.param < t || m.param + m.param_len > t + plen || m.param_len == 0)
					abort();
				decode(m.param, m.param_len, 0);
			}
		} else if (rc == -EPERM) {
			if (!m.allowed || (m.allowed & methods[i]))
				abort();
		} else if (rc != -ENOENT) {
			abort();
		}
	}
	if (q) {
		p = q + 1;
		while (api_query_next(&p, end, &k, &klen, &v, &vlen)) {
			if (k < q || k + klen > end || v < k || v + vlen > end)
				abort();
			decode(k, klen, 1);
			decode(v, vlen, 1);
		}
	}
	rc = api_h1_framing_check(copy, size, &why);
	if (rc != 0 && (rc != -EINVAL || !why))
		abort();
	free(copy);
	return 0;
}
