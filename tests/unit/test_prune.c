/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_prune.c - the JSON pruner (src/meter/prune.c) against json-c:
 * whitespace, strings around the PRUNE_KEEP bound, escapes and
 * surrogate pairs at every position near the cut, every chunk split,
 * invalid texts that must stay invalid, nesting, numbers, what follows
 * the top-level value, prune_parse() on request bodies, the shapes that
 * prune_alike() compares, and every JSON text in tests/fixtures.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "meter/prune.h"
#include "pruned_same.h"
#include "tap.h"

static const char *const keys[] = { "model", "modelVersion", "type",
				    "finishReason", NULL };

/* Prunes text in chunks of `chunk` bytes (0: whole) into a buffer the
 * caller frees; *n gets the length or -1. */
static char *
prune_text(const char *text, size_t len, size_t chunk, ssize_t *n,
	   struct prune_shape *sh)
{
	char *out = malloc(len + 1);
	struct prune p;
	ssize_t k = 0, m;

	if (sh)
		sh->keys = keys;
	prune_init(&p, sh);
	if (!chunk)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len && k >= 0; off += chunk) {
		m = prune_feed(&p, text + off,
			       len - off < chunk ? len - off : chunk, out + k);
		k = m < 0 ? -1 : k + m;
	}
	if (k >= 0)
		out[k] = '\0';
	*n = k;
	return out;
}

static struct json_object *
parse(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(128);
	struct json_object *o = json_tokener_parse_ex(tok, s, (int)len);

	json_tokener_free(tok);
	return o;
}

/* The pruned output of text, whole. */
static void
is_pruned(const char *text, const char *want, const char *what)
{
	ssize_t n;
	char *out = prune_text(text, strlen(text), 0, &n, NULL);

	if (!want)
		ok(n < 0, "%s: not pruned", what);
	else
		is_str(n >= 0 ? out : "(failed)", want, "%s", what);
	free(out);
}

/* The output is the same whole, byte by byte and at every split. */
static bool
same_in_chunks(const char *text, size_t len)
{
	ssize_t n, k;
	char *whole = prune_text(text, len, 0, &n, NULL), *part;
	bool same = true;

	for (size_t chunk = 1; chunk <= 3 && same; chunk++) {
		part = prune_text(text, len, chunk, &k, NULL);
		same = n == k && (n < 0 || memcmp(whole, part, (size_t)n) == 0);
		free(part);
	}
	for (size_t cut = 0; cut <= len && same; cut++) {
		struct prune p;
		char *out = malloc(len + 1);
		ssize_t a, b = 0;

		prune_init(&p, NULL);
		a = prune_feed(&p, text, cut, out);
		if (a >= 0)
			b = prune_feed(&p, text + cut, len - cut, out + a);
		same = (n < 0) == (a < 0 || b < 0) &&
		       (n < 0 ||
			(a + b == n && memcmp(whole, out, (size_t)n) == 0));
		free(out);
	}
	free(whole);
	return same;
}

/* Pruned whole and in chunks alike, and parsed as the original. */
static bool
reads_as_original(const char *text, size_t len)
{
	ssize_t n;
	char *out = prune_text(text, len, 0, &n, NULL);
	struct json_object *a = parse(text, len), *b;
	bool good;

	b = n >= 0 ? parse(out, (size_t)n) : NULL;
	good = n >= 0 && !a == !b && (!a || pruned_same(a, b));
	json_object_put(a);
	json_object_put(b);
	free(out);
	return good && same_in_chunks(text, len);
}

/* An invalid text: the pruner gives up, or json-c rejects its output. */
static bool
stays_invalid(const char *text, size_t len)
{
	ssize_t n;
	char *out = prune_text(text, len, 0, &n, NULL);
	struct json_object *a = parse(text, len), *b = NULL;
	bool good;

	if (n >= 0)
		b = parse(out, (size_t)n);
	good = !a && !b;
	json_object_put(a);
	json_object_put(b);
	free(out);
	return good && same_in_chunks(text, len);
}

