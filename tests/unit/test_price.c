/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_price.c - the shipped price table, model matching, the exact cost
 * of every fixture (the meter's record priced at the table's figures,
 * which the test restates and checks), --prices overrides, bad price
 * files, the LiteLLM import, credential fingerprints and ?by= parsing.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "credential.h"
#include "meter/meter.h"
#include "price.h"
#include "price_import.h"
#include "store.h"
#include "tap.h"
#include "usage.h"

/* USD per million tokens: the table's figures this test relies on; each
 * is checked against the shipped table first. */
struct fig {
	const char *id;
	double in, out, cr, w5, w1;
};
static const struct fig figs[] = {
	{ "claude-sonnet-4-5", 3, 15, 0.30, 3.75, 6 },
	{ "claude-opus-4-1", 15, 75, 1.50, 18.75, 30 },
	{ "claude-opus-4-5", 5, 25, 0.50, 6.25, 10 },
	{ "claude-haiku-4-5", 1, 5, 0.10, 1.25, 2 },
	{ "claude-3-5-haiku", 0.80, 4, 0.08, 1, 1.6 },
	{ "gemini-2.5-flash", 0.30, 2.50, 0.03, NAN, NAN },
	{ "gemini-2.5-pro", 1.25, 10, 0.125, NAN, NAN },
	{ "gemini-2.0-flash", 0.10, 0.40, 0.025, NAN, NAN },
	{ "gemini-3-flash-preview", 0.50, 3, 0.05, NAN, NAN },
	{ "gpt-4.1", 2, 8, 0.50, NAN, NAN },
	{ "gpt-4o-mini", 0.15, 0.60, 0.075, NAN, NAN },
	{ "gpt-5-mini", 0.25, 2, 0.025, NAN, NAN },
	{ "o3", 2, 8, NAN, NAN, NAN },
};

static bool
same(double a, double b)
{
	return (isnan(a) && isnan(b)) || fabs(a - b) < 1e-12;
}

static void
check_figures(const struct price_table *t)
{
	for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
		const struct price_entry *e = price_lookup(t, figs[i].id, NULL);

		if (!ok(e != NULL, "table has %s", figs[i].id))
			continue;
		ok(same(e->base.input, figs[i].in) &&
			   same(e->base.output, figs[i].out) &&
			   same(e->base.cache_read, figs[i].cr) &&
			   same(e->base.cache_write_5m, figs[i].w5) &&
			   same(e->base.cache_write_1h, figs[i].w1),
		   "%s: the figures this test uses", figs[i].id);
	}
	/* The long-context tier of Gemini 2.5 Pro. */
	const struct price_entry *p = price_lookup(t, "gemini-2.5-pro", NULL);
	ok(p && p->lc_threshold == 200000 && same(p->lc.input, 2.5) &&
		   same(p->lc.output, 15) && same(p->lc.cache_read, 0.25),
	   "gemini-2.5-pro: long context past 200000 at 2.50/15/0.25");
}

/* Every entry of the shipped file names its date and source. */
static void
check_documented(const char *buf)
{
	struct json_object *doc = json_tokener_parse(buf), *models, *v;
	int bad = 0, n = 0;

	ok(json_object_object_get_ex(doc, "models", &models),
	   "prices.json has models");
	json_object_object_foreach(models, id, e)
	{
		n++;
		if (!json_object_object_get_ex(e, "date", &v) ||
		    strlen(json_object_get_string(v)) != 10 ||
		    !json_object_object_get_ex(e, "source", &v) ||
		    strncmp(json_object_get_string(v), "https://", 8) != 0) {
			diag("%s: no date or source", id);
			bad++;
		}
	}
	ok(n >= 25 && bad == 0, "%d entries, each with date and source", n);
	json_object_put(doc);
}

struct want {
	const char *file;
	double usd; /* NAN: unpriced */
};

