/* SPDX-License-Identifier: GPL-2.0-or-later
 * dashboard.c - serves the built-in dashboard files (see dashboard.h).
 *
 * The page runs no inline script or style and loads nothing but the
 * daemon's own files and API, so its Content-Security-Policy can forbid
 * everything else: a page showing agents' data must not be a way to
 * send it anywhere, even if a model name or host in a record were
 * crafted to inject markup.
 * Threading: libmicrohttpd's thread; the files are constant.
 */
#include "config.h"

#include <string.h>

#include "dashboard.h"

/* Generated from data/dashboard/ by build-aux/embed.sh. */
extern const struct dashboard_file dashboard_files[];
extern const size_t dashboard_nfiles;

#define DASHBOARD_CSP                                            \
	"default-src 'none'; script-src 'self'; "                \
	"style-src 'self'; img-src 'self'; connect-src 'self'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const struct dashboard_file *
dashboard_find(const char *url)
{
	if (strcmp(url, "/") == 0)
		url = "/dashboard/index.html";
	for (size_t i = 0; i < dashboard_nfiles; i++)
		if (strcmp(url, dashboard_files[i].path) == 0)
			return &dashboard_files[i];
	return NULL;
}

enum MHD_Result
dashboard_reply(struct MHD_Connection *conn, const struct dashboard_file *f)
{
	const char *inm = MHD_lookup_connection_value(
		conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	unsigned status = MHD_HTTP_OK;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (inm && strcmp(inm, f->etag) == 0)
		status = MHD_HTTP_NOT_MODIFIED;
	/* The data is static: libmicrohttpd neither copies nor frees it. */
	r = MHD_create_response_from_buffer(status == MHD_HTTP_OK ? f->len : 0,
					    (void *)f->data,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	if (status == MHD_HTTP_OK)
		MHD_add_response_header(r, "Content-Type", f->type);
	/* The names are not fingerprinted, so the browser revalidates (a
	 * 304 by ETag): an upgraded daemon's page never runs an old
	 * script. */
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	MHD_add_response_header(r, "ETag", f->etag);
	MHD_add_response_header(r, "Content-Security-Policy", DASHBOARD_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}
