/* SPDX-License-Identifier: GPL-2.0-or-later
 * pruned.c - what is done with pruned texts: prune_alike() and
 * prune_alike_raw() compare them by their shapes, prune_parse() hands a
 * request body to json-c pruned, slice by slice.
 *
 * Threading: no shared state.
 * Ownership: nothing allocated but what json-c returns to the caller.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PRUNED_AVX2 1 /* built for AVX2 CPUs too, chosen at run time */
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "meter/prune.h"

bool
prune_alike(const char *a, size_t alen, const struct prune_shape *as,
	    const char *b, size_t blen, const struct prune_shape *bs)
{
	size_t pa = 0, pb = 0;

	if (as->lost || bs->lost || as->raw || bs->raw || as->n != bs->n)
		return false;
	for (size_t i = 0; i <= as->n; i++) {
		/* the text before span i (or after the last) is the same */
		size_t ea = i < as->n ? as->span[i].start : alen;
		size_t eb = i < bs->n ? bs->span[i].start : blen;

		if (ea - pa != eb - pb || memcmp(a + pa, b + pb, ea - pa) != 0)
			return false;
		if (i == as->n)
			break;
		if (as->span[i].string != bs->span[i].string)
			return false;
		pa = as->span[i].end;
		pb = bs->span[i].end;
	}
	return true;
}

/* The digits at the start of the 8 bytes at s, looked at all at once: a
 * byte is a digit when its high nibble is 3 and its low one at most 9. */
static size_t
prune_digits8(const char *s)
{
	uint64_t w, bad;

	memcpy(&w, s, sizeof(w));
	bad = ((w & 0xf0f0f0f0f0f0f0f0ull) ^ 0x3030303030303030ull) |
	      (((w & 0x0f0f0f0f0f0f0f0full) + 0x0606060606060606ull) &
	       0xf0f0f0f0f0f0f0f0ull);
	return bad ? (size_t)__builtin_ctzll(bad) / 8 : 8;
}

/* The end of a plain integer at s, -?(0|[1-9][0-9]{0,17}) (as the
 * pruner's integer spans), or NULL. */
static const char *
prune_raw_int(const char *s, const char *end)
{
	const char *d;
	size_t k = 8;

	if (s < end && *s == '-')
		s++;
	if (s < end && *s == '0')
		return s + 1;
	d = s;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (k == 8 && end - s >= 8 && s - d < 16)
		s += (k = prune_digits8(s));
#endif
	for (; s < end && s - d < 18 && *s >= '0' && *s <= '9'; s++)
		;
	return s > d ? s : NULL;
}

/* The same, for b's integer span at start whose bytes before s are a's
 * integer's, where the two part: only what follows is looked at, unless
 * that is none of its digits or a's was a lone 0. */
static inline const char *
prune_raw_int_at(const char *start, const char *s, const char *end)
{
	const char *d;

	if (s <= start) /* nothing of it known: [start, s) is b's */
		return prune_raw_int(start, end);
	d = start + (*start == '-');
	if (s <= d || *d == '0')
		return prune_raw_int(start, end);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (size_t k = 8; k == 8 && end - s >= 8 && s - d < 10;)
		s += (k = prune_digits8(s));
#endif
	for (; s < end && s - d < 18 && *s >= '0' && *s <= '9'; s++)
		;
	return s;
}

/* How many bytes at a and b agree, of the first n: sixteen compared at a
 * time with SSE2 (in every x86-64). */
static inline __attribute__((always_inline)) size_t
prune_common(const char *a, const char *b, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	for (; n - i >= 16; i += 16) {
		__m128i va =
			_mm_loadu_si128((const __m128i *)(const void *)(a + i));
		__m128i vb =
			_mm_loadu_si128((const __m128i *)(const void *)(b + i));
		unsigned m =
			(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(va, vb));

		if (m != 0xffffu)
			return i + (size_t)__builtin_ctz(~m);
	}
#endif
	for (; i < n; i++)
		if (a[i] != b[i])
			break;
	return i;
}

#ifdef PRUNED_AVX2
/* Bit i set when a[i] is b[i], of 16. */
__attribute__((target("avx2"), always_inline)) static inline unsigned
prune_same16(const char *a, const char *b)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		_mm_loadu_si128((const __m128i *)(const void *)a),
		_mm_loadu_si128((const __m128i *)(const void *)b)));
}

/* The same, 32 at a time with AVX2; fewer than 32 left, at least 16,
 * are looked at as the 16 that start there and the 16 that end there. */
__attribute__((target("avx2"), always_inline)) static inline size_t
prune_common_avx2(const char *a, const char *b, size_t n)
{
	size_t i = 0;
	unsigned m;

	for (; n - i >= 32; i += 32) {
		m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
			_mm256_loadu_si256(
				(const __m256i *)(const void *)(a + i)),
			_mm256_loadu_si256(
				(const __m256i *)(const void *)(b + i))));
		if (m != ~0u)
			return i + (size_t)__builtin_ctz(~m);
	}
	if (n - i == 0 || n < 16)
		return i + prune_common(a + i, b + i, n - i);
	if (n - i > 16) {
		m = prune_same16(a + i, b + i);
		if (m != 0xffffu)
			return i + (size_t)__builtin_ctz(~m);
	}
	i = n - 16;
	m = prune_same16(a + i, b + i);
	return m == 0xffffu ? n : i + (size_t)__builtin_ctz(~m);
}
#endif

/* Notes span [start, end) of b's input, unknown in its output; false
 * past 4 GiB, which 32-bit offsets cannot hold. */
