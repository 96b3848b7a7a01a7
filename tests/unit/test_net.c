/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_net.c - the host:port rule (with the cases the options' and the
 * resolver's parsers once read differently), address formatting, IP
 * literals, and listening sockets on loopback and on a Unix path.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net.h"
#include "tap.h"

struct split_case {
	const char *in;
	unsigned dflt;	  /* the caller's default port; 0: required */
	const char *host; /* NULL: refused */
	unsigned port;
};

static const struct split_case split_cases[] = {
	/* Where the two old parsers disagreed: a bare IPv6 address is all
	 * address, so --api-listen (a port is required) refuses it and
	 * --dns-server (port 53) takes it whole. */
	{ "::1", 0, NULL, 0 },
	{ "::1", 53, "::1", 53 },
	{ "::1:443", 0, NULL, 0 },
	{ "::1:443", 53, "::1:443", 53 }, /* never port 443 */
	{ "2001:db8::1", 53, "2001:db8::1", 53 },
	{ "[::1]", 0, NULL, 0 },
	{ "[::1]", 53, "::1", 53 },
	{ "[::1]:443", 0, "::1", 443 },
	{ "[::1]:443", 53, "::1", 443 },
	{ "[::]:8742", 0, "::", 8742 },
	/* IPv4 and names, with and without a port. */
	{ "127.0.0.1:8741", 0, "127.0.0.1", 8741 },
	{ "127.0.0.1:5353", 53, "127.0.0.1", 5353 },
	{ "8.8.8.8", 53, "8.8.8.8", 53 },
	{ "8.8.8.8", 0, NULL, 0 },
	{ "localhost:80", 0, "localhost", 80 },
	{ "localhost", 443, "localhost", 443 },
	{ "1.2.3.4:0053", 0, "1.2.3.4", 53 },
	/* A port alone: an empty host, the caller's to fill. */
	{ "8742", 0, "", 8742 },
	{ "65535", 0, "", 65535 },
	{ ":8741", 0, "", 8741 },
	/* Refused whatever the default. */
	{ "", 53, NULL, 0 },
	{ "65536", 53, NULL, 0 },
	{ "[::1", 53, NULL, 0 },
	{ "[::1]x", 53, NULL, 0 },
	{ "[::1]:", 53, NULL, 0 },
	{ "[::1]:80]", 53, NULL, 0 },
	{ "[[::1]]:80", 53, NULL, 0 },
	{ "[1.2.3.4]:53", 53, NULL, 0 },
	{ "[]:80", 53, NULL, 0 },
	{ "a]b:80", 53, NULL, 0 },
	{ "a[b:80", 53, NULL, 0 },
	{ "1.2.3.4:", 53, NULL, 0 },
	{ "1.2.3.4:0", 53, NULL, 0 },
	{ "1.2.3.4:65536", 53, NULL, 0 },
	{ "1.2.3.4:99999999999999999999", 53, NULL, 0 },
	{ "1.2.3.4:53x", 53, NULL, 0 },
	{ "1.2.3.4:+53", 53, NULL, 0 },
	{ "1.2.3.4:-1", 53, NULL, 0 },
	{ "1.2.3.4: 53", 53, NULL, 0 },
};

static void
test_split(void)
{
	char host[NET_HOST_MAX], again[NET_HOST_MAX], joined[300];
	unsigned port, port2;
	size_t i;

	for (i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		const struct split_case *c = &split_cases[i];
		int rc;

		strcpy(host, "untouched");
		port = 7;
		rc = net_split_hostport(c->in, c->dflt, host, sizeof(host),
					&port);
		if (c->host == NULL) {
			ok(rc < 0 && strcmp(host, "untouched") == 0 &&
				   port == 7,
			   "\"%s\" (default %u) refused", c->in, c->dflt);
			continue;
		}
		if (!ok(rc == 0 && strcmp(host, c->host) == 0 &&
				port == c->port,
			"\"%s\" (default %u) -> \"%s\" %u", c->in, c->dflt,
			c->host, c->port))
			diag("got rc %d, \"%s\" %u", rc, host, port);
		/* What net_join_hostport() writes reads back the same. */
		ok(net_join_hostport(host, port, joined, sizeof(joined)) == 0 &&
			   net_split_hostport(joined, 0, again, sizeof(again),
					      &port2) == 0 &&
			   strcmp(again, host) == 0 && port2 == port,
		   "\"%s\" round trip through \"%s\"", c->in, joined);
	}
	ok(net_split_hostport(NULL, 53, host, sizeof(host), &port) < 0,
	   "NULL refused");
	ok(net_split_hostport("[2001:db8::1]:443", 0, host, 11, &port) < 0 &&
		   net_split_hostport("[2001:db8::1]:443", 0, host, 12,
				      &port) == 0,
	   "a host that does not fit / just fits");
}

static void
test_join(void)
{
	char buf[NET_HOSTPORT_MAX];

	ok(net_join_hostport("::1", 443, buf, sizeof(buf)) == 0, "join v6");
	is_str(buf, "[::1]:443", "v6 in brackets");
	ok(net_join_hostport("10.0.0.1", 80, buf, sizeof(buf)) == 0, "join v4");
	is_str(buf, "10.0.0.1:80", "v4 bare");
	ok(net_join_hostport("api.test", 8741, buf, sizeof(buf)) == 0,
	   "join name");
	is_str(buf, "api.test:8741", "name bare");
	ok(net_join_hostport("::1", 443, buf, 9) < 0 &&
		   net_join_hostport("::1", 443, buf, 10) == 0,
	   "join does not fit / just fits");
}

static void
test_ip(void)
{
	static const unsigned char v6[16] = { [15] = 1 };
	unsigned char addr[16];
	size_t len = 0;

	is_int(net_parse_ip("10.0.0.1", addr, &len), AF_INET, "v4 literal");
	ok(len == 4 && addr[0] == 10 && addr[3] == 1, "v4 bytes");
	is_int(net_parse_ip("::1", addr, &len), AF_INET6, "v6 literal");
	ok(len == 16 && memcmp(addr, v6, 16) == 0, "v6 bytes");
	is_int(net_parse_ip("::ffff:1.2.3.4", NULL, NULL), AF_INET6,
	       "v4-mapped v6, no output wanted");
	is_int(net_parse_ip("[::1]", addr, &len), 0, "brackets: no literal");
	is_int(net_parse_ip("1.2.3", addr, &len), 0, "short v4: no literal");
	is_int(net_parse_ip("api.test", addr, &len), 0, "a name");
	is_int(net_parse_ip("fe80::1%lo", addr, &len), 0, "a zone id");
	is_int(net_parse_ip("", addr, &len), 0, "empty");
}

static void
test_sockaddr(void)
{
	struct sockaddr_storage ss;
	char addr[NET_HOSTPORT_MAX];
	socklen_t len;
	unsigned port;

	ok(net_sockaddr("192.0.2.1", 443, &ss, &len) == 0 &&
		   ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in),
	   "sockaddr v4");
	net_format_sockaddr(&ss, addr, sizeof(addr), &port);
	ok(strcmp(addr, "192.0.2.1") == 0 && port == 443, "format v4");
	ok(net_sockaddr("2001:db8::7", 8742, &ss, &len) == 0 &&
		   ss.ss_family == AF_INET6 &&
		   len == sizeof(struct sockaddr_in6),
	   "sockaddr v6");
	net_format_sockaddr(&ss, addr, sizeof(addr), &port);
	ok(strcmp(addr, "2001:db8::7") == 0 && port == 8742, "format v6");
	errno = 0;
	ok(net_sockaddr("api.test", 443, &ss, &len) < 0 && errno == EINVAL,
	   "a name is no sockaddr");
	ok(net_sockaddr("10.0.0.1", 65536, &ss, &len) < 0, "port too big");
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	net_format_sockaddr(&ss, addr, sizeof(addr), &port);
	ok(strcmp(addr, "?") == 0 && port == 0, "format another family");
}

