// SPDX-License-Identifier: MIT
/*
 * it_rules_push: push rules in the real inforegd.
 *  - POST /v1/push: refused without the token (nothing set); with it, declared names
 *    are set (fresh, exact); a request naming an undeclared series is a 404 naming it
 *    and sets nothing (all or nothing); a bad body is a 400;
 *  - the Unix datagram socket beside the shm object (/dev/shm/NAME.sock, mode from
 *    shm_mode): a declared name is set, an undeclared one is counted as rejected and a
 *    malformed line as malformed in the status document, nothing else changes;
 *  - a value older than ttl_ms reads STALE (never before its TTL on the ring's clock);
 *  - a pattern admits matching names up to max (each a new series a reader opened
 *    before finds), refuses the next one and non-matching ones, and never a name that
 *    is a built-in series (409 over REST, rejected on the socket);
 *  - the socket goes away with the daemon.
 */
#include <sys/un.h>
#include "it_rules_harness.h"

static char sock_path[100];

static int send_dgram(const char *text)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ssize_t n = sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sa, sizeof(sa));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* Waits up to SECS for the status document's push.KEY to reach at least WANT. */
static int wait_push_count(struct inforeg_reader *r, const char *key, long long want, double secs)
{
	double end = rh_now() + secs;
	long long have = -1;
	while (rh_now() < end) {
		json_t *st = rh_status(r);
		have = json_integer_value(json_object_get(json_object_get(st, "push"), key));
		json_decref(st);
		if (have >= want)
			return 1;
		usleep(100000);
	}
	fprintf(stderr, "push.%s = %lld, wanted >= %lld\n", key, have, want);
	return 0;
}

static long long push_count(struct inforeg_reader *r, const char *key)
{
	json_t *st = rh_status(r);
	long long v = json_integer_value(json_object_get(json_object_get(st, "push"), key));
	json_decref(st);
	return v;
}

static void rest_needs_token_and_declared_names(struct inforeg_reader *r)
{
	char out[4096];
	int code = rh_http("POST", "/v1/push", "{\"npu.temp\": 54}", 0, out, sizeof(out));
	CHECKF(code == 401, "without the token: %d %s", code, out);
	usleep(300000);
	double v;
	enum inforeg_value_state s;
	CHECK(rh_read(r, "npu.temp", &v, &s, NULL) == 0 && s == INFOREG_UNKNOWN); /* nothing set */

	code = rh_http("POST", "/v1/push", "{\"npu.temp\": 54, \"npu.power{dev=\\\"0\\\"}\": 180.5}", 1, out,
		       sizeof(out));
	CHECKF(code == 200 && strstr(out, "\"accepted\":2"), "with the token: %d %s", code, out);
	CHECK(rh_wait_state(r, "npu.temp", INFOREG_FRESH, 54, 5));
	CHECK(rh_wait_state(r, "npu.power{dev=\"0\"}", INFOREG_FRESH, 180.5, 5));

	/* one undeclared name: 404 naming it, and the declared one in the same body not set */
	code = rh_http("POST", "/v1/push", "{\"npu.temp\": 1, \"npu.fan\": 2}", 1, out, sizeof(out));
	CHECKF(code == 404 && strstr(out, "npu.fan"), "undeclared: %d %s", code, out);
	code = rh_http("POST", "/v1/push", "{\"cpu.usage\": 2}", 1, out, sizeof(out));
	CHECKF(code == 404, "a built-in series: %d %s", code, out);
	code = rh_http("POST", "/v1/push", "[1,2]", 1, out, sizeof(out));
	CHECKF(code == 400, "an array: %d %s", code, out);
	code = rh_http("POST", "/v1/push", "{\"npu.temp\": \"hot\"}", 1, out, sizeof(out));
	CHECKF(code == 400 && strstr(out, "npu.temp"), "a string value: %d %s", code, out);
	code = rh_http("POST", "/v1/push", "{\"npu.temp\": ", 1, out, sizeof(out));
	CHECKF(code == 400, "cut JSON: %d %s", code, out);
	usleep(300000);
	CHECK(rh_read(r, "npu.temp", &v, &s, NULL) == 0 && s == INFOREG_FRESH && v == 54);
	CHECK(inforeg_lookup(r, "npu.fan") == -ENOENT);
}

