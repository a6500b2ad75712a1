/* SPDX-License-Identifier: MIT */
/*
 * nvml.c - the "nvml" device provider: NVIDIA accelerators through NVML, loaded with
 * dlopen() at run time (nvml_library, default "libnvidia-ml.so.1"), so inforegd has no
 * build-time dependency on the driver. Only the functions used are declared here, from
 * NVML's public API documentation, with the versioned entry points the driver exports
 * (nvmlInit_v2, nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2, ...).
 *
 * Why one file of about 650 lines: NVML's declarations (from its public reference), the
 * worker thread and the provider share the dlopen()ed function table and the triple
 * buffer; nothing else may see them.
 *
 * NVML calls take from microseconds to tens of milliseconds (nvmlDeviceGetPcieThroughput
 * samples for 20 ms) and can hang when a GPU falls off the bus, so none runs on the
 * tick. A worker thread initialises NVML, discovers the devices, then takes one reading
 * per nvml_period_ms (per GPU: utilisation, memory, power, temperature, clocks, PCIe
 * throughput (once a second: each call blocks 20 ms), ECC counts, throttle reasons; per
 * process: memory and SM utilisation, joined with the watches' processes) into a
 * private buffer. Readings are handed over
 * by triple buffering: the worker fills BACK and swaps it with MID under the mutex;
 * the tick, with pthread_mutex_trylock, swaps MID with FRONT when a fresher one is
 * there. The lock covers two pointer swaps, and the tick never waits for it (a busy
 * lock means "serve FRONT again"), so a hung NVML call only ages the reading: the tick
 * publishes devices.age{provider="nvml"} and, past devices_stale_ms, NaN.
 *
 * Start-up waits at most 2 s for the worker's discovery; a slower driver is reported
 * "initialising" and its series appear with a re-layout when discovery completes. At
 * fini the worker is asked to stop and joined for at most 0.5 s; a worker stuck in a
 * call is detached and frees the state (shared by reference count) when the call
 * returns, so a reload never waits for the driver.
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "daemon.h"
#include "devices.h"

/* ---- the NVML API we use (from NVML's public reference) --------------------- */

typedef int nvmlReturn_t; /* an enum in nvml.h: 0 is NVML_SUCCESS */
typedef struct nvml_device_st *nvmlDevice_t;

enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_NO_PERMISSION = 4,
	NVML_ERROR_NOT_FOUND = 6,
	NVML_ERROR_INSUFFICIENT_SIZE = 7,
	NVML_ERROR_DRIVER_NOT_LOADED = 9,
	NVML_ERROR_FUNCTION_NOT_FOUND = 13,
	NVML_ERROR_GPU_IS_LOST = 15,
};
enum { NVML_TEMPERATURE_GPU = 0 };
enum { NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2 };
enum { NVML_PCIE_UTIL_TX_BYTES = 0, NVML_PCIE_UTIL_RX_BYTES = 1 };
enum { NVML_MEMORY_ERROR_TYPE_CORRECTED = 0, NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1 };
enum { NVML_VOLATILE_ECC = 0 };
#define NVML_VALUE_NOT_AVAILABLE_ULL (~0ull)

struct nvml_utilization {
	unsigned int gpu, memory; /* percent */
};
struct nvml_memory {
	unsigned long long total, free, used; /* bytes */
};
/* nvmlMemory_v2_t: "used" excludes the driver's reserved memory, as nvidia-smi shows it */
struct nvml_memory_v2 {
	unsigned int version; /* sizeof | 2 << 24 (NVML_STRUCT_VERSION(Memory, 2)) */
	unsigned long long total, reserved, free, used;
};
#define NVML_MEMORY_V2 ((unsigned int)sizeof(struct nvml_memory_v2) | 2u << 24)
struct nvml_pci_info_v3 {
	char bus_id_legacy[16];
	unsigned int domain, bus, device, pci_device_id, pci_subsystem_id;
	char bus_id[32];
};
struct nvml_process_info_v2 { /* what _v2 and _v3 of GetComputeRunningProcesses fill */
	unsigned int pid;
	unsigned long long used_gpu_memory;
	unsigned int gpu_instance_id, compute_instance_id;
};
struct nvml_process_util_sample {
	unsigned int pid;
	unsigned long long timestamp; /* CPU timestamp, us */
	unsigned int sm_util, mem_util, enc_util, dec_util;
};

