/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_trust.c - the CA certificates upstream servers are checked
 * against, parsed once, and the check of one upstream peer.
 *
 * libcurl 7.88's GnuTLS backend parses its CA file (or directory) again
 * for every new connection and keeps the parsed copy for the
 * connection's life: with the system store that is about 4 MB and some
 * milliseconds of CPU per connection. So curl is given no CA at all and
 * the peer is checked here, against one store shared by every worker
 * (see upstream.c for where the check sits).
 *
 * A chain that passed is remembered, keyed by a SHA-256 of the host and
 * the chain's DER bytes, until the earliest expiry in the chain or
 * UPSTREAM_TRUST_SEEN_SECS, whichever comes first: the same server's
 * next connection (a resumed session has the same peer too) is then
 * checked by one hash instead of a parse of every certificate and a
 * signature check of each link. The store never changes after start-up,
 * so the answer for those bytes cannot change but with the clock; the
 * cap bounds how long a CA of the store (not in the chain, so not in
 * the expiry) could have expired unnoticed. Refusals are not kept.
 *
 * Threading: see upstream_trust.h; the store is written only by
 *   upstream_trust_new(), the cache of passed chains under t->lock.
 * Ownership: the struct owns its GnuTLS trust list.
 */
#include "config.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "upstream_trust.h"

/* What Debian's libcurl falls back to when it has no CA file. */
#define UPSTREAM_TRUST_DIR "/etc/ssl/certs"

#define SEEN_SLOTS 256 /* direct-mapped: a collision evicts */
#define SEEN_KEY 32    /* SHA-256 */

struct seen {
	unsigned char key[SEEN_KEY]; /* of the host and the chain */
	time_t until;		     /* trusted while now < until; 0: free */
};

struct upstream_trust {
	gnutls_x509_trust_list_t list;
	unsigned ncas;
	pthread_mutex_t lock; /* of seen[] */
	struct seen seen[SEEN_SLOTS];
	atomic_ulong verified, remembered;
};

/* Adds the certificates of one PEM file; returns how many, or < 0. */
static int
add_file(struct upstream_trust *t, const char *path)
{
	int n = gnutls_x509_trust_list_add_trust_file(
		t->list, path, NULL, GNUTLS_X509_FMT_PEM,
		GNUTLS_TL_NO_DUPLICATES, 0);

	if (n > 0)
		t->ncas += (unsigned)n;
	return n;
}

static void
add_system(struct upstream_trust *t, const char *extra_ca)
{
	const char *sys = bundle_system_path(NULL);
	int n;

	if (sys) {
		if ((n = add_file(t, sys)) < 0)
			log_warnx("upstream: reading %s: %s", sys,
				  gnutls_strerror(n));
	} else if (extra_ca) {
		log_warnx("upstream: no system CA bundle found; trusting only "
			  "%s",
			  extra_ca);
	} else {
		n = gnutls_x509_trust_list_add_trust_dir(
			t->list, UPSTREAM_TRUST_DIR, NULL, GNUTLS_X509_FMT_PEM,
			GNUTLS_TL_NO_DUPLICATES, 0);
		if (n > 0)
			t->ncas += (unsigned)n;
	}
}

struct upstream_trust *
upstream_trust_new(const char *extra_ca)
{
	struct upstream_trust *t = calloc(1, sizeof(*t));
	int n, rc = -1;

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	if ((n = gnutls_x509_trust_list_init(&t->list, 0)) < 0) {
		log_warnx("upstream: trust list: %s", gnutls_strerror(n));
		t->list = NULL;
		goto out;
	}
	add_system(t, extra_ca);
	if (extra_ca && (n = add_file(t, extra_ca)) <= 0) {
		log_warnx("upstream: no CA certificate read from %s%s%s",
			  extra_ca, n < 0 ? ": " : "",
			  n < 0 ? gnutls_strerror(n) : "");
		goto out;
	}
	if (t->ncas == 0) {
		log_warnx("upstream: no CA certificate to trust: no system "
			  "store found, and no --upstream-ca");
		goto out;
	}
	log_debug("upstream: %u trusted CA certificates", t->ncas);
	rc = 0;
out:
	if (rc < 0) {
		upstream_trust_free(t);
		t = NULL;
	}
	return t;
}

