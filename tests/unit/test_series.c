/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_series.c - /metrics' labelled counters: provider names from hosts,
 * the caps on models and agents ("other" and the folded count), label
 * escaping, and recording from many threads while /metrics is read.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "series.h"
#include "tap.h"

#define THREADS 8
#define PER_THREAD 2000
#define METRICS_MAX (256 * 1024)

static void
fill(struct usage_record *r, const char *host, const char *model,
     const char *agent, int64_t in)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->host, sizeof(r->host), "%s", host);
	snprintf(r->model, sizeof(r->model), "%s", model);
	snprintf(r->agent, sizeof(r->agent), "%s", agent);
	r->status = 200;
	r->has_usage = true;
	r->input_tokens = in;
	r->output_tokens = 2 * in;
	r->priced = true;
	r->cost_usd = 0.25;
}

/* The series' text in buf (len bytes), as /metrics writes it; its
 * length. */
static size_t
render(struct series *s, char *buf, size_t len)
{
	struct metrics m;

	metrics_init(&m, buf, len);
	series_metrics(s, &m);
	return m.len;
}

/* The value of the sample whose name and labels are exactly `series`,
 * or -1 when there is none. */
static double
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

/* Lines that start with prefix. */
static int
count_lines(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;
	int c = 0;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		c += strncmp(p, prefix, n) == 0;
	return c;
}

