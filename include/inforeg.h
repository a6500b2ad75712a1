/* SPDX-License-Identifier: MIT */
/*
 * inforeg.h - libinforeg, the client library of the inforeg node information registry.
 *
 * A co-located process opens the registry by its shm name, looks series up by name
 * once, then reads the latest value or a whole consistent sample with no system call
 * (the object is mapped read-only; every read is a seqlock-validated copy). History is
 * iterated from the ring; a reader can sleep until the next sample on a shared futex.
 *
 * Conventions:
 *  - Functions returning int return >= 0 on success and -errno on failure.
 *  - inforeg_open() returns NULL and sets errno.  inforeg_close(NULL) is a no-op.
 *  - Every function taking a reader accepts NULL: -EINVAL, or (for those returning a
 *    value) 0 / NaN with errno set to EINVAL. A series handle that inforeg_lookup()
 *    never returned (negative, or out of range) is -EINVAL too.
 *  - -EAGAIN also means "the writer kept changing what we read": a seqlock copy that
 *    does not validate after many retries is never returned.
 *  - The library refuses (EPERM) an object not owned by root, the caller's effective
 *    uid or the uid in $INFOREG_SHM_UID (for a daemon run as a dedicated user).
 *  - Series handles (>= 0, from inforeg_lookup()) stay valid across writer restarts
 *    and layout changes: the library re-maps a retired object by itself and re-binds
 *    every handle by name. A handle whose series disappeared reads -ENOENT.
 *  - One inforeg_reader may be shared by any number of threads.
 *
 * Example:
 *   struct inforeg_reader *r = inforeg_open("inforeg", 0);
 *   if (!r) { perror("inforeg_open"); return 1; }
 *   int h = inforeg_lookup(r, "cpu.usage");
 *   double v;
 *   if (inforeg_read_latest(r, h, &v, NULL) == 0)
 *           printf("cpu.usage %.1f%%\n", v);
 *   inforeg_close(r);
 */
#ifndef INFOREG_H
#define INFOREG_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <inforeg_layout.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INFOREG_VERSION	    "0.1.0"
#define INFOREG_DEFAULT_SHM "inforeg"

struct inforeg_reader;

/*
 * Per-series state, carried in the value itself (see "Values and their state" in
 * inforeg_layout.h): a number is fresh; a NaN says why there is no number. A NaN
 * without one of the payloads below is "unknown" (no reading yet, e.g. the first
 * sample of a rate). Arithmetic on a stale or failed value propagates its payload on
 * x86-64 and arm64, so a value derived from a failed input reads failed too.
 */
enum inforeg_value_state {
	INFOREG_FRESH = 0,   /* a number */
	INFOREG_STALE = 1,   /* the source's last value is older than its time-to-live */
	INFOREG_FAILED = 2,  /* the source failed (rule error, timeout, bad output) */
	INFOREG_UNKNOWN = 3, /* NaN: no value (yet) */
};
#define INFOREG_NAN_STALE_BITS	0x7ff8495200000001ULL /* quiet NaN, payload "IR" + 1 */
#define INFOREG_NAN_FAILED_BITS 0x7ff8495200000002ULL /* quiet NaN, payload "IR" + 2 */

/* The state of value V (sign bit ignored). */
static inline enum inforeg_value_state inforeg_value_state(double v)
{
	union {
		double d;
		uint64_t u;
	} c = {.d = v};
	uint64_t u = c.u & 0x7fffffffffffffffULL;
	if (v == v)
		return INFOREG_FRESH;
	if (u == INFOREG_NAN_STALE_BITS)
		return INFOREG_STALE;
	if (u == INFOREG_NAN_FAILED_BITS)
		return INFOREG_FAILED;
	return INFOREG_UNKNOWN;
}

/* The NaN that encodes STATE (INFOREG_STALE, INFOREG_FAILED; a plain NaN otherwise). */
static inline double inforeg_state_value(enum inforeg_value_state state)
{
	union {
		double d;
		uint64_t u;
	} c = {.u = state == INFOREG_STALE    ? INFOREG_NAN_STALE_BITS
		    : state == INFOREG_FAILED ? INFOREG_NAN_FAILED_BITS
					      : 0x7ff8000000000000ULL};
	return c.d;
}

/* "fresh", "stale", "failed" or "unknown". */
static inline const char *inforeg_state_name(enum inforeg_value_state state)
{
	return state == INFOREG_FRESH	 ? "fresh"
	       : state == INFOREG_STALE	 ? "stale"
	       : state == INFOREG_FAILED ? "failed"
					 : "unknown";
}

/* Metadata of one sample. */
struct inforeg_meta {
	uint64_t seq;	       /* position of the sample in the ring (free-running) */
	uint64_t realtime_ns;  /* CLOCK_REALTIME when it was taken */
	uint64_t monotonic_ns; /* CLOCK_MONOTONIC when it was taken */
	uint64_t generation;   /* the writer's generation id */
};

