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

#include <stdint.h>
#include <stdlib.h>

#include "meter/sse.h"

static size_t fuzz_max;

static void
fuzz_event(void *arg, const char *event, const char *data, size_t len)
{
	size_t *n = arg;

	/* the contract: NUL-terminated, within the bound, named */
	if (data[len] != '\0' || len > fuzz_max || !event[0])
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
	for (size_t off = 0; off < size; off += chunk)
		sse_feed(s, (const char *)data + off,
			 size - off < chunk ? size - off : chunk);
	sse_free(s);
	return 0;
}
