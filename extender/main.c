/* SPDX-License-Identifier: MIT */
/*
 * main.c - inforeg-extender's command line: `serve` (the default: the kube-scheduler
 * extender over HTTP) and `score POD.json` (alias --dry-run: the same decision for one
 * pod, printed as a table or, with --json, as JSON). Flags are checked before anything
 * starts; a bad one exits 2 with a message, a runtime failure 1.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "extender.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: inforeg-extender [serve] [--listen ADDR:PORT] [--workers N] [--quiet] [--max-body "
	    "BYTES]\n"
	    "                        (--nodes FILE | --node-pattern URL) [--deadline-ms MS] [--min-score X]\n"
	    "                        [--cacert FILE]\n"
	    "       inforeg-extender score POD.json [--node NAME ...] [--json] (--nodes FILE | "
	    "--node-pattern URL)\n"
	    "                        [--deadline-ms MS] [--min-score X]     (also: --dry-run POD.json)\n"
	    "  serve: POST .../filter and .../prioritize (kube-scheduler extender protocol), GET /healthz;\n"
	    "         listens on %s by default.\n"
	    "  score: POD.json is a Pod or an ExtenderArgs; candidates are its Nodes/NodeNames, else the\n"
	    "         --node names, else every node of --nodes FILE.\n"
	    "  --nodes FILE        lines 'NODE-NAME URL' ('#' comments), e.g. 'gpu-1 http://10.0.0.7:9470'\n"
	    "  --node-pattern URL  'http://{node}:9470' (name) or 'http://{address}:9470' (the Node's\n"
	    "                      InternalIP in the request) for nodes not in the file\n"
	    "  --deadline-ms MS    how long a decision waits for the nodes (default %d)\n"
	    "  --min-score X       filter: least score in [0,1] to pass, unless the pod's annotation\n"
	    "                      inforeg.io/min-score says otherwise (default %.2f)\n",
	    EXT_DEFAULT_LISTEN, EXT_DEFAULT_DEADLINE_MS, EXT_DEFAULT_MIN_SCORE);
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "inforeg-extender: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * One kept connection per node and worker: raise the descriptor limit to its hard limit
 * and size the connection cache to it, so a large cluster is not cut at 1024 sockets.
 */
static long open_files_for_nodes(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536)
		return 65536;
	return rl.rlim_cur > 1124 ? (long)rl.rlim_cur - 100 : 1024;
}

/* The `score` command. Returns the exit status. */
static int cmd_score(const char *pod_file, const char **names, size_t n_names, int as_json,
		     const struct ext_nodemap *map, const struct ext_fetch_opts *fo, double min_score)
{
	struct ext_ctx c = {map, NULL, min_score, fo->deadline_ms};
	struct ext_result *res = NULL;
	struct ext_args a;
	char err[512];
	int rc, status = 1;
	size_t i;

	rc = ext_args_load_file(pod_file, &a, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "inforeg-extender: %s\n", err);
		ext_args_free(&a);
		return rc == -EINVAL ? 2 : 1;
	}
	if (!a.names || n_names) {
		/* candidates from --node, else every node of the file */
		size_t n = n_names ? n_names : ext_nodemap_count(map);

		free(a.names);
		free(a.nodes);
		a.nodes = NULL;
		a.by_names = 1;
		a.n = n;
		a.names = calloc(n ? n : 1, sizeof(*a.names));
		if (!a.names)
			goto oom;
		for (i = 0; i < n; i++)
			a.names[i] = n_names ? names[i] : ext_nodemap_name(map, i);
	}
	if (a.n == 0) {
		fprintf(stderr, "inforeg-extender: no candidate nodes: give --node NAME, a --nodes FILE, or "
				"an ExtenderArgs with Nodes or NodeNames\n");
		ext_args_free(&a);
		return 2;
	}
	c.fetch = ext_fetcher_new(fo);
	res = calloc(a.n, sizeof(*res));
	if (!c.fetch || !res || ext_decide(&c, &a, res) < 0)
		goto oom;
	if (as_json) {
		json_t *j = ext_table_json(&c, &a, res);
		char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;

		json_decref(j);
		if (!s)
			goto oom;
		printf("%s\n", s);
		free(s);
	} else {
		ext_table_print(stdout, &c, &a, res);
	}
	status = 0;
	goto out;
oom:
	fprintf(stderr, "inforeg-extender: out of memory\n");
out:
	ext_fetcher_free(c.fetch);
	free(res);
	ext_args_free(&a);
	return status;
}

