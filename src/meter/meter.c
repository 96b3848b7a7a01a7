/* SPDX-License-Identifier: GPL-2.0-or-later
 * meter.c - one exchange's metering pipeline: decode -> sniff -> SSE
 * splitter or incremental JSON reader -> extractors -> usage_record.
 *
 * Threading: a meter belongs to one connection worker; no shared state.
 * Ownership: the meter owns its decoder, splitter, JSON reader,
 *   tokener and three event buffers; all are created once per exchange, so
 *   meter_chunk() only grows buffers geometrically and never rescans old
 *   bytes.
 *
 * JSON reaches json-c pruned (prune.h): long strings cut to a head longer
 * than any string the extractors read. json-c still costs microseconds
 * per event for the objects it builds, so a stream event is held back,
 * pruned, until the next one: when that one is alike (prune_alike() with
 * extract_keys, same event type) it overwrites all the held one would
 * have set (extract.h), and the held one is dropped unparsed. A Gemini
 * stream, every event a snapshot of the same shape, is parsed at its
 * first event, where the shape changes, and at its end. The held SSE
 * event's text is kept as received too, and the next event is first
 * matched against it unpruned (prune_alike_raw(): the same bytes but for
 * the spans' contents), so that most events are neither pruned nor
 * parsed, only scanned. The splitter hands most events over in place, in
 * the chunk being metered (sse.h), and the held one stays there until the
 * chunk is done: only the last event of a chunk is copied. Before the
 * splitter reads the next event's lines, its skip hook (meter_skip())
 * matches the bytes that follow against the held event's whole wire
 * text, lines and line ends included: a run of snapshots is so taken in
 * one pass per event, without a line split or a call per event. A JSON
 * array body's elements are held alike, pruned (jstream.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "log.h"
#include "meter/decode.h"
#include "meter/extract.h"
#include "meter/jhelp.h"
#include "meter/jstream.h"
#include "meter/meter.h"
#include "meter/prune.h"
#include "meter/sse.h"

/* json-c is given at most this much of a request body, pruned, to find
 * its model: a conversation is mostly long strings, cut by the pruner. */
#define METER_REQUEST_MAX (8 * 1024 * 1024)

/* Event types are kept to this many bytes, NUL included (sse.c cuts
 * them to the same). */
#define METER_EVENT_MAX 128

/* The lines around a held event's data that meter_lend_framed() copies,
 * at most ("event: content_block_delta", "data: ", the line ends). */
#define METER_FRAME_MAX 128

/* json-c's nesting limit for a tokener. A tokener is made per parse, not
 * per meter: a stream's few parses cost a microsecond each this way, and
 * a thousand open streams 4 MB less. */
#define METER_JSON_DEPTH 128

/* A pruned string keeps more than any record field takes from it. */
_Static_assert(PRUNE_KEEP >= USAGE_MODEL_MAX && PRUNE_KEEP >= USAGE_ERROR_MAX,
	       "the pruner must keep every byte a record may hold");

enum meter_body {
	METER_SNIFF, /* decide on the first significant byte */
	METER_SSE,
	METER_JSON,
	METER_NONE, /* not metered (protobuf, unknown, failed) */
};

struct meter {
	char host[USAGE_HOST_MAX];
	char endpoint[USAGE_ENDPOINT_MAX];
	char req_model[USAGE_MODEL_MAX]; /* request body's, else URL's */
	int status;
	enum meter_body body;
	bool failed; /* decoding or parsing failed: no more input */
	struct decode *dec;
	struct sse *sse;
	struct jstream *js;
	struct extract x;
	/* the held stream event, pruned, and the buffers for the next one */
	bool holding;
	char held_event[METER_EVENT_MAX];
	struct buf held, next; /* held.len: the held text's length */
	struct prune_shape *held_shape, *next_shape;
	/* the held event as received (SSE only), raw_len bytes at raw_text,
	 * which the next is first matched against unpruned
	 * (prune_alike_raw()): in m->raw, or still in the chunk being
	 * metered (raw_lent) until meter_sink() is done with it;
	 * held_pruned tells whether m->held is its pruned text, not yet
	 * made otherwise */
	struct buf raw;
	const char *raw_text;
	size_t raw_len;
	bool held_raw, raw_lent, held_pruned;
	/* with held_wire, the held event's whole wire text is there too:
	 * wire_pre bytes before raw_text (its lines up to the data) and
	 * wire_post after its data (its line ends), which the events that
	 * follow are matched against before they are split (meter_skip()) */
	bool held_wire;
	size_t wire_pre, wire_post;
	const char *chunk, *chunk_end; /* the decoded bytes being fed */
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
		    seg[1] <= '9' &&
		    (p = memchr(seg, '/', (size_t)(end - seg))))
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

