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

bool
prune_alike_raw(const char *a, size_t alen, const struct prune_shape *as,
		const char *b, size_t blen, struct prune_shape *bs)
{
	size_t pa = 0, pb = 0;
	const char *e;

	if (as->lost)
		return false;
	for (size_t i = 0; i <= as->n; i++) {
		/* the text before span i (or after the last) is the same */
		size_t ea = i < as->n ? as->span[i].raw_start : alen;
		size_t n = ea - pa;

		if (blen - pb < n || memcmp(a + pa, b + pb, n) != 0)
			return false;
		pb += n;
		if (i == as->n)
			break;
		e = as->span[i].string ? prune_string_close(b + pb, b + blen)
				       : prune_raw_int(b + pb, b + blen);
		if (!e || (size_t)(e - b) > UINT32_MAX)
			return false;
		bs->span[i].start = bs->span[i].end = 0; /* unknown */
		bs->span[i].raw_start = (uint32_t)pb;
		bs->span[i].raw_end = (uint32_t)(e - b);
		bs->span[i].string = as->span[i].string;
		pa = as->span[i].raw_end;
		pb = (size_t)(e - b);
	}
	if (pb != blen)
		return false;
	bs->n = as->n;
	bs->lost = false;
	bs->raw = true;
	return true;
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
