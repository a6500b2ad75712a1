/* SPDX-License-Identifier: MIT */
/*
 * spawn_runner.c - the process runner (spawn_runner.h): one thread, one epoll set, every running
 * program's pidfd and pipes in it.
 *
 * Why one file of about 830 lines: the runner thread owns every job's pidfd, pipes and
 * timers in one epoll set; the job API, the result hand-over and the thread share that
 * state and its locking, documented once here.
 *
 * Who touches what:
 *   - the owner's thread (the tick) calls spawn_job_start: it claims the job's busy
 *     flag, takes a reference for the runner, pushes the job on the runner's queue
 *     (qlock) and writes the eventfd. Nothing else: the tick never forks or reads.
 *   - the runner thread pops the queue, posix_spawn()s (CLONE_VFORK inside glibc, so
 *     the daemon's address space is not copied), opens a pidfd and watches the pidfd
 *     and both pipe ends. On the pidfd's readiness (the leader exited and is a zombie,
 *     so its pid and process group id cannot be reused yet) it kills the group and
 *     reaps the leader; pipes are drained to EOF; at the deadline the group is killed.
 *     When the leader is reaped and both pipes are closed, on_done runs under the
 *     job's cb_lock, then busy is cleared and the runner's reference dropped.
 *   - spawn_job_free (owner) sets cancelled under cb_lock, so once it returns on_done
 *     is not running and never runs again; the runner kills a cancelled run and frees
 *     the job when the last reference goes.
 *
 * Memory ordering:
 *   busy:  the runner's release store of 0 after on_done pairs with the acquire CAS in
 *          spawn_job_start: whatever on_done published is visible to the thread that
 *          starts the next run, and runs of one job never overlap.
 *   refs:  acq_rel decrements; the thread that drops the last reference frees.
 *   cancelled: written under cb_lock (that is the ordering for on_done); the runner's
 *          relaxed reads in its scan only decide to kill early.
 *   queue and stopping: under qlock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn_runner.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

enum { SRC_PID, SRC_OUT, SRC_ERR };

#define SPAWN_NICE 10 /* the runner and its programs: this much nicer than the daemon */

struct spawn_src {
	struct spawn_job *job;
	int which;
};

struct spawn_job {
	char **argv; /* owned, NULL-terminated; /bin/sh -c ... already prepended */
	char **envp; /* owned, NULL-terminated; NULL: the daemon's environ */
	uint32_t timeout_ms;
	void (*on_done)(const struct spawn_result *r, void *arg);
	void *arg;

	atomic_int refs;
	atomic_int busy;
	atomic_int cancelled;
	pthread_mutex_t cb_lock;
	struct spawn_runner *_Atomic runner; /* the runner of the current run, to wake it */

	uint64_t period_ns; /* spawn_job_schedule: written before the push, read by the runner */

	/* runner thread only (qnext: under the runner's qlock) */
	struct spawn_job *qnext, *rnext;
	struct spawn_job *snext; /* the runner's list of scheduled jobs */
	uint64_t next_due_ns;
	struct spawn_src src[3];
	pid_t pid;
	int pidfd, outfd, errfd;
	int reaped, timed_out, killed;
	enum spawn_end end;
	int code;
	uint64_t start_ns, deadline_ns;
	char *out; /* SPAWN_OUT_MAX + 2 bytes, allocated at the first run */
	size_t out_len;
	int out_overflow;
	char err[SPAWN_ERR_MAX + 1];
	size_t err_len;
};

