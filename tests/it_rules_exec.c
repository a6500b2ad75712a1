// SPDX-License-Identifier: MIT
/*
 * it_rules_exec: exec rules in the real inforegd, read through libinforeg.
 *  - the three output forms (one number, name value lines, a JSON object), env, no
 *    shell unless asked: exact values, fresh;
 *  - a script printing garbage, one exiting 1 and one killed by a signal mark only
 *    their own series FAILED, with the reason in the status document;
 *  - a hanging script is killed at its timeout (FAILED "timed out"), its lingering
 *    forked child (which ignores SIGTERM) goes with its group, and meanwhile the other
 *    rules keep their period: on the ring's own timestamps, no gap between samples
 *    near the timeout, and a counting rule advanced at its period, fresh in every
 *    sample;
 *  - a rule whose third run hangs ages its last value into STALE (ttl_ms) before
 *    the timeout fails it;
 *  - PUT /v1/rules/NAME: an invalid exec rule is a 400 naming the field; a valid one's
 *    series appears for a reader opened before; after DELETE it is gone and its
 *    program runs no more.
 */
#include "it_rules_harness.h"

static void write_rules(void)
{
	rh_file("rules/count.json",
		"{\"name\":\"count\",\"kind\":\"exec\",\"shell\":true,\"period_ms\":200,\"timeout_ms\":2000,"
		"\"argv\":[\"n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s; echo $n\"]}",
		rh_path("count.n"), rh_path("count.n"));
	rh_file("rules/lines.json", "{\"name\":\"lines\",\"kind\":\"exec\",\"shell\":true,\"period_ms\":300,"
				    "\"argv\":[\"printf 'user 12.5\\\\n# comment\\\\nsystem 3\\\\n'\"],\"unit\":\"percent\"}");
	rh_file("rules/js.json", "{\"name\":\"js\",\"kind\":\"exec\",\"period_ms\":300,"
				 "\"argv\":[\"/bin/echo\",\"{\\\"a\\\": 1.5, \\\"b{x=\\\\\\\"y\\\\\\\"}\\\": -2}\"]}");
	rh_file("rules/envr.json", "{\"name\":\"envr\",\"kind\":\"exec\",\"period_ms\":300,"
				   "\"argv\":[\"sh\",\"-c\",\"echo $FOO\"],\"env\":{\"FOO\":\"17.25\"}}");
	/* no shell: "$(echo 9)" reaches echo as it is, which is not a number */
	rh_file("rules/noshell.json", "{\"name\":\"noshell\",\"kind\":\"exec\",\"period_ms\":300,"
				      "\"argv\":[\"/bin/echo\",\"$(echo 9)\"]}");
	rh_file("rules/garbage.json", "{\"name\":\"garbage\",\"kind\":\"exec\",\"period_ms\":300,"
				      "\"argv\":[\"/bin/echo\",\"garbage\"]}");
	rh_file("rules/exit1.json", "{\"name\":\"exit1\",\"kind\":\"exec\",\"period_ms\":300,\"shell\":true,"
				    "\"argv\":[\"echo 5; echo broken >&2; exit 1\"]}");
	/* bytes that are not UTF-8: the reason quoting them must keep the status document valid */
	rh_file("rules/binary.json", "{\"name\":\"binary\",\"kind\":\"exec\",\"period_ms\":300,\"shell\":true,"
				     "\"argv\":[\"printf '\\\\377\\\\376\\\\n'\"]}");
	rh_file("rules/sig.json", "{\"name\":\"sig\",\"kind\":\"exec\",\"period_ms\":300,\"shell\":true,"
				  "\"argv\":[\"echo 5; kill -KILL $$\"]}");
	/* hangs; its forked child ignores SIGTERM and would linger without the group kill */
	rh_file("rules/hang.json",
		"{\"name\":\"hang\",\"kind\":\"exec\",\"period_ms\":200,\"timeout_ms\":1500,\"shell\":true,"
		"\"argv\":[\"echo $$ > %s; (trap '' TERM; exec sleep 100) & echo $! > %s; sleep 100\"]}",
		rh_path("hang.pid"), rh_path("hang.child"));
	/* good twice, then hangs: the value ages into stale, then the timeout fails it */
	rh_file("rules/slow.json",
		"{\"name\":\"slow\",\"kind\":\"exec\",\"period_ms\":200,\"timeout_ms\":4000,\"ttl_ms\":1000,"
		"\"shell\":true,\"argv\":[\"n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s; "
		"if [ $n -ge 3 ]; then sleep 100; fi; echo 8\"]}",
		rh_path("slow.n"), rh_path("slow.n"));
}

