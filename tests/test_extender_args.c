// SPDX-License-Identifier: MIT
/* test_extender_args: decoding what kube-scheduler sends, as Go's encoding/json does -
 * struct fields matched ignoring case (Unicode folding included, last key wins), map keys
 * exact; the recorded ExtenderArgs payloads (Nodes full and NodeNames only); the pod's
 * requirements (containers summed, init containers as a maximum, sidecars, overhead,
 * limits as default requests, annotations); clear errors; the replies' upstream field
 * names; priorities; the node address map. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extender.h"
#include "tap.h"

static char fixture_dir[512];

static const char *fixture(const char *name)
{
	static char p[600];

	snprintf(p, sizeof(p), "%s/%s", fixture_dir, name);
	return p;
}

static int parse(const char *body, struct ext_args *a, char *err, size_t errlen)
{
	return ext_args_parse(body, strlen(body), a, err, errlen);
}

static void test_field_folding(void)
{
	json_t *o = json_loads("{\"pOd\":1,\"NODES\":2,\"nodeNames\":3,\"\xe2\x84\xaa"
			       "ind\":4,\"\xc5\xbf"
			       "pec\":5,\"Nodes2\":6}",
			       0, NULL);

	CHECK(json_integer_value(ext_json_field(o, "Pod")) == 1);
	CHECK(json_integer_value(ext_json_field(o, "Nodes")) == 2);
	CHECK(json_integer_value(ext_json_field(o, "NodeNames")) == 3);
	CHECK(json_integer_value(ext_json_field(o, "kind")) == 4); /* Kelvin sign folds to k */
	CHECK(json_integer_value(ext_json_field(o, "spec")) == 5); /* long s folds to s */
	CHECK(ext_json_field(o, "Node") == NULL);
	CHECK(ext_json_field(o, "status") == NULL);
	CHECK(ext_json_field(NULL, "Pod") == NULL);
	json_decref(o);
	/* Go: every matching key is assigned in turn, so the last one wins */
	o = json_loads("{\"Pod\":1,\"pod\":2,\"POD\":3}", 0, NULL);
	CHECK(json_integer_value(ext_json_field(o, "Pod")) == 3);
	json_decref(o);
	/* a non-ASCII letter that does not fold to ASCII never matches */
	o = json_loads("{\"P\xc3\xb6"
		       "d\":1}",
		       0, NULL);
	CHECK(ext_json_field(o, "Pod") == NULL);
	json_decref(o);
}

static void test_recorded_nodes_full(void)
{
	struct ext_args a;
	char err[256] = "";
	int rc = ext_args_load_file(fixture("args_nodes.json"), &a, err, sizeof(err));

	CHECKF(rc == 0, "%s", err);
	CHECK(a.n == 3 && !a.by_names && a.nodes);
	CHECK(a.n == 3 && strcmp(a.names[0], "node-a") == 0 && strcmp(a.names[2], "node-c") == 0);
	CHECK(a.nodes && json_is_object(ext_json_field(a.nodes[1], "status")));
	CHECK(a.nodes &&
	      strcmp(ext_node_address(a.nodes[1]) ? ext_node_address(a.nodes[1]) : "", "10.0.0.2") == 0);
	CHECK(ext_node_address(NULL) == NULL);
	CHECK(strcmp(a.req.pod, "inference/llm-0") == 0);
	/* server 2 + sidecar 0.5 cores; 4Gi + 512Mi; one GPU; the init container (1 core) is smaller */
	CHECKF(a.req.want[EXT_CPU] == 2.5, "cpu %g", a.req.want[EXT_CPU]);
	CHECKF(a.req.want[EXT_MEM] == 4831838208.0, "mem %g", a.req.want[EXT_MEM]);
	CHECK(a.req.want[EXT_GPU] == 1);
	CHECK(a.req.min_score == 0.3);
	CHECK(a.req.profile[0] == '\0');
	ext_args_free(&a);
}

