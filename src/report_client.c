/* SPDX-License-Identifier: GPL-2.0-or-later
 * report_client.c - `antigravity-proxy usage`: fetches /v1/usage?by=
 * from the running daemon's API (--api-listen, a wildcard read as
 * loopback; libcurl, never through a proxy) and prints it as a table,
 * once or every --watch seconds.
 *
 * The failures are told apart because each has its own fix: nothing
 * listens (start the daemon), something that is not our API answers or
 * nothing answers in time (the address is wrong), or the daemon is
 * older than this client (restart it). The last is known from the
 * document's api_version, which older daemons do not write, and from a
 * 400 for a parameter they do not know.
 *
 * Days are the user's: the client sends its current UTC offset (tz=)
 * and resolves --since/--until itself, so "today" is the user's
 * midnight even when the daemon runs in another zone.
 *
 * Threading: single-threaded. SIGINT and SIGTERM are blocked while
 * watching and taken by sigtimedwait() between draws.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "api.h"
#include "buf.h"
#include "clock.h"
#include "net.h"
#include "options.h"
#include "report.h"
#include "store.h"
#include "when.h"

#define REPORT_BODY_MAX (16 * 1024 * 1024)
#define REPORT_CONNECT_MS 3000L
#define REPORT_TIMEOUT_MS 10000L
#define REPORT_EXIT_FAIL 1
#define REPORT_EXIT_USAGE 2

enum report_fetch {
	REPORT_OK,
	REPORT_DOWN, /* nothing listens: --watch waits for it */
	REPORT_FAIL, /* anything else: stop */
};

struct report_ctx {
	const struct options *opt;
	const char *by;
	char addr[300]; /* as the user knows it: "127.0.0.1:8741" */
	char url[512];	/* "http://127.0.0.1:8741/v1/usage?by=..." */
	CURL *curl;
};

static size_t
report_write(char *data, size_t size, size_t n, void *arg)
{
	/* Short of n, curl fails the transfer. */
	return buf_append(arg, data, size * n) ? size * n : 0;
}

/* The API's address from --api-listen; a wildcard means this host. */
static int
report_addr(struct report_ctx *x)
{
	char host[NET_HOST_MAX];
	unsigned port;

	if (net_split_hostport(x->opt->api_listen, 0, host, sizeof(host),
			       &port) < 0)
		return -1;
	if (!*host || strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		snprintf(host, sizeof(host), "::1");
	return net_join_hostport(host, port, x->addr, sizeof(x->addr));
}

/* The query for now: the times resolved here, the offset of this
 * moment (a range across a DST change is grouped by today's offset).
 * 0, or -1 when it does not fit (a checked --by always does). */
static int
report_url(struct report_ctx *x)
{
	double now = clock_wall(), since = 0, until = 0;
	time_t t = (time_t)now;
	char tz[16], s[32] = "", u[32] = "";
	struct tm tm;
	int n;

	localtime_r(&t, &tm);
	when_format_tz(tm.tm_gmtoff, tz, sizeof(tz));
	if (x->opt->export_since &&
	    when_parse(x->opt->export_since, now, &since) == 0)
		clock_rfc3339(since, s, sizeof(s));
	if (x->opt->export_until &&
	    when_parse(x->opt->export_until, now, &until) == 0)
		clock_rfc3339(until, u, sizeof(u));
	/* '+' would arrive as a space */
	n = snprintf(x->url, sizeof(x->url),
		     "http://%s/v1/usage?by=%s&tz=%s"
		     "%s%s%s%s%s",
		     x->addr, x->by, *tz == '+' ? "%2B" : "-", tz + 1,
		     *s ? "&since=" : "", s, *u ? "&until=" : "", u);
	return n < 0 || (size_t)n >= sizeof(x->url) ? -1 : 0;
}

/* A JSON object, or NULL. */
static struct json_object *
report_parse(const struct buf *b)
{
	struct json_object *doc = b->data ? json_tokener_parse(b->data) : NULL;

	if (doc && !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		doc = NULL;
	}
	return doc;
}

/* What the answer says: our API at this version, an older one, an
 * error of ours, or something else. */
static enum report_fetch
report_judge(struct report_ctx *x, long status, const char *type,
	     struct json_object *doc, char *err, size_t errlen)
{
	struct json_object *v;
	const char *e;

	/* Every /v1/usage document, of any version, has totals. */
	if (!doc || !type || strncmp(type, "application/json", 16) != 0 ||
	    (status == 200 && !json_object_object_get_ex(doc, "totals", &v))) {
		snprintf(err, errlen,
			 "what answers at %s is not the "
			 "antigravity-proxy API (HTTP %ld, %s); check "
			 "--api-listen",
			 x->addr, status, type ? type : "no Content-Type");
		return REPORT_FAIL;
	}
	e = json_object_object_get_ex(doc, "error", &v)
		    ? json_object_get_string(v)
		    : NULL;
	/* Our own checks passed, so a daemon refusing these is older. */
	if (status == 400 && e &&
	    (strncmp(e, "by:", 3) == 0 || strncmp(e, "until:", 6) == 0 ||
	     strncmp(e, "tz:", 3) == 0)) {
		snprintf(err, errlen,
			 "the daemon at %s is older than this "
			 "client (it says \"%s\"); restart it",
			 x->addr, e);
		return REPORT_FAIL;
	}
	if (status != 200) {
		snprintf(err, errlen, "the daemon at %s answered HTTP %ld: %s",
			 x->addr, status, e ? e : "(no reason given)");
		return REPORT_FAIL;
	}
	if (!json_object_object_get_ex(doc, "api_version", &v) ||
	    json_object_get_int(v) < API_VERSION) {
		snprintf(err, errlen,
			 "the daemon at %s is older than this "
			 "client (its /v1/usage has no api_version %d); "
			 "restart it",
			 x->addr, API_VERSION);
		return REPORT_FAIL;
	}
	return REPORT_OK;
}

/* Fetches the document: *doc (the caller's) and its text in body. */
static enum report_fetch
report_fetch(struct report_ctx *x, struct buf *body, struct json_object **doc,
	     char *err, size_t errlen)
{
	char *type = NULL;
	long status = 0;
	CURLcode rc;

	if (report_url(x) < 0) {
		snprintf(err, errlen, "the query does not fit in a URL");
		return REPORT_FAIL;
	}
	curl_easy_setopt(x->curl, CURLOPT_URL, x->url);
	curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(x->curl);
	if (rc == CURLE_COULDNT_CONNECT) {
		snprintf(err, errlen,
			 "no daemon is running at %s (connection "
			 "refused); start it with 'antigravity-proxy --daemon' "
			 "or 'service antigravity-proxy start', or give its "
			 "--api-listen",
			 x->addr);
		return REPORT_DOWN;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen,
			 "nothing answered at %s within %ld s; "
			 "is that the daemon's --api-listen?",
			 x->addr, REPORT_TIMEOUT_MS / 1000);
		return REPORT_DOWN;
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen,
			 "what answers at %s is not the "
			 "antigravity-proxy API (%s); check --api-listen",
			 x->addr, curl_easy_strerror(rc));
		return REPORT_FAIL;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &type);
	*doc = report_parse(body);
	return report_judge(x, status, type, *doc, err, errlen);
}

