/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_trust.h - the CA certificates upstream servers are checked
 * against, parsed once at start-up, and the check of one upstream peer.
 *
 * Threading: upstream_trust_new() and upstream_trust_free() run alone
 *   (start-up, shutdown). The checks only read the store and may run in
 *   any number of threads at once: GnuTLS documents read-only use of its
 *   objects as thread-safe, and the exception it knows of (a PKCS#11
 *   trust module, gnutls#1212) does not apply, as only files are loaded.
 *   The chains that passed are remembered behind a mutex of the
 *   store's.
 * Ownership: the caller frees the store with upstream_trust_free(),
 *   after the last check. The checks keep nothing of their arguments.
 */
#ifndef AGP_UPSTREAM_TRUST_H
#define AGP_UPSTREAM_TRUST_H

#include <stddef.h>

#include <gnutls/gnutls.h>

#define UPSTREAM_TRUST_MAX_CHAIN 16  /* GnuTLS's default verify depth */
#define UPSTREAM_TRUST_SEEN_SECS 300 /* the longest a passed chain is kept */

struct upstream_trust;

/* Loads the system store (the first CA bundle file found among the usual
 * places, else the certificate directory curl would use) and, if not
 * NULL, every certificate of the PEM file extra_ca. Returns NULL (logged)
 * when extra_ca cannot be read or holds no certificate, or when nothing
 * at all would be trusted. */
struct upstream_trust *upstream_trust_new(const char *extra_ca);
void upstream_trust_free(struct upstream_trust *t);

/* How many CA certificates the store holds. */
unsigned upstream_trust_count(const struct upstream_trust *t);

/* Chains checked in full, and chains passed because the same bytes for
 * the same host passed before (see below), since start-up. */
void upstream_trust_stats(struct upstream_trust *t, unsigned long *verified,
			  unsigned long *remembered);

/* Checks a server certificate chain (DER, leaf first, as sent) for host:
 * a DNS name, or an IPv4/IPv6 literal that must match an IP address SAN.
 * The chain must lead to a trusted CA, every certificate be within its
 * validity period, and the leaf be valid for host and for TLS servers.
 * Returns 0 when it is, else -1 with the reason, one line, in why.
 * The same bytes for the same host pass again without the work until
 * the first certificate of the chain expires, for at most
 * UPSTREAM_TRUST_SEEN_SECS (a CA of the store may expire meanwhile). */
int upstream_trust_check_chain(struct upstream_trust *t,
			       const gnutls_datum_t *chain, unsigned n,
			       const char *host, char *why, size_t size);

/* The same for the peer of a client session whose handshake is done. */
int upstream_trust_check_session(struct upstream_trust *t,
				 gnutls_session_t session, const char *host,
				 char *why, size_t size);

#endif
