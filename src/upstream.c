/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream.c - forward one decrypted request to the real server with
 * libcurl and stream the response back, untouched, through callbacks.
 *
 * Threading: struct upstream is shared by all workers. Its CURLSH share
 *   handle (TLS sessions) is guarded by one mutex per curl_lock_data, taken
 *   by curl itself through share_lock(). The DNS cache is not shared:
 *   addresses come from resolve.c, asked by upstream_origin.c, through
 *   CURLOPT_RESOLVE on every request, and in a shared cache one request's
 *   entry (say, its original destination IP) would be seen by other threads'
 *   transfers to the same host:port. Warm connections are shared through a
 *   pool of idle easy handles guarded by pool_lock: curl's own shared
 *   connection cache (CURL_LOCK_DATA_CONNECT) is documented as unsafe between
 *   concurrent threads up to at least 8.x (KNOWN_BUGS "A shared connection
 *   cache is not thread-safe", curl/curl#4915), so instead a worker borrows a
 *   whole easy handle, whose private connection cache holds the warm
 *   connection, for the length of one exchange. No lock is held across a curl
 *   call. The trust store is read-only once upstream_new() returns
 *   (upstream_trust.h). curl_easy_perform() drives each exchange (a multi
 *   handle of our own costs more than it saves: bench/RESULTS.md).
 * Upstream certificates: curl is given no CA and checks nothing itself
 *   (its GnuTLS backend would parse the CA file again for each new
 *   connection, see upstream_trust.c); on_prereq(), which curl calls once
 *   the connection is up (new or reused) and before it sends a byte of
 *   the request, checks the peer against the shared store and the host
 *   name, and a failure aborts the transfer there. A pooled handle
 *   remembers the TLS session it checked last so that a reused
 *   connection is not checked again.
 * New connections: an exchange on a handle with no checked connection
 *   takes a slot of the set-up gate (upstream_gate.h) for the CPU work of
 *   its TCP and TLS set-up, and gives it back while curl waits for the
 *   network (upstream_setup.c, from on_progress()), so that a burst of
 *   set-ups queues there and not among the relaying threads.
 * Ownership: an xfer owns nothing shared; the easy handle it borrows goes
 *   back to the pool after a clean exchange and is destroyed otherwise.
 *   Response header strings are owned by the xfer until head() returns.
 */
#include "config.h"

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "upstream.h"
#include "upstream_gate.h"
#include "upstream_head.h"
#include "upstream_int.h"
#include "metrics.h"
#include "upstream_trust.h"

const char *
upstream_strerror(int rc)
{
	switch (rc) {
	case 0: return "ok";
	case UPSTREAM_E_CONNECT: return "connect failed";
	case UPSTREAM_E_TIMEOUT: return "timeout";
	case UPSTREAM_E_ABORTED: return "aborted";
	case UPSTREAM_E_BROKEN: return "broken mid-response";
	case UPSTREAM_E_NOMEM: return "out of memory";
	default: return "unknown error";
	}
}

/* ---- handles ------------------------------------------------------------ */

static void
handle_free(struct handle *h)
{
	if (h->easy)
		curl_easy_cleanup(h->easy); /* closes its connection */
	free(h->resolved);
	h->easy = NULL;
	h->resolved = NULL;
}

static int
handle_new(struct handle *h)
{
	h->resolved = NULL;
	return (h->easy = curl_easy_init()) ? 0 : -1;
}

/* ---- shared state ------------------------------------------------------ */

static void
share_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct upstream *u = arg;

	(void)easy;
	(void)access;
	if (data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&u->share_locks[data]);
}

static void
share_unlock(CURL *easy, curl_lock_data data, void *arg)
{
	struct upstream *u = arg;

	(void)easy;
	if (data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&u->share_locks[data]);
}

struct upstream *
upstream_new(const struct upstream_config *cfg)
{
	struct upstream *u;
	int rc = -1;

	if (!(u = calloc(1, sizeof(*u))))
		return NULL;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&u->share_locks[i], NULL);
	pthread_mutex_init(&u->pool_lock, NULL);
	u->connect_timeout_ms =
		cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
	u->idle_timeout_ms =
		cfg->idle_timeout_ms > 0 ? cfg->idle_timeout_ms : 300000;
	u->resolver = cfg->resolver;
	if (!(u->trust = upstream_trust_new(cfg->upstream_ca)) ||
	    !(u->gate = upstream_gate_new(cfg->setup_slots)))
		goto out;
	if (!(u->share = curl_share_init()) ||
	    curl_share_setopt(u->share, CURLSHOPT_LOCKFUNC, share_lock) ||
	    curl_share_setopt(u->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
	    curl_share_setopt(u->share, CURLSHOPT_USERDATA, u) ||
	    curl_share_setopt(u->share, CURLSHOPT_SHARE,
			      CURL_LOCK_DATA_SSL_SESSION)) {
		log_warnx("upstream: cannot set up the curl share handle");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		upstream_free(u);
		u = NULL;
	}
	return u;
}

