/* SPDX-License-Identifier: GPL-2.0-or-later
 * extract.h - usage extraction as the meter sees it: objects in, one
 * normalised usage_record out. Which provider reads an exchange is
 * decided by payload shape, from extract.c's ordered table of the
 * providers' descriptors (extract_provider.h).
 *
 * Threading: one accumulator belongs to one exchange; no shared state.
 * Ownership: the accumulator holds a reference to the last usage object
 *   seen (for the raw copy), dropped by extract_clear().
 */
#ifndef AGP_EXTRACT_H
#define AGP_EXTRACT_H

#include <stdbool.h>

#include <json-c/json.h>

#include "meter/extract_provider.h"
#include "usage.h"

/* The object members whose string values the extractors read, all
 * through jhelp_str(); NULL-terminated. The meter skips parsing most
 * stream events on two promises of the extractors: they read no other
 * string values, and they only ever overwrite state (no sums, counts or
 * "first wins" but the provider), so an object followed by one that
 * prune_alike() finds alike under this list and the same event type
 * leaves nothing behind that the later one does not overwrite. */
extern const char *const extract_keys[];

/* Takes one parsed event, body or array element. `event` is the SSE
 * event type, or NULL for JSON bodies. */
void extract_object(struct extract *x, const char *event,
		    struct json_object *o);
/* Whether an SSE event of this type may go unparsed: its exchange's
 * provider is known and says the type never carries usage. */
bool extract_skip(const struct extract *x, const char *event);
/* The stream's "[DONE]" sentinel. */
void extract_done(struct extract *x);
/* Normalises into out (tokens, has_usage, error, raw, and the model when
 * the response named one). `ended_ok` says the body ended normally as a
 * complete JSON document (JSON) or stream (SSE). */
void extract_finish(struct extract *x, bool sse, bool ended_ok,
		    struct usage_record *out);
void extract_clear(struct extract *x);

#endif
