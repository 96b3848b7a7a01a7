/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_ws.c - libFuzzer target for the WebSocket frame parser, the
 * permessage-deflate inflater and the session meter. Input: one flags
 * byte (bit 0 client frames, bit 1 a small message limit, bits 2-7 the
 * chunk size), then a Sec-WebSocket-Extensions value up to the first
 * newline, then the stream.
 *
 * Build and run (from the top source directory, after configure in build/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Ibuild \
 *     fuzz/fuzz_ws.c $(ls src/meter/[!p]*.c) src/meter/prune*.c \
 *     src/log.c -ljson-c -lz -lbrotlidec \
 *     -lzstd -o /tmp/fuzz-ws
 *   /tmp/fuzz-ws -max_total_time=60 fuzz/corpus/ws
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "meter/ws.h"
#include "meter/wsmeter.h"

static void
fuzz_msg(void *arg, int op, const char *data, size_t len)
{
	size_t *max = arg;

	/* the contract: NUL-terminated, within the limit, a known opcode */
	if (data[len] != '\0' ||
	    (op != WS_TEXT && op != WS_BINARY && op != WS_CLOSE &&
	     op != WS_PING && op != WS_PONG) ||
	    ((op & 8) ? len > 125 : len > *max))
		abort();
}

static void
fuzz_rec(void *arg, const struct usage_record *r)
{
	(void)arg;
	if (strcmp(r->transport, "websocket") != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meter_request req = { .method = "GET",
				     .host = "fuzz.example",
				     .path = "/v1/responses" };
	const uint8_t *nl;
	char ext[256];
	struct ws_deflate d;
	struct wsmeter *m;
	struct ws *w;
	size_t chunk, max, elen;
	bool client;

	log_set_level(LOG_ERR); /* corrupt input warns on every run */
	if (size < 1)
		return 0;
	client = data[0] & 1;
	max = (data[0] & 2) ? 64 : WS_MESSAGE_MAX;
	chunk = (size_t)(data[0] >> 2) + 1;
	data++;
	size--;
	nl = memchr(data, '\n', size < sizeof(ext) ? size : sizeof(ext) - 1);
	elen = nl ? (size_t)(nl - data) : 0;
	memcpy(ext, data, elen);
	ext[elen] = '\0';
	if (nl) {
		data += elen + 1;
		size -= elen + 1;
	}
	if (ws_deflate_parse(ext, &d) < 0)
		memset(&d, 0, sizeof(d));
	w = ws_new(client, &d, max, fuzz_msg, &max);
	m = wsmeter_new(&req, 101, ext, fuzz_rec, NULL);
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (w)
			ws_feed(w, (const char *)data + off, n);
		if (m)
			wsmeter_feed(m, client, (const char *)data + off, n, 0);
	}
	ws_free(w);
	wsmeter_free(m);
	return 0;
}
