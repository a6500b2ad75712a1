// SPDX-License-Identifier: MIT
/*
 * it_bpf_cpu_sync - ir_cpu_sync (kernel/inforeg.bpf.c), run by the daemon on every CPU,
 * brings a CPU's entry in line with the task running there, where waiting for that
 * CPU's next context switch would be wrong. A busy child pinned to CPU N, started
 * before anything is loaded, is the task that keeps its CPU:
 *
 * 1. at load: N's entry names the child and starts at once (not at N's first switch,
 *    which may never come on an isolated core), so cpu.usage.exact{cpu="N"} reads it
 *    busy from the first sample; the entry's clock starts on CLOCK_MONOTONIC and the
 *    first switch converts it to the rq clock: busy time closed then is the time since
 *    load (neither lost nor off by the two clocks' difference);
 * 2. when a watch goes live: a watch added at run time by pid while the child runs
 *    gives N's entry the child's mask right away (through an IPI), and over the next
 *    500 ms task.cpu.seconds agrees with the child's own run time since the add
 *    (/proc/PID/schedstat, ns) within 10 ms plus 2%. Without it a busy thread is
 *    missed until its next switch-in: that is how it_ebpf_daemon failed in CI (a run-time
 *    watch gained 0.61 s while the child ran 1.02 s);
 * 3. the same on the daemon's own CPU (a direct call): a watch on this very process gives
 *    the running test thread's entry a mask at once.
 * Each step checks that cpu_sync did it, unless a real switch on that CPU, which starts
 * the entry or looks the mask up by itself, got in first (the entry's switch counter
 * shows it): at load an entry no switch wrote has clk_mono set, which only cpu_sync
 * does; at a watch add the cpu_synced counter in .bss rises.
 */
#include <bpf/libbpf.h>
#include "it_bpf_harness.h"
#include "it_bpf_entry.h"
#include "cpu.skel.h"

static pid_t child;

static void cleanup(void)
{
	h_reap(&child);
}

static uint64_t synced(const struct cbpf *b)
{
	return __atomic_load_n(&b->cpu->bss->cpu_synced, __ATOMIC_RELAXED);
}