static void
test_provider(void)
{
	static const char *const cases[][2] = {
		{ "api.anthropic.com", "anthropic" },
		{ "API.Anthropic.COM:443", "anthropic" },
		{ "api.openai.com", "openai" },
		{ "chatgpt.com", "openai" },
		{ "generativelanguage.googleapis.com", "gcp.gemini" },
		{ "us-central1-aiplatform.googleapis.com", "gcp.vertex_ai" },
		{ "aiplatform.googleapis.com", "gcp.vertex_ai" },
		{ "cloudcode-pa.googleapis.com", "gcp.gen_ai" },
		{ "daily-cloudcode-pa.sandbox.googleapis.com", "gcp.gen_ai" },
		{ "bedrock-runtime.us-east-1.amazonaws.com", "aws.bedrock" },
		{ "myres.openai.azure.com", "azure.ai.openai" },
		{ "api.x.ai", "x_ai" },
		{ "api.mistral.ai", "mistral_ai" },
		{ "api.example.test", "_OTHER" },
		{ "xapi.anthropic.com", "_OTHER" },
		{ "api.anthropic.com.evil.test", "_OTHER" },
		{ "", "_OTHER" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(series_provider(cases[i][0]), cases[i][1],
		       "provider of \"%s\"", cases[i][0]);
}

/* SERIES_MODELS_MAX + 1 distinct models: the last is "other". */
static void
test_model_cap(void)
{
	struct series *s = series_new();
	struct usage_record r;
	char *buf = malloc(METRICS_MAX), model[32], want[256];
	int i;

	for (i = 1; i <= SERIES_MODELS_MAX + 1; i++) {
		snprintf(model, sizeof(model), "model-%02d", i);
		fill(&r, "api.anthropic.com", model, "agent-a", i);
		series_record(s, &r);
	}
	fill(&r, "api.anthropic.com", "model-01", "agent-a", 1000);
	series_record(s, &r); /* an own row still counts */
	fill(&r, "api.anthropic.com", "model-99", "agent-a", 100);
	series_record(s, &r); /* a second model folded */
	render(s, buf, METRICS_MAX);
	is_int(count_lines(buf, "gen_ai_client_token_usage_total{"),
	       5 * (SERIES_MODELS_MAX + 1), "%d models + other, 5 types each",
	       SERIES_MODELS_MAX);
	is_int(count_lines(buf, "antigravity_proxy_cost_usd_total{"),
	       SERIES_MODELS_MAX + 1, "one cost series per row");
	snprintf(want, sizeof(want),
		 "gen_ai_client_token_usage_total{"
		 "gen_ai_provider_name=\"anthropic\",gen_ai_response_model="
		 "\"model-%02d\",gen_ai_token_type=\"input\"}",
		 SERIES_MODELS_MAX + 1);
	ok(sample(buf, want) < 0, "model %d has no series of its own",
	   SERIES_MODELS_MAX + 1);
	is_int(sample(buf,
		      "gen_ai_client_token_usage_total{"
		      "gen_ai_provider_name=\"anthropic\",gen_ai_response_model="
		      "\"other\",gen_ai_token_type=\"input\"}"),
	       SERIES_MODELS_MAX + 1 + 100, "other has both folded models");
	is_int(sample(buf,
		      "gen_ai_client_token_usage_total{"
		      "gen_ai_provider_name=\"anthropic\",gen_ai_response_model="
		      "\"model-01\",gen_ai_token_type=\"output\"}"),
	       2 * 1001, "model-01 keeps counting after the cap");
	is_int(sample(buf,
		      "antigravity_proxy_model_requests_total{"
		      "gen_ai_provider_name=\"anthropic\",gen_ai_response_model="
		      "\"other\"}"),
	       2, "other: two responses");
	is_int(sample(buf, "antigravity_proxy_metrics_folded_total"
			   "{label=\"gen_ai_response_model\"}"),
	       2, "two records folded");
	is_int(sample(buf, "antigravity_proxy_metrics_folded_total"
			   "{label=\"gen_ai_agent_name\"}"),
	       0, "no agent folded");
	/* A new provider past the cap gets an "other" of its own. */
	fill(&r, "api.openai.com", "gpt-x", "", 7);
	series_record(s, &r);
	render(s, buf, METRICS_MAX);
	is_int(sample(buf,
		      "gen_ai_client_token_usage_total{"
		      "gen_ai_provider_name=\"openai\",gen_ai_response_model="
		      "\"other\",gen_ai_token_type=\"input\"}"),
	       7, "a provider's first model past the cap: its own other");
	is_int(sample(buf, "antigravity_proxy_agent_requests_total"
			   "{gen_ai_agent_name=\"unknown\"}"),
	       1, "an unattributed record's agent is unknown");
	free(buf);
	series_free(s);
}

static void
test_agent_cap(void)
{
	struct series *s = series_new();
	struct usage_record r;
	char *buf = malloc(METRICS_MAX), agent[32], name[128];
	double sum = 0;
	int i;

	for (i = 1; i <= SERIES_AGENTS_MAX + 2; i++) {
		snprintf(agent, sizeof(agent), "agent-%02d", i);
		fill(&r, "api.anthropic.com", "m", agent, 10);
		series_record(s, &r);
	}
	render(s, buf, METRICS_MAX);
	is_int(count_lines(buf, "antigravity_proxy_agent_cost_usd_total{"),
	       SERIES_AGENTS_MAX + 1, "%d agents + other", SERIES_AGENTS_MAX);
	is_int(sample(buf, "antigravity_proxy_agent_requests_total"
			   "{gen_ai_agent_name=\"other\"}"),
	       2, "two agents in other");
	is_int(sample(buf, "antigravity_proxy_metrics_folded_total"
			   "{label=\"gen_ai_agent_name\"}"),
	       2, "two records folded");
	for (i = 1; i <= SERIES_AGENTS_MAX; i++) {
		snprintf(name, sizeof(name),
			 "antigravity_proxy_agent_cost_"
			 "usd_total{gen_ai_agent_name=\"agent-%02d\"}",
			 i);
		sum += sample(buf, name);
	}
	sum += sample(buf, "antigravity_proxy_agent_cost_usd_total"
			   "{gen_ai_agent_name=\"other\"}");
	ok(sum == 0.25 * (SERIES_AGENTS_MAX + 2), "agent costs add up: %g",
	   sum);
	free(buf);
	series_free(s);
}

static void
test_escape_and_skip(void)
{
	struct series *s = series_new();
	struct usage_record r;
	char *buf = malloc(METRICS_MAX);

	fill(&r, "api.anthropic.com", "we\"ird\\mo\ndel", "a\"b", 3);
	series_record(s, &r);
	fill(&r, "api.anthropic.com", "", "x", 5);
	r.has_usage = false; /* no model, no usage: no row */
	series_record(s, &r);
	fill(&r, "api.anthropic.com", "", "x", 5); /* usage, no model */
	series_record(s, &r);
	render(s, buf, METRICS_MAX);
	is_int(sample(buf,
		      "gen_ai_client_token_usage_total{"
		      "gen_ai_provider_name=\"anthropic\",gen_ai_response_model="
		      "\"we\\\"ird\\\\mo\\ndel\",gen_ai_token_type=\"input\"}"),
	       3, "a model's quote, backslash and newline escaped");
	is_int(sample(buf, "antigravity_proxy_agent_requests_total"
			   "{gen_ai_agent_name=\"a\\\"b\"}"),
	       1, "an agent's too");
	is_int(sample(buf,
		      "antigravity_proxy_model_requests_total{"
		      "gen_ai_provider_name=\"anthropic\",gen_ai_response_model="
		      "\"unknown\"}"),
	       1, "usage without a model: \"unknown\"");
	is_int(sample(buf, "antigravity_proxy_agent_requests_total"
			   "{gen_ai_agent_name=\"x\"}"),
	       1, "a record with neither is not counted");
	fill(&r, "api.anthropic.com", "bad\xff\xc3(mod\xc3\xa8le\xe2\x82", "",
	     4);
	series_record(s, &r);
	render(s, buf, METRICS_MAX);
	is_int(sample(buf,
		      "antigravity_proxy_model_requests_total{"
		      "gen_ai_provider_name=\"anthropic\",gen_ai_response_model="
		      "\"bad?"
		      "?(mod\xc3\xa8le?"
		      "?\"}"),
	       1, "bytes that are not UTF-8 become '?', UTF-8 is kept");
	ok(strstr(buf, "# TYPE gen_ai_client_token_usage_total counter\n") &&
		   strstr(buf,
			  "# HELP antigravity_proxy_metrics_folded_total "),
	   "HELP and TYPE lines");
	free(buf);
	series_free(s);
}

static struct series *shared;

static void *
recorder(void *arg)
{
	struct usage_record r;
	char model[32];
	long id = (long)(intptr_t)arg;

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(model, sizeof(model), "m%ld", (id * 7 + i) % 40);
		fill(&r, i % 2 ? "api.openai.com" : "api.anthropic.com", model,
		     "agent", 1);
		series_record(shared, &r);
	}
	return NULL;
}

/* Recording from many threads while /metrics is read: nothing lost. */
static void
test_concurrent(void)
{
	pthread_t th[THREADS];
	char *buf = malloc(METRICS_MAX);
	size_t n;

	shared = series_new();
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, recorder, (void *)(intptr_t)i);
	for (int i = 0; i < 50; i++)
		render(shared, buf, METRICS_MAX);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	n = render(shared, buf, METRICS_MAX);
	ok(n > 0 && n < METRICS_MAX - 1, "/metrics fits: %zu bytes", n);
	is_int(sample(buf,
		      "antigravity_proxy_agent_token_usage_total{"
		      "gen_ai_agent_name=\"agent\",gen_ai_token_type=\"input\"}"),
	       THREADS * PER_THREAD, "every record counted once");
	series_free(shared);
	free(buf);
}

/* A buffer too small for the whole text ends after a whole line: half a
 * line would make Prometheus refuse the scrape. */
static void
test_short_buffer(void)
{
	struct series *s = series_new();
	struct usage_record r;
	char *buf = malloc(METRICS_MAX);
	size_t full, n, len;
	bool whole = true;

	fill(&r, "api.anthropic.com", "model-a", "agent-a", 10);
	series_record(s, &r);
	full = render(s, buf, METRICS_MAX);
	for (len = 1; len < full; len += 7) {
		n = render(s, buf, len);
		if (n >= len || strlen(buf) != n || (n && buf[n - 1] != '\n'))
			whole = false;
	}
	ok(full > 0 && whole,
	   "every cut of the %zu-byte text ends after a "
	   "whole line",
	   full);
	series_free(s);
	free(buf);
}

int
main(void)
{
	test_provider();
	test_model_cap();
	test_agent_cap();
	test_escape_and_skip();
	test_concurrent();
	test_short_buffer();
	return tap_done();
}
