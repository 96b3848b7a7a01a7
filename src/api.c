/* SPDX-License-Identifier: GPL-2.0-or-later
 * api.c - the HTTP API on 127.0.0.1:8741 (GNU libmicrohttpd).
 *
 * Threading: libmicrohttpd's internal polling thread calls api_handler();
 *   it reads the usage table through usage_table_json(), which copies
 *   under the table's lock, and formats outside it. Windows (?since=) and
 *   /v1/requests are queries on the API's own read connection to
 *   usage.db (a->reader, guarded by a->reader_lock, opened on first use),
 *   never under the table's lock.
 * The dashboard's files (dashboard.c) are served for paths no route
 *   takes.
 * Ownership: struct api owns the MHD daemon, its listening socket and the
 *   read connection.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api.h"
#include "clock.h"
#include "dashboard.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "store.h"
#include "usage.h"
#include "when.h"

#define API_METRICS_MAX (256 * 1024)

/* libmicrohttpd answers a head too big for a connection's memory with its
 * own HTML page, and offers no hook to replace it. So each connection
 * gets room for a head far larger than any real client sends, and the
 * limits clients meet are ours, answered in JSON like every other error.
 * Memory is mapped per connection but touched only as a head fills it. */
#define API_MEMORY_LIMIT (256 * 1024)
#define API_URI_MAX (8 * 1024)	    /* request target, query included */
#define API_HEADERS_MAX (32 * 1024) /* names and values together */
/* Idle connections must not lock readers out: a short idle timeout, a
 * total far above what a dashboard uses, and a cap per client address
 * (one remote client; on loopback every local user shares it). */
#define API_CONN_TIMEOUT 10U /* seconds */
#define API_CONN_LIMIT 1024U
#define API_PER_IP_LIMIT 256U

/* One request's state, from the URI callback to the completion one. */
struct api_req {
	size_t uri_len;
	bool started;
};

struct api {
	struct MHD_Daemon *mhd;
	int fd;
	struct usage_table *usage;
	struct ledger *ledger;
	pthread_mutex_t reader_lock; /* guards reader */
	struct store *reader;
	api_metrics_fn metrics;
	void *metrics_arg;
	double started;
};

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type,
      char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Sends a JSON document (consumed) with a trailing newline. */
static enum MHD_Result
reply_json(struct MHD_Connection *conn, unsigned status,
	   struct json_object *doc)
{
	const char *s;
	char *body;
	size_t len;

	if (!doc)
		return MHD_NO;
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	if ((body = malloc(len + 2))) {
		memcpy(body, s, len);
		body[len++] = '\n';
		body[len] = '\0';
	}
	json_object_put(doc);
	if (!body)
		return MHD_NO;
	return reply(conn, status, "application/json", body, len);
}

static enum MHD_Result
reply_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	struct json_object *doc = json_object_new_object();

	json_object_object_add(doc, "error", json_object_new_string(msg));
	json_object_object_add(doc, "status", json_object_new_int((int)status));
	return reply_json(conn, status, doc);
}

static enum MHD_Result
handle_health(struct api *a, struct MHD_Connection *conn)
{
	struct json_object *doc = json_object_new_object();
	struct ledger_stats ls = { .degraded = false };

	if (a->ledger)
		ledger_stats(a->ledger, &ls);
	json_object_object_add(
		doc, "status",
		json_object_new_string(ls.degraded ? "degraded" : "ok"));
	if (ls.degraded) {
		json_object_object_add(doc, "reason",
				       json_object_new_string(ls.reason));
		json_object_object_add(
			doc, "queued",
			json_object_new_int64((int64_t)ls.queued));
	}
	json_object_object_add(doc, "version",
			       json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(
		doc, "uptime_seconds",
		json_object_new_int64((int64_t)(clock_wall() - a->started)));
	return reply_json(
		conn, ls.degraded ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
		doc);
}

/* The read connection, opened on first use (on this thread, after the
 * privilege drop); a->reader_lock held. */
static struct store *
api_reader(struct api *a)
{
	if (!a->reader && a->ledger)
		a->reader = ledger_reader(a->ledger);
	return a->reader;
}

/* The price table's version, as in the plain document. */
static void
api_add_prices(struct api *a, struct json_object *doc)
{
	struct json_object *u = usage_table_json(a->usage), *p;

	if (u && json_object_object_get_ex(u, "prices", &p))
		json_object_object_add(doc, "prices", json_object_get(p));
	json_object_put(u);
}

/* A /v1/usage query's arguments, checked. */
struct api_usage_q {
	const char *by;
	struct store_by b;
	double since, until;
	long tz;
	bool has_until;
};

/* 0, or -1 with why in err. */
static int
api_usage_args(struct MHD_Connection *conn, struct api_usage_q *q, char *err,
	       size_t errlen)
{
	const char *s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						    "since");
	const char *u = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						    "until");
	const char *tz =
		MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "tz");
	double now = clock_wall();
	const char *bad = NULL;

	q->by = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "by");
	q->has_until = u != NULL;
	if (s && when_parse(s, now, &q->since) < 0)
		bad = "since";
	else if (u && when_parse(u, now, &q->until) < 0)
		bad = "until";
	if (bad) {
		snprintf(err, errlen,
			 "%s: expected RFC 3339 time, 'today' or "
			 "a duration like 1h",
			 bad);
		return -1;
	}
	if (tz && when_parse_tz(tz, &q->tz) < 0) {
		snprintf(err, errlen,
			 "tz: expected an offset like +01:00, "
			 "-0500 or Z");
		return -1;
	}
	if (q->by && store_by_parse(q->by, &q->b, err, errlen) < 0)
		return -1;
	/* The plain document and its windows come from the summaries,
	 * which have no end and no local days. */
	if (!q->by && (u || tz)) {
		snprintf(err, errlen, "%s: only with by=", u ? "until" : "tz");
		return -1;
	}
	return 0;
}

