// SPDX-License-Identifier: MIT
/*
 * it_rules_exec_paper: the seed paper's worked example end to end in the real
 * inforegd. A shell script prints the node's CPU usage (getCpuUsage.sh, run by an
 * exec rule), a derive rule turns it into CpuFree = cores x (1 - usage / 100), and a
 * score rule applies Perf = 1 when CpuFree >= CpuReq, else CpuFree / CpuReq, to
 * profiles whose CpuReq is above, equal to and below CpuFree. Checked in one sample
 * (one seq) against the formula computed here:
 *  - on a fixed /proc/stat-format file (usage exactly 50 %), so "equal" is exact;
 *    and the same through GET /v1/score?cpu=REQ&rule=paper;
 *  - on the real /proc/stat, where the chain must agree with itself in every sample.
 */
#include "it_rules_harness.h"

static const char script[] =
    "#!/bin/sh\n"
    "# getCpuUsage.sh: the node's CPU usage in percent (since boot), from /proc/stat\n"
    "read -r cpu user nice system idle iowait irq softirq steal rest < \"${STAT:-/proc/stat}\"\n"
    "busy=$((user + nice + system + irq + softirq + steal))\n"
    "total=$((busy + idle + iowait))\n"
    "echo \"$busy $total\" | awk '{ printf \"%.6f\\n\", 100 * $1 / $2 }'\n";

/* The paper's formula, here. */
static double perf(double free, double req)
{
	return free >= req ? 1 : free / req;
}

/* The latest sample and the values of NAMES in it (one read: one seq). */
static int read_one_sample(struct inforeg_reader *r, const char *const *names, int n, double *out,
			   struct inforeg_meta *m)
{
	static double vals[4096];
	inforeg_refresh(r);
	int cnt = inforeg_read_sample(r, vals, 4096, m);
	if (cnt < 0)
		return cnt;
	for (int i = 0; i < n; i++) {
		int h = inforeg_lookup(r, names[i]);
		int ix = h >= 0 ? inforeg_handle_index(r, h) : -1;
		if (ix < 0 || ix >= cnt)
			return -ENOENT;
		out[i] = vals[ix];
	}
	return 0;
}

static void fixed_usage_scores_match_the_formula(struct inforeg_reader *r, double cores)
{
	const char *names[] = {"site_cpu", "cpu_free", "score{rule=\"paper\",profile=\"above\"}",
			       "score{rule=\"paper\",profile=\"equal\"}", "score{rule=\"paper\",profile=\"below\"}"};
	double v[5], free = cores * 0.5;
	struct inforeg_meta m;
	CHECK(rh_wait_state(r, names[4], INFOREG_FRESH, NAN, 15));
	CHECK(read_one_sample(r, names, 5, v, &m) == 0);
	CHECKF(v[0] == 50, "site_cpu %g", v[0]);
	CHECKF(v[1] == free, "cpu_free %g, want %g", v[1], free);
	CHECKF(v[2] == perf(free, 2 * free) && v[2] == 0.5, "above: %g", v[2]);
	CHECKF(v[3] == perf(free, free) && v[3] == 1, "equal: %g", v[3]);
	CHECKF(v[4] == perf(free, free / 2) && v[4] == 1, "below: %g", v[4]);
	printf("seq %llu: site_cpu %g%%, CpuFree %g of %g cores; Perf above %g, equal %g, below %g\n",
	       (unsigned long long)m.seq, v[0], v[1], cores, v[2], v[3], v[4]);
}

/* The same over REST: GET /v1/score?cpu=REQ&rule=paper, evaluated by the serving thread. */
static void rest_score_matches_the_formula(double cores)
{
	double free = cores * 0.5, reqs[3] = {2 * free, free, free / 2};
	const char *what[3] = {"above", "equal", "below"};
	for (int i = 0; i < 3; i++) {
		char path[128], out[4096];
		snprintf(path, sizeof(path), "/v1/score?cpu=%.17g&rule=paper", reqs[i]);
		int code = rh_http("GET", path, NULL, 0, out, sizeof(out));
		json_t *j = json_loads(out, 0, NULL);
		json_t *cpu = json_object_get(json_object_get(j, "resources"), "cpu");
		double sc = json_number_value(json_object_get(j, "score")),
		       f = json_number_value(json_object_get(cpu, "free"));
		CHECKF(code == 200 && j, "%s: %d %s", what[i], code, out);
		CHECKF(f == free, "%s: free %g, want %g", what[i], f, free);
		CHECKF(sc == perf(free, reqs[i]), "%s: score %g, want %g (%s)", what[i], sc, perf(free, reqs[i]), out);
		json_decref(j);
	}
}

