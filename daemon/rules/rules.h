/* SPDX-License-Identifier: MIT */
/*
 * rules.h - the rules engine's room: user-defined rules that collect (file, exec,
 * push), process (derive) and score (score) node information, changeable while
 * inforegd runs. This header is the one interface every rule kind implements, as
 * small as collector.h, plus what the engine (engine.c) offers the kinds.
 *
 * A rule is one JSON object {"name": NAME, "kind": KIND, ...kind fields}. The engine
 * (engine.c) is a collector like any other ("rules", last in the main loop's list, so
 * derived series see every built-in source of the same tick). It owns the rule set:
 * it loads rules_dir (one NAME.json per rule) or the built-in default, takes REST
 * writes through the control path (ctl.h: validated at once in the caller's thread,
 * applied by the main loop at the next tick), persists them, and runs the kinds'
 * hooks below in phase order at every tick.
 *
 * Life of a rule, and the thread each hook runs in:
 *
 *   parse    any thread (a REST worker validating a PUT, the main loop loading a
 *            file). Checks the JSON and builds r->priv. Pure: no files opened, no
 *            process started, no global state touched, so a rejected rule costs
 *            nothing and "validate" is parse + free. On error: -EINVAL and a one-line
 *            reason in ERR (it becomes the 400's message; name the field).
 *   start    main loop, once, when the rule enters the running set (may be NULL):
 *            acquire resources (col_file_open on env->files, sockets, ...). An error
 *            leaves the rule loaded but failed (its reason in the status document).
 *   declare  main loop, after start (also when start failed: the series then exist and
 *            read failed) and at every re-layout: declare the series with
 *            rule_declare() (never reg_series directly: the engine needs the
 *            indices to mark a failing rule's series) and remember the indices.
 *   sample   main loop, every tick, in phase order (COLLECT, then DERIVE, then
 *            SCORE). Never blocks, never waits for a child or a socket: poll
 *            non-blocking and keep the last result. Write each declared series:
 *              a number                 fresh
 *              rule_value(STALE)        the value is older than its time-to-live
 *              rule_value(FAILED)       this series could not be produced
 *            (the NaN payloads of include/inforeg.h, so readers tell a real 0 from a
 *            missing value). Return < 0 after rule_error() to fail the whole rule:
 *            the engine then writes FAILED into every series the rule declared and
 *            shows the message in the status document; the tick goes on.
 *   free     any thread; releases priv and whatever start took. Accepts a rule whose
 *            start never ran or failed half-way.
 *
 * A kind whose series set changes while it runs (an exec rule's output gained a name)
 * calls layout_changed() (collector.h) from sample(): right after that tick's publish
 * the engine calls every rule's declare() again and the daemon publishes a new object.
 * Outside writers (a REST push, a socket) reach a running rule through a control-path
 * function of the kind's own (ctl.h style: validate in the caller's thread, queue,
 * drain in sample()).
 *
 * Adding a kind: one file daemon/rules/KIND.c defining `const struct rule_kind_ops
 * rule_KIND_ops`, its extern below, and one line in the kind table of engine.c.
 */
#ifndef INFOREGD_RULES_H
#define INFOREGD_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "collector.h"
#include "inforeg.h"

#define RULE_NAME_MAX	48	    /* [a-z0-9_-]+, also the file name NAME.json */
#define RULE_ERR_MAX	256	    /* one-line reasons */
#define RULE_SERIES_MAX 256	    /* series one rule may declare */
#define RULES_MAX	256	    /* rules in the set */
#define RULE_BODY_MAX	(64 * 1024) /* bytes of one rule's JSON text */

/* The order in which kinds run within a tick. */
enum rule_phase {
	RULE_PHASE_COLLECT = 0, /* file, exec, push: values from outside */
	RULE_PHASE_DERIVE = 1,	/* derive: values computed from this tick's sample */
	RULE_PHASE_SCORE = 2,	/* score profiles: computed from everything above */
};

struct rule;
struct tick_files;
struct ird_config;

/* What start() may use. */
struct rule_env {
	struct tick_files *files;     /* col_file_open(): read in the tick's io_uring batch */
	const struct ird_config *cfg; /* the running configuration */
};

/* What sample() sees of the tick. */
struct rule_tick {
	const struct col_now *now;    /* this tick's clocks; now->dt: since this rule's last sample */
	const struct series_reg *reg; /* the current layout: series i is values[i] */
	const struct inforeg_shm_header *ring; /* the published ring (same layout): history, or NULL */
	const double *values;		       /* this tick's sample so far (read-only view) */
};