struct meter_request_body {
	struct buf b; /* up to METER_REQUEST_MAX, and its NUL */
	bool full;
};

/* Collects a decoded request body, up to METER_REQUEST_MAX. */
static void
meter_request_sink(void *arg, const char *buf, size_t len)
{
	struct meter_request_body *b = arg;

	if (!b->full && !buf_append(&b->b, buf, len))
		b->full = true;
}

/* A copy of a compressed request body, decoded (Codex sends zstd): fed
 * in pieces, so that no one call may pass decode.c's bomb limit on an
 * honest body. NULL (logged) when it cannot be had. */
static char *
meter_request_decode(struct meter *m, const struct meter_request *req,
		     size_t *len)
{
	struct decode *d = decode_new(req->content_encoding);
	struct meter_request_body b = { BUF_INIT(METER_REQUEST_MAX + 1),
					false };
	size_t off, n;

	if (!d) {
		log_warnx("meter: %s/%s: request Content-Encoding %s not "
			  "supported, its model not read",
			  m->host, m->endpoint, req->content_encoding);
		return NULL;
	}
	for (off = 0; off < req->body_len && !b.full; off += n) {
		n = req->body_len - off < 65536 ? req->body_len - off : 65536;
		if (decode_feed(d, req->body + off, n, meter_request_sink, &b) <
		    0) {
			log_warnx("meter: %s/%s: corrupt compressed request "
				  "body, its model not read",
				  m->host, m->endpoint);
			b.full = true;
		}
	}
	decode_free(d);
	if (b.full || !buf_append(&b.b, "", 0)) {
		buf_free(&b.b);
		return NULL;
	}
	*len = b.b.len;
	return b.b.data;
}

static void
meter_request_model(struct meter *m, const struct meter_request *req)
{
	struct json_object *o = NULL;
	struct json_tokener *tok;
	char slice[PRUNE_SLICE];
	const char *s, *body = req->body;
	char *decoded = NULL;
	size_t i = 0, len = req->body_len;

	if (!body)
		return;
	if (req->content_encoding && *req->content_encoding &&
	    strcasecmp(req->content_encoding, "identity") != 0) {
		if (!(decoded = meter_request_decode(m, req, &len)))
			return;
		body = decoded;
	}
	while (i < len && memchr(" \t\r\n", body[i], 4))
		i++;
	if (i == len || body[i] != '{' ||
	    !(tok = json_tokener_new_ex(METER_JSON_DEPTH)))
		goto out;
	o = prune_parse(tok, body, len, METER_REQUEST_MAX, slice);
	if ((s = jhelp_str(o, "model")) && *s)
		snprintf(m->req_model, sizeof(m->req_model), "%s", s);
	json_object_put(o);
	json_tokener_free(tok);
out:
	free(decoded);
}

struct meter *
meter_new(const struct meter_request *req)
{
	struct meter *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (!(m->held_shape = calloc(1, sizeof(*m->held_shape))) ||
	    !(m->next_shape = calloc(1, sizeof(*m->next_shape)))) {
		meter_free(m);
		return NULL;
	}
	m->held_shape->keys = m->next_shape->keys = extract_keys;
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
	extract_clear(&m->x);
	buf_free(&m->held);
	buf_free(&m->next);
	buf_free(&m->raw);
	free(m->held_shape);
	free(m->next_shape);
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
				  "supported, not metered",
				  m->host, m->endpoint, content_encoding);
		m->failed = true;
	}
}

/* Hands one event's or value's JSON text (pruned or not) to the
 * extractors; false when json-c rejects it. A value of a JSON body must
 * be read to its end, but for the byte that ends a number or literal
 * (jstream.h): "0x]" is no value. */
