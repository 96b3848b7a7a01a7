/* SPDX-License-Identifier: GPL-2.0-or-later
 * certcache.c - forged certificate chains, keyed by host name.
 *
 * Threading: every call is thread-safe; one mutex guards the map, the LRU
 *   list, reference counts and entry states, and is never held while
 *   forging: a per-entry "pending" state makes concurrent first
 *   connections for one host wait (on `forged`) for a single forge instead
 *   of racing. An entry's chain is written only by its forger while it is
 *   pending and is read-only once it is ready.
 * Ownership: the map holds one reference to each entry it contains and
 *   every certcache_get() one more; certcache_put() drops one, and the last
 *   put frees the entry, so an evicted entry lives until then.
 */
#include "config.h"

#include "certcache.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca.h"
#include "log.h"

#define CERTCACHE_MAX_NAME 255
/* Leaves live a year; re-forge well before, for very long-running daemons */
#define CERTCACHE_MAX_AGE (30 * 24 * 60 * 60L)

enum certcache_state {
	CERTCACHE_PENDING,
	CERTCACHE_READY,
	CERTCACHE_FAILED,
};

struct certcache_entry {
	struct certcache *cache;
	struct certcache_entry *hnext; /* hash chain; cache->lock */
	struct certcache_entry *newer; /* LRU list; cache->lock */
	struct certcache_entry *older; /* LRU list; cache->lock */
	unsigned long refs;	       /* cache->lock */
	enum certcache_state state;    /* cache->lock */
	int in_map;		       /* cache->lock */
	time_t forged;		       /* by the forger before READY */
	gnutls_pcert_st chain[2];      /* by the forger before READY */
	unsigned int chain_len;
	char host[];
};

struct certcache {
	pthread_mutex_t lock;
	pthread_cond_t forged;		  /* a forge ended; with lock */
	struct ca *ca;			  /* borrowed; thread-safe itself */
	struct certcache_entry **buckets; /* lock */
	size_t nbuckets;		  /* power of two, fixed */
	size_t capacity;
	struct certcache_entry *newest;			 /* lock */
	struct certcache_entry *oldest;			 /* lock */
	struct certcache_stats stats;			 /* lock */
	gnutls_certificate_credentials_t cred;		 /* shared, read-only */
	gnutls_certificate_retrieve_function2 *retrieve; /* lock */
};

struct certcache *
certcache_new(struct ca *ca, size_t capacity)
{
	struct certcache *c;

	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	c->ca = ca;
	c->capacity = capacity ? capacity : CERTCACHE_DEFAULT_SIZE;
	for (c->nbuckets = 16; c->nbuckets < 2 * c->capacity; c->nbuckets *= 2)
		;
	if (!(c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) ||
	    gnutls_certificate_allocate_credentials(&c->cred) < 0) {
		free(c->buckets);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->forged, NULL);
	return c;
}

static void
certcache_entry_free(struct certcache_entry *e)
{
	unsigned int i;

	for (i = 0; i < e->chain_len; i++)
		gnutls_pcert_deinit(&e->chain[i]);
	free(e);
}

void
certcache_free(struct certcache *c)
{
	struct certcache_entry *e, *next;

	if (!c)
		return;
	for (e = c->newest; e; e = next) {
		next = e->older;
		if (e->refs > 1)
			log_warnx("certcache: %s still referenced at free",
				  e->host);
		certcache_entry_free(e);
	}
	gnutls_certificate_free_credentials(c->cred);
	pthread_cond_destroy(&c->forged);
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

/* Lower-cases name into out, dropping a trailing dot and IPv6 brackets. */
static int
certcache_normalise(const char *name, char out[CERTCACHE_MAX_NAME + 1])
{
	size_t len = strlen(name), i;

	if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
		name++;
		len -= 2;
	}
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > CERTCACHE_MAX_NAME)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[len] = '\0';
	return 0;
}

static size_t
certcache_hash(const struct certcache *c, const char *host)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *host; host++)
		h = (h ^ (unsigned char)*host) * 1099511628211ULL;
	return (size_t)h & (c->nbuckets - 1);
}