void
upstream_free(struct upstream *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->npool; i++) {
		handle_free(&u->pool[i].h);
		free(u->pool[i].key);
	}
	if (u->share)
		curl_share_cleanup(u->share);
	upstream_trust_free(u->trust);
	upstream_gate_free(u->gate);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&u->share_locks[i]);
	pthread_mutex_destroy(&u->pool_lock);
	free(u);
}

void
upstream_stats(struct upstream *u, unsigned long *exchanges,
	       unsigned long *connections)
{
	pthread_mutex_lock(&u->pool_lock);
	*exchanges = u->exchanges;
	*connections = u->connections;
	pthread_mutex_unlock(&u->pool_lock);
}

void
upstream_metrics(struct upstream *u, struct metrics *m)
{
	unsigned long ex, conns, verified, remembered;
	struct upstream_gate_stats gate;

	upstream_stats(u, &ex, &conns);
	upstream_trust_stats(u->trust, &verified, &remembered);
	upstream_gate_stats(u->gate, &gate);
	metrics_value(m, "antigravity_proxy_upstream_connections_total",
		      "counter", "Upstream connections opened.",
		      (int64_t)conns);
	metrics_value(m, "antigravity_proxy_upstream_chains_verified_total",
		      "counter", "Upstream certificate chains checked in full.",
		      (int64_t)verified);
	metrics_value(m, "antigravity_proxy_upstream_chains_remembered_total",
		      "counter",
		      "Upstream certificate chains passed as checked before.",
		      (int64_t)remembered);
	metrics_value(m, "antigravity_proxy_upstream_setup_waits_total",
		      "counter",
		      "Upstream connections that waited for a CPU slot to "
		      "set up.",
		      (int64_t)gate.waits);
}

/* Takes the most recently used idle handle that last talked to key, with
 * its mark, or makes a new one (no mark). Handles idle too long are
 * destroyed on the way. Returns 0, or -1 out of memory. */
static int
pool_take(struct upstream *u, const char *key, struct handle *h,
	  struct tls_mark *mark)
{
	struct handle stale[UPSTREAM_POOL_MAX];
	size_t nstale = 0, j = 0;
	long long now = clock_mono_ms();

	h->easy = NULL;
	pthread_mutex_lock(&u->pool_lock);
	for (size_t i = 0; i < u->npool; i++) {
		struct pool_entry *e = &u->pool[i];

		if (now - e->idle_since_ms > UPSTREAM_POOL_IDLE_MS) {
			stale[nstale++] = e->h;
			free(e->key);
		} else {
			u->pool[j++] = *e;
		}
	}
	u->npool = j;
	for (size_t i = u->npool; i-- > 0;) {
		if (strcmp(u->pool[i].key, key) != 0)
			continue;
		*h = u->pool[i].h;
		*mark = u->pool[i].mark;
		free(u->pool[i].key);
		memmove(&u->pool[i], &u->pool[i + 1],
			(u->npool - i - 1) * sizeof(u->pool[0]));
		u->npool--;
		break;
	}
	pthread_mutex_unlock(&u->pool_lock);
	while (nstale > 0)
		handle_free(&stale[--nstale]);
	if (h->easy)
		return 0;
	mark->set = false;
	return handle_new(h);
}

/* Returns a handle whose last exchange ended cleanly (h->easy set), or
 * just counts the exchange (h->easy NULL); the oldest idle handle makes
 * room when the pool is full. */
