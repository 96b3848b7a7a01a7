/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_upstream_trust.c - the upstream trust store and the peer check:
 * real certificates (tests/helpers/mkcerts.sh, and GnuTLS-made ones for
 * what openssl's command line cannot make) against real GnuTLS.
 */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certgen.h"
#include "tap.h"
#include "upstream_trust.h"

#define DAY 86400

static char tmpdir[256], ca_pem[300], ca_key[300], server_pem[300];

/* upstream_trust_check_chain() of one or two certificates. */
static int
check(struct upstream_trust *t, const gnutls_datum_t *leaf,
      const gnutls_datum_t *next, const char *host, char *why, size_t size)
{
	gnutls_datum_t chain[2] = { *leaf, { NULL, 0 } };

	if (next)
		chain[1] = *next;
	why[0] = '\0';
	return upstream_trust_check_chain(t, chain, next ? 2 : 1, host, why,
					  size);
}

/* Expects a refusal whose reason contains want. */
static void
refused(struct upstream_trust *t, const gnutls_datum_t *leaf, const char *host,
	const char *want, const char *what)
{
	char why[512];
	int rc = check(t, leaf, NULL, host, why, sizeof(why));

	if (!ok(rc == -1 && strstr(why, want), "%s: refused", what))
		diag("rc %d, why \"%s\", want \"%s\"", rc, why, want);
}

static void
accepted(struct upstream_trust *t, const gnutls_datum_t *leaf,
	 const gnutls_datum_t *next, const char *host, const char *what)
{
	char why[512];
	int rc = check(t, leaf, next, host, why, sizeof(why));

	if (!ok(rc == 0, "%s: accepted", what))
		diag("why: %s", why);
}

static void
test_store(void)
{
	char empty[300];
	struct upstream_trust *t;
	FILE *f;

	t = upstream_trust_new(NULL);
	ok(t && upstream_trust_count(t) > 10, "the system store loads (%u CAs)",
	   t ? upstream_trust_count(t) : 0);
	upstream_trust_free(t);
	t = upstream_trust_new(ca_pem);
	ok(t != NULL, "system store + --upstream-ca loads");
	upstream_trust_free(t);
	ok(upstream_trust_new("/nonexistent/ca.pem") == NULL,
	   "an unreadable --upstream-ca is an error");
	snprintf(empty, sizeof(empty), "%s/empty.pem", tmpdir);
	if ((f = fopen(empty, "w")))
		fclose(f);
	ok(upstream_trust_new(empty) == NULL,
	   "a --upstream-ca without a certificate is an error");
	upstream_trust_free(NULL); /* a no-op; under ASan, checked */
}

static void
test_names(struct upstream_trust *t, struct upstream_trust *sys,
	   const struct certgen *ca)
{
	gnutls_datum_t leaf = { NULL, 0 };

	if (!ok(gnutls_load_file(server_pem, &leaf) == 0, "server.pem read"))
		return;
	/* server.pem is PEM: make it DER as a server sends it. */
	{
		gnutls_x509_crt_t c;
		gnutls_datum_t der = { NULL, 0 };

		gnutls_x509_crt_init(&c);
		gnutls_x509_crt_import(c, &leaf, GNUTLS_X509_FMT_PEM);
		gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_DER, &der);
		gnutls_x509_crt_deinit(c);
		gnutls_free(leaf.data);
		leaf = der;
	}
	accepted(t, &leaf, NULL, "name.test", "mkcerts leaf for name.test");
	accepted(t, &leaf, NULL, "NAME.Test",
		 "host names compare "
		 "case-insensitively");
	accepted(t, &leaf, NULL, "localhost", "second DNS SAN");
	accepted(t, &leaf, &ca->der, "name.test", "leaf + CA chain");
	accepted(t, &leaf, NULL, "127.0.0.1", "IP literal in an IP SAN");
	refused(t, &leaf, "127.0.0.2", "does not match",
		"IP literal not in the certificate");
	refused(t, &leaf, "wrong.test", "does not match", "another name");
	refused(t, &leaf, "evil.name.test", "does not match", "a subdomain");
	refused(sys, &leaf, "name.test", "issuer is unknown",
		"system store alone: the test CA is unknown");
	gnutls_free(leaf.data);
}

