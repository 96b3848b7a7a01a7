/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_http1.c - libFuzzer target for the HTTP/1.1 head parser and the
 * chunked decoder.
 *
 * The input is parsed as a head; a prefix must agree with the whole (0,
 * the same head, or a refusal of both); whatever follows the head (or
 * the whole input if there is no head) is decoded as a chunked body both in one call and
 * byte by byte into a tiny buffer, and the two must agree. Run (from the
 * top, after configure in build/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Ibuild \
 *     fuzz/fuzz_http1.c src/http1.c -o /tmp/fuzz-http1
 *   mkdir -p /tmp/h1-corpus && /tmp/fuzz-http1 -max_total_time=60 \
 *     /tmp/h1-corpus fuzz/corpus/http1
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "http1.h"

struct result {
	int rc;
	size_t consumed, produced;
	bool done;
};

/* Decodes in[0..len) feeding `step` bytes at a time into out[0..cap). */
static struct result
decode(const char *in, size_t len, size_t step, char *out, size_t cap)
{
	struct http1_chunked c;
	struct result r = { 0 };

	http1_chunked_init(&c);
	while (r.consumed < len && !c.done) {
		size_t n = len - r.consumed, used, made;

		if (n > step)
			n = step;
		r.rc = http1_chunked_decode(&c, in + r.consumed, n, &used,
					    out + r.produced, cap - r.produced,
					    &made);
		if (used > n || made > cap - r.produced)
			abort();
		r.consumed += used;
		r.produced += made;
		if (r.rc < 0 || (used == 0 && made == 0 && !c.done))
			break;
	}
	r.done = c.done;
	return r;
}

static void
check_chunked(const char *in, size_t len)
{
	char *a = malloc(len + 1), *b = malloc(len + 1);
	struct result ra, rb;

	if (!a || !b)
		abort();
	ra = decode(in, len, len, a, len + 1);
	rb = decode(in, len, 1, b, len + 1);
	if (ra.rc != rb.rc || ra.done != rb.done ||
	    (ra.rc == 0 &&
	     (ra.consumed != rb.consumed || ra.produced != rb.produced ||
	      memcmp(a, b, ra.produced) != 0)))
		abort();
	free(a);
	free(b);
}

static int
parse_copy(const uint8_t *data, size_t size, struct http_request *req)
{
	char *buf = malloc(size + 1);
	int rc;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	rc = http1_parse_head(buf, size, req);
	if (rc > 0) {
		if ((size_t)rc > size || req->nheaders > HTTP1_MAX_HEADERS ||
		    !req->target || !req->method[0])
			abort();
		for (size_t i = 0; i < req->nheaders; i++)
			if (!req->headers[i].name[0] ||
			    http1_header(req, req->headers[i].name) == NULL)
				abort();
	}
	free(buf);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_request req, pre;
	int rc, prc;

	rc = parse_copy(data, size, &req);
	prc = parse_copy(data, size / 2, &pre);
	/* A prefix may refuse for another reason than the whole (a long
	 * method is 501 until a bad byte makes it 400), never accept more. */
	if ((prc > 0 && prc != rc) || (prc < 0 && rc >= 0))
		abort();
	if (rc > 0 && prc == 0 && (size_t)rc <= size / 2)
		abort();
	if (rc > 0)
		check_chunked((const char *)data + rc, size - (size_t)rc);
	else
		check_chunked((const char *)data, size);
	return 0;
}
