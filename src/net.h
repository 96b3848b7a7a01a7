/* SPDX-License-Identifier: GPL-2.0-or-later
 * net.h - addresses and listening sockets: "host:port" parsed and
 * written one way everywhere, IP literals, bound sockets (as redis's
 * anet.c does for it).
 *
 * Threading: every function is thread-safe; none keeps state.
 * Ownership: nothing is allocated; a returned descriptor is the caller's
 *   to close().
 *
 * The host:port rule, for every option that takes an address:
 *   "[V6]:PORT", "[V6]"  brackets hold an IPv6 address (a colon inside)
 *   "HOST:PORT", "HOST"  one colon at most
 *   "V6"                 two or more colons and no brackets: all of it
 *                        is the address, never address and port, so
 *                        "::1:443" is the address ::1:443 (write
 *                        "[::1]:443" for the port)
 *   "PORT"               digits alone: a port, and an empty host
 * A missing port is the caller's default, or an error where it has none.
 */
#ifndef AGP_NET_H
#define AGP_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* A host name (253) or an address, and its NUL. */
#define NET_HOST_MAX 256
/* "[v6addr]:port" of a numeric address, and its NUL. */
#define NET_HOSTPORT_MAX 64

/* Splits s by the rule above into host (hostlen bytes; "" when s names
 * a port alone) and *port (1..65535). default_port is the port when s
 * gives none; 0 means one is required. The host is text, not checked
 * (a name or an address). Returns 0, or -1 on a malformed s or a host
 * that does not fit; host and *port are then untouched. */
int net_split_hostport(const char *s, unsigned default_port, char *host,
		       size_t hostlen, unsigned *port);

/* Writes "host:port", or "[host]:port" when host holds a colon (an IPv6
 * address), into buf. Returns 0, or -1 when it does not fit. */
int net_join_hostport(const char *host, unsigned port, char *buf, size_t len);

/* Parses a numeric IPv4 or IPv6 address (no brackets). Returns AF_INET
 * or AF_INET6, with the 4 or 16 address bytes in addr and their count in
 * *len (either may be NULL), or 0 when s is no IP literal. */
int net_parse_ip(const char *s, unsigned char addr[16], size_t *len);

/* Formats the address of ss alone ("10.0.0.1", "::1"; "?" for another
 * family) into addr (INET6_ADDRSTRLEN bytes will do) and its port. */
void net_format_sockaddr(const struct sockaddr_storage *ss, char *addr,
			 size_t len, unsigned *port);

/* Fills *ss and *sslen for a numeric host and port (0: any port). Returns
 * 0, or -1 with errno EINVAL when host is no IP literal. */
int net_sockaddr(const char *host, unsigned port, struct sockaddr_storage *ss,
		 socklen_t *sslen);

/* A TCP socket bound to ss and listening (SO_REUSEADDR; IPv6 only on an
 * IPv6 address, so "[::]" and "0.0.0.0" can both be bound). Returns the
 * descriptor (close-on-exec), or -1 with errno set. */
int net_listen_addr(const struct sockaddr_storage *ss, socklen_t sslen);

/* net_listen_addr() on spec: "ADDR:PORT", "[V6]:PORT", or "PORT" alone
 * on 127.0.0.1. A host name is refused (EINVAL): a listener binds an
 * address. */
int net_listen(const char *spec);

/* A Unix stream socket bound to path and listening; flags are added to
 * socket()'s type (SOCK_NONBLOCK). The file gets the caller's umask.
 * Returns the descriptor (close-on-exec), or -1 with errno set and no
 * file left behind by this call. */
int net_listen_unix(const char *path, int flags);

/* A Unix stream socket connected to path (close-on-exec), or -1 with
 * errno set (ENOENT, ECONNREFUSED: nobody listens there). */
int net_connect_unix(const char *path);

#endif
