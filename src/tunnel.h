/* SPDX-License-Identifier: GPL-2.0-or-later
 * tunnel.h - raw TCP relay to the original destination.
 */
#ifndef AGP_TUNNEL_H
#define AGP_TUNNEL_H

#include <sys/socket.h>
#include <sys/types.h>

/* Connects to dst within connect_timeout_ms; the socket, or -1 with
 * errno set. */
int tunnel_connect(const struct sockaddr_storage *dst, long connect_timeout_ms);

/*
 * Relays bytes both ways between a and b until both sides have closed,
 * either fails, neither moved a byte for idle_timeout_ms, or one side
 * did not take what the other sent (one read's worth) within
 * write_timeout_ms (0: for ever). A half close on one side is passed on
 * (shutdown SHUT_WR) so protocols that rely on it work. Closes neither
 * socket. Returns the bytes relayed a->b + b->a, or -1 on an error or
 * timeout.
 */
ssize_t tunnel_relay(int a, int b, long idle_timeout_ms, long write_timeout_ms);

#endif
