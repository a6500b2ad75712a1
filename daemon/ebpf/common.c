/* SPDX-License-Identifier: MIT */
/*
 * common.c - what the eBPF collectors share once their objects are loaded (loader.c):
 * the repairs for context switches the kernel did not report (attaching cpu_idle, running
 * cpu_sync on CPUs), the seqlock reader of the per-CPU entries, and the log2 histogram
 * helpers. Everything here runs in the main-loop thread, at the collectors' init and
 * sample.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "ebpf.h"
#include "daemon.h"
#include "cpu.skel.h"

/* ---- unreported switches ---------------------------------------------------- */

void cbpf_repair(struct cbpf *b, uint64_t tick_ns)
{
	int err;

	/* relaxed: a flag the programs set once and never clear, publishing no data with it
	 * (a tick late is fine) */
	if (!b->cpu || !__atomic_load_n(&b->cpu->bss->switch_unreported, __ATOMIC_RELAXED))
		return;
	if (tick_ns != b->synced_tick) { /* once per tick, whichever collector comes first */
		/* busy CPUs with no reported switch since the last tick (at first: since now) */
		cbpf_sync_cpus(b, b->synced_tick ? b->synced_tick : tick_ns);
		b->synced_tick = tick_ns;
	}
	if (b->idle_link || b->idle_failed)
		return;
	b->idle_link = cbpf_attach_prog(CBPF_CPU, b->cpu->progs.ir_cpu_idle);
	if (!b->idle_link) {
		err = -errno;
		b->idle_failed = 1;
		ird_log("ebpf: the kernel did not report a context switch, and the cpu_idle repair cannot "
			"attach (%s): idle CPUs may read busy in cpu.usage.exact",
			strerror(-err));
		return;
	}
	ird_log("ebpf: the kernel did not report a context switch; the cpu_idle program now repairs "
		"unreported switches to idle (cpu.usage.exact.unreported_switches counts them)");
}

int cbpf_sync_cpus(struct cbpf *b, uint64_t quiet_since)
{
	int fd, err = 0;

	if (!b->cpu)
		return -EOPNOTSUPP;
	fd = bpf_program__fd(b->cpu->progs.ir_cpu_sync);

	for (int i = 0; i < b->nonline; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = (__u32)b->online[i]);
		const struct ir_cpu *c = &b->cpus[b->online[i]];

		/*
		 * Relaxed loads, no seqlock: a stale pair only moves this CPU's check to the
		 * next tick. An idle entry is left alone (an IPI would wake the CPU for
		 * nothing), and so is one a switch has written since QUIET_SINCE: that switch
		 * already told the truth about what runs there.
		 */
		if (quiet_since && (__atomic_load_n(&c->cur_idle, __ATOMIC_RELAXED) ||
				    __atomic_load_n(&c->last_switch_ns, __ATOMIC_RELAXED) >= quiet_since))
			continue;
		/* a CPU that went offline since load has no running task */
		if (bpf_prog_test_run_opts(fd, &o) != 0 && errno != ENXIO && !err)
			err = -errno;
	}
	return err;
}

/* ---- reading the per-CPU entries --------------------------------------------- */

uint64_t cbpf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Seqlock read of one CPU's open-interval fields. The writer (that CPU's programs) bumps
 * seq to odd, stores, bumps to even, ordered as ir_seq_begin()/ir_seq_end() say
 * (kernel/inforeg.bpf.h: plain stores on x86-TSO, fully ordered atomics elsewhere). Each
 * acquire load below keeps the later loads after it, so a copy taken between two equal,
 * even seq loads saw no store of an update in progress. Writers hold seq odd for well
 * under a microsecond, so running out of tries means a wedged entry (or a reader
 * descheduled at the worst moment every time): that is an error, never a torn copy.
 */
int cbpf_read_open(const struct ir_cpu *c, struct cbpf_open *out)
{
	for (int tries = 0; tries < CBPF_READ_TRIES; tries++) {
		uint64_t s1 = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE), s2;

		if (s1 & 1)
			continue;
		out->busy_ns = __atomic_load_n(&c->busy_ns, __ATOMIC_ACQUIRE);
		out->last_switch_ns = __atomic_load_n(&c->last_switch_ns, __ATOMIC_ACQUIRE);
		out->cur_mask = __atomic_load_n(&c->cur_mask, __ATOMIC_ACQUIRE);
		out->cur_idle = __atomic_load_n(&c->cur_idle, __ATOMIC_ACQUIRE);
		out->cur_period = __atomic_load_n(&c->cur_period, __ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		if (s1 == s2)
			return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EAGAIN;
}

/* ---- histograms ------------------------------------------------------------- */

int cbpf_declare_hist(struct series_reg *reg, const char *base, const char *labels, struct cbpf_hist_idx *idx,
		      const char *what)
{
	char help[INFOREG_HELP_MAX];
	const char *sep = labels[0] ? "," : "";
	int r;

	snprintf(help, sizeof(help), "%s: events at or below le us, since load", what);
	for (int i = 0; i < IR_HIST_SLOTS; i++) {
		if (i == IR_HIST_SLOTS - 1)
			r = reg_seriesf(reg, "count", INFOREG_KIND_COUNTER, help,
					"%s.bucket{%s%sle=\"+Inf\"}", base, labels, sep);
		else
			r = reg_seriesf(reg, "count", INFOREG_KIND_COUNTER, help,
					"%s.bucket{%s%sle=\"%llu\"}", base, labels, sep, 1ull << i);
		if (r < 0)
			return r;
		idx->bucket[i] = r;
	}
	snprintf(help, sizeof(help), "%s: events since load", what);
	if (labels[0])
		r = reg_seriesf(reg, "count", INFOREG_KIND_COUNTER, help, "%s.count{%s}", base, labels);
	else
		r = reg_seriesf(reg, "count", INFOREG_KIND_COUNTER, help, "%s.count", base);
	if (r < 0)
		return r;
	idx->count = r;
	return 0;
}

void cbpf_write_hist(const struct cbpf_hist_idx *idx, const uint64_t *cum, double *values)
{
	uint64_t run = 0;

	for (int i = 0; i < IR_HIST_SLOTS; i++) {
		run += cum[i];
		cbpf_put_value(values, idx->bucket[i], (double)run);
	}
	cbpf_put_value(values, idx->count, (double)run);
}

double cbpf_hist_quantile(const uint64_t *d, uint64_t n, double q)
{
	double rank = q * (double)n, cum = 0;

	if (!n)
		return NAN;
	for (int i = 0; i < IR_HIST_SLOTS; i++) {
		double lo, hi;

		if (!d[i])
			continue;
		if (cum + (double)d[i] >= rank) {
			lo = i ? (double)(1ull << (i - 1)) : 0.0;
			hi = i == IR_HIST_SLOTS - 1 ? lo : (double)(1ull << i);
			return lo + (hi - lo) * (rank - cum) / (double)d[i];
		}
		cum += (double)d[i];
	}
	return NAN; /* counts went backwards under us; nothing sensible to say */
}
