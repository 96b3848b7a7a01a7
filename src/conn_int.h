/* SPDX-License-Identifier: GPL-2.0-or-later
 * conn_int.h - struct conn and what the connection's files share,
 * internal to them.  They stand in layers, each using only those below:
 * conn.c (the connection's life) over conn_ws.c (the Upgrade exchange)
 * over conn_exchange.c (one exchange with the upstream) over conn_read.c
 * (the client side: the request in, the response's bytes out).
 *
 * Threading: a struct conn belongs to its worker thread alone.
 */
#ifndef AGP_CONN_INT_H
#define AGP_CONN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include "h1resp.h"
#include "http1.h"
#include "intercept.h"
#include "net.h"
#include "origdst.h"
#include "peer.h"
#include "usage.h"
#include "upstream.h"

#define CONN_IN 4096		   /* c->in to start with: a typical head */
#define CONN_IN_SPARE 1024	   /* c->in grows when less is free */
#define CONN_READ 16384		   /* a TLS record's worth */
#define CONN_BODY_KEEP (64 * 1024) /* a body buffer kept for the next */
#define CONN_LOG_BODY 4096	   /* --log-bodies: bytes shown per piece */
#define CONN_BODY_MIN_RATE \
	1024 /* bytes/s a request body must average
				 * after its --request-timeout grace */
#define CONN_BODY_MIN_RATE_STR "1 KiB/s"
#define CONN_SILENT_MS \
	1000 /* a close this soon after the handshake,
				 * before a request byte, is "silent" */

struct proxy;
struct options;
struct tls;
struct meter;
struct usage_record;

struct conn {
	struct proxy *px;
	const struct options *opt;
	unsigned long id;
	int fd;
	char peer[NET_HOSTPORT_MAX]; /* "addr:port", "[v6]:port" */
	struct sockaddr_storage dst;
	char dst_addr[ORIGDST_STRLEN];
	unsigned dst_port;
	char host[256]; /* SNI, else the destination address */
	char client[INTERCEPT_CLIENT_MAX]; /* who connected (fail-open) */
	struct peer_info who;		   /* who connected (records) */
	bool silent_close; /* closed at once, before any request */
	struct tls *tls;
	struct upstream_xfer *xfer;
	char *in; /* bytes read from the client */
	size_t in_len, in_cap;
	size_t head_len; /* c->req's head, parsed from c->in[0..];
					 * 0 while none is */
	int64_t body_t0; /* when its body began (monotonic ms) */
	char *body;	 /* the current request's body */
	size_t body_len, body_cap;
	struct h1resp resp; /* the response's framing; its
					 * close says the connection ends */
	/* The exchange in flight. */
	struct http_request req;
	struct meter *meter;
	bool client_gone;
	int status;
	double start_ms, first_byte_ms; /* monotonic */
	bool got_first_byte;
	char key[USAGE_KEY_MAX]; /* the credential's fingerprint */
	bool key_oauth;
};

/* conn_read.c: reads the next request into c->req, c->body (the head
 * in c->in); the bytes of c->in it used, or -1 when the connection must
 * close (the client went, or was answered with an error, 408 past
 * --request-timeout). */
ssize_t conn_read_request(struct conn *c);

/* Reads more client bytes into c->in; >0 bytes, 0 on EOF, <0 on error
 * or timeout (TLS_E_TIMEOUT). */
ssize_t conn_read_more(struct conn *c, int timeout_ms);

/* Moves c->in to a buffer of cap bytes (at least c->in_len); 0 or -1. */
int conn_in_resize(struct conn *c, size_t cap);

/* Frees the body buffer; body_len stays, for the record. */
void conn_body_release(struct conn *c);

/* Writes all of buf to the client; a failure marks the client gone.
 * arg is the struct conn: this is c->resp's writer too. */
int conn_client_write(void *arg, const char *buf, size_t len);

/* conn_exchange.c: the response callbacks forward() gives
 * upstream_perform(). */
int conn_on_head(void *arg, int status, const char *reason,
		 const struct http_header *h, size_t n);
int conn_on_body(void *arg, const char *buf, size_t len);
int conn_on_flush(void *arg);

/* Fills *ur for the request in c->req: the host and port it is for and
 * the original destination, which the upstream's resolver falls back on.
 * *ur points into c. */
void conn_upstream_request(struct conn *c, struct upstream_request *ur);

/* Before an exchange: its meter (from c->req and the body), the clock,
 * the counters. */
void conn_exchange_start(struct conn *c);

/* After it, with upstream's result: the end of a chunked response, or
 * the error answer when the client saw nothing, then the record. False
 * when the connection must close. */
bool conn_exchange_end(struct conn *c, int rc, bool head_sent);

/* Hands the finished exchange's record (c->meter's) to the ledger. */
void conn_record_exchange(struct conn *c, bool ended);

/* Names in r who sent it (the run's agent and pid, the uid, the
 * credential's fingerprint) and prices it (price_record()). */
void conn_attribute(const struct conn *c, struct usage_record *r);

/* conn_ws.c: forwards an Upgrade request (http1_is_websocket()) and,
 * after a 101, relays the WebSocket to its end; any other answer goes
 * to the client as forward() would pass it. False when the connection
 * must close (always after a WebSocket). */
bool conn_ws_forward(struct conn *c);

#endif
