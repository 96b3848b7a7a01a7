/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_upstream_gate.c - the set-up gate (upstream_gate.h) alone, then
 * upstream_perform() through it against the fake upstream
 * (tests/helpers/fakeupstream.py) with one slot: set-ups that start
 * together take it in turn, and one stuck in its handshake gives it up.
 */
#include "config.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "resolve.h"
#include "tap.h"
#include "testutil.h"
#include "upstream.h"
#include "upstream_gate.h"
#include "upstream_int.h"

static char tmpdir[256];
static int port; /* the fake upstream's */
static pid_t server_pid = -1;

static int
on_head(void *arg, int status, const char *reason, const struct http_header *h,
	size_t n)
{
	(void)reason;
	(void)h;
	(void)n;
	*(int *)arg = status;
	return 0;
}

static int
on_body(void *arg, const char *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return 0;
}

static double
wall(void)
{
	return clock_mono_msf() / 1000.0;
}

/* Certificates for localhost and name.test, and the fake upstream. */
static int
start_server(void)
{
	const char *src = getenv("top_srcdir");
	const char *extra[] = { NULL };
	char cmd[512], cert[300], key[300];

	snprintf(cmd, sizeof(cmd),
		 "sh %s/tests/helpers/mkcerts.sh %s localhost name.test "
		 "127.0.0.1",
		 src ? src : ".", tmpdir);
	snprintf(cert, sizeof(cert), "%s/server.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/server.key", tmpdir);
	if (system(cmd) != 0 ||
	    (port = testutil_fake_upstream(cert, key, extra, &server_pid)) < 0)
		return -1;
	return 0;
}

#define GATE_THREADS 8

static void
test_gate_alone(void)
{
	struct upstream_gate *g = upstream_gate_new(2);
	struct upstream_gate_stats st;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long t0;

	ok(g && upstream_gate_slots(g) == 2, "a gate of 2 slots");
	ok(upstream_gate_take(g, clock_mono_ms() + 1000) &&
		   upstream_gate_take(g, clock_mono_ms() + 1000),
	   "both slots taken at once");
	t0 = clock_mono_ms();
	ok(!upstream_gate_take(g, t0 + 100), "a third take gives up");
	ok(clock_mono_ms() - t0 >= 90, "at its deadline (%lld ms)",
	   clock_mono_ms() - t0);
	upstream_gate_give(g);
	ok(upstream_gate_take(g, clock_mono_ms() + 100),
	   "a slot given back is taken");
	upstream_gate_give(g);
	upstream_gate_give(g);
	upstream_gate_stats(g, &st);
	is_int((int)st.waits, 1, "one take waited");
	is_int((int)st.late, 1, "one gave up");
	is_int((int)st.held_max, 2, "two slots held at most");
	upstream_gate_free(g);
	g = upstream_gate_new(0);
	ok(g && (long)upstream_gate_slots(g) == (cpus > 0 ? cpus : 1),
	   "slots 0: one a CPU (%ld)", cpus);
	upstream_gate_free(g);
}

static void *
take_long(void *arg)
{
	return (void *)(intptr_t)upstream_gate_take(arg,
						    clock_mono_ms() + 10000);
}

/* A closed gate (the daemon stopping) lets nobody wait. */
static void
test_gate_close(void)
{
	struct upstream_gate *g = upstream_gate_new(1);
	pthread_t t;
	void *taken = NULL;
	long long t0;

	ok(g && upstream_gate_take(g, clock_mono_ms() + 1000),
	   "the one slot taken");
	pthread_create(&t, NULL, take_long, g);
	usleep(100 * 1000);
	t0 = clock_mono_ms();
	upstream_gate_close(g);
	pthread_join(t, &taken);
	ok(!taken && clock_mono_ms() - t0 < 1000,
	   "a take waiting gives up when the gate closes (%lld ms)",
	   clock_mono_ms() - t0);
	t0 = clock_mono_ms();
	ok(!upstream_gate_take(g, t0 + 1000) && clock_mono_ms() - t0 < 100,
	   "a take after it fails at once");
	upstream_gate_give(g);
	upstream_gate_free(g);
}

struct setup {
	struct upstream *u;
	pthread_barrier_t *start;
	const char *host;
	int port, rc;
	double secs;
};

/* One exchange on a fresh xfer, timed; rc is its result, or -100 when
 * it was not a 200. */
