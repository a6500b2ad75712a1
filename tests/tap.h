/* SPDX-License-Identifier: MIT */
/*
 * tap.h - the few assertions the standalone C tests share. A failed CHECK prints
 * file:line and the expression and makes the test exit 1 at the end; SKIP exits 77.
 */
#ifndef INFOREG_TESTS_TAP_H
#define INFOREG_TESTS_TAP_H

#include <stdio.h>
#include <stdlib.h>

static int tap_failures;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			tap_failures++;                                                    \
		}                                                                          \
	} while (0)

#define CHECKF(cond, ...)                                                                  \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			tap_failures++;                                                    \
		}                                                                          \
	} while (0)

#define SKIP(...)                                      \
	do {                                           \
		printf("SKIP: " __VA_ARGS__);          \
		putchar('\n');                         \
		exit(77);                              \
	} while (0)

#define RUN(test)                                              \
	do {                                                   \
		int before_ = tap_failures;                    \
		test();                                        \
		printf("%s %s\n", tap_failures == before_ ? "ok  " : "FAIL", #test); \
	} while (0)

#define TAP_EXIT() return tap_failures ? 1 : 0

#endif
