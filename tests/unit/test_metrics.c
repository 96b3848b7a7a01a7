/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_metrics.c - the Prometheus text writer: the exact lines of a head
 * and a value, the one truncation rule (whole pieces, and nothing after
 * the first that does not fit), and label values escaped and cut.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "tap.h"

static void
test_lines(void)
{
	char buf[512];
	struct metrics m;

	metrics_init(&m, buf, sizeof(buf));
	ok(m.len == 0 && !m.full && buf[0] == '\0', "a new writer is empty");
	metrics_value(&m, "agp_up_total", "counter", "Ups.", 42);
	is_str(buf,
	       "# HELP agp_up_total Ups.\n# TYPE agp_up_total counter\n"
	       "agp_up_total 42\n",
	       "a value: HELP, TYPE and the sample");
	metrics_init(&m, buf, sizeof(buf));
	metrics_value(&m, "agp_big", "gauge", "Big.", INT64_MAX);
	metrics_value(&m, "agp_neg", "gauge", "Below zero.", -3);
	is_str(buf,
	       "# HELP agp_big Big.\n# TYPE agp_big gauge\n"
	       "agp_big 9223372036854775807\n"
	       "# HELP agp_neg Below zero.\n# TYPE agp_neg gauge\n"
	       "agp_neg -3\n",
	       "any int64, in decimal");
	metrics_init(&m, buf, sizeof(buf));
	metrics_head(&m, "agp_req_total", "counter", "Per %s, first %d.",
		     "endpoint", 32);
	metrics_printf(&m, "agp_req_total{endpoint=\"%s\"} %d\n", "a", 1);
	is_str(buf,
	       "# HELP agp_req_total Per endpoint, first 32.\n"
	       "# TYPE agp_req_total counter\n"
	       "agp_req_total{endpoint=\"a\"} 1\n",
	       "a head with a formatted help, then a labelled sample");
	is_int(m.len, strlen(buf), "len counts what is written");
}

/* A text of three families, into buf (len bytes); its length. */
static size_t
families(char *buf, size_t len, bool *full)
{
	struct metrics m;

	metrics_init(&m, buf, len);
	metrics_value(&m, "agp_a_total", "counter", "A.", 1);
	metrics_head(&m, "agp_b", "gauge", "B, %s.", "labelled");
	for (int i = 0; i < 5; i++)
		metrics_printf(&m, "agp_b{n=\"%d\"} %d\n", i, i * 10);
	metrics_value(&m, "agp_c", "gauge", "C.", 7);
	*full = m.full;
	return m.len;
}

/* Every cut of the text is a prefix of it ending after a whole line. */
static void
test_cuts(void)
{
	char whole[1024], buf[1024];
	size_t n, len, all = families(whole, sizeof(whole), &(bool){ 0 });
	bool prefix = true, full;
	struct metrics m;

	ok(all > 0 && all == strlen(whole) && strstr(whole, "agp_c 7\n"),
	   "the whole text: %zu bytes", all);
	for (len = 1; len <= all; len++) {
		n = families(buf, len, &full);
		if (n >= len || strlen(buf) != n || strncmp(buf, whole, n) ||
		    (n && buf[n - 1] != '\n') || !full)
			prefix = false;
	}
	ok(prefix, "every cut is a prefix of the whole text, NUL-terminated, "
		   "ending after a whole line, and the writer says it is full");
	n = families(buf, all + 1, &full);
	ok(n == all && !full, "one byte more than the text: all of it fits");
	metrics_init(&m, NULL, 0);
	metrics_value(&m, "agp_a_total", "counter", "A.", 1);
	ok(m.full && m.len == 0, "a buffer of no bytes: full, nothing written");
}

/* A piece that does not fit ends the text, though a later smaller one
 * would fit: a sample after the gap would be read under the wrong head,
 * or without one. */
static void
test_full_stays_full(void)
{
	char buf[64];
	struct metrics m;

	metrics_init(&m, buf, sizeof(buf));
	metrics_printf(&m, "agp_a 1\n");
	metrics_head(&m, "agp_long_name_that_does_not_fit", "counter",
		     "A help text far too long for what is left.");
	ok(m.full && !strcmp(buf, "agp_a 1\n"),
	   "a head that does not fit: none of it is written");
	metrics_printf(&m, "agp_b 2\n");
	ok(!strcmp(buf, "agp_a 1\n") && m.len == 8,
	   "and nothing after it, though it would fit");
}

static void
test_label(void)
{
	char out[64];

	metrics_label("plain-model_1.5", out, sizeof(out));
	is_str(out, "plain-model_1.5", "a plain value is kept");
	metrics_label("we\"ird\\mo\ndel", out, sizeof(out));
	is_str(out, "we\\\"ird\\\\mo\\ndel",
	       "quote, backslash and newline escaped");
	metrics_label("bad\xff\xc3(mod\xc3\xa8le\xe2\x82", out, sizeof(out));
	is_str(out,
	       "bad?"
	       "?(mod\xc3\xa8le?"
	       "?",
	       "bytes that are not UTF-8 become '?', UTF-8 is kept");
	metrics_label("\xe0\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80", out,
		      sizeof(out));
	is_str(out, "??????????",
	       "overlong forms, surrogates and code "
	       "points past U+10FFFF are not UTF-8 either");
	metrics_label("abc\"", out, 5);
	is_str(out, "abc", "cut to fit: never half an escape");
	metrics_label("ab\xc3\xa8", out, 4);
	is_str(out, "ab", "nor half a character");
	metrics_label("abc", out, 1);
	is_str(out, "", "one byte holds the NUL alone");
}

int
main(void)
{
	test_lines();
	test_cuts();
	test_full_stays_full();
	test_label();
	return tap_done();
}
