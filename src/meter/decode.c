/* SPDX-License-Identifier: GPL-2.0-or-later
 * decode.c - incremental gzip/deflate (zlib), br (libbrotlidec) and zstd
 * decompression of a body copy for metering.
 *
 * Threading: one decoder belongs to one exchange; no shared state.
 * Ownership: the decoder owns its library state and a fixed output
 *   block, so decoding allocates nothing per chunk.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include "meter/decode.h"

#define DECODE_BLOCK 16384
/* zstd frames may ask for windows up to 2^31; 8 MiB is what senders use */
#define DECODE_ZSTD_WINDOW_LOG 23

enum decode_kind {
	DECODE_IDENTITY,
	DECODE_GZIP,
	DECODE_DEFLATE,
	DECODE_BR,
	DECODE_ZSTD
};

struct decode {
	enum decode_kind kind;
	bool failed;
	bool z_ready;	       /* inflateInit2 done */
	unsigned char head[2]; /* deflate: the bytes that choose zlib/raw */
	size_t head_len;
	z_stream z;
	BrotliDecoderState *br;
	ZSTD_DStream *zs;
	char *out; /* DECODE_BLOCK bytes; none for identity */
};

static int
decode_kind_of(const char *coding, enum decode_kind *kind)
{
	static const struct {
		const char *name;
		enum decode_kind kind;
	} names[] = {
		{ "", DECODE_IDENTITY },       { "identity", DECODE_IDENTITY },
		{ "gzip", DECODE_GZIP },       { "x-gzip", DECODE_GZIP },
		{ "deflate", DECODE_DEFLATE }, { "br", DECODE_BR },
		{ "zstd", DECODE_ZSTD },
	};
	size_t n;

	if (!coding) {
		*kind = DECODE_IDENTITY;
		return 0;
	}
	while (*coding == ' ' || *coding == '\t')
		coding++;
	n = strlen(coding);
	while (n > 0 && (coding[n - 1] == ' ' || coding[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n &&
		    strncasecmp(coding, names[i].name, n) == 0) {
			*kind = names[i].kind;
			return 0;
		}
	return -1;
}

bool
decode_supported(const char *coding)
{
	enum decode_kind kind;

	return decode_kind_of(coding, &kind) == 0;
}

struct decode *
decode_new(const char *coding)
{
	struct decode *d = NULL;
	enum decode_kind kind;

	if (decode_kind_of(coding, &kind) < 0 || !(d = calloc(1, sizeof(*d))))
		return NULL;
	d->kind = kind;
	if (kind != DECODE_IDENTITY && !(d->out = malloc(DECODE_BLOCK)))
		goto fail;
	if (kind == DECODE_GZIP) {
		if (inflateInit2(&d->z, 15 + 32) != Z_OK)
			goto fail;
		d->z_ready = true;
	} else if (kind == DECODE_BR) {
		if (!(d->br = BrotliDecoderCreateInstance(NULL, NULL, NULL)))
			goto fail;
	} else if (kind == DECODE_ZSTD) {
		if (!(d->zs = ZSTD_createDStream()) ||
		    ZSTD_isError(
			    ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax,
						   DECODE_ZSTD_WINDOW_LOG)))
			goto fail;
	}
	return d;
fail:
	decode_free(d);
	return NULL;
}

void
decode_free(struct decode *d)
{
	if (!d)
		return;
	if (d->z_ready)
		inflateEnd(&d->z);
	if (d->br)
		BrotliDecoderDestroyInstance(d->br);
	ZSTD_freeDStream(d->zs); /* no-op on NULL */
	free(d->out);
	free(d);
}

/* "deflate" is meant to be zlib-wrapped but some servers send raw
 * deflate: the first two bytes tell them apart (RFC 1950 header check). */
static int
decode_deflate_start(struct decode *d)
{
	unsigned h = (unsigned)d->head[0] << 8 | d->head[1];
	int bits = ((d->head[0] & 0x0f) == 8 && h % 31 == 0) ? 15 : -15;

	if (inflateInit2(&d->z, bits) != Z_OK)
		return -1;
	d->z_ready = true;
	return 0;
}

static int
decode_zlib(struct decode *d, const unsigned char *in, size_t len,
	    decode_sink_fn *sink, void *arg)
{
	size_t total = 0;
	int rc;

	d->z.next_in = (unsigned char *)(uintptr_t)in;
	d->z.avail_in = (uInt)len;
	do {
		d->z.next_out = (unsigned char *)d->out;
		d->z.avail_out = DECODE_BLOCK;
		rc = inflate(&d->z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			return -1;
		size_t n = DECODE_BLOCK - d->z.avail_out;
		if ((total += n) > DECODE_CALL_MAX)
			return -1;
		if (n)
			sink(arg, d->out, n);
		/* a body may hold several gzip members back to back */
		if (rc == Z_STREAM_END && d->z.avail_in > 0 &&
		    inflateReset(&d->z) != Z_OK)
			return -1;
		if ((rc == Z_STREAM_END && d->z.avail_in == 0) ||
		    (rc == Z_BUF_ERROR && n == 0))
			break; /* done, or no progress possible */
	} while (d->z.avail_in > 0 || d->z.avail_out == 0);
	return 0;
}

static int
decode_deflate(struct decode *d, const unsigned char *in, size_t len,
	       decode_sink_fn *sink, void *arg)
{
	if (d->z_ready)
		return decode_zlib(d, in, len, sink, arg);
	while (d->head_len < 2 && len > 0) {
		d->head[d->head_len++] = *in++;
		len--;
	}
	if (d->head_len < 2)
		return 0;
	if (decode_deflate_start(d) < 0)
		return -1;
	if (decode_zlib(d, d->head, sizeof(d->head), sink, arg) < 0)
		return -1;
	return len ? decode_zlib(d, in, len, sink, arg) : 0;
}

static int
decode_brotli(struct decode *d, const unsigned char *in, size_t len,
	      decode_sink_fn *sink, void *arg)
{
	size_t total = 0, avail_in = len;
	const uint8_t *next_in = in;
	BrotliDecoderResult rc;

	do {
		uint8_t *next_out = (uint8_t *)d->out;
		size_t avail_out = DECODE_BLOCK;

		rc = BrotliDecoderDecompressStream(d->br, &avail_in, &next_in,
						   &avail_out, &next_out, NULL);
		if (rc == BROTLI_DECODER_RESULT_ERROR)
			return -1;
		size_t n = DECODE_BLOCK - avail_out;
		if ((total += n) > DECODE_CALL_MAX)
			return -1;
		if (n)
			sink(arg, d->out, n);
	} while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
	/* bytes after the end of the stream are ignored */
	return 0;
}

static int
decode_zstd(struct decode *d, const unsigned char *in, size_t len,
	    decode_sink_fn *sink, void *arg)
{
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t total = 0, rc;

	do {
		ZSTD_outBuffer ob = { d->out, DECODE_BLOCK, 0 };
		size_t before = ib.pos;

		rc = ZSTD_decompressStream(d->zs, &ob, &ib);
		if (ZSTD_isError(rc))
			return -1;
		if ((total += ob.pos) > DECODE_CALL_MAX)
			return -1;
		if (ob.pos)
			sink(arg, d->out, ob.pos);
		if ((ib.pos == ib.size && ob.pos < ob.size) ||
		    (ob.pos == 0 && ib.pos == before))
			break; /* done, or no progress possible */
	} while (1);
	return 0;
}

int
decode_feed(struct decode *d, const char *in, size_t len, decode_sink_fn *sink,
	    void *arg)
{
	const unsigned char *u = (const unsigned char *)in;
	int rc = 0;

	if (d->failed)
		return -1;
	if (len == 0)
		return 0;
	switch (d->kind) {
	case DECODE_IDENTITY: sink(arg, in, len); break;
	case DECODE_GZIP: rc = decode_zlib(d, u, len, sink, arg); break;
	case DECODE_DEFLATE: rc = decode_deflate(d, u, len, sink, arg); break;
	case DECODE_BR: rc = decode_brotli(d, u, len, sink, arg); break;
	case DECODE_ZSTD: rc = decode_zstd(d, u, len, sink, arg); break;
	}
	if (rc < 0)
		d->failed = true;
	return rc;
}
