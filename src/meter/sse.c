/* SPDX-License-Identifier: GPL-2.0-or-later
 * sse.c - incremental text/event-stream splitter (WHATWG rules: LF, CR
 * and CRLF line ends, optional UTF-8 BOM, comments, multi-line data).
 * Where it stands between events it offers the rest of the buffer to a
 * skip hook first, which may take whole events itself (sse.h): the meter
 * matches most events of a stream against the one before without their
 * lines being split.
 *
 * Threading: one splitter belongs to one exchange; no shared state.
 * Ownership: the splitter owns its line and data buffers; they grow
 *   geometrically up to the event bound and are reused for every event,
 *   so a steady stream allocates nothing per chunk. An event whose one
 *   data line lies whole in the buffer being fed is handed over in place,
 *   not copied: only lines that span two feeds, events of several data
 *   lines and an event still open when a feed ends go through the data
 *   buffer.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "meter/sse.h"

#define SSE_NAME_MAX 128

struct sse {
	sse_event_fn *cb;
	void *arg;
	size_t max;
	size_t bom;	 /* BOM bytes matched so far */
	bool started;	 /* past the point where a BOM may appear */
	bool pending_cr; /* the last chunk ended in CR */
	/* the unfinished line carried over from earlier chunks; the bound
	 * and a NUL are each buffer's cap */
	struct buf line;
	bool line_over; /* that line grew past the bound */
	/* the event being assembled: its data in the data buffer, or its
	 * one data line still in place in the feed (lent) */
	struct buf data;
	const char *lent;
	size_t lent_len;
	size_t data_lines;
	bool event_over; /* its data grew past the bound: drop it */
	char name[SSE_NAME_MAX];
	size_t dropped;
	sse_skip_fn *skip;
	/* in the buffer being fed: where the splitter last stood between
	 * events, and the end of the line being read when that ends in LF */
	const char *wire, *wire_end;
};

struct sse *
sse_new(size_t max_event, sse_event_fn *cb, void *arg)
{
	struct sse *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cb = cb;
	s->arg = arg;
	s->max = max_event ? max_event : SSE_EVENT_MAX;
	s->line.max = s->data.max = s->max + 1;
	return s;
}

void
sse_free(struct sse *s)
{
	if (!s)
		return;
	buf_free(&s->line);
	buf_free(&s->data);
	free(s);
}

size_t
sse_dropped(const struct sse *s)
{
	return s->dropped;
}

void
sse_set_skip(struct sse *s, sse_skip_fn *skip)
{
	s->skip = skip;
}

bool
sse_wire(const struct sse *s, struct sse_wire *w)
{
	if (!s->lent || !s->wire || !s->wire_end)
		return false;
	w->start = s->wire;
	w->end = s->wire_end;
	return true;
}

/* Between events: nothing of the next one read. */
static bool
sse_idle(const struct sse *s)
{
	return !s->line.len && !s->line_over && !s->data_lines &&
	       !s->event_over && !s->name[0];
}

static void
sse_dispatch(struct sse *s)
{
	if (s->event_over) {
		s->dropped++;
	} else if (s->data_lines > 0) {
		/* The spec dispatches when the data buffer is non-empty, and a
		 * lone "data:" line makes it "\n": such an event has ""
		 * data. */
		s->cb(s->arg, s->name[0] ? s->name : "message",
		      s->lent ? s->lent : s->data.data,
		      s->lent ? s->lent_len : s->data.len);
	}
	s->lent = NULL;
	s->data.len = 0;
	s->data_lines = 0;
	s->event_over = false;
	s->name[0] = '\0';
}

/* Copies a lent data line into the data buffer, before the feed that
 * holds it ends or another line joins it; false (the event dropped) past
 * the bound or out of memory. */
static bool
sse_keep(struct sse *s)
{
	bool kept;

	if (!s->lent)
		return !s->event_over;
	kept = buf_append(&s->data, s->lent, s->lent_len);
	s->lent = NULL;
	if (!kept)
		s->event_over = true;
	return kept;
}

/* A data line's value; `lent` when it lies in the buffer being fed, so
 * that an event's first line may stay there. Past the bound or out of
 * memory, both mean "drop this event". */
static void
sse_data(struct sse *s, const char *v, size_t n, bool lent)
{
	if (s->event_over)
		return;
	if (lent && !s->data_lines && n <= s->max) {
		s->lent = v;
		s->lent_len = n;
	} else if (!sse_keep(s) ||
		   (s->data_lines && !buf_append(&s->data, "\n", 1)) ||
		   !buf_append(&s->data, v, n)) {
		s->event_over = true;
		return;
	}
	s->data_lines++;
}

