/* SPDX-License-Identifier: MIT */
/*
 * exec.c - the `exec` rule kind: a program run every period_ms whose standard output
 * becomes series.
 *
 *   {"name":"site_cpu","kind":"exec","argv":["/usr/Apps/bin/getCpuUsage.sh"],
 *    "period_ms":500,"timeout_ms":2000}
 *
 * Fields: argv (required; no shell unless "shell": true, then argv[0] is the script
 * for /bin/sh -c), period_ms (required, >= 10), timeout_ms (default period_ms),
 * env (object of strings added to the daemon's environment), ttl_ms (default
 * period_ms + timeout_ms), unit.
 * Output (exec_parse.h): one number -> series NAME ('-' in the rule name becomes
 * '_'); "key value" lines or a JSON object -> series NAME.key. Until the first good
 * run the rule declares NAME alone; an output with another set of keys re-lays the
 * registry out.
 *
 * The tick never waits for a program, and does nothing for one while it runs: the
 * rule's job is scheduled on the spawn runner (spawn_job_schedule), whose thread
 * starts a run every period_ms (one in flight at most: a run due while the previous
 * one is still going starts when it ends), reads and reaps it, and parses its output
 * (on_done) into a reading. Readings reach the tick through a triple buffer: the
 * runner fills its back buffer and swaps it into the middle, the tick swaps the middle
 * into its front buffer when the middle is marked new. No lock, no system call, no
 * allocation on the tick's side, and neither side ever waits for the other.
 *
 * States: a run that exits non-zero, is killed by a signal or at its timeout, cannot
 * start, or prints what exec_parse refuses fails the rule (every series reads
 * FAILED, the reason in the status document) until a good run. A good value is
 * republished at every tick while it is younger than ttl_ms, then reads STALE (a run
 * that hangs ages the previous value into stale before its timeout fails it). The
 * default ttl_ms, period_ms + timeout_ms, is the latest a next good run can end.
 * Before the first run ends the series read NaN (unknown).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_parse.h"
#include "rules.h"
#include "spawn_runner.h"

#define EXEC_ARGV_MAX	    64
#define EXEC_ENV_MAX	    64
#define EXEC_PERIOD_MIN_MS  10
#define EXEC_MS_MAX	    (24u * 3600u * 1000u)
#define EXEC_TIMEOUT_MAX_MS (600u * 1000u)

#define TB_NEW 4u /* in exec_rule.mid: the middle buffer holds a reading the tick has not taken */

struct exec_reading {
	int ok;
	char reason[RULE_ERR_MAX];
	struct exec_output out;
	uint64_t end_mono_ns;
};

struct exec_rule {
	/* parsed */
	char *argv[EXEC_ARGV_MAX + 1];
	char *env[EXEC_ENV_MAX + 1];
	int shell;
	uint32_t period_ms, timeout_ms, ttl_ms;
	char unit[INFOREG_UNIT_MAX];
	char base[RULE_NAME_MAX]; /* series name of the single-number form */

	/* started */
	struct spawn_runner *runner;
	struct spawn_job *job;

	/* the triple buffer: buf[back] is the runner's, buf[front] the tick's, mid the other */
	struct exec_reading buf[3];
	unsigned back;	      /* runner thread only */
	_Atomic unsigned mid; /* index | TB_NEW */
	unsigned front;	      /* main loop only */

	/* main loop only */
	int nwant; /* keys of the latest good output (what declare declares) */
	char want[EXEC_SERIES_MAX][EXEC_KEY_MAX];
	int ndecl; /* keys declared now, and their directory indices */
	char decl[EXEC_SERIES_MAX][EXEC_KEY_MAX];
	int idx[EXEC_SERIES_MAX];
	struct exec_output last;      /* the latest good output */
	double vals[EXEC_SERIES_MAX]; /* last mapped onto decl */
	int have;		      /* a good run has ended */
	uint64_t ok_end_ns;
	int failed;
	char reason[RULE_ERR_MAX];
};

static int set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- parse ------------------------------------------------------------------ */

