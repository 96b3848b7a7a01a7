/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_setup.c - an exchange's set-up through the gate
 * (upstream_gate.h): the slot is held while curl computes and given back
 * while it waits for the network.
 *
 * Threading: each function works on one xfer, in its worker's thread;
 *   the gate is thread-safe.
 * Ownership: nothing is kept.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <linux/tcp.h> /* struct tcp_info with its byte counts */
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>

#include "clock.h"
#include "upstream_gate.h"
#include "upstream_int.h"

/* The longest a set-up gives its slot back for while curl waits for the
 * network; past it curl waits on its own, ungated. */
#define UPSTREAM_SETUP_WAIT_MS 250

/* TCP_INFO's tcpi_state of a connected socket (the kernel's
 * include/net/tcp_states.h, which no user header has). */
#define UPSTREAM_TCP_ESTABLISHED 1

/* curl made the socket it connects on. */
int
upstream_on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct upstream_xfer *x = arg;

	(void)purpose;
	x->fd = fd;
	return CURL_SOCKOPT_OK;
}

/* What curl is waiting for on its socket while it connects, or 0 when
 * it has work to do at once. Before curl shows its TLS session: the end
 * of the TCP connect, then the server's first answer once the
 * ClientHello is out (TCP_INFO's byte counts tell). Then what GnuTLS
 * was last interrupted at, until the handshake is done both ways. */
static short
setup_waits_for(const struct upstream_xfer *x)
{
	struct curl_tlssessioninfo *ti = NULL;
	struct tcp_info tcp;
	socklen_t len = sizeof(tcp);
	gnutls_session_t s;

	if (curl_easy_getinfo(x->h.easy, CURLINFO_TLS_SSL_PTR, &ti) ==
		    CURLE_OK &&
	    ti && ti->backend == CURLSSLBACKEND_GNUTLS && ti->internals) {
		s = ti->internals;
		if (gnutls_handshake_get_last_in(s) ==
			    GNUTLS_HANDSHAKE_FINISHED &&
		    gnutls_handshake_get_last_out(s) ==
			    GNUTLS_HANDSHAKE_FINISHED)
			return 0;
		return gnutls_record_get_direction(s) ? POLLOUT : POLLIN;
	}
	if (getsockopt(x->fd, IPPROTO_TCP, TCP_INFO, &tcp, &len) < 0)
		return 0;
	if (tcp.tcpi_state != UPSTREAM_TCP_ESTABLISHED)
		return POLLOUT;
	return tcp.tcpi_bytes_sent > 0 && tcp.tcpi_bytes_received == 0 ? POLLIN
								       : 0;
}

/* curl calls on_progress() after each of its passes, connecting too,
 * before it waits again. While it would wait for the network the slot
 * goes back; it is taken again once the socket is ready, when the next
 * pass has work to do. A socket not ready within UPSTREAM_SETUP_WAIT_MS
 * ends the gating of this set-up: curl waits on its own from there, and
 * a slow network never holds a slot. */
void
upstream_setup_pause(struct upstream_xfer *x)
{
	short ev = x->fd >= 0 ? setup_waits_for(x) : 0;
	long long now = clock_mono_ms(), until = now + UPSTREAM_SETUP_WAIT_MS;
	int n = 0;

	if (!ev)
		return;
	if (x->slot)
		upstream_gate_give(x->u->gate);
	x->slot = false;
	while (n == 0 && now < until && !atomic_load(&x->u->stopping)) {
		n = poll(&(struct pollfd){ .fd = x->fd, .events = ev }, 1,
			 until - now < 100 ? (int)(until - now) : 100);
		if (n < 0 && errno == EINTR)
			n = 0;
		now = clock_mono_ms();
	}
	if (n == 0) /* not ready: curl's own wait, ungated */
		x->setup = false;
	else
		x->slot = upstream_gate_take(x->u->gate, x->setup_deadline);
}

/* The set-up is over (connected, or the exchange ended). */
void
upstream_setup_end(struct upstream_xfer *x)
{
	if (x->slot)
		upstream_gate_give(x->u->gate);
	x->slot = x->setup = false;
}
