/* SPDX-License-Identifier: GPL-2.0-or-later
 * meter.c - one exchange's metering pipeline: decode -> sniff -> SSE
 * splitter or incremental JSON reader -> extractors -> usage_record.
 *
 * Threading: a meter belongs to one connection worker; no shared state.
 * Ownership: the meter owns its decoder, splitter, JSON reader and
 *   tokener; all are created once per exchange, so meter_chunk() only
 *   grows buffers geometrically and never rescans old bytes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "meter/decode.h"
#include "meter/extract.h"
#include "meter/jstream.h"
#include "meter/meter.h"
#include "meter/sse.h"

/* Request bodies larger than this are not parsed for their model. */
#define METER_REQUEST_MAX (8 * 1024 * 1024)

enum meter_body {
	METER_SNIFF,		/* decide on the first significant byte */
	METER_SSE,
	METER_JSON,
	METER_NONE,		/* not metered (protobuf, unknown, failed) */
};

struct meter {
	char host[USAGE_HOST_MAX];
	char endpoint[USAGE_ENDPOINT_MAX];
	char req_model[USAGE_MODEL_MAX];	/* request body's, else URL's */
	int status;
	enum meter_body body;
	bool failed;		/* decoding or parsing failed: no more input */
	struct decode *dec;
	struct sse *sse;
	struct jstream *js;
	struct json_tokener *tok;	/* for SSE event data */
	struct extract x;
};

void
meter_endpoint(const char *path, char *out, size_t size)
{
	const char *end, *seg, *p;

	if (!path)
		path = "";
	end = path + strcspn(path, "?#");
	while (end > path && end[-1] == '/')
		end--;
	for (seg = p = path; p < end; p++)
		if (*p == '/')
			seg = p + 1;
	for (p = end; p > seg; p--)
		if (p[-1] == ':')
			break;
	if (p > seg) {
		seg = p;
	} else {
		seg = path;
		while (seg < end && *seg == '/')
			seg++;
		/* REST APIs: drop "v1/", "v1beta/", "v1internal/"... */
		if (seg + 1 < end && seg[0] == 'v' && seg[1] >= '0' &&
		    seg[1] <= '9' && (p = memchr(seg, '/', (size_t)(end - seg))))
			seg = p + 1;
	}
	snprintf(out, size, "%.*s", (int)(end - seg), seg);
}

void
meter_url_model(const char *path, char *out, size_t size)
{
	const char *end, *m;
	size_t n;

	out[0] = '\0';
	if (!path)
		return;
	end = path + strcspn(path, "?#");
	for (m = path; (m = strstr(m, "/models/")) && m < end; m++) {
		m += strlen("/models/");
		n = strcspn(m, ":/?#");
		if (m + n > end)
			n = (size_t)(end - m);
		if (n > 0) {
			snprintf(out, size, "%.*s", (int)n, m);
			return;
		}
	}
}

static void
meter_request_model(struct meter *m, const struct meter_request *req)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	const char *s;

	if (!req->body || req->body_len == 0 ||
	    req->body_len > METER_REQUEST_MAX ||
	    req->body[strspn(req->body, " \t\r\n")] != '{')
		return;
	if (!(tok = json_tokener_new_ex(128)))
		return;
	o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
	if ((s = extract_str(o, "model")) && *s)
		snprintf(m->req_model, sizeof(m->req_model), "%s", s);
	json_object_put(o);
	json_tokener_free(tok);
}

struct meter *
meter_new(const struct meter_request *req)
{
	struct meter *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (!(m->tok = json_tokener_new_ex(128))) {
		free(m);
		return NULL;
	}
	snprintf(m->host, sizeof(m->host), "%s", req->host ? req->host : "");
	meter_endpoint(req->path, m->endpoint, sizeof(m->endpoint));
	meter_request_model(m, req);
	if (!m->req_model[0])
		meter_url_model(req->path, m->req_model, sizeof(m->req_model));
	return m;
}

void
meter_free(struct meter *m)
{
	if (!m)
		return;
	decode_free(m->dec);
	sse_free(m->sse);
	jstream_free(m->js);
	json_tokener_free(m->tok);
	extract_clear(&m->x);
	free(m);
}

static bool
meter_has(const char *s, const char *needle)
{
	return s && strcasestr(s, needle) != NULL;
}

void
meter_response(struct meter *m, int status, const char *content_type,
               const char *content_encoding)
{
	m->status = status;
	if (meter_has(content_type, "event-stream"))
		m->body = METER_SSE;
	else if (meter_has(content_type, "json"))
		m->body = METER_JSON;
	else if (meter_has(content_type, "proto") ||
	         meter_has(content_type, "grpc"))
		m->body = METER_NONE;
	else
		m->body = METER_SNIFF;
	decode_free(m->dec);
	if (!(m->dec = decode_new(content_encoding))) {
		if (decode_supported(content_encoding))
			log_warnx("meter: %s/%s: out of memory, not metered",
			          m->host, m->endpoint);
		else
			log_warnx("meter: %s/%s: Content-Encoding %s not "
			          "supported, not metered", m->host,
			          m->endpoint, content_encoding);
		m->failed = true;
	}
}

