/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_meter.c - libFuzzer target for the whole meter (decoders, sniffing,
 * SSE, JSON streams, extractors). The first byte picks the Content-Type
 * (bits 0-1), the Content-Encoding (bits 2-4) and the chunk size (bits
 * 5-7); the rest is the raw response body.
 *
 * Build and run (from the top source directory, after ./configure in
 * build/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Ibuild \
 *     fuzz/fuzz_meter.c src/meter/[a-z]*.c src/log.c -o /tmp/fuzz-meter \
 *     $(pkg-config --libs json-c zlib libbrotlidec libzstd)
 *   /tmp/fuzz-meter -max_total_time=60 fuzz/corpus/meter
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "log.h"
#include "meter/meter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "text/event-stream",
		"application/json", NULL, "application/x-protobuf" };
	static const char *const codings[] = { NULL, "gzip", "deflate",
		"br", "zstd", "identity", "x-gzip", "compress" };
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 512, 4096, 65536 };
	struct meter_request req = {
		.method = "POST", .host = "fuzz.example",
		.path = "/v1beta/models/fuzz-model:streamGenerateContent",
		.content_type = "application/json",
		.body = "{\"model\": \"fuzz-req\"}", .body_len = 21,
	};
	struct usage_record rec;
	struct meter *m;
	size_t chunk;

	if (size < 1)
		return 0;
	log_set_level(LOG_ERR);	/* corrupt input warns on every run */
	if (!(m = meter_new(&req)))
		return 0;
	meter_response(m, 200, types[data[0] & 3], codings[(data[0] >> 2) & 7]);
	chunk = chunks[data[0] >> 5];
	data++;
	size--;
	for (size_t off = 0; off < size; off += chunk)
		meter_chunk(m, (const char *)data + off,
		            size - off < chunk ? size - off : chunk);
	memset(&rec, 0, sizeof(rec));
	meter_finish(m, true, &rec);
	/* every string of the record must be terminated within its field */
	if (!memchr(rec.model, 0, sizeof(rec.model)) ||
	    !memchr(rec.raw, 0, sizeof(rec.raw)) ||
	    !memchr(rec.error, 0, sizeof(rec.error)))
		__builtin_trap();
	meter_free(m);
	return 0;
}
