// SPDX-License-Identifier: MIT
/*
 * it_bpf_unreported - the two defences against context switches the kernel does not
 * report to sched_switch (kernel/inforeg.bpf.c): an idle CPU must not read busy.
 *
 * The kernel this runs on drops some switches to the idle task by itself (about one a
 * second, from the threads of the agent that drives the VM), but not on demand, so the
 * test makes the same state in the real per-CPU map entry of another CPU N, the way a
 * dropped switch leaves it: the entry names a task that is not running.
 *
 * 1. cpu_idle, loaded but not attached yet: after faking "task FAKE_PID has run on N
 *    for the last 20 ms", the real ir_cpu_idle program is run on CPU N
 *    (BPF_PROG_TEST_RUN, BPF_F_TEST_RUN_ON_CPU) with an idle-entry event: it closes the
 *    interval as busy (~20 ms), marks the entry idle and counts one unreported switch;
 *    an idle-exit event, or an idle entry on an entry already idle, changes nothing.
 * 2. sched_switch: after faking "task FAKE_PID runs on N", real switches on N (a child
 *    pinned there sleeps a few times) see PREV != FAKE_PID: the entry's unreported
 *    count rises, switch_unreported is set, and cbpf_repair() attaches cpu_idle.
 * 3. Attached, a faked entry is repaired by itself at N's next idle entry or switch,
 *    whichever comes first (one is made after 2 s without either).
 * 4. A watched busy child pinned to N, whose switch-in "was not reported" (the entry is
 *    made to name another task with no watch mask, as a dropped switch to the child
 *    leaves it): after 100 ms its real switch-out charges the interval to the child's
 *    watch, so task.cpu.seconds still agrees with the child's schedstat within 10 ms
 *    plus 2% (charged to no watch, 100 ms went missing; a test under load lost 160 ms).
 *    Other tasks on N switch the child out sooner, and the interval at stake shrinks
 *    with them; the check still holds, it only proves less on a loaded machine.
 * 5. The same fake, and at once a tick: once the kernel is known to drop switches,
 *    each tick's sample runs ir_cpu_sync on the CPUs whose entry names a busy task
 *    and has seen no switch since the previous tick (the child switched in before). On
 *    N it finds the child running, counts an unreported switch, and charges the whole
 *    open interval (since N's last switch) to the child's watch, to the nanosecond,
 *    without waiting for the next switch on N. A round in which a real switch on N
 *    came first is retried (the two ticks are about 100 us apart).
 *
 * A real switch on N can land between our write and the check (N's own program writes
 * the same entry); the entry's switch counter shows it, and that round is retried.
 */
#include <sched.h>
#include <bpf/libbpf.h>
#include "it_bpf_harness.h"
#include "it_bpf_entry.h"
#include "cpu.skel.h"

#define FAKE_PID 0x7ffffff0u

static pid_t child;

static void kill_child(void)
{
	h_reap(&child);
}

static int run_cpu_idle(int prog_fd, int cpu, unsigned int state)
{
	__u64 args[2] = {state, (__u64)cpu};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = sizeof(args),
		    .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = (__u32)cpu);

	return bpf_prog_test_run_opts(prog_fd, &o);
}

