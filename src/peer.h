/* SPDX-License-Identifier: GPL-2.0-or-later
 * peer.h - who opened a redirected connection: the uid and cgroup of the
 * client's socket, and the `run` it belongs to.
 *
 * Threading: reentrant; each call opens and closes its own netlink
 *   socket. Needs no privilege.
 */
#ifndef AGP_PEER_H
#define AGP_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cgroup.h"

struct peer_info {
	bool known;		      /* the kernel told us about the socket */
	long uid;		      /* the socket's owner; -1 unknown */
	uint64_t cgroup_id;	      /* its cgroup v2 id; 0 unknown */
	long pid;		      /* the run's pid; 0 when not a run */
	char agent[CGROUP_AGENT_MAX]; /* the run's agent, else "" */
};

/*
 * Asks sock_diag about the client's end of the accepted connection fd,
 * whose original destination was dst: its owner uid and cgroup id. With
 * agents_dir (the agents cgroup's directory, NULL for none), a run's
 * cgroup gives the run's pid and agent. 0 with *out filled, or -1 with
 * out->known false when the kernel does not know the socket (it is not
 * local, or it is gone).
 */
int peer_lookup(int fd, const struct sockaddr_storage *dst,
		const char *agents_dir, struct peer_info *out);

#endif
