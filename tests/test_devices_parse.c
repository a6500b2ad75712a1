// SPDX-License-Identifier: MIT
/* test_devices_parse: the device providers' pure parts - the exec provider's JSON
 * (two devices, ids as strings or integers, optional fields NaN, and every kind of bad
 * output refused with a reason), sysfs attribute parsing (NaN for anything but one
 * integer), the watch join (pid, comm and cgroup of this very process), and the
 * devices configuration keys with their file:line:col errors. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "devices/devices.h"
#include "tap.h"

static void test_exec_two_devices(void)
{
	static const char out[] = "{\"devices\":[{\"id\":\"0\",\"model\":\"X1\",\"vendor\":\"acme\",\"util\":12.5,"
				  "\"mem_used\":1000,\"mem_total\":64000000000,\"temp\":40,\"extra\":[1]},"
				  "{\"id\":7,\"util\":0,\"mem_used\":null}]}\n";
	struct dev_gpu g[4];
	char err[200] = "";
	int n = dev_exec_parse(out, strlen(out), g, 4, err, sizeof(err));
	CHECKF(n == 2, "n=%d err=%s", n, err);
	CHECK(!strcmp(g[0].id, "0") && !strcmp(g[0].model, "X1") && !strcmp(g[0].vendor, "acme"));
	CHECK(g[0].v[GPU_UTIL] == 12.5 && g[0].v[GPU_MEM_USED] == 1000 && g[0].v[GPU_MEM_TOTAL] == 64e9);
	CHECK(g[0].v[GPU_TEMP] == 40 && isnan(g[0].v[GPU_POWER]));
	CHECK(!strcmp(g[1].id, "7") && g[1].v[GPU_UTIL] == 0 && isnan(g[1].v[GPU_MEM_USED]));
	CHECK(g[1].idx[GPU_UTIL] == -1 && g[1].global == -1);
}

static void test_exec_bad_output(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"", "not JSON"},
	    {"garbage\n", "not JSON"},
	    {"{\"devices\":[{\"id\":\"0\"}]} trailing", "not JSON"},
	    {"[1,2]", "no \"devices\" array"},
	    {"{\"devices\":{}}", "no \"devices\" array"},
	    {"{\"devices\":[1]}", "devices[0] is not an object"},
	    {"{\"devices\":[{\"model\":\"x\"}]}", "devices[0].id must be"},
	    {"{\"devices\":[{\"id\":\"\"}]}", "devices[0].id must be"},
	    {"{\"devices\":[{\"id\":-1}]}", "devices[0].id must be"},
	    {"{\"devices\":[{\"id\":\"a\"},{\"id\":\"a\"}]}", "used twice"},
	    {"{\"devices\":[{\"id\":\"a\",\"util\":\"50\"}]}", "devices[0].util must be a non-negative number"},
	    {"{\"devices\":[{\"id\":\"a\",\"mem_used\":-5}]}", "devices[0].mem_used must be"},
	    {"{\"devices\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]}", "at most 2"},
	    {"{\"devices\":[],\"devices\":[]}", "not JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dev_gpu g[2];
		char err[200] = "";
		int n = dev_exec_parse(bad[i].text, strlen(bad[i].text), g, 2, err, sizeof(err));
		CHECKF(n == -EINVAL && strstr(err, bad[i].why), "case %zu: n=%d err='%s', want '%s'", i, n, err,
		       bad[i].why);
	}
	struct dev_gpu g[2];
	char err[200] = "";
	CHECK(dev_exec_parse("{\"devices\":[]}", 14, g, 2, err, sizeof(err)) == 0);
}

static double attr(const char *text)
{
	struct col_file f = {.buf = (char *)text, .len = (ssize_t)strlen(text)};
	return dev_parse_attr(&f);
}

static void test_sysfs_attr(void)
{
	CHECK(attr("42\n") == 42);
	CHECK(attr("17163091968\n") == 17163091968.0);
	CHECK(attr("-5000\n") == -5000);
	CHECK(attr("0") == 0);
	CHECK(isnan(attr("")));
	CHECK(isnan(attr("\n")));
	CHECK(isnan(attr("12 34\n")));
	CHECK(isnan(attr("0x10\n")));
	CHECK(isnan(attr("N/A\n")));
	struct col_file f = {.buf = (char *)"", .len = -EIO};
	CHECK(isnan(dev_parse_attr(&f)));
	CHECK(isnan(dev_parse_attr(NULL)));
}

static void test_watch_match(void)
{
	struct watch_spec ws[5];
	char comm[32] = "", cg[512] = "";
	FILE *f = fopen("/proc/self/comm", "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = 0;
	memset(ws, 0, sizeof(ws));
	ws[0].kind = WATCH_PID;
	ws[0].pid = getpid();
	ws[1].kind = WATCH_PID;
	ws[1].pid = 1;
	ws[2].kind = WATCH_COMM;
	snprintf(ws[2].comm, sizeof(ws[2].comm), "%s", comm);
	ws[3].kind = WATCH_COMM;
	strcpy(ws[3].comm, "no_such_comm");
	ws[4].kind = WATCH_CGROUP;
	/* this process's own cgroup v2 path, as /proc says it, under the mount */
	char *buf = NULL;
	size_t cap = 0;
	int have_cg = 0;
	if (col_slurp("/proc/self/cgroup", &buf, &cap) >= 0) {
		char *l = strstr(buf, "0::");
		if (l && (l == buf || l[-1] == '\n')) {
			l[3 + strcspn(l + 3, "\n")] = 0;
			snprintf(cg, sizeof(cg), "/sys/fs/cgroup%s", l + 3);
			have_cg = 1;
		}
	}
	free(buf);
	snprintf(ws[4].cgroup, sizeof(ws[4].cgroup), "%s", have_cg ? cg : "/nonexistent");
	uint64_t m = dev_watch_match(getpid(), ws, 5);
	CHECKF((m & 0xf) == 0x5, "mask %#llx", (unsigned long long)m);
	if (have_cg)
		CHECKF(m & 0x10, "cgroup %s did not match", cg);
	/* the root of the hierarchy holds everyone; a sibling path does not */
	strcpy(ws[4].cgroup, "/");
	CHECK(have_cg == 0 || (dev_watch_match(getpid(), ws + 4, 1) & 1));
	if (have_cg) {
		snprintf(ws[4].cgroup, sizeof(ws[4].cgroup), "%sx", cg);
		CHECK((dev_watch_match(getpid(), ws + 4, 1) & 1) == 0);
	}
	CHECK(dev_watch_match(999999999, ws, 2) == 0);
}

