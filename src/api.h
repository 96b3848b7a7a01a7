/* SPDX-License-Identifier: GPL-2.0-or-later
 * api.h - the HTTP API on 127.0.0.1:8741 (GNU libmicrohttpd).
 *
 * Threading: libmicrohttpd runs its own polling thread; handlers only read
 *   shared state through the usage table's and the metrics' own locks.
 * Ownership: the API keeps pointers to the table and metrics it is given;
 *   they must outlive api_free().
 */
#ifndef AGP_API_H
#define AGP_API_H

#include <stdbool.h>
#include <stddef.h>

struct usage_table;
struct ledger;
struct api;
struct metrics;

/* The rest of /metrics, after the API's own lines, through the one
 * writer (metrics.h). */
typedef void (*api_metrics_fn)(void *arg, struct metrics *m);

/*
 * Starts serving on the listening socket fd (from net_listen(),
 * which the API then owns); `ledger` (may be NULL: no windows, no
 * records) gives /health its state and the API a read connection to
 * usage.db; `metrics` (may be NULL) adds to /metrics.
 * Returns NULL when libmicrohttpd cannot start, having closed fd: the
 * caller gives fd up in every case. Free with api_free(), which stops
 * the thread and closes fd.
 */
struct api *api_new(int fd, struct usage_table *usage, struct ledger *ledger,
		    api_metrics_fn metrics, void *metrics_arg);
void api_free(struct api *a);

/* The version of the /v1/usage document, in its "api_version" field:
 * 2 added until=, tz=, by=week and by=month. A client that needs those
 * checks it; documents without it come from older daemons. */
#define API_VERSION 2

#endif
