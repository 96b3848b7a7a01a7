/* SPDX-License-Identifier: GPL-2.0-or-later
 * credential.c - fingerprints of the credentials requests carry.
 *
 * Threading: stateless; the hash is GnuTLS's.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>

#include "credential.h"

void
credential_hash(const char *cred, size_t len, char *out)
{
	unsigned char d[32];

	out[0] = '\0';
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, cred, len, d) < 0)
		return;
	snprintf(out, USAGE_KEY_MAX, "%02x%02x%02x%02x", d[0], d[1], d[2],
		 d[3]);
	memset(d, 0, sizeof(d));
}

bool
credential_is_oauth(const char *cred, size_t len)
{
	static const char *const prefixes[] = {
		"sk-ant-oat",
		"ya29.",
		"eyJ",
		NULL,
	};

	for (size_t i = 0; prefixes[i]; i++)
		if (len >= strlen(prefixes[i]) &&
		    strncmp(cred, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* The value of key= in target's query, or NULL; *len gets its length. */
static const char *
query_key(const char *target, size_t *len)
{
	const char *q = target ? strchr(target, '?') : NULL;

	while (q) {
		q++;
		if (strncmp(q, "key=", 4) == 0) {
			q += 4;
			*len = strcspn(q, "&#");
			return *len ? q : NULL;
		}
		q = strchr(q, '&');
	}
	return NULL;
}

/* A header's value without surrounding blanks. */
static const char *
header_value(const struct http_request *req, const char *name, size_t *len)
{
	const char *v = http1_header(req, name);
	size_t n;

	if (!v)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	*len = n;
	return n ? v : NULL;
}

void
credential_fingerprint(const struct http_request *req, char *out, bool *oauth)
{
	const char *v;
	size_t len = 0;

	out[0] = '\0';
	*oauth = false;
	if (!(v = header_value(req, "x-api-key", &len)) &&
	    (v = header_value(req, "Authorization", &len))) {
		if (len > 7 && strncasecmp(v, "Bearer", 6) == 0 &&
		    (v[6] == ' ' || v[6] == '\t')) {
			v += 7;
			len -= 7;
			while (len && (*v == ' ' || *v == '\t')) {
				v++;
				len--;
			}
		} else {
			v = NULL;
		}
	}
	if (!v || !len)
		v = header_value(req, "x-goog-api-key", &len);
	if (!v)
		v = query_key(req->target, &len);
	if (!v || !len)
		return;
	credential_hash(v, len, out);
	*oauth = credential_is_oauth(v, len);
}
