/* SPDX-License-Identifier: GPL-2.0-or-later
 * prune.c - the JSON pruner: a scanner that follows strings, escapes and
 * nesting, state kept across chunks, and copies all but the tails of
 * long string values and the whitespace between tokens; on the way it
 * may note the spans that prune_alike() lets differ (pruned.c). The
 * byte scanners it uses within strings are in prune_scan.h, and a long
 * value's tail scan in prune_scan.c.
 *
 * Threading: a pruner belongs to its caller; no shared state.
 * Ownership: nothing allocated.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "meter/prune.h"
#include "meter/prune_scan.h"

void
prune_init(struct prune *p, struct prune_shape *shape)
{
	memset(p, 0, sizeof(*p));
	if (!(p->shape = shape))
		return;
	shape->n = 0;
	shape->lost = false;
	shape->raw = false;
	for (const char *const *k = shape->keys; *k; k++) {
		size_t n = strlen(*k);
		unsigned char c = (unsigned char)(*k)[0];

		p->key_lens |= n < 64 ? 1ull << n : 1ull << 63;
		p->key_first[c / 64] |= 1ull << (c % 64);
	}
}

void
prune_init_value(struct prune *p, struct prune_shape *shape)
{
	prune_init(p, shape);
	p->one = true;
}

bool
prune_ended(const struct prune *p)
{
	return p->state == PRUNE_AFTER || p->state == PRUNE_END;
}

bool
prune_ended_bare(const struct prune *p)
{
	return p->one && p->state == PRUNE_END;
}

/* -- structure ------------------------------------------------------- */

static bool
prune_in_object(const struct prune *p)
{
	unsigned d = p->depth - 1;

	return p->depth > 0 && (p->object[d / 8] >> (d % 8) & 1);
}

static bool
prune_push(struct prune *p, bool object)
{
	unsigned d = p->depth;

	if (d == PRUNE_DEPTH)
		return false;
	if (object)
		p->object[d / 8] |= (unsigned char)(1u << (d % 8));
	else
		p->object[d / 8] &= (unsigned char)~(1u << (d % 8));
	p->depth++;
	return true;
}

/* A closer must match its opener; json-c rejects the text otherwise. */
static bool
prune_pop(struct prune *p, bool object)
{
	if (p->depth == 0 || prune_in_object(p) != object)
		return false;
	p->depth--;
	return true;
}

/* What a byte outside strings is. Bare bytes are those of numbers and
 * literals (json-c also takes NaN, Infinity...): everything but
 * whitespace, structure and the starts of strings and comments. */
enum prune_class {
	PRUNE_C_BARE = 0,
	PRUNE_C_SPACE,
	PRUNE_C_QUOTE,
	PRUNE_C_OTHER, /* structure, or the start of a comment */
};

static const unsigned char prune_class[256] = {
	[' '] = PRUNE_C_SPACE,	['\t'] = PRUNE_C_SPACE, ['\r'] = PRUNE_C_SPACE,
	['\n'] = PRUNE_C_SPACE, ['"'] = PRUNE_C_QUOTE,	['{'] = PRUNE_C_OTHER,
	['}'] = PRUNE_C_OTHER,	['['] = PRUNE_C_OTHER,	[']'] = PRUNE_C_OTHER,
	[','] = PRUNE_C_OTHER,	[':'] = PRUNE_C_OTHER,	['\''] = PRUNE_C_OTHER,
	['/'] = PRUNE_C_OTHER,
};

/* -- the shape ------------------------------------------------------- */

static size_t
prune_offset(const struct prune *p, const char *o)
{
	return p->emitted + (size_t)(o - p->out);
}

/* The input offset of s, from the text's start. */
static size_t
prune_raw(const struct prune *p, const char *s)
{
	return p->consumed + (size_t)(s - p->in);
}

/* A span from the output's start, the input's raw_start, to o and s. */
static void
prune_span(struct prune *p, size_t start, const char *o, const char *s,
	   bool string)
{
	struct prune_shape *sh = p->shape;
	struct prune_span *sp;
	size_t end = prune_offset(p, o), raw_end = prune_raw(p, s);

	if (sh->n == PRUNE_SPANS || end > UINT32_MAX || raw_end > UINT32_MAX) {
		sh->lost = true;
		return;
	}
	sp = &sh->span[sh->n];
	sp->start = (uint32_t)start;
	sp->end = (uint32_t)end;
	sp->raw_start = (uint32_t)p->raw_start;
	sp->raw_end = (uint32_t)raw_end;
	sp->string = string;
	sh->n++;
}

