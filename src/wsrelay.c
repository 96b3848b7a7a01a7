/* SPDX-License-Identifier: GPL-2.0-or-later
 * wsrelay.c - the two-way byte relay of an upgraded (WebSocket)
 * connection: client TLS session <-> upstream curl connection.
 *
 * Threading: one relay per worker; it blocks in one poll() on both
 *   sockets, at most a second at a time (the idle limit and
 *   upstream_stop() are checked between).
 * Ownership: borrows both legs; the tap's copy lives for the call.
 *
 * Each piece read from one side is written whole to the other before
 * anything else is read (a slow reader slows its writer, as TCP would,
 * and no buffer grows), then handed to the tap. Both TLS layers may hold
 * decrypted bytes the kernel no longer shows: they are drained before
 * each poll().
 */
#include "config.h"

#include <errno.h>
#include <poll.h>

#include "clock.h"
#include "tls.h"
#include "upstream.h"
#include "upstream_ws.h"
#include "wsrelay.h"

#define WSRELAY_READ 16384
#define WSRELAY_POLL_MS 1000

const char *
wsrelay_strend(int end)
{
	switch (end) {
	case WSRELAY_CLIENT_CLOSED: return "client closed";
	case WSRELAY_UPSTREAM_CLOSED: return "upstream closed";
	case WSRELAY_IDLE: return "idle timeout";
	case WSRELAY_STOPPING: return "daemon stopping";
	case WSRELAY_CLIENT_FAILED: return "client failed";
	case WSRELAY_UPSTREAM_FAILED: return "upstream failed";
	default: return "?";
	}
}

static int
to_upstream(struct wsrelay *r, const char *buf, size_t len)
{
	if (upstream_ws_send(r->up, buf, len, (int)r->write_ms) < 0)
		return WSRELAY_UPSTREAM_FAILED;
	r->to_upstream += len;
	if (r->tap)
		r->tap(r->arg, true, buf, len);
	return -1;
}

/* Moves what upstream has now to the client; -1 when all went, else an
 * end. */
static int
drain_upstream(struct wsrelay *r, char *buf, bool *moved)
{
	ssize_t n;

	while ((n = upstream_ws_recv(r->up, buf, WSRELAY_READ)) != -EAGAIN) {
		if (n == 0)
			return WSRELAY_UPSTREAM_CLOSED;
		if (n < 0)
			return WSRELAY_UPSTREAM_FAILED;
		if (tls_write_all(r->tls, buf, (size_t)n, (int)r->write_ms) < 0)
			return WSRELAY_CLIENT_FAILED;
		r->to_client += (size_t)n;
		*moved = true;
		if (r->tap)
			r->tap(r->arg, false, buf, (size_t)n);
	}
	return -1;
}

/* One client read (the socket is readable or GnuTLS holds bytes). */
static int
from_client(struct wsrelay *r, char *buf)
{
	/* A record under way comes whole well within the write timeout. */
	ssize_t n = tls_read(r->tls, buf, WSRELAY_READ, (int)r->write_ms);

	if (n == 0)
		return WSRELAY_CLIENT_CLOSED;
	if (n < 0)
		return WSRELAY_CLIENT_FAILED;
	return to_upstream(r, buf, (size_t)n);
}

int
wsrelay_run(struct wsrelay *r, const char *early, size_t early_len)
{
	char buf[WSRELAY_READ];
	long long last = clock_mono_ms();
	int end = -1;

	if (early_len > 0 && (end = to_upstream(r, early, early_len)) >= 0)
		return end;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = r->client_fd, .events = POLLIN },
			{ .fd = upstream_ws_fd(r->up), .events = POLLIN },
		};
		bool moved = false;
		long long now, left;
		int k;

		if ((end = drain_upstream(r, buf, &moved)) >= 0)
			return end;
		while (tls_pending(r->tls) > 0)
			if ((end = from_client(r, buf)) >= 0)
				return end;
		now = clock_mono_ms();
		if (moved)
			last = now;
		if ((left = last + r->idle_ms - now) <= 0)
			return WSRELAY_IDLE;
		if (upstream_ws_stopping(r->up))
			return WSRELAY_STOPPING;
		k = poll(p, 2,
			 left > WSRELAY_POLL_MS ? WSRELAY_POLL_MS : (int)left);
		if (k < 0 && errno != EINTR)
			return WSRELAY_CLIENT_FAILED;
		if (k > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if ((end = from_client(r, buf)) >= 0)
				return end;
			last = clock_mono_ms();
		}
		if (k > 0 && p[1].revents)
			last = clock_mono_ms(); /* drained at the top */
	}
}
