/* SPDX-License-Identifier: GPL-2.0-or-later
 * ws.c - passive WebSocket frame parser (RFC 6455) and permessage-deflate
 * inflater (RFC 7692), for metering a copy of a relayed connection.
 *
 * Threading: one parser per direction of one connection; no shared state.
 * Ownership: the parser owns its message buffer and zlib stream.
 *
 * The frame head is collected byte by byte into w->hdr (2 to 14 bytes),
 * then the payload is unmasked and either copied into the control frame
 * buffer or appended to the message (inflated as it comes, so that a
 * message too large to keep still leaves the shared LZ77 window right
 * for the next one). A strict reading: anything RFC 6455 calls a failure
 * (reserved bits, unknown opcodes, a continuation with no message, a
 * masked server frame, a fragmented or long control frame) stops the
 * parser, since a stream that breaks framing cannot be followed further.
 * The inflater uses the window the sender agreed to, at least 9 bits:
 * zlib's deflate turns a window of 8 into 9, so a window of 8 can only
 * be read that way.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <zlib.h>

#include "buf.h"
#include "meter/ws.h"

#define WS_CTRL_MAX 125
#define WS_PIECE 4096 /* unmasked at a time, on the stack */
#define WS_INFLATE_OUT 16384
#define WS_KEEP (64 * 1024) /* a message buffer kept for the next */
/* A dropped message may inflate to this many times the limit before the
 * parser gives up on the direction: a bomb costs CPU, not memory. */
#define WS_DROP_FACTOR 4

struct ws {
	bool client;
	struct ws_deflate d;
	size_t max;
	ws_message_fn *cb;
	void *arg;
	/* the frame head being read */
	unsigned char hdr[14];
	size_t hlen, hneed;
	/* the frame whose payload is being read */
	bool in_frame, fin;
	int op;
	unsigned char mask[4];
	bool masked;
	uint64_t left, pos;
	/* the data message in progress */
	bool in_msg, msg_deflate, msg_drop;
	int msg_op;
	struct buf msg; /* up to max, and a NUL */
	uint64_t msg_inflated;
	char ctrl[WS_CTRL_MAX + 1];
	size_t ctrl_len;
	z_stream z;
	bool z_init;
	const char *err;
	bool closed;
	size_t nmsg, ndrop;
};

/* ---- Sec-WebSocket-Extensions ------------------------------------------ */

