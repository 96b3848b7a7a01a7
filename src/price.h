/* SPDX-License-Identifier: GPL-2.0-or-later
 * price.h - the price table: per-model USD rates, model id matching, and
 * the cost of one usage record (formula: doc/usage-format.md).
 *
 * Threading: main builds the table before any thread starts (the shipped
 *   file, then each --prices file); it is read-only afterwards, so every
 *   thread reads it without a lock.
 * Ownership: price_table_new() returns a table freed by price_table_free().
 */
#ifndef AGP_PRICE_H
#define AGP_PRICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "usage_record.h"

/* Our file format's name, in its "format" member. */
#define PRICE_FORMAT "antigravity-proxy-prices/1"
#define PRICE_VERSION_MAX 128
/* A price file larger than this is refused (LiteLLM's is about 1 MiB). */
#define PRICE_FILE_MAX (16 * 1024 * 1024)

/* USD per million tokens; NAN where the file gives no rate. */
struct price_rates {
	double input, output, reasoning, cache_read, cache_write_5m,
		cache_write_1h;
};

struct price_entry {
	char id[USAGE_MODEL_MAX];
	char label[USAGE_LABEL_MAX]; /* "" when none */
	struct price_rates base;
	/* The long-context tier: once a request's prompt (input_tokens,
	 * cached ones included) passes threshold, every token of it is
	 * billed at lc. threshold 0: no tier. */
	int64_t lc_threshold;
	struct price_rates lc;
};

struct price_table;

struct price_table *price_table_new(void);
void price_table_free(struct price_table *t);

/* Adds the entries of one price file (our format) from buf[0..len);
 * an id already in the table is replaced whole. `name` is for messages.
 * On error nothing is added and err holds one line; returns 0 or -1. */
int price_table_parse(struct price_table *t, const char *buf, size_t len,
		      const char *name, char *err, size_t errlen);
/* The same from a file. */
int price_table_load(struct price_table *t, const char *path, char *err,
		     size_t errlen);

/* The version: the first file's "version", each later file's appended
 * after a '+'; "" while nothing is loaded. */
const char *price_table_version(const struct price_table *t);
size_t price_table_count(const struct price_table *t);
const struct price_entry *price_table_at(const struct price_table *t, size_t i);

/* The entry for a model id, matched exactly, then by the normalisation
 * of doc/usage-format.md; `label` (the model's display label, NULL or
 * "" for none) matches an entry's label when the id does not match.
 * NULL: unpriced. */
const struct price_entry *price_lookup(const struct price_table *t,
				       const char *model, const char *label);

/* The cost of r at e's rates, in USD. -1 (unpriced) when r uses a rate
 * that e lacks. */
int price_entry_cost(const struct price_entry *e, const struct usage_record *r,
		     double *usd);

/* Fills r->cost_usd and r->priced: a record without usage costs 0; one
 * whose model is not in t, or lacks a rate it needs, is unpriced. */
void price_record(const struct price_table *t, const char *label,
		  struct usage_record *r);

/* Rounds a dollar amount to the nano-dollar, the precision of the API,
 * and returns it as a JSON number printed without float noise. */
struct json_object *price_json_usd(double usd);

#endif