static void
test_basics(void)
{
	is_pruned("{ \"a\" : 1 ,\n\t\"b\" : [ true , null , -2.5e+3 ] }\r\n",
		  "{\"a\":1,\"b\":[true,null,-2.5e+3]}", "whitespace dropped");
	is_pruned("[1 2]", "[1 2]", "space between bare tokens kept");
	is_pruned("[1   \n 2]", "[1 2]", "and cut to one");
	is_pruned("{\"a\":1} trailing \"junk", "{\"a\":1}",
		  "text after the top-level value dropped");
	is_pruned("\"s\"  x", "\"s\"", "after a top-level string too");
	is_pruned(" 12 x", "12 ", "a top-level number keeps its end");
	is_pruned("12,", "12,", "whatever byte ends it");
	is_pruned("{\"a\":1} /* c */", NULL, "a comment after the value");
	is_pruned("12 /", NULL, "after a top-level number too");
	is_pruned("{\"a\":/* c */1}", NULL, "a comment inside");
	is_pruned("{'a':1}", NULL, "single quotes");
	is_pruned("[1}", NULL, "mismatched closer");
	is_pruned("]", NULL, "closer at the top");
	is_pruned("", "", "nothing");
	ok(reads_as_original("{\"a\":\"b\"}", 9), "a small object");
	ok(reads_as_original("[1 2]", 5) && reads_as_original("tr ue", 5) &&
		   reads_as_original("{\"a\":tru e}", 11) &&
		   reads_as_original("[\"a\" \"b\"]", 9),
	   "invalid texts stay invalid");
	ok(reads_as_original("{\"a\":1,}", 8) && reads_as_original("[1,]", 4) &&
		   reads_as_original("[NaN, -Infinity, True]", 22),
	   "json-c's extensions read the same");
	ok(reads_as_original("{\"a\":\0 1}", 9) &&
		   reads_as_original("{\"a\":1}\0", 8),
	   "NUL bytes outside strings");
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_bound(void)
{
	char text[1024], want[1024];
	char *s127 = repeat('a', 127), *s128 = repeat('a', 128);
	char *s129 = repeat('a', 129), *s300 = repeat('a', 300);

	snprintf(text, sizeof(text), "[\"%s\",\"%s\"]", s127, s128);
	is_pruned(text, text, "127 and 128 characters kept whole");
	snprintf(text, sizeof(text), "[\"%s\"]", s129);
	snprintf(want, sizeof(want), "[\"%s\"]", s128);
	is_pruned(text, want, "129 cut to 128");
	snprintf(text, sizeof(text), "{\"k\":\"%s\"}", s300);
	snprintf(want, sizeof(want), "{\"k\":\"%s\"}", s128);
	is_pruned(text, want, "300 cut to 128");
	snprintf(text, sizeof(text), "{\"%s\":\"%s\"}", s300, s300);
	snprintf(want, sizeof(want), "{\"%s\":\"%s\"}", s300, s128);
	is_pruned(text, want, "a long key kept whole");
	ok(reads_as_original(text, strlen(text)), "and read as the original");
	free(s127);
	free(s128);
	free(s129);
	free(s300);
}

/* An escape at every position around the cut, in a string that runs on
 * past it: the value json-c reads is a prefix, the chunks agree. */
static void
test_escapes(void)
{
	static const char *const escs[] = {
		"\\\"",	   "\\\\",	     "\\/",	 "\\n",
		"\\u00e9", "\\ud83d\\ude00", "\\\\\\\"", "\\\\\\\\",
		"\\uD83D", "\\udc00",	     "\\u0000"
	};
	/* the first 8 are good, the rest bad */
	static const char *const tail_escs[] = {
		"\\\"",	    "\\\\\\\\\\\"",    "\\u00e9",   "\\uABcd\\n",
		"\\\\\\\\", "\\b\\f\\r\\t\\/", "\\\\u0041", "\\ud83d\\ude00",
		"\\x",	    "\\u00g9",	       "\\U0041",   "\\\\\\x",
		"\\u12",    "\\\\\\\\\\\\\\'"
	};
	char text[2048];
	bool good = true;

	for (size_t e = 0; e < sizeof(escs) / sizeof(escs[0]); e++) {
		for (size_t at = 110; at < 140 && good; at++) {
			char *head = repeat('h', at), *tail = repeat('t', 20);

			snprintf(text, sizeof(text),
				 "{\"s\":\"%s%s%s\",\"n\":1}", head, escs[e],
				 tail);
			good = reads_as_original(text, strlen(text));
			if (!good)
				diag("escape %s at %zu", escs[e], at);
			free(head);
			free(tail);
		}
	}
	ok(good, "escapes at every position around the cut");
	for (size_t at = 100; at < 140 && good; at++) {
		char *head = repeat('h', at);

		snprintf(text, sizeof(text),
			 "[\"%s\\ud83d\\ude00\\ud83d\\ude00"
			 "\\ud83d\\ude00xyz\"]",
			 head);
		good = reads_as_original(text, strlen(text));
		free(head);
	}
	ok(good, "a cut never splits a surrogate pair");
	/* the cut tail is passed over 64 bytes at a time where the CPU
	 * can: escapes good and bad at every offset of such a block, and
	 * runs of backslashes across its end */
	for (size_t e = 0; e < sizeof(tail_escs) / sizeof(tail_escs[0]); e++)
		for (size_t at = 130; at < 270 && good; at++) {
			char *head = repeat('h', at), *rest = repeat('t', 90);

			snprintf(text, sizeof(text),
				 "{\"s\":\"%s%s%s\",\"n\":1}", head,
				 tail_escs[e], rest);
			good = e < 8 ? reads_as_original(text, strlen(text))
				     : stays_invalid(text, strlen(text));
			if (!good)
				diag("tail escape %s at %zu", tail_escs[e], at);
			free(head);
			free(rest);
		}
	ok(good, "escapes good and bad at every offset of the cut tail");
	is_pruned("[\"a\\\\\"]", "[\"a\\\\\"]", "\\\\ then the closing quote");
	is_pruned("[\"a\\\"\"]", "[\"a\\\"\"]", "\\\" inside");
}

/* What json-c rejects in the part that is cut is still rejected. */
static void
test_invalid_tail(void)
{
	static const char *const bad[] = { "\\x",   "\\u12g4", "\\U0041",
					   "\\u12", "\0",      "\\" };
	char text[1024];
	bool good = true;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t at = 120; at < 300; at += 60) {
			char *head = repeat('h', at);
			size_t len;

			len = (size_t)snprintf(text, sizeof(text),
					       "{\"s\":\"%s", head);
			memcpy(text + len, bad[i], strlen(bad[i]) + 1);
			len += bad[i][0] ? strlen(bad[i]) : 1;
			memcpy(text + len, "zz\"}", 5);
			len += 4;
			good = stays_invalid(text, len);
			if (!good)
				diag("%zu at %zu", i, at);
			free(head);
		}
	}
	ok(good, "bad escapes and NUL bytes fail in the head and the cut part");
}

