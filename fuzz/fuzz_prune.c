/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_prune.c - libFuzzer target for the JSON pruner, checked against
 * json-c itself. The first byte picks the chunk size (bits 0-2) and the
 * mode (bit 3); the rest is the text. Whenever the pruner accepts a text:
 * - its output is no longer than the input and the same in any chunks;
 * - json-c accepts the pruned text exactly when it accepts the original,
 *   and the two values are the same but for long strings, each of which
 *   is cut to a prefix of at least PRUNE_KEEP bytes (keys never are).
 * In the second mode the text is two, split at the first 0xff byte, and
 * when prune_alike() takes them for alike json-c must read them alike:
 * both fail, or both give values that differ only in integers and in
 * strings other than the values of the listed keys. So too when
 * prune_alike_raw() takes the second, unpruned, for alike to the first;
 * the second then prunes, with the spans prune_alike_raw() found.
 *
 * Build and run (from the top source directory, after ./configure in
 * build/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Ibuild \
 *     fuzz/fuzz_prune.c src/meter/prune.c src/meter/pruned.c \
 *     src/meter/prune_scan.c \
 *     -o /tmp/fuzz-prune \
 *     $(pkg-config --libs json-c)
 *   /tmp/fuzz-prune -max_total_time=60 fuzz/corpus/prune
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meter/prune.h"
#include "../tests/unit/pruned_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_keys[] = { "model", "type", "code", NULL };

static struct json_object *
fuzz_parse(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(128);
	struct json_object *o;

	if (!tok)
		abort();
	o = json_tokener_parse_ex(tok, s, (int)len);
	json_tokener_free(tok);
	return o;
}

static bool
fuzz_listed(const char *key)
{
	for (const char *const *k = fuzz_keys; *k; k++)
		if (strcmp(*k, key) == 0)
			return true;
	return false;
}

/* a and b parse alike: the same but for integers, and strings that are
 * neither listed values (`listed`) nor keys. */
static bool
fuzz_alike(struct json_object *a, struct json_object *b, bool listed)
{
	enum json_type t = json_object_get_type(a);
	struct json_object_iterator ia, ib, ea;

	if (t != json_object_get_type(b))
		return false;
	if (t == json_type_int)
		return true;
	if (t == json_type_string && !listed)
		return true;
	if (t == json_type_array) {
		if (json_object_array_length(a) != json_object_array_length(b))
			return false;
		for (size_t i = 0; i < json_object_array_length(a); i++)
			if (!fuzz_alike(json_object_array_get_idx(a, i),
					json_object_array_get_idx(b, i), false))
				return false;
		return true;
	}
	if (t != json_type_object)
		return pruned_same(a, b) && pruned_same(b, a);
	/* the same keys in the same order: json-c keeps insertion order */
	if (json_object_object_length(a) != json_object_object_length(b))
		return false;
	ia = json_object_iter_begin(a);
	ib = json_object_iter_begin(b);
	ea = json_object_iter_end(a);
	for (; !json_object_iter_equal(&ia, &ea);
	     json_object_iter_next(&ia), json_object_iter_next(&ib)) {
		const char *k = json_object_iter_peek_name(&ia);

		if (strcmp(k, json_object_iter_peek_name(&ib)) != 0 ||
		    !fuzz_alike(json_object_iter_peek_value(&ia),
				json_object_iter_peek_value(&ib),
				fuzz_listed(k)))
			return false;
	}
	return true;
}

/* Prunes text whole and in chunks, which must agree; the pruned length
 * (into out, with its shape into sh) or -1. */
static ssize_t
fuzz_prune(const char *text, size_t len, size_t chunk, char *out,
	   struct prune_shape *sh)
{
	char *parts = malloc(len + 1);
	struct prune p;
	ssize_t n, m, k = 0;

	if (!parts)
		abort();
	sh->keys = fuzz_keys;
	prune_init(&p, sh);
	n = prune_feed(&p, text, len, out);
	if (n > (ssize_t)len)
		abort();
	prune_init(&p, NULL);
	for (size_t off = 0; off < len && k >= 0; off += chunk) {
		m = prune_feed(&p, text + off,
			       len - off < chunk ? len - off : chunk,
			       parts + k);
		k = m < 0 ? -1 : k + m;
	}
	/* chunks must not change the outcome */
	if ((n < 0) != (k < 0) ||
	    (n >= 0 && (n != k || memcmp(out, parts, (size_t)n))))
		abort();
	free(parts);
	return n;
}

/* The pruned text parses as the original does. */
static void
fuzz_one(const char *text, size_t len, const char *out, ssize_t n)
{
	struct json_object *a = fuzz_parse(text, len);
	struct json_object *b = fuzz_parse(out, (size_t)n);

	if (!a != !b || (a && !pruned_same(a, b)))
		abort();
	json_object_put(a);
	json_object_put(b);
}

/* Texts that prune_alike() takes for alike parse alike. */
static void
fuzz_two(const char *a, size_t alen, const struct prune_shape *as,
	 const char *b, size_t blen, const struct prune_shape *bs)
{
	struct json_object *va, *vb;

	if (!prune_alike(a, alen, as, b, blen, bs))
		return;
	va = fuzz_parse(a, alen);
	vb = fuzz_parse(b, blen);
	if (!va != !vb || (va && !fuzz_alike(va, vb, false)))
		abort();
	json_object_put(va);
	json_object_put(vb);
}

/* Texts that prune_alike_raw() takes for alike, b unpruned, parse alike
 * unpruned; b then prunes, and the pruner notes the spans in b that
 * prune_alike_raw() found. */
static void
fuzz_raw(const char *a, size_t alen, const struct prune_shape *as,
	 const char *b, size_t blen)
{
	static struct prune_shape sr, sp;
	struct json_object *va, *vb;
	char *out;

	sr.keys = fuzz_keys;
	if (!prune_alike_raw(a, alen, as, b, blen, &sr))
		return;
	va = fuzz_parse(a, alen);
	vb = fuzz_parse(b, blen);
	if (!va != !vb || (va && !fuzz_alike(va, vb, false)))
		abort();
	json_object_put(va);
	json_object_put(vb);
	if (!(out = malloc(blen + 1)))
		abort();
	if (fuzz_prune(b, blen, blen ? blen : 1, out, &sp) < 0 || sp.lost ||
	    sp.n != sr.n)
		abort();
	for (size_t i = 0; i < sp.n; i++)
		if (sp.span[i].raw_start != sr.span[i].raw_start ||
		    sp.span[i].raw_end != sr.span[i].raw_end ||
		    sp.span[i].string != sr.span[i].string)
			abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 1, 2, 3, 5, 8, 64, 129, 4096 };
	static struct prune_shape sa, sb;
	const char *text = (const char *)data + 1, *cut;
	char *oa, *ob;
	ssize_t na, nb = -1;
	size_t len, alen, chunk;

	if (size < 1 || size > 1 << 20)
		return 0;
	chunk = chunks[data[0] & 7];
	len = size - 1;
	alen = len;
	if ((data[0] & 8) && (cut = memchr(text, '\xff', len)))
		alen = (size_t)(cut - text);
	oa = malloc(len + 1);
	ob = malloc(len + 1);
	if (!oa || !ob)
		abort();
	if ((na = fuzz_prune(text, alen, chunk, oa, &sa)) >= 0)
		fuzz_one(text, alen, oa, na);
	if (alen < len && (nb = fuzz_prune(text + alen + 1, len - alen - 1,
					   chunk, ob, &sb)) >= 0)
		fuzz_one(text + alen + 1, len - alen - 1, ob, nb);
	if (na >= 0 && nb >= 0)
		fuzz_two(oa, (size_t)na, &sa, ob, (size_t)nb, &sb);
	if (na >= 0 && alen < len)
		fuzz_raw(text, alen, &sa, text + alen + 1, len - alen - 1);
	free(oa);
	free(ob);
	return 0;
}