struct spawn_runner {
	pthread_t thread;
	int epfd, evfd;
	pthread_mutex_t qlock;
	struct spawn_job *qhead, *qtail; /* qlock: runs to start now */
	struct spawn_job *shead;	 /* qlock: jobs to run every period from now */
	int stopping;			 /* qlock */
	atomic_uint running;
	struct spawn_job *live;	 /* runner thread only: runs in flight */
	struct spawn_job *sched; /* runner thread only: scheduled jobs */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- jobs ------------------------------------------------------------------ */

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static size_t strv_len(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* "NAME=..." of E overridden by an entry of ADD? */
static int env_overridden(const char *e, const char *const *add)
{
	const char *eq = strchr(e, '=');
	size_t n = eq ? (size_t)(eq - e) : strlen(e);
	for (; add && *add; add++)
		if (!strncmp(*add, e, n) && ((*add)[n] == '=' || (*add)[n] == '\0'))
			return 1;
	return 0;
}

static char **build_env(const char *const *add)
{
	size_t n = 0, k = 0;
	if (!add)
		return NULL;
	for (char **e = environ; e && *e; e++)
		n++;
	char **v = calloc(n + strv_len(add) + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (char **e = environ; e && *e; e++)
		if (!env_overridden(*e, add) && !(v[k++] = strdup(*e)))
			goto nomem;
	for (const char *const *a = add; *a; a++)
		if (!(v[k++] = strdup(*a)))
			goto nomem;
	return v;
nomem:
	free_strv(v);
	return NULL;
}

struct spawn_job *spawn_job_new(const struct spawn_cmd *cmd)
{
	size_t argc = cmd ? strv_len(cmd->argv) : 0, k = 0;
	if (!argc || !cmd->argv[0][0] || !cmd->timeout_ms) {
		errno = EINVAL;
		return NULL;
	}
	struct spawn_job *j = calloc(1, sizeof(*j));
	if (!j)
		goto nomem;
	j->argv = calloc(argc + 3, sizeof(char *));
	if (!j->argv)
		goto nomem;
	if (cmd->shell && (!(j->argv[k++] = strdup("/bin/sh")) || !(j->argv[k++] = strdup("-c"))))
		goto nomem;
	for (size_t i = 0; i < argc; i++)
		if (!(j->argv[k++] = strdup(cmd->argv[i])))
			goto nomem;
	if (cmd->env && !(j->envp = build_env(cmd->env)))
		goto nomem;
	j->timeout_ms = cmd->timeout_ms;
	j->on_done = cmd->on_done;
	j->arg = cmd->arg;
	atomic_init(&j->refs, 1);
	atomic_init(&j->busy, 0);
	atomic_init(&j->cancelled, 0);
	atomic_init(&j->runner, NULL);
	pthread_mutex_init(&j->cb_lock, NULL);
	j->pidfd = j->outfd = j->errfd = -1;
	return j;
nomem:
	if (j) {
		free_strv(j->argv);
		free(j);
	}
	errno = ENOMEM;
	return NULL;
}

static void job_put(struct spawn_job *j)
{
	/* acq_rel: the last holder sees every other holder's writes before freeing */
	if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_destroy(&j->cb_lock);
	free_strv(j->argv);
	free_strv(j->envp);
	free(j->out);
	free(j);
}

static void runner_wake(struct spawn_runner *r)
{
	uint64_t one = 1;
	/* EAGAIN (counter full) still leaves the eventfd readable: the wake is not lost */
	if (write(r->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fprintf(stderr, "inforegd: spawn: eventfd write: %s\n", strerror(errno));
}

int spawn_job_start(struct spawn_runner *r, struct spawn_job *j)
{
	int idle = 0;
	/* acquire: pairs with the runner's release store of 0 after the previous on_done */
	if (!atomic_compare_exchange_strong_explicit(&j->busy, &idle, 1, memory_order_acquire,
						     memory_order_relaxed))
		return -EBUSY;
	atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed); /* the owner holds one */
	atomic_store_explicit(&j->runner, r, memory_order_relaxed);
	j->qnext = NULL;
	pthread_mutex_lock(&r->qlock);
	if (r->stopping) {
		pthread_mutex_unlock(&r->qlock);
		atomic_store_explicit(&j->busy, 0, memory_order_release);
		job_put(j);
		return -ESHUTDOWN;
	}
	/* The runner takes the whole queue after every wake-up, so only a push onto an
	 * empty queue needs a wake: a non-empty one has a wake pending (several runs
	 * started in one tick cost one eventfd write). */
	int wake = !r->qhead;
	if (r->qtail)
		r->qtail->qnext = j;
	else
		r->qhead = j;
	r->qtail = j;
	pthread_mutex_unlock(&r->qlock);
	if (wake)
		runner_wake(r);
	return 0;
}

int spawn_job_schedule(struct spawn_runner *r, struct spawn_job *j, uint32_t period_ms)
{
	if (!period_ms || j->period_ns)
		return -EINVAL;
	j->period_ns = (uint64_t)period_ms * 1000000ull;	      /* published to the runner by qlock */
	atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed); /* the owner holds one */
	atomic_store_explicit(&j->runner, r, memory_order_relaxed);
	pthread_mutex_lock(&r->qlock);
	if (r->stopping) {
		pthread_mutex_unlock(&r->qlock);
		job_put(j);
		return -ESHUTDOWN;
	}
	j->snext = r->shead;
	r->shead = j;
	pthread_mutex_unlock(&r->qlock);
	runner_wake(r);
	return 0;
}

int spawn_job_busy(const struct spawn_job *j)
{
	return atomic_load_explicit(&j->busy, memory_order_acquire);
}

void spawn_job_free(struct spawn_job *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->cb_lock); /* waits out an on_done in progress */
	atomic_store_explicit(&j->cancelled, 1, memory_order_relaxed);
	pthread_mutex_unlock(&j->cb_lock);
	struct spawn_runner *r = atomic_load_explicit(&j->runner, memory_order_relaxed);
	if (r && (spawn_job_busy(j) || j->period_ns))
		runner_wake(r); /* so a run is killed now, not at its timeout; and unscheduled */
	job_put(j);
}

/* ---- results --------------------------------------------------------------- */

void spawn_result_describe(const struct spawn_result *r, uint32_t timeout_ms, char *buf, size_t len)
{
	switch (r->end) {
	case SPAWN_EXITED:
		snprintf(buf, len, "exit %d", r->code);
		break;
	case SPAWN_SIGNALED:
		if (r->out_overflow)
			snprintf(buf, len, "output larger than %d bytes", SPAWN_OUT_MAX);
		else
			snprintf(buf, len, "killed by signal %d (%s)", r->code, strsignal(r->code));
		break;
	case SPAWN_TIMEOUT:
		snprintf(buf, len, "timed out after %u ms", timeout_ms);
		break;
	case SPAWN_FAILED:
	default:
		snprintf(buf, len, "cannot run: %s", strerror(-r->code));
		break;
	}
}

/* ---- the runner thread ------------------------------------------------------ */

static void close_src(struct spawn_runner *r, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

/* Kills J's process group. Only while its leader is not reaped: until then the leader's
 * pid, which is the group's id, cannot belong to anybody else. */
static void kill_group(struct spawn_job *j)
{
	if (j->reaped || j->killed)
		return;
	j->killed = 1;
	if (kill(-j->pid, SIGKILL) < 0 && errno == ESRCH)
		kill(j->pid, SIGKILL); /* cannot happen after setsid; belt and braces */
}

static int watch_fd(struct spawn_runner *r, struct spawn_job *j, int which, int fd)
{
	j->src[which] = (struct spawn_src){.job = j, .which = which};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &j->src[which]};
	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* Starts J; on failure returns -errno with nothing left open or running. */
static int job_spawn(struct spawn_runner *r, struct spawn_job *j)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, e = 0, fa_ok = 0, at_ok = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	pid_t pid = -1;

	if (!j->out && !(j->out = malloc(SPAWN_OUT_MAX + 2)))
		return -ENOMEM;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		e = -errno;
		goto out;
	}
	if ((e = nonblock(outp[0])) < 0 || (e = nonblock(errp[0])) < 0)
		goto out;
	if ((e = -posix_spawn_file_actions_init(&fa)) < 0)
		goto out;
	fa_ok = 1;
	if ((e = -posix_spawnattr_init(&at)) < 0)
		goto out;
	at_ok = 1;
	sigemptyset(&none);
	sigfillset(&all);
	if ((e = -posix_spawn_file_actions_adddup2(&fa, outp[1], 1)) < 0 ||
	    (e = -posix_spawn_file_actions_adddup2(&fa, errp[1], 2)) < 0 ||
	    (e = -posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) < 0 ||
	    (e = -posix_spawn_file_actions_addclosefrom_np(&fa, 3)) < 0 ||
	    (e = -posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF)) < 0 ||
	    (e = -posix_spawnattr_setsigmask(&at, &none)) < 0 ||
	    (e = -posix_spawnattr_setsigdefault(&at, &all)) < 0)
		goto out;
	char **envp = j->envp ? j->envp : environ;
	j->start_ns = now_ns();
	if (strchr(j->argv[0], '/'))
		e = -posix_spawn(&pid, j->argv[0], &fa, &at, j->argv, envp);
	else
		e = -posix_spawnp(&pid, j->argv[0], &fa, &at, j->argv, envp);
	if (e < 0)
		goto out;
	j->pid = pid;
	j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (j->pidfd < 0) {
		e = -errno;
		kill(-pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	j->outfd = outp[0];
	j->errfd = errp[0];
	outp[0] = errp[0] = -1;
	if ((e = watch_fd(r, j, SRC_PID, j->pidfd)) < 0 || (e = watch_fd(r, j, SRC_OUT, j->outfd)) < 0 ||
	    (e = watch_fd(r, j, SRC_ERR, j->errfd)) < 0) {
		kill(-pid, SIGKILL);
		while (waitid(P_PIDFD, (id_t)j->pidfd, &(siginfo_t){0}, WEXITED) < 0 && errno == EINTR)
			;
		close_src(r, &j->pidfd);
		close_src(r, &j->outfd);
		close_src(r, &j->errfd);
		goto out;
	}
	j->deadline_ns = j->start_ns + (uint64_t)j->timeout_ms * 1000000ull;
	j->reaped = j->timed_out = j->killed = j->out_overflow = 0;
	j->out_len = j->err_len = 0;
	j->end = 0;
	j->code = 0;
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return e;
}

static void reap(struct spawn_runner *r, struct spawn_job *j, int flags)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)j->pidfd, &si, WEXITED | flags) < 0 || si.si_pid == 0)
		return; /* not yet (WNOHANG) or EINTR: the pidfd stays readable */
	j->reaped = 1;
	if (si.si_code == CLD_EXITED) {
		j->end = SPAWN_EXITED;
		j->code = si.si_status;
	} else {
		j->end = SPAWN_SIGNALED;
		j->code = si.si_status;
	}
	close_src(r, &j->pidfd);
}

