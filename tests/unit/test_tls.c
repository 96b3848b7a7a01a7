/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_tls.c - real handshakes on 127.0.0.1 against tls.c: Python's ssl
 * with VERIFY_X509_STRICT, gnutls-cli, a client that distrusts the CA, a
 * silent client, an IP-literal connection without SNI, an idle client, a
 * client that trickles a record in byte by byte.
 *
 * Threading: each case runs the server side in a thread of its own while
 *   the main thread runs the client (a child process or a plain socket).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "ca.h"
#include "certcache.h"
#include "log.h"
#include "tap.h"
#include "tls.h"

enum srv_mode { SRV_ECHO, SRV_IDLE, SRV_TRICKLE };

struct srv {
	int lfd;
	struct certcache *cache;
	const char *fallback;
	int hs_timeout_ms;
	enum srv_mode mode;
	pthread_t tid;
	/* results */
	int accepted;
	int hs_rc;
	int alert;
	int alpn_http11;
	long hs_ms;
	long read_ms;
	ssize_t read_rc;
	ssize_t eof_rc;
	int write_rc;
	long write_ms;
	char got[64];
	char cert_name[256];
	char sni[256];
	char error[128];
};

static char state_dir[512];
static char ca_path[600];

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes far more than the socket buffers hold to a client that is not
 * reading: the write must give up after its timeout. */
static void
srv_flood(struct srv *sv, struct tls *t)
{
	size_t len = 64 << 20;
	char *big = calloc(1, len);
	long t0 = now_ms();

	sv->write_rc = big ? tls_write_all(t, big, len, 300) : 99;
	sv->write_ms = now_ms() - t0;
	free(big);
}

static void
srv_session(struct srv *sv, struct tls *t)
{
	long t0 = now_ms();
	ssize_t n;

	sv->hs_rc = tls_handshake(t);
	sv->hs_ms = now_ms() - t0;
	sv->alert = tls_alert(t);
	snprintf(sv->error, sizeof(sv->error), "%s", tls_error(t));
	snprintf(sv->cert_name, sizeof(sv->cert_name), "%s",
		 tls_cert_name(t) ? tls_cert_name(t) : "");
	snprintf(sv->sni, sizeof(sv->sni), "%s", tls_sni(t) ? tls_sni(t) : "");
	if (sv->hs_rc < 0)
		return;
	sv->alpn_http11 = tls_alpn_http11(t);
	t0 = now_ms();
	n = tls_read(t, sv->got, sizeof(sv->got) - 1,
		     sv->mode != SRV_ECHO ? 300 : 5000);
	sv->read_ms = now_ms() - t0;
	sv->read_rc = n;
	if (sv->mode == SRV_IDLE)
		srv_flood(sv, t);
	if (n <= 0 || sv->mode != SRV_ECHO)
		return;
	sv->got[n] = '\0';
	if (tls_write_all(t, "pong\n", 5, 5000) == 0)
		sv->eof_rc = tls_read(t, sv->got + n, 1, 5000);
	tls_bye(t, 1000);
}

static void *
srv_main(void *arg)
{
	struct srv *sv = arg;
	struct tls *t;
	int fd;

	if ((fd = accept(sv->lfd, NULL, NULL)) < 0)
		return NULL;
	sv->accepted = 1;
	t = tls_server_new(sv->cache, fd, sv->fallback, sv->hs_timeout_ms);
	if (t)
		srv_session(sv, t);
	else
		sv->hs_rc = 99;
	tls_free(t);
	close(fd);
	return NULL;
}

static void
srv_start(struct srv *sv, int lfd, struct certcache *cache,
	  const char *fallback, int hs_timeout_ms, enum srv_mode mode)
{
	memset(sv, 0, sizeof(*sv));
	sv->lfd = lfd;
	sv->cache = cache;
	sv->fallback = fallback;
	sv->hs_timeout_ms = hs_timeout_ms;
	sv->mode = mode;
	sv->hs_rc = 98;
	sv->read_rc = sv->eof_rc = 97;
	pthread_create(&sv->tid, NULL, srv_main, sv);
}

