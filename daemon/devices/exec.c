/* SPDX-License-Identifier: MIT */
/*
 * exec.c - the "exec" device provider: accelerators known only to a vendor's command
 * line tool (an NPU's *-smi). The configured command (devices_exec, split on blanks,
 * no shell) is run every devices_exec_period_ms by the daemon's shared process runner
 * (daemon/rules/spawn_runner.h: its own thread starts the runs itself, pidfds, killed
 * with its group at devices_exec_timeout_ms) and prints
 *   {"devices":[{"id":"0","model":"...","util":..,"mem_used":..,"mem_total":..}, ...]}
 * Optional per device: "vendor", "mem_util", "power" (W), "temp" (C), "clock_sm",
 * "clock_mem" (MHz), "driver", "firmware", "bus_id". Each device becomes the same
 * gpu.* series as a native one, so an unknown accelerator needs no new code.
 *
 * The tick never starts a run (the job is scheduled on the runner, which does
 * fork/exec, reading and reaping) and only takes the latest parsed reading: on_done
 * parses on the runner thread and hands the reading over like nvml.c does (triple
 * buffer, the tick uses trylock).
 * A run that fails (exit status, signal, timeout, output that does not parse) is
 * reported with its reason and leaves the last good reading to age (devices.age,
 * NaN past devices_stale_ms); it never publishes a made-up value. A change in the set
 * of device ids re-declares the series.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "devices.h"
#include "rules/spawn_runner.h"

#define ARGS_MAX 32

struct exec_reading {
	uint64_t mono; /* when the run that produced it started; 0: none */
	int ngpu;
	struct dev_gpu gpu[DEV_GPU_MAX];
};

struct exec {
	struct spawn_job *job; /* scheduled on spawn_runner_shared() */
	char line[512];
	const char *argv[ARGS_MAX + 1];
	uint32_t timeout_ms;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct exec_reading bufs[3];
	struct exec_reading *back, *mid, *front; /* back: runner; front: tick; mid under mu */
	int fresh;				 /* mid is newer than front (mu) */
	int runs_done;				 /* results seen, good or bad (mu) */
	char err[192];				 /* the last run's failure, "" after a good one (mu) */
	uint64_t failures;			 /* (mu) */
	uint64_t last_run_ns;			 /* duration of the last run (mu) */

	struct dev_gpu gpu[DEV_GPU_MAX]; /* declared set (main thread) */
};

/* ---- output parsing (pure, unit-tested) ------------------------------------ */

static const struct {
	const char *key;
	enum gpu_metric m;
} exec_keys[] = {
    {"util", GPU_UTIL},		  {"mem_util", GPU_MEM_UTIL},	{"mem_used", GPU_MEM_USED},
    {"mem_total", GPU_MEM_TOTAL}, {"power", GPU_POWER},		{"temp", GPU_TEMP},
    {"clock_sm", GPU_CLOCK_SM},	  {"clock_mem", GPU_CLOCK_MEM},
};

static void copy_json_str(json_t *o, const char *key, char *out, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (s)
		snprintf(out, len, "%s", s);
}

int dev_exec_parse(const char *text, size_t len, struct dev_gpu *gpu, int max, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	int n = -EINVAL;

	if (!root) {
		snprintf(err, errlen, "output is not JSON: %d:%d: %s", je.line, je.column, je.text);
		return -EINVAL;
	}
	json_t *devs = json_object_get(root, "devices");
	if (!json_is_array(devs)) {
		snprintf(err, errlen, "output has no \"devices\" array");
		goto out;
	}
	if ((int)json_array_size(devs) > max) {
		snprintf(err, errlen, "%zu devices: at most %d", json_array_size(devs), max);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(devs); i++) {
		json_t *d = json_array_get(devs, i), *id;
		struct dev_gpu *g = &gpu[i];
		if (!json_is_object(d)) {
			snprintf(err, errlen, "devices[%zu] is not an object", i);
			goto out;
		}
		dev_gpu_init(g);
		id = json_object_get(d, "id");
		if (json_is_string(id) && json_string_length(id) > 0 &&
		    json_string_length(id) < sizeof(g->id))
			snprintf(g->id, sizeof(g->id), "%s", json_string_value(id));
		else if (json_is_integer(id) && json_integer_value(id) >= 0)
			snprintf(g->id, sizeof(g->id), "%lld", (long long)json_integer_value(id));
		else {
			snprintf(err, errlen,
				 "devices[%zu].id must be a non-empty string (< %zu chars) or an integer", i,
				 sizeof(g->id));
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(gpu[k].id, g->id)) {
				snprintf(err, errlen, "devices[%zu].id \"%s\" is used twice", i, g->id);
				goto out;
			}
		for (size_t k = 0; k < sizeof(exec_keys) / sizeof(exec_keys[0]); k++) {
			json_t *v = json_object_get(d, exec_keys[k].key);
			if (!v || json_is_null(v))
				continue;
			if (!json_is_number(v) || !(json_number_value(v) >= 0)) {
				snprintf(err, errlen, "devices[%zu].%s must be a non-negative number", i,
					 exec_keys[k].key);
				goto out;
			}
			g->v[exec_keys[k].m] = json_number_value(v);
		}
		copy_json_str(d, "vendor", g->vendor, sizeof(g->vendor));
		copy_json_str(d, "model", g->model, sizeof(g->model));
		copy_json_str(d, "driver", g->driver, sizeof(g->driver));
		copy_json_str(d, "firmware", g->firmware, sizeof(g->firmware));
		copy_json_str(d, "bus_id", g->bus_id, sizeof(g->bus_id));
		copy_json_str(d, "uuid", g->uuid, sizeof(g->uuid));
	}
	n = (int)json_array_size(devs);
out:
	json_decref(root);
	return n;
}

