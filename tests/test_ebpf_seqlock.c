// SPDX-License-Identifier: MIT
/* test_ebpf_seqlock: the daemon's reader of the eBPF per-CPU seqlock (cbpf_read_open)
 * copies a stable entry, and for an entry whose seq stays odd (a wedged or racing
 * writer) gives up with -EAGAIN and a zeroed copy instead of returning fields that were
 * never validated (issue 8 item 10, user-space side). */
#include <errno.h>
#include <string.h>

#include "ebpf/ebpf.h"
#include "tap.h"

int main(void)
{
	static struct ir_cpu c;
	struct cbpf_open o;

	memset(&c, 0, sizeof(c));
	c.seq = 4;
	c.busy_ns = 111;
	c.last_switch_ns = 222;
	c.cur_mask = 3;
	c.cur_idle = 1;
	c.cur_period = 9;
	CHECK(cbpf_read_open(&c, &o) == 0);
	CHECK(o.busy_ns == 111 && o.last_switch_ns == 222 && o.cur_mask == 3 && o.cur_idle == 1 &&
	      o.cur_period == 9);

	c.seq = 5; /* a writer in the middle of an update, forever */
	c.busy_ns = 999;
	memset(&o, 0x5a, sizeof(o));
	CHECK(cbpf_read_open(&c, &o) == -EAGAIN);
	CHECK(o.busy_ns == 0 && o.last_switch_ns == 0 && o.cur_mask == 0); /* never the torn 999 */
	printf("ok: stable entry copied, wedged entry refused\n");
	TAP_EXIT();
}
