/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_usage.c - the usage table: concurrent recording, the /v1/usage
 * contract, labels, aggregates and windows (usage_table_add), the record
 * format. Windows over the store (?since=) are in test_store.c.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "tap.h"
#include "usage.h"

#define THREADS 16
#define PER_THREAD 5000

static struct usage_table *table;

static void
fill(struct usage_record *r, const char *model, const char *endpoint, double t,
     int64_t in, int64_t out, int64_t think, int64_t cached)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	snprintf(r->model, sizeof(r->model), "%s", model);
	snprintf(r->endpoint, sizeof(r->endpoint), "%s", endpoint);
	snprintf(r->host, sizeof(r->host), "api.example.test");
	r->status = 200;
	r->has_usage = true;
	r->complete = true;
	r->input_tokens = in;
	r->output_tokens = out;
	r->thinking_tokens = think;
	r->cached_tokens = cached;
	r->total_tokens = in + out + think;
}

static void *
recorder(void *arg)
{
	long id = (long)arg;
	struct usage_record r;

	for (int i = 0; i < PER_THREAD; i++) {
		fill(&r, id % 2 ? "model-odd" : "model-even",
		     "streamGenerateContent", 1e9 + i, id + 1, i % 7, 3, i % 2);
		usage_record(table, &r);
	}
	return NULL;
}

static int64_t
get(struct json_object *o, const char *path)
{
	char buf[256], *save = NULL, *tok;
	struct json_object *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok;
	     tok = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(cur, tok, &cur))
			return -999;
	return json_object_get_int64(cur);
}

static const char *
gets(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x, *y;

	if (!json_object_object_get_ex(o, a, &x))
		return NULL;
	if (!b)
		return json_object_get_string(x);
	if (!json_object_object_get_ex(x, b, &y))
		return NULL;
	return json_object_get_string(y);
}

static void
test_concurrent(void)
{
	pthread_t th[THREADS];
	int64_t want_in = 0, want_out = 0, want_cached = 0;
	struct json_object *doc;

	table = usage_table_new();
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, recorder, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (long id = 0; id < THREADS; id++)
		for (int i = 0; i < PER_THREAD; i++) {
			want_in += id + 1;
			want_out += i % 7;
			want_cached += i % 2;
		}
	doc = usage_table_json(table);
	is_int(get(doc, "totals.requests"), THREADS * PER_THREAD,
	       "16 threads: every request counted");
	is_int(get(doc, "totals.input_tokens"), want_in,
	       "16 threads: input tokens sum exactly");
	is_int(get(doc, "totals.output_tokens"), want_out,
	       "16 threads: output tokens sum exactly");
	is_int(get(doc, "totals.thinking_tokens"), 3 * THREADS * PER_THREAD,
	       "16 threads: thinking tokens sum exactly");
	is_int(get(doc, "totals.cached_tokens"), want_cached,
	       "16 threads: cached tokens sum exactly");
	is_int(get(doc, "totals.total_tokens"),
	       want_in + want_out + 3 * THREADS * PER_THREAD,
	       "16 threads: total tokens sum exactly");
	is_int(get(doc, "models.model-odd.requests") +
		       get(doc, "models.model-even.requests"),
	       THREADS * PER_THREAD, "per-model rows add up to the total");
	is_int(get(doc, "endpoints.streamGenerateContent"),
	       THREADS * PER_THREAD, "endpoint counted per request");
	json_object_put(doc);
	usage_table_free(table);
}

