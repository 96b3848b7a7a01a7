/* SPDX-License-Identifier: GPL-2.0-or-later
 * tls.c - the GnuTLS server side of the MITM on an accepted socket.
 *
 * Threading: a struct tls is used by the one worker that owns the
 *   connection. Sessions share the certcache's credentials, installed
 *   once with our retrieve callback; the callback runs inside
 *   gnutls_handshake() in the worker's thread and only touches its own
 *   struct tls and the thread-safe certcache.
 * Ownership: the session owns the certcache reference that the callback
 *   took (GnuTLS borrows the chain and key, so they must live as long as
 *   the session) and drops it in tls_free(). The socket stays the
 *   caller's; we only set SO_SNDTIMEO and SO_RCVTIMEO on it for timeouts.
 * Reads: GnuTLS asks its pull function for a record header, then for the
 *   rest of the record, and with a record timeout it polls before each
 *   ask. Instead the socket blocks with SO_RCVTIMEO and tls_pull() reads
 *   ahead into a small buffer, so a request that fits one record costs
 *   one recv(); poll() is left for the rare record that trickles in.
 */
#include "config.h"

#include "tls.h"

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "certcache.h"
#include "clock.h"
#include "log.h"

/* NORMAL already lacks SSL 3.0 in GnuTLS 3.7; saying so keeps it out
 * should a distribution's NORMAL ever differ. */
#define TLS_PRIORITIES "NORMAL:-VERS-SSL3.0"
#define TLS_NAME_MAX 256
/* Read-ahead: a request head and its record header fit; a larger
 * record's rest is read straight into GnuTLS's buffer. */
#define TLS_RX_AHEAD 4096
/* How far one blocking recv() may overshoot a read deadline before
 * tls_recv() polls for the time left instead. */
#define TLS_RX_SLACK_MS 20

struct tls {
	gnutls_session_t session;
	struct certcache *cache;
	struct certcache_entry *entry; /* set by tls_retrieve() */
	int fd;
	int handshake_timeout_ms;
	int sndtimeo_ms;       /* what SO_SNDTIMEO is now; -1 unset */
	int rcvtimeo_ms;       /* what SO_RCVTIMEO is now; -1 unset */
	int64_t rx_deadline;   /* tls_read()'s, or 0 */
	int64_t tx_deadline;   /* tls_write_all()'s, or 0 */
	size_t rx_pos, rx_len; /* rx[rx_pos..rx_len) not yet pulled */
	unsigned char rx[TLS_RX_AHEAD];
	int alert;	       /* fatal alert received, or -1 */
	int last_rc;	       /* GnuTLS code of the last error */
	size_t pushed;	       /* bytes sent so far */
	unsigned char tail[8]; /* the last bytes received */
	size_t tail_len;
	char sni[TLS_NAME_MAX]; /* empty without SNI */
	char fallback[TLS_NAME_MAX];
};

/* The priorities, compiled once: every session shares them (GnuTLS
 * reads a priority cache only), instead of each compiling its own 8 KB
 * copy with gnutls_priority_set_direct(). Kept for the process's life. */
static gnutls_priority_t tls_priority;
static int tls_priority_rc;
static pthread_once_t tls_priority_once = PTHREAD_ONCE_INIT;

static void
tls_priority_init(void)
{
	tls_priority_rc =
		gnutls_priority_init(&tls_priority, TLS_PRIORITIES, NULL);
}

static int
tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn,
	     int nreqs, const gnutls_pk_algorithm_t *pk_algos,
	     int pk_algos_length, gnutls_pcert_st **pcert,
	     unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	struct tls *s = gnutls_session_get_ptr(session);
	struct certcache_entry *e = NULL;
	size_t len = sizeof(s->sni);
	unsigned int type = 0;

	if (gnutls_server_name_get(session, s->sni, &len, &type, 0) < 0 ||
	    type != GNUTLS_NAME_DNS)
		s->sni[0] = '\0';
	/* An SNI we cannot put in a certificate falls back like no SNI. */
	if (s->sni[0])
		e = certcache_get(s->cache, s->sni);
	if (!e && s->fallback[0])
		e = certcache_get(s->cache, s->fallback);
	if (!e)
		return -1;
	certcache_put(s->entry); /* a repeated call replaces it */
	s->entry = e;
	*pcert = certcache_entry_chain(e, pcert_length);
	*privkey = certcache_entry_key(e);
	return 0;
}

