/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_ws.c - the upstream leg of an Upgrade exchange over a libcurl
 * CONNECT_ONLY connection: the request head, the response head, then
 * either the body of a refusal or raw bytes both ways.
 *
 * Threading: a struct upstream_ws belongs to one worker thread.
 * Ownership: it owns its easy handle (and so the connection), the
 *   response head and the bytes read past it.
 *
 * curl 7.88 has no WebSocket support of its own for an https:// URL
 * (CURLOPT_CONNECT_ONLY 2 and curl_ws_*() are for ws:// and wss:// and
 * were experimental then), and it would frame and so change the bytes:
 * CONNECT_ONLY=1 gives the connection up once TCP and TLS are done, the
 * trust check is upstream.c's, and curl_easy_send()/curl_easy_recv() move
 * bytes through curl's TLS session untouched. Neither waits: a wait is a
 * poll() on CURLINFO_ACTIVESOCKET. curl_easy_recv() is called until it
 * says CURLE_AGAIN before each wait, so no decrypted bytes stay behind in
 * the TLS layer unseen.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "net.h"
#include "upstream_head.h"
#include "upstream_ws.h"

#define UPSTREAM_WS_READ 16384
#define UPSTREAM_WS_POLL_MS 1000 /* checks for upstream_stop() */

struct upstream_ws {
	struct upstream_xfer *x;
	CURL *easy;
	int fd;
	struct upstream_head head;
	char *extra; /* bytes read past the head */
	size_t extra_len, extra_off;
	char errbuf[CURL_ERROR_SIZE]; /* curl's, for the connection's life */
};

void
upstream_ws_free(struct upstream_ws *w)
{
	if (!w)
		return;
	if (w->easy)
		curl_easy_cleanup(w->easy);
	upstream_head_clear(&w->head);
	free(w->extra);
	free(w);
}

/* Waits until fd is ready for events or timeout_ms passes (or the daemon
 * stops); 1 ready, 0 not. */
static int
ws_wait(struct upstream_ws *w, short events, int timeout_ms)
{
	long long end = clock_mono_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = w->fd, .events = events };
		long long left = end - clock_mono_ms();
		int r;

		if (left <= 0 || upstream_xfer_stopping(w->x))
			return 0;
		r = poll(&p, 1,
			 left > UPSTREAM_WS_POLL_MS ? UPSTREAM_WS_POLL_MS
						    : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
	}
}

ssize_t
upstream_ws_recv(struct upstream_ws *w, char *buf, size_t len)
{
	size_t n = 0;
	CURLcode c;

	if (w->extra_off < w->extra_len) {
		n = w->extra_len - w->extra_off;
		if (n > len)
			n = len;
		memcpy(buf, w->extra + w->extra_off, n);
		w->extra_off += n;
		return (ssize_t)n;
	}
	w->errbuf[0] = '\0';
	c = curl_easy_recv(w->easy, buf, len, &n);
	if (c == CURLE_AGAIN)
		return -EAGAIN;
	/* A close without close_notify is a close, as tls.c takes it from
	 * clients: many servers just close after the closing handshake. */
	if (c == CURLE_RECV_ERROR && strstr(w->errbuf, "(-110)"))
		return 0;
	if (c != CURLE_OK)
		return -EIO;
	return (ssize_t)n;
}

/* Reads, waiting at most timeout_ms: > 0, 0 at the close, or <0. */
static ssize_t
ws_read(struct upstream_ws *w, char *buf, size_t len, int timeout_ms)
{
	ssize_t n;

	while ((n = upstream_ws_recv(w, buf, len)) == -EAGAIN)
		if (!ws_wait(w, POLLIN, timeout_ms))
			return -ETIMEDOUT;
	return n;
}

