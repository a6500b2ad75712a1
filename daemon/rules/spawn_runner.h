/* SPDX-License-Identifier: MIT */
/*
 * spawn_runner.h - the daemon's one process runner: runs programs (exec rules, device
 * providers that shell out) without ever blocking the tick.
 *
 * A runner is one thread with an epoll set over each running program's pidfd and its
 * non-blocking stdout/stderr pipes. A job is one command prepared once (argv copied,
 * environment built) and started again and again; it never has more than one run in
 * flight (spawn_job_start answers -EBUSY); scheduled (spawn_job_schedule), the
 * runner starts its runs itself every period. Each run is its own session and process
 * group (setsid), started with stdin on /dev/null, default signal dispositions, an
 * empty signal mask, no inherited descriptor above 2, and 10 nice levels below the
 * daemon (the runner thread's own priority: programs are background work). When the run ends the group
 * is killed (SIGKILL) before the leader is reaped, so a background child it left
 * behind goes with it; at the timeout the whole group is killed.
 *
 * When a run is over, the job's on_done hook runs on the runner thread with the
 * result (exit status or signal or timeout, up to SPAWN_OUT_MAX bytes of stdout, the
 * first SPAWN_ERR_MAX bytes of stderr). It should parse and publish quickly (a
 * pointer exchange, a short mutex): it holds up the runner's other programs while it
 * runs. Starting a run is a queue push and an eventfd write from the caller's thread:
 * fork/exec, reading and reaping all happen on the runner thread.
 *
 * Error convention: int returns >= 0 or -errno; constructors return NULL with errno.
 */
#ifndef INFOREGD_SPAWN_RUNNER_H
#define INFOREGD_SPAWN_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#define SPAWN_OUT_MAX (64 * 1024) /* stdout bytes kept; more kills the run */
#define SPAWN_ERR_MAX 512         /* stderr bytes kept; the rest is read and dropped */

enum spawn_end {
	SPAWN_EXITED = 1, /* code: the exit status */
	SPAWN_SIGNALED,   /* code: the signal that ended the program */
	SPAWN_TIMEOUT,    /* killed at timeout_ms (or its output stayed open past it) */
	SPAWN_FAILED,     /* could not be started; code: -errno */
};

struct spawn_result {
	enum spawn_end end;
	int code;
	int out_overflow;  /* stdout passed SPAWN_OUT_MAX: the group was killed; out has the first part */
	size_t out_len;
	const char *out;   /* out_len bytes of stdout, NUL-terminated (may contain other NULs) */
	size_t err_len;
	const char *err;   /* the first err_len bytes of stderr, NUL-terminated */
	uint64_t start_mono_ns, end_mono_ns; /* CLOCK_MONOTONIC at spawn and at the end */
};

struct spawn_cmd {
	/* argv[0] is the program: a path, or a name looked up in the daemon's PATH. */
	const char *const *argv;
	/* 1: run /bin/sh -c argv[0], argv[1...] becoming $0, $1, ... */
	int shell;
	/* NULL-terminated "NAME=value" entries added to (or replacing in) the daemon's
	 * environment as it is when the job is made; NULL: the environment unchanged. */
	const char *const *env;
	uint32_t timeout_ms; /* > 0 */
	/* Called on the runner thread when a run is over; R is valid only during the call. */
	void (*on_done)(const struct spawn_result *r, void *arg);
	void *arg;
};

struct spawn_runner;
struct spawn_job;

/* Starts a runner thread. Returns NULL and sets errno. */
struct spawn_runner *spawn_runner_new(void);
/*
 * Stops the runner: every program still running is killed with its group and reaped,
 * queued runs never start, no on_done is called any more; joins the thread. Jobs stay
 * valid (free them with spawn_job_free) but must not be started again. Accepts NULL.
 */
void spawn_runner_free(struct spawn_runner *r);
/*
 * The daemon's shared runner, started at the first call (any thread) and stopped at
 * exit (atexit: programs still running are killed with their groups). Returns NULL
 * and sets errno if it could not be started.
 */
struct spawn_runner *spawn_runner_shared(void);
/* Runs that are in flight (started and not yet over) on R; for status and tests. */
unsigned spawn_runner_running(struct spawn_runner *r);

/* Prepares CMD (copied). Returns NULL and sets errno (EINVAL: empty argv or timeout 0). */
struct spawn_job *spawn_job_new(const struct spawn_cmd *cmd);
/*
 * Starts one run of J on R. Returns 0, -EBUSY while the previous run is in flight
 * (until its on_done has returned), -ESHUTDOWN when R is stopping.
 */
int spawn_job_start(struct spawn_runner *r, struct spawn_job *j);
/*
 * Runs J on R every PERIOD_MS from now (the first run at once) until spawn_job_free:
 * the runner starts the runs itself, so the caller's thread does nothing per run. A
 * run due while the previous one is in flight starts when that one is over. Returns
 * 0, -EINVAL (PERIOD_MS 0, or J already scheduled), -ESHUTDOWN.
 */
int spawn_job_schedule(struct spawn_runner *r, struct spawn_job *j, uint32_t period_ms);
/* 1 while a run of J is in flight. */
int spawn_job_busy(const struct spawn_job *j);
/*
 * Releases J. When it returns, J's on_done is not running and will never be called
 * again (so its ARG may be freed); a run in flight is killed with its group and
 * reaped by the runner. Accepts NULL.
 */
void spawn_job_free(struct spawn_job *j);

/* "exit 3", "killed by signal 9 (Killed)", "timed out after 2000 ms", "cannot run: ..." */
void spawn_result_describe(const struct spawn_result *r, uint32_t timeout_ms, char *buf,
			   size_t len);

#endif /* INFOREGD_SPAWN_RUNNER_H */