/* For a key without escapes (one with escapes counts as listed: it may
 * spell a listed key). Such a key holds no NUL, so comparing stops at a
 * listed key's end. */
static bool
prune_listed(const struct prune *p, const char *key, size_t n)
{
	unsigned char c = (unsigned char)key[0];

	if (!(p->key_lens >> (n < 64 ? n : 63) & 1) ||
	    !(p->key_first[c / 64] >> (c % 64) & 1))
		return false;
	for (const char *const *k = p->shape->keys; *k; k++) {
		const char *l = *k;
		size_t i = 0;

		while (i < n && l[i] == key[i])
			i++;
		if (i == n && l[n] == '\0')
			return true;
	}
	return false;
}

/* Tracks a bare token byte by byte: is it a plain integer,
 * -?(0|[1-9][0-9]{0,17}), which json-c reads as an int64 always? */
static void
prune_bare_byte(struct prune *p, char c, const char *o, const char *s)
{
	if (!p->bare) {
		p->span_start = prune_offset(p, o);
		p->raw_start = prune_raw(p, s);
		p->sign = c == '-';
		p->zero = c == '0';
		p->digits = c >= '0' && c <= '9' ? 1 : 0;
		if (!p->sign && !p->digits)
			p->digits = SIZE_MAX; /* not an integer */
	} else if (p->digits == SIZE_MAX) {
		return;
	} else if (c < '0' || c > '9' || p->digits == 18 ||
		   (p->zero && p->digits == 1)) {
		p->digits = SIZE_MAX;
	} else {
		if (p->digits == 0)
			p->zero = c == '0';
		p->digits++;
	}
}

/* The bare token before o, and before s in the input, ended. */
static void
prune_bare_end(struct prune *p, const char *o, const char *s)
{
	if (p->shape && p->digits >= 1 && p->digits <= 18)
		prune_span(p, p->span_start, o, s, false);
	p->bare = false;
}

/* A string starts after the quote at o[-1] (s[-1] in the input): its
 * characters are a span unless it is a key or the value of a listed
 * key. */
static inline __attribute__((always_inline)) void
prune_string_start(struct prune *p, const char *o, const char *s)
{
	p->raw_start = prune_raw(p, s);
	p->key = p->want_key;
	p->want_key = false;
	p->span = p->shape && !p->key && !(p->colon && p->listed);
	p->span_start = prune_offset(p, o);
	p->colon = false;
}

/* The string ended with the quote just put at o[-1], read at s; at the
 * top level that ends the text. */
static inline __attribute__((always_inline)) void
prune_string_end(struct prune *p, const char *o, const char *s)
{
	if (p->span)
		prune_span(p, p->span_start, o - 1, s, true);
	else if (p->key && p->shape)
		p->listed =
			prune_listed(p, p->out + (p->span_start - p->emitted),
				     prune_offset(p, o) - 1 - p->span_start);
	p->state = p->depth == 0 ? PRUNE_AFTER : PRUNE_TOKEN;
}

/* -- strings --------------------------------------------------------- */

/* One byte of an escape split by a chunk's end, after the backslash;
 * false when json-c would reject the escape. A completed escape is one
 * character kept. */
static bool
prune_escape(struct prune *p, char c)
{
	int v;

	if (p->esc == 1) {
		switch (c) {
		case 'u':
			p->esc = 2;
			p->ucs = 0;
			return true;
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't': break;
		default: return false;
		}
		p->esc = 0;
		p->kept++;
		p->high = false;
		return true;
	}
	if ((v = prune_hex(c)) < 0)
		return false;
	p->ucs = p->ucs << 4 | (unsigned)v;
	if (++p->esc == 6) {
		p->esc = 0;
		p->kept++;
		p->high = (p->ucs & 0xfc00) == 0xd800;
	}
	return true;
}

/* A whole string without escapes, short or a key, in one go: copied
 * with its closing quote; the byte after it, or NULL to go the long way
 * (escapes, a long value, the chunk's end). */
