/* SPDX-License-Identifier: GPL-2.0-or-later
 * conn_exchange.c - one request's exchange with the upstream: the
 * request handed to curl, the response framed to the client as it
 * arrives (h1resp.h) and fed to the meter, and the record at the end.
 *
 * Threading: runs on the connection's worker; touches only its struct
 *   conn, and the ledger and counters of struct proxy, which lock.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "conn_int.h"
#include "credential.h"
#include "h1resp.h"
#include "http1.h"
#include "ledger.h"
#include "log.h"
#include "meter/meter.h"
#include "options.h"
#include "price.h"
#include "proxy.h"
#include "upstream.h"
#include "usage.h"

/* --- the upstream callbacks: the response goes out as it arrives, framed
 * by c->resp (h1resp.h) --- */

int
conn_on_head(void *arg, int status, const char *reason,
	     const struct http_header *h, size_t n)
{
	struct conn *c = arg;

	c->status = status;
	if (h1resp_head(&c->resp, status, reason, h, n) < 0)
		return -1; /* a head over 64 KiB: give up */
	if (c->meter)
		meter_response(c->meter, status,
			       h1resp_header(h, n, "Content-Type"),
			       h1resp_header(h, n, "Content-Encoding"));
	/* The answer has begun, so curl is done with a body it has sent
	 * whole: a large one goes now, not when a long stream ends. */
	if (c->body_cap > CONN_BODY_KEEP &&
	    upstream_xfer_body_sent(c->xfer) >= c->body_len) {
		log_debug("conn#%lu %zu-byte request body sent, its buffer "
			  "freed",
			  c->id, c->body_len);
		conn_body_release(c);
	}
	return 0; /* the head is held for the first body bytes */
}

/* What on_head held goes out; curl is about to wait for more. */
int
conn_on_flush(void *arg)
{
	struct conn *c = arg;

	return h1resp_flush(&c->resp);
}

int
conn_on_body(void *arg, const char *buf, size_t len)
{
	struct conn *c = arg;
	int rc;

	if (!c->got_first_byte) {
		c->first_byte_ms = clock_mono_msf();
		c->got_first_byte = true;
	}
	rc = h1resp_body(&c->resp, buf, len);
	if (c->meter)
		meter_chunk(c->meter, buf, len);
	if (c->opt->log_bodies)
		log_debug("conn#%lu body <- %.*s", c->id,
			  len > CONN_LOG_BODY ? CONN_LOG_BODY : (int)len, buf);
	return rc;
}

/* Hands the finished exchange's record to the ledger, which counts it
 * once it is durable; the worker does not wait for the disk. */
void
conn_record_exchange(struct conn *c, bool ended)
{
	struct usage_record r;
	char cost[32];

	if (!c->meter)
		return;
	meter_finish(c->meter, ended, &r);
	r.time = clock_wall();
	snprintf(r.host, sizeof(r.host), "%s", c->host);
	r.status = c->status;
	r.duration_ms = clock_mono_msf() - c->start_ms;
	r.ttfb_ms = c->got_first_byte ? c->first_byte_ms - c->start_ms : 0;
	conn_attribute(c, &r);
	/* The ledger counts it in the table once it is on disk. */
	ledger_append(c->px->ledger, &r);
	if (!log_enabled(LOG_INFO))
		return;
	if (r.priced)
		snprintf(cost, sizeof(cost), "%.6f", r.cost_usd);
	else
		snprintf(cost, sizeof(cost), "unpriced");
	/* The query may carry an API key (?key=): the path only. */
	log_info("conn#%lu %s %s%.*s -> %d model=%s agent=%s in=%" PRId64
		 " out=%" PRId64 " think=%" PRId64 " cached=%" PRId64
		 " cost=%s%s",
		 c->id, c->req.method, c->host,
		 (int)strcspn(c->req.target, "?"), c->req.target, c->status,
		 r.model[0] ? r.model : "-", r.agent[0] ? r.agent : "-",
		 r.input_tokens, r.output_tokens, r.thinking_tokens,
		 r.cached_tokens, cost, r.complete ? "" : " (incomplete)");
}

void
conn_upstream_request(struct conn *c, struct upstream_request *ur)
{
	*ur = (struct upstream_request){
		.method = c->req.method,
		.host = c->host,
		.port = c->dst_port,
		.dst_addr = c->dst_addr,
		.target = c->req.target,
		.headers = c->req.headers,
		.nheaders = c->req.nheaders,
		.body = c->body,
		.body_len = c->body_len,
	};
}

void
conn_exchange_start(struct conn *c)
{
	struct meter_request mr = {
		.method = c->req.method,
		.host = c->host,
		.path = c->req.target,
		.content_type = http1_header(&c->req, "Content-Type"),
		.content_encoding = http1_header(&c->req, "Content-Encoding"),
		.body = c->body,
		.body_len = c->body_len,
	};

	if (c->opt->log_bodies && c->body_len)
		log_debug("conn#%lu body -> %.*s", c->id,
			  c->body_len > CONN_LOG_BODY ? CONN_LOG_BODY
						      : (int)c->body_len,
			  c->body);
	c->meter = meter_new(&mr);
	credential_fingerprint(&c->req, c->key, &c->key_oauth);
	c->status = 0;
	c->got_first_byte = false;
	c->start_ms = clock_mono_msf();
	atomic_fetch_add(&c->px->stats.requests, 1);
}

bool
conn_exchange_end(struct conn *c, int rc, bool head_sent)
{
	if (rc == 0)
		h1resp_end(&c->resp); /* the held head, the last chunk */
	else
		h1resp_flush(&c->resp); /* a head before a failure */
	if (rc < 0 && rc != UPSTREAM_E_ABORTED)
		atomic_fetch_add(&c->px->stats.upstream_errors, 1);
	if (rc < 0 && !head_sent) {
		if (rc == UPSTREAM_E_TIMEOUT) {
			c->status = 504;
			h1resp_error(&c->resp, 504, "Gateway Timeout",
				     "upstream timed out");
		} else if (rc != UPSTREAM_E_ABORTED) {
			c->status = 502;
			h1resp_error(&c->resp, 502, "Bad Gateway",
				     "upstream unreachable");
		}
	}
	conn_record_exchange(c, rc == 0);
	meter_free(c->meter);
	c->meter = NULL;
	/* After a broken or aborted body the client must see a close, never
	 * a body that looks complete. */
	return rc == 0 && !c->client_gone && !c->resp.close;
}

void
conn_attribute(const struct conn *c, struct usage_record *r)
{
	char label[USAGE_LABEL_MAX] = "";

	snprintf(r->agent, sizeof(r->agent), "%s", c->who.agent);
	r->pid = c->who.pid;
	r->uid = c->who.uid;
	memcpy(r->key, c->key, sizeof(r->key));
	r->key_oauth = c->key_oauth;
	if (r->model[0] && c->px->usage)
		usage_label_copy(c->px->usage, r->model, label, sizeof(label));
	price_record(c->px->prices, label, r);
}
