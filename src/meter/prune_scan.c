/* SPDX-License-Identifier: GPL-2.0-or-later
 * prune_scan.c - the long-value tail scan (prune_tail()): a string's cut
 * tail is passed over 64 bytes at a time with AVX2 where the CPU has it
 * (simdjson's backslash-run trick, and nibble lookups for what follows a
 * backslash), else 16 at a time with SSE2, checking every escape as
 * json-c would; and prune_string_close(), which rests on it.
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

/* 0xff where a byte may follow a backslash: '"' '/' '\\' b f n r t u,
 * looked up by nibbles: a bit per high nibble (2, 5, 6, 7) set in the
 * low nibble's entry for the bytes of that row. */
__attribute__((target("avx2"))) static __m256i
prune_escapable32(__m256i v)
{
	const __m256i lo_bits = _mm256_setr_epi8(
		0, 0, 1 | 4 | 8, 0, 8, 8, 4, 0, 0, 0, 0, 0, 2, 0, 4, 1, 0, 0,
		1 | 4 | 8, 0, 8, 8, 4, 0, 0, 0, 0, 0, 2, 0, 4, 1);
	const __m256i hi_bits = _mm256_setr_epi8(
		0, 0, 1, 0, 0, 2, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
		2, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m256i nib = _mm256_set1_epi8(0x0f);
	__m256i l = _mm256_shuffle_epi8(lo_bits, _mm256_and_si256(v, nib));
	__m256i h = _mm256_shuffle_epi8(
		hi_bits, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));

	return _mm256_xor_si256(_mm256_cmpeq_epi8(_mm256_and_si256(l, h),
						  _mm256_setzero_si256()),
				_mm256_set1_epi8(-1));
}

/* 0xff at hex digits. */
__attribute__((target("avx2"))) static __m256i
prune_hex32(__m256i v)
{
	/* 'a'-'f' and 'A'-'F' alike once bit 5 is set */
	__m256i l = _mm256_or_si256(v, _mm256_set1_epi8(0x20));

	return _mm256_or_si256(
		_mm256_and_si256(
			_mm256_cmpgt_epi8(v, _mm256_set1_epi8('0' - 1)),
			_mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), v)),
		_mm256_and_si256(
			_mm256_cmpgt_epi8(l, _mm256_set1_epi8('a' - 1)),
			_mm256_cmpgt_epi8(_mm256_set1_epi8('f' + 1), l)));
}

/* How far a long value's tail may be passed over from s, at a character
 * boundary, judging the 64 bytes s[0..63] at once: 0 when they hold its
 * closing quote, a NUL or an escape json-c rejects (the caller then looks
 * closer); else 64, or less when an escape runs past them, so that the
 * next block starts at a character boundary again. The escapes are
 * checked all at once: with one in 40 bytes of prose, a branch per
 * escape mispredicts (checked one by one, the meter measured 15 %
 * slower, for 8 % fewer instructions). */
__attribute__((target("avx2"), always_inline)) static inline size_t
prune_block64(const char *s, bool line)
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
	uint64_t code, escaped, starts, ok, hex, u, cross;

	if (line) {
		const __m256i lf = _mm256_set1_epi8('\n');
		const __m256i cr = _mm256_set1_epi8('\r');

		stop |= prune_bits64(
			_mm256_or_si256(_mm256_cmpeq_epi8(lo, lf),
					_mm256_cmpeq_epi8(lo, cr)),
			_mm256_or_si256(_mm256_cmpeq_epi8(hi, lf),
					_mm256_cmpeq_epi8(hi, cr)));
	}
	if (!bs)
		return stop ? 0 : 64;
	/* The 1st, 3rd... backslash of a run starts an escape and the byte
	 * after it is escaped (simdjson's trick: the subtraction's carries
	 * walk each run). An escaped NUL is no escape: it fails below. */
	code = (((bs << 1) | odd) - bs) ^ odd;
	escaped = code ^ bs;
	starts = code & bs;
	if (stop & ~escaped)
		return 0;
	ok = prune_bits64(prune_escapable32(lo), prune_escapable32(hi));
	hex = prune_bits64(prune_hex32(lo), prune_hex32(hi));
	u = escaped &
	    prune_bits64(_mm256_cmpeq_epi8(lo, _mm256_set1_epi8('u')),
			 _mm256_cmpeq_epi8(hi, _mm256_set1_epi8('u')));
	if ((escaped & ~ok) || ((u << 1 | u << 2 | u << 3 | u << 4) & ~hex))
		return 0;
	/* escapes cut by the block's end, at their backslashes */
	cross = (starts & 1ull << 63) | ((u & 0xfull << 60) >> 1);
	return cross ? (size_t)__builtin_ctzll(cross) : 64;
}

/* Passes over the blocks of 64 that need no closer look: one AVX2
 * function for the whole run, so that the block test is inlined and its
 * constants are loaded once, not at every block. */
__attribute__((target("avx2"))) static const char *
prune_blocks(const char *s, const char *end)
{
	size_t k;

	while (end - s >= 64 && (k = prune_block64(s, false)) > 0)
		s += k;
	return s;
}

/* The same, stopping at CR and LF too. */
__attribute__((target("avx2"))) static const char *
prune_line_blocks(const char *s, const char *end)
{
	size_t k;

	while (end - s >= 64 && (k = prune_block64(s, true)) > 0)
		s += k;
	return s;
}
#endif

/* The first '"', '\\', NUL, CR or LF in [s, end), or end. */
static const char *
prune_line_scan(const char *s, const char *end)
{
	for (; s < end; s++)
		if (*s == '"' || *s == '\\' || *s == '\0' || *s == '\n' ||
		    *s == '\r')
			return s;
	return end;
}

/* prune_tail(), and with `line` the same stopping at CR and LF too. */
static inline __attribute__((always_inline)) const char *
prune_tail_of(const char *s, const char *end, bool line)
{
	const char *t;
	int n;

#ifdef PRUNE_AVX2
	if (__builtin_cpu_supports("avx2"))
		s = line ? prune_line_blocks(s, end) : prune_blocks(s, end);
#endif
#ifdef __SSE2__
	while (end - s >= 16) {
		const char *next = s + 16;
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
		unsigned mask = prune_mask16(v);

		if (line)
			mask |= (unsigned)_mm_movemask_epi8(_mm_or_si128(
				_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
				_mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))));

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
		t = line ? prune_line_scan(s, end) : prune_scan(s, end);
		if (t == end || *t != '\\' ||
		    (n = prune_escape_len(t, end)) <= 0)
			return t;
		s = t + n;
	}
}

const char *
prune_tail(const char *s, const char *end)
{
	return prune_tail_of(s, end, false);
}

const char *
prune_string_close(const char *s, const char *end)
{
	const char *t = prune_tail_of(s, end, true);

	return t < end && *t == '"' ? t : NULL;
}
