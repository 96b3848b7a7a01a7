/* SPDX-License-Identifier: GPL-2.0-or-later
 * resolve.h - upstream host names to addresses: c-ares against chosen
 * servers, cached by TTL, falling back to the original destination.
 *
 * Threading: every call is thread-safe; one mutex guards the cache and is
 *   never held across a query. Concurrent lookups of one uncached name
 *   wait for a single query.
 */
#ifndef AGP_RESOLVE_H
#define AGP_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

enum resolve_mode {
	RESOLVE_DNS,		/* c-ares, then the original destination */
	RESOLVE_ORIGINAL,	/* always the original destination */
	RESOLVE_SYSTEM,		/* getaddrinfo() */
};

struct resolver;

/* servers are "ADDR[:PORT]" or "[V6]:PORT"; timeout_ms bounds one
 * lookup. NULL (logged) on a bad server address. */
struct resolver *resolver_new(enum resolve_mode mode,
			      const char *const *servers, size_t nservers,
			      int timeout_ms);
void resolver_free(struct resolver *r);

/* Resolves host to a numeric address in addr (46 bytes suffice). When
 * DNS fails, `fallback` (the original destination, numeric, may be NULL)
 * is used and *from_fallback set. Returns 0, or -1 when nothing is known. */
int resolver_lookup(struct resolver *r, const char *host, const char *fallback,
		    char *addr, size_t addrlen, bool *from_fallback);

/* Queries sent to DNS servers so far (for tests and metrics). */
unsigned long resolver_queries(struct resolver *r);

/* "host:port:addr" for CURLOPT_RESOLVE, IPv6 in brackets; 0 or -1. */
int resolve_curl_entry(const char *host, unsigned port, const char *addr,
		       char *buf, size_t buflen);

#endif