/* Description of one series (copied from the directory). */
struct inforeg_series_info {
	char name[INFOREG_NAME_MAX];
	char unit[INFOREG_UNIT_MAX];
	char help[INFOREG_HELP_MAX];
	uint32_t kind; /* enum inforeg_kind */
};

/* inforeg_open() flags */
#define INFOREG_OPEN_NOREOPEN 1u /* never re-open a retired object by itself */

/*
 * Opens the registry /dev/shm/NAME (NULL: $INFOREG_SHM, else "inforeg") read-only and validates its
 * header. Returns NULL and sets errno: ENOENT (no daemon), EPROTO (bad magic or
 * major layout version), EINVAL (inconsistent header), EPERM (untrusted owner),
 * EACCES, ENOMEM.
 */
struct inforeg_reader *inforeg_open(const char *name, unsigned flags);
void inforeg_close(struct inforeg_reader *r);

/* Returns a handle >= 0 for the series named exactly NAME (labels included), or -ENOENT. */
int inforeg_lookup(struct inforeg_reader *r, const char *name);

/* Number of series in the current directory, and a copy of entry IDX (0..count-1). */
int inforeg_series_count(struct inforeg_reader *r);
int inforeg_series_get(struct inforeg_reader *r, int idx, struct inforeg_series_info *out);
/* Directory index of handle H in the current mapping (for inforeg_read_sample arrays), or -ENOENT. */
int inforeg_handle_index(struct inforeg_reader *r, int h);

/*
 * Latest value of series H. META may be NULL. Returns 0, -EAGAIN if nothing was
 * published yet, -EINVAL for a handle never issued, -ENOENT for a handle whose series
 * is not in the current object, -ESTALE if the writer retired the object and no
 * successor could be opened (the last value is still returned).
 * No system call in the common case.
 */
int inforeg_read_latest(struct inforeg_reader *r, int h, double *value, struct inforeg_meta *meta);

/*
 * The inlinable fast path, for loops that read one series millions of times: bind a
 * handle once, then inforeg_fast_read() is a handful of loads in the caller's code
 * (no call, no system call). It returns 0, -EAGAIN (nothing published yet) or
 * -ESTALE when the object was retired (restart, new layout): call inforeg_fast_bind()
 * again, which follows the writer. The bound mapping stays valid until inforeg_close().
 */
struct inforeg_fast {
	const struct inforeg_shm_header *hdr;
	const char *slots;
	uint64_t mask, first_pos;
	uint32_t slot_size, idx;
};
/* The ring's words, read as in shm/ring.h (R1..R4); valid C and C++. */
int inforeg_fast_bind(struct inforeg_reader *r, int h, struct inforeg_fast *f);

static inline int inforeg_fast_read(const struct inforeg_fast *f, double *value)
{
	if (__builtin_expect(!f || !f->hdr || !value, 0))
		return -EINVAL; /* never bound (zeroed), or NULL */
	struct inforeg_shm_header *hdr = (struct inforeg_shm_header *)f->hdr;
	for (int tries = 0; tries < 100000; tries++) {
		/* the ring protocol of shm/ring.h: R1 pairs with W5, R2 with W4, R3 with W2 */
		uint64_t head = INFOREG_LOAD_ACQUIRE(&hdr->head);
		if (__builtin_expect(INFOREG_LOAD_RELAXED(&hdr->flags) & INFOREG_F_RETIRED, 0))
			return -ESTALE;
		if (__builtin_expect(head == f->first_pos, 0))
			return -EAGAIN;
		uint64_t p = head - 1;
		struct inforeg_slot_header *s =
		    (struct inforeg_slot_header *)(f->slots + (size_t)(p & f->mask) * f->slot_size);
		uint64_t s1 = INFOREG_LOAD_ACQUIRE(&s->seq);
		if (__builtin_expect(s1 != 2 * p + 2, 0))
			continue;
		INFOREG_ATOMIC(uint64_t) *w = (INFOREG_ATOMIC(uint64_t) *)(s + 1);
		uint64_t x = INFOREG_LOAD_ACQUIRE(&w[f->idx]);
		if (__builtin_expect(INFOREG_LOAD_RELAXED(&s->seq) != s1, 0))
			continue;		   /* R4: lapped while reading */
		memcpy(value, &x, sizeof(*value)); /* the double's bit pattern */
		return 0;
	}
	return -EAGAIN; /* kept being lapped: no validated value */
}

/*
 * Copies the latest complete sample: up to N values (directory order) into VALUES.
 * Returns the number of series in the sample (may exceed N), or -errno as above.
 */
int inforeg_read_sample(struct inforeg_reader *r, double *values, size_t n, struct inforeg_meta *meta);