static void
test_depth(void)
{
	char text[2 * PRUNE_DEPTH + 8];
	ssize_t n;
	char *out;

	memset(text, '[', PRUNE_DEPTH);
	memset(text + PRUNE_DEPTH, ']', PRUNE_DEPTH);
	out = prune_text(text, 2 * PRUNE_DEPTH, 0, &n, NULL);
	ok(n == 2 * PRUNE_DEPTH, "%d levels followed", PRUNE_DEPTH);
	free(out);
	memset(text, '[', PRUNE_DEPTH + 1);
	out = prune_text(text, PRUNE_DEPTH + 1, 0, &n, NULL);
	ok(n < 0, "one more fails (json-c stops at 128)");
	free(out);
	ok(reads_as_original("[[[[{\"a\":[{\"b\":{}}]}]]]]", 24),
	   "nested arrays and objects");
}

/* Every JSON body and every SSE event's data in the fixtures. */
static void
test_fixtures(void)
{
	static const char *const names[] = { "anthropic.json",
					     "cloudcode.json",
					     "cloudcode_request.json",
					     "gemini_public.json",
					     "gemini_public_stream_array.json",
					     "openai_chat.json",
					     "openai_responses.json",
					     "anthropic_stream.sse",
					     "anthropic_stream_error.sse",
					     "cloudcode_stream.sse",
					     "cloudcode_trailing_usage.sse",
					     "gemini_public_stream.sse",
					     "gemini_stream_growing_usage.sse",
					     "openai_chat_stream.sse",
					     "openai_responses_stream.sse" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len = 0, events = 0;
		char *buf = tap_fixture(names[i], &len), *line, *save = NULL;
		bool good = buf != NULL;

		if (good && !strstr(names[i], ".sse")) {
			good = reads_as_original(buf, len);
			events = 1;
		}
		for (line = good && strstr(names[i], ".sse")
				    ? strtok_r(buf, "\r\n", &save)
				    : NULL;
		     line && good; line = strtok_r(NULL, "\r\n", &save)) {
			if (strncmp(line, "data:", 5) != 0)
				continue;
			good = reads_as_original(line + 5, strlen(line + 5));
			events++;
		}
		ok(good && events > 0, "%s: %zu texts read as the original",
		   names[i], events);
		free(buf);
	}
}

