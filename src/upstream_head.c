/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_head.c - an upstream response head, line by line from curl's
 * header callback, the hop-by-hop header rules, and the request header
 * lines handed to curl.
 *
 * Threading: none; pure functions over caller-owned structs.
 * Ownership: see upstream_head.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "upstream_head.h"

/* RFC 9110 7.6.1 and the old proxy ones; never forwarded either way. */
static const char *const hop_headers[] = { "Connection",
					   "Keep-Alive",
					   "Proxy-Connection",
					   "Proxy-Authenticate",
					   "Proxy-Authorization",
					   "TE",
					   "Trailer",
					   "Transfer-Encoding",
					   "Upgrade",
					   NULL };

bool
upstream_head_is_hop(const char *name, const struct http_header *all, size_t n)
{
	size_t len = strlen(name);

	for (size_t i = 0; hop_headers[i]; i++)
		if (strcasecmp(name, hop_headers[i]) == 0)
			return true;
	/* Headers a Connection header names are hop-by-hop too. */
	for (size_t i = 0; i < n; i++) {
		const char *p = all[i].value;

		if (strcasecmp(all[i].name, "Connection") != 0)
			continue;
		while (*p) {
			size_t tok;

			p += strspn(p, " \t,");
			tok = strcspn(p, " \t,");
			if (tok == len && strncasecmp(p, name, len) == 0)
				return true;
			p += tok;
		}
	}
	return false;
}

size_t
upstream_head_e2e(const struct upstream_head *h, struct http_header *out)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nhdrs; i++) {
		const char *name = h->hdrs[i].name;

		if (name[0] == ':' ||
		    upstream_head_is_hop(name, h->hdrs, h->nhdrs))
			continue;
		out[n++] = h->hdrs[i];
	}
	return n;
}

/* Hop-by-hop but for the two headers an upgrade needs. */
static bool
upgrade_drops(const char *name)
{
	if (strcasecmp(name, "Upgrade") == 0 ||
	    strcasecmp(name, "Connection") == 0)
		return false;
	for (size_t i = 0; hop_headers[i]; i++)
		if (strcasecmp(name, hop_headers[i]) == 0)
			return true;
	return false;
}

size_t
upstream_head_upgrade(const struct upstream_head *h, struct http_header *out)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nhdrs; i++)
		if (h->hdrs[i].name[0] != ':' &&
		    !upgrade_drops(h->hdrs[i].name))
			out[n++] = h->hdrs[i];
	return n;
}

static bool
has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

char *
upstream_head_upgrade_request(const char *method, const char *target,
			      const struct http_header *h, size_t n,
			      size_t *len)
{
	size_t cap = strlen(method) + strlen(target) + 16, off;
	char *buf;

	if (has_crlf(method) || has_crlf(target))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (has_crlf(h[i].name) || has_crlf(h[i].value))
			return NULL;
		cap += strlen(h[i].name) + strlen(h[i].value) + 4;
	}
	if (!(buf = malloc(cap + 3)))
		return NULL;
	off = (size_t)snprintf(buf, cap, "%s %s HTTP/1.1\r\n", method, target);
	for (size_t i = 0; i < n; i++) {
		if (upgrade_drops(h[i].name) ||
		    strcasecmp(h[i].name, "Expect") == 0)
			continue;
		off += (size_t)snprintf(buf + off, cap - off, "%s: %s\r\n",
					h[i].name, h[i].value);
	}
	memcpy(buf + off, "\r\n", 3);
	*len = off + 2;
	return buf;
}

void
upstream_head_clear(struct upstream_head *h)
{
	for (size_t i = 0; i < h->nhdrs; i++)
		free((char *)h->hdrs[i].name);
	free(h->hdrs);
	free(h->reason);
	memset(h, 0, sizeof(*h));
}

/* "HTTP/1.1 200 OK" or curl's "HTTP/2 200 ": h2 and h3 carry no reason
 * phrase, so the client gets the standard one. */
static int
parse_status_line(struct upstream_head *h, const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	const char *reason = "";
	size_t rlen = 0;
	bool h1;

	if (!sp || (size_t)(line + len - sp) < 4 || sp[1] < '1' ||
	    sp[1] > '9' || sp[2] < '0' || sp[2] > '9' || sp[3] < '0' ||
	    sp[3] > '9')
		return -1;
	h->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
	h1 = sp - line == 8 && memcmp(line, "HTTP/1.", 7) == 0;
	if (sp + 4 < line + len) {
		if (sp[4] != ' ')
			return -1;
		reason = sp + 5;
		rlen = line + len - reason;
	}
	if (!h1) {
		reason = upstream_head_reason(h->status);
		rlen = strlen(reason);
	}
	return (h->reason = strndup(reason, rlen)) ? 0 : -1;
}