/* Keeps the last bytes read from the client: see tls_plain_alert(). */
static void
tls_keep_tail(struct tls *s, const unsigned char *p, size_t n)
{
	size_t keep;

	if (n >= sizeof(s->tail)) {
		memcpy(s->tail, p + n - sizeof(s->tail), sizeof(s->tail));
		s->tail_len = sizeof(s->tail);
		return;
	}
	keep = s->tail_len < sizeof(s->tail) - n ? s->tail_len
						 : sizeof(s->tail) - n;
	memmove(s->tail, s->tail + s->tail_len - keep, keep);
	memcpy(s->tail + keep, p, n);
	s->tail_len = keep + n;
}

/* One recv() for tls_pull(), into buf. Within tls_read() it gives up
 * with EAGAIN once the read deadline has passed, and waits with poll()
 * when SO_RCVTIMEO would overshoot the time left (a record trickling
 * in). errno is left as recv/poll set it, which is where GnuTLS looks. */
static ssize_t
tls_recv(struct tls *s, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	ssize_t n;

	if (s->rx_deadline) {
		int64_t left = s->rx_deadline - clock_mono_ms();

		if (left <= 0 || (left + TLS_RX_SLACK_MS < s->rcvtimeo_ms &&
				  poll(&pfd, 1, (int)left) == 0)) {
			errno = EAGAIN;
			return -1;
		}
	}
	n = recv(s->fd, buf, len, 0);
	if (n > 0)
		tls_keep_tail(s, buf, (size_t)n);
	return n;
}

/* Our own transport functions, so that we see the raw bytes and read
 * ahead. */
static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct tls *s = ptr;
	size_t n;
	ssize_t got;

	if (s->rx_pos == s->rx_len) {
		if (len >= sizeof(s->rx))
			return tls_recv(s, buf, len);
		if ((got = tls_recv(s, s->rx, sizeof(s->rx))) <= 0)
			return got;
		s->rx_pos = 0;
		s->rx_len = (size_t)got;
	}
	n = s->rx_len - s->rx_pos < len ? s->rx_len - s->rx_pos : len;
	memcpy(buf, s->rx + s->rx_pos, n);
	s->rx_pos += n;
	return (ssize_t)n;
}

/* Only the handshake waits through this: GnuTLS polls before it pulls
 * when it has a timeout, and tls_read() sets none. */
static int
tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct tls *s = ptr;
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

	if (s->rx_pos < s->rx_len)
		return 1;
	return poll(&pfd, 1,
		    ms == GNUTLS_INDEFINITE_TIMEOUT ? -1
		    : ms > INT32_MAX		    ? INT32_MAX
						    : (int)ms);
}

/* One send() for tls_push() within tls_write_all(): it moves what fits
 * without blocking, and waits for room only until the write's deadline.
 * A blocking send() under SO_SNDTIMEO would start its timeout again on
 * each call GnuTLS makes for the rest of a record, so a reader taking a
 * few bytes now and then held a write for several timeouts. */
static ssize_t
tls_send_by(struct tls *s, const void *buf, size_t len)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
	int64_t left;
	ssize_t n;
	int rc;

	for (;;) {
		n = send(s->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0 ||
		    (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return n;
		left = s->tx_deadline - clock_mono_ms();
		if (left <= 0)
			break;
		rc = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc == 0)
			break;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
	errno = EAGAIN; /* tls_write_all() sees the deadline passed */
	return -1;
}

static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
	struct tls *s = ptr;
	ssize_t n = s->tx_deadline ? tls_send_by(s, buf, len)
				   : send(s->fd, buf, len, MSG_NOSIGNAL);

	if (n > 0)
		s->pushed += (size_t)n;
	return n;
}

