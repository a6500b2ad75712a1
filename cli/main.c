// SPDX-License-Identifier: MIT
/*
 * main.c - `inforeg`, the command-line reader of the registry: global options and
 * dispatch to one subcommand per file (cli.h).
 *
 * Global options (--shm NAME, --json, --count N, --follow, -i S, -n N) are accepted
 * before and after the subcommand: `inforeg --shm X get cpu.usage` and
 * `inforeg get --shm X cpu.usage` are the same. `inforeg CMD --help` prints that
 * subcommand's help. Exit status: 0, 1 (a series or the registry missing, the daemon
 * gone), 2 (usage).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cli_cmd *const cmds[] = {
    &cli_list, &cli_get, &cli_watch, &cli_top, &cli_dump, &cli_status, &cli_node, &cli_score, NULL,
};

static void usage(FILE *f)
{
	fputs("usage: inforeg [--shm NAME] COMMAND [options] [ARGS]\n", f);
	for (int i = 0; cmds[i]; i++)
		fprintf(f, "  %s\n", cmds[i]->synopsis);
	fputs("Options: --shm NAME (default inforeg, or $INFOREG_SHM), --json, --count N,\n"
	      "         --follow, -i SECONDS, -n COUNT; 'inforeg COMMAND --help' for one command.\n",
	      f);
}

static int number(const char *opt, const char *v, double min, double *out)
{
	char *end;
	errno = 0;
	double x = v ? strtod(v, &end) : 0;
	if (!v || errno || end == v || *end || !(x >= min)) {
		fprintf(stderr, "inforeg: %s needs a number >= %g, got '%s'\n", opt, min, v ? v : "");
		return -1;
	}
	*out = x;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.shm = getenv("INFOREG_SHM") ? getenv("INFOREG_SHM") : INFOREG_DEFAULT_SHM};
	o.args = calloc((size_t)argc + 1, sizeof(char *));
	const struct cli_cmd *cmd = NULL;
	int help = 0, rc = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		double x;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			help = 1;
		} else if (!strcmp(a, "--version")) {
			printf("inforeg %s (shm layout %u)\n", INFOREG_VERSION, INFOREG_LAYOUT_VERSION);
			rc = 0;
			goto out;
		} else if (!strcmp(a, "--shm")) {
			if (i + 1 >= argc) {
				fputs("inforeg: --shm needs a name\n", stderr);
				goto out;
			}
			o.shm = argv[++i];
		} else if (!strcmp(a, "--json")) {
			o.json = 1;
		} else if (!strcmp(a, "--follow")) {
			o.follow = 1;
		} else if (!strcmp(a, "--count") || !strcmp(a, "-n")) {
			if (number(a, i + 1 < argc ? argv[++i] : NULL, 1, &x) < 0)
				goto out;
			o.count = (long)x;
		} else if (!strcmp(a, "-i") || !strcmp(a, "--interval")) {
			if (number(a, i + 1 < argc ? argv[++i] : NULL, 0.01, &x) < 0)
				goto out;
			o.interval_s = x;
		} else if (a[0] == '-' && a[1] && strcmp(a, "-") != 0) {
			fprintf(stderr, "inforeg: unknown option '%s'\n", a);
			usage(stderr);
			goto out;
		} else if (!cmd) {
			for (int k = 0; cmds[k]; k++)
				if (!strcmp(a, cmds[k]->name))
					cmd = cmds[k];
			if (!cmd) {
				fprintf(stderr, "inforeg: unknown command '%s'\n", a);
				usage(stderr);
				goto out;
			}
		} else {
			o.args[o.nargs++] = argv[i];
		}
	}
	if (help) {
		if (cmd)
			fputs(cmd->help, stdout);
		else
			usage(stdout);
		rc = 0;
	} else if (!cmd) {
		usage(stderr);
	} else {
		rc = cmd->run(&o);
	}
out:
	free(o.args);
	return rc;
}
