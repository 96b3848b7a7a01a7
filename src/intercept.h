/* SPDX-License-Identifier: GPL-2.0-or-later
 * intercept.h - which hosts are decrypted: the intercept list and the
 * fail-open table of (client, host) pairs whose client rejected our
 * certificate, loudly (an alert) or silently (a close).
 *
 * Threading: intercept_match() reads the list, which is fixed at
 *   intercept_new(); the fail-open table has its own mutex.
 */
#ifndef AGP_INTERCEPT_H
#define AGP_INTERCEPT_H

#include <stdbool.h>
#include <stddef.h>

struct intercept;

/* The default patterns, used when `patterns` is empty. */
#define INTERCEPT_DEFAULTS \
	"*.googleapis.com", "api.anthropic.com", "api.openai.com", "chatgpt.com"

/* Builds the list from the defaults plus `patterns` ("host",
 * "*.suffix" or "*" for every host); fail_open_ms is how long a host
 * stays tunnelled after a rejection. NULL when out of memory. */
struct intercept *intercept_new(char *const *patterns, size_t n,
				long fail_open_ms);
void intercept_free(struct intercept *ic);

/* True when host (lowercase) is on the list. "*.a.b" matches x.a.b and
 * y.x.a.b but not a.b. */
bool intercept_match(const struct intercept *ic, const char *host);

/* The longest client key (a uid, a cgroup path, an address) kept. */
#define INTERCEPT_CLIENT_MAX 128

/* True when host is on the list and not failed open right now for the
 * client named by client (any string that tells clients apart: one
 * client that rejects us must not stop the metering of another). */
bool intercept_wanted(struct intercept *ic, const char *client,
		      const char *host);

/* Marks host as tunnelled for client for the fail-open time. */
void intercept_fail_open(struct intercept *ic, const char *client,
			 const char *host);

/* A connection of client to host finished its handshake and closed
 * before any request byte: returns how many did so in a row (the caller
 * fails open from 2: once is a client that changed its mind). */
unsigned intercept_note_silent(struct intercept *ic, const char *client,
			       const char *host);

/* A request came from client for host: the count above starts again. */
void intercept_note_request(struct intercept *ic, const char *client,
			    const char *host);

#endif
