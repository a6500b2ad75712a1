/* SPDX-License-Identifier: MIT */
/*
 * hwmon.c - the "hwmon" device provider and collector: every other temperature, fan
 * and power sensor, as sensor.{temp,fan,power}{dev=,chip=,sensor=}, from SYSFS_ROOT/class/hwmon/hwmonN
 * (tempK_input m°C, fanK_input rpm, powerK_input or powerK_average uW, labelled by the matching _label file)
 * and from SYSFS_ROOT/class/thermal/thermal_zoneN (temp m°C, labelled by its type).
 *
 * A hwmon chip whose device is an accelerator the amd provider reports (its device
 * directory has gpu_busy_percent) is skipped: its power and temperature already are
 * gpu.power and gpu.temp. At most SENSORS_MAX sensors.
 *
 * Unlike the accelerator providers it is a collector of its own ("hwmon", see
 * devices.h): sensors change about once a second, so it samples every second by
 * default (period.hwmon = MS) and the main loop reads its files in the tick's io_uring
 * batch only at those ticks; collector.age{collector="hwmon"} says how old they are.
 *
 * Known limit: a few hwmon drivers read their chip over a slow bus (I2C/SMBus) when
 * the file is read; such a sensor lengthens the tick's single io_uring wait by its
 * read time. Leave the provider off for them (disable = devices) or accept it.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "devices.h"
#include "procfs/procfs.h"

#define SENSORS_MAX 128

struct hwmon {
	struct dev_sensor s[SENSORS_MAX];
};

static int num_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t px = strcspn(x, "0123456789"), py = strcspn(y, "0123456789");
	int c = px == py ? strncmp(x, y, px) : strcmp(x, y);
	return c ? c : atoi(x + px) - atoi(y + py);
}

/* Entries of DIR starting with PREFIX, sorted by their number. Returns the count. */
static int list_dir(const char *dir, const char *prefix, char **out, int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	size_t pl = strlen(prefix);
	while (d && (e = readdir(d)) && n < max)
		if (!strncmp(e->d_name, prefix, pl) && e->d_name[0] != '.')
			out[n++] = strdup(e->d_name);
	if (d)
		closedir(d);
	qsort(out, (size_t)n, sizeof(out[0]), num_cmp);
	return n;
}

static void add(struct dev_provider *p, struct col_env *env, const char *dev, const char *chip,
		const char *label, enum sensor_kind kind, double scale, const char *path)
{
	if (p->nsensor >= SENSORS_MAX)
		return;
	struct col_file *f = col_file_open(env->files, path, 32);
	if (!f)
		return;
	struct dev_sensor *s = &p->sensor[p->nsensor++];
	memset(s, 0, sizeof(*s));
	snprintf(s->dev, sizeof(s->dev), "%s", dev);
	snprintf(s->chip, sizeof(s->chip), "%s", chip);
	snprintf(s->label, sizeof(s->label), "%s", label);
	s->kind = kind;
	s->scale = scale;
	s->file = f;
	s->value = NAN;
	s->idx = -1;
}

/* One hwmon chip: its tempK/fanK/powerK inputs. */
static void scan_chip(struct dev_provider *p, struct col_env *env, const char *base, const char *dev)
{
	char dir[600], path[700], chip[48] = "", name[64], label[64];
	dev_pathf(dir, sizeof(dir), "%s/%s", base, dev);
	dev_pathf(path, sizeof(path), "%s/name", dir);
	if (col_read_line(path, chip, sizeof(chip)) < 0)
		snprintf(chip, sizeof(chip), "%s", dev);
	dev_pathf(path, sizeof(path), "%s/device/gpu_busy_percent", dir);
	if (access(path, F_OK) == 0)
		return; /* an amdgpu card: the amd provider reports it */
	static const struct {
		const char *prefix, *suffix;
		enum sensor_kind kind;
		double scale;
	} kinds[] = {
	    {"temp", "_input", SENSOR_TEMP, 1e-3},
	    {"fan", "_input", SENSOR_FAN, 1},
	    {"power", "_input", SENSOR_POWER, 1e-6},
	    {"power", "_average", SENSOR_POWER, 1e-6},
	};
	char *ents[256];
	int n = list_dir(dir, "", ents, 256);
	for (int i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			const char *e = ents[i];
			size_t pl = strlen(kinds[k].prefix), el = strlen(e), sl = strlen(kinds[k].suffix);
			if (strncmp(e, kinds[k].prefix, pl) || el <= pl + sl ||
			    strcmp(e + el - sl, kinds[k].suffix) ||
			    strspn(e + pl, "0123456789") != el - pl - sl)
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(el - sl), e);
			if (!strcmp(kinds[k].suffix, "_average")) {
				dev_pathf(path, sizeof(path), "%s/%s_input", dir, name);
				if (access(path, F_OK) == 0)
					continue; /* powerK_input preferred */
			}
			dev_pathf(path, sizeof(path), "%s/%s_label", dir, name);
			if (col_read_line(path, label, sizeof(label)) < 0 || !label[0])
				snprintf(label, sizeof(label), "%s", name);
			dev_pathf(path, sizeof(path), "%s/%s", dir, e);
			add(p, env, dev, chip, label, kinds[k].kind, kinds[k].scale, path);
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
}

