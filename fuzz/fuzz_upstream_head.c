/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_upstream_head.c - libFuzzer target for the upstream response-head
 * collector: the input is split into lines at '\n' (kept, as curl keeps
 * them) and fed one by one; a complete head is filtered end-to-end.
 *
 * Build and run (from the top source directory, after configure in build/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Ibuild \
 *     fuzz/fuzz_upstream_head.c src/upstream_head.c -o /tmp/fuzz-uhead
 *   /tmp/fuzz-uhead -max_total_time=60 fuzz/corpus/upstream_head
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upstream_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct upstream_head h = { 0 };
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		int r = upstream_head_feed(&h, p, len);

		if (r < 0)
			break;
		if (r == 1) {
			struct http_header *out =
				calloc(h.nhdrs + 1, sizeof(*out));
			size_t n;

			if (!out)
				break;
			n = upstream_head_e2e(&h, out);
			for (size_t i = 0; i < n; i++)
				if (strlen(out[i].name) == 0)
					abort(); /* never an empty name */
			free(out);
			(void)upstream_head_reason(h.status);
		}
		p += len;
	}
	upstream_head_clear(&h);
	return 0;
}
