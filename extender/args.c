/* SPDX-License-Identifier: MIT */
/*
 * args.c - decoding what kube-scheduler sends: ExtenderArgs {Pod, Nodes, NodeNames}.
 *
 * k8s.io/kube-scheduler/extender/v1's types carry no JSON tags and kube-scheduler's
 * peers decode with Go's encoding/json, which matches a key to a struct field ignoring
 * case (Unicode simple folding) and lets the last matching key win; the Pod and Node
 * types have lowercase tags ("metadata", "spec") matched the same way. Map keys -
 * annotations, resource names - are exact. ext_json_field() is that lookup; every
 * struct field below goes through it, every map key through json_object_get().
 *
 * Known difference: jansson keeps the first position of a key repeated with the same
 * spelling, so {"Pod":A,"pod":B,"Pod":C} yields B here and C in Go. kube-scheduler
 * never repeats a key.
 *
 * A pod's requirements follow Kubernetes' scheduling arithmetic (resource helpers of
 * k8s.io/component-helpers): containers summed, init containers as a maximum (sidecars
 * with restartPolicy Always are added), plus the pod overhead. A request left empty but
 * with a limit takes the limit, as the API server's defaulting does.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "extender.h"

const char *const ext_res_name[EXT_RES_N] = {"cpu", "mem", "gpu"};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- Go's case-insensitive field lookup ---------------------------------------------- */

static char ascii_lower(unsigned char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* KEY (UTF-8) equals the ASCII NAME under Unicode simple case folding. */
static int key_folds_to(const char *key, const char *name)
{
	const unsigned char *k = (const unsigned char *)key;
	const char *n = name;

	while (*k && *n) {
		char want = ascii_lower((unsigned char)*n);

		if (*k < 0x80) {
			if (ascii_lower(*k) != want)
				return 0;
			k++;
		} else if (k[0] == 0xE2 && k[1] == 0x84 && k[2] == 0xAA && want == 'k') {
			k += 3; /* U+212A KELVIN SIGN folds to k */
		} else if (k[0] == 0xC5 && k[1] == 0xBF && want == 's') {
			k += 2; /* U+017F LATIN SMALL LETTER LONG S folds to s */
		} else {
			return 0;
		}
		n++;
	}
	return !*k && !*n;
}

json_t *ext_json_field(const json_t *obj, const char *name)
{
	const char *key;
	json_t *v, *found = NULL;

	if (!json_is_object(obj))
		return NULL;
	/* jansson iterates in insertion (document) order: the last match wins, as in Go */
	json_object_foreach((json_t *)obj, key, v) if (key_folds_to(key, name)) found = v;
	return found;
}

/* A field that must be an object (or absent / null -> NULL). */
static json_t *field_obj(const json_t *obj, const char *name)
{
	json_t *v = ext_json_field(obj, name);

	return json_is_object(v) ? v : NULL;
}

/* ---- requirements ---------------------------------------------------------------------- */

/* Which resource a Kubernetes resource name is, or -1 when the score ignores it. */
static int res_of(const char *name)
{
	size_t n = strlen(name);

	if (strcmp(name, "cpu") == 0)
		return EXT_CPU;
	if (strcmp(name, "memory") == 0)
		return EXT_MEM;
	if (n > 4 && strcmp(name + n - 4, "/gpu") == 0)
		return EXT_GPU;
	return -1;
}

/*
 * Adds the quantities of a ResourceList (a map: resource name -> quantity) to V,
 * skipping the names EXCEPT (another ResourceList, or NULL) has. PATH and WHAT name the
 * list in messages.
 */
static int list_add(const json_t *list, const json_t *except, double v[EXT_RES_N], const char *path,
		    const char *what, char *err, size_t errlen)
{
	const char *key;
	json_t *q;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_object(list))
		return fail(err, errlen, "%s.%s: not an object", path, what);
	json_object_foreach((json_t *)list, key, q)
	{
		int r = res_of(key);
		double x;

		if (r < 0 || (json_is_object(except) && json_object_get(except, key)))
			continue;
		if (ext_quantity_json(q, &x) < 0)
			return fail(err, errlen, "%s.%s[%s]: bad quantity %s%.40s%s", path, what, key,
				    json_is_string(q) ? "'" : "",
				    json_is_string(q) ? json_string_value(q) : "(not a string)",
				    json_is_string(q) ? "'" : "");
		if (x < 0)
			return fail(err, errlen, "%s.%s[%s]: negative quantity", path, what, key);
		v[r] += x;
	}
	return 0;
}