static int ms_field(json_t *j, const char *field, int required, uint32_t min, uint32_t max, uint32_t *out,
		    char *err, size_t errlen)
{
	double v = -1;
	int e = rule_json_number(j, field, required, &v, err, errlen);
	if (e < 0)
		return e;
	if (!json_object_get(j, field))
		return 0;
	if (v != floor(v) || v < min || v > max)
		return set_err(err, errlen, "%s: expected a whole number of milliseconds from %u to %u",
			       field, min, max);
	*out = (uint32_t)v;
	return 0;
}

static int env_name_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return 0;
	return 1;
}

static void exec_free(struct rule *r);

static int exec_parse(struct rule *r, json_t *j, char *err, size_t errlen)
{
	static const char *const fields[] = {"argv",   "shell", "period_ms", "timeout_ms",
					     "ttl_ms", "env",	"unit",	     NULL};
	struct exec_rule *p = calloc(1, sizeof(*p));
	json_t *v, *x;
	const char *unit = NULL, *key;
	size_t i;
	int e;

	if (!p)
		return set_err(err, errlen, "out of memory");
	r->priv = p;
	if ((e = rule_json_only(j, fields, err, errlen)) < 0)
		return e;

	v = json_object_get(j, "argv");
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > EXEC_ARGV_MAX)
		return set_err(err, errlen, "argv: expected an array of 1 to %d strings", EXEC_ARGV_MAX);
	json_array_foreach(v, i, x)
	{
		if (!json_is_string(x) || (i == 0 && !json_string_length(x)))
			return set_err(err, errlen, "argv[%zu]: expected a%s string", i,
				       i ? "" : " non-empty");
		if (strlen(json_string_value(x)) != json_string_length(x))
			return set_err(err, errlen, "argv[%zu]: contains a NUL character", i);
		if (!(p->argv[i] = strdup(json_string_value(x))))
			return set_err(err, errlen, "out of memory");
	}

	v = json_object_get(j, "shell");
	if (v && !json_is_boolean(v))
		return set_err(err, errlen, "shell: expected true or false");
	p->shell = json_is_true(v);

	if ((e = ms_field(j, "period_ms", 1, EXEC_PERIOD_MIN_MS, EXEC_MS_MAX, &p->period_ms, err, errlen)) <
	    0)
		return e;
	p->timeout_ms = p->period_ms < EXEC_TIMEOUT_MAX_MS ? p->period_ms : EXEC_TIMEOUT_MAX_MS;
	if ((e = ms_field(j, "timeout_ms", 0, 1, EXEC_TIMEOUT_MAX_MS, &p->timeout_ms, err, errlen)) < 0)
		return e;
	p->ttl_ms = p->period_ms + p->timeout_ms;
	if ((e = ms_field(j, "ttl_ms", 0, 1, EXEC_MS_MAX, &p->ttl_ms, err, errlen)) < 0)
		return e;

	v = json_object_get(j, "env");
	if (v && (!json_is_object(v) || json_object_size(v) > EXEC_ENV_MAX))
		return set_err(err, errlen, "env: expected an object of at most %d NAME: \"value\" strings",
			       EXEC_ENV_MAX);
	i = 0;
	json_object_foreach(v, key, x)
	{
		if (!env_name_ok(key))
			return set_err(err, errlen,
				       "env: \"%.40s\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", key);
		if (!json_is_string(x) || strlen(json_string_value(x)) != json_string_length(x))
			return set_err(err, errlen, "env: %.40s: expected a string", key);
		size_t n = strlen(key) + json_string_length(x) + 2;
		if (!(p->env[i] = malloc(n)))
			return set_err(err, errlen, "out of memory");
		snprintf(p->env[i++], n, "%s=%s", key, json_string_value(x));
	}

	if ((e = rule_json_string(j, "unit", 0, &unit, err, errlen)) < 0)
		return e;
	if (unit && strlen(unit) >= sizeof(p->unit))
		return set_err(err, errlen, "unit: at most %zu characters", sizeof(p->unit) - 1);
	snprintf(p->unit, sizeof(p->unit), "%s", unit ? unit : "");

	/* the rule's name names its series: [a-z0-9_-] with '-' as '_', a letter first */
	if (!(r->name[0] >= 'a' && r->name[0] <= 'z'))
		return set_err(err, errlen,
			       "name: an exec rule's name names its series, so it starts with a "
			       "letter (a-z)");
	for (i = 0; r->name[i] && i < sizeof(p->base) - 1; i++)
		p->base[i] = r->name[i] == '-' ? '_' : r->name[i];
	p->base[i] = '\0';
	p->nwant = 1; /* until the first good run: NAME alone */
	p->want[0][0] = '\0';
	return 0;
}

