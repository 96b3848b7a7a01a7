/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_resolve.c - resolver modes, cache, fallback and query coalescing,
 * against tests/helpers/fakedns.py on 127.0.0.1 (nothing else contacted).
 *
 * Queries are counted in each fake server's log, which it writes before
 * answering, so a count read after a lookup returned is final.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "resolve.h"
#include "tap.h"

#define NTHREADS 16

struct fakedns {
	pid_t pid;
	char spec[32]; /* "127.0.0.1:PORT" */
	char log[256];
};

static char tmpdir[] = "/tmp/test_resolve.XXXXXX";

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Starts fakedns.py with args (NULL-terminated) plus --listen and --log;
 * returns 0 once it printed "ready PORT". */
static int
fakedns_start(struct fakedns *f, const char *name, const char *const *args)
{
	const char *py = getenv("PYTHON"), *src = getenv("top_srcdir");
	char script[512], line[64];
	const char *argv[32];
	int pfd[2], n = 0, len = 0, port = 0;
	struct pollfd p;

	snprintf(script, sizeof(script), "%s/tests/helpers/fakedns.py",
		 src ? src : "..");
	snprintf(f->log, sizeof(f->log), "%s/%s.log", tmpdir, name);
	argv[n++] = py && *py ? py : "python3";
	argv[n++] = script;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--log";
	argv[n++] = f->log;
	while (*args && n < 30)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (pipe(pfd) < 0 || (f->pid = fork()) < 0)
		return -1;
	if (f->pid == 0) {
		/* Dies with the test even if the test crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	p.fd = pfd[0];
	p.events = POLLIN;
	/* One byte at a time: the line is short and nothing may follow. */
	while (len < (int)sizeof(line) - 1 && poll(&p, 1, 10000) > 0 &&
	       read(pfd[0], line + len, 1) == 1 && line[len] != '\n')
		len++;
	close(pfd[0]);
	line[len] = '\0';
	if (sscanf(line, "ready %d", &port) != 1 || port <= 0)
		return -1;
	snprintf(f->spec, sizeof(f->spec), "127.0.0.1:%d", port);
	return 0;
}

static void
fakedns_stop(struct fakedns *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
	}
	unlink(f->log);
}

/* Queries of name (type "A"/"AAAA", or NULL for any) in f's log. */
static int
queries(const struct fakedns *f, const char *name, const char *type)
{
	char line[512], n[300], t[16];
	FILE *fp = fopen(f->log, "r");
	int count = 0;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%299s %15s", n, t) != 2)
			continue;
		if ((name == NULL || strcmp(n, name) == 0) &&
		    (type == NULL || strcmp(t, type) == 0))
			count++;
	}
	fclose(fp);
	return count;
}