static bool
prune_raw_span(struct prune_span *sp, size_t start, size_t end, bool string)
{
	if (end > UINT32_MAX)
		return false;
	sp->start = sp->end = 0;
	sp->raw_start = (uint32_t)start;
	sp->raw_end = (uint32_t)end;
	sp->string = string;
	return true;
}

/* a and b are compared in one pass, which stops only where they differ:
 * there a span of a must have begun, and b's is scanned from that span's
 * start. A span whose bytes and the byte after it are b's too is b's as
 * it is, moved: its scan would find the same end, and its content is
 * what a's was. So it costs nothing, as the spans that stay the same
 * from one snapshot to the next (roles, model names, most counts) do. */
typedef size_t prune_common_fn(const char *a, const char *b, size_t n);

static inline __attribute__((always_inline)) bool
prune_match_with(const char *a, size_t alen,
		 const struct prune_shape *restrict as, const char *b,
		 size_t blen, struct prune_shape *restrict bs, size_t *used,
		 prune_common_fn *common)
{
	const struct prune_span *span = as->span, *sa;
	struct prune_span *out = bs->span;
	const size_t n = as->n;
	size_t pa = 0, pb = 0, i = 0, x;
	const char *e;

	if (as->lost)
		return false;
	for (;;) {
		size_t lim = alen - pa < blen - pb ? alen - pa : blen - pb;
		size_t k = common(a + pa, b + pb, lim);

		x = pa + k; /* where they part, in a */
		/* spans passed whole are b's, moved by pb - pa */
		for (; i < n && (sa = &span[i])->raw_end < x; i++)
			if (!prune_raw_span(&out[i], sa->raw_start - pa + pb,
					    sa->raw_end - pa + pb, sa->string))
				return false;
		pb += k;
		pa = x;
		if (i == n || span[i].raw_start > x)
			break; /* the end, or a difference outside any span */
		sa = &span[i];
		pb -= x - sa->raw_start; /* where b's span starts */
		e = sa->string ? prune_string_close(b + pb, b + blen)
			       : prune_raw_int_at(b + pb,
						  b + pb + (x - sa->raw_start),
						  b + blen);
		if (!e ||
		    !prune_raw_span(&out[i], pb, (size_t)(e - b), sa->string))
			return false;
		pa = sa->raw_end;
		pb = (size_t)(e - b);
		i++;
	}
	if (pa != alen)
		return false;
	bs->n = as->n;
	bs->lost = false;
	bs->raw = true;
	*used = pb;
	return true;
}

#ifdef PRUNED_AVX2
__attribute__((target("avx2"))) static bool
prune_match_avx2(const char *a, size_t alen, const struct prune_shape *as,
		 const char *b, size_t blen, struct prune_shape *bs,
		 size_t *used)
{
	return prune_match_with(a, alen, as, b, blen, bs, used,
				prune_common_avx2);
}
#endif

/* The one pass above, with the CPU's widest compare. */
static bool
prune_match_raw(const char *a, size_t alen, const struct prune_shape *as,
		const char *b, size_t blen, struct prune_shape *bs,
		size_t *used)
{
#ifdef PRUNED_AVX2
	if (__builtin_cpu_supports("avx2"))
		return prune_match_avx2(a, alen, as, b, blen, bs, used);
#endif
	return prune_match_with(a, alen, as, b, blen, bs, used, prune_common);
}

bool
prune_alike_raw(const char *a, size_t alen, const struct prune_shape *as,
		const char *b, size_t blen, struct prune_shape *bs)
{
	size_t used;

	return prune_match_raw(a, alen, as, b, blen, bs, &used) && used == blen;
}

size_t
prune_alike_raw_head(const char *a, size_t alen, const struct prune_shape *as,
		     const char *b, size_t blen, struct prune_shape *bs)
{
	size_t used;

	return prune_match_raw(a, alen, as, b, blen, bs, &used) ? used : 0;
}

/* The pruned text, slice by slice; NULL unless json-c took it whole.
 * *fallback tells whether the pruner gave up. */
static struct json_object *
prune_parse_pruned(struct json_tokener *tok, const char *text, size_t len,
		   size_t max, char slice[PRUNE_SLICE], bool *fallback)
{
	struct json_object *o = NULL;
	struct prune p;
	size_t fed = 0;
	ssize_t n;

	prune_init(&p, NULL);
	for (size_t off = 0; off < len && !o; off += PRUNE_SLICE - 1) {
		size_t in = len - off < PRUNE_SLICE - 1 ? len - off
							: PRUNE_SLICE - 1;

		if ((n = prune_feed(&p, text + off, in, slice)) < 0) {
			*fallback = true;
			return NULL;
		}
		if ((fed += (size_t)n) > max)
			return NULL;
		if (n == 0)
			continue;
		o = json_tokener_parse_ex(tok, slice, (int)n);
		if (!o && json_tokener_get_error(tok) != json_tokener_continue)
			return NULL;
	}
	return o;
}

struct json_object *
prune_parse(struct json_tokener *tok, const char *text, size_t len, size_t max,
	    char slice[PRUNE_SLICE])
{
	struct json_object *o;
	bool fallback = false;

	json_tokener_reset(tok);
	o = prune_parse_pruned(tok, text, len, max, slice, &fallback);
	if (o || !fallback || len > max || len > INT32_MAX)
		return o;
	json_tokener_reset(tok);
	return json_tokener_parse_ex(tok, text, (int)len);
}