/* OpenSSL clients (Python, curl-openssl) send a TLS 1.3 alert about our
 * certificate in plaintext, before they switch to handshake keys; GnuTLS
 * 3.7 then fails to decrypt it instead of reporting the alert. When a
 * handshake failed that way and the client's last bytes were a plaintext
 * fatal alert record, return its description, else -1. */
static int
tls_plain_alert(const struct tls *s)
{
	const unsigned char *r = s->tail + s->tail_len - 7;

	if (s->tail_len < 7 || r[0] != 0x15 || r[1] != 0x03 || r[2] < 0x01 ||
	    r[2] > 0x04 || r[3] != 0 || r[4] != 2 || r[5] != GNUTLS_AL_FATAL)
		return -1;
	return r[6];
}

struct tls *
tls_server_new(struct certcache *cache, int fd, const char *sni_or_ip,
	       int handshake_timeout_ms)
{
	static const gnutls_datum_t http11 = { (unsigned char *)"http/1.1", 8 };
	gnutls_certificate_credentials_t cred;
	struct tls *s;
	int rc;

	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	s->cache = cache;
	s->fd = fd;
	s->alert = -1;
	s->sndtimeo_ms = -1;
	s->rcvtimeo_ms = -1;
	s->handshake_timeout_ms =
		handshake_timeout_ms > 0 ? handshake_timeout_ms : 0;
	if (sni_or_ip)
		snprintf(s->fallback, sizeof(s->fallback), "%s", sni_or_ip);
	cred = certcache_credentials(cache, tls_retrieve);
	pthread_once(&tls_priority_once, tls_priority_init);
	if ((rc = tls_priority_rc) < 0 ||
	    (rc = gnutls_init(&s->session, GNUTLS_SERVER | GNUTLS_NO_SIGNAL)) <
		    0 ||
	    (rc = gnutls_priority_set(s->session, tls_priority)) < 0 ||
	    (rc = gnutls_credentials_set(s->session, GNUTLS_CRD_CERTIFICATE,
					 cred)) < 0 ||
	    (rc = gnutls_alpn_set_protocols(s->session, &http11, 1,
					    GNUTLS_ALPN_SERVER_PRECEDENCE)) <
		    0) {
		log_warnx("tls: session setup: %s", gnutls_strerror(rc));
		tls_free(s);
		return NULL;
	}
	gnutls_handshake_set_timeout(s->session,
				     (unsigned int)s->handshake_timeout_ms);
	gnutls_session_set_ptr(s->session, s);
	gnutls_transport_set_ptr(s->session, s);
	gnutls_transport_set_pull_function(s->session, tls_pull);
	gnutls_transport_set_pull_timeout_function(s->session,
						   tls_pull_timeout);
	gnutls_transport_set_push_function(s->session, tls_push);
	return s;
}

void
tls_free(struct tls *s)
{
	if (!s)
		return;
	if (s->session)
		gnutls_deinit(s->session);
	certcache_put(s->entry); /* after the session stops using it */
	free(s);
}

static int64_t
tls_deadline(int timeout_ms)
{
	return timeout_ms > 0 ? clock_mono_ms() + timeout_ms : 0;
}

/* Sets a SO_SNDTIMEO or SO_RCVTIMEO of timeout_ms (0: none) unless
 * *cur_ms says it is set already. A blocking send() or recv() gives up
 * after it with EAGAIN, which GnuTLS reports as GNUTLS_E_AGAIN. */
static void
tls_set_timeo(struct tls *s, int opt, int *cur_ms, int timeout_ms)
{
	struct timeval tv;

	if (timeout_ms < 0)
		timeout_ms = 0;
	if (timeout_ms == *cur_ms)
		return;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (setsockopt(s->fd, SOL_SOCKET, opt, &tv, sizeof(tv)) == 0)
		*cur_ms = timeout_ms;
}

