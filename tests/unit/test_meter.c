/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_meter.c - the meter against every fixture in tests/fixtures with
 * the exact numbers of expected.json: whole, byte by byte, at every
 * two-chunk split, at the offsets of splits.json, and compressed with
 * gzip, deflate (zlib and raw), brotli and zstd. Then the endpoint and
 * model fallbacks, error and non-usage responses.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <json-c/json.h>
#include <zlib.h>
#include <zstd.h>

#include "meter/meter.h"
#include "tap.h"

struct fixture {
	const char *name;
	char *buf;
	size_t len;
	const char *ctype;
	struct json_object *want;
};

/* Meters a copy of p, scrubbed once the call is done, as the proxy reuses
 * its buffer: an event the meter held in place past the call would show
 * it. */
static void
feed(struct meter *m, const char *p, size_t n)
{
	char *copy = malloc(n ? n : 1);

	if (!copy)
		abort();
	memcpy(copy, p, n);
	meter_chunk(m, copy, n);
	memset(copy, 'Z', n);
	free(copy);
}

/* Meters body cut at cuts[] (ascending offsets), or in chunks of `chunk`
 * bytes when ncuts is 0 (0: whole). */
static int
meter_run(const char *ctype, const char *coding, const char *body, size_t len,
	  const size_t *cuts, size_t ncuts, size_t chunk,
	  struct usage_record *out)
{
	struct meter_request req = { "POST",  "api.example",
				     "/v1/x", "application/json",
				     NULL,    0,
				     NULL };
	struct meter *m = meter_new(&req);
	size_t prev = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!m)
		return -1;
	meter_response(m, 200, ctype, coding);
	if (ncuts) {
		for (size_t i = 0; i <= ncuts; i++) {
			size_t cut = i < ncuts ? cuts[i] : len;

			feed(m, body + prev, cut - prev);
			prev = cut;
		}
	} else {
		if (!chunk)
			chunk = len ? len : 1;
		for (size_t off = 0; off < len; off += chunk)
			feed(m, body + off,
			     len - off < chunk ? len - off : chunk);
	}
	rc = meter_finish(m, true, out);
	meter_free(m);
	return rc;
}

static int64_t
want_int(struct json_object *w, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(w, key, &v) ? json_object_get_int64(v)
						     : -1;
}

static bool
want_bool(struct json_object *w, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(w, key, &v) &&
	       json_object_get_boolean(v);
}

static const char *
want_str(struct json_object *w, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(w, key, &v) ? json_object_get_string(v)
						     : "";
}

/* True when r matches the expectation; else describes the first miss. */
static bool
matches(const struct usage_record *r, struct json_object *w, char *why,
	size_t n)
{
	const struct {
		const char *key;
		int64_t got;
	} f[] = {
		{ "input_tokens", r->input_tokens },
		{ "output_tokens", r->output_tokens },
		{ "thinking_tokens", r->thinking_tokens },
		{ "cached_tokens", r->cached_tokens },
		{ "cache_creation_tokens", r->cache_creation_tokens },
		{ "total_tokens", r->total_tokens },
		{ "complete", r->complete },
		{ "has_usage", r->has_usage },
	};

	if (strcmp(r->model, want_str(w, "model")) != 0) {
		snprintf(why, n, "model %.100s", r->model);
		return false;
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		int64_t want = !strcmp(f[i].key, "has_usage") ? 1
			       : !strcmp(f[i].key, "complete")
				       ? want_bool(w, "complete")
				       : want_int(w, f[i].key);

		if (f[i].got != want) {
			snprintf(why, n, "%s %lld, want %lld", f[i].key,
				 (long long)f[i].got, (long long)want);
			return false;
		}
	}
	return true;
}

