/* SPDX-License-Identifier: MIT */
/*
 * stress_common.h - the sample pattern the stress tests write and verify: every value
 * is a function of the sample's position and its index, and the last value is a
 * checksum over the others, so any torn or mixed copy is detected.
 */
#ifndef INFOREG_STRESS_COMMON_H
#define INFOREG_STRESS_COMMON_H

#include <stdint.h>
#include <string.h>

#define STRESS_SERIES 48

static inline uint64_t stress_hash(const double *v, uint32_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t b;
		memcpy(&b, &v[i], 8);
		h = (h ^ b) * 1099511628211ull;
	}
	return h & ((1ull << 52) - 1); /* exactly representable as a double */
}

static inline double stress_value(uint64_t pos, uint32_t i)
{
	return (double)((pos * 2654435761ull + i) & ((1ull << 52) - 1));
}

static inline void stress_fill(double *v, uint64_t pos)
{
	for (uint32_t i = 0; i < STRESS_SERIES - 1; i++)
		v[i] = stress_value(pos, i);
	v[STRESS_SERIES - 1] = (double)stress_hash(v, STRESS_SERIES - 1);
}

/* 0 if V is exactly the sample written at POS. */
static inline int stress_verify(const double *v, uint64_t pos)
{
	for (uint32_t i = 0; i < STRESS_SERIES - 1; i++)
		if (v[i] != stress_value(pos, i))
			return -1;
	return v[STRESS_SERIES - 1] == (double)stress_hash(v, STRESS_SERIES - 1) ? 0 : -1;
}

#endif
