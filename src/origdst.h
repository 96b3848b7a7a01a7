/* SPDX-License-Identifier: GPL-2.0-or-later
 * origdst.h - where a redirected connection was going.
 */
#ifndef AGP_ORIGDST_H
#define AGP_ORIGDST_H

#include <stdbool.h>
#include <sys/socket.h>

#define ORIGDST_STRLEN 64 /* "[v6addr]:port" */

/* The original destination of a connection that an iptables REDIRECT
 * sent to us (SO_ORIGINAL_DST, or IP6T_SO_ORIGINAL_DST for IPv6).
 * Returns 0, or -1 with errno set (ENOENT: not redirected). */
int origdst_get(int fd, struct sockaddr_storage *dst);

/* True when dst is this very socket's local address: the connection was
 * made straight to the proxy (or redirected onto itself), and following
 * it would loop. */
bool origdst_is_self(int fd, const struct sockaddr_storage *dst);

#endif