static void
check_whole(const struct fixture *fx)
{
	struct usage_record r;
	struct json_object *raw;
	int rc = meter_run(fx->ctype, NULL, fx->buf, fx->len, NULL, 0, 0, &r);

	is_int(rc, 1, "%s: carries usage", fx->name);
	is_str(r.model, want_str(fx->want, "model"), "%s: model", fx->name);
	is_int(r.input_tokens, want_int(fx->want, "input_tokens"), "%s: input",
	       fx->name);
	is_int(r.output_tokens, want_int(fx->want, "output_tokens"),
	       "%s: output", fx->name);
	is_int(r.thinking_tokens, want_int(fx->want, "thinking_tokens"),
	       "%s: thinking", fx->name);
	is_int(r.cached_tokens, want_int(fx->want, "cached_tokens"),
	       "%s: cached", fx->name);
	is_int(r.cache_creation_tokens,
	       want_int(fx->want, "cache_creation_tokens"),
	       "%s: cache_creation", fx->name);
	is_int(r.total_tokens, want_int(fx->want, "total_tokens"), "%s: total",
	       fx->name);
	is_int(r.complete, want_bool(fx->want, "complete"), "%s: complete",
	       fx->name);
	is_str(r.error,
	       strcmp(fx->name, "anthropic_stream_error.sse")
		       ? ""
		       : "overloaded_error",
	       "%s: error", fx->name);
	raw = json_tokener_parse(r.raw);
	ok(json_object_is_type(raw, json_type_object),
	   "%s: raw usage is a JSON object", fx->name);
	json_object_put(raw);
}

static void
check_splits(const struct fixture *fx, struct json_object *splits)
{
	struct usage_record r;
	char why[256] = "";
	bool good = true;
	struct json_object *s, *offs;
	size_t cut, cuts[64], n = 0;

	good = meter_run(fx->ctype, NULL, fx->buf, fx->len, NULL, 0, 1, &r) >=
		       0 &&
	       matches(&r, fx->want, why, sizeof(why));
	ok(good, "%s: byte by byte %s", fx->name, good ? "" : why);
	good = true;
	for (cut = 0; cut <= fx->len && good; cut++) {
		good = meter_run(fx->ctype, NULL, fx->buf, fx->len, &cut, 1, 0,
				 &r) >= 0 &&
		       matches(&r, fx->want, why, sizeof(why));
		if (!good)
			diag("split at %zu: %s", cut, why);
	}
	ok(good, "%s: two chunks, every split of %zu bytes", fx->name, fx->len);
	if (!json_object_object_get_ex(splits, fx->name, &s) ||
	    !json_object_object_get_ex(s, "offsets", &offs))
		return;
	for (size_t i = 0; i < json_object_array_length(offs) && n < 64; i++)
		cuts[n++] = (size_t)json_object_get_int64(
			json_object_array_get_idx(offs, i));
	good = meter_run(fx->ctype, NULL, fx->buf, fx->len, cuts, n, 0, &r) >=
		       0 &&
	       matches(&r, fx->want, why, sizeof(why));
	ok(good, "%s: splits.json offsets %s", fx->name, good ? "" : why);
}

/* Compresses with zlib: bits 31 gzip, 15 zlib, -15 raw deflate. */
static char *
zlib_pack(const char *in, size_t len, int bits, size_t *outlen)
{
	z_stream z = { 0 };
	char *out = NULL;
	size_t cap;

	if (deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return NULL;
	cap = deflateBound(&z, len) + 64;
	if ((out = malloc(cap))) {
		z.next_in = (unsigned char *)(uintptr_t)in;
		z.avail_in = (uInt)len;
		z.next_out = (unsigned char *)out;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
			free(out);
			out = NULL;
		}
		*outlen = z.total_out;
	}
	deflateEnd(&z);
	return out;
}