/* A stream event of Cloud Code's shape. */
static size_t
event(char *out, size_t size, const char *text, long tokens, const char *model,
      const char *finish)
{
	return (size_t)snprintf(
		out, size,
		"{\"response\": {\"candidates\": "
		"[{\"content\": {\"role\": \"model\",\"parts\": "
		"[{\"text\": \"%s\"}]}%s%s%s}],\"usageMetadata\": "
		"{\"promptTokenCount\": 14876,\"candidatesTokenCount\": %ld,"
		"\"totalTokenCount\": %ld},"
		"\"modelVersion\": \"%s\",\"responseId\": \"r-%ld\"},"
		"\"traceId\": \"7c2e\"}",
		text, finish ? ",\"finishReason\": \"" : "",
		finish ? finish : "", finish ? "\"" : "", tokens,
		14876 + tokens, model, tokens);
}

static bool
alike(const char *a, size_t alen, const char *b, size_t blen)
{
	struct prune_shape sa, sb;
	ssize_t na, nb;
	char *pa = prune_text(a, alen, 0, &na, &sa);
	char *pb = prune_text(b, blen, 0, &nb, &sb);
	bool same = na >= 0 && nb >= 0 &&
		    prune_alike(pa, (size_t)na, &sa, pb, (size_t)nb, &sb);

	free(pa);
	free(pb);
	return same;
}

static void
test_alike(void)
{
	char a[2048], b[2048];
	char *longtext = repeat('w', 700);
	size_t al, bl;

	al = event(a, sizeof(a), "Hello", 5, "gemini-2.5-pro", NULL);
	bl = event(b, sizeof(b), longtext, 123456, "gemini-2.5-pro", NULL);
	ok(alike(a, al, b, bl), "other text, tokens and id: alike");
	ok(alike(b, bl, a, al), "both ways");
	bl = event(b, sizeof(b), "Hello", 5, "gemini-3-pro", NULL);
	ok(!alike(a, al, b, bl), "another model: not alike");
	bl = event(b, sizeof(b), "Hello", 5, "gemini-2.5-pro", "STOP");
	ok(!alike(a, al, b, bl), "a finishReason: not alike");
	al = event(a, sizeof(a), "Hello", 5, "gemini-2.5-pro", "MAX_TOKENS");
	ok(!alike(a, al, b, bl), "another finishReason: not alike");
	al = event(a, sizeof(a), "Hello", 5, "gemini-2.5-pro", NULL);
	ok(!alike("{\"a\":1}", 7, "{\"a\":1.0}", 9), "an int and a double");
	ok(!alike("{\"a\":1}", 7, "{\"a\":01}", 8), "a leading zero");
	ok(alike("{\"a\":-123456789012345678}", 25, "{\"a\":0}", 7),
	   "18 digits are an int64 whatever they are");
	ok(!alike("{\"a\":1234567890123456789}", 25,
		  "{\"a\":1234567890123456788}", 25),
	   "19 digits compared");
	ok(!alike("{\"a\":1}", 7, "{\"b\":1}", 7), "another key");
	ok(!alike("{\"a\":\"x\"}", 9, "{\"a\":1}", 7), "a string and an int");
	ok(!alike("{\"type\":\"x\"}", 12, "{\"type\":\"y\"}", 12),
	   "a listed key's value is compared");
	ok(!alike("{\"typ\\u0065\":\"x\"}", 17, "{\"typ\\u0065\":\"y\"}", 17),
	   "and so is an escaped key's");
	ok(alike("{\"typ\":\"x\"}", 11, "{\"typ\":\"y\"}", 11),
	   "another key's is not");
	ok(alike("[\"type\",\"x\"]", 12, "[\"type\",\"y\"]", 12),
	   "nor an array's strings");
	ok(!alike("{\"a\":\"x\0\"}", 10, "{\"a\":\"xy\"}", 10),
	   "a NUL in a string: alike to nothing");
	ok(!alike("[1 2]", 5, "[1 3]", 5) || !parse("[1 3]", 5),
	   "invalid texts: alike only when both fail");
	ok(!alike("{\"a\":1}", 7, "{\"a\":1", 6), "a cut text");
	free(longtext);
}

