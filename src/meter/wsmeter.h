/* SPDX-License-Identifier: GPL-2.0-or-later
 * wsmeter.h - meters a relayed WebSocket session (the OpenAI Responses
 * WebSocket transport): fed a copy of both directions, it yields one
 * usage_record per response, the moment the response ends.
 *
 * Threading: a wsmeter belongs to the connection worker that relays the
 *   session; wsmeters share nothing.
 * Ownership: wsmeter_new() copies what it needs from its arguments; the
 *   record handed to the callback lives only for the call.
 */
#ifndef AGP_WSMETER_H
#define AGP_WSMETER_H

#include <stdbool.h>
#include <stddef.h>

#include "meter/meter.h"
#include "usage.h"

/* One response ended: r has host, endpoint, model, status, tokens,
 * complete, error, raw, transport "websocket", duration_ms and ttfb_ms
 * (from the client's response.create, when one was seen); time is the
 * caller's to set. */
typedef void wsmeter_record_fn(void *arg, const struct usage_record *r);

struct wsmeter;

/* Starts metering the session that req (the Upgrade request) opened and
 * that a response with status and the Sec-WebSocket-Extensions value
 * extensions (may be NULL) accepted. NULL when out of memory. An
 * extension offer that cannot be read leaves the session unmetered
 * (logged). Free with wsmeter_free(). */
struct wsmeter *wsmeter_new(const struct meter_request *req, int status,
			    const char *extensions, wsmeter_record_fn *cb,
			    void *arg);
void wsmeter_free(struct wsmeter *m);

/* The next bytes of one direction, as relayed, at monotonic time now_ms.
 * Never fails: a stream that breaks the protocol stops that direction's
 * metering with a warning. */
void wsmeter_feed(struct wsmeter *m, bool from_client, const char *buf,
		  size_t len, double now_ms);

/* Responses recorded so far. */
size_t wsmeter_responses(const struct wsmeter *m);

#endif
