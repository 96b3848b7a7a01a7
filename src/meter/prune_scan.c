/* SPDX-License-Identifier: GPL-2.0-or-later
 * prune_scan.c - the long-value tail scan (prune_tail()): a string's cut
 * tail is passed over 64 bytes at a time with AVX2 where the CPU has it
 * (simdjson's backslash-run trick finds the escapes, each then checked on
 * its own), else 16 at a time with SSE2, checking every escape as json-c
 * would; and prune_string_close(), which rests on it.
 *
 * Threading: pure functions.
 * Ownership: nothing allocated.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PRUNE_AVX2 1 /* built for AVX2 CPUs too, chosen at run time */
#endif

#include "meter/prune.h"
#include "meter/prune_scan.h"

#ifdef PRUNE_AVX2
/* Bit i set when byte i of the 64 in lo, hi is 0xff (a comparison's). */
__attribute__((target("avx2"))) static uint64_t
prune_bits64(__m256i lo, __m256i hi)
{
	return (uint64_t)(unsigned)_mm256_movemask_epi8(lo) |
	       (uint64_t)(unsigned)_mm256_movemask_epi8(hi) << 32;
}

/* How far a long value's tail may be passed over from s, at a character
 * boundary, judging the 64 bytes s[0..63] at once: 0 when they hold its
 * closing quote, a NUL or an escape json-c rejects (the caller then looks
 * closer); else 64, or less when an escape runs past them, so that the
 * next block starts at a character boundary again. Escapes are few in
 * prose (one in 40 bytes), so each is checked on its own. */
__attribute__((target("avx2"))) static size_t
prune_block64(const char *s)
{
	const uint64_t odd = 0xaaaaaaaaaaaaaaaaull;
	const __m256i bsl = _mm256_set1_epi8('\\');
	const __m256i quote = _mm256_set1_epi8('"');
	const __m256i nul = _mm256_setzero_si256();
	__m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)s);
	__m256i hi =
		_mm256_loadu_si256((const __m256i *)(const void *)(s + 32));
	uint64_t bs = prune_bits64(_mm256_cmpeq_epi8(lo, bsl),
				   _mm256_cmpeq_epi8(hi, bsl));
	uint64_t stop =
		prune_bits64(_mm256_or_si256(_mm256_cmpeq_epi8(lo, quote),
					     _mm256_cmpeq_epi8(lo, nul)),
			     _mm256_or_si256(_mm256_cmpeq_epi8(hi, quote),
					     _mm256_cmpeq_epi8(hi, nul)));
	uint64_t code, starts;
	unsigned i;
	int n;

	if (!bs)
		return stop ? 0 : 64;
	/* The 1st, 3rd... backslash of a run starts an escape and the byte
	 * after it is escaped (simdjson's trick: the subtraction's carries
	 * walk each run). An escaped NUL fails below, as no escape. */
	code = (((bs << 1) | odd) - bs) ^ odd;
	starts = code & bs;
	if (stop & ~(code ^ bs))
		return 0;
	for (; starts; starts &= starts - 1) {
		if ((i = (unsigned)__builtin_ctzll(starts)) == 63)
			return 63; /* cut by the block's end */
		if ((n = prune_esc_len[(unsigned char)s[i + 1]]) == 0)
			return 0;
		if (n == 6 && i > 64 - 6)
			return i;
		if (n == 6 &&
		    (prune_hex(s[i + 2]) < 0 || prune_hex(s[i + 3]) < 0 ||
		     prune_hex(s[i + 4]) < 0 || prune_hex(s[i + 5]) < 0))
			return 0;
	}
	return 64;
}

/* Passes over the blocks of 64 that need no closer look: one AVX2
 * function for the whole run, so that the block test is inlined and its
 * constants are loaded once, not at every block. */
__attribute__((target("avx2"))) static const char *
prune_blocks(const char *s, const char *end)
{
	size_t k;

	while (end - s >= 64 && (k = prune_block64(s)) > 0)
		s += k;
	return s;
}
#endif

const char *
prune_tail(const char *s, const char *end)
{
	const char *t;
	int n;

#ifdef PRUNE_AVX2
	if (__builtin_cpu_supports("avx2"))
		s = prune_blocks(s, end);
#endif
#ifdef __SSE2__
	while (end - s >= 16) {
		const char *next = s + 16;
		unsigned mask = prune_mask16(
			_mm_loadu_si128((const __m128i *)(const void *)s));

		while (mask) {
			t = s + __builtin_ctz(mask);
			if (*t != '\\')
				return t;
			/* two-byte escapes, the most, without a call */
			if (end - t < 2 ||
			    (n = prune_esc_len[(unsigned char)t[1]]) != 2) {
				if ((n = prune_escape_len(t, end)) <= 0)
					return t;
			}
			if (t + n >= next) {
				next = t + n;
				break;
			}
			mask &= ~0u << (t + n - s);
		}
		s = next;
	}
#endif
	for (;;) {
		if ((t = prune_scan(s, end)) == end || *t != '\\' ||
		    (n = prune_escape_len(t, end)) <= 0)
			return t;
		s = t + n;
	}
}

const char *
prune_string_close(const char *s, const char *end)
{
	const char *t = prune_tail(s, end);

	return t < end && *t == '"' ? t : NULL;
}