static char *
pack(const char *coding, const char *in, size_t len, size_t *outlen)
{
	char *out;
	size_t cap;

	if (!strcmp(coding, "gzip"))
		return zlib_pack(in, len, 31, outlen);
	if (!strcmp(coding, "deflate"))
		return zlib_pack(in, len, 15, outlen);
	if (!strcmp(coding, "deflate-raw"))
		return zlib_pack(in, len, -15, outlen);
	if (!strcmp(coding, "zstd")) {
		cap = ZSTD_compressBound(len);
		if (!(out = malloc(cap)))
			return NULL;
		*outlen = ZSTD_compress(out, cap, in, len, 3);
		if (ZSTD_isError(*outlen)) {
			free(out);
			return NULL;
		}
		return out;
	}
	cap = BrotliEncoderMaxCompressedSize(len);
	if (!(out = malloc(cap)))
		return NULL;
	*outlen = cap;
	if (!BrotliEncoderCompress(5, 22, BROTLI_MODE_GENERIC, len,
				   (const uint8_t *)in, outlen,
				   (uint8_t *)out)) {
		free(out);
		return NULL;
	}
	return out;
}

static void
check_compressed(const struct fixture *fx)
{
	static const char *const codings[] = { "gzip", "deflate", "deflate-raw",
					       "br", "zstd" };
	static const size_t chunks[] = { 1, 7, 100, 0 };
	struct usage_record r;
	char why[256] = "";

	for (size_t i = 0; i < sizeof(codings) / sizeof(codings[0]); i++) {
		const char *hdr = strncmp(codings[i], "deflate", 7) ? codings[i]
								    : "deflate";
		size_t zlen = 0;
		char *z = pack(codings[i], fx->buf, fx->len, &zlen);
		bool good = z != NULL;

		for (size_t c = 0; good && c < 4; c++) {
			good = meter_run(fx->ctype, hdr, z, zlen, NULL, 0,
					 chunks[c], &r) >= 0 &&
			       matches(&r, fx->want, why, sizeof(why));
			if (!good)
				diag("chunks of %zu: %s", chunks[c], why);
		}
		ok(good, "%s: %s, in chunks of 1, 7, 100 and whole", fx->name,
		   codings[i]);
		free(z);
	}
}

static void
test_endpoints(void)
{
	static const char *const cases[][2] = {
		{ "/v1internal:streamGenerateContent?alt=sse",
		  "streamGenerateContent" },
		{ "/v1internal:fetchUserInfo", "fetchUserInfo" },
		{ "/v1internal:loadCodeAssist", "loadCodeAssist" },
		{ "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
		  "?alt=sse",
		  "streamGenerateContent" },
		{ "/v1/messages", "messages" },
		{ "/v1/messages?beta=true", "messages" },
		{ "/v1/chat/completions", "chat/completions" },
		{ "/v1/responses", "responses" },
		{ "/v1/responses/", "responses" },
		{ "/api/generate", "api/generate" },
		{ "/", "" },
		{ "", "" },
	};
	char ep[USAGE_ENDPOINT_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		meter_endpoint(cases[i][0], ep, sizeof(ep));
		is_str(ep, cases[i][1], "endpoint of \"%s\"", cases[i][0]);
	}
	meter_endpoint(NULL, ep, sizeof(ep));
	is_str(ep, "", "endpoint of NULL");
	meter_url_model("/v1beta/models/gemini-2.5-flash:streamGenerateContent"
			"?alt=sse",
			ep, sizeof(ep));
	is_str(ep, "gemini-2.5-flash", "URL model before :method");
	meter_url_model("/v1/models/text-embedding-3/embed", ep, sizeof(ep));
	is_str(ep, "text-embedding-3", "URL model before /");
	meter_url_model("/v1/messages?x=/models/nope", ep, sizeof(ep));
	is_str(ep, "", "no URL model in the query string");
}

/* One exchange with a request and a whole response body. */
static int
exchange(const char *path, const char *req_body, int status, const char *ctype,
	 const char *coding, const char *body, size_t len, bool ended,
	 struct usage_record *out)
{
	struct meter_request req = { "POST",   "h.example",
				     path,     "application/json",
				     req_body, req_body ? strlen(req_body) : 0,
				     NULL };
	struct meter *m = meter_new(&req);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!m)
		return -1;
	meter_response(m, status, ctype, coding);
	meter_chunk(m, body, len);
	rc = meter_finish(m, ended, out);
	meter_free(m);
	return rc;
}

