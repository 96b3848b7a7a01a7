/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_sse.c - libFuzzer target for the SSE splitter: the first byte
 * picks the chunk size and the event bound, the rest is the stream.
 *
 * Build and run (from the top source directory):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Ibuild \
 *     fuzz/fuzz_sse.c src/meter/sse.c -o /tmp/fuzz-sse
 *   /tmp/fuzz-sse -max_total_time=60 fuzz/corpus/sse
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meter/sse.h"

static size_t fuzz_max;
static const char *fuzz_feed, *fuzz_feed_end; /* the buffer being fed */

static void
fuzz_event(void *arg, const char *event, const char *data, size_t len)
{
	size_t *n = arg;
	uintptr_t d = (uintptr_t)data;
	bool in_place = d >= (uintptr_t)fuzz_feed &&
			d + len <= (uintptr_t)fuzz_feed_end;

	/* the contract: in place and followed by its line end, or
	 * NUL-terminated; within the bound, named */
	if ((in_place ? data[len] != '\n' && data[len] != '\r'
		      : data[len] != '\0') ||
	    len > fuzz_max || !event[0])
		abort();
	*n += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse *s;
	size_t chunk, total = 0;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x0f) + 1;
	fuzz_max = (data[0] & 0x10) ? 64 : SSE_EVENT_MAX;
	if (!(s = sse_new(fuzz_max, fuzz_event, &total)))
		return 0;
	data++;
	size--;
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		char *copy = malloc(n);

		/* a copy per feed, freed after it: ASan sees data kept
		 * in place past its feed */
		if (!copy)
			abort();
		memcpy(copy, data + off, n);
		fuzz_feed = copy;
		fuzz_feed_end = copy + n;
		sse_feed(s, copy, n);
		free(copy);
	}
	sse_free(s);
	return 0;
}
