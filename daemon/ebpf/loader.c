/* SPDX-License-Identifier: MIT */
/*
 * loader.c - the eBPF collectors' objects: load, attach, share maps, map the per-CPU
 * state; and the seqlock reader and histogram helpers the collectors have in common.
 *
 * One object per collector (kernel/NAME.bpf.c, bpftool skeleton NAME_bpf), so that a
 * failed relocation, verification or attach turns off that collector alone, with its
 * reason in /v1/status (issue 8, item 11). They are loaded together by the first
 * collector's init, in this order, and destroyed by the last fini (init/fini run in the
 * main-loop thread, so the refcount is a plain int):
 *
 *   1. cpu.bpf.c, the switch core. It owns the maps the others share: "cpus" (the
 *      per-CPU entries), "chain" (the tail-call program array of the shared hooks,
 *      IR_SLOT_*) and "watch_ctl". It is loaded whenever any of ebpf.cpu, .runq, .task
 *      or .sched is enabled, even with ebpf.cpu itself disabled: its sched_switch
 *      program is the one every scheduler collector rides on (one attached program per
 *      hook; kernel/cpu.bpf.c says why). Its body goes into the chain's core slots
 *      before sched_switch is attached.
 *   2. task.bpf.c and runq.bpf.c: bpf_map__reuse_fd() gives them cpu.bpf.c's maps
 *      before load (so they create none of their own); once loaded their programs go
 *      into their chain slots. They attach nothing: a failure leaves the slot empty,
 *      and the chain skips it.
 *   3. sched.bpf.c (migrations, on cpu.bpf.c's "cpus" too) and blkio.bpf.c (its own
 *      maps), each attached by itself.
 * A collector whose object is up only if cpu.bpf.c is (runq, task, sched) is off with
 * cpu.bpf.c's reason when that failed. Everything is held by fds and links, nothing is
 * pinned: destroying the skeletons detaches every program and frees every map (the
 * chain's entries are dropped when its last fd closes, which breaks the chain <->
 * program references).
 *
 * libbpf's messages are kept for the off reason and printed only with
 * INFOREG_BPF_VERBOSE=1. What the collectors share once loaded (the seqlock reader, the
 * cpu_idle/cpu_sync repairs, the histogram helpers) is in common.c.
 *
 * About 600 lines, over the rooms' 500: the five objects' order, map sharing, chain
 * slots and per-part failure handling are one protocol, read best in one place.
 */
#include <errno.h>
#include <malloc.h>
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
#include "cpu.skel.h"
#include "runq.skel.h"
#include "task.skel.h"
#include "blkio.skel.h"
#include "sched.skel.h"

const struct collector_ops *const ebpf_collectors[] = {
    &ebpf_cpu_ops, &ebpf_runq_ops, &ebpf_task_ops, &ebpf_blkio_ops, &ebpf_sched_ops, NULL,
};

static const char *const part_name[CBPF_NPARTS] = {"ebpf.cpu", "ebpf.runq", "ebpf.task", "ebpf.blkio",
						   "ebpf.sched"};

struct cbpf_test_hooks cbpf_test;

static struct cbpf shared;

/* ---- libbpf messages: kept for the off reason, printed only on request ---- */

/*
 * The most telling libbpf message since the last reset: the line naming a CO-RE
 * relocation that failed (inside the verifier log libbpf prints), or else the first
 * warning, which names the program and the call that failed (the later ones only say
 * that the object or skeleton failed).
 */
static char libbpf_why[128];
static int libbpf_why_core;

static void libbpf_reset(void)
{
	libbpf_why[0] = 0;
	libbpf_why_core = 0;
}

static int libbpf_capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static const char core[] = "failed to resolve CO-RE relocation";
	char *msg = NULL, *p;
	va_list cp;
	size_t n;

	if (level == LIBBPF_DEBUG || !fmt)
		return 0;
	if (getenv("INFOREG_BPF_VERBOSE")) {
		va_copy(cp, ap);
		vfprintf(stderr, fmt, cp);
		va_end(cp);
	}
	/* whole: the relocation line comes after the verifier's trace, which may be long */
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	p = strstr(msg, core);
	if (p && !libbpf_why_core) {
		libbpf_why_core = 1;
		libbpf_why[0] = 0;
	} else if (libbpf_why[0] || libbpf_why_core) {
		p = NULL;
	} else {
		p = msg;
		if (!strncmp(p, "libbpf: ", 8))
			p += 8;
	}
	if (p) {
		p[strcspn(p, "\n")] = 0;
		snprintf(libbpf_why, sizeof(libbpf_why), "%.127s", p);
		n = strlen(libbpf_why);
		while (n && libbpf_why[n - 1] == ' ')
			libbpf_why[--n] = 0;
	}
	free(msg);
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

