/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_ws.c - the WebSocket frame parser and inflater (meter/ws.h), the
 * session meter (meter/wsmeter.h), the Upgrade request helpers, and the
 * model of compressed request bodies.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "http1.h"
#include "meter/meter.h"
#include "meter/ws.h"
#include "meter/wsmeter.h"
#include "tap.h"
#include "upstream_head.h"

struct got {
	int n, ops[64];
	char last[256 * 1024];
	size_t last_len, total;
};

static void
on_msg(void *arg, int op, const char *data, size_t len)
{
	struct got *g = arg;

	if (g->n < 64)
		g->ops[g->n] = op;
	g->n++;
	g->total += len;
	g->last_len = len < sizeof(g->last) ? len : sizeof(g->last) - 1;
	memcpy(g->last, data, g->last_len);
	g->last[g->last_len] = '\0';
	if (data[len] != '\0')
		abort(); /* the contract: NUL-terminated */
}

/* Appends one frame to out; returns its length. */
static size_t
frame(unsigned char *out, int fin, int rsv1, int op, const void *data, size_t n,
      const unsigned char *mask)
{
	size_t i = 0;

	out[i++] = (unsigned char)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op);
	if (n < 126) {
		out[i++] = (unsigned char)((mask ? 0x80 : 0) | n);
	} else if (n < 65536) {
		out[i++] = (unsigned char)((mask ? 0x80 : 0) | 126);
		out[i++] = (unsigned char)(n >> 8);
		out[i++] = (unsigned char)n;
	} else {
		out[i++] = (unsigned char)((mask ? 0x80 : 0) | 127);
		for (int k = 7; k >= 0; k--)
			out[i++] = (unsigned char)((uint64_t)n >> (8 * k));
	}
	if (mask) {
		memcpy(out + i, mask, 4);
		i += 4;
	}
	for (size_t k = 0; k < n; k++)
		out[i + k] = ((const unsigned char *)data)[k] ^
			     (mask ? mask[k & 3] : 0);
	return i + n;
}

static int
feed_split(bool client, const struct ws_deflate *d, const unsigned char *buf,
	   size_t len, size_t step, struct got *g)
{
	struct ws *w = ws_new(client, d, 0, on_msg, g);
	int rc = 0;

	memset(g, 0, sizeof(*g));
	for (size_t off = 0; off < len && rc == 0; off += step)
		rc = ws_feed(w, (const char *)buf + off,
			     len - off < step ? len - off : step);
	ws_free(w);
	return rc;
}

static void
test_deflate_parse(void)
{
	struct ws_deflate d;

	ok(ws_deflate_parse(NULL, &d) == 0 && !d.on, "no extensions");
	ok(ws_deflate_parse("permessage-deflate", &d) == 0 && d.on &&
		   d.server_max_window_bits == 15 &&
		   d.client_max_window_bits == 15 &&
		   !d.server_no_context_takeover,
	   "plain permessage-deflate");
	ok(ws_deflate_parse("x-other; a=1, permessage-deflate; "
			    "server_no_context_takeover; "
			    "client_no_context_takeover; "
			    "server_max_window_bits=10; "
			    "client_max_window_bits=\"9\"",
			    &d) == 0 &&
		   d.on && d.server_no_context_takeover &&
		   d.client_no_context_takeover &&
		   d.server_max_window_bits == 10 &&
		   d.client_max_window_bits == 9,
	   "every parameter, quoted value");
	ok(ws_deflate_parse("permessage-deflate; client_max_window_bits", &d) ==
			   0 &&
		   d.client_max_window_bits == 15,
	   "client_max_window_bits without a value");
	ok(ws_deflate_parse("permessage-deflate; x=1", &d) < 0,
	   "an unknown parameter is refused");
	ok(ws_deflate_parse("permessage-deflate; server_no_context_takeover; "
			    "server_no_context_takeover",
			    &d) < 0,
	   "a repeated parameter is refused");
	ok(ws_deflate_parse("permessage-deflate; server_max_window_bits=16",
			    &d) < 0 &&
		   ws_deflate_parse(
			   "permessage-deflate; server_max_window_bits=7", &d) <
			   0 &&
		   ws_deflate_parse(
			   "permessage-deflate; server_max_window_bits=09",
			   &d) < 0 &&
		   ws_deflate_parse(
			   "permessage-deflate; server_max_window_bits", &d) <
			   0,
	   "window bits outside 8..15 refused");
	ok(ws_deflate_parse("permessage-deflate, permessage-deflate", &d) < 0,
	   "two accepted offers refused");
	ok(ws_deflate_parse("permessage-deflate; server_no_context_takeover=1",
			    &d) < 0,
	   "a value where none belongs refused");
}

