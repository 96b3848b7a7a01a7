/* SPDX-License-Identifier: GPL-2.0-or-later
 * http1.c - HTTP/1.1 request-head parser and body framing (RFC 9112).
 *
 * Strict where leniency lets two parsers disagree about where a request
 * ends (request smuggling): no white space before a colon, no obs-fold,
 * one Content-Length value, never Content-Length with Transfer-Encoding,
 * and chunked as the only transfer coding. Lenient where RFC 9112 allows
 * it and nothing is ambiguous: bare LF line ends in the head, empty lines
 * before the request line.
 *
 * Threading: pure functions, no shared state.
 * Ownership: http1_parse_head() writes NULs into the caller's buffer and
 *   points the request's strings into it; nothing is allocated.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "http1.h"

#define HTTP1_BAD (-400)
#define HTTP1_TOO_LARGE (-431)
#define HTTP1_NOT_IMPL (-501)
#define HTTP1_BAD_VERSION (-505)

static bool
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field values: VCHAR, obs-text, SP and HT; no other control bytes. */
static bool
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Finds the head: *start skips leading empty lines, *end is just past the
 * empty line that closes it. Returns 0 when found, 1 when more bytes are
 * needed, or -431 when the head cannot fit in HTTP1_MAX_HEAD. */
static int
find_head(const char *buf, size_t len, size_t *start, size_t *end)
{
	size_t lim = len < HTTP1_MAX_HEAD ? len : HTTP1_MAX_HEAD, pos = 0;
	const char *lf;

	while (pos < lim &&
	       (buf[pos] == '\n' ||
		(buf[pos] == '\r' && pos + 1 < lim && buf[pos + 1] == '\n')))
		pos += buf[pos] == '\n' ? 1 : 2;
	*start = pos;
	while ((lf = memchr(buf + pos, '\n', lim - pos)) != NULL) {
		pos = (size_t)(lf - buf) + 1;
		if (pos < lim && buf[pos] == '\n') {
			*end = pos + 1;
			return 0;
		}
		if (pos + 1 < lim && buf[pos] == '\r' && buf[pos + 1] == '\n') {
			*end = pos + 2;
			return 0;
		}
	}
	return len >= HTTP1_MAX_HEAD ? HTTP1_TOO_LARGE : 1;
}

/* Checks `METHOD SP request-target SP HTTP/1.x` in p[0..n) (line end
 * removed) without writing to it; the target is p[*tstart..+*tlen). */
static int
parse_request_line(const char *p, size_t n, struct http_request *req,
		   size_t *tstart, size_t *tlen)
{
	size_t i = 0, t;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return HTTP1_BAD;
	/* RFC 9112 3: an over-long method is one we do not implement. */
	if (i >= sizeof(req->method))
		return HTTP1_NOT_IMPL;
	memcpy(req->method, p, i);
	req->method[i] = '\0';
	t = ++i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == t || i >= n || p[i] != ' ')
		return HTTP1_BAD;
	*tstart = t;
	*tlen = i - t;
	p += i + 1;
	n -= i + 1;
	if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' ||
	    p[6] != '.' || p[7] < '0' || p[7] > '9')
		return HTTP1_BAD;
	if (p[5] != '1')
		return HTTP1_BAD_VERSION;
	req->minor = p[7] - '0';
	return 0;
}

/* Before the head is complete: fails early on a request line that can
 * never become valid (TLS bytes, binary junk), so the caller does not
 * wait for 64 KiB of it. Writes nothing to buf. */
static int
precheck(const char *p, size_t n, struct http_request *req)
{
	const char *lf = memchr(p, '\n', n);
	size_t tstart, tlen, i;

	if (lf) {
		n = (size_t)(lf - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		return parse_request_line(p, n, req, &tstart, &tlen);
	}
	if (n == 1 && p[0] == '\r')
		return 0; /* perhaps the CR of an empty line */
	for (i = 0; i < n && is_tchar((unsigned char)p[i]); i++)
		;
	if (i < n && (i == 0 || p[i] != ' '))
		return HTTP1_BAD;
	if (i >= sizeof(req->method))
		return HTTP1_NOT_IMPL;
	for (; i < n; i++)
		if (is_ctl((unsigned char)p[i]) &&
		    !(p[i] == '\r' && i + 1 == n))
			return HTTP1_BAD;
	return 0;
}

/* One `name: value` line at p[0..n) (line end removed). */
static int
parse_field(char *p, size_t n, struct http_request *req)
{
	size_t i = 0, v, e;

	/* A leading SP or HT is obs-fold (RFC 9112 5.2), refused. */
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ':')
		return HTTP1_BAD;
	if (req->nheaders == HTTP1_MAX_HEADERS)
		return HTTP1_TOO_LARGE;
	p[i] = '\0';
	for (v = i + 1; v < n && (p[v] == ' ' || p[v] == '\t'); v++)
		;
	for (e = n; e > v && (p[e - 1] == ' ' || p[e - 1] == '\t'); e--)
		;
	for (size_t k = v; k < e; k++)
		if (is_ctl((unsigned char)p[k]))
			return HTTP1_BAD;
	p[e] = '\0'; /* p[n] is the CR or LF, so this stays in the head */
	req->headers[req->nheaders].name = p;
	req->headers[req->nheaders].value = p + v;
	req->nheaders++;
	return 0;
}

