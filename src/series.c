/* SPDX-License-Identifier: GPL-2.0-or-later
 * series.c - the labelled counters of /metrics for a fleet, per provider
 * and model and per agent, bounded.
 *
 * Threading: s->lock guards every row and count. series_metrics() copies
 *   the rows under it and formats after releasing it.
 * Ownership: the rows live in struct series itself (fixed arrays: the
 *   caps bound them), so counting never allocates.
 *
 * Names follow the OpenTelemetry GenAI semantic conventions where they
 * map, as their Prometheus form (dots to underscores): the tokens are
 * gen_ai.client.token.usage, labelled gen_ai.provider.name,
 * gen_ai.response.model and gen_ai.token.type, with "input" and "output"
 * as the convention has them and "thinking", "cached", "cache_creation"
 * added. The convention's instrument is a histogram of tokens per call;
 * this is a counter of the same sum (the histogram's _sum), because a
 * proxy's readers add tokens up and price them, and the convention's 14
 * bucket boundaries would multiply every series by 16.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"
#include "series.h"

/* gen_ai.provider.name by API host: the host itself or a subdomain of
 * it; "-aiplatform" also after a region ("us-central1-aiplatform").
 * First match wins, so the Google hosts go from specific to general. */
static const struct {
	const char *host;
	const char *name;
} series_hosts[] = {
	{ "aiplatform.googleapis.com", "gcp.vertex_ai" },
	{ "generativelanguage.googleapis.com", "gcp.gemini" },
	/* cloudcode-pa (Antigravity, Gemini Code Assist) is neither the
	 * Gemini API nor Vertex: the convention's "any Google endpoint". */
	{ "googleapis.com", "gcp.gen_ai" },
	{ "api.anthropic.com", "anthropic" },
	{ "api.openai.com", "openai" },
	{ "chatgpt.com", "openai" }, /* Codex signed in to ChatGPT */
	{ "openai.azure.com", "azure.ai.openai" },
	{ "services.ai.azure.com", "azure.ai.inference" },
	{ "amazonaws.com", "aws.bedrock" }, /* bedrock-runtime.REGION. */
	{ "api.mistral.ai", "mistral_ai" },
	{ "api.x.ai", "x_ai" },
	{ "api.deepseek.com", "deepseek" },
	{ "api.groq.com", "groq" },
	{ "api.perplexity.ai", "perplexity" },
	{ "api.cohere.com", "cohere" },
	{ "api.cohere.ai", "cohere" },
};
#define SERIES_NHOSTS (sizeof(series_hosts) / sizeof(series_hosts[0]))
#define SERIES_PROVIDER_OTHER "_OTHER"

/* One "other" row per provider can join the capped ones. */
#define SERIES_MODEL_ROWS (SERIES_MODELS_MAX + SERIES_NHOSTS + 1)
#define SERIES_AGENT_ROWS (SERIES_AGENTS_MAX + 1)
#define SERIES_LABELS_MAX 512
#define SERIES_FOLDED "antigravity_proxy_metrics_folded_total"

static const char *const series_types[] = {
	"input", "output", "thinking", "cached", "cache_creation",
};
#define SERIES_NTYPES (sizeof(series_types) / sizeof(series_types[0]))

struct series_model {
	const char *provider; /* a series_hosts name, or _OTHER */
	char model[USAGE_MODEL_MAX];
	struct usage_counts c;
};

struct series_agent {
	char agent[USAGE_AGENT_MAX];
	struct usage_counts c;
};

struct series {
	pthread_mutex_t lock; /* guards all that follows */
	struct series_model models[SERIES_MODEL_ROWS];
	size_t nmodels, nmodels_own; /* rows; of them not "other" */
	struct series_agent agents[SERIES_AGENT_ROWS];
	size_t nagents, nagents_own;
	int64_t folded_models, folded_agents; /* records put in "other" */
};

struct series *
series_new(void)
{
	struct series *s = calloc(1, sizeof(*s));

	if (s)
		pthread_mutex_init(&s->lock, NULL);
	return s;
}