static void
test_frames(void)
{
	static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	static unsigned char buf[300 * 1024];
	static char big[70000];
	struct got g;
	size_t n = 0;
	bool all = true;

	n += frame(buf + n, 1, 0, WS_TEXT, "hello", 5, NULL);
	ok(feed_split(false, NULL, buf, n, n, &g) == 0 && g.n == 1 &&
		   g.ops[0] == WS_TEXT && strcmp(g.last, "hello") == 0,
	   "a server text frame, 7-bit length");
	memset(big, 'a', 300);
	n = frame(buf, 1, 0, WS_TEXT, big, 300, mask);
	ok(feed_split(true, NULL, buf, n, n, &g) == 0 && g.n == 1 &&
		   g.last_len == 300 && g.last[299] == 'a',
	   "a masked client frame, 16-bit length");
	memset(big, 'b', sizeof(big));
	n = frame(buf, 1, 0, WS_BINARY, big, sizeof(big), NULL);
	ok(feed_split(false, NULL, buf, n, n, &g) == 0 && g.n == 1 &&
		   g.ops[0] == WS_BINARY && g.last_len == sizeof(big),
	   "a 64-bit length");

	/* fragments with control frames between them, then a close */
	n = frame(buf, 0, 0, WS_TEXT, "{\"a\":", 5, mask);
	n += frame(buf + n, 1, 0, WS_PING, "p1", 2, mask);
	n += frame(buf + n, 0, 0, WS_CONT, "", 0, mask);
	n += frame(buf + n, 1, 0, WS_PONG, "", 0, mask);
	n += frame(buf + n, 1, 0, WS_CONT, "1}", 2, mask);
	n += frame(buf + n, 1, 0, WS_CLOSE, "\x03\xe8", 2, mask);
	n += frame(buf + n, 1, 0, WS_TEXT, "after", 5, mask);
	for (size_t step = 1; step <= n; step++) {
		if (feed_split(true, NULL, buf, n, step, &g) != 0 || g.n != 4 ||
		    g.ops[0] != WS_PING || g.ops[1] != WS_PONG ||
		    g.ops[2] != WS_TEXT || g.ops[3] != WS_CLOSE) {
			all = false;
			diag("split %zu: %d messages", step, g.n);
		}
	}
	ok(all, "fragments joined across control frames at every split, "
		"nothing after the close");
	feed_split(true, NULL, buf, n, n, &g);
	ok(g.total == 2 + 0 + 7 + 2, "the joined message is whole");
}

/* Each frame must make the parser fail; *why gets its reason. */
static bool
refused(bool client, const unsigned char *buf, size_t n, const char *want)
{
	struct got g;
	struct ws *w = ws_new(client, NULL, 0, on_msg, &g);
	bool r = ws_feed(w, (const char *)buf, n) < 0 && ws_error(w) &&
		 strstr(ws_error(w), want) &&
		 ws_feed(w, "\x81\x00", 2) < 0; /* and it stays failed */

	if (!r)
		diag("wanted '%s', got '%s'", want,
		     ws_error(w) ? ws_error(w) : "(none)");
	ws_free(w);
	return r;
}

static void
test_refusals(void)
{
	static const unsigned char mask[4] = { 1, 2, 3, 4 };
	unsigned char buf[256];
	size_t n;

	buf[0] = 0xa1;
	buf[1] = 0;
	ok(refused(false, buf, 2, "RSV2"), "RSV2 set");
	buf[0] = 0x83;
	ok(refused(false, buf, 2, "opcode"), "opcode 3");
	buf[0] = 0x8b;
	ok(refused(false, buf, 2, "opcode"), "opcode 11");
	n = frame(buf, 1, 0, WS_TEXT, "x", 1, mask);
	ok(refused(false, buf, n, "masked server"), "a masked server frame");
	n = frame(buf, 1, 0, WS_TEXT, "x", 1, NULL);
	ok(refused(true, buf, n, "unmasked client"),
	   "an unmasked client frame");
	n = frame(buf, 1, 0, WS_CONT, "x", 1, NULL);
	ok(refused(false, buf, n, "continuation"), "a continuation first");
	n = frame(buf, 0, 0, WS_TEXT, "x", 1, NULL);
	n += frame(buf + n, 1, 0, WS_TEXT, "y", 1, NULL);
	ok(refused(false, buf, n, "inside"), "a new message mid-fragments");
	n = frame(buf, 0, 0, WS_PING, "x", 1, NULL);
	ok(refused(false, buf, n, "control"), "a fragmented control frame");
	memset(buf + 10, 'p', 126);
	n = frame(buf, 1, 0, WS_PING, buf + 10, 126, NULL);
	ok(refused(false, buf, n, "control"), "a 126-byte ping");
	memcpy(buf, "\x81\x7f\x80\0\0\0\0\0\0\0", 10);
	ok(refused(false, buf, 10, "top bit"), "a 64-bit length over 2^63");
	n = frame(buf, 1, 1, WS_TEXT, "x", 1, NULL);
	ok(refused(false, buf, n, "no extension"),
	   "RSV1 without permessage-deflate");
}

