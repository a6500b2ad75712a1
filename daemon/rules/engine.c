/* SPDX-License-Identifier: MIT */
/*
 * engine.c - the rule set: where rules come from, how writes reach the tick, and the
 * "rules" collector that runs them.
 *
 * Why one file of about 960 lines: the accepted set, its persistence, the control path
 * and the running set are one state machine behind one lock; split, each part would need
 * the others' internals. Banner comments separate them.
 *
 * Two sets, like the watches of daemon/watch.c:
 *   accepted  what GET /v1/rules shows and what rules_dir holds: rule JSON by name,
 *             each with a serial that changes on every write. Written by REST threads
 *             (ctl_rule_put/del, validated and persisted before they return) and by
 *             the loader (start-up, SIGHUP); one mutex guards it and nothing under it
 *             blocks but the persistence of that one write.
 *   running   the main loop's own: parsed and started rules, sorted by phase. When
 *             the accepted set changed, the collector's sample() asks for a re-layout
 *             (layout_changed) and its declare(), which the loop calls right after the
 *             tick's publish, brings the running set in line (rules whose serial
 *             changed are parsed again, started, the old ones freed) and declares every
 *             series again; the loop then publishes a new object. So a write takes
 *             effect at the next tick and a reader sees inputs and derived series of
 *             one tick in one sample.
 *
 * The embedded default has no rules_dir and one rule, the built-in score rule
 * "default" (score_default_rule). With a rules_dir the built-in default is there too
 * unless the directory has its own default.json. Deleting "default" brings the
 * built-in back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "ctl.h"
#include "lua_score.h"
#include "rules.h"

const struct rule_kind_ops *const rule_kinds[] = {
    &rule_file_ops, &rule_derive_ops, &rule_score_ops, &rule_exec_ops, &rule_push_ops, NULL,
};

const struct rule_kind_ops *rule_kind_find(const char *kind)
{
	for (const struct rule_kind_ops *const *k = rule_kinds; *k; k++)
		if (!strcmp((*k)->kind, kind))
			return *k;
	return NULL;
}

/* ---- the accepted set (any thread, under lock) ------------------------------------ */