static void test_recorded_node_names(void)
{
	struct ext_args a;
	char err[256] = "";
	int rc = ext_args_load_file(fixture("args_nodenames.json"), &a, err, sizeof(err));

	CHECKF(rc == 0, "%s", err);
	CHECK(a.n == 3 && a.by_names && !a.nodes);
	CHECK(a.n == 3 && strcmp(a.names[1], "node-b") == 0);
	CHECK(a.req.want[EXT_CPU] == 2.5 && a.req.want[EXT_GPU] == 1);
	ext_args_free(&a);
	/* a bare Pod is fine for the score command, not for the server */
	rc = ext_args_load_file(fixture("pod.json"), &a, err, sizeof(err));
	CHECKF(rc == 0 && a.n == 0 && !a.names && a.req.want[EXT_CPU] == 2.5, "%s", err);
	ext_args_free(&a);
}

static void test_odd_casing_from_go_peers(void)
{
	struct ext_args a;
	char err[256] = "";
	int rc = parse(
	    "{\"pod\":{\"Metadata\":{\"NAME\":\"p\",\"Annotations\":{\"inforeg.io/profile\":\"resnet50\"}},"
	    "\"SPEC\":{\"Containers\":[{\"Resources\":{\"Requests\":{\"cpu\":\"250m\",\"memory\":\"1G\"}}}]}}"
	    ","
	    "\"nodenames\":[\"n1\",\"n2\"],\"nodes\":null}",
	    &a, err, sizeof(err));

	CHECKF(rc == 0, "%s", err);
	CHECK(a.by_names && a.n == 2);
	CHECK(strcmp(a.req.pod, "default/p") == 0);
	CHECK(a.req.want[EXT_CPU] == 0.25 && a.req.want[EXT_MEM] == 1e9 && a.req.want[EXT_GPU] == 0);
	CHECK(strcmp(a.req.profile, "resnet50") == 0);
	CHECK(isnan(a.req.min_score));
	ext_args_free(&a);
	/* map keys are exact: "CPU" is not a resource, "Inforeg.io/min-score" not our annotation */
	rc =
	    parse("{\"Pod\":{\"metadata\":{\"annotations\":{\"Inforeg.io/min-score\":\"x\"}},"
		  "\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"CPU\":\"4\",\"cpu\":\"1\"}}}]}},"
		  "\"NodeNames\":[]}",
		  &a, err, sizeof(err));
	CHECKF(rc == 0 && a.req.want[EXT_CPU] == 1 && isnan(a.req.min_score) && a.n == 0, "%s", err);
	ext_args_free(&a);
}

static double cpu_of(const char *spec)
{
	char body[2048], err[256] = "";
	struct ext_args a;
	double v;

	snprintf(body, sizeof(body), "{\"Pod\":{\"spec\":%s},\"NodeNames\":[\"n\"]}", spec);
	v = parse(body, &a, err, sizeof(err)) == 0 ? a.req.want[EXT_CPU] : -1;
	if (v < 0)
		fprintf(stderr, "  %s: %s\n", spec, err);
	ext_args_free(&a);
	return v;
}

static void test_kubernetes_arithmetic(void)
{
	/* containers add up */
	CHECK(cpu_of("{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"1\"}}},"
		     "{\"resources\":{\"requests\":{\"cpu\":\"500m\"}}}]}") == 1.5);
	/* an init container larger than the sum wins */
	CHECK(cpu_of("{\"initContainers\":[{\"resources\":{\"requests\":{\"cpu\":\"4\"}}},"
		     "{\"resources\":{\"requests\":{\"cpu\":\"1\"}}}],"
		     "\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}") == 4);
	/* a sidecar (restartPolicy Always) adds to the containers and to later init containers */
	CHECK(cpu_of("{\"initContainers\":[{\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{"
		     "\"cpu\":\"1\"}}},"
		     "{\"resources\":{\"requests\":{\"cpu\":\"3\"}}}],"
		     "\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}") == 4);
	CHECK(cpu_of("{\"initContainers\":[{\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{"
		     "\"cpu\":\"1\"}}}],"
		     "\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}") == 3);
	/* the pod overhead is added */
	CHECK(cpu_of("{\"overhead\":{\"cpu\":\"250m\"},\"containers\":[{\"resources\":{\"requests\":{\"cpu\":"
		     "\"1\"}}}]}") == 1.25);
	/* a limit without a request is the request (API server defaulting) */
	CHECK(cpu_of("{\"containers\":[{\"resources\":{\"limits\":{\"cpu\":\"3\"}}},"
		     "{\"resources\":{\"limits\":{\"cpu\":\"9\"},\"requests\":{\"cpu\":\"1\"}}}]}") == 4);
	/* nothing requested */
	CHECK(cpu_of("{\"containers\":[{\"name\":\"x\"},{\"resources\":null}]}") == 0);
}

