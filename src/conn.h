/* SPDX-License-Identifier: GPL-2.0-or-later
 * conn.h - one redirected connection's life, on its worker thread.
 */
#ifndef AGP_CONN_H
#define AGP_CONN_H

struct proxy;

/* Serves the accepted socket fd to its end: peeks the ClientHello, then
 * tunnels it raw or terminates TLS and forwards each request upstream.
 * The caller closes fd after. `id` numbers the connection in the logs. */
void conn_serve(struct proxy *px, int fd, unsigned long id);

#endif
