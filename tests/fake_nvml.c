/* SPDX-License-Identifier: MIT */
/*
 * fake_nvml.c - a stand-in for libnvidia-ml.so.1 for tests and benches (CI has no
 * GPU). Built by the Makefile as $(B)/tests/fake_nvml.so and loaded by inforegd
 * through `nvml_library = PATH`. It exports the NVML entry points the nvml provider
 * uses and answers them from a script, the file named by $FAKE_NVML_SCRIPT, re-read
 * whenever it changes (replace it with rename() to change values at run time):
 *
 *   count 2                        devices (default 0)
 *   driver 550.54.15
 *   init_fail 9                    nvmlInit_v2 returns this NVML error code
 *   fail nvmlDeviceGetPowerUsage   that entry point returns NVML_ERROR_UNKNOWN (999)
 *   sleep_ms nvmlDeviceGetUtilizationRates 5000    that entry point sleeps first
 *   gpuN name|uuid|bus|vbios TEXT  static identity of device N
 *   gpuN util|mem_util|mem_total|mem_used|mem_reserved|power_mw|temp|clock_sm|clock_mem|
 *        pcie_rx_kb|pcie_tx_kb|ecc_corr|ecc_uncorr|throttle VALUE
 *   gpuN proc PID MEM_BYTES SM_UTIL
 *
 * Every call counts in a counter file ($FAKE_NVML_SCRIPT.calls, one line per entry
 * point name when $FAKE_NVML_COUNT is set) so a test can see what was called.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXDEV 8
#define MAXPROC 16
#define UNKNOWN 999

struct fproc {
	unsigned pid;
	unsigned long long mem;
	unsigned sm;
};

struct fdev {
	char name[96], uuid[96], bus[32], vbios[32];
	unsigned long long util, mem_util, mem_total, mem_used, mem_reserved, power_mw, temp, clock_sm, clock_mem, rx, tx, ecc_c,
	    ecc_u, throttle;
	struct fproc proc[MAXPROC];
	int nproc;
};

static struct {
	int count, init_fail;
	char driver[80];
	char fail[16][64];
	int nfail;
	char sleep_fn[64];
	long sleep_ms;
	struct fdev dev[MAXDEV];
} S;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct timespec loaded_mtim;
static ino_t loaded_ino;
static int loaded;

static void load(void)
{
	const char *path = getenv("FAKE_NVML_SCRIPT");
	struct stat st;
	if (!path || stat(path, &st) != 0)
		return;
	if (loaded && st.st_ino == loaded_ino && st.st_mtim.tv_sec == loaded_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == loaded_mtim.tv_nsec)
		return;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	memset(&S, 0, sizeof(S));
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char key[64] = "", a[128] = "";
		int off = 0;
		if (sscanf(line, "%63s %n", key, &off) < 1 || key[0] == '#')
			continue;
		const char *rest = line + off;
		if (!strcmp(key, "count"))
			S.count = atoi(rest);
		else if (!strcmp(key, "init_fail"))
			S.init_fail = atoi(rest);
		else if (!strcmp(key, "driver"))
			snprintf(S.driver, sizeof(S.driver), "%s", rest);
		else if (!strcmp(key, "fail") && S.nfail < 16)
			snprintf(S.fail[S.nfail++], sizeof(S.fail[0]), "%s", rest);
		else if (!strcmp(key, "sleep_ms"))
			sscanf(rest, "%63s %ld", S.sleep_fn, &S.sleep_ms);
		else if (!strncmp(key, "gpu", 3)) {
			int i = atoi(key + 3);
			if (i < 0 || i >= MAXDEV || sscanf(rest, "%127s %n", a, &off) < 1)
				continue;
			struct fdev *d = &S.dev[i];
			const char *v = rest + off;
			unsigned long long x = strtoull(v, NULL, 10);
			if (!strcmp(a, "name"))
				snprintf(d->name, sizeof(d->name), "%s", v);
			else if (!strcmp(a, "uuid"))
				snprintf(d->uuid, sizeof(d->uuid), "%s", v);
			else if (!strcmp(a, "bus"))
				snprintf(d->bus, sizeof(d->bus), "%s", v);
			else if (!strcmp(a, "vbios"))
				snprintf(d->vbios, sizeof(d->vbios), "%s", v);
			else if (!strcmp(a, "util"))
				d->util = x;
			else if (!strcmp(a, "mem_util"))
				d->mem_util = x;
			else if (!strcmp(a, "mem_total"))
				d->mem_total = x;
			else if (!strcmp(a, "mem_used"))
				d->mem_used = x;
			else if (!strcmp(a, "mem_reserved"))
				d->mem_reserved = x;
			else if (!strcmp(a, "power_mw"))
				d->power_mw = x;
			else if (!strcmp(a, "temp"))
				d->temp = x;
			else if (!strcmp(a, "clock_sm"))
				d->clock_sm = x;
			else if (!strcmp(a, "clock_mem"))
				d->clock_mem = x;
			else if (!strcmp(a, "pcie_rx_kb"))
				d->rx = x;
			else if (!strcmp(a, "pcie_tx_kb"))
				d->tx = x;
			else if (!strcmp(a, "ecc_corr"))
				d->ecc_c = x;
			else if (!strcmp(a, "ecc_uncorr"))
				d->ecc_u = x;
			else if (!strcmp(a, "throttle"))
				d->throttle = x;
			else if (!strcmp(a, "proc") && d->nproc < MAXPROC) {
				struct fproc *p = &d->proc[d->nproc];
				if (sscanf(v, "%u %llu %u", &p->pid, &p->mem, &p->sm) == 3)
					d->nproc++;
			}
		}
	}
	fclose(f);
	loaded = 1;
	loaded_ino = st.st_ino;
	loaded_mtim = st.st_mtim;
}

/* Loads the script, sleeps if FN is scripted to, says whether FN is scripted to fail. */
static int enter(const char *fn)
{
	long ms = 0;
	int fail = 0;
	pthread_mutex_lock(&mu);
	load();
	if (!strcmp(S.sleep_fn, fn))
		ms = S.sleep_ms;
	for (int i = 0; i < S.nfail; i++)
		fail |= !strcmp(S.fail[i], fn);
	pthread_mutex_unlock(&mu);
	if (getenv("FAKE_NVML_COUNT")) {
		char path[512];
		snprintf(path, sizeof(path), "%s.calls", getenv("FAKE_NVML_SCRIPT"));
		FILE *f = fopen(path, "ae");
		if (f) {
			fprintf(f, "%s\n", fn);
			fclose(f);
		}
	}
	if (ms > 0) {
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	return fail;
}

typedef struct fdev *nvmlDevice_t;

static struct fdev *dev_of(nvmlDevice_t d)
{
	return d >= S.dev && d < S.dev + MAXDEV ? d : NULL;
}

#define ENTER(fn, d)                                  \
	if (enter(#fn))                               \
		return UNKNOWN;                       \
	if ((void *)(d) != NULL && !dev_of(d))        \
		return 2 /* INVALID_ARGUMENT */;

int nvmlInit_v2(void)
{
	enter("nvmlInit_v2");
	return S.init_fail;
}

int nvmlShutdown(void)
{
	return 0;
}

const char *nvmlErrorString(int r)
{
	switch (r) {
	case 0:
		return "Success";
	case 2:
		return "Invalid Argument";
	case 3:
		return "Not Supported";
	case 4:
		return "Insufficient Permissions";
	case 7:
		return "Insufficient Size";
	case 9:
		return "Driver Not Loaded";
	default:
		return "Unknown Error";
	}
}

int nvmlSystemGetDriverVersion(char *buf, unsigned len)
{
	ENTER(nvmlSystemGetDriverVersion, NULL);
	snprintf(buf, len, "%s", S.driver);
	return 0;
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
	ENTER(nvmlDeviceGetCount_v2, NULL);
	*n = (unsigned)S.count;
	return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d)
{
	ENTER(nvmlDeviceGetHandleByIndex_v2, NULL);
	if (i >= (unsigned)S.count || i >= MAXDEV)
		return 2;
	*d = &S.dev[i];
	return 0;
}

#define STR_GETTER(fn, field)                            \
	int fn(nvmlDevice_t d, char *buf, unsigned len)  \
	{                                                \
		ENTER(fn, d);                            \
		snprintf(buf, len, "%s", d->field);      \
		return 0;                                \
	}
STR_GETTER(nvmlDeviceGetName, name)
STR_GETTER(nvmlDeviceGetUUID, uuid)
STR_GETTER(nvmlDeviceGetVbiosVersion, vbios)

struct pci_v3 {
	char legacy[16];
	unsigned domain, bus, device, id, subsys;
	char bus_id[32];
};

int nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, struct pci_v3 *p)
{
	ENTER(nvmlDeviceGetPciInfo_v3, d);
	memset(p, 0, sizeof(*p));
	snprintf(p->bus_id, sizeof(p->bus_id), "%s", d->bus);
	return 0;
}

int nvmlDeviceGetUtilizationRates(nvmlDevice_t d, unsigned u[2])
{
	ENTER(nvmlDeviceGetUtilizationRates, d);
	u[0] = (unsigned)d->util;
	u[1] = (unsigned)d->mem_util;
	return 0;
}

int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, unsigned long long m[3])
{
	ENTER(nvmlDeviceGetMemoryInfo, d);
	m[0] = d->mem_total; /* v1: "used" includes the reserved memory */
	m[1] = d->mem_total - d->mem_used - d->mem_reserved;
	m[2] = d->mem_used + d->mem_reserved;
	return 0;
}

/* nvmlMemory_v2_t: version, total, reserved, free, used; "mem_reserved" is only here */
struct mem_v2 {
	unsigned version;
	unsigned long long total, reserved, free, used;
};

int nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, struct mem_v2 *m)
{
	ENTER(nvmlDeviceGetMemoryInfo_v2, d);
	if (m->version != ((unsigned)sizeof(struct mem_v2) | 2u << 24))
		return 25; /* ARGUMENT_VERSION_MISMATCH */
	m->total = d->mem_total;
	m->reserved = d->mem_reserved;
	m->used = d->mem_used;
	m->free = d->mem_total - d->mem_used - d->mem_reserved;
	return 0;
}

int nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned *mw)
{
	ENTER(nvmlDeviceGetPowerUsage, d);
	*mw = (unsigned)d->power_mw;
	return 0;
}

int nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned *t)
{
	ENTER(nvmlDeviceGetTemperature, d);
	if (sensor != 0)
		return 2;
	*t = (unsigned)d->temp;
	return 0;
}

int nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned *mhz)
{
	ENTER(nvmlDeviceGetClockInfo, d);
	if (type == 1)
		*mhz = (unsigned)d->clock_sm;
	else if (type == 2)
		*mhz = (unsigned)d->clock_mem;
	else
		return 2;
	return 0;
}

int nvmlDeviceGetPcieThroughput(nvmlDevice_t d, int counter, unsigned *kbs)
{
	ENTER(nvmlDeviceGetPcieThroughput, d);
	*kbs = (unsigned)(counter == 1 ? d->rx : d->tx);
	return 0;
}

int nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, int type, int counter, unsigned long long *n)
{
	ENTER(nvmlDeviceGetTotalEccErrors, d);
	(void)counter;
	*n = type == 0 ? d->ecc_c : d->ecc_u;
	return 0;
}

int nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *r)
{
	ENTER(nvmlDeviceGetCurrentClocksEventReasons, d);
	*r = d->throttle;
	return 0;
}

