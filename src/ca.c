/* SPDX-License-Identifier: GPL-2.0-or-later
 * ca.c - the MITM certificate authority: load or create it, forge leaves.
 *
 * Threading: ca_open()/ca_free() run in main before/after the workers;
 *   ca_forge_leaf() is called by any worker. The CA key and certificate are
 *   read-only after ca_open(); `lock` serialises the signing step anyway,
 *   since GnuTLS does not promise that a gnutls_x509_crt_t used as issuer
 *   may be read by two threads at once. Signing is cheap (ECDSA), so the
 *   lock is held only for microseconds.
 * Ownership: struct ca owns everything it points to. The CA key never
 *   leaves this file; the leaf key is lent out through ca_leaf_key().
 *
 * Key type: ECDSA P-256 for the CA and for the leaves. Generating it takes
 *   milliseconds (RSA-2048 takes up to a second, paid at first start and at
 *   every restart for the in-memory leaf key), each handshake signature is
 *   far cheaper than an RSA private-key operation, certificates are small,
 *   it gives 128-bit security against RSA-2048's 112, and every client
 *   that speaks TLS 1.2 or 1.3 today (Go, OpenSSL/Python, Node, curl, Java)
 *   accepts it.
 */
#include "config.h"

#include "ca.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "fsutil.h"
#include "log.h"
#include "net.h"

#define CA_KEY_FILE "ca-key.pem"
#define CA_CERT_FILE "ca-cert.pem"
#define CA_DAY (24 * 60 * 60L)
#define CA_LIFETIME (3652 * CA_DAY)	/* ten years */
#define CA_LEAF_LIFETIME (365 * CA_DAY) /* under Apple's 398-day cap */
#define CA_MAX_FILE (64 * 1024)
#define CA_ORG "antigravity-proxy"
#define CA_BITS GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1)

struct ca {
	pthread_mutex_t lock;	   /* held around signing only */
	gnutls_x509_privkey_t key; /* CA key; read-only after open */
	gnutls_x509_crt_t crt;	   /* CA cert, re-imported */
	gnutls_datum_t der;	   /* gnutls_malloc'd */
	char *pem;		   /* malloc'd, NUL-terminated */
	unsigned char ski[64];	   /* the CA's subject key id */
	size_t ski_len;
	time_t not_after;		 /* leaves never outlive the CA */
	gnutls_x509_privkey_t leaf_xkey; /* the one leaf key */
	gnutls_privkey_t leaf_key;	 /* abstract view of leaf_xkey */
	unsigned char leaf_ski[64];
	size_t leaf_ski_len;
};

/* Reads a whole small file below dirfd. A private file must not be
 * readable by group or other; a missing file gives -ENOENT. */
static int
ca_read_file(int dirfd, const char *name, int private, gnutls_datum_t *out)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd = -1, rc = -1;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? -ENOENT : -1;
		if (rc != -ENOENT)
			log_err("ca: open %s", name);
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > CA_MAX_FILE) {
		log_errx("ca: %s is not a plausible PEM file", name);
		goto out;
	}
	if (private && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		log_errx("ca: %s has mode %04o; refusing a key that group or "
			 "other can read (chmod 600 it)",
			 name, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1)))
		goto out;
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("ca: read %s", name);
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	out->data = buf;
	out->size = (unsigned)got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A random positive 16-byte serial (RFC 5280: at most 20 octets, > 0). */
static int
ca_set_serial(gnutls_x509_crt_t crt)
{
	unsigned char serial[16];
	int rc;

	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return rc;
	serial[0] &= 0x7f; /* positive in DER */
	serial[0] |= 0x40; /* and really 16 bytes long */
	return gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
}

static int
ca_new_key(gnutls_x509_privkey_t *key)
{
	int rc;

	if ((rc = gnutls_x509_privkey_init(key)) < 0)
		return rc;
	return gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA, CA_BITS, 0);
}

