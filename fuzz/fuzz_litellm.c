/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_litellm.c - libFuzzer target for the LiteLLM importer
 * (price_import_litellm). Input: a LiteLLM price file. Checks that a
 * refusal says why and gives nothing, and that whatever is imported is a
 * price file our parser loads (what `prices import` checks too).
 *
 * Build and run (from a configured build dir, after `make`):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     -I../src $(pkg-config --cflags json-c) ../fuzz/fuzz_litellm.c \
 *     ../src/price_import.c ../src/price.c ../src/usage.c \
 *     $(pkg-config --libs json-c) -lm -pthread -o fuzz-litellm
 *   ./fuzz-litellm -max_total_time=180 ../fuzz/corpus/litellm
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "price.h"
#include "price_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *doc = NULL;
	struct price_table *t;
	char err[256] = "";
	const char *s;

	if (price_import_litellm((const char *)data, size, "fuzz", "2026-12-02",
				 &doc, err, sizeof(err)) < 0) {
		if (doc || !err[0])
			abort();
		return 0;
	}
	if (!doc || !(t = price_table_new()))
		abort();
	s = json_object_to_json_string(doc);
	if (price_table_parse(t, s, strlen(s), "import", err, sizeof(err)) < 0)
		abort(); /* the importer wrote what we cannot load */
	price_table_free(t);
	json_object_put(doc);
	return 0;
}