static void socket_takes_declared_counts_the_rest(struct inforeg_reader *r)
{
	struct stat st;
	CHECKF(stat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode), "no socket at %s", sock_path);
	/* shm_mode 0644 -> 0664: owner and group (who may read) may also connect */
	CHECKF((st.st_mode & 0777) == 0664, "socket mode %o", st.st_mode & 0777);
	long long rej = push_count(r, "rejected"), mal = push_count(r, "malformed"),
		  ok = push_count(r, "accepted_socket");
	CHECK(send_dgram("npu.temp 61.5\n") == 0);
	CHECK(send_dgram("npu.bogus 1\n") == 0);
	CHECK(send_dgram("npu.temp not-a-number\n") == 0);
	CHECK(send_dgram("npu.power{dev=\"0\"} 99") == 0); /* no newline is fine */
	CHECK(rh_wait_state(r, "npu.temp", INFOREG_FRESH, 61.5, 5));
	CHECK(rh_wait_state(r, "npu.power{dev=\"0\"}", INFOREG_FRESH, 99, 5));
	CHECK(wait_push_count(r, "rejected", rej + 1, 5));
	CHECK(wait_push_count(r, "malformed", mal + 1, 5));
	CHECK(wait_push_count(r, "accepted_socket", ok + 2, 5));
	CHECK(inforeg_lookup(r, "npu.bogus") == -ENOENT);
	json_t *s = rh_status(r);
	const char *last = json_string_value(json_object_get(json_object_get(s, "push"), "last_rejected"));
	CHECKF(last && !strcmp(last, "npu.bogus"), "last_rejected %s", last ? last : "(none)");
	json_decref(s);
}

static void value_older_than_ttl_reads_stale(struct inforeg_reader *r)
{
	/* npu.temp's ttl is 800 ms; push once, then watch the ring */
	char out[1024];
	double t0 = rh_now();
	CHECK(rh_http("POST", "/v1/push", "{\"npu.temp\": 70}", 1, out, sizeof(out)) == 200);
	double t1 = rh_now();
	CHECK(rh_wait_state(r, "npu.temp", INFOREG_FRESH, 70, 5));
	CHECK(rh_wait_state(r, "npu.temp", INFOREG_STALE, NAN, 10));
	/* on the ring's clock: the last fresh 70 and the first stale sample after it */
	int h = inforeg_lookup(r, "npu.temp");
	static double vals[1024];
	static struct inforeg_meta m[1024];
	int n = h >= 0 ? inforeg_read_history(r, h, 0, vals, m, 1024, NULL) : 0, first70 = -1, stale = -1;
	for (int i = 0; i < n; i++) {
		if (first70 < 0 && vals[i] == 70)
			first70 = i;
		if (first70 >= 0 && stale < 0 && inforeg_value_state(vals[i]) == INFOREG_STALE)
			stale = i;
	}
	CHECK(first70 >= 0 && stale > first70);
	if (first70 >= 0 && stale > first70) {
		double fresh_for = (double)(m[stale].monotonic_ns - m[first70].monotonic_ns) / 1e9;
		/* stamped between t0 and t1; first sample showing it is after t0 */
		CHECKF(fresh_for >= 0.8 - (t1 - t0) - 0.11, "stale %.3f s after the first sample of it", fresh_for);
		for (int i = first70; i < stale; i++)
			CHECK(vals[i] == 70);
		printf("pushed value fresh for %.3f s on the ring (ttl 0.8 s)\n", fresh_for);
	}
	/* a new value makes it fresh again */
	CHECK(send_dgram("npu.temp 71") == 0);
	CHECK(rh_wait_state(r, "npu.temp", INFOREG_FRESH, 71, 5));
}