struct nvml_api {
	nvmlReturn_t (*init_v2)(void);
	nvmlReturn_t (*shutdown)(void);
	const char *(*error_string)(nvmlReturn_t);
	nvmlReturn_t (*system_driver_version)(char *, unsigned int);
	nvmlReturn_t (*count_v2)(unsigned int *);
	nvmlReturn_t (*handle_v2)(unsigned int, nvmlDevice_t *);
	nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*uuid)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*pci_v3)(nvmlDevice_t, struct nvml_pci_info_v3 *);
	nvmlReturn_t (*vbios)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*utilization)(nvmlDevice_t, struct nvml_utilization *);
	nvmlReturn_t (*memory)(nvmlDevice_t, struct nvml_memory *);
	nvmlReturn_t (*memory_v2)(nvmlDevice_t, struct nvml_memory_v2 *);
	nvmlReturn_t (*power)(nvmlDevice_t, unsigned int *);
	nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int *);
	nvmlReturn_t (*clock)(nvmlDevice_t, int, unsigned int *);
	nvmlReturn_t (*pcie)(nvmlDevice_t, int, unsigned int *);
	nvmlReturn_t (*ecc)(nvmlDevice_t, int, int, unsigned long long *);
	nvmlReturn_t (*throttle)(nvmlDevice_t, unsigned long long *);
	nvmlReturn_t (*procs)(nvmlDevice_t, unsigned int *, struct nvml_process_info_v2 *);
	nvmlReturn_t (*proc_util)(nvmlDevice_t, struct nvml_process_util_sample *, unsigned int *,
				  unsigned long long);
};

/* ---- state -------------------------------------------------------------------- */

#define PROCS_MAX      256
#define PCIE_PERIOD_NS 1000000000ull /* nvmlDeviceGetPcieThroughput: 20 ms a call */

struct reading {
	uint64_t mono; /* CLOCK_MONOTONIC at the start of the reading */
	double v[DEV_GPU_MAX][GPU_NMETRIC];
	struct dev_task_use task[WATCH_MAX];
	int ntask;
	int nerr;	  /* calls that failed (not NOT_SUPPORTED) */
	char errmsg[160]; /* the first of them */
	uint64_t wall_ns, cpu_ns;
};

struct nvml {
	atomic_int refs; /* the provider and the worker; the last one frees */
	void *lib;
	struct nvml_api f;
	uint64_t period_ns;
	pthread_t th;
	int started;
	int inited; /* nvmlInit_v2 succeeded (worker) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int stop;

	/* discovery, written by the worker before it sets discovered under mu */
	int discovered; /* 0 pending, 1 done (under mu) */
	int taken;	/* the provider has taken the discovery (main thread) */
	int ndev;
	char disc_why[192];
	struct dev_gpu gpu[DEV_GPU_MAX]; /* static fields from the worker; values from the tick */
	nvmlDevice_t dev[DEV_GPU_MAX];
	unsigned long long last_seen_us[DEV_GPU_MAX];
	double pcie[DEV_GPU_MAX][2]; /* the last PCIe rx/tx reading (worker) */
	uint64_t pcie_mono;	     /* when it was taken (worker) */

	/* triple buffer: the worker owns *back, the tick *front, *mid is exchanged under mu */
	struct reading bufs[3];
	struct reading *back, *mid, *front;
	int fresh; /* mid is newer than front (under mu) */

	/* worker figures (read by describe without the lock: approximate is fine) */
	atomic_uint_fast64_t readings, last_wall_ns, last_cpu_ns, total_wall_ns, total_cpu_ns;

	struct nvml_process_info_v2 procs[PROCS_MAX];
	struct nvml_process_util_sample usamples[PROCS_MAX];
	struct watch_spec ws[WATCH_MAX];
};

