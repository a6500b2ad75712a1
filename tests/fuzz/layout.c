/* SPDX-License-Identifier: MIT */
/*
 * layout.c - libFuzzer target: the validation a reader does on a mapped object
 * (ring_check(mem, size), shm/ring.c) and then what a reader touches once it passes:
 * the directory entries, the documents and the latest slot.
 *
 * The input is the object's bytes, copied into a buffer of exactly that size, so ASan
 * reports any access a corrupted or truncated object could lead a reader to outside
 * its mapping. A passing object must be readable in full; anything else must be an
 * error (-EPROTO, -EINVAL), never a crash. Seeds: tests/fuzz/layout/ (objects laid
 * out by ring_init, with samples, and truncated or corrupted copies).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct inforeg_shm_header *h;
	void *mem = malloc(size ? size : 1);
	volatile size_t sink = 0;
	uint64_t head, rt, mono;
	uint32_t i;
	int rc;

	if (!mem)
		return 0;
	memcpy(mem, data, size);
	rc = ring_check(mem, size);
	if (rc != 0 && rc != -EPROTO && rc != -EINVAL)
		abort();
	if (rc == 0) {
		h = mem;
		for (i = 0; i < h->series_count; i++) {
			const struct inforeg_series_desc *d = &ring_dir(h)[i];

			sink += strnlen(d->name, sizeof(d->name)) + strnlen(d->unit, sizeof(d->unit)) +
				strnlen(d->help, sizeof(d->help)) + d->kind;
		}
		for (i = 0; i < INFOREG_DOC_COUNT; i++) {
			const struct inforeg_doc *doc =
			    (const struct inforeg_doc *)((const char *)h + h->doc_offset) + i;

			sink += doc->len + (size_t)doc->words[INFOREG_DOC_MAX / 8 - 1];
		}
		head = ring_head(h);
		if (head != h->first_pos) {
			double *out = malloc((size_t)h->series_count * sizeof(double) + 8);

			if (out) {
				rc = ring_read_at(h, head - 1, 0, h->series_count, out, &rt, &mono);
				if (rc != 0 && rc != -EAGAIN && rc != -ESPIPE)
					abort();
				free(out);
			}
		}
	}
	(void)sink;
	free(mem);
	return 0;
}
