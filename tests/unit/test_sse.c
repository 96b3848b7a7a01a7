/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_sse.c - the SSE splitter against the WHATWG event-stream rules,
 * one rule at a time, whole and at every chunk boundary.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meter/sse.h"
#include "tap.h"

/* Events rendered as "name=data|" so a whole run compares as a string;
 * the buffer being fed, and how many events were handed over in it. With
 * a splitter (`hooked`), the wire text of the last event that had one and
 * that event's rendering, which take_repeats() takes again. */
struct got {
	char s[8192];
	size_t n;
	const char *feed, *feed_end;
	size_t in_place;
	struct sse *sse;
	char wire[1024], last[1024];
	size_t wire_len, taken;
	bool bad_wire;
};

static void
render(struct got *g, const char *text)
{
	int w = snprintf(g->s + g->n, sizeof(g->s) - g->n, "%s", text);

	if (w > 0 && (size_t)w < sizeof(g->s) - g->n)
		g->n += (size_t)w;
}

/* Notes the event's wire text, when it has one: it must lie in the feed,
 * hold the data, and end in LF. */
static void
note_wire(struct got *g, const char *data, size_t len, const char *text)
{
	struct sse_wire w;
	size_t n;

	if (!g->sse || !sse_wire(g->sse, &w))
		return;
	n = (size_t)(w.end - w.start);
	if (w.start < g->feed || w.end > g->feed_end || data < w.start ||
	    data + len >= w.end || w.end[-1] != '\n' || n > sizeof(g->wire) ||
	    strlen(text) >= sizeof(g->last)) {
		g->bad_wire = true;
		return;
	}
	memcpy(g->wire, w.start, n);
	g->wire_len = n;
	snprintf(g->last, sizeof(g->last), "%s", text);
}

/* The skip hook: takes what repeats the last wire text noted, as that
 * event again. */
static size_t
take_repeats(void *arg, const char *p, size_t n)
{
	struct got *g = arg;
	size_t took = 0;

	while (g->wire_len && n - took >= g->wire_len &&
	       memcmp(p + took, g->wire, g->wire_len) == 0) {
		render(g, g->last);
		took += g->wire_len;
		g->taken++;
	}
	return took;
}

static void
on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct got *g = arg;
	char text[1024];
	uintptr_t d = (uintptr_t)data;

	snprintf(text, sizeof(text), "%s=%.*s|", event, (int)len, data);
	render(g, text);
	note_wire(g, data, len, text);
	if (g->feed && d >= (uintptr_t)g->feed &&
	    d + len <= (uintptr_t)g->feed_end) {
		g->in_place++;
		if (data[len] != '\n' && data[len] != '\r')
			ok(0, "data in place is followed by its line end");
	} else if (data[len] != '\0') {
		ok(0, "data in the splitter's buffer is NUL-terminated");
	}
}

/* Feeds a copy of p, scrubbed once the call is done, as a caller reuses
 * its buffer: data kept past the call from in place would show it. */
static void
feed(struct sse *s, struct got *g, const char *p, size_t n)
{
	static char scratch[8192];

	memcpy(scratch, p, n);
	g->feed = scratch;
	g->feed_end = scratch + n;
	sse_feed(s, scratch, n);
	memset(scratch, 'Z', n);
	g->feed = g->feed_end = NULL;
}

/* Feeds in chunks of `chunk` bytes (0: whole); returns the rendering.
 * Hooked, what repeats an event's wire text is taken as that event. */
static const char *
run_as(const char *in, size_t len, size_t chunk, size_t max, size_t *dropped,
       bool hooked)
{
	static struct got g;
	struct sse *s = sse_new(max, on_event, &g);

	memset(&g, 0, sizeof(g));
	if (!s)
		return "(oom)";
	if (hooked) {
		g.sse = s;
		sse_set_skip(s, take_repeats);
	}
	if (!chunk)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk)
		feed(s, &g, in + off, len - off < chunk ? len - off : chunk);
	if (dropped)
		*dropped = sse_dropped(s);
	if (g.bad_wire)
		return "(a wire text out of its feed)";
	sse_free(s);
	return g.s;
}

static const char *
run(const char *in, size_t len, size_t chunk, size_t max, size_t *dropped)
{
	return run_as(in, len, chunk, max, dropped, false);
}

