/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_upstream_head.c - the response-head collector and hop-by-hop rules.
 */
#include "config.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "upstream_head.h"

static int
feed(struct upstream_head *h, const char *line)
{
	return upstream_head_feed(h, line, strlen(line));
}

static void
test_h1(void)
{
	struct upstream_head h = { 0 };
	struct http_header out[16];
	size_t n;

	is_int(feed(&h, "HTTP/1.1 100 Continue\r\n"), 0, "1xx status line");
	is_int(feed(&h, "\r\n"), 0, "1xx blank line is not the end");
	is_int(feed(&h, "HTTP/1.1 200 Fine Thanks\r\n"), 0, "final status");
	is_int(feed(&h, "Content-Type:  text/plain \r\n"), 0, "header");
	is_int(feed(&h, "Connection: keep-alive, X-Private\r\n"), 0, "conn");
	is_int(feed(&h, "X-Private: secret\r\n"), 0, "named in Connection");
	is_int(feed(&h, "Set-Cookie: a=1\r\n"), 0, "dup 1");
	is_int(feed(&h, "X-Folded: one\r\n"), 0, "fold start");
	is_int(feed(&h, "  two\r\n"), 0, "fold continuation");
	is_int(feed(&h, "Set-Cookie: b=2\r\n"), 0, "dup 2");
	is_int(feed(&h, "Transfer-Encoding: chunked\r\n"), 0, "TE");
	is_int(feed(&h, "Keep-Alive: timeout=5\r\n"), 0, "keep-alive");
	is_int(feed(&h, "Content-Length: 12\r\n"), 0, "CL");
	is_int(feed(&h, "\r\n"), 1, "blank line ends the final head");
	is_int(h.status, 200, "status");
	is_str(h.reason, "Fine Thanks", "HTTP/1.1 reason kept verbatim");
	n = upstream_head_e2e(&h, out);
	is_int(n, 5, "five end-to-end headers");
	if (n == 5) {
		is_str(out[0].name, "Content-Type", "order 0");
		is_str(out[0].value, "text/plain", "value trimmed");
		is_str(out[1].value, "a=1", "duplicate 1 in order");
		is_str(out[2].value, "one two", "folded with one space");
		is_str(out[3].value, "b=2", "duplicate 2 in order");
		is_str(out[4].name, "Content-Length", "Content-Length kept");
	}
	upstream_head_clear(&h);
	is_int(h.nhdrs, 0, "clear empties");
}

static void
test_h2(void)
{
	struct upstream_head h = { 0 };
	struct http_header out[4];

	is_int(feed(&h, "HTTP/2 200 \r\n"), 0, "h2 status line");
	is_str(h.reason, "OK", "h2 gets the standard reason");
	is_int(feed(&h, "content-type: application/json\r\n"), 0, "h2 header");
	is_int(feed(&h, "\r\n"), 1, "h2 end");
	is_int(upstream_head_e2e(&h, out), 1, "h2 header kept");
	is_int(feed(&h, "HTTP/2 429\r\n"), 0, "h2 status without space");
	is_str(h.reason, "Too Many Requests", "429 reason");
	is_int(feed(&h, "HTTP/3 503 \r\n"), 0, "h3 status line");
	is_str(h.reason, "Service Unavailable", "h3 reason");
	upstream_head_clear(&h);
	is_str(upstream_head_reason(599), "", "unknown status, empty reason");
}

static void
test_bad(void)
{
	struct upstream_head h = { 0 };
	char big[1024];

	is_int(feed(&h, "Content-Type: x\r\n"), -1, "header before status");
	is_int(feed(&h, "HTTP/1.1 2x0 OK\r\n"), -1, "bad status code");
	upstream_head_clear(&h);
	is_int(feed(&h, "HTTP/1.1 200OK\r\n"), -1, "no space before reason");
	upstream_head_clear(&h);
	feed(&h, "HTTP/1.1 200 OK\r\n");
	is_int(feed(&h, "  fold without a header\r\n"), -1, "orphan fold");
	is_int(feed(&h, "no colon here\r\n"), -1, "no colon");
	is_int(feed(&h, ": empty name\r\n"), -1, "empty name");
	is_int(feed(&h, "Bad Name: x\r\n"), -1, "space in a name");
	is_int(upstream_head_feed(&h, "X-A: a\0b\r\n", 10), -1, "NUL byte");
	memset(big, 'a', sizeof(big) - 3);
	memcpy(big, "X:", 2);
	big[sizeof(big) - 1] = '\0';
	int rc = 0;
	for (int i = 0; i < 400 && rc == 0; i++)
		rc = feed(&h, big);
	is_int(rc, -1, "oversized head refused");
	upstream_head_clear(&h);
}

static void
test_hop(void)
{
	struct http_header req[] = {
		{ "Connection", "close, X-Foo" },
		{ "X-Foo", "1" },
		{ "X-Bar", "2" },
		{ "Proxy-Authorization", "Basic x" },
	};

	ok(upstream_head_is_hop("connection", req, 4), "Connection");
	ok(upstream_head_is_hop("x-foo", req, 4), "named by Connection");
	ok(!upstream_head_is_hop("X-Bar", req, 4), "end-to-end");
	ok(!upstream_head_is_hop("X-Fo", req, 4), "no prefix match");
	ok(upstream_head_is_hop("Proxy-Authorization", req, 4), "proxy auth");
	ok(upstream_head_is_hop("TE", NULL, 0), "TE");
}

/* The lines as one string, "|" between them. */
static void
join(const struct curl_slist *l, char *out, size_t size)
{
	size_t off = 0;

	out[0] = '\0';
	for (; l && off < size; l = l->next)
		off += (size_t)snprintf(out + off, size - off, "%s%s",
					off ? "|" : "", l->data);
}

static void
test_request(void)
{
	struct http_header h[] = {
		{ "Host", "a.test" }, { "Connection", "keep-alive, X-Hop" },
		{ "X-Hop", "1" },     { "Expect", "100-continue" },
		{ "X-Empty", "" },    { "accept", "*/*" },
		{ "TE", "trailers" }, { "X-Last", "z" },
	};
	struct curl_slist *l = NULL;
	char got[1024], big[1200], want[1300];

	ok(upstream_head_request(h, 8, false, &l) == 0, "request lines");
	join(l, got, sizeof(got));
	is_str(got, "Host: a.test|X-Empty;|accept: */*|X-Last: z|Expect:",
	       "end-to-end in order, empty as \"Name;\", Expect blanked");
	curl_slist_free_all(l);
	l = NULL;
	ok(upstream_head_request(h, 1, true, &l) == 0, "with a body");
	join(l, got, sizeof(got));
	is_str(got, "Host: a.test|Accept:|Content-Type:|Expect:",
	       "curl's Accept and Content-Type blanked");
	curl_slist_free_all(l);
	l = NULL;
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	h[0].value = big;
	ok(upstream_head_request(h, 1, false, &l) == 0, "a long line");
	snprintf(want, sizeof(want), "Host: %s", big);
	is_str(l ? l->data : "", want, "a line longer than 512 bytes whole");
	curl_slist_free_all(l);
}

int
main(void)
{
	test_h1();
	test_h2();
	test_bad();
	test_hop();
	test_request();
	return tap_done();
}
