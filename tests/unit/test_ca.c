/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_ca.c - the CA (create, reload, extensions), forged leaves and the
 * certificate cache (one forge under a race, eviction under a reference).
 *
 * Threading: the race test starts 50 threads against one cache.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "ca.h"
#include "certcache.h"
#include "log.h"
#include "tap.h"

#define RACERS 50
#define DAY 86400L

static char *
state_dir_new(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/agp-test-ca-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(path) ? strdup(path) : NULL;
}

static void
state_dir_free(char *dir)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/ca-key.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ca-cert.pem", dir);
	unlink(path);
	rmdir(dir);
	free(dir);
}

static int
file_mode(const char *dir, const char *name)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static gnutls_x509_crt_t
crt_from(const gnutls_datum_t *d, gnutls_x509_crt_fmt_t fmt)
{
	gnutls_x509_crt_t crt = NULL;

	if (gnutls_x509_crt_init(&crt) < 0)
		return NULL;
	if (gnutls_x509_crt_import(crt, d, fmt) < 0) {
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	return crt;
}

static gnutls_x509_crt_t
ca_crt(struct ca *ca)
{
	gnutls_datum_t d = { (unsigned char *)ca_cert_pem(ca),
			     (unsigned int)strlen(ca_cert_pem(ca)) };

	return crt_from(&d, GNUTLS_X509_FMT_PEM);
}

static void
test_ca_files(void)
{
	char *dir = state_dir_new(), *pem = NULL, path[600];
	struct ca *ca;

	ok(dir != NULL, "temporary state dir");
	ca = ca_open(dir);
	ok(ca != NULL, "ca_open creates a CA in an empty dir");
	is_int(file_mode(dir, "ca-key.pem"), 0600, "key file is 0600");
	is_int(file_mode(dir, "ca-cert.pem"), 0644, "cert file is 0644");
	ok(ca && strncmp(ca_cert_pem(ca), "-----BEGIN CERTIFICATE-----", 27) ==
			   0,
	   "ca_cert_pem is PEM");
	if (ca)
		pem = strdup(ca_cert_pem(ca));
	ca_free(ca);
	ca = ca_open(dir);
	ok(ca && pem && strcmp(pem, ca_cert_pem(ca)) == 0,
	   "second open loads the same CA");
	ca_free(ca);
	snprintf(path, sizeof(path), "%s/ca-key.pem", dir);
	chmod(path, 0644);
	ca = ca_open(dir);
	ok(ca == NULL, "a 0644 key is refused");
	ca_free(ca);
	chmod(path, 0640);
	ok((ca = ca_open(dir)) == NULL, "a 0640 key is refused");
	ca_free(ca);
	chmod(path, 0400);
	ca = ca_open(dir);
	ok(ca && strcmp(pem, ca_cert_pem(ca)) == 0, "a 0400 key is accepted");
	ca_free(ca);
	free(pem);
	state_dir_free(dir);
}

static void
test_ca_extensions(struct ca *ca, struct ca *other)
{
	gnutls_x509_crt_t crt = ca_crt(ca), crt2 = ca_crt(other);
	unsigned int critical = 9, usage = 0, is_ca = 0;
	unsigned char buf[64];
	size_t len = sizeof(buf);
	char dn[256] = "", dn2[256] = "";
	size_t dn_len = sizeof(dn), dn2_len = sizeof(dn2);
	time_t now = time(NULL), start, end;

	ok(crt != NULL && crt2 != NULL, "CA PEM imports");
	if (!crt || !crt2)
		return;
	is_int(gnutls_x509_crt_get_basic_constraints(crt, &critical, &is_ca,
						     NULL),
	       1, "basicConstraints CA:TRUE");
	is_int(critical, 1, "basicConstraints critical");
	critical = 9;
	ok(gnutls_x509_crt_get_key_usage(crt, &usage, &critical) >= 0 &&
		   usage == (GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN),
	   "keyUsage keyCertSign+cRLSign (0x%x)", usage);
	is_int(critical, 1, "keyUsage critical");
	ok(gnutls_x509_crt_get_subject_key_id(crt, buf, &len, &critical) >= 0 &&
		   len == 20,
	   "subject key identifier present (%zu bytes)", len);
	gnutls_x509_crt_get_dn(crt, dn, &dn_len);
	gnutls_x509_crt_get_dn(crt2, dn2, &dn2_len);
	diag("CA subject: %s", dn);
	ok(strstr(dn, "CN=antigravity-proxy MITM CA ") != NULL &&
		   strstr(dn, "O=antigravity-proxy") != NULL,
	   "CA subject names");
	ok(strcmp(dn, dn2) != 0, "two installs have different subjects");
	len = sizeof(buf);
	ok(gnutls_x509_crt_get_serial(crt, buf, &len) >= 0 && len == 16 &&
		   buf[0] < 0x80 && buf[0] != 0,
	   "16-byte positive serial");
	start = gnutls_x509_crt_get_activation_time(crt);
	end = gnutls_x509_crt_get_expiration_time(crt);
	ok(start <= now - DAY + 5 && start > now - DAY - 60,
	   "CA valid from a day ago");
	ok(end - start >= 3650 * DAY && end - start <= 3653 * DAY,
	   "CA valid for ten years");
	ok(gnutls_x509_crt_get_signature_algorithm(crt) ==
		   GNUTLS_SIGN_ECDSA_SHA256,
	   "CA self-signed with ECDSA-SHA256");
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crt_deinit(crt2);
}

/* Checks one forged leaf; want_ip_len is 0 for a DNS name. */
static void
check_leaf(struct ca *ca, const char *host, size_t want_ip_len)
{
	gnutls_x509_crt_t leaf = NULL, root = ca_crt(ca);
	unsigned char aki[64], ski[64], san[256];
	size_t aki_len = sizeof(aki), ski_len = sizeof(ski),
	       san_len = sizeof(san), oid_len;
	unsigned int critical = 0, is_ca = 9, usage = 0, status = 99;
	char oid[128];
	time_t now = time(NULL), start, end;
	int type;

	is_int(ca_forge_leaf(ca, host, &leaf), 0, "%s: forged", host);
	if (!leaf || !root)
		return;
	type = gnutls_x509_crt_get_subject_alt_name(leaf, 0, san, &san_len,
						    &critical);
	if (want_ip_len)
		ok(type == GNUTLS_SAN_IPADDRESS && san_len == want_ip_len,
		   "%s: SAN is an iPAddress of %zu bytes", host, want_ip_len);
	else
		ok(type == GNUTLS_SAN_DNSNAME && san_len == strlen(host) &&
			   memcmp(san, host, san_len) == 0,
		   "%s: SAN dNSName", host);
	oid_len = sizeof(oid);
	ok(gnutls_x509_crt_get_key_purpose_oid(leaf, 0, oid, &oid_len, NULL) >=
			   0 &&
		   strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0,
	   "%s: EKU serverAuth", host);
	ok(gnutls_x509_crt_get_basic_constraints(leaf, NULL, &is_ca, NULL) == 0,
	   "%s: basicConstraints CA:FALSE", host);
	ok(gnutls_x509_crt_get_key_usage(leaf, &usage, NULL) >= 0 &&
		   usage == GNUTLS_KEY_DIGITAL_SIGNATURE,
	   "%s: keyUsage", host);
	ok(gnutls_x509_crt_get_subject_key_id(leaf, ski, &ski_len, NULL) >= 0,
	   "%s: SKI", host);
	ok(gnutls_x509_crt_get_authority_key_id(leaf, aki, &aki_len, NULL) >=
			   0 &&
		   gnutls_x509_crt_get_subject_key_id(root, ski, &ski_len,
						      NULL) >= 0 &&
		   aki_len == ski_len && memcmp(aki, ski, aki_len) == 0,
	   "%s: AKI equals the CA's SKI", host);
	start = gnutls_x509_crt_get_activation_time(leaf);
	end = gnutls_x509_crt_get_expiration_time(leaf);
	ok(start <= now - DAY + 5 && start > now - DAY - 60 &&
		   end >= now + 360 * DAY && end <= now + 366 * DAY &&
		   end <= gnutls_x509_crt_get_expiration_time(root),
	   "%s: valid from a day ago for a year, within the CA", host);
	ok(gnutls_x509_crt_verify(leaf, &root, 1, 0, &status) >= 0 &&
		   status == 0,
	   "%s: verifies against the CA (status 0x%x)", host, status);
	ok(gnutls_x509_crt_check_hostname(leaf, host),
	   "%s: check_hostname matches", host);
	ok(!gnutls_x509_crt_check_hostname(leaf, "other.example.test") &&
		   !gnutls_x509_crt_check_hostname(leaf, "10.9.8.7"),
	   "%s: check_hostname rejects other names", host);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(root);
}

static void
test_leaves(struct ca *ca)
{
	gnutls_x509_crt_t leaf = NULL;
	char long_host[128];

	check_leaf(ca, "api.example.test", 0);
	check_leaf(ca, "127.0.0.1", 4);
	check_leaf(ca, "::1", 16);
	memset(long_host, 'a', 70);
	strcpy(long_host + 70, ".example.test");
	check_leaf(ca, long_host, 0);
	ok(ca_forge_leaf(ca, "bad host", &leaf) < 0 && leaf == NULL,
	   "a name with a space is refused");
	ok(ca_forge_leaf(ca, "*.example.test", &leaf) < 0,
	   "a wildcard is refused");
	ok(ca_forge_leaf(ca, "a..b", &leaf) < 0, "an empty label is refused");
}

struct racer {
	pthread_barrier_t *start;
	struct certcache *cache;
	struct certcache_entry *got;
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	r->got = certcache_get(r->cache, "race.example.test");
	return NULL;
}

static void
test_race(struct ca *ca)
{
	struct certcache *cache = certcache_new(ca, 0);
	struct racer racers[RACERS];
	pthread_t tids[RACERS];
	pthread_barrier_t start;
	struct certcache_stats st;
	struct certcache_entry *again;
	int i, same = 1, started = 0;

	pthread_barrier_init(&start, NULL, RACERS);
	for (i = 0; i < RACERS; i++) {
		racers[i] = (struct racer){ &start, cache, NULL };
		if (pthread_create(&tids[i], NULL, racer_main, &racers[i]) == 0)
			started++;
	}
	is_int(started, RACERS, "%d racers started", RACERS);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	for (i = 0; i < RACERS; i++)
		same &= racers[i].got != NULL && racers[i].got == racers[0].got;
	ok(same, "every racer got the same entry");
	certcache_get_stats(cache, &st);
	is_int(st.forges, 1, "50 concurrent first gets forged once");
	is_int(st.hits, RACERS - 1, "the others were hits");
	again = certcache_get(cache, "RACE.Example.TEST.");
	ok(again == racers[0].got, "lookup ignores case and a trailing dot");
	certcache_put(again);
	for (i = 0; i < RACERS; i++)
		certcache_put(racers[i].got);
	pthread_barrier_destroy(&start);
	certcache_free(cache);
}

static void
test_eviction(struct ca *ca)
{
	struct certcache *cache = certcache_new(ca, 2);
	struct certcache_entry *held, *e;
	struct certcache_stats st;
	gnutls_pcert_st *chain;
	gnutls_x509_crt_t crt;
	unsigned int n = 0, i;
	static const char *const others[] = { "b.test", "c.test", "d.test" };

	held = certcache_get(cache, "a.test");
	ok(held != NULL, "got a.test");
	for (i = 0; i < 3; i++)
		certcache_put(certcache_get(cache, others[i]));
	certcache_get_stats(cache, &st);
	ok(st.evictions >= 2 && st.entries == 2,
	   "capacity 2 evicts (%lu evictions)", st.evictions);
	/* Under ASan this is a use-after-free if eviction freed it. */
	chain = certcache_entry_chain(held, &n);
	crt = n == 2 ? crt_from(&chain[0].cert, GNUTLS_X509_FMT_DER) : NULL;
	ok(crt && gnutls_x509_crt_check_hostname(crt, "a.test"),
	   "an evicted entry stays usable while referenced");
	ok(certcache_entry_key(held) == ca_leaf_key(ca), "shared leaf key");
	gnutls_x509_crt_deinit(crt);
	e = certcache_get(cache, "a.test");
	ok(e != NULL && e != held, "a.test is forged anew after eviction");
	certcache_put(held);
	certcache_put(e);
	ok(certcache_get(cache, "bad name!") == NULL, "bad names give NULL");
	certcache_get_stats(cache, &st);
	is_int(st.forge_failures, 1, "the failure is counted");
	is_int(st.forges, 6, "forges counted");
	certcache_free(cache);
}

int
main(void)
{
	char *dir = state_dir_new(), *dir2 = state_dir_new();
	struct ca *ca, *ca2;

	log_set_level(LOG_ERR);
	test_ca_files();
	ca = ca_open(dir);
	ca2 = ca_open(dir2);
	ok(ca && ca2, "two CAs");
	if (ca && ca2) {
		test_ca_extensions(ca, ca2);
		test_leaves(ca);
		test_race(ca);
		test_eviction(ca);
	}
	ca_free(ca);
	ca_free(ca2);
	state_dir_free(dir);
	state_dir_free(dir2);
	return tap_done();
}