static void part_off(struct cbpf *b, enum cbpf_part p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void part_off(struct cbpf *b, enum cbpf_part p, const char *fmt, ...)
{
	va_list ap;

	b->on[p] = 0;
	va_start(ap, fmt);
	vsnprintf(b->off[p], sizeof(b->off[p]), fmt, ap);
	va_end(ap);
}

/* Turns P off with the reason of a failed libbpf call WHAT (ERR is -errno). */
static void part_failed(struct cbpf *b, enum cbpf_part p, const char *what, int err)
{
	if (err == -EPERM)
		part_off(b, p, "bpf() not permitted (euid %u): needs CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN",
			 (unsigned)geteuid());
	else if (err == -EACCES)
		part_off(b, p, "%s: the verifier rejected a program (INFOREG_BPF_VERBOSE=1 prints its log)",
			 what);
	else
		part_off(b, p, "%s: %s%s%.110s", what, strerror(-err), libbpf_why[0] ? "; libbpf: " : "",
			 libbpf_why);
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
 * Whether runq.bpf.c can reach the run queue and the schedstat stamp it takes run-queue
 * latency from (kernel/inforeg.bpf.h, this_rq): cfs_rq->rq needs CONFIG_FAIR_GROUP_SCHED
 * and sched_info.last_queued CONFIG_SCHED_INFO. NULL if it can, else why not.
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

/* Open options of part P's object (a test's BTF file instead of the kernel's). */
#define PART_OPEN_OPTS(name, p)                                                                              \
	LIBBPF_OPTS(bpf_object_open_opts, name, .btf_custom_path = cbpf_test.btf_path[p])

struct bpf_link *cbpf_attach_prog(enum cbpf_part p, struct bpf_program *prog)
{
	if (cbpf_test.attach_tp[p])
		return bpf_program__attach_raw_tracepoint(prog, cbpf_test.attach_tp[p]);
	return bpf_program__attach(prog);
}

/* Attaches PROG for part P into *LINK; on failure turns P off and returns -errno. */
static int attach_one(struct cbpf *b, enum cbpf_part p, struct bpf_program *prog, struct bpf_link **link)
{
	char what[96];
	int err;

	*link = cbpf_attach_prog(p, prog);
	if (*link)
		return 0;
	err = -errno;
	snprintf(what, sizeof(what), "attaching %s to %s", bpf_program__name(prog),
		 cbpf_test.attach_tp[p] ? cbpf_test.attach_tp[p] : bpf_program__section_name(prog));
	part_failed(b, p, what, err);
	return err;
}

/* Puts PROG in the chain's SLOT. */
static int chain_set(struct cbpf *b, __u32 slot, struct bpf_program *prog)
{
	int fd = bpf_program__fd(prog);

	return bpf_map_update_elem(bpf_map__fd(b->cpu->maps.chain), &slot, &fd, BPF_ANY) ? -errno : 0;
}

/* 1: cpu.bpf.c, the switch core and the shared maps. Returns 0 or -errno (CPU part off). */
static int load_cpu(struct cbpf *b)
{
	PART_OPEN_OPTS(o, CBPF_CPU);
	long page = sysconf(_SC_PAGESIZE);
	void *m;
	int err;

	b->cpu = cpu_bpf__open_opts(&o);
	if (!b->cpu) {
		err = -errno;
		part_failed(b, CBPF_CPU, "opening cpu.bpf.o", err);
		return err;
	}
	bpf_map__set_max_entries(b->cpu->maps.cpus, (uint32_t)b->ncpu);
	err = cpu_bpf__load(b->cpu);
	if (err) {
		part_failed(b, CBPF_CPU, "loading cpu.bpf.o", err);
		return err;
	}
	if ((err = chain_set(b, IR_SLOT_SWITCH_CORE, b->cpu->progs.ir_switch_core)) < 0 ||
	    (err = chain_set(b, IR_SLOT_SYNC_CORE, b->cpu->progs.ir_sync_core)) < 0) {
		part_failed(b, CBPF_CPU, "filling the tail-call chain", err);
		return err;
	}
	b->cpus_len = ((size_t)b->ncpu * sizeof(struct ir_cpu) + (size_t)page - 1) & ~((size_t)page - 1);
	m = mmap(NULL, b->cpus_len, PROT_READ, MAP_SHARED, bpf_map__fd(b->cpu->maps.cpus), 0);
	if (m == MAP_FAILED) {
		err = -errno;
		part_off(b, CBPF_CPU, "cannot mmap the per-CPU map: %s", strerror(-err));
		return err;
	}
	b->cpus = m;
	b->watch_ctl_len = (size_t)page;
	m = mmap(NULL, b->watch_ctl_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(b->cpu->maps.watch_ctl), 0);
	if (m == MAP_FAILED) {
		err = -errno;
		part_off(b, CBPF_CPU, "cannot mmap the watch control map: %s", strerror(-err));
		return err;
	}
	b->watch_ctl = m;
	/* loaded (so a late attach cannot fail verification) but attached on demand:
	 * ir_cpu_idle by cbpf_repair(); ir_cpu_sync is run by cbpf_sync_cpus() */
	return attach_one(b, CBPF_CPU, b->cpu->progs.ir_sched_switch, &b->cpu->links.ir_sched_switch);
}

/* Gives MAP (in another object, not loaded yet) cpu.bpf.c's map SHARED. */
static int share(struct bpf_map *map, const struct bpf_map *shared_map)
{
	return bpf_map__reuse_fd(map, bpf_map__fd(shared_map));
}

/* 2: task.bpf.c, into the chain's task slots. */
static int load_task(struct cbpf *b)
{
	PART_OPEN_OPTS(o, CBPF_TASK);
	int err;

	b->task = task_bpf__open_opts(&o);
	if (!b->task) {
		err = -errno;
		part_failed(b, CBPF_TASK, "opening task.bpf.o", err);
		return err;
	}
	if ((err = share(b->task->maps.cpus, b->cpu->maps.cpus)) < 0 ||
	    (err = share(b->task->maps.chain, b->cpu->maps.chain)) < 0 ||
	    (err = share(b->task->maps.watch_ctl, b->cpu->maps.watch_ctl)) < 0) {
		part_failed(b, CBPF_TASK, "sharing cpu.bpf.c's maps", err);
		return err;
	}
	err = task_bpf__load(b->task);
	if (err) {
		part_failed(b, CBPF_TASK, "loading task.bpf.o", err);
		return err;
	}
	if ((err = chain_set(b, IR_SLOT_SYNC_TASK, b->task->progs.ir_task_sync)) < 0 ||
	    (err = chain_set(b, IR_SLOT_SWITCH_TASK, b->task->progs.ir_task_switch)) < 0) {
		part_failed(b, CBPF_TASK, "filling the tail-call chain", err);
		return err;
	}
	return 0;
}

/* 2: runq.bpf.c, into the chain's run-queue slot. */
static int load_runq(struct cbpf *b)
{
	PART_OPEN_OPTS(o, CBPF_RUNQ);
	const char *why = runq_unsupported();
	int err;

	if (why) {
		part_off(b, CBPF_RUNQ, "%s", why);
		return -EOPNOTSUPP;
	}
	b->runq = runq_bpf__open_opts(&o);
	if (!b->runq) {
		err = -errno;
		part_failed(b, CBPF_RUNQ, "opening runq.bpf.o", err);
		return err;
	}
	if ((err = share(b->runq->maps.cpus, b->cpu->maps.cpus)) < 0 ||
	    (err = share(b->runq->maps.chain, b->cpu->maps.chain)) < 0) {
		part_failed(b, CBPF_RUNQ, "sharing cpu.bpf.c's maps", err);
		return err;
	}
	err = runq_bpf__load(b->runq);
	if (err) {
		part_failed(b, CBPF_RUNQ, "loading runq.bpf.o", err);
		return err;
	}
	if ((err = chain_set(b, IR_SLOT_SWITCH_RUNQ, b->runq->progs.ir_runq_switch)) < 0) {
		part_failed(b, CBPF_RUNQ, "filling the tail-call chain", err);
		return err;
	}
	return 0;
}

/* 3: sched.bpf.c, migrations into cpu.bpf.c's entries. */
static int load_sched(struct cbpf *b)
{
	PART_OPEN_OPTS(o, CBPF_SCHED);
	int err;

	b->sched = sched_bpf__open_opts(&o);
	if (!b->sched) {
		err = -errno;
		part_failed(b, CBPF_SCHED, "opening sched.bpf.o", err);
		return err;
	}
	if ((err = share(b->sched->maps.cpus, b->cpu->maps.cpus)) < 0) {
		part_failed(b, CBPF_SCHED, "sharing cpu.bpf.c's maps", err);
		return err;
	}
	err = sched_bpf__load(b->sched);
	if (err) {
		part_failed(b, CBPF_SCHED, "loading sched.bpf.o", err);
		return err;
	}
	return attach_one(b, CBPF_SCHED, b->sched->progs.ir_sched_migrate_task,
			  &b->sched->links.ir_sched_migrate_task);
}

/* 3: blkio.bpf.c, on its own. */
static int load_blkio(struct cbpf *b)
{
	PART_OPEN_OPTS(o, CBPF_BLKIO);
	int err;

	b->blkio = blkio_bpf__open_opts(&o);
	if (!b->blkio) {
		err = -errno;
		part_failed(b, CBPF_BLKIO, "opening blkio.bpf.o", err);
		return err;
	}
	bpf_map__set_max_entries(b->blkio->maps.blk_start, cbpf_test.blk_inflight_max
							       ? cbpf_test.blk_inflight_max
							       : IR_BLK_INFLIGHT_MAX);
	err = blkio_bpf__load(b->blkio);
	if (err) {
		part_failed(b, CBPF_BLKIO, "loading blkio.bpf.o", err);
		return err;
	}
	if ((err = attach_one(b, CBPF_BLKIO, b->blkio->progs.ir_block_rq_issue,
			      &b->blkio->links.ir_block_rq_issue)) < 0)
		return err;
	return attach_one(b, CBPF_BLKIO, b->blkio->progs.ir_block_rq_complete,
			  &b->blkio->links.ir_block_rq_complete);
}

/* Empties the chain's SLOT (the programs it held stay alive while the slot does). */
static void chain_clear(struct cbpf *b, __u32 slot)
{
	if (b->cpu)
		bpf_map_delete_elem(bpf_map__fd(b->cpu->maps.chain), &slot);
}

/*
 * Destroys part P's skeleton (the cpu part also unmaps what it mapped); a rider's chain
 * slots are emptied first, so a half-filled chain (one slot set, the next failing) does
 * not keep running it.
 */
static void unload_part(struct cbpf *b, enum cbpf_part p)
{
	switch (p) {
	case CBPF_CPU:
		bpf_link__destroy(b->idle_link); /* attached by hand, so not the skeleton's */
		b->idle_link = NULL;
		if (b->cpus)
			munmap((void *)b->cpus, b->cpus_len);
		if (b->watch_ctl)
			munmap(b->watch_ctl, b->watch_ctl_len);
		b->cpus = NULL;
		b->watch_ctl = NULL;
		cpu_bpf__destroy(b->cpu); /* detaches the links, closes programs and maps */
		b->cpu = NULL;
		break;
	case CBPF_RUNQ:
		chain_clear(b, IR_SLOT_SWITCH_RUNQ);
		runq_bpf__destroy(b->runq);
		b->runq = NULL;
		break;
	case CBPF_TASK:
		chain_clear(b, IR_SLOT_SWITCH_TASK);
		chain_clear(b, IR_SLOT_SYNC_TASK);
		task_bpf__destroy(b->task);
		b->task = NULL;
		break;
	case CBPF_BLKIO:
		blkio_bpf__destroy(b->blkio);
		b->blkio = NULL;
		break;
	case CBPF_SCHED:
		sched_bpf__destroy(b->sched);
		b->sched = NULL;
		break;
	case CBPF_NPARTS:
		break;
	}
}

static void unload(struct cbpf *b)
{
	/* the riders first, the owner of the shared maps last */
	for (int p = CBPF_NPARTS - 1; p >= 0; p--)
		unload_part(b, (enum cbpf_part)p);
	free(b->online);
	memset(b, 0, sizeof(*b));
}

/*
 * Runs LOADER for part P if it is enabled (a failure turns P alone off and unloads what
 * it had), and says whether it is on.
 */
static void load_part(struct cbpf *b, enum cbpf_part p, int (*loader)(struct cbpf *))
{
	if (!b->on[p])
		return;
	libbpf_reset();
	if (loader(b) < 0) {
		b->on[p] = 0;
		unload_part(b, p);
	}
}

/* Loads every enabled part; never fails as a whole (each part says why it is off). */
static void load(struct cbpf *b, const struct ird_config *cfg)
{
	libbpf_print_fn_t old_print;
	int err, need_core = 0;

	for (int p = 0; p < CBPF_NPARTS; p++) {
		b->on[p] = feature_on(cfg, part_name[p]);
		if (!b->on[p])
			part_off(b, (enum cbpf_part)p, "disabled in the configuration");
		else if (p != CBPF_BLKIO)
			need_core = 1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		for (int p = 0; p < CBPF_NPARTS; p++)
			if (b->on[p])
				part_off(
				    b, (enum cbpf_part)p,
				    "no kernel BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load");
		return;
	}
	b->ncpu = libbpf_num_possible_cpus();
	err = b->ncpu <= 0 ? b->ncpu : read_online(b);
	if (err < 0) {
		for (int p = 0; p < CBPF_NPARTS; p++)
			if (b->on[p])
				part_off(b, (enum cbpf_part)p, "cannot read the possible or online CPUs: %s",
					 strerror(-err));
		return;
	}

	old_print = libbpf_set_print(libbpf_capture);
	if (need_core) {
		int cpu_wanted = b->on[CBPF_CPU];

		b->on[CBPF_CPU] = 1; /* the core loads for the other scheduler collectors too */
		load_part(b, CBPF_CPU, load_cpu);
		for (int p = 0; p < CBPF_NPARTS; p++)
			if (p != CBPF_CPU && p != CBPF_BLKIO && b->on[p] && !b->cpu)
				part_off(b, (enum cbpf_part)p,
					 "needs cpu.bpf.c's sched_switch program, which is off: %.90s",
					 b->off[CBPF_CPU]);
		if (!cpu_wanted && b->cpu) {
			b->on[CBPF_CPU] = 0;
			part_off(b, CBPF_CPU, "disabled in the configuration");
		}
	}
	load_part(b, CBPF_TASK, load_task);
	load_part(b, CBPF_RUNQ, load_runq);
	load_part(b, CBPF_SCHED, load_sched);
	load_part(b, CBPF_BLKIO, load_blkio);
	libbpf_set_print(old_print);
	/*
	 * Each object's load parses the kernel's BTF (about 5 MB here) for its CO-RE
	 * relocations and frees it; glibc keeps those pages in the heap (its mmap threshold
	 * grows after the first free), which left the daemon 5-10 MB larger for good. Hand
	 * them back now that loading is over.
	 */
	malloc_trim(0);

	if (b->cpu) {
		/* after attaching: a switch from here on starts an entry by itself */
		err = cbpf_sync_cpus(b, 0);
		if (err < 0)
			ird_log("ebpf: cannot run the cpu_sync program (%s): a CPU's exact usage is unknown "
				"until "
				"its first context switch",
				strerror(-err));
	}
}

struct cbpf *cbpf_get(struct collector *c, const struct ird_config *cfg)
{
	if (cfg && cfg->no_ebpf) {
		if (!c) {
			errno = EOPNOTSUPP;
			return NULL;
		}
		c->enabled = 0;
		snprintf(c->off_reason, sizeof(c->off_reason), "eBPF turned off (--no-ebpf)");
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (shared.refs == 0)
		load(&shared, cfg);
	shared.refs++;
	return &shared;
}

void cbpf_put(struct cbpf *b)
{
	if (!b || --b->refs > 0)
		return;
	unload(b);
}
