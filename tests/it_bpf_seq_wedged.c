// SPDX-License-Identifier: MIT
/*
 * it_bpf_seq_wedged - a per-CPU entry whose seqlock never settles is reported, never read
 * torn (issue 8, item 10): with CPU N's seq made odd in the real map (an update in
 * progress that never ends: every later switch adds 2 and keeps it odd),
 * cbpf_read_open() gives up after CBPF_READ_TRIES and says so, ebpf.cpu's sample
 * returns -EAGAIN with the error in the collector's status, cpu.usage.exact{cpu="N"}
 * and the total are NaN, and the other CPUs still read. With seq even again, the next
 * samples read N once more.
 */
#include "it_bpf_harness.h"
#include "it_bpf_entry.h"
#include "cpu.skel.h"

int main(void)
{
	static const char *const names[] = {"ebpf.cpu", NULL};
	struct col_now now;
	struct collector dummy;
	struct cbpf_open o;
	struct harness h;
	struct ir_cpu e;
	struct cbpf *b;
	char name[64], other[64];
	int fd, n, m, r;

	h_init(&h, names);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("SKIP: needs two online CPUs\n");
		return 77;
	}
	memset(&dummy, 0, sizeof(dummy));
	b = cbpf_get(&dummy, &h.cfg);
	if (!b)
		H_FAIL("cbpf_get: %s", dummy.off_reason);
	fd = bpf_map__fd(b->cpu->maps.cpus);
	n = b->online[0];
	m = b->online[b->nonline - 1];
	snprintf(name, sizeof(name), "cpu.usage.exact{cpu=\"%d\"}", n);
	snprintf(other, sizeof(other), "cpu.usage.exact{cpu=\"%d\"}", m);
	h_sample(&h);
	h_sleep_ms(50);
	h_sample(&h);
	H_CHECK(isfinite(h_get(&h, name)) && isfinite(h_get(&h, other)), "CPUs unknown before the wedge");

	h_get_entry(fd, n, &e);
	e.seq |= 1;
	h_put_entry(fd, n, &e);
	H_CHECK(cbpf_read_open(&b->cpus[n], &o) == -EAGAIN, "the wedged entry was read");
	h_sleep_ms(50);
	now.mono_ns = h_now_ns();
	h.cols[0].errmsg_fresh = 0;
	r = h.cols[0].ops->sample(&h.cols[0], &now, h.values);
	printf("sample: %d (%s), %s = %f, %s = %f, total %f\n", r, h.cols[0].last_errmsg, name, h_get(&h, name),
	       other, h_get(&h, other), h_get(&h, "cpu.usage.exact"));
	H_CHECK(r == -EAGAIN, "sample returned %d, want -EAGAIN", r);
	H_CHECK(h.cols[0].errmsg_fresh && strstr(h.cols[0].last_errmsg, "changed under every one"),
		"no error for the status: \"%s\"", h.cols[0].last_errmsg);
	H_CHECK(isnan(h_get(&h, name)) && isnan(h_get(&h, "cpu.usage.exact")), "the wedged CPU read a value");
	H_CHECK(isfinite(h_get(&h, other)), "CPU %d unknown because CPU %d is wedged", m, n);

	h_get_entry(fd, n, &e);
	e.seq &= ~1ull;
	h_put_entry(fd, n, &e);
	h_sample(&h); /* CPU N starts afresh */
	h_sleep_ms(50);
	h_sample(&h);
	H_CHECK(isfinite(h_get(&h, name)), "CPU %d still unknown after the seq settled", n);
	cbpf_put(b);
	h_fini(&h);
	return 0;
}
