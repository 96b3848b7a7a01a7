/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_filter.c - libFuzzer target for the /v1/requests argument parser
 * (store_filter_set) and the time syntax it shares with ?since=.
 * Input: "key=value" pairs separated by '&' (like a query string, not
 * URL-decoded: libmicrohttpd decodes before the parser sees it). Checks
 * that whatever is accepted is in range, and every refusal says why.
 *
 * Build and run (from a configured build dir, after `make`; the rest of
 * the daemon comes uninstrumented from libagp.a):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     -I../src -DRUNSTATEDIR='"/run"' $(pkg-config --cflags json-c) \
 *     ../fuzz/fuzz_filter.c ../src/store_filter.c ../src/api.c \
 *     src/libagp.a $(pkg-config --libs json-c libmicrohttpd gnutls \
 *     libcurl libcares zlib libbrotlidec libzstd sqlite3) -lm -pthread \
 *     -o fuzz-filter
 *   ./fuzz-filter -max_total_time=300 ../fuzz/corpus/filter
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check(const struct store_filter *f)
{
	if (f->limit < 1 || f->limit > STORE_LIMIT_MAX || f->before < 0 ||
	    f->complete < -1 || f->complete > 1 ||
	    memchr(f->model, '\0', sizeof(f->model)) == NULL ||
	    memchr(f->host, '\0', sizeof(f->host)) == NULL ||
	    memchr(f->endpoint, '\0', sizeof(f->endpoint)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_filter f;
	char *buf = malloc(size + 1), *p, *save = NULL;
	char err[128];

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	store_filter_init(&f);
	for (p = strtok_r(buf, "&", &save); p; p = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(p, '=');

		if (eq)
			*eq = '\0';
		err[0] = '\0';
		if (store_filter_set(&f, p, eq ? eq + 1 : NULL, 1795921262.0,
				     err, sizeof(err)) < 0 &&
		    !err[0])
			abort();
		fuzz_check(&f);
	}
	free(buf);
	return 0;
}
