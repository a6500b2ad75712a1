/* SPDX-License-Identifier: MIT */
/*
 * task.c - "ebpf.task": CPU time of watched tasks, selected by process (tgid),
 * by command name (task comm) or by cgroup v2 directory (its tasks and its descendants').
 *
 * Each watch owns one of IR_WATCH_MAX slots. The selectors live in three small BPF hash
 * maps whose values are slot masks (kernel/task.bpf.c); its program in cpu.bpf.c's
 * sched_switch chain looks the incoming task up (only in the maps some watch uses), the
 * core remembers the mask for the CPU, and at the next switch adds the closed interval
 * to each slot's per-CPU counter. Like ebpf.cpu we add the interval
 * still open at read time, so a watched thread that never switches reads its true CPU.
 * A watch added while a task it selects is running would miss that task until its next
 * switch-in (seconds, for a busy thread alone on a CPU), so apply_add() then runs
 * ir_cpu_sync on every CPU, which gives the running task its new mask at once.
 *
 * Slot counters are never reset: a watch records the counter value at its creation as
 * its baseline, and slots are handed out round-robin so that a CPU still holding a
 * deleted watch's mask (until its next switch) practically never charges a newer
 * occupant of the slot. The live_mask in watch_ctl (cpu.bpf.c's map, mmapped) is cleared
 * before a slot's selectors go. A CPU whose entry cannot be read consistently
 * (cbpf_read_open gives up) makes the tick's task series NaN, with the error in the
 * collector's status.
 *
 * task.count is the number of distinct threads that ran during the last period: the
 * kernel counts a thread's first switch-in of each period (an LRU map remembers the
 * period it was last counted in), and we add the watched threads that ran all period
 * on a CPU without switching in again. Boundary effects can miscount a thread that
 * switches in exactly while the period number changes.
 *
 * Watches are added and removed at the start of sample() (main-loop thread) from the
 * control path's queue (watch.c); a change calls layout_changed().
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ebpf.h"
#include "config.h"
#include "task.skel.h"

struct slot {
	int used;
	uint32_t gen; /* bumped at every (re)use: stale series see a new gen */
	struct watch_resolved w;
	uint64_t base_ns, base_seen;
	uint64_t prev_ns;   /* cumulative ns since the watch was added, last sample */
	uint64_t prev_seen; /* sum of task_seen at the last sample */
	uint64_t prev_t;    /* CLOCK_MONOTONIC of the last sample (or of the add) */
};

struct decl {
	int slot;
	uint32_t gen;
	int idx_usage, idx_secs, idx_count;
};

struct task_state {
	struct cbpf *b;
	struct slot slots[IR_WATCH_MAX];
	int next_slot;
	struct decl decl[IR_WATCH_MAX];
	int ndecl;
	uint64_t live;
	uint32_t period;
	int pid_fd, comm_fd, cgrp_fd;
	struct cbpf_open *open; /* per online CPU, scratch */
};

struct comm_key {
	char c[16];
};

/* ---- BPF-side selectors ---------------------------------------------------- */

