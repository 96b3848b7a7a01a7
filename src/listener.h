/* SPDX-License-Identifier: GPL-2.0-or-later
 * listener.h - the MITM listeners, the accept thread and the workers.
 */
#ifndef AGP_LISTENER_H
#define AGP_LISTENER_H

#include <stddef.h>

struct proxy;
struct listener;

/* Binds every address of px->opt->mitm_listen. NULL with errno set and
 * the failing address logged. */
struct listener *listener_new(struct proxy *px);

/* Starts the accept thread; 0 or -1. */
int listener_start(struct listener *l);

/* Stops accepting and lets the exchanges in flight finish, for at most
 * grace_ms: the reading side of every client socket is shut down, so a
 * worker waiting between requests ends at once and one in an exchange
 * after it. Returns how many connections are still open (0: all done);
 * listener_free() cuts those. NULL is a no-op. */
size_t listener_drain(struct listener *l, long grace_ms);

/* Stops accepting, shuts down the connections still open (so their
 * workers record what they saw and end) and waits for every worker, at
 * most grace_ms. Then frees l and returns 0; returns -1, freeing
 * nothing, when workers are still running: the shared state they use
 * must then outlive them. NULL is a no-op. */
int listener_free(struct listener *l, long grace_ms);

#endif
