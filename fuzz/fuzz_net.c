/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_net.c - libFuzzer target for net.c's host:port parser, with the
 * writer and the IP literal parser it meets in every caller.
 * Input: one spec, as an option would give it.
 *
 * Build and run (from a configured build dir, after `make`):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     -I../src ../fuzz/fuzz_net.c ../src/net.c -o fuzz-net
 *   ./fuzz-net -runs=500000 ../fuzz/corpus/net
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net.h"

/* One default: the result is sane, fits, and reads back the same once
 * written; a smaller host buffer either fails or agrees. */
static void
fuzz_split(const char *in, unsigned dflt)
{
	char host[NET_HOST_MAX], small[8], out[NET_HOST_MAX + 16];
	char again[NET_HOST_MAX];
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned port, port2;

	if (net_split_hostport(in, dflt, host, sizeof(host), &port) < 0) {
		if (net_split_hostport(in, dflt, small, sizeof(small),
				       &port2) == 0)
			abort();
		return;
	}
	if (port < 1 || port > 65535 || strlen(host) >= sizeof(host) ||
	    strpbrk(host, "[]") != NULL)
		abort();
	if (net_split_hostport(in, dflt, small, sizeof(small), &port2) == 0 &&
	    (strcmp(small, host) != 0 || port2 != port))
		abort();
	if (net_join_hostport(host, port, out, sizeof(out)) < 0 ||
	    net_split_hostport(out, 0, again, sizeof(again), &port2) < 0 ||
	    strcmp(again, host) != 0 || port2 != port)
		abort();
	if ((net_parse_ip(host, NULL, NULL) != 0) !=
	    (net_sockaddr(host, port, &ss, &len) == 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[600];

	if (size >= sizeof(in))
		size = sizeof(in) - 1;
	memcpy(in, data, size);
	in[size] = '\0';
	fuzz_split(in, 0);
	fuzz_split(in, 53);
	return 0;
}