/* Checks the whole feed, byte by byte, and every two-chunk split; then
 * the same with the skip hook taking repeated wire texts, which must
 * read alike. */
static void
check_as(const char *name, const char *in, const char *want, bool hooked)
{
	const char *how = hooked ? " (repeats taken)" : "";
	size_t len = strlen(in);
	struct got split;
	bool same = true;

	is_str(run_as(in, len, 0, 0, NULL, hooked), want, "%s: whole%s", name,
	       how);
	is_str(run_as(in, len, 1, 0, NULL, hooked), want, "%s: byte by byte%s",
	       name, how);
	for (size_t cut = 0; cut <= len && same; cut++) {
		struct sse *s;

		memset(&split, 0, sizeof(split));
		if (!(s = sse_new(0, on_event, &split)))
			break;
		if (hooked) {
			split.sse = s;
			sse_set_skip(s, take_repeats);
		}
		feed(s, &split, in, cut);
		feed(s, &split, in + cut, len - cut);
		sse_free(s);
		if (strcmp(split.s, want) != 0 || split.bad_wire) {
			diag("split at %zu: got \"%s\"", cut, split.s);
			same = false;
		}
	}
	ok(same, "%s: every split position%s", name, how);
}

static void
check(const char *name, const char *in, const char *want)
{
	check_as(name, in, want, false);
	check_as(name, in, want, true);
}

/* The wire text handed over with an event, and the hook's takings. */
static void
test_wire(void)
{
	static const struct {
		const char *in, *wire, *name;
	} cases[] = {
		{ "data: a\n\n", "data: a\n\n", "LF" },
		{ "data: a\r\n\r\n", "data: a\r\n\r\n", "CRLF" },
		{ ": c\nid: 1\nevent: x\ndata: a\nid: 2\n\n",
		  "event: x\ndata: a\nid: 2\n\n",
		  "from the first line that begins the event" },
		{ "\n\ndata: a\n\n", "data: a\n\n", "blank lines before" },
		{ "data: a\r\r", "", "none when it ends in CR" },
		{ "data: a\ndata: b\n\n", "", "none for two data lines" },
	};
	static const char four[] =
		"event: x\ndata: a\n\nevent: x\ndata: a\n\n"
		"event: x\ndata: a\n\n: c\nevent: x\ndata: a\n\n";
	static struct got g;
	struct sse *s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!(s = sse_new(0, on_event, &g)))
			return;
		memset(&g, 0, sizeof(g));
		g.sse = s;
		feed(s, &g, cases[i].in, strlen(cases[i].in));
		g.wire[g.wire_len < sizeof(g.wire) ? g.wire_len : 0] = '\0';
		is_str(g.wire, cases[i].wire, "wire text: %s", cases[i].name);
		ok(!g.bad_wire, "wire text: %s: in its feed", cases[i].name);
		sse_free(s);
	}
	if (!(s = sse_new(0, on_event, &g)))
		return;
	memset(&g, 0, sizeof(g));
	g.sse = s;
	sse_set_skip(s, take_repeats);
	feed(s, &g, four, strlen(four));
	is_str(g.s, "x=a|x=a|x=a|x=a|", "the hook's takings read as events");
	is_int(g.taken, 3, "the hook took the repeats, after a comment too");
	feed(s, &g, "event: x\n", 9);
	feed(s, &g, "data: a\n\n", 9);
	is_int(g.taken, 3,
	       "and nothing where an event began in the feed "
	       "before");
	sse_free(s);
}

static void
test_oversize(void)
{
	char big[300];
	char in[512];
	size_t dropped = 0;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(in, sizeof(in), "data: %s\n\ndata: ok\n\n", big);
	is_str(run(in, strlen(in), 0, 64, &dropped), "message=ok|",
	       "oversize event dropped, the next one kept");
	is_int(dropped, 1, "oversize event counted");
	is_str(run(in, strlen(in), 5, 64, &dropped), "message=ok|",
	       "oversize line across chunks dropped");
	is_int(dropped, 1, "oversize line counted once");
	/* many small lines that add up past the bound */
	snprintf(in, sizeof(in), "%s",
		 "data: 0123456789\ndata: 0123456789\ndata: 0123456789\n"
		 "data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n"
		 "data: ok\n\n");
	is_str(run(in, strlen(in), 3, 64, &dropped), "message=ok|",
	       "event growing past the bound line by line dropped");
	is_int(dropped, 1, "and counted");
	is_str(run(in, strlen(in), 0, 0, &dropped),
	       "message=0123456789\n0123456789\n0123456789\n0123456789\n"
	       "0123456789\n0123456789|message=ok|",
	       "the same event within the default bound is kept");
}