/* Joins a continuation line to the previous value with one space. */
static int
fold_line(struct upstream_head *h, const char *line, const char *end)
{
	struct http_header *last;
	size_t nlen, vlen;
	char *blk;

	if (h->nhdrs == 0)
		return -1;
	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	last = &h->hdrs[h->nhdrs - 1];
	nlen = strlen(last->name);
	vlen = strlen(last->value);
	if (!(blk = realloc((char *)last->name,
			    nlen + vlen + 3 + (size_t)(end - line))))
		return -1;
	blk[nlen + 1 + vlen] = ' ';
	memcpy(blk + nlen + 2 + vlen, line, end - line);
	blk[nlen + 2 + vlen + (end - line)] = '\0';
	last->name = blk;
	last->value = blk + nlen + 1;
	return 0;
}

/* RFC 9110 5.6.2 token characters: a field name is nothing else. */
static bool
is_token(const char *p, size_t len)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || (c && strchr(extra, c))))
			return false;
	}
	return true;
}

static int
add_line(struct upstream_head *h, const char *line, size_t len)
{
	const char *colon, *v, *end = line + len;
	size_t nlen;
	char *blk;

	if (line[0] == ' ' || line[0] == '\t')
		return fold_line(h, line, end);
	if (!(colon = memchr(line, ':', len)) ||
	    !is_token(line, colon - line) ||
	    h->nhdrs >= UPSTREAM_HEAD_MAX_HEADERS)
		return -1;
	if (h->nhdrs % 16 == 0) {
		struct http_header *n =
			realloc(h->hdrs, (h->nhdrs + 16) * sizeof(*n));
		if (!n)
			return -1;
		h->hdrs = n;
	}
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	nlen = colon - line;
	if (!(blk = malloc(nlen + (end - v) + 2)))
		return -1;
	memcpy(blk, line, nlen);
	blk[nlen] = '\0';
	memcpy(blk + nlen + 1, v, end - v);
	blk[nlen + 1 + (end - v)] = '\0';
	h->hdrs[h->nhdrs].name = blk;
	h->hdrs[h->nhdrs].value = blk + nlen + 1;
	h->nhdrs++;
	return 0;
}

int
upstream_head_feed(struct upstream_head *h, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (memchr(line, '\0', len))
		return -1; /* the strings handed on are NUL-terminated */
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		upstream_head_clear(h); /* the final head after a 1xx */
		h->bytes = len;
		return parse_status_line(h, line, len);
	}
	if (h->status == 0 || (h->bytes += len + 2) > UPSTREAM_HEAD_MAX_BYTES)
		return -1;
	if (len == 0)
		return h->status >= 200 ? 1 : 0;
	return add_line(h, line, len) < 0 ? -1 : 0;
}

/* RFC 9110 section 15 (and 6585 for 428/429/431/511). */
static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 100, "Continue" },
	{ 101, "Switching Protocols" },
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 203, "Non-Authoritative Information" },
	{ 204, "No Content" },
	{ 205, "Reset Content" },
	{ 206, "Partial Content" },
	{ 300, "Multiple Choices" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 402, "Payment Required" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 410, "Gone" },
	{ 411, "Length Required" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 416, "Range Not Satisfiable" },
	{ 417, "Expectation Failed" },
	{ 421, "Misdirected Request" },
	{ 422, "Unprocessable Content" },
	{ 425, "Too Early" },
	{ 426, "Upgrade Required" },
	{ 428, "Precondition Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 451, "Unavailable For Legal Reasons" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" },
	{ 507, "Insufficient Storage" },
	{ 511, "Network Authentication Required" },
};

const char *
upstream_head_reason(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "";
}

/* ---- the request head, for curl ---------------------------------------- */

static int
slist_add(struct curl_slist **list, const char *name, const char *value)
{
	/* "Name:" alone tells curl to drop its own header; "Name;" sends an
	 * empty value. */
	const char *sep = value ? (*value ? ": " : ";") : ":";
	struct curl_slist *n;
	char buf[512], *line = buf; /* curl copies it: most fit here */
	int len;

	if (!value)
		value = "";
	len = snprintf(buf, sizeof(buf), "%s%s%s", name, sep, value);
	if (len < 0 || ((size_t)len >= sizeof(buf) &&
			asprintf(&line, "%s%s%s", name, sep, value) < 0))
		return -1;
	n = curl_slist_append(*list, line);
	if (line != buf)
		free(line);
	if (!n)
		return -1;
	*list = n;
	return 0;
}

int
upstream_head_request(const struct http_header *h, size_t n, bool with_body,
		      struct curl_slist **out)
{
	struct curl_slist *list = NULL;
	bool accept = false, ctype = false;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		const char *name = h[i].name;

		/* Expect too: the body is read already, curl must not
		 * wait for a 100. */
		if (strcasecmp(name, "Expect") == 0 ||
		    upstream_head_is_hop(name, h, n))
			continue;
		accept |= strcasecmp(name, "Accept") == 0;
		ctype |= strcasecmp(name, "Content-Type") == 0;
		if (slist_add(&list, name, h[i].value) < 0)
			goto out;
	}
	if ((!accept && slist_add(&list, "Accept", NULL) < 0) ||
	    (with_body && !ctype &&
	     slist_add(&list, "Content-Type", NULL) < 0) ||
	    slist_add(&list, "Expect", NULL) < 0)
		goto out;
	*out = list;
	list = NULL;
	rc = 0;
out:
	curl_slist_free_all(list);
	return rc;
}
