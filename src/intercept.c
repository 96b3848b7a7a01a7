/* SPDX-License-Identifier: GPL-2.0-or-later
 * intercept.c - which hosts are decrypted: the intercept list and the
 * fail-open table, keyed by client and host: a client that rejects our
 * certificate gets that host tunnelled, and every other client is still
 * metered there. The same table counts silent closes in a row.
 *
 * Threading: the pattern list is written once in intercept_new() and only
 *   read afterwards; ic->lock guards the fail-open table. Both are small,
 *   so a linear scan is cheaper than anything cleverer.
 * Ownership: struct intercept owns copies of the patterns and hosts.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "intercept.h"

#define INTERCEPT_FAILED_MAX 256

struct failed_host {
	char client[INTERCEPT_CLIENT_MAX];
	char host[256];
	int64_t until_ms; /* monotonic; 0 while only counted */
	unsigned silent;  /* closes before a request, in a row */
	int64_t used_ms;  /* last touched, for eviction */
};

struct intercept {
	char **patterns;
	size_t npatterns;
	bool all;
	long fail_open_ms;
	pthread_mutex_t lock; /* guards failed[] and nfailed */
	struct failed_host failed[INTERCEPT_FAILED_MAX];
	size_t nfailed;
};

static int
add_pattern(struct intercept *ic, const char *p)
{
	char **v = realloc(ic->patterns, (ic->npatterns + 1) * sizeof(*v));

	if (!v)
		return -1;
	ic->patterns = v;
	if (!(v[ic->npatterns] = strdup(p)))
		return -1;
	ic->npatterns++;
	if (strcmp(p, "*") == 0)
		ic->all = true;
	return 0;
}

struct intercept *
intercept_new(char *const *patterns, size_t n, long fail_open_ms)
{
	static const char *const defaults[] = { INTERCEPT_DEFAULTS };
	struct intercept *ic = calloc(1, sizeof(*ic));
	size_t i;

	if (!ic)
		return NULL;
	pthread_mutex_init(&ic->lock, NULL);
	ic->fail_open_ms = fail_open_ms;
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (add_pattern(ic, defaults[i]) < 0)
			goto fail;
	for (i = 0; i < n; i++)
		if (add_pattern(ic, patterns[i]) < 0)
			goto fail;
	return ic;
fail:
	intercept_free(ic);
	return NULL;
}

void
intercept_free(struct intercept *ic)
{
	if (!ic)
		return;
	for (size_t i = 0; i < ic->npatterns; i++)
		free(ic->patterns[i]);
	free(ic->patterns);
	pthread_mutex_destroy(&ic->lock);
	free(ic);
}

static bool
pattern_match(const char *pat, const char *host)
{
	size_t hl, sl;

	if (pat[0] != '*' || pat[1] != '.')
		return strcasecmp(pat, host) == 0;
	hl = strlen(host);
	sl = strlen(pat + 1); /* ".suffix" */
	return hl > sl && strcasecmp(host + hl - sl, pat + 1) == 0;
}

bool
intercept_match(const struct intercept *ic, const char *host)
{
	if (ic->all)
		return true;
	for (size_t i = 0; i < ic->npatterns; i++)
		if (pattern_match(ic->patterns[i], host))
			return true;
	return false;
}

/* The entry of (client, host), or -1; ic->lock held. */
static int
entry_find(const struct intercept *ic, const char *client, const char *host)
{
	for (size_t i = 0; i < ic->nfailed; i++)
		if (strcmp(ic->failed[i].client, client) == 0 &&
		    strcasecmp(ic->failed[i].host, host) == 0)
			return (int)i;
	return -1;
}

/* The entry of (client, host), made when there is none: a free slot, else
 * the one touched longest ago, so the table never grows past its bound.
 * ic->lock held. */
static struct failed_host *
entry_get(struct intercept *ic, const char *client, const char *host,
	  int64_t now)
{
	int i = entry_find(ic, client, host);
	size_t slot = 0;
	struct failed_host *e;

	if (i >= 0) {
		e = &ic->failed[i];
	} else {
		if (ic->nfailed < INTERCEPT_FAILED_MAX) {
			slot = ic->nfailed++;
		} else {
			for (size_t k = 1; k < ic->nfailed; k++)
				if (ic->failed[k].used_ms <
				    ic->failed[slot].used_ms)
					slot = k;
		}
		e = &ic->failed[slot];
		memset(e, 0, sizeof(*e));
		snprintf(e->client, sizeof(e->client), "%s", client);
		snprintf(e->host, sizeof(e->host), "%s", host);
	}
	e->used_ms = now;
	return e;
}

bool
intercept_wanted(struct intercept *ic, const char *client, const char *host)
{
	int64_t now = clock_mono_ms();
	bool failed = false;
	int i;

	if (!intercept_match(ic, host))
		return false;
	pthread_mutex_lock(&ic->lock);
	if ((i = entry_find(ic, client, host)) >= 0)
		failed = now < ic->failed[i].until_ms;
	pthread_mutex_unlock(&ic->lock);
	return !failed;
}

void
intercept_fail_open(struct intercept *ic, const char *client, const char *host)
{
	int64_t now = clock_mono_ms();
	struct failed_host *e;

	pthread_mutex_lock(&ic->lock);
	e = entry_get(ic, client, host, now);
	e->until_ms = now + ic->fail_open_ms;
	e->silent = 0;
	pthread_mutex_unlock(&ic->lock);
}

unsigned
intercept_note_silent(struct intercept *ic, const char *client,
		      const char *host)
{
	unsigned n;

	pthread_mutex_lock(&ic->lock);
	n = ++entry_get(ic, client, host, clock_mono_ms())->silent;
	pthread_mutex_unlock(&ic->lock);
	return n;
}

void
intercept_note_request(struct intercept *ic, const char *client,
		       const char *host)
{
	int i;

	pthread_mutex_lock(&ic->lock);
	if ((i = entry_find(ic, client, host)) >= 0)
		ic->failed[i].silent = 0;
	pthread_mutex_unlock(&ic->lock);
}
