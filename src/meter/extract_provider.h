/* SPDX-License-Identifier: GPL-2.0-or-later
 * extract_provider.h - what a provider extractor is made of: the
 * descriptor each of google.c, anthropic.c and openai.c exports, the
 * per-exchange accumulator it fills, and the helpers it fills it with.
 * The providers include this and jhelp.h, never extract.h, so extract.c
 * can hold the table of providers without the providers needing it.
 *
 * Threading: one accumulator belongs to one exchange; descriptors are
 *   constant.
 * Ownership: the accumulator holds a reference to the last usage object
 *   seen (for the raw copy), dropped by extract_clear() (extract.h).
 */
#ifndef AGP_EXTRACT_PROVIDER_H
#define AGP_EXTRACT_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "usage.h"

/* Raw provider counters, before normalisation. */
enum extract_slot {
	EXTRACT_IN,	 /* input tokens as the provider counts them */
	EXTRACT_IN_TOOL, /* Google toolUsePromptTokenCount */
	EXTRACT_OUT,	 /* output as the provider counts it */
	EXTRACT_THINK,
	EXTRACT_CACHED, /* cache reads */
	EXTRACT_CWRITE, /* cache writes */
	EXTRACT_TOTAL,
	EXTRACT_CW5M, /* Anthropic cache writes by lifetime */
	EXTRACT_CW1H,
	EXTRACT_NSLOTS,
};

/* Maps a usage object member (or member.sub) to a slot. */
struct extract_field {
	const char *key;
	const char *sub;
	enum extract_slot slot;
};

struct extract_provider;

struct extract {
	/* the provider the first object's shape matched, and its dialect
	 * (extract_provider.match); NULL until then */
	const struct extract_provider *provider;
	int dialect;
	int64_t v[EXTRACT_NSLOTS];
	unsigned have; /* bit per slot seen */
	bool terminal; /* the provider's normal end marker was seen */
	char model[USAGE_MODEL_MAX];
	char error[USAGE_ERROR_MAX];
	struct json_object *raw; /* last usage object (a reference) */
};

/* Normalisation flags: how a provider's counters differ from the record's
 * (fixtures/README.txt has the mapping). */
enum {
	/* thinking is counted apart from the output, not inside it */
	EXTRACT_THINK_APART = 1u << 0,
	/* the input count leaves out cache reads and writes */
	EXTRACT_IN_SANS_CACHE = 1u << 1,
	/* a stream has no end marker but its last event's finish reason:
	 * it is complete only when the body also ended normally */
	EXTRACT_END_NEEDS_EOF = 1u << 2,
};

/* One provider, as extract.c's table holds it. Detection is by payload
 * shape (DESIGN.md): the host is only a hint and is not read here. */
struct extract_provider {
	const char *name;
	/* Claims an exchange by one object (a JSON body, an array element
	 * or an SSE event; event is the SSE event type or NULL): 0 when the
	 * shape is not this provider's, else the dialect kept in x->dialect
	 * for object(). Tried in table order until one claims. */
	int (*match)(const char *event, struct json_object *o);
	/* Reads one object of a claimed exchange into x. It may only
	 * overwrite state, never sum or count (extract_keys, extract.h). */
	void (*object)(struct extract *x, const char *event,
		       struct json_object *o);
	unsigned flags; /* EXTRACT_THINK_APART ... */
	/* SSE event types that never carry usage, skipped unparsed once the
	 * exchange is claimed; "*suffix" matches a longer type ending in
	 * suffix. NULL-terminated, or NULL for none. */
	const char *const *skip_events;
	/* Price keys belong here once prices are keyed by provider; today
	 * price.c keys them by model name alone. */
};

/* Helpers for the providers' object() functions. */
/* Streams report cumulative snapshots: a member of fields present in
 * usage overwrites its slot, one absent (or null) leaves it alone. x
 * keeps a reference on usage for the raw copy. */
void extract_usage(struct extract *x, struct json_object *usage,
		   const struct extract_field *fields);
/* o's string member key, when non-empty, becomes the model. */
void extract_model(struct extract *x, struct json_object *o, const char *key);
/* type, when non-empty, becomes the error. */
void extract_error(struct extract *x, const char *type);

#endif
