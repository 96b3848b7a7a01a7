/* SPDX-License-Identifier: GPL-2.0-or-later
 * usage_record.c - the counts of one metered response's record: what
 * the table, the series of /metrics and the store all add up.
 */
#include "config.h"

#include "usage_record.h"

void
usage_counts_add(struct usage_counts *a, const struct usage_counts *b)
{
	a->requests += b->requests;
	a->input_tokens += b->input_tokens;
	a->output_tokens += b->output_tokens;
	a->thinking_tokens += b->thinking_tokens;
	a->cached_tokens += b->cached_tokens;
	a->cache_creation_tokens += b->cache_creation_tokens;
	a->total_tokens += b->total_tokens;
	a->cost_usd += b->cost_usd;
	a->unpriced += b->unpriced;
}

const char *
usage_row_key(const struct usage_record *r)
{
	if (r->model[0])
		return r->model;
	return r->has_usage ? "unknown" : "";
}

void
usage_record_counts(const struct usage_record *r, struct usage_counts *c)
{
	*c = (struct usage_counts){
		.requests = 1,
		.input_tokens = r->input_tokens,
		.output_tokens = r->output_tokens,
		.thinking_tokens = r->thinking_tokens,
		.cached_tokens = r->cached_tokens,
		.cache_creation_tokens = r->cache_creation_tokens,
		.total_tokens = r->total_tokens,
		.cost_usd = r->priced ? r->cost_usd : 0,
		.unpriced = r->has_usage && !r->priced,
	};
}
