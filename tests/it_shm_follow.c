// SPDX-License-Identifier: MIT
/* it_shm_follow: a history follower (inforeg_read_history from next_seq, then
 * inforeg_wait on the last seq it has) through the real daemon's layout changes sees
 * every sequence number exactly once, one generation, and no wait that times out:
 * a SIGHUP that keeps the series set keeps the object (same inode, no re-open); a
 * SIGHUP that changes the series set, and a watch added over REST (eBPF), make a new
 * object that continues the sequence and carries the ring's history (samples from
 * before the switch are still in the new object). Prints the longest gap between
 * consecutive samples around each switch. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "tap.h"

#define PERIOD_MS 50

static char SHM[64], PATH[128], CFG[128], TOKEN[128], IRD[512], PORT[16];

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	getsockname(s, (struct sockaddr *)&a, &l);
	close(s);
	return ntohs(a.sin_port);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static ino_t inode(void)
{
	struct stat st;
	return stat(PATH, &st) == 0 ? st.st_ino : 0;
}

/* ---- the follower ------------------------------------------------------------- */

static struct {
	struct inforeg_reader *r;
	int h;
	atomic_int stop;
	atomic_ullong count, last_seq, timeouts, gaps, gens, max_gap_ns;
	uint64_t first_seq, gen;
	pthread_mutex_t lock;
} F = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *follow(void *arg)
{
	(void)arg;
	uint64_t next = 0, prev_mono = 0;
	int have = 0;
	double v[64];
	struct inforeg_meta m[64];
	while (!atomic_load(&F.stop)) {
		int n = inforeg_read_history(F.r, F.h, next, v, m, 64, &next);
		for (int i = 0; i < n; i++) {
			if (!have) {
				F.first_seq = m[i].seq;
				F.gen = m[i].generation;
				have = 1;
			} else {
				if (m[i].seq != atomic_load(&F.last_seq) + 1) {
					fprintf(stderr, "gap: seq %llu after %llu\n", (unsigned long long)m[i].seq,
						(unsigned long long)atomic_load(&F.last_seq));
					atomic_fetch_add(&F.gaps, 1);
				}
				if (m[i].generation != F.gen)
					atomic_fetch_add(&F.gens, 1);
				uint64_t gap = m[i].monotonic_ns - prev_mono;
				if (gap > atomic_load(&F.max_gap_ns))
					atomic_store(&F.max_gap_ns, gap);
			}
			prev_mono = m[i].monotonic_ns;
			atomic_store(&F.last_seq, m[i].seq);
			atomic_fetch_add(&F.count, 1);
		}
		if (n < 0 && n != -ENOENT) {
			fprintf(stderr, "read_history: %d\n", n);
			atomic_fetch_add(&F.gaps, 1);
			break;
		}
		if (!have)
			continue;
		/* 2 s = 40 periods: only a stalled cursor (the old restart at 0) times out */
		int e = inforeg_wait(F.r, atomic_load(&F.last_seq), 2000);
		if (e == -ETIMEDOUT && !atomic_load(&F.stop)) {
			fprintf(stderr, "inforeg_wait(%llu) timed out\n", (unsigned long long)atomic_load(&F.last_seq));
			atomic_fetch_add(&F.timeouts, 1);
		}
	}
	return NULL;
}

static void wait_samples(unsigned long long n)
{
	unsigned long long target = atomic_load(&F.count) + n;
	for (int i = 0; i < 400 && atomic_load(&F.count) < target; i++)
		usleep(25000);
	CHECKF(atomic_load(&F.count) >= target, "follower stuck at %llu samples", atomic_load(&F.count));
}

/* Oldest seq the current object still has (history by seq 0). */
static uint64_t oldest_seq(void)
{
	struct inforeg_meta m;
	uint64_t next;
	return inforeg_read_history(F.r, F.h, 0, NULL, &m, 1, &next) == 1 ? m.seq : UINT64_MAX;
}

static int status_has(const char *needle)
{
	char *buf = malloc(INFOREG_DOC_MAX);
	int ok = inforeg_doc_read(F.r, INFOREG_DOC_STATUS, buf, INFOREG_DOC_MAX) > 0 && strstr(buf, needle);
	free(buf);
	return ok;
}

