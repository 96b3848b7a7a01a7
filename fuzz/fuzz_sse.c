/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_sse.c - libFuzzer target for the SSE splitter: the first byte
 * picks the chunk size and the event bound, the rest is the stream. The
 * stream is split twice: plainly, and with a skip hook that takes what
 * repeats the last wire text handed over (sse_wire()) as that event
 * again. Both must read the same events, in the same order.
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

/* What a run read: a digest of its events; with a hook, the last wire
 * text and the digest step of its event. */
struct fuzz_run {
	struct sse *s;
	uint64_t digest, last_step;
	size_t events;
	char *wire;
	size_t wire_len;
};

static uint64_t
fuzz_hash(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

/* Each event moves the digest by a step of its own, so a taken repeat
 * moves it as its event did. */
static void
fuzz_step(struct fuzz_run *r, uint64_t step)
{
	r->digest = (r->digest ^ step) * 0x100000001b3ull + ++r->events;
}

/* Notes the event's wire text, checking its contract: in the feed, the
 * data inside it, ending in LF. */
static void
fuzz_note_wire(struct fuzz_run *r, const char *data, size_t len, uint64_t step)
{
	struct sse_wire w;

	if (!sse_wire(r->s, &w))
		return;
	if (w.start < fuzz_feed || w.end > fuzz_feed_end || data < w.start ||
	    data + len >= w.end || w.end[-1] != '\n')
		abort();
	free(r->wire);
	if (!(r->wire = malloc((size_t)(w.end - w.start))))
		abort();
	memcpy(r->wire, w.start, (size_t)(w.end - w.start));
	r->wire_len = (size_t)(w.end - w.start);
	r->last_step = step;
}

static void
fuzz_event(void *arg, const char *event, const char *data, size_t len)
{
	struct fuzz_run *r = arg;
	uintptr_t d = (uintptr_t)data;
	bool in_place = d >= (uintptr_t)fuzz_feed &&
			d + len <= (uintptr_t)fuzz_feed_end;
	uint64_t step = fuzz_hash(
		fuzz_hash(0xcbf29ce484222325ull, event, strlen(event) + 1),
		data, len);

	/* the contract: in place and followed by its line end, or
	 * NUL-terminated; within the bound, named */
	if ((in_place ? data[len] != '\n' && data[len] != '\r'
		      : data[len] != '\0') ||
	    len > fuzz_max || !event[0])
		abort();
	fuzz_step(r, step);
	if (in_place)
		fuzz_note_wire(r, data, len, step);
}

/* The hook: what repeats the last wire text is that event again. */
static size_t
fuzz_skip(void *arg, const char *p, size_t n)
{
	struct fuzz_run *r = arg;
	size_t took = 0;

	while (r->wire && n - took >= r->wire_len &&
	       memcmp(p + took, r->wire, r->wire_len) == 0) {
		fuzz_step(r, r->last_step);
		took += r->wire_len;
	}
	return took;
}

static void
fuzz_split(struct fuzz_run *r, const uint8_t *data, size_t size, size_t chunk,
	   bool hooked)
{
	memset(r, 0, sizeof(*r));
	if (!(r->s = sse_new(fuzz_max, fuzz_event, r)))
		abort();
	if (hooked)
		sse_set_skip(r->s, fuzz_skip);
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
		sse_feed(r->s, copy, n);
		free(copy);
	}
	sse_free(r->s);
	free(r->wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run plain, hooked;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x0f) + 1;
	fuzz_max = (data[0] & 0x10) ? 64 : SSE_EVENT_MAX;
	/* chunks of 1-16 bytes, or with bit 5 the whole stream, where
	 * repeats lie whole in one feed */
	if (data[0] & 0x20)
		chunk = size;
	data++;
	size--;
	fuzz_split(&plain, data, size, chunk, false);
	fuzz_split(&hooked, data, size, chunk, true);
	if (plain.events != hooked.events || plain.digest != hooked.digest)
		abort();
	return 0;
}