#define M 1e6
static const struct want wants[] = {
	/* 42 fresh, 18304 cache reads, 1536 5-minute writes (no 1h),
	 * 276 answer + 455 thinking at the output rate */
	{ "anthropic_stream.sse",
	  (42 * 3 + 18304 * 0.30 + 1536 * 3.75 + (276 + 455) * 15) / M },
	/* 2210 fresh, 4200 1-hour writes, 388 out */
	{ "anthropic.json", (2210 * 15 + 4200 * 30.0 + 388 * 75) / M },
	/* cut by an error: priced on what it had */
	{ "anthropic_stream_error.sse", (1187 * 1 + 2 * 5) / M },
	{ "anthropic_stream_mixed_eol.sse", (311 * 0.80 + 64 * 4) / M },
	{ "cloudcode_trailing_usage.sse",
	  ((22450 - 20480) * 3 + 20480 * 0.30 + 389 * 15) / M },
	/* Gemini: thoughts at the output rate, cached at the cache rate */
	{ "gemini_public_stream.sse",
	  ((5234 - 4096) * 0.30 + 4096 * 0.03 + (312 + 1187) * 2.50) / M },
	{ "gemini_public.json", (2342 * 1.25 + (654 + 2410) * 10) / M },
	{ "gemini_public_stream_array.json", (77 * 0.10 + 142 * 0.40) / M },
	{ "gemini_stream_growing_usage.sse",
	  (903 * 1.25 + (96 + 377) * 10) / M },
	{ "cloudcode_stream.sse",
	  ((14876 - 12288) * 1.25 + 12288 * 0.125 + (203 + 845) * 10) / M },
	{ "cloudcode.json", (3021 * 0.30 + (118 + 402) * 2.50) / M },
	/* o4-mini: not in the table */
	{ "openai_chat_stream.sse", NAN },
	{ "openai_chat.json", ((1366 - 1024) * 2 + 1024 * 0.50 + 97 * 8) / M },
	{ "openai_chat_stream_crlf.sse", (58 * 0.15 + 21 * 0.60) / M },
	/* gpt-4.1-mini has no confirmed cached rate, and 768 are cached */
	{ "sse_comments_multiline.sse", NAN },
	/* OpenAI: reasoning at the output rate, cached at the cached rate */
	{ "openai_responses_stream.sse",
	  ((4102 - 3584) * 0.25 + 3584 * 0.025 + (266 + 1024) * 2) / M },
	{ "openai_responses.json", (911 * 2 + (351 + 1856) * 8) / M },
	/* both cache lifetimes, each at its rate */
	{ "cost_anthropic_cache_split.json",
	  (1000 * 5 + 5000 * 0.50 + 1000 * 6.25 + 2000 * 10.0 + 600 * 25) / M },
	/* 250000 > 200000: the whole request at the long-context rates */
	{ "cost_gemini_long_context.json",
	  ((250000 - 120000) * 2.50 + 120000 * 0.25 + (900 + 2100) * 15.0) /
		  M },
	{ "cost_unknown_model.json", NAN },
	/* MODEL_PLACEHOLDER_M18 -> "Gemini 3 Flash" -> gemini-3-flash-preview */
	{ "cost_placeholder.json",
	  ((2000 - 1000) * 0.50 + 1000 * 0.05 + (100 + 50) * 3.0) / M },
};

static int
meter_file(const char *name, struct usage_record *r)
{
	struct meter_request req = { "POST",  "api.example",
				     "/v1/x", "application/json",
				     NULL,    0,
				     NULL };
	struct meter *m;
	size_t len;
	char *buf = tap_fixture(name, &len);
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!buf || !(m = meter_new(&req))) {
		free(buf);
		return -1;
	}
	meter_response(m, 200,
		       strstr(name, ".sse") ? "text/event-stream"
					    : "application/json",
		       NULL);
	meter_chunk(m, buf, len);
	rc = meter_finish(m, true, r);
	meter_free(m);
	free(buf);
	return rc;
}

static void
check_fixtures(const struct price_table *t, struct usage_table *u)
{
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		struct usage_record r;
		char label[USAGE_LABEL_MAX];

		if (!ok(meter_file(wants[i].file, &r) == 1, "%s: metered",
			wants[i].file))
			continue;
		usage_label_copy(u, r.model, label, sizeof(label));
		price_record(t, label, &r);
		if (isnan(wants[i].usd)) {
			ok(!r.priced, "%s: unpriced (%s)", wants[i].file,
			   r.model);
			continue;
		}
		ok(r.priced && fabs(r.cost_usd - wants[i].usd) < 1e-12,
		   "%s: $%.9f (got %s$%.9f)", wants[i].file, wants[i].usd,
		   r.priced ? "" : "unpriced ", r.cost_usd);
	}
}

