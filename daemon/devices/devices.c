/* SPDX-License-Identifier: MIT */
/*
 * devices.c - the "devices" collector: hosts the accelerator providers (nvml, amd,
 * exec), names their figures with one naming for all vendors, and publishes
 *   gpu.<metric>{gpu="N"}           N counts accelerators across providers, in the
 *                                   order nvml, amd, exec
 *   gpu.count, gpu.free             accelerators, and those with utilisation under
 *                                   gpu_free_util and free memory of at least
 *                                   gpu_free_mem (the accelerator twin of cpu.free)
 *   task.gpu.{mem,util}{watch="W"}  and {watch="W",gpu="N"}: NVML per-process use
 *                                   joined with the watches' processes
 *   devices.age{provider="P"}       seconds since the reading published was taken
 * Vendor, model, memory, ids are in the inventory (devices_inventory), not in names.
 * The sensors (sensor.*) come from the "hwmon" collector (hwmon.c); the status
 * document lists all four providers (devices_status).
 *
 * Why one file of about 530 lines: the naming shared by every vendor, the collector and
 * the inventory are one mapping from provider structs to series; split, each would repeat
 * it.
 *
 * A provider that finds nothing costs nothing per tick: it declares no series. The
 * inventory and status documents are built from the live state by status.c, in the
 * main-loop thread, through the single instance pointer below.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "devices.h"
#include "procfs/procfs.h"

const struct dev_metric_def gpu_metric_def[GPU_NMETRIC] = {
    [GPU_UTIL] = {"gpu.util", "percent", "time a kernel was running on the accelerator", INFOREG_KIND_GAUGE},
    [GPU_MEM_UTIL] = {"gpu.mem.util", "percent", "time device memory was being read or written",
		      INFOREG_KIND_GAUGE},
    [GPU_MEM_USED] = {"gpu.mem.used", "bytes", "device memory in use", INFOREG_KIND_GAUGE},
    [GPU_MEM_TOTAL] = {"gpu.mem.total", "bytes", "device memory", INFOREG_KIND_GAUGE},
    [GPU_MEM_FREE] = {"gpu.mem.free", "bytes", "device memory not in use (total - used)", INFOREG_KIND_GAUGE},
    [GPU_POWER] = {"gpu.power", "W", "power draw", INFOREG_KIND_GAUGE},
    [GPU_TEMP] = {"gpu.temp", "C", "core temperature", INFOREG_KIND_GAUGE},
    [GPU_CLOCK_SM] = {"gpu.clock.sm", "MHz", "SM (shader) clock", INFOREG_KIND_GAUGE},
    [GPU_CLOCK_MEM] = {"gpu.clock.mem", "MHz", "memory clock", INFOREG_KIND_GAUGE},
    [GPU_PCIE_RX] = {"gpu.pcie.rx", "bytes/s", "PCIe receive throughput", INFOREG_KIND_GAUGE},
    [GPU_PCIE_TX] = {"gpu.pcie.tx", "bytes/s", "PCIe transmit throughput", INFOREG_KIND_GAUGE},
    [GPU_ECC_CORR] = {"gpu.ecc.corrected", "count", "corrected ECC errors since the driver loaded",
		      INFOREG_KIND_COUNTER},
    [GPU_ECC_UNCORR] = {"gpu.ecc.uncorrected", "count", "uncorrected ECC errors since the driver loaded",
			INFOREG_KIND_COUNTER},
    [GPU_THROTTLE] = {"gpu.throttle", "", "clock throttle (event) reasons, NVML bit mask; 0: none",
		      INFOREG_KIND_GAUGE},
};

/* Order of the gpu="N" numbering, and of the status document. */
static const struct dev_provider_ops *const provider_list[DEV_PROVIDERS] = {&dev_nvml_ops, &dev_amd_ops,
									    &dev_exec_ops};

/* hwmon is a collector of its own (hwmon.c): sensors want their own period */
const struct collector_ops *const devices_collectors[] = {&devices_ops, &devices_hwmon_ops, NULL};

