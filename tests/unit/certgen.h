/* SPDX-License-Identifier: GPL-2.0-or-later
 * certgen.h - test certificates the shell helpers cannot make: expired,
 * not yet valid, for another purpose, from an unknown CA (GnuTLS, P-256).
 *
 * Usage: certgen_load() the CA of tests/helpers/mkcerts.sh or
 * certgen_ca() a new one, certgen_leaf() leaves signed by it, use ->der
 * or certgen_write() them, certgen_free() each. Every certificate is
 * exported and imported again once signed (the GnuTLS 3.7 quirk in
 * STYLE.md: one built in memory may not answer SAN queries).
 */
#ifndef AGP_CERTGEN_H
#define AGP_CERTGEN_H

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct certgen {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	gnutls_datum_t der; /* crt, DER */
};

__attribute__((unused)) static void
certgen_free(struct certgen *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
	gnutls_free(c->der.data);
	memset(c, 0, sizeof(*c));
}

/* Signs c->crt with issuer (NULL: itself), then re-imports it. */
static int
certgen_finish(struct certgen *c, const struct certgen *issuer)
{
	gnutls_x509_crt_t again = NULL;
	int rc;

	if ((rc = gnutls_x509_crt_sign2(c->crt, issuer ? issuer->crt : c->crt,
					issuer ? issuer->key : c->key,
					GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (rc = gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER,
					  &c->der)) < 0 ||
	    (rc = gnutls_x509_crt_init(&again)) < 0 ||
	    (rc = gnutls_x509_crt_import(again, &c->der, GNUTLS_X509_FMT_DER)) <
		    0) {
		gnutls_x509_crt_deinit(again);
		return rc;
	}
	gnutls_x509_crt_deinit(c->crt);
	c->crt = again;
	return 0;
}

/* Key, serial, validity, subject: what every certificate has. */
static int
certgen_base(struct certgen *c, const char *cn, time_t nb, time_t na)
{
	unsigned char serial[8];
	char dn[256];
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(dn, sizeof(dn), "O=antigravity-proxy tests,CN=%s", cn);
	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return rc;
	serial[0] &= 0x7f; /* positive */
	if ((rc = gnutls_x509_privkey_init(&c->key)) < 0 ||
	    (rc = gnutls_x509_privkey_generate(
		     c->key, GNUTLS_PK_ECDSA,
		     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) <
		    0 ||
	    (rc = gnutls_x509_crt_init(&c->crt)) < 0 ||
	    (rc = gnutls_x509_crt_set_version(c->crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(c->crt, serial, sizeof(serial))) <
		    0 ||
	    (rc = gnutls_x509_crt_set_activation_time(c->crt, nb)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(c->crt, na)) < 0 ||
	    (rc = gnutls_x509_crt_set_key(c->crt, c->key)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn(c->crt, dn, NULL)) < 0)
		return rc;
	return 0;
}

/* A self-signed CA valid from yesterday for 30 days. */
__attribute__((unused)) static int
certgen_ca(struct certgen *c, const char *cn)
{
	time_t now = time(NULL);
	unsigned char id[64];
	size_t idlen = sizeof(id);
	int rc;

	if ((rc = certgen_base(c, cn, now - 86400, now + 30 * 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(c->crt, 1, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(
		     c->crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) <
		    0 ||
	    (rc = gnutls_x509_crt_get_key_id(c->crt, 0, id, &idlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(c->crt, id, idlen)) < 0)
		return rc;
	return certgen_finish(c, NULL);
}

/* A CA from PEM files (mkcerts.sh's ca.pem and ca.key). */
__attribute__((unused)) static int
certgen_load(struct certgen *c, const char *cert_path, const char *key_path)
{
	gnutls_datum_t pem = { NULL, 0 };
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = gnutls_load_file(cert_path, &pem)) < 0 ||
	    (rc = gnutls_x509_crt_init(&c->crt)) < 0 ||
	    (rc = gnutls_x509_crt_import(c->crt, &pem, GNUTLS_X509_FMT_PEM)) <
		    0)
		goto out;
	gnutls_free(pem.data);
	pem.data = NULL;
	if ((rc = gnutls_load_file(key_path, &pem)) < 0 ||
	    (rc = gnutls_x509_privkey_init(&c->key)) < 0 ||
	    (rc = gnutls_x509_privkey_import(c->key, &pem,
					     GNUTLS_X509_FMT_PEM)) < 0 ||
	    (rc = gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER,
					  &c->der)) < 0)
		goto out;
out:
	gnutls_free(pem.data);
	return rc;
}

/* A leaf for names (NULL-terminated; IPv4/IPv6 literals become IP SANs),
 * valid from nb to na, for key purpose eku (NULL: TLS server), signed
 * by issuer. */
__attribute__((unused)) static int
certgen_leaf(struct certgen *c, const struct certgen *issuer,
	     const char *const *names, time_t nb, time_t na, const char *eku)
{
	unsigned char ip[16], id[64];
	size_t idlen = sizeof(id);
	int rc;

	if ((rc = certgen_base(c, names[0], nb, na)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(c->crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(
		     c->crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(
		     c->crt, eku ? eku : GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_crt_get_subject_key_id(issuer->crt, id, &idlen,
						     NULL)) < 0 ||
	    (rc = gnutls_x509_crt_set_authority_key_id(c->crt, id, idlen)) < 0)
		return rc;
	for (size_t i = 0; names[i]; i++) {
		if (inet_pton(AF_INET, names[i], ip) == 1)
			rc = gnutls_x509_crt_set_subject_alt_name(
				c->crt, GNUTLS_SAN_IPADDRESS, ip, 4,
				GNUTLS_FSAN_APPEND);
		else if (inet_pton(AF_INET6, names[i], ip) == 1)
			rc = gnutls_x509_crt_set_subject_alt_name(
				c->crt, GNUTLS_SAN_IPADDRESS, ip, 16,
				GNUTLS_FSAN_APPEND);
		else
			rc = gnutls_x509_crt_set_subject_alt_name(
				c->crt, GNUTLS_SAN_DNSNAME, names[i],
				strlen(names[i]), GNUTLS_FSAN_APPEND);
		if (rc < 0)
			return rc;
	}
	return certgen_finish(c, issuer);
}

static int
certgen_write_file(const char *path, const gnutls_datum_t *d)
{
	FILE *f = fopen(path, "w");
	int rc = 0;

	if (!f)
		return -1;
	if (fwrite(d->data, 1, d->size, f) != d->size)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Writes the certificate and its key as PEM files. */
__attribute__((unused)) static int
certgen_write(const struct certgen *c, const char *cert_path,
	      const char *key_path)
{
	gnutls_datum_t crt = { NULL, 0 }, key = { NULL, 0 };
	int rc;

	if ((rc = gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &crt)) >=
		    0 &&
	    (rc = gnutls_x509_privkey_export2(c->key, GNUTLS_X509_FMT_PEM,
					      &key)) >= 0)
		rc = certgen_write_file(cert_path, &crt) < 0 ||
				     certgen_write_file(key_path, &key) < 0
			     ? -1
			     : 0;
	gnutls_free(crt.data);
	gnutls_free(key.data);
	return rc;
}

#endif
