/* SPDX-License-Identifier: GPL-2.0-or-later
 * wsrelay.h - after a 101, the two-way relay of a WebSocket between the
 * client's TLS session and the upstream connection: each piece goes on
 * at once, untouched, and a copy of it to a tap (the meter).
 *
 * Threading: runs on the connection's worker thread; shares nothing.
 * Ownership: the relay borrows everything in struct wsrelay; it closes
 *   nothing, and the caller frees both legs.
 */
#ifndef AGP_WSRELAY_H
#define AGP_WSRELAY_H

#include <stdbool.h>
#include <stddef.h>

struct tls;
struct upstream_ws;

enum wsrelay_end {
	WSRELAY_CLIENT_CLOSED,
	WSRELAY_UPSTREAM_CLOSED,
	WSRELAY_IDLE,	       /* silent both ways for idle_ms */
	WSRELAY_STOPPING,      /* the daemon is stopping */
	WSRELAY_CLIENT_FAILED, /* read error, or a write timed out */
	WSRELAY_UPSTREAM_FAILED,
};

typedef void wsrelay_tap_fn(void *arg, bool from_client, const char *buf,
			    size_t len);

struct wsrelay {
	struct tls *tls;
	int client_fd;
	struct upstream_ws *up;
	long idle_ms;	     /* --websocket-idle-timeout */
	long write_ms;	     /* --write-timeout, both ways */
	wsrelay_tap_fn *tap; /* may be NULL */
	void *arg;
	unsigned long long to_upstream, to_client; /* bytes, out */
};

/* Relays until one side closes or fails, the idle limit passes, or the
 * daemon stops; early[0..early_len) are client bytes read already (they
 * go first). Returns a WSRELAY_* end. */
int wsrelay_run(struct wsrelay *r, const char *early, size_t early_len);

/* A word for the end, for logs. */
const char *wsrelay_strend(int end);

#endif