static void
pool_put(struct upstream *u, struct handle *h, const char *key, long new_conns,
	 const struct tls_mark *mark)
{
	struct pool_entry evicted = { .h = { NULL, NULL }, .key = NULL };
	char *k = strdup(key);

	pthread_mutex_lock(&u->pool_lock);
	u->exchanges++;
	u->connections += new_conns > 0 ? (unsigned long)new_conns : 0;
	if (h->easy && k) {
		if (u->npool == UPSTREAM_POOL_MAX) {
			evicted = u->pool[0];
			memmove(&u->pool[0], &u->pool[1],
				(u->npool - 1) * sizeof(u->pool[0]));
			u->npool--;
		}
		u->pool[u->npool].h = *h;
		u->pool[u->npool].key = k;
		u->pool[u->npool].idle_since_ms = clock_mono_ms();
		u->pool[u->npool].mark = *mark;
		u->npool++;
		h->easy = NULL;
		h->resolved = NULL;
		k = NULL;
	}
	pthread_mutex_unlock(&u->pool_lock);
	if (evicted.h.easy) {
		handle_free(&evicted.h);
		free(evicted.key);
	}
	handle_free(h);
	free(k);
}

struct upstream_xfer *
upstream_xfer_new(struct upstream *u)
{
	struct upstream_xfer *x = calloc(1, sizeof(*x));

	if (x)
		x->u = u;
	return x;
}

void
upstream_xfer_free(struct upstream_xfer *x)
{
	if (!x)
		return;
	upstream_head_clear(&x->head);
	handle_free(&x->h);
	free(x->origin);
	free(x->url);
	free(x);
}

long
upstream_xfer_new_connections(const struct upstream_xfer *x)
{
	return x->new_conns;
}

size_t
upstream_xfer_body_sent(const struct upstream_xfer *x)
{
	curl_off_t n = 0;

	if (!x->h.easy ||
	    curl_easy_getinfo(x->h.easy, CURLINFO_SIZE_UPLOAD_T, &n) !=
		    CURLE_OK ||
	    n < 0)
		return 0;
	return (size_t)n;
}

/* ---- response side ----------------------------------------------------- */

/* Passes the final head on, minus hop-by-hop headers and pseudo-headers.
 * Content-Length stays: it still describes the (undecoded) body. */
static int
deliver_head(struct upstream_xfer *x)
{
	struct http_header *out = NULL;
	size_t n;
	int rc;

	x->head_sent = true;
	if (x->head.nhdrs && !(out = calloc(x->head.nhdrs, sizeof(*out))))
		return -1;
	n = upstream_head_e2e(&x->head, out);
	rc = x->cb->head(x->cb->arg, x->head.status,
			 x->head.reason ? x->head.reason : "", out, n);
	free(out);
	return rc;
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t len = size * nitems;
	int r;

	x->last_rx_ms = clock_mono_ms();
	if (x->head_sent)
		return len; /* trailers: the caller re-frames without them */
	if ((r = upstream_head_feed(&x->head, buf, len)) < 0) {
		x->bad_head = true;
		return 0;
	}
	if (r == 1 && deliver_head(x) < 0) {
		x->aborted = true;
		return 0;
	}
	return len;
}

static size_t
on_body(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t len = size * nmemb;

	x->last_rx_ms = clock_mono_ms();
	if (len == 0)
		return 0;
	if ((!x->head_sent && (x->head.status == 0 || deliver_head(x) < 0)) ||
	    x->cb->body(x->cb->arg, buf, len) < 0) {
		x->aborted = true;
		return 0; /* curl fails with CURLE_WRITE_ERROR at once */
	}
	x->rx_bytes += len;
	return len;
}

/* Checks the peer of the connection curl is about to send on, unless it
 * is the one this handle checked last. Returns 0 if it is trusted, else
 * -1 with the reason in x->untrusted. */
static int
check_peer(struct upstream_xfer *x)
{
	struct curl_tlssessioninfo *ti = NULL;
	gnutls_datum_t cr = { NULL, 0 }, sr = { NULL, 0 };
	unsigned char randoms[64];
	gnutls_session_t s;

	if (curl_easy_getinfo(x->h.easy, CURLINFO_TLS_SSL_PTR, &ti) !=
		    CURLE_OK ||
	    !ti || ti->backend != CURLSSLBACKEND_GNUTLS || !ti->internals) {
		snprintf(x->untrusted, sizeof(x->untrusted),
			 "no GnuTLS session to check");
		return -1;
	}
	s = ti->internals;
	gnutls_session_get_random(s, &cr, &sr);
	if (cr.size != 32 || sr.size != 32) {
		snprintf(x->untrusted, sizeof(x->untrusted),
			 "no handshake randoms");
		return -1;
	}
	memcpy(randoms, cr.data, 32);
	memcpy(randoms + 32, sr.data, 32);
	if (x->mark.set && memcmp(x->mark.randoms, randoms, 64) == 0 &&
	    strcmp(x->mark.host, x->host) == 0)
		return 0;
	x->mark.set = false;
	if (upstream_trust_check_session(x->u->trust, s, x->host, x->untrusted,
					 sizeof(x->untrusted)) < 0)
		return -1;
	memcpy(x->mark.randoms, randoms, 64);
	snprintf(x->mark.host, sizeof(x->mark.host), "%s", x->host);
	x->mark.set = true;
	return 0;
}

