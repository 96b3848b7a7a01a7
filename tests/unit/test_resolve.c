/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_resolve.c - c-ares lookups against a real (fake) DNS server on
 * 127.0.0.1: answers, TTL cache, NXDOMAIN and timeout fallbacks, one
 * query for many concurrent askers, the other modes.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "resolve.h"
#include "tap.h"

struct fakedns {
	pid_t pid;
	char spec[64];
	char log[64];
};

/* Starts tests/helpers/fakedns.py with extra arguments; 0 or -1. */
static int
fakedns_start(struct fakedns *d, const char *extra)
{
	const char *top = getenv("top_srcdir"), *py = getenv("PYTHON");
	char cmd[1024], line[64];
	FILE *f;
	unsigned port;

	snprintf(d->log, sizeof(d->log), "/tmp/agp-fakedns-%d-%p.log",
		 (int)getpid(), (void *)d);
	unlink(d->log);
	snprintf(cmd, sizeof(cmd), "exec %s %s/tests/helpers/fakedns.py "
		 "--listen 127.0.0.1:0 --log %s --record a.test=192.0.2.7 "
		 "--record six.test=2001:db8::6 --record short.test=192.0.2.8 "
		 "%s & echo $!", py ? py : "python3", top ? top : ".", d->log,
		 extra);
	/* The shell prints the pid, then the server prints its port. */
	if (!(f = popen(cmd, "r")) || !fgets(line, sizeof(line), f))
		return -1;
	d->pid = (pid_t)atoi(line);
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "ready %u", &port) != 1)
		return -1;
	snprintf(d->spec, sizeof(d->spec), "127.0.0.1:%u", port);
	/* Leave the pipe open: closing it would wait for the server. */
	return 0;
}

static void
fakedns_stop(struct fakedns *d)
{
	kill(d->pid, SIGTERM);
	unlink(d->log);
}

static int
queries_logged(struct fakedns *d, const char *name)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(d->log, "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, name, strlen(name)) == 0 &&
		    line[strlen(name)] == ' ')
			n++;
	if (f)
		fclose(f);
	return n;
}