/* Deflates text as a permessage-deflate sender does; returns the
 * length, the 00 00 ff ff tail taken off. */
static size_t
pmd(z_stream *z, const char *text, unsigned char *out, size_t cap)
{
	z->next_in = (unsigned char *)text;
	z->avail_in = (uInt)strlen(text);
	z->next_out = out;
	z->avail_out = (uInt)cap;
	deflate(z, Z_SYNC_FLUSH);
	return cap - z->avail_out - 4;
}

static void
test_inflate(void)
{
	static const char *msgs[] = {
		"{\"type\":\"response.output_text.delta\",\"delta\":\"hello\"}",
		"{\"type\":\"response.output_text.delta\",\"delta\":\"hello\"}",
		"{\"type\":\"response.completed\",\"response\":{\"usage\":{}}}",
	};
	static unsigned char buf[4096], c[1024];
	struct ws_deflate d;
	struct got g;
	z_stream z;
	size_t n = 0, m, second = 0;
	bool all = true;

	/* context takeover: the second message is mostly a back-reference */
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, -9, 8, Z_DEFAULT_STRATEGY);
	ws_deflate_parse("permessage-deflate; server_max_window_bits=9", &d);
	for (int i = 0; i < 3; i++) {
		m = pmd(&z, msgs[i], c, sizeof(c));
		if (i == 1)
			second = m;
		/* the last message in two fragments, a ping between */
		if (i == 2) {
			n += frame(buf + n, 0, 1, WS_TEXT, c, 5, NULL);
			n += frame(buf + n, 1, 0, WS_PING, "", 0, NULL);
			n += frame(buf + n, 1, 0, WS_CONT, c + 5, m - 5, NULL);
		} else {
			n += frame(buf + n, 1, 1, WS_TEXT, c, m, NULL);
		}
	}
	deflateEnd(&z);
	ok(second < strlen(msgs[1]) / 3,
	   "the test's second message leans on "
	   "the first (%zu bytes)",
	   second);
	for (size_t step = 1; step <= n; step++) {
		if (feed_split(false, &d, buf, n, step, &g) != 0 || g.n != 4 ||
		    strcmp(g.last, msgs[2]) != 0) {
			all = false;
			diag("split %zu: %d messages", step, g.n);
		}
	}
	ok(all, "inflated with context takeover, window 9, fragmented, at "
		"every split");

	/* no context takeover: the sender resets after each message */
	ws_deflate_parse("permessage-deflate; client_no_context_takeover; "
			 "client_max_window_bits=8",
			 &d);
	n = 0;
	for (int i = 0; i < 2; i++) {
		static const unsigned char mask[4] = { 9, 8, 7, 6 };

		memset(&z, 0, sizeof(z));
		/* zlib makes a window of 8 bits 9 */
		deflateInit2(&z, 6, Z_DEFLATED, -9, 8, Z_DEFAULT_STRATEGY);
		m = pmd(&z, msgs[i], c, sizeof(c));
		deflateEnd(&z);
		n += frame(buf + n, 1, 1, WS_TEXT, c, m, mask);
	}
	ok(feed_split(true, &d, buf, n, 7, &g) == 0 && g.n == 2 &&
		   strcmp(g.last, msgs[1]) == 0,
	   "client messages without context takeover, window 8");

	/* corrupt data */
	n = frame(buf, 1, 1, WS_TEXT, "\xff\xff\xff\xff", 4, NULL);
	ws_deflate_parse("permessage-deflate", &d);
	ok(feed_split(false, &d, buf, n, n, &g) < 0, "corrupt deflate data "
						     "stops the parser");
}