int
upstream_ws_send(struct upstream_ws *w, const char *buf, size_t len,
		 int timeout_ms)
{
	while (len > 0) {
		size_t n = 0;
		CURLcode c = curl_easy_send(w->easy, buf, len, &n);

		if (c == CURLE_AGAIN) {
			if (!ws_wait(w, POLLOUT, timeout_ms))
				return UPSTREAM_E_TIMEOUT;
			continue;
		}
		if (c != CURLE_OK)
			return UPSTREAM_E_BROKEN;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Reads the response head; bytes after it are kept in w->extra. 0, or an
 * UPSTREAM_E_ code. A 100 or 103 before the final answer is skipped. */
static int
ws_read_head(struct upstream_ws *w, int timeout_ms)
{
	struct buf b = BUF_INIT(4 * UPSTREAM_WS_READ); /* the longest head */
	size_t line = 0;
	char *nl;
	ssize_t n;
	int rc = UPSTREAM_E_NOMEM, r;

	if (!buf_reserve(&b, UPSTREAM_WS_READ))
		goto out;
	for (;;) {
		while ((nl = memchr(b.data + line, '\n', b.len - line))) {
			size_t l = (size_t)(nl - b.data) + 1 - line;
			bool blank = l == 1 || (l == 2 && b.data[line] == '\r');

			r = upstream_head_feed(&w->head, b.data + line, l);
			line += l;
			/* the feed ends no 1xx head: a 101 is final here */
			if (r < 0 || r == 1 ||
			    (r == 0 && blank && w->head.status == 101)) {
				rc = r < 0 ? UPSTREAM_E_CONNECT : 0;
				goto out;
			}
		}
		if (b.len == b.cap) {
			rc = UPSTREAM_E_CONNECT; /* a head over the cap */
			if (b.cap >= b.max)
				goto out;
			rc = UPSTREAM_E_NOMEM;
			if (!buf_reserve(&b, b.cap + 1))
				goto out;
		}
		n = ws_read(w, b.data + b.len, b.cap - b.len, timeout_ms);
		if (n <= 0) {
			rc = n == -ETIMEDOUT ? UPSTREAM_E_TIMEOUT
					     : UPSTREAM_E_CONNECT;
			goto out;
		}
		b.len += (size_t)n;
	}
out:
	if (rc == 0 && line < b.len) {
		memmove(b.data, b.data + line, b.len - line);
		w->extra = b.data; /* w owns the bytes now */
		w->extra_len = b.len - line;
		b.data = NULL;
	}
	buf_free(&b);
	return rc;
}

int
upstream_ws_open(struct upstream_xfer *x, const struct upstream_request *req,
		 int write_timeout_ms, struct upstream_ws **out)
{
	struct upstream_ws *w = calloc(1, sizeof(*w));
	char *head = NULL, origin[NET_HOST_MAX + 8];
	size_t hlen = 0;
	curl_socket_t fd = CURL_SOCKET_BAD;
	void *easy = NULL;
	int rc = UPSTREAM_E_NOMEM;

	*out = NULL;
	if (!w || !(head = upstream_head_upgrade_request(
			    req->method, req->target, req->headers,
			    req->nheaders, &hlen)))
		goto out;
	w->x = x;
	if ((rc = upstream_connect_only(x, req, &easy)) < 0)
		goto out;
	w->easy = easy;
	rc = UPSTREAM_E_CONNECT;
	/* upstream_connect_only()'s error buffer and resolve list were its
	 * own and are gone */
	if (curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->errbuf) ||
	    curl_easy_setopt(w->easy, CURLOPT_RESOLVE, NULL))
		goto out;
	if (curl_easy_getinfo(w->easy, CURLINFO_ACTIVESOCKET, &fd) !=
		    CURLE_OK ||
	    fd == CURL_SOCKET_BAD)
		goto out;
	w->fd = (int)fd;
	if ((rc = upstream_ws_send(w, head, hlen, write_timeout_ms)) < 0) {
		rc = rc == UPSTREAM_E_TIMEOUT ? rc : UPSTREAM_E_CONNECT;
		goto out;
	}
	if ((rc = ws_read_head(w, (int)upstream_xfer_idle_ms(x))) < 0)
		goto out;
	*out = w;
	w = NULL;
out:
	if (rc < 0 && net_join_hostport(req->host ? req->host : "-", req->port,
					origin, sizeof(origin)) == 0)
		log_warnx("upstream: %s https://%s (upgrade): %s", req->method,
			  origin, upstream_strerror(rc));
	upstream_ws_free(w);
	free(head);
	return rc;
}

int
upstream_ws_status(const struct upstream_ws *w, const char **reason)
{
	if (reason)
		*reason = w->head.reason ? w->head.reason : "";
	return w->head.status;
}

size_t
upstream_ws_nheaders(const struct upstream_ws *w)
{
	return w->head.nhdrs;
}

size_t
upstream_ws_headers(const struct upstream_ws *w, struct http_header *out)
{
	return w->head.status == 101 ? upstream_head_upgrade(&w->head, out)
				     : upstream_head_e2e(&w->head, out);
}

const char *
upstream_ws_header(const struct upstream_ws *w, const char *name)
{
	for (size_t i = 0; i < w->head.nhdrs; i++)
		if (strcasecmp(w->head.hdrs[i].name, name) == 0)
			return w->head.hdrs[i].value;
	return NULL;
}

int
upstream_ws_fd(const struct upstream_ws *w)
{
	return w->fd;
}

bool
upstream_ws_stopping(const struct upstream_ws *w)
{
	return upstream_xfer_stopping(w->x);
}

/* One piece of a chunked body, de-chunked; 1 at the end, 0, or <0. */
static int
ws_chunked(struct http1_chunked *ch, const char *buf, size_t len,
	   const struct upstream_callbacks *cb)
{
	char out[UPSTREAM_WS_READ];
	size_t used, outn;

	while (len > 0 && !ch->done) {
		if (http1_chunked_decode(ch, buf, len, &used, out, sizeof(out),
					 &outn) < 0)
			return UPSTREAM_E_BROKEN;
		if (outn && cb->body(cb->arg, out, outn) < 0)
			return UPSTREAM_E_ABORTED;
		buf += used;
		len -= used;
	}
	return ch->done ? 1 : 0;
}

int
upstream_ws_body(struct upstream_ws *w, bool head_request,
		 const struct upstream_callbacks *cb)
{
	const char *te = upstream_ws_header(w, "Transfer-Encoding");
	const char *cl = upstream_ws_header(w, "Content-Length");
	int status = w->head.status, idle = (int)upstream_xfer_idle_ms(w->x);
	bool chunked = te && strcasestr(te, "chunked");
	unsigned long long left = cl ? strtoull(cl, NULL, 10) : 0;
	struct http1_chunked ch;
	char buf[UPSTREAM_WS_READ];
	ssize_t n;
	int r;

	if (head_request || status < 200 || status == 204 || status == 304 ||
	    (!chunked && cl && left == 0))
		return 0;
	http1_chunked_init(&ch);
	for (;;) {
		size_t want = sizeof(buf);

		if (!chunked && cl && left < want)
			want = (size_t)left;
		n = ws_read(w, buf, want, idle);
		if (n == -ETIMEDOUT)
			return UPSTREAM_E_TIMEOUT;
		if (n == 0 && !chunked && !cl)
			return 0; /* the close ends it */
		if (n <= 0)
			return UPSTREAM_E_BROKEN;
		if (chunked) {
			if ((r = ws_chunked(&ch, buf, (size_t)n, cb)) != 0)
				return r > 0 ? 0 : r;
			continue;
		}
		if (cb->body(cb->arg, buf, (size_t)n) < 0)
			return UPSTREAM_E_ABORTED;
		if (cl && (left -= (unsigned long long)n) == 0)
			return 0;
	}
}