/* Connected (or reused) and about to send: the peer is checked, the
 * connect timeout, which covers TCP and TLS, is done with and the idle
 * clock starts. */
static int
on_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port,
	  int local_port)
{
	struct upstream_xfer *x = arg;
	int rc = check_peer(x);

	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	upstream_setup_end(x); /* the chain check was its last CPU work */
	if (rc < 0)
		return CURL_PREREQFUNC_ABORT; /* nothing was sent */
	x->connected = true;
	x->last_rx_ms = clock_mono_ms();
	return CURL_PREREQFUNC_OK;
}

/* The idle timeout: curl has no per-read timeout, and LOW_SPEED_TIME only
 * counts whole seconds, so silence is measured from the last byte seen by
 * the header/write callbacks (or sent). curl calls this after each pass
 * and at least once a second while it waits, which bounds the overshoot
 * (and how long upstream_stop() takes). */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
	    curl_off_t ulnow)
{
	struct upstream_xfer *x = arg;
	long long now = clock_mono_ms();

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	/* curl calls this after each pass over what it read: what the
	 * callbacks were given goes out before curl waits again. */
	if (x->cb && x->cb->flush && x->cb->flush(x->cb->arg) < 0) {
		x->aborted = true;
		return 1;
	}
	if (atomic_load(&x->u->stopping))
		return 1; /* the daemon is stopping */
	if (x->setup && !x->connected)
		upstream_setup_pause(x);
	if (ulnow != x->last_ul) {
		x->last_ul = ulnow;
		x->last_rx_ms = now;
	}
	if (x->connected && now - x->last_rx_ms >= x->u->idle_timeout_ms) {
		x->idle_expired = true;
		return 1;
	}
	return 0;
}

/* ---- request side ------------------------------------------------------ */

static bool
has_header(const struct upstream_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return true;
	return false;
}

/* Method and body. POSTFIELDS is binary safe with an explicit size and
 * makes curl send Content-Length, so it is used only when the client sent
 * a body or a Content-Length of its own. */
static int
set_method(CURL *easy, const struct upstream_request *req, bool with_body)
{
	const char *m = req->method;
	CURLcode c;

	if (strcmp(m, "HEAD") == 0)
		return curl_easy_setopt(easy, CURLOPT_NOBODY, 1L) ? -1 : 0;
	if (with_body) {
		c = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
				     (curl_off_t)req->body_len);
		if (!c)
			c = curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
					     req->body ? req->body : "");
		if (!c && strcmp(m, "POST") != 0)
			c = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, m);
		return c ? -1 : 0;
	}
	c = curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	if (!c && strcmp(m, "GET") != 0)
		c = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, m);
	return c ? -1 : 0;
}

/* What every handle gets, whatever the exchange: https only, no proxy
 * from the environment, the shared TLS sessions, the connect timeout, the
 * resolver's address, and the trust check in on_prereq(). No CA for curl,
 * which would load it per connection even with VERIFYPEER off. */
static int
set_common(struct upstream_xfer *x, long http_version,
	   struct curl_slist *resolve, char *errbuf)
{
	CURL *e = x->h.easy;

	return curl_easy_setopt(e, CURLOPT_URL, x->url) ||
			       curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
						"https") ||
			       curl_easy_setopt(e, CURLOPT_PROXY, "") ||
			       curl_easy_setopt(e, CURLOPT_SHARE,
						x->u->share) ||
			       curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
			       curl_easy_setopt(e, CURLOPT_ERRORBUFFER,
						errbuf) ||
			       curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
						http_version) ||
			       curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER,
						0L) ||
			       curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
						0L) ||
			       curl_easy_setopt(e, CURLOPT_CAINFO, NULL) ||
			       curl_easy_setopt(e, CURLOPT_CAPATH, NULL) ||
			       curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
						x->u->connect_timeout_ms) ||
			       curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) ||
			       curl_easy_setopt(e, CURLOPT_RESOLVE, resolve) ||
			       curl_easy_setopt(e, CURLOPT_PREREQFUNCTION,
						on_prereq) ||
			       curl_easy_setopt(e, CURLOPT_PREREQDATA, x) ||
			       curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION,
						upstream_on_sockopt) ||
			       curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, x)
		       ? -1
		       : 0;
}

