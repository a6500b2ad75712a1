// SPDX-License-Identifier: MIT
/*
 * devices_tick - what the device providers add to a tick, and what the NVML worker
 * costs per reading, on fakes (CI has no GPU): a fake sysfs root with one amdgpu card,
 * two hwmon chips (4 sensors) and a thermal zone, the fake NVML library with 2 GPUs
 * and the exec provider running a script that prints 2 devices.
 *
 * Two tick sets run side by side in one process: A has the /proc collectors, B the
 * same plus the "devices" and "hwmon" collectors. Each iteration times one tick of A
 * and one of B (tick_files_read + every due sample(), as loop.c does; hwmon, 1 s, is
 * due one tick in ten as at the default 100 ms tick) and
 * sleeps 2 ms, so both see the same machine. Prints the median and mean of each and
 * their difference, then the NVML worker's average cost per reading from its status.
 * Usage: devices_tick [ITERATIONS]   (needs $FAKE_NVML_LIB or build/tests/fake_nvml.so)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../daemon/config.h"
#include "../daemon/daemon.h"
#include "../daemon/devices/devices.h"
#include "../daemon/procfs/procfs.h"
#include "../daemon/tick.h"

struct set {
	struct tick_files *tf;
	struct collector cols[16];
	int n;
	struct series_reg reg;
	double *values;
	uint64_t last;
	uint64_t read_ns, devices_ns, ticks; /* sums over the timed ticks */
};

static char root[128];

static void put(const char *rel, const char *text)
{
	char path[512], cmd[600];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	if (system(cmd) != 0)
		exit(1);
	FILE *f = fopen(path, "w");
	if (!f)
		exit(1);
	fputs(text, f);
	fclose(f);
}

static int set_up(struct set *s, const struct ird_config *cfg, int with_devices)
{
	s->tf = tick_files_new(256);
	if (!s->tf)
		return -errno;
	struct col_env env = {.reg = &s->reg, .files = s->tf, .cfg = cfg};
	const struct collector_ops *ops[16];
	int n = 0;
	for (const struct collector_ops *const *o = procfs_collectors; *o; o++)
		ops[n++] = *o;
	if (with_devices)
		for (const struct collector_ops *const *o = devices_collectors; *o; o++)
			ops[n++] = *o;
	for (int i = 0; i < n; i++) {
		struct collector *c = &s->cols[s->n];
		memset(c, 0, sizeof(*c));
		c->ops = ops[i];
		tick_files_set_group(s->tf, (unsigned)s->n); /* as loop.c: files read when it samples */
		if (ops[i]->init(c, &env) < 0) {
			fprintf(stderr, "devices_tick: %s: init failed: %s\n", ops[i]->name, c->off_reason);
			continue;
		}
		s->n++;
	}
	for (int i = 0; i < s->n; i++)
		if (s->cols[i].ops->declare(&s->cols[i], &s->reg) < 0)
			return -EINVAL;
	s->values = calloc(s->reg.count, sizeof(double));
	return s->values ? 0 : -ENOMEM;
}

