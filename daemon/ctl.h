/* SPDX-License-Identifier: MIT */
/*
 * ctl.h - the daemon's control path: how writers outside the tick (the REST server's
 * threads, the config loader) ask the main loop for changes.
 *
 * Every request is validated at once, in the caller's thread, so that a REST client
 * gets its 400 with the reason; accepted changes are queued and applied by the main
 * loop at the start of its next tick (data flows one way: nothing writes the ring
 * but the main loop). All functions here are thread-safe.
 */
#ifndef INFOREGD_CTL_H
#define INFOREGD_CTL_H

#include <stddef.h>
#include <sys/types.h>

/* ---- per-task CPU watches (served by the eBPF task collector) ---------- */

enum watch_kind { WATCH_PID = 1, WATCH_COMM = 2, WATCH_CGROUP = 3 };

#define WATCH_NAME_MAX 48
#define WATCH_MAX 64

struct watch_spec {
	char name[WATCH_NAME_MAX]; /* [a-z0-9_.-]+, used as the label value watch="NAME" */
	enum watch_kind kind;
	pid_t pid;                 /* WATCH_PID: the task group (process) id */
	char comm[16];             /* WATCH_COMM: exact command name (task->comm, 15 chars max) */
	char cgroup[256];          /* WATCH_CGROUP: v2 path, absolute or relative to the v2 mount */
};

/*
 * Parses "pid:1234", "comm:python3" or "cgroup:/sys/fs/cgroup/unified/x" for watch
 * NAME. Returns 0, or -EINVAL with a message in ERR.
 */
int watch_spec_parse(const char *name, const char *spec, struct watch_spec *out, char *err,
		     size_t errlen);

/*
 * Queues a watch for the next tick. Returns 0, -EEXIST (name taken), -ENOSPC (WATCH_MAX),
 * -EOPNOTSUPP (eBPF task collector off; ERR says why), -EINVAL (ERR says why).
 */
int ctl_watch_add(const struct watch_spec *w, char *err, size_t errlen);
/* Queues the removal of watch NAME. Returns 0 or -ENOENT. */
int ctl_watch_del(const char *name);
/* Copies up to N current (accepted) watches into OUT; returns how many exist. */
int ctl_watch_list(struct watch_spec *out, int n);

/* ---- rules (daemon/rules/engine.c) ---------------------------------------- */

struct json_t;
struct score_def;

/*
 * Validates rule NAME (the JSON text BODY, LEN bytes: its "name", when given, must be
 * NAME) and, when valid, persists it into rules_dir (temporary file, fsync, rename)
 * and queues it for the next tick. Returns 0 (created), 1 (replaced an existing rule),
 * -EINVAL (invalid: ERR says why, nothing changed), -ENOSPC (RULES_MAX), -EIO (could
 * not persist: ERR says why, nothing changed).
 */
int ctl_rule_put(const char *name, const char *body, size_t len, char *err, size_t errlen);
/* Removes rule NAME (and its file). "default" reverts to the built-in score rule.
 * Returns 0, -ENOENT, -EIO (ERR says why). */
int ctl_rule_del(const char *name, char *err, size_t errlen);
/* New references: every accepted rule as {"name":..,"kind":..,...,"status":{...}}, or one (NULL: none). */
struct json_t *ctl_rule_list(void);
struct json_t *ctl_rule_get(const char *name);
/* 1 when rules are persisted (DIR gets rules_dir), 0 when they live in memory only. */
int ctl_rules_persisted(char *dir, size_t len);
/* Bumps whenever a score rule changes (cheap: an atomic load). */
uint64_t ctl_score_version(void);
/*
 * A private copy of score rule NAME's definition (the caller frees it with
 * score_def_free) and the version it belongs to. NULL with ERR when there is no such
 * score rule.
 */
struct score_def *ctl_score_def(const char *name, uint64_t *version, char *err, size_t errlen);

/* ---- pushed values (daemon/rules/push.c) ---------------------------------- */

struct push_value {
	const char *name; /* a series name a running push rule declares or admits */
	double value;     /* finite */
	int exists;       /* the name is a series of the current layout (a pattern may not admit it) */
};

/*
 * Sets N pushed values, all or nothing, stamped now. Returns 0, -ENOENT (ERR names the
 * first name no push rule declares, or whose pattern is full), -EEXIST (ERR: a name a
 * pattern would admit belongs to another rule or a built-in series), -EINVAL (ERR: a
 * bad name or a non-finite value).
 */
int ctl_push_values(const struct push_value *v, int n, char *err, size_t errlen);

#endif /* INFOREGD_CTL_H */