static void
test_model_fallbacks(void)
{
	static const char nomodel[] =
		"data: {\"candidates\":[{\"finishReason\":\"STOP\"}],"
		"\"usageMetadata\":{\"promptTokenCount\":5,"
		"\"candidatesTokenCount\":2,\"totalTokenCount\":7}}\n\n";
	static const char resp[] =
		"data: {\"modelVersion\":\"resp\","
		"\"usageMetadata\":{\"promptTokenCount\":1}}\n\n";
	struct usage_record r;
	size_t len = 0;
	char *req = tap_fixture("cloudcode_request.json", &len);

	exchange("/v1internal:streamGenerateContent?alt=sse", req, 200,
		 "text/event-stream", NULL, nomodel, strlen(nomodel), true, &r);
	is_str(r.model, "gemini-2.5-pro", "model from the request body");
	is_str(r.endpoint, "streamGenerateContent", "its endpoint");
	is_int(r.total_tokens, 7, "its total");
	ok(r.complete, "finishReason and a normal end: complete");
	exchange("/v1beta/models/gemini-x:streamGenerateContent?alt=sse", NULL,
		 200, "text/event-stream", NULL, nomodel, strlen(nomodel), true,
		 &r);
	is_str(r.model, "gemini-x", "model from the URL");
	exchange("/v1beta/models/gemini-x:streamGenerateContent?alt=sse",
		 "{\"model\":\"from-body\"}", 200, "text/event-stream", NULL,
		 nomodel, strlen(nomodel), false, &r);
	is_str(r.model, "from-body", "request body beats the URL");
	ok(!r.complete, "cut short: incomplete");
	exchange("/v1/x", "{\"model\":\"from-body\"}", 200, "text/event-stream",
		 NULL, resp, strlen(resp), true, &r);
	is_str(r.model, "resp", "the response's model beats the request's");
	ok(!r.complete, "no finishReason: incomplete");
	free(req);
}

static void
test_no_usage(void)
{
	static const char proto[] = "\x0a\x05hello\x12\x03"
				    "abc";
	static const char gerr[] =
		"{\"error\":{\"code\":429,\"message\":"
		"\"Resource exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}";
	static const char oerr[] =
		"{\"error\":{\"message\":\"bad\","
		"\"type\":\"invalid_request_error\",\"code\":null}}";
	static const char junk[] = "\x1f\x8b\x08\x00garbage-not-gzip....";
	struct usage_record r;
	size_t len = 0;
	char *body = tap_fixture("openai_chat.json", &len);

	is_int(exchange("/v1internal:fetchUserInfo", NULL, 200,
			"application/x-protobuf", NULL, proto,
			sizeof(proto) - 1, true, &r),
	       0, "protobuf: no usage");
	is_str(r.endpoint, "fetchUserInfo", "protobuf: endpoint set");
	is_int(r.status, 200, "protobuf: status set");
	ok(!r.has_usage && r.complete, "protobuf: has_usage 0, complete");
	is_int(exchange("/v1internal:loadCodeAssist", NULL, 200, NULL, NULL, "",
			0, true, &r),
	       0, "empty body: no usage");
	is_str(r.endpoint, "loadCodeAssist", "empty body: endpoint set");
	is_int(exchange("/v1beta/models/g:generateContent", NULL, 429,
			"application/json", NULL, gerr, sizeof(gerr) - 1, true,
			&r),
	       0, "Google 429: no usage");
	is_int(r.status, 429, "Google 429: status");
	is_str(r.error, "RESOURCE_EXHAUSTED", "Google 429: error status");
	is_str(r.model, "g", "Google 429: URL model");
	exchange("/v1/chat/completions", NULL, 400, "application/json", NULL,
		 oerr, sizeof(oerr) - 1, true, &r);
	is_str(r.error, "invalid_request_error", "OpenAI 400: error type");
	is_int(exchange("/v1/chat/completions", NULL, 200, "application/json",
			"gzip", junk, sizeof(junk) - 1, true, &r),
	       0, "corrupt gzip: no usage, no crash");
	ok(!r.complete, "corrupt gzip: incomplete");
	is_int(exchange("/v1/chat/completions", NULL, 200, "application/json",
			"compress", body, len, true, &r),
	       0, "unsupported coding: not metered");
	exchange("/v1/chat/completions", NULL, 200, "application/json", NULL,
		 body, len / 2, true, &r);
	ok(!r.complete, "truncated JSON body: incomplete");
	exchange("/v1/chat/completions", NULL, 200, "text/html", NULL,
		 "<html>no</html>", 15, true, &r);
	ok(!r.has_usage, "HTML body: no usage");
	free(body);
}