int main(void)
{
	static const char *const names[] = {"ebpf.cpu", "ebpf.task", NULL};
	struct harness h;
	struct collector dummy;
	struct cbpf *b;
	struct ir_cpu e, e2;
	double s0, s1, w0, w1, un0, un1;
	uint64_t synced0, t1;
	int fd, prog_fd, me, n = -1, done = 0;

	h_init(&h, names);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("SKIP: needs two online CPUs\n");
		return 77;
	}
	memset(&dummy, 0, sizeof(dummy));
	b = cbpf_get(&dummy, &h.cfg); /* the object ebpf.cpu loaded: one more reference */
	if (!b)
		H_FAIL("cbpf_get: %s", dummy.off_reason);
	fd = bpf_map__fd(b->cpu->maps.cpus);
	prog_fd = bpf_program__fd(b->cpu->progs.ir_cpu_idle);
	me = b->online[b->nonline - 1];
	n = b->online[0];
	h_pin(me);
	printf("faking on CPU %d, running on CPU %d\n", n, me);
	h_switches_on(n, 2); /* N has switched since load: its entry is live */

	/*
	 * 1: cpu_idle (loaded, not attached yet) closes a busy interval never switched out of.
	 * A round takes three IPIs to N; on a busy N a real switch often lands inside one
	 * (all of 5 rounds once, under a busy loop per CPU), hence up to 50.
	 */
	for (int round = 0; round < 50 && !done; round++) {
		uint64_t busy0, now;

		h_get_entry(fd, n, &e);
		now = h_now_ns();
		e.cur_idle = 0;
		e.cur_pid = FAKE_PID;
		e.cur_mask = 0;
		e.last_clk = now - e.clk_off - 20000000ull; /* busy for the last 20 ms */
		e.last_switch_ns = now - 20000000ull;
		busy0 = e.busy_ns;
		h_put_entry(fd, n, &e);
		/* an idle exit must not touch it */
		if (run_cpu_idle(prog_fd, n, (unsigned int)-1) != 0)
			H_FAIL("test run of ir_cpu_idle on CPU %d: %s", n, strerror(errno));
		h_get_entry(fd, n, &e2);
		if (e2.switches != e.switches)
			continue; /* a real switch on N got in between */
		H_CHECK(e2.cur_idle == 0 && e2.unreported == e.unreported && e2.busy_ns == busy0,
			"idle exit changed the entry");
		/* an idle entry repairs it */
		if (run_cpu_idle(prog_fd, n, 1) != 0)
			H_FAIL("test run of ir_cpu_idle on CPU %d: %s", n, strerror(errno));
		h_get_entry(fd, n, &e2);
		if (e2.switches != e.switches)
			continue;
		printf("repaired: busy +%.3f ms, unreported %llu -> %llu\n",
		       (double)(e2.busy_ns - busy0) / 1e6, (unsigned long long)e.unreported,
		       (unsigned long long)e2.unreported);
		H_CHECK(e2.cur_idle == 1 && e2.cur_pid == 0, "entry not marked idle");
		H_CHECK(e2.unreported == e.unreported + 1, "unreported %llu, want %llu",
			(unsigned long long)e2.unreported, (unsigned long long)e.unreported + 1);
		H_CHECK(e2.busy_ns - busy0 >= 19000000ull && e2.busy_ns - busy0 < 1000000000ull,
			"closed interval %llu ns, want ~20 ms", (unsigned long long)(e2.busy_ns - busy0));
		/* a second idle entry finds it idle and leaves it */
		if (run_cpu_idle(prog_fd, n, 1) != 0)
			H_FAIL("test run of ir_cpu_idle on CPU %d: %s", n, strerror(errno));
		h_get_entry(fd, n, &e);
		if (e.switches != e2.switches)
			continue;
		H_CHECK(e.busy_ns == e2.busy_ns && e.unreported == e2.unreported,
			"idle entry on an idle CPU changed it");
		done = 1;
	}
	H_CHECK(done, "a real switch on CPU %d raced every round", n);
	done = 0;
	/* 2: sched_switch finds the task it was told runs there is not PREV */
	for (int round = 0; round < 5 && !done; round++) {
		h_get_entry(fd, n, &e);
		e.cur_pid = FAKE_PID;
		h_put_entry(fd, n, &e);
		h_switches_on(n, 3);
		h_get_entry(fd, n, &e2);
		if (e2.unreported > e.unreported && e2.cur_pid != FAKE_PID)
			done = 1;
	}
	H_CHECK(done, "sched_switch did not count the switch from the faked task");
	H_CHECK(__atomic_load_n(&b->cpu->bss->switch_unreported, __ATOMIC_RELAXED) == 1,
		"switch_unreported is not set");
	cbpf_repair(b, h_now_ns());
	H_CHECK(b->idle_link != NULL, "cbpf_repair did not attach cpu_idle");

	/*
	 * 3: attached, the defences repair a faked entry on their own, at N's next idle entry
	 * or switch, whichever comes first. A CPU kept by one busy thread may do neither for
	 * long, so after 2 s without either, a switch is made there.
	 */
	done = 0;
	for (int round = 0; round < 5 && !done; round++) {
		h_get_entry(fd, n, &e);
		e.cur_idle = 0;
		e.cur_pid = FAKE_PID;
		h_put_entry(fd, n, &e);
		for (int i = 0; i < 200; i++) {
			h_sleep_ms(10);
			h_get_entry(fd, n, &e2);
			if (e2.cur_pid != FAKE_PID)
				break;
		}
		if (e2.cur_pid == FAKE_PID) {
			printf("no idle entry or switch on CPU %d in 2 s: making one\n", n);
			h_switches_on(n, 1);
			h_get_entry(fd, n, &e2);
		}
		done = e2.cur_pid != FAKE_PID && e2.unreported > e.unreported;
	}
	H_CHECK(done, "the faked entry on CPU %d was not repaired", n);

	/* 4: a watched task's switch-in the kernel did not report */
	child = h_busy_child(n);
	atexit(kill_child);
	h_add_watch(&h, "busy", child);
	h_declare(&h);
	done = 0;
	for (int i = 0; i < 100 && !done; i++) {
		h_sleep_ms(10);
		h_get_entry(fd, n, &e);
		done = e.cur_pid == (uint32_t)child && e.cur_mask != 0; /* on N, switched in since the add */
	}
	H_CHECK(done, "the watched child never ran on CPU %d", n);
	h_sample(&h);
	w0 = h_get(&h, "task.cpu.seconds{watch=\"busy\"}");
	un0 = h_unreported(b);
	s0 = h_schedstat_s(child);
	h_get_entry(fd, n, &e);
	e.cur_pid = FAKE_PID;
	e.cur_mask = 0;
	h_put_entry(fd, n, &e);
	h_sleep_ms(100);
	h_switches_on(n, 1); /* the child is switched out by now: PREV is not FAKE_PID */
	h_get_entry(fd, n, &e2);
	h_sample(&h);
	w1 = h_get(&h, "task.cpu.seconds{watch=\"busy\"}");
	s1 = h_schedstat_s(child);
	un1 = h_unreported(b);
	printf(
	    "unreported switch-in of the watched child: watch +%.4f s, schedstat +%.4f s, unreported %llu -> "
	    "%llu\n",
	    w1 - w0, s1 - s0, (unsigned long long)e.unreported, (unsigned long long)e2.unreported);
	H_CHECK(e2.unreported > e.unreported, "the switch-out of the child was not found unreported");
	/* plus h_unreported_slack() for the switches the kernel did not report meanwhile besides ours */
	H_CHECK(fabs((w1 - w0) - (s1 - s0)) <= 0.010 + 0.02 * (s1 - s0) + h_unreported_slack(un1 - un0 - 1),
		"the watch gained %.4f s while the child ran %.4f s", w1 - w0, s1 - s0);

	/* 5: the same, found by the tick's sync before any switch on N */
	done = 0;
	for (int round = 0; round < 20 && !done; round++) {
		int bit;

		h_sleep_ms(20); /* the child's interval on N grows, unless something else runs there */
		for (int i = 0; i < 1000; i++) {
			h_get_entry(fd, n, &e);
			if (e.cur_pid == (uint32_t)child && e.cur_mask != 0)
				break;
			h_sleep_ms(1);
		}
		t1 = h_now_ns();
		h_sample(&h); /* a tick at t1 or just after it */
		h_get_entry(fd, n, &e);
		/* the child on N, switched in before that tick: the next tick looks at N */
		if (e.cur_pid != (uint32_t)child || !e.cur_mask || e.last_switch_ns >= t1)
			continue;
		bit = __builtin_ctzll(e.cur_mask);
		e.cur_pid = FAKE_PID;
		e.cur_mask = 0;
		h_put_entry(fd, n, &e);
		synced0 = __atomic_load_n(&b->cpu->bss->cpu_synced, __ATOMIC_RELAXED);
		h_sample(&h); /* cbpf_repair(): ir_cpu_sync on the busy CPUs with no switch since t1 */
		h_get_entry(fd, n, &e2);
		if (e2.switches != e.switches)
			continue; /* a real switch on N came first */
		printf("tick sync: CPU %d names %u again, closed %.3f ms, charged %.3f ms to the watch\n", n,
		       e2.cur_pid, (double)(e2.last_clk - e.last_clk) / 1e6,
		       (double)(e2.task_ns[bit] - e.task_ns[bit]) / 1e6);
		H_CHECK(e2.cur_pid == (uint32_t)child && (e2.cur_mask & (1ull << bit)),
			"the entry does not name the child");
		H_CHECK(e2.unreported == e.unreported + 1, "unreported %llu, want %llu",
			(unsigned long long)e2.unreported, (unsigned long long)e.unreported + 1);
		H_CHECK(__atomic_load_n(&b->cpu->bss->cpu_synced, __ATOMIC_RELAXED) > synced0,
			"cpu_sync did not run");
		H_CHECK(e2.task_ns[bit] - e.task_ns[bit] == e2.last_clk - e.last_clk &&
			    e2.last_clk > e.last_clk,
			"the watch was charged %llu ns of the %llu ns interval",
			(unsigned long long)(e2.task_ns[bit] - e.task_ns[bit]),
			(unsigned long long)(e2.last_clk - e.last_clk));
		done = 1;
	}
	H_CHECK(done, "a real switch on CPU %d came first in every round", n);
	kill_child();
	cbpf_put(b);
	h_fini(&h);
	return 0;
}
