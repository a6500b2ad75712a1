// SPDX-License-Identifier: MIT
/*
 * status.c - the two read-mostly JSON documents published beside the ring.
 *
 * INFOREG_DOC_NODE (the node's inventory) is written when a layout is published;
 * INFOREG_DOC_STATUS (collector health, eBPF state, ring state) once a second by the
 * main loop. Readers (the REST server, `inforeg status`) copy them with the document
 * seqlock; nothing here is on the per-tick path except a clock check.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "daemon.h"
#include "devices/devices.h"
#include "ring.h"
#include "rules/rules.h"

#ifndef INFOREG_VERSION_STR
#define INFOREG_VERSION_STR "0.0.0"
#endif

static void read_first_line_match(const char *path, const char *key, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[512];
	out[0] = 0;
	if (!f)
		return;
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl))
			continue;
		char *v = strchr(line, ':');
		if (!v)
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = 0;
		snprintf(out, len, "%s", v);
		break;
	}
	fclose(f);
}

static long long meminfo_kb(const char *key)
{
	char v[64];
	read_first_line_match("/proc/meminfo", key, v, sizeof(v));
	return v[0] ? atoll(v) : -1;
}

/* PCI display controllers (class 0x03) and processing accelerators (0x12). */
static json_t *accelerators(void)
{
	json_t *arr = json_array();
	DIR *dir = opendir("/sys/bus/pci/devices");
	if (!dir)
		return arr;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char path[512], cls[32] = "", vendor[32] = "", device[32] = "", driver[256] = "";
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", e->d_name);
		if (col_read_line(path, cls, sizeof(cls)) < 0)
			continue;
		if (strncmp(cls, "0x03", 4) && strncmp(cls, "0x12", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		col_read_line(path, vendor, sizeof(vendor));
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		col_read_line(path, device, sizeof(device));
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", e->d_name);
		ssize_t n = readlink(path, driver, sizeof(driver) - 1);
		driver[n > 0 ? n : 0] = 0;
		const char *drv = strrchr(driver, '/');
		const char *vname = !strcmp(vendor, "0x10de")	? "nvidia"
				    : !strcmp(vendor, "0x1002") ? "amd"
				    : !strcmp(vendor, "0x8086") ? "intel"
				    : !strcmp(vendor, "0x1234") ? "qemu"
				    : !strcmp(vendor, "0x1af4") ? "virtio"
								: "other";
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "pci", e->d_name,
						     "class", cls, "vendor_id", vendor, "device_id", device,
						     "vendor", vname, "driver", drv ? drv + 1 : ""));
	}
	closedir(dir);
	return arr;
}