static void
test_generated(struct upstream_trust *t, const struct certgen *ca)
{
	const char *names[] = { "name.test", "*.wild.test", "::1", NULL };
	struct certgen other = { 0 }, good = { 0 }, old = { 0 }, young = { 0 },
		       client = { 0 }, stranger = { 0 };
	time_t now = time(NULL);
	char why[256];
	int rc;

	rc = certgen_leaf(&good, ca, names, now - DAY, now + DAY, NULL);
	if (!ok(rc == 0, "generated leaf"))
		diag("%s", gnutls_strerror(rc));
	accepted(t, &good.der, NULL, "name.test", "generated leaf");
	accepted(t, &good.der, NULL, "a.wild.test", "wildcard SAN");
	refused(t, &good.der, "a.b.wild.test", "does not match",
		"wildcard covers one label only");
	accepted(t, &good.der, NULL, "::1", "IPv6 literal in an IP SAN");
	refused(t, &good.der, "::2", "does not match",
		"IPv6 literal not in the certificate");

	certgen_leaf(&old, ca, names, now - 30 * DAY, now - DAY, NULL);
	refused(t, &old.der, "name.test", "expired", "expired leaf");
	certgen_leaf(&young, ca, names, now + DAY, now + 30 * DAY, NULL);
	refused(t, &young.der, "name.test", "not yet valid",
		"leaf not yet valid");
	certgen_leaf(&client, ca, names, now - DAY, now + DAY,
		     GNUTLS_KP_TLS_WWW_CLIENT);
	refused(t, &client.der, "name.test", "purpose",
		"leaf for TLS clients only");
	certgen_ca(&other, "Unknown CA");
	certgen_leaf(&stranger, &other, names, now - DAY, now + DAY, NULL);
	refused(t, &stranger.der, "name.test", "issuer is unknown",
		"leaf from an unknown CA");
	refused(t, &stranger.der, NULL, "no host name", "no host name");
	ok(check(t, &stranger.der, &other.der, "name.test", why, sizeof(why)) ==
		   -1,
	   "unknown CA sent along: still refused");

	why[0] = '\0';
	ok(upstream_trust_check_chain(t, NULL, 0, "name.test", why,
				      sizeof(why)) == -1 &&
		   strstr(why, "no certificate"),
	   "empty chain refused: %s", why);
	{
		gnutls_datum_t many[UPSTREAM_TRUST_MAX_CHAIN + 1];
		gnutls_datum_t junk = { (unsigned char *)"junk", 4 };

		for (int i = 0; i <= UPSTREAM_TRUST_MAX_CHAIN; i++)
			many[i] = good.der;
		ok(upstream_trust_check_chain(
			   t, many, UPSTREAM_TRUST_MAX_CHAIN + 1, "name.test",
			   why, sizeof(why)) == -1,
		   "overlong chain refused: %s", why);
		ok(upstream_trust_check_chain(t, &junk, 1, "name.test", why,
					      sizeof(why)) == -1,
		   "garbage refused: %s", why);
	}
	certgen_free(&good);
	certgen_free(&old);
	certgen_free(&young);
	certgen_free(&client);
	certgen_free(&stranger);
	certgen_free(&other);
}

/* Verified and remembered checks since the last call. */
static void
counts(struct upstream_trust *t, unsigned long *v, unsigned long *r)
{
	static unsigned long v0, r0;
	unsigned long v1, r1;

	upstream_trust_stats(t, &v1, &r1);
	*v = v1 - v0;
	*r = r1 - r0;
	v0 = v1;
	r0 = r1;
}

/* A chain that passed passes again by its bytes, for its host only, and
 * not past its expiry.  The chain expires in 3 s, not 1: the checks
 * before the wait must fall inside its life even on a slow (sanitised,
 * loaded) build, where a 1 s life ended before the second check. */
