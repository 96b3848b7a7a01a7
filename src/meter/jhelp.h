/* SPDX-License-Identifier: GPL-2.0-or-later
 * jhelp.h - typed member lookups on json-c objects, for the extractors
 *   and the meter: a member of the wrong type reads as absent.
 *
 * Threading: pure functions.
 * Ownership: both return borrowed pointers into o.
 */
#ifndef AGP_JHELP_H
#define AGP_JHELP_H

#include <json-c/json.h>

/* o's member key when o is an object and the member a string, else
 * NULL. The extractors read string values only through this, and only
 * under the keys listed in extract_keys (extract.h). */
const char *jhelp_str(struct json_object *o, const char *key);
/* o's member key when o is an object and the member one, else NULL. */
struct json_object *jhelp_obj(struct json_object *o, const char *key);

#endif