static void
test_parsers(void)
{
	static const char *const bad[] = {
		"",
		"1.2.3",
		"1.2.3.4:",
		"1.2.3.4:0",
		"1.2.3.4:65536",
		"1.2.3.4:53x",
		"[::1",
		"[::1]x",
		"[::1]:",
		"[1.2.3.4]:53",
		"dns.example",
		"1.2.3.4:+53",
		"1.2.3.4:-1",
		"::g",
	};
	struct resolve_server s;
	enum resolve_mode m;
	char big[300];
	size_t i;

	ok(resolve_server_parse("8.8.8.8", &s) == 0 && s.family == AF_INET &&
		   s.port == 53,
	   "server 8.8.8.8 -> v4 port 53");
	ok(resolve_server_parse("127.0.0.1:5353", &s) == 0 &&
		   s.family == AF_INET && s.port == 5353,
	   "server with port");
	ok(resolve_server_parse("[::1]:5300", &s) == 0 &&
		   s.family == AF_INET6 && s.port == 5300,
	   "server [v6]:port");
	ok(resolve_server_parse("[::1]", &s) == 0 && s.port == 53,
	   "server [v6]");
	ok(resolve_server_parse("2001:db8::1", &s) == 0 &&
		   s.family == AF_INET6 && s.port == 53,
	   "server bare v6");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(resolve_server_parse(bad[i], &s) < 0,
		   "server \"%s\" rejected", bad[i]);

	ok(resolve_mode_parse("dns", &m) == 0 && m == RESOLVE_DNS &&
		   resolve_mode_parse("original", &m) == 0 &&
		   m == RESOLVE_ORIGINAL &&
		   resolve_mode_parse("system", &m) == 0 &&
		   m == RESOLVE_SYSTEM && resolve_mode_parse("DNS", &m) < 0,
	   "mode names");

	ok(resolve_host_valid("api.test") && resolve_host_valid("a-b_c.d.") &&
		   resolve_host_valid("localhost"),
	   "valid host names");
	memset(big, 'a', 64);
	big[64] = '\0';
	ok(!resolve_host_valid(big), "64-char label rejected");
	for (i = 0; i < 254; i++)
		big[i] = i % 2 ? '.' : 'a';
	big[253] = '\0';
	ok(resolve_host_valid(big), "253-char name accepted");
	big[253] = 'b';
	big[254] = '\0';
	ok(!resolve_host_valid(big), "254-char name rejected");
	ok(!resolve_host_valid("") && !resolve_host_valid(".") &&
		   !resolve_host_valid("a..b") && !resolve_host_valid(".a") &&
		   !resolve_host_valid("a b") && !resolve_host_valid("a/b") &&
		   !resolve_host_valid(NULL),
	   "malformed host names rejected");
}

static void
test_new(void)
{
	const char *bad[] = { "127.0.0.1:53", "nonsense" };
	const char *many[RESOLVE_SERVERS_MAX + 1];
	struct resolver *r;
	size_t i;

	ok(resolver_new(RESOLVE_DNS, bad, 2, 300) == NULL,
	   "resolver_new rejects a bad server spec");
	for (i = 0; i < RESOLVE_SERVERS_MAX + 1; i++)
		many[i] = "127.0.0.1";
	ok(resolver_new(RESOLVE_DNS, many, RESOLVE_SERVERS_MAX + 1, 0) == NULL,
	   "resolver_new rejects too many servers");
	r = resolver_new(RESOLVE_DNS, NULL, 0, 0);
	ok(r != NULL, "resolver_new with the default server");
	resolver_free(r);
	resolver_free(NULL);
}

static void
test_dns(const struct fakedns *f)
{
	const char *srv[] = { f->spec };
	struct resolver *r = resolver_new(RESOLVE_DNS, srv, 1, 2000);
	char addr[INET6_ADDRSTRLEN];
	int total;

	if (!ok(r != NULL, "dns resolver created"))
		return;
	ok(resolver_lookup(r, "a.test", NULL, addr, sizeof(addr)) == 0,
	   "A lookup");
	is_str(addr, "10.1.2.3", "A answer");
	is_int(queries(f, "a.test", NULL), 1, "one query for a.test");
	ok(resolver_lookup(r, "A.Test.", "192.0.2.1", addr, sizeof(addr)) == 0,
	   "cached lookup (case, dot)");
	is_str(addr, "10.1.2.3", "cached answer");
	is_int(queries(f, "a.test", NULL), 1, "cache hit made no query");

	ok(resolver_lookup(r, "six.test", NULL, addr, sizeof(addr)) == 0,
	   "AAAA-only lookup");
	is_str(addr, "::1", "AAAA answer");
	is_int(queries(f, "six.test", "A"), 1, "six.test: A asked first");
	is_int(queries(f, "six.test", "AAAA"), 1, "six.test: then AAAA");

	ok(resolver_lookup(r, "both.test", NULL, addr, sizeof(addr)) == 0,
	   "dual-stack lookup");
	is_str(addr, "10.0.0.2", "A preferred over AAAA");
	is_int(queries(f, "both.test", "AAAA"), 0, "no AAAA query when A");

	ok(resolver_lookup(r, "nx.test", "192.0.2.7", addr, sizeof(addr)) == 0,
	   "NXDOMAIN -> fallback");
	is_str(addr, "192.0.2.7", "fallback address");
	strcpy(addr, "");
	ok(resolver_lookup(r, "nx.test", "192.0.2.7", addr, sizeof(addr)) == 0,
	   "NXDOMAIN again -> fallback");
	is_str(addr, "192.0.2.7", "fallback address again");
	is_int(queries(f, "nx.test", NULL), 1, "negative answer cached");
	is_int(resolver_lookup(r, "nx2.test", NULL, addr, sizeof(addr)),
	       -ENOENT, "NXDOMAIN without fallback -> -ENOENT");

	total = queries(f, NULL, NULL);
	ok(resolver_lookup(r, "127.0.0.1", "192.0.2.7", addr, sizeof(addr)) ==
		   0,
	   "IPv4 literal");
	is_str(addr, "127.0.0.1", "IPv4 literal is itself");
	ok(resolver_lookup(r, "[::1]", NULL, addr, sizeof(addr)) == 0,
	   "bracketed IPv6 literal");
	is_str(addr, "::1", "IPv6 literal is itself");
	is_int(queries(f, NULL, NULL), total, "literals made no query");

	is_int(resolver_lookup(r, "bad..host", "192.0.2.7", addr, sizeof(addr)),
	       -EINVAL, "invalid host -> -EINVAL");
	is_int(resolver_lookup(r, "six.test", NULL, addr, 3), -ENOSPC,
	       "small buffer -> -ENOSPC");
	resolver_free(r);
}

