/* SPDX-License-Identifier: GPL-2.0-or-later
 * usage_record.h - one metered response's record, normalised, and the
 * counts it adds to a table, a series or a summary.
 *
 * Threading: pure functions over the caller's structs.
 */
#ifndef AGP_USAGE_RECORD_H
#define AGP_USAGE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#define USAGE_MODEL_MAX 128
#define USAGE_LABEL_MAX 128
#define USAGE_ENDPOINT_MAX 64
#define USAGE_HOST_MAX 256
#define USAGE_RAW_MAX 2048
#define USAGE_ERROR_MAX 64
#define USAGE_AGENT_MAX 64
#define USAGE_TRANSPORT_MAX 16
#define USAGE_KEY_MAX 9 /* 8 hex digits */

/*
 * One metered response, normalised (see doc/usage-format.md): input,
 * output and thinking are disjoint; cached and cache_creation are subsets
 * of input. Strings are NUL-terminated and truncated to fit.
 */
struct usage_record {
	double time; /* completion, seconds since the epoch */
	char host[USAGE_HOST_MAX];
	char endpoint[USAGE_ENDPOINT_MAX]; /* "streamGenerateContent" */
	char model[USAGE_MODEL_MAX];	   /* "" when none was found */
	int status;			   /* upstream HTTP status, 0 if none */
	bool has_usage; /* the response carried token counts */
	bool complete;	/* the response reached its normal end */
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
	double duration_ms;	     /* request sent to last byte */
	double ttfb_ms;		     /* request sent to first body byte */
	char error[USAGE_ERROR_MAX]; /* provider error type, "" if none */
	char transport[USAGE_TRANSPORT_MAX]; /* "sse", "json", "websocket",
						 * "" when the body was neither */
	char raw[USAGE_RAW_MAX]; /* provider's usage object as JSON */
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
	double cost_usd;  /* of the priced records */
	int64_t unpriced; /* records with usage but no price */
};

/* The counts of one record: requests 1, its tokens, its cost when
 * priced, unpriced 1 when it has usage but no price. */
void usage_record_counts(const struct usage_record *r, struct usage_counts *c);

/* a += b, every field. */
void usage_counts_add(struct usage_counts *a, const struct usage_counts *b);

/* The row a record counts in: its model, "unknown" when it has usage but
 * no model, "" (no row) when it has neither. */
const char *usage_row_key(const struct usage_record *r);

#endif
