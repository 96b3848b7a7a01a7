/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_tz.c - libFuzzer target for the /v1/usage?tz= parser
 * (when_parse_tz). Input: the parameter's value (libmicrohttpd has
 * decoded it). Checks that an accepted offset is whole minutes, at most
 * 14 hours, and survives when_format_tz() and a second parse unchanged.
 *
 * Build and run (from a configured build dir, after `make`); api.c is
 * compiled here too, so that libFuzzer sees the parser's coverage
 * (libagp.a is built by gcc, without it; the archive's api.o is then
 * not linked):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     -I../src $(pkg-config --cflags json-c) ../fuzz/fuzz_tz.c \
 *     ../src/api.c src/libagp.a $(pkg-config --libs json-c \
 *     libmicrohttpd gnutls libcurl libcares zlib libbrotlidec libzstd \
 *     sqlite3) -lm -pthread \
 *     -o fuzz-tz
 *   ./fuzz-tz -max_total_time=180 ../fuzz/corpus/tz
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "when.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[16];
	long off = 12345, again = 54321;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (when_parse_tz(s, &off) == 0) {
		if (off % 60 || off > 14 * 3600 || off < -14 * 3600)
			abort();
		when_format_tz(off, buf, sizeof(buf));
		if (strlen(buf) != 6 || when_parse_tz(buf, &again) < 0 ||
		    again != off)
			abort();
	} else if (off != 12345) {
		abort(); /* a refusal leaves *off alone */
	}
	free(s);
	return 0;
}
