// SPDX-License-Identifier: MIT
/* it_devices_nvml: the real inforegd with the nvml provider loaded from the fake NVML
 * library (build/tests/fake_nvml.so, scripted through $FAKE_NVML_SCRIPT):
 *  - every gpu.* series carries exactly the scripted value; gpu.count, gpu.free and the
 *    inventory (/v1/node document) match the script;
 *  - an entry point that fails (nvmlDeviceGetPowerUsage) makes only gpu.power NaN, the
 *    provider's status names the failing call, everything else keeps its value;
 *  - an entry point that sleeps 5 s does not delay the tick: checked on the ring's own
 *    timestamps (no gap between samples, and devices.age + the sample's monotonic time
 *    stays the reading's time while the worker hangs), and the values turn NaN once the
 *    reading is older than devices_stale_ms;
 *  - with eBPF (root), a pid watch and a comm watch of this process get
 *    task.gpu.mem / task.gpu.util from the fake's per-process figures. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inforeg.h"
#include "tap.h"

static char SHM[64], IRD[512], DIR_[256], SCRIPT[300], CONF[300], B[256];

static void write_file(const char *path, const char *text)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	rename(tmp, path); /* the fake re-reads a script whose inode changed */
}

static pid_t start_daemon(void)
{
	pid_t p = fork();
	if (p == 0) {
		setenv("FAKE_NVML_SCRIPT", SCRIPT, 1);
		char log[400];
		snprintf(log, sizeof(log), "%s/inforegd.log", DIR_);
		if (!freopen(log, "w", stderr))
			_exit(126);
		execl(IRD, "inforegd", "--shm", SHM, "--config", CONF, (char *)NULL);
		_exit(127);
	}
	return p;
}

static struct inforeg_reader *wait_open(void)
{
	for (int i = 0; i < 100; i++) {
		struct inforeg_reader *r = inforeg_open(SHM, 0);
		if (r) {
			if (inforeg_wait(r, INFOREG_SEQ_NONE, 2000) == 0)
				return r;
			inforeg_close(r);
		}
		usleep(100000);
	}
	return NULL;
}

/* Latest value of NAME, NaN when the series is missing. */
static double get(struct inforeg_reader *r, const char *name)
{
	double v = NAN;
	inforeg_refresh(r);
	int h = inforeg_lookup(r, name);
	if (h < 0 || inforeg_read_latest(r, h, &v, NULL) < 0)
		return NAN;
	return v;
}