static void test_gpu_vendors(void)
{
	struct ext_args a;
	char err[256] = "";
	int rc = parse(
	    "{\"Pod\":{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"nvidia.com/gpu\":\"2\","
	    "\"amd.com/gpu\":1,\"example.com/"
	    "foo\":\"7\",\"ephemeral-storage\":\"1Gi\"}}}]}},\"NodeNames\":[]}",
	    &a, err, sizeof(err));

	CHECKF(rc == 0 && a.req.want[EXT_GPU] == 3 && a.req.want[EXT_MEM] == 0, "%s", err);
	ext_args_free(&a);
}

#define REFUSED(body, want)                                                                                  \
	do {                                                                                                 \
		struct ext_args a_;                                                                          \
		char err_[256] = "";                                                                         \
		int rc_ = parse(body, &a_, err_, sizeof(err_));                                              \
		CHECKF(rc_ == -EINVAL && strstr(err_, want), "rc %d, message '%s', want '%s'", rc_, err_,    \
		       want);                                                                                \
		ext_args_free(&a_);                                                                          \
	} while (0)

static void test_refusals(void)
{
	REFUSED("", "not JSON");
	REFUSED("{\"Pod\":", "not JSON");
	REFUSED("[]", "not a JSON object");
	REFUSED("{\"NodeNames\":[\"a\"]}", "no Pod");
	REFUSED("{\"Pod\":null,\"NodeNames\":[\"a\"]}", "no Pod");
	REFUSED("{\"Pod\":{\"spec\":{}},\"Nodes\":null,\"NodeNames\":null}", "neither Nodes nor NodeNames");
	REFUSED("{\"Pod\":{\"spec\":{}},\"NodeNames\":[\"a\",7]}", "NodeNames[1]");
	REFUSED("{\"Pod\":{\"spec\":{}},\"Nodes\":{\"items\":[{\"metadata\":{}}]}}",
		"Nodes.items[0]: no metadata.name");
	REFUSED("{\"Pod\":{},\"NodeNames\":[]}", "no spec");
	REFUSED("{\"Pod\":{\"spec\":{\"containers\":{}}},\"NodeNames\":[]}", "spec.containers: not an array");
	REFUSED(
	    "{\"Pod\":{\"spec\":{\"containers\":[{},{\"resources\":{\"requests\":{\"memory\":\"12Q\"}}}]}},"
	    "\"NodeNames\":[]}",
	    "spec.containers[1].resources.requests[memory]: bad quantity '12Q'");
	REFUSED("{\"Pod\":{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"-1\"}}}]}},"
		"\"NodeNames\":[]}",
		"negative");
	REFUSED("{\"Pod\":{\"metadata\":{\"annotations\":{\"inforeg.io/"
		"min-score\":\"1.5\"}},\"spec\":{}},\"NodeNames\":[]}",
		"inforeg.io/min-score: '1.5' is not a number in [0, 1]");
	REFUSED("{\"Pod\":{\"metadata\":{\"annotations\":{\"inforeg.io/profile\":\"a "
		"b\"}},\"spec\":{}},\"NodeNames\":[]}",
		"inforeg.io/profile");
}

static void test_partial_shape_kept(void)
{
	struct ext_args a;
	char err[256];
	json_t *j;

	/* a bad pod still leaves the candidates known, so the filter reply keeps the shape */
	CHECK(parse("{\"Pod\":{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"x\"}}}]}},"
		    "\"NodeNames\":[\"a\",\"b\"]}",
		    &a, err, sizeof(err)) == -EINVAL);
	CHECK(a.by_names && a.n == 2);
	j = ext_filter_json(&a, NULL, 0.5, err);
	CHECK(json_is_array(json_object_get(j, "NodeNames")) &&
	      json_array_size(json_object_get(j, "NodeNames")) == 0);
	CHECK(json_is_null(json_object_get(j, "Nodes")));
	CHECK(strstr(json_string_value(json_object_get(j, "Error")), "bad quantity") != NULL);
	json_decref(j);
	ext_args_free(&a);
}

