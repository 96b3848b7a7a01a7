/* SPDX-License-Identifier: GPL-2.0-or-later
 * tls.h - the GnuTLS server side of the MITM on an accepted socket.
 *
 * Threading: one struct tls belongs to one thread; any number of sessions
 *   may run in parallel (they share only the certcache and its
 *   credentials, which are thread-safe).
 * Ownership: struct tls holds a certcache reference from the handshake
 *   until tls_free(); it never closes the socket, which stays the caller's.
 */
#ifndef AGP_TLS_H
#define AGP_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct certcache;
struct tls;

#define TLS_E_FAILED (-1)   /* any other failure; see tls_error() */
#define TLS_E_TIMEOUT (-2)  /* the peer was silent or stuck */
#define TLS_E_REJECTED (-3) /* the client refused our cert */
#define TLS_E_CLOSED \
	(-4) /* the client closed or reset, without an
				 * alert, after our certificate flight and
				 * before finishing the handshake */

/* A server session on the connected socket fd. sni_or_ip names the
 * certificate when the client sends no SNI (typically the original
 * destination IP). handshake_timeout_ms bounds the whole handshake.
 * NULL on failure. Free with tls_free(). */
struct tls *tls_server_new(struct certcache *cache, int fd,
			   const char *sni_or_ip, int handshake_timeout_ms);
/* Drops the certificate reference and frees s without a close_notify
 * (call tls_bye() first for a clean close); NULL is a no-op. */
void tls_free(struct tls *s);

/* Runs the handshake. Returns 0, TLS_E_TIMEOUT, TLS_E_REJECTED when the
 * client aborted with a fatal unknown_ca, bad_certificate or
 * certificate_unknown alert (a pinned client: fail open), TLS_E_CLOSED
 * when it closed or reset silently after our certificate flight (Node
 * clients reject that way), or TLS_E_FAILED. */
int tls_handshake(struct tls *s);

/* Reads up to len bytes, waiting at most timeout_ms (0: for ever).
 * Returns the count, 0 on close_notify or EOF, TLS_E_TIMEOUT, or
 * TLS_E_FAILED. */
ssize_t tls_read(struct tls *s, void *buf, size_t len, int timeout_ms);
/* Bytes read from the socket already and waiting, decrypted inside
 * GnuTLS or not yet, which a poll() on the socket does not see: read
 * them before waiting. (A partial record among them makes the read
 * wait for its rest.) */
size_t tls_pending(struct tls *s);

/* Writes all of buf; gives up with TLS_E_TIMEOUT when the peer has not
 * taken all of it within timeout_ms (0: for ever), one deadline for the
 * call however many bytes trickle out before it. Returns 0 or a TLS_E_
 * code; after TLS_E_TIMEOUT the session is not to be written again. */
int tls_write_all(struct tls *s, const void *buf, size_t len, int timeout_ms);
/* Sends close_notify (without waiting for the peer's). 0 or TLS_E_. */
int tls_bye(struct tls *s, int timeout_ms);

/* The name the certificate was forged for, once the handshake chose it. */
const char *tls_cert_name(const struct tls *s);
/* The SNI the client sent, or NULL. */
const char *tls_sni(const struct tls *s);
/* The fatal alert the client sent (GNUTLS_A_*), or -1. */
int tls_alert(const struct tls *s);
/* A description of the last failure, for logs; never NULL. */
const char *tls_error(const struct tls *s);
/* 1 if the client agreed to ALPN http/1.1, else 0. */
int tls_alpn_http11(const struct tls *s);

#endif
