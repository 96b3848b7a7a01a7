/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_h1resp.c - the response framing towards the client, over buffers:
 * bodiless answers, re-chunking, HTTP/1.0 closes, the held head and the
 * JSON errors, byte for byte, and how many writes each took.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "h1resp.h"
#include "http1.h"
#include "tap.h"

struct sink {
	struct buf got;
	int writes;
	int fail_after; /* writes that succeed; -1: all */
};

static int
sink_write(void *arg, const char *buf, size_t len)
{
	struct sink *s = arg;

	if (s->fail_after >= 0 && s->writes >= s->fail_after)
		return -1;
	s->writes++;
	return buf_append(&s->got, buf, len) ? 0 : -1;
}

static void
sink_reset(struct sink *s)
{
	s->got.len = 0;
	if (s->got.data)
		s->got.data[0] = '\0';
	s->writes = 0;
	s->fail_after = -1;
}

/* Begins an exchange for a request line (and headers) as a client sent
 * it. */
static void
begin(struct h1resp *r, struct sink *s, const char *head)
{
	static char copy[1024];
	struct http_request req;

	snprintf(copy, sizeof(copy), "%s", head);
	if (http1_parse_head(copy, strlen(copy), &req) <= 0)
		abort();
	sink_reset(s);
	h1resp_begin(r, &req);
}

static const struct http_header ct_len[] = {
	{ "Content-Type", "text/plain" },
	{ "Content-Length", "5" },
};
static const struct http_header ct_only[] = {
	{ "Content-Type", "text/event-stream" },
};

static void
test_bodiless(struct h1resp *r, struct sink *s)
{
	static const struct {
		const char *req;
		int status;
	} t[] = {
		{ "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", 200 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 204 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 304 },
		{ "HEAD / HTTP/1.0\r\n\r\n", 200 },
	};
	char want[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		begin(r, s, t[i].req);
		is_int(h1resp_head(r, t[i].status, "X", ct_only, 1), 0,
		       "bodiless %d: head", t[i].status);
		is_int(s->writes, 0, "bodiless %d: the head is held",
		       t[i].status);
		h1resp_end(r);
		snprintf(want, sizeof(want),
			 "HTTP/1.1 %d X\r\nContent-Type: "
			 "text/event-stream\r\n%s\r\n",
			 t[i].status, i == 3 ? "Connection: close\r\n" : "");
		is_str(s->got.data, want,
		       "bodiless %d (%s): no chunking, "
		       "no terminator",
		       t[i].status, i == 0 ? "HEAD" : "GET");
		ok(r->close == (i == 3), "bodiless: close only when the "
					 "client asked");
	}
}