static void set_ok(struct ext_result *r, double score, enum ext_source src)
{
	memset(r, 0, sizeof(*r));
	for (int k = 0; k < EXT_RES_N; k++)
		r->free[k] = r->perf[k] = NAN;
	r->state = EXT_OK;
	r->score = score;
	r->source = src;
}

static void test_replies(void)
{
	struct ext_args a;
	struct ext_result res[3];
	char err[256] = "";
	json_t *j, *items, *failed, *prio;
	int rc = ext_args_load_file(fixture("args_nodes.json"), &a, err, sizeof(err));

	CHECKF(rc == 0, "%s", err);
	if (rc)
		return;
	set_ok(&res[0], 0.83, EXT_SRC_SCORE);
	set_ok(&res[1], 0.2, EXT_SRC_METRICS);
	res[1].free[EXT_CPU] = 0.5;
	res[1].perf[EXT_CPU] = 0.2;
	memset(&res[2], 0, sizeof(res[2]));
	res[2].state = EXT_NODATA;
	snprintf(res[2].why, sizeof(res[2].why), "%s: no answer within 50 ms", EXT_NO_DATA);

	j = ext_filter_json(&a, res, 0.3, NULL);
	items = json_object_get(json_object_get(j, "Nodes"), "items");
	failed = json_object_get(j, "FailedNodes");
	CHECK(json_array_size(items) == 1);
	/* the passing node goes back whole, as kube-scheduler sent it */
	CHECK(json_array_get(items, 0) == a.nodes[0]);
	CHECK(json_is_null(json_object_get(j, "NodeNames")));
	CHECK(json_object_size(failed) == 2);
	CHECK(strncmp(json_string_value(json_object_get(failed, "node-c")), "no fresh data", 13) == 0);
	CHECKF(strstr(json_string_value(json_object_get(failed, "node-b")),
		      "0.20 < min-score 0.30 (cpu: 0.5 cores free of 2.5 cores requested)") &&
		   strstr(json_string_value(json_object_get(failed, "node-b")), "computed by the extender"),
	       "%s", json_string_value(json_object_get(failed, "node-b")));
	CHECK(json_is_object(json_object_get(j, "FailedAndUnresolvableNodes")));
	CHECK(strcmp(json_string_value(json_object_get(j, "Error")), "") == 0);
	json_decref(j);

	prio = ext_prioritize_json(&a, res);
	CHECK(json_array_size(prio) == 3);
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(prio, 0), "Host")), "node-a") == 0);
	CHECK(json_integer_value(json_object_get(json_array_get(prio, 0), "Score")) == 8);
	CHECK(json_integer_value(json_object_get(json_array_get(prio, 1), "Score")) == 2);
	CHECK(json_integer_value(json_object_get(json_array_get(prio, 2), "Score")) == 0);
	json_decref(prio);
	ext_args_free(&a);
}

static void test_priority_and_formula(void)
{
	CHECK(ext_priority(0) == 0);
	CHECK(ext_priority(0.04) == 0);
	CHECK(ext_priority(0.05) == 1);
	CHECK(ext_priority(0.83) == 8);
	CHECK(ext_priority(0.85) == 9);
	CHECK(ext_priority(1) == 10);
	CHECK(ext_priority(NAN) == 0);
	CHECK(fabs(ext_perf(2.07, 2.5) - 0.828) < 1e-12);
	CHECK(ext_perf(3, 2.5) == 1);
	CHECK(ext_perf(2.5, 2.5) == 1);
	CHECK(ext_perf(0, 1) == 0);
	CHECK(ext_perf(-0.1, 1) == 0);
	CHECK(ext_perf(0, 0) == 1);
}

