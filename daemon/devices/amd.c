/* SPDX-License-Identifier: MIT */
/*
 * amd.c - the "amd" device provider: AMD accelerators through the amdgpu driver's
 * sysfs files under SYSFS_ROOT/class/drm/cardN/device (vendor 0x1002):
 * gpu_busy_percent, mem_busy_percent, mem_info_vram_used, mem_info_vram_total, and
 * the card's hwmon: power1_average (or power1_input, uW), temp1_input (m°C, "edge"),
 * freq1_input / freq2_input (shader / memory clock, Hz).
 *
 * Every file but mem_info_vram_total (read once: it never changes) is opened at
 * discovery (col_file_open) and re-read in the tick's single io_uring submission, like the /proc sources, so
 * the provider costs the tick a few parses. A file the card lacks is simply not opened (its series stay NaN).
 * Identity for the inventory: product_name (newer kernels) or the PCI device id,
 * vbios_version, and DRIVER / PCI_SLOT_NAME from the device's uevent.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "devices.h"

enum amd_file { A_BUSY, A_MEM_BUSY, A_VRAM_USED, A_POWER, A_TEMP, A_SCLK, A_MCLK, A_NFILE };

struct amd_card {
	struct col_file *f[A_NFILE];
};

struct amd {
	struct dev_gpu gpu[DEV_GPU_MAX];
	struct amd_card card[DEV_GPU_MAX];
	double vram_total[DEV_GPU_MAX];
};

static int attr(const char *dir, const char *name, char *out, size_t len)
{
	char path[600];
	dev_pathf(path, sizeof(path), "%s/%s", dir, name);
	ssize_t n = col_read_small(path, out, len);
	if (n < 0)
		return (int)n;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static struct col_file *open_if(struct col_env *env, const char *dir, const char *name)
{
	char path[600];
	dev_pathf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, R_OK) != 0)
		return NULL;
	return col_file_open(env->files, path, 64);
}

/* The first hwmonN directory under DEV/hwmon, into OUT. Returns 0 or -ENOENT. */
static int card_hwmon(const char *dev, char *out, size_t len)
{
	char path[600];
	dev_pathf(path, sizeof(path), "%s/hwmon", dev);
	DIR *d = opendir(path);
	struct dirent *e;
	int rc = -ENOENT;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "hwmon", 5)) {
			dev_pathf(out, len, "%s/%s", path, e->d_name);
			rc = 0;
			break;
		}
	if (d)
		closedir(d);
	return rc;
}

static void identity(struct dev_gpu *g, const char *dev)
{
	char dev_id[32] = "";
	strcpy(g->vendor, "amd");
	if (attr(dev, "product_name", g->model, sizeof(g->model)) < 0 || !g->model[0]) {
		attr(dev, "device", dev_id, sizeof(dev_id));
		snprintf(g->model, sizeof(g->model), "AMD GPU %s", dev_id[0] ? dev_id : "(unknown id)");
	}
	attr(dev, "vbios_version", g->firmware, sizeof(g->firmware));
	char path[600], *text = NULL;
	size_t cap = 0;
	dev_pathf(path, sizeof(path), "%s/uevent", dev);
	if (col_slurp(path, &text, &cap) >= 0) {
		for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
			if (!strncmp(l, "DRIVER=", 7))
				snprintf(g->driver, sizeof(g->driver), "%s", l + 7);
			else if (!strncmp(l, "PCI_SLOT_NAME=", 14))
				snprintf(g->bus_id, sizeof(g->bus_id), "%s", l + 14);
		}
	}
	free(text);
}

static int card_cmp(const void *a, const void *b)
{
	return atoi(*(const char *const *)a + 4) - atoi(*(const char *const *)b + 4);
}

