// SPDX-License-Identifier: MIT
/* it_shm_faults: kill -9 the real daemon at random points (while it starts and builds
 * its object, and while it publishes) in a loop, restarting it each time, with reader
 * processes attached that read through every libinforeg path. Readers never crash
 * (their exit status), never see a torn or out-of-order history, see the writer gone
 * (inforeg_writer_alive) within 3 periods of the kill, and follow every restarted
 * daemon (they end on the last generation). Nothing is left in /dev/shm afterwards.
 * 20 iterations by default; INFOREG_FAULT_ITERATIONS=100 for the long run. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "tap.h"

#define PERIOD_MS 100
#define READERS	  3

static char SHM[64], IRD[512];

struct shared {
	atomic_ullong kill_gen, kill_ns; /* the generation being killed and when */
	atomic_ullong last_gen;		 /* the generation left running at the end */
	atomic_int stop;
	struct {
		atomic_ullong reads, follows, gens_seen, max_gone_ns, gone_checked, late, false_gone, bad,
		    last_gen;
	} r[READERS];
};
static struct shared *S;

static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- a reader process -------------------------------------------------------- */

static void reader(int k)
{
	typeof(S->r[0]) *me = &S->r[k];
	struct inforeg_reader *r = NULL;
	while (!r && !atomic_load(&S->stop)) {
		r = inforeg_open(SHM, 0);
		if (!r)
			usleep(2000);
	}
	if (!r)
		_exit(0);
	int h = inforeg_lookup(r, "mem.total");
	uint64_t gen = 0, next = 0, reported_gone = 0;
	double vals[256], hv[64];
	struct inforeg_meta m, hm[64];
	while (!atomic_load(&S->stop)) {
		if (h < 0)
			h = inforeg_lookup(r, "mem.total");
		double v;
		int e = inforeg_read_latest(r, h, &v, &m);
		atomic_fetch_add(&me->reads, 1);
		if (e == 0 && m.generation != gen) {
			gen = m.generation;
			next = 0;
			atomic_fetch_add(&me->gens_seen, 1);
			atomic_store(&me->last_gen, gen);
		}
		if (e == 0 && !(v > 0))
			atomic_fetch_add(&me->bad, 1); /* mem.total is never 0 or NaN once published */
		inforeg_read_sample(r, vals, 256, NULL);
		struct inforeg_view view;
		if (inforeg_view_latest(r, &view) == 0)
			(void)inforeg_view_value(&view, 0);
		/* history within one generation: strictly increasing seq, never torn */
		int n = inforeg_read_history(r, h, next, hv, hm, 64, &next);
		for (int i = 1; i < n; i++)
			if (hm[i].seq <= hm[i - 1].seq && hm[i].generation == hm[i - 1].generation)
				atomic_fetch_add(&me->bad, 1);
		char doc[512];
		inforeg_doc_read(r, INFOREG_DOC_NODE, doc, sizeof(doc));

		int alive = inforeg_writer_alive(r);
		uint64_t g = inforeg_generation(r);
		if (alive == 0 && reported_gone != g) {
			reported_gone = g;
			uint64_t kg = atomic_load(&S->kill_gen), kns = atomic_load(&S->kill_ns);
			if (kg == g) {
				uint64_t lat = mono() - kns;
				atomic_fetch_add(&me->gone_checked, 1);
				if (lat > atomic_load(&me->max_gone_ns))
					atomic_store(&me->max_gone_ns, lat);
				if (lat > 3ull * PERIOD_MS * 1000000ull)
					atomic_fetch_add(&me->late, 1);
			} else if (g != 0 && atomic_load(&S->last_gen) != g && kg != 0) {
				/* gone, but not the one being killed: only a restart in between explains it */
				atomic_fetch_add(&me->false_gone, 1);
			}
		}
		if (inforeg_reopens(r) != atomic_load(&me->follows))
			atomic_store(&me->follows, inforeg_reopens(r));
		inforeg_wait(r, m.seq, 3); /* at most 3 ms between looks */
	}
	inforeg_close(r);
	_exit(0);
}

/* ---- the daemon ------------------------------------------------------------------ */

static pid_t start_daemon(void)
{
	pid_t p = fork();
	if (p == 0) {
		execl(IRD, "inforegd", "--shm", SHM, "--listen", "none", "--no-ebpf", "--period", "100",
		      (char *)NULL);
		_exit(127);
	}
	return p;
}

