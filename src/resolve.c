/* SPDX-License-Identifier: GPL-2.0-or-later
 * resolve.c - DNS resolution of upstream host names, with a TTL cache.
 *
 * Threading: resolver_lookup() runs in many worker threads at once. The
 *   cache is one hash table behind r->lock, which is never held across a
 *   query. The first thread to miss on a name inserts a PENDING entry and
 *   queries; later threads find it and sleep on r->cond until it is READY,
 *   so a burst of connections to a new host makes one query. c-ares 1.18
 *   channels are not thread-safe, so each query gets a channel of its own,
 *   created, driven with poll() and destroyed by the querying thread.
 * Ownership: entries belong to the table and are freed only under r->lock
 *   and never while PENDING (the querying thread holds a pointer to it);
 *   waiters keep no pointer across a wait, they look the name up again.
 */
#include "config.h"

#include "resolve.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "net.h"

#define RESOLVE_BUCKETS 256
#define RESOLVE_ADDRTTLS 16

enum resolve_state {
	RESOLVE_PENDING, /* one thread is querying; others wait */
	RESOLVE_READY,
};

struct resolve_entry {
	struct resolve_entry *next;	 /* bucket chain; r->lock */
	enum resolve_state state;	 /* r->lock */
	bool negative;			 /* r->lock: no address known */
	int64_t expires_ms;		 /* r->lock: monotonic */
	char addr[INET6_ADDRSTRLEN];	 /* r->lock */
	char host[RESOLVE_HOST_MAX + 1]; /* constant; lower case */
};

struct resolver {
	enum resolve_mode mode;				    /* constant */
	struct resolve_server servers[RESOLVE_SERVERS_MAX]; /* constant */
	size_t nservers;				    /* constant */
	int timeout_ms;					    /* constant */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* an entry became READY */
	struct resolve_entry *buckets[RESOLVE_BUCKETS]; /* r->lock */
	size_t nentries;				/* r->lock */
};

/* The outcome of one c-ares query, filled by its callback. */
struct resolve_answer {
	bool done;
	int qtype;  /* ns_t_a or ns_t_aaaa */
	int status; /* ARES_SUCCESS or an ARES_E* code */
	int ttl;
	char addr[INET6_ADDRSTRLEN];
};

static pthread_once_t resolve_ares_once = PTHREAD_ONCE_INIT;
static int resolve_ares_rc = ARES_SUCCESS;

static void
resolve_ares_init(void)
{
	resolve_ares_rc = ares_library_init(ARES_LIB_INIT_ALL);
}

int
resolve_server_parse(const char *spec, struct resolve_server *out)
{
	char host[NET_HOST_MAX];
	unsigned char ip[16];
	struct resolve_server s;

	memset(&s, 0, sizeof(s));
	if (net_split_hostport(spec, 53, host, sizeof(host), &s.port) < 0 ||
	    (s.family = net_parse_ip(host, ip, NULL)) == 0)
		return -1;
	memcpy(&s.addr, ip, s.family == AF_INET ? 4 : 16);
	*out = s;
	return 0;
}

int
resolve_mode_parse(const char *name, enum resolve_mode *mode)
{
	if (strcmp(name, "dns") == 0)
		*mode = RESOLVE_DNS;
	else if (strcmp(name, "original") == 0)
		*mode = RESOLVE_ORIGINAL;
	else if (strcmp(name, "system") == 0)
		*mode = RESOLVE_SYSTEM;
	else
		return -1;
	return 0;
}

bool
resolve_host_valid(const char *host)
{
	size_t len, label = 0, i;

	if (host == NULL || (len = strlen(host)) == 0)
		return false;
	if (host[len - 1] == '.')
		len--;
	if (len == 0 || len > RESOLVE_HOST_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* Writes the canonical text of an IP literal host ("[v6]" allowed) into
 * addr; returns 0, 1 if host is not a literal, -1 if addr is too small. */
static int
resolve_literal(const char *host, char *addr, size_t addrlen)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t len = strlen(host);
	int family;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len >= sizeof(buf))
		return 1;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if ((family = net_parse_ip(buf, bin, NULL)) == 0)
		return 1;
	if (inet_ntop(family, bin, addr, (socklen_t)addrlen) == NULL)
		return -1;
	return 0;
}