static void drain_out(struct spawn_runner *r, struct spawn_job *j)
{
	for (;;) {
		ssize_t n = read(j->outfd, j->out + j->out_len, SPAWN_OUT_MAX + 1 - j->out_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_src(r, &j->outfd);
			return;
		}
		j->out_len += (size_t)n;
		if (j->out_len > SPAWN_OUT_MAX) {
			j->out_len = SPAWN_OUT_MAX;
			j->out_overflow = 1;
			kill_group(j);
			close_src(r, &j->outfd);
			return;
		}
	}
}

static void drain_err(struct spawn_runner *r, struct spawn_job *j)
{
	char scratch[4096];
	for (;;) {
		char *dst = j->err_len < SPAWN_ERR_MAX ? j->err + j->err_len : scratch;
		size_t room = j->err_len < SPAWN_ERR_MAX ? SPAWN_ERR_MAX - j->err_len : sizeof(scratch);
		ssize_t n = read(j->errfd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_src(r, &j->errfd);
			return;
		}
		if (dst != scratch)
			j->err_len += (size_t)n;
	}
}

static void unlink_live(struct spawn_runner *r, struct spawn_job *j)
{
	for (struct spawn_job **p = &r->live; *p; p = &(*p)->rnext)
		if (*p == j) {
			*p = j->rnext;
			return;
		}
}

