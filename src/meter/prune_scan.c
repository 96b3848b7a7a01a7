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

/* What each byte is, for the block test: bits looked up by its low
 * nibble and by its high one, and'ed, so one pair of lookups tells all:
 *   0x80 '\\' (also the one byte that may follow a backslash of its
 *        row, 5)
 *   0x01 '"' '/', 0x04 'b' 'f' 'n', 0x08 'r' 't' 'u': the rest that may
 *        follow a backslash (rows 2, 6, 7)
 *   0x10 '"', 0x02 NUL (and with `line` CR, LF): where a string's scan
 *        stops
 *   0x20 'A'-'F' 'a'-'f', 0x40 '0'-'9': hex digits. */
__attribute__((target("avx2"), always_inline)) static inline __m256i
prune_class32(__m256i v, bool line)
{
	const char lf = line ? 0x02 : 0;
	const __m256i lo_bits =
		_mm256_setr_epi8(0x42, 0x60, 0x7d, 0x60, 0x68, 0x68, 0x64, 0x40,
				 0x40, 0x40, lf, 0, (char)0x80, lf, 0x04, 0x01,
				 0x42, 0x60, 0x7d, 0x60, 0x68, 0x68, 0x64, 0x40,
				 0x40, 0x40, lf, 0, (char)0x80, lf, 0x04, 0x01);
	const __m256i hi_bits = _mm256_setr_epi8(
		0x02, 0, 0x11, 0x40, 0x20, (char)0x80, 0x24, 0x08, 0, 0, 0, 0,
		0, 0, 0, 0, 0x02, 0, 0x11, 0x40, 0x20, (char)0x80, 0x24, 0x08,
		0, 0, 0, 0, 0, 0, 0, 0);
	const __m256i nib = _mm256_set1_epi8(0x0f);

	return _mm256_and_si256(
		_mm256_shuffle_epi8(lo_bits, _mm256_and_si256(v, nib)),
		_mm256_shuffle_epi8(
			hi_bits,
			_mm256_and_si256(_mm256_srli_epi16(v, 4), nib)));
}

/* Bit i set when class byte i of the 64 in lo, hi has any of `bits`:
 * their sum with `top` (0x80 less the lowest of them) saturates into
 * bit 7. */
__attribute__((target("avx2"), always_inline)) static inline uint64_t
prune_any64(__m256i lo, __m256i hi, char bits, char top)
{
	const __m256i b = _mm256_set1_epi8(bits), t = _mm256_set1_epi8(top);

	return prune_bits64(_mm256_adds_epu8(_mm256_and_si256(lo, b), t),
			    _mm256_adds_epu8(_mm256_and_si256(hi, b), t));
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
	__m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)s);
	__m256i hi =
		_mm256_loadu_si256((const __m256i *)(const void *)(s + 32));
	__m256i clo = prune_class32(lo, line), chi = prune_class32(hi, line);
	uint64_t bs = prune_bits64(clo, chi);
	uint64_t stop = prune_any64(clo, chi, 0x12, 0x7e);
	uint64_t code, escaped, starts, ok, hex, u, cross;

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
	ok = prune_any64(clo, chi, (char)0x8d, 0x7f);
	hex = prune_any64(clo, chi, 0x60, 0x60);
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