/* A gzip bomb is cut off at DECODE_CALL_MAX, not inflated whole. */
static void
test_bomb(void)
{
	size_t n = 64u << 20, zlen = 0;
	char *zeros = calloc(1, n), *z;
	struct usage_record r;

	if (!zeros)
		return;
	z = zlib_pack(zeros, n, 31, &zlen);
	free(zeros);
	is_int(exchange("/v1/x", NULL, 200, "application/json", "gzip", z, zlen,
			true, &r),
	       0, "gzip bomb: stopped, no crash");
	free(z);
}

static void
test_unnamed(void)
{
	/* Anthropic events with the event: lines stripped by a gateway */
	static const char body[] =
		"data: {\"type\":\"message_start\",\"message\":{\"model\":\"c\","
		"\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
		"data: {\"type\":\"message_delta\",\"usage\":"
		"{\"output_tokens\":20}}\n\n"
		"data: {\"type\":\"message_stop\"}\n\n";
	struct usage_record r;

	exchange("/v1/messages", NULL, 200, NULL, NULL, body, sizeof(body) - 1,
		 true, &r);
	ok(r.input_tokens == 10 && r.output_tokens == 20 &&
		   r.total_tokens == 30 && r.complete,
	   "Anthropic without event names, sniffed");
}

/* The body cut in two at every byte: each time, a complete record of
 * model "m1" with these counts. */
static bool
every_split(const char *ct, const char *body, size_t len, int64_t in,
	    int64_t out, int64_t think, int64_t total)
{
	struct usage_record r;

	for (size_t cut = 0; cut <= len; cut++) {
		meter_run(ct, NULL, body, len, &cut, 1, 0, &r);
		if (r.input_tokens != in || r.output_tokens != out ||
		    r.thinking_tokens != think || r.total_tokens != total ||
		    !r.complete || strcmp(r.model, "m1") != 0) {
			diag("split at %zu: in %lld out %lld think %lld", cut,
			     (long long)r.input_tokens,
			     (long long)r.output_tokens,
			     (long long)r.thinking_tokens);
			return false;
		}
	}
	return true;
}
/* Stream events are held back and dropped when the next is alike: what
 * a dropped one set and the next does not overwrite must still count. */
