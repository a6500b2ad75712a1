// SPDX-License-Identifier: MIT
/* test_cxx_headers: the public headers are valid C++17 (g++ and clang++, -Wall -Wextra
 * -Werror; the Makefile compiles this file with both) and mean the same layout as in C:
 * field offsets and sizes seen from C++, the inline fast path reading a ring built here
 * by hand from inforeg_layout.h alone, and the library's NULL conventions called from
 * C++. */
#include <inforeg.h>
#include <inforeg_layout.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

static int failures;
#define CHECK(c)                                                                  \
	do {                                                                      \
		if (!(c)) {                                                       \
			std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
			failures++;                                               \
		}                                                                 \
	} while (0)

static_assert(sizeof(std::atomic<uint64_t>) == 8, "a 64-bit atomic is one word");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "lock-free, so it works across processes");
static_assert(offsetof(inforeg_shm_header, head) == 256, "head offset from C++");
static_assert(offsetof(inforeg_shm_header, futex) == 320, "futex offset from C++");
static_assert(offsetof(inforeg_doc, words) == 24, "doc words offset from C++");

int main()
{
	/* a one-series ring by hand: header, then 2 slots of 64 bytes at ring_offset 512 */
	const size_t ring_off = 512, slot = 64, size = ring_off + 2 * slot;
	void *mem = std::aligned_alloc(64, size);
	std::memset(mem, 0, size);
	auto *h = static_cast<inforeg_shm_header *>(mem);
	h->magic = INFOREG_MAGIC;
	h->layout_version = INFOREG_LAYOUT_VERSION;
	h->layout_minor = INFOREG_LAYOUT_MINOR;
	h->capacity = 2;
	h->slot_size = slot;
	h->series_count = 1;
	h->ring_offset = ring_off;
	auto *s = reinterpret_cast<inforeg_slot_header *>(static_cast<char *>(mem) + ring_off + slot);
	auto *w = reinterpret_cast<std::atomic<uint64_t> *>(s + 1);
	double x = 42.5;
	uint64_t bits;
	std::memcpy(&bits, &x, sizeof(bits));
	/* position 1 lives in slot 1: seq 2*1+2 once complete, then head = 2 (W2, W4, W5) */
	w[0].store(bits, std::memory_order_release);
	s->seq.store(4, std::memory_order_release);
	h->head.store(2, std::memory_order_release);

	inforeg_fast f{};
	f.hdr = h;
	f.slots = static_cast<const char *>(mem) + ring_off;
	f.mask = 1;
	f.first_pos = 0;
	f.slot_size = slot;
	f.idx = 0;
	double v = 0;
	CHECK(inforeg_fast_read(&f, &v) == 0 && v == 42.5);
	s->seq.store(5, std::memory_order_relaxed); /* being rewritten: never a torn value */
	CHECK(inforeg_fast_read(&f, &v) == -EAGAIN);
	s->seq.store(4, std::memory_order_relaxed);
	h->flags.store(INFOREG_F_RETIRED, std::memory_order_release);
	CHECK(inforeg_fast_read(&f, &v) == -ESTALE);
	std::free(mem);

	/* the library from C++ */
	errno = 0;
	CHECK(inforeg_open("inforeg-cxx-test-no-such-registry", 0) == nullptr && errno == ENOENT);
	CHECK(inforeg_read_latest(nullptr, 0, &v, nullptr) == -EINVAL);
	CHECK(inforeg_writer_alive(nullptr) == -EINVAL);
	CHECK(std::isnan(inforeg_view_value(nullptr, 0)));
	inforeg_close(nullptr);

	std::printf("%s\n", failures ? "FAIL" : "ok: the public headers in C++17");
	return failures ? 1 : 0;
}
