/* SPDX-License-Identifier: MIT */
/*
 * tick.h - the files every tick re-reads, read together through io_uring.
 *
 * Collectors open their /proc and /sys sources once (col_file_open); at each tick the
 * main loop queues one read at offset 0 per file and submits them all with a single
 * io_uring_submit_and_wait, so a tick costs one system call for every source.
 */
#ifndef INFOREGD_TICK_H
#define INFOREGD_TICK_H

#include "collector.h"

/* Sets up a ring for up to MAX_FILES files. Returns NULL and sets errno. */
struct tick_files *tick_files_new(unsigned max_files);
/*
 * Reads every open file at offset 0 into its buffer (NUL-terminated, len set, or
 * len = -errno for that file). A file that filled its buffer gets a bigger one and is
 * re-read at once (so the next tick fits). Returns 0, or -errno if io_uring failed.
 */
int tick_files_read_all(struct tick_files *tf);
/* The same for the files of the groups marked in DUE[NGROUPS] only: a source with a
 * period longer than the tick is read when it samples, not every tick. */
int tick_files_read(struct tick_files *tf, const unsigned char *due, unsigned ngroups);
/* Files opened from now on belong to GROUP (the main loop sets it before each init). */
void tick_files_set_group(struct tick_files *tf, unsigned group);
/* Closes every file; the struct col_file pointers die with it. */
void tick_files_free(struct tick_files *tf);
/* Number of open files. */
unsigned tick_files_count(const struct tick_files *tf);

#endif /* INFOREGD_TICK_H */