static void
test_oversize(void)
{
	static unsigned char buf[8192], c[4096];
	static char text[3000];
	struct ws_deflate d;
	struct got g;
	struct ws *w;
	z_stream z;
	size_t n = 0, m;

	memset(text, 'q', sizeof(text) - 1);
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	ws_deflate_parse("permessage-deflate", &d);
	m = pmd(&z, text, c, sizeof(c));
	n += frame(buf + n, 1, 1, WS_TEXT, c, m, NULL);
	m = pmd(&z, "short", c, sizeof(c));
	n += frame(buf + n, 1, 1, WS_TEXT, c, m, NULL);
	deflateEnd(&z);
	memset(&g, 0, sizeof(g));
	w = ws_new(false, &d, 1000, on_msg, &g);
	ok(ws_feed(w, (const char *)buf, n) == 0 && g.n == 1 &&
		   strcmp(g.last, "short") == 0 && ws_dropped(w) == 1 &&
		   ws_messages(w) == 1,
	   "a message over the limit is dropped, the next still inflates");
	ws_free(w);
}

/* ---- the session meter ------------------------------------------------ */

struct recs {
	int n;
	struct usage_record r[8];
};

static void
on_rec(void *arg, const struct usage_record *r)
{
	struct recs *s = arg;

	if (s->n < 8)
		s->r[s->n] = *r;
	s->n++;
}

static void
send_text(struct wsmeter *m, bool client, const char *text)
{
	static const unsigned char mask[4] = { 5, 6, 7, 8 };
	static unsigned char buf[8192];
	size_t n = frame(buf, 1, 0, WS_TEXT, text, strlen(text),
			 client ? mask : NULL);

	wsmeter_feed(m, client, (const char *)buf, n, 1000.0);
}

static void
test_wsmeter(void)
{
	struct meter_request req = { .method = "GET",
				     .host = "chatgpt.com",
				     .path = "/backend-api/codex/responses" };
	struct recs s = { 0 };
	struct wsmeter *m =
		wsmeter_new(&req, 101, "permessage-deflate", on_rec, &s);
	struct wsmeter *bad;

	send_text(m, true,
		  "{\"type\":\"response.create\",\"model\":\"gpt-5\","
		  "\"input\":[]}");
	send_text(m, false, "{\"type\":\"response.created\",\"response\":{}}");
	send_text(m, false,
		  "{\"type\":\"response.output_text.delta\","
		  "\"delta\":\"response.completed\"}");
	ok(s.n == 0, "no record before the response ends (a delta naming "
		     "an end is no end)");
	send_text(m, false,
		  "{\"type\":\"response.completed\",\"response\":"
		  "{\"usage\":{\"input_tokens\":10,\"output_tokens\":5,"
		  "\"total_tokens\":15,\"output_tokens_details\":"
		  "{\"reasoning_tokens\":2}}}}");
	ok(s.n == 1, "one record the moment response.completed comes");
	ok(s.n >= 1 && strcmp(s.r[0].model, "gpt-5") == 0 &&
		   strcmp(s.r[0].transport, "websocket") == 0 &&
		   strcmp(s.r[0].endpoint, "backend-api/codex/responses") ==
			   0 &&
		   s.r[0].input_tokens == 10 && s.r[0].output_tokens == 3 &&
		   s.r[0].thinking_tokens == 2 && s.r[0].total_tokens == 15 &&
		   s.r[0].complete && s.r[0].status == 101,
	   "model from response.create, tokens, transport, endpoint");
	send_text(m, true,
		  "{\"type\":\"response.create\",\"response\":"
		  "{\"model\":\"gpt-5-mini\"}}");
	send_text(
		m, false,
		"{\"type\":\"response.incomplete\",\"response\":"
		"{\"model\":\"gpt-5-mini-2026\",\"usage\":{\"input_tokens\":1,"
		"\"output_tokens\":1}}}");
	ok(s.n == 2 && strcmp(s.r[1].model, "gpt-5-mini-2026") == 0 &&
		   !s.r[1].complete,
	   "the event's own model wins; incomplete");
	send_text(
		m, false,
		"{\"type\":\"response.failed\",\"response\":"
		"{\"status\":\"failed\",\"error\":{\"code\":\"server_error\"},"
		"\"usage\":{\"input_tokens\":4,\"output_tokens\":0}}}");
	ok(s.n == 3 && strcmp(s.r[2].error, "server_error") == 0 &&
		   strcmp(s.r[2].model, "gpt-5-mini") == 0,
	   "failed: its error, the model of the last response.create");
	ok(wsmeter_responses(m) == 3, "three responses in one session");
	/* garbage from the client stops only its direction */
	wsmeter_feed(m, true, "\x81\x01x", 3, 0);
	send_text(m, false,
		  "{\"type\":\"response.completed\",\"response\":"
		  "{\"usage\":{\"input_tokens\":1}}}");
	ok(s.n == 4, "a broken client stream leaves the server's metered");
	wsmeter_free(m);

	bad = wsmeter_new(&req, 101, "permessage-deflate; bogus", on_rec, &s);
	send_text(bad, false,
		  "{\"type\":\"response.completed\",\"response\":"
		  "{\"usage\":{\"input_tokens\":1}}}");
	ok(bad && s.n == 4, "an extension answer not understood: unmetered");
	wsmeter_free(bad);
}