/* The spans of r, found unpruned, are those the pruner notes in p. */
static bool
same_spans(const struct prune_shape *r, const struct prune_shape *p)
{
	if (r->n != p->n)
		return false;
	for (size_t i = 0; i < r->n; i++)
		if (r->span[i].raw_start != p->span[i].raw_start ||
		    r->span[i].raw_end != p->span[i].raw_end ||
		    r->span[i].string != p->span[i].string)
			return false;
	return true;
}

/* b unpruned against a pruned: alike, and then b prunes alike too, its
 * spans where the pruner finds them. */
static bool
alike_raw(const char *a, const char *b)
{
	struct prune_shape sa, sb, sr;
	ssize_t na, nb;
	char *pa = prune_text(a, strlen(a), 0, &na, &sa);
	char *pb = NULL;
	bool same;

	sr.keys = keys;
	same = na >= 0 && prune_alike_raw(a, strlen(a), &sa, b, strlen(b), &sr);
	if (same) {
		pb = prune_text(b, strlen(b), 0, &nb, &sb);
		if (!(nb >= 0 &&
		      prune_alike(pa, (size_t)na, &sa, pb, (size_t)nb, &sb)))
			diag("prune_alike_raw() but not prune_alike(): %s", b);
		else if (!same_spans(&sr, &sb))
			diag("prune_alike_raw() spans not the pruner's: %s", b);
	}
	free(pa);
	free(pb);
	return same;
}

/* c unpruned against b, itself taken unpruned for alike to a: the
 * shape prune_alike_raw() found for b serves for c, spans that did not
 * change included. */
static bool
alike_raw_chain(const char *a, const char *b, const char *c)
{
	struct prune_shape sa, sb, sc, sp;
	ssize_t na, nc;
	char *pa = prune_text(a, strlen(a), 0, &na, &sa);
	char *pc;
	bool same;

	sb.keys = sc.keys = keys;
	same = na >= 0 &&
	       prune_alike_raw(a, strlen(a), &sa, b, strlen(b), &sb) &&
	       prune_alike_raw(b, strlen(b), &sb, c, strlen(c), &sc);
	if (same) {
		pc = prune_text(c, strlen(c), 0, &nc, &sp);
		if (nc < 0 || !same_spans(&sc, &sp)) {
			diag("chain: spans not the pruner's: %s", c);
			same = false;
		}
		free(pc);
	}
	free(pa);
	return same;
}

