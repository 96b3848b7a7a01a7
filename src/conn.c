/* SPDX-License-Identifier: GPL-2.0-or-later
 * conn.c - one redirected connection's life, on its worker thread.
 *
 * Threading: a worker alone owns its struct conn: the client socket, the
 *   TLS session, the curl easy handle and the meter. It shares only what
 *   struct proxy points to, each piece behind its own lock.
 * Ownership: conn_serve() frees everything it made, the socket included.
 *
 *   peek ClientHello ─┬─ not TLS / not listed / h2 only / failed open ─► tunnel
 *                     └─ TLS handshake (forged leaf)
 *                        loop: head ─► body ─► upstream ─► each chunk to the
 *                              client at once, and to the meter ─► record
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "clienthello.h"
#include "clock.h"
#include "conn.h"
#include "conn_int.h"
#include "h1resp.h"
#include "http1.h"
#include "intercept.h"
#include "log.h"
#include "net.h"
#include "options.h"
#include "origdst.h"
#include "peer.h"
#include "proxy.h"
#include "tls.h"
#include "tunnel.h"
#include "upstream.h"

/*
 * Peeks until the ClientHello is complete, the bytes are not TLS, the
 * client sends its FIN, or the handshake timeout passes. SO_RCVLOWAT
 * makes poll() wait for more bytes than are already queued, so a hello
 * in many small segments costs no busy loop; after a FIN, though, poll()
 * reports the socket readable at once and for good, and the peek returns
 * the same bytes again, so the FIN (POLLRDHUP) ends the peek: no more
 * will come. Returns a CLIENTHELLO_* result, or PEEK_TIMEOUT or
 * PEEK_CLOSED when no complete hello came.
 */
enum { PEEK_TIMEOUT = -100, PEEK_CLOSED = -101 };

static int
peek_hello(struct conn *c, struct clienthello *ch)
{
	static const int one = 1;
	uint8_t *buf = malloc(CLIENTHELLO_MAX);
	int64_t deadline = clock_mono_ms() + c->opt->handshake_timeout;
	size_t need = 1;
	ssize_t n = 0;
	int rc = PEEK_TIMEOUT, lowat;

	if (!buf)
		return PEEK_CLOSED;
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };
		int64_t left = deadline - clock_mono_ms();

		lowat = need > CLIENTHELLO_MAX ? CLIENTHELLO_MAX : (int)need;
		setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat,
			   sizeof(lowat));
		if (left <= 0 || poll(&p, 1, (int)left + 1) <= 0)
			break;
		n = recv(c->fd, buf, CLIENTHELLO_MAX, MSG_PEEK);
		if (n <= 0) {
			rc = PEEK_CLOSED;
			break;
		}
		rc = clienthello_parse(buf, (size_t)n, ch, &need);
		if (rc != CLIENTHELLO_NEED_MORE)
			break;
		if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			rc = PEEK_CLOSED; /* the rest will never come */
			break;
		}
		if ((size_t)n >= CLIENTHELLO_MAX)
			break; /* too big to read: tunnelled as odd */
		if (need <= (size_t)n)
			need = (size_t)n + 1;
		rc = PEEK_TIMEOUT;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	free(buf);
	return rc;
}

static void
serve_tunnel(struct conn *c, const char *why)
{
	int up = tunnel_connect(&c->dst, c->opt->connect_timeout);
	ssize_t moved;
	int64_t t0;

	atomic_fetch_add(&c->px->stats.tunnelled, 1);
	if (up < 0) {
		log_warn("conn#%lu %s -> %s:%u tunnel (%s): connect", c->id,
			 c->peer, c->dst_addr, c->dst_port, why);
		return;
	}
	log_info("conn#%lu %s -> %s:%u tunnel (%s) host=%s", c->id, c->peer,
		 c->dst_addr, c->dst_port, why, c->host[0] ? c->host : "-");
	t0 = clock_mono_ms();
	moved = tunnel_relay(c->fd, up, c->opt->idle_timeout,
			     c->opt->write_timeout);
	if (moved < 0 && errno == ETIMEDOUT)
		log_info("conn#%lu tunnel: a side did not take its bytes "
			 "within --write-timeout (%ld ms), %" PRId64 " ms into "
			 "the tunnel: closing",
			 c->id, c->opt->write_timeout, clock_mono_ms() - t0);
	log_debug("conn#%lu tunnel closed after %zd bytes", c->id, moved);
	close(up);
}