static struct resolver *shared;
static int thread_ok;
static pthread_mutex_t ok_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
asker(void *arg)
{
	char addr[64];
	bool fb;

	if (resolver_lookup(shared, "a.test", NULL, addr, sizeof(addr),
			    &fb) == 0 && strcmp(addr, "192.0.2.7") == 0) {
		pthread_mutex_lock(&ok_lock);
		thread_ok++;
		pthread_mutex_unlock(&ok_lock);
	}
	return arg;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(void)
{
	struct fakedns d, slow, ttl1;
	const char *servers[1];
	struct resolver *r;
	pthread_t th[16];
	char addr[64], buf[128];
	bool fb;
	double t0;

	if (fakedns_start(&d, "") < 0 || fakedns_start(&slow, "--drop") < 0 ||
	    fakedns_start(&ttl1, "--ttl 1") < 0) {
		printf("Bail out! fakedns.py does not start\n");
		return 1;
	}
	servers[0] = d.spec;
	r = resolver_new(RESOLVE_DNS, servers, 1, 1000);
	ok(r != NULL, "resolver with a server ADDR:PORT");

	/* 16 threads ask for the same new name: one query answers all. */
	shared = r;
	for (int i = 0; i < 16; i++)
		pthread_create(&th[i], NULL, asker, NULL);
	for (int i = 0; i < 16; i++)
		pthread_join(th[i], NULL);
	is_int(thread_ok, 16, "16 concurrent lookups all answered");
	is_int(queries_logged(&d, "a.test"), 1,
	       "... by exactly one A query");

	ok(resolver_lookup(r, "a.test", NULL, addr, sizeof(addr), &fb) == 0 &&
	   strcmp(addr, "192.0.2.7") == 0 && !fb, "A answer: %s", addr);
	is_int(queries_logged(&d, "a.test"), 1, "a cached answer asks nobody");

	ok(resolver_lookup(r, "six.test", NULL, addr, sizeof(addr), &fb) == 0
	   && strcmp(addr, "2001:db8::6") == 0, "AAAA-only answer: %s", addr);

	ok(resolver_lookup(r, "nx.test", "198.51.100.1", addr, sizeof(addr),
			   &fb) == 0 && fb && strcmp(addr, "198.51.100.1") == 0,
	   "NXDOMAIN falls back to the original destination");
	ok(resolver_lookup(r, "nx.test", NULL, addr, sizeof(addr), &fb) < 0,
	   "NXDOMAIN without a fallback fails");

	ok(resolver_lookup(r, "10.1.2.3", NULL, addr, sizeof(addr), &fb) == 0
	   && strcmp(addr, "10.1.2.3") == 0, "an IP literal is itself");
	is_int(queries_logged(&d, "10.1.2.3"), 0, "... without a query");
	resolver_free(r);

	servers[0] = slow.spec;
	r = resolver_new(RESOLVE_DNS, servers, 1, 300);
	t0 = now();
	ok(resolver_lookup(r, "a.test", "198.51.100.2", addr, sizeof(addr),
			   &fb) == 0 && fb, "a silent server: fallback used");
	t0 = now() - t0;
	ok(t0 >= 0.25 && t0 < 0.9, "... after one 300 ms timeout (%.2f s)",
	   t0);
	resolver_free(r);

	servers[0] = ttl1.spec;
	r = resolver_new(RESOLVE_DNS, servers, 1, 1000);
	resolver_lookup(r, "short.test", NULL, addr, sizeof(addr), &fb);
	resolver_lookup(r, "short.test", NULL, addr, sizeof(addr), &fb);
	is_int(queries_logged(&ttl1, "short.test"), 1, "cached within TTL");
	usleep(1200 * 1000);
	resolver_lookup(r, "short.test", NULL, addr, sizeof(addr), &fb);
	is_int(queries_logged(&ttl1, "short.test"), 2,
	       "asked again after the 1 s TTL");
	resolver_free(r);

	r = resolver_new(RESOLVE_ORIGINAL, servers, 1, 1000);
	ok(resolver_lookup(r, "a.test", "198.51.100.3", addr, sizeof(addr),
			   &fb) == 0 && fb && strcmp(addr, "198.51.100.3") == 0,
	   "original mode uses the original destination");
	is_int(resolver_queries(r), 0, "... and asks no server");
	resolver_free(r);

	r = resolver_new(RESOLVE_SYSTEM, NULL, 0, 1000);
	ok(resolver_lookup(r, "localhost", NULL, addr, sizeof(addr), &fb) == 0
	   && (strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0),
	   "system mode resolves localhost: %s", addr);
	resolver_free(r);

	servers[0] = "not-an-address";
	ok(resolver_new(RESOLVE_DNS, servers, 1, 1000) == NULL,
	   "a bad server is refused");
	servers[0] = "[::1]:5353";
	r = resolver_new(RESOLVE_DNS, servers, 1, 1000);
	ok(r != NULL, "an IPv6 server [::1]:5353 is accepted");
	resolver_free(r);

	ok(resolve_curl_entry("a.test", 443, "192.0.2.7", buf, sizeof(buf))
	   == 0 && strcmp(buf, "a.test:443:192.0.2.7") == 0, "%s", buf);
	ok(resolve_curl_entry("a.test", 8443, "2001:db8::6", buf, sizeof(buf))
	   == 0 && strcmp(buf, "a.test:8443:[2001:db8::6]") == 0, "%s", buf);
	ok(resolve_curl_entry("a.test", 443, "192.0.2.7", buf, 8) < 0,
	   "too small a buffer is an error");

	fakedns_stop(&d);
	fakedns_stop(&slow);
	fakedns_stop(&ttl1);
	return tap_done();
}
