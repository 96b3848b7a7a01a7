/* SPDX-License-Identifier: GPL-2.0-or-later
 * h1resp.h - the response side of HTTP/1.1 towards the client: the head
 * as upstream sent it, the body re-chunked or passed through, the close
 * an HTTP/1.0 client needs, and the short JSON error answers.
 *
 * Pure: no sockets, no curl; every byte goes out through the write
 * callback, so it is unit-tested and fuzzed over buffers.
 * Threading: a struct h1resp belongs to one connection's worker.
 * Ownership: the caller owns the struct; h1resp_free() frees its buffer.
 */
#ifndef AGP_H1RESP_H
#define AGP_H1RESP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "http1.h"

#define H1RESP_OUT (64 * 1024) /* the largest response head we pass on */

/* Writes all of buf[0..len) to the client: 0, or < 0 (the client went). */
typedef int (*h1resp_write_fn)(void *arg, const char *buf, size_t len);

struct h1resp {
	h1resp_write_fn write;
	void *arg;
	/* The framing scratch; out.len bytes of it are a head held for the
	 * first body bytes (0: none held). It grows as heads and chunks
	 * need, to H1RESP_OUT at most: a thousand streams should not each
	 * pay for the largest head. */
	struct buf out;
	bool head_only; /* the request was HEAD */
	int minor;	/* the client's HTTP/1.<minor> */
	bool chunked;	/* we chunk the body to the client */
	bool close;	/* the connection closes after this one */
};

/* Empties r and sets its writer; nothing is allocated yet. */
void h1resp_init(struct h1resp *r, h1resp_write_fn write, void *arg);

/* Frees the buffer; r may be initialised again. NULL is a no-op. */
void h1resp_free(struct h1resp *r);

/* Before each exchange: what the request (parsed) says of its answer:
 * HEAD, its HTTP version and whether the client keeps the connection. */
void h1resp_begin(struct h1resp *r, const struct http_request *req);

/* The status line and headers (end-to-end ones, in upstream order),
 * then Transfer-Encoding: chunked when we must frame a body that has no
 * length, and Connection: close when the connection ends with this
 * response (an HTTP/1.0 client learns the body's end so). The head is
 * held, not written: h1resp_body() sends it with the first body bytes,
 * in one write, or h1resp_flush() alone. -1 for a head over H1RESP_OUT
 * or out of memory. */
int h1resp_head(struct h1resp *r, int status, const char *reason,
		const struct http_header *h, size_t n);

/* The value of the last header called name (any case) among h[0..n),
 * or NULL: what the meter reads of a response head. */
const char *h1resp_header(const struct http_header *h, size_t n,
			  const char *name);

/* Writes the held head, if any: upstream is about to wait for more. */
int h1resp_flush(struct h1resp *r);

/* One piece of body, framed as a chunk when r->chunked, together with
 * the held head when one is. An empty piece writes nothing of its own. */
int h1resp_body(struct h1resp *r, const char *buf, size_t len);

/* The complete end of a response: the held head, then the last chunk
 * when the body was chunked. Not for a broken response, which must end
 * with a close instead, never with a body that looks complete. */
int h1resp_end(struct h1resp *r);

/* A short JSON error answer ({"error":msg,"status":status}); the
 * connection closes after it (r->close). msg is a fixed phrase of ours,
 * never quoted from the peer. */
int h1resp_error(struct h1resp *r, int status, const char *reason,
		 const char *msg);

#endif