/* An event of one data line whole in the feed is not copied; one that
 * spans two feeds, or has two lines, is, and reads the same. */
static void
test_in_place(void)
{
	static const char two[] =
		"data: {\"a\": 1}\r\n\r\ndata: x\ndata: y\n\n";
	static struct got g;
	struct sse *s = sse_new(0, on_event, &g);

	if (!s) {
		ok(0, "sse_new");
		return;
	}
	memset(&g, 0, sizeof(g));
	feed(s, &g, two, strlen(two));
	is_str(g.s, "message={\"a\": 1}|message=x\ny|", "both events read");
	is_int(g.in_place, 1, "the one-line event handed over in place");
	feed(s, &g, "data: ab", 8);
	feed(s, &g, "c\n", 2);
	feed(s, &g, "\n", 1);
	is_str(g.s, "message={\"a\": 1}|message=x\ny|message=abc|",
	       "an event across three feeds read whole");
	is_int(g.in_place, 1, "and copied");
	feed(s, &g, "data: de\n", 9);
	feed(s, &g, "\n", 1);
	is_str(g.s + strlen("message={\"a\": 1}|message=x\ny|message=abc|"),
	       "message=de|", "a whole line kept past its feed");
	sse_free(s);
}

int
main(void)
{
	check("LF", "data: a\n\ndata: b\n\n", "message=a|message=b|");
	check("CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", "message=a|message=b|");
	check("lone CR", "data: a\r\rdata: b\r\r", "message=a|message=b|");
	check("mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n",
	      "message=a\nb\nc|");
	check("CR then LF is one line end", "data: a\r\n\r\n", "message=a|");
	check("BOM stripped",
	      "\xef\xbb\xbf"
	      "data: a\n\n",
	      "message=a|");
	check("only the first BOM is stripped",
	      "\xef\xbb\xbf\xef\xbb\xbf"
	      "data: a\n\ndata: b\n\n",
	      "message=b|");
	check("no BOM, first byte like one",
	      "\xef"
	      "data: a\n\ndata: b\n\n",
	      "message=b|");
	check("comments ignored", ": hello\ndata: a\n: mid\ndata: b\n\n",
	      "message=a\nb|");
	check("comment then blank line does not dispatch",
	      ": keep-alive\n\ndata: a\n\n", "message=a|");
	check("blank lines alone do not dispatch", "\n\n\r\n\r\r\n", "");
	check("data: without space", "data:a\n\n", "message=a|");
	check("only one space stripped", "data:  a\n\n", "message= a|");
	check("multi-line data joined with LF",
	      "data: {\ndata: \"k\": 1\ndata: }\n\n",
	      "message={\n\"k\": 1\n}|");
	check("event name", "event: foo\ndata: 1\n\ndata: 2\n\n",
	      "foo=1|message=2|");
	check("event name without data is reset", "event: foo\n\ndata: 2\n\n",
	      "message=2|");
	check("id, retry and unknown fields ignored",
	      "id: 7\nretry: 100\nx-unknown: y\ndata: a\nid\n\n", "message=a|");
	check("field without colon: empty data dispatches \"\"", "data\n\n",
	      "message=|");
	check("empty data line joins as an empty line",
	      "data: a\ndata:\ndata: b\n\n", "message=a\n\nb|");
	check("unterminated last event discarded", "data: a\n\ndata: b\n",
	      "message=a|");
	check("UTF-8 kept intact", "data: \xc3\xa7\xf0\x9f\x98\x80\n\n",
	      "message=\xc3\xa7\xf0\x9f\x98\x80|");
	check("colon in value", "data: a:b: c\n\n", "message=a:b: c|");
	test_oversize();
	test_in_place();
	test_wire();
	return tap_done();
}
