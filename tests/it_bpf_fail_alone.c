// SPDX-License-Identifier: MIT
/*
 * it_bpf_fail_alone - each eBPF collector's object loads and fails alone (issue 8, item
 * 11): a failure in one turns off that collector, with the reason its init reports (what
 * the daemon puts in /v1/status), and the others load, attach and sample. The failures
 * are the real ones, provoked through the loader's test hooks (struct cbpf_test_hooks):
 *
 * 1. an attach failure: ebpf.sched's program attached to a raw tracepoint the kernel
 *    does not have; the other four come up and cpu.usage.exact reads;
 * 2. a CO-RE relocation failure: task.bpf.o relocated against a copy of the kernel's BTF
 *    in which task_struct.tgid is renamed (a kernel without the field); ebpf.task is off
 *    with libbpf's reason, and ebpf.runq, whose program follows task's in the
 *    sched_switch chain, still counts run-queue waits;
 * 3. the same for cpu.bpf.o (rq.clock renamed): the switch core and the collectors that
 *    ride on it (cpu, runq, task, sched) are off, saying so, and ebpf.blkio, an object
 *    of its own, is on.
 * After each round every BPF fd is released. The reasons are libbpf's own: the attach
 * error, and the CO-RE relocation that failed.
 */
#include <fcntl.h>
#include <bpf/btf.h>
#include "it_bpf_harness.h"

static char btf_file[64];

static void cleanup(void)
{
	if (btf_file[0])
		unlink(btf_file);
}

/* Writes the kernel's BTF with member MEMBER of struct SNAME renamed to BTF_FILE. */
static void write_btf_without(const char *sname, const char *member)
{
	struct btf *btf = btf__parse("/sys/kernel/btf/vmlinux", NULL);
	char renamed[64];
	struct btf_member *m;
	struct btf_type *t;
	const void *raw;
	__u32 size;
	int id, off, fd, found = 0;

	if (!btf)
		H_FAIL("cannot parse the kernel's BTF: %s", strerror(errno));
	snprintf(renamed, sizeof(renamed), "%s___gone", member);
	off = btf__add_str(btf, renamed); /* first: it makes the types writable */
	id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);
	if (off < 0 || id < 0)
		H_FAIL("struct %s not in the kernel's BTF", sname);
	t = (struct btf_type *)btf__type_by_id(btf, (__u32)id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member)) {
			m->name_off = (__u32)off;
			found = 1;
		}
	if (!found)
		H_FAIL("struct %s has no member %s", sname, member);
	raw = btf__raw_data(btf, &size);
	snprintf(btf_file, sizeof(btf_file), "/tmp/irbtf-%d", (int)getpid());
	fd = open(btf_file, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (!raw || fd < 0 || write(fd, raw, size) != (ssize_t)size)
		H_FAIL("writing %s: %s", btf_file, strerror(errno));
	close(fd);
	btf__free(btf);
}

/*
 * Inits all five collectors; the ones named in OFF (NULL-terminated) must be off with
 * a reason matching WHY (for the first) or DEP (for the rest), the others on.
 */
static void init_expect(struct harness *h, const char *const *off, const char *why, const char *dep)
{
	struct cbpf *hold;

	memset(h, 0, sizeof(*h));
	cfg_defaults(&h->cfg);
	hold = cbpf_get(NULL, &h->cfg); /* as the main loop does around the inits */
	for (const struct collector_ops *const *o = ebpf_collectors; *o; o++) {
		struct col_env env = {.reg = &h->reg, .files = NULL, .cfg = &h->cfg};
		struct collector c = {.ops = *o, .enabled = 1};
		int r = (*o)->init(&c, &env), want_off = 0, first = 0;

		for (int i = 0; off[i]; i++)
			if (!strcmp(off[i], (*o)->name)) {
				want_off = 1;
				first = i == 0;
			}
		if (want_off) {
			const char *w = first ? why : dep;

			printf("%-10s off: %s\n", (*o)->name, c.off_reason);
			H_CHECK(r == -EOPNOTSUPP, "%s: init returned %d, want -EOPNOTSUPP", (*o)->name, r);
			H_CHECK(strstr(c.off_reason, w) != NULL, "%s: off reason \"%s\" does not say \"%s\"",
				(*o)->name, c.off_reason, w);
			(*o)->fini(&c);
			continue;
		}
		H_CHECK(r == 0, "%s: init failed: %s (%s)", (*o)->name, strerror(-r), c.off_reason);
		printf("%-10s on\n", (*o)->name);
		h->cols[h->ncols++] = c;
	}
	cbpf_put(hold);
	h_declare(h);
}