/* The run is over: report it (unless cancelled), let the job start again, drop our ref. */
static void job_done(struct spawn_runner *r, struct spawn_job *j, int report)
{
	unlink_live(r, j);
	atomic_fetch_sub_explicit(&r->running, 1, memory_order_relaxed);
	if (report) {
		struct spawn_result res = {
		    .end = j->timed_out ? SPAWN_TIMEOUT : j->end,
		    .code = j->timed_out ? 0 : j->code,
		    .out_overflow = j->out_overflow,
		    .out_len = j->out_len,
		    .out = j->out,
		    .err_len = j->err_len,
		    .err = j->err,
		    .start_mono_ns = j->start_ns,
		    .end_mono_ns = now_ns(),
		};
		j->out[j->out_len] = '\0';
		j->err[j->err_len] = '\0';
		pthread_mutex_lock(&j->cb_lock);
		if (!atomic_load_explicit(&j->cancelled, memory_order_relaxed) && j->on_done)
			j->on_done(&res, j->arg);
		pthread_mutex_unlock(&j->cb_lock);
	}
	/* release: pairs with the acquire CAS in spawn_job_start (on_done's effects first) */
	atomic_store_explicit(&j->busy, 0, memory_order_release);
	job_put(j);
}

static void report_failed(struct spawn_job *j, int e)
{
	struct spawn_result res = {
	    .end = SPAWN_FAILED, .code = e, .out = "", .err = "", .start_mono_ns = now_ns()};
	res.end_mono_ns = res.start_mono_ns;
	pthread_mutex_lock(&j->cb_lock);
	if (!atomic_load_explicit(&j->cancelled, memory_order_relaxed) && j->on_done)
		j->on_done(&res, j->arg);
	pthread_mutex_unlock(&j->cb_lock);
	atomic_store_explicit(&j->busy, 0, memory_order_release); /* pairs as in job_done */
	job_put(j);
}

