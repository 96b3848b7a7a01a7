/* SPDX-License-Identifier: GPL-2.0-or-later
 * origdst.c - where a redirected connection was going.
 *
 * Netfilter keeps the pre-NAT destination of a REDIRECTed connection in
 * its conntrack entry; SO_ORIGINAL_DST reads it for IPv4 and
 * IP6T_SO_ORIGINAL_DST for IPv6 (both option 80, at different levels).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "origdst.h"

int
origdst_get(int fd, struct sockaddr_storage *dst)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	memset(dst, 0, sizeof(*dst));
	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		return -1;
	len = sizeof(*dst);
	if (local.ss_family == AF_INET6) {
		const struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)&local;

		/* An IPv4 client on a dual-stack socket is still IPv4 to
		 * netfilter. */
		if (!IN6_IS_ADDR_V4MAPPED(&l6->sin6_addr))
			return getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST,
					  dst, &len);
	}
	return getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, &len);
}

bool
origdst_is_self(int fd, const struct sockaddr_storage *dst)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		return true; /* cannot tell: refuse rather than loop */
	if (local.ss_family == AF_INET && dst->ss_family == AF_INET) {
		const struct sockaddr_in *a =
			(const struct sockaddr_in *)&local;
		const struct sockaddr_in *b = (const struct sockaddr_in *)dst;

		return a->sin_port == b->sin_port &&
		       a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (local.ss_family == AF_INET6 && dst->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a =
			(const struct sockaddr_in6 *)&local;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)dst;

		return a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr,
			      sizeof(a->sin6_addr)) == 0;
	}
	return false;
}
