/* SPDX-License-Identifier: MIT */
/*
 * config.c - libFuzzer target: inforegd's configuration parser (cfg_parse, the code
 * that reads --config files, the embedded default and every flag).
 *
 * Any bytes give either 0 or -EINVAL with a "NAME:LINE:COLUMN: message" error, never
 * a crash, an out-of-bounds access (ASan) or a configuration outside its own limits.
 * Seeds: tests/fuzz/config/. Run: make fuzz, or build-fuzz/fuzz/config DIR.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ird_config cfg; /* 20 KB: off the stack */
	char err[512], *text = malloc(size + 1);
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* what cfg_load_file hands over (it refuses NULs first) */
	cfg_defaults(&cfg);
	err[0] = '\0';
	rc = cfg_parse(&cfg, "fuzz", text, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc < 0 && strncmp(err, "fuzz:", 5) != 0)
		abort(); /* every error names the file, line and column */
	if (cfg.n_listen < 0 || cfg.n_listen > CFG_LISTEN_MAX || cfg.n_watches < 0 ||
	    cfg.n_watches > WATCH_MAX || cfg.workers < 1 || cfg.workers > 64 || cfg.period_ms < 1 ||
	    strnlen(cfg.shm_name, sizeof(cfg.shm_name)) == sizeof(cfg.shm_name))
		abort();
	free(text);
	return 0;
}