static void
test_remembered(struct upstream_trust *t, const struct certgen *ca)
{
	const char *names[] = { "name.test", NULL };
	struct certgen brief = { 0 };
	time_t now = time(NULL), end = now + 3;
	unsigned long v, r;
	char why[256];

	certgen_leaf(&brief, ca, names, now - DAY, end, NULL);
	counts(t, &v, &r);
	accepted(t, &brief.der, NULL, "name.test", "a new chain");
	counts(t, &v, &r);
	ok(v == 1 && r == 0, "checked in full (verified %lu, remembered %lu)",
	   v, r);
	accepted(t, &brief.der, NULL, "name.test", "the same chain again");
	counts(t, &v, &r);
	ok(v == 0 && r == 1, "remembered (verified %lu, remembered %lu)", v, r);
	refused(t, &brief.der, "wrong.test", "does not match",
		"the same chain for another host");
	counts(t, &v, &r);
	ok(v == 0 && r == 0, "another host is not remembered (%lu, %lu)", v, r);
	accepted(t, &brief.der, &ca->der, "name.test", "the chain with its CA");
	counts(t, &v, &r);
	ok(v == 1 && r == 0, "other bytes are checked in full (%lu, %lu)", v,
	   r);
	while (time(NULL) <= end)
		usleep(50000);
	ok(check(t, &brief.der, NULL, "name.test", why, sizeof(why)) == -1 &&
		   strstr(why, "expired"),
	   "a remembered chain is refused once it expires: %s", why);
	counts(t, &v, &r);
	ok(r == 0, "nothing remembered past the expiry (%lu)", r);
	certgen_free(&brief);
}

#define CONC_THREADS 4
#define CONC_CHECKS 100

struct conc {
	struct upstream_trust *t;
	const gnutls_datum_t *good, *bad;
	int wrong;
};

/* Checks on one shared store from several threads at once. */
static void *
conc_worker(void *arg)
{
	struct conc *c = arg;
	char why[256];

	for (int i = 0; i < CONC_CHECKS; i++) {
		if (check(c->t, c->good, NULL, "name.test", why, sizeof(why)) !=
		    0)
			c->wrong++;
		if (check(c->t, c->bad, NULL, "name.test", why, sizeof(why)) !=
		    -1)
			c->wrong++;
	}
	return NULL;
}

static void
test_concurrent(struct upstream_trust *t, const struct certgen *ca)
{
	const char *names[] = { "name.test", NULL };
	struct certgen good = { 0 }, old = { 0 };
	time_t now = time(NULL);
	pthread_t th[CONC_THREADS];
	struct conc c[CONC_THREADS];
	int wrong = 0;

	certgen_leaf(&good, ca, names, now - DAY, now + DAY, NULL);
	certgen_leaf(&old, ca, names, now - 30 * DAY, now - DAY, NULL);
	for (int i = 0; i < CONC_THREADS; i++) {
		c[i] = (struct conc){ t, &good.der, &old.der, 0 };
		pthread_create(&th[i], NULL, conc_worker, &c[i]);
	}
	for (int i = 0; i < CONC_THREADS; i++) {
		pthread_join(th[i], NULL);
		wrong += c[i].wrong;
	}
	is_int(wrong, 0, "%d threads x %d checks on one store, all right",
	       CONC_THREADS, 2 * CONC_CHECKS);
	certgen_free(&good);
	certgen_free(&old);
}

int
main(void)
{
	const char *src = getenv("top_srcdir"), *tmp = getenv("TMPDIR");
	struct upstream_trust *t = NULL, *sys = NULL;
	struct certgen ca = { 0 };
	char cmd[1024];

	gnutls_global_init();
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_upstream_trust.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpdir)) {
		ok(0, "temporary directory");
		return tap_done();
	}
	snprintf(cmd, sizeof(cmd),
		 "sh %s/tests/helpers/mkcerts.sh %s "
		 "localhost name.test 127.0.0.1",
		 src ? src : ".", tmpdir);
	if (!ok(system(cmd) == 0, "mkcerts.sh"))
		goto out;
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", tmpdir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", tmpdir);
	snprintf(server_pem, sizeof(server_pem), "%s/server.pem", tmpdir);
	if (!ok(certgen_load(&ca, ca_pem, ca_key) == 0, "test CA loaded"))
		goto out;
	test_store();
	t = upstream_trust_new(ca_pem);
	sys = upstream_trust_new(NULL);
	if (!ok(t && sys, "stores for the checks"))
		goto out;
	test_names(t, sys, &ca);
	test_generated(t, &ca);
	test_remembered(t, &ca);
	test_concurrent(t, &ca);
out:
	upstream_trust_free(t);
	upstream_trust_free(sys);
	certgen_free(&ca);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	gnutls_global_deinit();
	return tap_done();
}