/* ---- the Upgrade request ---------------------------------------------- */

static void
test_upgrade_request(void)
{
	char head[] =
		"GET /v1/responses HTTP/1.1\r\nHost: api.openai.com\r\n"
		"Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
		"Sec-WebSocket-Key: abc\r\nKeep-Alive: 5\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n";
	char post[] = "POST /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		      "Connection: Upgrade\r\nContent-Length: 0\r\n\r\n";
	struct http_request req;
	size_t len = 0;
	char *out;

	ok(http1_parse_head(head, strlen(head), &req) > 0 &&
		   http1_is_websocket(&req),
	   "a WebSocket opening handshake");
	out = upstream_head_upgrade_request(req.method, req.target, req.headers,
					    req.nheaders, &len);
	ok(out &&
		   strcmp(out, "GET /v1/responses HTTP/1.1\r\n"
			       "Host: api.openai.com\r\nUpgrade: websocket\r\n"
			       "Connection: keep-alive, Upgrade\r\n"
			       "Sec-WebSocket-Key: abc\r\n"
			       "Sec-WebSocket-Version: 13\r\n\r\n") == 0 &&
		   len == strlen(out),
	   "upstream gets Upgrade and Connection, not Keep-Alive");
	free(out);
	ok(http1_parse_head(post, strlen(post), &req) > 0 &&
		   !http1_is_websocket(&req),
	   "a POST is no WebSocket handshake");
}

/* ---- compressed request bodies ---------------------------------------- */

static bool
model_of(const char *coding, const void *body, size_t len, const char *want)
{
	struct meter_request req = { .method = "POST",
				     .host = "h",
				     .path = "/v1/responses",
				     .content_type = "application/json",
				     .body = body,
				     .body_len = len,
				     .content_encoding = coding };
	struct meter *m = meter_new(&req);
	struct usage_record r;
	bool same;

	memset(&r, 0, sizeof(r));
	meter_response(m, 200, "application/json", NULL);
	meter_finish(m, true, &r);
	same = strcmp(r.model, want) == 0;
	if (!same)
		diag("%s: model '%s', want '%s'", coding, r.model, want);
	meter_free(m);
	return same;
}

static void
test_request_codings(void)
{
	static const char body[] =
		"{\"input\":\"hi\",\"model\":\"gpt-5.1-codex\"}";
	unsigned char z[512];
	size_t n;
	z_stream s;

	n = ZSTD_compress(z, sizeof(z), body, strlen(body), 3);
	ok(model_of("zstd", z, n, "gpt-5.1-codex"), "a zstd request body");
	memset(&s, 0, sizeof(s));
	deflateInit2(&s, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	s.next_in = (unsigned char *)body;
	s.avail_in = (uInt)strlen(body);
	s.next_out = z;
	s.avail_out = sizeof(z);
	deflate(&s, Z_FINISH);
	n = sizeof(z) - s.avail_out;
	deflateEnd(&s);
	ok(model_of("gzip", z, n, "gpt-5.1-codex"), "a gzip request body");
	ok(model_of("zstd", "garbage", 7, ""), "a corrupt body: no model");
	ok(model_of("x-unknown", body, strlen(body), ""),
	   "an unknown coding: no model");
	ok(model_of("identity", body, strlen(body), "gpt-5.1-codex"),
	   "identity is read as is");
}

int
main(void)
{
	test_deflate_parse();
	test_frames();
	test_refusals();
	test_inflate();
	test_oversize();
	test_wsmeter();
	test_upgrade_request();
	test_request_codings();
	return tap_done();
}