static int amd_discover(struct dev_provider *p, struct col_env *env)
{
	char drm[CFG_PATH_MAX + 32];
	if (dev_sysfs_path(env->cfg, drm, sizeof(drm), "/class/drm") < 0)
		return -ENAMETOOLONG;
	DIR *d = opendir(drm);
	if (!d) {
		snprintf(p->why, sizeof(p->why), "no %.120s: %s", drm, strerror(errno));
		return 0;
	}
	struct amd *a = calloc(1, sizeof(*a));
	if (!a) {
		closedir(d);
		return -ENOMEM;
	}
	p->priv = a;
	p->gpu = a->gpu;
	/* cardN only (not cardN-DP-1 connectors), in N order so gpu numbering is stable */
	char *names[64];
	int nn = 0;
	struct dirent *e;
	while ((e = readdir(d)) && nn < 64) {
		const char *s = e->d_name;
		if (strncmp(s, "card", 4) || !s[4] || strspn(s + 4, "0123456789") != strlen(s + 4))
			continue;
		names[nn++] = strdup(s);
	}
	closedir(d);
	qsort(names, (size_t)nn, sizeof(names[0]), card_cmp);
	int seen = 0;
	for (int i = 0; i < nn; i++) {
		char dev[600], vendor[16] = "", hw[700];
		snprintf(dev, sizeof(dev), "%s/%s/device", drm, names[i]);
		if (attr(dev, "vendor", vendor, sizeof(vendor)) < 0 || strcmp(vendor, "0x1002"))
			continue;
		seen++;
		if (p->ngpu >= DEV_GPU_MAX)
			continue;
		struct dev_gpu *g = &a->gpu[p->ngpu];
		struct amd_card *c = &a->card[p->ngpu];
		char total[32];
		c->f[A_BUSY] = open_if(env, dev, "gpu_busy_percent");
		int have_total = attr(dev, "mem_info_vram_total", total, sizeof(total)) == 0;
		if (!c->f[A_BUSY] && !have_total)
			continue; /* not an amdgpu-driven card (radeon, no driver) */
		dev_gpu_init(g);
		snprintf(g->id, sizeof(g->id), "%s", names[i]);
		identity(g, dev);
		c->f[A_MEM_BUSY] = open_if(env, dev, "mem_busy_percent");
		c->f[A_VRAM_USED] = open_if(env, dev, "mem_info_vram_used");
		if (card_hwmon(dev, hw, sizeof(hw)) == 0) {
			c->f[A_POWER] = open_if(env, hw, "power1_average");
			if (!c->f[A_POWER])
				c->f[A_POWER] = open_if(env, hw, "power1_input");
			c->f[A_TEMP] = open_if(env, hw, "temp1_input");
			c->f[A_SCLK] = open_if(env, hw, "freq1_input");
			c->f[A_MCLK] = open_if(env, hw, "freq2_input");
		}
		/* VRAM size never changes: read once, not every tick */
		a->vram_total[p->ngpu] = have_total ? strtod(total, NULL) : NAN;
		g->v[GPU_MEM_TOTAL] = a->vram_total[p->ngpu];
		p->ngpu++;
	}
	for (int i = 0; i < nn; i++)
		free(names[i]);
	p->found = p->ngpu > 0;
	if (p->found)
		snprintf(p->why, sizeof(p->why), "%d GPU%s (%.60s) under %.100s", p->ngpu,
			 p->ngpu > 1 ? "s" : "", a->gpu[0].model, drm);
	else
		snprintf(p->why, sizeof(p->why), "no device: %s",
			 seen ? "AMD cards without the amdgpu files"
			      : "no AMD card (vendor 0x1002) in class/drm");
	return p->ngpu;
}

static int amd_sample(struct dev_provider *p, const struct col_now *now)
{
	struct amd *a = p->priv;
	int missing = 0;
	if (!a || !p->found)
		return 0;
	for (int k = 0; k < p->ngpu; k++) {
		struct amd_card *c = &a->card[k];
		double *v = a->gpu[k].v;
		double x[A_NFILE];
		for (int i = 0; i < A_NFILE; i++) {
			x[i] = dev_parse_attr(c->f[i]);
			missing += c->f[i] && isnan(x[i]);
		}
		v[GPU_UTIL] = x[A_BUSY];
		v[GPU_MEM_UTIL] = x[A_MEM_BUSY];
		v[GPU_MEM_USED] = x[A_VRAM_USED];
		v[GPU_MEM_TOTAL] = a->vram_total[k];
		v[GPU_POWER] = x[A_POWER] / 1e6;
		v[GPU_TEMP] = x[A_TEMP] / 1e3;
		v[GPU_CLOCK_SM] = x[A_SCLK] / 1e6;
		v[GPU_CLOCK_MEM] = x[A_MCLK] / 1e6;
	}
	p->reading_mono = now->mono_ns;
	if (missing) {
		snprintf(p->errmsg, sizeof(p->errmsg), "%d sysfs file%s unreadable this tick", missing,
			 missing > 1 ? "s" : "");
		return -EIO;
	}
	return 0;
}

static void amd_fini(struct dev_provider *p)
{
	free(p->priv); /* the col_files belong to the main loop's tick_files */
	p->priv = NULL;
	p->gpu = NULL;
	p->ngpu = 0;
}

const struct dev_provider_ops dev_amd_ops = {
    .name = "amd",
    .discover = amd_discover,
    .sample = amd_sample,
    .fini = amd_fini,
};
