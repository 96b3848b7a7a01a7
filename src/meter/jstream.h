/* SPDX-License-Identifier: GPL-2.0-or-later
 * jstream.h - incremental JSON body reader: one value, or a top-level
 * array whose elements are handed over one by one as they complete (the
 * Gemini streamGenerateContent body without alt=sse), each pruned
 * (prune.h) with its shape noted, for the caller to parse or drop.
 *
 * Threading: one reader belongs to one exchange; no shared state.
 * Ownership: the text and shape handed to the callback live only for
 *   the duration of the call.
 */
#ifndef AGP_JSTREAM_H
#define AGP_JSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "meter/prune.h"

/* One value (or array element) may not exceed this many bytes, pruned. */
#define JSTREAM_VALUE_MAX (16 * 1024 * 1024)

/* One value, pruned: json-c reads it as the original (prune.h). A
 * number or literal comes with the byte that ended it. */
typedef void jstream_value_fn(void *arg, const char *text, size_t len,
			      const struct prune_shape *shape);

struct jstream;

/* Returns a reader that calls cb(arg, ...) per value, noting shapes under
 * keys (NULL-terminated, kept by reference), or NULL when out of memory.
 * Free with jstream_free(). */
struct jstream *jstream_new(const char *const *keys, jstream_value_fn *cb,
			    void *arg);
void jstream_free(struct jstream *j);

/* Feeds the next chunk. Returns 0, or -1 once the body is not JSON as
 * far as the pruner and the array framing tell, or a value is too large;
 * after that input is ignored and -1 returned. Whether json-c takes each
 * value is the caller's to find out. */
int jstream_feed(struct jstream *j, const char *buf, size_t len);

/* True once the top-level value (or the whole array) was read. */
bool jstream_done(const struct jstream *j);

#endif