/* Fills and self-signs a fresh CA certificate for key. */
static int
ca_fill_root(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	unsigned char rnd[4], ski[64];
	size_t ski_len = sizeof(ski);
	char cn[64];
	time_t now = time(NULL);
	int rc;

	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd))) < 0)
		return rc;
	/* The suffix makes two installs' CAs distinct in trust stores. */
	snprintf(cn, sizeof(cn), "antigravity-proxy MITM CA %02x%02x%02x%02x",
		 rnd[0], rnd[1], rnd[2], rnd[3]);
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = ca_set_serial(crt)) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - CA_DAY)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(
		     crt, now - CA_DAY + CA_LIFETIME)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt,
						GNUTLS_OID_X520_COMMON_NAME, 0,
						cn, strlen(cn))) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(
		     crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, CA_ORG,
		     strlen(CA_ORG))) < 0 ||
	    (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(
		     crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) <
		    0 ||
	    (rc = gnutls_x509_privkey_get_key_id(key, 0, ski, &ski_len)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, ski, ski_len)) < 0)
		return rc;
	return gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
}

/* Creates a new CA and stores it: the certificate first, then the key, so
 * that an existing key always has its certificate beside it. */
static int
ca_create(int dirfd, gnutls_datum_t *key_pem, gnutls_datum_t *crt_pem)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	int rc;

	if ((rc = ca_new_key(&key)) < 0 ||
	    (rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = ca_fill_root(crt, key)) < 0 ||
	    (rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM,
					      key_pem)) < 0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, crt_pem)) <
		    0) {
		log_errx("ca: generating the CA: %s", gnutls_strerror(rc));
		rc = -1;
		goto out;
	}
	if ((rc = fsutil_write_at(dirfd, CA_CERT_FILE, crt_pem->data,
				  crt_pem->size, 0644)) < 0)
		log_err("ca: writing %s", CA_CERT_FILE);
	else if ((rc = fsutil_write_at(dirfd, CA_KEY_FILE, key_pem->data,
				       key_pem->size, 0600)) < 0)
		log_err("ca: writing %s", CA_KEY_FILE);
	if (rc < 0)
		goto out;
	log_info("ca: created a new CA in the state directory");
out:
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

/* Exports crt to DER and imports it into a fresh object: GnuTLS 3.7 may
 * not answer SAN or hostname queries on a certificate it has just signed
 * in memory. On success *out holds the DER if out is not NULL. */
static int
ca_reimport(gnutls_x509_crt_t crt, gnutls_x509_crt_t *fresh,
	    gnutls_datum_t *out)
{
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crt_t n = NULL;
	int rc;

	if ((rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der)) <
		    0 ||
	    (rc = gnutls_x509_crt_init(&n)) < 0 ||
	    (rc = gnutls_x509_crt_import(n, &der, GNUTLS_X509_FMT_DER)) < 0)
		goto out;
	*fresh = n;
	n = NULL;
	if (out) {
		*out = der;
		der.data = NULL;
	}
out:
	gnutls_x509_crt_deinit(n);
	gnutls_free(der.data);
	return rc;
}

