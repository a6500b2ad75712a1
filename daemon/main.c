// SPDX-License-Identifier: MIT
/*
 * main.c - inforegd: flags, configuration, the writer lock, the REST server, the loop.
 *
 * Configuration comes in three layers, later ones winning: the embedded default,
 * the --config file, the command-line flags. A bad flag or file exits with status 2
 * and a message naming the file, line and column; so does a REST listen address,
 * token file or TLS file that does not work, checked before the object is published.
 * Signals are blocked in every thread before any thread starts; the main loop takes
 * them synchronously (sigtimedwait).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "daemon.h"
#include "ring.h"

#ifndef INFOREG_VERSION_STR
#define INFOREG_VERSION_STR "0.0.0"
#endif

static const char usage[] =
    "usage: inforegd [options]\n"
    "Collects node facts every period and publishes them in the shared-memory\n"
    "registry /dev/shm/NAME (read with libinforeg or `inforeg`) and over HTTP.\n"
    "\n"
    "  --config FILE     configuration file (key = value; see README)\n"
    "  --config-if-present FILE  the same, but a missing FILE means the embedded\n"
    "                    default (what the systemd unit uses)\n"
    "  --shm NAME        registry name: /dev/shm/NAME (default inforeg)\n"
    "  --period MS       sampling period in milliseconds (default 100)\n"
    "  --history S       seconds of history the ring keeps at least (default 60)\n"
    "  --listen ADDR:PORT  REST listener, repeatable; [::1]:PORT for IPv6;\n"
    "                    'none' disables the server (default 127.0.0.1:9470)\n"
    "  --workers N       REST threads (default 1)\n"
    "  --max-connections N  REST connections past which new ones are refused at once\n"
    "                    (default 0: three quarters of the descriptor limit)\n"
    "  --token-file FILE bearer token for REST write endpoints\n"
    "  --tls-cert FILE --tls-key FILE  serve TLS (ALPN h2, http/1.1) on every listener\n"
    "  --no-ebpf         do not load the eBPF collectors\n"
    "  --cgroup PATH     container scope: cpu.* and mem.* of cgroup PATH (as in\n"
    "                    /proc/PID/cgroup), host-wide ones under host.*\n"
    "  --help            this text\n"
    "  --version         print the version\n"
    "Signals: TERM/INT exit (the registry is retired and unlinked), HUP reloads.\n";

static struct ird D;

int main(int argc, char **argv)
{
	char err[512];
	const char *config = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", ird_opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(usage, stdout);
			return 0;
		}
		if (c == OPT_VERSION) {
			printf("inforegd %s (shm layout %u)\n", INFOREG_VERSION_STR, INFOREG_LAYOUT_VERSION);
			return 0;
		}
		if (c == OPT_CONFIG || c == OPT_CONFIG_OPT) {
			config = optarg;
			D.config_optional = c == OPT_CONFIG_OPT;
		}
	}

	struct ird *d = &D;
	d->lock_fd = -1;
	d->argc = argc;
	d->argv = argv;
	cfg_defaults(&d->cfg);
	if (cfg_parse(&d->cfg, "<embedded>", cfg_embedded_default, err, sizeof(err)) < 0) {
		fprintf(stderr, "inforegd: %s\n", err);
		return 2;
	}
	if (config) {
		snprintf(d->config_path, sizeof(d->config_path), "%s", config);
		if (d->config_optional && !loop_config_present(d))
			fprintf(stderr, "inforegd: %s does not exist: running on the embedded default\n",
				config);
		else if (cfg_load_file(&d->cfg, config, err, sizeof(err)) < 0) {
			fprintf(stderr, "inforegd: %s\n", err);
			return 2;
		}
	}
	if (ird_apply_flags(&d->cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "inforegd: %s\n%s", err, "Try 'inforegd --help'.\n");
		return 2;
	}
	if (loop_check_config(&d->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "inforegd: %s\n", err);
		return 2;
	}
	if (!d->cfg.tls_cert[0] != !d->cfg.tls_key[0]) {
		fprintf(stderr, "inforegd: TLS needs both a certificate and a key (tls_cert, tls_key)\n");
		return 2;
	}
	if (shm_name_check(d->cfg.shm_name) < 0) {
		fprintf(stderr, "inforegd: shm name '%s': use letters, digits, '-', '_', '.'\n",
			d->cfg.shm_name);
		return 2;
	}

	pid_t owner;
	uid_t lock_uid;
	d->lock_fd = shm_lock_acquire(d->cfg.shm_name, &owner, &lock_uid);
	if (d->lock_fd == -EBUSY) {
		fprintf(stderr,
			"inforegd: shm name '%s' is in use by a live inforegd (pid %d); refusing to replace "
			"/dev/shm/%s\n",
			d->cfg.shm_name, (int)owner, d->cfg.shm_name);
		return 1;
	}
	if (d->lock_fd == -ELOOP) {
		fprintf(stderr, "inforegd: /dev/shm/%s.lock is a symbolic link; refusing to follow it\n",
			d->cfg.shm_name);
		return 1;
	}
	if (d->lock_fd == -EPERM && lock_uid != (uid_t)-1) {
		fprintf(
		    stderr,
		    "inforegd: /dev/shm/%s.lock is not a regular file owned by uid %u (ours) but by uid %u; "
		    "refusing it (remove it if no inforegd runs)\n",
		    d->cfg.shm_name, (unsigned)geteuid(), (unsigned)lock_uid);
		return 1;
	}
	if (d->lock_fd < 0) {
		fprintf(stderr, "inforegd: cannot lock /dev/shm/%s.lock: %s\n", d->cfg.shm_name,
			strerror(-d->lock_fd));
		return 1;
	}
	/* holding the lock: temporary objects of killed writers of this name can go */
	shm_clean_stale(d->cfg.shm_name);

	/* What the REST server will need, checked before anything is published: a bad
	 * address, token file or TLS file is the configuration's fault (exit 2). */
	struct api_config ac = {.shm_name = d->cfg.shm_name,
				.workers = d->cfg.workers,
				.max_connections = d->cfg.max_connections};
	int rest = d->cfg.n_listen > 0 && !d->cfg.listen_none;
	if (rest) {
		for (int i = 0; i < d->cfg.n_listen && i < API_LISTEN_MAX; i++)
			ac.listen[ac.n_listen++] = d->cfg.listen[i];
		ac.token_file = d->cfg.token_file[0] ? d->cfg.token_file : NULL;
		ac.tls_cert = d->cfg.tls_cert[0] ? d->cfg.tls_cert : NULL;
		ac.tls_key = d->cfg.tls_key[0] ? d->cfg.tls_key : NULL;
		int e = api_preflight(&ac, err, sizeof(err));
		if (e < 0) {
			fprintf(stderr, "inforegd: %s%s\n", err,
				e == -EADDRINUSE ? " (use --listen to choose another address, --listen none "
						   "to run without it)"
						 : "");
			shm_lock_release(d->cfg.shm_name, d->lock_fd);
			return e == -EINVAL ? 2 : 1;
		}
	}

	/* Block the signals the loop waits for before any thread exists, so that every
	 * thread inherits the mask and only sigtimedwait() in the loop consumes them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* SIGCHLD too: the exec rules' children report to the process runner's thread, which
	 * alone leaves it unblocked (so the kernel drops it there); blocked there for a moment
	 * (inside posix_spawn) it would otherwise wake this loop out of sigtimedwait at every
	 * child's exit (daemon/rules/spawn_runner.c) */
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int status = 1;
	if (loop_setup(d, err, sizeof(err)) < 0) {
		ird_log("%s", err);
		goto out;
	}
	ird_log("publishing %u series every %u ms in /dev/shm/%s (generation %016llx, pid %d)", d->reg.count,
		d->cfg.period_ms, d->cfg.shm_name, (unsigned long long)d->generation, (int)getpid());

	if (rest) {
		if (api_start(&ac, err, sizeof(err)) < 0) {
			ird_log(
			    "%s (use --listen to choose another address, --listen none to run without it)",
			    err);
			goto out;
		}
		for (int i = 0; i < ac.n_listen; i++)
			ird_log("REST server listening on http://%s", ac.listen[i]);
	} else {
		ird_log("REST server disabled (--listen none)");
	}
	status = loop_run(d);
	api_stop();
out:
	loop_teardown(d);
	shm_lock_release(d->cfg.shm_name, d->lock_fd);
	return status;
}
