/* SPDX-License-Identifier: GPL-2.0-or-later
 * meter.h - meters the token usage of one HTTP exchange: fed the request
 * and the raw (possibly compressed) response body chunk by chunk, it
 * yields one normalised usage_record (see doc/usage-format.md).
 *
 * Threading: a meter belongs to the connection worker that created it;
 *   meters share nothing, so any number run in parallel.
 * Ownership: meter_new() copies what it needs from the request; the
 *   caller frees the meter with meter_free() after meter_finish().
 */
#ifndef AGP_METER_H
#define AGP_METER_H

#include <stdbool.h>
#include <stddef.h>

#include "usage.h"

struct meter_request {
	const char *method;
	const char *host;
	const char *path; /* with the query string */
	const char *content_type;
	const char *body;
	size_t body_len;
	const char *content_encoding; /* the request body's, or NULL: a
					 * copy is decoded for its model */
};

struct meter;

/* Starts metering one exchange; returns NULL when out of memory. Nothing
 * in req is referenced after the call. */
struct meter *meter_new(const struct meter_request *req);

/* The upstream response head: status, Content-Type, Content-Encoding
 * (either may be NULL). An unsupported encoding leaves the body
 * unmetered. */
void meter_response(struct meter *m, int status, const char *content_type,
		    const char *content_encoding);

/* Every response body chunk, raw as received from upstream (still
 * compressed), in order. Corrupt data stops metering for this response
 * with a warning; the call never fails. */
void meter_chunk(struct meter *m, const char *buf, size_t len);

/* Ends the exchange; `ended` is true when the body reached its normal
 * end. Fills host, endpoint, model, status, the token counts, complete,
 * error and raw of *out and leaves time, duration_ms and ttfb_ms alone.
 * Returns 1 when the record carries usage, 0 when not (e.g. a protobuf
 * body); never fails. */
int meter_finish(struct meter *m, bool ended, struct usage_record *out);

void meter_free(struct meter *m);

/* The record's endpoint for a request path: the method after the last
 * ':' of the last segment ("/v1internal:streamGenerateContent?alt=sse" ->
 * "streamGenerateContent"), else the path after the version prefix
 * ("/v1/chat/completions" -> "chat/completions"). */
void meter_endpoint(const char *path, char *out, size_t size);

/* The model named by a ".../models/{model}[:method]" path into out, or
 * "" when the path names none. */
void meter_url_model(const char *path, char *out, size_t size);

#endif