/* One draw: fetch, then the table or the document. */
static enum report_fetch
report_once(struct report_ctx *x, bool clear)
{
	struct buf body = BUF_INIT(REPORT_BODY_MAX + 1); /* and a NUL */
	struct json_object *doc = NULL;
	struct report_style st;
	enum report_fetch rc;
	char err[640];

	report_style_stdout(&st);
	rc = report_fetch(x, &body, &doc, err, sizeof(err));
	if (clear)
		fputs("\033[H\033[2J", stdout);
	if (rc == REPORT_OK && x->opt->usage_json)
		fwrite(body.data, 1, body.len, stdout);
	else if (rc == REPORT_OK &&
		 report_table(stdout, doc, &st, err, sizeof(err)) < 0) {
		snprintf(err, sizeof(err),
			 "the daemon at %s sent a document "
			 "this client cannot read; restart it",
			 x->addr);
		rc = REPORT_FAIL;
	}
	if (rc != REPORT_OK)
		fprintf(stderr, "antigravity-proxy: usage: %s\n", err);
	fflush(stdout);
	json_object_put(doc);
	buf_free(&body);
	return rc;
}

/* Draws every --watch seconds until SIGINT or SIGTERM (exit 0); a
 * daemon that goes away is waited for, anything else stops it. On a
 * terminal each draw replaces the last; elsewhere they follow one
 * another, a blank line apart. */
static int
report_watch(struct report_ctx *x)
{
	bool tty = isatty(STDOUT_FILENO);
	struct timespec wait = { .tv_sec = x->opt->usage_watch };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (bool first = true;; first = false) {
		if (!tty && !first && !x->opt->usage_json)
			putchar('\n');
		if (report_once(x, tty) == REPORT_FAIL)
			return REPORT_EXIT_FAIL;
		do
			sig = sigtimedwait(&set, NULL, &wait);
		while (sig < 0 && errno == EINTR);
		if (sig > 0)
			return 0;
	}
}

int
report_run(const struct options *opt)
{
	struct report_ctx x = { .opt = opt,
				.by = opt->usage_by ? opt->usage_by : "day" };
	struct store_by b;
	double t;
	char err[160];
	int rc = REPORT_EXIT_FAIL;

	if (store_by_parse(x.by, &b, err, sizeof(err)) < 0) {
		fprintf(stderr,
			"antigravity-proxy: usage: --%s\nTry "
			"'antigravity-proxy --help'.\n",
			err);
		return REPORT_EXIT_USAGE;
	}
	if ((opt->export_since && when_parse(opt->export_since, 0, &t) < 0) ||
	    (opt->export_until && when_parse(opt->export_until, 0, &t) < 0)) {
		fprintf(stderr,
			"antigravity-proxy: usage: --since/--until: "
			"expected RFC 3339 time, 'today' or a duration like "
			"7d\nTry 'antigravity-proxy --help'.\n");
		return REPORT_EXIT_USAGE;
	}
	if (report_addr(&x) < 0 || !(x.curl = curl_easy_init()))
		return REPORT_EXIT_FAIL;
	/* Ours only: no proxy from the environment, plain HTTP. */
	curl_easy_setopt(x.curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(x.curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(x.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x.curl, CURLOPT_CONNECTTIMEOUT_MS, REPORT_CONNECT_MS);
	curl_easy_setopt(x.curl, CURLOPT_TIMEOUT_MS, REPORT_TIMEOUT_MS);
	curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, report_write);
	if (opt->usage_watch > 0)
		rc = report_watch(&x);
	else
		rc = report_once(&x, false) == REPORT_OK ? 0 : REPORT_EXIT_FAIL;
	curl_easy_cleanup(x.curl);
	return rc;
}
