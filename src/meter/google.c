/* SPDX-License-Identifier: GPL-2.0-or-later
 * google.c - Gemini usageMetadata, bare (generativelanguage) or wrapped
 * as {"response": {...}} (Cloud Code v1internal), from SSE events, JSON
 * bodies and JSON-array stream elements alike.
 *
 * Threading: stateless; the accumulator belongs to the caller.
 */
#include "config.h"

#include <string.h>

#include "meter/google.h"
#include "meter/jhelp.h"

static const struct extract_field google_fields[] = {
	{ "promptTokenCount", NULL, EXTRACT_IN },
	{ "toolUsePromptTokenCount", NULL, EXTRACT_IN_TOOL },
	{ "candidatesTokenCount", NULL, EXTRACT_OUT },
	{ "thoughtsTokenCount", NULL, EXTRACT_THINK },
	{ "cachedContentTokenCount", NULL, EXTRACT_CACHED },
	{ "totalTokenCount", NULL, EXTRACT_TOTAL },
	{ NULL, NULL, 0 },
};

static bool
google_bare(struct json_object *o)
{
	struct json_object *v;

	return json_object_object_get_ex(o, "usageMetadata", &v) ||
	       json_object_object_get_ex(o, "candidates", &v) ||
	       json_object_object_get_ex(o, "modelVersion", &v) ||
	       json_object_object_get_ex(o, "promptFeedback", &v);
}

/* The GenerateContentResponse inside a Cloud Code envelope, or o. */
static struct json_object *
google_unwrap(struct json_object *o)
{
	struct json_object *r = jhelp_obj(o, "response");

	return r && !google_bare(o) && google_bare(r) ? r : o;
}

static int
google_match(const char *event, struct json_object *o)
{
	struct json_object *r = jhelp_obj(o, "response");

	(void)event;
	return google_bare(o) || (r && google_bare(r));
}

static bool
google_finished(struct json_object *o)
{
	struct json_object *cands, *c;
	const char *s;

	if (!json_object_object_get_ex(o, "candidates", &cands) ||
	    !json_object_is_type(cands, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(cands); i++) {
		c = json_object_array_get_idx(cands, i);
		if ((s = jhelp_str(c, "finishReason")) && *s &&
		    strcmp(s, "FINISH_REASON_UNSPECIFIED") != 0)
			return true;
	}
	return false;
}

static void
google_object(struct extract *x, const char *event, struct json_object *o)
{
	struct json_object *r = google_unwrap(o);

	(void)event;
	extract_model(x, r, "modelVersion");
	extract_usage(x, jhelp_obj(r, "usageMetadata"), google_fields);
	if (google_finished(r))
		x->terminal = true;
}

/* Gemini counts thoughts apart from candidates, and its stream has no
 * end marker but the finishReason. */
const struct extract_provider google_provider = {
	.name = "google",
	.match = google_match,
	.object = google_object,
	.flags = EXTRACT_THINK_APART | EXTRACT_END_NEEDS_EOF,
};
