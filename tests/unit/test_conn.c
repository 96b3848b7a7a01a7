/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_conn.c - whole exchanges through conn_serve() on 127.0.0.1, as any
 * user: no iptables, no namespace, no root.
 *
 * The daemon's own objects (CA, certificate cache, upstream, resolver,
 * intercept list, usage table, ledger) serve connections that a GnuTLS
 * client here makes to a listener here; struct proxy's original-
 * destination hook says each was going to the fake upstream
 * (tests/helpers/fakeupstream.py, its throw-away CA given as
 * --upstream-ca), or to a closed port, or to the proxy itself. One case
 * needs an upstream that sends head and body in one TLS record: a
 * GnuTLS server thread here, with the same certificate.
 *
 * Every case compares the bytes the client got (Date and Server lines
 * aside) with what conn.c and h1resp.c must send.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "buf.h"
#include "ca.h"
#include "certcache.h"
#include "clock.h"
#include "conn.h"
#include "conn_peers.h"
#include "http1.h"
#include "intercept.h"
#include "ledger.h"
#include "log.h"
#include "options.h"
#include "price.h"
#include "proxy.h"
#include "resolve.h"
#include "tap.h"
#include "testutil.h"
#include "upstream.h"
#include "usage.h"

#define HOST "name.test"

static char tmpdir[256];
static struct proxy px;
static int listen_fd = -1, proxy_port;
static atomic_int dst_port; /* where the hook says it went */
static atomic_int workers;
static pid_t fake_pid = -1;
static int fake_port;
static const char *ca_pem; /* the proxy's CA, the client's */

/* --- the proxy: an accept loop over conn_serve(), and the hook --------- */

static int
to_dst(void *arg, int fd, struct sockaddr_storage *dst)
{
	struct sockaddr_in *in = (struct sockaddr_in *)dst;

	(void)arg;
	(void)fd;
	memset(dst, 0, sizeof(*dst));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)atomic_load(&dst_port));
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

static void *
worker(void *arg)
{
	static atomic_ulong ids;
	int fd = (int)(intptr_t)arg;

	conn_serve(&px, fd, atomic_fetch_add(&ids, 1) + 1);
	close(fd);
	atomic_fetch_sub(&workers, 1);
	return NULL;
}

