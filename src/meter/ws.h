/* SPDX-License-Identifier: GPL-2.0-or-later
 * ws.h - passive WebSocket frame parser (RFC 6455) with permessage-deflate
 * (RFC 7692), fed a copy of one direction's bytes in arbitrary pieces;
 * it hands over whole messages (fragments joined, unmasked, inflated)
 * and control frames (pure: buffers in, no I/O).
 *
 * Threading: one parser belongs to one direction of one connection; no
 *   shared state.
 * Ownership: the bytes handed to the callback live only for the call;
 *   ws_deflate_parse() copies nothing out of its argument.
 */
#ifndef AGP_WS_H
#define AGP_WS_H

#include <stdbool.h>
#include <stddef.h>

/* A message longer than this (inflated) is not handed over, only
 * counted in ws_dropped(); its frames are still followed (and inflated,
 * when a context is taken over to the next message). */
#define WS_MESSAGE_MAX (16 * 1024 * 1024)

enum ws_opcode {
	WS_CONT = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xa,
};

/* The permessage-deflate parameters a 101 response agreed on. */
struct ws_deflate {
	bool on;
	bool server_no_context_takeover;
	bool client_no_context_takeover;
	int server_max_window_bits; /* 8..15; 15 when not given */
	int client_max_window_bits;
};

/* Reads a Sec-WebSocket-Extensions value (NULL: none) as a server sent
 * it. Returns 0 with *d set (d->on false when permessage-deflate is not
 * among them), or -1 when the permessage-deflate offer is malformed (an
 * unknown or repeated parameter, window bits out of 8..15). Other
 * extensions are ignored: a frame with RSV bits they own fails later. */
int ws_deflate_parse(const char *extensions, struct ws_deflate *d);

/* One message or control frame: opcode WS_TEXT or WS_BINARY for a whole
 * message, WS_CLOSE, WS_PING or WS_PONG for a control frame (at most 125
 * bytes). data is NUL-terminated after len bytes. */
typedef void ws_message_fn(void *arg, int opcode, const char *data, size_t len);

struct ws;

/* A parser for the frames the client sends (from_client: masked, and
 * inflated with the client's window) or the server sends. d may be NULL
 * (no extension); max_message 0 means WS_MESSAGE_MAX. NULL when out of
 * memory. Free with ws_free(). */
struct ws *ws_new(bool from_client, const struct ws_deflate *d,
		  size_t max_message, ws_message_fn *cb, void *arg);
void ws_free(struct ws *w);

/* Feeds the next bytes. Returns 0, or -1 once the stream broke the
 * protocol (see ws_error()); after that every call returns -1 and reads
 * nothing. Bytes after a close frame are ignored. */
int ws_feed(struct ws *w, const char *buf, size_t len);

/* Why the stream was refused, or NULL while it was not. */
const char *ws_error(const struct ws *w);

/* Messages handed over, and messages dropped for their size. */
size_t ws_messages(const struct ws *w);
size_t ws_dropped(const struct ws *w);

/* True once a close frame was read. */
bool ws_closed(const struct ws *w);

#endif
