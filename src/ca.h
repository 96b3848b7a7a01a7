/* SPDX-License-Identifier: GPL-2.0-or-later
 * ca.h - the MITM certificate authority: load or create it, forge leaves.
 *
 * Threading: ca_open()/ca_free() by main only; every other call is
 *   thread-safe (forging is serialised by a mutex inside struct ca).
 * Ownership: struct ca owns the CA key, the CA certificate and the one
 *   leaf key of this process; nothing outside ca.c touches the CA key.
 */
#ifndef AGP_CA_H
#define AGP_CA_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct ca;

/* Loads ca-key.pem and ca-cert.pem from state_dir, or creates both when
 * the key does not exist yet. Refuses a key readable by group or other.
 * Returns NULL on failure (logged). The caller frees with ca_free(). */
struct ca *ca_open(const char *state_dir);
void ca_free(struct ca *ca);

/* The CA certificate in PEM, NUL-terminated; owned by ca. */
const char *ca_cert_pem(const struct ca *ca);
/* The CA certificate in DER; owned by ca. */
const gnutls_datum_t *ca_cert_der(const struct ca *ca);

/* The process-wide leaf private key, generated at ca_open(), never
 * written to disk. Owned by ca; valid until ca_free(). Signing with it
 * from several threads at once is safe. */
gnutls_privkey_t ca_leaf_key(const struct ca *ca);

/* Forges a leaf for host, a DNS name or an IPv4/IPv6 literal (the SAN is
 * then an iPAddress). The certificate has been exported and re-imported,
 * so SAN queries and gnutls_x509_crt_check_hostname() work on it.
 * On success *crt_out belongs to the caller (gnutls_x509_crt_deinit).
 * Returns 0 or a negative GnuTLS error code. */
int ca_forge_leaf(struct ca *ca, const char *host, gnutls_x509_crt_t *crt_out);

#endif