struct proc_v2 {
	unsigned pid;
	unsigned long long mem;
	unsigned gi, ci;
};

int nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned *count, struct proc_v2 *out)
{
	ENTER(nvmlDeviceGetComputeRunningProcesses_v3, d);
	if (*count < (unsigned)d->nproc) {
		*count = (unsigned)d->nproc;
		return 7;
	}
	for (int i = 0; i < d->nproc; i++)
		out[i] = (struct proc_v2){.pid = d->proc[i].pid, .mem = d->proc[i].mem, .gi = ~0u, .ci = ~0u};
	*count = (unsigned)d->nproc;
	return 0;
}

struct util_sample {
	unsigned pid;
	unsigned long long ts;
	unsigned sm, mem, enc, dec;
};

int nvmlDeviceGetProcessUtilization(nvmlDevice_t d, struct util_sample *out, unsigned *count,
				    unsigned long long last_seen)
{
	ENTER(nvmlDeviceGetProcessUtilization, d);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	unsigned long long ts = (unsigned long long)now.tv_sec * 1000000ull + (unsigned long long)now.tv_nsec / 1000;
	if (ts <= last_seen)
		return 6; /* NOT_FOUND: no sample since */
	if (*count < (unsigned)d->nproc) {
		*count = (unsigned)d->nproc;
		return 7;
	}
	for (int i = 0; i < d->nproc; i++)
		out[i] = (struct util_sample){.pid = d->proc[i].pid, .ts = ts, .sm = d->proc[i].sm};
	*count = (unsigned)d->nproc;
	return d->nproc ? 0 : 6;
}
