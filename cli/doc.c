// SPDX-License-Identifier: MIT
/*
 * doc.c - `inforeg status` and `inforeg node`: the daemon's status and node inventory
 * documents (published beside the ring), as a human summary by default and as the
 * JSON document itself with --json.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The document, parsed; NULL after printing why. */
static json_t *read_doc(const struct opts *o, unsigned id, char **raw)
{
	struct inforeg_reader *r = cli_open(o);
	if (!r)
		return NULL;
	char *buf = malloc(INFOREG_DOC_MAX);
	int n = buf ? inforeg_doc_read(r, id, buf, INFOREG_DOC_MAX) : -ENOMEM;
	inforeg_close(r);
	if (n < 0) {
		fprintf(stderr, "inforeg: reading the document: %s\n", strerror(-n));
		free(buf);
		return NULL;
	}
	json_error_t e;
	json_t *doc = json_loads(buf, 0, &e);
	if (!doc)
		fprintf(stderr, "inforeg: the daemon's document is not JSON: %s\n", e.text);
	*raw = buf;
	return doc;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static double num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_status(json_t *d)
{
	json_t *ring = json_object_get(d, "ring");
	printf("inforegd pid %.0f, generation %s, up %.0f s, config %s\n", num(d, "pid"),
	       str(d, "generation"), num(d, "uptime_s"), str(d, "config"));
	printf("period %.0f ms, %.0f ticks, %.0f dropped, last tick %.1f us\n", num(d, "period_ms"),
	       num(d, "ticks"), num(ring, "dropped"), num(d, "tick_cost_us"));
	printf("ring /dev/shm/%s: %.0f series, %.0f samples of history, %.1f MiB\n", str(ring, "shm"),
	       num(ring, "series"), num(ring, "capacity"), num(ring, "size_bytes") / 1048576.0);
	printf("\n%-16s %-4s %10s %9s %11s  %s\n", "COLLECTOR", "ON", "RUNS", "FAILURES", "COST us", "NOTE");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(d, "collectors"), i, c)
	{
		int on = json_is_true(json_object_get(c, "enabled"));
		const char *note = on ? json_string_value(json_object_get(c, "last_error"))
				      : json_string_value(json_object_get(c, "off_reason"));
		printf("%-16s %-4s %10.0f %9.0f %11.1f  %s\n", str(c, "name"), on ? "yes" : "off",
		       num(c, "runs"), num(c, "failures"), num(c, "sample_cost_us"), note ? note : "");
	}
	json_t *prov = json_object_get(d, "device_providers");
	if (json_array_size(prov))
		printf("\n%-8s %-5s %8s  %s\n", "DEVICES", "FOUND", "AGE s", "WHAT / WHY");
	json_array_foreach(prov, i, c)
	{
		int found = json_is_true(json_object_get(c, "found"));
		const char *err = json_string_value(json_object_get(c, "last_error"));
		printf("%-8s %-5s %8.3f  %s%s%s\n", str(c, "name"), found ? "yes" : "no",
		       num(c, "last_reading_age_s"), found ? str(c, "what") : str(c, "why"),
		       err ? "; last error: " : "", err ? err : "");
	}
	/* anything else the daemon reports (rules, REST...) stays visible */
	const char *k;
	json_t *v;
	json_object_foreach(d, k, v)
	{
		static const char *const shown[] = {
		    "pid",  "generation",   "uptime_s",	  "config", "period_ms",       "ticks",
		    "ring", "tick_cost_us", "collectors", "ebpf",   "sources_read_us", "device_providers",
		    NULL};
		int seen = 0;
		for (int s = 0; shown[s]; s++)
			seen |= !strcmp(k, shown[s]);
		if (seen)
			continue;
		char *txt = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(6));
		printf("%s: %s\n", k, txt ? txt : "?");
		free(txt);
	}
}

static void print_node(json_t *d)
{
	json_t *cpu = json_object_get(d, "cpu"), *mem = json_object_get(d, "memory");
	printf("%s: %s %s, kernel %s\n", str(d, "hostname"), str(cpu, "model"), str(d, "arch"),
	       str(d, "kernel"));
	printf("%.0f CPUs (%.0f configured), %.1f GiB memory, %.0f NUMA node(s)\n", num(cpu, "count"),
	       num(cpu, "configured"), num(mem, "total_bytes") / 1073741824.0, num(d, "numa_nodes"));
	json_t *acc = json_object_get(d, "accelerators");
	size_t i;
	json_t *a;
	if (!json_array_size(acc)) {
		if (!json_array_size(json_object_get(d, "devices")))
			printf("no accelerators\n");
	} else {
		json_array_foreach(acc, i, a)
		{
			char *txt = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(6));
			printf("accelerator %zu: %s\n", i, txt ? txt : "?");
			free(txt);
		}
	}
	json_array_foreach(json_object_get(d, "devices"), i, a)
	{
		json_t *g = json_object_get(a, "gpu");
		char idx[24] = "?";
		if (json_is_integer(g))
			snprintf(idx, sizeof(idx), "%lld", (long long)json_integer_value(g));
		printf("gpu %s: %s %s, %.1f GiB, driver %s, firmware %s, bus %s (%s, id %s)\n", idx,
		       str(a, "vendor"), str(a, "model"), num(a, "memory_bytes") / 1073741824.0,
		       str(a, "driver"), str(a, "firmware"), str(a, "pci_bus_id"), str(a, "provider"),
		       str(a, "id"));
	}
	printf("inforeg %s on /dev/shm/%s, pid %.0f, generation %s\n", str(d, "inforeg_version"),
	       str(d, "shm"), num(d, "pid"), str(d, "generation"));
}

static int show(struct opts *o, unsigned id, void (*human)(json_t *))
{
	char *raw = NULL;
	json_t *doc = read_doc(o, id, &raw);
	if (!doc) {
		free(raw);
		return 1;
	}
	if (o->json)
		puts(raw);
	else
		human(doc);
	json_decref(doc);
	free(raw);
	return 0;
}

static int run_status(struct opts *o)
{
	return show(o, INFOREG_DOC_STATUS, print_status);
}

static int run_node(struct opts *o)
{
	return show(o, INFOREG_DOC_NODE, print_node);
}

const struct cli_cmd cli_status = {
    "status",
    "status [--json]                  the daemon's health: collectors, ring, costs",
    "usage: inforeg status [--shm NAME] [--json]\n"
    "A summary of the daemon's status document (pid, period, ring, every collector with\n"
    "its runs, failures, cost and why it is off); --json prints the document itself.\n",
    run_status,
};

const struct cli_cmd cli_node = {
    "node",
    "node  [--json]                   the node inventory: CPUs, memory, accelerators",
    "usage: inforeg node [--shm NAME] [--json]\n"
    "A summary of the node inventory document; --json prints the document itself.\n",
    run_node,
};
