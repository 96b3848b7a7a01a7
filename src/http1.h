/* SPDX-License-Identifier: GPL-2.0-or-later
 * http1.h - HTTP/1.1 request-head parser and body framing (pure: buffers
 * in, no sockets).
 *
 * Threading: no shared state; every call works only on its arguments.
 * Ownership: the caller owns every buffer; parsed strings point into it.
 */
#ifndef AGP_HTTP1_H
#define AGP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEAD (64 * 1024)
#define HTTP1_MAX_HEADERS 100

/* A header as received; both strings point into the parsed buffer and
 * are NUL-terminated there, the value without surrounding white space. */
struct http_header {
	const char *name;
	const char *value;
};

/* A parsed request head. The strings point into the caller's buffer,
 * which must outlive the struct; method is copied. */
struct http_request {
	char method[16];
	char *target; /* request-target as sent, NUL-terminated */
	int minor;    /* HTTP/1.<minor> */
	struct http_header headers[HTTP1_MAX_HEADERS];
	size_t nheaders;
	const char *host; /* the Host header's value, or NULL */
	enum http1_framing {
		HTTP1_NO_BODY, /* neither Content-Length nor chunked */
		HTTP1_LENGTH,  /* content_length bytes follow (maybe 0) */
		HTTP1_CHUNKED  /* decode with http1_chunked_* */
	} framing;
	uint64_t content_length;
	bool keep_alive;      /* the connection may carry another request */
	bool expect_continue; /* "Expect: 100-continue" on HTTP/1.1 */
};

/* Parses the request head at buf[0..len) in place, writing NULs into it;
 * leading empty lines are skipped (RFC 9112 2.2), bare LF ends a line.
 * Returns the head's length in bytes (the body starts at buf + rc), 0 if
 * the head is not complete yet (buf is then left untouched, so the caller
 * reads more and calls again with the same start), or a negative HTTP
 * status for the response before closing: -400 malformed (including
 * request smuggling shapes), -431 head over HTTP1_MAX_HEAD bytes or more
 * than HTTP1_MAX_HEADERS fields, -501 unsupported Transfer-Encoding or a
 * method longer than 15 bytes, -505 HTTP major version other than 1. */
int http1_parse_head(char *buf, size_t len, struct http_request *req);

/* The head that req points into was copied from old to new (both still
 * allocated): points req into new. */
void http1_request_move(struct http_request *req, const char *old, char *new);

/* The value of the first header called name (case-insensitive), or NULL. */
const char *http1_header(const struct http_request *req, const char *name);

/* True for a WebSocket opening handshake (RFC 6455 4.1): a bodiless
 * HTTP/1.1 GET whose Upgrade lists "websocket" and whose Connection
 * lists "upgrade". */
bool http1_is_websocket(const struct http_request *req);

/* Incremental chunked-body decoder (RFC 9112 7.1). Set it up with
 * http1_chunked_init(); the fields are private. */
struct http1_chunked {
	int state;
	uint64_t remaining; /* data bytes left in the current chunk */
	size_t line;	    /* bytes of the current size/trailer line */
	size_t trailer;	    /* bytes of trailer section so far */
	bool digits;	    /* the size line has a hex digit */
	bool done;	    /* last chunk and trailers consumed */
};

void http1_chunked_init(struct http1_chunked *c);

/* Consumes body bytes from in[0..len) and sets *consumed to how many.
 * Decoded data goes to out[0..out_cap) and *out_len says how much; with
 * out NULL the data is only framed (counted as consumed, not copied), so
 * a caller may forward in[0..*consumed) as is. Stops early when out is
 * full or the body ends: c->done is then set and in + *consumed is the
 * start of the next request. Chunk extensions and trailer fields are
 * skipped. Returns 0, or -400 on a malformed body (bad hex, size over
 * 64 bits, missing CRLF, line over HTTP1_MAX_HEAD). */
int http1_chunked_decode(struct http1_chunked *c, const char *in, size_t len,
			 size_t *consumed, char *out, size_t out_cap,
			 size_t *out_len);

#endif