static void pattern_admits_up_to_max(struct inforeg_reader *r)
{
	char out[1024];
	uint64_t reopens = inforeg_reopens(r);
	CHECK(inforeg_lookup(r, "vendor.a") == -ENOENT);
	CHECK(send_dgram("vendor.a 1") == 0);
	CHECK(rh_wait_state(r, "vendor.a", INFOREG_FRESH, 1, 5)); /* a new series, same reader */
	CHECK(inforeg_reopens(r) > reopens);
	int code = rh_http("POST", "/v1/push", "{\"vendor.b{x=\\\"1\\\"}\": 2}", 1, out, sizeof(out));
	CHECKF(code == 200, "second pattern name: %d %s", code, out);
	CHECK(rh_wait_state(r, "vendor.b{x=\"1\"}", INFOREG_FRESH, 2, 5));
	/* max 2: the third is refused, as is a name the pattern does not match */
	code = rh_http("POST", "/v1/push", "{\"vendor.c\": 3}", 1, out, sizeof(out));
	CHECKF(code == 404 && strstr(out, "vendor.c"), "past max: %d %s", code, out);
	code = rh_http("POST", "/v1/push", "{\"other.a\": 3}", 1, out, sizeof(out));
	CHECKF(code == 404, "not matching: %d %s", code, out);
	long long rej = push_count(r, "rejected");
	CHECK(send_dgram("vendor.d 4") == 0);
	CHECK(wait_push_count(r, "rejected", rej + 1, 5));
	usleep(300000);
	CHECK(inforeg_lookup(r, "vendor.c") == -ENOENT && inforeg_lookup(r, "vendor.d") == -ENOENT);
	/* a pattern that also matches a built-in series: pushing that name must not break
	 * the rule (the name is refused at the re-layout, the rule's other names live on) */
	code = rh_http("POST", "/v1/push", "{\"cpu.count\": 99}", 1, out, sizeof(out));
	CHECKF(code == 409 && strstr(out, "cpu.count"), "a built-in name through a pattern: %d %s", code, out);
	rej = push_count(r, "rejected");
	CHECK(send_dgram("cpu.count 98") == 0);
	CHECK(wait_push_count(r, "rejected", rej + 1, 5));
	CHECK(send_dgram("cpu.cx 7") == 0);
	CHECK(rh_wait_state(r, "cpu.cx", INFOREG_FRESH, 7, 5));
	double v;
	enum inforeg_value_state st;
	CHECK(rh_read(r, "cpu.count", &v, &st, NULL) == 0 && st == INFOREG_FRESH && v != 99);
	/* the admitted ones keep taking values */
	CHECK(send_dgram("vendor.a 5") == 0);
	CHECK(rh_wait_state(r, "vendor.a", INFOREG_FRESH, 5, 5));
}

int main(void)
{
	if (rh_init("push") < 0) {
		perror("rh_init");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "/dev/shm/%s.sock", rh_shm);
	rh_file("rules/npu.json", "{\"name\":\"npu\",\"kind\":\"push\",\"names\":[\"npu.temp\","
				  "\"npu.power{dev=\\\"0\\\"}\"],\"ttl_ms\":800,\"unit\":\"celsius\"}");
	/* matches the built-in cpu.count too */
	rh_file("rules/cpuish.json",
		"{\"name\":\"cpuish\",\"kind\":\"push\",\"pattern\":\"cpu.c*\",\"max\":4,\"ttl_ms\":60000}");
	rh_file("rules/vendor.json",
		"{\"name\":\"vendor\",\"kind\":\"push\",\"pattern\":\"vendor.*\",\"max\":2,\"ttl_ms\":60000}");
	struct inforeg_reader *r = rh_start("");
	CHECK(r != NULL);
	if (!r)
		TAP_EXIT();
	RH_STEP(rest_needs_token_and_declared_names(r));
	RH_STEP(socket_takes_declared_counts_the_rest(r));
	RH_STEP(value_older_than_ttl_reads_stale(r));
	RH_STEP(pattern_admits_up_to_max(r));
	inforeg_close(r);
	kill(rh_pid, SIGTERM);
	waitpid(rh_pid, NULL, 0);
	rh_pid = 0;
	CHECKF(access(sock_path, F_OK) != 0, "%s left behind", sock_path);
	TAP_EXIT();
}
