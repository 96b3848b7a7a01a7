/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_http1.c - HTTP/1.1 request heads (every RFC 9112 rule we enforce,
 * heads split at every byte, the size and count limits at the boundary)
 * and the chunked decoder (whole, byte by byte, small output buffers).
 */
#include "config.h"

#include <stdlib.h>

#include "http1.h"
#include "tap.h"

static struct http_request req;

/* Parses a copy of s (so string literals can be used). */
static int
parse(const char *s)
{
	static char buf[256 * 1024];
	size_t n = strlen(s);

	memcpy(buf, s, n + 1);
	return http1_parse_head(buf, n, &req);
}

static void
test_basic(void)
{
	static const char get[] = "GET /v1/models?x=1 HTTP/1.1\r\n"
				  "Host: api.example.test\r\n"
				  "Accept:  */*  \r\n"
				  "X-Empty:\r\n\r\nBODY";

	is_int(parse(get), (int)strlen(get) - 4, "GET: head length");
	is_str(req.method, "GET", "method");
	is_str(req.target, "/v1/models?x=1", "target");
	is_int(req.minor, 1, "minor");
	is_str(req.host, "api.example.test", "host");
	is_int(req.nheaders, 3, "three headers");
	is_str(req.headers[1].name, "Accept", "name");
	is_str(req.headers[1].value, "*/*", "value trimmed");
	is_str(req.headers[2].value, "", "empty value");
	is_str(http1_header(&req, "aCCEPT"), "*/*", "lookup ignores case");
	ok(http1_header(&req, "Accept-Encoding") == NULL, "missing -> NULL");
	ok(req.framing == HTTP1_NO_BODY && req.keep_alive &&
		   !req.expect_continue,
	   "no body, keep-alive, no expect");

	is_int(parse("GET / HTTP/1.1\nHost: h\nA: 1\nA: 2\n\n"), 34,
	       "bare LF line ends");
	is_str(http1_header(&req, "a"), "1", "first match wins");
	is_int(parse("\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 30,
	       "leading empty lines skipped");
	is_str(req.target, "/", "... target");
	is_int(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 31,
	       "asterisk form");
	is_int(parse("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 27,
	       "HTTP/1.2 accepted");
	is_int(req.minor, 2, "... minor 2");
	is_int(parse("ABCDEFGHIJKLMNO / HTTP/1.1\r\nHost: h\r\n\r\n"), 39,
	       "15-byte method");
	is_int(parse("ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: h\r\n\r\n"), -501,
	       "16-byte method: 501");
}

/* Heads that must be refused, with the status. */
static const struct {
	const char *head, *what;
	int want;
} cases[] = {
	{ "GET / HTTP/1.1\r\nHost : h\r\n\r\n", "space before colon", -400 },
	{ "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", "tab before colon", -400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", "obs-fold", -400 },
	{ "GET / HTTP/1.1\r\n Host: h\r\n\r\n", "space-led first field", -400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", "no colon", -400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", "empty name", -400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX(y): v\r\n\r\n", "non-token name",
	  -400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", "bare CR in value",
	  -400 },
	{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n",
	  "control byte in value", -400 },
	{ "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", "double space", -400 },
	{ "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", "trailing space", -400 },
	{ "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", "DEL in target", -400 },
	{ "GET HTTP/1.1\r\nHost: h\r\n\r\n", "no target", -400 },
	{ "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", "bad method", -400 },
	{ "GET / HTTX/1.1\r\nHost: h\r\n\r\n", "bad protocol", -400 },
	{ "GET / HTTP/1.10\r\nHost: h\r\n\r\n", "long version", -400 },
	{ "GET / http/1.1\r\nHost: h\r\n\r\n", "lower-case HTTP", -400 },
	{ "GET / HTTP/2.0\r\nHost: h\r\n\r\n", "HTTP/2.0", -505 },
	{ "GET / HTTP/0.9\r\nHost: h\r\n\r\n", "HTTP/0.9", -505 },
	{ "GET / HTTP/1.1\r\n\r\n", "1.1 without Host", -400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "two Hosts", -400 },
	{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "Host with space", -400 },
	{ "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", "Host with userinfo", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
	  "Content-Length: 6\r\n\r\n",
	  "two different lengths", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n",
	  "length list that differs", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
	  "signed length", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n",
	  "hex length", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
	  "empty length", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\n"
	  "Content-Length: 18446744073709551616\r\n\r\n",
	  "length over 64 bits", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n",
	  "CL with TE", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
	  "Content-Length: 3\r\n\r\n",
	  "TE with CL", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
	  "TE gzip", -501 },
	{ "POST / HTTP/1.1\r\nHost: h\r\n"
	  "Transfer-Encoding: gzip, chunked\r\n\r\n",
	  "TE gzip, chunked", -501 },
	{ "POST / HTTP/1.1\r\nHost: h\r\n"
	  "Transfer-Encoding: chunked, gzip\r\n\r\n",
	  "chunked not last", -501 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
	  "Transfer-Encoding: identity\r\n\r\n",
	  "TE split over fields", -501 },
	{ "POST / HTTP/1.1\r\nHost: h\r\n"
	  "Transfer-Encoding: chunked, chunked\r\n\r\n",
	  "chunked twice", -400 },
	{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n",
	  "empty TE", -400 },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	  "TE on HTTP/1.0", -400 },
};

static void
test_malformed(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(parse(cases[i].head), cases[i].want, "%s: %d",
		       cases[i].what, cases[i].want);
	/* A NUL cannot be written in a literal that parse() strlen()s. */
	{
		char buf[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";

		is_int(http1_parse_head(buf, sizeof(buf) - 1, &req), -400,
		       "NUL in value: -400");
	}
}

static void
test_framing(void)
{
	is_int(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n"
		     "content-length: 42\r\n\r\n") > 0,
	       1, "repeated equal lengths accepted");
	ok(req.framing == HTTP1_LENGTH && req.content_length == 42,
	   "... LENGTH 42");
	ok(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7 , 7\r\n\r\n") >
			   0 &&
		   req.content_length == 7,
	   "equal list accepted");
	ok(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n") >
			   0 &&
		   req.framing == HTTP1_LENGTH && req.content_length == 0,
	   "Content-Length 0: LENGTH 0");
	ok(parse("POST / HTTP/1.1\r\nHost: h\r\n"
		 "Content-Length: 18446744073709551615\r\n\r\n") > 0 &&
		   req.content_length == UINT64_MAX,
	   "largest length parsed");
	ok(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked"
		 "\r\n\r\n") > 0 &&
		   req.framing == HTTP1_CHUNKED,
	   "TE chunked (any case): CHUNKED");
	ok(parse("GET / HTTP/1.0\r\n\r\n") > 0 && !req.keep_alive &&
		   req.host == NULL,
	   "1.0: close by default, Host optional");
	ok(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") > 0 &&
		   req.keep_alive,
	   "1.0 + keep-alive");
	ok(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n") >
			   0 &&
		   !req.keep_alive,
	   "1.1 + close");
	ok(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n"
		 "Connection: close\r\n\r\n") > 0 &&
		   !req.keep_alive,
	   "close wins over keep-alive");
	ok(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
		 "Content-Length: 1\r\n\r\n") > 0 &&
		   req.expect_continue,
	   "Expect: 100-continue");
	ok(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\n"
		 "Content-Length: 1\r\n\r\n") > 0 &&
		   !req.expect_continue,
	   "Expect ignored on 1.0");
}

