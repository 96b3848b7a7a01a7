/* SPDX-License-Identifier: GPL-2.0-or-later
 * openai.c - OpenAI usage: Chat Completions (the final chunk with
 * "choices": [] and JSON bodies) and Responses (response.completed,
 * .incomplete, .failed events and JSON Response objects).
 *
 * Threading: stateless; the accumulator belongs to the caller.
 */
#include "config.h"

#include <string.h>

#include "meter/extract.h"

static const struct extract_field openai_chat_fields[] = {
	{ "prompt_tokens", NULL, EXTRACT_IN },
	{ "completion_tokens", NULL, EXTRACT_OUT },
	{ "total_tokens", NULL, EXTRACT_TOTAL },
	{ "prompt_tokens_details", "cached_tokens", EXTRACT_CACHED },
	{ "completion_tokens_details", "reasoning_tokens", EXTRACT_THINK },
	{ NULL, NULL, 0 },
};

static const struct extract_field openai_responses_fields[] = {
	{ "input_tokens", NULL, EXTRACT_IN },
	{ "output_tokens", NULL, EXTRACT_OUT },
	{ "total_tokens", NULL, EXTRACT_TOTAL },
	{ "input_tokens_details", "cached_tokens", EXTRACT_CACHED },
	{ "output_tokens_details", "reasoning_tokens", EXTRACT_THINK },
	{ NULL, NULL, 0 },
};

static bool
openai_prefix(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

enum extract_kind
openai_match(struct json_object *o)
{
	const char *t = extract_str(o, "type");
	const char *obj = extract_str(o, "object");
	struct json_object *u = extract_obj(o, "usage"), *v;

	if (openai_prefix(t, "response.") ||
	    (obj && strcmp(obj, "response") == 0))
		return EXTRACT_RESPONSES;
	if (openai_prefix(obj, "chat.completion") ||
	    json_object_object_get_ex(o, "choices", &v) ||
	    (u && json_object_object_get_ex(u, "prompt_tokens", &v)))
		return EXTRACT_CHAT;
	return EXTRACT_NONE;
}

void
openai_chat_object(struct extract *x, struct json_object *o)
{
	extract_model(x, o, "model");
	/* content chunks carry "usage": null, which must reset nothing */
	extract_usage(x, extract_obj(o, "usage"), openai_chat_fields);
}

static void
openai_response(struct extract *x, struct json_object *r)
{
	struct json_object *e = extract_obj(r, "error");
	const char *status = extract_str(r, "status");

	extract_model(x, r, "model");
	extract_usage(x, extract_obj(r, "usage"), openai_responses_fields);
	if (status && strcmp(status, "failed") == 0)
		extract_error(x, e && extract_str(e, "code") ?
		              extract_str(e, "code") : "failed");
}

void
openai_responses_object(struct extract *x, struct json_object *o)
{
	const char *t = extract_str(o, "type");
	const char *obj = extract_str(o, "object");

	if (obj && strcmp(obj, "response") == 0) {
		openai_response(x, o);		/* a JSON body */
	} else if (openai_prefix(t, "response.")) {
		openai_response(x, extract_obj(o, "response"));
		if (strcmp(t, "response.completed") == 0)
			x->terminal = true;
	} else if (t && strcmp(t, "error") == 0) {
		extract_error(x, extract_str(o, "code") ?
		              extract_str(o, "code") : "error");
	}
}