static void
test_alike_raw(void)
{
	static const char a[] = "{\"a\": \"xx\", \"n\":12,\"model\":\"m\","
				"\"l\":[1,\"q\"]}";

	ok(alike_raw(a, "{\"a\": \"yyy\\n\\u00e9\", \"n\":-345,"
			"\"model\":\"m\",\"l\":[0,\"\\\"r\"]}"),
	   "raw: other strings and integers in the spans");
	ok(!alike_raw(a, "{\"a\":\"xx\", \"n\":12,\"model\":\"m\","
			 "\"l\":[1,\"q\"]}"),
	   "raw: other space: not alike");
	ok(!alike_raw(a, "{\"a\": \"x\\x\", \"n\":12,\"model\":\"m\","
			 "\"l\":[1,\"q\"]}"),
	   "raw: a bad escape in a span");
	ok(!alike_raw(a, "{\"a\": \"x\\u00g0\", \"n\":12,\"model\":\"m\","
			 "\"l\":[1,\"q\"]}"),
	   "raw: a bad \\u escape in a span");
	ok(!alike_raw(a, "{\"a\": \"xx\", \"n\":012,\"model\":\"m\","
			 "\"l\":[1,\"q\"]}"),
	   "raw: a leading zero");
	ok(!alike_raw(a, "{\"a\": \"xx\", \"n\":1234567890123456789,"
			 "\"model\":\"m\",\"l\":[1,\"q\"]}"),
	   "raw: 19 digits");
	ok(!alike_raw(a, "{\"a\": \"xx\", \"n\":1.5,\"model\":\"m\","
			 "\"l\":[1,\"q\"]}"),
	   "raw: a double");
	ok(!alike_raw(a, "{\"a\": \"xx\", \"n\":12,\"model\":\"M\","
			 "\"l\":[1,\"q\"]}"),
	   "raw: another model");
	ok(!alike_raw(a, "{\"a\": \"xx\", \"n\":12,\"model\":\"m\","
			 "\"l\":[1,\"q\"]} "),
	   "raw: a byte more at the end");
	ok(!alike_raw(a, "{\"a\": \"xx"), "raw: cut in a span");
	ok(alike_raw(a, "{\"a\": \"xx\", \"n\":120,\"model\":\"m\","
			"\"l\":[1,\"q\"]}"),
	   "raw: an integer one digit longer, the rest the same");
	ok(alike_raw(a, "{\"a\": \"xx\", \"n\":12,\"model\":\"m\","
			"\"l\":[1,\"qq\"]}"),
	   "raw: only the last span another");
	ok(!alike_raw(a, "{\"a\": \"xx\", \"n\":12 ,\"model\":\"m\","
			 "\"l\":[1,\"q\"]}"),
	   "raw: a byte more right after a span the same");
	ok(alike_raw_chain(a,
			   "{\"a\": \"xxxx\", \"n\":12,\"model\":\"m\","
			   "\"l\":[1,\"q\"]}",
			   "{\"a\": \"x\", \"n\":12,\"model\":\"m\","
			   "\"l\":[7,\"q\"]}"),
	   "raw: a chain, spans moved by the first one's length");
	ok(!alike_raw_chain(a,
			    "{\"a\": \"xxxx\", \"n\":12,\"model\":\"m\","
			    "\"l\":[1,\"q\"]}",
			    "{\"a\": \"x\", \"n\":12,\"model\":\"m\","
			    "\"l\":[1,\"q\" ]}"),
	   "raw: a chain, a byte more past the moved spans");
}

/* Every byte outside the spans counts, wherever the compare's blocks
 * fall: a's one byte changed anywhere but in a span's contents, at every
 * length of the text before it, is not alike; nor is a raw CR or LF in a
 * span, which would end an SSE data line. */
static void
test_alike_raw_bytes(void)
{
	char a[512], b[512];
	bool each = true;
	int n;

	for (int pad = 0; pad < 80 && each; pad++) {
		n = snprintf(a, sizeof(a),
			     "{\"a\":\"%.*s\",\"model\":\"%0100d\",\"n\":5,"
			     "\"modelVersion\":\"v\"}",
			     pad,
			     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			     0);
		for (int i = 0; i < n && each; i++) {
			/* the contents of "a" and of the integer are spans */
			if ((i >= 6 && i < 6 + pad) || a[i] == '5')
				continue;
			memcpy(b, a, (size_t)n + 1);
			b[i] = b[i] == '#' ? '%' : '#';
			if (alike_raw(a, b)) {
				diag("pad %d: byte %d changed, still alike",
				     pad, i);
				each = false;
			}
		}
	}
	ok(each, "raw: any byte outside the spans changed: not alike");
	ok(!alike_raw("{\"a\":\"x\"}", "{\"a\":\"x\ny\"}"), "raw: a raw LF");
	ok(!alike_raw("{\"a\":\"x\"}", "{\"a\":\"x\ry\"}"), "raw: a raw CR");
}

/* What prune_string_close() takes, byte by byte against json-c's rules:
 * every byte alone and after a backslash, and every byte in each digit
 * of a \u escape, at every offset of the vector blocks. */
static bool
close_ok(const char *in, size_t len, size_t want)
{
	const char *e = prune_string_close(in, in + len);

	return want == SIZE_MAX ? e == NULL : e == in + want;
}

static void
test_string_close_bytes(void)
{
	char in[256];
	bool each = true;

	for (int at = 0; at < 80 && each; at++) {
		for (int c = 0; c < 256 && each; c++) {
			bool stop = c == '"' || c == '\\' || c == 0 ||
				    c == '\n' || c == '\r';
			bool esc = c && strchr("\"\\/bfnrt", c);
			bool hex = c && strchr("0123456789abcdefABCDEF", c);

			memset(in, 'x', sizeof(in));
			in[200] = '"';
			in[at] = (char)c;
			each &= close_ok(in, sizeof(in),
					 c == '"' ? (size_t)at
					 : stop	  ? SIZE_MAX
						  : 200);
			in[at] = '\\';
			in[at + 1] = (char)c;
			each &= close_ok(in, sizeof(in), esc ? 200 : SIZE_MAX);
			for (int d = 0; d < 4 && each; d++) {
				memcpy(in + at, "\\u00e9", 6);
				in[at + 2 + d] = (char)c;
				each &= close_ok(in, sizeof(in),
						 hex ? 200 : SIZE_MAX);
			}
			if (!each)
				diag("byte 0x%02x at %d", c, at);
		}
	}
	ok(each, "string close: every byte, alone, escaped, in a \\u");
}

