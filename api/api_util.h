/* SPDX-License-Identifier: MIT */
/*
 * api_util.h - pure helpers of the REST server (no h2o, no ring): a growable string
 * buffer, JSON string escaping, shortest round-trip double formatting, percent
 * decoding, series-name label parsing and the Prometheus name mapping.
 *
 * They are kept free of server state so that tests/test_api_*.c can check them
 * directly, also under ASan/UBSan and TSan.
 */
#ifndef INFOREGD_API_UTIL_H
#define INFOREGD_API_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* ---- files the user names (util.c) ---------------------------------------- */

/*
 * Opens PATH read-only for reading a whole file and checks that it is a regular file
 * (a FIFO or a device would block or never end): O_NONBLOCK, so opening a FIFO does
 * not wait for a writer. Returns the fd (blocking again), or -errno with
 * "WHAT PATH: reason" in ERR (-EINVAL: "not a regular file").
 */
int api_open_regular(const char *what, const char *path, char *err, size_t errlen);

/* ---- HTTP/1.1 message framing (util.c) ----------------------------------- */

/*
 * Scans the header block at the start of BUF (request line, header lines, up to the
 * empty line) for the framing conflicts RFC 9112 section 6.3 says a server must refuse:
 * Content-Length together with Transfer-Encoding, and Content-Length values that
 * disagree (repeated headers or a comma list). Returns 0 when framing is unambiguous
 * (or BUF holds no complete header block), else -EINVAL with a static reason in *WHY.
 */
int api_h1_framing_check(const char *buf, size_t len, const char **why);

/* ---- string buffer (util.c) ----------------------------------------------- */

/*
 * A malloc'ed, growing, NUL-terminated buffer. On allocation failure it sets oom and
 * ignores further writes; check oom once at the end.
 */
struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

void sbuf_init(struct sbuf *sb, size_t cap);
void sbuf_free(struct sbuf *sb);
/* Hands the buffer to the caller (who frees it) and resets SB. */
char *sbuf_take(struct sbuf *sb, size_t *len);
void sbuf_put(struct sbuf *sb, const char *s, size_t n);
void sbuf_puts(struct sbuf *sb, const char *s);
void sbuf_putc(struct sbuf *sb, char c);
void sbuf_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_u64(struct sbuf *sb, uint64_t v);
/* A JSON string literal (quotes included), escaping what RFC 8259 requires. */
void sbuf_json_str(struct sbuf *sb, const char *s, size_t n);
/* A JSON number at full precision (round-trips), or null for NaN and infinities. */
void sbuf_json_num(struct sbuf *sb, double v);
/* A Prometheus sample value: shortest round-trip, NaN, +Inf, -Inf. */
void sbuf_prom_num(struct sbuf *sb, double v);
/* A nanosecond timestamp as seconds with nine decimals ("1718000000.123456789"). */
void sbuf_ts(struct sbuf *sb, uint64_t ns);

/*
 * Shortest "%.*g" text of V that strtod() reads back as exactly V (at most 17 digits).
 * Returns its length (< LEN), or -ENOSPC. NaN/inf are written as "nan"/"inf"/"-inf".
 */
int api_fmt_double(char *buf, size_t len, double v);

/*
 * Percent-decodes S[0..N) into OUT (size OUTLEN, NUL-terminated). PLUS_SPACE: '+' is a
 * space (query strings). Returns the decoded length, -EINVAL for a bad escape or an
 * embedded NUL, -ENAMETOOLONG when OUT is too small.
 */
int api_url_decode(const char *s, size_t n, char *out, size_t outlen, int plus_space);

/* Constant-time equality of two byte strings (length is not secret). */
int api_ct_equal(const char *a, size_t alen, const char *b, size_t blen);

/* ---- series names (promname.c) ---------------------------------------------- */

/* Length of NAME before its '{' (the whole name when it has no labels). */
size_t api_name_base_len(const char *name);

/*
 * Iterates the labels of a series name 'base{k="v",k2="v2"}'. *POS starts at 0.
 * Returns 1 and fills KEY/VAL (raw value text, escapes kept; VAL_RAW_LEN its
 * length) and the span [*SPAN_START, *SPAN_END) of 'k="v"' in NAME; 0 at the end;
 * -EINVAL for a malformed label list.
 */
int api_label_next(const char *name, size_t *pos, char *key, size_t keylen, const char **val, size_t *val_len,
		   size_t *span_start, size_t *span_end);

/*
 * Prometheus mapping of one inforeg unit: SUFFIX is the base-unit name appended to
 * metric names ("seconds", "bytes", "bytes_per_second", "percent", "" for none) and
 * SCALE what a value is multiplied by (1e-6 for "us"). Returns 0.
 */
int api_prom_unit(const char *unit, char *suffix, size_t suffix_len, double *scale);

#define API_PROM_PLAIN	   0
#define API_PROM_HISTOGRAM 1
/*
 * The one naming rule (see api/openapi.yaml, info.description):
 *   1. "inforeg_" + the dotted base name (labels excluded), lower-cased, every
 *      character outside [a-z0-9_] replaced by '_'  (cpu.usage -> inforeg_cpu_usage);
 *   2. a trailing "_per_s" becomes "_per_second"; a trailing abbreviated time unit
 *      token equal to the series' own unit ("_us" for unit "us") is dropped;
 *   3. the unit suffix of api_prom_unit() is appended unless the name already ends
 *      with it, or both end in "_per_second" (values are scaled to that base unit);
 *   4. a plain (non-histogram) gauge or rate whose name now ends in a suffix
 *      Prometheus reserves (_count, _sum, _bucket, _total, _info) gets "_value";
 *   5. counters get "_total"; histograms get nothing here (their samples add
 *      _bucket/_sum/_count).
 * BASE is the dotted name without labels (BASE_LEN bytes). Writes the family name to
 * OUT. Returns its length, or -ENAMETOOLONG.
 */
int api_prom_name(const char *base, size_t base_len, const char *unit, uint32_t kind, int shape, char *out,
		  size_t outlen);

#endif /* INFOREGD_API_UTIL_H */
