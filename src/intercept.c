/* SPDX-License-Identifier: GPL-2.0-or-later
 * intercept.c - which hosts are decrypted: the intercept list and the
 * fail-open table of hosts whose clients rejected our certificate.
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
	char host[256];
	int64_t until_ms;		/* monotonic */
};

struct intercept {
	char **patterns;
	size_t npatterns;
	bool all;
	long fail_open_ms;
	pthread_mutex_t lock;		/* guards failed[] */
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
	sl = strlen(pat + 1);		/* ".suffix" */
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

bool
intercept_wanted(struct intercept *ic, const char *host)
{
	int64_t now = clock_mono_ms();
	bool failed = false;

	if (!intercept_match(ic, host))
		return false;
	pthread_mutex_lock(&ic->lock);
	for (size_t i = 0; i < ic->nfailed; i++)
		if (strcasecmp(ic->failed[i].host, host) == 0) {
			failed = now < ic->failed[i].until_ms;
			break;
		}
	pthread_mutex_unlock(&ic->lock);
	return !failed;
}

void
intercept_fail_open(struct intercept *ic, const char *host)
{
	int64_t until = clock_mono_ms() + ic->fail_open_ms;
	size_t i, slot;

	pthread_mutex_lock(&ic->lock);
	/* Reuse the host's slot, else a free or expired one, else the one
	 * that expires first: the table never grows past its bound. */
	slot = 0;
	for (i = 0; i < ic->nfailed; i++) {
		if (strcasecmp(ic->failed[i].host, host) == 0)
			break;
		if (ic->failed[i].until_ms < ic->failed[slot].until_ms)
			slot = i;
	}
	if (i < ic->nfailed)
		slot = i;
	else if (ic->nfailed < INTERCEPT_FAILED_MAX)
		slot = ic->nfailed++;
	snprintf(ic->failed[slot].host, sizeof(ic->failed[slot].host), "%s",
		 host);
	ic->failed[slot].until_ms = until;
	pthread_mutex_unlock(&ic->lock);
}