struct rule_kind_ops {
	const char *kind; /* "file", "derive", "score", "exec", "push" */
	enum rule_phase phase;
	int (*parse)(struct rule *r, json_t *j, char *err, size_t errlen);
	int (*start)(struct rule *r, const struct rule_env *env, char *err, size_t errlen);
	int (*declare)(struct rule *r, struct series_reg *reg);
	int (*sample)(struct rule *r, const struct rule_tick *t, double *values);
	void (*free)(struct rule *r);
};

struct rule {
	char name[RULE_NAME_MAX];
	const struct rule_kind_ops *ops;
	json_t *json; /* the rule as given (a reference the rule owns) */
	void *priv;   /* the kind's */

	/* kept by the engine */
	int idx[RULE_SERIES_MAX]; /* directory indices of the declared series */
	int n_idx;
	int started;	    /* start() succeeded (or there is none) */
	int declare_failed; /* the last declare() failed: what it declared reads failed */
	uint64_t runs, failures;
	uint64_t last_ok_real_ns, last_err_real_ns;
	uint64_t last_mono_ns; /* for rule_tick.now->dt */
	uint64_t cost_ns;      /* wall time of the last sample() */
	char errmsg[RULE_ERR_MAX];
	int errmsg_fresh; /* rule_error() called during this sample() */
};

/* ---- what the engine offers the kinds ---------------------------------------- */

/*
 * Declares series NAME for rule R (reg_series + the index recorded in r->idx).
 * Returns the index, or -errno as reg_series (-EEXIST: another rule or a built-in
 * collector has that name), -ENOSPC past RULE_SERIES_MAX.
 */
int rule_declare(struct rule *r, struct series_reg *reg, const char *name, const char *unit,
		 enum inforeg_kind kind, const char *help);
/* Records R's failure reason (shown in the status document and GET /v1/rules). */
void rule_error(struct rule *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The value a kind writes for a series in state STATE (INFOREG_STALE, INFOREG_FAILED). */
static inline double rule_value(enum inforeg_value_state state)
{
	return inforeg_state_value(state);
}

/* Index of series NAME in T's layout (hashed), or -ENOENT. */
int rule_series_find(const struct rule_tick *t, const char *name);
/* For unit tests that drive a kind without the engine: indexes REG for rule_series_find (NULL: frees). */
void rules_test_hash(const struct series_reg *reg);

/* JSON field helpers for parse(): each returns 0, or -EINVAL with "FIELD: reason" in ERR. */
int rule_json_string(json_t *j, const char *field, int required, const char **out, char *err, size_t errlen);
int rule_json_number(json_t *j, const char *field, int required, double *out, char *err, size_t errlen);
/* Rejects fields not in ALLOWED (NULL-terminated; "name" and "kind" are always allowed). */
int rule_json_only(json_t *j, const char *const *allowed, char *err, size_t errlen);

/* The kinds. */
extern const struct rule_kind_ops rule_file_ops, rule_derive_ops, rule_score_ops;
extern const struct rule_kind_ops rule_exec_ops, rule_push_ops;
/* NULL-terminated, in engine.c. */
extern const struct rule_kind_ops *const rule_kinds[];
const struct rule_kind_ops *rule_kind_find(const char *kind);

/* ---- the engine, for the main loop -------------------------------------------- */

/* The collector that runs the rule set (engine.c); last in the main loop's list. */
extern const struct collector_ops rules_collector_ops;
/* The ring the main loop publishes into (history for derive); called after each publish of a layout. */
void rules_bind_ring(const struct inforeg_shm_header *hdr);
/* The rules part of the status document (main loop): {persisted, dir, rules[], score_rules{}, load_errors[]}.
 */
json_t *rules_status_json(void);
/* The push part of the status document (push.c): socket, accepted, rejected, malformed. */
json_t *push_status_json(void);

/*
 * Parses TEXT (a rule's JSON, named SOURCE in messages) into a new rule whose name
 * must be NAME when NAME is not NULL. Pure, any thread. Returns the rule (not
 * started), or NULL with "SOURCE:LINE:COLUMN: message" (JSON errors) or the kind's
 * reason in ERR.
 */
struct rule *rule_parse_text(const char *source, const char *name, const char *text, size_t len, char *err,
			     size_t errlen);
/* Frees a rule (its kind's free, then the struct). NULL is a no-op. */
void rule_destroy(struct rule *r);

#endif /* INFOREGD_RULES_H */