static void test_config_keys(void)
{
	struct ird_config c;
	char err[256] = "";
	cfg_defaults(&c);
	CHECK(!strcmp(c.nvml_library, "libnvidia-ml.so.1") && !strcmp(c.sysfs_root, "/sys"));
	CHECK(c.gpu_free_util == 10 && c.gpu_free_mem == 1073741824.0);
	const char *good = "nvml_library = /opt/fake.so\nsysfs_root = /tmp/sys\ngpu_free_util = 2.5\n"
			   "gpu_free_mem = 16GiB\ndevices_exec = /usr/bin/npu-smi --json\ndevices_stale_ms = 1500\n"
			   "nvml_period_ms = 250\n";
	CHECKF(cfg_parse(&c, "t.conf", good, err, sizeof(err)) == 0, "%s", err);
	CHECK(!strcmp(c.nvml_library, "/opt/fake.so") && !strcmp(c.sysfs_root, "/tmp/sys"));
	CHECK(c.gpu_free_util == 2.5 && c.gpu_free_mem == 16.0 * 1073741824.0);
	CHECK(!strcmp(c.devices_exec, "/usr/bin/npu-smi --json") && c.devices_stale_ms == 1500);
	CHECK(c.nvml_period_ms == 250);
	CHECK(cfg_parse(&c, "t.conf", "gpu_free_mem = 512 MiB\n", err, sizeof(err)) == 0);
	CHECK(c.gpu_free_mem == 512.0 * 1048576.0);
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"gpu_free_util = 101\n", "t.conf:1:17: gpu_free_util"},
	    {"gpu_free_util = x\n", "t.conf:1:17: gpu_free_util"},
	    {"\ngpu_free_mem = 16GB\n", "t.conf:2:16: gpu_free_mem"},
	    {"gpu_free_mem = -1\n", "t.conf:1:16: gpu_free_mem"},
	    {"sysfs_root = relative\n", "t.conf:1:14: sysfs_root"},
	    {"devices_stale_ms = 5\n", "t.conf:1:20: devices_stale_ms"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECKF(cfg_parse(&c, "t.conf", bad[i].text, err, sizeof(err)) == -EINVAL && strstr(err, bad[i].msg) == err,
		       "case %zu: '%s', want it to start with '%s'", i, err, bad[i].msg);
	}
}

int main(void)
{
	RUN(test_exec_two_devices);
	RUN(test_exec_bad_output);
	RUN(test_sysfs_attr);
	RUN(test_watch_match);
	RUN(test_config_keys);
	TAP_EXIT();
}
