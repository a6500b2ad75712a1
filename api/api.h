/* SPDX-License-Identifier: MIT */
/*
 * api.h - the REST server's interface to inforegd's main().
 *
 * The server runs in its own threads (one h2o evloop each) inside inforegd and reads
 * the registry through libinforeg like any other reader; writes go through ctl.h.
 */
#ifndef INFOREGD_API_H
#define INFOREGD_API_H

#define API_LISTEN_MAX 8

struct api_config {
	const char *shm_name;            /* registry to serve */
	const char *listen[API_LISTEN_MAX]; /* "127.0.0.1:9470", "[::1]:9470" */
	int n_listen;
	int workers;                     /* evloop threads, >= 1 */
	const char *token_file;          /* bearer token for write endpoints; NULL: writes refused (403) */
	const char *tls_cert, *tls_key;  /* PEM files; both set: TLS with ALPN h2 on every listener */
	int max_connections;             /* open connections (all workers) past which new ones are
					    refused at once; 0: derived from RLIMIT_NOFILE */
};

/*
 * Checks what the user wrote before anything is published: every listen address
 * parses, is given once and can be bound (trial bind, released at once), the token
 * file and the TLS files are regular files that load. Returns 0; -EINVAL for a
 * configuration error (inforegd exits 2); another -errno (EADDRINUSE, EACCES) for a
 * run-time refusal (exit 1). ERR says which and why.
 */
int api_preflight(const struct api_config *cfg, char *err, size_t errlen);

/*
 * Binds every listener (so that errors such as EADDRINUSE come back here, before the
 * daemon reports ready) and starts the worker threads. Returns 0 or -errno with a
 * message in ERR.
 */
int api_start(const struct api_config *cfg, char *err, size_t errlen);
/* Stops the workers and closes listeners. Safe to call when api_start failed or was never called. */
void api_stop(void);

#endif /* INFOREGD_API_H */
