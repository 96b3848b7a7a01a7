/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream.c - the benchmarks' TLS upstream: fast enough that it never is
 * the bottleneck (tests/helpers/fakeupstream.py is, at 1,000 streams and
 * 64 MiB), with a 5 ms event clock Python cannot keep.
 *
 * Usage: bench-upstream --listen IP:PORT --cert PEM --key PEM
 * Prints "ready" on stdout once it accepts. HTTP/1.1 with keep-alive:
 *   GET  /small                       "ok" (Content-Length)
 *   POST /up                          reads the body, answers "ok"
 *   GET  /bytes?n=N&ct=sse|opaque     N bytes of Gemini-shaped SSE events,
 *                                     as text/event-stream or as an
 *                                     opaque type no meter parses
 *   GET  /sse?n=N&ms=M&ct=sse|opaque  N events, one every M ms (absolute
 *                                     schedule), chunked; each carries
 *                                     "t": CLOCK_MONOTONIC ns at send
 *
 * Threading: one detached thread per connection; nothing is shared but
 *   the read-only credentials and the precomputed body block.
 * Ownership: each thread owns its socket and GnuTLS session.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>

#include "tls_send.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UP_BLOCK (64 * 1024)
#define UP_HEAD_MAX 16384

static gnutls_certificate_credentials_t up_cred;
static gnutls_priority_t up_prio;
static char up_block[UP_BLOCK];	/* whole SSE events, read-only once built */

static const char up_event_fmt[] =
	"data: {\"t\":%lld,\"i\":%d,\"response\":{\"candidates\":[{\"content\":"
	"{\"role\":\"model\",\"parts\":[{\"text\":\"%s\"}]}}],"
	"\"usageMetadata\":{\"promptTokenCount\":1514,"
	"\"candidatesTokenCount\":%d,\"totalTokenCount\":%d},"
	"\"modelVersion\":\"bench-model\"}}\n\n";

static long long
up_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Fills the block with whole events, the last one padded to the end, so
 * any number of blocks is a valid event stream. */
static void
up_block_init(void)
{
	char ev[1024], text[640];
	size_t off = 0, n;
	int i = 0;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (;;) {
		n = (size_t)snprintf(ev, sizeof(ev), up_event_fmt, 0LL, i,
		                     text, i, 1514 + i);
		if (off + n + sizeof(ev) > UP_BLOCK)
			break;
		memcpy(up_block + off, ev, n);
		off += n;
		i++;
	}
	/* The filler event: a comment line up to the block's end. */
	up_block[off++] = ':';
	memset(up_block + off, ' ', UP_BLOCK - off - 2);
	up_block[UP_BLOCK - 2] = '\n';
	up_block[UP_BLOCK - 1] = '\n';
}


static long
up_query(const char *path, const char *key, long dflt)
{
	char pat[32];
	const char *q = strchr(path, '?');

	if (!q)
		return dflt;
	snprintf(pat, sizeof(pat), "%s=", key);
	for (q++; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL)
		if (strncmp(q, pat, strlen(pat)) == 0)
			return atol(q + strlen(pat));
	return dflt;
}

static const char *
up_ctype(const char *path)
{
	return strstr(path, "ct=opaque") ? "application/x-protobuf"
	                                 : "text/event-stream";
}

static int
up_bytes(gnutls_session_t s, const char *path)
{
	long n = up_query(path, "n", 1024), k;
	char head[256];
	int hl;

	hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
	              "%s\r\nContent-Length: %ld\r\n\r\n", up_ctype(path), n);
	if (tls_send_all(s, head, (size_t)hl) < 0)
		return -1;
	for (; n > 0; n -= k) {
		k = n < UP_BLOCK ? n : UP_BLOCK;
		if (tls_send_all(s, up_block, (size_t)k) < 0)
			return -1;
	}
	return 0;
}

static int
up_sse(gnutls_session_t s, const char *path)
{
	long n = up_query(path, "n", 10), ms = up_query(path, "ms", 5);
	char head[256], ev[1024], chunk[1100];
	struct timespec at;
	int hl, el, cl;

	hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
	              "%s\r\nCache-Control: no-cache\r\n"
	              "Transfer-Encoding: chunked\r\n\r\n", up_ctype(path));
	if (tls_send_all(s, head, (size_t)hl) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &at);
	for (int i = 0; i < n; i++) {
		at.tv_nsec += ms * 1000000L;
		while (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at,
		                       NULL) == EINTR)
			;
		el = snprintf(ev, sizeof(ev), up_event_fmt, up_now_ns(), i,
		              "token", i + 1, 1515 + i);
		cl = snprintf(chunk, sizeof(chunk), "%x\r\n%s\r\n", el, ev);
		if (tls_send_all(s, chunk, (size_t)cl) < 0)
			return -1;
	}
	return tls_send_all(s, "0\r\n\r\n", 5);
}

