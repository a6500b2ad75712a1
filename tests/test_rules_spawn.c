// SPDX-License-Identifier: MIT
/*
 * test_rules_spawn.c - the process runner (daemon/rules/spawn_runner.h): exit status,
 * signal, timeout (a hanging script and the child it forked both killed with their
 * group), a leader that exits leaving a background child (cleaned up, result at
 * once), bounded stdout, stderr excerpt, several runs at once, one run in flight per
 * job, environment, no shell unless asked, no inherited descriptors or blocked
 * signals, 10 nice levels below the caller, a job freed or a runner stopped while a
 * program runs, a job scheduled every period (runs never overlap, none after the
 * free). Timing bounds are generous (a loaded machine): only "killed near its
 * timeout" vs "ran to its end" is told apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rules/spawn_runner.h"
#include "tap.h"

struct box {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
	struct spawn_result r;
	char out[SPAWN_OUT_MAX + 1];
	char err[SPAWN_ERR_MAX + 1];
};

static void box_init(struct box *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
}

static void on_done(const struct spawn_result *r, void *arg)
{
	struct box *b = arg;
	pthread_mutex_lock(&b->mu);
	b->r = *r;
	memcpy(b->out, r->out, r->out_len + 1);
	memcpy(b->err, r->err, r->err_len + 1);
	b->r.out = b->out;
	b->r.err = b->err;
	b->calls++;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Waits until B has seen CALLS results (at most SECS seconds). Returns 1 if it did. */
static int box_wait(struct box *b, int calls, int secs)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&b->mu);
	while (b->calls < calls && pthread_cond_timedwait(&b->cv, &b->mu, &ts) == 0)
		;
	int ok = b->calls >= calls;
	pthread_mutex_unlock(&b->mu);
	return ok;
}

static double elapsed_s(const struct spawn_result *r)
{
	return (double)(r->end_mono_ns - r->start_mono_ns) / 1e9;
}

static struct spawn_runner *R;

/* Runs ARGV once and waits for its result in B. */
static int run_cmd(struct box *b, const char *const *argv, int shell, const char *const *env,
		   uint32_t timeout_ms)
{
	struct spawn_cmd cmd = {.argv = argv, .shell = shell, .env = env, .timeout_ms = timeout_ms,
				.on_done = on_done, .arg = b};
	box_init(b);
	struct spawn_job *j = spawn_job_new(&cmd);
	if (!j)
		return -errno;
	int e = spawn_job_start(R, j);
	if (e == 0 && !box_wait(b, 1, 30))
		e = -ETIMEDOUT;
	spawn_job_free(j);
	return e;
}

#define SH(...) ((const char *const[]){__VA_ARGS__, NULL})