static void
test_held_events(void)
{
	static const char body[] =
		"data: {\"response\":{\"candidates\":[{\"content\":{\"parts\":"
		"[{\"text\":\"one\"}]}}],\"usageMetadata\":"
		"{\"promptTokenCount\":10,"
		"\"candidatesTokenCount\":1,\"thoughtsTokenCount\":5},"
		"\"modelVersion\":\"m1\"}}\n\n"
		"data: {\"response\":{\"candidates\":[{\"content\":{\"parts\":"
		"[{\"text\":\"two\"}]}}],\"usageMetadata\":"
		"{\"promptTokenCount\":10,"
		"\"candidatesTokenCount\":2},\"modelVersion\":\"m1\"}}\n\n"
		"data: {\"response\":{\"candidates\":[{\"content\":{\"parts\":"
		"[{\"text\":\"three\"}]}}],\"usageMetadata\":"
		"{\"promptTokenCount\":10,"
		"\"candidatesTokenCount\":3},\"modelVersion\":\"m1\"}}\n\n"
		"data: {\"response\":{\"candidates\":[{\"content\":{\"parts\":"
		"[{\"text\":\"\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":"
		"{\"promptTokenCount\":10,\"candidatesTokenCount\":4},"
		"\"modelVersion\":\"m1\"}}\n\n"
		": a comment, then an event json-c reads with its comment\n"
		"data: {\"response\":{\"usageMetadata\":{\"promptTokenCount\":11}}}"
		" /* c */\n\n"
		"data: {\"response\":{\"candidates\":[{\"content\":{\"parts\":"
		"[{\"text\":\"six\"}]}}],\"usageMetadata\":"
		"{\"promptTokenCount\":11,"
		"\"candidatesTokenCount\":6},\"modelVersion\":\"m1\"}}\n\n"
		"data: {\"response\":{\"candidates\":[{\"content\":{\"parts\":"
		"[{\"text\":\"seven\"}]}}],\"usageMetadata\":"
		"{\"promptTokenCount\":11,"
		"\"candidatesTokenCount\":7},\"modelVersion\":\"m1\"}}\n\n";
	static const char chat[] =
		"data: {\"object\":\"chat.completion.chunk\",\"model\":\"g\","
		"\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n"
		"data: {\"object\":\"chat.completion.chunk\",\"model\":\"g\","
		"\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
		"\"completion_tokens\":4,\"total_tokens\":7}}\n\n"
		"data: [DONE]\n\n"
		"data: {\"object\":\"chat.completion.chunk\",\"model\":\"g\","
		"\"choices\":[{\"delta\":{\"content\":\"late\"}}],"
		"\"usage\":null}\n\n";
	struct usage_record r;

	ok(every_split("text/event-stream", body, sizeof(body) - 1, 11, 7, 5,
		       23),
	   "held events: a dropped event's fields, "
	   "finishReason and a commented event count, at every split");
	meter_run("text/event-stream", NULL, chat, sizeof(chat) - 1, NULL, 0, 0,
		  &r);
	ok(r.input_tokens == 3 && r.output_tokens == 4 && r.complete &&
		   strcmp(r.model, "g") == 0,
	   "held events around [DONE]");
}

/* Gemini snapshots that repeat the held one's wire text are matched
 * against it before they are split (meter.c's skip hook): an event that
 * looks the same but that the splitter cuts (a raw CR or LF in its text),
 * that json-c rejects, or that is past the event bound must not count,
 * whole or split anywhere, and one that straddles two chunks must not
 * stop the matching after it. The last event sets no output count, so
 * the one counted is the last one taken before it. */
static char *
matched_body(const char *odd, size_t *len)
{
	static const char ev[] =
		"data: {\"response\":{\"candidates\":[{\"content\":{\"parts\":"
		"[{\"text\":\"%s\"}]}}],\"usageMetadata\":"
		"{\"promptTokenCount\":10,\"candidatesTokenCount\":%d},"
		"\"modelVersion\":\"m1\"}}\n\n";
	static const char last[] =
		"data: {\"response\":{\"candidates\":[{\"content\":{\"parts\":"
		"[{\"text\":\"\"}]},\"finishReason\":\"STOP\"}],"
		"\"usageMetadata\":{\"promptTokenCount\":10},"
		"\"modelVersion\":\"m1\"}}\n\n";
	size_t cap = strlen(odd) + 4 * sizeof(ev) + sizeof(last) + 64, n = 0;
	char *b = malloc(cap);

	if (!b)
		abort();
	n += (size_t)snprintf(b + n, cap - n, ev, "one", 1);
	n += (size_t)snprintf(b + n, cap - n, ev, "two", 2);
	n += (size_t)snprintf(b + n, cap - n, ev, odd, 99);
	n += (size_t)snprintf(b + n, cap - n, "%s", last);
	*len = n;
	return b;
}