static int
set_options(struct upstream_xfer *x, const struct upstream_request *req,
	    struct curl_slist *hdrs, struct curl_slist *resolve, char *errbuf)
{
	CURL *e = x->h.easy;

	/* The request target goes out byte for byte (REQUEST_TARGET); the
	 * URL only names the origin. No decoding of Content-Encoding. */
	if (set_common(x, (long)CURL_HTTP_VERSION_2TLS, resolve, errbuf) < 0 ||
	    curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, req->target) ||
	    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L) ||
	    curl_easy_setopt(e, CURLOPT_HTTP_TRANSFER_DECODING, 1L) ||
	    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE,
			     UPSTREAM_UPLOAD_BUFFER) ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs) ||
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, x) ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, x) ||
	    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress) ||
	    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x) ||
	    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L))
		return -1;
	return 0;
}

/* ---- one exchange ------------------------------------------------------ */

static int
map_result(const struct upstream_xfer *x, CURLcode c)
{
	if (x->aborted)
		return UPSTREAM_E_ABORTED;
	if (c == CURLE_OK)
		return x->head_sent ? 0 : UPSTREAM_E_CONNECT;
	if (x->head_sent)
		return UPSTREAM_E_BROKEN;
	if (x->idle_expired || c == CURLE_OPERATION_TIMEDOUT)
		return UPSTREAM_E_TIMEOUT;
	/* Refused, unresolvable, TLS or verification failures, and anything
	 * else before the head (an empty reply, a garbled head): nothing
	 * reached the client, so it gets a 502. */
	return UPSTREAM_E_CONNECT;
}

static void
log_exchange(const struct upstream_request *req, const struct upstream_xfer *x,
	     int rc, CURLcode c, const char *errbuf, long long ms)
{
	/* The query string may carry an API key: log the path only. */
	int plen = (int)strcspn(req->target, "?");
	const char *origin = x->origin ? x->origin : req->host;

	if (*x->untrusted)
		log_warnx("upstream: %s %s%.*s: %s (certificate refused for "
			  "%s, nothing sent: %s)",
			  req->method, origin, plen, req->target,
			  upstream_strerror(rc), x->host, x->untrusted);
	else if (rc < 0 && rc != UPSTREAM_E_ABORTED)
		log_warnx("upstream: %s %s%.*s: %s (%s)", req->method, origin,
			  plen, req->target, upstream_strerror(rc),
			  x->idle_expired ? "idle timeout"
			  : x->bad_head	  ? "malformed response head"
			  : *errbuf	  ? errbuf
					  : curl_easy_strerror(c));
	log_debug("upstream: %s %s%.*s -> %d, %llu body bytes, %ld new "
		  "connection(s), %lld ms, %s",
		  req->method, origin, plen, req->target, x->head.status,
		  x->rx_bytes, x->new_conns, ms, upstream_strerror(rc));
}