static void output_forms_are_exact_and_fresh(struct inforeg_reader *r)
{
	CHECK(rh_wait_state(r, "lines.user", INFOREG_FRESH, 12.5, 10));
	CHECK(rh_wait_state(r, "lines.system", INFOREG_FRESH, 3, 5));
	CHECK(rh_wait_state(r, "js.a", INFOREG_FRESH, 1.5, 5));
	CHECK(rh_wait_state(r, "js.b{x=\"y\"}", INFOREG_FRESH, -2, 5));
	CHECK(rh_wait_state(r, "envr", INFOREG_FRESH, 17.25, 5));
	CHECK(rh_wait_state(r, "count", INFOREG_FRESH, NAN, 5));
	/* once lines printed lines, the single-number series "lines" is gone */
	CHECK(inforeg_lookup(r, "lines") == -ENOENT);
	struct inforeg_series_info info;
	int h = inforeg_lookup(r, "lines.user");
	CHECK(h >= 0 && inforeg_series_get(r, inforeg_handle_index(r, h), &info) == 0 &&
	      !strcmp(info.unit, "percent"));
}

static void failures_mark_only_their_own_series(struct inforeg_reader *r)
{
	CHECK(rh_wait_state(r, "garbage", INFOREG_FAILED, NAN, 10));
	CHECK(rh_wait_state(r, "exit1", INFOREG_FAILED, NAN, 10));
	CHECK(rh_wait_state(r, "sig", INFOREG_FAILED, NAN, 10));
	CHECK(rh_wait_state(r, "noshell", INFOREG_FAILED, NAN, 10));
	CHECK(rh_wait_rule_error(r, "garbage", "\"garbage\" is not a number", 5));
	CHECK(rh_wait_rule_error(r, "exit1", "exit 1 (stderr: broken)", 5));
	CHECK(rh_wait_rule_error(r, "sig", "killed by signal 9", 5));
	CHECK(rh_wait_rule_error(r, "noshell", "\"9)\" is not a number", 5));
	CHECK(rh_wait_state(r, "binary", INFOREG_FAILED, NAN, 10));
	CHECK(rh_wait_rule_error(r, "binary", "\"??\" is not a number", 5));
	/* meanwhile the good ones stay fresh, in the same sample */
	double v;
	enum inforeg_value_state s;
	CHECK(rh_read(r, "lines.user", &v, &s, NULL) == 0 && s == INFOREG_FRESH && v == 12.5);
	CHECK(rh_read(r, "envr", &v, &s, NULL) == 0 && s == INFOREG_FRESH && v == 17.25);
	CHECK(rh_read(r, "count", &v, &s, NULL) == 0 && s == INFOREG_FRESH);
	CHECK(rh_read(r, "garbage", &v, &s, NULL) == 0 && s == INFOREG_FAILED);
}

static void hanging_script_killed_at_timeout_others_keep_their_period(struct inforeg_reader *r)
{
	/* the first run hangs from the start (~0 s) until its timeout (1.5 s) */
	CHECK(rh_wait_state(r, "hang", INFOREG_FAILED, NAN, 15));
	CHECK(rh_wait_rule_error(r, "hang", "timed out after 1500 ms", 5));
	pid_t leader = rh_read_pid(rh_path("hang.pid")), child = rh_read_pid(rh_path("hang.child"));
	CHECK(leader > 0 && child > 0);
	/* each run writes its pids anew; the ones read now belong to a run that may still be
	 * in flight: wait for a later run (the file changes), then the old ones must be dead */
	double end = rh_now() + 10;
	while (rh_now() < end && rh_read_pid(rh_path("hang.pid")) == leader)
		usleep(50000);
	CHECKF(rh_read_pid(rh_path("hang.pid")) != leader, "no second run of hang within 10 s");
	end = rh_now() + 5;
	while (rh_now() < end && !(rh_pid_dead(leader) && rh_pid_dead(child)))
		usleep(50000);
	CHECKF(rh_pid_dead(leader), "hang's script %d still running after its timeout", (int)leader);
	CHECKF(rh_pid_dead(child), "hang's forked child %d lingers after the group kill", (int)child);

	/* the ring's last 4 s cover at least two of hang's 1.5 s runs */
	usleep(4200000);
	int h = inforeg_lookup(r, "count");
	CHECK(h >= 0);
	if (h < 0)
		return;
	static double vals[256];
	static struct inforeg_meta metas[256];
	uint64_t head = inforeg_head(r), since = head > 40 ? head - 40 : 0;
	int n = inforeg_read_history(r, h, since, vals, metas, 256, NULL);
	CHECKF(n >= 30, "only %d samples in the ring's last 40", n);
	double span = n > 1 ? (double)(metas[n - 1].monotonic_ns - metas[0].monotonic_ns) / 1e9 : 0, gap = 0;
	int fresh = 1;
	for (int i = 1; i < n; i++) {
		double g = (double)(metas[i].monotonic_ns - metas[i - 1].monotonic_ns) / 1e9;
		if (g > gap)
			gap = g;
		fresh &= inforeg_value_state(vals[i]) == INFOREG_FRESH;
	}
	/* a tick waiting for hang would leave 1.5 s holes; 0.1 s is the period */
	CHECKF(gap < 0.75, "largest gap between samples %.3f s (hang's timeout is 1.5 s)", gap);
	CHECK(fresh);
	/* count runs every 200 ms: over ~4 s it must have advanced by far more than 5 */
	double adv = n > 1 ? vals[n - 1] - vals[0] : 0;
	CHECKF(adv >= 5, "count advanced by %g over %.2f s at a 0.2 s period", adv, span);
	printf("over %.2f s: %d samples, largest gap %.3f s, count +%g (period 0.2 s)\n", span, n, gap, adv);
}

