/* SPDX-License-Identifier: GPL-2.0-or-later
 * price_import.c - LiteLLM's model_prices_and_context_window.json into
 * our price format (`antigravity-proxy prices import`).
 *
 * LiteLLM gives USD per token; ours is USD per million tokens. Entries
 * without both input_cost_per_token and output_cost_per_token (images,
 * embeddings, "sample_spec") are skipped. The long-context tier is the
 * lowest "*_above_<N>k_tokens" threshold found in the entry.
 *
 * Threading: stateless.
 * Ownership: price_import_litellm() returns a document the caller puts.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "price.h"
#include "price_import.h"

static const struct {
	const char *litellm; /* without "_above_<N>k_tokens" */
	const char *ours;
} import_rates[] = {
	{ "input_cost_per_token", "input" },
	{ "output_cost_per_token", "output" },
	{ "output_cost_per_reasoning_token", "reasoning" },
	{ "cache_read_input_token_cost", "cache_read" },
	{ "cache_creation_input_token_cost", "cache_write_5m" },
	{ "cache_creation_input_token_cost_above_1hr", "cache_write_1h" },
};
#define NRATES (sizeof(import_rates) / sizeof(import_rates[0]))

/* A per-token cost as a per-million rate; false unless a number >= 0. */
static bool
rate_of(struct json_object *v, double *out)
{
	double d;

	if (!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int))
		return false;
	d = json_object_get_double(v);
	if (!isfinite(d) || d < 0 || d > 1e3)
		return false;
	*out = d * 1e6;
	return true;
}

/* The threshold of a "<rate>_above_<N>k_tokens" key, 0 if it is not one
 * of ours; *which gets the rate's index. */
static int64_t
tier_key(const char *key, size_t *which)
{
	for (size_t i = 0; i < NRATES; i++) {
		size_t n = strlen(import_rates[i].litellm);
		char *end;
		long k;

		if (strncmp(key, import_rates[i].litellm, n) != 0 ||
		    strncmp(key + n, "_above_", 7) != 0)
			continue;
		errno = 0;
		k = strtol(key + n + 7, &end, 10);
		if (errno || k <= 0 || k > 100000 ||
		    strcmp(end, "k_tokens") != 0)
			continue;
		*which = i;
		return (int64_t)k * 1000;
	}
	return 0;
}

static int64_t
lowest_tier(struct json_object *o)
{
	int64_t low = 0, t;
	size_t w;

	json_object_object_foreach(o, key, v)
	{
		(void)v;
		if ((t = tier_key(key, &w)) > 0 && (low == 0 || t < low))
			low = t;
	}
	return low;
}

static void
add_rate(struct json_object *dst, const char *key, double v)
{
	json_object_object_add(dst, key, price_json_usd(v));
}

/* One LiteLLM entry as ours, or NULL when it is not a text model. */
static struct json_object *
import_entry(struct json_object *o, const char *source, const char *date)
{
	struct json_object *e, *lc = NULL, *v;
	int64_t tier;
	double r, in, out;
	size_t w;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "input_cost_per_token", &v) ||
	    !rate_of(v, &in) ||
	    !json_object_object_get_ex(o, "output_cost_per_token", &v) ||
	    !rate_of(v, &out))
		return NULL;
	tier = lowest_tier(o);
	e = json_object_new_object();
	if (json_object_object_get_ex(o, "litellm_provider", &v) &&
	    json_object_is_type(v, json_type_string))
		json_object_object_add(e, "provider", json_object_get(v));
	for (size_t i = 0; i < NRATES; i++)
		if (json_object_object_get_ex(o, import_rates[i].litellm, &v) &&
		    rate_of(v, &r))
			add_rate(e, import_rates[i].ours, r);
	if (tier > 0) {
		lc = json_object_new_object();
		json_object_object_add(lc, "threshold",
				       json_object_new_int64(tier));
		json_object_object_foreach(o, key, tv)
		{
			if (tier_key(key, &w) == tier && rate_of(tv, &r))
				add_rate(lc, import_rates[w].ours, r);
		}
		/* A tier that leaves input or output out keeps the base one:
		 * LiteLLM lists only the rates that change. */
		if (!json_object_object_get_ex(lc, "input", &v))
			add_rate(lc, "input", in);
		if (!json_object_object_get_ex(lc, "output", &v))
			add_rate(lc, "output", out);
		json_object_object_add(e, "long_context", lc);
	}
	json_object_object_add(e, "date", json_object_new_string(date));
	json_object_object_add(e, "source", json_object_new_string(source));
	json_object_object_add(
		e, "note",
		json_object_new_string(
			"imported from LiteLLM; check against the provider's page"));
	return e;
}

int
price_import_litellm(const char *buf, size_t len, const char *source,
		     const char *date, struct json_object **out, char *err,
		     size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc = NULL, *res = NULL, *models, *e;
	char version[64];
	int rc = -1;

	*out = NULL;
	if (!tok || len > PRICE_FILE_MAX || len > INT32_MAX) {
		snprintf(err, errlen, "%s",
			 tok ? "file too large" : "out of memory");
		goto out;
	}
	doc = json_tokener_parse_ex(tok, buf, (int)len);
	if (!doc || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len ||
	    !json_object_is_type(doc, json_type_object)) {
		snprintf(err, errlen,
			 "not a LiteLLM price file (a JSON "
			 "object of models)");
		goto out;
	}
	res = json_object_new_object();
	models = json_object_new_object();
	snprintf(version, sizeof(version), "litellm-%s", date);
	json_object_object_add(res, "format",
			       json_object_new_string(PRICE_FORMAT));
	json_object_object_add(res, "version", json_object_new_string(version));
	json_object_object_add(res, "currency", json_object_new_string("USD"));
	json_object_object_add(res, "unit",
			       json_object_new_string("per 1M tokens"));
	json_object_object_foreach(doc, id, o)
	{
		if (strlen(id) == 0 || strlen(id) >= USAGE_MODEL_MAX ||
		    strcmp(id, "sample_spec") == 0) /* LiteLLM's schema */
			continue;
		if ((e = import_entry(o, source, date)))
			json_object_object_add(models, id, e);
	}
	json_object_object_add(res, "models", models);
	*out = res;
	res = NULL;
	rc = 0;
out:
	json_object_put(res);
	json_object_put(doc);
	json_tokener_free(tok);
	return rc;
}