static void
sse_line(struct sse *s, const char *l, size_t n, bool lent)
{
	const char *colon, *v = l + n; /* no colon: "", at the line's end */
	size_t fn = n, vn = 0;

	if (n == 0) {
		sse_dispatch(s);
		return;
	}
	if (l[0] == ':')
		return; /* a comment */
	if ((colon = memchr(l, ':', n))) {
		fn = (size_t)(colon - l);
		v = colon + 1;
		vn = n - fn - 1;
		if (vn > 0 && v[0] == ' ') {
			v++;
			vn--;
		}
	}
	if (fn == 4 && memcmp(l, "data", 4) == 0) {
		sse_data(s, v, vn, lent);
	} else if (fn == 5 && memcmp(l, "event", 5) == 0) {
		/* Longer names are cut; no metered event type is that long. */
		if (vn >= sizeof(s->name))
			vn = sizeof(s->name) - 1;
		memcpy(s->name, v, vn);
		s->name[vn] = '\0';
	}
	/* id, retry and unknown fields do not matter for metering */
}

/* Completes a line whose head is in the carry-over buffer. */
static void
sse_line_tail(struct sse *s, const char *l, size_t n)
{
	if (!s->line_over && buf_append(&s->line, l, n))
		sse_line(s, s->line.data, s->line.len, false);
	else
		s->event_over = true;
	s->line.len = 0;
	s->line_over = false;
}

static void
sse_carry(struct sse *s, const char *l, size_t n)
{
	if (!s->line_over && !buf_append(&s->line, l, n))
		s->line_over = true;
}

/* Where the next LF and CR were found, so that no byte is looked at
 * again for either: lf is NULL when none comes before the end, cr when
 * none comes before cr_to. */
struct sse_ends {
	const char *lf, *cr, *cr_to;
	bool known;
};

/* The next line end at or after p: the nearer of the next LF and the
 * next CR. Each is looked up with memchr again only once p has passed
 * it, and CR only up to the next LF, so a buffer is scanned once for
 * each even where one of the two never occurs (CR-only or LF-only
 * streams), and only as far as its lines are read. */
static const char *
sse_eol(const char *p, const char *end, struct sse_ends *e)
{
	const char *to, *from;

	if (!e->known || (e->lf && e->lf < p))
		e->lf = memchr(p, '\n', (size_t)(end - p));
	to = e->lf ? e->lf : end;
	if (!e->known || (e->cr ? e->cr < p : e->cr_to < to)) {
		from = e->known && !e->cr && e->cr_to > p ? e->cr_to : p;
		e->cr = memchr(from, '\r', (size_t)(to - from));
		e->cr_to = to;
	}
	e->known = true;
	return e->cr ? e->cr : e->lf;
}

/* The end of the line that ends at e (a CR or LF): past a CRLF pair
 * whole, and wire_end set there when it ends in LF. A CR at the end of
 * the buffer may be the first of a pair: the next buffer's LF then
 * belongs to it. */
static const char *
sse_line_end(struct sse *s, const char *e, const char *end)
{
	const char *next = e + 1;

	if (*e == '\r') {
		if (next == end)
			s->pending_cr = true;
		else if (*next == '\n')
			next++;
	}
	s->wire_end = next[-1] == '\n' ? next : NULL;
	return next;
}

static void
sse_lines(struct sse *s, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *e, *next;
	struct sse_ends ends = { NULL, NULL, NULL, false };

	if (s->pending_cr && p < end && *p == '\n')
		p++;
	s->pending_cr = false;
	s->wire = NULL;
	while (p < end) {
		if (sse_idle(s)) {
			if (s->skip)
				p += s->skip(s->arg, p, (size_t)(end - p));
			s->wire = p;
			if (p == end)
				break;
		}
		if (!(e = sse_eol(p, end, &ends)))
			break;
		next = sse_line_end(s, e, end);
		if (s->line.len || s->line_over)
			sse_line_tail(s, p, (size_t)(e - p));
		else
			sse_line(s, p, (size_t)(e - p), true);
		p = next;
	}
	s->wire = NULL;
	if (p < end)
		sse_carry(s, p, (size_t)(end - p));
	sse_keep(s); /* the open event's line outlives this buffer */
}

/* Strips a leading BOM that may itself arrive split across chunks. */
void
sse_feed(struct sse *s, const char *buf, size_t len)
{
	static const char bom[3] = { '\xef', '\xbb', '\xbf' };

	while (!s->started && len > 0) {
		if (*buf == bom[s->bom]) {
			buf++;
			len--;
			if (++s->bom == sizeof(bom))
				s->started = true;
			continue;
		}
		/* Not a BOM after all: the bytes held back are line text. */
		s->started = true;
		if (s->bom)
			sse_lines(s, bom, s->bom);
	}
	if (len > 0)
		sse_lines(s, buf, len);
}