static void
check_split_fields(void)
{
	struct usage_record r;

	meter_file("cost_anthropic_cache_split.json", &r);
	is_int(r.cache_write_5m_tokens, 1000, "split: 5m writes");
	is_int(r.cache_write_1h_tokens, 2000, "split: 1h writes");
	meter_file("anthropic_stream.sse", &r);
	is_int(r.cache_write_5m_tokens, 1536, "stream: 5m writes");
	is_int(r.cache_write_1h_tokens, 0, "stream: no 1h writes");
	meter_file("anthropic.json", &r);
	is_int(r.cache_write_1h_tokens, 4200, "anthropic.json: 1h writes");
	is_int(r.cache_write_5m_tokens, 0, "anthropic.json: no 5m writes");
}

static void
check_matching(const struct price_table *t)
{
	static const struct {
		const char *model, *label, *want;
	} m[] = {
		{ "claude-sonnet-4-5-20250929", NULL, "claude-sonnet-4-5" },
		{ "anthropic/claude-sonnet-4-5@20250929", NULL,
		  "claude-sonnet-4-5" },
		{ "models/gemini-2.5-flash-001", NULL, "gemini-2.5-flash" },
		{ "publishers/google/models/gemini-2.5-pro", NULL,
		  "gemini-2.5-pro" },
		{ "gpt-4.1-2025-04-14", NULL, "gpt-4.1" },
		{ "openai/GPT-5-Codex", NULL, "gpt-5-codex" },
		{ "claude-3-5-haiku-latest", NULL, "claude-3-5-haiku" },
		{ "MODEL_PLACEHOLDER_M8", "Gemini 3 Pro (High)",
		  "gemini-3-pro-preview" },
		{ "MODEL_PLACEHOLDER_M26", "Claude Opus 4.6",
		  "claude-opus-4-6" },
		{ "MODEL_PLACEHOLDER_M99", "MODEL_PLACEHOLDER_M99", NULL },
		{ "o4-mini-2025-04-16", NULL, NULL },
		{ "gpt-5-mini-nano", NULL, NULL },
		{ "gemini-2.5-pro-exp", NULL, NULL },
		{ "", NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		const struct price_entry *e =
			price_lookup(t, m[i].model, m[i].label);

		if (m[i].want)
			is_str(e ? e->id : "(none)", m[i].want, "match %s",
			       m[i].model);
		else
			ok(!e, "no match for '%s' (a guess would be wrong)",
			   m[i].model);
	}
}

static const char override[] =
	"{\"format\": \"antigravity-proxy-prices/1\", \"version\": \"local-1\","
	" \"models\": {\"gpt-5-mini\": {\"input\": 1, \"output\": 2},"
	" \"acme-coder-7\": {\"input\": 4, \"output\": 8, \"cache_read\": 0.4,"
	" \"long_context\": {\"threshold\": 100, \"input\": 40,"
	" \"output\": 80}}}}";

static void
check_override(struct price_table *t)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"format\": \"x\", \"version\": \"1\", "
		"\"models\": {}}",
		"{\"format\": \"antigravity-proxy-prices/1\", \"models\": {}}",
		"{\"format\": \"antigravity-proxy-prices/1\", \"version\": "
		"\"1\", \"models\": {\"a\": {\"input\": -1, \"output\": 1}}}",
		"{\"format\": \"antigravity-proxy-prices/1\", \"version\": "
		"\"1\", \"models\": {\"a\": {\"input\": 1}}}",
		"{\"format\": \"antigravity-proxy-prices/1\", \"version\": "
		"\"1\", \"models\": {\"a\": {\"input\": 1, \"output\": \"2\"}}}",
		"{\"format\": \"antigravity-proxy-prices/1\", \"version\": "
		"\"1\", \"models\": {\"a\": {\"input\": 1, \"output\": 2, "
		"\"long_context\": {\"input\": 2, \"output\": 3}}}}",
		"{\"format\": \"antigravity-proxy-prices/1\", \"version\": "
		"\"1\", \"models\": {}} trailing",
	};
	size_t n = price_table_count(t);
	struct usage_record r = { .has_usage = true,
				  .input_tokens = 1000,
				  .output_tokens = 10 };
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ok(price_table_parse(t, bad[i], strlen(bad[i]), "bad", err,
				     sizeof(err)) < 0 &&
			   err[0],
		   "bad price file %zu refused: %s", i, err);
	}
	is_int(price_table_count(t), n, "bad files added nothing");
	ok(price_table_parse(t, override, strlen(override), "local", err,
			     sizeof(err)) == 0,
	   "--prices file loads: %s", err);
	is_int(price_table_count(t), n + 1, "one entry added, one replaced");
	is_str(price_table_version(t), "2026-12-02+local-1",
	       "version names both files");
	snprintf(r.model, sizeof(r.model), "gpt-5-mini");
	price_record(t, NULL, &r);
	ok(r.priced && same(r.cost_usd, (1000 * 1 + 10 * 2) / M),
	   "gpt-5-mini at the override's rates");
	snprintf(r.model, sizeof(r.model), "acme-coder-7");
	price_record(t, NULL, &r);
	ok(r.priced && same(r.cost_usd, (1000 * 40 + 10 * 80) / M),
	   "acme-coder-7: past its threshold of 100");
	r.cached_tokens = 5; /* the tier has no cache_read: no guess */
	price_record(t, NULL, &r);
	ok(!r.priced, "a rate the tier lacks leaves it unpriced");
}