/* ---- the runner side ---------------------------------------------------------- */

static void on_done(const struct spawn_result *res, void *arg)
{
	struct exec *e = arg;
	char err[192] = "";
	int n = -1;

	if (res->end == SPAWN_EXITED && res->code == 0 && !res->out_overflow)
		n = dev_exec_parse(res->out, res->out_len, e->back->gpu, DEV_GPU_MAX, err, sizeof(err));
	else if (res->out_overflow)
		snprintf(err, sizeof(err), "output longer than %d bytes", SPAWN_OUT_MAX);
	else {
		char why[128];
		spawn_result_describe(res, e->timeout_ms, why, sizeof(why));
		snprintf(err, sizeof(err), "%s%s%.60s", why, res->err_len ? ": " : "",
			 res->err_len ? res->err : "");
		err[strcspn(err, "\n")] = 0;
	}
	if (n >= 0) {
		e->back->ngpu = n;
		e->back->mono = res->start_mono_ns;
	}
	pthread_mutex_lock(&e->mu);
	e->runs_done++;
	e->last_run_ns = res->end_mono_ns - res->start_mono_ns;
	if (n >= 0) {
		struct exec_reading *t = e->mid;
		e->mid = e->back;
		e->back = t;
		e->fresh = 1;
		e->err[0] = 0;
	} else {
		e->failures++;
		snprintf(e->err, sizeof(e->err), "%s", err);
	}
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* ---- the provider -------------------------------------------------------------- */

/* Adopts FRONT's device set as the declared one if it differs. Returns 1 if it did. */
static int adopt_devices(struct dev_provider *p, struct exec *e)
{
	const struct exec_reading *r = e->front;
	int same = r->ngpu == p->ngpu;
	for (int k = 0; same && k < r->ngpu; k++)
		same = !strcmp(r->gpu[k].id, e->gpu[k].id);
	if (same)
		return 0;
	for (int k = 0; k < r->ngpu; k++) {
		e->gpu[k] = r->gpu[k];
		if (!e->gpu[k].vendor[0])
			strcpy(e->gpu[k].vendor, "exec");
	}
	p->ngpu = r->ngpu;
	p->found = r->ngpu > 0;
	snprintf(p->why, sizeof(p->why), "%d device%s from '%.120s'", r->ngpu, r->ngpu == 1 ? "" : "s",
		 e->line);
	return 1;
}

static int exec_discover(struct dev_provider *p, struct col_env *env)
{
	const struct ird_config *cfg = env->cfg;
	if (!cfg->devices_exec[0]) {
		snprintf(p->why, sizeof(p->why), "not configured (devices_exec)");
		return 0;
	}
	struct exec *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	p->priv = e;
	p->gpu = e->gpu;
	pthread_mutex_init(&e->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cv, &ca);
	pthread_condattr_destroy(&ca);
	e->back = &e->bufs[0];
	e->mid = &e->bufs[1];
	e->front = &e->bufs[2];
	e->timeout_ms = cfg->devices_exec_timeout_ms;
	snprintf(e->line, sizeof(e->line), "%s", cfg->devices_exec);
	int argc = 0;
	for (char *s = strtok(e->line, " \t"); s && argc < ARGS_MAX; s = strtok(NULL, " \t"))
		e->argv[argc++] = s;
	e->argv[argc] = NULL;
	if (!argc) {
		snprintf(p->why, sizeof(p->why), "devices_exec is empty");
		return 0;
	}
	struct spawn_cmd cmd = {.argv = e->argv, .timeout_ms = e->timeout_ms, .on_done = on_done, .arg = e};
	struct spawn_runner *runner = spawn_runner_shared();
	e->job = runner ? spawn_job_new(&cmd) : NULL;
	if (!e->job) {
		int er = errno;
		snprintf(p->why, sizeof(p->why), "cannot set up the process runner: %s", strerror(er));
		return -er;
	}
	snprintf(e->line, sizeof(e->line), "%s", cfg->devices_exec); /* strtok cut it; argv was copied */
	/* the runner starts the runs itself, the first one now */
	int r = spawn_job_schedule(runner, e->job, cfg->devices_exec_period_ms);
	if (r < 0) {
		snprintf(p->why, sizeof(p->why), "cannot start '%.120s': %s", e->line, strerror(-r));
		return 0;
	}
	/* wait (bounded) for the first output, so a normal start declares the devices at once */
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	uint32_t wait_ms = e->timeout_ms < 2000 ? e->timeout_ms + 50 : 2000;
	dl.tv_sec += wait_ms / 1000;
	dl.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&e->mu);
	while (!e->runs_done && pthread_cond_timedwait(&e->cv, &e->mu, &dl) != ETIMEDOUT)
		;
	if (e->fresh) {
		struct exec_reading *t = e->front;
		e->front = e->mid;
		e->mid = t;
		e->fresh = 0;
		adopt_devices(p, e);
		if (!p->found)
			snprintf(p->why, sizeof(p->why), "no device: '%.120s' printed an empty list",
				 e->line);
	} else if (e->runs_done) {
		snprintf(p->why, sizeof(p->why), "no device yet: '%.80s' failed: %.80s", e->line, e->err);
	} else {
		snprintf(p->why, sizeof(p->why), "no device yet: waiting for the first output of '%.120s'",
			 e->line);
	}
	pthread_mutex_unlock(&e->mu);
	return p->ngpu;
}

