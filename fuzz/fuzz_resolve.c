/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_resolve.c - libFuzzer target for the resolver's string parsers:
 * DNS server specs, host name checks, IP literals.
 * Input: "HOST\nFALLBACK" (either part may be anything). No query is made:
 * the lookup runs in RESOLVE_ORIGINAL mode.
 *
 * Build and run (from a configured build dir, after `make`):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     -I../src ../fuzz/fuzz_resolve.c ../src/resolve.c ../src/net.c \
 *     ../src/log.c -lcares -pthread -o fuzz-resolve
 *   ./fuzz-resolve -max_total_time=60 ../fuzz/corpus/resolve
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve.h"

static void
fuzz_check_addr(const char *addr)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, addr, bin) != 1 &&
	    inet_pton(AF_INET6, addr, bin) != 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct resolver *r;
	struct resolve_server s;
	char in[600], addr[INET6_ADDRSTRLEN];
	char *fallback;
	int rc;

	if (r == NULL) {
		log_set_level(LOG_ERR);
		r = resolver_new(RESOLVE_ORIGINAL, NULL, 0, 0);
	}
	if (size >= sizeof(in))
		size = sizeof(in) - 1;
	memcpy(in, data, size);
	in[size] = '\0';
	if ((fallback = strchr(in, '\n')) != NULL)
		*fallback++ = '\0';

	if (resolve_server_parse(in, &s) == 0 &&
	    ((s.family != AF_INET && s.family != AF_INET6) || s.port < 1 ||
	     s.port > 65535))
		abort();
	if (resolve_host_valid(in) && strlen(in) > RESOLVE_HOST_MAX + 1)
		abort();

	rc = resolver_lookup(r, in, fallback, addr, sizeof(addr));
	if (rc == 0)
		fuzz_check_addr(addr);
	else if (rc != -EINVAL && rc != -ENOENT)
		abort();
	rc = resolver_lookup(r, in, fallback, addr, 8);
	if (rc == 0)
		fuzz_check_addr(addr);
	return 0;
}