static void
test_ttl(const struct fakedns *f)
{
	const char *srv[] = { f->spec };
	struct resolver *r = resolver_new(RESOLVE_DNS, srv, 1, 2000);
	char addr[INET6_ADDRSTRLEN];

	if (!ok(r != NULL, "ttl resolver created"))
		return;
	resolver_lookup(r, "a.test", NULL, addr, sizeof(addr));
	resolver_lookup(r, "a.test", NULL, addr, sizeof(addr));
	is_int(queries(f, "a.test", NULL), 1, "ttl 1: second lookup cached");
	usleep(1300 * 1000);
	ok(resolver_lookup(r, "a.test", NULL, addr, sizeof(addr)) == 0,
	   "lookup after expiry");
	is_str(addr, "10.1.2.3", "answer after expiry");
	is_int(queries(f, "a.test", NULL), 2, "expired entry queried again");
	resolver_free(r);
}

static void
test_timeout(const struct fakedns *drop, const struct fakedns *good)
{
	const char *srv[] = { drop->spec };
	const char *two[] = { drop->spec, good->spec };
	struct resolver *r = resolver_new(RESOLVE_DNS, srv, 1, 300);
	char addr[INET6_ADDRSTRLEN];
	long t0, dt;

	if (!ok(r != NULL, "timeout resolver created"))
		return;
	t0 = now_ms();
	ok(resolver_lookup(r, "a.test", "192.0.2.8", addr, sizeof(addr)) == 0,
	   "timeout -> fallback");
	dt = now_ms() - t0;
	is_str(addr, "192.0.2.8", "fallback after timeout");
	ok(dt >= 250 && dt < 1500, "gave up after ~300 ms (%ld ms)", dt);
	ok(queries(drop, "a.test", NULL) >= 1, "the dropping server was asked");
	resolver_free(r);

	r = resolver_new(RESOLVE_DNS, two, 2, 1600);
	if (!ok(r != NULL, "two-server resolver created"))
		return;
	ok(resolver_lookup(r, "fo.test", "192.0.2.8", addr, sizeof(addr)) == 0,
	   "second server answers");
	is_str(addr, "10.4.4.4", "answer from the second server");
	resolver_free(r);
}