/* Waits until a generation other than PREV publishes; returns it (0 on timeout). */
static uint64_t wait_generation(uint64_t prev)
{
	for (int i = 0; i < 400; i++) {
		struct inforeg_reader *r = inforeg_open(SHM, 0);
		if (r) {
			uint64_t g = inforeg_generation(r);
			int ok = g != prev && inforeg_head(r) > 0 && inforeg_writer_alive(r) == 1;
			inforeg_close(r);
			if (ok)
				return g;
		}
		usleep(10000);
	}
	return 0;
}

int main(void)
{
	const char *b = getenv("INFOREG_BUILD");
	const char *it = getenv("INFOREG_FAULT_ITERATIONS");
	int iters = it ? atoi(it) : 20;
	snprintf(IRD, sizeof(IRD), "%s/bin/inforegd", b ? b : "build");
	snprintf(SHM, sizeof(SHM), "irt-faults-%d", (int)getpid());
	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(S, 0, sizeof(*S));
	srand((unsigned)getpid());

	pid_t d = start_daemon();
	uint64_t gen = wait_generation(0);
	CHECK(gen != 0);
	pid_t rd[READERS];
	for (int k = 0; k < READERS; k++)
		if ((rd[k] = fork()) == 0)
			reader(k);

	int kills_early = 0, kills_running = 0;
	for (int i = 0; i < iters && gen; i++) {
		if (i % 4 == 3) {
			/* kill it while it starts: collectors, object creation, first publish */
			atomic_store(&S->kill_gen, 0);
			kill(d, SIGKILL);
			waitpid(d, NULL, 0);
			d = start_daemon();
			usleep((useconds_t)(rand() % 40000));
			atomic_store(&S->kill_ns, mono());
			kill(d, SIGKILL);
			waitpid(d, NULL, 0);
			kills_early++;
			d = start_daemon();
			gen = wait_generation(gen);
			CHECKF(gen != 0, "iteration %d: no generation after an early kill", i);
			continue;
		}
		/* let it publish a little, then kill it at a random point of its tick */
		usleep((useconds_t)(rand() % (3 * PERIOD_MS * 1000)));
		atomic_store(&S->kill_gen, gen);
		atomic_store(&S->kill_ns, mono());
		kill(d, SIGKILL);
		waitpid(d, NULL, 0); /* reaped at once, as a service manager does */
		kills_running++;
		usleep(4 * PERIOD_MS * 1000); /* readers see it gone before the successor */
		d = start_daemon();
		uint64_t g = wait_generation(gen);
		CHECKF(g != 0, "iteration %d: the restarted daemon did not publish", i);
		gen = g;
	}
	atomic_store(&S->last_gen, gen);
	/* every reader follows the last daemon */
	for (int i = 0; i < 300; i++) {
		int all = 1;
		for (int k = 0; k < READERS; k++)
			all &= atomic_load(&S->r[k].last_gen) == gen;
		if (all)
			break;
		usleep(10000);
	}
	atomic_store(&S->stop, 1);
	for (int k = 0; k < READERS; k++) {
		int st;
		waitpid(rd[k], &st, 0);
		CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reader %d: status %#x%s", k, st,
		       WIFSIGNALED(st) ? " (killed by a signal: it crashed)" : "");
		typeof(S->r[0]) *r = &S->r[k];
		printf("# reader %d: %llu reads, %llu generations, %llu follows, writer gone seen %llu times, "
		       "at most %.1f ms after the kill\n",
		       k, atomic_load(&r->reads), atomic_load(&r->gens_seen), atomic_load(&r->follows),
		       atomic_load(&r->gone_checked), atomic_load(&r->max_gone_ns) / 1e6);
		CHECKF(atomic_load(&r->last_gen) == gen, "reader %d did not follow the last daemon", k);
		CHECKF(atomic_load(&r->late) == 0, "reader %d saw the writer gone later than 3 periods %llu times", k,
		       atomic_load(&r->late));
		CHECKF(atomic_load(&r->bad) == 0, "reader %d: %llu bad values or out-of-order history", k,
		       atomic_load(&r->bad));
		CHECKF(atomic_load(&r->false_gone) == 0, "reader %d: a live writer reported gone", k);
		CHECKF(atomic_load(&r->gone_checked) >= (unsigned long long)kills_running / 2,
		       "reader %d saw only %llu of %d kills", k, atomic_load(&r->gone_checked), kills_running);
	}
	printf("# %d kills while publishing, %d while starting\n", kills_running, kills_early);
	kill(d, SIGTERM);
	waitpid(d, NULL, 0);
	DIR *dir = opendir("/dev/shm");
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		CHECKF(strncmp(e->d_name, SHM, strlen(SHM)), "left in /dev/shm: %s", e->d_name);
	if (dir)
		closedir(dir);
	TAP_EXIT();
}