static void *
accept_loop(void *arg)
{
	pthread_t t;
	int fd;

	(void)arg;
	while ((fd = accept(listen_fd, NULL, NULL)) >= 0) {
		atomic_fetch_add(&workers, 1);
		if (pthread_create(&t, NULL, worker, (void *)(intptr_t)fd)) {
			close(fd);
			atomic_fetch_sub(&workers, 1);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

/* A client of the proxy, for HOST. */
static int
client_open(struct client *c)
{
	return client_connect(c, proxy_port, HOST, ca_pem);
}

/* Sends req on a fresh connection and reads to the close; the bytes in
 * *out (a C string), Date and Server lines removed. 0 or -1. */
static int
exchange(const char *req, struct buf *out)
{
	struct client c;
	int rc = -1;

	clear(out);
	if (client_open(&c) < 0)
		return -1;
	if (client_send(&c, req, strlen(req)) == 0)
		rc = client_read_all(&c, out);
	client_close(&c);
	for (char *p = out->data, *e; (p = strstr(p, "\r\n"));) {
		if (strncmp(p + 2, "Date: ", 6) != 0 &&
		    strncmp(p + 2, "Server: ", 8) != 0) {
			p += 2;
			continue;
		}
		if (!(e = strstr(p + 2, "\r\n")))
			break;
		memmove(p, e, out->len - (size_t)(e - out->data) + 1);
		out->len -= (size_t)(e - p);
	}
	return rc;
}

/* --- checks ------------------------------------------------------------ */

static void
sha256_hex(const void *p, size_t n, char hex[65])
{
	unsigned char d[32];

	gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* The value of header name in the response head at r (to its CRLF). */
static const char *
header_of(const char *r, const char *name, char *val, size_t len)
{
	const char *end = strstr(r, "\r\n\r\n"), *p = r;
	size_t n = strlen(name);

	while (end && (p = strstr(p, "\r\n")) && p < end) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			snprintf(val, len, "%.*s",
				 (int)strcspn(p + n + 2, "\r"), p + n + 2);
			return val;
		}
	}
	return NULL;
}

static void
test_bodiless(struct buf *b)
{
	/* HEAD, 204 and 304 on a kept connection: a body, or the last
	 * chunk, after any of them would show in front of the next. */
	exchange("HEAD /bytes?n=10 HTTP/1.1\r\nHost: " HOST "\r\n\r\n"
		 "GET /status/204 HTTP/1.1\r\nHost: " HOST "\r\n\r\n"
		 "GET /status/304 HTTP/1.1\r\nHost: " HOST "\r\n\r\n"
		 "GET /status/200 HTTP/1.1\r\nHost: " HOST "\r\n"
		 "Connection: close\r\n\r\n",
		 b);
	is_str(b->data,
	       "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
	       "X-Body-Sha256: f43b0161cf1ff17afebf971e1a858967530dd1a5"
	       "b5734a9231c70b8f0f1cc6a5\r\nContent-Length: 10\r\n\r\n"
	       "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n"
	       "HTTP/1.1 304 Not Modified\r\nContent-Type: text/plain\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	       "Content-Length: 11\r\nConnection: close\r\n\r\nstatus 200\n",
	       "HEAD, 204, 304: heads alone, the connection kept for the next");
}

/* The body of the response in b, de-chunked when it says so; the
 * length, or -1 when the framing is wrong. */
static long
body_of(struct buf *b, char **body)
{
	static char out[200000];
	char *p = strstr(b->data, "\r\n\r\n"), te[32];
	struct http1_chunked ch;
	size_t used, made;

	if (!p)
		return -1;
	p += 4;
	*body = p;
	if (!header_of(b->data, "Transfer-Encoding", te, sizeof(te)))
		return (long)(b->len - (size_t)(p - b->data));
	if (strcmp(te, "chunked") != 0)
		return -1;
	http1_chunked_init(&ch);
	if (http1_chunked_decode(&ch, p, b->len - (size_t)(p - b->data), &used,
				 out, sizeof(out), &made) < 0 ||
	    !ch.done || used != b->len - (size_t)(p - b->data))
		return -1;
	*body = out;
	return (long)made;
}

/* GET /bytes in mode, by an HTTP/1.minor client; checks the framing
 * (want_te: chunked to the client; want_close: Connection: close) and
 * that the body is upstream's, byte for byte. */
static void
bytes_case(struct buf *b, const char *mode, int minor, bool want_te,
	   bool want_close, const char *what)
{
	char req[256], sha[65] = "", want[80], val[80];
	char *body = NULL;
	const char *up;
	long n;

	snprintf(req, sizeof(req),
		 "GET /bytes?n=100000&mode=%s&seed=%d "
		 "HTTP/1.%d\r\nHost: " HOST "\r\n%s\r\n",
		 mode, minor, minor, minor ? "Connection: close\r\n" : "");
	ok(exchange(req, b) == 0, "%s: the proxy closed at the end", what);
	ok(strncmp(b->data, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s: 200", what);
	ok(!header_of(b->data, "Transfer-Encoding", val, sizeof(val)) ==
		   !want_te,
	   "%s: %s", what, want_te ? "chunked" : "not chunked");
	ok(!header_of(b->data, "Connection", val, sizeof(val)) == !want_close,
	   "%s: %s", what, want_close ? "Connection: close" : "no Connection");
	up = header_of(b->data, "X-Body-Sha256", want, sizeof(want));
	n = body_of(b, &body);
	is_int(n, 100000, "%s: the whole body", what);
	if (n >= 0)
		sha256_hex(body, (size_t)n, sha);
	ok(up && strcmp(sha, up) == 0,
	   "%s: the body is upstream's, byte for "
	   "byte",
	   what);
}

static void
test_framing(struct buf *b)
{
	bytes_case(b, "chunked", 1, true, true, "chunked upstream, 1.1 client");
	bytes_case(b, "length", 1, false, true, "length upstream, 1.1 client");
	bytes_case(b, "close", 1, true, true,
		   "close-ended upstream, 1.1 "
		   "client: re-chunked");
	bytes_case(b, "chunked", 0, false, true,
		   "chunked upstream, HTTP/1.0 "
		   "client: unframed, closed");
	bytes_case(b, "length", 0, false, true,
		   "length upstream, HTTP/1.0 "
		   "client");
}

/* A late body: the head must not wait for it (curl's flush). */
static void
test_head_first(struct buf *b)
{
	struct client c;
	static const char req[] = "GET /head-first?ms=800 HTTP/1.1\r\n"
				  "Host: " HOST "\r\nConnection: close\r\n\r\n";
	double t0, t_head = -1, t_end = -1;

	clear(b);
	if (!ok(client_open(&c) == 0, "head-first: connected"))
		return;
	t0 = clock_mono_msf();
	client_send(&c, req, sizeof(req) - 1);
	if (client_recv(&c, b) > 0)
		t_head = clock_mono_msf() - t0;
	ok(b->data && strstr(b->data, "\r\n\r\n") &&
		   strcmp(strstr(b->data, "\r\n\r\n"), "\r\n\r\n") == 0,
	   "head-first: the first record is the head alone");
	if (client_read_all(&c, b) == 0)
		t_end = clock_mono_msf() - t0;
	client_close(&c);
	ok(t_head >= 0 && t_head < 500,
	   "head-first: the head came at once "
	   "(%.0f ms)",
	   t_head);
	ok(t_end >= 800, "head-first: the body %.0f ms later", t_end);
	ok(b->data && strstr(b->data, "\r\n\r\na\r\nlate body\n\r\n0\r\n\r\n"),
	   "head-first: then the body, chunked");
}

/* Head and first body bytes together: one record to the client. */
static void
test_held_head(struct buf *b)
{
	char cert[300], key[300];
	struct one_write o = { .cert = cert, .key = key };
	static const char req[] = "GET /held HTTP/1.1\r\nHost: " HOST
				  "\r\nConnection: close\r\n\r\n";
	struct client c;
	pthread_t t;
	int port, saved = atomic_load(&dst_port);

	snprintf(cert, sizeof(cert), "%s/server.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/server.key", tmpdir);
	if (!ok((o.fd = listen_local(&port)) >= 0 &&
			pthread_create(&t, NULL, one_write_serve, &o) == 0,
		"held: a one-write upstream"))
		return;
	atomic_store(&dst_port, port);
	clear(b);
	if (ok(client_open(&c) == 0, "held: connected")) {
		client_send(&c, req, sizeof(req) - 1);
		client_recv(&c, b);
		is_str(b->data,
		       "HTTP/1.1 200 OK\r\nContent-Type: "
		       "text/plain\r\nContent-Length: 6\r\nConnection: "
		       "close\r\n\r\nheld!\n",
		       "held: the head and the body in the first record");
		ok(client_recv(&c, b) == 0, "held: then the close");
		client_close(&c);
	}
	pthread_join(t, NULL);
	close(o.fd);
	atomic_store(&dst_port, saved);
}

static void
test_errors(struct buf *b)
{
	int saved = atomic_load(&dst_port), closed, fd;

	/* A port nobody listens on: bound, then closed. */
	fd = listen_local(&closed);
	close(fd);
	atomic_store(&dst_port, closed);
	exchange("GET /echo HTTP/1.1\r\nHost: " HOST "\r\n\r\n", b);
	is_str(b->data,
	       "HTTP/1.1 502 Bad Gateway\r\nContent-Type: "
	       "application/json\r\nContent-Length: 46\r\nConnection: close"
	       "\r\n\r\n{\"error\":\"upstream unreachable\",\"status\":502}\n",
	       "upstream unreachable: 502 with its JSON body, then the close");
	atomic_store(&dst_port, saved);

	exchange("GET /silent?ms=3000 HTTP/1.1\r\nHost: " HOST "\r\n\r\n", b);
	is_str(b->data,
	       "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: "
	       "application/json\r\nContent-Length: 44\r\nConnection: close"
	       "\r\n\r\n{\"error\":\"upstream timed out\",\"status\":504}\n",
	       "upstream silent past its timeout: 504 with its JSON body");

	exchange("GET / HTTP/1.1\r\nHost " HOST "\r\n\r\n", b);
	is_str(b->data,
	       "HTTP/1.1 400 Bad Request\r\nContent-Type: "
	       "application/json\r\nContent-Length: 43\r\nConnection: close"
	       "\r\n\r\n{\"error\":\"malformed request\",\"status\":400}\n",
	       "a malformed head: 400 with its JSON body");

	exchange("POST /echo HTTP/1.1\r\nHost: " HOST "\r\nContent-Length: "
		 "99999999\r\n\r\n",
		 b);
	is_str(b->data,
	       "HTTP/1.1 413 Content Too Large\r\nContent-Type: "
	       "application/json\r\nContent-Length: 48\r\nConnection: close"
	       "\r\n\r\n{\"error\":\"request body too large\","
	       "\"status\":413}\n",
	       "a body over --max-request-body: 413 with its JSON body");
}

/* The proxy's own address as the destination: refused, nothing said. */
static void
test_loop(struct buf *b)
{
	int saved = atomic_load(&dst_port);
	unsigned long before = atomic_load(&px.stats.loops_refused);
	struct client c;

	atomic_store(&dst_port, proxy_port);
	ok(client_open(&c) < 0, "a connection to the proxy itself: no TLS");
	client_close(&c);
	is_int(atomic_load(&px.stats.loops_refused) - before, 1,
	       "a connection to the proxy itself: refused, counted");
	atomic_store(&dst_port, saved);
	(void)b;
}

/* Reads one server frame from the stream in b at *pos; its opcode and
 * payload, or -1 when more bytes are needed. */
static int
ws_frame(struct buf *b, size_t *pos, const char **p, size_t *n)
{
	const unsigned char *f = (unsigned char *)b->data + *pos;
	size_t have = b->len - *pos, h = 2, len;

	if (have < 2)
		return -1;
	len = f[1] & 0x7f;
	if (len == 126) {
		h = 4;
		len = have < 4 ? 0 : (size_t)f[2] << 8 | f[3];
	} else if (len == 127) {
		h = 10;
		len = 0;
		for (int i = 2; i < 10 && have >= 10; i++)
			len = len << 8 | f[i];
	}
	if (have < h || have - h < len)
		return -1;
	*p = (const char *)f + h;
	*n = len;
	*pos += h + len;
	return f[0] & 0x0f;
}

/* A client frame: FIN, the opcode, masked with a fixed key. */
static size_t
ws_client_frame(char *out, int op, const char *data, size_t n)
{
	static const unsigned char mask[4] = { 1, 2, 3, 4 };
	size_t h = 2;

	out[0] = (char)(0x80 | op);
	out[1] = (char)(0x80 | n); /* n < 126 here */
	memcpy(out + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < n; i++)
		out[h + i] = (char)(data[i] ^ mask[i & 3]);
	return h + n;
}

static void
test_websocket(struct buf *b)
{
	static const char req[] =
		"GET /v1/responses HTTP/1.1\r\nHost: " HOST
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n";
	static const char head[] =
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	static const char msg[] = "{\"type\":\"response.create\","
				  "\"model\":\"gpt-test\"}";
	struct buf text = BUF_INIT(0);
	char frame[128];
	size_t pos, n;
	const char *p, *e;
	struct client c;
	int op = -1;
	bool done = false;

	clear(b);
	if (!ok(client_open(&c) == 0, "websocket: connected"))
		return;
	client_send(&c, req, sizeof(req) - 1);
	while (!(e = b->data ? strstr(b->data, "\r\n\r\n") : NULL) &&
	       client_recv(&c, b) > 0)
		;
	pos = e ? (size_t)(e - b->data) + 4 : b->len;
	if (!ok(e && pos == sizeof(head) - 1 && memcmp(b->data, head, pos) == 0,
		"websocket: the 101 with its Upgrade headers"))
		diag("got: %.*s", (int)pos, b->data ? b->data : "");
	client_send(&c, frame, ws_client_frame(frame, 1, msg, sizeof(msg) - 1));
	while (!done) {
		while ((op = ws_frame(b, &pos, &p, &n)) >= 0) {
			buf_append(&text, p, n);
			if (op == 1 && memmem(p, n, "response.completed", 18))
				done = true;
		}
		if (!done && client_recv(&c, b) <= 0)
			break;
	}
	ok(done, "websocket: the response streamed to response.completed");
	ok(text.data && strstr(text.data, "\"delta\": \"answer \"") &&
		   strstr(text.data, "\"output_tokens\": 23"),
	   "websocket: the "
	   "events are upstream's, unmasked text");
	client_send(&c, frame, ws_client_frame(frame, 8, "\x03\xe8", 2));
	while ((op = ws_frame(b, &pos, &p, &n)) < 0 && client_recv(&c, b) > 0)
		;
	is_int(op, 8, "websocket: the close echoed");
	ok(op == 8 && n == 2 && memcmp(p, "\x03\xe8", 2) == 0,
	   "websocket: with its code");
	client_close(&c);
	buf_free(&text);
}

/* --- set-up ------------------------------------------------------------ */

static int
spawn_fake(void)
{
	char cert[300], key[300];

	snprintf(cert, sizeof(cert), "%s/server.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/server.key", tmpdir);
	return testutil_fake_upstream(cert, key, NULL, &fake_pid);
}

static int
parse_options(struct options *o)
{
	char ca[300], err[256];
	char *argv[] = { "antigravity-proxy",
			 "--config",
			 "/dev/null",
			 "--state-dir",
			 tmpdir,
			 "--upstream-ca",
			 ca,
			 "--resolve",
			 "original",
			 "--intercept",
			 HOST,
			 "--upstream-idle-timeout",
			 "1s",
			 "--connect-timeout",
			 "2s",
			 "--max-request-body",
			 "1M",
			 NULL };
	FILE *out = fopen("/dev/null", "w");
	int rc;

	snprintf(ca, sizeof(ca), "%s/ca.pem", tmpdir);
	rc = options_parse(o, (int)(sizeof(argv) / sizeof(*argv)) - 1, argv,
			   out, err, sizeof(err));
	if (out)
		fclose(out);
	if (rc != OPTIONS_OK)
		diag("options: %s", err);
	return rc == OPTIONS_OK ? 0 : -1;
}

/* The daemon's objects, as main.c's mitm_start() makes them. */
static int
proxy_start(struct options *opt, struct ca **ca)
{
	struct upstream_config uc = {
		.upstream_ca = opt->upstream_ca,
		.connect_timeout_ms = (int)opt->connect_timeout,
		.idle_timeout_ms = (int)opt->upstream_idle_timeout,
	};
	char err[256];

	px.opt = opt;
	px.ls_uid = -1;
	px.origdst = to_dst;
	if (!(*ca = ca_open(opt->state_dir)) ||
	    !(px.certs = certcache_new(*ca, 0)) ||
	    !(uc.resolver = px.resolver = resolver_new(
		      RESOLVE_ORIGINAL, (const char *const *)opt->dns_servers.v,
		      opt->dns_servers.n, 2000)) ||
	    !(px.upstream = upstream_new(&uc)) ||
	    !(px.intercept = intercept_new(opt->intercept.v, opt->intercept.n,
					   opt->fail_open_time)) ||
	    !(px.usage = usage_table_new()) ||
	    !(px.prices = price_table_new()) ||
	    !(px.ledger = ledger_open(opt->state_dir, px.usage, err,
				      sizeof(err))) ||
	    ledger_start(px.ledger) < 0)
		return -1;
	ca_pem = ca_cert_pem(*ca);
	return (listen_fd = listen_local(&proxy_port)) < 0 ? -1 : 0;
}

static void
proxy_stop(struct ca *ca)
{
	for (int i = 0; i < 500 && atomic_load(&workers) > 0; i++)
		usleep(10000);
	ledger_free(px.ledger);
	intercept_free(px.intercept);
	upstream_free(px.upstream);
	resolver_free(px.resolver); /* after the upstream that asks it */
	certcache_free(px.certs);
	price_table_free((struct price_table *)px.prices);
	usage_table_free(px.usage);
	ca_free(ca);
}

int
main(void)
{
	const char *t = getenv("TMPDIR"), *src = getenv("top_srcdir");
	struct options opt;
	struct buf b = BUF_INIT(0);
	struct ca *ca = NULL;
	pthread_t acc;
	char cmd[1024];
	bool made;

	signal(SIGPIPE, SIG_IGN);
	log_set_level(getenv("TEST_CONN_DEBUG") ? LOG_DEBUG : LOG_WARNING);
	memset(&opt, 0, sizeof(opt));
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_conn.XXXXXX",
		 t && *t ? t : "/tmp");
	made = mkdtemp(tmpdir) != NULL;
	snprintf(cmd, sizeof(cmd),
		 "sh %s/tests/helpers/mkcerts.sh %s "
		 "localhost " HOST " 127.0.0.1",
		 src ? src : "..", tmpdir);
	curl_global_init(CURL_GLOBAL_ALL);
	if (!ok(made && system(cmd) == 0, "test certificates") ||
	    !ok((fake_port = spawn_fake()) > 0, "fake upstream started") ||
	    !ok(parse_options(&opt) == 0, "options") ||
	    !ok(proxy_start(&opt, &ca) == 0, "the proxy's objects") ||
	    !ok(pthread_create(&acc, NULL, accept_loop, NULL) == 0,
		"accept thread"))
		goto out;
	diag("uid %ld; proxy on %d, fake upstream on %d", (long)getuid(),
	     proxy_port, fake_port);
	atomic_store(&dst_port, fake_port);
	test_bodiless(&b);
	test_framing(&b);
	test_head_first(&b);
	test_held_head(&b);
	test_errors(&b);
	test_loop(&b);
	test_websocket(&b);
	is_int(atomic_load(&px.stats.websockets), 1, "one WebSocket counted");
	shutdown(listen_fd, SHUT_RDWR);
	pthread_join(acc, NULL);
out:
	if (listen_fd >= 0)
		close(listen_fd);
	proxy_stop(ca);
	options_free(&opt);
	curl_global_cleanup();
	buf_free(&b);
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
	}
	if (made) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
	}
	return tap_done();
}
