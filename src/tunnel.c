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
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "tunnel.h"

#define TUNNEL_BUF (16 * 1024)

int
tunnel_connect(const struct sockaddr_storage *dst, long connect_timeout_ms)
{
	socklen_t len = dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						   : sizeof(struct sockaddr_in);
	struct pollfd p;
	int fd, err = 0, flags, rc;

	if ((fd = socket(dst->ss_family,
			 SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
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

/* Writes buf[0..n) to `to` by the deadline (0: none); 0, or -1 on an
 * error or when the peer stopped reading (errno ETIMEDOUT). The socket
 * stays blocking; each send() takes what fits without waiting, so a
 * peer that takes a byte now and then cannot stretch the deadline. */
static int
write_by(int to, const char *buf, ssize_t n, int64_t deadline)
{
	struct pollfd p = { .fd = to, .events = POLLOUT };
	ssize_t w, off = 0;
	int64_t left;

	while (off < n) {
		w = send(to, buf + off, (size_t)(n - off),
			 MSG_NOSIGNAL | (deadline ? MSG_DONTWAIT : 0));
		if (w > 0) {
			off += w;
			continue;
		}
		if (w == 0 ||
		    (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
			return -1;
		if (errno == EINTR)
			continue;
		left = deadline - clock_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/* Moves what is readable from `from` to `to`; 0 on progress, 1 at EOF,
 * -1 on an error. The write blocks until write_ms have passed: the
 * peer's window is our buffer. */
static int
pump(int from, int to, char *buf, ssize_t *moved, long write_ms)
{
	ssize_t n;

	do
		n = read(from, buf, TUNNEL_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		return 1;
	if (write_by(to, buf, n,
		     write_ms > 0 ? clock_mono_ms() + write_ms : 0) < 0)
		return -1;
	*moved += n;
	return 0;
}

ssize_t
tunnel_relay(int a, int b, long idle_timeout_ms, long write_timeout_ms)
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
		if (rc == 0)
			errno = EAGAIN; /* idle: not ETIMEDOUT, a write's */
		if (rc <= 0)
			return -1; /* idle, or poll failed */
		if (p[0].revents) {
			if ((r = pump(a, b, buf, &moved, write_timeout_ms)) < 0)
				return -1;
			if (r == 1) {
				a_open = false;
				shutdown(b, SHUT_WR);
			}
		}
		if (p[1].revents) {
			if ((r = pump(b, a, buf, &moved, write_timeout_ms)) < 0)
				return -1;
			if (r == 1) {
				b_open = false;
				shutdown(a, SHUT_WR);
			}
		}
	}
	return moved;
}
