/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_h1resp.c - libFuzzer target for the response framing.
 *
 * The input is a script: byte 0 picks the request (method, HTTP
 * version, keep-alive), bytes 1-2 the status; then lines up to a blank
 * one are "Name: value" headers, and what follows is cut into body
 * pieces by its own bytes (each piece's length is one byte, then the
 * piece), with a flush between some. The framed output is checked
 * against the pieces: a chunked body decodes (http1_chunked_decode())
 * back to exactly the pieces given, an unframed one is them verbatim, a
 * bodiless answer ends at its head. Run (from the top, after configure
 * in build/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Ibuild \
 *     fuzz/fuzz_h1resp.c src/h1resp.c src/buf.c src/http1.c \
 *     -o /tmp/fuzz-h1resp
 *   mkdir -p /tmp/h1resp-corpus && /tmp/fuzz-h1resp -runs=200000 \
 *     /tmp/h1resp-corpus fuzz/corpus/h1resp
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "h1resp.h"
#include "http1.h"

#define MAX_HDRS 32

static int
sink(void *arg, const char *buf, size_t len)
{
	return buf_append(arg, buf, len) ? 0 : -1;
}

static const char *const requests[] = {
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
};

/* Splits "Name: value" lines of text into h; the count. */
static size_t
headers(char *text, struct http_header *h)
{
	size_t n = 0;
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line && n < MAX_HDRS;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (!colon || strpbrk(line, "\r"))
			continue;
		*colon = '\0';
		h[n].name = line;
		h[n++].value = colon + 1 + (colon[1] == ' ');
	}
	return n;
}

/* Checks the bytes after the head against the body that went in. */
static void
check_body(const struct h1resp *r, const char *got, size_t n,
	   const struct buf *want)
{
	struct http1_chunked ch;
	char *out;
	size_t used, made;

	if (!r->chunked) {
		if (n != want->len || (n && memcmp(got, want->data, n)))
			abort();
		return;
	}
	if (!(out = malloc(want->len + 1)))
		return;
	http1_chunked_init(&ch);
	if (http1_chunked_decode(&ch, got, n, &used, out, want->len + 1,
				 &made) < 0 ||
	    !ch.done || used != n || made != want->len ||
	    (made && memcmp(out, want->data, made)))
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf got = BUF_INIT(0), want = BUF_INIT(0);
	struct http_header h[MAX_HDRS];
	struct http_request req;
	char reqbuf[128], *text = NULL, *end;
	struct h1resp r;
	size_t n, pos, head_len;
	int status;

	if (size < 3 || !(text = malloc(size)))
		return 0;
	snprintf(reqbuf, sizeof(reqbuf), "%s",
		 requests[data[0] % (sizeof(requests) / sizeof(*requests))]);
	if (http1_parse_head(reqbuf, strlen(reqbuf), &req) <= 0)
		abort();
	status = 100 + (data[1] << 8 | data[2]) % 500;
	memcpy(text, data + 3, size - 3);
	text[size - 3] = '\0';
	end = strstr(text, "\n\n");
	pos = end ? (size_t)(end - text) + 2 + 3 : size;
	if (end)
		*end = '\0';
	n = headers(text, h);
	h1resp_init(&r, sink, &got);
	h1resp_begin(&r, &req);
	if (h1resp_head(&r, status, "R", h, n) < 0)
		goto out;
	while (pos < size) {
		size_t len = data[pos++];

		if (len > size - pos)
			len = size - pos;
		if (len == 0)
			h1resp_flush(&r);
		else if (h1resp_body(&r, (const char *)data + pos, len) < 0 ||
			 !buf_append(&want, data + pos, len))
			abort();
		pos += len;
	}
	if (h1resp_end(&r) < 0 || !got.data)
		abort();
	end = strstr(got.data, "\r\n\r\n");
	if (!end || strncmp(got.data, "HTTP/1.1 ", 9) != 0)
		abort();
	head_len = (size_t)(end - got.data) + 4;
	/* Bodiless answers: the pieces still pass (upstream's business),
	 * but never framed. */
	if ((r.head_only || status < 200 || status == 204 || status == 304) &&
	    r.chunked)
		abort();
	check_body(&r, got.data + head_len, got.len - head_len, &want);
out:
	h1resp_free(&r);
	buf_free(&got);
	buf_free(&want);
	free(text);
	return 0;
}
