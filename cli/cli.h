/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the `inforeg` tool's subcommand files share with main.c.
 */
#ifndef INFOREG_CLI_H
#define INFOREG_CLI_H

/* `inforeg score [--shm NAME] RES=AMOUNT... [rule=NAME]` (score.c). Returns the exit status. */
int cmd_score(const char *shm, char **args, int nargs);

#endif /* INFOREG_CLI_H */