/* What a by= document was asked for, so that it says what it counts. */
static void
api_usage_echo(struct json_object *doc, const struct api_usage_q *q)
{
	char buf[32];

	if (q->since > 0) {
		clock_rfc3339(q->since, buf, sizeof(buf));
		json_object_object_add(doc, "since",
				       json_object_new_string(buf));
	}
	if (q->has_until) {
		clock_rfc3339(q->until, buf, sizeof(buf));
		json_object_object_add(doc, "until",
				       json_object_new_string(buf));
	}
	when_format_tz(q->tz, buf, sizeof(buf));
	json_object_object_add(doc, "tz", json_object_new_string(buf));
}

static enum MHD_Result
handle_usage(struct api *a, struct MHD_Connection *conn)
{
	struct api_usage_q q = { .b = { .n = 0 } };
	struct json_object *doc = NULL;
	struct store *st;
	char err[128];

	if (api_usage_args(conn, &q, err, sizeof(err)) < 0)
		return reply_error(conn, MHD_HTTP_BAD_REQUEST, err);
	if (q.since <= 0 && !q.by) {
		doc = usage_table_json(a->usage);
	} else {
		pthread_mutex_lock(&a->reader_lock);
		if ((st = api_reader(a)))
			doc = q.by ? store_group_json(st, a->usage, &q.b,
						      q.since, q.until, q.tz)
				   : store_window_json(st, a->usage, q.since);
		pthread_mutex_unlock(&a->reader_lock);
		if (!doc)
			return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					   "usage.db cannot be read");
	}
	if (doc && q.by) {
		api_usage_echo(doc, &q);
		api_add_prices(a, doc);
	}
	if (doc)
		json_object_object_add(doc, "api_version",
				       json_object_new_int(API_VERSION));
	return reply_json(conn, MHD_HTTP_OK, doc);
}

/* A /v1/requests page (consumed), with its cursor, when there is a next
 * page, in X-Next-Before. */
static enum MHD_Result
reply_page(struct MHD_Connection *conn, struct json_object *arr,
	   const char *next)
{
	const char *s =
		json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	char *body = malloc(len + 2);
	struct MHD_Response *r = NULL;
	enum MHD_Result ret;

	if (body) {
		memcpy(body, s, len);
		body[len++] = '\n';
		body[len] = '\0';
		r = MHD_create_response_from_buffer(len, body,
						    MHD_RESPMEM_MUST_FREE);
	}
	json_object_put(arr);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (*next)
		MHD_add_response_header(r, "X-Next-Before", next);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

struct api_filter_ctx {
	struct store_filter f;
	double now;
	char err[128];
	bool bad;
};

static enum MHD_Result
api_filter_arg(void *cls, enum MHD_ValueKind kind, const char *key,
	       const char *value)
{
	struct api_filter_ctx *c = cls;

	(void)kind;
	if (c->bad)
		return MHD_NO;
	if (store_filter_set(&c->f, key, value, c->now, c->err,
			     sizeof(c->err)) < 0)
		c->bad = true;
	return c->bad ? MHD_NO : MHD_YES;
}

static enum MHD_Result
handle_requests(struct api *a, struct MHD_Connection *conn)
{
	struct api_filter_ctx c = { .now = clock_wall() };
	struct json_object *arr = NULL;
	struct store *st;
	int64_t next = 0;
	char hdr[32] = "";

	store_filter_init(&c.f);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, api_filter_arg,
				  &c);
	if (c.bad)
		return reply_error(conn, MHD_HTTP_BAD_REQUEST, c.err);
	pthread_mutex_lock(&a->reader_lock);
	if ((st = api_reader(a)))
		arr = store_requests_json(st, &c.f, &next);
	pthread_mutex_unlock(&a->reader_lock);
	if (!arr)
		return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "usage.db cannot be read");
	if (next)
		snprintf(hdr, sizeof(hdr), "%" PRId64, next);
	return reply_page(conn, arr, hdr);
}

