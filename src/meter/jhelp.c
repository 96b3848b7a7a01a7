/* SPDX-License-Identifier: GPL-2.0-or-later
 * jhelp.c - typed member lookups on json-c objects.
 *
 * Threading: pure functions.
 */
#include "config.h"

#include "meter/jhelp.h"

static struct json_object *
jhelp_get(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

const char *
jhelp_str(struct json_object *o, const char *key)
{
	struct json_object *v = jhelp_get(o, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

struct json_object *
jhelp_obj(struct json_object *o, const char *key)
{
	return jhelp_get(o, key, json_type_object);
}