/* Every prefix gives 0 and leaves the buffer alone; the whole parses. */
static void
test_split(void)
{
	static const char head[] =
		"\r\nPOST /v1beta/models/x:generate "
		"HTTP/1.1\r\nHost: h.example.test\r\nContent-Type: "
		"application/json\r\nTransfer-Encoding: chunked\r\n"
		"Expect: 100-continue\r\n\n";
	static const char lf[] = "GET / HTTP/1.1\nHost: h\n\n";
	const char *heads[] = { head, lf };
	char buf[sizeof(head) + 8];

	for (int h = 0; h < 2; h++) {
		size_t n = strlen(heads[h]);
		int bad = 0;

		for (size_t i = 0; i < n; i++) {
			memcpy(buf, heads[h], n + 1);
			if (http1_parse_head(buf, i, &req) != 0 ||
			    memcmp(buf, heads[h], n) != 0)
				bad++;
		}
		is_int(bad, 0, "head %d: every prefix gives 0, buffer intact",
		       h);
		memcpy(buf, heads[h], n + 1);
		is_int(http1_parse_head(buf, n, &req), (int)n,
		       "head %d: whole head parsed", h);
	}
	ok(req.keep_alive && req.host, "... fields of the last one");
	is_int(parse("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), -400,
	       "TLS bytes refused before any line end");
	is_int(parse("GET /\x01"), -400, "control byte refused early");
	is_int(parse("GET / HTTP/3.0\r\nHost"), -505,
	       "bad version refused once the line is there");
	is_int(parse("GET /x HTTP/1.1\r"), 0, "CR awaiting its LF");
	is_int(parse("\r"), 0, "lone CR of an empty line");
	is_int(parse(" GET"), -400, "leading space refused early");
}

/* A head of exactly `size` bytes: padding in one X-Pad header. */
static char *
sized_head(size_t size)
{
	static const char pre[] = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
	char *s = malloc(size + 16);
	size_t n = strlen(pre);

	memcpy(s, pre, n);
	memset(s + n, 'p', size - n - 4);
	memcpy(s + size - 4, "\r\n\r\nBODY", 9);
	return s;
}

static void
test_limits(void)
{
	char *s, many[8192];
	size_t n;

	s = sized_head(HTTP1_MAX_HEAD);
	is_int(parse(s), HTTP1_MAX_HEAD, "head of exactly 64 KiB: parsed");
	free(s);
	s = sized_head(HTTP1_MAX_HEAD + 1);
	is_int(parse(s), -431, "64 KiB + 1: 431");
	s[HTTP1_MAX_HEAD] = '\0';
	is_int(parse(s), -431, "64 KiB with no end yet: 431");
	s[HTTP1_MAX_HEAD - 1] = '\0';
	is_int(parse(s), 0, "64 KiB - 1 with no end yet: 0");
	free(s);

	n = (size_t)sprintf(many, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 1; i < HTTP1_MAX_HEADERS; i++)
		n += (size_t)sprintf(many + n, "X-%d: %d\r\n", i, i);
	strcpy(many + n, "\r\n");
	is_int(parse(many), (int)n + 2, "100 headers: parsed");
	is_int(req.nheaders, 100, "... all kept");
	strcpy(many + n, "X-101: 1\r\n\r\n");
	is_int(parse(many), -431, "101 headers: 431");
}

/* Decodes body in pieces of `step` bytes into an out buffer of `cap`. */
static int
chunked(const char *body, size_t len, size_t step, size_t cap, char *dec,
	size_t *declen, size_t *used)
{
	struct http1_chunked c;
	char out[4096];
	int rc = 0;

	http1_chunked_init(&c);
	*declen = *used = 0;
	while (*used < len && !c.done) {
		size_t n = len - *used < step ? len - *used : step, k, o;

		if ((rc = http1_chunked_decode(&c, body + *used, n, &k,
					       dec ? out : NULL, cap, &o)) < 0)
			return rc;
		if (dec)
			memcpy(dec + *declen, out, o);
		*declen += o;
		*used += k;
	}
	return c.done ? 0 : 1;
}

static void
test_chunked(void)
{
	static const char body[] =
		"5;name=\"v\";x\r\nhello\r\n"
		"1A \t; ext\r\nabcdefghijklmnopqrstuvwxyz\r\n"
		"0000000000000000000000001\r\n!\r\n"
		"0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\nGET / HTTP/1.1\r\n";
	static const char want[] = "helloabcdefghijklmnopqrstuvwxyz!";
	size_t len = strlen(body), end = strlen(body) - 16, dl, used;
	char dec[512];

	for (size_t step = 1; step <= len; step = step * 3 + 1) {
		for (size_t cap = 1; cap <= 64; cap *= 4) {
			memset(dec, 0, sizeof(dec));
			is_int(chunked(body, len, step, cap, dec, &dl, &used),
			       0, "step %zu cap %zu: done", step, cap);
			ok(dl == strlen(want) && memcmp(dec, want, dl) == 0 &&
				   used == end,
			   "... decoded %zu, stopped at %zu", dl, used);
		}
	}
	is_int(chunked(body, len, 1, 0, NULL, &dl, &used), 0,
	       "framing only (out NULL), byte by byte");
	ok(used == end && dl == 0, "... stops at the next request");
	is_int(chunked("0\r\n\r\n", 5, 5, 8, dec, &dl, &used), 0, "empty body");
	is_int(chunked("5\r\nhel", 6, 6, 8, dec, &dl, &used), 1,
	       "incomplete body: not done");
	ok(dl == 3 && used == 6, "... partial data delivered");
	is_int(chunked("FFFFFFFFFFFFFFFF\r\n", 18, 1, 8, dec, &dl, &used), 1,
	       "2^64-1 chunk size accepted");
	{
		static const char *const bad[] = {
			"10000000000000000\r\n",
			"\r\n",
			";x\r\n",
			"5\nhello\r\n",
			"5\r\nhelloX\r\n",
			"5\r\nhello\n0\r\n\r\n",
			"g\r\n",
			"5 x\r\n",
			"5;a\x01\r\n",
			"0\r\nX: 1\n\r\n",
			"0\r\n\n",
			"-1\r\n",
			"0x5\r\n",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			is_int(chunked(bad[i], strlen(bad[i]), 1, 8, dec, &dl,
				       &used),
			       -400, "malformed body #%zu", i);
	}
}

int
main(void)
{
	test_basic();
	test_malformed();
	test_framing();
	test_split();
	test_limits();
	test_chunked();
	return tap_done();
}