static void
tls_set_sndtimeo(struct tls *s, int timeout_ms)
{
	tls_set_timeo(s, SO_SNDTIMEO, &s->sndtimeo_ms, timeout_ms);
}

/* After GNUTLS_E_AGAIN or GNUTLS_E_INTERRUPTED: waits until the socket is
 * ready in the direction GnuTLS was blocked in. Returns 0 to retry the
 * call, or TLS_E_TIMEOUT once deadline (0: none) has passed. */
static int
tls_wait(struct tls *s, int rc, int64_t deadline)
{
	struct pollfd pfd = { .fd = s->fd };
	int64_t left = deadline ? deadline - clock_mono_ms() : -1;
	int n;

	if (deadline && left <= 0) {
		s->last_rc = GNUTLS_E_TIMEDOUT;
		return TLS_E_TIMEOUT;
	}
	if (rc == GNUTLS_E_INTERRUPTED)
		return 0;
	pfd.events = gnutls_record_get_direction(s->session) ? POLLOUT : POLLIN;
	do
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		s->last_rc = GNUTLS_E_TIMEDOUT;
		return TLS_E_TIMEOUT;
	}
	return 0;
}

/* A client that rejects our certificate may close while we are still
 * sending the rest of our flight (TLS 1.2 sends the certificate before
 * ServerKeyExchange), so the send fails before GnuTLS reads the alert;
 * read what the client sent without waiting and look for it there. */
static int
tls_drain_for_alert(struct tls *s)
{
	unsigned char buf[512];
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		tls_keep_tail(s, buf, (size_t)n);
	}
	return tls_plain_alert(s);
}

/* Maps a final GnuTLS failure to our codes, remembering an alert. */
static int
tls_fail(struct tls *s, int rc)
{
	s->last_rc = rc;
	if (rc == GNUTLS_E_TIMEDOUT)
		return TLS_E_TIMEOUT;
	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
		s->alert = (int)gnutls_alert_get(s->session);
	else if (rc == GNUTLS_E_DECRYPTION_FAILED ||
		 rc == GNUTLS_E_UNEXPECTED_PACKET)
		s->alert = tls_plain_alert(s);
	if (s->alert >= 0) {
		if (s->alert == GNUTLS_A_UNKNOWN_CA ||
		    s->alert == GNUTLS_A_BAD_CERTIFICATE ||
		    s->alert == GNUTLS_A_CERTIFICATE_UNKNOWN)
			return TLS_E_REJECTED;
	}
	return TLS_E_FAILED;
}

int
tls_handshake(struct tls *s)
{
	int64_t deadline = tls_deadline(s->handshake_timeout_ms);
	bool closed;
	int rc;

	tls_set_sndtimeo(s, s->handshake_timeout_ms);
	for (;;) {
		rc = gnutls_handshake(s->session);
		if (rc == 0)
			return 0;
		if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
			break;
		if ((rc = tls_wait(s, rc, deadline)) < 0)
			return rc;
	}
	if (rc == GNUTLS_E_PUSH_ERROR)
		s->alert = tls_drain_for_alert(s);
	closed = rc == GNUTLS_E_PREMATURE_TERMINATION ||
		 rc == GNUTLS_E_PULL_ERROR || rc == GNUTLS_E_PUSH_ERROR;
	rc = tls_fail(s, rc);
	/* Our flight went out and the client went away without a word:
	 * what clients that check the certificate after the fact do. */
	if (rc == TLS_E_FAILED && closed && s->alert < 0 && s->pushed > 0)
		return TLS_E_CLOSED;
	/* Tell a client that broke the protocol why; not one that was
	 * silent or has already given up on us. */
	if (rc == TLS_E_FAILED && s->alert < 0 &&
	    s->last_rc != GNUTLS_E_FATAL_ALERT_RECEIVED &&
	    s->last_rc != GNUTLS_E_PREMATURE_TERMINATION &&
	    s->last_rc != GNUTLS_E_PUSH_ERROR)
		gnutls_alert_send_appropriate(s->session, s->last_rc);
	return rc;
}

