// SPDX-License-Identifier: MIT
/* test_api_promname: the REST server's pure helpers - the Prometheus naming rule
 * (every step of it, on the series names inforegd publishes), unit scaling, label
 * parsing, shortest round-trip number formatting, JSON escaping, percent decoding. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"
#include "inforeg_layout.h"
#include "tap.h"

static const char *pname(const char *name, const char *unit, uint32_t kind, int shape)
{
	static char out[256];
	int n = api_prom_name(name, api_name_base_len(name), unit, kind, shape, out, sizeof(out));

	return n < 0 ? "<error>" : out;
}

#define NAME_IS(name, unit, kind, shape, want)                                                               \
	do {                                                                                                 \
		const char *got_ = pname(name, unit, kind, shape);                                           \
		CHECKF(strcmp(got_, want) == 0, "%s [%s] -> %s, want %s", name, unit, got_, want);           \
	} while (0)

static void test_naming_rule(void)
{
	const int G = INFOREG_KIND_GAUGE, R = INFOREG_KIND_RATE, C = INFOREG_KIND_COUNTER;
	const int P = API_PROM_PLAIN, H = API_PROM_HISTOGRAM;

	/* step 1 + 3: prefix, dots, unit suffix; labels are not part of the family name */
	NAME_IS("cpu.usage", "percent", G, P, "inforeg_cpu_usage_percent");
	NAME_IS("cpu.usage{cpu=\"3\"}", "percent", G, P, "inforeg_cpu_usage_percent");
	NAME_IS("mem.available", "bytes", G, P, "inforeg_mem_available_bytes");
	NAME_IS("cpu.count", "cores", G, P, "inforeg_cpu_count_cores");
	NAME_IS("disk.iops", "ops/s", R, P, "inforeg_disk_iops_ops_per_second");
	/* step 3: scaled time units become seconds */
	NAME_IS("sched.runq_latency.p99", "us", G, P, "inforeg_sched_runq_latency_p99_seconds");
	NAME_IS("bpf.cost", "ns", G, P, "inforeg_bpf_cost_seconds");
	/* step 2: _per_s and an abbreviated own unit */
	NAME_IS("net.rx.bytes_per_s{dev=\"eth0\"}", "bytes/s", R, P, "inforeg_net_rx_bytes_per_second");
	NAME_IS("sched.ctxt_per_s", "switches/s", R, P, "inforeg_sched_ctxt_per_second");
	NAME_IS("sched.migrations_per_s", "1/s", R, P, "inforeg_sched_migrations_per_second");
	NAME_IS("net.rx.packets_per_s", "packets/s", R, P, "inforeg_net_rx_packets_per_second");
	NAME_IS("cpu.steal_us", "us", C, P, "inforeg_cpu_steal_seconds_total");
	/* no doubled suffix */
	NAME_IS("mem.used_bytes", "bytes", G, P, "inforeg_mem_used_bytes");
	NAME_IS("net.rx.bytes", "bytes", C, P, "inforeg_net_rx_bytes_total");
	/* step 4: reserved suffixes on plain series */
	NAME_IS("proc.count", "", G, P, "inforeg_proc_count_value");
	NAME_IS("proc.count", "count", G, P, "inforeg_proc_count_value");
	NAME_IS("mem.total", "", G, P, "inforeg_mem_total_value");
	NAME_IS("sched.runq_latency.count", "", C, P, "inforeg_sched_runq_latency_count_total");
	/* step 5: counters */
	NAME_IS("ctx.switches", "", C, P, "inforeg_ctx_switches_total");
	NAME_IS("irq.total", "", C, P, "inforeg_irq_total");
	/* histograms: no _total, unit of the bounds */
	NAME_IS("sched.runq_latency", "us", C, H, "inforeg_sched_runq_latency_seconds");
	NAME_IS("disk.io_latency", "us", C, H, "inforeg_disk_io_latency_seconds");
	/* characters outside [a-z0-9_], upper case */
	NAME_IS("gpu.Mem-Used", "MiB", G, P, "inforeg_gpu_mem_used_bytes");
}

static void test_units(void)
{
	char s[48];
	double k = 0;

	CHECK(api_prom_unit("us", s, sizeof(s), &k) == 0 && !strcmp(s, "seconds") && k == 1e-6);
	CHECK(api_prom_unit("ms", s, sizeof(s), &k) == 0 && !strcmp(s, "seconds") && k == 1e-3);
	CHECK(api_prom_unit("bytes/s", s, sizeof(s), &k) == 0 && !strcmp(s, "bytes_per_second") && k == 1);
	CHECK(api_prom_unit("1/s", s, sizeof(s), &k) == 0 && !strcmp(s, "per_second"));
	CHECK(api_prom_unit("KiB", s, sizeof(s), &k) == 0 && !strcmp(s, "bytes") && k == 1024);
	CHECK(api_prom_unit("", s, sizeof(s), &k) == 0 && !strcmp(s, "") && k == 1);
	CHECK(api_prom_unit("cores", s, sizeof(s), &k) == 0 && !strcmp(s, "cores") && k == 1);
}

