/* SPDX-License-Identifier: MIT */
/*
 * it_bpf_entry.h - for the tests that look at (and fake) the per-CPU entries of the
 * "cpus" map directly (it_bpf_unreported, it_bpf_cpu_sync): entry access through the
 * map fd, tasks that switch on or keep a given CPU, a child's kernel run time, and a
 * watch added through the daemon's control path. Include after it_bpf_harness.h.
 */
#ifndef IT_BPF_ENTRY_H
#define IT_BPF_ENTRY_H

#include <bpf/bpf.h>
#include "it_bpf_harness.h"

static inline void h_get_entry(int fd, int cpu, struct ir_cpu *e)
{
	__u32 k = (__u32)cpu;

	if (bpf_map_lookup_elem(fd, &k, e) != 0)
		H_FAIL("lookup cpus[%d]: %s", cpu, strerror(errno));
}

/* Overwrites the whole entry: a switch on CPU between the caller's read and this is lost. */
static inline void h_put_entry(int fd, int cpu, const struct ir_cpu *e)
{
	__u32 k = (__u32)cpu;

	if (bpf_map_update_elem(fd, &k, e, BPF_ANY) != 0)
		H_FAIL("update cpus[%d]: %s", cpu, strerror(errno));
}

/* A child pinned to CPU that sleeps N times: at least 2N switches there. */
static inline void h_switches_on(int cpu, int n)
{
	pid_t pid = fork();

	if (pid == 0) {
		h_pin(cpu);
		for (int i = 0; i < n; i++)
			h_sleep_ms(2);
		_exit(0);
	}
	if (pid < 0)
		H_FAIL("fork: %s", strerror(errno));
	waitpid(pid, NULL, 0);
}

/* A child pinned to CPU that never sleeps; the caller kills it. */
static inline pid_t h_busy_child(int cpu)
{
	pid_t pid = fork();

	if (pid == 0) {
		h_pin(cpu);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	if (pid < 0)
		H_FAIL("fork: %s", strerror(errno));
	return pid;
}

/* The kernel's run time of PID's main thread (/proc/PID/schedstat), in seconds. */
static inline double h_schedstat_s(pid_t pid)
{
	char path[64];
	unsigned long long ns;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if (!(f = fopen(path, "re")) || fscanf(f, "%llu", &ns) != 1)
		H_FAIL("%s: %s", path, strerror(errno));
	fclose(f);
	return (double)ns / 1e9;
}

/* Adds watch NAME on PID through the control path; ebpf.task applies it in the sample. */
static inline void h_add_watch(struct harness *h, const char *name, pid_t pid)
{
	char spec[32], err[256];
	struct watch_spec w;

	snprintf(spec, sizeof(spec), "pid:%d", (int)pid);
	if (watch_spec_parse(name, spec, &w, err, sizeof(err)) != 0 ||
	    ctl_watch_add(&w, err, sizeof(err)) != 0)
		H_FAIL("watch %s: %s", name, err);
	h_sample(h);
}

#endif /* IT_BPF_ENTRY_H */