static const char *
ws_skip(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Reads a token or quoted string at *pp into buf; its length, or -1. */
static int
ws_word(const char **pp, char *buf, size_t size)
{
	const char *p = ws_skip(*pp);
	size_t n = 0;
	bool quoted = *p == '"';

	if (quoted)
		p++;
	while (*p && (quoted ? *p != '"' : !strchr(",;= \t\"", *p))) {
		if (n + 1 >= size)
			return -1;
		buf[n++] = *p++;
	}
	if (quoted && *p++ != '"')
		return -1;
	buf[n] = '\0';
	*pp = ws_skip(p);
	return (int)n;
}

static int
ws_bits(const char *v, int *out)
{
	if (strlen(v) < 1 || strlen(v) > 2 ||
	    strspn(v, "0123456789") != strlen(v) || (v[0] == '0'))
		return -1;
	*out = atoi(v);
	return *out >= 8 && *out <= 15 ? 0 : -1;
}

/* One permessage-deflate parameter; seen[] catches repeats. */
static int
ws_param(struct ws_deflate *d, const char *name, const char *val, bool has_val,
	 unsigned *seen)
{
	static const char *const names[] = {
		"server_no_context_takeover",
		"client_no_context_takeover",
		"server_max_window_bits",
		"client_max_window_bits",
	};
	unsigned i;

	for (i = 0; i < 4; i++)
		if (strcasecmp(name, names[i]) == 0)
			break;
	if (i == 4 || (*seen & (1u << i)))
		return -1;
	*seen |= 1u << i;
	switch (i) {
	case 0: d->server_no_context_takeover = true; return has_val ? -1 : 0;
	case 1: d->client_no_context_takeover = true; return has_val ? -1 : 0;
	case 2: return has_val ? ws_bits(val, &d->server_max_window_bits) : -1;
	default: return has_val ? ws_bits(val, &d->client_max_window_bits) : 0;
	}
}

int
ws_deflate_parse(const char *ext, struct ws_deflate *d)
{
	const char *p = ext ? ext : "";
	char name[64], val[64];
	bool pmd;
	unsigned seen = 0;

	memset(d, 0, sizeof(*d));
	d->server_max_window_bits = d->client_max_window_bits = 15;
	while (*(p = ws_skip(p))) {
		if (*p == ',') {
			p++;
			continue;
		}
		if (ws_word(&p, name, sizeof(name)) <= 0)
			return -1;
		pmd = strcasecmp(name, "permessage-deflate") == 0;
		if (pmd && d->on)
			return -1; /* a server accepts one offer */
		d->on = d->on || pmd;
		while (*p == ';') {
			bool has_val = false;

			p++;
			if (ws_word(&p, name, sizeof(name)) <= 0)
				return -1;
			val[0] = '\0';
			if (*p == '=') {
				p++;
				has_val = true;
				if (ws_word(&p, val, sizeof(val)) < 0)
					return -1;
			}
			if (pmd && ws_param(d, name, val, has_val, &seen) < 0)
				return -1;
		}
		if (*p && *p != ',')
			return -1;
	}
	return 0;
}

/* ---- the parser -------------------------------------------------------- */

struct ws *
ws_new(bool from_client, const struct ws_deflate *d, size_t max_message,
       ws_message_fn *cb, void *arg)
{
	struct ws *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->client = from_client;
	if (d)
		w->d = *d;
	w->max = max_message ? max_message : WS_MESSAGE_MAX;
	w->msg.max = w->max + 1;
	w->cb = cb;
	w->arg = arg;
	w->hneed = 2;
	return w;
}

void
ws_free(struct ws *w)
{
	if (!w)
		return;
	if (w->z_init)
		inflateEnd(&w->z);
	buf_free(&w->msg);
	free(w);
}

const char *
ws_error(const struct ws *w)
{
	return w->err;
}

size_t
ws_messages(const struct ws *w)
{
	return w->nmsg;
}

size_t
ws_dropped(const struct ws *w)
{
	return w->ndrop;
}

bool
ws_closed(const struct ws *w)
{
	return w->closed;
}

static int
ws_fail(struct ws *w, const char *why)
{
	if (!w->err)
		w->err = why;
	return -1;
}

/* Appends decoded message bytes, or drops the message past the limit. */
static void
ws_append(struct ws *w, const char *p, size_t n)
{
	if (!w->msg_drop && n > 0 && !buf_append(&w->msg, p, n))
		w->msg_drop = true;
}

static int
ws_inflate_start(struct ws *w)
{
	int bits = w->client ? w->d.client_max_window_bits
			     : w->d.server_max_window_bits;

	if (w->z_init)
		return 0;
	if (bits < 9)
		bits = 9;
	if (inflateInit2(&w->z, -bits) != Z_OK)
		return ws_fail(w, "out of memory");
	w->z_init = true;
	return 0;
}

/* Inflates compressed message bytes into the message. */
static int
ws_inflate(struct ws *w, const unsigned char *in, size_t n)
{
	unsigned char out[WS_INFLATE_OUT];
	int rc;

	if (ws_inflate_start(w) < 0)
		return -1;
	w->z.next_in = (unsigned char *)in;
	w->z.avail_in = (uInt)n;
	do {
		w->z.next_out = out;
		w->z.avail_out = sizeof(out);
		rc = inflate(&w->z, Z_SYNC_FLUSH);
		if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
			return ws_fail(w, "corrupt deflate data");
		w->msg_inflated += sizeof(out) - w->z.avail_out;
		ws_append(w, (const char *)out, sizeof(out) - w->z.avail_out);
		if (w->msg_inflated / WS_DROP_FACTOR > w->max)
			return ws_fail(w, "message inflates too far");
		if (rc == Z_STREAM_END) {
			/* A final block (BFINAL) ends the stream: what
			 * follows in this message is the 00 00 ff ff tail. */
			inflateReset(&w->z);
			break;
		}
	} while (w->z.avail_in > 0 || w->z.avail_out == 0);
	return 0;
}

/* The frame head is complete: checks it and sets the frame up. */
static int
ws_frame_start(struct ws *w)
{
	const unsigned char *h = w->hdr;
	bool rsv1 = h[0] & 0x40, ctrl;
	size_t i = 2;

	w->fin = h[0] & 0x80;
	w->op = h[0] & 0x0f;
	w->masked = h[1] & 0x80;
	ctrl = w->op & 0x8;
	if (h[0] & 0x30)
		return ws_fail(w, "reserved bits RSV2/RSV3 set");
	if ((w->op > WS_BINARY && w->op < WS_CLOSE) || w->op > WS_PONG)
		return ws_fail(w, "unknown opcode");
	if (w->masked != w->client)
		return ws_fail(w, w->client ? "unmasked client frame"
					    : "masked server frame");
	w->left = h[1] & 0x7f;
	if (w->left == 126) {
		w->left = (uint64_t)h[2] << 8 | h[3];
		i = 4;
	} else if (w->left == 127) {
		w->left = 0;
		for (i = 2; i < 10; i++)
			w->left = w->left << 8 | h[i];
		if (w->left >> 63)
			return ws_fail(w, "64-bit length with its top bit set");
	}
	if (w->masked)
		memcpy(w->mask, h + i, 4);
	w->pos = 0;
	if (ctrl) {
		if (!w->fin || w->left > WS_CTRL_MAX || rsv1)
			return ws_fail(w, "malformed control frame");
		w->ctrl_len = 0;
	} else if (w->op == WS_CONT) {
		if (!w->in_msg || rsv1)
			return ws_fail(w, "continuation without a message");
	} else {
		if (w->in_msg)
			return ws_fail(w,
				       "new message inside a fragmented one");
		if (rsv1 && !w->d.on)
			return ws_fail(w, "compressed frame, no extension");
		w->in_msg = true;
		w->msg_op = w->op;
		w->msg_deflate = rsv1;
		w->msg_drop = false;
		w->msg.len = 0;
		w->msg_inflated = 0;
	}
	w->in_frame = true;
	return 0;
}

/* The message is whole: the tail of its deflate stream, then out. */
static int
ws_message_end(struct ws *w)
{
	static const unsigned char tail[4] = { 0x00, 0x00, 0xff, 0xff };
	bool reset = w->client ? w->d.client_no_context_takeover
			       : w->d.server_no_context_takeover;

	w->in_msg = false;
	if (w->msg_deflate) {
		if (ws_inflate(w, tail, sizeof(tail)) < 0)
			return -1;
		if (reset)
			inflateReset(&w->z);
	}
	if (w->msg_drop) {
		w->ndrop++;
	} else {
		if (!buf_append(&w->msg, "", 0)) /* an empty one */
			return ws_fail(w, "out of memory");
		w->nmsg++;
		w->cb(w->arg, w->msg_op, w->msg.data, w->msg.len);
	}
	if (w->msg.cap > WS_KEEP)
		buf_free(&w->msg);
	return 0;
}

static int
ws_frame_end(struct ws *w)
{
	w->in_frame = false;
	w->hlen = 0;
	w->hneed = 2;
	if (w->op & 0x8) {
		w->ctrl[w->ctrl_len] = '\0';
		if (w->op == WS_CLOSE)
			w->closed = true;
		w->cb(w->arg, w->op, w->ctrl, w->ctrl_len);
		return 0;
	}
	return w->fin ? ws_message_end(w) : 0;
}

/* n payload bytes of the current frame. */
static int
ws_payload(struct ws *w, const unsigned char *p, size_t n)
{
	unsigned char piece[WS_PIECE];

	while (n > 0) {
		size_t k = n < sizeof(piece) ? n : sizeof(piece);

		for (size_t i = 0; i < k; i++)
			piece[i] = w->masked ? p[i] ^ w->mask[(w->pos + i) & 3]
					     : p[i];
		w->pos += k;
		if (w->op & 0x8) {
			memcpy(w->ctrl + w->ctrl_len, piece, k);
			w->ctrl_len += k;
		} else if (w->msg_deflate) {
			if (ws_inflate(w, piece, k) < 0)
				return -1;
		} else {
			ws_append(w, (const char *)piece, k);
		}
		p += k;
		n -= k;
	}
	return 0;
}

/* Takes head bytes; the count used, or -1. */
static ssize_t
ws_head(struct ws *w, const unsigned char *p, size_t len)
{
	size_t used = 0;

	while (used < len && w->hlen < w->hneed) {
		w->hdr[w->hlen++] = p[used++];
		if (w->hlen == 2) {
			unsigned l = w->hdr[1] & 0x7f;

			w->hneed = 2 +
				   (l == 126   ? 2
				    : l == 127 ? 8
					       : 0) +
				   ((w->hdr[1] & 0x80) ? 4 : 0);
		}
	}
	if (w->hlen == w->hneed) {
		if (ws_frame_start(w) < 0)
			return -1;
		if (w->left == 0 && ws_frame_end(w) < 0)
			return -1;
	}
	return (ssize_t)used;
}

int
ws_feed(struct ws *w, const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	ssize_t used;
	size_t n;

	if (w->err)
		return -1;
	while (len > 0 && !w->closed) {
		if (!w->in_frame) {
			if ((used = ws_head(w, p, len)) < 0)
				return -1;
			n = (size_t)used;
		} else {
			n = w->left < len ? (size_t)w->left : len;
			if (ws_payload(w, p, n) < 0)
				return -1;
			w->left -= n;
			if (w->left == 0 && ws_frame_end(w) < 0)
				return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}
