/* SPDX-License-Identifier: GPL-2.0-or-later
 * prune.h - shrinks JSON text before json-c parses it, so that the meter
 * pays for the few fields it reads and not for the model's prose: string
 * values longer than PRUNE_KEEP characters keep only their first
 * PRUNE_KEEP, whitespace between tokens goes, and so does whatever
 * follows the top-level value. A long string costs a vector scan for its
 * end instead of json-c's byte-by-byte copy into a heap string.
 *
 * The pruned text parses as the original does, long strings aside:
 * - a cut string's value is a prefix of the original value, at least
 *   PRUNE_KEEP bytes long (a cut never splits an escape or a surrogate
 *   pair), and keys are never cut;
 * - what json-c rejects stays rejected: the cut part's escapes and NUL
 *   bytes are still checked, whitespace goes only where it separates
 *   nothing, and nesting deeper than PRUNE_DEPTH fails;
 * - outside standard JSON (comments, single-quoted strings: json-c
 *   extensions) the pruner gives up rather than guess.
 *
 * On request the pruner also notes the text's shape (struct prune_shape):
 * which spans of the output may differ between two texts that json-c
 * reads alike, so that prune_alike() compares two texts with memcmp.
 *
 * Threading: a pruner belongs to its caller; no shared state.
 * Ownership: plain state, nothing allocated; the shape and its key list
 *   belong to the caller; prune_parse() returns a value the caller puts.
 */
#ifndef AGP_PRUNE_H
#define AGP_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

/* Characters (bytes or escapes) kept of a long string value. */
#define PRUNE_KEEP 128
/* Nesting the pruner follows; json-c's tokeners here stop at 128. */
#define PRUNE_DEPTH 256
/* The text prune_parse() hands json-c per call, at most; it prunes
 * PRUNE_SLICE - 1 bytes at a time into it. */
#define PRUNE_SLICE (8 * 1024)
/* Spans a shape holds; a text with more is alike to none, as is one
 * whose spans lie past 4 GiB (offsets are 32-bit: a shape is 2.5 KB,
 * two per stream being metered). */
#define PRUNE_SPANS 128

/* Output bytes [start, end) that may differ between alike texts: the
 * characters of a string value other than those of the listed keys, or
 * a plain integer (which json-c reads as an int64 whatever its digits). */
struct prune_span {
	uint32_t start, end;
	uint32_t raw_start, raw_end; /* the same in the input */
	bool string;
};

struct prune_shape {
	const char *const *keys; /* NULL-terminated, set by the caller */
	struct prune_span span[PRUNE_SPANS];
	size_t n;
	bool lost; /* too many spans, or a NUL in one */
	bool raw;  /* from prune_alike_raw(): spans in the input
				 * only, unknown in the output */
};

enum prune_state {
	PRUNE_TOKEN, /* outside strings */
	PRUNE_COPY,  /* in a key, or the kept head of a value */
	PRUNE_SKIP,  /* in the cut tail of a long value */
	PRUNE_AFTER, /* past the top-level value, in whitespace */
	PRUNE_END,   /* json-c reads no further: drop the rest */
	PRUNE_FAILED,
};

struct prune {
	enum prune_state state;
	unsigned depth;
	unsigned char object[PRUNE_DEPTH / 8]; /* bit per level: an object */
	bool want_key; /* the next string is an object key */
	bool bare;     /* the last byte out is in a number, literal */
	bool space;    /* then whitespace: put if another follows */
	bool key;      /* the current string is a key */
	bool high;     /* its last character is a high surrogate */
	unsigned esc;  /* 1 after '\', 2-5 in "\u" at digit esc-2 */
	unsigned ucs;  /* that \u escape's digits so far */
	size_t kept;   /* characters kept of the current string */
	/* the shape, when one is noted */
	struct prune_shape *shape;
	char *out;	  /* this call's output, for offsets */
	size_t emitted;	  /* output of the calls before */
	const char *in;	  /* this call's input, for offsets */
	size_t consumed;  /* input of the calls before */
	size_t raw_start; /* of the current span in the input */
	bool colon;	  /* the last structural byte out is ':' */
	bool listed;	  /* the last key is one of shape->keys */
	bool span;	  /* the current string is a span */
	size_t span_start;
	size_t digits;	 /* of the current bare token; 0: not an int */
	bool sign, zero; /* it starts with '-', its first digit is 0 */
	bool one;	 /* prune_value(): stop after the value */
	/* a quick "not listed" for most keys: bit per length below 64 and
	 * per first byte of the shape's keys */
	uint64_t key_lens;
	uint64_t key_first[4];
};