static enum MHD_Result
handle_metrics(struct api *a, struct MHD_Connection *conn)
{
	char *buf = malloc(API_METRICS_MAX);
	struct metrics m;

	if (!buf)
		return MHD_NO;
	metrics_init(&m, buf, API_METRICS_MAX);
	metrics_head(&m, "antigravity_proxy_uptime_seconds", "gauge",
		     "Seconds since start.");
	metrics_printf(&m, "antigravity_proxy_uptime_seconds %.0f\n",
		       clock_wall() - a->started);
	if (a->metrics)
		a->metrics(a->metrics_arg, &m);
	return reply(conn, MHD_HTTP_OK,
		     "text/plain; version=0.0.4; charset=utf-8", buf, m.len);
}

static const struct {
	const char *path;
	enum MHD_Result (*fn)(struct api *, struct MHD_Connection *);
} api_routes[] = {
	{ "/health", handle_health },
	{ "/v1/usage", handle_usage },
	{ "/v1/requests", handle_requests },
	{ "/metrics", handle_metrics },
};

static enum MHD_Result
api_header_sum(void *cls, enum MHD_ValueKind kind, const char *key,
	       const char *value)
{
	size_t *sum = cls;

	(void)kind;
	*sum += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

/* Our limits on the head, in JSON; MHD_YES with *answered false when the
 * head is within them. */
static enum MHD_Result
api_check_head(struct MHD_Connection *conn, const struct api_req *r,
	       bool *answered)
{
	size_t hdrs = 0;

	*answered = true;
	if (r->uri_len > API_URI_MAX)
		return reply_error(conn, MHD_HTTP_URI_TOO_LONG,
				   "request target too long");
	MHD_get_connection_values(conn, MHD_HEADER_KIND, api_header_sum, &hdrs);
	if (hdrs > API_HEADERS_MAX)
		return reply_error(conn,
				   MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
				   "request header fields too large");
	*answered = false;
	return MHD_YES;
}

static enum MHD_Result
api_handler(void *cls, struct MHD_Connection *conn, const char *url,
	    const char *method, const char *version, const char *upload_data,
	    size_t *upload_data_size, void **req_cls)
{
	struct api *a = cls;
	struct api_req *r = *req_cls;
	const struct dashboard_file *file = NULL;
	enum MHD_Result ret;
	bool answered;
	size_t i;

	if (!r)
		return MHD_NO; /* the URI callback ran out of memory */
	/* A request body is read and ignored before answering. */
	if (!r->started) {
		r->started = true;
		ret = api_check_head(conn, r, &answered);
		if (answered)
			return ret;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	for (i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++)
		if (strcmp(url, api_routes[i].path) == 0)
			break;
	if (i == sizeof(api_routes) / sizeof(api_routes[0]) &&
	    !(file = dashboard_find(url)))
		return reply_error(conn, MHD_HTTP_NOT_FOUND, "not found");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "method not allowed");
	if (file)
		return dashboard_reply(conn, file);
	return api_routes[i].fn(a, conn);
}

/* Called with the whole request target once the request line is in:
 * its length is kept for api_check_head(). */
static void *
api_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct api_req *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)conn;
	if (r)
		r->uri_len = strlen(uri);
	return r;
}

static void
api_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
	      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*req_cls);
	*req_cls = NULL;
}

static void LOG_PRINTF(2, 0) api_mhd_log(void *arg, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("api: %s", buf);
}

struct api *
api_new(int fd, struct usage_table *usage, struct ledger *ledger,
	api_metrics_fn metrics, void *metrics_arg)
{
	struct api *a = calloc(1, sizeof(*a));

	if (!a) {
		close(fd);
		return NULL;
	}
	a->fd = fd;
	a->usage = usage;
	a->ledger = ledger;
	pthread_mutex_init(&a->reader_lock, NULL);
	a->metrics = metrics;
	a->metrics_arg = metrics_arg;
	a->started = clock_wall();
	/* epoll (AUTO): select() could not watch API_CONN_LIMIT sockets. */
	a->mhd = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		api_handler, a, MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, a->fd, MHD_OPTION_CONNECTION_TIMEOUT,
		API_CONN_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT, API_CONN_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, API_PER_IP_LIMIT,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_MEMORY_LIMIT,
		MHD_OPTION_URI_LOG_CALLBACK, api_uri_log, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, api_completed, NULL,
		MHD_OPTION_END);
	if (!a->mhd) {
		log_errx("api: libmicrohttpd failed to start");
		api_free(a);
		return NULL;
	}
	return a;
}

void
api_free(struct api *a)
{
	if (!a)
		return;
	if (a->mhd)
		MHD_stop_daemon(a->mhd);
	close(a->fd);
	store_free(a->reader);
	pthread_mutex_destroy(&a->reader_lock);
	free(a);
}
