/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream.h - forward one decrypted HTTP/1.1 request to the real server
 * through libcurl and stream the response back through callbacks.
 *
 * Threading: struct upstream is process-wide and thread-safe (its share
 *   handle and handle pool are behind their own mutexes, its trust store
 *   is read-only); a struct upstream_xfer belongs to one worker thread.
 * Ownership: the caller calls curl_global_init(CURL_GLOBAL_ALL) once in
 *   main() before any thread starts and before upstream_new(), and
 *   curl_global_cleanup() after upstream_free(). Every xfer must be freed
 *   before the upstream it came from.
 */
#ifndef AGP_UPSTREAM_H
#define AGP_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "http1.h"

struct metrics;
struct resolver;

/* upstream_perform() results; the caller's answer is in brackets. */
#define UPSTREAM_E_CONNECT (-1) /* unreachable, refused, TLS [502] */
#define UPSTREAM_E_TIMEOUT \
	(-2)			/* connect timeout or silence before
					 * the head [504] */
#define UPSTREAM_E_ABORTED (-3) /* a callback returned < 0 [close] */
#define UPSTREAM_E_BROKEN \
	(-4)		      /* failed after head() [close; never
					 * end the body as if complete] */
#define UPSTREAM_E_NOMEM (-5) /* before anything was sent [502] */

struct upstream_config {
	const char *upstream_ca;   /* extra CA file (PEM) or NULL, read
					 * with the system store once, here */
	int connect_timeout_ms;	   /* TCP + TLS; 0: 10 s */
	int idle_timeout_ms;	   /* upstream silence once the request
					 * is sent, ms (checked about once a
					 * second); 0: 300 s */
	unsigned setup_slots;	   /* threads that may do the CPU work of
					 * opening upstream connections at
					 * once (upstream_gate.h); 0: one a
					 * CPU */
	struct resolver *resolver; /* asked for each origin's address;
					 * borrowed, must outlive the
					 * upstream; NULL: curl resolves */
};

struct upstream_request {
	const char *method;
	const char *host; /* the origin: a name, or an address
					 * without brackets */
	unsigned port;
	const char *dst_addr; /* the original destination address
					 * (numeric): the resolver's fallback;
					 * may be NULL */
	const char *target;   /* "/path?query" as received */
	const struct http_header *headers;
	size_t nheaders;
	const char *body; /* may hold NUL bytes */
	size_t body_len;
};

/* Both return < 0 to abort the transfer at once (the client is gone).
 * head() is called once per exchange with the final (non-1xx) status, the
 * reason phrase and the end-to-end response headers in upstream order; the
 * strings live until head() returns. body() gets each chunk as curl
 * receives it, already de-chunked but never decompressed. */
struct upstream_callbacks {
	int (*head)(void *arg, int status, const char *reason,
		    const struct http_header *headers, size_t n);
	int (*body)(void *arg, const char *buf, size_t len);
	/* Optional: called after each pass in which curl may have called
	 * head or body, before it waits for more, so that they may hold
	 * what they were given and write it at once (a head with the first
	 * body bytes). Nonzero aborts, as from body. */
	int (*flush)(void *arg);
	void *arg;
};

/* Returns NULL on failure (logged). The caller frees with upstream_free().
 * cfg is copied; its strings need not outlive the call. */
struct upstream *upstream_new(const struct upstream_config *cfg);
void upstream_free(struct upstream *u);

/* Makes every transfer in progress, and every later one, end within
 * about a second with UPSTREAM_E_ABORTED: used when the daemon stops. */
void upstream_stop(struct upstream *u);

/* One per client connection; freed with upstream_xfer_free(). For each
 * exchange it borrows an idle easy handle (and so its warm connection)
 * from the process-wide pool, the most recently used one for the same
 * origin first, so a client's consecutive requests normally reuse one
 * upstream connection and a new client connection reuses a warm one. */
struct upstream_xfer *upstream_xfer_new(struct upstream *u);
void upstream_xfer_free(struct upstream_xfer *x);

/* Performs one exchange. Returns 0 once the whole response went through
 * the callbacks, else an UPSTREAM_E_* code. *head_sent (may be NULL) tells
 * whether head() was called, i.e. whether the client saw anything. */
int upstream_perform(struct upstream_xfer *x,
		     const struct upstream_request *req,
		     const struct upstream_callbacks *cb, bool *head_sent);

/* New TCP connections the last upstream_perform() of x opened (0: a warm
 * connection was reused). */
long upstream_xfer_new_connections(const struct upstream_xfer *x);

/* From within head() or body(): the bytes of the request body curl has
 * sent so far in this exchange. Once all are sent and a response head
 * has come, curl reads req->body no more (it retries only a request
 * that got no answer at all). */
size_t upstream_xfer_body_sent(const struct upstream_xfer *x);

/* For an Upgrade exchange (upstream_ws.c): connects a fresh handle of
 * its own to req's origin with CURLOPT_CONNECT_ONLY and HTTP/1.1 only,
 * with the resolver's address, the connect timeout and the same trust
 * check as every exchange, and sends nothing. Returns 0 with *easy (a
 * CURL *, the caller's to curl_easy_cleanup()), or an UPSTREAM_E_* code.
 * Counted as an exchange with a new connection. */
int upstream_connect_only(struct upstream_xfer *x,
			  const struct upstream_request *req, void **easy);

/* The upstream idle timeout (ms), and whether upstream_stop() was called:
 * for upstream_ws.c, which waits on its own. */
long upstream_xfer_idle_ms(const struct upstream_xfer *x);
bool upstream_xfer_stopping(const struct upstream_xfer *x);

/* Exchanges performed and upstream connections opened so far. */
void upstream_stats(struct upstream *u, unsigned long *exchanges,
		    unsigned long *connections);

/* The upstream connections opened and the certificate chains checked
 * (in full, and passed as checked before), as /metrics counters. */
void upstream_metrics(struct upstream *u, struct metrics *m);

/* Short name of an UPSTREAM_E_* code, for logs. */
const char *upstream_strerror(int rc);

#endif
