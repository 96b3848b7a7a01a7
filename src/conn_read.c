/* SPDX-License-Identifier: GPL-2.0-or-later
 * conn_read.c - the client side of an exchange: reading one request
 * (head and body) within its deadlines, and writing the response.
 *
 * Threading: runs on the connection's worker; touches only its struct conn.
 * Ownership: c->in and c->body are the connection's; freed in conn_serve().
 * Deadlines: each read waits at most --idle-timeout, and the request as a
 *   whole has its own (HAProxy's "timeout http-request"): the head must be
 *   in within --request-timeout of its first byte, and the body within
 *   --request-timeout of the head plus a second for each CONN_BODY_MIN_RATE
 *   bytes received, a minimum average rate after a grace. A client that
 *   trickles a byte just under the idle timeout is cut at the deadline
 *   with a 408 (nothing has been forwarded: the body is read whole first).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conn_int.h"
#include "http1.h"
#include "log.h"
#include "options.h"
#include "tls.h"

/* What the next read may wait: --idle-timeout, or the time left to
 * deadline when that is nearer; 0 once the deadline has passed. */
static int
read_budget(const struct conn *c, int64_t deadline)
{
	int64_t left = deadline - clock_mono_ms();

	if (left <= 0)
		return 0;
	return left < c->opt->idle_timeout ? (int)left
					   : (int)c->opt->idle_timeout;
}

/* The body's deadline: the grace, then a minimum average rate. */
static int64_t
body_deadline(const struct conn *c)
{
	return c->body_t0 + c->opt->request_timeout +
	       (int64_t)(c->body_len * 1000 / CONN_BODY_MIN_RATE);
}

static void
send_http1_error(struct conn *c, int rc)
{
	switch (rc) {
	case -431:
		h1resp_error(&c->resp, 431, "Request Header Fields Too Large",
			     "request head too large");
		break;
	case -501:
		h1resp_error(&c->resp, 501, "Not Implemented",
			     "unsupported transfer coding or method");
		break;
	case -505:
		h1resp_error(&c->resp, 505, "HTTP Version Not Supported",
			     "only HTTP/1.x is supported");
		break;
	default:
		h1resp_error(&c->resp, 400, "Bad Request", "malformed request");
		break;
	}
}

/* Not realloc: c->req points into the head, and moves with it while
 * both copies exist. */
int
conn_in_resize(struct conn *c, size_t cap)
{
	char *p = malloc(cap);

	if (!p)
		return -1;
	memcpy(p, c->in, c->in_len);
	if (c->head_len > 0)
		http1_request_move(&c->req, c->in, p);
	free(c->in);
	c->in = p;
	c->in_cap = cap;
	return 0;
}

ssize_t
conn_read_more(struct conn *c, int timeout_ms)
{
	ssize_t n;

	/* c->in holds at most a head (64 KiB, checked by the caller) and
	 * one read of chunked body, which read_body() moves out at once. */
	if (c->in_cap - c->in_len < CONN_IN_SPARE &&
	    conn_in_resize(c, c->in_cap * 2) < 0)
		return -1;
	n = tls_read(c->tls, c->in + c->in_len, c->in_cap - c->in_len,
		     timeout_ms);
	if (n > 0)
		c->in_len += (size_t)n;
	return n;
}

/* Makes room for n more body bytes, within --max-request-body (the
 * caller checks the limit); 0, or -413 when memory runs out. */
static int
body_reserve(struct conn *c, size_t n)
{
	size_t cap = c->body_cap ? c->body_cap : 4096;
	char *b;

	if (c->body_len + n <= c->body_cap)
		return 0;
	while (cap < c->body_len + n)
		cap *= 2;
	if (!(b = realloc(c->body, cap)))
		return -413;
	c->body = b;
	c->body_cap = cap;
	return 0;
}

void
conn_body_release(struct conn *c)
{
	free(c->body);
	c->body = NULL;
	c->body_cap = 0;
}

/* Appends body bytes, enforcing --max-request-body; 0, or -413. */
static int
body_add(struct conn *c, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (c->body_len + n > c->opt->max_request_body ||
	    body_reserve(c, n) < 0)
		return -413;
	memcpy(c->body + c->body_len, p, n);
	c->body_len += n;
	return 0;
}

/* Reads the rest of a Content-Length body straight into c->body: each
 * read takes what the TLS record holds, and the buffer grows as the
 * bytes come, so a length that is claimed but never sent costs no
 * memory. 0, -413, -408 past the body's deadline, or -1 when the
 * client fails or goes. */
static int
read_length_body(struct conn *c)
{
	size_t want = (size_t)c->req.content_length;
	ssize_t n;
	int t;

	while (c->body_len < want) {
		size_t left = want - c->body_len, room;

		if (body_reserve(c, left < CONN_READ ? left : CONN_READ) < 0)
			return -413;
		room = c->body_cap - c->body_len;
		if ((t = read_budget(c, body_deadline(c))) == 0)
			return -408;
		n = tls_read(c->tls, c->body + c->body_len,
			     room < left ? room : left, t);
		if (n == TLS_E_TIMEOUT && read_budget(c, body_deadline(c)) == 0)
			return -408;
		if (n <= 0)
			return -1;
		c->body_len += (size_t)n;
	}
	return 0;
}

