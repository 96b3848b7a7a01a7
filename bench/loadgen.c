/* SPDX-License-Identifier: GPL-2.0-or-later
 * loadgen.c - the benchmarks' TLS client: time to first byte, SSE event
 * delay and jitter over many streams (one poll loop), throughput up and
 * down, and new TLS connections per second. Prints one JSON object.
 *
 * Usage: bench-loadgen --connect IP:PORT --host SNI --ca PEM MODE ARGS
 *   ttfb-warm N SECS        N requests on one connection (first excluded)
 *   ttfb-new N SECS         N new connections, connect() to first byte
 *   sse STREAMS N MS CT [each]  STREAMS streams of N events every MS ms;
 *                           "each" sends a request on each connect
 *   down BYTES REPEAT CT    GET /bytes, MB/s over all repeats
 *   up BYTES COUNT          POST bodies of BYTES, MB/s
 *   hs SECS THREADS         connect+handshake+GET /small+close, per second
 * Each mode stops at N samples or SECS seconds, whichever comes first.
 * The first connection to the host is made and excluded before timing,
 * so an interceptor's one-off certificate forging is not counted.
 *
 * Threading: single-threaded but for "hs", whose threads share only
 *   the credentials and atomic counters.
 * Ownership: every connection is owned by the loop that opened it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>

#include "lgresp.h"
#include "tls_send.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct lg_conn {
	int fd;
	gnutls_session_t s;
	int64_t rx_at; /* when the kernel got the newest bytes read */
};

struct lg_samples {
	int64_t *v;
	size_t n, cap;
};

static struct sockaddr_in lg_addr;
static const char *lg_host;
static gnutls_certificate_credentials_t lg_cred;

static int64_t
lg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
lg_add(struct lg_samples *s, int64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			abort();
	}
	s->v[s->n++] = v;
}

static int
lg_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Percentile P (0..100) in microseconds; -1 without samples. */
static double
lg_pct(struct lg_samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return -1;
	qsort(s->v, s->n, sizeof(*s->v), lg_cmp);
	i = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
	return (double)s->v[i] / 1000.0;
}

/* How many samples exceed LIMIT nanoseconds. */
static long
lg_over(const struct lg_samples *s, int64_t limit)
{
	long k = 0;

	for (size_t i = 0; i < s->n; i++)
		k += s->v[i] > limit;
	return k;
}

static void
lg_close(struct lg_conn *c)
{
	if (c->s)
		gnutls_deinit(c->s);
	if (c->fd >= 0)
		close(c->fd);
	c->s = NULL;
	c->fd = -1;
}

/* With lg_stamp set (the SSE modes), each read also says when the kernel
 * received its bytes (SO_TIMESTAMPING, software receive stamps, in
 * CLOCK_REALTIME; lg_real_off turns them into CLOCK_MONOTONIC): the
 * moment an event reached the client's socket, apart from when this
 * one thread, which shares the cores with the interceptor, got to it. */
static int lg_stamp;
static int64_t lg_real_off;

static ssize_t
lg_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	struct lg_conn *c = p;
	union {
		char b[CMSG_SPACE(sizeof(struct scm_timestamping))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b) };
	ssize_t n = recvmsg(c->fd, &m, 0);

	for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; h;
	     h = CMSG_NXTHDR(&m, h)) {
		struct scm_timestamping ts;

		if (h->cmsg_level != SOL_SOCKET ||
		    h->cmsg_type != SCM_TIMESTAMPING)
			continue;
		memcpy(&ts, CMSG_DATA(h), sizeof(ts));
		c->rx_at = (int64_t)ts.ts[0].tv_sec * 1000000000LL +
			   ts.ts[0].tv_nsec - lg_real_off;
	}
	return n;
}

static ssize_t
lg_push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
	return send(((struct lg_conn *)p)->fd, buf, len, MSG_NOSIGNAL);
}

static int
lg_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct pollfd pf = { ((struct lg_conn *)p)->fd, POLLIN, 0 };

	return poll(&pf, 1, (int)ms);
}

static void
lg_stamp_on(struct lg_conn *c)
{
	int f = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;

	setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPING, &f, sizeof(f));
	gnutls_transport_set_ptr(c->s, c);
	gnutls_transport_set_pull_function(c->s, lg_pull);
	gnutls_transport_set_pull_timeout_function(c->s, lg_pull_timeout);
	gnutls_transport_set_push_function(c->s, lg_push);
}