/* Forwards the parsed request; false when the connection must close. */
static bool
forward(struct conn *c)
{
	struct upstream_callbacks cb = { .head = conn_on_head,
					 .body = conn_on_body,
					 .flush = conn_on_flush,
					 .arg = c };
	struct upstream_request ur;
	bool head_sent = false;
	int rc;

	if (http1_is_websocket(&c->req))
		return conn_ws_forward(c);
	conn_upstream_request(c, &ur);
	conn_exchange_start(c);
	rc = upstream_perform(c->xfer, &ur, &cb, &head_sent);
	return conn_exchange_end(c, rc, head_sent);
}

/* Between exchanges: a large body buffer or a head buffer grown for a
 * large head goes, so that a connection held open (an agent's stream,
 * most of its life) keeps only what a typical exchange needs. */
static void
trim_buffers(struct conn *c)
{
	if (c->body_cap > CONN_BODY_KEEP)
		conn_body_release(c);
	if (c->in_cap > CONN_IN && c->in_len <= CONN_IN - CONN_IN_SPARE)
		conn_in_resize(c, CONN_IN); /* else it stays as it was */
}

/* Reads the first request byte; false when the client went before one,
 * noting whether it did so at once (a silent rejection, maybe). */
static bool
first_byte(struct conn *c)
{
	int64_t t0 = clock_mono_ms();
	ssize_t n = conn_read_more(c, (int)c->opt->idle_timeout);

	if (n > 0)
		return true;
	/* Closed or reset by the client within a moment of the handshake;
	 * not our idle timeout, and not a client that idled a while. */
	c->silent_close =
		n != TLS_E_TIMEOUT && clock_mono_ms() - t0 <= CONN_SILENT_MS;
	return false;
}

/* The request loop over one TLS session. */
static void
serve_requests(struct conn *c)
{
	if (!first_byte(c))
		return;
	intercept_note_request(c->px->intercept, c->client, c->host);
	for (;;) {
		ssize_t used = conn_read_request(c);

		if (used < 0)
			return;
		if (!forward(c))
			return;
		c->head_len = 0;
		/* Pipelined bytes move to the front for the next head. */
		memmove(c->in, c->in + used, c->in_len - (size_t)used);
		c->in_len -= (size_t)used;
		trim_buffers(c);
	}
}

/* The client rejected our certificate (how: why): the host is tunnelled
 * for that client for a while, and the case is counted. */
static void
fail_open(struct conn *c, atomic_ulong *counter, const char *why)
{
	atomic_fetch_add(counter, 1);
	intercept_fail_open(c->px->intercept, c->client, c->host);
	log_warnx("conn#%lu %s -> %s:%u client rejected our certificate "
		  "for %s (%s): tunnelling that host for %s for %lds",
		  c->id, c->peer, c->dst_addr, c->dst_port, c->host, why,
		  c->client, c->opt->fail_open_time / 1000);
}

static void
serve_tls(struct conn *c)
{
	struct proxy_stats *st = &c->px->stats;
	int rc;

	if (!(c->tls = tls_server_new(c->px->certs, c->fd, c->host,
				      (int)c->opt->handshake_timeout)) ||
	    !(c->xfer = upstream_xfer_new(c->px->upstream)) ||
	    !(c->in = malloc(c->in_cap = CONN_IN)))
		return;
	rc = tls_handshake(c->tls);
	if (rc == TLS_E_REJECTED || rc == TLS_E_CLOSED) {
		fail_open(c,
			  rc == TLS_E_REJECTED ? &st->fail_open
					       : &st->fail_open_closed,
			  rc == TLS_E_REJECTED
				  ? tls_error(c->tls)
				  : "closed after our certificate");
		return;
	}
	if (rc < 0) {
		atomic_fetch_add(&st->handshake_failures, 1);
		log_info("conn#%lu %s -> %s:%u handshake failed: %s", c->id,
			 c->peer, c->dst_addr, c->dst_port, tls_error(c->tls));
		return;
	}
	atomic_fetch_add(&st->intercepted, 1);
	log_info("conn#%lu %s -> %s:%u sni=%s intercepted", c->id, c->peer,
		 c->dst_addr, c->dst_port, c->host);
	serve_requests(c);
	if (c->silent_close) {
		unsigned n = intercept_note_silent(c->px->intercept, c->client,
						   c->host);

		log_info("conn#%lu closed right after the handshake, before "
			 "a request (%u in a row for %s)",
			 c->id, n, c->host);
		if (n >= 2)
			fail_open(c, &st->fail_open_no_request,
				  "closed before any request, again");
		return;
	}
	if (!c->client_gone)
		tls_bye(c->tls, 1000);
}

