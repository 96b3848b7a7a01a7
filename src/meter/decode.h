/* SPDX-License-Identifier: GPL-2.0-or-later
 * decode.h - decompresses a copy of a response body (gzip, deflate, br,
 * zstd, identity) for metering, incrementally and with bounded output.
 *
 * Threading: one decoder belongs to one exchange; no shared state.
 * Ownership: the bytes handed to the sink live only for the call.
 */
#ifndef AGP_DECODE_H
#define AGP_DECODE_H

#include <stdbool.h>
#include <stddef.h>

/* One input chunk may expand to at most this many bytes; more is taken
 * for a decompression bomb and ends decoding. */
#define DECODE_CALL_MAX (8 * 1024 * 1024)

typedef void decode_sink_fn(void *arg, const char *buf, size_t len);

struct decode;

/* Returns a decoder for a Content-Encoding value (NULL, "" or "identity"
 * pass bytes through), or NULL when the coding is not supported or
 * memory ran out. Free with decode_free(). */
struct decode *decode_new(const char *coding);
void decode_free(struct decode *d);

/* True when decode_new() knows the coding. */
bool decode_supported(const char *coding);

/* Decodes the next chunk, handing decoded bytes to sink(arg, ...) in
 * blocks of bounded size. Returns 0, or -1 once the data is corrupt or
 * too large; after that every call returns -1 and decodes nothing. */
int decode_feed(struct decode *d, const char *in, size_t len,
		decode_sink_fn *sink, void *arg);

#endif