static int numa_nodes(void)
{
	DIR *dir = opendir("/sys/devices/system/node");
	int n = 0;
	if (!dir)
		return 1;
	struct dirent *e;
	while ((e = readdir(dir)))
		if (!strncmp(e->d_name, "node", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9')
			n++;
	closedir(dir);
	return n ? n : 1;
}

static void publish_json(struct ird *d, unsigned id, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
	if (text) {
		ring_doc_write(d->obj.hdr, id, text, strlen(text), ird_now_real());
		free(text);
	}
	json_decref(doc);
}

void status_publish_node(struct ird *d)
{
	struct utsname u;
	char host[256] = "", model[256] = "";
	uname(&u);
	gethostname(host, sizeof(host) - 1);
	read_first_line_match("/proc/cpuinfo", "model name", model, sizeof(model));
	json_t *doc = json_pack(
	    "{s:s, s:s, s:s, s:{s:s, s:i, s:i}, s:{s:I}, s:i, s:o, s:s, s:s, s:I, s:I}", "hostname", host,
	    "kernel", u.release, "arch", u.machine, "cpu", "model", model, "count",
	    (int)sysconf(_SC_NPROCESSORS_ONLN), "configured", (int)sysconf(_SC_NPROCESSORS_CONF), "memory",
	    "total_bytes", (json_int_t)meminfo_kb("MemTotal") * 1024, "numa_nodes", numa_nodes(),
	    "accelerators", accelerators(), "inforeg_version", INFOREG_VERSION_STR, "shm", d->cfg.shm_name,
	    "start_time_ns", (json_int_t)d->start_real_ns, "pid", (json_int_t)getpid());
	if (!doc)
		return;
	char gen[24];
	snprintf(gen, sizeof(gen), "%016llx", (unsigned long long)d->generation);
	json_object_set_new(doc, "generation", json_string(gen));
	json_object_set_new(doc, "devices", devices_inventory());
	publish_json(d, INFOREG_DOC_NODE, doc);
}

void status_publish(struct ird *d)
{
	json_t *cols = json_array();
	int ebpf_on = 0, ebpf_total = 0;
	json_t *ebpf_off = json_object();
	for (int i = 0; i < d->ncols; i++) {
		const struct collector *c = &d->cols[i];
		int is_bpf = !strncmp(c->ops->name, "ebpf.", 5);
		json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:f}", "name", c->ops->name, "enabled",
				      c->enabled, "runs", (json_int_t)c->runs, "failures",
				      (json_int_t)c->failures, "sample_cost_us", (double)c->cost_ns / 1e3);
		if (!c->enabled)
			json_object_set_new(o, "off_reason", json_string(c->off_reason));
		json_object_set_new(o, "last_success_ns",
				    c->last_ok_real_ns ? json_integer((json_int_t)c->last_ok_real_ns)
						       : json_null());
		if (c->last_err) {
			json_object_set_new(o, "last_error_ns",
					    json_integer((json_int_t)c->last_err_real_ns));
			json_object_set_new(o, "last_error", json_string(c->last_errmsg));
		} else {
			json_object_set_new(o, "last_error", json_null());
		}
		json_array_append_new(cols, o);
		if (is_bpf) {
			ebpf_total++;
			if (c->enabled)
				ebpf_on++;
			else
				json_object_set_new(ebpf_off, c->ops->name, json_string(c->off_reason));
		}
	}
	const struct inforeg_shm_header *h = d->obj.hdr;
	char gen[24];
	snprintf(gen, sizeof(gen), "%016llx", (unsigned long long)d->generation);
	json_t *doc = json_pack(
	    "{s:s, s:I, s:s, s:I, s:f, s:{s:b, s:i, s:i, s:o}, s:{s:s, s:I, s:I, s:I, s:I, s:I, s:I},"
	    " s:I, s:f, s:o}",
	    "generation", gen, "pid", (json_int_t)getpid(), "config", d->cfg.source, "period_ms",
	    (json_int_t)d->cfg.period_ms, "uptime_s", (double)(ird_now_mono() - d->start_mono_ns) / 1e9,
	    "ebpf", "enabled", ebpf_on > 0, "collectors_on", ebpf_on, "collectors_total", ebpf_total, "off",
	    ebpf_off, "ring", "shm", d->cfg.shm_name, "series", (json_int_t)h->series_count, "capacity",
	    (json_int_t)h->capacity, "size_bytes", (json_int_t)h->total_size, "head",
	    (json_int_t)ring_head(h), "layout_serial", (json_int_t)h->layout_serial, "dropped",
	    (json_int_t)d->dropped, "ticks", (json_int_t)d->ticks, "tick_cost_us",
	    (double)d->last_tick_cost_ns / 1e3, "collectors", cols);
	if (doc)
		json_object_set_new(doc, "sources_read_us", json_real((double)d->last_read_cost_ns / 1e3));
	if (doc && d->reload_result[0])
		json_object_set_new(doc, "reload",
				    json_pack("{s:s, s:s?, s:I}", "result", d->reload_result, "error",
					      d->reload_error[0] ? d->reload_error : NULL, "time_ns",
					      (json_int_t)d->reload_real_ns));
	if (doc && d->layout_error[0])
		json_object_set_new(doc, "layout_pending",
				    json_pack("{s:s, s:I}", "error", d->layout_error, "failures",
					      (json_int_t)d->layout_failures));
	if (doc)
		json_object_set_new(doc, "device_providers", devices_status());
	if (doc)
		json_object_set_new(doc, "rules", rules_status_json());
	if (doc)
		json_object_set_new(doc, "push", push_status_json());
	if (doc)
		publish_json(d, INFOREG_DOC_STATUS, doc);
}