ssize_t
tls_read(struct tls *s, void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = tls_deadline(timeout_ms);
	ssize_t n;

	/* No record timeout: GnuTLS would poll before every pull. */
	tls_set_timeo(s, SO_RCVTIMEO, &s->rcvtimeo_ms, timeout_ms);
	s->rx_deadline = deadline;
	for (;;) {
		n = gnutls_record_recv(s->session, buf, len);
		if (n >= 0)
			break;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			if ((n = tls_wait(s, (int)n, deadline)) < 0)
				break;
		} else if (n == GNUTLS_E_REHANDSHAKE) {
			/* We never renegotiate; say so and carry on. */
			gnutls_alert_send(s->session, GNUTLS_AL_WARNING,
					  GNUTLS_A_NO_RENEGOTIATION);
		} else if (n == GNUTLS_E_PREMATURE_TERMINATION) {
			/* Many clients just close: that ends HTTP/1.1 too. */
			n = 0;
			break;
		} else if (n != GNUTLS_E_WARNING_ALERT_RECEIVED) {
			n = tls_fail(s, (int)n);
			break;
		}
	}
	s->rx_deadline = 0; /* tls_pull() serves other calls too */
	return n;
}

size_t
tls_pending(struct tls *s)
{
	/* tls_pull()'s buffer too: records read from the socket but not
	 * yet decrypted are no more visible to poll() */
	return gnutls_record_check_pending(s->session) +
	       (s->rx_len - s->rx_pos);
}

int
tls_write_all(struct tls *s, const void *buf, size_t len, int timeout_ms)
{
	const unsigned char *p = buf;
	int64_t deadline = tls_deadline(timeout_ms);
	ssize_t n;
	int rc;

	/* One deadline for the whole of buf, however the reader takes it:
	 * tls_push() waits only until then. */
	tls_set_sndtimeo(s, timeout_ms);
	s->tx_deadline = deadline;
	rc = 0;
	while (len > 0) {
		n = gnutls_record_send(s->session, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED) {
			rc = tls_fail(s, n == 0 ? GNUTLS_E_PUSH_ERROR : (int)n);
			break;
		}
		/* GnuTLS wants the same arguments again after AGAIN. */
		if ((rc = tls_wait(s, (int)n, deadline)) < 0)
			break;
	}
	s->tx_deadline = 0; /* tls_push() serves the handshake too */
	return rc;
}

int
tls_bye(struct tls *s, int timeout_ms)
{
	int64_t deadline = tls_deadline(timeout_ms);
	int rc;

	tls_set_sndtimeo(s, timeout_ms);
	for (;;) {
		rc = gnutls_bye(s->session, GNUTLS_SHUT_WR);
		if (rc == 0)
			return 0;
		if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED)
			return tls_fail(s, rc);
		if ((rc = tls_wait(s, rc, deadline)) < 0)
			return rc;
	}
}

const char *
tls_cert_name(const struct tls *s)
{
	return s->entry ? certcache_entry_host(s->entry) : NULL;
}

const char *
tls_sni(const struct tls *s)
{
	return s->sni[0] ? s->sni : NULL;
}

int
tls_alert(const struct tls *s)
{
	return s->alert;
}

const char *
tls_error(const struct tls *s)
{
	if (s->alert >= 0)
		return gnutls_alert_get_name(
			(gnutls_alert_description_t)s->alert);
	return s->last_rc ? gnutls_strerror(s->last_rc) : "no error";
}

int
tls_alpn_http11(const struct tls *s)
{
	gnutls_datum_t d;

	return gnutls_alpn_get_selected_protocol(s->session, &d) == 0 &&
	       d.size == 8 && memcmp(d.data, "http/1.1", 8) == 0;
}