static int hwmon_discover(struct dev_provider *p, struct col_env *env)
{
	char hw[CFG_PATH_MAX + 32], th[CFG_PATH_MAX + 32], path[700], type[64];
	struct hwmon *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	p->priv = h;
	p->sensor = h->s;
	if (dev_sysfs_path(env->cfg, hw, sizeof(hw), "/class/hwmon") < 0 ||
	    dev_sysfs_path(env->cfg, th, sizeof(th), "/class/thermal") < 0)
		return -ENAMETOOLONG;
	char *ents[256];
	int n = list_dir(hw, "hwmon", ents, 256), nchips = 0;
	for (int i = 0; i < n; i++) {
		int before = p->nsensor;
		scan_chip(p, env, hw, ents[i]);
		nchips += p->nsensor > before;
		free(ents[i]);
	}
	int nhw = p->nsensor;
	n = list_dir(th, "thermal_zone", ents, 256);
	for (int i = 0; i < n; i++) {
		dev_pathf(path, sizeof(path), "%s/%s/type", th, ents[i]);
		if (col_read_line(path, type, sizeof(type)) < 0 || !type[0])
			snprintf(type, sizeof(type), "%s", ents[i]);
		dev_pathf(path, sizeof(path), "%s/%s/temp", th, ents[i]);
		if (access(path, R_OK) == 0)
			add(p, env, ents[i], "thermal", type, SENSOR_TEMP, 1e-3, path);
		free(ents[i]);
	}
	p->found = p->nsensor > 0;
	if (p->found)
		snprintf(p->why, sizeof(p->why), "%d hwmon sensor%s on %d chip%s, %d thermal zone%s", nhw,
			 nhw == 1 ? "" : "s", nchips, nchips == 1 ? "" : "s", p->nsensor - nhw,
			 p->nsensor - nhw == 1 ? "" : "s");
	else
		snprintf(p->why, sizeof(p->why), "no sensor under %.80s or %.80s", hw, th);
	return p->nsensor;
}

static int hwmon_sample(struct dev_provider *p, const struct col_now *now)
{
	int missing = 0;
	if (!p->found)
		return 0;
	for (int i = 0; i < p->nsensor; i++) {
		struct dev_sensor *s = &p->sensor[i];
		double v = dev_parse_attr(s->file);
		s->value = v * s->scale;
		missing += isnan(v);
	}
	p->reading_mono = now->mono_ns;
	if (missing == p->nsensor) {
		snprintf(p->errmsg, sizeof(p->errmsg), "no sensor readable this tick");
		return -EIO;
	}
	return 0;
}

static void hwmon_fini(struct dev_provider *p)
{
	free(p->priv);
	p->priv = NULL;
	p->sensor = NULL;
	p->nsensor = 0;
}

const struct dev_provider_ops dev_hwmon_ops = {
    .name = "hwmon",
    .discover = hwmon_discover,
    .sample = hwmon_sample,
    .fini = hwmon_fini,
};

/* ---- the "hwmon" collector over the provider ------------------------------- */

static const char *const sensor_name[SENSOR_NKIND] = {"sensor.temp", "sensor.fan", "sensor.power"};
static const char *const sensor_unit[SENSOR_NKIND] = {"C", "rpm", "W"};
static struct dev_provider *live; /* for the status document (main-loop thread) */

const struct dev_provider *dev_hwmon_provider(void)
{
	return live;
}

static int col_init(struct collector *c, struct col_env *env)
{
	struct dev_provider *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ops = &dev_hwmon_ops;
	p->cfg = env->cfg;
	c->priv = p;
	int n = hwmon_discover(p, env);
	if (n < 0)
		return n;
	ird_log("device provider hwmon: %s", p->why);
	live = p;
	return 0;
}

static int col_declare(struct collector *c, struct series_reg *reg)
{
	struct dev_provider *p = c->priv;
	char chip[64], label[80];
	for (int i = 0; i < p->nsensor; i++) {
		struct dev_sensor *s = &p->sensor[i];
		s->idx = -1;
		if (col_label_value(chip, sizeof(chip), s->chip) < 0 ||
		    col_label_value(label, sizeof(label), s->label) < 0)
			continue;
		int r = reg_seriesf(
		    reg, sensor_unit[s->kind], INFOREG_KIND_GAUGE, "hardware sensor (hwmon, thermal zone)",
		    "%s{dev=\"%s\",chip=\"%s\",sensor=\"%s\"}", sensor_name[s->kind], s->dev, chip, label);
		if (r == -EEXIST || r == -EINVAL || r == -ENAMETOOLONG) {
			col_error(c, "sensor %s/%s skipped: %s", s->dev, s->label, strerror(-r));
			continue;
		}
		if (r < 0)
			return r;
		s->idx = r;
	}
	return 0;
}

static int col_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct dev_provider *p = c->priv;
	p->errmsg[0] = 0;
	int r = hwmon_sample(p, now);
	for (int i = 0; i < p->nsensor; i++)
		if (p->sensor[i].idx >= 0)
			values[p->sensor[i].idx] = p->sensor[i].value;
	p->last_err = r < 0 ? r : 0;
	if (r < 0) {
		p->failures++;
		col_error(c, "%s", p->errmsg);
	}
	return r;
}

static void col_fini(struct collector *c)
{
	struct dev_provider *p = c->priv;
	if (!p)
		return;
	if (live == p)
		live = NULL;
	hwmon_fini(p);
	free(p);
	c->priv = NULL;
}

const struct collector_ops devices_hwmon_ops = {
    .name = "hwmon",
    .default_period_ms = 1000,
    .init = col_init,
    .declare = col_declare,
    .sample = col_sample,
    .fini = col_fini,
};
