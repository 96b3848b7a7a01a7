/* SPDX-License-Identifier: GPL-2.0-or-later
 * report.c - a /v1/usage?by= document as a terminal table, laid out as
 * ccusage's daily and monthly reports are: one row per group, the token
 * counts right-aligned with thousands separators, the cost in dollars,
 * a totals row.
 *
 * The text comes from the records (model names from upstream responses,
 * host names from clients), so control characters are replaced before
 * they reach a terminal. Widths count UTF-8 characters, not bytes; wide
 * (CJK) characters are counted as one, which is enough for the ASCII
 * that model, agent and host names are in practice.
 *
 * Ownership: report_table() borrows the document; the table it builds
 * is freed before it returns.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "report.h"
#include "when.h"

#define REPORT_CELL_MAX 160 /* bytes of one cell's text */
#define REPORT_KEY_MIN 10   /* a text column is never cut below this */
#define REPORT_GAP 2	    /* spaces between columns */

#define REPORT_BOLD_CYAN "\033[1;36m"
#define REPORT_BOLD_YELLOW "\033[1;33m"
#define REPORT_YELLOW "\033[33m"
#define REPORT_RESET "\033[0m"

/* The by= names the API groups by, and their column headings. */
static const struct {
	const char *name, *head;
	bool cut; /* may be cut to fit; a date may not */
} report_keys[] = {
	{ "day", "Date", false },    { "week", "Week", false },
	{ "month", "Month", false }, { "model", "Model", true },
	{ "agent", "Agent", true },  { "key", "Key", true },
	{ "host", "Host", true },    { "hour", "Hour (UTC)", false },
};

/* The count columns; `drop` orders what goes when the terminal is too
 * narrow: the highest first, 0 never. Total and cost are what a reader
 * came for. */
static const struct {
	const char *field, *head;
	int drop;
} report_counts[] = {
	{ "requests", "Requests", 3 },
	{ "input_tokens", "Input", 1 },
	{ "output_tokens", "Output", 2 },
	{ "thinking_tokens", "Thinking", 4 },
	{ "cache_creation_tokens", "Cache Create", 6 },
	{ "cached_tokens", "Cache Read", 5 },
	{ "total_tokens", "Total Tokens", 0 },
	{ "cost_usd", "Cost (USD)", 0 },
};

#define REPORT_NKEYS (sizeof(report_keys) / sizeof(report_keys[0]))
#define REPORT_NCOUNTS (sizeof(report_counts) / sizeof(report_counts[0]))
#define REPORT_MAXCOLS (REPORT_NKEYS + REPORT_NCOUNTS)

struct report_col {
	const char *head;
	int drop;
	bool right, shown, cut;
	size_t w; /* in characters */
};

struct report_tab {
	struct report_col col[REPORT_MAXCOLS];
	size_t ncols, nkeys, nrows;    /* rows: the groups, then totals */
	char (*cell)[REPORT_CELL_MAX]; /* nrows * ncols */
	int64_t unpriced;	       /* the totals' unpriced requests */
};

#define CELL(t, r, c) ((t)->cell[(r) * (t)->ncols + (c)])

/* Characters in s (UTF-8 continuation bytes do not count). */
static size_t
text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Cuts s to w characters, the last one a '~' to show it was cut. */
static void
text_cut(char *s, size_t w)
{
	size_t n = 0;
	char *p;

	if (w == 0 || text_width(s) <= w)
		return;
	for (p = s; *p; p++)
		if (((unsigned char)*p & 0xc0) != 0x80 && ++n == w)
			break;
	p[0] = '~';
	p[1] = '\0';
}

/* Copies s with control characters (and DEL) made '?': record text must
 * not drive the terminal. */
