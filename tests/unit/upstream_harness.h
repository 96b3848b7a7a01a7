/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_harness.h - test_upstream.c's harness: the fake upstream
 * (tests/helpers/fakeupstream.py) in a temporary directory, a sink that
 * records what upstream_perform() hands its callbacks, one exchange
 * (run), what the server logged, and GnuTLS's trust and verify calls,
 * interposed and counted.  Included by test_upstream.c alone: it defines.
 */
#ifndef AGP_UPSTREAM_HARNESS_H
#define AGP_UPSTREAM_HARNESS_H

#include "testutil.h"

#define MIB (1024 * 1024)
#define MAX_CHUNKS 64

struct sink {
	int status, nhead_calls;
	char reason[64];
	char heads[8192]; /* "\nName: value" ... */
	gnutls_hash_hd_t sha;
	size_t len;
	char text[65536]; /* the first bytes, NUL-terminated */
	int abort_after;  /* body() calls before returning -1; 0: never */
	int ncalls;
	double call_t[MAX_CHUNKS];   /* wall clock at each body() call */
	size_t call_end[MAX_CHUNKS]; /* body length after that call */
};

static bool made_tmpdir;
static char tmpdir[256], ca_path[300];
/* The origin the next requests go to, and the original destination the
 * resolver (RESOLVE_ORIGINAL) gives for it. */
static char origin_host[64], origin_dst[64] = "127.0.0.1";
static int port, origin_port;
static pid_t server_pid = -1, extra_pids[2] = { -1, -1 };

/* ---- counted GnuTLS calls ---------------------------------------------- */

static atomic_int curl_ca_loads, chain_checks;

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int
gnutls_certificate_set_x509_trust_file(gnutls_certificate_credentials_t c,
				       const char *f, gnutls_x509_crt_fmt_t t)
{
	atomic_fetch_add(&curl_ca_loads, 1);
	return REAL(gnutls_certificate_set_x509_trust_file)(c, f, t);
}

int
gnutls_certificate_set_x509_trust_dir(gnutls_certificate_credentials_t c,
				      const char *d, gnutls_x509_crt_fmt_t t)
{
	atomic_fetch_add(&curl_ca_loads, 1);
	return REAL(gnutls_certificate_set_x509_trust_dir)(c, d, t);
}

int
gnutls_certificate_set_x509_trust_mem(gnutls_certificate_credentials_t c,
				      const gnutls_datum_t *ca,
				      gnutls_x509_crt_fmt_t t)
{
	atomic_fetch_add(&curl_ca_loads, 1);
	return REAL(gnutls_certificate_set_x509_trust_mem)(c, ca, t);
}

int
gnutls_certificate_set_x509_system_trust(gnutls_certificate_credentials_t c)
{
	atomic_fetch_add(&curl_ca_loads, 1);
	return REAL(gnutls_certificate_set_x509_system_trust)(c);
}

int
gnutls_x509_trust_list_verify_crt2(gnutls_x509_trust_list_t list,
				   gnutls_x509_crt_t *cert_list,
				   unsigned int cert_list_size,
				   gnutls_typed_vdata_st *data,
				   unsigned int elements, unsigned int flags,
				   unsigned int *voutput,
				   gnutls_verify_output_function func)
{
	atomic_fetch_add(&chain_checks, 1);
	return REAL(gnutls_x509_trust_list_verify_crt2)(
		list, cert_list, cert_list_size, data, elements, flags, voutput,
		func);
}

static double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
on_head(void *arg, int status, const char *reason, const struct http_header *h,
	size_t n)
{
	struct sink *s = arg;
	size_t off = 0;

	s->status = status;
	s->nhead_calls++;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	for (size_t i = 0; i < n && off < sizeof(s->heads); i++)
		off += snprintf(s->heads + off, sizeof(s->heads) - off,
				"\n%s: %s", h[i].name, h[i].value);
	return 0;
}

static int
on_body(void *arg, const char *buf, size_t len)
{
	struct sink *s = arg;

	if (s->len < sizeof(s->text) - 1) {
		size_t n = sizeof(s->text) - 1 - s->len;

		memcpy(s->text + s->len, buf, len < n ? len : n);
	}
	gnutls_hash(s->sha, buf, len);
	s->len += len;
	if (s->ncalls < MAX_CHUNKS) {
		s->call_t[s->ncalls] = wall();
		s->call_end[s->ncalls] = s->len;
	}
	s->ncalls++;
	if (s->abort_after && s->ncalls >= s->abort_after)
		return -1;
	return 0;
}