struct resolver *
resolver_new(enum resolve_mode mode, const char *const *servers,
	     size_t nservers, int timeout_ms)
{
	static const char *const defaults[] = { RESOLVE_DEFAULT_SERVER };
	struct resolver *r = NULL, *ret = NULL;
	size_t i;

	pthread_once(&resolve_ares_once, resolve_ares_init);
	if (resolve_ares_rc != ARES_SUCCESS) {
		log_errx("resolve: c-ares: %s", ares_strerror(resolve_ares_rc));
		goto out;
	}
	if (servers == NULL || nservers == 0) {
		servers = defaults;
		nservers = 1;
	}
	if (nservers > RESOLVE_SERVERS_MAX) {
		log_errx("resolve: at most %d DNS servers",
			 RESOLVE_SERVERS_MAX);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_err("resolve: calloc");
		goto out;
	}
	for (i = 0; i < nservers; i++) {
		if (resolve_server_parse(servers[i], &r->servers[i]) < 0) {
			log_errx("resolve: bad DNS server \"%s\" (want "
				 "ADDR[:PORT] or [V6]:PORT)",
				 servers[i]);
			goto out;
		}
	}
	r->mode = mode;
	r->nservers = nservers;
	r->timeout_ms =
		timeout_ms > 0 ? timeout_ms : RESOLVE_DEFAULT_TIMEOUT_MS;
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		goto out;
	if (pthread_cond_init(&r->cond, NULL) != 0) {
		pthread_mutex_destroy(&r->lock);
		goto out;
	}
	ret = r;
	r = NULL; /* the caller owns it now */
out:
	free(r);
	return ret;
}