static int container_requests(const json_t *c, double v[EXT_RES_N], const char *path, char *err,
			      size_t errlen)
{
	json_t *res = ext_json_field(c, "resources"), *req;
	int rc;

	memset(v, 0, sizeof(double) * EXT_RES_N);
	if (!res || json_is_null(res))
		return 0;
	if (!json_is_object(res))
		return fail(err, errlen, "%s.resources: not an object", path);
	req = ext_json_field(res, "requests");
	rc = list_add(req, NULL, v, path, "resources.requests", err, errlen);
	if (rc < 0)
		return rc;
	/* a limit without a request: the API server's defaulting makes the request equal */
	return list_add(ext_json_field(res, "limits"), req, v, path, "resources.limits", err, errlen);
}

/* A field that must be an array: NULL when absent or null, *BAD when something else. */
static const json_t *field_array(const json_t *obj, const char *name, int *bad)
{
	json_t *a = ext_json_field(obj, name);

	*bad = 0;
	if (!a || json_is_null(a))
		return NULL;
	if (!json_is_array(a))
		*bad = 1;
	return a;
}

int ext_pod_requirements(const json_t *pod, struct ext_req *r, char *err, size_t errlen)
{
	double sum[EXT_RES_N] = {0}, init_max[EXT_RES_N] = {0}, sidecars[EXT_RES_N] = {0}, c[EXT_RES_N];
	const json_t *spec, *meta, *arr, *ann, *ctr;
	char path[64];
	size_t i;
	int k, bad, rc;

	memset(r, 0, sizeof(*r));
	r->min_score = NAN;
	if (!json_is_object(pod))
		return fail(err, errlen, "Pod: not an object");
	meta = field_obj(pod, "metadata");
	{
		const json_t *ns = ext_json_field(meta, "namespace"), *nm = ext_json_field(meta, "name");

		snprintf(r->pod, sizeof(r->pod), "%.120s/%.120s",
			 json_is_string(ns) && json_string_length(ns) ? json_string_value(ns) : "default",
			 json_is_string(nm) ? json_string_value(nm) : "<unnamed>");
	}
	spec = field_obj(pod, "spec");
	if (!spec)
		return fail(err, errlen, "Pod has no spec");

	arr = field_array(spec, "containers", &bad);
	if (bad)
		return fail(err, errlen, "spec.containers: not an array");
	json_array_foreach(arr, i, ctr)
	{
		snprintf(path, sizeof(path), "spec.containers[%zu]", i);
		rc = container_requests(ctr, c, path, err, errlen);
		if (rc < 0)
			return rc;
		for (k = 0; k < EXT_RES_N; k++)
			sum[k] += c[k];
	}
	arr = field_array(spec, "initContainers", &bad);
	if (bad)
		return fail(err, errlen, "spec.initContainers: not an array");
	json_array_foreach(arr, i, ctr)
	{
		const json_t *rp = ext_json_field(ctr, "restartPolicy");
		int sidecar = json_is_string(rp) && strcmp(json_string_value(rp), "Always") == 0;

		snprintf(path, sizeof(path), "spec.initContainers[%zu]", i);
		rc = container_requests(ctr, c, path, err, errlen);
		if (rc < 0)
			return rc;
		for (k = 0; k < EXT_RES_N; k++) {
			double need;

			if (sidecar) {
				/* runs beside the containers and every later init container */
				sum[k] += c[k];
				sidecars[k] += c[k];
				need = sidecars[k];
			} else {
				need = c[k] + sidecars[k];
			}
			if (need > init_max[k])
				init_max[k] = need;
		}
	}
	{
		double ov[EXT_RES_N] = {0};

		rc = list_add(ext_json_field(spec, "overhead"), NULL, ov, "spec", "overhead", err, errlen);
		if (rc < 0)
			return rc;
		for (k = 0; k < EXT_RES_N; k++)
			r->want[k] = (sum[k] > init_max[k] ? sum[k] : init_max[k]) + ov[k];
	}

	ann = ext_json_field(meta, "annotations");
	if (json_is_object(ann)) {
		const json_t *p = json_object_get(ann, EXT_ANN_PROFILE),
			     *m = json_object_get(ann, EXT_ANN_MIN_SCORE);

		if (p) {
			const char *s = json_string_value(p);

			if (!s || !s[0] || strlen(s) >= sizeof(r->profile) ||
			    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
				strlen(s))
				return fail(err, errlen, "annotation %s: want 1-64 of [A-Za-z0-9_.-]",
					    EXT_ANN_PROFILE);
			strcpy(r->profile, s);
		}
		if (m) {
			const char *s = json_string_value(m);
			char *end = NULL;
			double x = s ? strtod(s, &end) : NAN;

			if (!s || end == s || *end || !(x >= 0 && x <= 1))
				return fail(err, errlen, "annotation %s: '%.40s' is not a number in [0, 1]",
					    EXT_ANN_MIN_SCORE, s ? s : "(not a string)");
			r->min_score = x;
		}
	}
	return 0;
}