static bool
meter_parse(struct meter *m, const char *event, const char *text, size_t len)
{
	struct json_object *o = NULL;
	struct json_tokener *tok = json_tokener_new_ex(METER_JSON_DEPTH);
	size_t end = 0;

	if (!tok) {
		log_warnx("meter: %s/%s: out of memory", m->host, m->endpoint);
		return false;
	}
	if (len <= INT32_MAX) {
		o = json_tokener_parse_ex(tok, text, (int)len);
		end = json_tokener_get_parse_end(tok);
	}
	json_tokener_free(tok);
	if (!o || (m->body == METER_JSON && end + 1 < len)) {
		json_object_put(o);
		log_debug("meter: %s/%s: %s is not JSON", m->host, m->endpoint,
			  event ? event : "body");
		return false;
	}
	extract_object(&m->x, event, o);
	json_object_put(o);
	return true;
}

/* The held event's pruned text into m->held, with its shape, when it
 * was held unpruned; false when that cannot be had. */
static bool
meter_held_pruned(struct meter *m)
{
	struct prune p;
	ssize_t n;

	if (m->held_pruned)
		return true;
	if (!m->held_raw || !buf_reserve(&m->held, m->raw_len + 1))
		return false;
	prune_init(&p, m->held_shape);
	if ((n = prune_feed(&p, m->raw_text, m->raw_len, m->held.data)) < 0)
		return false;
	m->held.len = (size_t)n;
	m->held_pruned = true;
	return true;
}

/* Parses the held event or value, if any. A JSON body that json-c
 * rejects stops metering, as it would have when the value came. */
static void
meter_release(struct meter *m)
{
	bool json = m->body == METER_JSON;

	if (!m->holding)
		return;
	m->holding = false;
	if (!meter_held_pruned(m))
		meter_parse(m, m->held_event, m->raw_text, m->raw_len);
	else if (!meter_parse(m, json ? NULL : m->held_event, m->held.data,
			      m->held.len) &&
		 json)
		m->failed = true;
}

/* Prunes data into m->next; the pruned length, or -1 when the data is
 * not standard JSON or the buffer cannot grow. */
static ssize_t
meter_prune(struct meter *m, const char *data, size_t len)
{
	struct prune p;

	if (!buf_reserve(&m->next, len + 1))
		return -1;
	prune_init(&p, m->next_shape);
	return prune_feed(&p, data, len, m->next.data);
}

static void
meter_swap(struct buf *a, struct buf *b)
{
	struct buf t = *a;

	*a = *b;
	*b = t;
}

/* Whether len bytes at p lie in the chunk being metered. */
static bool
meter_in_chunk(const struct meter *m, const char *p, size_t len)
{
	uintptr_t d = (uintptr_t)p;

	return m->chunk && d >= (uintptr_t)m->chunk &&
	       d + len <= (uintptr_t)m->chunk_end;
}

/* Makes data the held event's raw text, with its wire text around it
 * when w is given: in place when that lies in the chunk being metered,
 * else copied into m->raw; false when out of memory. */
static bool
meter_lend(struct meter *m, const char *data, size_t len,
	   const struct sse_wire *w)
{
	const char *start = w ? w->start : data;
	size_t whole = w ? (size_t)(w->end - w->start) : len;

	m->held_wire = w != NULL;
	m->wire_pre = (size_t)(data - start);
	m->wire_post = whole - m->wire_pre - len;
	m->raw_lent = meter_in_chunk(m, start, whole);
	if (!m->raw_lent) {
		m->raw.len = 0;
		if (!buf_append(&m->raw, start, whole))
			return false;
		data = m->raw.data + m->wire_pre;
	}
	m->raw_text = data;
	m->raw_len = len;
	return true;
}

/* Makes data the held event's raw text, copied into m->raw between the
 * lines the held event's data had around it (its wire text). For an
 * event alike the held one but handed over without its wire text (its
 * line came in two chunks): the held one's lines around this one's data
 * are the wire text of an event the splitter reads as this one (the
 * same type; no CR or LF in this data, as none was in the held one's
 * and prune_alike_raw() takes none in a span), so the next events are
 * matched against it as they would be against its own. False when out
 * of memory. */
static bool
meter_lend_framed(struct meter *m, const char *data, size_t len)
{
	char frame[METER_FRAME_MAX];
	size_t pre = m->wire_pre, post = m->wire_post;

	if (pre + post > sizeof(frame))
		return meter_lend(m, data, len, NULL);
	memcpy(frame, m->raw_text - pre, pre);
	memcpy(frame + pre, m->raw_text + m->raw_len, post);
	m->raw.len = 0;
	if (!buf_append(&m->raw, frame, pre) ||
	    !buf_append(&m->raw, data, len) ||
	    !buf_append(&m->raw, frame + pre, post))
		return false;
	m->raw_lent = false;
	m->raw_text = m->raw.data + pre;
	m->raw_len = len;
	return true;
}