/* Events that never carry usage, skipped unparsed on the hot path. */
static bool
meter_skip_event(const struct meter *m, const char *event)
{
	size_t n = strlen(event);

	if (m->x.kind == EXTRACT_NONE)
		return false;
	return strcmp(event, "content_block_delta") == 0 ||
	    strcmp(event, "ping") == 0 ||
	    (n > 6 && strcmp(event + n - 6, ".delta") == 0);
}

static void
meter_event(void *arg, const char *event, const char *data, size_t len)
{
	struct meter *m = arg;
	struct json_object *o;
	size_t sp = strspn(data, " \t");

	if (len - sp >= 6 && strncmp(data + sp, "[DONE]", 6) == 0) {
		extract_done(&m->x);
		return;
	}
	if (len == 0 || len > (size_t)INT32_MAX || meter_skip_event(m, event))
		return;
	json_tokener_reset(m->tok);
	o = json_tokener_parse_ex(m->tok, data, (int)len);
	if (!o) {
		log_debug("meter: %s/%s: event %s is not JSON", m->host,
		          m->endpoint, event);
		return;
	}
	extract_object(&m->x, event, o);
	json_object_put(o);
}

static void
meter_value(void *arg, struct json_object *o)
{
	struct meter *m = arg;

	extract_object(&m->x, NULL, o);
}

/* Picks SSE or JSON from the first significant byte, when the
 * Content-Type did not say; returns how many leading bytes to skip. */
static size_t
meter_sniff(struct meter *m, const char *buf, size_t len)
{
	size_t i = 0;
	unsigned char c;

	while (i < len && buf[i] && strchr(" \t\r\n", buf[i]))
		i++;
	if (i == len)
		return i;
	c = (unsigned char)buf[i];
	if (c == '{' || c == '[')
		m->body = METER_JSON;
	else if (c == ':' || c == 0xef || (c >= 'a' && c <= 'z'))
		m->body = METER_SSE;	/* data:, event:, id:, a comment, BOM */
	else
		m->body = METER_NONE;
	return i;
}

static void
meter_sink(void *arg, const char *buf, size_t len)
{
	struct meter *m = arg;
	size_t skip;

	if (m->failed)
		return;
	if (m->body == METER_SNIFF) {
		skip = meter_sniff(m, buf, len);
		buf += skip;
		len -= skip;
	}
	if (m->body == METER_SSE) {
		if (!m->sse && !(m->sse = sse_new(0, meter_event, m)))
			m->failed = true;
		else
			sse_feed(m->sse, buf, len);
	} else if (m->body == METER_JSON) {
		if ((!m->js && !(m->js = jstream_new(meter_value, m))) ||
		    jstream_feed(m->js, buf, len) < 0) {
			log_debug("meter: %s/%s: body is not JSON", m->host,
			          m->endpoint);
			m->failed = true;
		}
	}
}

void
meter_chunk(struct meter *m, const char *buf, size_t len)
{
	if (m->failed || m->body == METER_NONE || len == 0)
		return;
	if (!m->dec && !(m->dec = decode_new(NULL))) {
		m->failed = true;
		return;
	}
	if (decode_feed(m->dec, buf, len, meter_sink, m) < 0) {
		log_warnx("meter: %s/%s: corrupt or oversized compressed "
		          "body, metering stopped", m->host, m->endpoint);
		m->failed = true;
	}
}

int
meter_finish(struct meter *m, bool ended, struct usage_record *out)
{
	bool sse = m->body == METER_SSE;
	bool ok = ended && !m->failed;

	snprintf(out->host, sizeof(out->host), "%s", m->host);
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", m->endpoint);
	snprintf(out->model, sizeof(out->model), "%s", m->req_model);
	out->status = m->status;
	out->input_tokens = out->output_tokens = out->thinking_tokens = 0;
	out->cached_tokens = out->cache_creation_tokens = 0;
	out->total_tokens = 0;
	if (m->body == METER_JSON)
		ok = ok && m->js && jstream_done(m->js);
	extract_finish(&m->x, sse, ok, out);
	if (m->body == METER_NONE || m->body == METER_SNIFF)
		out->complete = ok;
	if (m->sse && sse_dropped(m->sse) > 0)
		log_warnx("meter: %s/%s: %zu oversized events dropped",
		          m->host, m->endpoint, sse_dropped(m->sse));
	return out->has_usage ? 1 : 0;
}