/* Starts a run of J, whose busy flag and runner reference the caller holds. */
static void start_run(struct spawn_runner *r, struct spawn_job *j)
{
	int e = job_spawn(r, j);
	if (e < 0) {
		report_failed(j, e);
		return;
	}
	j->rnext = r->live;
	r->live = j;
	atomic_fetch_add_explicit(&r->running, 1, memory_order_relaxed);
}

/* Starts every queued run, takes in newly scheduled jobs; returns 1 when stopping. */
static int take_queue(struct spawn_runner *r)
{
	pthread_mutex_lock(&r->qlock);
	struct spawn_job *q = r->qhead, *sq = r->shead;
	int stopping = r->stopping;
	r->qhead = r->qtail = NULL;
	r->shead = NULL;
	pthread_mutex_unlock(&r->qlock);
	while (q) {
		struct spawn_job *j = q;
		q = q->qnext;
		if (stopping || atomic_load_explicit(&j->cancelled, memory_order_relaxed)) {
			atomic_store_explicit(&j->busy, 0, memory_order_release);
			job_put(j);
			continue;
		}
		start_run(r, j);
	}
	uint64_t now = now_ns();
	while (sq) {
		struct spawn_job *j = sq;
		sq = sq->snext;
		j->next_due_ns = now; /* the first run at once */
		j->snext = r->sched;
		r->sched = j; /* stop_all and the sweep drop cancelled ones */
	}
	return stopping;
}

/* Starts the scheduled runs that are due and idle; returns the next due time. */
static uint64_t start_due(struct spawn_runner *r, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	for (struct spawn_job **pp = &r->sched, *j; (j = *pp);) {
		if (atomic_load_explicit(&j->cancelled, memory_order_relaxed)) {
			*pp = j->snext;
			job_put(j);
			continue;
		}
		pp = &j->snext;
		int idle = 0;
		if (now >= j->next_due_ns &&
		    /* acquire: as in spawn_job_start (the previous run's on_done is over) */
		    atomic_compare_exchange_strong_explicit(&j->busy, &idle, 1, memory_order_acquire,
							    memory_order_relaxed)) {
			atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed); /* the run's */
			j->next_due_ns += j->period_ns;
			if (j->next_due_ns <= now) /* late (a run outlived its period): from now */
				j->next_due_ns = now + j->period_ns;
			start_run(r, j);
		}
		/* a due job still in flight starts when that run is over (its end sweeps) */
		if (j->next_due_ns > now && j->next_due_ns < next)
			next = j->next_due_ns;
	}
	return next;
}