/* Keeps a held event that is still in place in the chunk, before the
 * chunk goes: copied into m->raw, or parsed now when memory is out. */
static void
meter_keep(struct meter *m)
{
	struct sse_wire w;

	m->chunk = m->chunk_end = NULL;
	if (!m->holding || !m->held_raw || !m->raw_lent)
		return;
	w.start = m->raw_text - m->wire_pre;
	w.end = m->raw_text + m->raw_len + m->wire_post;
	if (meter_lend(m, m->raw_text, m->raw_len, m->held_wire ? &w : NULL))
		return;
	m->raw_lent = false;
	meter_release(m); /* from the chunk, which is still there */
	m->held_raw = false;
}

/* Holds the event just pruned into m->next, in place of the held one,
 * with its raw text when there is one (an SSE event's data). */
static void
meter_hold(struct meter *m, const char *event, size_t len, const char *raw,
	   size_t raw_len, const struct sse_wire *w)
{
	struct prune_shape *shape = m->held_shape;
	size_t n = strnlen(event, sizeof(m->held_event) - 1);

	meter_swap(&m->held, &m->next);
	m->held_shape = m->next_shape;
	m->next_shape = shape;
	m->held.len = len;
	memcpy(m->held_event, event, n);
	m->held_event[n] = '\0';
	m->holding = true;
	m->held_pruned = true;
	m->held_raw = raw && meter_lend(m, raw, raw_len, w);
}

/* An SSE event that is the held one but for its spans' contents
 * replaces it unpruned (prune_alike_raw(): no pruning, no parsing);
 * false when it is not such an event. */
static bool
meter_replace_raw(struct meter *m, const char *event, const char *data,
		  size_t len, const struct sse_wire *w)
{
	struct prune_shape *shape = m->held_shape;

	if (!m->holding || !m->held_raw || strcmp(event, m->held_event) != 0 ||
	    !prune_alike_raw(m->raw_text, m->raw_len, m->held_shape, data, len,
			     m->next_shape))
		return false;
	if (!(w || !m->held_wire ? meter_lend(m, data, len, w)
				 : meter_lend_framed(m, data, len))) {
		/* the held one is overwritten: this one is parsed instead */
		m->holding = m->held_raw = false;
		return false;
	}
	m->held_shape = m->next_shape;
	m->next_shape = shape;
	m->held_pruned = false;
	return true;
}

/* The event or value pruned into m->next (len bytes, its shape in
 * m->next_shape) either overwrites the held one, which is then dropped
 * unparsed, or has it parsed first; then it is held in turn. Dropping is
 * sound because alike texts are both valid or both not (prune_alike()),
 * so the value that overwrites is one json-c takes. */
static void
meter_next(struct meter *m, const char *event, size_t len, const char *raw,
	   size_t raw_len, const struct sse_wire *w)
{
	bool json = m->body == METER_JSON;

	if (m->holding && strcmp(event, m->held_event) == 0 &&
	    meter_held_pruned(m) &&
	    prune_alike(m->held.data, m->held.len, m->held_shape, m->next.data,
			len, m->next_shape))
		m->holding = false; /* overwritten by the new one */
	meter_release(m);
	if (m->failed)
		return;
	/* The first events set the provider that extract_skip() reads. */
	if (!m->x.provider) {
		if (!meter_parse(m, json ? NULL : event, m->next.data, len) &&
		    json)
			m->failed = true;
	} else {
		meter_hold(m, event, len, raw, raw_len, w);
	}
}

static void
meter_event(void *arg, const char *event, const char *data, size_t len)
{
	struct meter *m = arg;
	struct sse_wire wire, *w = sse_wire(m->sse, &wire) ? &wire : NULL;
	size_t sp = 0;
	ssize_t n;

	while (sp < len && (data[sp] == ' ' || data[sp] == '\t'))
		sp++;
	if (len - sp >= 6 && strncmp(data + sp, "[DONE]", 6) == 0) {
		meter_release(m);
		extract_done(&m->x);
		return;
	}
	if (len == 0 || extract_skip(&m->x, event) ||
	    meter_replace_raw(m, event, data, len, w))
		return;
	if ((n = meter_prune(m, data, len)) < 0) {
		/* not standard JSON (comments...): json-c reads it as is */
		meter_release(m);
		meter_parse(m, event, data, len);
		return;
	}
	meter_next(m, event, (size_t)n, data, len, w);
}

