/* SPDX-License-Identifier: GPL-2.0-or-later
 * extract.h - usage extraction shared by the provider extractors
 * (google.c, anthropic.c, openai.c): the per-exchange accumulator, the
 * shape detection and the normalisation into a usage_record.
 *
 * Threading: one accumulator belongs to one exchange; no shared state.
 * Ownership: the accumulator holds a reference to the last usage object
 *   seen (for the raw copy), dropped by extract_clear().
 */
#ifndef AGP_EXTRACT_H
#define AGP_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "usage.h"

enum extract_kind {
	EXTRACT_NONE,
	EXTRACT_GOOGLE,		/* usageMetadata, bare or Cloud Code wrapped */
	EXTRACT_ANTHROPIC,	/* Messages API */
	EXTRACT_CHAT,		/* OpenAI Chat Completions */
	EXTRACT_RESPONSES,	/* OpenAI Responses */
};

/* Raw provider counters, before normalisation. */
enum extract_slot {
	EXTRACT_IN,		/* prompt / input tokens as the provider counts */
	EXTRACT_IN_TOOL,	/* Google toolUsePromptTokenCount */
	EXTRACT_OUT,		/* output as the provider counts it */
	EXTRACT_THINK,
	EXTRACT_CACHED,		/* cache reads */
	EXTRACT_CWRITE,		/* cache writes */
	EXTRACT_TOTAL,
	EXTRACT_CW5M,		/* Anthropic cache writes by lifetime */
	EXTRACT_CW1H,
	EXTRACT_NSLOTS,
};

/* Maps a usage object member (or member.sub) to a slot. */
struct extract_field {
	const char *key;
	const char *sub;
	enum extract_slot slot;
};

struct extract {
	enum extract_kind kind;
	int64_t v[EXTRACT_NSLOTS];
	unsigned have;		/* bit per slot seen */
	bool terminal;		/* the provider's normal end marker was seen */
	char model[USAGE_MODEL_MAX];
	char error[USAGE_ERROR_MAX];
	struct json_object *raw;	/* last usage object (a reference) */
};

/* The object members whose string values the extractors read, all
 * through extract_str(); NULL-terminated. The meter skips parsing most
 * stream events on two promises of the extractors: they read no other
 * string values, and they only ever overwrite state (no sums, counts or
 * "first wins" but the kind), so an object followed by one that
 * prune_alike() finds alike under this list and the same event type
 * leaves nothing behind that the later one does not overwrite. */
extern const char *const extract_keys[];

/* Takes one parsed event, body or array element. `event` is the SSE
 * event type, or NULL for JSON bodies. */
void extract_object(struct extract *x, const char *event,
                    struct json_object *o);
/* The stream's "[DONE]" sentinel. */
void extract_done(struct extract *x);
/* Normalises into out (tokens, has_usage, error, raw, and the model when
 * the response named one). `ended_ok` says the body ended normally as a
 * complete JSON document (JSON) or stream (SSE). */
void extract_finish(struct extract *x, bool sse, bool ended_ok,
                    struct usage_record *out);
void extract_clear(struct extract *x);

/* Helpers for the extractors. */
void extract_usage(struct extract *x, struct json_object *usage,
                   const struct extract_field *fields);
void extract_model(struct extract *x, struct json_object *o,
                   const char *key);
void extract_error(struct extract *x, const char *type);
const char *extract_str(struct json_object *o, const char *key);
struct json_object *extract_obj(struct json_object *o, const char *key);

/* Per-provider shape tests and handlers. */
bool google_match(struct json_object *o);
void google_object(struct extract *x, struct json_object *o);
bool anthropic_match(const char *event, struct json_object *o);
void anthropic_object(struct extract *x, const char *event,
                      struct json_object *o);
enum extract_kind openai_match(struct json_object *o);
void openai_chat_object(struct extract *x, struct json_object *o);
void openai_responses_object(struct extract *x, struct json_object *o);

#endif