/* Reads one request head into buf (NUL-terminated) and drains the body;
 * bytes past the head already read are kept in *have. 0, or -1 at EOF. */
static int
up_read_request(gnutls_session_t s, char *buf, size_t *have)
{
	char *end = NULL, tmp[65536];
	long clen = 0, left;
	size_t hlen;
	ssize_t n;

	while (!(end = memmem(buf, *have, "\r\n\r\n", 4))) {
		if (*have >= UP_HEAD_MAX - 1)
			return -1;
		n = gnutls_record_recv(s, buf + *have, UP_HEAD_MAX - 1 - *have);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
	hlen = (size_t)(end - buf) + 4;
	buf[hlen - 2] = '\0';
	{
		char *cl = strcasestr(buf, "\r\ncontent-length:");

		if (cl)
			clen = atol(cl + 17);
	}
	left = clen - (long)(*have - hlen);
	while (left > 0) {
		n = gnutls_record_recv(s, tmp, left < (long)sizeof(tmp) ?
		                       (size_t)left : sizeof(tmp));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return -1;
		left -= n;
	}
	/* Pipelined bytes after the body are not expected; drop them. */
	*have = 0;
	return 0;
}

static int
up_serve(gnutls_session_t s)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain"
	                         "\r\nContent-Length: 2\r\n\r\nok";
	static const char nf[] = "HTTP/1.1 404 Not Found\r\n"
	                         "Content-Length: 0\r\n\r\n";
	char buf[UP_HEAD_MAX], path[2048];
	size_t have = 0;
	int rc;

	while (up_read_request(s, buf, &have) == 0) {
		if (sscanf(buf, "%*s %2047s", path) != 1)
			return -1;
		if (strncmp(path, "/small", 6) == 0 ||
		    strncmp(path, "/up", 3) == 0)
			rc = tls_send_all(s, ok, sizeof(ok) - 1);
		else if (strncmp(path, "/bytes", 6) == 0)
			rc = up_bytes(s, path);
		else if (strncmp(path, "/sse", 4) == 0)
			rc = up_sse(s, path);
		else
			rc = tls_send_all(s, nf, sizeof(nf) - 1);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void *
up_conn(void *arg)
{
	int fd = (int)(intptr_t)arg, one = 1, rc;
	gnutls_session_t s = NULL;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (gnutls_init(&s, GNUTLS_SERVER) < 0)
		goto out;
	gnutls_priority_set(s, up_prio);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, up_cred);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 10000);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		goto out;
	if (up_serve(s) == 0)
		gnutls_bye(s, GNUTLS_SHUT_WR);
out:
	gnutls_deinit(s);
	close(fd);
	return NULL;
}

static int
up_listen(const char *spec)
{
	char ip[64];
	int port, fd, one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET };

	if (sscanf(spec, "%63[^:]:%d", ip, &port) != 2 ||
	    inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -1;
	sa.sin_port = htons((unsigned short)port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4096) < 0)
		return -1;
	return fd;
}

int
main(int argc, char **argv)
{
	const char *listen_spec = NULL, *cert = NULL, *key = NULL;
	pthread_attr_t attr;
	pthread_t t;
	int lfd, fd;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			listen_spec = argv[i + 1];
		else if (strcmp(argv[i], "--cert") == 0)
			cert = argv[i + 1];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[i + 1];
	}
	if (!listen_spec || !cert || !key) {
		fprintf(stderr, "usage: %s --listen IP:PORT --cert PEM "
		        "--key PEM\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	up_block_init();
	{
		/* One descriptor a stream: the soft limit up to the hard
		 * one (runuser's PAM session sets 1024). */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	gnutls_global_init();
	gnutls_certificate_allocate_credentials(&up_cred);
	if (gnutls_certificate_set_x509_key_file(up_cred, cert, key,
	                                         GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_priority_init(&up_prio, "NORMAL", NULL) < 0 ||
	    (lfd = up_listen(listen_spec)) < 0) {
		fprintf(stderr, "upstream: cannot start on %s\n", listen_spec);
		return 1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (pthread_create(&t, &attr, up_conn, (void *)(intptr_t)fd))
			close(fd);
	}
}
