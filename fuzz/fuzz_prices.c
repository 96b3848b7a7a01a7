/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_prices.c - libFuzzer target for the price file parser
 * (price_table_parse), model matching (price_lookup) and the cost of a
 * record (price_entry_cost). Input: a price file. Checks that a refused
 * file adds nothing and says why, that every entry loaded has finite
 * rates >= 0 (or NAN: absent) and a positive threshold with its tier,
 * that each entry is found by its own id, and that costs are finite and
 * >= 0 for counts >= 0.
 *
 * Build and run (from a configured build dir, after `make`):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     -I../src $(pkg-config --cflags json-c) ../fuzz/fuzz_prices.c \
 *     ../src/price.c ../src/usage.c $(pkg-config --libs json-c) -lm \
 *     -pthread -o fuzz-prices
 *   ./fuzz-prices -max_total_time=180 ../fuzz/corpus/prices
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "price.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_rates(const struct price_rates *p)
{
	const double v[] = {
		p->input,      p->output,	  p->reasoning,
		p->cache_read, p->cache_write_5m, p->cache_write_1h
	};

	if (isnan(p->input) || isnan(p->output))
		abort();
	for (size_t i = 0; i < 6; i++)
		if (!isnan(v[i]) && (!isfinite(v[i]) || v[i] < 0))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct price_table *t = price_table_new();
	struct usage_record r;
	char err[256];
	double usd;

	if (!t)
		return 0;
	err[0] = '\0';
	if (price_table_parse(t, (const char *)data, size, "fuzz", err,
			      sizeof(err)) < 0) {
		if (!err[0] || price_table_count(t) != 0 ||
		    price_table_version(t)[0])
			abort();
		price_table_free(t);
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.has_usage = true;
	r.input_tokens = 300000;
	r.cached_tokens = 1000;
	r.cache_creation_tokens = 2000;
	r.cache_write_1h_tokens = 500;
	r.output_tokens = 70;
	r.thinking_tokens = 9;
	for (size_t i = 0; i < price_table_count(t); i++) {
		const struct price_entry *e = price_table_at(t, i);

		check_rates(&e->base);
		if (e->lc_threshold < 0 ||
		    (e->lc_threshold && (check_rates(&e->lc), 0)))
			abort();
		if (price_lookup(t, e->id, NULL) != e)
			abort();
		if (price_entry_cost(e, &r, &usd) == 0 &&
		    (!isfinite(usd) || usd < 0))
			abort();
		/* its id behind a prefix and a snapshot suffix */
		snprintf(r.model, sizeof(r.model), "models/%.100s-20250101",
			 e->id);
		price_record(t, e->label, &r);
		if (r.priced && (!isfinite(r.cost_usd) || r.cost_usd < 0))
			abort();
	}
	price_table_free(t);
	return 0;
}