static void
test_matched_events(void)
{
	static const struct {
		const char *text, *why;
	} odd[] = {
		{ "ab\ncd", "a raw LF in the text" },
		{ "ab\rcd", "a raw CR in the text" },
		{ "ab\r\ncd", "a raw CRLF in the text" },
		{ "ab\\xcd", "an escape json-c rejects" },
	};
	struct usage_record r;
	size_t len, cuts[2];
	char *body, *big;

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		body = matched_body(odd[i].text, &len);
		ok(every_split("text/event-stream", body, len, 10, 2, 0, 12),
		   "matched events: %s: not counted, at every split",
		   odd[i].why);
		free(body);
	}
	body = matched_body("three", &len);
	ok(every_split("text/event-stream", body, len, 10, 99, 0, 109),
	   "matched events: the last alike one counted, at every split");
	free(body);
	/* past the bound: the splitter drops it, and so must the match */
	if (!(big = malloc((1 << 20) + 2)))
		abort();
	memset(big, 'x', (1 << 20) + 1);
	big[(1 << 20) + 1] = '\0';
	body = matched_body(big, &len);
	cuts[0] = 100;
	cuts[1] = len - 300;
	meter_run("text/event-stream", NULL, body, len, NULL, 0, 0, &r);
	ok(r.output_tokens == 2 && r.input_tokens == 10 && r.complete,
	   "matched events: one past the event bound dropped, whole");
	meter_run("text/event-stream", NULL, body, len, cuts, 2, 0, &r);
	ok(r.output_tokens == 2 && r.complete,
	   "matched events: one past the event bound dropped, split");
	free(body);
	free(big);
}

/* A JSON array body's elements are held and dropped as events are; an
 * element json-c rejects still stops metering where it stands. */
static void
test_held_values(void)
{
	static const char body[] =
		"[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"one\"}]}}],"
		"\"usageMetadata\":{\"promptTokenCount\":10,"
		"\"candidatesTokenCount\":1,\"thoughtsTokenCount\":5},"
		"\"modelVersion\":\"m1\"}\r\n,"
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"two\"}]}}],"
		"\"usageMetadata\":{\"promptTokenCount\":10,"
		"\"candidatesTokenCount\":2},\"modelVersion\":\"m1\"},"
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"three\"}]}}],"
		"\"usageMetadata\":{\"promptTokenCount\":11,"
		"\"candidatesTokenCount\":3},\"modelVersion\":\"m1\"} , 7 ,"
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}]},"
		"\"finishReason\":\"STOP\"}],\"usageMetadata\":"
		"{\"promptTokenCount\":11,\"candidatesTokenCount\":4},"
		"\"modelVersion\":\"m1\"}]";
	/* the same, an element cut for a bad one: alike to the one before,
	 * then one that is not */
	static const char *const bad[] = {
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\\x\"}]}}],"
		"\"usageMetadata\":{\"promptTokenCount\":11,"
		"\"candidatesTokenCount\":3},\"modelVersion\":\"m1\"}",
		("{\"usageMetadata\":{\"promptTokenCount\":11,"
		 "\"candidatesTokenCount\":3}\"modelVersion\":\"m1\"}"),
		"0x",
		"nul",
		"1:\"x\"",
	};
	struct usage_record r;
	char buf[2048];

	ok(every_split("application/json", body, sizeof(body) - 1, 11, 4, 5,
		       20),
	   "held values: a dropped element's fields, a "
	   "number and finishReason count, at every split");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *third =
			strstr(body, "{\"candidates\":[{\"content"
				     "\":{\"parts\":[{\"text\":\"three");
		const char *after = strstr(third, " , 7 ,");

		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(third - body),
			 body, bad[i], after);
		meter_run("application/json", NULL, buf, strlen(buf), NULL, 0,
			  0, &r);
		ok(!r.complete && r.output_tokens == 2 && r.input_tokens == 10,
		   "held values: bad element %zu stops "
		   "metering after the one before",
		   i);
	}
	/* a string after a colon at the top level is no number's end */
	meter_run("application/json", NULL, "[1:\"x\"", 7, NULL, 0, 0, &r);
	ok(!r.complete, "held values: a colon after a number, at the end");
}

