/* SPDX-License-Identifier: GPL-2.0-or-later
 * extract.c - provider detection by payload shape, over the ordered
 * table of providers, and the normalisation shared by all of them.
 *
 * Threading: one accumulator belongs to one exchange; no shared state.
 * Ownership: x->raw is a reference on a usage object inside a parsed
 *   event; it keeps that subtree alive after the event is put.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "meter/anthropic.h"
#include "meter/extract.h"
#include "meter/google.h"
#include "meter/jhelp.h"
#include "meter/openai.h"

const char *const extract_keys[] = {
	"code",	  "finishReason", "model", "modelVersion",
	"object", "status",	  "type",  NULL,
};

/* Tried in this order: OpenAI's "type": "response.*" and "object" are
 * surest, Anthropic's event types next; Google's shape, by member names
 * alone, is the loosest. */
static const struct extract_provider *const extract_providers[] = {
	&openai_provider,
	&anthropic_provider,
	&google_provider,
	NULL,
};

/* {"error": {...}} bodies and events, in each provider's spelling. */
static void
extract_error_object(struct extract *x, struct json_object *o)
{
	struct json_object *e = jhelp_obj(o, "error"), *code;
	const char *s;

	if (!e)
		return;
	if ((s = jhelp_str(e, "type")) || (s = jhelp_str(e, "status")) ||
	    (s = jhelp_str(e, "code"))) {
		extract_error(x, s);
	} else if (json_object_object_get_ex(e, "code", &code) &&
		   json_object_is_type(code, json_type_int)) {
		extract_error(x, json_object_get_string(code));
	} else {
		extract_error(x, "error");
	}
}

static void
extract_detect(struct extract *x, const char *event, struct json_object *o)
{
	for (size_t i = 0; extract_providers[i]; i++) {
		int dialect = extract_providers[i]->match(event, o);

		if (dialect > 0) {
			x->provider = extract_providers[i];
			x->dialect = dialect;
			return;
		}
	}
}

void
extract_object(struct extract *x, const char *event, struct json_object *o)
{
	if (!json_object_is_type(o, json_type_object))
		return;
	if (!x->provider)
		extract_detect(x, event, o);
	if (x->provider)
		x->provider->object(x, event, o);
	extract_error_object(x, o);
}

bool
extract_skip(const struct extract *x, const char *event)
{
	const char *const *p = x->provider ? x->provider->skip_events : NULL;
	size_t n = strlen(event), k;

	for (; p && *p; p++) {
		if (**p != '*') {
			if (strcmp(event, *p) == 0)
				return true;
		} else if (n > (k = strlen(*p + 1)) &&
			   strcmp(event + n - k, *p + 1) == 0) {
			return true;
		}
	}
	return false;
}

void
extract_done(struct extract *x)
{
	x->terminal = true;
}

static int64_t
extract_get(const struct extract *x, enum extract_slot s)
{
	return (x->have & (1u << s)) ? x->v[s] : 0;
}

/* Counts come from the wire: sums saturate rather than overflow. */
static int64_t
extract_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static int64_t
extract_sub(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static void
extract_normalise(const struct extract *x, struct usage_record *out)
{
	unsigned flags = x->provider ? x->provider->flags : 0;
	/* only Google reports tool-use prompt tokens, apart from the rest */
	int64_t in = extract_add(extract_get(x, EXTRACT_IN),
				 extract_get(x, EXTRACT_IN_TOOL));
	int64_t raw_out = extract_get(x, EXTRACT_OUT);
	int64_t think = extract_get(x, EXTRACT_THINK);
	bool has_total = x->have & (1u << EXTRACT_TOTAL);

	out->cached_tokens = extract_get(x, EXTRACT_CACHED);
	out->cache_creation_tokens = extract_get(x, EXTRACT_CWRITE);
	out->thinking_tokens = think;
	if (flags & EXTRACT_THINK_APART) {
		out->output_tokens = raw_out;
		raw_out = extract_add(raw_out, think);
	} else {
		out->output_tokens =
			raw_out > think ? extract_sub(raw_out, think) : 0;
	}
	if (flags & EXTRACT_IN_SANS_CACHE)
		in = extract_add(in, extract_add(out->cached_tokens,
						 out->cache_creation_tokens));
	out->input_tokens = in;
	/* The 1-hour writes as reported, at most all writes; the rest are
	 * 5-minute ones, also when the split is absent. */
	out->cache_write_1h_tokens = extract_get(x, EXTRACT_CW1H);
	if (out->cache_write_1h_tokens < 0)
		out->cache_write_1h_tokens = 0;
	if (out->cache_write_1h_tokens > out->cache_creation_tokens)
		out->cache_write_1h_tokens =
			out->cache_creation_tokens > 0
				? out->cache_creation_tokens
				: 0;
	out->cache_write_5m_tokens = extract_sub(out->cache_creation_tokens,
						 out->cache_write_1h_tokens);
	/* a provider without a total (Anthropic) maps no field to it */
	out->total_tokens = has_total ? extract_get(x, EXTRACT_TOTAL)
				      : extract_add(in, raw_out);
}

void
extract_finish(struct extract *x, bool sse, bool ended_ok,
	       struct usage_record *out)
{
	out->has_usage = x->have != 0;
	if (out->has_usage)
		extract_normalise(x, out);
	if (x->model[0])
		snprintf(out->model, sizeof(out->model), "%s", x->model);
	snprintf(out->error, sizeof(out->error), "%s", x->error);
	if (x->error[0])
		out->complete = false;
	else if (!sse)
		out->complete = ended_ok;
	else
		out->complete = x->terminal &&
				(ended_ok || !x->provider ||
				 !(x->provider->flags & EXTRACT_END_NEEDS_EOF));
	out->raw[0] = '\0';
	if (x->raw)
		snprintf(out->raw, sizeof(out->raw), "%s",
			 json_object_to_json_string_ext(
				 x->raw,
				 JSON_C_TO_STRING_PLAIN |
					 JSON_C_TO_STRING_NOSLASHESCAPE));
}

void
extract_clear(struct extract *x)
{
	json_object_put(x->raw);
	memset(x, 0, sizeof(*x));
}
