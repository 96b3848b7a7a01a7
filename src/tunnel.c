/* SPDX-License-Identifier: GPL-2.0-or-later
 * tunnel.c - raw TCP relay to the original destination.
 *
 * Threading: runs on the connection's worker thread; no shared state.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <unistd.h>

#include "tunnel.h"

#define TUNNEL_BUF (16 * 1024)

int
tunnel_connect(const struct sockaddr_storage *dst, long connect_timeout_ms)
{
	socklen_t len = dst->ss_family == AF_INET6 ?
		sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	struct pollfd p;
	int fd, err = 0, flags, rc;

	if ((fd = socket(dst->ss_family, SOCK_STREAM | SOCK_CLOEXEC |
			 SOCK_NONBLOCK, 0)) < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)dst, len) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		do
			rc = poll(&p, 1, (int)connect_timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc == 0)
			errno = ETIMEDOUT;
		if (rc <= 0)
			goto fail;
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			goto fail;
		if (err) {
			errno = err;
			goto fail;
		}
	}
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* Moves what is readable from `from` to `to`; 0 on progress, 1 at EOF,
 * -1 on an error. The write blocks: the peer's window is our buffer. */
static int
pump(int from, int to, char *buf, ssize_t *moved)
{
	ssize_t n, w, off = 0;

	do
		n = read(from, buf, TUNNEL_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		return 1;
	while (off < n) {
		w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
	}
	*moved += n;
	return 0;
}

ssize_t
tunnel_relay(int a, int b, long idle_timeout_ms)
{
	char buf[TUNNEL_BUF];
	bool a_open = true, b_open = true;
	ssize_t moved = 0;

	while (a_open || b_open) {
		struct pollfd p[2] = {
			{ .fd = a_open ? a : -1, .events = POLLIN },
			{ .fd = b_open ? b : -1, .events = POLLIN },
		};
		int rc = poll(p, 2, (int)idle_timeout_ms), r;

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return -1;	/* idle, or poll failed */
		if (p[0].revents) {
			if ((r = pump(a, b, buf, &moved)) < 0)
				return -1;
			if (r == 1) {
				a_open = false;
				shutdown(b, SHUT_WR);
			}
		}
		if (p[1].revents) {
			if ((r = pump(b, a, buf, &moved)) < 0)
				return -1;
			if (r == 1) {
				b_open = false;
				shutdown(a, SHUT_WR);
			}
		}
	}
	return moved;
}
