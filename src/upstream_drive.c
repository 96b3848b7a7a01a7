/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_drive.c - runs one libcurl transfer with
 * curl_multi_socket_action() and one poll() over the sockets curl names.
 *
 * Why not curl_easy_perform(): it drives an internal multi handle with
 *   curl_multi_poll(), which polls curl's wakeup socket before each pass,
 *   and curl_multi_perform(), after which curl polls the connection again
 *   with a zero timeout because it was not told which socket is ready:
 *   three syscalls per exchange on a warm connection that only add
 *   latency. Told by curl_multi_socket_action(), curl reads at once.
 * Threading: all state lives on the caller's stack for one transfer; the
 *   multi handle's callbacks see it through CURLMOPT_SOCKETDATA and
 *   CURLMOPT_TIMERDATA, which are NULL between transfers (curl may close a
 *   cached connection then, or in curl_multi_cleanup()).
 * Ownership: see upstream_drive.h.
 */
#include "config.h"

#include "upstream_drive.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"

/* Sockets one transfer waits on: one, or two while happy eyeballs races
 * IPv6 against IPv4. */
#define DRIVE_WATCH_MAX	4

struct drive {
	struct pollfd watch[DRIVE_WATCH_MAX];	/* what curl waits for */
	size_t nwatch;
	long long timer_at_ms;		/* run curl's timeouts then; -1 */
};

/* Keeps d->watch in step with what curl wants to wait for. */
static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct drive *d = arg;
	size_t i;

	(void)easy;
	(void)sockp;
	if (!d)
		return 0;
	for (i = 0; i < d->nwatch && d->watch[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < d->nwatch)
			d->watch[i] = d->watch[--d->nwatch];
		return 0;
	}
	if (i == d->nwatch) {
		if (d->nwatch == DRIVE_WATCH_MAX)
			return -1;	/* curl fails the transfer */
		d->nwatch++;
	}
	d->watch[i].fd = fd;
	d->watch[i].events = (short)((what & CURL_POLL_IN ? POLLIN : 0) |
	                             (what & CURL_POLL_OUT ? POLLOUT : 0));
	d->watch[i].revents = 0;
	return 0;
}

static int
on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct drive *d = arg;

	(void)multi;
	if (d)
		d->timer_at_ms = timeout_ms < 0 ? -1 :
		                 clock_mono_ms() + timeout_ms;
	return 0;
}

CURLM *
upstream_drive_multi_new(void)
{
	CURLM *m = curl_multi_init();

	if (m && (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket) ||
	          curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer))) {
		curl_multi_cleanup(m);
		m = NULL;
	}
	return m;
}

/* Tells curl which watched sockets are ready; it may change d->watch
 * meanwhile, so the ready ones are copied out first. */
static CURLMcode
drive_ready(CURLM *multi, struct drive *d, int *running)
{
	struct pollfd ready[DRIVE_WATCH_MAX];
	size_t n = 0;
	CURLMcode mc = CURLM_OK;

	for (size_t i = 0; i < d->nwatch; i++)
		if (d->watch[i].revents)
			ready[n++] = d->watch[i];
	for (size_t i = 0; i < n && mc == CURLM_OK; i++) {
		short r = ready[i].revents, want = ready[i].events;
		int ev = 0;

		/* On an error or hang-up curl does the I/O it wanted and
		 * sees what went wrong. */
		if ((want & POLLIN) && (r & (POLLIN | POLLERR | POLLHUP)))
			ev |= CURL_CSELECT_IN;
		if ((want & POLLOUT) && (r & (POLLOUT | POLLERR | POLLHUP)))
			ev |= CURL_CSELECT_OUT;
		if (!ev)
			ev = CURL_CSELECT_ERR;
		mc = curl_multi_socket_action(multi, ready[i].fd, ev, running);
	}
	return mc;
}

/* How long to wait: the hook's limit, or less until curl's timer. */
static int
drive_wait_ms(const struct drive *d, int limit, long long now)
{
	if (d->timer_at_ms >= 0 && d->timer_at_ms - now < limit)
		return d->timer_at_ms > now ? (int)(d->timer_at_ms - now) : 0;
	return limit;
}

/* The loop: curl's first pass, then wait, hand curl what is ready and
 * what is due, until the transfer ends (CURLE_OK: its result is in the
 * multi's messages) or the hook ends it. */
static CURLcode
drive_loop(CURLM *multi, struct drive *d, upstream_drive_hook hook,
           void *arg, char *errbuf)
{
	CURLMcode mc;
	int running = 1, limit, n;

	mc = curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0,
	                              &running);
	while (mc == CURLM_OK && running) {
		long long now = clock_mono_ms();

		if ((limit = hook(arg, now)) < 0)
			return CURLE_ABORTED_BY_CALLBACK;
		n = poll(d->watch, d->nwatch, drive_wait_ms(d, limit, now));
		if (n < 0 && errno != EINTR) {
			snprintf(errbuf, CURL_ERROR_SIZE, "poll: %s",
			         strerror(errno));
			return CURLE_RECV_ERROR;
		}
		if (n > 0)
			mc = drive_ready(multi, d, &running);
		if (mc == CURLM_OK && d->timer_at_ms >= 0 &&
		    clock_mono_ms() >= d->timer_at_ms) {
			d->timer_at_ms = -1;
			mc = curl_multi_socket_action(multi,
			                              CURL_SOCKET_TIMEOUT, 0,
			                              &running);
		}
	}
	if (mc != CURLM_OK) {
		snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_multi_strerror(mc));
		return CURLE_SEND_ERROR;
	}
	return CURLE_OK;
}

CURLcode
upstream_drive(CURLM *multi, CURL *easy, upstream_drive_hook hook,
               void *arg, char *errbuf)
{
	struct drive d = { .nwatch = 0, .timer_at_ms = -1 };
	CURLcode c = CURLE_OUT_OF_MEMORY;
	CURLMsg *msg;
	int left;

	if (curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, &d) ||
	    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, &d) ||
	    curl_multi_add_handle(multi, easy))
		goto out;
	if ((c = drive_loop(multi, &d, hook, arg, errbuf)) == CURLE_OK) {
		c = CURLE_RECV_ERROR;	/* should curl report nothing */
		while ((msg = curl_multi_info_read(multi, &left)))
			if (msg->msg == CURLMSG_DONE &&
			    msg->easy_handle == easy)
				c = msg->data.result;
	}
	curl_multi_remove_handle(multi, easy);
out:
	curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, NULL);
	curl_multi_setopt(multi, CURLMOPT_TIMERDATA, NULL);
	return c;
}