static int
listener(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { 10, 0 }; /* accept never hangs the test */
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Runs cmd through the shell, echoing its output as TAP comments;
 * returns its exit status or -1. */
static int
run(const char *cmd)
{
	char line[512];
	FILE *p;
	int st;

	diag("$ %s", cmd);
	if (!(p = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		diag("  %s", line);
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
python_client(int port, const char *name, const char *mode)
{
	const char *py = getenv("PYTHON"), *src = getenv("top_srcdir");
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "'%s' '%s/tests/unit/tls_client.py' --port %d --ca '%s' "
		 "--name '%s' --mode %s 2>&1",
		 py && *py ? py : "python3", src && *src ? src : "..", port,
		 ca_path, name, mode);
	return run(cmd);
}

static void
test_python_ok(int lfd, int port, struct certcache *cache)
{
	struct srv sv;

	srv_start(&sv, lfd, cache, "10.1.2.3", 5000, SRV_ECHO);
	is_int(python_client(port, "api.example.test", "ok"), 0,
	       "python strict client: verified, ALPN http/1.1, echo");
	pthread_join(sv.tid, NULL);
	is_int(sv.hs_rc, 0, "server handshake ok");
	is_str(sv.sni, "api.example.test", "server saw the SNI");
	is_str(sv.cert_name, "api.example.test", "cert forged for the SNI");
	ok(sv.alpn_http11, "server agreed on http/1.1");
	ok(sv.read_rc == 5 && strncmp(sv.got, "ping\n", 5) == 0,
	   "server read the request");
	is_int(sv.eof_rc, 0, "close_notify or EOF reads as 0");
}

static void
test_gnutls_cli(int lfd, int port, struct certcache *cache)
{
	struct srv sv;
	char cmd[4096];
	int rc;

	if (system("command -v gnutls-cli >/dev/null 2>&1") != 0) {
		printf("ok %d # SKIP gnutls-cli not installed\n", ++tap_n);
		return;
	}
	srv_start(&sv, lfd, cache, "10.1.2.3", 5000, SRV_ECHO);
	/* The exit status is gnutls-cli's; the log shows what it saw. */
	snprintf(cmd, sizeof(cmd),
		 "sleep 1 | gnutls-cli --x509cafile='%s' "
		 "--port=%d --sni-hostname=cli.example.test "
		 "--verify-hostname=cli.example.test --alpn=http/1.1 "
		 "127.0.0.1 >'%s/cli.log' 2>&1; rc=$?; grep -E "
		 "'^- (Status|Description|Application)|rror|[*][*][*]' "
		 "'%s/cli.log'; rm -f '%s/cli.log'; exit $rc",
		 ca_path, port, state_dir, state_dir, state_dir);
	rc = run(cmd);
	pthread_join(sv.tid, NULL);
	is_int(rc, 0, "gnutls-cli verifies the chain against the CA");
	is_int(sv.hs_rc, 0, "server handshake with gnutls-cli ok");
	is_str(sv.cert_name, "cli.example.test", "gnutls-cli SNI used");
}

/* mode "untrusted" runs TLS 1.3, where OpenSSL sends its alert in
 * plaintext; "untrusted --tls12" checks the ordinary alert path. */
static void
test_untrusted(int lfd, int port, struct certcache *cache, const char *mode)
{
	struct srv sv;

	srv_start(&sv, lfd, cache, "10.1.2.3", 5000, SRV_ECHO);
	is_int(python_client(port, "api.example.test", mode), 0,
	       "%s: a client without our CA fails verification", mode);
	pthread_join(sv.tid, NULL);
	diag("server: alert %d, %s", sv.alert, sv.error);
	is_int(sv.hs_rc, TLS_E_REJECTED,
	       "%s: tls_handshake reports the rejection", mode);
	ok(sv.alert == GNUTLS_A_UNKNOWN_CA ||
		   sv.alert == GNUTLS_A_BAD_CERTIFICATE,
	   "%s: alert is unknown_ca or bad_certificate", mode);
}

static void
test_silent(int lfd, int port, struct certcache *cache)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct srv sv;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	srv_start(&sv, lfd, cache, "10.1.2.3", 500, SRV_ECHO);
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok(fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	   "silent client connected");
	pthread_join(sv.tid, NULL);
	if (fd >= 0)
		close(fd);
	is_int(sv.hs_rc, TLS_E_TIMEOUT, "silent client: handshake times out");
	ok(sv.hs_ms >= 450 && sv.hs_ms < 2000,
	   "within the 500 ms timeout (%ld ms)", sv.hs_ms);
}

static void
test_ip_literal(int lfd, int port, struct certcache *cache)
{
	struct srv sv;

	srv_start(&sv, lfd, cache, "127.0.0.1", 5000, SRV_ECHO);
	is_int(python_client(port, "127.0.0.1", "ok"), 0,
	       "python connecting by IP verifies the IP SAN");
	pthread_join(sv.tid, NULL);
	is_int(sv.hs_rc, 0, "server handshake ok without SNI");
	is_str(sv.sni, "", "no SNI for an IP literal");
	is_str(sv.cert_name, "127.0.0.1", "cert forged for the fallback IP");
}

static void
test_idle(int lfd, int port, struct certcache *cache)
{
	struct srv sv;

	srv_start(&sv, lfd, cache, "10.1.2.3", 5000, SRV_IDLE);
	is_int(python_client(port, "idle.example.test", "idle"), 0,
	       "idle client handshakes");
	pthread_join(sv.tid, NULL);
	is_int(sv.hs_rc, 0, "server handshake ok");
	is_int(sv.read_rc, TLS_E_TIMEOUT, "idle read times out");
	ok(sv.read_ms >= 250 && sv.read_ms < 1400,
	   "within the 300 ms read timeout (%ld ms)", sv.read_ms);
	is_int(sv.write_rc, TLS_E_TIMEOUT, "write to a non-reader times out");
	/* The timeout counts from the last progress, and the kernel keeps
	 * taking data for a while as loopback buffers grow. */
	ok(sv.write_ms >= 250 && sv.write_ms < 2500,
	   "write gives up soon after progress stops (%ld ms)", sv.write_ms);
}

/* Each byte comes well within the read timeout, but the whole record
 * does not: the timeout bounds the read, not the gap between bytes. */
static void
test_trickle(int lfd, int port, struct certcache *cache)
{
	struct srv sv;

	srv_start(&sv, lfd, cache, "10.1.2.3", 5000, SRV_TRICKLE);
	is_int(python_client(port, "trickle.example.test", "trickle"), 0,
	       "trickling client handshakes");
	pthread_join(sv.tid, NULL);
	is_int(sv.hs_rc, 0, "server handshake ok");
	is_int(sv.read_rc, TLS_E_TIMEOUT, "a trickled record times out");
	ok(sv.read_ms >= 250 && sv.read_ms < 900,
	   "within the 300 ms read timeout (%ld ms)", sv.read_ms);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct certcache *cache = NULL;
	struct ca *ca = NULL;
	int lfd, port = 0;

	log_set_level(LOG_ERR);
	snprintf(state_dir, sizeof(state_dir), "%s/agp-test-tls-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(state_dir) || !(ca = ca_open(state_dir)) ||
	    !(cache = certcache_new(ca, 0)) || (lfd = listener(&port)) < 0) {
		ok(0, "setup");
		return tap_done();
	}
	snprintf(ca_path, sizeof(ca_path), "%s/ca-cert.pem", state_dir);
	test_python_ok(lfd, port, cache);
	test_gnutls_cli(lfd, port, cache);
	test_untrusted(lfd, port, cache, "untrusted");
	test_untrusted(lfd, port, cache, "untrusted --tls12");
	test_silent(lfd, port, cache);
	test_ip_literal(lfd, port, cache);
	test_idle(lfd, port, cache);
	test_trickle(lfd, port, cache);
	close(lfd);
	certcache_free(cache);
	ca_free(ca);
	unlink(ca_path);
	snprintf(ca_path, sizeof(ca_path), "%s/ca-key.pem", state_dir);
	unlink(ca_path);
	rmdir(state_dir);
	return tap_done();
}
