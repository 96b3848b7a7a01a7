/* SPDX-License-Identifier: GPL-2.0-or-later
 * net.c - addresses and listening sockets: the one host:port parser and
 * writer, IP literals, bound sockets.
 *
 * Threading: no state; every function may run in any thread.
 */
#include "config.h"

#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* Closes fd on a failure path; -1, with the failure's errno kept. */
static int
net_fail_close(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
	return -1;
}

/* Digits only, 1..65535; leading zeros are allowed. */
static int
net_port_parse(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int
net_split_hostport(const char *s, unsigned default_port, char *host,
		   size_t hostlen, unsigned *port)
{
	const char *h = s, *colon, *p = NULL;
	size_t n;
	unsigned v = default_port;

	/* Brackets only around the whole address, so that what
	 * net_join_hostport() writes reads back the same. */
	if (s == NULL || *s == '\0' || strchr(s + (*s == '['), '[') ||
	    (*s != '[' && strchr(s, ']')))
		return -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		h = s + 1;
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -1;
		n = (size_t)(close - h);
		if (memchr(h, ':', n) == NULL)
			return -1; /* brackets are for IPv6 alone */
		if (close[1] == ':')
			p = close + 2;
	} else if ((colon = strchr(s, ':')) != NULL &&
		   strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - s);
		p = colon + 1;
	} else if (colon == NULL && strspn(s, "0123456789") == strlen(s)) {
		n = 0; /* a port alone */
		p = s;
	} else {
		n = strlen(s); /* a name, or a bare IPv6 address */
	}
	if (p != NULL ? net_port_parse(p, &v) < 0 : (v < 1 || v > 65535))
		return -1;
	if (n >= hostlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = v;
	return 0;
}

int
net_join_hostport(const char *host, unsigned port, char *buf, size_t len)
{
	int n = snprintf(buf, len, strchr(host, ':') ? "[%s]:%u" : "%s:%u",
			 host, port);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
net_parse_ip(const char *s, unsigned char addr[16], size_t *len)
{
	unsigned char buf[16];
	int family = AF_INET;
	size_t n = 4;

	if (inet_pton(AF_INET, s, buf) != 1) {
		family = AF_INET6;
		n = 16;
		if (inet_pton(AF_INET6, s, buf) != 1)
			return 0;
	}
	if (addr)
		memcpy(addr, buf, n);
	if (len)
		*len = n;
	return family;
}

void
net_format_sockaddr(const struct sockaddr_storage *ss, char *addr, size_t len,
		    unsigned *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, addr, (socklen_t)len);
		*port = ntohs(s6->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, addr, (socklen_t)len);
		*port = ntohs(s4->sin_port);
	} else {
		snprintf(addr, len, "?");
		*port = 0;
	}
}

int
net_sockaddr(const char *host, unsigned port, struct sockaddr_storage *ss,
	     socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	unsigned char ip[16];

	memset(ss, 0, sizeof(*ss));
	switch (port > 65535 ? 0 : net_parse_ip(host, ip, NULL)) {
	case AF_INET:
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, ip, 4);
		*sslen = sizeof(*sin);
		return 0;
	case AF_INET6:
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, ip, 16);
		*sslen = sizeof(*sin6);
		return 0;
	}
	errno = EINVAL;
	return -1;
}

int
net_listen_addr(const struct sockaddr_storage *ss, socklen_t sslen)
{
	int fd, one = 1;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) <
		     0) ||
	    bind(fd, (const struct sockaddr *)ss, sslen) < 0 ||
	    listen(fd, SOMAXCONN) < 0)
		return net_fail_close(fd);
	return fd;
}

int
net_listen(const char *spec)
{
	struct sockaddr_storage ss;
	char host[NET_HOST_MAX];
	unsigned port;
	socklen_t len;

	if (net_split_hostport(spec, 0, host, sizeof(host), &port) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (net_sockaddr(host[0] ? host : "127.0.0.1", port, &ss, &len) < 0)
		return -1;
	return net_listen_addr(&ss, len);
}

/* A sockaddr_un for path; -1 with ENAMETOOLONG when it does not fit. */
static int
net_unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

int
net_listen_unix(const char *path, int flags)
{
	struct sockaddr_un sa;
	int fd = -1, saved;

	if (net_unix_addr(path, &sa) < 0 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return net_fail_close(fd);
	if (listen(fd, 64) < 0) {
		saved = errno;
		unlink(path); /* the bind made it */
		errno = saved;
		return net_fail_close(fd);
	}
	return fd;
}

int
net_connect_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (net_unix_addr(path, &sa) < 0 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return net_fail_close(fd);
	return fd;
}