static int exec_sample(struct dev_provider *p, const struct col_now *now)
{
	struct exec *e = p->priv;
	char err[192] = "";
	(void)now;
	if (!e || !e->job)
		return 0;
	if (pthread_mutex_trylock(&e->mu) == 0) {
		if (e->fresh) {
			struct exec_reading *t = e->front;
			e->front = e->mid;
			e->mid = t;
			e->fresh = 0;
			p->relayout |= adopt_devices(p, e);
		}
		snprintf(err, sizeof(err), "%s", e->err);
		pthread_mutex_unlock(&e->mu);
	}
	const struct exec_reading *r = e->front;
	if (r->mono && r->ngpu == p->ngpu) {
		for (int k = 0; k < p->ngpu; k++)
			memcpy(e->gpu[k].v, r->gpu[k].v, sizeof(r->gpu[k].v));
		p->reading_mono = r->mono;
	}
	if (err[0]) {
		snprintf(p->errmsg, sizeof(p->errmsg), "%s", err);
		return -EIO;
	}
	return 0;
}

static void exec_describe(const struct dev_provider *p, json_t *o)
{
	struct exec *e = p->priv;
	if (!e || !e->job)
		return;
	pthread_mutex_lock(&e->mu); /* main thread, once a second: a short wait is fine here */
	json_object_set_new(o, "command", json_string(e->line));
	json_object_set_new(o, "runs", json_integer(e->runs_done));
	json_object_set_new(o, "run_failures", json_integer((json_int_t)e->failures));
	json_object_set_new(o, "last_run_ms", json_real(e->last_run_ns / 1e6));
	json_object_set_new(o, "last_run_error", e->err[0] ? json_string(e->err) : json_null());
	pthread_mutex_unlock(&e->mu);
}

static void exec_fini(struct dev_provider *p)
{
	struct exec *e = p->priv;
	if (!e)
		return;
	spawn_job_free(e->job); /* on_done never runs again after this; the runner is shared */
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	free(e);
	p->priv = NULL;
	p->gpu = NULL;
	p->ngpu = 0;
}

const struct dev_provider_ops dev_exec_ops = {
    .name = "exec",
    .discover = exec_discover,
    .sample = exec_sample,
    .describe = exec_describe,
    .fini = exec_fini,
};