static void
sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	gnutls_hash_init(&s->sha, GNUTLS_DIG_SHA256);
}

/* Finishes the hash into hex. */
static void
sink_sha(struct sink *s, char hex[65])
{
	unsigned char d[32];

	gnutls_hash_deinit(s->sha, d);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
}

/* The value of response header name, or NULL. */
static const char *
head_value(struct sink *s, const char *name, char *buf, size_t size)
{
	char pat[128];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\n%s: ", name);
	if (!(p = strstr(s->heads, pat)))
		return NULL;
	p += strlen(pat);
	e = p + strcspn(p, "\n");
	snprintf(buf, size, "%.*s", (int)(e - p), p);
	return buf;
}

static int
run(struct upstream *u, const char *method, const char *target,
    const struct http_header *h, size_t nh, const char *body, size_t blen,
    struct sink *s, bool *head_sent)
{
	struct upstream_xfer *x = upstream_xfer_new(u);
	struct upstream_request req = {
		.method = method,
		.host = origin_host,
		.port = (unsigned)origin_port,
		.dst_addr = origin_dst,
		.target = target,
		.headers = h,
		.nheaders = nh,
		.body = body,
		.body_len = blen,
	};
	struct upstream_callbacks cb = { .head = on_head,
					 .body = on_body,
					 .arg = s };
	int rc = upstream_perform(x, &req, &cb, head_sent);

	upstream_xfer_free(x);
	return rc;
}

/* Starts a fake upstream serving tmpdir/NAME.pem and NAME.key, logging
 * to tmpdir/NAME.log; returns its port, or -1. */
static int
spawn_server(const char *name, pid_t *pid)
{
	char cert[300], key[300], log[300], fixtures[512];
	const char *src = getenv("top_srcdir");
	const char *extra[] = { "--log", log, "--fixtures", fixtures, NULL };

	snprintf(cert, sizeof(cert), "%s/%s.pem", tmpdir, name);
	snprintf(key, sizeof(key), "%s/%s.key", tmpdir, name);
	snprintf(log, sizeof(log), "%s/%s.log", tmpdir, name);
	snprintf(fixtures, sizeof(fixtures), "%s/tests/helpers",
		 src ? src : ".");
	return testutil_fake_upstream(cert, key, extra, pid);
}

static int
start_server(void)
{
	const char *src = getenv("top_srcdir");
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "sh %s/tests/helpers/mkcerts.sh "
		 "%s localhost name.test 127.0.0.1",
		 src ? src : ".", tmpdir);
	if (system(cmd) != 0 ||
	    (port = spawn_server("server", &server_pid)) < 0)
		return -1;
	snprintf(origin_host, sizeof(origin_host), "name.test");
	origin_port = port;
	return 0;
}

/* The connection ids of the requests the server logged, last first. */
static int
logged_conn(int from_end)
{
	char path[300], line[65536];
	int ids[256], n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/server.log", tmpdir);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct json_object *o = json_tokener_parse(line), *c;

		if (o && json_object_object_get_ex(o, "conn", &c))
			ids[n++ % 256] = json_object_get_int(c);
		json_object_put(o);
	}
	fclose(f);
	return n > from_end ? ids[(n - 1 - from_end) % 256] : -1;
}

/* Requests the fake upstream NAME logged so far. */
static int
logged_requests(const char *name)
{
	char path[300];
	int ch, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.log", tmpdir, name);
	if (!(f = fopen(path, "r")))
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* The /echo JSON of s, or NULL. */
static struct json_object *
echo_json(struct sink *s)
{
	return json_tokener_parse(s->text);
}

/* Names and values of the forwarded headers as "Name=value;..." */
static void
echo_headers(struct json_object *o, char *out, size_t size)
{
	struct json_object *hs;
	size_t off = 0;

	out[0] = '\0';
	if (!json_object_object_get_ex(o, "headers", &hs))
		return;
	for (size_t i = 0; i < json_object_array_length(hs) && off < size;
	     i++) {
		struct json_object *p = json_object_array_get_idx(hs, i);

		off += snprintf(
			out + off, size - off, "%s=%s;",
			json_object_get_string(json_object_array_get_idx(p, 0)),
			json_object_get_string(
				json_object_array_get_idx(p, 1)));
	}
}

#endif