int
upstream_perform(struct upstream_xfer *x, const struct upstream_request *req,
		 const struct upstream_callbacks *cb, bool *head_sent)
{
	struct curl_slist *hdrs = NULL, *resolve = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	bool with_body = req->body_len > 0 || has_header(req, "Content-Length");
	long long t0 = clock_mono_ms();
	CURLcode c = CURLE_OK;
	int rc = UPSTREAM_E_NOMEM;

	upstream_head_clear(&x->head);
	x->cb = cb;
	x->head_sent = x->aborted = x->idle_expired = x->bad_head = false;
	x->connected = false;
	x->last_rx_ms = t0;
	x->last_ul = 0;
	x->rx_bytes = 0;
	x->new_conns = 0;
	x->untrusted[0] = '\0';
	if ((rc = upstream_origin_set(x, req, errbuf)) < 0)
		goto out;
	rc = UPSTREAM_E_NOMEM;
	if (pool_take(x->u, x->origin, &x->h, &x->mark) < 0)
		goto out;
	curl_easy_reset(x->h.easy); /* options only: caches stay warm */
	if (upstream_head_request(req->headers, req->nheaders, with_body,
				  &hdrs) < 0 ||
	    upstream_origin_resolve(x, req, true, &resolve) < 0 ||
	    set_options(x, req, hdrs, resolve, errbuf) < 0 ||
	    set_method(x->h.easy, req, with_body) < 0)
		goto out;
	/* A handle with no checked connection will open one: its set-up
	 * takes part in the gate (a reused one's prereq ends it at once). */
	x->fd = -1;
	x->setup_deadline = t0 + x->u->connect_timeout_ms;
	x->setup = !x->mark.set;
	x->slot = x->setup && upstream_gate_take(x->u->gate, x->setup_deadline);
	c = curl_easy_perform(x->h.easy);
	upstream_setup_end(x);
	/* A 204/304 or HEAD answer whose blank line curl swallowed. */
	if (c == CURLE_OK && !x->head_sent && x->head.status >= 200 &&
	    deliver_head(x) < 0)
		x->aborted = true;
	curl_easy_getinfo(x->h.easy, CURLINFO_NUM_CONNECTS, &x->new_conns);
	rc = map_result(x, c);
out:
	if (x->h.easy) {
		/* A failed exchange may leave a half-read connection behind. */
		if (rc != 0) {
			handle_free(&x->h);
		} else if (resolve) {
			free(x->h.resolved);
			x->h.resolved = strdup(x->entry); /* NULL: none */
		}
		pool_put(x->u, &x->h, x->origin, x->new_conns, &x->mark);
	}
	if (head_sent)
		*head_sent = x->head_sent;
	log_exchange(req, x, rc, c, errbuf, clock_mono_ms() - t0);
	upstream_head_clear(&x->head);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(resolve);
	return rc;
}

long
upstream_xfer_idle_ms(const struct upstream_xfer *x)
{
	return x->u->idle_timeout_ms;
}

bool
upstream_xfer_stopping(const struct upstream_xfer *x)
{
	return atomic_load(&x->u->stopping);
}

int
upstream_connect_only(struct upstream_xfer *x,
		      const struct upstream_request *req, void **easy)
{
	struct curl_slist *resolve = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	long long t0 = clock_mono_ms();
	CURLcode c = CURLE_OK;
	int rc;

	*easy = NULL;
	x->head_sent = x->aborted = x->idle_expired = x->bad_head = false;
	x->untrusted[0] = '\0';
	x->rx_bytes = 0;
	x->new_conns = 1;
	x->connected = false;
	x->setup = x->slot = false; /* WebSocket set-ups are not gated */
	if ((rc = upstream_origin_set(x, req, errbuf)) < 0)
		goto out;
	rc = UPSTREAM_E_NOMEM;
	handle_free(&x->h);
	x->mark.set = false;
	/* HTTP/1.1 only: ALPN must not make it h2, where Upgrade is none. */
	if (handle_new(&x->h) < 0 ||
	    upstream_origin_resolve(x, req, false, &resolve) < 0 ||
	    set_common(x, (long)CURL_HTTP_VERSION_1_1, resolve, errbuf) < 0 ||
	    curl_easy_setopt(x->h.easy, CURLOPT_CONNECT_ONLY, 1L))
		goto out;
	/* on_prereq() checks the peer before curl gives the connection
	 * up (curl 7.88 calls it for CONNECT_ONLY too; afterwards the TLS
	 * session is no longer to be had); a refusal fails the perform. */
	x->cb = NULL;
	c = curl_easy_perform(x->h.easy);
	if (c != CURLE_OK)
		rc = c == CURLE_OPERATION_TIMEDOUT ? UPSTREAM_E_TIMEOUT
						   : UPSTREAM_E_CONNECT;
	else if (!x->connected)
		rc = UPSTREAM_E_CONNECT; /* the peer was never checked */
	else
		rc = 0;
	if (rc == 0) {
		*easy = x->h.easy;
		x->h.easy = NULL;
	}
out:
	handle_free(&x->h);
	pool_put(x->u, &x->h, x->origin ? x->origin : "", x->new_conns,
		 &x->mark);
	log_exchange(req, x, rc, c, errbuf, clock_mono_ms() - t0);
	curl_slist_free_all(resolve);
	return rc;
}

void
upstream_stop(struct upstream *u)
{
	atomic_store(&u->stopping, true);
	upstream_gate_close(u->gate); /* set-ups waiting give up */
}
