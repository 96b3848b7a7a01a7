/* SPDX-License-Identifier: GPL-2.0-or-later
 * price_import.h - LiteLLM's price file into our price format.
 *
 * Threading: stateless.
 */
#ifndef AGP_PRICE_IMPORT_H
#define AGP_PRICE_IMPORT_H

#include <stddef.h>

#include <json-c/json.h>

/* Converts buf[0..len), LiteLLM's model_prices_and_context_window.json,
 * into a document of our format (PRICE_FORMAT) whose entries carry
 * `source` and `date` (YYYY-MM-DD) and whose version is "litellm-DATE".
 * 0 with *out owned by the caller (json_object_put), or -1 with one line
 * in err. */
int price_import_litellm(const char *buf, size_t len, const char *source,
			 const char *date, struct json_object **out, char *err,
			 size_t errlen);

#endif
