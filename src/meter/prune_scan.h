/* SPDX-License-Identifier: GPL-2.0-or-later
 * prune_scan.h - the pruner's byte scanners over string contents, shared
 * by prune.c (the state machine) and prune_scan.c (the long-value tail
 * scan): escapes json-c takes, and the bytes a string's scan stops at,
 * looked for sixteen at a time with SSE2 (in every x86-64), else eight.
 * Internal to the pruner: static inline, so that the state machine's hot
 * paths keep them inlined.
 *
 * Threading: pure functions.
 * Ownership: nothing allocated.
 */
#ifndef AGP_PRUNE_SCAN_H
#define AGP_PRUNE_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static inline int
prune_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* What may follow a backslash, and the escape's length. */
static const unsigned char prune_esc_len[256] = {
	['"'] = 2, ['\\'] = 2, ['/'] = 2, ['b'] = 2, ['f'] = 2,
	['n'] = 2, ['r'] = 2,  ['t'] = 2, ['u'] = 6,
};

/* The length of the escape at s (a backslash) when it lies whole before
 * end: 2, or 6 for \uXXXX; 0 when it runs past end, -1 when json-c
 * would reject it. */
static inline int
prune_escape_len(const char *s, const char *end)
{
	int n;

	if (end - s < 2)
		return 0;
	if ((n = prune_esc_len[(unsigned char)s[1]]) == 0)
		return -1;
	if (n == 2)
		return 2;
	if (end - s < 6)
		return 0;
	for (int i = 2; i < 6; i++)
		if (prune_hex(s[i]) < 0)
			return -1;
	return 6;
}

/* A high surrogate escape, the first half of a pair: \uD800-\uDBFF. */
static inline bool
prune_high(const char *s, int n)
{
	return n == 6 && (s[2] == 'd' || s[2] == 'D') && prune_hex(s[3]) >= 8 &&
	       prune_hex(s[3]) <= 11;
}

#ifdef __SSE2__
/* Bit i set when s[i] is '"', '\\' or NUL: the bytes a string's scan
 * stops at, looked for sixteen at a time (SSE2 is in every x86-64). */
static inline unsigned
prune_mask16(__m128i v)
{
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');

	return (unsigned)_mm_movemask_epi8(
		_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
					  _mm_cmpeq_epi8(v, bslash)),
			     _mm_cmpeq_epi8(v, _mm_setzero_si128())));
}

/* The first '"', '\\' or NUL in [s, end), or end. */
static inline const char *
prune_scan(const char *s, const char *end)
{
	unsigned mask;

	for (; end - s >= 16; s += 16)
		if ((mask = prune_mask16(_mm_loadu_si128(
			     (const __m128i *)(const void *)s))))
			return s + __builtin_ctz(mask);
	for (; s < end; s++)
		if (*s == '"' || *s == '\\' || *s == '\0')
			return s;
	return end;
}

/* As prune_scan() within [s, lim), lim <= end, copying what it passes to
 * w. It stores sixteen bytes at a time as it loads them, so it may write
 * up to 15 bytes past w + (e - s): within the output's room, which
 * trails the input by at least the one byte prune_feed() allows. */
static inline __attribute__((always_inline)) const char *
prune_scan_copy(const char *s, const char *lim, const char *end, char *w)
{
	const char *e;
	unsigned mask;
	__m128i v;

	for (; s < lim && end - s >= 16; s += 16, w += 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)s);
		_mm_storeu_si128((__m128i *)(void *)w, v);
		if ((mask = prune_mask16(v))) {
			e = s + __builtin_ctz(mask);
			return e < lim ? e : lim;
		}
	}
	for (; s < lim; s++, w++) {
		if (*s == '"' || *s == '\\' || *s == '\0')
			return s;
		*w = *s;
	}
	return lim;
}
#else
/* True when the 8 bytes of w hold a zero byte. */
static inline bool
prune_zero_byte(uint64_t w)
{
	return ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull) != 0;
}

/* The first '"', '\\' or NUL in [s, end), or end: the bytes a string's
 * scan stops at, looked for eight at a time. */
static inline const char *
prune_scan(const char *s, const char *end)
{
	uint64_t w;

	for (; end - s >= 8; s += 8) {
		memcpy(&w, s, sizeof(w));
		if (prune_zero_byte(w) ||
		    prune_zero_byte(w ^ 0x2222222222222222ull) ||
		    prune_zero_byte(w ^ 0x5c5c5c5c5c5c5c5cull))
			break;
	}
	for (; s < end; s++)
		if (*s == '"' || *s == '\\' || *s == '\0')
			return s;
	return end;
}

/* As prune_scan() within [s, lim), lim <= end, copying what it passes to
 * w. */
static inline const char *
prune_scan_copy(const char *s, const char *lim, const char *end, char *w)
{
	const char *e = prune_scan(s, lim);

	(void)end;
	memcpy(w, s, (size_t)(e - s));
	return e;
}
#endif

/* The first byte of [s, end) where a long value's tail needs a closer
 * look: its closing quote, a NUL, an escape json-c rejects or one cut by
 * end; or end. Escapes that json-c takes are passed over here, without
 * leaving the scan: 64 bytes at a time with AVX2 where the CPU has it,
 * else 16 with SSE2 (prune_scan.c). */
const char *prune_tail(const char *s, const char *end);

#endif