static void
test_modes(const struct fakedns *f)
{
	const char *srv[] = { f->spec };
	struct resolver *r = resolver_new(RESOLVE_ORIGINAL, srv, 1, 300);
	char addr[INET6_ADDRSTRLEN];

	if (!ok(r != NULL, "original resolver created"))
		return;
	ok(resolver_lookup(r, "orig.test", "192.0.2.9", addr, sizeof(addr)) ==
		   0,
	   "original mode uses the fallback");
	is_str(addr, "192.0.2.9", "original destination");
	is_int(resolver_lookup(r, "orig.test", NULL, addr, sizeof(addr)),
	       -ENOENT, "original mode without fallback -> -ENOENT");
	is_int(queries(f, "orig.test", NULL), 0, "original mode: no query");
	resolver_free(r);

	r = resolver_new(RESOLVE_SYSTEM, NULL, 0, 0);
	if (!ok(r != NULL, "system resolver created"))
		return;
	ok(resolver_lookup(r, "localhost", "192.0.2.9", addr, sizeof(addr)) ==
		   0,
	   "system mode resolves localhost");
	ok(strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0,
	   "localhost is loopback (%s)", addr);
	resolver_free(r);
}

struct burst {
	struct resolver *r;
	pthread_barrier_t *bar;
	int rc;
	char addr[INET6_ADDRSTRLEN];
};

static void *
burst_run(void *arg)
{
	struct burst *b = arg;

	pthread_barrier_wait(b->bar);
	b->rc = resolver_lookup(b->r, "burst.test", NULL, b->addr,
				sizeof(b->addr));
	return NULL;
}

static void
test_concurrent(const struct fakedns *slow)
{
	const char *srv[] = { slow->spec };
	struct burst b[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t bar;
	int i, good = 0;

	memset(b, 0, sizeof(b));
	pthread_barrier_init(&bar, NULL, NTHREADS);
	b[0].r = resolver_new(RESOLVE_DNS, srv, 1, 3000);
	if (!ok(b[0].r != NULL, "burst resolver created"))
		return;
	for (i = 0; i < NTHREADS; i++) {
		b[i].r = b[0].r;
		b[i].bar = &bar;
		pthread_create(&th[i], NULL, burst_run, &b[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (b[i].rc == 0 && strcmp(b[i].addr, "10.9.9.9") == 0)
			good++;
	}
	is_int(good, NTHREADS, "%d threads got the answer", NTHREADS);
	is_int(queries(slow, "burst.test", NULL), 1,
	       "%d concurrent lookups made one query", NTHREADS);
	resolver_free(b[0].r);
	pthread_barrier_destroy(&bar);
}

int
main(void)
{
	static const char *const main_args[] = {
		"--record", "a.test=10.1.2.3",
		"--record", "six.test=::1",
		"--record", "both.test=10.0.0.2",
		"--record", "both.test=::2",
		"--record", "orig.test=10.3.3.3",
		"--record", "fo.test=10.4.4.4",
		"--ttl",    "60",
		NULL,
	};
	static const char *const ttl_args[] = {
		"--record", "a.test=10.1.2.3", "--ttl", "1", NULL,
	};
	static const char *const drop_args[] = { "--drop", NULL };
	static const char *const slow_args[] = {
		"--record", "burst.test=10.9.9.9", "--delay-ms", "300", NULL,
	};
	struct fakedns fmain = { 0 }, fttl = { 0 }, fdrop = { 0 };
	struct fakedns fslow = { 0 };

	test_parsers();
	test_new();
	if (mkdtemp(tmpdir) == NULL ||
	    fakedns_start(&fmain, "main", main_args) < 0 ||
	    fakedns_start(&fttl, "ttl", ttl_args) < 0 ||
	    fakedns_start(&fdrop, "drop", drop_args) < 0 ||
	    fakedns_start(&fslow, "slow", slow_args) < 0) {
		ok(0, "fake DNS servers started");
		goto out;
	}
	test_dns(&fmain);
	test_ttl(&fttl);
	test_timeout(&fdrop, &fmain);
	test_modes(&fmain);
	test_concurrent(&fslow);
out:
	fakedns_stop(&fmain);
	fakedns_stop(&fttl);
	fakedns_stop(&fdrop);
	fakedns_stop(&fslow);
	rmdir(tmpdir);
	return tap_done();
}