static void nvml_unref(struct nvml *n)
{
	/* acq_rel: the last one sees every write the other made before its decrement */
	if (atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (n->lib)
		dlclose(n->lib);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	free(n);
}

static uint64_t cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *errstr(struct nvml *n, nvmlReturn_t r)
{
	const char *s = n->f.error_string ? n->f.error_string(r) : NULL;
	return s ? s : "unknown NVML error";
}

/* ---- the worker ----------------------------------------------------------------- */

/* Records a failed call (NOT_SUPPORTED is not a failure: the GPU lacks the figure). */
static void call_failed(struct nvml *n, struct reading *r, const char *fn, int gpu, nvmlReturn_t e)
{
	if (e == NVML_ERROR_NOT_SUPPORTED || e == NVML_ERROR_FUNCTION_NOT_FOUND)
		return;
	if (!r->nerr++)
		snprintf(r->errmsg, sizeof(r->errmsg), "%s (gpu %d): %s", fn, gpu, errstr(n, e));
}

#define CALL(fn, gpu, ...)                                                                                   \
	(n->f.fn ? ((rc = n->f.fn(__VA_ARGS__)) == NVML_SUCCESS ? 1 : (call_failed(n, r, #fn, gpu, rc), 0))  \
		 : 0)

static void read_processes(struct nvml *n, struct reading *r, int k, int nws)
{
	nvmlReturn_t rc;
	unsigned int np = PROCS_MAX, nu = PROCS_MAX;
	nvmlDevice_t d = n->dev[k];

	if (!CALL(procs, k, d, &np, n->procs))
		np = 0;
	if (!np || !nws)
		return;
	int util_ok = 1;
	rc = n->f.proc_util ? n->f.proc_util(d, n->usamples, &nu, n->last_seen_us[k])
			    : NVML_ERROR_FUNCTION_NOT_FOUND;
	if (rc == NVML_ERROR_NOT_FOUND) {
		nu = 0; /* no sample since the last one: nothing ran */
	} else if (rc != NVML_SUCCESS) {
		call_failed(n, r, "proc_util", k, rc);
		util_ok = 0;
		nu = 0;
	}
	for (unsigned i = 0; i < nu; i++)
		if (n->usamples[i].timestamp > n->last_seen_us[k])
			n->last_seen_us[k] = n->usamples[i].timestamp;
	for (unsigned i = 0; i < np && i < PROCS_MAX; i++) {
		uint64_t mask = dev_watch_match((pid_t)n->procs[i].pid, n->ws, nws);
		if (!mask)
			continue;
		double mem = n->procs[i].used_gpu_memory == NVML_VALUE_NOT_AVAILABLE_ULL
				 ? NAN
				 : (double)n->procs[i].used_gpu_memory;
		/* the latest sample of this pid in the window; none: it did not run */
		double util = util_ok ? 0 : NAN;
		unsigned long long ts = 0;
		for (unsigned s = 0; s < nu; s++)
			if (n->usamples[s].pid == n->procs[i].pid && n->usamples[s].timestamp >= ts) {
				ts = n->usamples[s].timestamp;
				util = n->usamples[s].sm_util;
			}
		for (int w = 0; w < nws; w++)
			if (mask & (1ull << w)) {
				r->task[w].mem[k] += mem;
				r->task[w].util[k] += util;
			}
	}
}

static void take_reading(struct nvml *n, struct reading *r)
{
	nvmlReturn_t rc;
	uint64_t c0 = cpu_now();

	r->mono = ird_now_mono();
	int pcie_due = !n->pcie_mono || r->mono - n->pcie_mono >= PCIE_PERIOD_NS;
	if (pcie_due)
		n->pcie_mono = r->mono;
	r->nerr = 0;
	r->errmsg[0] = 0;
	int nws = ctl_watch_list(n->ws, WATCH_MAX);
	if (nws > WATCH_MAX)
		nws = WATCH_MAX;
	r->ntask = nws;
	for (int w = 0; w < nws; w++) {
		memcpy(r->task[w].watch, n->ws[w].name, sizeof(r->task[w].watch));
		r->task[w].watch[sizeof(r->task[w].watch) - 1] = 0;
		for (int k = 0; k < DEV_GPU_MAX; k++)
			r->task[w].mem[k] = r->task[w].util[k] = 0;
	}
	for (int k = 0; k < n->ndev; k++) {
		double *v = r->v[k];
		nvmlDevice_t d = n->dev[k];
		struct nvml_utilization u;
		struct nvml_memory m;
		unsigned int x;
		unsigned long long ull;

		for (int i = 0; i < GPU_NMETRIC; i++)
			v[i] = NAN;
		if (CALL(utilization, k, d, &u)) {
			v[GPU_UTIL] = u.gpu;
			v[GPU_MEM_UTIL] = u.memory;
		}
		struct nvml_memory_v2 m2 = {.version = NVML_MEMORY_V2};
		if (n->f.memory_v2 && n->f.memory_v2(d, &m2) == NVML_SUCCESS) {
			v[GPU_MEM_USED] = (double)m2.used;
			v[GPU_MEM_TOTAL] = (double)m2.total;
		} else if (CALL(memory, k, d, &m)) {
			v[GPU_MEM_USED] = (double)m.used;
			v[GPU_MEM_TOTAL] = (double)m.total;
		}
		if (CALL(power, k, d, &x))
			v[GPU_POWER] = x / 1e3; /* mW */
		if (CALL(temperature, k, d, NVML_TEMPERATURE_GPU, &x))
			v[GPU_TEMP] = x;
		if (CALL(clock, k, d, NVML_CLOCK_SM, &x))
			v[GPU_CLOCK_SM] = x;
		if (CALL(clock, k, d, NVML_CLOCK_MEM, &x))
			v[GPU_CLOCK_MEM] = x;
		if (pcie_due) {
			/* each call samples the link for 20 ms: once a second, not every reading */
			n->pcie[k][0] = n->pcie[k][1] = NAN;
			if (CALL(pcie, k, d, NVML_PCIE_UTIL_RX_BYTES, &x))
				n->pcie[k][0] = x * 1024.0; /* KB/s */
			if (CALL(pcie, k, d, NVML_PCIE_UTIL_TX_BYTES, &x))
				n->pcie[k][1] = x * 1024.0;
		}
		v[GPU_PCIE_RX] = n->pcie[k][0];
		v[GPU_PCIE_TX] = n->pcie[k][1];
		if (CALL(ecc, k, d, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &ull))
			v[GPU_ECC_CORR] = (double)ull;
		if (CALL(ecc, k, d, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &ull))
			v[GPU_ECC_UNCORR] = (double)ull;
		if (CALL(throttle, k, d, &ull))
			v[GPU_THROTTLE] = (double)ull;
		read_processes(n, r, k, nws);
	}
	r->cpu_ns = cpu_now() - c0;
	r->wall_ns = ird_now_mono() - r->mono;
}

/* Initialises NVML and lists the devices (worker thread). Returns the count or -1. */
static int discover_devices(struct nvml *n, char *why, size_t whylen)
{
	nvmlReturn_t rc = n->f.init_v2();
	n->inited = rc == NVML_SUCCESS;
	if (rc != NVML_SUCCESS) {
		snprintf(why, whylen, "nvmlInit_v2: %s%s", errstr(n, rc),
			 rc == NVML_ERROR_NO_PERMISSION	      ? " (permission)"
			 : rc == NVML_ERROR_DRIVER_NOT_LOADED ? " (no driver loaded)"
							      : "");
		return -1;
	}
	unsigned int count = 0;
	if ((rc = n->f.count_v2(&count)) != NVML_SUCCESS) {
		snprintf(why, whylen, "nvmlDeviceGetCount_v2: %s", errstr(n, rc));
		return -1;
	}
	char driver[80] = "";
	if (n->f.system_driver_version)
		n->f.system_driver_version(driver, sizeof(driver));
	int nd = 0;
	for (unsigned i = 0; i < count && nd < DEV_GPU_MAX; i++) {
		struct dev_gpu *g = &n->gpu[nd];
		nvmlDevice_t d;
		if ((rc = n->f.handle_v2(i, &d)) != NVML_SUCCESS) {
			ird_log("nvml: device %u skipped: nvmlDeviceGetHandleByIndex_v2: %s", i,
				errstr(n, rc));
			continue;
		}
		dev_gpu_init(g);
		n->dev[nd] = d;
		snprintf(g->id, sizeof(g->id), "%u", i);
		strcpy(g->vendor, "nvidia");
		snprintf(g->driver, sizeof(g->driver), "%s", driver);
		if (n->f.name)
			n->f.name(d, g->model, sizeof(g->model));
		if (n->f.uuid)
			n->f.uuid(d, g->uuid, sizeof(g->uuid));
		if (n->f.vbios)
			n->f.vbios(d, g->firmware, sizeof(g->firmware));
		struct nvml_pci_info_v3 pci;
		if (n->f.pci_v3 && n->f.pci_v3(d, &pci) == NVML_SUCCESS) {
			pci.bus_id[sizeof(pci.bus_id) - 1] = 0;
			snprintf(g->bus_id, sizeof(g->bus_id), "%s", pci.bus_id);
		}
		g->model[sizeof(g->model) - 1] = g->uuid[sizeof(g->uuid) - 1] = 0;
		g->firmware[sizeof(g->firmware) - 1] = 0;
		struct nvml_memory m;
		if (n->f.memory && n->f.memory(d, &m) == NVML_SUCCESS)
			g->v[GPU_MEM_TOTAL] = (double)m.total;
		nd++;
	}
	n->ndev = nd;
	if (nd == 0)
		snprintf(why, whylen, "NVML %s: no device", driver[0] ? driver : "");
	else
		snprintf(why, whylen, "%d GPU%s (%s), driver %s", nd, nd > 1 ? "s" : "", n->gpu[0].model,
			 driver);
	return nd;
}

static void *worker(void *arg)
{
	struct nvml *n = arg;
	char why[192];
	int nd = discover_devices(n, why, sizeof(why));

	if (nd > 0)
		take_reading(n, n->back); /* not counted in the figures: the first one is colder */
	pthread_mutex_lock(&n->mu);
	snprintf(n->disc_why, sizeof(n->disc_why), "%s", why);
	n->discovered = 1;
	if (nd > 0) {
		struct reading *t = n->mid;
		n->mid = n->back;
		n->back = t;
		n->fresh = 1;
	}
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);

	uint64_t next = ird_now_mono() + n->period_ns;
	/* relaxed: stop is only a request; mu orders everything it guards */
	while (nd > 0 && !atomic_load_explicit(&n->stop, memory_order_relaxed)) {
		pthread_mutex_lock(&n->mu);
		while (!atomic_load_explicit(&n->stop, memory_order_relaxed)) {
			uint64_t now = ird_now_mono();
			if (now >= next)
				break;
			struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ull),
					      .tv_nsec = (long)(next % 1000000000ull)};
			pthread_cond_timedwait(&n->cv, &n->mu, &ts);
		}
		pthread_mutex_unlock(&n->mu);
		if (atomic_load_explicit(&n->stop, memory_order_relaxed))
			break;
		take_reading(n, n->back);
		atomic_store_explicit(&n->last_wall_ns, n->back->wall_ns, memory_order_relaxed);
		atomic_store_explicit(&n->last_cpu_ns, n->back->cpu_ns, memory_order_relaxed);
		atomic_fetch_add_explicit(&n->total_wall_ns, n->back->wall_ns, memory_order_relaxed);
		atomic_fetch_add_explicit(&n->total_cpu_ns, n->back->cpu_ns, memory_order_relaxed);
		atomic_fetch_add_explicit(&n->readings, 1, memory_order_relaxed);
		pthread_mutex_lock(&n->mu);
		struct reading *t = n->mid;
		n->mid = n->back;
		n->back = t;
		n->fresh = 1;
		pthread_mutex_unlock(&n->mu);
		uint64_t now = ird_now_mono();
		next += n->period_ns;
		if (next < now)
			next = now + n->period_ns; /* a slow reading: no burst to catch up */
	}
	if (n->f.shutdown && n->inited)
		n->f.shutdown();
	nvml_unref(n);
	return NULL;
}

/* ---- the provider ---------------------------------------------------------------- */

static void *sym(struct nvml *n, const char *name)
{
	return dlsym(n->lib, name);
}

/* Copies the worker's discovery into P (main thread, after discovered was seen under mu). */
static void take_discovery(struct dev_provider *p, struct nvml *n)
{
	n->taken = 1;
	snprintf(p->why, sizeof(p->why), "%s", n->disc_why);
	p->gpu = n->gpu;
	p->ngpu = n->ndev;
	p->found = n->ndev > 0;
	p->has_tasks = p->found;
}

static int nvml_discover(struct dev_provider *p, struct col_env *env)
{
	const struct ird_config *cfg = env->cfg;

	if (!cfg->nvml_library[0] || !strcmp(cfg->nvml_library, "off")) {
		snprintf(p->why, sizeof(p->why), "disabled (nvml_library = off)");
		return 0;
	}
	struct nvml *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	atomic_init(&n->refs, 1);
	pthread_mutex_init(&n->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cv, &ca);
	pthread_condattr_destroy(&ca);
	n->back = &n->bufs[0];
	n->mid = &n->bufs[1];
	n->front = &n->bufs[2];
	p->priv = n;

	n->lib = dlopen(cfg->nvml_library, RTLD_NOW | RTLD_LOCAL);
	if (!n->lib) {
		const char *e = dlerror();
		snprintf(p->why, sizeof(p->why), "library missing: %.170s", e ? e : cfg->nvml_library);
		return 0;
	}
	struct nvml_api *f = &n->f;
	*(void **)&f->init_v2 = sym(n, "nvmlInit_v2");
	*(void **)&f->shutdown = sym(n, "nvmlShutdown");
	*(void **)&f->error_string = sym(n, "nvmlErrorString");
	*(void **)&f->count_v2 = sym(n, "nvmlDeviceGetCount_v2");
	*(void **)&f->handle_v2 = sym(n, "nvmlDeviceGetHandleByIndex_v2");
	if (!f->init_v2 || !f->count_v2 || !f->handle_v2) {
		snprintf(p->why, sizeof(p->why),
			 "%.80s lacks nvmlInit_v2, nvmlDeviceGetCount_v2 or "
			 "nvmlDeviceGetHandleByIndex_v2 (driver too old?)",
			 cfg->nvml_library);
		return 0;
	}
	*(void **)&f->system_driver_version = sym(n, "nvmlSystemGetDriverVersion");
	*(void **)&f->name = sym(n, "nvmlDeviceGetName");
	*(void **)&f->uuid = sym(n, "nvmlDeviceGetUUID");
	*(void **)&f->pci_v3 = sym(n, "nvmlDeviceGetPciInfo_v3");
	*(void **)&f->vbios = sym(n, "nvmlDeviceGetVbiosVersion");
	*(void **)&f->utilization = sym(n, "nvmlDeviceGetUtilizationRates");
	*(void **)&f->memory = sym(n, "nvmlDeviceGetMemoryInfo");
	*(void **)&f->memory_v2 = sym(n, "nvmlDeviceGetMemoryInfo_v2"); /* driver 510+; else v1 */
	*(void **)&f->power = sym(n, "nvmlDeviceGetPowerUsage");
	*(void **)&f->temperature = sym(n, "nvmlDeviceGetTemperature");
	*(void **)&f->clock = sym(n, "nvmlDeviceGetClockInfo");
	*(void **)&f->pcie = sym(n, "nvmlDeviceGetPcieThroughput");
	*(void **)&f->ecc = sym(n, "nvmlDeviceGetTotalEccErrors");
	/* renamed in NVML 12.2; the old name stays exported */
	*(void **)&f->throttle = sym(n, "nvmlDeviceGetCurrentClocksEventReasons");
	if (!f->throttle)
		*(void **)&f->throttle = sym(n, "nvmlDeviceGetCurrentClocksThrottleReasons");
	*(void **)&f->procs = sym(n, "nvmlDeviceGetComputeRunningProcesses_v3");
	if (!f->procs)
		*(void **)&f->procs = sym(n, "nvmlDeviceGetComputeRunningProcesses_v2");
	*(void **)&f->proc_util = sym(n, "nvmlDeviceGetProcessUtilization");

	uint32_t ms =
	    cfg->nvml_period_ms ? cfg->nvml_period_ms : (cfg->period_ms < 100 ? 100 : cfg->period_ms);
	n->period_ns = (uint64_t)ms * 1000000ull;
	atomic_store_explicit(&n->refs, 2, memory_order_relaxed); /* before the worker exists */
	int e = pthread_create(&n->th, NULL, worker, n);
	if (e) {
		atomic_store_explicit(&n->refs, 1, memory_order_relaxed);
		snprintf(p->why, sizeof(p->why), "cannot start the NVML worker: %s", strerror(e));
		return -e;
	}
	n->started = 1;

	/* wait (bounded) for discovery, so a normal start declares the GPUs at once */
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 2;
	pthread_mutex_lock(&n->mu);
	while (!n->discovered && pthread_cond_timedwait(&n->cv, &n->mu, &dl) != ETIMEDOUT)
		;
	if (n->discovered)
		take_discovery(p, n);
	else
		snprintf(p->why, sizeof(p->why), "initialising (nvmlInit_v2 has not returned after 2 s)");
	pthread_mutex_unlock(&n->mu);
	return p->ngpu;
}

static int nvml_sample(struct dev_provider *p, const struct col_now *now)
{
	struct nvml *n = p->priv;
	(void)now;
	if (!n || !n->started)
		return 0;
	/* trylock: the worker holds mu only to swap pointers; busy means "FRONT again" */
	if (pthread_mutex_trylock(&n->mu) == 0) {
		if (!n->taken && n->discovered) {
			take_discovery(p, n);
			p->relayout = p->found;
		}
		if (n->fresh) {
			struct reading *t = n->front;
			n->front = n->mid;
			n->mid = t;
			n->fresh = 0;
		}
		pthread_mutex_unlock(&n->mu);
	}
	if (!p->found || !n->front->mono)
		return 0;
	const struct reading *r = n->front;
	for (int k = 0; k < p->ngpu; k++)
		memcpy(p->gpu[k].v, r->v[k], sizeof(r->v[k]));
	p->task = (struct dev_task_use *)r->task;
	p->ntask = r->ntask;
	p->reading_mono = r->mono;
	if (r->nerr) {
		snprintf(p->errmsg, sizeof(p->errmsg), "%.140s%s", r->errmsg,
			 r->nerr > 1 ? " (and more)" : "");
		return -EIO;
	}
	return 0;
}

static void nvml_describe(const struct dev_provider *p, json_t *o)
{
	struct nvml *n = p->priv;
	if (!n || !n->started)
		return;
	json_object_set_new(o, "library", json_string(p->cfg->nvml_library));
	json_object_set_new(o, "period_ms", json_integer((json_int_t)(n->period_ns / 1000000)));
	json_object_set_new(
	    o, "readings",
	    json_integer((json_int_t)atomic_load_explicit(&n->readings, memory_order_relaxed)));
	json_object_set_new(o, "reading_wall_us",
			    json_real(atomic_load_explicit(&n->last_wall_ns, memory_order_relaxed) / 1e3));
	json_object_set_new(o, "reading_cpu_us",
			    json_real(atomic_load_explicit(&n->last_cpu_ns, memory_order_relaxed) / 1e3));
	uint64_t k = atomic_load_explicit(&n->readings, memory_order_relaxed);
	if (k) {
		json_object_set_new(o, "reading_wall_us_avg",
				    json_real(atomic_load_explicit(&n->total_wall_ns, memory_order_relaxed) /
					      1e3 / (double)k));
		json_object_set_new(o, "reading_cpu_us_avg",
				    json_real(atomic_load_explicit(&n->total_cpu_ns, memory_order_relaxed) /
					      1e3 / (double)k));
	}
}

static void nvml_fini(struct dev_provider *p)
{
	struct nvml *n = p->priv;
	if (!n)
		return;
	p->priv = NULL;
	p->gpu = NULL;
	p->task = NULL;
	p->ngpu = p->ntask = 0;
	if (n->started) {
		pthread_mutex_lock(&n->mu);
		atomic_store_explicit(&n->stop, 1,
				      memory_order_relaxed); /* seen under mu or at the next check */
		pthread_cond_broadcast(&n->cv);
		pthread_mutex_unlock(&n->mu);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 500000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(n->th, NULL, &dl) != 0) {
			ird_log("nvml: the worker is stuck in an NVML call; leaving it behind");
			pthread_detach(n->th);
		}
	}
	nvml_unref(n);
}

const struct dev_provider_ops dev_nvml_ops = {
    .name = "nvml",
    .discover = nvml_discover,
    .sample = nvml_sample,
    .describe = nvml_describe,
    .fini = nvml_fini,
};