static void *
setup_one(void *arg)
{
	struct setup *s = arg;
	struct upstream_xfer *x = upstream_xfer_new(s->u);
	struct upstream_request req = {
		.method = "GET",
		.host = s->host,
		.port = (unsigned)s->port,
		.dst_addr = "127.0.0.1",
		.target = "/echo",
	};
	int status = 0;
	struct upstream_callbacks cb = { .head = on_head,
					 .body = on_body,
					 .arg = &status };
	double t0;

	if (s->start)
		pthread_barrier_wait(s->start);
	t0 = wall();
	s->rc = upstream_perform(x, &req, &cb, NULL);
	s->secs = wall() - t0;
	if (s->rc == 0 && status != 200)
		s->rc = -100;
	upstream_xfer_free(x);
	return NULL;
}

/* Set-ups that start together hold the one slot in turn, and all end. */
static void
test_setups_queue(struct upstream *u)
{
	pthread_t t[GATE_THREADS];
	struct setup s[GATE_THREADS];
	pthread_barrier_t start;
	struct upstream_gate_stats st;
	unsigned long ex0, conns0, ex1, conns1;
	int failed = 0;

	upstream_stats(u, &ex0, &conns0);
	pthread_barrier_init(&start, NULL, GATE_THREADS);
	for (int i = 0; i < GATE_THREADS; i++) {
		s[i] = (struct setup){ .u = u,
				       .start = &start,
				       .host = "name.test",
				       .port = port };
		pthread_create(&t[i], NULL, setup_one, &s[i]);
	}
	for (int i = 0; i < GATE_THREADS; i++) {
		pthread_join(t[i], NULL);
		failed += s[i].rc != 0;
	}
	pthread_barrier_destroy(&start);
	upstream_stats(u, &ex1, &conns1);
	upstream_gate_stats(u->gate, &st);
	is_int(failed, 0, "%d set-ups at once: all exchanges done",
	       GATE_THREADS);
	ok(conns1 - conns0 >= 2, "%lu new connections", conns1 - conns0);
	is_int((int)st.held_max, 1, "one slot held at most");
	ok(st.waits >= 1, "set-ups waited for it (%lu)", st.waits);
	is_int((int)st.late, 0, "none gave up");
}

/* A set-up stuck in its handshake (a port whose listener never answers)
 * gives the slot back while it waits: another set-up goes on at once,
 * not when the stuck one times out. */
static void
test_stuck_setup(struct upstream *u)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct setup stuck, other;
	pthread_t t;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!ok(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 &&
			listen(fd, 4) == 0,
		"a listener that never answers"))
		return;
	stuck = (struct setup){ .u = u,
				.host = "name.test",
				.port = ntohs(sa.sin_port) };
	pthread_create(&t, NULL, setup_one, &stuck);
	usleep(300 * 1000); /* connected, its ClientHello sent */
	/* Another origin (the one certificate names both): a new
	 * connection, not one the last test left in the pool. */
	other = (struct setup){ .u = u, .host = "localhost", .port = port };
	setup_one(&other);
	is_int(other.rc, 0, "a set-up beside the stuck one: done");
	ok(other.secs < 1.0, "in %.3f s, not at the other's timeout",
	   other.secs);
	pthread_join(t, NULL);
	is_int(stuck.rc, UPSTREAM_E_TIMEOUT, "the stuck one timed out");
	ok(stuck.secs >= 1.5, "after %.2f s", stuck.secs);
	close(fd);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	struct upstream_config cfg = { 0 };
	struct upstream *u = NULL;
	char ca[300];
	bool made;

	test_gate_alone();
	test_gate_close();
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_upstream_gate.XXXXXX",
		 t && *t ? t : "/tmp");
	made = mkdtemp(tmpdir) != NULL;
	if (!ok(made && start_server() == 0, "fake upstream started"))
		goto out;
	curl_global_init(CURL_GLOBAL_ALL);
	snprintf(ca, sizeof(ca), "%s/ca.pem", tmpdir);
	cfg.upstream_ca = ca;
	cfg.connect_timeout_ms = 2000;
	cfg.setup_slots = 1;
	cfg.resolver = resolver_new(RESOLVE_ORIGINAL, NULL, 0, 0);
	if (!ok(cfg.resolver && (u = upstream_new(&cfg)) != NULL,
		"upstream_new, one set-up slot"))
		goto out;
	test_setups_queue(u);
	test_stuck_setup(u);
out:
	upstream_free(u);
	resolver_free(cfg.resolver);
	curl_global_cleanup();
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	if (made) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
	}
	return tap_done();
}