static void
check_litellm(void)
{
	struct price_table *t = price_table_new();
	struct json_object *doc = NULL;
	const struct price_entry *e;
	size_t len;
	char *buf = tap_fixture("litellm_sample.json", &len), err[256];
	const char *s;

	ok(buf && price_import_litellm(buf, len, "sample", "2026-12-02", &doc,
				       err, sizeof(err)) == 0,
	   "LiteLLM sample imports");
	s = json_object_to_json_string(doc);
	ok(price_table_parse(t, s, strlen(s), "import", err, sizeof(err)) == 0,
	   "its output is a price file: %s", err);
	is_int(price_table_count(t), 3,
	       "three chat models; embedding, image "
	       "and sample_spec skipped");
	is_str(price_table_version(t), "litellm-2026-12-02", "version");
	e = price_lookup(t, "claude-sonnet-4-5-20250929", NULL);
	ok(e && same(e->base.input, 3) && same(e->base.output, 15) &&
		   same(e->base.cache_read, 0.3) &&
		   same(e->base.cache_write_5m, 3.75) &&
		   same(e->base.cache_write_1h, 6),
	   "sonnet: per-token costs x 1e6");
	ok(e && e->lc_threshold == 200000 && same(e->lc.input, 6) &&
		   same(e->lc.output, 22.5) && same(e->lc.cache_read, 0.6) &&
		   same(e->lc.cache_write_5m, 7.5) &&
		   isnan(e->lc.cache_write_1h),
	   "sonnet: the _above_200k_tokens tier");
	e = price_lookup(t, "gemini/gemini-2.5-pro", NULL);
	ok(e && same(e->base.reasoning, 10) && same(e->lc.output, 15),
	   "gemini: reasoning rate and tier");
	e = price_lookup(t, "gpt-5-mini", NULL);
	ok(e && e->lc_threshold == 0 && same(e->base.cache_read, 0.025),
	   "gpt-5-mini: no tier");
	json_object_put(doc);
	doc = NULL;
	ok(price_import_litellm("{\"x\": 1, \"y\": [2]}", 18, "x", "d", &doc,
				err, sizeof(err)) == 0 &&
		   json_object_object_length(
			   json_object_object_get(doc, "models")) == 0,
	   "entries that are not objects are skipped (found by fuzzing)");
	json_object_put(doc);
	doc = NULL;
	ok(price_import_litellm("[1]", 3, "x", "d", &doc, err, sizeof(err)) <
			   0 &&
		   !doc,
	   "not an object: refused");
	json_object_put(doc);
	free(buf);
	price_table_free(t);
}