struct accepted {
	char name[RULE_NAME_MAX];
	char kind[16];
	json_t *json;
	uint64_t serial;
	int builtin; /* the embedded default score rule, not persisted */
	/* copied from the running set by the main loop once a second */
	int failed;
	uint64_t runs, failures;
	char err[RULE_ERR_MAX];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct accepted acc[RULES_MAX];
static int nacc;
static uint64_t serial_next = 1;
static char dir[CFG_PATH_MAX]; /* rules_dir, "" when none */
static json_t *load_errors;    /* strings, from the last directory load */
static int loaded_once;
/* the published series and who declares them ("" for a built-in collector), for
 * refusing at PUT time a rule whose series another source already has */
struct taken {
	char name[INFOREG_NAME_MAX];
	char owner[RULE_NAME_MAX];
};
static struct taken *taken;
static uint32_t ntaken;
static atomic_int dirty;		       /* accepted changed since the running set followed */
static atomic_uint_fast64_t score_version = 1; /* bumps with every score rule change */

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= RULE_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static int find_acc(const char *name)
{
	for (int i = 0; i < nacc; i++)
		if (!strcmp(acc[i].name, name))
			return i;
	return -1;
}

static void mark_dirty(const char *kind)
{
	/* relaxed: the accepted set itself is read under the lock */
	atomic_store_explicit(&dirty, 1, memory_order_relaxed);
	if (!strcmp(kind, "score"))
		atomic_fetch_add_explicit(&score_version, 1, memory_order_relaxed);
}

/* Puts (replaces) an entry; caller holds the lock and owns one reference of J. */
static int acc_put(const char *name, const char *kind, json_t *j, int builtin)
{
	int i = find_acc(name);
	if (i < 0) {
		if (nacc >= RULES_MAX) {
			json_decref(j);
			return -ENOSPC;
		}
		i = nacc++;
		memset(&acc[i], 0, sizeof(acc[i]));
		snprintf(acc[i].name, sizeof(acc[i].name), "%s", name);
	} else {
		if (strcmp(acc[i].kind, kind))
			mark_dirty(acc[i].kind);
		json_decref(acc[i].json);
	}
	snprintf(acc[i].kind, sizeof(acc[i].kind), "%s", kind);
	acc[i].json = j;
	acc[i].serial = serial_next++;
	acc[i].builtin = builtin;
	acc[i].failed = 0;
	acc[i].err[0] = 0;
	mark_dirty(kind);
	return 0;
}

static void acc_del(int i)
{
	mark_dirty(acc[i].kind);
	json_decref(acc[i].json);
	acc[i] = acc[--nacc];
}

static void acc_put_builtin_default(void)
{
	json_t *j = json_loads(score_default_rule, 0, NULL);
	if (j)
		acc_put("default", "score", j, 1);
}

/* ---- parsing ------------------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void rule_destroy(struct rule *r)
{
	if (!r)
		return;
	if (r->ops && r->ops->free)
		r->ops->free(r);
	json_decref(r->json);
	free(r);
}

/* Parses an already-loaded JSON object (takes a reference of J on success). */
static struct rule *rule_from_json(const char *name, json_t *j, char *err, size_t errlen)
{
	if (!json_is_object(j)) {
		set_err(err, errlen, "a rule is a JSON object with \"name\" and \"kind\"");
		return NULL;
	}
	json_object_del(j, "status"); /* what GET adds; a rule read back and PUT again is the same rule */
	json_t *jn = json_object_get(j, "name"), *jk = json_object_get(j, "kind");
	const char *n = json_string_value(jn);
	if (jn && !n) {
		set_err(err, errlen, "name: expected a string");
		return NULL;
	}
	if (!n)
		n = name;
	if (!n || !name_ok(n)) {
		set_err(err, errlen, "name: expected 1-%d characters of [a-z0-9_-]", RULE_NAME_MAX - 1);
		return NULL;
	}
	if (name && strcmp(n, name)) {
		set_err(err, errlen, "name: \"%s\" does not match the rule's name \"%s\"", n, name);
		return NULL;
	}
	if (!json_is_string(jk)) {
		set_err(err, errlen, "kind: expected one of");
		for (const struct rule_kind_ops *const *k = rule_kinds; *k; k++)
			if (err)
				snprintf(err + strlen(err), errlen - strlen(err), " %s", (*k)->kind);
		return NULL;
	}
	const struct rule_kind_ops *ops = rule_kind_find(json_string_value(jk));
	if (!ops) {
		set_err(err, errlen, "kind: unknown kind \"%.32s\"", json_string_value(jk));
		return NULL;
	}
	struct rule *r = calloc(1, sizeof(*r));
	if (!r) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", n);
	r->ops = ops;
	if (ops->parse(r, j, err, errlen) < 0) {
		rule_destroy(r); /* ops->free accepts a half-parsed rule */
		return NULL;
	}
	/* the stored JSON always carries its name */
	if (!jn)
		json_object_set_new(j, "name", json_string(n));
	r->json = json_incref(j);
	return r;
}

/* LINE:COLUMN of the first occurrence of "FIELD" (the leading word of ERR) in TEXT. */
static void field_position(const char *text, size_t len, const char *err, int *line, int *col)
{
	char key[64];
	size_t k = strcspn(err, ":.[ ");
	*line = 1;
	*col = 1;
	if (k == 0 || k + 3 > sizeof(key))
		return;
	snprintf(key, sizeof(key), "\"%.*s\"", (int)k, err);
	const char *hit = memmem(text, len, key, strlen(key));
	if (!hit)
		return;
	for (const char *p = text; p < hit; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

struct rule *rule_parse_text(const char *source, const char *name, const char *text, size_t len, char *err,
			     size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		if (source)
			set_err(err, errlen, "%s:%d:%d: %s", source, je.line, je.column, je.text);
		else
			set_err(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	char msg[RULE_ERR_MAX];
	struct rule *r = rule_from_json(name, j, msg, sizeof(msg));
	json_decref(j);
	if (!r) {
		if (source) {
			int line, col;
			field_position(text, len, msg, &line, &col);
			set_err(err, errlen, "%s:%d:%d: %s", source, line, col, msg);
		} else {
			set_err(err, errlen, "%s", msg);
		}
	}
	return r;
}

/* ---- JSON field helpers for the kinds -------------------------------------------------- */

int rule_json_string(json_t *j, const char *field, int required, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(j, field);
	*out = NULL;
	if (!v) {
		if (required) {
			set_err(err, errlen, "%s: required", field);
			return -EINVAL;
		}
		return 0;
	}
	if (!json_is_string(v)) {
		set_err(err, errlen, "%s: expected a string", field);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

int rule_json_number(json_t *j, const char *field, int required, double *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(j, field);
	if (!v) {
		if (required) {
			set_err(err, errlen, "%s: required", field);
			return -EINVAL;
		}
		return 0;
	}
	if (!json_is_number(v)) {
		set_err(err, errlen, "%s: expected a number", field);
		return -EINVAL;
	}
	*out = json_number_value(v);
	return 0;
}

int rule_json_only(json_t *j, const char *const *allowed, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v)
	{
		int ok = !strcmp(k, "name") || !strcmp(k, "kind");
		for (const char *const *a = allowed; !ok && *a; a++)
			ok = !strcmp(k, *a);
		if (!ok) {
			set_err(err, errlen, "%.40s: unknown field", k);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- persistence ------------------------------------------------------------------------ */

static int fsync_dir(const char *d)
{
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* Writes DIR/NAME.json atomically: temporary file, fsync, rename, fsync of the directory. */
static int persist_write(const char *name, json_t *j, char *err, size_t errlen)
{
	char path[CFG_PATH_MAX + RULE_NAME_MAX + 16], tmp[sizeof(path) + 32];
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	if (!text) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.json.tmp%d", dir, name, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), e = 0;
	size_t len = strlen(text), off = 0;
	if (fd < 0) {
		e = -errno;
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (!e && (write(fd, "\n", 1) != 1 || fsync(fd) < 0))
		e = -errno;
	if (close(fd) < 0 && !e)
		e = -errno;
	if (!e && rename(tmp, path) < 0)
		e = -errno;
	if (!e)
		e = fsync_dir(dir);
out:
	if (e < 0) {
		unlink(tmp);
		set_err(err, errlen, "cannot persist %s: %s", path, strerror(-e));
	}
	free(text);
	return e;
}

static int persist_unlink(const char *name, char *err, size_t errlen)
{
	char path[CFG_PATH_MAX + RULE_NAME_MAX + 16];
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	if (unlink(path) < 0 && errno != ENOENT) {
		int e = errno;
		set_err(err, errlen, "cannot remove %s: %s", path, strerror(e));
		return -e;
	}
	return fsync_dir(dir) < 0 ? 0
				  : 0; /* the unlink is done; a failed directory sync is not worth a 500 */
}

/* ---- the control path ------------------------------------------------------------------- */

/*
 * 1 (with ERR) when a series rule R would declare is published by another source.
 * Declares R into a scratch registry: pure for file, derive and score; a kind whose
 * declare needs start() fails it here and is checked when it runs instead.
 */
static int series_taken(struct rule *r, char *err, size_t errlen)
{
	struct series_reg scratch = {0};
	int hit = 0;
	if (r->ops->declare(r, &scratch) < 0) {
		reg_free(&scratch);
		r->n_idx = 0;
		return 0;
	}
	pthread_mutex_lock(&lock);
	for (uint32_t i = 0; i < scratch.count && !hit; i++)
		for (uint32_t k = 0; k < ntaken && !hit; k++)
			if (!strcmp(taken[k].name, scratch.defs[i].name) && strcmp(taken[k].owner, r->name)) {
				hit = 1;
				if (taken[k].owner[0])
					set_err(err, errlen, "series: '%.80s' belongs to rule %s",
						taken[k].name, taken[k].owner);
				else
					set_err(err, errlen, "series: '%.80s' is a built-in series",
						taken[k].name);
			}
	pthread_mutex_unlock(&lock);
	reg_free(&scratch);
	r->n_idx = 0;
	return hit;
}

int ctl_rule_put(const char *name, const char *body, size_t len, char *err, size_t errlen)
{
	if (!name_ok(name)) {
		set_err(err, errlen, "name: expected 1-%d characters of [a-z0-9_-]", RULE_NAME_MAX - 1);
		return -EINVAL;
	}
	if (len > RULE_BODY_MAX) {
		set_err(err, errlen, "rule larger than %d bytes", RULE_BODY_MAX);
		return -EINVAL;
	}
	/* validate outside the lock: Lua is compiled, a dry run may execute */
	struct rule *r = rule_parse_text(NULL, name, body, len, err, errlen);
	if (!r)
		return -EINVAL;
	if (series_taken(r, err, errlen)) {
		rule_destroy(r);
		return -EINVAL;
	}
	json_t *j = json_incref(r->json);
	char kind[16];
	snprintf(kind, sizeof(kind), "%s", r->ops->kind);
	rule_destroy(r);

	pthread_mutex_lock(&lock);
	int i = find_acc(name), rc;
	if (i < 0 && nacc >= RULES_MAX) {
		set_err(err, errlen, "at most %d rules", RULES_MAX);
		rc = -ENOSPC;
		json_decref(j);
	} else if (dir[0] && (rc = persist_write(name, j, err, errlen)) < 0) {
		rc = -EIO;
		json_decref(j);
	} else {
		rc = acc_put(name, kind, j, 0);
		if (rc == 0)
			rc = i >= 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int ctl_rule_del(const char *name, char *err, size_t errlen)
{
	pthread_mutex_lock(&lock);
	int i = find_acc(name), rc = 0;
	if (i < 0 || (acc[i].builtin && !strcmp(name, "default"))) {
		rc = -ENOENT;
	} else if (dir[0] && (rc = persist_unlink(name, err, errlen)) < 0) {
		rc = -EIO;
	} else {
		acc_del(i);
		if (!strcmp(name, "default"))
			acc_put_builtin_default();
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

static json_t *acc_json(const struct accepted *a)
{
	json_t *o = json_deep_copy(a->json);
	if (!o)
		return NULL;
	json_object_set_new(o, "status",
			    json_pack("{s:b, s:b, s:I, s:I, s:s?}", "builtin", a->builtin, "failed",
				      a->failed, "runs", (json_int_t)a->runs, "failures",
				      (json_int_t)a->failures, "last_error", a->err[0] ? a->err : NULL));
	return o;
}

struct json_t *ctl_rule_list(void)
{
	json_t *arr = json_array();
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nacc; i++)
		json_array_append_new(arr, acc_json(&acc[i]));
	pthread_mutex_unlock(&lock);
	return arr;
}

struct json_t *ctl_rule_get(const char *name)
{
	json_t *o = NULL;
	pthread_mutex_lock(&lock);
	int i = find_acc(name);
	if (i >= 0)
		o = acc_json(&acc[i]);
	pthread_mutex_unlock(&lock);
	return o;
}

int ctl_rules_persisted(char *out, size_t len)
{
	pthread_mutex_lock(&lock);
	int on = dir[0] != 0;
	if (out && len)
		snprintf(out, len, "%s", dir);
	pthread_mutex_unlock(&lock);
	return on;
}

uint64_t ctl_score_version(void)
{
	return atomic_load_explicit(&score_version, memory_order_relaxed);
}

struct score_def *ctl_score_def(const char *name, uint64_t *version, char *err, size_t errlen)
{
	json_t *j = NULL;
	pthread_mutex_lock(&lock);
	/* read the version under the lock: it moves with the set this copy comes from */
	*version = atomic_load_explicit(&score_version, memory_order_relaxed);
	int i = find_acc(name);
	/* a private copy: jansson's reference counts are not for sharing across threads */
	if (i >= 0 && !strcmp(acc[i].kind, "score"))
		j = json_deep_copy(acc[i].json);
	pthread_mutex_unlock(&lock);
	if (!j) {
		set_err(err, errlen, "no score rule named '%.48s'", name);
		return NULL;
	}
	struct score_def *d = score_def_parse(name, j, err, errlen);
	json_decref(j);
	return d;
}

/* ---- loading rules_dir ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replaces the accepted set with DIR's NAME.json files (caller holds the lock). A bad
 * file is logged as FILE:LINE:COLUMN: message and skipped; the rest load. */
static void load_dir(void)
{
	while (nacc)
		acc_del(nacc - 1);
	json_decref(load_errors);
	load_errors = json_array();
	DIR *dd = opendir(dir);
	if (!dd) {
		char msg[CFG_PATH_MAX + 64];
		snprintf(msg, sizeof(msg), "%s: %s", dir, strerror(errno));
		ird_log("%s", msg);
		json_array_append_new(load_errors, json_string(msg));
		acc_put_builtin_default();
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(dd))) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(dd);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t k = 0; k < n; k++) {
		char path[CFG_PATH_MAX + 300], rname[RULE_NAME_MAX + 8],
		    err[RULE_ERR_MAX + 2 * CFG_PATH_MAX + 400];
		char *text = NULL;
		size_t tcap = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
		snprintf(rname, sizeof(rname), "%.*s", (int)(strlen(names[k]) - 5), names[k]);
		ssize_t len = col_slurp(path, &text, &tcap);
		struct rule *r = NULL;
		if (len < 0)
			snprintf(err, sizeof(err), "%s:1:1: %s", path, strerror((int)-len));
		else if (len > RULE_BODY_MAX)
			snprintf(err, sizeof(err), "%s:1:1: larger than %d bytes", path, RULE_BODY_MAX);
		else if (!name_ok(rname))
			snprintf(err, sizeof(err), "%s:1:1: file name must be NAME.json, NAME of [a-z0-9_-]",
				 path);
		else
			r = rule_parse_text(path, rname, text, (size_t)len, err, sizeof(err));
		free(text);
		free(names[k]);
		if (!r) {
			ird_log("%s", err);
			json_array_append_new(load_errors, json_string(err));
			continue;
		}
		acc_put(r->name, r->ops->kind, json_incref(r->json), 0);
		rule_destroy(r);
	}
	free(names);
	if (find_acc("default") < 0)
		acc_put_builtin_default();
}

/* ---- the running set (main loop only) -------------------------------------------------- */

struct run {
	struct rule *r;
	uint64_t serial;
};

static struct run running[RULES_MAX];
static int nrun;
static struct rule_env env;
static const struct inforeg_shm_header *ring;
static struct series_reg *cur_reg;
static uint32_t *hash, hash_mask; /* series index + 1, 0 empty */

void rules_bind_ring(const struct inforeg_shm_header *hdr)
{
	ring = hdr;
}

static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void hash_build(const struct series_reg *reg)
{
	uint32_t cap = 16;
	while (cap < reg->count * 2)
		cap <<= 1;
	uint32_t *h = calloc(cap, sizeof(*h));
	free(hash);
	hash = h;
	hash_mask = h ? cap - 1 : 0;
	for (uint32_t i = 0; h && i < reg->count; i++) {
		uint32_t k = name_hash(reg->defs[i].name, strlen(reg->defs[i].name)) & hash_mask;
		while (h[k])
			k = (k + 1) & hash_mask;
		h[k] = i + 1;
	}
}

void rules_test_hash(const struct series_reg *reg)
{
	if (reg) {
		hash_build(reg);
	} else {
		free(hash);
		hash = NULL;
	}
}

int rule_series_find(const struct rule_tick *t, const char *name)
{
	if (!hash || !t->reg)
		return -ENOENT;
	uint32_t k = name_hash(name, strlen(name)) & hash_mask;
	for (; hash[k]; k = (k + 1) & hash_mask)
		if (!strcmp(t->reg->defs[hash[k] - 1].name, name))
			return (int)hash[k] - 1;
	return -ENOENT;
}

int rule_declare(struct rule *r, struct series_reg *reg, const char *name, const char *unit,
		 enum inforeg_kind kind, const char *help)
{
	if (r->n_idx >= RULE_SERIES_MAX)
		return -ENOSPC;
	int i = reg_series(reg, name, unit, kind, help);
	if (i >= 0)
		r->idx[r->n_idx++] = i;
	return i;
}

void rule_error(struct rule *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	r->errmsg_fresh = 1;
}

static int run_cmp(const void *a, const void *b)
{
	const struct run *x = a, *y = b;
	if (x->r->ops->phase != y->r->ops->phase)
		return x->r->ops->phase < y->r->ops->phase ? -1 : 1;
	return strcmp(x->r->name, y->r->name);
}

static void start_rule(struct rule *r)
{
	char err[RULE_ERR_MAX];
	if (!r->ops->start) {
		r->started = 1;
		return;
	}
	err[0] = 0;
	if (r->ops->start(r, &env, err, sizeof(err)) < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", err[0] ? err : "start failed");
		r->failures++;
		ird_log("rule %s: %s", r->name, r->errmsg);
		return;
	}
	r->started = 1;
}

/* Brings the running set in line with the accepted set. */
static void sync_running(void)
{
	struct {
		char name[RULE_NAME_MAX];
		json_t *json;
		uint64_t serial;
	} *want = calloc(RULES_MAX, sizeof(*want));
	int nwant = 0;
	if (!want)
		return;
	pthread_mutex_lock(&lock);
	atomic_store_explicit(&dirty, 0, memory_order_relaxed);
	for (int i = 0; i < nacc; i++) {
		memcpy(want[nwant].name, acc[i].name, RULE_NAME_MAX);
		want[nwant].json = json_deep_copy(acc[i].json); /* the kinds may keep it */
		want[nwant++].serial = acc[i].serial;
	}
	pthread_mutex_unlock(&lock);

	/* drop rules that went away or changed */
	for (int k = 0; k < nrun;) {
		int keep = 0;
		for (int i = 0; i < nwant && !keep; i++)
			keep =
			    !strcmp(want[i].name, running[k].r->name) && want[i].serial == running[k].serial;
		if (keep) {
			k++;
			continue;
		}
		rule_destroy(running[k].r);
		running[k] = running[--nrun];
	}
	/* add new and changed ones */
	for (int i = 0; i < nwant; i++) {
		int have = 0;
		for (int k = 0; k < nrun && !have; k++)
			have = !strcmp(want[i].name, running[k].r->name);
		if (!have && nrun < RULES_MAX) {
			char err[RULE_ERR_MAX];
			struct rule *r = rule_from_json(want[i].name, want[i].json, err, sizeof(err));
			if (!r) {
				ird_log("rule %s no longer parses: %s", want[i].name, err);
			} else {
				start_rule(r);
				running[nrun].r = r;
				running[nrun++].serial = want[i].serial;
			}
		}
		json_decref(want[i].json);
	}
	free(want);
	qsort(running, (size_t)nrun, sizeof(*running), run_cmp);
}

static int rules_init(struct collector *c, struct col_env *e)
{
	(void)c;
	env.files = e->files;
	env.cfg = e->cfg;
	pthread_mutex_lock(&lock);
	snprintf(dir, sizeof(dir), "%s", e->cfg->rules_dir);
	if (dir[0])
		load_dir(); /* start-up and SIGHUP: the directory is the truth */
	else if (!loaded_once)
		acc_put_builtin_default(); /* later reloads keep what REST wrote */
	loaded_once = 1;
	atomic_store_explicit(&dirty, 1, memory_order_relaxed);
	pthread_mutex_unlock(&lock);
	return 0;
}

static int rules_declare(struct collector *c, struct series_reg *reg)
{
	(void)c;
	if (atomic_load_explicit(&dirty, memory_order_relaxed))
		sync_running();
	cur_reg = reg;
	for (int k = 0; k < nrun; k++) {
		struct rule *r = running[k].r;
		r->n_idx = 0;
		/* declared even when start failed: the series exist and read failed */
		int e = r->ops->declare(r, reg);
		r->declare_failed = e < 0;
		if (e < 0) {
			if (e == -EEXIST)
				snprintf(
				    r->errmsg, sizeof(r->errmsg),
				    "a series this rule declares exists already (another rule or a built-in "
				    "collector has it)");
			else
				snprintf(r->errmsg, sizeof(r->errmsg), "declaring series failed: %s",
					 strerror(-e));
			ird_log("rule %s: %s", r->name, r->errmsg);
		}
	}
	hash_build(reg);
	struct taken *t = calloc(reg->count ? reg->count : 1, sizeof(*t));
	for (uint32_t i = 0; t && i < reg->count; i++)
		memcpy(t[i].name, reg->defs[i].name, sizeof(t[i].name));
	for (int k = 0; t && k < nrun; k++)
		for (int i = 0; i < running[k].r->n_idx; i++)
			memcpy(t[running[k].r->idx[i]].owner, running[k].r->name, RULE_NAME_MAX);
	pthread_mutex_lock(&lock);
	free(taken);
	taken = t;
	ntaken = t ? reg->count : 0;
	pthread_mutex_unlock(&lock);
	return 0;
}

static void fail_series(struct rule *r, double *values)
{
	double f = rule_value(INFOREG_FAILED);
	for (int i = 0; i < r->n_idx; i++)
		values[r->idx[i]] = f;
}

static int rules_sample(struct collector *c, const struct col_now *now, double *values)
{
	(void)c;
	if (atomic_load_explicit(&dirty, memory_order_relaxed))
		layout_changed(); /* applied in declare, right after this tick's publish */
	for (int k = 0; k < nrun; k++) {
		struct rule *r = running[k].r;
		if (!r->started || r->declare_failed) { /* the series it did declare read failed */
			fail_series(r, values);
			continue;
		}
		struct col_now rn = *now;
		rn.dt = r->last_mono_ns ? (double)(now->mono_ns - r->last_mono_ns) / 1e9 : 0;
		struct rule_tick t = {.now = &rn, .reg = cur_reg, .ring = ring, .values = values};
		uint64_t t0 = ird_now_mono();
		r->errmsg_fresh = 0;
		int rc = r->ops->sample(r, &t, values);
		r->cost_ns = ird_now_mono() - t0;
		r->last_mono_ns = now->mono_ns;
		r->runs++;
		if (rc < 0) {
			fail_series(r, values);
			r->failures++;
			r->last_err_real_ns = now->real_ns;
			if (!r->errmsg_fresh)
				snprintf(r->errmsg, sizeof(r->errmsg), "%s", strerror(-rc));
			if (r->failures == 1 || r->failures % 600 == 0)
				ird_log("rule %s failed (%llu times): %s", r->name,
					(unsigned long long)r->failures, r->errmsg);
		} else {
			r->last_ok_real_ns = now->real_ns;
			if (!r->errmsg_fresh)
				r->errmsg[0] = 0;
		}
	}
	return 0;
}

static void rules_fini(struct collector *c)
{
	(void)c;
	for (int k = 0; k < nrun; k++)
		rule_destroy(running[k].r);
	nrun = 0;
	free(hash);
	hash = NULL;
	cur_reg = NULL;
	/* the next init re-reads the accepted set into a new running set */
	atomic_store_explicit(&dirty, 1, memory_order_relaxed);
}

const struct collector_ops rules_collector_ops = {
    .name = "rules",
    .init = rules_init,
    .declare = rules_declare,
    .sample = rules_sample,
    .fini = rules_fini,
};

/* ---- status ----------------------------------------------------------------------------- */

json_t *rules_status_json(void)
{
	json_t *list = json_array(), *scores = json_object();
	pthread_mutex_lock(&lock);
	for (int k = 0; k < nrun; k++) {
		struct rule *r = running[k].r;
		int i = find_acc(r->name);
		int failed = !r->started || r->declare_failed || r->errmsg[0];
		if (i >= 0 && acc[i].serial == running[k].serial) {
			acc[i].failed = failed;
			acc[i].runs = r->runs;
			acc[i].failures = r->failures;
			snprintf(acc[i].err, sizeof(acc[i].err), "%s", r->errmsg);
		}
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:i, s:b, s:I, s:I, s:f, s:s?}", "name", r->name, "kind",
				    r->ops->kind, "series", r->n_idx, "failed", failed, "runs",
				    (json_int_t)r->runs, "failures", (json_int_t)r->failures, "cost_us",
				    (double)r->cost_ns / 1e3, "last_error", r->errmsg[0] ? r->errmsg : NULL));
	}
	for (int i = 0; i < nacc; i++)
		if (!strcmp(acc[i].kind, "score"))
			json_object_set_new(scores, acc[i].name, json_deep_copy(acc[i].json));
	json_t *o =
	    json_pack("{s:b, s:s?, s:o, s:o, s:O?}", "persisted", dir[0] != 0, "dir", dir[0] ? dir : NULL,
		      "rules", list, "score_rules", scores, "load_errors", load_errors);
	pthread_mutex_unlock(&lock);
	return o;
}