static void
test_contract(void)
{
	static const char *const fields[] = {
		"requests",	   "input_tokens",  "output_tokens",
		"thinking_tokens", "cached_tokens", "cache_creation_tokens",
		"total_tokens",
	};
	struct usage_record r;
	struct json_object *doc, *m;
	const char *s;

	table = usage_table_new();
	doc = usage_table_json(table);
	is_int(get(doc, "totals.requests"), 0, "empty table: zero requests");
	for (size_t i = 0; i < 7; i++) {
		char path[64];

		snprintf(path, sizeof(path), "totals.%s", fields[i]);
		is_int(get(doc, path), 0, "empty table: %s is 0", path);
	}
	ok(json_object_object_length(json_object_object_get(doc, "models")) ==
			   0 &&
		   json_object_object_length(
			   json_object_object_get(doc, "endpoints")) == 0,
	   "empty table: no models, no endpoints");
	json_object_put(doc);

	fill(&r, "MODEL_PLACEHOLDER_M18", "streamGenerateContent", 1795921262.0,
	     1514, 25, 52, 0);
	usage_record(table, &r);
	memset(&r, 0, sizeof(r));
	r.time = 1795921263.0;
	snprintf(r.endpoint, sizeof(r.endpoint), "fetchUserInfo");
	usage_record(table, &r);

	doc = usage_table_json(table);
	s = json_object_to_json_string(doc);
	diag("%s", s);
	ok((s = gets(doc, "since", NULL)) && strlen(s) == 20 && s[10] == 'T' &&
		   s[19] == 'Z',
	   "since is an RFC 3339 UTC time");
	for (size_t i = 0; i < 7; i++) {
		char path[64];

		snprintf(path, sizeof(path), "models.MODEL_PLACEHOLDER_M18.%s",
			 fields[i]);
		ok(get(doc, path) != -999, "model row has %s", fields[i]);
	}
	is_int(get(doc, "totals.requests"), 2, "both responses counted");
	is_int(get(doc, "totals.total_tokens"), 1591, "total tokens");
	ok(json_object_object_get_ex(doc, "models", &m) &&
		   json_object_object_length(m) == 1,
	   "a response without usage or model makes no model row");
	is_str(gets(json_object_object_get(doc, "models"),
		    "MODEL_PLACEHOLDER_M18", "label"),
	       "Gemini 3 Flash", "placeholder id mapped to its built-in label");
	is_str(gets(json_object_object_get(doc, "models"),
		    "MODEL_PLACEHOLDER_M18", "last_seen"),
	       "2026-11-29T03:01:02Z", "last_seen in RFC 3339");
	is_int(get(doc, "models.MODEL_PLACEHOLDER_M18.thinking_tokens"), 52,
	       "model row thinking tokens");
	is_int(get(doc, "endpoints.fetchUserInfo"), 1,
	       "endpoint without usage counted");
	is_str(gets(doc, "since", NULL), "2026-11-29T03:01:02Z",
	       "since reaches back to the oldest record");
	json_object_put(doc);

	{
		struct usage_table *w = usage_table_window(table, 1795921262);
		struct usage_counts c = { .requests = 2, .input_tokens = 5 };

		usage_table_add(w, "MODEL_PLACEHOLDER_M18", "messages", -1, &c,
				1795921262, 1795921300);
		usage_table_add(w, "", "fetchUserInfo", -1, &c, 1795921262,
				1795921300);
		doc = usage_table_json(w);
		usage_table_free(w);
	}
	is_int(get(doc, "totals.requests"), 4, "window: aggregates added");
	is_int(get(doc, "endpoints.messages"), 2,
	       "window: endpoint counted by its requests");
	ok(json_object_object_length(json_object_object_get(doc, "models")) ==
		   1,
	   "window: no model row for an aggregate without one");
	is_str(gets(json_object_object_get(doc, "models"),
		    "MODEL_PLACEHOLDER_M18", "label"),
	       "Gemini 3 Flash", "window: labels copied from the table");
	is_str(gets(doc, "since", NULL), "2026-11-29T03:01:02Z",
	       "window: since is the window's start");
	json_object_put(doc);

	ok(usage_label_add(table, "MODEL_PLACEHOLDER_M18", "Flash X") == 0,
	   "label replaced");
	doc = usage_table_json(table);
	is_str(gets(json_object_object_get(doc, "models"),
		    "MODEL_PLACEHOLDER_M18", "label"),
	       "Flash X", "configured label wins over the built-in one");
	json_object_put(doc);
	usage_table_free(table);
}

static void
test_record_format(void)
{
	struct usage_record r, back;
	struct json_object *o;

	fill(&r, "claude-x", "messages", 1795921262.25, 10, 20, 30, 5);
	r.cache_creation_tokens = 7;
	r.complete = false;
	r.ttfb_ms = 12.5;
	snprintf(r.error, sizeof(r.error), "overloaded_error");
	snprintf(r.raw, sizeof(r.raw), "{\"input_tokens\":10}");
	o = usage_record_to_json(&r);
	ok(usage_record_from_json(o, &back) == 0, "ledger line parses back");
	json_object_put(o);
	ok(memcmp(&r.input_tokens, &back.input_tokens, 6 * sizeof(int64_t)) ==
			   0 &&
		   r.time == back.time && back.complete == false &&
		   back.ttfb_ms == 12.5,
	   "ledger round trip keeps numbers, time and flags");
	is_str(back.raw, "{\"input_tokens\":10}", "raw fields kept");
	is_str(back.error, "overloaded_error", "error kept");
	o = json_tokener_parse("{\"model\":\"x\"}");
	ok(usage_record_from_json(o, &back) < 0, "line without ts rejected");
	json_object_put(o);
}

/* cost_usd per model and in the totals, null for a model never priced,
 * the unpriced list, the version, the cost counter of /metrics. */
