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

#include <stdbool.h>
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

/* Called where the splitter stands between events (nothing of the next
 * one read) in the buffer being fed, with the bytes from there to that
 * buffer's end; returns how many of them the callee took as whole events
 * of its own, which the splitter then passes over unread. It may take
 * only a run of events that the splitter would dispatch as such, each
 * ending where the splitter stands between events again: bytes that
 * repeat an event's wire text (sse_wire()) but for characters other
 * than CR and LF inside its data are such events. */
typedef size_t sse_skip_fn(void *arg, const char *p, size_t n);

/* An event's wire text: from the start of its first line read since the
 * splitter last stood between events, to the end of the blank line that
 * dispatched it. */
struct sse_wire {
	const char *start, *end;
};

struct sse;

/* Returns a splitter that calls cb(arg, ...) for each event and drops
 * events larger than max_event bytes (0: SSE_EVENT_MAX), or NULL when out
 * of memory. Free with sse_free(). */
struct sse *sse_new(size_t max_event, sse_event_fn *cb, void *arg);
void sse_free(struct sse *s);

/* Feeds the next len bytes of the stream. Never fails: malformed input
 * yields no events. */
void sse_feed(struct sse *s, const char *buf, size_t len);

/* Has skip(arg, ...) called where the splitter stands between events. */
void sse_set_skip(struct sse *s, sse_skip_fn *skip);

/* During the callback for an event handed over in place: true, with its
 * wire text, when that lies whole in the buffer being fed and ends in
 * LF; else false. */
bool sse_wire(const struct sse *s, struct sse_wire *w);

/* Events dropped for size, so far. */
size_t sse_dropped(const struct sse *s);

#endif