/* ---- ExtenderArgs ---------------------------------------------------------------------- */

const char *ext_node_address(const json_t *node)
{
	const json_t *addrs = ext_json_field(ext_json_field(node, "status"), "addresses"), *a;
	size_t i;

	json_array_foreach(addrs, i, a)
	{
		const json_t *type = ext_json_field(a, "type"), *addr = ext_json_field(a, "address");

		if (json_is_string(type) && strcmp(json_string_value(type), "InternalIP") == 0 &&
		    json_is_string(addr))
			return json_string_value(addr);
	}
	return NULL;
}

static int nodes_from_list(const json_t *list, struct ext_args *a, char *err, size_t errlen)
{
	const json_t *items = ext_json_field(list, "items"), *it;
	size_t i;

	if (!json_is_object(list))
		return fail(err, errlen, "Nodes: not a NodeList object");
	if (items && !json_is_null(items) && !json_is_array(items))
		return fail(err, errlen, "Nodes.items: not an array");
	a->n = json_array_size(items);
	a->names = calloc(a->n ? a->n : 1, sizeof(*a->names));
	a->nodes = calloc(a->n ? a->n : 1, sizeof(*a->nodes));
	if (!a->names || !a->nodes)
		return -ENOMEM;
	json_array_foreach(items, i, it)
	{
		const json_t *nm = ext_json_field(field_obj(it, "metadata"), "name");

		if (!json_is_string(nm) || !json_string_length(nm)) {
			a->n = i;
			return fail(err, errlen, "Nodes.items[%zu]: no metadata.name", i);
		}
		a->names[i] = json_string_value(nm);
		a->nodes[i] = (json_t *)it;
	}
	return 0;
}

static int nodes_from_names(const json_t *names, struct ext_args *a, char *err, size_t errlen)
{
	const json_t *it;
	size_t i;

	a->by_names = 1;
	if (!json_is_array(names))
		return fail(err, errlen, "NodeNames: not an array of strings");
	a->n = json_array_size(names);
	a->names = calloc(a->n ? a->n : 1, sizeof(*a->names));
	if (!a->names)
		return -ENOMEM;
	json_array_foreach(names, i, it)
	{
		if (!json_is_string(it) || !json_string_length(it)) {
			a->n = i;
			return fail(err, errlen, "NodeNames[%zu]: not a node name", i);
		}
		a->names[i] = json_string_value(it);
	}
	return 0;
}

/* ROOT is ExtenderArgs, or (BARE_OK) a Pod alone. Takes ROOT's reference. */
static int args_from_root(json_t *root, struct ext_args *a, int bare_ok, char *err, size_t errlen)
{
	json_t *nodes, *names;
	int rc;

	a->root = root;
	if (!json_is_object(root))
		return fail(err, errlen, "body is not a JSON object (want ExtenderArgs)");
	a->pod = ext_json_field(root, "Pod");
	if (!a->pod && bare_ok && ext_json_field(root, "spec")) {
		a->pod = root;
		return ext_pod_requirements(a->pod, &a->req, err, errlen);
	}
	names = ext_json_field(root, "NodeNames");
	nodes = ext_json_field(root, "Nodes");
	/* nodeCacheCapable sends NodeNames and "Nodes":null; otherwise the reverse */
	if (names && !json_is_null(names))
		rc = nodes_from_names(names, a, err, errlen);
	else if (nodes && !json_is_null(nodes))
		rc = nodes_from_list(nodes, a, err, errlen);
	else if (bare_ok)
		rc = 0;
	else
		rc = fail(err, errlen, "neither Nodes nor NodeNames given");
	if (rc < 0)
		return rc;
	if (!a->pod || json_is_null(a->pod))
		return fail(err, errlen, "no Pod in the request");
	return ext_pod_requirements(a->pod, &a->req, err, errlen);
}

int ext_args_parse(const char *body, size_t len, struct ext_args *a, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	memset(a, 0, sizeof(*a));
	a->req.min_score = NAN;
	root = json_loadb(body, len, 0, &jerr);
	if (!root)
		return fail(err, errlen, "body is not JSON: %d:%d: %s", jerr.line, jerr.column, jerr.text);
	return args_from_root(root, a, 0, err, errlen);
}

int ext_args_load_file(const char *path, struct ext_args *a, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	memset(a, 0, sizeof(*a));
	a->req.min_score = NAN;
	root = json_load_file(path, 0, &jerr);
	if (!root)
		return fail(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	return args_from_root(root, a, 1, err, errlen);
}

void ext_args_free(struct ext_args *a)
{
	if (!a)
		return;
	free(a->names);
	free(a->nodes);
	json_decref(a->root);
	memset(a, 0, sizeof(*a));
}
