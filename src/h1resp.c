/* SPDX-License-Identifier: GPL-2.0-or-later
 * h1resp.c - the response side of HTTP/1.1 towards the client.
 *
 * Threading: a struct h1resp belongs to one connection's worker.
 * Ownership: r->out is r's, freed by h1resp_free().
 *
 * The bytes the client gets are upstream's (status, reason, headers in
 * order; the hop-by-hop ones were dropped by upstream_head.c), framed
 * for this client: a body without a length is re-chunked for HTTP/1.1
 * and ended by the close for HTTP/1.0. The head is held until the first
 * body bytes, so that head and first chunk leave in one TLS record and
 * one TCP segment; upstream flushes it before it waits.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "h1resp.h"

void
h1resp_init(struct h1resp *r, h1resp_write_fn write, void *arg)
{
	*r = (struct h1resp){ .write = write,
			      .arg = arg,
			      .out = BUF_INIT(H1RESP_OUT),
			      .minor = 1 };
}

void
h1resp_free(struct h1resp *r)
{
	if (r)
		buf_free(&r->out);
}

void
h1resp_begin(struct h1resp *r, const struct http_request *req)
{
	r->out.len = 0;
	r->head_only = strcmp(req->method, "HEAD") == 0;
	r->minor = req->minor;
	r->chunked = false;
	r->close = !req->keep_alive;
}

/* A body follows: not after HEAD, nor with 1xx, 204 or 304. */
static bool
has_body(const struct h1resp *r, int status)
{
	return !r->head_only && status >= 200 && status != 204 && status != 304;
}

/* Appends a C string; false past H1RESP_OUT. */
static bool
put(struct h1resp *r, const char *s)
{
	return buf_append(&r->out, s, strlen(s));
}

int
h1resp_head(struct h1resp *r, int status, const char *reason,
	    const struct http_header *h, size_t n)
{
	bool has_length = false, body;
	char line[64];

	r->out.len = 0;
	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	if (!put(r, line) || !put(r, reason ? reason : "") || !put(r, "\r\n"))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(h[i].name, "Content-Length") == 0)
			has_length = true;
		if (!put(r, h[i].name) || !put(r, ": ") ||
		    !put(r, h[i].value) || !put(r, "\r\n"))
			goto fail;
	}
	body = has_body(r, status);
	r->chunked = body && !has_length && r->minor >= 1;
	if (body && !has_length && r->minor == 0)
		r->close = true; /* HTTP/1.0: the close ends it */
	if ((r->chunked && !put(r, "Transfer-Encoding: chunked\r\n")) ||
	    (r->close && !put(r, "Connection: close\r\n")) || !put(r, "\r\n"))
		goto fail;
	return 0;
fail:
	r->out.len = 0; /* a head over 64 KiB: give up */
	return -1;
}

const char *
h1resp_header(const struct http_header *h, size_t n, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			v = h[i].value;
	return v;
}

int
h1resp_flush(struct h1resp *r)
{
	size_t n = r->out.len;

	r->out.len = 0;
	return n ? r->write(r->arg, r->out.data, n) : 0;
}

int
h1resp_body(struct h1resp *r, const char *buf, size_t len)
{
	char frame[24];
	size_t w = 0;
	int rc;

	if (len == 0)
		return h1resp_flush(r); /* "0\r\n" would end the body */
	if (r->chunked)
		w = (size_t)snprintf(frame, sizeof(frame), "%zx\r\n", len);
	if (!r->out.len && !r->chunked)
		return r->write(r->arg, buf, len);
	/* The held head, the frame and the data: one write, one record. */
	if (buf_reserve(&r->out, r->out.len + w + len + 3)) {
		buf_append(&r->out, frame, w);
		buf_append(&r->out, buf, len);
		if (r->chunked)
			buf_append(&r->out, "\r\n", 2);
		return h1resp_flush(r);
	}
	/* Too big to copy: piece by piece. */
	rc = h1resp_flush(r);
	if (rc == 0 && w)
		rc = r->write(r->arg, frame, w);
	if (rc == 0)
		rc = r->write(r->arg, buf, len);
	if (rc == 0 && w)
		rc = r->write(r->arg, "\r\n", 2);
	return rc;
}

int
h1resp_end(struct h1resp *r)
{
	int rc = h1resp_flush(r);

	if (rc == 0 && r->chunked)
		rc = r->write(r->arg, "0\r\n\r\n", 5);
	return rc;
}

int
h1resp_error(struct h1resp *r, int status, const char *reason, const char *msg)
{
	char buf[512], json[256];
	int n, body;

	body = snprintf(json, sizeof(json),
			"{\"error\":\"%s\",\"status\":%d}\n", msg, status);
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		     status, reason, body, json);
	r->close = true;
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return r->write(r->arg, buf, (size_t)n);
}
