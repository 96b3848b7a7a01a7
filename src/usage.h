/* SPDX-License-Identifier: GPL-2.0-or-later
 * usage.h - the per-model token usage table behind /v1/usage.
 *
 * Threading: every call is thread-safe; one mutex guards the table and is
 *   held only to copy numbers in or out, never across I/O or formatting.
 * Ownership: usage_record() copies the record; the caller keeps its own.
 */
#ifndef AGP_USAGE_H
#define AGP_USAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "usage_record.h"

/* Adds c's fields to the JSON object o, as /v1/usage writes them. For a
 * row (a model, a group), cost_usd is null when none of its records had
 * a price; for totals it is always a number. */
void usage_counts_json(struct json_object *o, const struct usage_counts *c,
		       bool row);

struct usage_table;
struct metrics;

/* Returns a new empty table whose "since" is now, or NULL. Free with
 * usage_table_free(). */
struct usage_table *usage_table_new(void);
void usage_table_free(struct usage_table *t);

/* Adds one record to its model's row, the totals, the endpoint count,
 * the status count and the series of /metrics (series.h). No record is
 * kept: the table is totals only. */
void usage_record(struct usage_table *t, const struct usage_record *r);

/* Adds an aggregate (from the store's summaries): c to the totals, to
 * row `row` unless it is "", to endpoint `endpoint` (c->requests times)
 * unless it is "", and to (endpoint, status) when status >= 0. first and
 * last are the oldest and newest record times it covers. */
void usage_table_add(struct usage_table *t, const char *row,
		     const char *endpoint, int status,
		     const struct usage_counts *c, double first, double last);

/* A new empty table with t's labels, whose "since" is `since`; for
 * building a window's document. NULL when out of memory. */
struct usage_table *usage_table_window(struct usage_table *t, double since);

/* Maps a model id to its display label ("MODEL_PLACEHOLDER_M18" ->
 * "Gemini 3 Flash"); an id without a label is its own label. Adding a
 * label for an id already mapped replaces it. Returns 0 or -1. */
int usage_label_add(struct usage_table *t, const char *id, const char *label);

/* Copies id's label into out (id itself when it has none). */
void usage_label_copy(struct usage_table *t, const char *id, char *out,
		      size_t len);

/* The price table's version, shown in /v1/usage; copied. */
void usage_set_price_version(struct usage_table *t, const char *version);

/* The /v1/usage document of everything counted, built from a copy taken
 * under the lock. Windows (?since=) come from the store (store.h). The
 * caller owns the result (json_object_put). NULL only when out of memory.
 */
struct json_object *usage_table_json(struct usage_table *t);

/* Endpoints with a label value of their own in /metrics; later ones are
 * "other" there (they stay themselves in /v1/usage). */
#define USAGE_METRICS_ENDPOINTS 32

/* Writes /metrics' usage counters in Prometheus text format to m
 * (metrics.h): the series of series.h, counted since start, and the
 * responses per endpoint and status, all time. */
void usage_table_metrics(struct usage_table *t, struct metrics *m);

/* Serialises one record as a single-line JSON object (the export and old
 * usage.jsonl format) and parses it back; the parse returns 0, or -1 on
 * a malformed line. */
struct json_object *usage_record_to_json(const struct usage_record *r);
int usage_record_from_json(struct json_object *o, struct usage_record *r);

#endif