/*
 * Zero-copy view of the latest sample: VIEW points into the mapping, valid until
 * inforeg_view_valid() says otherwise. Copy what you need, then check validity:
 *   inforeg_view_latest(r, &v);  x = inforeg_view_value(&v, idx);  if (inforeg_view_valid(&v)) use x;
 */
struct inforeg_view {
	const void *slot;
	uint64_t seq_word; /* the slot's seqlock word when the view was taken */
	uint32_t count;
	struct inforeg_meta meta;
};
int inforeg_view_latest(struct inforeg_reader *r, struct inforeg_view *view);
double inforeg_view_value(const struct inforeg_view *view, uint32_t idx);
int inforeg_view_valid(const struct inforeg_view *view); /* 1 if nothing overwrote it */

/*
 * History: copies, for series H, samples with seq >= SINCE_SEQ (0: oldest still in the
 * ring) into VALUES/METAS (either may be NULL), at most N. Returns the number copied;
 * samples overwritten during the copy are skipped. *NEXT_SEQ (may be NULL) receives
 * the seq to pass next time.
 */
int inforeg_read_history(struct inforeg_reader *r, int h, uint64_t since_seq, double *values,
			 struct inforeg_meta *metas, size_t n, uint64_t *next_seq);
/* First seq in the ring whose realtime timestamp is >= REALTIME_NS (for time-based history). */
uint64_t inforeg_seq_at_time(struct inforeg_reader *r, uint64_t realtime_ns);
/* Sequence of the latest complete sample + 1 (0 when empty). */
uint64_t inforeg_head(struct inforeg_reader *r);
/* "No sample seen yet": inforeg_wait(r, INFOREG_SEQ_NONE, ms) returns once any sample exists. */
#define INFOREG_SEQ_NONE UINT64_MAX

/*
 * Sleeps until a sample with seq >= AFTER_SEQ + 1 is published (AFTER_SEQ: a seq you
 * have) or TIMEOUT_MS passes (-1: forever). Uses a shared futex. It follows the
 * writer to a new object by itself: the same writer's new layout continues the
 * sequence, so it keeps waiting there for AFTER_SEQ + 1; a restarted writer (new
 * generation) returns 0 at once. When the writer exited and nothing replaced it, it
 * sleeps (looking for a successor every 20 ms, woken at once by one that retires a
 * killed writer's object) and never returns before TIMEOUT_MS.
 * Returns 0 when a new sample is there, -ETIMEDOUT, -ESTALE (timed out, and the writer
 * exited with no successor), -EINTR, -EINVAL.
 */
int inforeg_wait(struct inforeg_reader *r, uint64_t after_seq, int timeout_ms);

/* Writer facts. */
uint64_t inforeg_generation(struct inforeg_reader *r);
uint64_t inforeg_period_ns(struct inforeg_reader *r);
uint32_t inforeg_writer_pid(struct inforeg_reader *r);
uint64_t inforeg_start_realtime_ns(struct inforeg_reader *r);
uint32_t inforeg_capacity(struct inforeg_reader *r);
uint64_t inforeg_dropped(struct inforeg_reader *r);
/* Number of times this reader followed the writer to a new object (restart or new layout). */
uint64_t inforeg_reopens(struct inforeg_reader *r);

/*
 * Whether the writer of the current object is alive: 1, or 0 when it is gone - the
 * object is retired with no successor, or (writer in this PID namespace) its process
 * no longer exists or is a zombie, or (another PID namespace) its heartbeat is more
 * than about 3 periods old. After a kill -9 this says 0 as soon as the process is
 * reaped. It follows a successor first. A few system calls: not for the hot path.
 * Returns -EINVAL for a NULL reader. (Symbol version INFOREG_0.2.)
 */
int inforeg_writer_alive(struct inforeg_reader *r);

/*
 * Age of the latest sample in periods (CLOCK_MONOTONIC). inforeg_is_stale() returns 1
 * when the latest sample is older than N periods (or none exists), 0 otherwise.
 */
double inforeg_age_periods(struct inforeg_reader *r);
int inforeg_is_stale(struct inforeg_reader *r, unsigned n_periods);

/*
 * Checks for retirement now and follows the writer to its new object. Returns 0 when
 * nothing changed, INFOREG_CHANGED_* flags otherwise, or -errno (-ESTALE: retired, no successor).
 */
#define INFOREG_CHANGED_GENERATION 1 /* the writer restarted */
#define INFOREG_CHANGED_LAYOUT	   2 /* the series set changed */
int inforeg_refresh(struct inforeg_reader *r);

/* Copies document ID (enum inforeg_doc_id) into BUF (NUL-terminated). Returns its length or -errno (-E2BIG,
 * -EAGAIN if empty). */
int inforeg_doc_read(struct inforeg_reader *r, unsigned id, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* INFOREG_H */