/* Reads the request body after a head of head_len bytes; returns the
 * bytes of c->in the request used, or a negative status (-1: the
 * client went or failed, nothing to answer). */
static ssize_t
read_body(struct conn *c, size_t head_len)
{
	struct http1_chunked ch;
	size_t pos = head_len, used, outn;
	ssize_t n;
	int rc, t;

	c->body_len = 0;
	if (c->req.framing == HTTP1_NO_BODY)
		return (ssize_t)pos;
	if (c->req.framing == HTTP1_LENGTH &&
	    c->req.content_length > c->opt->max_request_body)
		return -413;
	if (c->req.expect_continue && c->in_len == head_len) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		if (conn_client_write(c, cont, sizeof(cont) - 1) < 0)
			return -1;
	}
	c->body_t0 = clock_mono_ms();
	if (c->req.framing == HTTP1_LENGTH) {
		used = c->in_len - pos;
		if (used > (size_t)c->req.content_length)
			used = (size_t)c->req.content_length;
		if ((rc = body_add(c, c->in + pos, used)) < 0 ||
		    (rc = read_length_body(c)) < 0)
			return rc;
		return (ssize_t)(pos + used);
	}
	http1_chunked_init(&ch);
	for (;;) {
		char tmp[CONN_READ];

		do {
			rc = http1_chunked_decode(&ch, c->in + pos,
						  c->in_len - pos, &used, tmp,
						  sizeof(tmp), &outn);
			if (rc < 0)
				return rc;
			pos += used;
			if ((rc = body_add(c, tmp, outn)) < 0)
				return rc;
		} while (!ch.done && outn == sizeof(tmp));
		if (ch.done)
			return (ssize_t)pos;
		/* Keep c->in small: the body has been copied out. */
		memmove(c->in + head_len, c->in + pos, c->in_len - pos);
		c->in_len -= pos - head_len;
		pos = head_len;
		if ((t = read_budget(c, body_deadline(c))) == 0)
			return -408;
		if ((n = conn_read_more(c, t)) == TLS_E_TIMEOUT &&
		    read_budget(c, body_deadline(c)) == 0)
			return -408;
		if (n <= 0)
			return -1;
	}
}

/* Reads until a whole head is in c->in: 0 and c->req parsed, -1 when the
 * client went or failed, or an HTTP status to answer (negative). */
static int
read_head(struct conn *c, int *head)
{
	int64_t deadline = 0;
	ssize_t n;
	int t;

	while ((*head = http1_parse_head(c->in, c->in_len, &c->req)) == 0) {
		if (c->in_len > HTTP1_MAX_HEAD)
			return -431;
		/* Between requests the idle timeout alone; from the head's
		 * first byte, the request timeout too. */
		if (c->in_len > 0 && !deadline)
			deadline = clock_mono_ms() + c->opt->request_timeout;
		t = deadline ? read_budget(c, deadline)
			     : (int)c->opt->idle_timeout;
		if (t == 0)
			return -408;
		n = conn_read_more(c, t);
		if (n == TLS_E_TIMEOUT && deadline &&
		    read_budget(c, deadline) == 0)
			return -408;
		if (n <= 0) {
			if (c->in_len > 0 && n == 0)
				log_debug("conn#%lu closed mid-head", c->id);
			return -1;
		}
	}
	return *head < 0 ? *head : 0;
}

static void
send_late(struct conn *c, const char *what)
{
	log_info("conn#%lu %s -> %s request %s not received within "
		 "--request-timeout (%ld ms%s): 408",
		 c->id, c->peer, c->host, what, c->opt->request_timeout,
		 strcmp(what, "body") == 0 ? ", then " CONN_BODY_MIN_RATE_STR
					   : "");
	h1resp_error(&c->resp, 408, "Request Timeout",
		     "request not received in time");
}

ssize_t
conn_read_request(struct conn *c)
{
	ssize_t used;
	int head, rc;

	if ((rc = read_head(c, &head)) < 0) {
		if (rc == -408)
			send_late(c, "head");
		else if (rc != -1)
			send_http1_error(c, rc);
		return -1;
	}
	h1resp_begin(&c->resp, &c->req);
	c->head_len = (size_t)head;
	used = read_body(c, (size_t)head);
	if (used == -413)
		h1resp_error(&c->resp, 413, "Content Too Large",
			     "request body too large");
	else if (used == -408)
		send_late(c, "body");
	else if (used < 0 && used != -1)
		h1resp_error(&c->resp, 400, "Bad Request",
			     "malformed request body");
	return used < 0 ? -1 : used;
}

int
conn_client_write(void *arg, const char *buf, size_t len)
{
	struct conn *c = arg;
	int rc;

	if (c->client_gone)
		return -1;
	rc = tls_write_all(c->tls, buf, len, (int)c->opt->write_timeout);
	if (rc < 0) {
		if (rc == TLS_E_TIMEOUT)
			log_info("conn#%lu %s -> %s client did not take %zu "
				 "bytes within --write-timeout (%ld ms), %.0f "
				 "ms into the exchange: closing",
				 c->id, c->peer, c->host, len,
				 c->opt->write_timeout,
				 clock_mono_msf() - c->start_ms);
		c->client_gone = true;
		return -1;
	}
	return 0;
}