/* Next element of a comma-separated list (RFC 9110 5.6.1), trimmed, with
 * empty elements skipped; false at the end. */
static bool
list_next(const char **cur, const char **tok, size_t *n)
{
	const char *s = *cur, *e;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (!*s)
		return false;
	for (e = s; *e && *e != ','; e++)
		;
	*cur = e;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*tok = s;
	*n = (size_t)(e - s);
	return true;
}

static bool
tok_is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(tok, word, n) == 0;
}

/* Content-Length: 1*DIGIT, or a list of identical ones (RFC 9110 8.6). */
static int
parse_length(const char *value, bool *seen, uint64_t *cl)
{
	const char *tok;
	size_t n;
	bool any = false;

	while (list_next(&value, &tok, &n)) {
		uint64_t v = 0;

		for (size_t i = 0; i < n; i++) {
			uint64_t d = (uint64_t)(tok[i] - '0');

			if (tok[i] < '0' || tok[i] > '9' ||
			    v > (UINT64_MAX - d) / 10)
				return HTTP1_BAD;
			v = v * 10 + d;
		}
		if (*seen && v != *cl)
			return HTTP1_BAD;
		*seen = any = true;
		*cl = v;
	}
	return any ? 0 : HTTP1_BAD;
}

static bool
host_ok(const char *h)
{
	return strpbrk(h, " \t/?#@\\") == NULL;
}

struct semantics {
	bool cl, te, te_other, close, ka;
	int nchunked;
};

static int
note_field(const struct http_header *h, struct http_request *req,
	   struct semantics *s)
{
	const char *cur = h->value, *tok;
	size_t n;

	if (strcasecmp(h->name, "Host") == 0) {
		/* RFC 9112 3.2: exactly one, valid, Host. */
		if (req->host || !host_ok(h->value))
			return HTTP1_BAD;
		req->host = h->value;
	} else if (strcasecmp(h->name, "Content-Length") == 0) {
		return parse_length(h->value, &s->cl, &req->content_length);
	} else if (strcasecmp(h->name, "Transfer-Encoding") == 0) {
		s->te = true;
		while (list_next(&cur, &tok, &n)) {
			if (tok_is(tok, n, "chunked"))
				s->nchunked++;
			else
				s->te_other = true;
		}
	} else if (strcasecmp(h->name, "Connection") == 0) {
		while (list_next(&cur, &tok, &n)) {
			s->close |= tok_is(tok, n, "close");
			s->ka |= tok_is(tok, n, "keep-alive");
		}
	} else if (strcasecmp(h->name, "Expect") == 0) {
		req->expect_continue |=
			strcasecmp(h->value, "100-continue") == 0;
	}
	return 0;
}

/* Body framing and connection persistence (RFC 9112 6.3, 9.3). */
static int
apply_semantics(struct http_request *req)
{
	struct semantics s = { 0 };
	int rc;

	for (size_t i = 0; i < req->nheaders; i++)
		if ((rc = note_field(&req->headers[i], req, &s)) < 0)
			return rc;
	if (req->minor >= 1 && !req->host)
		return HTTP1_BAD;
	if (s.te) {
		/* CL with TE, or TE on HTTP/1.0, is the classic smuggling
		 * shape: refuse rather than pick one. */
		if (s.cl || req->minor == 0)
			return HTTP1_BAD;
		if (s.te_other)
			return HTTP1_NOT_IMPL;
		if (s.nchunked != 1)
			return HTTP1_BAD;
		req->framing = HTTP1_CHUNKED;
	} else if (s.cl) {
		req->framing = HTTP1_LENGTH;
	}
	req->keep_alive = !s.close && (req->minor >= 1 || s.ka);
	if (req->minor == 0)
		req->expect_continue = false; /* RFC 9110 10.1.1 */
	return 0;
}

/* Splits the complete head buf[start..end) into lines and parses them. */
static int
parse_lines(char *buf, size_t start, size_t end, struct http_request *req)
{
	size_t pos = start, tstart = 0, tlen = 0;
	int rc;

	while (pos < end) {
		char *p = buf + pos, *lf = memchr(p, '\n', end - pos);
		size_t n = (size_t)(lf - p);

		pos += n + 1;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (p == buf + start) {
			rc = parse_request_line(p, n, req, &tstart, &tlen);
			req->target = p + tstart;
		} else if (n == 0) {
			break; /* the empty line that ends the head */
		} else {
			rc = parse_field(p, n, req);
		}
		if (rc < 0)
			return rc;
	}
	req->target[tlen] = '\0'; /* over the SP before the version */
	return apply_semantics(req);
}

int
http1_parse_head(char *buf, size_t len, struct http_request *req)
{
	size_t start = 0, end = 0;
	int rc;

	memset(req, 0, sizeof(*req));
	if ((rc = find_head(buf, len, &start, &end)) < 0)
		goto out;
	if (rc == 1) {
		rc = precheck(buf + start, len - start, req);
		goto out;
	}
	if ((rc = parse_lines(buf, start, end, req)) == 0)
		rc = (int)end;
out:
	return rc;
}