static void
test_cost(void)
{
	struct usage_table *t = usage_table_new();
	struct usage_record r = { .has_usage = true,
				  .priced = true,
				  .cost_usd = 0.25,
				  .input_tokens = 10 };
	struct json_object *doc, *m, *v = NULL;
	struct metrics mw;
	char buf[8192];

	snprintf(r.model, sizeof(r.model), "priced-model");
	usage_record(t, &r);
	usage_record(t, &r);
	snprintf(r.model, sizeof(r.model), "mystery-model");
	r.priced = false;
	r.cost_usd = 0;
	usage_record(t, &r);
	usage_set_price_version(t, "2026-12-02+local");
	doc = usage_table_json(t);
	json_object_object_get_ex(doc, "models", &m);
	json_object_object_get_ex(json_object_object_get(m, "priced-model"),
				  "cost_usd", &v);
	ok(v && json_object_get_double(v) == 0.5, "a model's cost_usd");
	v = (struct json_object *)1;
	ok(json_object_object_get_ex(json_object_object_get(m, "mystery-model"),
				     "cost_usd", &v) &&
		   v == NULL,
	   "an unpriced model's cost_usd is null");
	is_str(json_object_to_json_string_ext(
		       json_object_object_get(doc, "unpriced"),
		       JSON_C_TO_STRING_PLAIN),
	       "[\"mystery-model\"]", "unpriced lists it");
	is_str(json_object_to_json_string_ext(
		       json_object_object_get(doc, "totals"),
		       JSON_C_TO_STRING_PLAIN),
	       "{\"requests\":3,\"input_tokens\":30,\"output_tokens\":0,"
	       "\"thinking_tokens\":0,\"cached_tokens\":0,"
	       "\"cache_creation_tokens\":0,\"total_tokens\":0,"
	       "\"cost_usd\":0.5,\"unpriced_requests\":1}",
	       "totals: cost_usd and unpriced_requests");
	is_str(json_object_get_string(json_object_object_get(
		       json_object_object_get(doc, "prices"), "version")),
	       "2026-12-02+local", "the price table's version");
	json_object_put(doc);
	metrics_init(&mw, buf, sizeof(buf));
	usage_table_metrics(t, &mw);
	ok(strstr(buf, "# HELP antigravity_proxy_cost_usd_total ") &&
		   strstr(buf,
			  "# TYPE antigravity_proxy_cost_usd_total counter\n") &&
		   strstr(buf,
			  "antigravity_proxy_cost_usd_total{gen_ai_provider_name="
			  "\"_OTHER\",gen_ai_response_model=\"priced-model\"}"
			  " 0.500000000\n"),
	   "/metrics: the cost counter per model");
	usage_table_free(t);
}

/* The endpoints past USAGE_METRICS_ENDPOINTS share one "other" label
 * value in /metrics, per status; /v1/usage keeps them all. */
static void
test_endpoint_cap(void)
{
	struct usage_table *t = usage_table_new();
	struct usage_record r;
	struct json_object *doc, *eps;
	struct metrics mw;
	char *buf = malloc(256 * 1024), ep[32];
	int i;

	for (i = 0; i < USAGE_METRICS_ENDPOINTS + 3; i++) {
		snprintf(ep, sizeof(ep), "ep%02d", i);
		fill(&r, "m", ep, 1000 + i, 1, 1, 0, 0);
		r.status = i % 2 ? 200 : 429;
		usage_record(t, &r);
	}
	metrics_init(&mw, buf, 256 * 1024);
	usage_table_metrics(t, &mw);
	ok(strstr(buf, "antigravity_proxy_requests_total{endpoint=\"ep31\","
		       "status=\"200\"} 1\n") &&
		   !strstr(buf, "\"ep32\""),
	   "/metrics: the first %d endpoints by name", USAGE_METRICS_ENDPOINTS);
	ok(strstr(buf, "antigravity_proxy_requests_total{endpoint=\"other\","
		       "status=\"429\"} 2\n") &&
		   strstr(buf,
			  "antigravity_proxy_requests_total{endpoint=\"other\","
			  "status=\"200\"} 1\n"),
	   "the rest as other, per status");
	doc = usage_table_json(t);
	json_object_object_get_ex(doc, "endpoints", &eps);
	is_int(json_object_object_length(eps), USAGE_METRICS_ENDPOINTS + 3,
	       "/v1/usage keeps every endpoint");
	json_object_put(doc);
	free(buf);
	usage_table_free(t);
}

int
main(void)
{
	test_concurrent();
	test_contract();
	test_record_format();
	test_cost();
	test_endpoint_cap();
	return tap_done();
}
