/* SPDX-License-Identifier: GPL-2.0-or-later
 * control.h - the control socket: `run` asks the daemon to move it into
 * the agents cgroup.
 *
 * Protocol, one exchange per connection, lines of at most
 * CONTROL_LINE_MAX bytes:
 *   client: "move PID AGENT\n"   PID must be the connecting process's own
 *   daemon: "ok CGROUP BUNDLE\n" moved; BUNDLE is the CA bundle to trust
 *           "error MESSAGE\n"    refused, MESSAGE says why and what to do
 * The peer is known by SO_PEERCRED and held by a pidfd (SO_PEERPIDFD,
 * else pidfd_open()), so only the caller itself is ever moved and a
 * reused pid never is.
 *
 * Threading: the server side lives in the supervisor, a single-threaded
 *   root process; the client side in `run`. Ownership: struct control
 *   owns its listening socket and its pending clients.
 */
#ifndef AGP_CONTROL_H
#define AGP_CONTROL_H

#include <poll.h>
#include <stddef.h>

#include "cgroup.h"

#define CONTROL_LINE_MAX 256
#define CONTROL_CLIENTS 8 /* served at once; a ninth waits */

struct control_request {
	long pid;
	char agent[CGROUP_AGENT_MAX];
};

/* Parses one request line (its '\n' optional); 0 or -1. */
int control_request_parse(const char *buf, size_t len,
			  struct control_request *r);

/* Whether the kernel matches sockets by cgroup: "cgroup" in matches
 * (CONTROL_MATCHES, where x_tables lists its registered matches; xt_cgroup
 * is there once mitm-redirect.sh added its rule, or when built in).
 * 0, or -1 with the refusal's line in err. */
#define CONTROL_MATCHES "/proc/net/ip_tables_matches"
int control_check_match(const char *matches, char *err, size_t errlen);

/*
 * Binds the socket at path (its directory made 0755 if missing; a stale
 * socket of a daemon that is gone is replaced), mode 0666: anyone may ask,
 * and each may move only itself. agents is the agents cgroup's name,
 * bundle the path the reply hands out. NULL on failure (logged), also
 * when another daemon answers at path.
 */
struct control *control_new(const char *path, const char *agents,
			    const char *bundle);
void control_free(struct control *ctl);

/* The listening socket's descriptor, to keep across a close of the
 * others. */
int control_fileno(const struct control *ctl);

/* How many runs were moved and how many requests refused so far. */
void control_counts(const struct control *ctl, unsigned long *moved,
		    unsigned long *refused);

/* Removes the socket file; for the process that bound it, at its end. */
void control_unlink(struct control *ctl);

/* The supervisor's poll loop: control_poll() fills at most
 * 1 + CONTROL_CLIENTS entries of pfd and returns how many, and lowers
 * *timeout_ms to the nearest client deadline; control_handle() serves
 * what those entries report. */
int control_poll(struct control *ctl, struct pollfd *pfd, int *timeout_ms);
void control_handle(struct control *ctl, const struct pollfd *pfd, int n);

/*
 * The client: asks the daemon at path to move this process (agent names
 * what it will run). 0 with the bundle path in bundle; -1 with a
 * one-line reason in err.
 */
int control_move_self(const char *path, const char *agent, char *bundle,
		      size_t blen, char *err, size_t errlen);

#endif