const char *
http1_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* Does any header called name list token (comma-separated, any case)? */
static bool
header_lists(const struct http_request *req, const char *name,
	     const char *token)
{
	const char *cur, *tok;
	size_t n;

	for (size_t i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].name, name) != 0)
			continue;
		cur = req->headers[i].value;
		while (list_next(&cur, &tok, &n))
			if (tok_is(tok, n, token))
				return true;
	}
	return false;
}

bool
http1_is_websocket(const struct http_request *req)
{
	return strcmp(req->method, "GET") == 0 && req->minor >= 1 &&
	       req->framing == HTTP1_NO_BODY &&
	       header_lists(req, "Upgrade", "websocket") &&
	       header_lists(req, "Connection", "upgrade");
}

enum chunk_state {
	CH_SIZE,    /* hex digits of the chunk size */
	CH_BWS,	    /* white space after the size */
	CH_EXT,	    /* chunk extension, skipped */
	CH_SIZE_LF, /* CR of the size line seen */
	CH_DATA,
	CH_DATA_CR, /* CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER,	 /* start of a trailer line */
	CH_TRAILER_LINE, /* inside one, skipped */
	CH_TRAILER_LF,
	CH_END_LF, /* CR of the final empty line seen */
};

void
http1_chunked_init(struct http1_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

static int
hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The size line: `1*HEXDIG [BWS ; ext] CRLF`. */
static int
step_size(struct http1_chunked *c, unsigned char ch)
{
	int h = hexval(ch);

	if (++c->line > HTTP1_MAX_HEAD)
		return HTTP1_BAD;
	if (c->state == CH_SIZE && h >= 0) {
		if (c->remaining > UINT64_MAX >> 4)
			return HTTP1_BAD; /* over 64 bits */
		c->remaining = c->remaining << 4 | (uint64_t)h;
		c->digits = true;
		return 0;
	}
	if (!c->digits)
		return HTTP1_BAD;
	if (ch == '\r')
		c->state = CH_SIZE_LF;
	else if (c->state == CH_EXT)
		return is_ctl(ch) ? HTTP1_BAD : 0;
	else if (ch == ';')
		c->state = CH_EXT;
	else if (ch == ' ' || ch == '\t')
		c->state = CH_BWS;
	else
		return HTTP1_BAD;
	return 0;
}

/* Line ends inside the body are strict CRLF: a caller that forwards the
 * raw bytes must never let upstream see a different framing. */
static int
step(struct http1_chunked *c, unsigned char ch)
{
	switch (c->state) {
	case CH_SIZE:
	case CH_BWS:
	case CH_EXT: return step_size(c, ch);
	case CH_SIZE_LF:
		if (ch != '\n')
			return HTTP1_BAD;
		c->state = c->remaining ? CH_DATA : CH_TRAILER;
		c->line = 0;
		c->digits = false;
		return 0;
	case CH_DATA_CR:
		c->state = CH_DATA_LF;
		return ch == '\r' ? 0 : HTTP1_BAD;
	case CH_DATA_LF: c->state = CH_SIZE; return ch == '\n' ? 0 : HTTP1_BAD;
	}
	if (++c->trailer > HTTP1_MAX_HEAD)
		return HTTP1_BAD;
	if (c->state == CH_TRAILER_LF || c->state == CH_END_LF) {
		if (ch != '\n')
			return HTTP1_BAD;
		c->done = c->state == CH_END_LF;
		c->state = CH_TRAILER;
	} else if (ch == '\r') {
		c->state = c->state == CH_TRAILER ? CH_END_LF : CH_TRAILER_LF;
	} else if (is_ctl(ch)) {
		return HTTP1_BAD;
	} else {
		c->state = CH_TRAILER_LINE;
	}
	return 0;
}

int
http1_chunked_decode(struct http1_chunked *c, const char *in, size_t len,
		     size_t *consumed, char *out, size_t out_cap,
		     size_t *out_len)
{
	size_t i = 0, o = 0;
	int rc = 0;

	while (i < len && !c->done) {
		if (c->state == CH_DATA) {
			size_t n = len - i;

			if (n > c->remaining)
				n = (size_t)c->remaining;
			if (out && n > out_cap - o)
				n = out_cap - o;
			if (n == 0)
				break; /* out is full */
			if (out)
				memcpy(out + o, in + i, n);
			o += n;
			i += n;
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		if ((rc = step(c, (unsigned char)in[i])) < 0)
			goto out;
		i++;
	}
out:
	*consumed = i;
	*out_len = out ? o : 0;
	return rc;
}

void
http1_request_move(struct http_request *req, const char *old, char *new)
{
	req->target = new + (req->target - old);
	for (size_t i = 0; i < req->nheaders; i++) {
		req->headers[i].name = new + (req->headers[i].name - old);
		req->headers[i].value = new + (req->headers[i].value - old);
	}
	if (req->host)
		req->host = new + (req->host - old);
}