void
series_free(struct series *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* host is name, or ends in ".name" or "-name"; any case, port ignored. */
static int
host_is(const char *host, size_t hlen, const char *name)
{
	size_t n = strlen(name);

	if (hlen < n || strncasecmp(host + hlen - n, name, n) != 0)
		return 0;
	return hlen == n || host[hlen - n - 1] == '.' ||
	       host[hlen - n - 1] == '-';
}

const char *
series_provider(const char *host)
{
	const char *colon = strchr(host, ':');
	size_t hlen = colon ? (size_t)(colon - host) : strlen(host);

	for (size_t i = 0; i < SERIES_NHOSTS; i++)
		if (host_is(host, hlen, series_hosts[i].host))
			return series_hosts[i].name;
	return SERIES_PROVIDER_OTHER;
}

/* The row of (provider, model): its own while there is room, else the
 * provider's "other". Called with s->lock held; never fails, because
 * the array holds the capped rows plus one "other" per provider. */
static struct series_model *
model_row(struct series *s, const char *provider, const char *model)
{
	struct series_model *m;
	bool fold = false;
	size_t i;

	for (;;) {
		for (i = 0; i < s->nmodels; i++)
			if (strcmp(s->models[i].provider, provider) == 0 &&
			    strcmp(s->models[i].model, model) == 0)
				return &s->models[i];
		if (fold || s->nmodels_own < SERIES_MODELS_MAX)
			break;
		fold = true;
		model = SERIES_OTHER;
		s->folded_models++;
	}
	m = &s->models[s->nmodels++];
	m->provider = provider;
	snprintf(m->model, sizeof(m->model), "%s", model);
	if (!fold)
		s->nmodels_own++;
	return m;
}

/* The same for an agent; "" (not attributed) is "unknown". */
static struct series_agent *
agent_row(struct series *s, const char *agent)
{
	struct series_agent *a;
	bool fold = false;
	size_t i;

	if (!agent[0])
		agent = "unknown";
	for (;;) {
		for (i = 0; i < s->nagents; i++)
			if (strcmp(s->agents[i].agent, agent) == 0)
				return &s->agents[i];
		if (fold || s->nagents_own < SERIES_AGENTS_MAX)
			break;
		fold = true;
		agent = SERIES_OTHER;
		s->folded_agents++;
	}
	a = &s->agents[s->nagents++];
	snprintf(a->agent, sizeof(a->agent), "%s", agent);
	if (!fold)
		s->nagents_own++;
	return a;
}

void
series_record(struct series *s, const struct usage_record *r)
{
	const char *model = usage_row_key(r);
	const char *provider = series_provider(r->host);
	struct usage_counts c;

	if (!model[0])
		return; /* not in /v1/usage's models either */
	usage_record_counts(r, &c);
	pthread_mutex_lock(&s->lock);
	usage_counts_add(&model_row(s, provider, model)->c, &c);
	usage_counts_add(&agent_row(s, r->agent)->c, &c);
	pthread_mutex_unlock(&s->lock);
}

/* A copy of one row set: each row's label pairs, ready to print. */
struct series_rows {
	size_t n;
	char labels[SERIES_MODEL_ROWS][SERIES_LABELS_MAX];
	struct usage_counts c[SERIES_MODEL_ROWS];
	int64_t folded;
};

/* What one row set's families are called. */
struct series_names {
	const char *tokens, *cost, *requests, *unpriced;
	const char *of; /* "provider and model" */
};

static void
rows_metrics(const struct series_rows *rw, const struct series_names *nm,
	     struct metrics *m)
{
	size_t i, k;

	metrics_head(m, nm->tokens, "counter",
		     "Tokens metered since start, "
		     "by type (input includes cached; thinking is not in "
		     "output), per %s.",
		     nm->of);
	for (i = 0; i < rw->n; i++) {
		const int64_t v[SERIES_NTYPES] = {
			rw->c[i].input_tokens,		rw->c[i].output_tokens,
			rw->c[i].thinking_tokens,	rw->c[i].cached_tokens,
			rw->c[i].cache_creation_tokens,
		};

		for (k = 0; k < SERIES_NTYPES; k++)
			metrics_printf(
				m,
				"%s{%s,gen_ai_token_type=\"%s\"} %" PRId64 "\n",
				nm->tokens, rw->labels[i], series_types[k],
				v[k]);
	}
	metrics_head(m, nm->cost, "counter",
		     "Cost in USD of the priced "
		     "responses since start (price table: see /v1/usage), "
		     "per %s.",
		     nm->of);
	for (i = 0; i < rw->n; i++)
		metrics_printf(m, "%s{%s} %.9f\n", nm->cost, rw->labels[i],
			       rw->c[i].cost_usd);
	metrics_head(m, nm->requests, "counter",
		     "Metered responses since "
		     "start, per %s.",
		     nm->of);
	for (i = 0; i < rw->n; i++)
		metrics_printf(m, "%s{%s} %" PRId64 "\n", nm->requests,
			       rw->labels[i], rw->c[i].requests);
	if (!nm->unpriced)
		return;
	metrics_head(m, nm->unpriced, "counter",
		     "Responses with usage but "
		     "no price since start, per %s.",
		     nm->of);
	for (i = 0; i < rw->n; i++)
		metrics_printf(m, "%s{%s} %" PRId64 "\n", nm->unpriced,
			       rw->labels[i], rw->c[i].unpriced);
}

/* Copies the rows into m and a. Called with s->lock held. */
static void
rows_take(const struct series *s, struct series_rows *m, struct series_rows *a)
{
	char p[64], v[2 * USAGE_MODEL_MAX]; /* the providers are short */
	size_t i;

	m->n = s->nmodels;
	m->folded = s->folded_models;
	for (i = 0; i < s->nmodels; i++) {
		metrics_label(s->models[i].provider, p, sizeof(p));
		metrics_label(s->models[i].model, v, sizeof(v));
		snprintf(m->labels[i], SERIES_LABELS_MAX,
			 "gen_ai_provider_name=\"%s\","
			 "gen_ai_response_model=\"%s\"",
			 p, v);
		m->c[i] = s->models[i].c;
	}
	a->n = s->nagents;
	a->folded = s->folded_agents;
	for (i = 0; i < s->nagents; i++) {
		metrics_label(s->agents[i].agent, v, sizeof(v));
		snprintf(a->labels[i], SERIES_LABELS_MAX,
			 "gen_ai_agent_name=\"%s\"", v);
		a->c[i] = s->agents[i].c;
	}
}

void
series_metrics(struct series *s, struct metrics *out)
{
	static const struct series_names models = {
		"gen_ai_client_token_usage_total",
		"antigravity_proxy_cost_usd_total",
		"antigravity_proxy_model_requests_total",
		"antigravity_proxy_unpriced_requests_total",
		"provider and model",
	};
	static const struct series_names agents = {
		"antigravity_proxy_agent_token_usage_total",
		"antigravity_proxy_agent_cost_usd_total",
		"antigravity_proxy_agent_requests_total",
		NULL,
		"agent",
	};
	struct series_rows *m = malloc(sizeof(*m)), *a = malloc(sizeof(*a));

	if (!m || !a)
		goto out;
	pthread_mutex_lock(&s->lock);
	rows_take(s, m, a);
	pthread_mutex_unlock(&s->lock);
	rows_metrics(m, &models, out);
	rows_metrics(a, &agents, out);
	metrics_head(out, SERIES_FOLDED, "counter",
		     "Records counted under "
		     "the label value \"" SERIES_OTHER "\": their model (the "
		     "first %d provider and model pairs have series of their "
		     "own) or agent (the first %d).",
		     SERIES_MODELS_MAX, SERIES_AGENTS_MAX);
	metrics_printf(out,
		       SERIES_FOLDED "{label=\"gen_ai_response_model\"} "
				     "%" PRId64 "\n",
		       m->folded);
	metrics_printf(out,
		       SERIES_FOLDED "{label=\"gen_ai_agent_name\"} "
				     "%" PRId64 "\n",
		       a->folded);
out:
	free(m);
	free(a);
}
