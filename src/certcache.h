/* SPDX-License-Identifier: GPL-2.0-or-later
 * certcache.h - forged certificate chains, keyed by host name.
 *
 * Threading: every call is thread-safe; see certcache.c.
 * Ownership: certcache_get() returns a reference, dropped with
 *   certcache_put(); an evicted entry lives until its last put. The cache
 *   must outlive every reference and the ca must outlive the cache.
 */
#ifndef AGP_CERTCACHE_H
#define AGP_CERTCACHE_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

struct ca;
struct certcache;
struct certcache_entry;

#define CERTCACHE_DEFAULT_SIZE 1024

struct certcache_stats {
	unsigned long forges; /* successful and failed */
	unsigned long forge_failures;
	unsigned long hits; /* including waits for a forge */
	unsigned long evictions;
	size_t entries;
};

/* A cache of at most capacity hosts (0: CERTCACHE_DEFAULT_SIZE) that
 * forges with ca, which it borrows. NULL on failure. */
struct certcache *certcache_new(struct ca *ca, size_t capacity);
/* Frees the cache; every reference must have been put before. */
void certcache_free(struct certcache *cache);

/* Returns a reference to the chain for host (case-insensitive, a trailing
 * dot ignored), forging it on first use; concurrent first callers wait for
 * one forge. NULL if the name is unusable or forging failed. */
struct certcache_entry *certcache_get(struct certcache *cache,
				      const char *host);
/* Drops a reference from certcache_get(); NULL is a no-op. */
void certcache_put(struct certcache_entry *entry);

/* The chain (leaf, then the CA) and the leaf's key, for a GnuTLS retrieve
 * callback. Both stay owned by the entry and valid until its last put. */
gnutls_pcert_st *certcache_entry_chain(struct certcache_entry *entry,
				       unsigned int *len);
gnutls_privkey_t certcache_entry_key(struct certcache_entry *entry);
/* The normalised host name the entry was forged for. */
const char *certcache_entry_host(const struct certcache_entry *entry);

/* The server credentials every TLS session of this cache shares. The
 * first call installs fn as their certificate retrieve function; later
 * calls must pass the same fn. Owned by the cache. */
gnutls_certificate_credentials_t
certcache_credentials(struct certcache *cache,
		      gnutls_certificate_retrieve_function2 *fn);

void certcache_get_stats(struct certcache *cache, struct certcache_stats *out);

#endif