static inline __attribute__((always_inline)) const char *
prune_plain(struct prune *p, const char *s, const char *end, char **o)
{
	const char *lim = end, *e;

	if (!p->key && (size_t)(end - s) > PRUNE_KEEP + 1)
		lim = s + PRUNE_KEEP + 1; /* past it: a long value */
	e = prune_scan_copy(s, lim, end, *o);
	if (e == lim || *e != '"')
		return NULL;
	*o += e - s;
	*(*o)++ = '"';
	prune_string_end(p, *o, e);
	return e + 1;
}

/* The special byte at s within a string being copied, already put at
 * (*o)[-1]: a NUL, or a backslash whose escape is copied whole. */
static const char *
prune_copy_special(struct prune *p, const char *s, const char *end, char **o)
{
	int n;

	if (*s == '\0') {
		if (p->span)
			p->shape->lost = true; /* json-c rejects it */
		p->kept++;
		p->high = false;
		return s + 1;
	}
	if ((n = prune_escape_len(s, end)) < 0) {
		p->state = PRUNE_FAILED;
		return s;
	}
	if (n == 0) {
		p->esc = 1; /* split by the chunk's end */
		return s + 1;
	}
	memcpy(*o - 1, s, (size_t)n);
	*o += n - 1;
	p->kept++;
	p->high = prune_high(s, n);
	return s + n;
}

/* Copies a key, or a value's head until PRUNE_KEEP characters are kept
 * and the last is not half of a surrogate pair (json-c decodes a pair
 * only whole). json-c itself checks everything copied here. A key that
 * takes this way (escapes, split by a chunk) counts as listed. */
static const char *
prune_copy(struct prune *p, const char *s, const char *end, char **o)
{
	const char *lim, *e;

	while (s < end && p->state == PRUNE_COPY) {
		if (p->esc) {
			if (!prune_escape(p, *s)) {
				p->state = PRUNE_FAILED;
				return s;
			}
			*(*o)++ = *s++;
			continue;
		}
		lim = end;
		if (!p->key && p->kept >= PRUNE_KEEP && !p->high) {
			p->state = PRUNE_SKIP;
			return s;
		} else if (!p->key && p->kept >= PRUNE_KEEP) {
			lim = s + 1; /* the low half of the pair */
		} else if (!p->key &&
			   (size_t)(end - s) > PRUNE_KEEP - p->kept) {
			lim = s + (PRUNE_KEEP - p->kept);
		}
		e = prune_scan_copy(s, lim, end, *o);
		*o += e - s;
		if (e > s) {
			p->kept += (size_t)(e - s);
			p->high = false;
		}
		if ((s = e) == lim)
			continue;
		*(*o)++ = *s;
		if (*s == '"') {
			if (p->key && p->shape)
				p->listed = true;
			p->key = false;
			prune_string_end(p, *o, s);
			return s + 1;
		}
		s = prune_copy_special(p, s, end, o);
	}
	return s;
}

/* Skips a long value's tail to its closing quote, checking what json-c
 * would have checked there: escapes, and NUL bytes (json-c takes one for
 * the end of the text, an error inside a string). */
static const char *
prune_skip(struct prune *p, const char *s, const char *end, char **o)
{
	int n;

	while (s < end) {
		if (p->esc) {
			if (!prune_escape(p, *s)) {
				p->state = PRUNE_FAILED;
				return s;
			}
			s++;
			continue;
		}
		if ((s = prune_tail(s, end)) == end)
			return end;
		if (*s == '"') {
			*(*o)++ = '"';
			prune_string_end(p, *o, s);
			return s + 1;
		}
		if (*s == '\0' || (n = prune_escape_len(s, end)) < 0) {
			p->state = PRUNE_FAILED;
			return s;
		}
		if (n > 0) {
			s += n;
		} else {
			p->esc = 1; /* split by the chunk's end */
			s++;
		}
	}
	return s;
}

/* -- between strings ------------------------------------------------- */

/* A top-level number or literal ends at *s: json-c reads *s to see the
 * end (so it is kept) and, past whitespace, a comment (so give up). */
