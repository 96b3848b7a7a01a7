/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_ws.h - the upstream leg of an Upgrade (WebSocket) exchange:
 * libcurl connects (the same resolver entry, connect timeout and upstream
 * trust check as every exchange) and then leaves the connection to us;
 * the request head goes out with curl_easy_send() and the response comes
 * back with curl_easy_recv(), so that after a 101 both directions can be
 * relayed as raw bytes.
 *
 * Threading: a struct upstream_ws belongs to one worker thread.
 * Ownership: upstream_ws_open() hands the caller the connection, freed
 *   (and closed) with upstream_ws_free(). Head strings live as long as it.
 */
#ifndef AGP_UPSTREAM_WS_H
#define AGP_UPSTREAM_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http1.h"
#include "upstream.h"

struct upstream_ws;

/* Connects to req's origin, sends req's head (method, target, headers as
 * upstream_head_upgrade_request() builds them; no body) and reads the
 * response head, waiting at most the upstream idle timeout for it.
 * Returns 0 with *out, whatever the status, or an UPSTREAM_E_* code
 * (nothing reached the client). */
int upstream_ws_open(struct upstream_xfer *x,
		     const struct upstream_request *req, int write_timeout_ms,
		     struct upstream_ws **out);
void upstream_ws_free(struct upstream_ws *w);

/* The response status and reason, and its headers for the client: with
 * Upgrade and Connection after a 101, end-to-end only otherwise. out has
 * room for upstream_ws_nheaders() entries; returns how many it filled. */
int upstream_ws_status(const struct upstream_ws *w, const char **reason);
size_t upstream_ws_nheaders(const struct upstream_ws *w);
size_t upstream_ws_headers(const struct upstream_ws *w,
			   struct http_header *out);
/* The value of the response's first header called name, or NULL. */
const char *upstream_ws_header(const struct upstream_ws *w, const char *name);

/* For an answer other than 101: hands its body to cb->body (de-chunked,
 * never decoded) as it comes, framed by Transfer-Encoding, Content-Length
 * or the close; head_request: there is none. Returns 0 at the body's
 * normal end, or UPSTREAM_E_BROKEN, _TIMEOUT (upstream silent for the
 * idle timeout) or _ABORTED (cb->body failed). */
int upstream_ws_body(struct upstream_ws *w, bool head_request,
		     const struct upstream_callbacks *cb);

/* After a 101: the socket to poll() for reading. Bytes may wait inside
 * the TLS layer too: read with upstream_ws_recv() until it says
 * -EAGAIN before polling again. */
int upstream_ws_fd(const struct upstream_ws *w);

/* Reads what there is, without waiting: > 0 bytes, 0 at the close,
 * -EAGAIN when nothing is there yet, or -EIO. */
ssize_t upstream_ws_recv(struct upstream_ws *w, char *buf, size_t len);

/* Sends all of buf, waiting at most timeout_ms for the peer to take each
 * piece. 0, or UPSTREAM_E_TIMEOUT or UPSTREAM_E_BROKEN. */
int upstream_ws_send(struct upstream_ws *w, const char *buf, size_t len,
		     int timeout_ms);

/* True once the daemon is stopping (upstream_stop()). */
bool upstream_ws_stopping(const struct upstream_ws *w);

#endif
