/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_head.h - collects an upstream response head from the lines
 * curl's header callback hands over, the hop-by-hop rules of both
 * directions, and the request header lines for curl (pure: buffers in,
 * no I/O).
 *
 * Threading: none; a struct upstream_head belongs to one transfer.
 * Ownership: the struct owns every string it holds; they stay valid until
 *   the next upstream_head_feed() of a status line or upstream_head_clear().
 */
#ifndef AGP_UPSTREAM_HEAD_H
#define AGP_UPSTREAM_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "http1.h"

struct curl_slist;

#define UPSTREAM_HEAD_MAX_HEADERS 256
#define UPSTREAM_HEAD_MAX_BYTES (256 * 1024)

struct upstream_head {
	int status;		  /* 0 until a status line came */
	char *reason;		  /* verbatim, or the standard one for h2/h3 */
	struct http_header *hdrs; /* each name starts one malloc'd
					 * "name\0value" block */
	size_t nhdrs, bytes;
};

/* Feeds one line as curl passes it (line ending included). A status line
 * starts a new head (after a 1xx, the final one). Returns 1 when the blank
 * line ends a final (non-1xx) head, 0 when more is expected, -1 on a
 * malformed or oversized head or out of memory. Folded lines are joined to
 * the previous value with one space (RFC 9112 5.2); duplicates stay. */
int upstream_head_feed(struct upstream_head *h, const char *line, size_t len);

/* Frees what h holds and makes it empty again; h itself is the caller's. */
void upstream_head_clear(struct upstream_head *h);

/* Is name hop-by-hop: in the fixed list (Connection, Keep-Alive,
 * Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer,
 * Transfer-Encoding, Upgrade) or named by a Connection header of all[]? */
bool upstream_head_is_hop(const char *name, const struct http_header *all,
			  size_t n);

/* Fills out[] (room for h->nhdrs entries) with the end-to-end headers of h
 * in order, pseudo-headers dropped; returns how many. They point into h. */
size_t upstream_head_e2e(const struct upstream_head *h,
			 struct http_header *out);

/* The request header lines to hand curl (CURLOPT_HTTPHEADER) for the
 * client's headers h[0..n): the end-to-end ones in order (Host first:
 * curl puts it there), Expect dropped (the body is read already), then
 * blanks ("Name:") for what curl would add on its own: Accept, Content-Type
 * when with_body, Expect. An empty value goes as "Name;". Returns 0 with
 * *out for the caller to free with curl_slist_free_all(), or -1. */
int upstream_head_request(const struct http_header *h, size_t n, bool with_body,
			  struct curl_slist **out);
/* Like upstream_head_e2e() for a 101 answer to an Upgrade request: the
 * Upgrade and Connection headers stay (the client needs them to switch
 * protocols), the other hop-by-hop ones go. */
size_t upstream_head_upgrade(const struct upstream_head *h,
			     struct http_header *out);

/* The request head to send upstream for an Upgrade request: the request
 * line as received ("METHOD target HTTP/1.1"), then the client's headers
 * in order, Upgrade and Connection included, minus the other hop-by-hop
 * ones and Expect. Returns a malloc'd head with *len, or NULL (out of
 * memory, or a line with CR or LF in it). */
char *upstream_head_upgrade_request(const char *method, const char *target,
				    const struct http_header *h, size_t n,
				    size_t *len);

/* The standard reason phrase of an HTTP status ("" if unknown). */
const char *upstream_head_reason(int status);

#endif
