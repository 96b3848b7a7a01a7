/* SPDX-License-Identifier: GPL-2.0-or-later
 * meter.c - what metering costs per byte, without the network.
 *
 * Usage: bench/meter [MIB [sse|plain|array|request]]   (default 256, all)
 * Feeds MIB MiB of a Cloud Code style SSE stream (events of about 1 KiB,
 * most of it an 800-byte text part, as the Antigravity LS receives them)
 * through meter_chunk() in 16 KiB chunks, one meter per 1 MiB response,
 * and prints MB/s against the baseline of a memcpy and a memchr pass over
 * the same chunks, measured in the same run; then as much of figure 6's
 * stream (bench/upstream.c's events: LF line ends, one 639-byte text
 * without escapes); then a quarter as much of the first stream's events
 * as a JSON array body (streamGenerateContent without alt=sse). Then
 * times meter_new() on a 1 MiB Cloud Code request body (a long
 * conversation), which reads only its "model". Each record is checked,
 * so a broken meter cannot look fast.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "meter/meter.h"
#include "usage.h"

#define BENCH_CHUNK (16 * 1024)
#define BENCH_STREAM (1024 * 1024)
#define BENCH_TEXT 800

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Model prose: Markdown, code, non-ASCII text, and about one escape
 * every 40 bytes (newlines, quotes, a \u escape) as in real answers. */
static void
text_fill(char *out, size_t len, unsigned seed)
{
	static const char *const words[] = { "the ", "config ", "is ",
		"read ", "before ", "`retries` ", "merged, ", "so ", "\\n\\n",
		"**fix** ", "\\\"default\\\" ", "→ ", "test ", "wins. ",
		"\\u00e9t\\u00e9 ", "parseConfig() ", "user ", "value ",
		"from ", "`src/config.ts` ", "file, ", "which ", "means ",
		"that ", "(3) ", "always ", "loads ", "first; ", "we ",
		"should ", "move ", "it. " };
	size_t n = 0, w;
	unsigned i;

	while (n < len) {
		seed = seed * 1103515245u + 12345u;
		i = (seed >> 16) % (sizeof(words) / sizeof(words[0]));
		w = strlen(words[i]);
		if (n + w > len)
			break;
		memcpy(out + n, words[i], w);
		n += w;
	}
	memset(out + n, 'x', len - n);
	out[len] = '\0';
}

/* One response of about BENCH_STREAM bytes; *out_tokens gets the last
 * candidatesTokenCount, which the meter must report. */
static char *
stream_build(size_t *len, long *out_tokens, long *events)
{
	char *buf = malloc(BENCH_STREAM + 4096), text[BENCH_TEXT + 1];
	size_t n = 0;
	long i;

	if (!buf)
		return NULL;
	for (i = 1; n < BENCH_STREAM; i++) {
		text_fill(text, sizeof(text) - 1, (unsigned)i);
		n += (size_t)snprintf(buf + n, BENCH_STREAM + 4096 - n,
		    "data: {\"response\": {\"candidates\": [{\"content\": "
		    "{\"role\": \"model\",\"parts\": [{\"text\": \"%s\"}]}%s}],"
		    "\"usageMetadata\": {\"promptTokenCount\": 14876,"
		    "\"candidatesTokenCount\": %ld,\"totalTokenCount\": %ld,"
		    "\"cachedContentTokenCount\": 12288,"
		    "\"promptTokensDetails\": [{\"modality\": \"TEXT\","
		    "\"tokenCount\": 14876}],\"thoughtsTokenCount\": 845},"
		    "\"modelVersion\": \"gemini-2.5-pro\","
		    "\"responseId\": \"bench-%ld\"},"
		    "\"traceId\": \"7c2e91b04d3af5e8\"}\r\n\r\n", text,
		    n + 2048 >= BENCH_STREAM ? ",\"finishReason\": \"STOP\"" :
		    "", i * 40, 14876 + 845 + i * 40, i);
	}
	*len = n;
	*out_tokens = (i - 1) * 40;
	*events = i - 1;
	return buf;
}