/* Listens on host, port 0; connects and accepts once. Returns the port
 * (0: failed), with the listener left open in *fd. */
static unsigned
listen_once(const char *host, int *fd)
{
	struct sockaddr_storage ss, got;
	socklen_t len, glen = sizeof(got);
	char addr[NET_HOSTPORT_MAX];
	unsigned port = 0;
	int c = -1, a = -1;

	*fd = -1;
	if (net_sockaddr(host, 0, &ss, &len) < 0 ||
	    (*fd = net_listen_addr(&ss, len)) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&got, &glen) < 0)
		goto out;
	net_format_sockaddr(&got, addr, sizeof(addr), &port);
	if (strcmp(addr, host) != 0 ||
	    (fcntl(*fd, F_GETFD) & FD_CLOEXEC) == 0 ||
	    (c = socket(got.ss_family, SOCK_STREAM, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&got, glen) < 0 ||
	    (a = accept(*fd, NULL, NULL)) < 0)
		port = 0;
out:
	if (c >= 0)
		close(c);
	if (a >= 0)
		close(a);
	return port;
}

static void
test_listen(void)
{
	struct sockaddr_storage got;
	socklen_t glen = sizeof(got);
	char spec[64], addr[NET_HOSTPORT_MAX];
	unsigned port, p2;
	int fd, fd2;

	port = listen_once("127.0.0.1", &fd);
	ok(port != 0,
	   "listening on 127.0.0.1 (port %u), close-on-exec, "
	   "a connection accepted",
	   port);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	errno = 0;
	ok(net_listen(spec) < 0 && errno == EADDRINUSE,
	   "net_listen(%s) binds that very address: in use", spec);
	close(fd);
	snprintf(spec, sizeof(spec), "%u", port);
	fd = net_listen(spec);
	ok(fd >= 0 && getsockname(fd, (struct sockaddr *)&got, &glen) == 0,
	   "net_listen(\"%s\"): a port alone", spec);
	net_format_sockaddr(&got, addr, sizeof(addr), &p2);
	ok(strcmp(addr, "127.0.0.1") == 0 && p2 == port,
	   "a port alone listens on 127.0.0.1 (%s:%u)", addr, p2);
	if (fd >= 0)
		close(fd);

	port = listen_once("::1", &fd);
	if (port == 0 && fd < 0 && errno == EADDRNOTAVAIL) {
		ok(1, "listening on ::1 # SKIP no IPv6 loopback here");
		ok(1, "[::1] in use # SKIP no IPv6 loopback here");
	} else {
		ok(port != 0, "listening on ::1 (port %u)", port);
		snprintf(spec, sizeof(spec), "[::1]:%u", port);
		errno = 0;
		ok((fd2 = net_listen(spec)) < 0 && errno == EADDRINUSE,
		   "net_listen(%s): in use", spec);
		if (fd2 >= 0)
			close(fd2);
	}
	if (fd >= 0)
		close(fd);

	errno = 0;
	ok(net_listen("localhost:8741") < 0 && errno == EINVAL,
	   "a host name is refused");
	errno = 0;
	ok(net_listen("::1") < 0 && errno == EINVAL, "no port: refused");
	errno = 0;
	ok(net_listen("127.0.0.1:0") < 0 && errno == EINVAL,
	   "port 0 in a spec: refused");
}

