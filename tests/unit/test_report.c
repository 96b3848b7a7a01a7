/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_report.c - the `usage` report's tables against golden output
 * (tests/fixtures/report/: a /v1/usage?by= document NAME.json and the
 * exact table for a width and colour, NAME[-WIDTH|-colour].txt), and
 * the tz= offset parser and writer the report and the API share.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "report.h"
#include "when.h"
#include "tap.h"

static const struct {
	const char *doc, *golden;
	unsigned width;
	bool colour;
	const char *what;
} cases[] = {
	{ "day", "day", 0, false,
	  "by day: thousands separators, dollars, "
	  "an unpriced total marked and explained" },
	{ "day", "day-80", 80, false,
	  "80 columns: the cache columns left "
	  "out, and said so" },
	{ "day", "day-40", 40, false,
	  "40 columns: date, total and cost; "
	  "notes wrapped" },
	{ "day", "day-colour", 0, true,
	  "colour: cyan title and header, "
	  "yellow totals and note" },
	{ "day-model", "day-model", 0, false,
	  "by day,model: each day once, "
	  "labels, control characters as '?', a null cost as '-*'" },
	{ "agent-key", "agent-key-30", 30, false,
	  "30 columns: text cut "
	  "with '~', an OAuth key marked" },
	{ "empty", "empty", 0, false, "no groups: says so" },
};

/* The file's text (the caller frees it), or NULL. */
static char *
slurp(const char *name, const char *ext)
{
	const char *top = getenv("top_srcdir");
	char path[4096], *buf = NULL;
	size_t len = 0;
	FILE *f, *mem;
	int c;

	snprintf(path, sizeof(path), "%s/tests/fixtures/report/%s.%s",
		 top ? top : ".", name, ext);
	if (!(f = fopen(path, "r")))
		return NULL;
	if ((mem = open_memstream(&buf, &len))) {
		while ((c = fgetc(f)) != EOF)
			fputc(c, mem);
		fclose(mem);
	}
	fclose(f);
	return buf;
}

/* The table for doc at (width, colour), or NULL (err says why). */
static char *
render(struct json_object *doc, unsigned width, bool colour, int *rc, char *err,
       size_t errlen)
{
	struct report_style st = { .width = width, .colour = colour };
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem)
		return NULL;
	*rc = report_table(mem, doc, &st, err, errlen);
	fclose(mem);
	return buf;
}

static void
test_golden(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = slurp(cases[i].doc, "json");
		char *want = slurp(cases[i].golden, "txt"), *got = NULL;
		struct json_object *doc =
			text ? json_tokener_parse(text) : NULL;
		char err[128] = "";
		int rc = -1;

		if (doc)
			got = render(doc, cases[i].width, cases[i].colour, &rc,
				     err, sizeof(err));
		ok(rc == 0 && want && got && strcmp(got, want) == 0, "%s",
		   cases[i].what);
		if (got && want && strcmp(got, want) != 0)
			diag("got:\n%s", got);
		json_object_put(doc);
		free(text);
		free(want);
		free(got);
	}
}

static void
test_refused(void)
{
	static const char *const bad[] = {
		"{\"totals\":{}}",
		"{\"by\":[\"day\"],\"groups\":{},\"totals\":{}}",
		"{\"by\":[\"fortnight\"],\"groups\":[],\"totals\":{}}",
		"{\"by\":[],\"groups\":[],\"totals\":{}}",
		"{\"by\":[\"day\"],\"groups\":[1],\"totals\":{}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_object *doc = json_tokener_parse(bad[i]);
		char err[128] = "", *got;
		int rc = 0;

		got = render(doc, 0, false, &rc, err, sizeof(err));
		ok(rc < 0 && *err, "refused: %s (%s)", bad[i], err);
		free(got);
		json_object_put(doc);
	}
}

static void
test_tz(void)
{
	static const struct {
		const char *in;
		long off; /* -1: refused */
	} t[] = {
		{ "Z", 0 },
		{ "+00:00", 0 },
		{ "+09:00", 9 * 3600 },
		{ "-05:00", -5 * 3600 },
		{ "+0530", 5 * 3600 + 1800 },
		{ "-0930", -(9 * 3600 + 1800) },
		{ "+14", 14 * 3600 },
		{ " 01:00", 3600 },
		{ "+14:00", 14 * 3600 },
		{ "+14:01", -1 },
		{ "+15:00", -1 },
		{ "+01:60", -1 },
		{ "+1", -1 },
		{ "+01:", -1 },
		{ "+01:0", -1 },
		{ "+01:000", -1 },
		{ "01:00", -1 },
		{ "", -1 },
		{ "UTC", -1 },
		{ "+01:00x", -1 },
	};
	char buf[16];
	long off;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = when_parse_tz(t[i].in, &off);

		if (t[i].off == -1)
			ok(rc < 0, "tz '%s' refused", t[i].in);
		else
			ok(rc == 0 && off == t[i].off, "tz '%s' is %ld s",
			   t[i].in, t[i].off);
	}
	when_format_tz(-(9 * 3600 + 1800), buf, sizeof(buf));
	is_str(buf, "-09:30", "a negative offset written");
	when_format_tz(0, buf, sizeof(buf));
	is_str(buf, "+00:00", "zero written as +00:00");
}

int
main(void)
{
	test_golden();
	test_refused();
	test_tz();
	return tap_done();
}
