// SPDX-License-Identifier: MIT
/*
 * flags.c - inforegd's command-line flags, applied over a parsed configuration.
 *
 * Each flag is fed to the configuration parser as one "key = value" line, so flags and
 * files share one validation; messages name the flag. Kept apart from main() because
 * the loop re-applies the flags over the file at every reload (SIGHUP).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"

const struct option ird_opts[] = {
    {"config", required_argument, 0, OPT_CONFIG},
    {"config-if-present", required_argument, 0, OPT_CONFIG_OPT},
    {"shm", required_argument, 0, OPT_SHM},
    {"period", required_argument, 0, OPT_PERIOD},
    {"history", required_argument, 0, OPT_HISTORY},
    {"listen", required_argument, 0, OPT_LISTEN},
    {"workers", required_argument, 0, OPT_WORKERS},
    {"token-file", required_argument, 0, OPT_TOKEN},
    {"no-ebpf", no_argument, 0, OPT_NO_EBPF},
    {"tls-cert", required_argument, 0, OPT_TLS_CERT},
    {"tls-key", required_argument, 0, OPT_TLS_KEY},
    {"cgroup", required_argument, 0, OPT_CGROUP},
    {"max-connections", required_argument, 0, OPT_MAX_CONNS},
    {"help", no_argument, 0, OPT_HELP},
    {"version", no_argument, 0, OPT_VERSION},
    {0, 0, 0, 0},
};

/* Feeds one flag to the config parser as a "key = value" line, so flags and files
 * share validation; messages name the flag instead of a line. */
static int flag_to_cfg(struct ird_config *cfg, const char *flag, const char *key, const char *val, char *err,
		       size_t errlen)
{
	char line[600], perr[512];
	if (strchr(val, '\n')) {
		snprintf(err, errlen, "--%s: invalid value", flag);
		return -EINVAL;
	}
	snprintf(line, sizeof(line), "%s = %s\n", key, val);
	char name[64];
	snprintf(name, sizeof(name), "--%s", flag);
	char source[sizeof(cfg->source)];
	memcpy(source, cfg->source, sizeof(source)); /* flags refine the file, they are not its source */
	int e = cfg_parse(cfg, name, line, perr, sizeof(perr));
	memcpy(cfg->source, source, sizeof(source));
	if (e) {
		/* drop the ":1:COL" position: it is the flag's, not a file's */
		const char *msg = strstr(perr, ": ");
		const char *m2 = msg ? strstr(msg + 2, ": ") : NULL;
		snprintf(err, errlen, "--%s: %s", flag, m2 ? m2 + 2 : perr);
	}
	return e;
}

int ird_apply_flags(struct ird_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	int listen_seen = 0, c, e = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", ird_opts, NULL)) != -1) {
		switch (c) {
		case OPT_SHM:
			e = flag_to_cfg(cfg, "shm", "shm", optarg, err, errlen);
			break;
		case OPT_PERIOD:
			e = flag_to_cfg(cfg, "period", "period_ms", optarg, err, errlen);
			break;
		case OPT_HISTORY:
			e = flag_to_cfg(cfg, "history", "history_s", optarg, err, errlen);
			break;
		case OPT_WORKERS:
			e = flag_to_cfg(cfg, "workers", "workers", optarg, err, errlen);
			break;
		case OPT_MAX_CONNS:
			e = flag_to_cfg(cfg, "max-connections", "max_connections", optarg, err, errlen);
			break;
		case OPT_TOKEN:
			e = flag_to_cfg(cfg, "token-file", "token_file", optarg, err, errlen);
			break;
		case OPT_TLS_CERT:
			e = flag_to_cfg(cfg, "tls-cert", "tls_cert", optarg, err, errlen);
			break;
		case OPT_TLS_KEY:
			e = flag_to_cfg(cfg, "tls-key", "tls_key", optarg, err, errlen);
			break;
		case OPT_CGROUP:
			e = flag_to_cfg(cfg, "cgroup", "cgroup", optarg, err, errlen);
			break;
		case OPT_NO_EBPF:
			cfg->no_ebpf = 1;
			break;
		case OPT_LISTEN:
			if (!listen_seen++) /* the first --listen replaces the file's list */
				cfg->n_listen = 0;
			e = flag_to_cfg(cfg, "listen", "listen", optarg, err, errlen);
			break;
		case OPT_CONFIG:
		case OPT_CONFIG_OPT:
		case OPT_HELP:
		case OPT_VERSION:
			break;
		case ':':
			snprintf(err, errlen, "%s: missing argument", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
		if (e)
			return e;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
