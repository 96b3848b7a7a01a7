/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_origin.c - where an exchange goes: the origin's URL, the name
 * its certificate must match, and the address, which the upstream asks
 * of resolve.c and hands to curl as a CURLOPT_RESOLVE entry, so that
 * nothing outside the upstream module writes curl's syntax.
 *
 * Threading: called by the worker that owns the xfer; the resolver is
 *   thread-safe (resolve.h).
 * Ownership: x->origin and x->url are the xfer's (freed with it).
 */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "resolve.h"
#include "upstream_int.h"

/* The name curl connects to and sends as SNI, which the certificate must
 * match: the URL's host, without the brackets of an IPv6 literal or a
 * final dot. */
static int
origin_host(const char *url, char *host, size_t size)
{
	CURLU *h = curl_url();
	char *name = NULL, *p;
	size_t len;
	int rc = -1;

	if (!h || curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &name, 0) != CURLUE_OK)
		goto out;
	p = name;
	len = strlen(p);
	if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
		p++;
		len -= 2;
	}
	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len == 0 || len >= size)
		goto out;
	memcpy(host, p, len);
	host[len] = '\0';
	rc = 0;
out:
	curl_free(name);
	curl_url_cleanup(h);
	return rc;
}

int
upstream_origin_set(struct upstream_xfer *x, const struct upstream_request *req,
		    char *errbuf)
{
	char hostport[UPSTREAM_HOST_MAX + 8], origin[sizeof(hostport) + 8];

	if (!req->host || net_join_hostport(req->host, req->port, hostport,
					    sizeof(hostport)) < 0) {
		snprintf(errbuf, CURL_ERROR_SIZE, "no host name in the URL");
		return UPSTREAM_E_CONNECT;
	}
	snprintf(origin, sizeof(origin), "https://%s", hostport);
	if (x->origin && strcmp(x->origin, origin) == 0)
		return 0;
	free(x->origin);
	free(x->url);
	x->url = NULL;
	if (!(x->origin = strdup(origin)))
		return UPSTREAM_E_NOMEM;
	if (origin_host(origin, x->host, sizeof(x->host)) < 0) {
		snprintf(errbuf, CURL_ERROR_SIZE, "no host name in the URL");
		free(x->origin);
		x->origin = NULL;
		return UPSTREAM_E_CONNECT;
	}
	if (asprintf(&x->url, "%s/", origin) < 0) {
		x->url = NULL;
		free(x->origin);
		x->origin = NULL;
		return UPSTREAM_E_NOMEM;
	}
	return 0;
}

int
upstream_origin_resolve(struct upstream_xfer *x,
			const struct upstream_request *req, bool cached,
			struct curl_slist **out)
{
	char addr[INET6_ADDRSTRLEN];

	*out = NULL;
	x->entry[0] = '\0';
	if (x->u->resolver &&
	    resolver_lookup(x->u->resolver, req->host, req->dst_addr, addr,
			    sizeof(addr)) == 0 &&
	    upstream_resolve_entry(req->host, req->port, addr, x->entry,
				   sizeof(x->entry)) < 0)
		x->entry[0] = '\0';
	/* A pooled handle's cache may hold the entry already: then curl is
	 * spared parsing it and replacing it with a copy of itself. */
	if (!x->entry[0] ||
	    (cached && x->h.resolved && strcmp(x->h.resolved, x->entry) == 0))
		return 0;
	return (*out = curl_slist_append(NULL, x->entry)) ? 0 : -1;
}

int
upstream_resolve_entry(const char *host, unsigned port, const char *addr,
		       char *buf, size_t buflen)
{
	int family, n;

	if (host == NULL || addr == NULL || buf == NULL || *host == '\0' ||
	    strpbrk(host, ":,") != NULL || port < 1 || port > 65535 ||
	    (family = net_parse_ip(addr, NULL, NULL)) == 0)
		return -1;
	n = snprintf(buf, buflen,
		     family == AF_INET6 ? "%s:%u:[%s]" : "%s:%u:%s", host, port,
		     addr);
	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}
