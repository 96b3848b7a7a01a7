/* SPDX-License-Identifier: GPL-2.0-or-later
 * peer.c - who opened a redirected connection, from the kernel's socket
 * table (NETLINK_SOCK_DIAG).
 *
 * A REDIRECTed connection is local: the client's socket sits in this
 * host's table under (client address, original destination), and
 * sock_diag reports its owner uid and, since Linux 5.9, its cgroup id,
 * both to any user. The cgroup id is the inode number of the cgroup's
 * directory, so a run's cgroup (cgroup.h) names the run. Nothing here
 * reads /proc of other users, which the unprivileged daemon could not.
 *
 * Threading: see peer.h. Ownership: nothing is kept.
 */
#include "config.h"

#include "peer.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PEER_TIMEOUT_MS 200

/* An IPv4-mapped IPv6 address as the IPv4 one it is. */
static void
unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memcpy(ss, &s4, sizeof(s4));
}

/* Fills the request's socket id: source is the client, destination
 * where it connected to. -1 when the families differ or are odd. */
static int
fill_id(struct inet_diag_req_v2 *req, const struct sockaddr_storage *src,
	const struct sockaddr_storage *dst)
{
	if (src->ss_family != dst->ss_family)
		return -1;
	req->sdiag_family = (uint8_t)src->ss_family;
	if (src->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src;
		const struct sockaddr_in *d = (const void *)dst;

		req->id.idiag_sport = s->sin_port;
		req->id.idiag_dport = d->sin_port;
		memcpy(req->id.idiag_src, &s->sin_addr, 4);
		memcpy(req->id.idiag_dst, &d->sin_addr, 4);
	} else if (src->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)src;
		const struct sockaddr_in6 *d = (const void *)dst;

		req->id.idiag_sport = s->sin6_port;
		req->id.idiag_dport = d->sin6_port;
		memcpy(req->id.idiag_src, &s->sin6_addr, 16);
		memcpy(req->id.idiag_dst, &d->sin6_addr, 16);
	} else {
		return -1;
	}
	return 0;
}

/* Reads uid and cgroup id out of one sock_diag answer. */
static int
parse_answer(const char *buf, size_t len, struct peer_info *out)
{
	const struct nlmsghdr *nh = (const void *)buf;
	const struct inet_diag_msg *m;
	const struct rtattr *a;
	size_t alen;

	if (!NLMSG_OK(nh, len) || nh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -1;
	m = NLMSG_DATA(nh);
	out->uid = (long)m->idiag_uid;
	out->known = true;
	a = (const void *)(m + 1);
	alen = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
		if (a->rta_type == INET_DIAG_CGROUP_ID &&
		    RTA_PAYLOAD(a) >= sizeof(uint64_t))
			memcpy(&out->cgroup_id, RTA_DATA(a), sizeof(uint64_t));
	return 0;
}

static int
ask(const struct inet_diag_req_v2 *req, struct peer_info *out)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nh = { .nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST },
		.req = *req,
	};
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct pollfd p;
	int fd, rc = -1;
	ssize_t n;

	if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
			 NETLINK_SOCK_DIAG)) < 0)
		return -1;
	p = (struct pollfd){ fd, POLLIN, 0 };
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&nl,
		   sizeof(nl)) == (ssize_t)sizeof(msg) &&
	    poll(&p, 1, PEER_TIMEOUT_MS) == 1 &&
	    (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		rc = parse_answer(buf, (size_t)n, out);
	close(fd);
	return rc;
}

int
peer_lookup(int fd, const struct sockaddr_storage *dst, const char *agents_dir,
	    struct peer_info *out)
{
	struct inet_diag_req_v2 req = {
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_states = ~0U,
		.id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
	};
	struct sockaddr_storage src, to = *dst;
	socklen_t len = sizeof(src);

	memset(out, 0, sizeof(*out));
	out->uid = -1;
	if (getpeername(fd, (struct sockaddr *)&src, &len) < 0)
		return -1;
	unmap(&src);
	unmap(&to);
	if (fill_id(&req, &src, &to) < 0 || ask(&req, out) < 0)
		return -1;
	if (agents_dir && out->cgroup_id &&
	    !cgroup_run_find(agents_dir, out->cgroup_id, &out->pid, out->agent,
			     sizeof(out->agent)))
		out->pid = 0;
	return 0;
}