static int
lg_open(struct lg_conn *c)
{
	int one = 1, rc;

	c->s = NULL;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&lg_addr, sizeof(lg_addr)) < 0)
		goto fail;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (gnutls_init(&c->s, GNUTLS_CLIENT) < 0)
		goto fail;
	gnutls_set_default_priority(c->s);
	gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, lg_cred);
	gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, lg_host, strlen(lg_host));
	gnutls_session_set_verify_cert(c->s, lg_host, 0);
	gnutls_alpn_set_protocols(
		c->s, &(gnutls_datum_t){ (unsigned char *)"http/1.1", 8 }, 1,
		0);
	gnutls_transport_set_int(c->s, c->fd);
	if (lg_stamp)
		lg_stamp_on(c);
	gnutls_handshake_set_timeout(c->s, 20000);
	do
		rc = gnutls_handshake(c->s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0) {
		fprintf(stderr, "loadgen: handshake: %s\n",
			gnutls_strerror(rc));
		goto fail;
	}
	return 0;
fail:
	lg_close(c);
	return -1;
}

static int
lg_send(struct lg_conn *c, const void *buf, size_t len)
{
	return tls_send_all(c->s, buf, len);
}

/* Reads one whole response on a blocking connection; *first gets the
 * time of the first byte when not NULL. 0, or -1 on error. */
static int
lg_read_resp(struct lg_conn *c, int64_t *first, long long *body)
{
	static char buf[65536];
	struct lg_resp r = { 0 };
	ssize_t n;

	for (;;) {
		n = gnutls_record_recv(c->s, buf, sizeof(buf));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return r.state == R_EOF ? 0 : -1;
		if (first && !*first)
			*first = lg_now();
		if (lg_feed(&r, buf, (size_t)n, 0, NULL, NULL))
			break;
	}
	if (body)
		*body = r.body;
	return r.status == 200 ? 0 : -1;
}

static int
lg_get(struct lg_conn *c, const char *path, int64_t *first, long long *body)
{
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %s\r\n"
			 "Accept: */*\r\n\r\n",
			 path, lg_host);

	if (lg_send(c, req, (size_t)n) < 0)
		return -1;
	return lg_read_resp(c, first, body);
}

static void
lg_print_pcts(const char *name, struct lg_samples *s)
{
	printf("\"%s_p50_us\": %.1f, \"%s_p99_us\": %.1f, ", name,
	       lg_pct(s, 50), name, lg_pct(s, 99));
}

static int
lg_warmup(void)
{
	struct lg_conn c;
	int rc;

	if (lg_open(&c) < 0)
		return -1;
	rc = lg_get(&c, "/small", NULL, NULL);
	gnutls_bye(c.s, GNUTLS_SHUT_WR);
	lg_close(&c);
	return rc;
}

static int
lg_ttfb(int fresh, long n, double secs)
{
	struct lg_samples s = { 0 };
	struct lg_conn c = { .fd = -1 };
	int64_t end = lg_now() + (int64_t)(secs * 1e9), t0, first;
	long errors = 0;

	if (!fresh && (lg_open(&c) < 0 || lg_get(&c, "/small", NULL, NULL) < 0))
		return -1;
	for (long i = 0; i < n && lg_now() < end; i++) {
		t0 = lg_now();
		first = 0;
		if (fresh && lg_open(&c) < 0) {
			errors++;
			continue;
		}
		if (lg_get(&c, "/small", &first, NULL) < 0) {
			errors++;
			lg_close(&c);
			if (!fresh && lg_open(&c) < 0)
				return -1;
			continue;
		}
		lg_add(&s, first - t0);
		if (fresh) {
			gnutls_bye(c.s, GNUTLS_SHUT_WR);
			lg_close(&c);
		}
	}
	lg_close(&c);
	printf("{");
	lg_print_pcts("ttfb", &s);
	printf("\"samples\": %zu, \"errors\": %ld}\n", s.n, errors);
	return 0;
}

#define LG_EVENTS 256 /* epoll events taken per wake-up */

struct lg_stream {
	struct lg_conn c;
	struct lg_resp r;
	int64_t last;
	long events;
	int done;
};

static struct lg_samples lg_delay, lg_jitter;
static long lg_ms;
/* Every event's send stamp and arrival delay (-1 without a stamp), in
 * the order they came, as lg_delay holds their delays, for the figures of
 * the steady state: the events sent once every stream had its first one
 * (lg_ready), after the interceptors' connection set-up (for
 * antigravity-proxy that includes its upstream handshakes, which it makes
 * on each stream's request, while the peers make them on accept). */