/* Takes the CA key and certificate from their PEM text into ca. */
static int
ca_adopt(struct ca *ca, const gnutls_datum_t *key_pem,
	 const gnutls_datum_t *crt_pem)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t pem = { NULL, 0 };
	unsigned char kid[64];
	size_t kid_len = sizeof(kid);
	unsigned int critical = 0;
	int rc;

	ca->ski_len = sizeof(ca->ski);
	if ((rc = gnutls_x509_privkey_init(&ca->key)) < 0 ||
	    (rc = gnutls_x509_privkey_import(ca->key, key_pem,
					     GNUTLS_X509_FMT_PEM)) < 0 ||
	    (rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = gnutls_x509_crt_import(crt, crt_pem, GNUTLS_X509_FMT_PEM)) <
		    0 ||
	    (rc = ca_reimport(crt, &ca->crt, &ca->der)) < 0 ||
	    (rc = gnutls_x509_crt_export2(ca->crt, GNUTLS_X509_FMT_PEM, &pem)) <
		    0 ||
	    (rc = gnutls_x509_privkey_get_key_id(ca->key, 0, kid, &kid_len)) <
		    0 ||
	    (rc = gnutls_x509_crt_get_subject_key_id(
		     ca->crt, ca->ski, &ca->ski_len, &critical)) < 0) {
		log_errx("ca: loading the CA: %s", gnutls_strerror(rc));
		rc = -1;
		goto out;
	}
	if (kid_len != ca->ski_len || memcmp(kid, ca->ski, kid_len) != 0) {
		log_errx("ca: %s does not belong to %s", CA_KEY_FILE,
			 CA_CERT_FILE);
		rc = -1;
		goto out;
	}
	if (!(ca->pem = strndup((const char *)pem.data, pem.size))) {
		rc = -1;
		goto out;
	}
	ca->not_after = gnutls_x509_crt_get_expiration_time(ca->crt);
	rc = 0;
out:
	gnutls_free(pem.data);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

static int
ca_make_leaf_key(struct ca *ca)
{
	int rc;

	ca->leaf_ski_len = sizeof(ca->leaf_ski);
	if ((rc = ca_new_key(&ca->leaf_xkey)) < 0 ||
	    (rc = gnutls_x509_privkey_get_key_id(ca->leaf_xkey, 0, ca->leaf_ski,
						 &ca->leaf_ski_len)) < 0 ||
	    (rc = gnutls_privkey_init(&ca->leaf_key)) < 0 ||
	    (rc = gnutls_privkey_import_x509(ca->leaf_key, ca->leaf_xkey, 0)) <
		    0)
		log_errx("ca: generating the leaf key: %s",
			 gnutls_strerror(rc));
	return rc < 0 ? -1 : 0;
}

struct ca *
ca_open(const char *state_dir)
{
	struct ca *ca = NULL;
	gnutls_datum_t key_pem = { NULL, 0 }, crt_pem = { NULL, 0 };
	int dirfd = -1, rc = -1, created = 0;

	if (!(ca = calloc(1, sizeof(*ca))))
		goto out;
	pthread_mutex_init(&ca->lock, NULL);
	dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		log_err("ca: state directory %s", state_dir);
		goto out;
	}
	rc = ca_read_file(dirfd, CA_KEY_FILE, 1, &key_pem);
	if (rc == -ENOENT) {
		/* Without a key an old certificate is worthless: replace it. */
		rc = ca_create(dirfd, &key_pem, &crt_pem);
		created = 1;
	} else if (rc == 0) {
		rc = ca_read_file(dirfd, CA_CERT_FILE, 0, &crt_pem);
		if (rc == -ENOENT)
			log_errx("ca: %s/%s is missing but the key exists",
				 state_dir, CA_CERT_FILE);
	}
	if (rc < 0 || (rc = ca_adopt(ca, &key_pem, &crt_pem)) < 0 ||
	    (rc = ca_make_leaf_key(ca)) < 0)
		goto out;
	log_debug("ca: %s CA from %s", created ? "created" : "loaded",
		  state_dir);
out:
	/* Both PEMs came from gnutls_malloc or malloc; wipe the key text. */
	if (key_pem.data)
		gnutls_memset(key_pem.data, 0, key_pem.size);
	if (created) {
		gnutls_free(key_pem.data);
		gnutls_free(crt_pem.data);
	} else {
		free(key_pem.data);
		free(crt_pem.data);
	}
	if (dirfd >= 0)
		close(dirfd);
	if (rc < 0) {
		ca_free(ca);
		ca = NULL;
	}
	return ca;
}

