/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_meter.c - libFuzzer target for the whole meter (decoders, sniffing,
 * SSE, JSON streams, extractors). The first byte picks the Content-Type
 * (bits 0-1), the Content-Encoding (bits 2-4) and the chunk size (bits
 * 5-7); the rest is the raw response body. An uncompressed event stream
 * is also metered the plain way, every event's data parsed whole by
 * json-c (what the meter did before it pruned and held events back), and
 * the two records must be the same. Likewise an uncompressed JSON body
 * that json-c takes whole in strict mode (standard JSON, which the
 * pruner never gives up on) is metered the plain way, every element of an
 * array parsed, and must give the same record (and a complete one).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "meter/extract.h"
#include "meter/meter.h"
#include "meter/prune.h"
#include "meter/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_plain {
	struct json_tokener *tok;
	struct extract x;
};

static void
fuzz_plain_event(void *arg, const char *event, const char *data, size_t len)
{
	struct fuzz_plain *f = arg;
	struct json_object *o;
	size_t sp = 0;

	while (sp < len && (data[sp] == ' ' || data[sp] == '\t'))
		sp++;

	if (len - sp >= 6 && strncmp(data + sp, "[DONE]", 6) == 0) {
		extract_done(&f->x);
		return;
	}
	if (len == 0 || extract_skip(&f->x, event))
		return;
	json_tokener_reset(f->tok);
	if ((o = json_tokener_parse_ex(f->tok, data, (int)len))) {
		extract_object(&f->x, event, o);
		json_object_put(o);
	}
}

/* A raw usage object may differ only by a string the pruner cut. */
static bool
fuzz_long_string(const char *raw)
{
	size_t run = 0;

	for (const char *p = raw; *p; p++)
		if ((run = *p == '"' && (p == raw || p[-1] != '\\')
				   ? 0
				   : run + 1) >= PRUNE_KEEP)
			return true;
	return false;
}

/* The plain way's record r must be the meter's. */
static void
fuzz_same(const struct usage_record *r, const struct usage_record *rec)
{
	if (r->has_usage != rec->has_usage || r->complete != rec->complete ||
	    r->input_tokens != rec->input_tokens ||
	    r->output_tokens != rec->output_tokens ||
	    r->thinking_tokens != rec->thinking_tokens ||
	    r->cached_tokens != rec->cached_tokens ||
	    r->cache_creation_tokens != rec->cache_creation_tokens ||
	    r->total_tokens != rec->total_tokens ||
	    strcmp(r->model, rec->model) != 0 ||
	    strcmp(r->error, rec->error) != 0 ||
	    (strcmp(r->raw, rec->raw) != 0 && !fuzz_long_string(r->raw)))
		__builtin_trap();
}

static void
fuzz_plain(const uint8_t *data, size_t size, size_t chunk,
	   const struct usage_record *rec)
{
	struct fuzz_plain f = { json_tokener_new_ex(128), { 0 } };
	struct sse *s = sse_new(0, fuzz_plain_event, &f);
	struct usage_record r;

	if (!f.tok || !s)
		abort();
	for (size_t off = 0; off < size; off += chunk)
		sse_feed(s, (const char *)data + off,
			 size - off < chunk ? size - off : chunk);
	memset(&r, 0, sizeof(r));
	snprintf(r.model, sizeof(r.model), "fuzz-req");
	extract_finish(&f.x, true, true, &r);
	fuzz_same(&r, rec);
	sse_free(s);
	extract_clear(&f.x);
	json_tokener_free(f.tok);
}

/* A JSON body the plain way: json-c reads it whole, strictly (an array's
 * elements may nest as deep as a value alone), and every element of an
 * array is extracted. Nothing to compare when json-c rejects it. */
static void
fuzz_plain_json(const uint8_t *data, size_t size,
		const struct usage_record *rec)
{
	size_t sp = 0;
	bool array;
	struct json_tokener *tok;
	struct json_object *o;
	struct extract x = { 0 };
	struct usage_record r;
	bool ok = true;

	while (sp < size && memchr(" \t\r\n", data[sp], 4))
		sp++;
	if (sp == size || (data[sp] != '[' && data[sp] != '{'))
		return; /* a bare body is metered by no provider */
	array = data[sp] == '[';
	if (size > INT32_MAX || !(tok = json_tokener_new_ex(array ? 129 : 128)))
		return;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (!o)
		return;
	/* a null element (json-c's NULL) stops the meter, unread */
	for (size_t i = 0; array && i < json_object_array_length(o); i++) {
		struct json_object *e = json_object_array_get_idx(o, i);

		if (!(ok = e != NULL))
			break;
		extract_object(&x, NULL, e);
	}
	if (!array)
		extract_object(&x, NULL, o);
	memset(&r, 0, sizeof(r));
	snprintf(r.model, sizeof(r.model), "fuzz-req");
	extract_finish(&x, false, ok, &r);
	fuzz_same(&r, rec);
	extract_clear(&x);
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "text/event-stream",
					     "application/json", NULL,
					     "application/x-protobuf" };
	static const char *const codings[] = { NULL,	 "gzip",    "deflate",
					       "br",	 "zstd",    "identity",
					       "x-gzip", "compress" };
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 512, 4096, 65536 };
	struct meter_request req = {
		.method = "POST",
		.host = "fuzz.example",
		.path = "/v1beta/models/fuzz-model:streamGenerateContent",
		.content_type = "application/json",
		.body = "{\"model\": \"fuzz-req\"}",
		.body_len = 21,
	};
	struct usage_record rec;
	struct meter *m;
	size_t chunk;
	bool plain, json;

	if (size < 1)
		return 0;
	log_set_level(LOG_ERR); /* corrupt input warns on every run */
	if (!(m = meter_new(&req)))
		return 0;
	meter_response(m, 200, types[data[0] & 3], codings[(data[0] >> 2) & 7]);
	chunk = chunks[data[0] >> 5];
	plain = (data[0] & 3) == 0 && ((data[0] >> 2) & 7) % 5 == 0;
	json = (data[0] & 3) == 1 && ((data[0] >> 2) & 7) % 5 == 0;
	data++;
	size--;
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		char *copy = malloc(n);

		/* a copy per chunk, freed after it, as the proxy reuses its
		 * buffer: ASan sees an event held in place past its chunk */
		if (!copy)
			abort();
		memcpy(copy, data + off, n);
		meter_chunk(m, copy, n);
		free(copy);
	}
	memset(&rec, 0, sizeof(rec));
	meter_finish(m, true, &rec);
	/* every string of the record must be terminated within its field */
	if (!memchr(rec.model, 0, sizeof(rec.model)) ||
	    !memchr(rec.raw, 0, sizeof(rec.raw)) ||
	    !memchr(rec.error, 0, sizeof(rec.error)))
		__builtin_trap();
	meter_free(m);
	if (plain)
		fuzz_plain(data, size, chunk, &rec);
	if (json)
		fuzz_plain_json(data, size, &rec);
	return 0;
}
