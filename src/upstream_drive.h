/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_drive.h - runs one libcurl transfer with
 * curl_multi_socket_action() and poll(), in the calling thread.
 *
 * Threading: a multi handle from upstream_drive_multi_new() and the easy
 *   handle run on it belong to one thread at a time, like any curl handle.
 * Ownership: the caller owns both handles; upstream_drive() only puts the
 *   easy handle into the multi for the length of the transfer.
 */
#ifndef AGP_UPSTREAM_DRIVE_H
#define AGP_UPSTREAM_DRIVE_H

#include <curl/curl.h>

/* Called before each wait with the monotonic time in ms: returns the
 * longest the transfer may wait now (ms), or < 0 to cut it short. */
typedef int (*upstream_drive_hook)(void *arg, long long now_ms);

/* A multi handle whose socket and timer callbacks upstream_drive()
 * serves; it holds the connection cache of the easy handles run on it.
 * NULL when out of memory. Free with curl_multi_cleanup(). */
CURLM *upstream_drive_multi_new(void);

/* Runs easy's transfer on multi to its end, then takes easy out of multi
 * again, which keeps the connection in multi's cache unless the transfer
 * was cut short. hook runs before every wait. Returns curl's result,
 * CURLE_ABORTED_BY_CALLBACK when hook cut the transfer short, or another
 * error with the reason in errbuf (CURL_ERROR_SIZE bytes) when the loop
 * itself failed. */
CURLcode upstream_drive(CURLM *multi, CURL *easy, upstream_drive_hook hook,
                        void *arg, char *errbuf);

#endif
