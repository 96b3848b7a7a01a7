/* SPDX-License-Identifier: GPL-2.0-or-later
 * resolve.c - upstream host names to addresses: c-ares against chosen
 * servers, cached by TTL, falling back to the original destination.
 *
 * Threading: r->lock guards the cache. A lookup that misses marks the
 *   entry pending and queries without the lock; others asking for the same
 *   name wait on r->done. Each query uses a channel of its own, because a
 *   c-ares 1.18 channel must not be shared between threads.
 * Ownership: struct resolver owns the cache and the server list.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ares.h>

#include "log.h"
#include "options.h"
#include "resolve.h"

#define RESOLVE_CACHE 1024
#define RESOLVE_TTL_MIN 1
#define RESOLVE_TTL_MAX 3600
#define RESOLVE_NEGATIVE_TTL 5

struct resolve_entry {
	char host[256];
	char addr[INET6_ADDRSTRLEN];	/* "" for a negative entry */
	double expires;			/* monotonic seconds */
	bool pending;
};

struct resolver {
	enum resolve_mode mode;
	int timeout_ms;
	char servers[512];		/* c-ares CSV */
	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t done;		/* a pending entry was filled */
	struct resolve_entry cache[RESOLVE_CACHE];
	size_t n;
	unsigned long queries;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends "ADDR:PORT" or "[V6]:PORT" for one --dns-server to csv. */
static int
server_add(char *csv, size_t len, const char *spec)
{
	char host[INET6_ADDRSTRLEN + 2], buf[16];
	unsigned port = 53;
	unsigned char tmp[16];
	bool v6;
	size_t used = strlen(csv);

	if (options_split_hostport(spec, host, sizeof(host), &port) < 0) {
		if (strlen(spec) >= sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%s", spec);
		port = 53;
	}
	v6 = inet_pton(AF_INET6, host, tmp) == 1;
	if (!v6 && inet_pton(AF_INET, host, tmp) != 1)
		return -1;
	snprintf(buf, sizeof(buf), "%u", port);
	if (snprintf(csv + used, len - used, "%s%s%s%s:%s", used ? "," : "",
		     v6 ? "[" : "", host, v6 ? "]" : "", buf) >=
	    (int)(len - used))
		return -1;
	return 0;
}

struct resolver *
resolver_new(enum resolve_mode mode, const char *const *servers,
	     size_t nservers, int timeout_ms)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->mode = mode;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
	for (size_t i = 0; i < nservers; i++)
		if (server_add(r->servers, sizeof(r->servers), servers[i]) < 0) {
			log_errx("resolve: bad --dns-server '%s'", servers[i]);
			free(r);
			return NULL;
		}
	if (mode == RESOLVE_DNS && ares_library_init(ARES_LIB_INIT_ALL) != 0) {
		log_errx("resolve: c-ares does not start");
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->done, NULL);
	return r;
}

void
resolver_free(struct resolver *r)
{
	if (!r)
		return;
	if (r->mode == RESOLVE_DNS)
		ares_library_cleanup();
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->done);
	free(r);
}

unsigned long
resolver_queries(struct resolver *r)
{
	unsigned long n;

	pthread_mutex_lock(&r->lock);
	n = r->queries;
	pthread_mutex_unlock(&r->lock);
	return n;
}

int
resolve_curl_entry(const char *host, unsigned port, const char *addr,
		   char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, strchr(addr, ':') ? "%s:%u:[%s]"
					      : "%s:%u:%s", host, port, addr);

	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}

struct query {
	int family;
	char addr[INET6_ADDRSTRLEN];
	int ttl;
	int status;		/* ARES_* */
	bool done;
};

static void
query_done(void *arg, int status, int timeouts,
	   struct ares_addrinfo *res)
{
	struct query *q = arg;

	q->done = true;
	q->status = status;
	if (status == ARES_SUCCESS && res) {
		for (struct ares_addrinfo_node *n = res->nodes; n;
		     n = n->ai_next) {
			const void *a = n->ai_family == AF_INET6 ?
				(const void *)&((struct sockaddr_in6 *)
						n->ai_addr)->sin6_addr :
				(const void *)&((struct sockaddr_in *)
						n->ai_addr)->sin_addr;

			if (n->ai_family != q->family)
				continue;
			inet_ntop(n->ai_family, a, q->addr, sizeof(q->addr));
			q->ttl = n->ai_ttl;
			break;
		}
	}
	ares_freeaddrinfo(res);
}