/* One response of figure 6's events (bench/upstream.c's format). */
static char *
plain_build(size_t *len, long *out_tokens, long *events)
{
	char *buf = malloc(BENCH_STREAM + 4096), text[640];
	size_t n = 0;
	int i;

	if (!buf)
		return NULL;
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (i = 0; n < BENCH_STREAM; i++)
		n += (size_t)snprintf(buf + n, BENCH_STREAM + 4096 - n,
		    "data: {\"t\":%lld,\"i\":%d,\"response\":{\"candidates\":"
		    "[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
		    "\"%s\"}]}}],\"usageMetadata\":{\"promptTokenCount\":1514,"
		    "\"candidatesTokenCount\":%d,\"totalTokenCount\":%d},"
		    "\"modelVersion\":\"bench-model\"}}\n\n",
		    1000000000LL + i * 5000000LL, i, text, i, 1514 + i);
	*len = n;
	*out_tokens = i - 1;
	*events = i;
	return buf;
}

/* A request with a long conversation: BENCH_STREAM bytes of turns. */
static char *
request_build(size_t *len)
{
	size_t cap = BENCH_STREAM + 8192, n = 0;
	char *buf = malloc(cap), text[4096 + 1];

	if (!buf)
		return NULL;
	n += (size_t)snprintf(buf, cap, "{\"model\": \"gemini-2.5-pro\","
	    "\"project\": \"sturdy-otter-4k2m9\",\"request\": "
	    "{\"contents\": [");
	for (unsigned i = 0; n < BENCH_STREAM; i++) {
		text_fill(text, sizeof(text) - 1, i);
		n += (size_t)snprintf(buf + n, cap - n, "%s{\"role\": \"%s\","
		    "\"parts\": [{\"text\": \"%s\"}]}", i ? "," : "",
		    i % 2 ? "model" : "user", text);
	}
	n += (size_t)snprintf(buf + n, cap - n, "],\"generationConfig\": "
	    "{\"temperature\": 0,\"thinkingConfig\": {\"includeThoughts\": "
	    "true,\"thinkingBudget\": -1}}}}");
	*len = n;
	return buf;
}

/* The same events as the JSON array of a streamGenerateContent body
 * without alt=sse. */
static char *
array_build(const char *sse, size_t len, size_t *out_len)
{
	char *buf = malloc(len + 2), *o = buf;
	const char *p = sse, *e;

	if (!buf)
		return NULL;
	*o++ = '[';
	while ((e = strstr(p, "\r\n\r\n"))) {
		p += strlen("data: ");
		memcpy(o, p, (size_t)(e - p));
		o += e - p;
		*o++ = ',';
		p = e + 4;
	}
	o[-1] = ']';
	*out_len = (size_t)(o - buf);
	return buf;
}

/* The record each stream must give (figure 6's has no finishReason, so
 * its records are not complete). */
struct bench_want {
	long output, thinking;
	const char *model;
	bool complete;
};