static struct lg_samples lg_sent, lg_aall;
static long lg_started, lg_live;
static int64_t lg_ready;

static void
lg_event(void *arg, int64_t t, int64_t at)
{
	struct lg_stream *st = arg;
	int64_t d;

	lg_add(&lg_delay, at - t);
	lg_add(&lg_sent, t);
	lg_add(&lg_aall, st->c.rx_at ? st->c.rx_at - t : -1);
	if (st->events == 0 && ++lg_started == lg_live)
		lg_ready = at;
	if (st->last) {
		d = (at - st->last) - lg_ms * 1000000LL;
		lg_add(&lg_jitter, d < 0 ? -d : d);
	}
	st->last = at;
	st->events++;
}

/* Drains whatever one stream has; marks it done at its end or error. */
static void
lg_stream_read(struct lg_stream *st, long n, long *errors)
{
	static char buf[65536];
	ssize_t k;

	for (;;) {
		k = gnutls_record_recv(st->c.s, buf, sizeof(buf));
		if (k == GNUTLS_E_AGAIN)
			return;
		if (k == GNUTLS_E_INTERRUPTED)
			continue;
		if (k <= 0) {
			st->done = 1;
			break;
		}
		if (lg_feed(&st->r, buf, (size_t)k, lg_now(), lg_event, st)) {
			st->done = 1;
			break;
		}
	}
	if (st->events != n || st->r.status != 200)
		(*errors)++;
	lg_close(&st->c);
}

/* The delays (into d, if not NULL) and arrival delays (into a) of the
 * events sent at or after since. Before lg_delay is sorted. */
static void
lg_select(int64_t since, struct lg_samples *d, struct lg_samples *a)
{
	for (size_t i = 0; i < lg_sent.n; i++) {
		if (lg_sent.v[i] < since)
			continue;
		if (d)
			lg_add(d, lg_delay.v[i]);
		if (lg_aall.v[i] >= 0)
			lg_add(a, lg_aall.v[i]);
	}
}

/* Figure 4's JSON: every event's delay and arrival, and the steady
 * state's (from lg_ready on). */
static void
lg_sse_print(long expected, long nstreams, long events, long errors)
{
	struct lg_samples steady = { 0 }, steady_arr = { 0 }, arrival = { 0 };

	lg_select(0, NULL, &arrival);
	if (lg_ready)
		lg_select(lg_ready, &steady, &steady_arr);
	printf("{");
	lg_print_pcts("delay", &lg_delay);
	lg_print_pcts("jitter", &lg_jitter);
	lg_print_pcts("arrival", &arrival);
	lg_print_pcts("steady", &steady);
	printf("\"steady_max_us\": %.1f, \"steady_late_50ms\": %ld, "
	       "\"steady_events\": %zu, ",
	       lg_pct(&steady, 100), lg_over(&steady, 50000000LL), steady.n);
	lg_print_pcts("steady_arrival", &steady_arr);
	printf("\"steady_arrival_max_us\": %.1f, "
	       "\"steady_arrival_late_50ms\": %ld, ",
	       lg_pct(&steady_arr, 100), lg_over(&steady_arr, 50000000LL));
	printf("\"arrival_max_us\": %.1f, \"arrival_late_50ms\": %ld, ",
	       lg_pct(&arrival, 100), lg_over(&arrival, 50000000LL));
	printf("\"delay_max_us\": %.1f, \"late_50ms\": %ld, \"events\": %ld, "
	       "\"expected\": %ld, \"streams\": %ld, \"errors\": %ld}\n",
	       lg_pct(&lg_delay, 100), lg_over(&lg_delay, 50000000LL), events,
	       expected, nstreams, errors);
}

/* Sends one opened stream's request and hands it to ep; 0 or -1. */
static int
lg_stream_go(struct lg_stream *st, int ep, const char *req, int len)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = st };

	if (lg_send(&st->c, req, (size_t)len) < 0) {
		st->done = 1;
		lg_close(&st->c);
		return -1;
	}
	fcntl(st->c.fd, F_SETFL, O_NONBLOCK);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, st->c.fd, &ev)) {
		perror("loadgen: epoll_ctl");
		exit(1);
	}
	return 0;
}

/* The "burst" order: every connection opened, then every request sent.
 * Returns the streams live; counts the others in *errors. */
