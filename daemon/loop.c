// SPDX-License-Identifier: MIT
/*
 * loop.c - inforegd's main loop: one tick per period, one writer.
 *
 * A tick: re-read every pre-opened source with one io_uring submission, let each
 * enabled collector parse into the sample under construction, publish the sample
 * into the ring (ring_publish + futex wake), and once a second refresh the status
 * document. The loop sleeps to an absolute CLOCK_MONOTONIC deadline in
 * sigtimedwait(), so signals (TERM/INT: exit, HUP: reload) are handled synchronously
 * in this thread and never interrupt a publish. A tick that starts more than one
 * period late counts the missed ticks as dropped instead of bunching samples.
 *
 * Costs are measured with CLOCK_MONOTONIC (vDSO, no system call): nothing in a tick
 * sleeps, so wall time is its CPU time. CLOCK_THREAD_CPUTIME_ID would be a system call
 * per reading, 26 a tick, which measured a third of the daemon's own CPU use.
 *
 * Layout changes (a collector calls layout_changed(), or a reload) are applied after
 * the tick's publish: every collector re-declares its series into a fresh registry,
 * and publish.c makes that registry the object readers see (or keeps the object when
 * nothing they can see changed). A reload whose object cannot be made is refused as
 * a whole: the running configuration comes back.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/devices.h"
#include "ebpf/ebpf.h"
#include "procfs/procfs.h"
#include "rules/rules.h"
#include "ctl.h"
#include "daemon.h"
#include "ring.h"
#include "tick.h"

#define MAX_FILES 512

static struct col_now collect(struct ird *d);

/* ---- collectors ----------------------------------------------------------- */

