/* SPDX-License-Identifier: MIT */
/*
 * auth.c - the bearer token that guards the REST write endpoints (token_file).
 *
 * The token is read once at start: the whole file, which must be a regular file
 * (a FIFO would block start-up) holding one token of 1..API_TOKEN_MAX bytes without
 * whitespace, trailing newlines and blanks ignored. A longer file refuses to start
 * with a message; nothing is ever truncated. Requests compare in constant time.
 * Written before the worker threads start, read-only afterwards.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "api_int.h"

static char auth_token[API_TOKEN_MAX + 1];
static size_t auth_token_len;

int api_auth_load(const char *token_file, char *err, size_t errlen)
{
	/* read one byte past the longest token plus trailing blanks, to see "longer" */
	char buf[API_TOKEN_MAX + 256 + 1];
	size_t n = 0;
	int fd;

	auth_token_len = 0;
	if (!token_file || !token_file[0])
		return 0;
	fd = api_open_regular("token file", token_file, err, errlen);
	if (fd < 0)
		return fd;
	while (n < sizeof(buf)) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;

			snprintf(err, errlen, "token file %s: %s", token_file, strerror(e));
			close(fd);
			return -e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (n == sizeof(buf)) {
		snprintf(err, errlen, "token file %s: longer than %d bytes (the longest token accepted)",
			 token_file, API_TOKEN_MAX);
		return -EINVAL;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n > API_TOKEN_MAX) {
		snprintf(err, errlen,
			 "token file %s: token of %zu bytes, longer than %d (the longest accepted)",
			 token_file, n, API_TOKEN_MAX);
		return -EINVAL;
	}
	if (n == 0 || memchr(buf, '\0', n) || memchr(buf, ' ', n) || memchr(buf, '\t', n) ||
	    memchr(buf, '\r', n) || memchr(buf, '\n', n)) {
		snprintf(err, errlen, "token file %s: empty or not a single token", token_file);
		return -EINVAL;
	}
	memcpy(auth_token, buf, n);
	auth_token[n] = '\0';
	auth_token_len = n;
	return 0;
}

void api_auth_clear(void)
{
	memset(auth_token, 0, sizeof(auth_token));
	auth_token_len = 0;
}

int api_auth_check(struct api_call *call)
{
	h2o_req_t *req = call->req;
	ssize_t i;
	h2o_iovec_t v;

	if (auth_token_len == 0) {
		api_error(call, 403, "forbidden", "writes are disabled: no token file configured");
		return 1;
	}
	i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	if (i < 0) {
		api_add_header(req, H2O_TOKEN_WWW_AUTHENTICATE, "Bearer realm=\"inforeg\"");
		api_error(call, 401, "unauthorized", "missing Authorization: Bearer token");
		return 1;
	}
	v = req->headers.entries[i].value;
	if (v.len < 7 || !h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")) ||
	    !api_ct_equal(v.base + 7, v.len - 7, auth_token, auth_token_len)) {
		api_add_header(req, H2O_TOKEN_WWW_AUTHENTICATE,
			       "Bearer realm=\"inforeg\", error=\"invalid_token\"");
		api_error(call, 401, "unauthorized", "invalid bearer token");
		return 1;
	}
	return 0;
}
