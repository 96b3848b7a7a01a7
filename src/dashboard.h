/* SPDX-License-Identifier: GPL-2.0-or-later
 * dashboard.h - the web dashboard at GET /: a page, its script and its
 * style, built into the binary and served by the API thread.
 *
 * The files live in data/dashboard/; the build turns them into
 * dashboard_files.c (build-aux/embed.sh), so the daemon serves them from
 * the build tree and an installed binary needs no path.
 * Threading: the table is constant; any thread may read it.
 */
#ifndef AGP_DASHBOARD_H
#define AGP_DASHBOARD_H

#include <stddef.h>

#include <microhttpd.h>

/* One built-in file: the URL path it answers, its Content-Type and an
 * ETag (a checksum of its bytes, quoted). */
struct dashboard_file {
	const char *path;
	const char *type;
	const char *etag;
	const unsigned char *data;
	size_t len;
};

/* The built-in file served at url ("/" is /dashboard/index.html), or
 * NULL. */
const struct dashboard_file *dashboard_find(const char *url);

/* Queues f, with its headers (a strict Content-Security-Policy among
 * them), as the answer to conn, or a 304 when the client's
 * If-None-Match names its ETag; the caller has checked the method. */
enum MHD_Result dashboard_reply(struct MHD_Connection *conn,
				const struct dashboard_file *f);

#endif
