/* SPDX-License-Identifier: GPL-2.0-or-later
 * tls_send.h - the blocking "send it all" loop both benchmark programs
 * use on their GnuTLS sessions.
 */
#ifndef BENCH_TLS_SEND_H
#define BENCH_TLS_SEND_H

#include <stddef.h>
#include <sys/types.h>

#include <gnutls/gnutls.h>

/* Sends all of buf, retrying on EAGAIN/EINTR; 0, or -1 on an error. */
static inline int
tls_send_all(gnutls_session_t s, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = gnutls_record_send(s, p, len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