int main(int argc, char **argv)
{
	enum {
		O_LISTEN = 256,
		O_WORKERS,
		O_NODES,
		O_PATTERN,
		O_DEADLINE,
		O_MIN,
		O_BODY,
		O_CACERT,
		O_NODE,
		O_JSON,
		O_QUIET,
		O_DRY,
		O_VERSION
	};
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"workers", required_argument, NULL, O_WORKERS},
	    {"nodes", required_argument, NULL, O_NODES},
	    {"node-pattern", required_argument, NULL, O_PATTERN},
	    {"deadline-ms", required_argument, NULL, O_DEADLINE},
	    {"min-score", required_argument, NULL, O_MIN},
	    {"max-body", required_argument, NULL, O_BODY},
	    {"cacert", required_argument, NULL, O_CACERT},
	    {"node", required_argument, NULL, O_NODE},
	    {"json", no_argument, NULL, O_JSON},
	    {"quiet", no_argument, NULL, O_QUIET},
	    {"dry-run", required_argument, NULL, O_DRY},
	    {"version", no_argument, NULL, O_VERSION},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ext_server_opts so = {
	    .listen = EXT_DEFAULT_LISTEN,
	    .workers = 1,
	    .max_body = 32u << 20,
	    .min_score = EXT_DEFAULT_MIN_SCORE,
	    .fetch = {.deadline_ms = EXT_DEFAULT_DEADLINE_MS},
	};
	const char *nodes_file = NULL, *pattern = NULL, *dry = NULL, *cmd = "serve";
	const char **names = NULL;
	size_t n_names = 0;
	struct ext_nodemap *map;
	char err[512];
	int c, as_json = 0, rc;
	long v;

	names = calloc((size_t)argc, sizeof(*names));
	if (!names)
		return 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN:
			so.listen = optarg;
			break;
		case O_WORKERS:
			if (parse_long(optarg, 1, 64, &v) < 0)
				return bad("--workers '%s': want 1..64", optarg);
			so.workers = (int)v;
			break;
		case O_NODES:
			nodes_file = optarg;
			break;
		case O_PATTERN:
			pattern = optarg;
			break;
		case O_DEADLINE:
			if (parse_long(optarg, 1, 60000, &v) < 0)
				return bad("--deadline-ms '%s': want 1..60000", optarg);
			so.fetch.deadline_ms = (int)v;
			break;
		case O_MIN: {
			char *end = NULL;
			double x = strtod(optarg, &end);

			if (end == optarg || *end || !(x >= 0 && x <= 1))
				return bad("--min-score '%s': want a number in [0, 1]", optarg);
			so.min_score = x;
			break;
		}
		case O_BODY:
			if (parse_long(optarg, 4096, 1L << 30, &v) < 0)
				return bad("--max-body '%s': want 4096..1073741824 bytes", optarg);
			so.max_body = (size_t)v;
			break;
		case O_CACERT:
			so.fetch.cacert = optarg;
			break;
		case O_NODE:
			names[n_names++] = optarg;
			break;
		case O_JSON:
			as_json = 1;
			break;
		case O_QUIET:
			so.quiet = 1;
			break;
		case O_DRY:
			dry = optarg;
			break;
		case O_VERSION:
			printf("inforeg-extender %s\n", INFOREG_VERSION_STR);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (dry) {
		if (strcmp(cmd, "serve") != 0 || optind < argc)
			return bad("--dry-run takes one POD.json and no command (%s)", cmd);
		cmd = "score";
	} else if (strcmp(cmd, "score") == 0) {
		if (optind >= argc)
			return bad("%s: want a POD.json", cmd);
		dry = argv[optind++];
	} else if (strcmp(cmd, "serve") != 0) {
		return bad("unknown command '%s' (serve, score)", cmd);
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);

	so.fetch.max_conns = open_files_for_nodes() / so.workers; /* each worker keeps its own */
	if (so.fetch.max_conns < 64)
		so.fetch.max_conns = 64;
	map = ext_nodemap_load(nodes_file, pattern, err, sizeof(err));
	if (!map) {
		fprintf(stderr, "inforeg-extender: %s\n", err);
		return errno == EINVAL ? 2 : 1;
	}
	if (strcmp(cmd, "score") == 0) {
		rc = cmd_score(dry, names, n_names, as_json, map, &so.fetch, so.min_score);
	} else {
		so.map = map;
		rc = ext_serve(&so, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "inforeg-extender: %s\n", err);
		rc = rc == -EINVAL ? 2 : rc < 0 ? 1 : 0;
	}
	ext_nodemap_free(map);
	free(names);
	return rc;
}