static double getf(struct inforeg_reader *r, const char *fmt, const char *a, int b)
{
	char name[200];
	snprintf(name, sizeof(name), fmt, a, b);
	return get(r, name);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits (at most 10 s) until NAME's NaN-ness is WANT_NAN. Returns 1 when it is. */
static int wait_nan(struct inforeg_reader *r, const char *name, int want_nan)
{
	for (int i = 0; i < 200; i++) {
		if ((isnan(get(r, name)) ? 1 : 0) == want_nan)
			return 1;
		sleep_ms(50);
	}
	return 0;
}

static const char base_script[] = "count 2\n"
				  "driver 550.54.15\n"
				  "gpu0 name NVIDIA H100 80GB HBM3\n"
				  "gpu0 uuid GPU-5e1f0000-0000-0000-0000-000000000000\n"
				  "gpu0 bus 00000000:17:00.0\n"
				  "gpu0 vbios 96.00.89.00.01\n"
				  "gpu0 util 37\n"
				  "gpu0 mem_util 12\n"
				  "gpu0 mem_total 85899345920\n"
				  "gpu0 mem_used 1073741824\n"
				  "gpu0 mem_reserved 536870912\n"
				  "gpu0 power_mw 123456\n"
				  "gpu0 temp 51\n"
				  "gpu0 clock_sm 1980\n"
				  "gpu0 clock_mem 2619\n"
				  "gpu0 pcie_rx_kb 1000\n"
				  "gpu0 pcie_tx_kb 2000\n"
				  "gpu0 ecc_corr 3\n"
				  "gpu0 ecc_uncorr 1\n"
				  "gpu0 throttle 4\n"
				  "gpu1 name NVIDIA L4\n"
				  "gpu1 util 3\n"
				  "gpu1 mem_total 24000000000\n"
				  "gpu1 mem_used 500000000\n"
				  "gpu1 temp 40\n";

static char procs[256];
static int ebpf; /* watches (task.gpu.*) need the eBPF task collector */

static void test_exact_values(struct inforeg_reader *r)
{
	static const struct {
		const char *name;
		double v;
	} want[] = {
	    {"gpu.util", 37},	       {"gpu.mem.util", 12},
	    {"gpu.mem.used", 1073741824.0}, {"gpu.mem.total", 85899345920.0},
	    {"gpu.mem.free", 85899345920.0 - 1073741824.0}, {"gpu.power", 123.456},
	    {"gpu.temp", 51},	       {"gpu.clock.sm", 1980},
	    {"gpu.clock.mem", 2619},	       {"gpu.pcie.rx", 1024000},
	    {"gpu.pcie.tx", 2048000},	       {"gpu.ecc.corrected", 3},
	    {"gpu.ecc.uncorrected", 1},     {"gpu.throttle", 4},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		double v = getf(r, "%s{gpu=\"%d\"}", want[i].name, 0);
		CHECKF(v == want[i].v, "%s{gpu=\"0\"} = %.17g, scripted %.17g", want[i].name, v, want[i].v);
	}
	CHECK(getf(r, "%s{gpu=\"%d\"}", "gpu.util", 1) == 3);
	CHECK(getf(r, "%s{gpu=\"%d\"}", "gpu.temp", 1) == 40);
	CHECK(getf(r, "%s{gpu=\"%d\"}", "gpu.mem.used", 1) == 500000000.0);
	CHECK(get(r, "gpu.count") == 2);
	/* gpu0 is 37% busy, gpu1 3% busy with 23.5 GB free: one free accelerator */
	CHECKF(get(r, "gpu.free") == 1, "gpu.free = %g", get(r, "gpu.free"));
	double age = get(r, "devices.age{provider=\"nvml\"}");
	CHECKF(age >= 0 && age < 5, "devices.age{provider=\"nvml\"} = %g", age);

	char *doc = malloc(INFOREG_DOC_MAX);
	CHECK(inforeg_doc_read(r, INFOREG_DOC_NODE, doc, INFOREG_DOC_MAX) > 0);
	CHECKF(strstr(doc, "\"model\":\"NVIDIA H100 80GB HBM3\"") && strstr(doc, "\"pci_bus_id\":\"00000000:17:00.0\"") &&
		   strstr(doc, "\"driver\":\"550.54.15\"") && strstr(doc, "\"firmware\":\"96.00.89.00.01\"") &&
		   strstr(doc, "\"vendor\":\"nvidia\"") && strstr(doc, "\"model\":\"NVIDIA L4\""),
	       "node document: %.2000s", doc);
	CHECK(inforeg_doc_read(r, INFOREG_DOC_STATUS, doc, INFOREG_DOC_MAX) > 0);
	CHECKF(strstr(doc, "\"name\":\"nvml\",\"found\":true"), "status: %.3000s", doc);
	free(doc);
}

static void test_failing_call(struct inforeg_reader *r)
{
	char s[4096];
	snprintf(s, sizeof(s), "%s%sfail nvmlDeviceGetPowerUsage\nfail nvmlDeviceGetMemoryInfo_v2\n", base_script,
		 procs);
	write_file(SCRIPT, s);
	CHECK(wait_nan(r, "gpu.power{gpu=\"0\"}", 1));
	CHECK(isnan(get(r, "gpu.power{gpu=\"1\"}")));
	CHECK(get(r, "gpu.temp{gpu=\"0\"}") == 51);
	CHECK(get(r, "gpu.util{gpu=\"0\"}") == 37);
	/* without nvmlDeviceGetMemoryInfo_v2, v1's "used" includes the reserved memory */
	CHECKF(get(r, "gpu.mem.used{gpu=\"0\"}") == 1073741824.0 + 536870912.0, "gpu.mem.used %.17g",
	       get(r, "gpu.mem.used{gpu=\"0\"}"));
	CHECK(get(r, "gpu.count") == 2);
	CHECK(!isnan(get(r, "cpu.usage")));
	/* the status document (once a second) names the failing call */
	char *doc = malloc(INFOREG_DOC_MAX);
	int seen = 0;
	for (int i = 0; i < 60 && !seen; i++) {
		if (inforeg_doc_read(r, INFOREG_DOC_STATUS, doc, INFOREG_DOC_MAX) > 0)
			seen = strstr(doc, "power (gpu 0): Unknown Error") != NULL;
		if (!seen)
			sleep_ms(100);
	}
	CHECKF(seen, "status: %.3000s", doc);
	free(doc);
	snprintf(s, sizeof(s), "%s%s", base_script, procs);
	write_file(SCRIPT, s);
	CHECK(wait_nan(r, "gpu.power{gpu=\"0\"}", 0));
	CHECK(get(r, "gpu.power{gpu=\"0\"}") == 123.456);
}

static void test_hung_call_does_not_delay_tick(struct inforeg_reader *r)
{
	char s[4096];
	snprintf(s, sizeof(s), "%s%ssleep_ms nvmlDeviceGetUtilizationRates 5000\n", base_script, procs);
	write_file(SCRIPT, s);
	int age_h = -1;
	/* wait until the worker is inside the 5 s call: the reading ages past 1.5 s */
	for (int i = 0; i < 100; i++) {
		inforeg_refresh(r);
		age_h = inforeg_lookup(r, "devices.age{provider=\"nvml\"}");
		double a = NAN;
		if (age_h >= 0 && inforeg_read_latest(r, age_h, &a, NULL) == 0 && a > 1.5)
			break;
		sleep_ms(100);
	}
	sleep_ms(1500); /* the hang goes on: about 3 s of it are in the ring now */
	uint64_t head = inforeg_head(r);
	static double ages[64];
	static struct inforeg_meta metas[64];
	uint64_t since = head > 30 ? head - 30 : 0;
	int n = inforeg_read_history(r, age_h, since, ages, metas, 64, NULL);
	CHECKF(n >= 25, "%d samples in the last 30 positions", n);
	uint64_t max_gap = 0;
	double t0 = NAN;
	int hung = 0;
	for (int i = 0; i < n; i++) {
		if (i > 0) {
			uint64_t gap = metas[i].monotonic_ns - metas[i - 1].monotonic_ns;
			if (gap > max_gap)
				max_gap = gap;
			CHECK(metas[i].seq == metas[i - 1].seq + 1);
		}
		if (!(ages[i] > 1.0))
			continue;
		/* the reading's own time: sample time - age, constant while the worker hangs */
		double t = (double)metas[i].monotonic_ns / 1e9 - ages[i];
		if (isnan(t0))
			t0 = t;
		CHECKF(fabs(t - t0) < 1e-6, "reading time moved: %.9f vs %.9f", t, t0);
		hung++;
	}
	CHECKF(hung >= 10, "%d samples with a reading older than 1 s", hung);
	/* period 100 ms: a tick waiting for the hung call would leave a 5 s gap */
	CHECKF(max_gap < 1000000000ull, "largest gap between samples %.3f s", max_gap / 1e9);
	/* devices_stale_ms = 1000: the old reading is not served as current */
	CHECK(isnan(get(r, "gpu.util{gpu=\"0\"}")));
	CHECK(get(r, "gpu.count") == 2);
	CHECK(get(r, "gpu.free") == 0);
	if (ebpf) /* per-task figures of a stale reading are not served either */
		CHECKF(isnan(get(r, "task.gpu.mem{watch=\"me\"}")), "task.gpu.mem %g", get(r, "task.gpu.mem{watch=\"me\"}"));
	snprintf(s, sizeof(s), "%s%s", base_script, procs);
	write_file(SCRIPT, s);
	CHECK(wait_nan(r, "gpu.util{gpu=\"0\"}", 0)); /* back once the call returns */
}

static void test_task_gpu(struct inforeg_reader *r)
{
	if (!ebpf) {
		printf("skip test_task_gpu: watches need the ebpf.task collector (root)\n");
		return;
	}
	/* gpu0: 2 GiB + 55%, gpu1: 1000 bytes + 5% for this process; pid 1 is someone else */
	double mem = 0;
	for (int i = 0; i < 100; i++) {
		mem = get(r, "task.gpu.mem{watch=\"me\"}");
		if (mem == 2147484648.0)
			break;
		sleep_ms(100);
	}
	CHECKF(mem == 2147484648.0, "task.gpu.mem{watch=\"me\"} = %.17g", mem);
	CHECK(get(r, "task.gpu.util{watch=\"me\"}") == 60);
	CHECK(get(r, "task.gpu.mem{watch=\"me\",gpu=\"0\"}") == 2147483648.0);
	CHECK(get(r, "task.gpu.util{watch=\"me\",gpu=\"1\"}") == 5);
	CHECK(get(r, "task.gpu.mem{watch=\"bycomm\"}") == 2147484648.0);
	CHECK(get(r, "task.gpu.mem{watch=\"other\"}") == 999);
	CHECK(get(r, "task.gpu.util{watch=\"other\"}") == 10);
	CHECK(get(r, "task.gpu.mem{watch=\"idle\"}") == 0);
	CHECK(get(r, "task.gpu.util{watch=\"idle\",gpu=\"1\"}") == 0);
}

int main(void)
{
	const char *b = getenv("INFOREG_BUILD");
	snprintf(B, sizeof(B), "%s", b ? b : "build");
	snprintf(IRD, sizeof(IRD), "%s/bin/inforegd", B);
	snprintf(SHM, sizeof(SHM), "irt-devnvml-%d", (int)getpid());
	snprintf(DIR_, sizeof(DIR_), "/tmp/it_devices_nvml.%d", (int)getpid());
	mkdir(DIR_, 0755);
	snprintf(SCRIPT, sizeof(SCRIPT), "%s/nvml.script", DIR_);
	snprintf(CONF, sizeof(CONF), "%s/inforegd.conf", DIR_);
	char lib[400], conf[2048];
	snprintf(lib, sizeof(lib), "%s/tests/fake_nvml.so", B);
	if (access(lib, R_OK) != 0)
		SKIP("%s not built (make tests)", lib);
	ebpf = geteuid() == 0;
	char sysroot[300];
	snprintf(sysroot, sizeof(sysroot), "%s/sys", DIR_); /* empty: no amd, hwmon */
	mkdir(sysroot, 0755);
	snprintf(procs, sizeof(procs), "gpu0 proc %d 2147483648 55\ngpu0 proc 1 999 10\ngpu1 proc %d 1000 5\n",
		 (int)getpid(), (int)getpid());
	char comm[32] = "";
	FILE *cf = fopen("/proc/self/comm", "r");
	if (cf) {
		if (fgets(comm, sizeof(comm), cf))
			comm[strcspn(comm, "\n")] = 0;
		fclose(cf);
	}
	snprintf(conf, sizeof(conf),
		 "listen = none\nperiod_ms = 100\nnvml_library = %s\nsysfs_root = %s\ndevices_stale_ms = 1000\n"
		 "ebpf = %s\n",
		 lib, sysroot, ebpf ? "on" : "off");
	if (ebpf)
		snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
			 "watch = me pid:%d\nwatch = bycomm comm:%s\nwatch = other pid:1\nwatch = idle comm:no_such_task\n",
			 (int)getpid(), comm);
	write_file(CONF, conf);
	char s[4096];
	snprintf(s, sizeof(s), "%s%s", base_script, procs);
	write_file(SCRIPT, s);

	pid_t d = start_daemon();
	struct inforeg_reader *r = wait_open();
	CHECK(r != NULL);
	if (r) {
		/* eBPF may still be off (no BTF...): then watches are refused; see the status */
		if (ebpf && isnan(get(r, "task.cpu.usage{watch=\"me\"}")) && inforeg_lookup(r, "task.cpu.usage{watch=\"me\"}") < 0)
			ebpf = 0;
		int before = tap_failures;
		test_exact_values(r);
		printf("%s test_exact_values\n", tap_failures == before ? "ok  " : "FAIL");
		before = tap_failures;
		test_task_gpu(r);
		printf("%s test_task_gpu\n", tap_failures == before ? "ok  " : "FAIL");
		before = tap_failures;
		test_failing_call(r);
		printf("%s test_failing_call\n", tap_failures == before ? "ok  " : "FAIL");
		before = tap_failures;
		test_hung_call_does_not_delay_tick(r);
		printf("%s test_hung_call_does_not_delay_tick\n", tap_failures == before ? "ok  " : "FAIL");
		/* last: a call hangs when the daemon is told to stop; it does not wait for it */
		snprintf(s, sizeof(s), "%s%ssleep_ms nvmlDeviceGetUtilizationRates 20000\n", base_script, procs);
		write_file(SCRIPT, s);
		for (int i = 0; i < 100 && !(get(r, "devices.age{provider=\"nvml\"}") > 1.0); i++)
			sleep_ms(100);
		inforeg_close(r);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(d, SIGTERM);
	int st;
	waitpid(d, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "inforegd exit status %d", st);
	/* the worker sleeps 20 s in the call; the daemon leaves it behind after 0.5 s */
	CHECKF(secs < 10, "inforegd took %.1f s to exit while an NVML call hung", secs);
	printf("%s test_exit_while_a_call_hangs (%.2f s)\n", secs < 10 ? "ok  " : "FAIL", secs);
	if (tap_failures) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "tail -n 30 %s/inforegd.log >&2", DIR_);
		if (system(cmd) != 0)
			fprintf(stderr, "(no log)\n");
	}
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", DIR_);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", DIR_);
	TAP_EXIT();
}