/* One query for one address family; 0 and q->addr set, or -1. */
static int
query_run(struct resolver *r, const char *host, int family, struct query *q)
{
	struct ares_options o = { .timeout = r->timeout_ms, .tries = 1 };
	struct ares_addrinfo_hints hints = { .ai_family = family };
	ares_channel ch;
	double deadline = mono() + r->timeout_ms / 1000.0;

	memset(q, 0, sizeof(*q));
	q->family = family;
	q->status = ARES_ETIMEOUT;
	if (ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
			      ARES_OPT_FLAGS) != ARES_SUCCESS)
		return -1;
	if (r->servers[0] &&
	    ares_set_servers_ports_csv(ch, r->servers) != ARES_SUCCESS) {
		ares_destroy(ch);
		return -1;
	}
	ares_getaddrinfo(ch, host, NULL, &hints, query_done, q);
	while (!q->done && mono() < deadline) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd p[ARES_GETSOCK_MAXNUM];
		/* The ARES_GETSOCK_* macros shift a signed 1 into bit 31;
		 * the same test done unsigned. */
		unsigned bits = (unsigned)ares_getsock(ch, socks,
						       ARES_GETSOCK_MAXNUM);
		int wait = (int)((deadline - mono()) * 1000) + 1, np = 0;

		for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = (short)((bits & (1u << i) ? POLLIN : 0) |
				(bits & (1u << (i + ARES_GETSOCK_MAXNUM)) ?
				 POLLOUT : 0));

			if (ev)
				p[np++] = (struct pollfd){ .fd = socks[i],
							   .events = ev };
		}
		if (wait > 100)
			wait = 100;	/* let c-ares run its own timers */
		if (poll(p, (nfds_t)np, wait) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < np; i++)
			ares_process_fd(ch, p[i].revents & (POLLIN | POLLERR |
					POLLHUP) ? p[i].fd : ARES_SOCKET_BAD,
					p[i].revents & POLLOUT ? p[i].fd
							       : ARES_SOCKET_BAD);
		if (np == 0)
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
	ares_destroy(ch);	/* runs the callback if still pending */
	return q->addr[0] ? 0 : -1;
}

/* The cache slot for host, or a free/expired/oldest one claimed for it.
 * Called with r->lock held. */
static struct resolve_entry *
cache_slot(struct resolver *r, const char *host, bool *found)
{
	struct resolve_entry *victim = NULL;
	double now = mono();

	*found = false;
	for (size_t i = 0; i < r->n; i++) {
		struct resolve_entry *e = &r->cache[i];

		if (strcasecmp(e->host, host) == 0) {
			*found = true;
			return e;
		}
		if (!e->pending && (!victim || e->expires < victim->expires))
			victim = e;
	}
	if (r->n < RESOLVE_CACHE)
		victim = &r->cache[r->n++];
	else if (!victim || victim->expires > now)
		victim = victim ? victim : &r->cache[0];
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->host, sizeof(victim->host), "%s", host);
	return victim;
}

static int
lookup_system(const char *host, char *addr, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = -1;

	if (getaddrinfo(host, NULL, &hints, &res) == 0 && res) {
		rc = getnameinfo(res->ai_addr, res->ai_addrlen, addr,
				 (socklen_t)len, NULL, 0, NI_NUMERICHOST) == 0
			? 0 : -1;
		freeaddrinfo(res);
	}
	return rc;
}

/* DNS with the cache; 0 and addr set, or -1. */
static int
lookup_dns(struct resolver *r, const char *host, char *addr, size_t len)
{
	struct resolve_entry *e;
	struct query q;
	bool found;
	int rc, ttl;

	pthread_mutex_lock(&r->lock);
	e = cache_slot(r, host, &found);
	while (found && e->pending)
		pthread_cond_wait(&r->done, &r->lock);
	if (found && e->expires > mono() &&
	    strcasecmp(e->host, host) == 0) {
		rc = e->addr[0] ? 0 : -1;
		snprintf(addr, len, "%s", e->addr);
		pthread_mutex_unlock(&r->lock);
		return rc;
	}
	if (strcasecmp(e->host, host) != 0)	/* evicted while we waited */
		e = cache_slot(r, host, &found);
	e->pending = true;
	r->queries++;
	pthread_mutex_unlock(&r->lock);

	/* A first; AAAA only when the name has no A, not after a timeout,
	 * so a dead server costs one timeout before the fallback. */
	rc = query_run(r, host, AF_INET, &q);
	if (rc < 0 && q.status != ARES_ETIMEOUT)
		rc = query_run(r, host, AF_INET6, &q);
	ttl = rc < 0 ? RESOLVE_NEGATIVE_TTL : q.ttl < RESOLVE_TTL_MIN ?
		RESOLVE_TTL_MIN : q.ttl > RESOLVE_TTL_MAX ? RESOLVE_TTL_MAX :
		q.ttl;

	pthread_mutex_lock(&r->lock);
	snprintf(e->addr, sizeof(e->addr), "%s", rc == 0 ? q.addr : "");
	e->expires = mono() + ttl;
	e->pending = false;
	pthread_cond_broadcast(&r->done);
	pthread_mutex_unlock(&r->lock);
	if (rc == 0)
		snprintf(addr, len, "%s", q.addr);
	return rc;
}

int
resolver_lookup(struct resolver *r, const char *host, const char *fallback,
		char *addr, size_t addrlen, bool *from_fallback)
{
	unsigned char tmp[16];
	int rc = -1;

	*from_fallback = false;
	if (inet_pton(AF_INET, host, tmp) == 1 ||
	    inet_pton(AF_INET6, host, tmp) == 1) {
		snprintf(addr, addrlen, "%s", host);
		return 0;
	}
	if (r->mode == RESOLVE_DNS)
		rc = lookup_dns(r, host, addr, addrlen);
	else if (r->mode == RESOLVE_SYSTEM)
		rc = lookup_system(host, addr, addrlen);
	if (rc == 0)
		return 0;
	if (!fallback)
		return -1;
	if (r->mode == RESOLVE_DNS)
		log_debug("resolve: %s: no DNS answer; using the original "
			  "destination %s", host, fallback);
	snprintf(addr, addrlen, "%s", fallback);
	*from_fallback = true;
	return 0;
}