struct task_decl {
	char watch[WATCH_NAME_MAX];
	int idx_mem, idx_util;
	int gidx_mem[DEV_PROVIDERS * DEV_GPU_MAX], gidx_util[DEV_PROVIDERS * DEV_GPU_MAX];
};

struct devices {
	struct dev_provider prov[DEV_PROVIDERS];
	const struct ird_config *cfg;
	int idx_count, idx_free;
	int idx_age[DEV_PROVIDERS];
	int ngpu_total;
	struct task_decl *task; /* [WATCH_MAX] */
	int ntask;
	int any_tasks; /* some provider joins per-process use */
};

static struct devices *live; /* the running instance, for status.c (main-loop thread) */

/* ---- helpers for providers ------------------------------------------------- */

void dev_gpu_init(struct dev_gpu *g)
{
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < GPU_NMETRIC; i++) {
		g->v[i] = NAN;
		g->idx[i] = -1;
	}
	g->global = -1;
}

int dev_sysfs_path(const struct ird_config *cfg, char *out, size_t len, const char *fmt, ...)
{
	int n = snprintf(out, len, "%s", cfg->sysfs_root);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(out + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	return m < 0 || (size_t)m >= len - (size_t)n ? -ENAMETOOLONG : 0;
}

int dev_pathf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

double dev_parse_attr(const struct col_file *f)
{
	if (!f || f->len <= 0)
		return NAN;
	const char *p = f->buf;
	int neg = *p == '-';
	p += neg;
	if (*p < '0' || *p > '9')
		return NAN;
	double v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	if (*p && *p != '\n')
		return NAN;
	return neg ? -v : v;
}

/* The cgroup v2 path of a watch relative to the v2 root ("/a/b"), or "" if unknown. */
static void watch_cgroup_rel(const char *spec, char *out, size_t len)
{
	static const char *const roots[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	const char *p = spec;
	if (spec[0] == '/') {
		for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
			size_t rl = strlen(roots[i]);
			if (!strncmp(spec, roots[i], rl) && (spec[rl] == '/' || !spec[rl])) {
				p = spec + rl;
				break;
			}
		}
	}
	while (*p == '/')
		p++;
	snprintf(out, len, "/%s", p);
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = 0;
}

uint64_t dev_watch_match(pid_t pid, const struct watch_spec *ws, int n)
{
	char path[64], comm[32] = "", cg[512] = "";
	int have_comm = 0, have_cg = 0;
	uint64_t mask = 0;

	for (int i = 0; i < n && i < 64; i++) {
		const struct watch_spec *w = &ws[i];
		if (w->kind == WATCH_PID) {
			if (w->pid == pid)
				mask |= 1ull << i;
		} else if (w->kind == WATCH_COMM) {
			if (!have_comm) {
				snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
				have_comm = col_read_line(path, comm, sizeof(comm)) == 0 ? 1 : -1;
			}
			if (have_comm > 0 && !strcmp(comm, w->comm))
				mask |= 1ull << i;
		} else if (w->kind == WATCH_CGROUP) {
			if (!have_cg) {
				/* the v2 line is "0::/path" */
				char *buf = NULL;
				size_t cap = 0;
				snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
				have_cg = -1;
				if (col_slurp(path, &buf, &cap) >= 0) {
					char *l = strstr(buf, "0::");
					if (l && (l == buf || l[-1] == '\n')) {
						l += 3;
						l[strcspn(l, "\n")] = 0;
						snprintf(cg, sizeof(cg), "%s", l);
						have_cg = 1;
					}
				}
				free(buf);
			}
			char rel[300];
			watch_cgroup_rel(w->cgroup, rel, sizeof(rel));
			size_t rl = strlen(rel);
			if (have_cg > 0 &&
			    (!strcmp(rel, "/") || (!strncmp(cg, rel, rl) && (!cg[rl] || cg[rl] == '/'))))
				mask |= 1ull << i;
		}
	}
	return mask;
}

/* ---- the collector ---------------------------------------------------------- */

static int devices_init(struct collector *c, struct col_env *env)
{
	struct devices *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->task = calloc(WATCH_MAX, sizeof(*d->task));
	if (!d->task) {
		free(d);
		return -ENOMEM;
	}
	d->cfg = env->cfg;
	c->priv = d;
	for (int i = 0; i < DEV_PROVIDERS; i++) {
		struct dev_provider *p = &d->prov[i];
		p->ops = provider_list[i];
		p->cfg = env->cfg;
		int n = p->ops->discover(p, env);
		if (n < 0) {
			p->found = 0;
			if (!p->why[0])
				snprintf(p->why, sizeof(p->why), "error: %s", strerror(-n));
		}
		ird_log("device provider %s: %s", p->ops->name, p->why);
	}
	live = d;
	return 0;
}

static int declare_gpu(struct collector *c, struct series_reg *reg, struct dev_gpu *g)
{
	for (int m = 0; m < GPU_NMETRIC; m++) {
		const struct dev_metric_def *def = &gpu_metric_def[m];
		int r =
		    reg_seriesf(reg, def->unit, def->kind, def->help, "%s{gpu=\"%d\"}", def->name, g->global);
		if (r < 0) {
			col_error(c, "declaring %s{gpu=\"%d\"}: %s", def->name, g->global, strerror(-r));
			return r;
		}
		g->idx[m] = r;
	}
	return 0;
}

static int declare_tasks(struct devices *d, struct series_reg *reg)
{
	static struct watch_spec ws[WATCH_MAX];
	int n = ctl_watch_list(ws, WATCH_MAX);
	d->ntask = 0;
	if (!d->any_tasks)
		return 0;
	for (int i = 0; i < n && i < WATCH_MAX; i++) {
		struct task_decl *t = &d->task[d->ntask];
		memcpy(t->watch, ws[i].name, sizeof(t->watch));
		t->watch[sizeof(t->watch) - 1] = 0;
		int r = reg_seriesf(reg, "bytes", INFOREG_KIND_GAUGE,
				    "accelerator memory used by the watch's processes",
				    "task.gpu.mem{watch=\"%s\"}", t->watch);
		if (r < 0)
			return r;
		t->idx_mem = r;
		r = reg_seriesf(reg, "percent", INFOREG_KIND_GAUGE,
				"accelerator time used by the watch's processes (sum over accelerators)",
				"task.gpu.util{watch=\"%s\"}", t->watch);
		if (r < 0)
			return r;
		t->idx_util = r;
		for (int g = 0; g < d->ngpu_total; g++) {
			r = reg_seriesf(reg, "bytes", INFOREG_KIND_GAUGE,
					"accelerator memory used by the watch's processes",
					"task.gpu.mem{watch=\"%s\",gpu=\"%d\"}", t->watch, g);
			if (r < 0)
				return r;
			t->gidx_mem[g] = r;
			r = reg_seriesf(reg, "percent", INFOREG_KIND_GAUGE,
					"accelerator time used by the watch's processes",
					"task.gpu.util{watch=\"%s\",gpu=\"%d\"}", t->watch, g);
			if (r < 0)
				return r;
			t->gidx_util[g] = r;
		}
		d->ntask++;
	}
	return 0;
}

static int devices_declare(struct collector *c, struct series_reg *reg)
{
	struct devices *d = c->priv;
	int e;

	d->ngpu_total = 0;
	d->any_tasks = 0;
	for (int i = 0; i < DEV_PROVIDERS; i++) {
		struct dev_provider *p = &d->prov[i];
		d->idx_age[i] = -1;
		p->relayout = 0;
		if (!p->found)
			continue;
		for (int k = 0; k < p->ngpu && d->ngpu_total < DEV_PROVIDERS * DEV_GPU_MAX; k++) {
			p->gpu[k].global = d->ngpu_total++;
			if ((e = declare_gpu(c, reg, &p->gpu[k])) < 0)
				return e;
		}
		d->any_tasks |= p->has_tasks;
		e = reg_seriesf(reg, "s", INFOREG_KIND_GAUGE,
				"age of the device reading published (taken off the tick)",
				"devices.age{provider=\"%s\"}", p->ops->name);
		if (e < 0)
			return e;
		d->idx_age[i] = e;
	}
	if ((e = reg_series(reg, "gpu.count", "count", INFOREG_KIND_GAUGE, "accelerators reported")) < 0)
		return e;
	d->idx_count = e;
	if ((e = reg_series(reg, "gpu.free", "count", INFOREG_KIND_GAUGE,
			    "accelerators with utilisation under gpu_free_util and free memory of at least "
			    "gpu_free_mem")) < 0)
		return e;
	d->idx_free = e;
	return declare_tasks(d, reg);
}

static void put(double *values, int idx, double v)
{
	if (idx >= 0)
		values[idx] = v;
}

/* Finds WATCH in the provider's latest reading, or NULL (not considered: unknown). */
static const struct dev_task_use *task_use(const struct dev_provider *p, const char *watch)
{
	for (int i = 0; i < p->ntask; i++)
		if (!strcmp(p->task[i].watch, watch))
			return &p->task[i];
	return NULL;
}

static void sample_tasks(struct devices *d, double *values)
{
	for (int t = 0; t < d->ntask; t++) {
		struct task_decl *td = &d->task[t];
		double mem = 0, util = 0;
		int known = 0, util_known = 0;
		for (int i = 0; i < DEV_PROVIDERS; i++) {
			const struct dev_provider *p = &d->prov[i];
			if (!p->found || !p->has_tasks)
				continue;
			/* a stale reading says nothing about now: NaN, like the gpu.* series */
			const struct dev_task_use *u =
			    p->reading_mono && !p->stale ? task_use(p, td->watch) : NULL;
			for (int k = 0; k < p->ngpu; k++) {
				int g = p->gpu[k].global;
				if (g < 0 || g >= d->ngpu_total)
					continue; /* discovered after the last declare */
				double m = u ? u->mem[k] : NAN, ut = u ? u->util[k] : NAN;
				put(values, td->gidx_mem[g], m);
				put(values, td->gidx_util[g], ut);
				if (!isnan(m)) {
					mem += m;
					known = 1;
				}
				if (!isnan(ut)) {
					util += ut;
					util_known = 1;
				}
			}
		}
		put(values, td->idx_mem, known ? mem : NAN);
		put(values, td->idx_util, util_known ? util : NAN);
	}
}

static int devices_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct devices *d = c->priv;
	int count = 0, nfree = 0, err = 0, relayout = 0;
	double stale_s = d->cfg->devices_stale_ms / 1e3;

	for (int i = 0; i < DEV_PROVIDERS; i++) {
		struct dev_provider *p = &d->prov[i];
		if (!p->ops->sample)
			continue;
		p->errmsg[0] = 0;
		int r = p->ops->sample(p, now);
		relayout |= p->relayout;
		if (r < 0) {
			p->last_err = r;
			p->failures++;
			if (!p->errmsg[0])
				snprintf(p->errmsg, sizeof(p->errmsg), "%s", strerror(-r));
			col_error(c, "%s: %s", p->ops->name, p->errmsg);
			err = r;
		} else {
			p->last_err = 0;
		}
		if (!p->found)
			continue;
		double age = p->reading_mono && now->mono_ns >= p->reading_mono
				 ? (double)(now->mono_ns - p->reading_mono) / 1e9
				 : NAN;
		put(values, d->idx_age[i], age);
		int stale = p->reading_mono && !(age <= stale_s);
		p->stale = stale;
		for (int k = 0; k < p->ngpu; k++) {
			struct dev_gpu *g = &p->gpu[k];
			if (g->global < 0)
				continue; /* discovered after the last declare */
			count++;
			g->v[GPU_MEM_FREE] = g->v[GPU_MEM_TOTAL] - g->v[GPU_MEM_USED];
			for (int m = 0; m < GPU_NMETRIC; m++)
				put(values, g->idx[m], stale ? NAN : g->v[m]);
			if (!stale && g->v[GPU_UTIL] < d->cfg->gpu_free_util &&
			    g->v[GPU_MEM_FREE] >= d->cfg->gpu_free_mem)
				nfree++;
		}
	}
	put(values, d->idx_count, count);
	put(values, d->idx_free, nfree);
	sample_tasks(d, values);
	if (relayout)
		layout_changed();
	return err;
}

