// SPDX-License-Identifier: MIT
/* test_extender_quantity: Kubernetes resource quantities as the extender reads pod
 * requests - millicores, plain and fractional numbers, binary and decimal suffixes,
 * exponents, JSON numbers - and every malformed form refused with -EINVAL. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "extender.h"
#include "tap.h"

#define IS(s, want)                                                                                          \
	do {                                                                                                 \
		double v_ = NAN;                                                                             \
		int rc_ = ext_quantity_parse(s, &v_);                                                        \
		CHECKF(rc_ == 0 && fabs(v_ - (double)(want)) <= 1e-12 * fabs((double)(want)),                \
		       "'%s' -> rc %d %.17g, want %.17g", s, rc_, v_, (double)(want));                       \
	} while (0)

#define BAD(s)                                                                                               \
	do {                                                                                                 \
		double v_ = 42;                                                                              \
		int rc_ = ext_quantity_parse(s, &v_);                                                        \
		CHECKF(rc_ == -EINVAL && v_ == 42, "'%s' accepted (rc %d, %g)", s ? s : "(null)", rc_, v_);  \
	} while (0)

static void test_cpu_forms(void)
{
	IS("500m", 0.5);
	IS("2", 2);
	IS("1.5", 1.5);
	IS("100m", 0.1);
	IS("2500m", 2.5);
	IS("0", 0);
	IS(".5", 0.5);
	IS("5.", 5);
	IS("+1", 1);
	IS("250u", 250e-6);
	IS("10n", 10e-9);
}

static void test_memory_forms(void)
{
	IS("512Mi", 536870912.0);
	IS("1Gi", 1073741824.0);
	IS("4Gi", 4294967296.0);
	IS("0.5Gi", 536870912.0);
	IS("1Ki", 1024);
	IS("1Ti", 1099511627776.0);
	IS("1Pi", 1125899906842624.0);
	IS("1Ei", 1152921504606846976.0);
	IS("1G", 1e9);
	IS("1M", 1e6);
	IS("100k", 1e5);
	IS("1T", 1e12);
	IS("1P", 1e15);
	IS("1E", 1e18);
	IS("24579828Ki", 24579828.0 * 1024);
	IS("37926361435", 37926361435.0);
}

static void test_exponents(void)
{
	IS("1e3", 1000);
	IS("1E3", 1000);
	IS("12e-3", 0.012);
	IS("5e+2", 500);
	IS("1.5e2", 150);
}

static void test_malformed(void)
{
	BAD(NULL);
	BAD("");
	BAD("m");
	BAD("Mi");
	BAD("1mi");
	BAD("1MI");
	BAD("1KiB");
	BAD("1 Gi");
	BAD(" 1");
	BAD("1 ");
	BAD("1.2.3");
	BAD("1..2");
	BAD("--1");
	BAD("+-1");
	BAD("0x10");
	BAD("1e");
	BAD("1e+");
	BAD("1e1.5");
	BAD("abc");
	BAD("1K"); /* decimal kilo is lowercase k */
	BAD("1e99999");
	BAD("1000000000000000000000000000000000000000000000000000000000000000000");
}

static void test_json_values(void)
{
	json_t *s = json_string("750m"), *n = json_real(1.25), *i = json_integer(3), *b = json_true(),
	       *z = json_null();
	double v = 0;

	CHECK(ext_quantity_json(s, &v) == 0 && v == 0.75);
	CHECK(ext_quantity_json(n, &v) == 0 && v == 1.25);
	CHECK(ext_quantity_json(i, &v) == 0 && v == 3);
	CHECK(ext_quantity_json(b, &v) == -EINVAL);
	CHECK(ext_quantity_json(z, &v) == -EINVAL);
	CHECK(ext_quantity_json(NULL, &v) == -EINVAL);
	json_decref(s);
	json_decref(n);
	json_decref(i);
	json_decref(b);
	json_decref(z);
}

int main(void)
{
	RUN(test_cpu_forms);
	RUN(test_memory_forms);
	RUN(test_exponents);
	RUN(test_malformed);
	RUN(test_json_values);
	TAP_EXIT();
}