static void
test_chunked(struct h1resp *r, struct sink *s)
{
	begin(r, s,
	      "POST /v1 HTTP/1.1\r\nHost: a\r\n"
	      "Content-Length: 0\r\n\r\n");
	h1resp_head(r, 200, "OK", ct_only, 1);
	ok(r->chunked && !r->close, "no length, HTTP/1.1: chunked, kept");
	is_int(h1resp_body(r, "hello", 5), 0, "chunked: first piece");
	is_int(s->writes, 1, "chunked: head and first chunk in one write");
	is_str(s->got.data,
	       "HTTP/1.1 200 OK\r\nContent-Type: "
	       "text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "5\r\nhello\r\n",
	       "chunked: the head and the first chunk");
	h1resp_body(r, "0123456789abcdef!", 17);
	h1resp_end(r);
	ok(strstr(s->got.data, "\r\n11\r\n0123456789abcdef!\r\n0\r\n\r\n") !=
		   NULL,
	   "chunked: hex size, then the last chunk");
	is_int(s->writes, 3, "chunked: one write per piece, one for the end");

	begin(r, s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	h1resp_head(r, 200, "OK", ct_len, 2);
	h1resp_body(r, "he", 2);
	h1resp_body(r, "llo", 3);
	h1resp_end(r);
	is_str(s->got.data,
	       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	       "Content-Length: 5\r\n\r\nhello",
	       "a length: passed through, "
	       "unframed");
	is_int(s->writes, 2,
	       "a length: held head with the first bytes, "
	       "then the rest straight");
}

static void
test_http10(struct h1resp *r, struct sink *s)
{
	begin(r, s, "GET / HTTP/1.0\r\n\r\n");
	h1resp_head(r, 200, "OK", ct_only, 1);
	ok(!r->chunked && r->close, "HTTP/1.0, no length: unframed, close");
	h1resp_body(r, "abc", 3);
	h1resp_end(r);
	is_str(s->got.data,
	       "HTTP/1.1 200 OK\r\nContent-Type: "
	       "text/event-stream\r\nConnection: close\r\n\r\nabc",
	       "HTTP/1.0: the close ends the body");

	begin(r, s, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	h1resp_head(r, 200, "OK", ct_len, 2);
	ok(!r->chunked && !r->close, "HTTP/1.0 keep-alive with a length: "
				     "kept open");
}

static void
test_held(struct h1resp *r, struct sink *s)
{
	static char big[100000];

	begin(r, s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	h1resp_head(r, 200, "OK", ct_only, 1);
	is_int(h1resp_flush(r), 0, "held: flush");
	is_int(s->writes, 1, "held: flush writes the head alone");
	h1resp_flush(r);
	is_int(s->writes, 1, "held: a second flush writes nothing");
	h1resp_body(r, "x", 1);
	ok(strcmp(s->got.data + s->got.len - 6, "1\r\nx\r\n") == 0,
	   "held: then the chunk");

	/* A piece too big to join the head goes piece by piece. */
	memset(big, 'b', sizeof(big));
	begin(r, s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	h1resp_head(r, 200, "OK", ct_only, 1);
	is_int(h1resp_body(r, big, sizeof(big)), 0, "held: a big piece");
	is_int(s->writes, 4, "held: head, frame, data, CRLF");
	ok(s->got.len > sizeof(big) &&
		   memcmp(s->got.data + s->got.len - 2, "\r\n", 2) == 0 &&
		   strstr(s->got.data, "\r\n\r\n186a0\r\nbbb"),
	   "held: the big piece framed");

	sink_reset(s);
	s->fail_after = 0;
	begin(r, s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	s->fail_after = 0;
	h1resp_head(r, 200, "OK", ct_only, 1);
	ok(h1resp_body(r, "x", 1) < 0, "a client gone: the body fails");
}

static void
test_limits(struct h1resp *r, struct sink *s)
{
	static char big[H1RESP_OUT];
	struct http_header h = { "X-Big", big };

	memset(big, 'v', sizeof(big) - 1);
	begin(r, s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	ok(h1resp_head(r, 200, "OK", &h, 1) < 0, "a head over 64 KiB: "
						 "refused");
	is_int(r->out.len, 0, "refused: nothing held");
	h1resp_end(r);
	is_int(s->writes, 0, "refused: nothing written");
	big[1000] = '\0';
	ok(h1resp_head(r, 200, NULL, &h, 1) == 0, "a 1 KiB header, no "
						  "reason: passed");
	h1resp_flush(r);
	ok(strncmp(s->got.data, "HTTP/1.1 200 \r\nX-Big: vvv", 25) == 0,
	   "no reason: an empty phrase");
	is_str(h1resp_header(ct_len, 2, "content-length"), "5",
	       "h1resp_header: any case");
	ok(h1resp_header(ct_len, 2, "Content-Encoding") == NULL,
	   "h1resp_header: absent");
}

static void
test_errors(struct h1resp *r, struct sink *s)
{
	begin(r, s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	is_int(h1resp_error(r, 502, "Bad Gateway", "upstream unreachable"), 0,
	       "error: written");
	is_str(s->got.data,
	       "HTTP/1.1 502 Bad Gateway\r\nContent-Type: "
	       "application/json\r\nContent-Length: 46\r\nConnection: close"
	       "\r\n\r\n{\"error\":\"upstream unreachable\",\"status\":502}\n",
	       "error: 502 with its JSON body");
	ok(r->close, "error: the connection closes");
	is_int(s->writes, 1, "error: one write");
}

int
main(void)
{
	struct sink s = { BUF_INIT(0), 0, -1 };
	struct h1resp r;

	h1resp_init(&r, sink_write, &s);
	test_bodiless(&r, &s);
	test_chunked(&r, &s);
	test_http10(&r, &s);
	test_held(&r, &s);
	test_limits(&r, &s);
	test_errors(&r, &s);
	h1resp_free(&r);
	h1resp_free(NULL);
	buf_free(&s.got);
	return tap_done();
}