static void
test_unix(void)
{
	const char *t = getenv("TMPDIR");
	char dir[256], path[300], longpath[200];
	struct stat st;
	int fd, c;

	snprintf(dir, sizeof(dir), "%s/test_net.XXXXXX", t && *t ? t : "/tmp");
	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	snprintf(path, sizeof(path), "%s/sock", dir);
	errno = 0;
	ok(net_connect_unix(path) < 0 && errno == ENOENT,
	   "nothing there: ENOENT");
	fd = net_listen_unix(path, SOCK_NONBLOCK);
	ok(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
		   (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	   "unix listener, non-blocking "
	   "as asked, close-on-exec");
	errno = 0;
	ok(accept(fd, NULL, NULL) < 0 && errno == EAGAIN,
	   "nobody connected yet");
	c = net_connect_unix(path);
	ok(c >= 0, "connected to it");
	if (c >= 0)
		close(c);
	errno = 0;
	ok(net_listen_unix(path, 0) < 0 && errno == EADDRINUSE &&
		   stat(path, &st) == 0,
	   "a second listener on the path fails and "
	   "leaves the file");
	if (fd >= 0)
		close(fd);
	errno = 0;
	ok(net_connect_unix(path) < 0 && errno == ECONNREFUSED,
	   "a stale socket: ECONNREFUSED");
	unlink(path);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	errno = 0;
	ok(net_listen_unix(longpath, 0) < 0 && errno == ENAMETOOLONG &&
		   net_connect_unix(longpath) < 0 && errno == ENAMETOOLONG,
	   "a path past sun_path: ENAMETOOLONG");
	rmdir(dir);
}

int
main(void)
{
	test_split();
	test_join();
	test_ip();
	test_sockaddr();
	test_listen();
	test_unix();
	return tap_done();
}