/* Deadlines, cancellations and completions; returns the epoll timeout in ms. */
static int sweep(struct spawn_runner *r)
{
	uint64_t now = now_ns(), next = UINT64_MAX;
	struct spawn_job *j = r->live, *nx;
	for (; j; j = nx) {
		nx = j->rnext;
		if (j->reaped && j->outfd < 0 && j->errfd < 0) {
			job_done(r, j, 1); /* before the deadline check: it ended in time */
			continue;
		}
		if (atomic_load_explicit(&j->cancelled, memory_order_relaxed))
			kill_group(j);
		if (!j->timed_out && now >= j->deadline_ns) {
			j->timed_out = 1;
			kill_group(j);
		}
		if (j->reaped && j->timed_out) {
			/* output held open past the deadline by something outside the group */
			if (j->outfd >= 0)
				drain_out(r, j);
			if (j->errfd >= 0)
				drain_err(r, j);
			close_src(r, &j->outfd);
			close_src(r, &j->errfd);
		}
		if (j->reaped && j->outfd < 0 && j->errfd < 0) {
			job_done(r, j, 1);
			continue;
		}
		if (!j->timed_out && j->deadline_ns < next)
			next = j->deadline_ns;
	}
	uint64_t due = start_due(r, now);
	if (due < next)
		next = due;
	if (next == UINT64_MAX)
		return -1;
	uint64_t ms = (next - now + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

static void stop_all(struct spawn_runner *r)
{
	while (r->sched) {
		struct spawn_job *j = r->sched;
		r->sched = j->snext;
		job_put(j);
	}
	while (r->live) {
		struct spawn_job *j = r->live;
		kill_group(j);
		while (!j->reaped) {
			reap(r, j, 0);
			if (!j->reaped && errno != EINTR)
				break; /* ECHILD: nothing left to reap */
		}
		close_src(r, &j->pidfd);
		close_src(r, &j->outfd);
		close_src(r, &j->errfd);
		job_done(r, j, 0);
	}
}

static void *runner_main(void *arg)
{
	struct spawn_runner *r = arg;
	struct epoll_event evs[32];
	int timeout = -1;
	/* This thread and the programs it starts (they inherit it) run 10 nice levels below
	 * the daemon: collection programs are background work, the tick is not. */
	id_t tid = (id_t)syscall(SYS_gettid);
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, tid);
	if (errno == 0)
		setpriority(PRIO_PROCESS, tid, prio + SPAWN_NICE > 19 ? 19 : prio + SPAWN_NICE);
	for (;;) {
		int n = epoll_wait(r->epfd, evs, 32, timeout);
		for (int i = 0; i < n; i++) {
			struct spawn_src *s = evs[i].data.ptr;
			if (!s) {
				uint64_t v;
				if (read(r->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					fprintf(stderr, "inforegd: spawn: eventfd read: %s\n",
						strerror(errno));
				continue;
			}
			struct spawn_job *j = s->job;
			if (s->which == SRC_PID && j->pidfd >= 0) {
				kill_group(j); /* the leader is a zombie: its group id is still its own */
				reap(r, j, WNOHANG);
			} else if (s->which == SRC_OUT && j->outfd >= 0) {
				drain_out(r, j);
			} else if (s->which == SRC_ERR && j->errfd >= 0) {
				drain_err(r, j);
			}
		}
		if (take_queue(r)) {
			stop_all(r);
			return NULL;
		}
		timeout = sweep(r);
	}
}

struct spawn_runner *spawn_runner_new(void)
{
	struct spawn_runner *r = calloc(1, sizeof(*r));
	sigset_t all, old;
	int e;
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->epfd < 0 || r->evfd < 0) {
		e = errno;
		goto fail;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->evfd, &ev) < 0) {
		e = errno;
		goto fail;
	}
	pthread_mutex_init(&r->qlock, NULL);
	atomic_init(&r->running, 0);
	/*
	 * The runner thread takes no signal (they belong to the main loop's sigtimedwait)
	 * but SIGCHLD. A child's SIGCHLD is sent to the thread that spawned it; left at its
	 * default (ignore) and unblocked there, the kernel drops it when it is generated.
	 * Blocked there (posix_spawn blocks every signal while it clones), it is queued for
	 * the process and wakes the first thread that does not block it: inforegd's main()
	 * blocks SIGCHLD in every other thread, or the main loop would be woken out of its
	 * sigtimedwait at children's exits (measured: 40 extra wake-ups a second and 140 us
	 * of its CPU a tick with 10 exec rules at 10 Hz).
	 */
	sigfillset(&all);
	sigdelset(&all, SIGCHLD);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&r->thread, NULL, runner_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		pthread_mutex_destroy(&r->qlock);
		goto fail;
	}
	pthread_setname_np(r->thread, "ird-spawn"); /* for top -H and the benches */
	return r;
fail:
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->evfd >= 0)
		close(r->evfd);
	free(r);
	errno = e;
	return NULL;
}

void spawn_runner_free(struct spawn_runner *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->qlock);
	r->stopping = 1;
	pthread_mutex_unlock(&r->qlock);
	runner_wake(r);
	pthread_join(r->thread, NULL);
	close(r->epfd);
	close(r->evfd);
	pthread_mutex_destroy(&r->qlock);
	free(r);
}

unsigned spawn_runner_running(struct spawn_runner *r)
{
	return atomic_load_explicit(&r->running, memory_order_relaxed);
}

/* ---- the shared runner ------------------------------------------------------- */

static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static struct spawn_runner *shared;
static int shared_errno;

static void shared_stop(void)
{
	spawn_runner_free(shared);
	shared = NULL;
}

static void shared_start(void)
{
	shared = spawn_runner_new();
	if (!shared)
		shared_errno = errno;
	else
		atexit(shared_stop);
}

struct spawn_runner *spawn_runner_shared(void)
{
	pthread_once(&shared_once, shared_start); /* the once orders `shared` for every caller */
	if (!shared)
		errno = shared_errno;
	return shared;
}
