/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_by.c - libFuzzer target for the /v1/usage?by= parser
 * (store_by_parse). Input: the parameter's value (libmicrohttpd has
 * decoded it). Checks that an accepted list has one to STORE_BY_NKINDS
 * (eight) distinct known names and that a refusal says why.
 *
 * Build and run (from a configured build dir, after `make`); the
 * parser's file is compiled here too, so that libFuzzer sees its
 * coverage (libagp.a is built by gcc, without it):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     -I../src $(pkg-config --cflags json-c) ../fuzz/fuzz_by.c \
 *     ../src/store_group.c src/libagp.a $(pkg-config --libs json-c \
 *     libmicrohttpd gnutls libcurl libcares zlib libbrotlidec libzstd \
 *     sqlite3) -lm -pthread \
 *     -o fuzz-by
 *   ./fuzz-by -max_total_time=180 ../fuzz/corpus/by
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[128] = "";
	struct store_by b;
	unsigned seen = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (store_by_parse(s, &b, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();
	} else {
		if (b.n < 1 || b.n > STORE_BY_NKINDS)
			abort();
		for (size_t i = 0; i < b.n; i++) {
			if ((unsigned)b.k[i] >= STORE_BY_NKINDS ||
			    (seen & (1u << b.k[i])))
				abort();
			seen |= 1u << b.k[i];
		}
	}
	free(s);
	return 0;
}