static int
bench_stream(const char *what, const char *ctype, const char *body,
             size_t len, const struct bench_want *want, long events,
             int streams)
{
	struct meter_request req = { "POST", "cloudcode-pa.googleapis.com",
		"/v1internal:streamGenerateContent?alt=sse", "application/json",
		"{\"model\": \"gemini-2.5-pro\"}", 27, NULL };
	char *out = malloc(BENCH_CHUNK);
	double t0, t_base, t_meter, mb = (double)len * streams / 1e6;
	size_t lines = 0;
	int bad = 0;

	if (!out)
		return 1;
	t0 = now();
	for (int s = 0; s < streams; s++)
		for (size_t off = 0; off < len; off += BENCH_CHUNK) {
			size_t n = len - off < BENCH_CHUNK ? len - off :
			    BENCH_CHUNK;
			const char *p = body + off, *e = p + n;

			memcpy(out, p, n);
			while ((p = memchr(p, '\n', (size_t)(e - p)))) {
				lines++;
				p++;
			}
		}
	t_base = now() - t0;
	t0 = now();
	for (int s = 0; s < streams; s++) {
		struct meter *m = meter_new(&req);
		struct usage_record r;

		meter_response(m, 200, ctype, NULL);
		for (size_t off = 0; off < len; off += BENCH_CHUNK)
			meter_chunk(m, body + off, len - off < BENCH_CHUNK ?
			            len - off : BENCH_CHUNK);
		memset(&r, 0, sizeof(r));
		if (meter_finish(m, true, &r) != 1 ||
		    r.output_tokens != want->output ||
		    r.thinking_tokens != want->thinking ||
		    r.complete != want->complete ||
		    strcmp(r.model, want->model) != 0)
			bad++;
		meter_free(m);
	}
	t_meter = now() - t0;
	printf("%s: %.0f MB in 16 KiB chunks: meter %.1f MB/s, "
	       "memcpy+memchr %.1f MB/s (%zu lines), meter/baseline %.3f, "
	       "%.2f us per %zu-byte event\n", what, mb, mb / t_meter,
	       mb / t_base,
	       lines, t_base / t_meter, t_meter * 1e6 / (double)events /
	       streams, len / (size_t)events);
	free(out);
	if (bad)
		fprintf(stderr, "%s: %d of %d records wrong\n", what, bad,
		        streams);
	return bad ? 1 : 0;
}

static int
bench_request(const char *body, size_t len, int rounds)
{
	struct meter_request req = { "POST", "cloudcode-pa.googleapis.com",
		"/v1internal:streamGenerateContent?alt=sse", "application/json",
		body, len, NULL };
	double t0 = now(), t;
	int bad = 0;

	for (int i = 0; i < rounds; i++) {
		struct meter *m = meter_new(&req);
		struct usage_record r;

		meter_response(m, 200, "application/x-protobuf", NULL);
		memset(&r, 0, sizeof(r));
		meter_finish(m, true, &r);
		if (strcmp(r.model, "gemini-2.5-pro") != 0)
			bad++;
		meter_free(m);
	}
	t = (now() - t0) / rounds;
	printf("request: %zu-byte body: %.3f ms per meter_new (%.1f MB/s)\n",
	       len, t * 1e3, (double)len / t / 1e6);
	if (bad)
		fprintf(stderr, "request: %d of %d models wrong\n", bad,
		        rounds);
	return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 256, events = 0, pevents = 0;
	const char *only = argc > 2 ? argv[2] : NULL;
	size_t slen = 0, plen = 0, rlen = 0, alen = 0;
	struct bench_want want = { 0, 845, "gemini-2.5-pro", true };
	struct bench_want pwant = { 0, 0, "bench-model", false };
	char *stream = stream_build(&slen, &want.output, &events);
	char *plain = plain_build(&plen, &pwant.output, &pevents);
	char *request = request_build(&rlen);
	char *array = stream ? array_build(stream, slen, &alen) : NULL;
	int rc, n;

	if (!stream || !plain || !request || !array || mib < 1)
		return 1;
	log_set_level(LOG_WARNING);
	n = (int)(((size_t)mib << 20) / slen);
	rc = 0;
	if (!only || strcmp(only, "sse") == 0)
		rc |= bench_stream("sse", "text/event-stream", stream, slen,
		                   &want, events, n);
	if (!only || strcmp(only, "plain") == 0)
		rc |= bench_stream("sse, figure 6's", "text/event-stream",
		                   plain, plen, &pwant, pevents,
		                   (int)(((size_t)mib << 20) / plen));
	if (!only || strcmp(only, "array") == 0)
		rc |= bench_stream("json array", "application/json", array,
		                   alen, &want, events, n / 4 ? n / 4 : 1);
	if (!only || strcmp(only, "request") == 0)
		rc |= bench_request(request, rlen, 50);
	free(stream);
	free(plain);
	free(array);
	free(request);
	return rc;
}
