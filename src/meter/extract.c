/* SPDX-License-Identifier: GPL-2.0-or-later
 * extract.c - provider detection by payload shape, the cumulative
 * accumulator and the normalisation shared by all extractors.
 *
 * Threading: one accumulator belongs to one exchange; no shared state.
 * Ownership: x->raw is a reference on a usage object inside a parsed
 *   event; it keeps that subtree alive after the event is put.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "meter/extract.h"

const char *const extract_keys[] = {
	"code", "finishReason", "model", "modelVersion", "object", "status",
	"type", NULL,
};

/* Every key read here must be listed in extract_keys. */
const char *
extract_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

struct json_object *
extract_obj(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

void
extract_model(struct extract *x, struct json_object *o, const char *key)
{
	const char *s = extract_str(o, key);

	if (s && *s)
		snprintf(x->model, sizeof(x->model), "%s", s);
}

void
extract_error(struct extract *x, const char *type)
{
	if (type && *type)
		snprintf(x->error, sizeof(x->error), "%s", type);
}

/* Streams report cumulative snapshots: a field present overwrites the
 * slot, a field absent (or null) leaves it alone. */
void
extract_usage(struct extract *x, struct json_object *usage,
              const struct extract_field *fields)
{
	if (!json_object_is_type(usage, json_type_object))
		return;
	for (const struct extract_field *f = fields; f->key; f++) {
		struct json_object *v = NULL;

		if (!json_object_object_get_ex(usage, f->key, &v))
			continue;
		if (f->sub && (!json_object_is_type(v, json_type_object) ||
		               !json_object_object_get_ex(v, f->sub, &v)))
			continue;
		if (!json_object_is_type(v, json_type_int))
			continue;
		x->v[f->slot] = json_object_get_int64(v);
		x->have |= 1u << f->slot;
	}
	json_object_put(x->raw);
	x->raw = json_object_get(usage);
}

/* {"error": {...}} bodies and events, in each provider's spelling. */
static void
extract_error_object(struct extract *x, struct json_object *o)
{
	struct json_object *e = extract_obj(o, "error"), *code;
	const char *s;

	if (!e)
		return;
	if ((s = extract_str(e, "type")) || (s = extract_str(e, "status")) ||
	    (s = extract_str(e, "code"))) {
		extract_error(x, s);
	} else if (json_object_object_get_ex(e, "code", &code) &&
	           json_object_is_type(code, json_type_int)) {
		extract_error(x, json_object_get_string(code));
	} else {
		extract_error(x, "error");
	}
}

static enum extract_kind
extract_detect(const char *event, struct json_object *o)
{
	enum extract_kind k;

	if ((k = openai_match(o)) != EXTRACT_NONE)
		return k;
	if (anthropic_match(event, o))
		return EXTRACT_ANTHROPIC;
	if (google_match(o))
		return EXTRACT_GOOGLE;
	return EXTRACT_NONE;
}

void
extract_object(struct extract *x, const char *event, struct json_object *o)
{
	if (!json_object_is_type(o, json_type_object))
		return;
	if (x->kind == EXTRACT_NONE)
		x->kind = extract_detect(event, o);
	switch (x->kind) {
	case EXTRACT_GOOGLE:
		google_object(x, o);
		break;
	case EXTRACT_ANTHROPIC:
		anthropic_object(x, event, o);
		break;
	case EXTRACT_CHAT:
		openai_chat_object(x, o);
		break;
	case EXTRACT_RESPONSES:
		openai_responses_object(x, o);
		break;
	case EXTRACT_NONE:
		break;
	}
	extract_error_object(x, o);
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
	int64_t in = extract_get(x, EXTRACT_IN);
	int64_t raw_out = extract_get(x, EXTRACT_OUT);
	int64_t think = extract_get(x, EXTRACT_THINK);
	bool has_total = x->have & (1u << EXTRACT_TOTAL);

	out->cached_tokens = extract_get(x, EXTRACT_CACHED);
	out->cache_creation_tokens = extract_get(x, EXTRACT_CWRITE);
	out->thinking_tokens = think;
	if (x->kind == EXTRACT_GOOGLE) {
		/* Gemini counts thoughts apart from candidates already */
		in = extract_add(in, extract_get(x, EXTRACT_IN_TOOL));
		out->output_tokens = raw_out;
		raw_out = extract_add(raw_out, think);
	} else {
		/* the others count reasoning inside the output */
		out->output_tokens = raw_out > think ?
		    extract_sub(raw_out, think) : 0;
	}
	if (x->kind == EXTRACT_ANTHROPIC)
		in = extract_add(in, extract_add(out->cached_tokens,
		                                 out->cache_creation_tokens));
	out->input_tokens = in;
	/* The 1-hour writes as reported, at most all writes; the rest are
	 * 5-minute ones, also when the split is absent. */
	out->cache_write_1h_tokens = extract_get(x, EXTRACT_CW1H);
	if (out->cache_write_1h_tokens < 0)
		out->cache_write_1h_tokens = 0;
	if (out->cache_write_1h_tokens > out->cache_creation_tokens)
		out->cache_write_1h_tokens = out->cache_creation_tokens > 0 ?
		    out->cache_creation_tokens : 0;
	out->cache_write_5m_tokens = extract_sub(out->cache_creation_tokens,
	                                         out->cache_write_1h_tokens);
	out->total_tokens = has_total && x->kind != EXTRACT_ANTHROPIC ?
	    extract_get(x, EXTRACT_TOTAL) : extract_add(in, raw_out);
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
		    (x->kind != EXTRACT_GOOGLE || ended_ok);
	out->raw[0] = '\0';
	if (x->raw)
		snprintf(out->raw, sizeof(out->raw), "%s",
		         json_object_to_json_string_ext(x->raw,
		             JSON_C_TO_STRING_PLAIN |
		             JSON_C_TO_STRING_NOSLASHESCAPE));
}

void
extract_clear(struct extract *x)
{
	json_object_put(x->raw);
	memset(x, 0, sizeof(*x));
}
