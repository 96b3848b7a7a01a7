/* SPDX-License-Identifier: GPL-2.0-or-later
 * resolve.h - DNS resolution of upstream host names, with a TTL cache.
 *
 * Threading: resolver_lookup() may be called from any number of threads at
 *   once on one resolver; resolver_new()/resolver_free() must not race with
 *   lookups. The other functions are pure.
 * Ownership: the caller owns the struct resolver from resolver_new() and
 *   frees it with resolver_free() once no lookup is running.
 *
 * Modes:
 *   RESOLVE_DNS       c-ares queries to the configured servers (A first,
 *                     AAAA only when the name has no A record); on failure
 *                     or timeout the original destination address is used.
 *   RESOLVE_ORIGINAL  always the original destination address, no query.
 *   RESOLVE_SYSTEM    getaddrinfo(3), first result; not cached here (the
 *                     system resolver has its own caching, if any).
 * A host that is already an IP literal (v4, v6, or "[v6]") resolves to
 * itself in every mode, without a query.
 */
#ifndef AGP_RESOLVE_H
#define AGP_RESOLVE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

/* Default server, query timeout and cache bounds (seconds). */
#define RESOLVE_DEFAULT_SERVER "8.8.8.8"
#define RESOLVE_DEFAULT_TIMEOUT_MS 2000
#define RESOLVE_TTL_MIN 1
#define RESOLVE_TTL_MAX 3600
#define RESOLVE_TTL_NEGATIVE 5
#define RESOLVE_CACHE_MAX 4096
#define RESOLVE_SERVERS_MAX 8
/* Longest host name accepted, without a trailing dot (RFC 1035). */
#define RESOLVE_HOST_MAX 253

enum resolve_mode {
	RESOLVE_DNS,
	RESOLVE_ORIGINAL,
	RESOLVE_SYSTEM,
};

/* One DNS server, parsed from "ADDR[:PORT]"; port defaults to 53. */
struct resolve_server {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	unsigned port;
};

struct resolver;

/* Parses a server by net.h's host:port rule, port 53 by default:
 * "ADDR[:PORT]" (IPv4), "[V6]:PORT", "[V6]" or a bare "V6", the address
 * numeric. Returns 0, or -1 on a malformed spec. Nothing is allocated. */
int resolve_server_parse(const char *spec, struct resolve_server *out);

/* Parses "dns", "original" or "system" into *mode; -1 if unknown. */
int resolve_mode_parse(const char *name, enum resolve_mode *mode);

/* Checks a host name: 1..253 characters (one trailing dot allowed), labels
 * of 1..63 characters from [A-Za-z0-9_-]. Returns true if usable. */
bool resolve_host_valid(const char *host);

/* Creates a resolver. servers are "ADDR[:PORT]" strings (at most
 * RESOLVE_SERVERS_MAX; none means RESOLVE_DEFAULT_SERVER), only used in
 * RESOLVE_DNS mode; timeout_ms <= 0 means RESOLVE_DEFAULT_TIMEOUT_MS and
 * bounds a whole lookup (A and, if needed, AAAA). Returns NULL, with a
 * logged error, on a bad server spec or allocation failure. The strings
 * are copied; the caller frees the result with resolver_free(). */
struct resolver *resolver_new(enum resolve_mode mode,
			      const char *const *servers, size_t nservers,
			      int timeout_ms);
/* Frees a resolver and its cache; NULL is a no-op. */
void resolver_free(struct resolver *r);

/* Resolves host and writes a numeric address (no brackets) into addr,
 * which should hold INET6_ADDRSTRLEN bytes. fallback is the original
 * destination address (numeric, may be NULL), used when DNS gives nothing
 * and always in RESOLVE_ORIGINAL mode. DNS answers are cached for their
 * TTL (clamped to RESOLVE_TTL_MIN..RESOLVE_TTL_MAX), failures (NXDOMAIN,
 * no data, SERVFAIL, timeout) for RESOLVE_TTL_NEGATIVE seconds; concurrent
 * lookups of one uncached name wait for a single query. May block up to
 * the timeout. Returns 0; -EINVAL for an invalid host, -ENOSPC if addrlen
 * is too small, -ENOENT when nothing is known. */
int resolver_lookup(struct resolver *r, const char *host, const char *fallback,
		    char *addr, size_t addrlen);

#endif
