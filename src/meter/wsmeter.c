/* SPDX-License-Identifier: GPL-2.0-or-later
 * wsmeter.c - one WebSocket session's metering: two frame parsers (ws.h),
 * the client's response.create messages for the model, and the server's
 * response.completed / .incomplete / .failed events for the usage.
 *
 * Threading: a wsmeter belongs to one connection worker; no shared state.
 * Ownership: the wsmeter owns both parsers.
 *
 * Most server messages are deltas: a message is parsed (pruned, as
 * request bodies are: prune.h) only when its bytes hold the name of an
 * event that ends a response, and a client message only when it holds
 * "response.create". Each ending event is a record of its own, made by
 * the extractor the SSE path uses (openai.c), so a session's responses
 * count as they end, never at the close.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "meter/extract.h"
#include "meter/jhelp.h"
#include "meter/openai.h"
#include "meter/prune.h"
#include "meter/ws.h"
#include "meter/wsmeter.h"

/* json-c is given at most this much of one message, pruned. */
#define WSMETER_PARSE_MAX (16 * 1024 * 1024)
#define WSMETER_DEPTH 128

struct wsmeter {
	char host[USAGE_HOST_MAX];
	char endpoint[USAGE_ENDPOINT_MAX];
	char model[USAGE_MODEL_MAX]; /* the last response.create's */
	int status;
	struct ws *up, *down; /* client's frames, server's */
	bool up_failed, down_failed;
	double now_ms, create_ms, first_ms;
	bool created, got_first;
	size_t responses;
	wsmeter_record_fn *cb;
	void *arg;
};

static struct json_object *
wsmeter_parse(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(WSMETER_DEPTH);
	char slice[PRUNE_SLICE];
	struct json_object *o;

	if (!tok)
		return NULL;
	o = prune_parse(tok, text, len, WSMETER_PARSE_MAX, slice);
	json_tokener_free(tok);
	return o;
}

/* A client message: response.create names the model of what follows. */
static void
wsmeter_client(struct wsmeter *m, const char *text, size_t len)
{
	struct json_object *o, *r;
	const char *t, *model;

	if (!memmem(text, len, "response.create", 15) ||
	    !(o = wsmeter_parse(text, len)))
		return;
	t = jhelp_str(o, "type");
	if (t && strcmp(t, "response.create") == 0) {
		model = jhelp_str(o, "model");
		if ((!model || !*model) && (r = jhelp_obj(o, "response")))
			model = jhelp_str(r, "model");
		snprintf(m->model, sizeof(m->model), "%s", model ? model : "");
		m->create_ms = m->now_ms;
		m->created = true;
		m->got_first = false;
	}
	json_object_put(o);
}

static bool
wsmeter_ending(const char *t)
{
	return t && (strcmp(t, "response.completed") == 0 ||
		     strcmp(t, "response.incomplete") == 0 ||
		     strcmp(t, "response.failed") == 0);
}

/* One response ended with event o: its record goes out. */
static void
wsmeter_record(struct wsmeter *m, struct json_object *o)
{
	struct extract x = { .provider = &openai_provider,
			     .dialect = OPENAI_RESPONSES };
	struct usage_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.host, sizeof(r.host), "%s", m->host);
	snprintf(r.endpoint, sizeof(r.endpoint), "%s", m->endpoint);
	snprintf(r.model, sizeof(r.model), "%s", m->model);
	snprintf(r.transport, sizeof(r.transport), "websocket");
	r.status = m->status;
	openai_provider.object(&x, NULL, o);
	/* complete: response.completed alone (sets x.terminal) */
	extract_finish(&x, true, true, &r);
	extract_clear(&x);
	if (m->created) {
		r.duration_ms = m->now_ms - m->create_ms;
		r.ttfb_ms = m->got_first ? m->first_ms - m->create_ms : 0;
	}
	m->created = false;
	m->responses++;
	m->cb(m->arg, &r);
}

static const char *const wsmeter_ends[] = {
	"response.completed",
	"response.incomplete",
	"response.failed",
	NULL,
};

static void
wsmeter_server(struct wsmeter *m, const char *text, size_t len)
{
	struct json_object *o;
	const char *const *e;

	if (m->created && !m->got_first) {
		m->first_ms = m->now_ms;
		m->got_first = true;
	}
	for (e = wsmeter_ends; *e; e++)
		if (memmem(text, len, *e, strlen(*e)))
			break;
	if (!*e || !(o = wsmeter_parse(text, len)))
		return;
	if (wsmeter_ending(jhelp_str(o, "type")))
		wsmeter_record(m, o);
	json_object_put(o);
}

static void
wsmeter_up(void *arg, int op, const char *data, size_t len)
{
	if (op == WS_TEXT)
		wsmeter_client(arg, data, len);
}

static void
wsmeter_down(void *arg, int op, const char *data, size_t len)
{
	if (op == WS_TEXT)
		wsmeter_server(arg, data, len);
}

struct wsmeter *
wsmeter_new(const struct meter_request *req, int status, const char *extensions,
	    wsmeter_record_fn *cb, void *arg)
{
	struct wsmeter *m = calloc(1, sizeof(*m));
	struct ws_deflate d;

	if (!m)
		return NULL;
	snprintf(m->host, sizeof(m->host), "%s", req->host ? req->host : "");
	meter_endpoint(req->path, m->endpoint, sizeof(m->endpoint));
	m->status = status;
	m->cb = cb;
	m->arg = arg;
	if (ws_deflate_parse(extensions, &d) < 0) {
		log_warnx("meter: %s/%s: Sec-WebSocket-Extensions \"%s\" not "
			  "understood, session not metered",
			  m->host, m->endpoint, extensions);
		m->up_failed = m->down_failed = true;
		return m;
	}
	if (!(m->up = ws_new(true, &d, 0, wsmeter_up, m)) ||
	    !(m->down = ws_new(false, &d, 0, wsmeter_down, m))) {
		wsmeter_free(m);
		return NULL;
	}
	return m;
}

void
wsmeter_free(struct wsmeter *m)
{
	if (!m)
		return;
	ws_free(m->up);
	ws_free(m->down);
	free(m);
}

void
wsmeter_feed(struct wsmeter *m, bool from_client, const char *buf, size_t len,
	     double now_ms)
{
	bool *failed = from_client ? &m->up_failed : &m->down_failed;
	struct ws *w = from_client ? m->up : m->down;

	if (*failed)
		return;
	m->now_ms = now_ms;
	if (ws_feed(w, buf, len) < 0) {
		*failed = true;
		log_warnx("meter: %s/%s: %s frames: %s, metering of that "
			  "direction stopped",
			  m->host, m->endpoint,
			  from_client ? "client" : "server", ws_error(w));
	}
}

size_t
wsmeter_responses(const struct wsmeter *m)
{
	return m->responses;
}