static void real_usage_chain_agrees_in_every_sample(struct inforeg_reader *r, double cores)
{
	const char *names[] = {"real_cpu", "real_free", "score{rule=\"paperreal\",profile=\"one\"}",
			       "score{rule=\"paperreal\",profile=\"half\"}"};
	double v[4];
	struct inforeg_meta m;
	uint64_t last = 0;
	int checked = 0;
	CHECK(rh_wait_state(r, names[3], INFOREG_FRESH, NAN, 15));
	for (int i = 0; i < 10; i++) {
		CHECK(read_one_sample(r, names, 4, v, &m) == 0);
		if (m.seq == last) {
			inforeg_wait(r, m.seq, 1000);
			continue;
		}
		last = m.seq;
		CHECKF(v[0] >= 0 && v[0] <= 100, "real_cpu %g", v[0]);
		double free = cores * (1 - v[0] / 100);
		CHECKF(fabs(v[1] - free) < 1e-9, "real_free %g, from real_cpu %g: %g", v[1], v[0], free);
		CHECKF(v[2] == perf(v[1], 1), "one core: %g for CpuFree %g", v[2], v[1]);
		CHECKF(v[3] == perf(v[1], cores / 2), "half the cores: %g for CpuFree %g", v[3], v[1]);
		checked++;
		inforeg_wait(r, m.seq, 1000);
	}
	CHECK(checked >= 3);
	printf("real /proc/stat: %d samples, last site usage %.2f%%, CpuFree %.3f\n", checked, v[0], v[1]);
}

int main(void)
{
	if (rh_init("paper") < 0) {
		perror("rh_init");
		return 1;
	}
	double cores = (double)sysconf(_SC_NPROCESSORS_ONLN), free = cores * 0.5;
	const char *sh = rh_file("getCpuUsage.sh", "%s", script);
	chmod(sh, 0755);
	/* busy 300+0+200 of 1000 jiffies: 50 % */
	rh_file("stat", "cpu  300 0 200 400 100 0 0 0 0 0\ncpu0 300 0 200 400 100 0 0 0 0 0\n");
	/* the paper's own rule, with the fixture as its /proc/stat */
	rh_file("rules/site_cpu.json",
		"{\"name\":\"site_cpu\",\"kind\":\"exec\",\"argv\":[\"%s\"],\"period_ms\":500,\"timeout_ms\":2000,"
		"\"env\":{\"STAT\":\"%s\"},\"unit\":\"percent\"}",
		rh_path("getCpuUsage.sh"), rh_path("stat"));
	rh_file("rules/cpu_free.json", "{\"name\":\"cpu_free\",\"kind\":\"derive\",\"lua\":"
				       "\"return { cpu_free = v('cpu.count') * (1 - v('site_cpu') / 100) }\"}");
	static const char lua[] = "return function(req) local free = v('%s'); "
				  "return { cpu = { free = free, perf = free >= req.cpu and 1 or free / req.cpu } } end";
	char l1[512], l2[512];
	snprintf(l1, sizeof(l1), lua, "cpu_free");
	snprintf(l2, sizeof(l2), lua, "real_free");
	rh_file("rules/paper.json",
		"{\"name\":\"paper\",\"kind\":\"score\",\"resources\":{\"cpu\":\"cores\"},\"lua\":\"%s\","
		"\"profiles\":{\"above\":{\"cpu\":%.17g},\"equal\":{\"cpu\":%.17g},\"below\":{\"cpu\":%.17g}}}",
		l1, 2 * free, free, free / 2);
	/* the same chain on the real /proc/stat */
	rh_file("rules/real_cpu.json", "{\"name\":\"real_cpu\",\"kind\":\"exec\",\"argv\":[\"%s\"],"
				       "\"period_ms\":200,\"timeout_ms\":2000}",
		rh_path("getCpuUsage.sh"));
	rh_file("rules/real_free.json", "{\"name\":\"real_free\",\"kind\":\"derive\",\"lua\":"
					"\"return { real_free = v('cpu.count') * (1 - v('real_cpu') / 100) }\"}");
	rh_file("rules/paperreal.json",
		"{\"name\":\"paperreal\",\"kind\":\"score\",\"resources\":{\"cpu\":\"cores\"},\"lua\":\"%s\","
		"\"profiles\":{\"one\":{\"cpu\":1},\"half\":{\"cpu\":%.17g}}}",
		l2, cores / 2);
	struct inforeg_reader *r = rh_start("");
	CHECK(r != NULL);
	if (!r)
		TAP_EXIT();
	RH_STEP(fixed_usage_scores_match_the_formula(r, cores));
	RH_STEP(rest_score_matches_the_formula(cores));
	RH_STEP(real_usage_chain_agrees_in_every_sample(r, cores));
	inforeg_close(r);
	TAP_EXIT();
}
