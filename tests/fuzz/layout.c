/* SPDX-License-Identifier: MIT */
/*
 * layout.c - libFuzzer target: the validation a reader does on a mapped object
 * (ring_check(mem, size), shm/ring.c) and then what a reader touches once it passes:
 * the directory entries, the documents and the latest slot.
 *
 * Two kinds of input, told apart by the first byte:
 *  - even: the object's raw bytes (after that byte);
 *  - odd: a recipe, so that seeds do not depend on the layout version: parameters for
 *    ring_init (series count, capacity, samples to publish, first position), a
 *    truncation, then 10-byte patches (offset, 8-byte value) over the fresh object.
 * Either way the object is copied into a buffer of exactly its size, so ASan reports
 * any access a corrupted or truncated object could lead a reader to outside its
 * mapping. A passing object must be readable in full; anything else must be an error
 * (-EPROTO, -EINVAL), never a crash. Seeds: tests/fuzz/layout/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Builds the recipe's object into a fresh malloc of exactly its (truncated) size. */
static void *from_recipe(const uint8_t *d, size_t n, size_t *size)
{
	struct ring_params p = {.period_ns = 1000000, .generation = 42, .writer_pid = 1};
	double v[40];
	size_t full, keep;
	uint8_t *obj, *out;
	unsigned i, samples;

	if (n < 7)
		return NULL;
	p.series_count = d[0] % 40;
	p.capacity = 2u << (d[1] % 5);
	samples = d[2] % 40;
	p.first_pos = d[3] & 0x80 ? UINT64_MAX - (d[3] & 7) : 0;
	full = ring_size(&p);
	obj = calloc(1, full);
	if (!obj || ring_init(obj, full, &p) < 0) {
		free(obj);
		return NULL;
	}
	for (i = 0; i < 40; i++)
		v[i] = i * 0.5;
	for (i = 0; i < samples; i++)
		ring_publish((struct inforeg_shm_header *)obj, v, 1000 + i, 2000 + i);
	keep = (size_t)d[4] | (size_t)d[5] << 8;
	keep = keep ? full - keep % full : full;
	if (d[6] & 1)
		keep = keep > 4096 ? 4096 + keep % 512 : keep; /* cut inside the header or docs */
	if (keep > full)
		keep = full;
	for (d += 7, n -= 7; n >= 10 && keep >= 8; d += 10, n -= 10) {
		size_t off = ((size_t)d[0] | (size_t)d[1] << 8) % (keep - 7);

		memcpy(obj + off, d + 2, 8);
	}
	out = malloc(keep ? keep : 1);
	if (out)
		memcpy(out, obj, keep);
	free(obj);
	*size = keep;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct inforeg_shm_header *h;
	volatile size_t sink = 0;
	uint64_t head, rt, mono;
	void *mem;
	uint32_t i;
	int rc;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		mem = from_recipe(data + 1, size - 1, &size);
	} else {
		size--;
		mem = malloc(size ? size : 1);
		if (mem)
			memcpy(mem, data + 1, size);
	}
	if (!mem)
		return 0;
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
