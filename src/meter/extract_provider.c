/* SPDX-License-Identifier: GPL-2.0-or-later
 * extract_provider.c - the helpers the provider extractors fill the
 * accumulator with.
 *
 * Threading: one accumulator belongs to one exchange; no shared state.
 * Ownership: x->raw is a reference on a usage object inside a parsed
 *   event; it keeps that subtree alive after the event is put.
 */
#include "config.h"

#include <stdio.h>

#include "meter/extract_provider.h"
#include "meter/jhelp.h"

void
extract_model(struct extract *x, struct json_object *o, const char *key)
{
	const char *s = jhelp_str(o, key);

	if (s && *s)
		snprintf(x->model, sizeof(x->model), "%s", s);
}

void
extract_error(struct extract *x, const char *type)
{
	if (type && *type)
		snprintf(x->error, sizeof(x->error), "%s", type);
}

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