/* Switches on every CPU for a while: a child per CPU sleeping in 1 ms steps. */
static void make_switches(void)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	pid_t pids[64];

	for (int i = 0; i < ncpu && i < 64; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			h_pin(i);
			for (int k = 0; k < 50; k++)
				h_sleep_ms(1);
			_exit(0);
		}
	}
	for (int i = 0; i < ncpu && i < 64; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
}

int main(void)
{
	static const char *const sched_off[] = {"ebpf.sched", NULL};
	static const char *const task_off[] = {"ebpf.task", NULL};
	static const char *const core_off[] = {"ebpf.cpu", "ebpf.runq", "ebpf.task", "ebpf.sched", NULL};
	struct harness h;
	double n0, n1;

	h_need_root();
	atexit(cleanup);

	/* 1: an attach failure */
	cbpf_test.attach_tp[CBPF_SCHED] = "inforeg_no_such_tracepoint";
	init_expect(&h, sched_off, "attaching ir_sched_migrate_task to inforeg_no_such_tracepoint", "");
	cbpf_test.attach_tp[CBPF_SCHED] = NULL;
	h_sample(&h);
	h_sleep_ms(100);
	h_sample(&h);
	H_CHECK(isfinite(h_get(&h, "cpu.usage.exact")), "cpu.usage.exact is %f with ebpf.sched off",
		h_get(&h, "cpu.usage.exact"));
	H_CHECK(h_find(&h, "disk.io_latency.untracked") >= 0, "ebpf.blkio declared nothing");
	H_CHECK(h_find(&h, "sched.ctxsw_per_s") < 0, "ebpf.sched declared series while off");
	h_fini(&h);

	/* 2: a relocation failure in a program of the sched_switch chain */
	write_btf_without("task_struct", "tgid");
	cbpf_test.btf_path[CBPF_TASK] = btf_file;
	init_expect(&h, task_off, "failed to resolve CO-RE relocation", "");
	cbpf_test.btf_path[CBPF_TASK] = NULL;
	h_sample(&h);
	n0 = h_get(&h, "sched.runq_latency.count");
	make_switches();
	h_sample(&h);
	n1 = h_get(&h, "sched.runq_latency.count");
	printf("run-queue events with ebpf.task off: %.0f -> %.0f\n", n0, n1);
	H_CHECK(n1 > n0, "ebpf.runq counted nothing after the task slot stayed empty");
	H_CHECK(isfinite(h_get(&h, "cpu.usage.exact")), "cpu.usage.exact unknown with ebpf.task off");
	h_fini(&h);
	cleanup();

	/* 3: the switch core fails: its riders are off, blkio is not */
	write_btf_without("rq", "clock");
	cbpf_test.btf_path[CBPF_CPU] = btf_file;
	init_expect(&h, core_off, "struct rq.clock", "needs cpu.bpf.c's sched_switch program");
	cbpf_test.btf_path[CBPF_CPU] = NULL;
	H_CHECK(h.ncols == 1 && !strcmp(h.cols[0].ops->name, "ebpf.blkio"), "%d collectors on, want blkio alone",
		h.ncols);
	h_sample(&h);
	H_CHECK(h_get(&h, "disk.io_latency.untracked") >= 0, "blkio does not sample");
	h_fini(&h);
	return 0;
}