void
upstream_trust_free(struct upstream_trust *t)
{
	if (!t)
		return;
	if (t->list)
		gnutls_x509_trust_list_deinit(t->list, 1);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

unsigned
upstream_trust_count(const struct upstream_trust *t)
{
	return t->ncas;
}

void
upstream_trust_stats(struct upstream_trust *t, unsigned long *verified,
		     unsigned long *remembered)
{
	*verified = atomic_load(&t->verified);
	*remembered = atomic_load(&t->remembered);
}

/* The cache key of host and chain: each part with its length first, so
 * no two different inputs run together into the same bytes. */
static int
seen_key(const gnutls_datum_t *chain, unsigned n, const char *host,
	 unsigned char key[SEEN_KEY])
{
	gnutls_hash_hd_t h;
	size_t hlen = strlen(host);

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return -1;
	gnutls_hash(h, &hlen, sizeof(hlen));
	gnutls_hash(h, host, hlen);
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = chain[i].size;

		gnutls_hash(h, &len, sizeof(len));
		gnutls_hash(h, chain[i].data, len);
	}
	gnutls_hash_deinit(h, key);
	return 0;
}

static bool
seen_get(struct upstream_trust *t, const unsigned char key[SEEN_KEY],
	 time_t now)
{
	struct seen *s = &t->seen[key[0]];
	bool hit;

	pthread_mutex_lock(&t->lock);
	hit = s->until > now && memcmp(s->key, key, SEEN_KEY) == 0;
	pthread_mutex_unlock(&t->lock);
	return hit;
}

static void
seen_put(struct upstream_trust *t, const unsigned char key[SEEN_KEY],
	 time_t until)
{
	struct seen *s = &t->seen[key[0]];

	pthread_mutex_lock(&t->lock);
	memcpy(s->key, key, SEEN_KEY);
	s->until = until;
	pthread_mutex_unlock(&t->lock);
}

/* GnuTLS's own words for a failed status, e.g. "The certificate is NOT
 * trusted. The certificate chain uses expired certificate." */
static void
status_text(unsigned status, char *why, size_t size)
{
	gnutls_datum_t text = { NULL, 0 };
	size_t n;

	if (gnutls_certificate_verification_status_print(
		    status, GNUTLS_CRT_X509, &text, 0) < 0 ||
	    !text.data) {
		snprintf(why, size, "certificate not trusted (status 0x%x)",
			 status);
		gnutls_free(text.data);
		return;
	}
	snprintf(why, size, "%s", (const char *)text.data);
	gnutls_free(text.data);
	for (n = strlen(why); n > 0 && why[n - 1] == ' '; n--)
		why[n - 1] = '\0';
	if (n < size)
		snprintf(why + n, size - n, " (status 0x%x)", status);
}

/* The whole check of a chain of 1 to UPSTREAM_TRUST_MAX_CHAIN
 * certificates; on success *until is when the first of them expires. */
