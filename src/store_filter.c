/* SPDX-License-Identifier: GPL-2.0-or-later
 * store_filter.c - the /v1/requests query arguments: a pure parser, fuzzed
 * (fuzz/fuzz_filter.c).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "when.h"

void
store_filter_init(struct store_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->complete = -1;
	f->limit = STORE_LIMIT_DEFAULT;
}

/* A decimal integer from lo to hi, nothing else. */
static int
parse_int(const char *s, int64_t lo, int64_t hi, int64_t *v)
{
	char *end;
	long long n;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return -1;
	*v = n;
	return 0;
}

static int
set_string(char *dst, size_t len, bool *has, const char *v)
{
	if (strlen(v) >= len)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	*has = true;
	return 0;
}

int
store_filter_set(struct store_filter *f, const char *key, const char *v,
		 double now, char *err, size_t errlen)
{
	int64_t n;
	int rc = -1;

	if (!v)
		v = "";
	if (strcmp(key, "limit") == 0) {
		if ((rc = parse_int(v, 1, STORE_LIMIT_MAX, &n)) == 0)
			f->limit = (int)n;
	} else if (strcmp(key, "before") == 0) {
		if ((rc = parse_int(v, 1, INT64_MAX, &n)) == 0)
			f->before = n;
	} else if (strcmp(key, "model") == 0) {
		rc = set_string(f->model, sizeof(f->model), &f->has_model, v);
	} else if (strcmp(key, "host") == 0) {
		rc = set_string(f->host, sizeof(f->host), &f->has_host, v);
	} else if (strcmp(key, "endpoint") == 0) {
		rc = set_string(f->endpoint, sizeof(f->endpoint),
				&f->has_endpoint, v);
	} else if (strcmp(key, "agent") == 0) {
		rc = set_string(f->agent, sizeof(f->agent), &f->has_agent, v);
	} else if (strcmp(key, "key") == 0) {
		rc = set_string(f->key, sizeof(f->key), &f->has_key, v);
	} else if (strcmp(key, "since") == 0) {
		rc = when_parse(v, now, &f->since);
	} else if (strcmp(key, "until") == 0) {
		rc = when_parse(v, now, &f->until);
	} else if (strcmp(key, "complete") == 0) {
		rc = 0;
		if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
			f->complete = 1;
		else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
			f->complete = 0;
		else
			rc = -1;
	} else {
		snprintf(err, errlen, "unknown parameter '%.32s'", key);
		return -1;
	}
	if (rc < 0)
		snprintf(
			err, errlen, "%s: %s", key,
			strcmp(key, "limit") == 0
				? "expected a number from 1 to 1000"
			: strcmp(key, "before") == 0
				? "expected a record id (a positive number)"
			: strcmp(key, "complete") == 0
				? "expected true, false, 1 or 0"
			: strcmp(key, "since") == 0 || strcmp(key, "until") == 0
				? "expected RFC 3339 time, 'today' or a duration like 1h"
				: "too long");
	return rc;
}