static void
certcache_lru_unlink(struct certcache *c, struct certcache_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
certcache_lru_push(struct certcache *c, struct certcache_entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

/* Drops a reference with the lock held; an entry whose count reaches
 * zero is chained on *dead so the caller can free it after unlocking. */
static void
certcache_unref_locked(struct certcache_entry *e, struct certcache_entry **dead)
{
	if (--e->refs == 0) {
		e->hnext = *dead;
		*dead = e;
	}
}

/* Removes e from the map and the LRU list, dropping the map's reference. */
static void
certcache_remove_locked(struct certcache *c, struct certcache_entry *e,
			struct certcache_entry **dead)
{
	struct certcache_entry **pp = &c->buckets[certcache_hash(c, e->host)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	e->hnext = NULL;
	certcache_lru_unlink(c, e);
	e->in_map = 0;
	c->stats.entries--;
	certcache_unref_locked(e, dead);
}

static void
certcache_free_dead(struct certcache_entry *dead)
{
	struct certcache_entry *next;

	for (; dead; dead = next) {
		next = dead->hnext;
		certcache_entry_free(dead);
	}
}

static struct certcache_entry *
certcache_lookup_locked(struct certcache *c, const char *host)
{
	struct certcache_entry *e = c->buckets[certcache_hash(c, host)];

	while (e && strcmp(e->host, host) != 0)
		e = e->hnext;
	return e;
}

/* A new pending entry in the map, with one reference for the map and one
 * for the caller; evicts the least recently used entries beyond capacity. */
static struct certcache_entry *
certcache_insert_locked(struct certcache *c, const char *host,
			struct certcache_entry **dead)
{
	size_t len = strlen(host), b = certcache_hash(c, host);
	struct certcache_entry *e;

	if (!(e = calloc(1, sizeof(*e) + len + 1)))
		return NULL;
	memcpy(e->host, host, len + 1);
	e->cache = c;
	e->refs = 2;
	e->state = CERTCACHE_PENDING;
	e->in_map = 1;
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	certcache_lru_push(c, e);
	c->stats.entries++;
	while (c->stats.entries > c->capacity && c->oldest != e) {
		certcache_remove_locked(c, c->oldest, dead);
		c->stats.evictions++;
	}
	return e;
}

/* Builds e's chain; runs without the lock while e is pending. */
static int
certcache_forge(struct certcache *c, struct certcache_entry *e)
{
	gnutls_x509_crt_t crt = NULL;
	int rc;

	if ((rc = ca_forge_leaf(c->ca, e->host, &crt)) < 0)
		goto out;
	if ((rc = gnutls_pcert_import_x509(&e->chain[0], crt, 0)) < 0)
		goto out;
	e->chain_len = 1;
	if ((rc = gnutls_pcert_import_x509_raw(&e->chain[1], ca_cert_der(c->ca),
					       GNUTLS_X509_FMT_DER, 0)) < 0)
		goto out;
	e->chain_len = 2;
	e->forged = time(NULL);
out:
	if (rc < 0)
		log_warnx("certcache: no certificate for %s: %s", e->host,
			  gnutls_strerror(rc));
	gnutls_x509_crt_deinit(crt);
	return rc;
}

/* Waits for a pending entry the caller holds a reference to; returns it,
 * or NULL (reference dropped) if its forge failed. */
static struct certcache_entry *
certcache_wait_locked(struct certcache *c, struct certcache_entry *e,
		      struct certcache_entry **dead)
{
	while (e->state == CERTCACHE_PENDING)
		pthread_cond_wait(&c->forged, &c->lock);
	if (e->state == CERTCACHE_FAILED) {
		certcache_unref_locked(e, dead);
		return NULL;
	}
	return e;
}

struct certcache_entry *
certcache_get(struct certcache *c, const char *name)
{
	char host[CERTCACHE_MAX_NAME + 1];
	struct certcache_entry *e, *dead = NULL;
	int rc;

	if (certcache_normalise(name, host) < 0)
		return NULL;
	pthread_mutex_lock(&c->lock);
	e = certcache_lookup_locked(c, host);
	if (e && e->state == CERTCACHE_READY &&
	    time(NULL) - e->forged > CERTCACHE_MAX_AGE) {
		certcache_remove_locked(c, e, &dead);
		e = NULL;
	}
	if (e) {
		e->refs++;
		c->stats.hits++;
		certcache_lru_unlink(c, e);
		certcache_lru_push(c, e);
		e = certcache_wait_locked(c, e, &dead);
		pthread_mutex_unlock(&c->lock);
		certcache_free_dead(dead);
		return e;
	}
	e = certcache_insert_locked(c, host, &dead);
	pthread_mutex_unlock(&c->lock);
	certcache_free_dead(dead);
	dead = NULL;
	if (!e)
		return NULL;

	rc = certcache_forge(c, e);

	pthread_mutex_lock(&c->lock);
	c->stats.forges++;
	e->state = rc < 0 ? CERTCACHE_FAILED : CERTCACHE_READY;
	if (rc < 0) {
		/* Forget the failure so that a later connection tries again. */
		c->stats.forge_failures++;
		if (e->in_map)
			certcache_remove_locked(c, e, &dead);
		certcache_unref_locked(e, &dead);
		e = NULL;
	}
	pthread_cond_broadcast(&c->forged);
	pthread_mutex_unlock(&c->lock);
	certcache_free_dead(dead);
	return e;
}

void
certcache_put(struct certcache_entry *e)
{
	struct certcache_entry *dead = NULL;
	struct certcache *c;

	if (!e)
		return;
	c = e->cache;
	pthread_mutex_lock(&c->lock);
	certcache_unref_locked(e, &dead);
	pthread_mutex_unlock(&c->lock);
	certcache_free_dead(dead);
}

gnutls_pcert_st *
certcache_entry_chain(struct certcache_entry *e, unsigned int *len)
{
	*len = e->chain_len;
	return e->chain;
}

gnutls_privkey_t
certcache_entry_key(struct certcache_entry *e)
{
	return ca_leaf_key(e->cache->ca);
}

const char *
certcache_entry_host(const struct certcache_entry *e)
{
	return e->host;
}

gnutls_certificate_credentials_t
certcache_credentials(struct certcache *c,
		      gnutls_certificate_retrieve_function2 *fn)
{
	pthread_mutex_lock(&c->lock);
	if (!c->retrieve) {
		gnutls_certificate_set_retrieve_function2(c->cred, fn);
		c->retrieve = fn;
	}
	pthread_mutex_unlock(&c->lock);
	return c->cred;
}

void
certcache_get_stats(struct certcache *c, struct certcache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}