static void hung_run_ages_value_into_stale_then_fails(struct inforeg_reader *r)
{
	/* two good runs (8), the third hangs: stale after ttl 1 s, failed at its 4 s timeout */
	CHECK(rh_wait_state(r, "slow", INFOREG_FAILED, NAN, 15));
	CHECK(rh_wait_rule_error(r, "slow", "timed out after 4000 ms", 5));
	/* and on the ring: fresh 8, then stale, then failed, in that order */
	int h = inforeg_lookup(r, "slow");
	static double vals[1024];
	int n = h >= 0 ? inforeg_read_history(r, h, 0, vals, NULL, 1024, NULL) : 0, phase = 0, bad = 0;
	for (int i = 0; i < n; i++) {
		enum inforeg_value_state st = inforeg_value_state(vals[i]);
		int p = st == INFOREG_FRESH ? 1 : st == INFOREG_STALE ? 2 : st == INFOREG_FAILED ? 3 : 0;
		if (p == 1 && vals[i] != 8)
			bad = 1;
		if (p && p < phase)
			bad = 1;
		if (p > phase)
			phase = p;
	}
	CHECKF(!bad && phase == 3, "slow's history is not unknown* fresh(8)+ stale+ failed+ (%d samples)", n);
}

static void put_and_delete_at_run_time(struct inforeg_reader *r)
{
	char body[1024], out[4096];
	/* invalid: a 400 naming the field, nothing added */
	int code = rh_http("PUT", "/v1/rules/late", "{\"kind\":\"exec\",\"argv\":[],\"period_ms\":100}", 1, out,
			   sizeof(out));
	CHECKF(code == 400 && strstr(out, "argv"), "empty argv: %d %s", code, out);
	code = rh_http("PUT", "/v1/rules/late", "{\"kind\":\"exec\",\"argv\":[\"true\"],\"period_ms\":5}", 1, out,
		       sizeof(out));
	CHECKF(code == 400 && strstr(out, "period_ms"), "period 5 ms: %d %s", code, out);
	code = rh_http("PUT", "/v1/rules/late", "{\"kind\":\"exec\",\"argv\":[\"true\"],\"period_ms\":100,"
						"\"env\":{\"A B\":\"x\"}}",
		       1, out, sizeof(out));
	CHECKF(code == 400 && strstr(out, "env"), "bad env name: %d %s", code, out);
	/* valid: its series appears for a reader opened before, counting at its period */
	snprintf(body, sizeof(body),
		 "{\"kind\":\"exec\",\"shell\":true,\"period_ms\":100,\"argv\":[\"n=$(cat %s 2>/dev/null || "
		 "echo 0); n=$((n+1)); echo $n > %s; echo $n\"]}",
		 rh_path("late.n"), rh_path("late.n"));
	code = rh_http("PUT", "/v1/rules/late", body, 1, out, sizeof(out));
	CHECKF(code == 201, "PUT late: %d %s", code, out);
	/* fresh and counting: at least its third run (not exactly 3: the counter moves every
	 * 100 ms, and a reader held off the CPU that long on a loaded machine can miss 3) */
	CHECK(rh_wait_fresh_min(r, "late", 3, 10));
	code = rh_http("DELETE", "/v1/rules/late", NULL, 1, out, sizeof(out));
	CHECKF(code == 200, "DELETE late: %d %s", code, out);
	double end = rh_now() + 5;
	while (rh_now() < end && (inforeg_refresh(r), inforeg_lookup(r, "late") >= 0))
		usleep(20000);
	CHECK(inforeg_lookup(r, "late") == -ENOENT);
	/* and its program runs no more */
	usleep(300000);
	pid_t n1 = rh_read_pid(rh_path("late.n"));
	usleep(700000);
	CHECKF(rh_read_pid(rh_path("late.n")) == n1, "late still runs after DELETE (%d then %d)", (int)n1,
	       (int)rh_read_pid(rh_path("late.n")));
}

int main(void)
{
	if (rh_init("exec") < 0) {
		perror("rh_init");
		return 1;
	}
	write_rules();
	struct inforeg_reader *r = rh_start("");
	CHECK(r != NULL);
	if (!r)
		TAP_EXIT();
	RH_STEP(output_forms_are_exact_and_fresh(r));
	RH_STEP(failures_mark_only_their_own_series(r));
	RH_STEP(hanging_script_killed_at_timeout_others_keep_their_period(r));
	RH_STEP(hung_run_ages_value_into_stale_then_fails(r));
	RH_STEP(put_and_delete_at_run_time(r));
	inforeg_close(r);
	TAP_EXIT();
}