static uint64_t one_tick(struct set *s)
{
	uint64_t t0 = ird_now_mono();
	struct col_now now = {.mono_ns = t0, .real_ns = ird_now_real()};
	now.dt = s->last ? (double)(t0 - s->last) / 1e9 : 0;
	s->last = t0;
	for (uint32_t i = 0; i < s->reg.count; i++)
		s->values[i] = NAN;
	/* a 100 ms tick: collectors with a longer default period (hwmon, 1 s) sample one tick
	 * in period / 100 ms, like loop.c does */
	unsigned char due[16];
	for (int i = 0; i < s->n; i++) {
		uint32_t every = s->cols[i].ops->default_period_ms / 100;
		due[i] = every <= 1 || s->ticks % every == 0;
	}
	tick_files_read(s->tf, due, (unsigned)s->n);
	uint64_t t1 = ird_now_mono();
	s->read_ns += t1 - t0;
	for (int i = 0; i < s->n; i++) {
		if (!due[i])
			continue;
		s->cols[i].ops->sample(&s->cols[i], &now, s->values);
		uint64_t t2 = ird_now_mono();
		if (s->cols[i].ops == &devices_ops)
			s->devices_ns += t2 - t1;
		t1 = t2;
	}
	s->ticks++;
	if (layout_take_change()) /* a provider's late discovery: re-declare, like loop.c */
		for (int i = 0; i < s->n; i++) {
			reg_free(&s->reg);
			for (int k = 0; k < s->n; k++)
				s->cols[k].ops->declare(&s->cols[k], &s->reg);
			s->values = realloc(s->values, s->reg.count * sizeof(double));
			break;
		}
	return ird_now_mono() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void stats(const char *what, uint64_t *v, int n, double *median, double *mean)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += (double)v[i];
	qsort(v, (size_t)n, sizeof(v[0]), cmp_u64);
	*median = v[n / 2] / 1e3;
	*mean = sum / n / 1e3;
	printf("%-36s median %7.2f us  mean %7.2f us  p99 %7.2f us\n", what, *median, *mean, v[n * 99 / 100] / 1e3);
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 1500;
	const char *lib = getenv("FAKE_NVML_LIB");
	char libbuf[200], script[300], conf_exec[600];
	if (!lib) {
		snprintf(libbuf, sizeof(libbuf), "%.150s/tests/fake_nvml.so", getenv("INFOREG_BUILD") ? getenv("INFOREG_BUILD") : "build");
		lib = libbuf;
	}
	if (access(lib, R_OK) != 0) {
		fprintf(stderr, "devices_tick: %s missing (make tests)\n", lib);
		return 1;
	}
	snprintf(root, sizeof(root), "/tmp/devices_tick.%d", (int)getpid());
	const char *D = "sys/class/drm/card0/device";
	char p[400];
#define PUT(rel, text) (snprintf(p, sizeof(p), "%s/%s", D, rel), put(p, text))
	PUT("vendor", "0x1002\n");
	PUT("gpu_busy_percent", "42\n");
	PUT("mem_busy_percent", "7\n");
	PUT("mem_info_vram_used", "2147483648\n");
	PUT("mem_info_vram_total", "17163091968\n");
	PUT("hwmon/hwmon0/power1_average", "45000000\n");
	PUT("hwmon/hwmon0/temp1_input", "38000\n");
	PUT("hwmon/hwmon0/freq1_input", "800000000\n");
	PUT("hwmon/hwmon0/freq2_input", "1600000000\n");
	put("sys/class/hwmon/hwmon1/name", "coretemp\n");
	put("sys/class/hwmon/hwmon1/temp1_input", "45000\n");
	put("sys/class/hwmon/hwmon1/temp2_input", "43000\n");
	put("sys/class/hwmon/hwmon2/name", "nct6775\n");
	put("sys/class/hwmon/hwmon2/fan1_input", "1200\n");
	put("sys/class/hwmon/hwmon2/power1_input", "15500000\n");
	put("sys/class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
	put("sys/class/thermal/thermal_zone0/temp", "47000\n");
	put("nvml.script", "count 2\ndriver 550\ngpu0 util 37\ngpu0 mem_total 85899345920\ngpu0 mem_used 1073741824\n"
			   "gpu0 power_mw 123456\ngpu0 temp 51\ngpu0 proc 1 1000 20\ngpu1 util 3\n"
			   "gpu1 mem_total 85899345920\n");
	put("out.json", "{\"devices\":[{\"id\":\"0\",\"util\":1,\"mem_used\":2,\"mem_total\":3},"
			"{\"id\":\"1\",\"util\":4,\"mem_used\":5,\"mem_total\":6}]}\n");
	snprintf(script, sizeof(script), "%s/smi.sh", root);
	snprintf(conf_exec, sizeof(conf_exec), "#!/bin/sh\ncat %s/out.json\n", root);
	put("smi.sh", conf_exec);
	chmod(script, 0755);
	snprintf(p, sizeof(p), "%s/nvml.script", root);
	setenv("FAKE_NVML_SCRIPT", p, 1);

	struct ird_config cfg;
	cfg_defaults(&cfg);
	snprintf(cfg.nvml_library, sizeof(cfg.nvml_library), "%.200s", lib);
	snprintf(cfg.sysfs_root, sizeof(cfg.sysfs_root), "%s/sys", root);
	snprintf(cfg.devices_exec, sizeof(cfg.devices_exec), "%s", script);
	/* one provider off at a time, to see who costs what */
	if (getenv("DT_NO_EXEC"))
		cfg.devices_exec[0] = 0;
	if (getenv("DT_NO_NVML"))
		strcpy(cfg.nvml_library, "off");
	if (getenv("DT_NO_SYSFS"))
		strcpy(cfg.sysfs_root, "/nonexistent");

	static struct set a, b;
	if (set_up(&a, &cfg, 0) < 0 || set_up(&b, &cfg, 1) < 0) {
		fprintf(stderr, "devices_tick: set-up failed\n");
		return 1;
	}
	printf("series: %u without devices, %u with (every provider on fakes)\n", a.reg.count, b.reg.count);
	uint64_t *ta = calloc((size_t)iters, 8), *tb = calloc((size_t)iters, 8);
	for (int i = 0; i < 50; i++) { /* warm up */
		one_tick(&a);
		one_tick(&b);
	}
	struct timespec pause = {.tv_nsec = 2000000};
	a.read_ns = b.read_ns = b.devices_ns = a.ticks = b.ticks = 0;
	for (int i = 0; i < iters; i++) {
		if (i & 1) {
			ta[i] = one_tick(&a);
			tb[i] = one_tick(&b);
		} else {
			tb[i] = one_tick(&b);
			ta[i] = one_tick(&a);
		}
		nanosleep(&pause, NULL);
	}
	double ma, mea, mb, meb;
	stats("tick without devices", ta, iters, &ma, &mea);
	stats("tick with devices (all providers)", tb, iters, &mb, &meb);
	printf("%-36s median %+7.2f us  mean %+7.2f us\n", "devices add", mb - ma, meb - mea);
	printf("of which: reading sources %+.2f us (%u more files), devices sample() %.2f us (means)\n",
	       (b.read_ns / (double)b.ticks - a.read_ns / (double)a.ticks) / 1e3, tick_files_count(b.tf) - tick_files_count(a.tf),
	       b.devices_ns / (double)b.ticks / 1e3);
	fflush(stdout);
	for (int k = 0; k < b.n; k++)
		if (b.cols[k].ops == &devices_ops) {
			struct col_now now = {.mono_ns = ird_now_mono(), .dt = 0.1};
			uint64_t t0 = ird_now_mono();
			for (int j = 0; j < 10000; j++)
				b.cols[k].ops->sample(&b.cols[k], &now, b.values);
			printf("devices sample() back to back (hot caches): %.2f us\n", (ird_now_mono() - t0) / 1e7);
		}
	json_t *st = devices_status();
	size_t i;
	json_t *o;
	json_array_foreach(st, i, o)
	{
		const char *name = json_string_value(json_object_get(o, "name"));
		if (!strcmp(name, "nvml"))
			printf("nvml worker per reading (fake library, 2 GPUs): %.1f us wall, %.1f us CPU, over %lld readings\n",
			       json_real_value(json_object_get(o, "reading_wall_us_avg")),
			       json_real_value(json_object_get(o, "reading_cpu_us_avg")),
			       (long long)json_integer_value(json_object_get(o, "readings")));
		else if (!json_is_true(json_object_get(o, "found")))
			printf("provider %s not found: %s\n", name, json_string_value(json_object_get(o, "why")));
	}
	json_decref(st);
	for (int k = 0; k < b.n; k++)
		b.cols[k].ops->fini(&b.cols[k]);
	for (int k = 0; k < a.n; k++)
		a.cols[k].ops->fini(&a.cols[k]);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return 0;
}