static long
lg_sse_burst(struct lg_stream *st, long nstreams, int ep, const char *req,
	     int len, long *errors)
{
	int64_t t0 = lg_now();
	long live = 0;

	for (long i = 0; i < nstreams; i++) {
		if (lg_open(&st[i].c) < 0) {
			st[i].done = 1;
			(*errors)++;
			lg_live--;
		}
	}
	fprintf(stderr, "loadgen: %ld streams open in %.1f s\n", nstreams,
		(double)(lg_now() - t0) / 1e9);
	for (long i = 0; i < nstreams; i++) {
		if (st[i].done)
			continue;
		if (lg_stream_go(&st[i], ep, req, len) < 0) {
			(*errors)++;
			lg_live--;
			continue;
		}
		live++;
	}
	return live;
}

/* STREAMS streams of N events each. "burst" opens every connection, then
 * sends every request at once; "each" sends each request as soon as its
 * connection is up, as an agent does, reading the streams already open
 * between two connections. */
static int
lg_sse(long nstreams, long n, long ms, const char *ct, int each)
{
	struct lg_stream *st = calloc((size_t)nstreams, sizeof(*st));
	struct epoll_event evs[LG_EVENTS];
	char req[512];
	int ep;
	long errors = 0, live = 0, events = 0, opened = 0;
	int64_t end, t0;
	int len;

	lg_ms = ms;
	{
		struct timespec r, m;

		clock_gettime(CLOCK_MONOTONIC, &m);
		clock_gettime(CLOCK_REALTIME, &r);
		lg_real_off = ((int64_t)r.tv_sec - m.tv_sec) * 1000000000LL +
			      (r.tv_nsec - m.tv_nsec);
	}
	lg_stamp = 1;
	len = snprintf(req, sizeof(req),
		       "GET /sse?n=%ld&ms=%ld&ct=%s "
		       "HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream"
		       "\r\n\r\n",
		       n, ms, ct, lg_host);
	/* epoll, not poll(): with 10,000 streams a poll() array rebuilt and
	 * scanned on every wake-up would make this loop the bottleneck. */
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("loadgen: epoll_create1");
		return -1;
	}
	t0 = lg_now();
	lg_live = nstreams;
	if (!each) {
		live = lg_sse_burst(st, nstreams, ep, req, len, &errors);
		opened = nstreams;
	}
	end = lg_now() + (n * ms + 60000) * 1000000LL;
	while ((live > 0 || opened < nstreams) && lg_now() < end) {
		int k;

		if (opened < nstreams) {
			struct lg_stream *one = &st[opened++];

			if (lg_open(&one->c) < 0 ||
			    lg_stream_go(one, ep, req, len) < 0) {
				one->done = 1;
				errors++;
				lg_live--;
			} else {
				live++;
			}
			if (opened == nstreams)
				fprintf(stderr,
					"loadgen: %ld streams open, "
					"each sent on connect, in %.1f s\n",
					nstreams,
					(double)(lg_now() - t0) / 1e9);
		}
		k = epoll_wait(ep, evs, LG_EVENTS,
			       opened < nstreams ? 0 : 1000);

		for (int j = 0; j < k; j++) {
			struct lg_stream *one = evs[j].data.ptr;

			if (one->done)
				continue;
			lg_stream_read(one, n, &errors);
			if (one->done)
				live--; /* its close took it out of ep */
		}
	}
	close(ep);
	errors += live; /* still open at the deadline */
	for (long i = 0; i < nstreams; i++)
		events += st[i].events;
	lg_sse_print(n * nstreams, nstreams, events, errors);
	return 0;
}

static int
lg_down(long long bytes, long repeat, const char *ct)
{
	struct lg_conn c;
	char path[128];
	long long got, total = 0;
	int64_t t0;

	snprintf(path, sizeof(path), "/bytes?n=%lld&ct=%s", bytes, ct);
	if (lg_open(&c) < 0)
		return -1;
	t0 = lg_now();
	for (long i = 0; i < repeat; i++) {
		if (lg_get(&c, path, NULL, &got) < 0 || got != bytes)
			return -1;
		total += got;
	}
	printf("{\"mbps\": %.1f, \"bytes\": %lld}\n",
	       (double)total / ((double)(lg_now() - t0) / 1e9) / 1e6, total);
	lg_close(&c);
	return 0;
}

