/* SPDX-License-Identifier: GPL-2.0-or-later
 * openai.c - OpenAI usage: Chat Completions (the final chunk with
 * "choices": [] and JSON bodies) and Responses (response.completed,
 * .incomplete, .failed events and JSON Response objects).
 *
 * Threading: stateless; the accumulator belongs to the caller.
 */
#include "config.h"

#include <string.h>

#include "meter/jhelp.h"
#include "meter/openai.h"

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

static int
openai_match(const char *event, struct json_object *o)
{
	const char *t = jhelp_str(o, "type");
	const char *obj = jhelp_str(o, "object");
	struct json_object *u = jhelp_obj(o, "usage"), *v;

	(void)event;
	if (openai_prefix(t, "response.") ||
	    (obj && strcmp(obj, "response") == 0))
		return OPENAI_RESPONSES;
	if (openai_prefix(obj, "chat.completion") ||
	    json_object_object_get_ex(o, "choices", &v) ||
	    (u && json_object_object_get_ex(u, "prompt_tokens", &v)))
		return OPENAI_CHAT;
	return 0;
}

static void
openai_chat_object(struct extract *x, struct json_object *o)
{
	extract_model(x, o, "model");
	/* content chunks carry "usage": null, which must reset nothing */
	extract_usage(x, jhelp_obj(o, "usage"), openai_chat_fields);
}

static void
openai_response(struct extract *x, struct json_object *r)
{
	struct json_object *e = jhelp_obj(r, "error");
	const char *status = jhelp_str(r, "status");

	extract_model(x, r, "model");
	extract_usage(x, jhelp_obj(r, "usage"), openai_responses_fields);
	if (status && strcmp(status, "failed") == 0)
		extract_error(x, e && jhelp_str(e, "code")
					 ? jhelp_str(e, "code")
					 : "failed");
}

static void
openai_responses_object(struct extract *x, struct json_object *o)
{
	const char *t = jhelp_str(o, "type");
	const char *obj = jhelp_str(o, "object");

	if (obj && strcmp(obj, "response") == 0) {
		openai_response(x, o); /* a JSON body */
	} else if (openai_prefix(t, "response.")) {
		openai_response(x, jhelp_obj(o, "response"));
		if (strcmp(t, "response.completed") == 0)
			x->terminal = true;
	} else if (t && strcmp(t, "error") == 0) {
		extract_error(x, jhelp_str(o, "code") ? jhelp_str(o, "code")
						      : "error");
	}
}

static void
openai_object(struct extract *x, const char *event, struct json_object *o)
{
	(void)event;
	if (x->dialect == OPENAI_RESPONSES)
		openai_responses_object(x, o);
	else
		openai_chat_object(x, o);
}

/* The response.*.delta events, most of a Responses stream, never carry
 * usage. */
static const char *const openai_skip[] = { "*.delta", NULL };

const struct extract_provider openai_provider = {
	.name = "openai",
	.match = openai_match,
	.object = openai_object,
	.skip_events = openai_skip,
};