static void
fingerprint(const char *head, const char *want, bool oauth, const char *what)
{
	char buf[1024], key[USAGE_KEY_MAX];
	struct http_request req;
	bool o = !oauth;

	snprintf(buf, sizeof(buf), "%s", head);
	if (!ok(http1_parse_head(buf, strlen(buf), &req) > 0, "%s: parses",
		what))
		return;
	credential_fingerprint(&req, key, &o);
	is_str(key, want, "%s: fingerprint", what);
	ok(o == oauth, "%s: %s", what, oauth ? "oauth" : "not oauth");
}

static void
check_credentials(void)
{
	fingerprint("POST /v1/messages HTTP/1.1\r\nHost: a\r\n"
		    "x-api-key: sk-ant-api03-TESTKEY\r\n\r\n",
		    "fd4d504b", false, "x-api-key");
	fingerprint("POST /v1/messages HTTP/1.1\r\nHost: a\r\n"
		    "Authorization: Bearer sk-ant-oat01-TESTTOKEN\r\n\r\n",
		    "390705f3", true, "Claude OAuth bearer");
	fingerprint("POST /v1internal:generateContent HTTP/1.1\r\nHost: a\r\n"
		    "authorization: bearer  ya29.TESTTOKEN \r\n\r\n",
		    "507a2970", true, "Google OAuth bearer");
	fingerprint("POST /v1beta/models/x HTTP/1.1\r\nHost: a\r\n"
		    "x-goog-api-key: AIzaTESTKEY\r\n\r\n",
		    "e67e3217", false, "x-goog-api-key");
	fingerprint("POST /v1beta/models/x?alt=sse&key=AIzaTESTKEY HTTP/1.1\r\n"
		    "Host: a\r\n\r\n",
		    "e67e3217", false, "key= query");
	fingerprint("POST /v1/responses HTTP/1.1\r\nHost: a\r\n"
		    "Authorization: Bearer sk-proj-TESTKEY\r\n\r\n",
		    "b4265d15", false, "OpenAI bearer key");
	fingerprint("POST /v1/x?monkey=1 HTTP/1.1\r\nHost: a\r\n"
		    "Authorization: Basic dXNlcjpwYXNz\r\n\r\n",
		    "", false, "no credential we know");
}

static void
check_by(void)
{
	static const char *const good[] = {
		"model",      "day,model",
		"agent,key",  "model,agent,key,host,day",
		"hour,agent", "model,agent,key,host,day,hour",
	};
	static const char *const bad[] = {
		"",	 ",",	 "model,",     ",model", "model,model",
		"Model", "cost", "model, day", "modelx", "day,hour,day",
		"hours",
	};
	struct store_by b;
	char err[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(store_by_parse(good[i], &b, err, sizeof(err)) == 0, "by=%s",
		   good[i]);
	store_by_parse("day,model", &b, err, sizeof(err));
	ok(b.n == 2 && b.k[0] == STORE_BY_DAY && b.k[1] == STORE_BY_MODEL,
	   "by=day,model in order");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(store_by_parse(bad[i], &b, err, sizeof(err)) < 0,
		   "by=%s refused: %s", bad[i], err);
}

int
main(void)
{
	const char *top = getenv("top_srcdir");
	struct price_table *t = price_table_new();
	struct usage_table *u = usage_table_new();
	char path[4096], err[512], *buf;
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "%s/data/prices.json", top ? top : "..");
	if (!ok(price_table_load(t, path, err, sizeof(err)) == 0,
		"the shipped table loads: %s", err))
		return tap_done();
	is_str(price_table_version(t), "2026-12-02", "its version");
	if ((f = fopen(path, "rb")) && (buf = calloc(1, PRICE_FILE_MAX))) {
		len = fread(buf, 1, PRICE_FILE_MAX - 1, f);
		buf[len] = '\0';
		check_documented(buf);
		free(buf);
	}
	if (f)
		fclose(f);
	check_figures(t);
	check_fixtures(t, u);
	check_split_fields();
	check_matching(t);
	check_override(t);
	check_litellm();
	check_credentials();
	check_by();
	price_table_free(t);
	usage_table_free(u);
	return tap_done();
}
