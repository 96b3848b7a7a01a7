/* SPDX-License-Identifier: GPL-2.0-or-later
 * anthropic.c - Anthropic Messages usage: message_start, cumulative
 * message_delta, message_stop and error events, and JSON message bodies.
 *
 * Threading: stateless; the accumulator belongs to the caller.
 */
#include "config.h"

#include <string.h>

#include "meter/anthropic.h"
#include "meter/jhelp.h"

static const struct extract_field anthropic_fields[] = {
	{ "input_tokens", NULL, EXTRACT_IN },
	{ "cache_creation_input_tokens", NULL, EXTRACT_CWRITE },
	{ "cache_read_input_tokens", NULL, EXTRACT_CACHED },
	{ "cache_creation", "ephemeral_5m_input_tokens", EXTRACT_CW5M },
	{ "cache_creation", "ephemeral_1h_input_tokens", EXTRACT_CW1H },
	{ "output_tokens", NULL, EXTRACT_OUT },
	{ "output_tokens_details", "thinking_tokens", EXTRACT_THINK },
	{ NULL, NULL, 0 },
};

static const char *const anthropic_types[] = {
	"message_start",
	"message_delta",
	"message_stop",
	"content_block_start",
	"content_block_delta",
	"content_block_stop",
	"ping",
	NULL,
};

static bool
anthropic_type(const char *t)
{
	for (size_t i = 0; t && anthropic_types[i]; i++)
		if (strcmp(t, anthropic_types[i]) == 0)
			return true;
	return false;
}

static int
anthropic_match(const char *event, struct json_object *o)
{
	const char *t = jhelp_str(o, "type");
	struct json_object *u = jhelp_obj(o, "usage"), *v;

	if (anthropic_type(t) || anthropic_type(event))
		return true;
	/* {"type":"error","error":{...}} is Anthropic's error shape */
	if (t && strcmp(t, "error") == 0 && jhelp_obj(o, "error"))
		return true;
	return t && strcmp(t, "message") == 0 && u &&
	       json_object_object_get_ex(u, "input_tokens", &v);
}

static void
anthropic_object(struct extract *x, const char *event, struct json_object *o)
{
	const char *t = jhelp_str(o, "type");
	struct json_object *msg;

	if (!t)
		t = event ? event : "";
	if (strcmp(t, "message_start") == 0) {
		msg = jhelp_obj(o, "message");
		extract_model(x, msg, "model");
		extract_usage(x, jhelp_obj(msg, "usage"), anthropic_fields);
	} else if (strcmp(t, "message_delta") == 0) {
		extract_usage(x, jhelp_obj(o, "usage"), anthropic_fields);
	} else if (strcmp(t, "message_stop") == 0) {
		x->terminal = true;
	} else if (strcmp(t, "message") == 0) {
		extract_model(x, o, "model");
		extract_usage(x, jhelp_obj(o, "usage"), anthropic_fields);
	}
	/* "error" events: extract_object() reads error.type for all */
}

static const char *const anthropic_skip[] = {
	"content_block_delta",
	"ping",
	NULL,
};

/* Anthropic counts thinking inside the output and the cache apart from
 * the input, and gives no total. */
const struct extract_provider anthropic_provider = {
	.name = "anthropic",
	.match = anthropic_match,
	.object = anthropic_object,
	.flags = EXTRACT_IN_SANS_CACHE,
	.skip_events = anthropic_skip,
};
