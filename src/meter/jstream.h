/* SPDX-License-Identifier: GPL-2.0-or-later
 * jstream.h - incremental JSON body reader: one value, or a top-level
 * array whose elements are handed over one by one as they complete (the
 * Gemini streamGenerateContent body without alt=sse).
 *
 * Threading: one reader belongs to one exchange; no shared state.
 * Ownership: the callback borrows each value; the reader puts it after.
 */
#ifndef AGP_JSTREAM_H
#define AGP_JSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* One value (or array element) may not exceed this many bytes. */
#define JSTREAM_VALUE_MAX (16 * 1024 * 1024)

typedef void jstream_value_fn(void *arg, struct json_object *o);

struct jstream;

/* Returns a reader that calls cb(arg, value) per value, or NULL when out
 * of memory. Free with jstream_free(). */
struct jstream *jstream_new(jstream_value_fn *cb, void *arg);
void jstream_free(struct jstream *j);

/* Feeds the next chunk. Returns 0, or -1 once the body is not JSON or a
 * value is too large; after that input is ignored and -1 returned. */
int jstream_feed(struct jstream *j, const char *buf, size_t len);

/* True once the top-level value (or the whole array) was read. */
bool jstream_done(const struct jstream *j);

#endif