int main(void)
{
	const char *b = getenv("INFOREG_BUILD");
	snprintf(IRD, sizeof(IRD), "%s/bin/inforegd", b ? b : "build");
	snprintf(SHM, sizeof(SHM), "irt-follow-%d", (int)getpid());
	snprintf(PATH, sizeof(PATH), "/dev/shm/%s", SHM);
	snprintf(CFG, sizeof(CFG), "/tmp/%s.conf", SHM);
	snprintf(TOKEN, sizeof(TOKEN), "/tmp/%s.token", SHM);
	snprintf(PORT, sizeof(PORT), "%d", free_port());
	write_file(CFG, "period_ms = 50\n");
	write_file(TOKEN, "follow-test-token\n");
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%s", PORT);
	pid_t d = fork();
	if (d == 0) {
		execl(IRD, "inforegd", "--shm", SHM, "--config", CFG, "--listen", listen, "--token-file", TOKEN,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !F.r; i++) {
		F.r = inforeg_open(SHM, 0);
		if (!F.r)
			usleep(50000);
	}
	CHECK(F.r != NULL);
	if (!F.r)
		goto out;
	F.h = inforeg_lookup(F.r, "cpu.usage");
	CHECK(F.h >= 0);
	pthread_t th;
	pthread_create(&th, NULL, follow, NULL);
	wait_samples(10);

	/* 1. a reload that changes nothing: same object, nobody re-opens */
	ino_t ino = inode();
	unsigned long long gap0 = atomic_load(&F.max_gap_ns);
	kill(d, SIGHUP);
	for (int i = 0; i < 100 && !status_has("\"result\":\"applied\""); i++)
		usleep(50000);
	CHECK(status_has("\"result\":\"applied\""));
	wait_samples(10);
	CHECKF(inode() == ino, "an unchanged reload replaced the object");
	CHECKF(inforeg_reopens(F.r) == 0, "reopens %llu", (unsigned long long)inforeg_reopens(F.r));
	printf("# unchanged reload: object kept; longest gap %.1f ms\n", atomic_load(&F.max_gap_ns) / 1e6);
	(void)gap0;

	/* 2. a reload that changes the series set: a new object continuing the sequence */
	uint64_t before = atomic_load(&F.last_seq);
	write_file(CFG, "period_ms = 50\ndisable = load\n");
	kill(d, SIGHUP);
	for (int i = 0; i < 200 && inforeg_reopens(F.r) < 1; i++)
		usleep(25000);
	wait_samples(10);
	CHECKF(inforeg_reopens(F.r) == 1, "reopens %llu", (unsigned long long)inforeg_reopens(F.r));
	CHECKF(inode() != ino, "a new series set kept the old object");
	CHECK(inforeg_lookup(F.r, "load.1") == -ENOENT);
	uint64_t old = oldest_seq();
	CHECKF(old <= before, "history lost: the new object starts at %llu, the switch was after %llu",
	       (unsigned long long)old, (unsigned long long)before);
	printf("# new series set by reload: seq continues, history from %llu kept (switch after %llu)\n",
	       (unsigned long long)old, (unsigned long long)before);

	/* 3. a watch added at run time (eBPF): a new object from inside the tick */
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "curl -s -o /dev/null -w '%%{http_code}' -X PUT -H 'Authorization: Bearer follow-test-token' "
		 "-d '{\"pid\":%d}' http://127.0.0.1:%s/v1/watch/followtest",
		 (int)getpid(), PORT);
	FILE *p = popen(cmd, "r");
	char code[8] = "";
	if (p) {
		if (!fgets(code, sizeof(code), p))
			code[0] = 0;
		pclose(p);
	}
	if (!strcmp(code, "201")) {
		atomic_store(&F.max_gap_ns, 0);
		before = atomic_load(&F.last_seq);
		for (int i = 0; i < 200 && inforeg_reopens(F.r) < 2; i++)
			usleep(25000);
		wait_samples(10);
		CHECKF(inforeg_reopens(F.r) == 2, "reopens %llu", (unsigned long long)inforeg_reopens(F.r));
		CHECK(inforeg_lookup(F.r, "task.cpu.usage{watch=\"followtest\"}") >= 0);
		old = oldest_seq();
		CHECKF(old <= before, "history lost at the watch add: new object starts at %llu, switch after %llu",
		       (unsigned long long)old, (unsigned long long)before);
		unsigned long long gap = atomic_load(&F.max_gap_ns);
		/* one period is the budget; 10 is a bound a loaded machine keeps */
		CHECKF(gap < 10ull * PERIOD_MS * 1000000ull, "%.1f ms without a sample around the watch add",
		       gap / 1e6);
		printf("# watch add: seq continues, longest gap between samples %.1f ms (period %d ms)\n", gap / 1e6,
		       PERIOD_MS);
	} else {
		printf("# watch add not tested: PUT /v1/watch answered '%s' (no eBPF?)\n", code);
	}

	atomic_store(&F.stop, 1);
	pthread_join(th, NULL);
	printf("# follower: %llu samples from seq %llu to %llu\n", atomic_load(&F.count),
	       (unsigned long long)F.first_seq, atomic_load(&F.last_seq));
	CHECK(atomic_load(&F.gaps) == 0);
	CHECK(atomic_load(&F.gens) == 0);
	CHECK(atomic_load(&F.timeouts) == 0);
	CHECK(atomic_load(&F.last_seq) - F.first_seq + 1 == atomic_load(&F.count));
	inforeg_close(F.r);
out:
	kill(d, SIGTERM);
	int st;
	waitpid(d, &st, 0);
	unlink(CFG);
	unlink(TOKEN);
	TAP_EXIT();
}