static void test_nodemap(void)
{
	char path[] = "/tmp/test_extender_nodes.XXXXXX", url[256], err[256] = "";
	int fd = mkstemp(path);
	struct ext_nodemap *m;
	FILE *f;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	fprintf(f,
		"# node addresses\nnode-a http://10.0.0.1:9470/\n\n  node-b\thttps://10.0.0.2:9470  # tls\n");
	fclose(f);
	m = ext_nodemap_load(path, "http://{node}.nodes.example:9470", err, sizeof(err));
	CHECKF(m != NULL, "%s", err);
	if (m) {
		CHECK(ext_nodemap_count(m) == 2 && strcmp(ext_nodemap_name(m, 1), "node-b") == 0);
		CHECK(ext_nodemap_url(m, "node-a", NULL, url, sizeof(url)) == 0 &&
		      strcmp(url, "http://10.0.0.1:9470") == 0);
		CHECK(ext_nodemap_url(m, "node-b", NULL, url, sizeof(url)) == 0 &&
		      strcmp(url, "https://10.0.0.2:9470") == 0);
		CHECK(ext_nodemap_url(m, "gpu-7.zone-b", NULL, url, sizeof(url)) == 0 &&
		      strcmp(url, "http://gpu-7.zone-b.nodes.example:9470") == 0);
		CHECK(ext_nodemap_url(m, "evil@host/x", NULL, url, sizeof(url)) == -EINVAL);
		CHECK(ext_nodemap_url(m, "Upper", NULL, url, sizeof(url)) == -EINVAL);
		CHECK(ext_nodemap_url(m, "node-a", NULL, url, 8) == -ENAMETOOLONG);
		ext_nodemap_free(m);
	}
	m = ext_nodemap_load(path, NULL, err, sizeof(err));
	CHECK(m && ext_nodemap_url(m, "node-c", NULL, url, sizeof(url)) == -ENOENT);
	ext_nodemap_free(m);
	f = fopen(path, "w");
	fprintf(f, "node-a http://10.0.0.1:9470\nnode-b 10.0.0.2:9470\n");
	fclose(f);
	m = ext_nodemap_load(path, NULL, err, sizeof(err));
	CHECKF(!m && strstr(err, ":2:8: want"), "%s", err);
	f = fopen(path, "w");
	fprintf(f, "node-a http://10.0.0.1:9470\nnode-a http://10.0.0.2:9470\n");
	fclose(f);
	m = ext_nodemap_load(path, NULL, err, sizeof(err));
	CHECKF(!m && strstr(err, ":2:1: node 'node-a' listed twice"), "%s", err);
	m = ext_nodemap_load(NULL, "http://node:9470", err, sizeof(err));
	CHECKF(!m && strstr(err, "{node}"), "%s", err);
	m = ext_nodemap_load(NULL, "http://{node}.{address}:9470", err, sizeof(err));
	CHECK(!m);
	/* {address}: the InternalIP the request's Node object carries */
	m = ext_nodemap_load(NULL, "http://{address}:9470/", err, sizeof(err));
	CHECKF(m != NULL, "%s", err);
	if (m) {
		CHECK(ext_nodemap_url(m, "n1", "10.0.0.7", url, sizeof(url)) == 0 &&
		      strcmp(url, "http://10.0.0.7:9470") == 0);
		CHECK(ext_nodemap_url(m, "n1", "fd00::7", url, sizeof(url)) == 0 &&
		      strcmp(url, "http://[fd00::7]:9470") == 0);
		CHECK(ext_nodemap_url(m, "n1", NULL, url, sizeof(url)) == -ENXIO);
		CHECK(ext_nodemap_url(m, "n1", "evil.example/x?", url, sizeof(url)) == -EINVAL);
		ext_nodemap_free(m);
	}
	m = ext_nodemap_load(NULL, NULL, err, sizeof(err));
	CHECK(!m);
	unlink(path);
}

int main(void)
{
	const char *top = getenv("INFOREG_TOP");

	snprintf(fixture_dir, sizeof(fixture_dir), "%s/tests/extender", top ? top : ".");
	if (access(fixture("args_nodes.json"), R_OK) != 0)
		SKIP("fixtures not found under %s (set INFOREG_TOP)", fixture_dir);
	RUN(test_field_folding);
	RUN(test_recorded_nodes_full);
	RUN(test_recorded_node_names);
	RUN(test_odd_casing_from_go_peers);
	RUN(test_kubernetes_arithmetic);
	RUN(test_gpu_vendors);
	RUN(test_refusals);
	RUN(test_partial_shape_kept);
	RUN(test_replies);
	RUN(test_priority_and_formula);
	RUN(test_nodemap);
	TAP_EXIT();
}
