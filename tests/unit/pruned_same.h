/* SPDX-License-Identifier: GPL-2.0-or-later
 * pruned_same.h - whether json-c read a pruned text as the original:
 * for test_prune and fuzz_prune.
 */
#ifndef AGP_PRUNED_SAME_H
#define AGP_PRUNED_SAME_H

#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "meter/prune.h"

/* b is a pruned a: the same value, but strings may be cut to a prefix of
 * at least PRUNE_KEEP bytes. */
static bool
pruned_same(struct json_object *a, struct json_object *b)
{
	struct json_object *v;
	size_t an, bn;

	if (json_object_get_type(a) != json_object_get_type(b))
		return false;
	switch (json_object_get_type(a)) {
	case json_type_string:
		an = (size_t)json_object_get_string_len(a);
		bn = (size_t)json_object_get_string_len(b);
		return bn <= an &&
		       memcmp(json_object_get_string(a),
			      json_object_get_string(b), bn) == 0 &&
		       (bn == an || bn >= PRUNE_KEEP);
	case json_type_array:
		if (json_object_array_length(a) != json_object_array_length(b))
			return false;
		for (size_t i = 0; i < json_object_array_length(a); i++)
			if (!pruned_same(json_object_array_get_idx(a, i),
					 json_object_array_get_idx(b, i)))
				return false;
		return true;
	case json_type_object:
		if (json_object_object_length(a) !=
		    json_object_object_length(b))
			return false;
		json_object_object_foreach(
			a, k, va) if (!json_object_object_get_ex(b, k, &v) ||
				      !pruned_same(va, v)) return false;
		return true;
	case json_type_double: /* NaN too */
		return memcmp(&(double){ json_object_get_double(a) },
			      &(double){ json_object_get_double(b) },
			      sizeof(double)) == 0;
	default: /* null, boolean, int */ return json_object_equal(a, b);
	}
}

#endif
