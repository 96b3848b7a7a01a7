/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_int.h - the structs of upstream.c and upstream_origin.c, for
 * their own use (and their unit test): they were most of a file past its
 * size (STYLE: about 800 lines). No other module includes it.
 *
 * Threading and ownership: see upstream.c.
 */
#ifndef AGP_UPSTREAM_INT_H
#define AGP_UPSTREAM_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "upstream.h"
#include "upstream_head.h"

struct upstream_gate;

#define UPSTREAM_POOL_MAX 32		    /* idle easy handles kept */
#define UPSTREAM_POOL_IDLE_MS (110 * 1000L) /* curl's MAXAGE_CONN is 118 s */
#define UPSTREAM_HOST_MAX 256		    /* a DNS name is at most 253 */
/* "host:port:[v6addr]" */
#define UPSTREAM_ENTRY_MAX (UPSTREAM_HOST_MAX + 64)
/* curl copies what it sends over TLS through an upload buffer, 64 KiB by
 * default and kept per handle; its smallest size, one TLS record, moved
 * 1 MiB request bodies as fast (bench/loadgen, within the noise). */
#define UPSTREAM_UPLOAD_BUFFER (16 * 1024L)

/* The TLS session whose peer a handle checked last, for host. The client
 * and server randoms of a handshake never recur, so a match is the very
 * connection that was checked, never a new one at the same address. */
struct tls_mark {
	bool set;
	unsigned char randoms[64];
	char host[UPSTREAM_HOST_MAX];
};

/* An easy handle (its connection cache and DNS cache with it). */
struct handle {
	CURL *easy;
	char *resolved; /* the CURLOPT_RESOLVE entry in its DNS cache */
};

struct pool_entry {
	struct handle h;
	char *key; /* the origin it last talked to */
	long long idle_since_ms;
	struct tls_mark mark;
};

struct upstream {
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	struct upstream_trust *trust; /* read-only after upstream_new() */
	struct resolver *resolver;    /* borrowed; thread-safe; or NULL */
	struct upstream_gate *gate;   /* thread-safe */
	long connect_timeout_ms;
	long idle_timeout_ms;
	pthread_mutex_t pool_lock;
	struct pool_entry pool[UPSTREAM_POOL_MAX]; /* pool_lock */
	size_t npool;				   /* pool_lock */
	unsigned long exchanges;		   /* pool_lock */
	unsigned long connections;		   /* pool_lock */
	atomic_bool stopping; /* upstream_stop(): abort transfers */
};

struct upstream_xfer {
	struct upstream *u;
	long new_conns;
	char *origin, *url; /* the last origin and its URL */
	/* State of the exchange in progress. */
	struct handle h;
	struct tls_mark mark;		/* travels with h */
	char host[UPSTREAM_HOST_MAX];	/* origin's: the certificate must
					 * match it */
	char entry[UPSTREAM_ENTRY_MAX]; /* this exchange's CURLOPT_RESOLVE
					 * entry, or "" */
	char untrusted[512];		/* why the peer was refused, or "" */
	const struct upstream_callbacks *cb;
	struct upstream_head head;
	bool head_sent, aborted, idle_expired, bad_head;
	bool connected;		  /* the idle clock runs */
	bool setup;		  /* opening a connection, through the gate */
	bool slot;		  /* holds one of the gate's slots */
	int fd;			  /* the socket curl connects on, or -1 */
	long long setup_deadline; /* clock_mono_ms() of connect timeout */
	long long last_rx_ms;
	curl_off_t last_ul;
	unsigned long long rx_bytes;
};

/* ---- upstream_origin.c: where an exchange goes ---- */

/* Makes req's origin x's: x->origin ("https://host:port"), x->url and
 * x->host (the name the certificate must match), unless it is the origin
 * set last (a client connection talks to one origin). Returns 0, or an
 * UPSTREAM_E_ code with the reason in errbuf (CURL_ERROR_SIZE). */
int upstream_origin_set(struct upstream_xfer *x,
			const struct upstream_request *req, char *errbuf);

/* Asks the resolver for req's address (the original destination is its
 * fallback) and writes the CURLOPT_RESOLVE entry into x->entry ("" with
 * no resolver or no answer: curl resolves the name itself). *out gets a
 * list holding it, or NULL when there is none or, with `cached`, when
 * x->h's DNS cache holds that entry already (entries set so never
 * expire). Returns 0, or -1 out of memory; the caller frees *out. */
int upstream_origin_resolve(struct upstream_xfer *x,
			    const struct upstream_request *req, bool cached,
			    struct curl_slist **out);

/* Formats "host:port:addr" for CURLOPT_RESOLVE into buf, an IPv6 addr in
 * brackets. Returns 0, or -1 if it does not fit or an argument is bad
 * (curl splits the entry at ':' and ','; the address must be numeric). */
int upstream_resolve_entry(const char *host, unsigned port, const char *addr,
			   char *buf, size_t buflen);

/* ---- upstream_setup.c: a set-up through the gate ---- */

/* CURLOPT_SOCKOPTFUNCTION: notes the socket curl connects on. */
int upstream_on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose);

/* From on_progress() while x->setup: gives the slot back while curl
 * would wait for the network, and takes one again when the socket is
 * ready (or ends the gating when it is not, soon). */
void upstream_setup_pause(struct upstream_xfer *x);

/* Gives back a slot held, and ends the gating: x is connected, or done. */
void upstream_setup_end(struct upstream_xfer *x);

#endif