static void test_labels(void)
{
	const char *name = "disk.io_latency.bucket{dev=\"vda\",le=\"+Inf\",x=\"a\\\"b\"}";
	size_t pos = 0, vl, ss, se;
	const char *v;
	char key[32];

	CHECK(api_name_base_len(name) == strlen("disk.io_latency.bucket"));
	CHECK(api_name_base_len("cpu.usage") == 9);
	CHECK(api_label_next(name, &pos, key, sizeof(key), &v, &vl, &ss, &se) == 1);
	CHECK(!strcmp(key, "dev") && vl == 3 && !strncmp(v, "vda", 3));
	CHECK(!strncmp(name + ss, "dev=\"vda\"", se - ss) && se - ss == 9);
	CHECK(api_label_next(name, &pos, key, sizeof(key), &v, &vl, &ss, &se) == 1);
	CHECK(!strcmp(key, "le") && vl == 4 && !strncmp(v, "+Inf", 4));
	CHECK(api_label_next(name, &pos, key, sizeof(key), &v, &vl, &ss, &se) == 1);
	CHECK(!strcmp(key, "x") && vl == 4); /* escaped quote kept raw */
	CHECK(api_label_next(name, &pos, key, sizeof(key), &v, &vl, &ss, &se) == 0);
	pos = 0;
	CHECK(api_label_next("cpu.usage", &pos, key, sizeof(key), &v, &vl, &ss, &se) == 0);
	pos = 0;
	CHECK(api_label_next("a{b=c}", &pos, key, sizeof(key), &v, &vl, &ss, &se) == -EINVAL);
	pos = 0;
	CHECK(api_label_next("a{b=\"c\"", &pos, key, sizeof(key), &v, &vl, &ss, &se) < 0);
}

static void test_numbers(void)
{
	char b[40];
	double vals[] = {
	    0.1, 1.0 / 3, 12.5, 1e-6, 123456789012345678.0, -0.0, 5e-324, 1.7976931348623157e308};
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		int n = api_fmt_double(b, sizeof(b), vals[i]);

		CHECKF(n > 0 && strtod(b, NULL) == vals[i], "%.17g -> %s", vals[i], b);
	}
	CHECK(api_fmt_double(b, sizeof(b), 0.1) == 3 && !strcmp(b, "0.1"));
	CHECK(api_fmt_double(b, sizeof(b), 1e-6) > 0 && !strcmp(b, "1e-06"));
	CHECK(api_fmt_double(b, sizeof(b), 42) == 2 && !strcmp(b, "42"));
	CHECK(api_fmt_double(b, 4, 1.0 / 3) == -ENOSPC);

	struct sbuf sb;

	sbuf_init(&sb, 8);
	sbuf_json_num(&sb, NAN);
	sbuf_putc(&sb, ' ');
	sbuf_json_num(&sb, INFINITY);
	sbuf_putc(&sb, ' ');
	sbuf_prom_num(&sb, NAN);
	sbuf_putc(&sb, ' ');
	sbuf_prom_num(&sb, -INFINITY);
	sbuf_putc(&sb, ' ');
	sbuf_ts(&sb, 1718000000123456789ull);
	sbuf_putc(&sb, ' ');
	sbuf_u64(&sb, 18446744073709551615ull);
	CHECKF(!sb.oom && !strcmp(sb.p, "null null NaN -Inf 1718000000.123456789 18446744073709551615"), "%s",
	       sb.p);
	sbuf_free(&sb);
}

static void test_json_escape(void)
{
	struct sbuf sb;
	const char in[] = "cpu.usage{cpu=\"3\"}\\\n\x01";

	sbuf_init(&sb, 4); /* forces growth */
	sbuf_json_str(&sb, in, sizeof(in) - 1);
	CHECKF(!strcmp(sb.p, "\"cpu.usage{cpu=\\\"3\\\"}\\\\\\n\\u0001\""), "%s", sb.p);
	sbuf_free(&sb);
}

static void test_url_decode(void)
{
	char out[64];

	CHECK(api_url_decode("cpu.usage%7Bcpu%3D%223%22%7D", 28, out, sizeof(out), 0) == 18 &&
	      !strcmp(out, "cpu.usage{cpu=\"3\"}"));
	CHECK(api_url_decode("a+b", 3, out, sizeof(out), 1) == 3 && !strcmp(out, "a b"));
	CHECK(api_url_decode("a+b", 3, out, sizeof(out), 0) == 3 && !strcmp(out, "a+b"));
	CHECK(api_url_decode("%2", 2, out, sizeof(out), 0) == -EINVAL);
	CHECK(api_url_decode("%zz", 3, out, sizeof(out), 0) == -EINVAL);
	CHECK(api_url_decode("%00", 3, out, sizeof(out), 0) == -EINVAL);
	CHECK(api_url_decode("abcdef", 6, out, 4, 0) == -ENAMETOOLONG);
	CHECK(api_ct_equal("abc", 3, "abc", 3) && !api_ct_equal("abc", 3, "abd", 3) &&
	      !api_ct_equal("abc", 3, "ab", 2));
}

int main(void)
{
	RUN(test_naming_rule);
	RUN(test_units);
	RUN(test_labels);
	RUN(test_numbers);
	RUN(test_json_escape);
	RUN(test_url_decode);
	TAP_EXIT();
}
