/* SPDX-License-Identifier: GPL-2.0-or-later
 * proxy.h - what every connection worker shares, and the counters.
 *
 * Threading: struct proxy is filled by main before the accept thread
 *   starts and never changed afterwards; each pointed-to module locks its
 *   own state. The counters are atomics, read by /metrics.
 */
#ifndef AGP_PROXY_H
#define AGP_PROXY_H

#include <stdatomic.h>
#include <stddef.h>

struct options;
struct intercept;
struct certcache;
struct upstream;
struct resolver;
struct usage_table;
struct ledger;
struct price_table;
struct sockaddr_storage;

struct proxy_stats {
	atomic_ulong connections;   /* accepted */
	atomic_long in_flight;	    /* workers running */
	atomic_ulong rejected;	    /* over --max-connections */
	atomic_ulong loops_refused; /* original destination was us */
	atomic_ulong tunnelled;	    /* relayed raw */
	atomic_ulong intercepted;   /* TLS terminated */
	atomic_ulong handshake_failures;
	atomic_ulong fail_open;		   /* client rejected our CA (alert) */
	atomic_ulong fail_open_closed;	   /* closed after our certificate */
	atomic_ulong fail_open_no_request; /* handshake, then closed
						 * before a request, again */
	atomic_ulong requests;		   /* HTTP requests forwarded */
	atomic_ulong upstream_errors;	   /* 502/504/broken */
	atomic_ulong websockets;	   /* Upgrade exchanges answered 101 */
	atomic_ulong websocket_errors;	   /* relays ended by a failure or
					 * the idle limit */
};

struct proxy {
	const struct options *opt;
	struct intercept *intercept;
	struct certcache *certs;
	struct upstream *upstream;
	struct resolver *resolver;
	struct usage_table *usage;
	struct ledger *ledger;
	const struct price_table *prices; /* read-only; NULL: none */
	const char *agents_dir;		  /* the agents cgroup, or NULL */
	long ls_uid;			  /* --ls-user's uid, -1 if none */
	const char *ls_agent;		  /* what its records name it */
	/* Where a connection was going (0, or -1 with errno set); NULL:
	 * origdst_get(), SO_ORIGINAL_DST after the iptables REDIRECT. A
	 * test plugs in its own, as sslsplit's NAT engines plug in, and
	 * needs no root. */
	int (*origdst)(void *arg, int fd, struct sockaddr_storage *dst);
	void *origdst_arg;
	struct proxy_stats stats;
};

struct metrics;

/* Writes the counters, the ledger's and the usage table's series. */
void proxy_metrics(struct proxy *px, struct metrics *m);

#endif