static const char *
prune_top_bare_end(struct prune *p, const char *s, char **o)
{
	prune_bare_end(p, *o, s);
	if (p->one) {
		p->state = PRUNE_END; /* *s is the caller's */
		return s;
	}
	if (*s == '/') {
		p->state = PRUNE_FAILED;
		return s;
	}
	if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
		*(*o)++ = ' ';
		p->state = PRUNE_AFTER;
	} else {
		*(*o)++ = *s;
		p->state = PRUNE_END;
	}
	return s + 1;
}

/* A structural byte: pushes, pops, and what the next string will be. */
static bool
prune_structure(struct prune *p, char c)
{
	switch (c) {
	case '{':
	case '[':
		if (!prune_push(p, c == '{'))
			return false;
		p->want_key = c == '{';
		break;
	case '}':
	case ']':
		if (!prune_pop(p, c == '}'))
			return false;
		p->want_key = false;
		if (p->depth == 0)
			p->state = PRUNE_AFTER;
		break;
	case ',': p->want_key = prune_in_object(p); break;
	case ':': p->want_key = false; break;
	default: /* quotes and comments */ return false;
	}
	p->colon = c == ':';
	return true;
}

static const char *
prune_token(struct prune *p, const char *s, const char *end, char **o)
{
	const char *e;

	for (; s < end && p->state == PRUNE_TOKEN; s++) {
		char c = *s;
		unsigned cls = prune_class[(unsigned char)c];

		if (cls == PRUNE_C_BARE) {
			if (p->space)
				*(*o)++ = ' ';
			p->space = false;
			prune_bare_byte(p, c, *o, s);
			*(*o)++ = c;
			p->bare = true;
			p->colon = false;
			continue;
		}
		if (p->bare && p->depth == 0)
			return prune_top_bare_end(p, s, o);
		if (cls == PRUNE_C_SPACE) {
			/* only between two bare tokens does space matter */
			if (p->bare) {
				prune_bare_end(p, *o, s);
				p->space = true;
			}
			continue;
		}
		p->space = false;
		if (p->bare)
			prune_bare_end(p, *o, s);
		if (cls == PRUNE_C_QUOTE) {
			*(*o)++ = c;
			prune_string_start(p, *o, s + 1);
			if ((e = prune_plain(p, s + 1, end, o))) {
				s = e - 1;
				continue;
			}
			p->kept = 0;
			p->high = false;
			p->state = PRUNE_COPY;
			return s + 1;
		}
		if (!prune_structure(p, c)) {
			p->state = PRUNE_FAILED;
			return s;
		}
		*(*o)++ = c;
	}
	return s;
}

/* Past the top-level value json-c skips whitespace and comments, then
 * stops: a comment there could still fail the text, so give up on it. */
static const char *
prune_after(struct prune *p, const char *s, const char *end)
{
	for (; s < end; s++) {
		if (*s == '/') {
			p->state = PRUNE_FAILED;
			return s;
		}
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') {
			p->state = PRUNE_END;
			return end;
		}
	}
	return s;
}

static ssize_t
prune_run(struct prune *p, const char *in, size_t len, char *out, size_t *used)
{
	const char *s = in, *end = in + len;
	char *o = out;

	p->out = out;
	p->in = in;
	while (s < end && !(p->one && prune_ended(p))) {
		switch (p->state) {
		case PRUNE_TOKEN: s = prune_token(p, s, end, &o); break;
		case PRUNE_COPY: s = prune_copy(p, s, end, &o); break;
		case PRUNE_SKIP: s = prune_skip(p, s, end, &o); break;
		case PRUNE_AFTER: s = prune_after(p, s, end); break;
		case PRUNE_END: s = end; break;
		case PRUNE_FAILED: return -1;
		}
	}
	p->emitted += (size_t)(o - out);
	p->consumed += (size_t)(s - in);
	*used = (size_t)(s - in);
	return p->state == PRUNE_FAILED ? -1 : (ssize_t)(o - out);
}

ssize_t
prune_feed(struct prune *p, const char *in, size_t len, char *out)
{
	size_t used;

	return prune_run(p, in, len, out, &used);
}

ssize_t
prune_value(struct prune *p, const char *in, size_t len, char *out,
	    size_t *used)
{
	return prune_run(p, in, len, out, used);
}
