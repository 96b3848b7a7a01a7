/* SPDX-License-Identifier: GPL-2.0-or-later
 * http1.h - HTTP/1.1 request-head parser and body framing (pure: buffers
 * in, no sockets).
 */
#ifndef AGP_HTTP1_H
#define AGP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEAD (64 * 1024)
#define HTTP1_MAX_HEADERS 100

/* A header as received; both strings point into the parsed buffer and
 * are NUL-terminated there, the value without surrounding white space. */
struct http_header {
	const char *name;
	const char *value;
};

#endif