static int
lg_up(long long bytes, long count)
{
	struct lg_conn c;
	char head[256], *body = malloc((size_t)bytes);
	int64_t t0;
	int hl;

	memset(body, 'u', (size_t)bytes);
	hl = snprintf(head, sizeof(head),
		      "POST /up HTTP/1.1\r\nHost: %s\r\n"
		      "Content-Type: application/octet-stream\r\n"
		      "Content-Length: %lld\r\n\r\n",
		      lg_host, bytes);
	if (lg_open(&c) < 0)
		return -1;
	t0 = lg_now();
	for (long i = 0; i < count; i++)
		if (lg_send(&c, head, (size_t)hl) < 0 ||
		    lg_send(&c, body, (size_t)bytes) < 0 ||
		    lg_read_resp(&c, NULL, NULL) < 0)
			return -1;
	printf("{\"mbps\": %.1f, \"bytes\": %lld}\n",
	       (double)bytes * (double)count / ((double)(lg_now() - t0) / 1e9) /
		       1e6,
	       bytes * count);
	lg_close(&c);
	free(body);
	return 0;
}

static int64_t lg_hs_end;
static long lg_hs_ok, lg_hs_err;

static void *
lg_hs_thread(void *arg)
{
	struct lg_conn c;
	char buf[65536];

	(void)arg;
	(void)buf;
	while (lg_now() < lg_hs_end) {
		if (lg_open(&c) < 0 || lg_get(&c, "/small", NULL, NULL) < 0) {
			__atomic_add_fetch(&lg_hs_err, 1, __ATOMIC_RELAXED);
			lg_close(&c);
			continue;
		}
		gnutls_bye(c.s, GNUTLS_SHUT_WR);
		lg_close(&c);
		__atomic_add_fetch(&lg_hs_ok, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int
lg_hs(double secs, int threads)
{
	pthread_t t[64];
	int64_t t0 = lg_now();

	if (threads > 64)
		threads = 64;
	lg_hs_end = t0 + (int64_t)(secs * 1e9);
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, lg_hs_thread, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("{\"per_s\": %.1f, \"connections\": %ld, \"errors\": %ld}\n",
	       (double)lg_hs_ok / ((double)(lg_now() - t0) / 1e9), lg_hs_ok,
	       lg_hs_err);
	return 0;
}

static int
lg_run(int argc, char **argv)
{
	const char *m = argv[0];

	if (strcmp(m, "ttfb-warm") == 0 && argc >= 3)
		return lg_ttfb(0, atol(argv[1]), atof(argv[2]));
	if (strcmp(m, "ttfb-new") == 0 && argc >= 3)
		return lg_ttfb(1, atol(argv[1]), atof(argv[2]));
	if (strcmp(m, "sse") == 0 && argc >= 5)
		return lg_sse(atol(argv[1]), atol(argv[2]), atol(argv[3]),
			      argv[4],
			      argc >= 6 && strcmp(argv[5], "each") == 0);
	if (strcmp(m, "down") == 0 && argc >= 4)
		return lg_down(atoll(argv[1]), atol(argv[2]), argv[3]);
	if (strcmp(m, "up") == 0 && argc >= 3)
		return lg_up(atoll(argv[1]), atol(argv[2]));
	if (strcmp(m, "hs") == 0 && argc >= 3)
		return lg_hs(atof(argv[1]), atoi(argv[2]));
	fprintf(stderr, "loadgen: bad mode %s\n", m);
	return -2;
}

int
main(int argc, char **argv)
{
	const char *connect_to = NULL, *ca = NULL;
	char ip[64];
	int port, i, rc;

	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--connect") == 0)
			connect_to = argv[i + 1];
		else if (strcmp(argv[i], "--host") == 0)
			lg_host = argv[i + 1];
		else if (strcmp(argv[i], "--ca") == 0)
			ca = argv[i + 1];
	}
	if (!connect_to || !lg_host || !ca || i >= argc ||
	    sscanf(connect_to, "%63[^:]:%d", ip, &port) != 2) {
		fprintf(stderr,
			"usage: %s --connect IP:PORT --host SNI --ca PEM "
			"MODE ARGS\n",
			argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lg_addr.sin_family = AF_INET;
	lg_addr.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, ip, &lg_addr.sin_addr);
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
	gnutls_certificate_allocate_credentials(&lg_cred);
	if (gnutls_certificate_set_x509_trust_file(lg_cred, ca,
						   GNUTLS_X509_FMT_PEM) <= 0) {
		fprintf(stderr, "loadgen: no CA in %s\n", ca);
		return 1;
	}
	if (lg_warmup() < 0) {
		fprintf(stderr, "loadgen: warm-up request failed\n");
		return 1;
	}
	rc = lg_run(argc - i, argv + i);
	return rc < 0 ? 1 : 0;
}
