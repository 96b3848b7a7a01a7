/* SPDX-License-Identifier: GPL-2.0-or-later
 * report.h - `antigravity-proxy usage`: a terminal report over the API.
 *
 * report.c turns a /v1/usage?by= document into a table (a pure function
 * of the document and a style, so it is tested with golden output);
 * report_client.c fetches the document from the running daemon and
 * runs the command.
 *
 * Threading: single-threaded, in the command's process.
 */
#ifndef AGP_REPORT_H
#define AGP_REPORT_H

#include <stdbool.h>
#include <stdio.h>

struct json_object;
struct options;

struct report_style {
	unsigned width; /* terminal columns; 0: no limit */
	bool colour;	/* ANSI colours (a TTY, NO_COLOR unset) */
};

/* Writes doc (a /v1/usage?by= document, borrowed) to out as a table:
 * a title, one row per group, a totals row and notes. Columns that do
 * not fit in st->width are left out, least useful first; text columns
 * are then cut. 0, or -1 with why in err when doc is not such a
 * document. */
int report_table(FILE *out, struct json_object *doc,
		 const struct report_style *st, char *err, size_t errlen);

/* The style for stdout: its width (COLUMNS, else the terminal's, else
 * none) and colour (a TTY, TERM not "dumb", NO_COLOR unset or empty). */
void report_style_stdout(struct report_style *st);

/* Runs `usage` with opt's --api-listen, --since, --until, --by, --json
 * and --watch. Returns the exit status: 0, 1 (the daemon could not be
 * read; one line on stderr says why) or 2 (a bad option value). */
int report_run(const struct options *opt);

#endif