/* prune_alike_raw_head(): a followed by its line ends, b by the next
 * event. */
static void
test_alike_raw_head(void)
{
	static const char a[] = "{\"a\": \"xx\", \"n\":12}\n\n";
	static const char b[] = "{\"a\": \"yyy\", \"n\":3}\n\ndata: {}";
	struct prune_shape sa, sb;
	ssize_t na;
	char *pa = prune_text(a, strlen(a) - 2, 0, &na, &sa);

	sb.keys = keys;
	is_int(na >= 0 ? prune_alike_raw_head(a, strlen(a), &sa, b, strlen(b),
					      &sb)
		       : 99,
	       strlen(b) - strlen("data: {}"), "raw head: b's event matched");
	is_int(prune_alike_raw_head(a, strlen(a), &sa, b, 10, &sb), 0,
	       "raw head: b cut short");
	is_int(prune_alike_raw_head(a, strlen(a), &sa,
				    "{\"a\": \"yyy\", "
				    "\"n\":3}\n\r",
				    22, &sb),
	       0, "raw head: other line ends");
	free(pa);
}

static void
test_parse(void)
{
	struct json_tokener *tok = json_tokener_new_ex(128);
	char slice[PRUNE_SLICE], *body, *p, *heap;
	size_t len = 3 << 20;
	struct json_object *o, *m;

	body = malloc(len + 64);
	p = body + sprintf(body, "{\"request\":{\"contents\":[{\"text\":\"");
	memset(p, 'x', len);
	p += len;
	p += sprintf(p, "\"}]},\"model\":\"m-1\"}");
	o = prune_parse(tok, body, (size_t)(p - body), 1 << 20, slice);
	ok(json_object_object_get_ex(o, "model", &m) &&
		   strcmp(json_object_get_string(m), "m-1") == 0,
	   "a 3 MiB body read within a 1 MiB bound, the model at its end");
	json_object_put(o);
	o = prune_parse(tok, "{\"model\":\"c\"} /* x */", 21, 64, slice);
	ok(o && json_object_object_get_ex(o, "model", &m),
	   "a comment: the original is parsed");
	json_object_put(o);
	ok(!prune_parse(tok, "{\"model\":\"c\"} /* x */", 21, 8, slice),
	   "but not past the bound");
	ok(!prune_parse(tok, "{\"model\":\"c\"} // x", 18, 64, slice),
	   "nor when json-c waits for the comment's end");
	ok(!prune_parse(tok, "{\"model\":\"c\"", 12, 64, slice),
	   "a cut body gives nothing");
	free(body);
	/* A space held back at a slice's end comes out with the next slice,
	 * whose bytes all stay: one more byte out than in. The slice is on
	 * the heap so that ASan sees a byte written past it. */
	body = malloc(3 * PRUNE_SLICE);
	p = body + sprintf(body, "{\"a\":[");
	while (p < body + PRUNE_SLICE - 2)
		p += sprintf(p, "0,");
	*p++ = '1';
	*p++ = ' ';
	while (p < body + 2 * PRUNE_SLICE + 8)
		*p++ = '2';
	p += sprintf(p, "],\"model\":\"m\"}");
	heap = malloc(PRUNE_SLICE);
	ok(!prune_parse(tok, body, (size_t)(p - body), 1 << 20, heap),
	   "a held space stays within the slice (json-c rejects 1 2)");
	free(heap);
	free(body);
	json_tokener_free(tok);
}

int
main(void)
{
	test_basics();
	test_bound();
	test_escapes();
	test_invalid_tail();
	test_depth();
	test_fixtures();
	test_alike();
	test_alike_raw();
	test_alike_raw_bytes();
	test_alike_raw_head();
	test_string_close_bytes();
	test_parse();
	return tap_done();
}