/* Strings longer than the pruner keeps give what they gave unpruned. */
static void
test_long_strings(void)
{
	char model[301], body[1024], req[512], want[USAGE_MODEL_MAX];
	struct usage_record r;
	size_t big = 9u << 20;
	char *huge = malloc(big + 128), *p;

	memset(model, 'q', 300);
	model[300] = '\0';
	memcpy(model, "m-\\u00e9-", 9);
	snprintf(body, sizeof(body),
		 "data: {\"usageMetadata\":"
		 "{\"promptTokenCount\":1},\"modelVersion\":\"%s\"}\n\n",
		 model);
	snprintf(want, sizeof(want), "m-\xc3\xa9-%.*s", USAGE_MODEL_MAX - 6,
		 model + 9);
	meter_run("text/event-stream", NULL, body, strlen(body), NULL, 0, 0,
		  &r);
	is_str(r.model, want, "a 300-character model: its first %d bytes",
	       USAGE_MODEL_MAX - 1);
	snprintf(req, sizeof(req), "{\"model\": \"%s\"}", model);
	exchange("/v1/x", req, 200, "text/event-stream", NULL, "", 0, true, &r);
	is_str(r.model, want, "and from a request body");
	if (!huge)
		return;
	p = huge + sprintf(huge, "{\"contents\":[{\"text\":\"");
	memset(p, 'x', big);
	p += big;
	sprintf(p, "\"}],\"model\":\"at-the-end\"}");
	exchange("/v1/x", huge, 200, "text/event-stream", NULL, "", 0, true,
		 &r);
	is_str(r.model, "at-the-end", "a 9 MiB request body's model");
	free(huge);
}

int
main(void)
{
	size_t elen = 0, slen = 0;
	char *ejs = tap_fixture("expected.json", &elen);
	char *sjs = tap_fixture("splits.json", &slen);
	struct json_object *exp = ejs ? json_tokener_parse(ejs) : NULL;
	struct json_object *splits = sjs ? json_tokener_parse(sjs) : NULL;
	struct usage_record r;
	char why[256];

	if (!ok(exp && splits, "expected.json and splits.json parse"))
		return tap_done();
	json_object_object_foreach(exp, name, want)
	{
		struct fixture fx = { name, NULL, 0, NULL, want };
		bool sse = strstr(name, ".sse") != NULL;

		fx.ctype = sse ? "text/event-stream" : "application/json";
		if (!ok((fx.buf = tap_fixture(name, &fx.len)) != NULL,
			"%s: read", name))
			continue;
		check_whole(&fx);
		check_splits(&fx, splits);
		check_compressed(&fx);
		ok(meter_run(NULL, NULL, fx.buf, fx.len, NULL, 0, 3, &r) >= 0 &&
			   matches(&r, want, why, sizeof(why)),
		   "%s: no Content-Type, sniffed", name);
		free(fx.buf);
	}
	is_int(exchange("/v1/messages", NULL, 200, "text/event-stream", NULL,
			"", 0, true, &r),
	       0, "empty stream: no usage");
	ok(!r.complete, "empty stream: incomplete");
	test_endpoints();
	test_model_fallbacks();
	test_no_usage();
	test_bomb();
	test_unnamed();
	test_held_events();
	test_matched_events();
	test_held_values();
	test_long_strings();
	json_object_put(exp);
	json_object_put(splits);
	free(ejs);
	free(sjs);
	return tap_done();
}
