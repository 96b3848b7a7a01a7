/* SPDX-License-Identifier: GPL-2.0-or-later
 * clienthello.h - peeks a TLS ClientHello for its SNI and ALPN (pure:
 * buffers in, no sockets).
 *
 * Threading: no shared state; every call works only on its arguments.
 * Ownership: the caller owns the input buffer and the result struct; the
 *   result copies what it keeps, so it outlives the buffer.
 */
#ifndef AGP_CLIENTHELLO_H
#define AGP_CLIENTHELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results of clienthello_parse(). */
#define CLIENTHELLO_DONE 0
#define CLIENTHELLO_NEED_MORE 1
#define CLIENTHELLO_NOT_TLS (-1)   /* not a TLS handshake: tunnel raw */
#define CLIENTHELLO_MALFORMED (-2) /* TLS, but a broken ClientHello */
#define CLIENTHELLO_TOO_BIG (-3)   /* hello larger than the limits below */

/* Largest handshake message (4-byte header included) accepted: 16 KiB of
 * ClientHello body, enough for post-quantum key shares. */
#define CLIENTHELLO_MAX_MSG (16384 + 4)
/* Largest number of bytes the caller ever needs to peek: the message plus
 * the headers of the records it is fragmented into. */
#define CLIENTHELLO_MAX (CLIENTHELLO_MAX_MSG + 1024)

#define CLIENTHELLO_MAX_ALPN 8

struct clienthello {
	uint16_t legacy_version; /* client_version field, 0x0303 ... */
	bool has_sni;
	/* host_name from server_name: ASCII letters, digits, '-', '.', '_',
	 * lowercased, without a trailing dot, at most 253 characters. */
	char sni[256];
	/* The first CLIENTHELLO_MAX_ALPN offered protocols that are 1..31
	 * bytes of printable ASCII, in the client's order. */
	char alpn[CLIENTHELLO_MAX_ALPN][32];
	int nalpn;
	bool has_alpn; /* an ALPN extension was present */
	bool alpn_h1;  /* "http/1.1" offered */
	bool alpn_h2;  /* "h2" offered */
};

/* Examines buf[0..len), the bytes peeked so far from a new connection.
 * Returns CLIENTHELLO_DONE with *out filled in; CLIENTHELLO_NEED_MORE when
 * the hello is incomplete, *need then being a lower bound on the total
 * number of bytes to peek before calling again (never more than
 * CLIENTHELLO_MAX); or CLIENTHELLO_NOT_TLS, CLIENTHELLO_MALFORMED,
 * CLIENTHELLO_TOO_BIG. The hello may be fragmented across several TLS
 * records; bytes past its end are ignored. An invalid host name in SNI is
 * CLIENTHELLO_MALFORMED. need may be NULL. */
int clienthello_parse(const uint8_t *buf, size_t len, struct clienthello *out,
		      size_t *need);

#endif
