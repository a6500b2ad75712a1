/* SPDX-License-Identifier: MIT */
/*
 * loader.c - the BPF object every eBPF collector shares: load, attach, map the per-CPU
 * state, and the histogram helpers the collectors have in common.
 *
 * The object (kernel/inforeg.bpf.c, through its bpftool skeleton) is loaded by the first
 * collector's init and destroyed by the last fini; init/fini run in the main-loop thread,
 * so the refcount is a plain int. A failure to load is not fatal to the daemon: the
 * collector is reported off with the reason (no privilege, no BTF, or what libbpf said)
 * and the /proc collectors carry on. Nothing is pinned, so destroying the skeleton
 * detaches every program and frees every map.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "ebpf.h"
#include "daemon.h"
#include "config.h"
#include "inforeg.skel.h"

const struct collector_ops *const ebpf_collectors[] = {
    &ebpf_cpu_ops, &ebpf_runq_ops, &ebpf_task_ops, &ebpf_blkio_ops, &ebpf_sched_ops, NULL,
};

static struct cbpf shared;

/* ---- libbpf messages: kept for the off reason, printed only on request ---- */

static char libbpf_last[120];

static int libbpf_capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list cp;
	size_t n;

	if (level == LIBBPF_DEBUG || !fmt)
		return 0;
	if (getenv("INFOREG_BPF_VERBOSE")) {
		va_copy(cp, ap);
		vfprintf(stderr, fmt, cp);
		va_end(cp);
	}
	vsnprintf(libbpf_last, sizeof(libbpf_last), fmt, ap);
	n = strlen(libbpf_last);
	while (n && (libbpf_last[n - 1] == '\n' || libbpf_last[n - 1] == ' '))
		libbpf_last[--n] = 0;
	return 0;
}

/* ---- load ------------------------------------------------------------------ */

static int feature_on(const struct ird_config *cfg, const char *name)
{
	return !cfg || !cfg_collector_disabled(cfg, name);
}

/* Parses /sys/devices/system/cpu/online ("0-3,6") into B->online. */
static int read_online(struct cbpf *b)
{
	char buf[1024], *p = buf, *end;
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	size_t n;

	b->online = calloc((size_t)b->ncpu, sizeof(*b->online));
	if (!b->online) {
		if (f)
			fclose(f);
		return -ENOMEM;
	}
	b->nonline = 0;
	if (!f) {
		for (int i = 0; i < b->ncpu; i++)
			b->online[b->nonline++] = i;
		return 0;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	while (*p && *p != '\n') {
		long lo = strtol(p, &end, 10), hi = lo;

		if (end == p)
			return -EINVAL;
		p = end;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			p = end;
		}
		for (long i = lo; i <= hi && i < b->ncpu; i++)
			b->online[b->nonline++] = (int)i;
		if (*p == ',')
			p++;
	}
	return b->nonline ? 0 : -EINVAL;
}

static void off(struct collector *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void off(struct collector *c, int err, const char *fmt, ...)
{
	va_list ap;

	c->enabled = 0;
	va_start(ap, fmt);
	vsnprintf(c->off_reason, sizeof(c->off_reason), fmt, ap);
	va_end(ap);
	errno = err;
}

/* 1 if struct SNAME of the running kernel's BTF has a member MNAME. */
static int btf_has_member(const struct btf *btf, const char *sname, const char *mname)
{
	int id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);
	const struct btf_type *t;
	const struct btf_member *m;

	if (id < 0 || !(t = btf__type_by_id(btf, (__u32)id)))
		return 0;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);

		if (n && !strcmp(n, mname))
			return 1;
	}
	return 0;
}

/*
 * Whether the switch program can reach the run queue and the schedstat stamp it takes
 * run-queue latency from (kernel/inforeg.bpf.c, this_rq): cfs_rq->rq needs
 * CONFIG_FAIR_GROUP_SCHED and sched_info.last_queued CONFIG_SCHED_INFO.
 */
static const char *runq_unsupported(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const char *why = NULL;

	if (!btf)
		return "cannot read the kernel's BTF";
	if (!btf_has_member(btf, "cfs_rq", "rq"))
		why = "the kernel has no cfs_rq->rq (CONFIG_FAIR_GROUP_SCHED off)";
	else if (!btf_has_member(btf, "sched_info", "last_queued"))
		why = "the kernel has no sched_info.last_queued (CONFIG_SCHED_INFO off)";
	btf__free(btf);
	return why;
}

static void unload(struct cbpf *b)
{
	bpf_link__destroy(b->idle_link); /* attached by hand, so not the skeleton's */
	if (b->cpus)
		munmap((void *)b->cpus, b->cpus_len);
	inforeg_bpf__destroy(b->skel); /* detaches the links, closes programs and maps */
	free(b->online);
	memset(b, 0, sizeof(*b));
}

