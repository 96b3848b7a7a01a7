/* SPDX-License-Identifier: GPL-2.0-or-later
 * sse.h - incremental splitter for text/event-stream bodies (WHATWG
 * "parsing an event stream"), fed in arbitrary chunks.
 *
 * Threading: one splitter belongs to one exchange; no shared state.
 * Ownership: the event name handed to the callback lives only for the
 *   duration of the call; so does its data, unless that lies within the
 *   buffer being fed (then it is those very bytes).
 */
#ifndef AGP_SSE_H
#define AGP_SSE_H

#include <stddef.h>

/* Events whose data grows past this many bytes are dropped. */
#define SSE_EVENT_MAX (1024 * 1024)

/* Called once per dispatched event. `event` is the event type ("message"
 * when no event: field was given); `data` is the data lines joined with
 * "\n", `len` bytes long. An event of one data line that lies whole in
 * the buffer given to sse_feed() is handed over in place, within that
 * buffer, followed by its line end (CR or LF); any other is in the
 * splitter's own buffer, NUL-terminated. */
typedef void sse_event_fn(void *arg, const char *event, const char *data,
			  size_t len);

struct sse;

/* Returns a splitter that calls cb(arg, ...) for each event and drops
 * events larger than max_event bytes (0: SSE_EVENT_MAX), or NULL when out
 * of memory. Free with sse_free(). */
struct sse *sse_new(size_t max_event, sse_event_fn *cb, void *arg);
void sse_free(struct sse *s);

/* Feeds the next len bytes of the stream. Never fails: malformed input
 * yields no events. */
void sse_feed(struct sse *s, const char *buf, size_t len);

/* Events dropped for size, so far. */
size_t sse_dropped(const struct sse *s);

#endif