void
resolver_free(struct resolver *r)
{
	struct resolve_entry *e, *next;
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < RESOLVE_BUCKETS; i++) {
		for (e = r->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* ---- one query on a private c-ares channel ---- */

static void
resolve_answer_cb(void *arg, int status, int timeouts, unsigned char *abuf,
		  int alen)
{
	struct resolve_answer *a = arg;
	struct ares_addrttl v4[RESOLVE_ADDRTTLS];
	struct ares_addr6ttl v6[RESOLVE_ADDRTTLS];
	int n = RESOLVE_ADDRTTLS, i, ttl;

	a->done = true;
	a->status = status;
	if (status != ARES_SUCCESS)
		return;
	if (a->qtype == ns_t_a)
		a->status = ares_parse_a_reply(abuf, alen, NULL, v4, &n);
	else
		a->status = ares_parse_aaaa_reply(abuf, alen, NULL, v6, &n);
	if (a->status != ARES_SUCCESS)
		return;
	if (n <= 0) {
		/* A CNAME without an address: no data, as c-ares >= 1.16. */
		a->status = ARES_ENODATA;
		return;
	}
	ttl = a->qtype == ns_t_a ? v4[0].ttl : v6[0].ttl;
	for (i = 1; i < n; i++) {
		int t = a->qtype == ns_t_a ? v4[i].ttl : v6[i].ttl;

		if (t < ttl)
			ttl = t;
	}
	if (a->qtype == ns_t_a)
		inet_ntop(AF_INET, &v4[0].ipaddr, a->addr, sizeof(a->addr));
	else
		inet_ntop(AF_INET6, &v6[0].ip6addr, a->addr, sizeof(a->addr));
	a->ttl = ttl;
}

/* Waits for the channel's sockets until the answer is in or deadline. */
static void
resolve_drive(ares_channel ch, struct resolve_answer *a, int64_t deadline)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	struct timeval maxtv, tv, *tvp;
	int64_t left;
	unsigned bits;
	int i, n, rc, wait_ms;

	while (!a->done) {
		if ((left = deadline - clock_mono_ms()) <= 0) {
			ares_cancel(ch); /* runs the callback */
			a->status = ARES_ETIMEOUT;
			return;
		}
		bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		for (i = n = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			/* Not ARES_GETSOCK_WRITABLE(): it shifts a signed 1
			 * into the sign bit for the last socket. */
			short ev = (short)((bits & (1u << i) ? POLLIN : 0) |
					   (bits & (1u << (i +
							   ARES_GETSOCK_MAXNUM))
						    ? POLLOUT
						    : 0));

			if (ev == 0)
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = ev;
			pfd[n++].revents = 0;
		}
		maxtv.tv_sec = left / 1000;
		maxtv.tv_usec = (left % 1000) * 1000;
		tvp = ares_timeout(ch, &maxtv, &tv);
		/* Round up so a sub-millisecond timer does not spin. */
		wait_ms =
			(int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		rc = poll(pfd, (nfds_t)n, wait_ms);
		if (rc < 0 && errno != EINTR) {
			log_warn("resolve: poll");
			ares_cancel(ch);
			return;
		}
		for (i = 0; rc > 0 && i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			ares_process_fd(
				ch,
				pfd[i].revents & (POLLIN | POLLERR | POLLHUP)
					? pfd[i].fd
					: ARES_SOCKET_BAD,
				pfd[i].revents & POLLOUT ? pfd[i].fd
							 : ARES_SOCKET_BAD);
		}
		/* Lets c-ares retransmit or give up on timed-out tries. */
		if (rc <= 0)
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
}

/* Creates a channel that asks exactly r's servers, with no search list. */
static int
resolve_channel_new(struct resolver *r, ares_channel *out)
{
	struct ares_addr_port_node nodes[RESOLVE_SERVERS_MAX];
	struct ares_options opts;
	ares_channel ch = NULL;
	size_t i;
	int rc, per_try;

	/* Two rounds over the servers fit in the timeout; resolve_drive()
	 * enforces it as a hard deadline anyway. */
	per_try = r->timeout_ms / (int)(2 * r->nservers);
	memset(&opts, 0, sizeof(opts));
	opts.flags = ARES_FLAG_NOSEARCH;
	opts.tries = 2;
	opts.timeout = per_try < 50 ? 50 : per_try;
	rc = ares_init_options(&ch, &opts,
			       ARES_OPT_FLAGS | ARES_OPT_TRIES |
				       ARES_OPT_TIMEOUTMS | ARES_OPT_NOROTATE);
	if (rc != ARES_SUCCESS)
		goto out;
	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < r->nservers; i++) {
		nodes[i].next = i + 1 < r->nservers ? &nodes[i + 1] : NULL;
		nodes[i].family = r->servers[i].family;
		if (nodes[i].family == AF_INET)
			nodes[i].addr.addr4 = r->servers[i].addr.v4;
		else
			memcpy(&nodes[i].addr.addr6, &r->servers[i].addr.v6,
			       sizeof(nodes[i].addr.addr6));
		nodes[i].udp_port = (int)r->servers[i].port;
		nodes[i].tcp_port = (int)r->servers[i].port;
	}
	if ((rc = ares_set_servers_ports(ch, nodes)) != ARES_SUCCESS)
		goto out;
	*out = ch;
	ch = NULL; /* the caller destroys it */
out:
	if (ch != NULL)
		ares_destroy(ch);
	if (rc != ARES_SUCCESS)
		log_warnx("resolve: c-ares channel: %s", ares_strerror(rc));
	return rc == ARES_SUCCESS ? 0 : -1;
}

static void
resolve_query(ares_channel ch, const char *host, int qtype,
	      struct resolve_answer *a, int64_t deadline)
{
	memset(a, 0, sizeof(*a));
	a->qtype = qtype;
	ares_query(ch, host, ns_c_in, qtype, resolve_answer_cb, a);
	resolve_drive(ch, a, deadline);
}

/* Asks for A, then for AAAA if the name exists without A records. On
 * success fills addr and *ttl and returns 0; else returns -1, with *ttl
 * unchanged. */
static int
resolve_dns_query(struct resolver *r, const char *host, char *addr,
		  size_t addrlen, int *ttl)
{
	struct resolve_answer a;
	ares_channel ch = NULL;
	int64_t deadline = clock_mono_ms() + r->timeout_ms;
	int rc = -1;

	if (resolve_channel_new(r, &ch) < 0)
		goto out;
	resolve_query(ch, host, ns_t_a, &a, deadline);
	if (a.status == ARES_ENODATA)
		resolve_query(ch, host, ns_t_aaaa, &a, deadline);
	if (a.status != ARES_SUCCESS) {
		if (a.status == ARES_ENOTFOUND || a.status == ARES_ENODATA)
			log_debug("resolve: %s: %s", host,
				  ares_strerror(a.status));
		else
			log_warnx("resolve: %s: %s", host,
				  ares_strerror(a.status));
		goto out;
	}
	if (strlen(a.addr) >= addrlen)
		goto out;
	strcpy(addr, a.addr);
	*ttl = a.ttl;
	rc = 0;
	log_debug("resolve: %s -> %s ttl %d", host, addr, a.ttl);
out:
	if (ch != NULL)
		ares_destroy(ch);
	return rc;
}

/* ---- the cache ---- */

static size_t
resolve_hash(const char *host)
{
	uint32_t h = 2166136261u;

	for (; *host != '\0'; host++)
		h = (h ^ (unsigned char)*host) * 16777619u;
	return h % RESOLVE_BUCKETS;
}

static struct resolve_entry *
resolve_find(struct resolver *r, const char *host)
{
	struct resolve_entry *e;

	for (e = r->buckets[resolve_hash(host)]; e != NULL; e = e->next)
		if (strcmp(e->host, host) == 0)
			return e;
	return NULL;
}

/* Drops expired READY entries; called with r->lock held when full. */
static void
resolve_sweep(struct resolver *r, int64_t now)
{
	struct resolve_entry **pp, *e;
	size_t i;

	for (i = 0; i < RESOLVE_BUCKETS; i++) {
		for (pp = &r->buckets[i]; (e = *pp) != NULL;) {
			if (e->state == RESOLVE_READY && e->expires_ms <= now) {
				*pp = e->next;
				free(e);
				r->nentries--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* With r->lock held: a PENDING entry for host that the caller must fill,
 * or NULL if the cache is full (the caller queries without caching). */
static struct resolve_entry *
resolve_claim(struct resolver *r, const char *host, int64_t now)
{
	struct resolve_entry *e;
	size_t b;

	if (r->nentries >= RESOLVE_CACHE_MAX)
		resolve_sweep(r, now);
	if (r->nentries >= RESOLVE_CACHE_MAX ||
	    (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	strcpy(e->host, host);
	e->state = RESOLVE_PENDING;
	b = resolve_hash(host);
	e->next = r->buckets[b];
	r->buckets[b] = e;
	r->nentries++;
	return e;
}

/* Resolves a normalised name through the cache: 0 and addr filled, or
 * -ENOENT if DNS knows no address (now or recently). */
static int
resolve_dns(struct resolver *r, const char *host, char *addr, size_t addrlen)
{
	struct resolve_entry *e;
	char found[INET6_ADDRSTRLEN];
	int64_t now;
	int rc, ttl = RESOLVE_TTL_NEGATIVE;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		now = clock_mono_ms();
		e = resolve_find(r, host);
		if (e == NULL ||
		    (e->state == RESOLVE_READY && e->expires_ms <= now))
			break;
		if (e->state == RESOLVE_READY) {
			rc = e->negative ? -ENOENT : 0;
			if (rc == 0 && strlen(e->addr) >= addrlen)
				rc = -ENOSPC;
			else if (rc == 0)
				strcpy(addr, e->addr);
			pthread_mutex_unlock(&r->lock);
			return rc;
		}
		pthread_cond_wait(&r->cond, &r->lock);
	}
	if (e != NULL)
		e->state = RESOLVE_PENDING; /* expired: refresh in place */
	else
		e = resolve_claim(r, host, now);
	pthread_mutex_unlock(&r->lock);

	rc = resolve_dns_query(r, host, found, sizeof(found), &ttl);
	if (ttl < RESOLVE_TTL_MIN)
		ttl = RESOLVE_TTL_MIN;
	if (ttl > RESOLVE_TTL_MAX)
		ttl = RESOLVE_TTL_MAX;

	pthread_mutex_lock(&r->lock);
	if (e != NULL) {
		e->negative = rc < 0;
		strcpy(e->addr, rc < 0 ? "" : found);
		e->expires_ms = clock_mono_ms() + (int64_t)ttl * 1000;
		e->state = RESOLVE_READY;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
	if (rc < 0)
		return -ENOENT;
	if (strlen(found) >= addrlen)
		return -ENOSPC;
	strcpy(addr, found);
	return 0;
}

static int
resolve_system(const char *host, char *addr, size_t addrlen)
{
	struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
	const void *bin;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		log_debug("resolve: %s: %s", host, gai_strerror(rc));
		rc = -ENOENT;
		goto out;
	}
	/* IPv4 first, as in DNS mode. */
	for (ai = res; ai != NULL && pick == NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET)
			pick = ai;
	for (ai = res; ai != NULL && pick == NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET6)
			pick = ai;
	rc = -ENOENT;
	if (pick == NULL)
		goto out;
	if (pick->ai_family == AF_INET)
		bin = &((struct sockaddr_in *)(void *)pick->ai_addr)->sin_addr;
	else
		bin = &((struct sockaddr_in6 *)(void *)pick->ai_addr)
			       ->sin6_addr;
	rc = inet_ntop(pick->ai_family, bin, addr, (socklen_t)addrlen)
		     ? 0
		     : -ENOSPC;
out:
	if (res != NULL)
		freeaddrinfo(res);
	return rc;
}

int
resolver_lookup(struct resolver *r, const char *host, const char *fallback,
		char *addr, size_t addrlen)
{
	char name[RESOLVE_HOST_MAX + 2];
	char fb[INET6_ADDRSTRLEN];
	size_t i;
	int rc;

	if (host == NULL || addr == NULL)
		return -EINVAL;
	if ((rc = resolve_literal(host, addr, addrlen)) <= 0)
		return rc < 0 ? -ENOSPC : 0;
	if (!resolve_host_valid(host))
		return -EINVAL;
	for (i = 0; host[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)host[i]);
	name[i] = '\0';
	if (i > 0 && name[i - 1] == '.')
		name[i - 1] = '\0';

	rc = -ENOENT;
	if (r->mode == RESOLVE_DNS)
		rc = resolve_dns(r, name, addr, addrlen);
	else if (r->mode == RESOLVE_SYSTEM)
		rc = resolve_system(name, addr, addrlen);
	if (rc != -ENOENT)
		return rc;

	if (fallback == NULL || resolve_literal(fallback, fb, sizeof(fb)) != 0)
		return -ENOENT;
	if (strlen(fb) >= addrlen)
		return -ENOSPC;
	strcpy(addr, fb);
	if (r->mode != RESOLVE_ORIGINAL)
		log_debug("resolve: %s: using original destination %s", name,
			  fb);
	return 0;
}