static int
verify_chain(const struct upstream_trust *t, const gnutls_datum_t *chain,
	     unsigned n, const char *host, time_t *until, char *why,
	     size_t size)
{
	gnutls_x509_crt_t crt[UPSTREAM_TRUST_MAX_CHAIN] = { NULL };
	gnutls_typed_vdata_st vd[2] = {
		{ GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)host, 0 },
		{ GNUTLS_DT_KEY_PURPOSE_OID,
		  (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0 },
	};
	unsigned status = 0, ncrt = 0;
	int rc = -1, r;

	for (; ncrt < n; ncrt++)
		if ((r = gnutls_x509_crt_init(&crt[ncrt])) < 0 ||
		    (r = gnutls_x509_crt_import(crt[ncrt], &chain[ncrt],
						GNUTLS_X509_FMT_DER)) < 0) {
			snprintf(why, size, "certificate %u of the chain: %s",
				 ncrt, gnutls_strerror(r));
			ncrt++;
			goto out;
		}
	/* Flags 0: what gnutls_certificate_verify_peers2() checks when
	 * curl verifies with the same store (its flag ALLOW_X509_V1_CA_CRT
	 * is the default now), plus the key purpose, which browsers
	 * check too. */
	r = gnutls_x509_trust_list_verify_crt2(t->list, crt, n, vd, 2, 0,
					       &status, NULL);
	if (r < 0) {
		snprintf(why, size, "verifying the chain: %s",
			 gnutls_strerror(r));
		goto out;
	}
	if (status != 0) {
		status_text(status, why, size);
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		time_t end = gnutls_x509_crt_get_expiration_time(crt[i]);

		if (end != (time_t)-1 && end < *until)
			*until = end;
	}
	rc = 0;
out:
	for (unsigned i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crt[i]);
	return rc;
}

int
upstream_trust_check_chain(struct upstream_trust *t,
			   const gnutls_datum_t *chain, unsigned n,
			   const char *host, char *why, size_t size)
{
	unsigned char key[SEEN_KEY];
	time_t now = time(NULL), until = now + UPSTREAM_TRUST_SEEN_SECS;
	bool keyed;

	if (!host || !*host || n == 0 || n > UPSTREAM_TRUST_MAX_CHAIN) {
		snprintf(why, size,
			 !host || !*host ? "no host name to check"
			 : n == 0	 ? "the server sent no certificate"
				  : "the server sent more than %d certificates",
			 UPSTREAM_TRUST_MAX_CHAIN);
		return -1;
	}
	keyed = seen_key(chain, n, host, key) == 0;
	if (keyed && seen_get(t, key, now)) {
		atomic_fetch_add(&t->remembered, 1);
		return 0;
	}
	if (verify_chain(t, chain, n, host, &until, why, size) < 0)
		return -1;
	atomic_fetch_add(&t->verified, 1);
	if (keyed && until > now)
		seen_put(t, key, until);
	return 0;
}

/* Appends to why what a refusal is diagnosed with: how many
 * certificates the session holds, whether it was resumed (its peer then
 * comes from the stored session, not from this handshake), and the
 * leaf's subject and issuer. */
static void
describe_peer(gnutls_session_t session, const gnutls_datum_t *chain, unsigned n,
	      char *why, size_t size)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t sub = { NULL, 0 }, iss = { NULL, 0 };
	size_t len = strlen(why);

	if (n > 0 && gnutls_x509_crt_init(&crt) == 0 &&
	    gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) == 0) {
		gnutls_x509_crt_get_dn3(crt, &sub, 0);
		gnutls_x509_crt_get_issuer_dn3(crt, &iss, 0);
	}
	if (len < size)
		snprintf(why + len, size - len,
			 " [%u cert(s), %s, leaf %s issued by %s]", n,
			 gnutls_session_is_resumed(session) ? "resumed"
							    : "full handshake",
			 sub.data ? (const char *)sub.data : "-",
			 iss.data ? (const char *)iss.data : "-");
	gnutls_free(sub.data);
	gnutls_free(iss.data);
	gnutls_x509_crt_deinit(crt);
}

int
upstream_trust_check_session(struct upstream_trust *t, gnutls_session_t session,
			     const char *host, char *why, size_t size)
{
	const gnutls_datum_t *chain;
	unsigned n = 0;

	if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) !=
	    GNUTLS_CRT_X509) {
		snprintf(why, size,
			 "the server did not authenticate with an "
			 "X.509 certificate");
		return -1;
	}
	if (!(chain = gnutls_certificate_get_peers(session, &n)))
		n = 0;
	if (upstream_trust_check_chain(t, chain, n, host, why, size) == 0)
		return 0;
	describe_peer(session, chain, n, why, size);
	return -1;
}