static int load(struct cbpf *b, struct collector *c, const struct ird_config *cfg)
{
	libbpf_print_fn_t old_print;
	long page = sysconf(_SC_PAGESIZE);
	int err;

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		off(c, EOPNOTSUPP, "no kernel BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load");
		return -EOPNOTSUPP;
	}
	b->ncpu = libbpf_num_possible_cpus();
	if (b->ncpu <= 0) {
		off(c, -b->ncpu, "cannot count possible CPUs: %s", strerror(-b->ncpu));
		return b->ncpu;
	}
	err = read_online(b);
	if (err < 0) {
		off(c, -err, "cannot read the online CPU list: %s", strerror(-err));
		return err;
	}
	b->runq_on = feature_on(cfg, "ebpf.runq");
	b->runq_off = b->runq_on ? NULL : "disabled in the configuration";
	if (b->runq_on && (b->runq_off = runq_unsupported()))
		b->runq_on = 0;
	b->task_on = feature_on(cfg, "ebpf.task");
	b->blkio_on = feature_on(cfg, "ebpf.blkio");
	b->sched_on = feature_on(cfg, "ebpf.sched");

	libbpf_last[0] = 0;
	old_print = libbpf_set_print(libbpf_capture);
	b->skel = inforeg_bpf__open();
	if (!b->skel) {
		err = -errno;
		goto fail;
	}
	bpf_map__set_max_entries(b->skel->maps.cpus, (uint32_t)b->ncpu);
	b->skel->rodata->do_runq = (uint32_t)b->runq_on;
	b->skel->rodata->do_task = (uint32_t)b->task_on;
	/* hooks nobody needs are not even loaded */
	bpf_program__set_autoload(b->skel->progs.ir_sched_migrate_task, b->sched_on);
	bpf_program__set_autoload(b->skel->progs.ir_block_rq_issue, b->blkio_on);
	bpf_program__set_autoload(b->skel->progs.ir_block_rq_complete, b->blkio_on);
	/* loaded (so a late attach cannot fail verification) but attached on demand */
	bpf_program__set_autoattach(b->skel->progs.ir_cpu_idle, false);
	/* never attached: run on each CPU by cbpf_sync_cpus() */
	bpf_program__set_autoattach(b->skel->progs.ir_cpu_sync, false);
	err = inforeg_bpf__load(b->skel);
	if (!err)
		err = inforeg_bpf__attach(b->skel);
	if (err)
		goto fail;
	libbpf_set_print(old_print);

	b->cpus_len = ((size_t)b->ncpu * sizeof(struct ir_cpu) + (size_t)page - 1) & ~((size_t)page - 1);
	b->cpus = mmap(NULL, b->cpus_len, PROT_READ, MAP_SHARED, bpf_map__fd(b->skel->maps.cpus), 0);
	if (b->cpus == MAP_FAILED) {
		err = -errno;
		b->cpus = NULL;
		off(c, -err, "cannot mmap the per-CPU map: %s", strerror(-err));
		unload(b);
		return err;
	}
	/* after attaching: a switch from here on starts an entry by itself */
	err = cbpf_sync_cpus(b, 0);
	if (err < 0)
		ird_log(
		    "ebpf: cannot run the cpu_sync program (%s): a CPU's exact usage is unknown until its "
		    "first context switch",
		    strerror(-err));
	return 0;

fail:
	libbpf_set_print(old_print);
	if (err == -EPERM)
		off(c, EPERM, "bpf() not permitted (euid %u): needs CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN",
		    (unsigned)geteuid());
	else if (err == -EACCES)
		off(c, EACCES, "the verifier rejected a program (INFOREG_BPF_VERBOSE=1 prints its log)");
	else
		off(c, -err, "loading the BPF object failed: %s%s%.110s", strerror(-err),
		    libbpf_last[0] ? "; libbpf: " : "", libbpf_last);
	unload(b);
	return err;
}

struct cbpf *cbpf_get(struct collector *c, const struct ird_config *cfg)
{
	int err;

	if (cfg && cfg->no_ebpf) {
		off(c, EOPNOTSUPP, "eBPF turned off (--no-ebpf)");
		return NULL;
	}
	if (shared.refs == 0) {
		err = load(&shared, c, cfg);
		if (err < 0) {
			errno = -err;
			return NULL;
		}
	}
	shared.refs++;
	return &shared;
}

void cbpf_put(struct cbpf *b)
{
	if (!b || --b->refs > 0)
		return;
	unload(b);
}

void cbpf_repair(struct cbpf *b, uint64_t tick_ns)
{
	int err;

	/* relaxed: a flag the programs set once and never clear, publishing no data with it
	 * (a tick late is fine) */
	if (!__atomic_load_n(&b->skel->bss->switch_unreported, __ATOMIC_RELAXED))
		return;
	if (tick_ns != b->synced_tick) { /* once per tick, whichever collector comes first */
		/* busy CPUs with no reported switch since the last tick (at first: since now) */
		cbpf_sync_cpus(b, b->synced_tick ? b->synced_tick : tick_ns);
		b->synced_tick = tick_ns;
	}
	if (b->idle_link || b->idle_failed)
		return;
	b->idle_link = bpf_program__attach(b->skel->progs.ir_cpu_idle);
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
	int fd = bpf_program__fd(b->skel->progs.ir_cpu_sync), err = 0;

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
 * Seqlock read of one CPU's open-interval fields. The writer (sched_switch on that CPU)
 * bumps seq to odd, stores, bumps to even, in program order (see inforeg.bpf.c). Each
 * acquire load below keeps the later loads after it, so a copy taken between two equal,
 * even seq loads saw no store of an update in progress. Writers hold seq odd for well
 * under a microsecond; the retry bound only guards against a wedged entry, and running
 * out of it is an error (-EAGAIN), never a copy that did not validate: OUT is then
 * zeroed, which reads as "no switch seen yet" (last_switch_ns 0) to every caller.
 */
int cbpf_read_open(const struct ir_cpu *c, struct cbpf_open *out)
{
	for (int tries = 0; tries < 10000; tries++) {
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