/* ORs (SET) or clears (!SET) BIT in the mask stored under KEY in map FD. */
static int mask_update(int fd, const void *key, uint64_t bit, int set)
{
	uint64_t m = 0;

	if (bpf_map_lookup_elem(fd, key, &m) != 0)
		m = 0;
	m = set ? (m | bit) : (m & ~bit);
	if (m)
		return bpf_map_update_elem(fd, key, &m, BPF_ANY) ? -errno : 0;
	if (bpf_map_delete_elem(fd, key) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int selector_update(struct task_state *s, const struct watch_resolved *w, int slot, int set)
{
	uint64_t bit = 1ull << slot;
	struct comm_key ck;
	uint32_t tgid;

	switch (w->spec.kind) {
	case WATCH_PID:
		tgid = (uint32_t)w->spec.pid;
		return mask_update(s->pid_fd, &tgid, bit, set);
	case WATCH_COMM:
		memset(&ck, 0, sizeof(ck));
		memcpy(ck.c, w->spec.comm, strnlen(w->spec.comm, sizeof(ck.c) - 1));
		return mask_update(s->comm_fd, &ck, bit, set);
	case WATCH_CGROUP:
		return mask_update(s->cgrp_fd, &w->cgid, bit, set);
	}
	return -EINVAL;
}

/* Publishes which lookups sched_switch must do, then the live slots. */
static void publish_ctl(struct task_state *s)
{
	struct ir_watch_ctl *w = s->b->watch_ctl;
	uint32_t has_pid = 0, has_comm = 0, levels = 0;

	for (int i = 0; i < IR_WATCH_MAX; i++) {
		const struct slot *sl = &s->slots[i];

		if (!sl->used)
			continue;
		has_pid |= sl->w.spec.kind == WATCH_PID;
		has_comm |= sl->w.spec.kind == WATCH_COMM;
		if (sl->w.spec.kind == WATCH_CGROUP)
			levels |= 1u << sl->w.cglevel;
	}
	/* relaxed stores to the mmapped watch_ctl; the programs read them once per event */
	__atomic_store_n(&w->has_pid, has_pid, __ATOMIC_RELAXED);
	__atomic_store_n(&w->has_comm, has_comm, __ATOMIC_RELAXED);
	__atomic_store_n(&w->cg_levels, levels, __ATOMIC_RELAXED);
	/* release: the selector maps were updated before the slot goes live (the programs'
	 * plain load of live_mask pairs with it through the map lookups that follow it) */
	__atomic_store_n(&w->live_mask, s->live, __ATOMIC_RELEASE);
}

/* ---- reading the slot counters ------------------------------------------- */

static uint64_t slot_closed_ns(const struct task_state *s, int slot)
{
	uint64_t sum = 0;

	for (int i = 0; i < s->b->nonline; i++)
		sum += cbpf_load(&s->b->cpus[s->b->online[i]].task_ns[slot]);
	return sum;
}

static uint64_t slot_seen(const struct task_state *s, int slot)
{
	uint64_t sum = 0;

	for (int i = 0; i < s->b->nonline; i++)
		sum += cbpf_load(&s->b->cpus[s->b->online[i]].task_seen[slot]);
	return sum;
}

/* ---- applying control requests --------------------------------------------- */

static int find_slot(const struct task_state *s, const char *name)
{
	for (int i = 0; i < IR_WATCH_MAX; i++)
		if (s->slots[i].used && !strcmp(s->slots[i].w.spec.name, name))
			return i;
	return -1;
}

static int apply_add(struct collector *c, struct task_state *s, const struct watch_resolved *w)
{
	int slot = -1, err;
	struct slot *sl;

	for (int k = 0; k < IR_WATCH_MAX; k++) {
		int i = (s->next_slot + k) % IR_WATCH_MAX;

		if (!s->slots[i].used) {
			slot = i;
			break;
		}
	}
	if (slot < 0 || find_slot(s, w->spec.name) >= 0) {
		col_error(c, "watch %s: no free slot or duplicate name", w->spec.name);
		return -ENOSPC;
	}
	err = selector_update(s, w, slot, 1);
	if (err < 0) {
		selector_update(s, w, slot, 0);
		col_error(c, "watch %s: updating the BPF selector map: %s", w->spec.name, strerror(-err));
		return err;
	}
	sl = &s->slots[slot];
	sl->used = 1;
	sl->gen++;
	sl->w = *w;
	/* counters of earlier occupants stay: everything from here on is ours */
	sl->base_ns = slot_closed_ns(s, slot);
	sl->base_seen = slot_seen(s, slot);
	sl->prev_ns = 0;
	sl->prev_seen = sl->base_seen;
	sl->prev_t = cbpf_now_ns();
	s->next_slot = (slot + 1) % IR_WATCH_MAX;
	s->live |= 1ull << slot;
	publish_ctl(s);
	err = cbpf_sync_cpus(s->b, 0);
	if (err < 0)
		col_error(c,
			  "watch %s: its running tasks count from their next switch-in (running the "
			  "sync program: %s)",
			  w->spec.name, strerror(-err));
	return 0;
}

static int apply_del(struct task_state *s, const char *name)
{
	int slot = find_slot(s, name);

	if (slot < 0)
		return -ENOENT;
	s->live &= ~(1ull << slot);
	s->slots[slot].used = 0;
	publish_ctl(s); /* not live first: sched_switch stops charging before the selector goes */
	selector_update(s, &s->slots[slot].w, slot, 0);
	return 0;
}

/* Applies queued add/delete requests; returns 1 if the watch set changed. */
static int drain(struct collector *c, struct task_state *s)
{
	struct watch_op ops[16];
	int n, changed = 0;

	while ((n = watch_take_pending(ops, 16)) > 0)
		for (int i = 0; i < n; i++)
			if ((ops[i].del ? apply_del(s, ops[i].w.spec.name) : apply_add(c, s, &ops[i].w)) == 0)
				changed = 1;
	return changed;
}

/* ---- the collector ------------------------------------------------------------ */

static int task_init(struct collector *c, struct col_env *env)
{
	struct task_state *s = calloc(1, sizeof(*s));
	char err[200];

	if (!s)
		return -ENOMEM;
	c->priv = s;
	s->b = cbpf_get(c, env->cfg);
	if (!s->b) {
		int e = errno;

		watch_set_available(0, c->off_reason);
		return -e;
	}
	int e = cbpf_require(c, s->b, CBPF_TASK);
	if (e < 0) {
		watch_set_available(0, c->off_reason);
		return e;
	}
	s->open = calloc((size_t)s->b->nonline, sizeof(*s->open));
	if (!s->open)
		return -ENOMEM;
	s->pid_fd = bpf_map__fd(s->b->task->maps.watch_pid);
	s->comm_fd = bpf_map__fd(s->b->task->maps.watch_comm);
	s->cgrp_fd = bpf_map__fd(s->b->task->maps.watch_cgrp);
	watch_set_available(1, NULL);
	for (int i = 0; env->cfg && i < env->cfg->n_watches; i++)
		if (ctl_watch_add(&env->cfg->watches[i], err, sizeof(err)) < 0)
			col_error(c, "watch %s from %s: %s", env->cfg->watches[i].name, env->cfg->source,
				  err);
	drain(c, s); /* so the first declare already has them */
	return 0;
}

static int task_declare(struct collector *c, struct series_reg *reg)
{
	struct task_state *s = c->priv;
	int r;

	s->ndecl = 0;
	for (int i = 0; i < IR_WATCH_MAX; i++) {
		struct slot *sl = &s->slots[i];
		struct decl *d = &s->decl[s->ndecl];
		const char *n = sl->w.spec.name;

		if (!sl->used)
			continue;
		r = reg_seriesf(reg, "percent", INFOREG_KIND_GAUGE,
				"CPU used by the watched tasks, percent of one CPU (sched_switch)",
				"task.cpu.usage{watch=\"%s\"}", n);
		if (r < 0)
			return r;
		d->idx_usage = r;
		r = reg_seriesf(reg, "s", INFOREG_KIND_COUNTER,
				"CPU seconds of the watched tasks since the watch was added",
				"task.cpu.seconds{watch=\"%s\"}", n);
		if (r < 0)
			return r;
		d->idx_secs = r;
		r = reg_seriesf(reg, "count", INFOREG_KIND_GAUGE,
				"Distinct watched threads that ran in the last period",
				"task.count{watch=\"%s\"}", n);
		if (r < 0)
			return r;
		d->idx_count = r;
		d->slot = i;
		d->gen = sl->gen;
		s->ndecl++;
	}
	return 0;
}

static int task_sample(struct collector *c, const struct col_now *now, double *values)
{
	struct task_state *s = c->priv;
	struct cbpf *b = s->b;
	uint32_t per;
	uint64_t t;
	int err = 0;

	cbpf_repair(b, now->mono_ns);
	if (drain(c, s))
		layout_changed();

	/* a new period: first switch-ins from here on count towards the next sample */
	per = ++s->period;
	__atomic_store_n(&b->watch_ctl->period, per, __ATOMIC_RELEASE);
	for (int i = 0; i < b->nonline; i++)
		if (cbpf_read_open(&b->cpus[b->online[i]], &s->open[i]) < 0) {
			col_error(c, "CPU %d's entry changed under every one of %d reads", b->online[i],
				  CBPF_READ_TRIES);
			err = -EAGAIN;
		}
	t = cbpf_now_ns();

	for (int k = 0; k < s->ndecl; k++) {
		const struct decl *d = &s->decl[k];
		struct slot *sl = &s->slots[d->slot];
		uint64_t bit = 1ull << d->slot, cum, seen, running = 0;
		double dt;

		if (!sl->used || sl->gen != d->gen || err) {
			cbpf_put_value(values, d->idx_usage, NAN);
			cbpf_put_value(values, d->idx_secs, NAN);
			cbpf_put_value(values, d->idx_count, NAN);
			continue;
		}
		cum = slot_closed_ns(s, d->slot) - sl->base_ns;
		seen = slot_seen(s, d->slot);
		for (int i = 0; i < b->nonline; i++) {
			const struct cbpf_open *o = &s->open[i];

			if (!(o->cur_mask & bit & s->live) || o->cur_idle)
				continue;
			if (t > o->last_switch_ns)
				cum += t - o->last_switch_ns;
			/* ran through the period without a switch-in counted in it */
			if (o->cur_period != per && o->cur_period != per - 1)
				running++;
		}
		if (cum < sl->prev_ns)
			cum = sl->prev_ns; /* a switch racing our read; the counter must not go back */
		dt = (double)(t - sl->prev_t);
		cbpf_put_value(values, d->idx_usage, dt > 0 ? 100.0 * (double)(cum - sl->prev_ns) / dt : NAN);
		cbpf_put_value(values, d->idx_secs, (double)cum / 1e9);
		cbpf_put_value(values, d->idx_count,
			       (double)(seen >= sl->prev_seen ? seen - sl->prev_seen : 0) + (double)running);
		sl->prev_ns = cum;
		sl->prev_seen = seen;
		sl->prev_t = t;
	}
	return err;
}

static void task_fini(struct collector *c)
{
	struct task_state *s = c->priv;

	if (!s)
		return;
	if (s->b) {
		watch_set_available(0, "the ebpf.task collector stopped");
		cbpf_put(s->b);
	}
	free(s->open);
	free(s);
	c->priv = NULL;
}

const struct collector_ops ebpf_task_ops = {
    .name = "ebpf.task",
    .init = task_init,
    .declare = task_declare,
    .sample = task_sample,
    .fini = task_fini,
};
