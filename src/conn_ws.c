/* SPDX-License-Identifier: GPL-2.0-or-later
 * conn_ws.c - an Upgrade (WebSocket) exchange on an intercepted
 * connection: the request goes upstream with its Upgrade and Connection
 * headers; a 101 turns the connection into a two-way relay (wsrelay.h)
 * metered from a copy (wsmeter.h), one record per response as it ends;
 * any other answer goes to the client as forward() passes it.
 *
 * Threading: runs on the connection's worker; shares what conn.c shares.
 * Ownership: the upstream leg and the session meter are made and freed
 *   here; the connection closes after a WebSocket.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conn_int.h"
#include "ledger.h"
#include "log.h"
#include "meter/meter.h"
#include "meter/wsmeter.h"
#include "options.h"
#include "proxy.h"
#include "tls.h"
#include "upstream_ws.h"
#include "usage.h"
#include "wsrelay.h"

/* The query may carry an API key (?key=): logs show the path only, as
 * the precision and argument pair of a "%.*s". */
#define WS_PATH(c) (int)strcspn((c)->req.target, "?"), (c)->req.target

/* One response of the session ended: its record to the ledger. */
static void
ws_record(void *arg, const struct usage_record *rec)
{
	struct conn *c = arg;
	struct usage_record r = *rec;

	r.time = clock_wall();
	conn_attribute(c, &r);
	ledger_append(c->px->ledger, &r);
	log_info("conn#%lu websocket %s%.*s response model=%s in=%" PRId64
		 " out=%" PRId64 " think=%" PRId64 " cached=%" PRId64 "%s",
		 c->id, c->host, WS_PATH(c), r.model[0] ? r.model : "-",
		 r.input_tokens, r.output_tokens, r.thinking_tokens,
		 r.cached_tokens, r.complete ? "" : " (incomplete)");
}

static void
ws_tap(void *arg, bool from_client, const char *buf, size_t len)
{
	wsmeter_feed(arg, from_client, buf, len, clock_mono_msf());
}

/* After the 101 went out: the relay, metered, to its end. */
static void
ws_session(struct conn *c, struct upstream_ws *w)
{
	struct meter_request mr = {
		.method = c->req.method,
		.host = c->host,
		.path = c->req.target,
	};
	const char *ext = upstream_ws_header(w, "Sec-WebSocket-Extensions");
	struct wsmeter *m = wsmeter_new(&mr, 101, ext, ws_record, c);
	struct wsrelay r = {
		.tls = c->tls,
		.client_fd = c->fd,
		.up = w,
		.idle_ms = c->opt->websocket_idle_timeout,
		.write_ms = c->opt->write_timeout,
		.tap = m ? ws_tap : NULL,
		.arg = m,
	};
	size_t early = c->in_len - c->head_len;
	int end;

	atomic_fetch_add(&c->px->stats.websockets, 1);
	log_info("conn#%lu websocket %s%.*s open (extensions: %s)", c->id,
		 c->host, WS_PATH(c), ext ? ext : "none");
	end = wsrelay_run(&r, c->in + c->head_len, early);
	c->in_len = c->head_len; /* the early bytes went upstream */
	if (end == WSRELAY_CLIENT_FAILED || end == WSRELAY_CLIENT_CLOSED)
		c->client_gone = true;
	if (end == WSRELAY_IDLE || end == WSRELAY_UPSTREAM_FAILED ||
	    end == WSRELAY_CLIENT_FAILED)
		atomic_fetch_add(&c->px->stats.websocket_errors, 1);
	log_info("conn#%lu websocket %s%.*s closed (%s) after %llu bytes up, "
		 "%llu down, %zu responses metered",
		 c->id, c->host, WS_PATH(c), wsrelay_strend(end), r.to_upstream,
		 r.to_client, m ? wsmeter_responses(m) : 0);
	wsmeter_free(m);
}

/* Passes upstream's head to the client: the 101 with its Upgrade and
 * Connection headers, else as any head. 0 or -1. */
static int
ws_head(struct conn *c, struct upstream_ws *w)
{
	struct http_header *h = NULL;
	const char *reason;
	int status = upstream_ws_status(w, &reason), rc = -1;
	size_t n = upstream_ws_nheaders(w);

	if (n && !(h = calloc(n, sizeof(*h))))
		return -1;
	n = upstream_ws_headers(w, h);
	if (conn_on_head(c, status, reason, h, n) == 0 && conn_on_flush(c) == 0)
		rc = 0;
	free(h);
	return rc;
}

bool
conn_ws_forward(struct conn *c)
{
	struct upstream_callbacks cb = { .head = conn_on_head,
					 .body = conn_on_body,
					 .flush = conn_on_flush,
					 .arg = c };
	struct upstream_request ur;
	struct upstream_ws *w = NULL;
	bool head_sent = false, keep;
	int rc;

	conn_upstream_request(c, &ur);
	conn_exchange_start(c);
	rc = upstream_ws_open(c->xfer, &ur, (int)c->opt->write_timeout, &w);
	if (rc == 0) {
		head_sent = true;
		if (ws_head(c, w) < 0)
			rc = UPSTREAM_E_ABORTED;
	}
	if (rc == 0 && upstream_ws_status(w, NULL) == 101) {
		/* The handshake is no response of its own: only the
		 * responses the session carries are recorded. */
		meter_free(c->meter);
		c->meter = NULL;
		ws_session(c, w);
		upstream_ws_free(w);
		return false;
	}
	if (rc == 0)
		rc = upstream_ws_body(w, false, &cb);
	keep = conn_exchange_end(c, rc, head_sent);
	upstream_ws_free(w);
	return keep;
}