/* The event at b, when its wire text is the held one's but for the
 * contents of its spans (prune_alike_raw_head(), which takes no CR or LF
 * there): it then replaces the held one as meter_replace_raw() would,
 * unsplit, and its length is returned; else 0. */
static size_t
meter_match(struct meter *m, const char *b, const char *end)
{
	struct prune_shape *shape = m->held_shape;
	size_t pre = m->wire_pre, post = m->wire_post, k;

	if ((size_t)(end - b) <= pre ||
	    memcmp(b, m->raw_text - pre, pre) != 0 ||
	    !(k = prune_alike_raw_head(m->raw_text, m->raw_len + post, shape,
				       b + pre, (size_t)(end - b) - pre,
				       m->next_shape)) ||
	    k - post > SSE_EVENT_MAX)
		return 0;
	m->held_shape = m->next_shape;
	m->next_shape = shape;
	m->raw_text = b + pre;
	m->raw_len = k - post;
	m->raw_lent = true;
	m->held_pruned = false;
	return pre + k;
}

/* The splitter's skip hook (sse.h): the events at p that repeat the held
 * one's wire text are metered without being split, as a run. */
static size_t
meter_skip(void *arg, const char *p, size_t n)
{
	struct meter *m = arg;
	const char *b = p, *end = p + n;
	size_t k;

	if (!meter_in_chunk(m, p, n))
		return 0;
	while (m->holding && m->held_raw && m->held_wire &&
	       (k = meter_match(m, b, end)) > 0)
		b += k;
	return (size_t)(b - p);
}

/* One value of a JSON body, pruned: held and compared as stream events
 * are (a Gemini array body is a stream of snapshots too). */
static void
meter_value(void *arg, const char *text, size_t len,
	    const struct prune_shape *shape)
{
	struct meter *m = arg;

	if (m->failed)
		return;
	if (!buf_reserve(&m->next, len)) {
		m->failed = true;
		return;
	}
	memcpy(m->next.data, text, len);
	m->next_shape->n = shape->n;
	m->next_shape->lost = shape->lost;
	m->next_shape->raw = shape->raw;
	memcpy(m->next_shape->span, shape->span,
	       shape->n * sizeof(shape->span[0]));
	meter_next(m, "", len, NULL, 0, NULL);
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
		m->body = METER_SSE; /* data:, event:, id:, a comment, BOM */
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
		if (!m->sse) {
			if (!(m->sse = sse_new(0, meter_event, m))) {
				m->failed = true;
				return;
			}
			sse_set_skip(m->sse, meter_skip);
		}
		m->chunk = buf;
		m->chunk_end = buf + len;
		sse_feed(m->sse, buf, len);
		meter_keep(m);
	} else if (m->body == METER_JSON) {
		if ((!m->js &&
		     !(m->js = jstream_new(extract_keys, meter_value, m))) ||
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
			  "body, metering stopped",
			  m->host, m->endpoint);
		m->failed = true;
	}
}

int
meter_finish(struct meter *m, bool ended, struct usage_record *out)
{
	bool sse = m->body == METER_SSE;
	bool ok;

	meter_release(m);
	ok = ended && !m->failed;
	snprintf(out->host, sizeof(out->host), "%s", m->host);
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", m->endpoint);
	snprintf(out->model, sizeof(out->model), "%s", m->req_model);
	out->status = m->status;
	out->input_tokens = out->output_tokens = out->thinking_tokens = 0;
	out->cached_tokens = out->cache_creation_tokens = 0;
	out->total_tokens = 0;
	out->cache_write_5m_tokens = out->cache_write_1h_tokens = 0;
	out->cost_usd = 0;
	out->priced = false;
	out->key[0] = '\0';
	out->key_oauth = false;
	if (m->body == METER_JSON)
		ok = ok && m->js && jstream_done(m->js);
	extract_finish(&m->x, sse, ok, out);
	snprintf(out->transport, sizeof(out->transport), "%s",
		 sse			 ? "sse"
		 : m->body == METER_JSON ? "json"
					 : "");
	if (m->body == METER_NONE || m->body == METER_SNIFF)
		out->complete = ok;
	if (m->sse && sse_dropped(m->sse) > 0)
		log_warnx("meter: %s/%s: %zu oversized events dropped", m->host,
			  m->endpoint, sse_dropped(m->sse));
	return out->has_usage ? 1 : 0;
}