int main(void)
{
	static const char *const names[] = {"ebpf.cpu", "ebpf.task", NULL};
	char name[64];
	struct collector dummy;
	struct harness h;
	struct ir_cpu e, e2;
	struct cbpf *b;
	uint64_t a0, t_load;
	double s0, s1, secs, usage, un0, un1;
	int fd, me, n, found = 0, nonline = (int)sysconf(_SC_NPROCESSORS_ONLN);

	h_need_root();
	if (nonline < 2) {
		printf("SKIP: needs two online CPUs\n");
		return 77;
	}
	/* CPU 0 busy, the test on the last online CPU (the harness checks the online list) */
	n = 0;
	me = nonline - 1;
	atexit(cleanup);
	child = h_busy_child(n);
	h_pin(me);
	printf("busy child %d on CPU %d, test on CPU %d\n", (int)child, n, me);
	h_sleep_ms(300); /* the child has CPU N to itself by now */

	/* 1: at load */
	t_load = h_now_ns();
	h_init(&h, names);
	memset(&dummy, 0, sizeof(dummy));
	b = cbpf_get(&dummy, &h.cfg); /* the object the collectors loaded: one more reference */
	if (!b)
		H_FAIL("cbpf_get: %s", dummy.off_reason);
	H_CHECK(b->online[0] == n && b->online[b->nonline - 1] == me, "online CPUs are not 0..%d", me);
	fd = bpf_map__fd(b->cpu->maps.cpus);
	h_get_entry(fd, n, &e);
	printf("after load: CPU %d pid %u idle %u clk_mono %u, %llu switches, synced %llu\n", n, e.cur_pid,
	       e.cur_idle, e.clk_mono, (unsigned long long)e.switches, (unsigned long long)synced(b));
	H_CHECK(e.last_switch_ns != 0, "CPU %d's entry did not start at load", n);
	/* with no switch on N since the attach only cpu_sync wrote the entry: it names the task
	 * running there (the child, or another busy task sharing N) on CLOCK_MONOTONIC */
	snprintf(name, sizeof(name), "/proc/%u", e.cur_pid);
	H_CHECK(e.switches > 0 ||
		    (!e.cur_idle && e.cur_pid != 0 && e.clk_mono == 1 && access(name, F_OK) == 0),
		"no switch on CPU %d, and the entry does not name a running task", n);
	h_sample(&h);
	h_sleep_ms(300);
	h_sample(&h);
	snprintf(name, sizeof(name), "cpu.usage.exact{cpu=\"%d\"}", n);
	usage = h_get(&h, name);
	printf("%s = %.2f%% over the first 300 ms\n", name, usage);
	H_CHECK(usage >= 90, "the busy CPU read %.2f%%", usage);
	H_CHECK(!isnan(h_get(&h, "cpu.usage.exact")), "the total is unknown");
	/* a switch on N converts the entry's clock; what it closes is N's busy time since load */
	h_switches_on(n, 2);
	h_get_entry(fd, n, &e);
	printf("after switches on CPU %d: clk_mono %u, busy %.3f ms closed, %.3f ms since load\n", n,
	       e.clk_mono, (double)e.busy_ns / 1e6, (double)(h_now_ns() - t_load) / 1e6);
	H_CHECK(e.clk_mono == 0, "the first switch did not convert the entry's clock");
	H_CHECK(e.busy_ns >= 250000000ull && e.busy_ns <= h_now_ns() - t_load,
		"busy %.3f ms closed on CPU %d in %.3f ms since load", (double)e.busy_ns / 1e6, n,
		(double)(h_now_ns() - t_load) / 1e6);

	/* 2: the child is running on N when its watch goes live */
	for (int i = 0; i < 100 && !found; i++) {
		h_sleep_ms(10);
		h_get_entry(fd, n, &e);
		found = e.cur_pid == (uint32_t)child && !e.cur_idle;
	}
	H_CHECK(found, "CPU %d's entry never named the busy child", n);
	H_CHECK(e.cur_mask == 0, "the child had a watch mask before any watch existed");
	a0 = synced(b);
	un0 = h_unreported(b);
	s0 = h_schedstat_s(child);
	h_add_watch(&h, "busy", child);
	h_get_entry(fd, n, &e2);
	printf("after the add: CPU %d mask %#llx, %llu switches since, synced %llu\n", n,
	       (unsigned long long)e2.cur_mask, (unsigned long long)(e2.switches - e.switches),
	       (unsigned long long)(synced(b) - a0));
	/* unless another task got CPU N meanwhile: the child's switch-in then looks the mask up */
	H_CHECK(e2.cur_pid != (uint32_t)child || e2.cur_mask != 0,
		"the running child has no watch mask after the add");
	H_CHECK(synced(b) > a0 || e2.switches != e.switches,
		"cpu_sync did not give the running child its mask");
	h_declare(&h);
	h_sleep_ms(500);
	h_sample(&h);
	s1 = h_schedstat_s(child);
	un1 = h_unreported(b);
	secs = h_get(&h, "task.cpu.seconds{watch=\"busy\"}");
	h_get_entry(fd, n, &e);
	printf("busy: task.cpu.seconds %.4f s, schedstat since the add %.4f s (CPU %d: %llu switches, %llu "
	       "unreported)\n",
	       secs, s1 - s0, n, (unsigned long long)(e.switches - e2.switches),
	       (unsigned long long)(e.unreported - e2.unreported));
	/* plus h_unreported_slack() for the switches the kernel did not report meanwhile (it_bpf_harness.h) */
	H_CHECK(fabs(secs - (s1 - s0)) <= 0.010 + 0.02 * (s1 - s0) + h_unreported_slack(un1 - un0),
		"watch %.4f s vs the child's %.4f s (%.0f unreported switches)", secs, s1 - s0, un1 - un0);

	/* 3: this thread, running on its own CPU while the daemon code adds the watch */
	h_get_entry(fd, me, &e);
	a0 = synced(b);
	h_add_watch(&h, "self", getpid());
	h_get_entry(fd, me, &e2);
	printf("after the add: CPU %d pid %u mask %#llx, %llu switches since, synced %llu\n", me, e2.cur_pid,
	       (unsigned long long)e2.cur_mask, (unsigned long long)(e2.switches - e.switches),
	       (unsigned long long)(synced(b) - a0));
	H_CHECK(e2.cur_pid == (uint32_t)getpid() && e2.cur_mask != 0, "the running test thread has no mask");
	H_CHECK(synced(b) > a0 || e2.switches != e.switches,
		"cpu_sync did not give the running test thread its mask");

	H_CHECK(ctl_watch_del("busy") == 0 && ctl_watch_del("self") == 0, "delete the watches");
	h_sample(&h);
	cleanup();
	cbpf_put(b);
	h_fini(&h);
	return 0;
}