static void col_off(struct collector *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void col_off(struct collector *c, const char *fmt, ...)
{
	char reason[sizeof(c->off_reason)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap); /* fmt may print off_reason itself */
	va_end(ap);
	c->enabled = 0;
	memcpy(c->off_reason, reason, sizeof(reason));
	ird_log("collector %s is off: %s", c->ops->name, c->off_reason);
}

static void add_collector(struct ird *d, const struct collector_ops *ops, const char *off_reason)
{
	if (d->ncols >= IRD_COLLECTORS_MAX) {
		ird_log("too many collectors: %s ignored", ops->name);
		return;
	}
	int i = d->ncols++;
	struct collector *c = &d->cols[i];
	memset(c, 0, sizeof(*c));
	c->ops = ops;
	d->col_last_mono[i] = 0;
	const struct cfg_period *p = cfg_period_of(&d->cfg, ops->name);
	uint64_t ms = p ? p->ms : ops->default_period_ms, tick_ms = d->cfg.period_ms;
	d->col_period_ns[i] = (ms > tick_ms ? ms : tick_ms) * 1000000ull;
	tick_files_set_group(d->files, (unsigned)i); /* the files it opens are read when it samples */
	if (off_reason) {
		col_off(c, "%s", off_reason);
		return;
	}
	if (cfg_collector_disabled(&d->cfg, ops->name)) {
		col_off(c, "disabled in the configuration (disable = ...)");
		return;
	}
	struct col_env env = {.reg = &d->reg, .files = d->files, .cfg = &d->cfg};
	int e = ops->init(c, &env);
	if (e < 0) {
		if (ops->fini)
			ops->fini(c);
		c->priv = NULL;
		if (c->off_reason[0])
			col_off(c, "%s", c->off_reason);
		else
			col_off(c, "init failed: %s", strerror(-e));
		return;
	}
	c->enabled = 1;
}

static int collector_known(const char *name)
{
	const struct collector_ops *const *lists[] = {procfs_collectors, ebpf_collectors};
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (const struct collector_ops *const *o = lists[l]; *o; o++)
			if (!strcmp((*o)->name, name))
				return 1;
	return 0;
}

int loop_check_config(const struct ird_config *cfg, char *err, size_t errlen)
{
	for (int i = 0; i < cfg->n_periods; i++) {
		if (!collector_known(cfg->periods[i].name)) {
			snprintf(err, errlen, "%s: period.%s: no collector is named '%s' (see /v1/status)",
				 cfg->periods[i].where, cfg->periods[i].name, cfg->periods[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

static int collectors_init(struct ird *d, char *err, size_t errlen)
{
	d->files = tick_files_new(MAX_FILES);
	if (!d->files) {
		snprintf(err, errlen, "io_uring setup failed: %s", strerror(errno));
		return -errno;
	}
	d->ncols = 0;
	for (const struct collector_ops *const *o = procfs_collectors; *o; o++)
		add_collector(d, *o, NULL);
	/* a reference of our own across the eBPF inits: see cbpf_get() */
	struct cbpf *hold = d->cfg.no_ebpf ? NULL : cbpf_get(NULL, &d->cfg);
	for (const struct collector_ops *const *o = ebpf_collectors; *o; o++)
		add_collector(d, *o, d->cfg.no_ebpf ? "eBPF disabled (--no-ebpf or ebpf = off)" : NULL);
	cbpf_put(hold);
	/* after ebpf.task: watches it applies this tick are listed when devices declares */
	for (const struct collector_ops *const *o = devices_collectors; *o; o++)
		add_collector(d, *o, NULL);
	/* last: derived series and scores read every other source of the same tick */
	add_collector(d, &rules_collector_ops, NULL);
	return 0;
}

static void collectors_fini(struct ird *d)
{
	for (int i = 0; i < d->ncols; i++) {
		struct collector *c = &d->cols[i];
		if (c->enabled && c->ops->fini)
			c->ops->fini(c);
		c->enabled = 0;
	}
	d->ncols = 0;
	tick_files_free(d->files);
	d->files = NULL;
}

/* Re-declares every enabled collector's series; a collector whose declare fails is
 * turned off and the whole declaration restarts so no half-declared set remains. */
static int declare_all(struct ird *d)
{
	for (;;) {
		reg_free(&d->reg);
		int bad = -1, e = 0;
		for (int i = 0; i < d->ncols && bad < 0; i++) {
			struct collector *c = &d->cols[i];
			d->col_first[i] = d->reg.count;
			if (c->enabled && (e = c->ops->declare(c, &d->reg)) < 0)
				bad = i;
			d->col_end[i] = d->reg.count;
		}
		/* a collector slower than the tick says how old its values are */
		for (int i = 0; i < d->ncols && bad < 0; i++) {
			d->col_age_idx[i] = -1;
			if (!d->cols[i].enabled ||
			    d->col_period_ns[i] <= (uint64_t)d->cfg.period_ms * 1000000ull)
				continue;
			e = reg_seriesf(
			    &d->reg, "seconds", INFOREG_KIND_GAUGE,
			    "Age of this collector's values in the sample (it samples every period.NAME ms)",
			    "collector.age{collector=\"%s\"}", d->cols[i].ops->name);
			if (e < 0)
				return e;
			d->col_age_idx[i] = e;
		}
		if (bad < 0)
			break;
		struct collector *c = &d->cols[bad];
		if (c->ops->fini)
			c->ops->fini(c);
		col_off(c, "declaring series failed: %s", strerror(-e));
	}
	double *v = realloc(d->values, (d->reg.count ? d->reg.count : 1) * sizeof(double));
	if (!v)
		return -ENOMEM;
	d->values = v;
	for (uint32_t i = 0; i < d->reg.count; i++)
		v[i] = NAN;
	/* the new layout starts empty: every collector fills it at the next tick, not only
	 * those due then (a 1 s source would otherwise read NaN for up to a second) */
	for (int i = 0; i < d->ncols; i++)
		d->col_redo[i] = 1;
	return 0;
}

/*
 * Declares every collector's series, primes the collectors (rates and percentages
 * need a previous reading, so the first sample published one period later is
 * complete) and publishes the new object. For start-up and reload.
 */
static int publish_primed(struct ird *d, char *err, size_t errlen)
{
	int e = declare_all(d);
	if (e < 0) {
		snprintf(err, errlen, "out of memory");
		return e;
	}
	collect(d);
	e = publish_layout(d, err, errlen);
	return e < 0 ? e : 0;
}

int loop_setup(struct ird *d, char *err, size_t errlen)
{
	if (getrandom(&d->generation, sizeof(d->generation), 0) != sizeof(d->generation))
		d->generation = ird_now_real() ^ ((uint64_t)getpid() << 32);
	d->start_real_ns = ird_now_real();
	d->start_mono_ns = ird_now_mono();
	int e = collectors_init(d, err, errlen);
	if (e < 0)
		return e;
	for (int i = 0; d->cfg.cgroup[0] && i < d->ncols; i++) {
		/* a scope that cannot be honoured would publish the host's figures as the container's */
		if (d->cols[i].ops == &procfs_cgroup_ops && !d->cols[i].enabled) {
			snprintf(err, errlen, "cgroup %s: %s", d->cfg.cgroup, d->cols[i].off_reason);
			return -ENOENT;
		}
	}
	return publish_primed(d, err, errlen);
}

/* ---- the tick ------------------------------------------------------------- */

/* Reads every source and runs every enabled collector into d->values; returns the
 * tick's time. */
static struct col_now collect(struct ird *d)
{
	struct col_now now = {.mono_ns = ird_now_mono(), .real_ns = ird_now_real()};
	uint64_t half_tick = (uint64_t)d->cfg.period_ms * 500000ull;
	unsigned char due[IRD_COLLECTORS_MAX];
	for (int i = 0; i < d->ncols; i++) {
		uint64_t last = d->col_last_mono[i];
		/* due half a tick early, so that a 1000 ms period at 100 ms ticks is 10 ticks */
		due[i] = d->cols[i].enabled &&
			 (!last || d->col_redo[i] || now.mono_ns - last + half_tick >= d->col_period_ns[i]);
		d->col_redo[i] = 0;
	}

	int e = tick_files_read(d->files, due, (unsigned)d->ncols);
	uint64_t t = ird_now_mono();
	d->last_read_cost_ns = t - now.mono_ns;
	if (e < 0)
		ird_log("reading sources failed: %s", strerror(-e));

	for (int i = 0; i < d->ncols; i++) {
		struct collector *c = &d->cols[i];
		if (!due[i])
			continue; /* its values stay those of its last sample */
		uint64_t last = d->col_last_mono[i];
		now.dt = last ? (double)(now.mono_ns - last) / 1e9 : 0;
		c->errmsg_fresh = 0;
		for (uint32_t k = d->col_first[i]; k < d->col_end[i]; k++)
			d->values[k] = NAN;
		int rc = c->ops->sample(c, &now, d->values);
		uint64_t t1 = ird_now_mono();
		c->cost_ns = t1 - t;
		t = t1;
		c->runs++;
		d->col_last_mono[i] = now.mono_ns;
		if (rc < 0) {
			c->failures++;
			c->last_err = rc;
			c->last_err_real_ns = now.real_ns;
			if (!c->errmsg_fresh)
				snprintf(c->last_errmsg, sizeof(c->last_errmsg), "%s", strerror(-rc));
			if (c->failures == 1 || c->failures % 600 == 0)
				ird_log("collector %s failed (%llu times): %s", c->ops->name,
					(unsigned long long)c->failures, c->last_errmsg);
		} else {
			c->last_ok_real_ns = now.real_ns;
		}
	}
	for (int i = 0; i < d->ncols; i++)
		if (d->col_age_idx[i] >= 0)
			d->values[d->col_age_idx[i]] = (double)(now.mono_ns - d->col_last_mono[i]) / 1e9;
	return now;
}

static void tick(struct ird *d)
{
	struct col_now now = collect(d);
	const double *vals = d->values;
	if (d->pub_blocked) {
		vals = NULL; /* no sample this tick: see keep_object_by_name() */
	} else if (d->pub_map) {
		/* the object's directory, not d->reg, says what each word is */
		const struct inforeg_shm_header *h = d->obj.hdr;
		for (uint32_t j = 0; j < h->series_count; j++)
			d->pub_values[j] = d->pub_map[j] >= 0 ? d->values[d->pub_map[j]] : NAN;
		vals = d->pub_values;
	}
	if (vals) {
		ring_publish(d->obj.hdr, vals, now.real_ns, now.mono_ns);
		ring_notify(d->obj.hdr);
	}
	ring_heartbeat(d->obj.hdr, now.mono_ns);
	d->ticks++;

	int changed = layout_take_change();
	layout_step(d, now.mono_ns, changed, changed && declare_all(d) < 0);
	d->last_tick_cost_ns = ird_now_mono() - now.mono_ns;
	if (now.mono_ns - d->last_status_mono >= 1000000000ull) {
		d->last_status_mono = now.mono_ns;
		status_publish(d);
	}
}

/* ---- reload --------------------------------------------------------------- */

static void reload_result(struct ird *d, const char *result, const char *msg)
{
	snprintf(d->reload_result, sizeof(d->reload_result), "%s", result);
	snprintf(d->reload_error, sizeof(d->reload_error), "%s", msg ? msg : "");
	d->reload_real_ns = ird_now_real();
	if (d->obj.hdr)
		status_publish(d);
}

/* Restarts the collectors on configuration CFG with the run-time watches LIVE. */
static int collectors_restart(struct ird *d, const struct ird_config *cfg, const struct watch_spec *live,
			      int nlive, char *err, size_t errlen)
{
	collectors_fini(d);
	d->cfg = *cfg;
	int e = collectors_init(d, err, errlen);
	if (e < 0)
		return e;
	for (int i = 0; i < nlive; i++) {
		char werr[160];
		if (ctl_watch_add(&live[i], werr, sizeof(werr)) < 0)
			ird_log("reload: run-time watch %s dropped: %s", live[i].name, werr);
	}
	return 0;
}

int loop_config_present(const struct ird *d)
{
	return !d->config_optional || access(d->config_path, F_OK) == 0 || errno != ENOENT;
}

static void reload(struct ird *d)
{
	static struct ird_config nc, oc;
	char err[512];
	cfg_defaults(&nc);
	int e = cfg_parse(&nc, "<embedded>", cfg_embedded_default, err, sizeof(err));
	if (!e && d->config_path[0] && loop_config_present(d))
		e = cfg_load_file(&nc, d->config_path, err, sizeof(err));
	if (!e)
		e = ird_apply_flags(&nc, d->argc, d->argv, err, sizeof(err));
	if (!e)
		e = loop_check_config(&nc, err, sizeof(err));
	if (e) {
		ird_log("reload failed, keeping the running configuration: %s", err);
		reload_result(d, "failed", err);
		return;
	}
	if (strcmp(nc.shm_name, d->cfg.shm_name)) {
		ird_log("reload: shm name changes need a restart; keeping %s", d->cfg.shm_name);
		strcpy(nc.shm_name, d->cfg.shm_name);
	}
	/* Watches added at run time (REST) survive a reload; the file's own watches are
	 * whatever the new file says. */
	static struct watch_spec live[WATCH_MAX];
	int nlive = ctl_watch_list(live, WATCH_MAX), nkeep = 0;
	for (int i = 0; i < nlive && i < WATCH_MAX; i++) {
		int from_file = 0;
		for (int k = 0; k < d->cfg.n_watches; k++)
			from_file |= !strcmp(d->cfg.watches[k].name, live[i].name);
		for (int k = 0; k < nc.n_watches; k++)
			from_file |= !strcmp(nc.watches[k].name, live[i].name);
		if (!from_file)
			live[nkeep++] = live[i];
	}
	/* listeners belong to the REST server, started once: they keep their sockets */
	oc = d->cfg;
	e = collectors_restart(d, &nc, live, nkeep, err, sizeof(err));
	if (e == 0)
		e = publish_primed(d, err, sizeof(err));
	if (e == 0) {
		ird_log("configuration reloaded from %s: %u series, period %u ms", d->cfg.source,
			d->reg.count, d->cfg.period_ms);
		reload_result(d, "applied", NULL);
		return;
	}
	/* No object for the new configuration: refuse the reload as a whole. The old object
	 * was never touched; bring the old configuration's collectors back onto it. */
	char why[512];
	snprintf(why, sizeof(why), "%s", err);
	ird_log("reload refused: %s; keeping the running configuration and /dev/shm/%s", why,
		d->cfg.shm_name);
	if (collectors_restart(d, &oc, live, nkeep, err, sizeof(err)) < 0 ||
	    publish_primed(d, err, sizeof(err)) < 0)
		ird_log("restoring the running configuration: %s", err);
	reload_result(d, "refused", why);
}

int loop_run(struct ird *d)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	uint64_t next = ird_now_mono() + (uint64_t)d->cfg.period_ms * 1000000ull; /* primed at setup */
	for (;;) {
		uint64_t period = (uint64_t)d->cfg.period_ms * 1000000ull;
		uint64_t now = ird_now_mono();
		if (now < next) {
			uint64_t left = next - now;
			struct timespec ts = {.tv_sec = (time_t)(left / 1000000000ull),
					      .tv_nsec = (long)(left % 1000000000ull)};
			int sig = sigtimedwait(&set, NULL, &ts);
			if (sig == SIGTERM || sig == SIGINT) {
				ird_log("signal %d: exiting", sig);
				return 0;
			}
			if (sig == SIGHUP)
				reload(d);
			continue;
		}
		if (now - next >= period) {
			uint64_t missed = (now - next) / period;
			d->dropped += missed;
			atomic_store_explicit(&d->obj.hdr->dropped, d->dropped, memory_order_relaxed);
			next += missed * period;
		}
		tick(d);
		next += period;
	}
}

void loop_teardown(struct ird *d)
{
	builder_cancel();
	collectors_fini(d);
	if (d->obj.hdr) {
		ring_retire(d->obj.hdr);
		char path[256];
		snprintf(path, sizeof(path), SHM_DIR "/%s", d->cfg.shm_name);
		unlink(path);
		shm_object_unmap(&d->obj);
	}
	reg_free(&d->reg);
	free(d->values);
	d->values = NULL;
	drop_pub_map(d);
}