/* 1 if PID is gone or a zombie waiting for a reaper (killed, either way). */
static int pid_dead(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

/* Polls up to 5 s for PID to die (SIGKILL is delivered asynchronously). */
static int pid_dies(pid_t pid)
{
	for (int i = 0; i < 500; i++) {
		if (pid_dead(pid))
			return 1;
		usleep(10000);
	}
	return 0;
}

static char tmpdir[] = "/tmp/test_rules_spawn.XXXXXX";

static void exit_status_and_output(void)
{
	struct box b;
	CHECK(run_cmd(&b, SH("printf '42\\n'; echo oops >&2; exit 0"), 1, NULL, 5000) == 0);
	CHECK(b.r.end == SPAWN_EXITED && b.r.code == 0);
	CHECKF(!strcmp(b.out, "42\n"), "out \"%s\"", b.out);
	CHECKF(!strcmp(b.err, "oops\n"), "err \"%s\"", b.err);
	CHECK(b.r.out_len == 3 && b.r.err_len == 5 && !b.r.out_overflow);
	CHECK(b.r.end_mono_ns >= b.r.start_mono_ns);
}

static void exit_1_is_reported(void)
{
	struct box b;
	char d[64];
	CHECK(run_cmd(&b, SH("echo partial; exit 1"), 1, NULL, 5000) == 0);
	CHECK(b.r.end == SPAWN_EXITED && b.r.code == 1);
	CHECK(!strcmp(b.out, "partial\n"));
	spawn_result_describe(&b.r, 5000, d, sizeof(d));
	CHECKF(!strcmp(d, "exit 1"), "%s", d);
}

static void killed_by_a_signal_is_reported(void)
{
	struct box b;
	char d[64];
	/* SIGTERM is blocked in this thread (main): the child must start with an empty mask */
	CHECK(run_cmd(&b, SH("kill -TERM $$; sleep 5"), 1, NULL, 10000) == 0);
	CHECKF(b.r.end == SPAWN_SIGNALED && b.r.code == SIGTERM, "end %d code %d", b.r.end, b.r.code);
	CHECK(elapsed_s(&b.r) < 4);
	spawn_result_describe(&b.r, 10000, d, sizeof(d));
	CHECKF(!strncmp(d, "killed by signal 15", 19), "%s", d);
	/* SIGPIPE ignored by the daemon: the child has the default (dies of it) */
	CHECK(run_cmd(&b, SH("kill -PIPE $$; sleep 5"), 1, NULL, 10000) == 0);
	CHECKF(b.r.end == SPAWN_SIGNALED && b.r.code == SIGPIPE, "end %d code %d", b.r.end, b.r.code);
}

static void hanging_script_and_its_child_killed_at_timeout(void)
{
	struct box b;
	char script[512], pidfile[128], d[64];
	snprintf(pidfile, sizeof(pidfile), "%s/hang.pid", tmpdir);
	/* the forked child ignores SIGTERM and lingers; only the group kill gets it */
	snprintf(script, sizeof(script),
		 "(trap '' TERM; exec sleep 100) & echo $! > %s; echo started; sleep 100", pidfile);
	CHECK(run_cmd(&b, SH(script), 1, NULL, 300) == 0);
	CHECKF(b.r.end == SPAWN_TIMEOUT, "end %d code %d", b.r.end, b.r.code);
	CHECKF(elapsed_s(&b.r) >= 0.29 && elapsed_s(&b.r) < 20, "elapsed %.3f s", elapsed_s(&b.r));
	CHECK(!strcmp(b.out, "started\n")); /* what it printed before is kept */
	spawn_result_describe(&b.r, 300, d, sizeof(d));
	CHECKF(!strcmp(d, "timed out after 300 ms"), "%s", d);
	pid_t child = read_pid(pidfile);
	CHECK(child > 0);
	CHECKF(child > 0 && pid_dies(child), "forked child %d still running", (int)child);
}

static void leftover_background_child_killed_when_leader_exits(void)
{
	struct box b;
	char script[512], pidfile[128];
	snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", tmpdir);
	/* the child keeps stdout open: without the group kill the run would last 100 s */
	snprintf(script, sizeof(script), "sleep 100 & echo $! > %s; echo 7", pidfile);
	CHECK(run_cmd(&b, SH(script), 1, NULL, 20000) == 0);
	CHECKF(b.r.end == SPAWN_EXITED && b.r.code == 0, "end %d code %d", b.r.end, b.r.code);
	CHECK(!strcmp(b.out, "7\n"));
	CHECKF(elapsed_s(&b.r) < 10, "elapsed %.3f s", elapsed_s(&b.r));
	pid_t child = read_pid(pidfile);
	CHECKF(child > 0 && pid_dies(child), "background child %d still running", (int)child);
}

static void stdout_is_bounded(void)
{
	struct box b;
	char d[64];
	CHECK(run_cmd(&b, SH("yes", "0123456789"), 0, NULL, 20000) == 0);
	CHECK(b.r.out_overflow);
	CHECK(b.r.out_len == SPAWN_OUT_MAX);
	CHECK(b.r.end == SPAWN_SIGNALED && b.r.code == SIGKILL);
	CHECK(!strncmp(b.out, "0123456789\n0123456789\n", 22));
	spawn_result_describe(&b.r, 20000, d, sizeof(d));
	CHECKF(strstr(d, "output larger than") != NULL, "%s", d);
	/* exactly SPAWN_OUT_MAX bytes is fine */
	CHECK(run_cmd(&b, SH("head -c 65536 /dev/zero | tr '\\0' x"), 1, NULL, 20000) == 0);
	CHECK(!b.r.out_overflow && b.r.out_len == SPAWN_OUT_MAX && b.r.end == SPAWN_EXITED);
}

static void stderr_excerpt_is_bounded(void)
{
	struct box b;
	CHECK(run_cmd(&b, SH("head -c 100000 /dev/zero | tr '\\0' e >&2; echo 1"), 1, NULL, 20000) == 0);
	CHECK(b.r.end == SPAWN_EXITED && b.r.code == 0);
	CHECK(b.r.err_len == SPAWN_ERR_MAX);
	CHECK(!strcmp(b.out, "1\n"));
}

static void no_shell_unless_asked(void)
{
	struct box b;
	CHECK(run_cmd(&b, SH("/bin/echo", "a  b;$HOME", "c"), 0, NULL, 5000) == 0);
	CHECKF(!strcmp(b.out, "a  b;$HOME c\n"), "out \"%s\"", b.out);
	/* a name without a slash is looked up in PATH */
	CHECK(run_cmd(&b, SH("echo", "x"), 0, NULL, 5000) == 0);
	CHECK(b.r.end == SPAWN_EXITED && !strcmp(b.out, "x\n"));
	/* shell: argv[1] is $0, argv[2] is $1 */
	CHECK(run_cmd(&b, SH("echo $0-$1", "zero", "one"), 1, NULL, 5000) == 0);
	CHECKF(!strcmp(b.out, "zero-one\n"), "out \"%s\"", b.out);
}

static void missing_program_fails_to_start(void)
{
	struct box b;
	char d[128];
	CHECK(run_cmd(&b, SH("/nonexistent/prog"), 0, NULL, 5000) == 0);
	CHECKF(b.r.end == SPAWN_FAILED && b.r.code == -ENOENT, "end %d code %d", b.r.end, b.r.code);
	spawn_result_describe(&b.r, 5000, d, sizeof(d));
	CHECKF(!strcmp(d, "cannot run: No such file or directory"), "%s", d);
}

static void environment_added_to_the_daemons(void)
{
	struct box b;
	setenv("SPAWN_TEST_KEEP", "kept", 1);
	setenv("SPAWN_TEST_OVER", "old", 1);
	CHECK(run_cmd(&b, SH("echo $SPAWN_TEST_KEEP $SPAWN_TEST_OVER $SPAWN_TEST_NEW"), 1,
		      SH("SPAWN_TEST_OVER=new", "SPAWN_TEST_NEW=x y"), 5000) == 0);
	CHECKF(!strcmp(b.out, "kept new x y\n"), "out \"%s\"", b.out);
}

static void no_descriptor_inherited(void)
{
	struct box b;
	int fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	CHECK(fd >= 0 && dup2(fd, 77) == 77);
	CHECK(run_cmd(&b, SH("test -e /proc/$$/fd/77 && echo leaked || echo clean; "
			     "read x && echo stdin-had-data || echo stdin-empty"),
		      1, NULL, 5000) == 0);
	CHECKF(!strcmp(b.out, "clean\nstdin-empty\n"), "out \"%s\"", b.out);
	close(77);
	close(fd);
}

static void programs_run_nicer_than_the_daemon(void)
{
	struct box b;
	errno = 0;
	int mine = getpriority(PRIO_PROCESS, 0);
	CHECK(run_cmd(&b, SH("cut -d' ' -f19 /proc/$$/stat"), 1, NULL, 5000) == 0);
	int want = mine + 10 > 19 ? 19 : mine + 10;
	CHECKF(atoi(b.out) == want, "program's nice %s, want %d", b.out, want);
}

static void several_run_at_once(void)
{
	enum { N = 6 };
	struct box b[N];
	struct spawn_job *j[N];
	struct spawn_cmd cmd = {.argv = SH("sleep 1; echo done"), .shell = 1, .timeout_ms = 30000,
				.on_done = on_done};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++) {
		box_init(&b[i]);
		cmd.arg = &b[i];
		j[i] = spawn_job_new(&cmd);
		CHECK(j[i] && spawn_job_start(R, j[i]) == 0);
	}
	for (int i = 0; i < N; i++) {
		CHECK(box_wait(&b[i], 1, 30));
		CHECK(b[i].r.end == SPAWN_EXITED && !strcmp(b[i].out, "done\n"));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* in sequence they would take at least N s */
	CHECKF(s < N - 1, "%d one-second programs took %.2f s", N, s);
	for (int i = 0; i < N; i++)
		spawn_job_free(j[i]);
}

static void one_run_in_flight_per_job(void)
{
	struct box b;
	box_init(&b);
	struct spawn_cmd cmd = {.argv = SH("sleep 0.3; echo 1"), .shell = 1, .timeout_ms = 10000,
				.on_done = on_done, .arg = &b};
	struct spawn_job *j = spawn_job_new(&cmd);
	CHECK(j && spawn_job_start(R, j) == 0);
	CHECK(spawn_job_busy(j));
	CHECK(spawn_job_start(R, j) == -EBUSY);
	CHECK(box_wait(&b, 1, 30));
	/* busy is cleared after on_done returns; wait for it rather than race it */
	for (int i = 0; i < 1000 && spawn_job_busy(j); i++)
		usleep(1000);
	CHECK(!spawn_job_busy(j));
	CHECK(spawn_job_start(R, j) == 0); /* and the job runs again */
	CHECK(box_wait(&b, 2, 30));
	CHECK(b.calls == 2 && b.r.end == SPAWN_EXITED);
	spawn_job_free(j);
}

static void job_freed_while_running_is_killed_without_report(void)
{
	struct box b;
	char script[512], pidfile[128];
	snprintf(pidfile, sizeof(pidfile), "%s/freed.pid", tmpdir);
	snprintf(script, sizeof(script), "echo $$ > %s.tmp; mv %s.tmp %s; sleep 100", pidfile, pidfile,
		 pidfile);
	box_init(&b);
	struct spawn_cmd cmd = {.argv = SH(script), .shell = 1, .timeout_ms = 60000, .on_done = on_done,
				.arg = &b};
	struct spawn_job *j = spawn_job_new(&cmd);
	CHECK(j && spawn_job_start(R, j) == 0);
	pid_t pid = 0;
	for (int i = 0; i < 500 && !(pid = read_pid(pidfile)); i++)
		usleep(10000);
	CHECK(pid > 0);
	spawn_job_free(j);
	CHECKF(pid > 0 && pid_dies(pid), "program %d of a freed job still running", (int)pid);
	for (int i = 0; i < 200 && spawn_runner_running(R); i++)
		usleep(10000);
	CHECK(spawn_runner_running(R) == 0);
	CHECK(b.calls == 0);
}

static void runner_stopped_while_running_kills(void)
{
	struct box b;
	char script[512], pidfile[128];
	snprintf(pidfile, sizeof(pidfile), "%s/stopped.pid", tmpdir);
	snprintf(script, sizeof(script), "echo $$ > %s.tmp; mv %s.tmp %s; sleep 100", pidfile, pidfile,
		 pidfile);
	struct spawn_runner *r2 = spawn_runner_new();
	CHECK(r2 != NULL);
	if (!r2)
		return;
	box_init(&b);
	struct spawn_cmd cmd = {.argv = SH(script), .shell = 1, .timeout_ms = 60000, .on_done = on_done,
				.arg = &b};
	struct spawn_job *j = spawn_job_new(&cmd);
	CHECK(j && spawn_job_start(r2, j) == 0);
	pid_t pid = 0;
	for (int i = 0; i < 500 && !(pid = read_pid(pidfile)); i++)
		usleep(10000);
	CHECK(pid > 0);
	spawn_runner_free(r2);
	CHECKF(pid > 0 && pid_dead(pid), "program %d still running after the runner stopped", (int)pid);
	CHECK(b.calls == 0 && !spawn_job_busy(j));
	spawn_job_free(j);
}

struct sched_box {
	pthread_mutex_t mu;
	int runs, bad;
	uint64_t first_start, last_start;
};

static void on_sched(const struct spawn_result *r, void *arg)
{
	struct sched_box *b = arg;
	pthread_mutex_lock(&b->mu);
	if (!b->runs)
		b->first_start = r->start_mono_ns;
	b->last_start = r->start_mono_ns;
	b->runs++;
	b->bad += !(r->end == SPAWN_EXITED && r->code == 0);
	pthread_mutex_unlock(&b->mu);
}

static int sched_runs(struct sched_box *b)
{
	pthread_mutex_lock(&b->mu);
	int n = b->runs;
	pthread_mutex_unlock(&b->mu);
	return n;
}

static void scheduled_job_runs_every_period_never_overlapping(void)
{
	static struct sched_box fast = {.mu = PTHREAD_MUTEX_INITIALIZER},
				slow = {.mu = PTHREAD_MUTEX_INITIALIZER};
	char script[512];
	/* every 100 ms, quick */
	struct spawn_cmd cmd = {.argv = SH("true"), .timeout_ms = 10000, .on_done = on_sched, .arg = &fast};
	struct spawn_job *jf = spawn_job_new(&cmd);
	/* every 100 ms, but each run takes 250 ms or more: runs must never overlap */
	snprintf(script, sizeof(script),
		 "mkdir %s/lock || exit 3; sleep 0.25; rmdir %s/lock", tmpdir, tmpdir);
	struct spawn_cmd cmd2 = {.argv = SH(script), .shell = 1, .timeout_ms = 10000, .on_done = on_sched,
				 .arg = &slow};
	struct spawn_job *js = spawn_job_new(&cmd2);
	CHECK(jf && js);
	CHECK(spawn_job_schedule(R, jf, 100) == 0);
	CHECK(spawn_job_schedule(R, jf, 100) == -EINVAL); /* once */
	CHECK(spawn_job_schedule(R, js, 100) == 0);
	/* wait for 6 runs of each (load decides how long; 30 s at most) */
	for (int i = 0; i < 3000 && (sched_runs(&fast) < 6 || sched_runs(&slow) < 6); i++)
		usleep(10000);
	spawn_job_free(jf);
	spawn_job_free(js);
	int nf = sched_runs(&fast), ns = sched_runs(&slow);
	CHECKF(nf >= 6 && ns >= 6, "runs: %d quick, %d slow", nf, ns);
	/* never faster than the period: N runs started over at least (N-1) periods */
	double span_f = (double)(fast.last_start - fast.first_start) / 1e9,
	       span_s = (double)(slow.last_start - slow.first_start) / 1e9;
	CHECKF(span_f >= (nf - 1) * 0.1 - 0.002, "%d quick runs started within %.3f s", nf, span_f);
	/* one in flight: each slow run waited for the previous one (>= 0.25 s each) */
	CHECKF(span_s >= (ns - 1) * 0.25 - 0.002, "%d slow runs started within %.3f s", ns, span_s);
	CHECKF(slow.bad == 0 && fast.bad == 0, "%d slow runs overlapped or failed, %d quick failed", slow.bad,
	       fast.bad);
	usleep(500000);
	CHECK(sched_runs(&fast) == nf && sched_runs(&slow) == ns); /* unscheduled with the free */
	for (int i = 0; i < 200 && spawn_runner_running(R); i++)
		usleep(10000);
	CHECK(spawn_runner_running(R) == 0);
	printf("scheduled at 100 ms: %d quick runs over %.2f s, %d 250 ms runs over %.2f s\n", nf, span_f, ns,
	       span_s);
}

static void bad_commands_are_refused(void)
{
	struct spawn_cmd cmd = {.argv = SH("true"), .timeout_ms = 0};
	errno = 0;
	CHECK(spawn_job_new(&cmd) == NULL && errno == EINVAL);
	cmd.timeout_ms = 100;
	cmd.argv = (const char *const[]){NULL};
	CHECK(spawn_job_new(&cmd) == NULL && errno == EINVAL);
	cmd.argv = SH("");
	CHECK(spawn_job_new(&cmd) == NULL && errno == EINVAL);
}

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* as inforegd's main() does */
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	R = spawn_runner_new();
	if (!R) {
		perror("spawn_runner_new");
		return 1;
	}
	RUN(exit_status_and_output);
	RUN(exit_1_is_reported);
	RUN(killed_by_a_signal_is_reported);
	RUN(hanging_script_and_its_child_killed_at_timeout);
	RUN(leftover_background_child_killed_when_leader_exits);
	RUN(stdout_is_bounded);
	RUN(stderr_excerpt_is_bounded);
	RUN(no_shell_unless_asked);
	RUN(missing_program_fails_to_start);
	RUN(environment_added_to_the_daemons);
	RUN(no_descriptor_inherited);
	RUN(programs_run_nicer_than_the_daemon);
	RUN(several_run_at_once);
	RUN(one_run_in_flight_per_job);
	RUN(job_freed_while_running_is_killed_without_report);
	RUN(runner_stopped_while_running_kills);
	RUN(scheduled_job_runs_every_period_never_overlapping);
	RUN(bad_commands_are_refused);
	spawn_runner_free(R);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	TAP_EXIT();
}
