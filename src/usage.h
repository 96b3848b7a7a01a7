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

#define USAGE_MODEL_MAX 128
#define USAGE_LABEL_MAX 128
#define USAGE_ENDPOINT_MAX 64
#define USAGE_HOST_MAX 256
#define USAGE_RAW_MAX 2048
#define USAGE_ERROR_MAX 64
#define USAGE_AGENT_MAX 64
#define USAGE_TRANSPORT_MAX 16
#define USAGE_KEY_MAX 9			/* 8 hex digits */

/*
 * One metered response, normalised (see doc/usage-format.md): input,
 * output and thinking are disjoint; cached and cache_creation are subsets
 * of input. Strings are NUL-terminated and truncated to fit.
 */
struct usage_record {
	double time;			/* completion, seconds since the epoch */
	char host[USAGE_HOST_MAX];
	char endpoint[USAGE_ENDPOINT_MAX];	/* "streamGenerateContent" */
	char model[USAGE_MODEL_MAX];	/* "" when none was found */
	int status;			/* upstream HTTP status, 0 if none */
	bool has_usage;			/* the response carried token counts */
	bool complete;			/* the response reached its normal end */
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t thinking_tokens;
	int64_t cached_tokens;
	int64_t cache_creation_tokens;
	int64_t total_tokens;
	/* The split of cache_creation_tokens by lifetime (Anthropic's
	 * usage.cache_creation); without one, all are 5-minute writes. */
	int64_t cache_write_5m_tokens;
	int64_t cache_write_1h_tokens;
	/* The price it was billed at, kept with it (price.h): priced false
	 * means unpriced (cost_usd 0, shown as null). */
	double cost_usd;
	bool priced;
	double duration_ms;		/* request sent to last byte */
	double ttfb_ms;			/* request sent to first body byte */
	char error[USAGE_ERROR_MAX];	/* provider error type, "" if none */
	char transport[USAGE_TRANSPORT_MAX];	/* "sse", "json", "websocket",
						 * "" when the body was neither */
	char raw[USAGE_RAW_MAX];	/* provider's usage object as JSON */
	/* Who sent it (peer.h): a run's agent and pid, or the language
	 * server's name; the socket owner's uid, -1 when unknown. */
	char agent[USAGE_AGENT_MAX];
	long pid;
	long uid;
	/* The credential's fingerprint (credential.h), "" when none was
	 * sent; key_oauth for OAuth bearer tokens. Never the credential. */
	char key[USAGE_KEY_MAX];
	bool key_oauth;
};

/* The token counters, in the order of the contract. */
struct usage_counts {
	int64_t requests;
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t thinking_tokens;
	int64_t cached_tokens;
	int64_t cache_creation_tokens;
	int64_t total_tokens;
	double cost_usd;		/* of the priced records */
	int64_t unpriced;		/* records with usage but no price */
};

/* The counts of one record: requests 1, its tokens, its cost when
 * priced, unpriced 1 when it has usage but no price. */
void usage_record_counts(const struct usage_record *r, struct usage_counts *c);

/* a += b, every field. */
void usage_counts_add(struct usage_counts *a, const struct usage_counts *b);

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

/* The row a record counts in: its model, "unknown" when it has usage but
 * no model, "" (no row) when it has neither. */
const char *usage_row_key(const struct usage_record *r);

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
 * usage.jsonl format) and parses it back; the parse returns 0, or -1 on a malformed line. */
struct json_object *usage_record_to_json(const struct usage_record *r);
int usage_record_from_json(struct json_object *o, struct usage_record *r);

#endif