static void devices_fini(struct collector *c)
{
	struct devices *d = c->priv;
	if (!d)
		return;
	if (live == d)
		live = NULL;
	for (int i = 0; i < DEV_PROVIDERS; i++)
		if (d->prov[i].ops && d->prov[i].ops->fini)
			d->prov[i].ops->fini(&d->prov[i]);
	free(d->task);
	free(d);
	c->priv = NULL;
}

const struct collector_ops devices_ops = {
    .name = "devices",
    .init = devices_init,
    .declare = devices_declare,
    .sample = devices_sample,
    .fini = devices_fini,
};

/* ---- inventory and status --------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

json_t *devices_inventory(void)
{
	json_t *arr = json_array();
	if (!live)
		return arr;
	for (int i = 0; i < DEV_PROVIDERS; i++) {
		const struct dev_provider *p = &live->prov[i];
		if (!p->found)
			continue;
		for (int k = 0; k < p->ngpu; k++) {
			const struct dev_gpu *g = &p->gpu[k];
			json_t *o = json_object();
			json_object_set_new(o, "gpu", g->global >= 0 ? json_integer(g->global) : json_null());
			json_object_set_new(o, "provider", json_string(p->ops->name));
			json_object_set_new(o, "id", json_string(g->id));
			json_object_set_new(o, "vendor", str_or_null(g->vendor));
			json_object_set_new(o, "model", str_or_null(g->model));
			json_object_set_new(o, "memory_bytes",
					    isnan(g->v[GPU_MEM_TOTAL]) ? json_null()
								       : json_real(g->v[GPU_MEM_TOTAL]));
			json_object_set_new(o, "driver", str_or_null(g->driver));
			json_object_set_new(o, "firmware", str_or_null(g->firmware));
			json_object_set_new(o, "pci_bus_id", str_or_null(g->bus_id));
			json_object_set_new(o, "uuid", str_or_null(g->uuid));
			json_array_append_new(arr, o);
		}
	}
	return arr;
}

/* One provider's status object (what /v1/status lists under "device_providers"). */
static json_t *provider_status(const char *name, const struct dev_provider *p, const char *off, uint64_t now)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	if (!p) {
		json_object_set_new(o, "found", json_false());
		json_object_set_new(o, "why", json_string(off));
		return o;
	}
	json_object_set_new(o, "found", json_boolean(p->found));
	json_object_set_new(o, p->found ? "what" : "why", json_string(p->why));
	json_object_set_new(o, "devices", json_integer(p->ngpu));
	json_object_set_new(o, "sensors", json_integer(p->nsensor));
	json_object_set_new(o, "last_reading_age_s",
			    p->reading_mono && now >= p->reading_mono
				? json_real((double)(now - p->reading_mono) / 1e9)
				: json_null());
	json_object_set_new(o, "failures", json_integer((json_int_t)p->failures));
	json_object_set_new(o, "last_error", p->last_err ? json_string(p->errmsg) : json_null());
	if (p->ops->describe)
		p->ops->describe(p, o);
	return o;
}

json_t *devices_status(void)
{
	json_t *arr = json_array();
	uint64_t now = ird_now_mono();
	for (int i = 0; i < DEV_PROVIDERS; i++)
		json_array_append_new(arr,
				      provider_status(provider_list[i]->name, live ? &live->prov[i] : NULL,
						      "the devices collector is off", now));
	json_array_append_new(
	    arr, provider_status("hwmon", dev_hwmon_provider(), "the hwmon collector is off", now));
	return arr;
}