static void
text_clean(char *dst, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		dst[i] =
			(unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	dst[i] = '\0';
}

/* 1234567 -> "1,234,567". */
static void
fmt_count(int64_t v, char *buf, size_t len)
{
	char digits[32], *p = buf;
	int n = snprintf(digits, sizeof(digits), "%" PRId64, v < 0 ? -v : v);

	if (v < 0 && len > 1) {
		*p++ = '-';
		len--;
	}
	for (int i = 0; i < n && len > 1; i++, len--) {
		*p++ = digits[i];
		if ((n - i - 1) % 3 == 0 && i + 1 < n && len > 2) {
			*p++ = ',';
			len--;
		}
	}
	*p = '\0';
}

/* A cost in dollars and cents ("$1,234.56"), "-" when null (nothing in
 * the row had a price), with a '*' when some requests had none. */
static void
fmt_cost(struct json_object *cost, int64_t unpriced, char *buf, size_t len)
{
	char dollars[32];
	int64_t cents;

	if (!cost || json_object_get_type(cost) == json_type_null) {
		snprintf(buf, len, "-%s", unpriced ? "*" : "");
		return;
	}
	cents = (int64_t)(json_object_get_double(cost) * 100 + 0.5);
	fmt_count(cents / 100, dollars, sizeof(dollars));
	snprintf(buf, len, "$%s.%02d%s", dollars, (int)(cents % 100),
		 unpriced ? "*" : "");
}

static int64_t
get_count(struct json_object *o, const char *field)
{
	struct json_object *v;

	return json_object_object_get_ex(o, field, &v)
		       ? json_object_get_int64(v)
		       : 0;
}

static const char *
get_string(struct json_object *o, const char *field)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, field, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A group's value for by= name: a model by its label, an OAuth key
 * marked, an empty value as "-". */
static void
key_cell(struct json_object *g, const char *name, char *buf, size_t len)
{
	const char *v = get_string(g, name), *label = get_string(g, "label");
	char raw[REPORT_CELL_MAX];
	const char *kind = get_string(g, "key_kind");

	if (strcmp(name, "model") == 0 && label && *label)
		v = label;
	if (!v || !*v)
		v = "-";
	snprintf(raw, sizeof(raw), "%s%s", v,
		 strcmp(name, "key") == 0 && kind && strcmp(kind, "oauth") == 0
			 ? " (oauth)"
			 : "");
	text_clean(buf, len, raw);
}

/* One row's count cells from group (or totals) o, from column c on. */
static void
count_cells(struct report_tab *t, size_t r, struct json_object *o)
{
	struct json_object *cost = NULL;
	size_t c = t->nkeys;

	for (size_t i = 0; i < REPORT_NCOUNTS; i++, c++) {
		if (strcmp(report_counts[i].field, "cost_usd") == 0) {
			json_object_object_get_ex(o, "cost_usd", &cost);
			fmt_cost(cost, get_count(o, "unpriced_requests"),
				 CELL(t, r, c), REPORT_CELL_MAX);
		} else {
			fmt_count(get_count(o, report_counts[i].field),
				  CELL(t, r, c), REPORT_CELL_MAX);
		}
	}
}

/* The columns for by list `by`; -1 for a name this client does not
 * know. */
static int
tab_columns(struct report_tab *t, struct json_object *by)
{
	size_t n = json_object_array_length(by), k;

	if (n == 0 || n > REPORT_NKEYS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *name = json_object_get_string(
			json_object_array_get_idx(by, i));

		for (k = 0; k < REPORT_NKEYS; k++)
			if (name && strcmp(name, report_keys[k].name) == 0)
				break;
		if (k == REPORT_NKEYS)
			return -1;
		t->col[t->ncols++] =
			(struct report_col){ .head = report_keys[k].head,
					     .shown = true,
					     .cut = report_keys[k].cut };
	}
	t->nkeys = n;
	for (size_t i = 0; i < REPORT_NCOUNTS; i++)
		t->col[t->ncols++] =
			(struct report_col){ .head = report_counts[i].head,
					     .right = true,
					     .drop = report_counts[i].drop,
					     .shown = true };
	return 0;
}

/* The cells: a row per group, the totals last. A text value equal to
 * the one above it is left blank in the first column, so that
 * by=day,model reads as days with their models. */
static int
tab_fill(struct report_tab *t, struct json_object *by,
	 struct json_object *groups, struct json_object *totals)
{
	size_t ng = json_object_array_length(groups);

	t->nrows = ng + 1;
	if (!(t->cell = calloc(t->nrows * t->ncols, sizeof(*t->cell))))
		return -1;
	for (size_t r = 0; r < ng; r++) {
		struct json_object *g = json_object_array_get_idx(groups, r);

		if (!json_object_is_type(g, json_type_object))
			return -1;
		for (size_t c = 0; c < t->nkeys; c++)
			key_cell(g,
				 json_object_get_string(
					 json_object_array_get_idx(by, c)),
				 CELL(t, r, c), REPORT_CELL_MAX);
		count_cells(t, r, g);
	}
	for (size_t r = ng; r-- > 1;)
		if (t->nkeys > 1 &&
		    strcmp(CELL(t, r, 0), CELL(t, r - 1, 0)) == 0)
			CELL(t, r, 0)[0] = '\0';
	snprintf(CELL(t, ng, 0), REPORT_CELL_MAX, "Total");
	count_cells(t, ng, totals);
	t->unpriced = get_count(totals, "unpriced_requests");
	return 0;
}

static size_t
tab_width(const struct report_tab *t)
{
	size_t w = 0, n = 0;

	for (size_t c = 0; c < t->ncols; c++)
		if (t->col[c].shown) {
			w += t->col[c].w;
			n++;
		}
	return w + (n ? (n - 1) * REPORT_GAP : 0);
}

/* Widths from the cells; then, past `width`, count columns leave (the
 * highest `drop` first) and the widest text column is cut. Returns how
 * many columns left. */
static size_t
tab_fit(struct report_tab *t, size_t width)
{
	size_t dropped = 0, over, c, widest, victim;
	int worst;

	for (c = 0; c < t->ncols; c++) {
		t->col[c].w = text_width(t->col[c].head);
		for (size_t r = 0; r < t->nrows; r++)
			if (text_width(CELL(t, r, c)) > t->col[c].w)
				t->col[c].w = text_width(CELL(t, r, c));
	}
	while (width && tab_width(t) > width) {
		for (worst = 0, victim = c = 0; c < t->ncols; c++)
			if (t->col[c].shown && t->col[c].drop > worst)
				worst = t->col[victim = c].drop;
		if (!worst)
			break;
		t->col[victim].shown = false;
		dropped++;
	}
	while (width && (over = tab_width(t)) > width) {
		for (widest = t->ncols, c = 0; c < t->nkeys; c++)
			if (t->col[c].cut && t->col[c].w > REPORT_KEY_MIN &&
			    (widest == t->ncols ||
			     t->col[c].w > t->col[widest].w))
				widest = c;
		if (widest == t->ncols)
			break;
		over -= width;
		t->col[widest].w = t->col[widest].w < REPORT_KEY_MIN + over
					   ? REPORT_KEY_MIN
					   : t->col[widest].w - over;
	}
	for (c = 0; c < t->nkeys; c++)
		for (size_t r = 0; r < t->nrows; r++)
			text_cut(CELL(t, r, c), t->col[c].w);
	return dropped;
}

/* One line: cells padded to their columns, in colour `on` if any. */
static void
tab_line(FILE *out, const struct report_tab *t, const char *const *cells,
	 const char *on)
{
	bool first = true;

	if (on)
		fputs(on, out);
	for (size_t c = 0; c < t->ncols; c++) {
		const char *s = cells[c];
		size_t pad;

		if (!t->col[c].shown)
			continue;
		pad = t->col[c].w - text_width(s);
		fprintf(out, "%*s", first ? 0 : REPORT_GAP, "");
		first = false;
		if (t->col[c].right)
			fprintf(out, "%*s%s", (int)pad, "", s);
		else
			fprintf(out, "%s%*s", s,
				c + 1 < t->ncols ? (int)pad : 0, "");
	}
	fprintf(out, "%s\n", on ? REPORT_RESET : "");
}

static void
tab_row(FILE *out, const struct report_tab *t, size_t r, const char *on)
{
	const char *cells[REPORT_MAXCOLS];

	for (size_t c = 0; c < t->ncols; c++)
		cells[c] = CELL(t, r, c);
	tab_line(out, t, cells, on);
}

static void
tab_rule(FILE *out, const struct report_tab *t)
{
	for (size_t i = tab_width(t); i > 0; i--)
		fputc('-', out);
	fputc('\n', out);
}

/* An RFC 3339 time from doc, as a local time in offset tz. */
static void
title_time(struct json_object *doc, const char *field, long tz, char *buf,
	   size_t len)
{
	const char *s = get_string(doc, field);
	double t;
	time_t local;
	struct tm tm;

	if (!s || when_parse(s, 0, &t) < 0) {
		buf[0] = '\0';
		return;
	}
	local = (time_t)t + tz;
	gmtime_r(&local, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* "Token usage by day and model (UTC+01:00), T to T". */
static void
title_print(FILE *out, struct json_object *doc, struct json_object *by,
	    const struct report_style *st)
{
	const char *tzs = get_string(doc, "tz");
	char title[512], from[32], to[32], zone[16] = "UTC";
	size_t n = json_object_array_length(by), off;
	long tz = 0;

	if (tzs && when_parse_tz(tzs, &tz) == 0 && tz)
		snprintf(zone, sizeof(zone), "UTC%s", tzs);
	off = (size_t)snprintf(title, sizeof(title), "Token usage by");
	for (size_t i = 0; i < n && off < sizeof(title); i++)
		off += (size_t)snprintf(
			title + off, sizeof(title) - off, "%s%s",
			i == 0	     ? " "
			: i + 1 == n ? " and "
				     : ", ",
			json_object_get_string(
				json_object_array_get_idx(by, i)));
	title_time(doc, "since", tz, from, sizeof(from));
	title_time(doc, "until", tz, to, sizeof(to));
	if (off < sizeof(title))
		snprintf(title + off, sizeof(title) - off, " (%s)%s%s%s%s",
			 zone,
			 *from && *to ? ", "
			 : *from      ? ", from "
			 : *to	      ? ", until "
				      : "",
			 from, *from && *to ? " to " : "", to);
	text_cut(title, st->width);
	fprintf(out, "%s%s%s\n\n", st->colour ? REPORT_BOLD_CYAN : "", title,
		st->colour ? REPORT_RESET : "");
}

/* Writes text, words wrapped at width (0: none), in colour `on`. */
static void
note_print(FILE *out, const char *text, unsigned width, const char *on)
{
	size_t col = 0, w;

	fputs(on ? on : "", out);
	while (*text) {
		w = strcspn(text, " ");
		if (col && width && col + 1 + w > width) {
			fputs(on ? REPORT_RESET "\n" : "\n", out);
			fputs(on ? on : "", out);
			col = 0;
		} else if (col) {
			fputc(' ', out);
			col++;
		}
		fwrite(text, 1, w, out);
		col += w;
		text += w;
		text += strspn(text, " ");
	}
	fprintf(out, "%s\n", on ? REPORT_RESET : "");
}

/* The notes under the table: unpriced requests, columns left out. */
static void
notes_print(FILE *out, struct json_object *doc, const struct report_tab *t,
	    size_t dropped, const struct report_style *st)
{
	struct json_object *prices;
	const char *version = NULL;
	char n[32], text[512], v[64];
	size_t off;

	if (json_object_object_get_ex(doc, "prices", &prices) &&
	    (version = get_string(prices, "version"))) {
		text_clean(v, sizeof(v), version);
		version = v;
	}
	if (t->unpriced) {
		fmt_count(t->unpriced, n, sizeof(n));
		snprintf(text, sizeof(text),
			 "* %s request%s without a "
			 "price%s%s: not in the cost.",
			 n, t->unpriced == 1 ? "" : "s",
			 version ? " in prices " : "", version ? version : "");
		note_print(out, text, st->width,
			   st->colour ? REPORT_YELLOW : NULL);
	}
	if (dropped) {
		off = (size_t)snprintf(text, sizeof(text),
				       "Left out to fit %u "
				       "columns:",
				       st->width);
		for (size_t c = 0; c < t->ncols && off < sizeof(text); c++)
			if (!t->col[c].shown)
				off += (size_t)snprintf(
					text + off, sizeof(text) - off, " %s%s",
					t->col[c].head, --dropped ? "," : ".");
		note_print(out, text, st->width, NULL);
	}
}

int
report_table(FILE *out, struct json_object *doc, const struct report_style *st,
	     char *err, size_t errlen)
{
	struct report_tab t = { .ncols = 0 };
	struct json_object *by, *groups, *totals;
	const char *heads[REPORT_MAXCOLS];
	size_t dropped;
	int rc = -1;

	if (!json_object_object_get_ex(doc, "by", &by) ||
	    !json_object_is_type(by, json_type_array) ||
	    !json_object_object_get_ex(doc, "groups", &groups) ||
	    !json_object_is_type(groups, json_type_array) ||
	    !json_object_object_get_ex(doc, "totals", &totals) ||
	    !json_object_is_type(totals, json_type_object) ||
	    tab_columns(&t, by) < 0 || tab_fill(&t, by, groups, totals) < 0) {
		snprintf(err, errlen, "not a /v1/usage?by= document");
		goto out;
	}
	title_print(out, doc, by, st);
	if (t.nrows == 1) {
		fprintf(out, "No records in this range.\n");
		rc = 0;
		goto out;
	}
	dropped = tab_fit(&t, st->width);
	for (size_t c = 0; c < t.ncols; c++)
		heads[c] = t.col[c].head;
	tab_line(out, &t, heads, st->colour ? REPORT_BOLD_CYAN : NULL);
	tab_rule(out, &t);
	for (size_t r = 0; r + 1 < t.nrows; r++)
		tab_row(out, &t, r, NULL);
	tab_rule(out, &t);
	tab_row(out, &t, t.nrows - 1, st->colour ? REPORT_BOLD_YELLOW : NULL);
	notes_print(out, doc, &t, dropped, st);
	rc = 0;
out:
	free(t.cell);
	return rc;
}

void
report_style_stdout(struct report_style *st)
{
	const char *cols = getenv("COLUMNS"), *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	bool tty = isatty(STDOUT_FILENO);
	struct winsize ws;
	char *end;
	long n;

	st->width = 0;
	if (cols && (n = strtol(cols, &end, 10)) > 0 && !*end && n < 100000)
		st->width = (unsigned)n;
	else if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		st->width = ws.ws_col;
	st->colour =
		tty && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
}
