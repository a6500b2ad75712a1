// SPDX-License-Identifier: MIT
/*
 * it_bpf_blkio_untracked - a queue deeper than the in-flight table is counted, not lost
 * in silence (issue 8, item 11): with the table's capacity cut to 4 through the loader's
 * test hook (cbpf_test.blk_inflight_max; the overflow path is the real one, the map
 * refusing a fifth entry), rounds of 64 O_DIRECT reads submitted at once through
 * io_uring keep far more than 4 requests in flight. disk.io_latency.untracked rises, and
 * every read is either timed or counted there: the disk's count plus the untracked
 * count rise by at least the number of reads (other I/O only adds to either).
 */
#include <liburing.h>
#include "it_bpf_harness.h"
#include "it_bpf_disk.h"

#define FILE_MB 16
#define DEPTH	64
#define ROUNDS	8
#define CAP	4

int main(void)
{
	static const char *const names[] = {"ebpf.blkio", NULL};
	char disk[64], name[160];
	struct io_uring ring;
	struct harness h;
	double c0, c1, u0, u1;
	void *buf;
	int fd, r;

	h_need_root();
	test_file(disk, sizeof(disk), FILE_MB);
	buf = aligned_buf();
	cbpf_test.blk_inflight_max = CAP;
	h_init(&h, names);
	snprintf(name, sizeof(name), "disk.io_latency.count{dev=\"%s\"}", disk);
	h_sample(&h);
	c0 = h_find(&h, name) >= 0 ? h_get(&h, name) : 0;
	u0 = h_get(&h, "disk.io_latency.untracked");

	if ((r = io_uring_queue_init(DEPTH, &ring, 0)) < 0)
		H_FAIL("io_uring_queue_init: %s", strerror(-r));
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0)
		H_FAIL("O_DIRECT open: %s", strerror(errno));
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < DEPTH; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			/* 4 KiB each, 256 KiB apart: no two merge into one request */
			off_t off = ((off_t)(round * DEPTH + i) * 262144) % ((off_t)FILE_MB << 20);

			io_uring_prep_read(sqe, fd, (char *)buf + (size_t)i * 4096 % (1 << 20), 4096, off);
		}
		if ((r = io_uring_submit(&ring)) != DEPTH)
			H_FAIL("io_uring_submit: %d", r);
		for (int i = 0; i < DEPTH; i++) {
			struct io_uring_cqe *cqe;

			if ((r = io_uring_wait_cqe(&ring, &cqe)) < 0)
				H_FAIL("io_uring_wait_cqe: %s", strerror(-r));
			if (cqe->res != 4096)
				H_FAIL("read: %s", cqe->res < 0 ? strerror(-cqe->res) : "short");
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	close(fd);
	io_uring_queue_exit(&ring);
	h_sample(&h);
	h_sleep_ms(1100); /* the programs' skipped runs, also untracked, are read once a second */
	h_sample(&h);
	if (h_find(&h, name) < 0) {
		h_declare(&h);
		h_sample(&h); /* counts are since load, so nothing was lost */
	}
	c1 = h_get(&h, name);
	u1 = h_get(&h, "disk.io_latency.untracked");
	printf("%d reads, %d at a time, table of %d: %s %.0f -> %.0f, untracked %.0f -> %.0f\n", DEPTH * ROUNDS,
	       DEPTH, CAP, name, c0, c1, u0, u1);
	H_CHECK(u1 > u0, "no request counted untracked with %d in flight and room for %d", DEPTH, CAP);
	H_CHECK((c1 - c0) + (u1 - u0) >= DEPTH * ROUNDS, "%.0f timed + %.0f untracked for %d reads", c1 - c0,
		u1 - u0, DEPTH * ROUNDS);
	free(buf);
	h_fini(&h);
	return 0;
}
