/* SPDX-License-Identifier: GPL-2.0-or-later
 * conn_peers.h - the TLS peers test_conn.c plays around the proxy: a
 * GnuTLS client that checks the forged certificate, and an upstream
 * that writes its whole response in one record. Static functions, for
 * that one test.
 */
#ifndef AGP_CONN_PEERS_H
#define AGP_CONN_PEERS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "buf.h"

/* A TCP listener on 127.0.0.1, its port in *port. */
static int
listen_local(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* --- the client -------------------------------------------------------- */

struct client {
	int fd;
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
};

static void
client_close(struct client *c)
{
	if (c->s)
		gnutls_deinit(c->s);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Connects to 127.0.0.1:port and completes a TLS handshake for host,
 * checking its certificate against ca_pem; 0 or -1. */
static int
client_connect(struct client *c, int port, const char *host, const char *ca_pem)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	gnutls_datum_t ca = { (unsigned char *)ca_pem,
			      (unsigned)strlen(ca_pem) };
	gnutls_datum_t alpn = { (unsigned char *)"http/1.1", 8 };
	int rc;

	memset(c, 0, sizeof(*c));
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    gnutls_certificate_allocate_credentials(&c->cred) < 0 ||
	    gnutls_certificate_set_x509_trust_mem(c->cred, &ca,
						  GNUTLS_X509_FMT_PEM) != 1 ||
	    gnutls_init(&c->s, GNUTLS_CLIENT) < 0 ||
	    gnutls_set_default_priority(c->s) < 0 ||
	    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->cred) < 0 ||
	    gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, host, strlen(host)) <
		    0 ||
	    gnutls_alpn_set_protocols(c->s, &alpn, 1, 0) < 0)
		goto fail;
	gnutls_session_set_verify_cert(c->s, host, 0);
	gnutls_transport_set_int(c->s, c->fd);
	gnutls_handshake_set_timeout(c->s, 10000);
	gnutls_record_set_timeout(c->s, 10000);
	do
		rc = gnutls_handshake(c->s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc == 0)
		return 0;
	printf("# client handshake: %s\n", gnutls_strerror(rc));
fail:
	client_close(c);
	return -1;
}

static int
client_send(struct client *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = gnutls_record_send(c->s, buf, len);

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One record's plaintext appended to out: its length, 0 at the end of
 * the stream, < 0 on an error or the 10 s timeout. */
static ssize_t
client_recv(struct client *c, struct buf *out)
{
	ssize_t n;

	if (!buf_reserve(out, out->len + 16384 + 1))
		return -1;
	do
		n = gnutls_record_recv(c->s, out->data + out->len, 16384);
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	if (n == GNUTLS_E_PREMATURE_TERMINATION)
		n = 0; /* no close_notify: still the end */
	if (n > 0)
		out->len += (size_t)n;
	out->data[out->len] = '\0';
	return n;
}

/* Empties b, leaving an empty C string (no stale bytes to match). */
static void
clear(struct buf *b)
{
	b->len = 0;
	if (!buf_append(b, "", 0))
		abort();
}

/* Everything until the proxy closes: 0, or -1 when it never did. */
static int
client_read_all(struct client *c, struct buf *out)
{
	ssize_t n;

	while ((n = client_recv(c, out)) > 0)
		;
	return n == 0 ? 0 : -1;
}

/* An upstream that writes its whole response in one TLS record. */
struct one_write {
	int fd;
	const char *cert, *key;
};

static void *
one_write_serve(void *arg)
{
	static const char resp[] =
		"HTTP/1.1 200 OK\r\nContent-Type: "
		"text/plain\r\nContent-Length: 6\r\n\r\nheld!\n";
	struct one_write *o = arg;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	char in[4096];
	size_t len = 0;
	ssize_t n;
	int fd = accept(o->fd, NULL, NULL), rc;

	if (fd < 0 || gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(cred, o->cert, o->key,
						 GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_init(&s, GNUTLS_SERVER) < 0 ||
	    gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		goto out;
	gnutls_transport_set_int(s, fd);
	gnutls_record_set_timeout(s, 10000);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	while (rc == 0 && len < sizeof(in) - 1 &&
	       (n = gnutls_record_recv(s, in + len, sizeof(in) - 1 - len)) >
		       0) {
		len += (size_t)n;
		in[len] = '\0';
		if (strstr(in, "\r\n\r\n")) {
			gnutls_record_send(s, resp, sizeof(resp) - 1);
			gnutls_bye(s, GNUTLS_SHUT_WR);
			break;
		}
	}
out:
	if (s)
		gnutls_deinit(s);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	if (fd >= 0)
		close(fd);
	return NULL;
}

#endif