/* ---- the runner side (spawn runner thread) --------------------------------------- */

/* First line of S, at most N characters, for a reason. */
static int first_line_len(const char *s, int n)
{
	int k = 0;
	while (s[k] && s[k] != '\n' && k < n)
		k++;
	return k;
}

static void exec_done(const struct spawn_result *res, void *arg)
{
	struct exec_rule *p = arg;
	struct exec_reading *rd = &p->buf[p->back];
	char what[96], perr[RULE_ERR_MAX];

	rd->end_mono_ns = res->end_mono_ns;
	rd->ok = 0;
	if (res->end == SPAWN_EXITED && res->code == 0 && !res->out_overflow) {
		if (exec_output_parse(res->out, res->out_len, &rd->out, perr, sizeof(perr)) == 0)
			rd->ok = 1;
		else
			snprintf(rd->reason, sizeof(rd->reason), "unparsable output: %.200s", perr);
	} else {
		spawn_result_describe(res, p->timeout_ms, what, sizeof(what));
		if (res->err_len)
			snprintf(rd->reason, sizeof(rd->reason), "%s (stderr: %.*s)", what,
				 first_line_len(res->err, 120), res->err);
		else
			snprintf(rd->reason, sizeof(rd->reason), "%s", what);
	}
	if (rd->ok) /* each value's series name must fit the directory */
		for (int i = 0; i < rd->out.n; i++)
			if (strlen(p->base) + 1 + strlen(rd->out.v[i].key) >= INFOREG_NAME_MAX) {
				rd->ok = 0;
				snprintf(rd->reason, sizeof(rd->reason),
					 "unparsable output: \"%.40s...\" makes a series name longer than %d "
					 "bytes",
					 rd->out.v[i].key, INFOREG_NAME_MAX - 1);
				break;
			}
	/* the reason quotes the program's bytes: keep it printable ASCII (it goes into JSON) */
	for (char *c = rd->reason; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	/* acq_rel: release publishes the reading to the tick's acquire exchange in take();
	 * acquire sees the tick's last reads of the buffer it hands back to us done */
	unsigned old = atomic_exchange_explicit(&p->mid, p->back | TB_NEW, memory_order_acq_rel);
	p->back = old & 3u;
}

/* ---- start, declare ---------------------------------------------------------------- */

static int exec_start(struct rule *r, const struct rule_env *env, char *err, size_t errlen)
{
	struct exec_rule *p = r->priv;
	(void)env;
	p->runner = spawn_runner_shared();
	if (!p->runner)
		return set_err(err, errlen, "cannot start the process runner: %s", strerror(errno));
	struct spawn_cmd cmd = {
	    .argv = (const char *const *)p->argv,
	    .shell = p->shell,
	    .env = p->env[0] ? (const char *const *)p->env : NULL,
	    .timeout_ms = p->timeout_ms,
	    .on_done = exec_done,
	    .arg = p,
	};
	p->back = 1;
	atomic_init(&p->mid, 2u);
	p->front = 0;
	p->job = spawn_job_new(&cmd);
	if (!p->job)
		return set_err(err, errlen, "cannot prepare %s: %s", p->argv[0], strerror(errno));
	int e = spawn_job_schedule(p->runner, p->job, p->period_ms);
	if (e < 0)
		return set_err(err, errlen, "cannot schedule %s: %s", p->argv[0], strerror(-e));
	return 0;
}

static void series_name(const struct exec_rule *p, const char *key, char *out, size_t len)
{
	if (key[0])
		snprintf(out, len, "%s.%s", p->base, key);
	else
		snprintf(out, len, "%s", p->base);
}

/* Maps the latest good output onto the declared keys (NaN for a key it lacks). */
static void remap(struct exec_rule *p)
{
	for (int i = 0; i < p->ndecl; i++) {
		p->vals[i] = NAN;
		for (int k = 0; k < p->last.n; k++)
			if (!strcmp(p->decl[i], p->last.v[k].key)) {
				p->vals[i] = p->last.v[k].value;
				break;
			}
	}
}

static int exec_declare(struct rule *r, struct series_reg *reg)
{
	struct exec_rule *p = r->priv;
	char name[INFOREG_NAME_MAX + 8], help[INFOREG_HELP_MAX];
	snprintf(help, sizeof(help), "exec rule %s: %s", r->name, p->argv[0]);
	p->ndecl = 0;
	for (int i = 0; i < p->nwant; i++) {
		series_name(p, p->want[i], name, sizeof(name));
		if (strlen(name) >= INFOREG_NAME_MAX)
			return -ENAMETOOLONG;
		int ix = rule_declare(r, reg, name, p->unit, INFOREG_KIND_GAUGE, help);
		if (ix < 0)
			return ix;
		memcpy(p->decl[p->ndecl], p->want[i], EXEC_KEY_MAX);
		p->idx[p->ndecl++] = ix;
	}
	remap(p);
	return 0;
}

/* ---- sample (main loop) ------------------------------------------------------------------ */

/* Applies a completed run. */
static void apply(struct rule *r, struct exec_rule *p, const struct exec_reading *rd)
{
	(void)r;
	if (!rd->ok) {
		p->failed = 1;
		snprintf(p->reason, sizeof(p->reason), "%s", rd->reason);
		return;
	}
	p->failed = 0;
	p->have = 1;
	p->ok_end_ns = rd->end_mono_ns;
	p->last.n = rd->out.n; /* only the entries it has: a whole exec_output is 6.7 KB */
	memcpy(p->last.v, rd->out.v, (size_t)rd->out.n * sizeof(rd->out.v[0]));
	int same = rd->out.n == p->nwant;
	for (int i = 0; same && i < p->nwant; i++) {
		same = 0;
		for (int k = 0; k < rd->out.n && !same; k++)
			same = !strcmp(p->want[i], rd->out.v[k].key);
	}
	if (!same) { /* another set of series: re-lay the registry out after this tick */
		p->nwant = rd->out.n;
		for (int k = 0; k < rd->out.n; k++)
			memcpy(p->want[k], rd->out.v[k].key, EXEC_KEY_MAX);
		layout_changed();
	}
	remap(p);
}

static int exec_sample(struct rule *r, const struct rule_tick *t, double *values)
{
	struct exec_rule *p = r->priv;
	uint64_t now = t->now->mono_ns;

	/* the latest completed run, if the runner swapped a new one into the middle */
	if (atomic_load_explicit(&p->mid, memory_order_relaxed) & TB_NEW) {
		/* acq_rel: acquire pairs with exec_done's release (the reading is complete);
		 * release hands our front buffer back only after apply() below is done with it
		 * (it is read before the next exchange, which is what the runner acquires) */
		unsigned old = atomic_exchange_explicit(&p->mid, p->front, memory_order_acq_rel);
		p->front = old & 3u;
		apply(r, p, &p->buf[p->front]);
	}

	if (p->failed) {
		rule_error(r, "%s", p->reason);
		return -EIO;
	}
	double stale = rule_value(INFOREG_STALE);
	int is_stale = p->have && now > p->ok_end_ns && now - p->ok_end_ns > (uint64_t)p->ttl_ms * 1000000ull;
	for (int i = 0; i < p->ndecl; i++)
		values[p->idx[i]] = !p->have ? NAN : is_stale ? stale : p->vals[i];
	return 0;
}

static void exec_free(struct rule *r)
{
	struct exec_rule *p = r->priv;
	if (!p)
		return;
	spawn_job_free(p->job); /* after this, exec_done never runs again: P may go */
	for (int i = 0; p->argv[i]; i++)
		free(p->argv[i]);
	for (int i = 0; p->env[i]; i++)
		free(p->env[i]);
	free(p);
	r->priv = NULL;
}

const struct rule_kind_ops rule_exec_ops = {
    .kind = "exec",
    .phase = RULE_PHASE_COLLECT,
    .parse = exec_parse,
    .start = exec_start,
    .declare = exec_declare,
    .sample = exec_sample,
    .free = exec_free,
};