/* Decides between decrypting and tunnelling, from the ClientHello. */
static void
serve(struct conn *c)
{
	struct clienthello ch;
	int rc = peek_hello(c, &ch);

	if (rc == PEEK_TIMEOUT || rc == PEEK_CLOSED) {
		atomic_fetch_add(&c->px->stats.handshake_failures, 1);
		log_info(
			"conn#%lu %s -> %s:%u %s", c->id, c->peer, c->dst_addr,
			c->dst_port,
			rc == PEEK_CLOSED
				? "closed before its ClientHello was complete"
				: "no ClientHello before the handshake timeout");
		return;
	}
	if (rc != CLIENTHELLO_DONE) {
		serve_tunnel(c, rc == CLIENTHELLO_NOT_TLS ? "not TLS"
							  : "odd ClientHello");
		return;
	}
	snprintf(c->host, sizeof(c->host), "%s",
		 ch.has_sni ? ch.sni : c->dst_addr);
	if (!intercept_wanted(c->px->intercept, c->client, c->host))
		serve_tunnel(c, "not intercepted");
	else if (ch.nalpn > 0 && !ch.alpn_h1)
		serve_tunnel(c, "h2 only");
	else
		serve_tls(c);
}

/* The run, or the language server, behind the connection, and the key
 * of the fail-open table: the run's cgroup, else the socket owner's uid,
 * else (no sock_diag answer) the peer's address. */
static void
who_connected(struct conn *c, const char *addr)
{
	struct peer_info *w = &c->who;

	if (peer_lookup(c->fd, &c->dst, c->px->agents_dir, w) < 0) {
		snprintf(c->client, sizeof(c->client), "addr:%s", addr);
		return;
	}
	if (!w->agent[0] && w->uid >= 0 && w->uid == c->px->ls_uid &&
	    c->px->ls_agent)
		snprintf(w->agent, sizeof(w->agent), "%s", c->px->ls_agent);
	if (w->pid > 0)
		snprintf(c->client, sizeof(c->client), "cgroup:%" PRIu64,
			 w->cgroup_id);
	else
		snprintf(c->client, sizeof(c->client), "uid:%ld", w->uid);
	log_debug("conn#%lu %s uid=%ld cgroup=%" PRIu64 " agent=%s pid=%ld",
		  c->id, c->peer, w->uid, w->cgroup_id,
		  w->agent[0] ? w->agent : "-", w->pid);
}

void
conn_serve(struct proxy *px, int fd, unsigned long id)
{
	struct conn c = {
		.px = px, .opt = px->opt, .id = id, .fd = fd, .who.uid = -1
	};
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	unsigned port;
	char addr[ORIGDST_STRLEN] = "";
	int rc;

	h1resp_init(&c.resp, conn_client_write, &c);
	/* Each response chunk goes out at once: no Nagle delay behind the
	 * client's delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0) {
		net_format_sockaddr(&peer, addr, sizeof(addr), &port);
		net_join_hostport(addr, port, c.peer, sizeof(c.peer));
	}
	rc = px->origdst ? px->origdst(px->origdst_arg, fd, &c.dst)
			 : origdst_get(fd, &c.dst);
	if (rc < 0) {
		log_warn("conn#%lu %s: no original destination (not "
			 "redirected?)",
			 id, c.peer);
	} else if (origdst_is_self(fd, &c.dst)) {
		atomic_fetch_add(&px->stats.loops_refused, 1);
		log_warnx("conn#%lu %s: original destination is the proxy "
			  "itself; refused",
			  id, c.peer);
	} else {
		net_format_sockaddr(&c.dst, c.dst_addr, sizeof(c.dst_addr),
				    &c.dst_port);
		who_connected(&c, addr);
		serve(&c);
	}
	tls_free(c.tls);
	upstream_xfer_free(c.xfer);
	free(c.in);
	free(c.body);
	h1resp_free(&c.resp);
}