void
ca_free(struct ca *ca)
{
	if (!ca)
		return;
	gnutls_privkey_deinit(ca->leaf_key);
	gnutls_x509_privkey_deinit(ca->leaf_xkey);
	gnutls_x509_crt_deinit(ca->crt);
	gnutls_x509_privkey_deinit(ca->key);
	gnutls_free(ca->der.data);
	free(ca->pem);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}

const char *
ca_cert_pem(const struct ca *ca)
{
	return ca->pem;
}

const gnutls_datum_t *
ca_cert_der(const struct ca *ca)
{
	return &ca->der;
}

gnutls_privkey_t
ca_leaf_key(const struct ca *ca)
{
	return ca->leaf_key;
}

/* A DNS name we are willing to put in a certificate: LDH labels plus '_'
 * (seen in real service names), no wildcards, no empty labels. */
static int
ca_host_ok(const char *host)
{
	size_t len = strlen(host), i;

	if (len == 0 || len > 253 || host[0] == '.' || host[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)host[i];

		if (ch == '.' && host[i + 1] == '.')
			return 0;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		      ch == '_'))
			return 0;
	}
	return 1;
}

static int
ca_fill_leaf(struct ca *ca, gnutls_x509_crt_t crt, const char *host)
{
	unsigned char ip[16];
	size_t ip_len = 0, host_len = strlen(host);
	time_t now = time(NULL), not_after = now + CA_LEAF_LIFETIME;
	int is_ip = net_parse_ip(host, ip, &ip_len) != 0, rc;
	unsigned int usage = GNUTLS_KEY_DIGITAL_SIGNATURE;

	if (!is_ip && !ca_host_ok(host))
		return GNUTLS_E_INVALID_REQUEST;
	if (not_after > ca->not_after)
		not_after = ca->not_after;
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = ca_set_serial(crt)) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - CA_DAY)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, not_after)) < 0 ||
	    (rc = gnutls_x509_crt_set_key(crt, ca->leaf_xkey)) < 0)
		return rc;
	/* The CN field holds at most 64 characters; a longer name lives only
	 * in the SAN, and the subject gets an O so that it is not empty (an
	 * empty subject would need a critical SAN under strict checks). */
	if (host_len <= 64)
		rc = gnutls_x509_crt_set_dn_by_oid(
			crt, GNUTLS_OID_X520_COMMON_NAME, 0, host, host_len);
	else
		rc = gnutls_x509_crt_set_dn_by_oid(
			crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, CA_ORG,
			strlen(CA_ORG));
	if (rc < 0)
		return rc;
	if (is_ip)
		rc = gnutls_x509_crt_set_subject_alt_name(
			crt, GNUTLS_SAN_IPADDRESS, ip, ip_len, GNUTLS_FSAN_SET);
	else
		rc = gnutls_x509_crt_set_subject_alt_name(
			crt, GNUTLS_SAN_DNSNAME, host, host_len,
			GNUTLS_FSAN_SET);
	if (rc < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, usage)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(
		     crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, ca->leaf_ski,
						     ca->leaf_ski_len)) < 0 ||
	    (rc = gnutls_x509_crt_set_authority_key_id(crt, ca->ski,
						       ca->ski_len)) < 0)
		return rc;
	return 0;
}

int
ca_forge_leaf(struct ca *ca, const char *host, gnutls_x509_crt_t *crt_out)
{
	gnutls_x509_crt_t crt = NULL;
	int rc;

	if ((rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = ca_fill_leaf(ca, crt, host)) < 0)
		goto out;
	pthread_mutex_lock(&ca->lock);
	rc = gnutls_x509_crt_sign2(crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0);
	pthread_mutex_unlock(&ca->lock);
	if (rc < 0 || (rc = ca_reimport(crt, crt_out, NULL)) < 0)
		goto out;
out:
	if (rc < 0)
		log_warnx("ca: forging %s: %s", host, gnutls_strerror(rc));
	gnutls_x509_crt_deinit(crt);
	return rc;
}