/* Starts a text; with a shape (its keys set), notes the text's shape. */
void prune_init(struct prune *p, struct prune_shape *shape);

/* Prunes the next len bytes of a JSON text into out, which has room for
 * len + 1 bytes: the whole output never outgrows the whole input, but a
 * space held back at the end of one call (it is kept only between two
 * numbers or literals) may come out in the next. Returns the bytes
 * written, or -1 once the text cannot be pruned (invalid, or outside
 * standard JSON); after that every call returns -1. */
ssize_t prune_feed(struct prune *p, const char *in, size_t len, char *out);

/* Starts one value of a longer text (an element of a JSON array body):
 * prune_value() then reads no further than the value's end. */
void prune_init_value(struct prune *p, struct prune_shape *shape);

/* As prune_feed(), for a pruner started by prune_init_value(); *used
 * gets the input bytes read. Once the value has ended prune_ended() is
 * true and nothing more is read. A number or literal ends at the first
 * byte not part of it, which is left unread: json-c needs such a byte
 * after it to take it. */
ssize_t prune_value(struct prune *p, const char *in, size_t len, char *out,
		    size_t *used);
bool prune_ended(const struct prune *p);
/* Once ended: true when the value was a number or literal, whose end
 * byte was left unread. */
bool prune_ended_bare(const struct prune *p);

/* The closing quote of a JSON string whose characters start at s, when
 * json-c takes all of them up to it (escapes, no NUL) and none is a CR
 * or LF, which end an SSE data line (the texts compared raw are such
 * lines); else NULL. */
const char *prune_string_close(const char *s, const char *end);

/* True when two pruned texts, with their shapes noted under the same
 * keys, parse alike: both fail, or both give values of the same shape
 * (types, keys, array lengths) that differ only in integers and in
 * strings other than the values of the keys. False whenever unsure. */
bool prune_alike(const char *a, size_t alen, const struct prune_shape *as,
		 const char *b, size_t blen, const struct prune_shape *bs);

/* True when text b is text a, pruned whole with its shape noted in as
 * (or itself so matched), but for the contents of a's spans in the
 * input: other characters json-c takes in a string span, another plain
 * integer in an integer span, the rest byte for byte the same. json-c
 * then reads b as it reads a but for those values: the two are alike as
 * prune_alike() means it, and b is valid standard JSON exactly when a
 * is, without b being pruned. On success bs gets b's spans, in the
 * input only (bs->raw): such a shape serves prune_alike_raw() alone. */
bool prune_alike_raw(const char *a, size_t alen, const struct prune_shape *as,
		     const char *b, size_t blen, struct prune_shape *bs);

/* As prune_alike_raw(), where a is followed by other text (an SSE
 * event's line ends, after its data) and b by whatever follows it: the
 * length of b's first bytes that match a whole so, or 0. The text after
 * a's last span is matched byte for byte. */
size_t prune_alike_raw_head(const char *a, size_t alen,
			    const struct prune_shape *as, const char *b,
			    size_t blen, struct prune_shape *bs);

/* Parses one whole JSON text (a request body) with tok, pruned and
 * handed over at most PRUNE_SLICE bytes at a time through slice. When
 * the pruner gives up, the original is parsed instead, so a value comes back
 * exactly when json-c accepts the original. `max` bounds what json-c may
 * be given: pruned bytes, and the original in that fallback. Returns the
 * value (the caller puts it) or NULL. */
struct json_object *prune_parse(struct json_tokener *tok, const char *text,
				size_t len, size_t max,
				char slice[PRUNE_SLICE]);

#endif
