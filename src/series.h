/* SPDX-License-Identifier: GPL-2.0-or-later
 * series.h - the labelled counters of /metrics for a fleet: tokens, cost
 * and responses per provider and model, and per agent, under the
 * OpenTelemetry GenAI names, with a bounded number of series.
 *
 * Threading: every call is thread-safe; one mutex guards the rows and is
 *   held only to copy numbers in or out, never while formatting.
 * Ownership: series_record() copies what it counts; nothing is kept.
 *
 * The counters start at zero with the process, as Prometheus counters do
 * (rate() and increase() take the reset); the all-time totals are
 * /v1/usage's. The names and labels are listed in antigravity-proxy(8),
 * METRICS.
 */
#ifndef AGP_SERIES_H
#define AGP_SERIES_H

#include <stddef.h>

#include "usage_record.h"

struct metrics;

/* Distinct (provider, model) pairs, and agents, that get series of their
 * own; each later one is counted under the value SERIES_OTHER. Providers
 * are a fixed list, so the series are bounded whatever the traffic. */
#define SERIES_MODELS_MAX 32
#define SERIES_AGENTS_MAX 16
#define SERIES_OTHER "other"

struct series;

/* NULL when out of memory; free with series_free() (NULL is a no-op). */
struct series *series_new(void);
void series_free(struct series *s);

/* Counts one record, if it has a row in /v1/usage (usage_row_key()). */
void series_record(struct series *s, const struct usage_record *r);

/* Writes the series in Prometheus text format to m (metrics.h). */
void series_metrics(struct series *s, struct metrics *m);

/* The gen_ai.provider.name of an API host ("api.anthropic.com" ->
 * "anthropic", "us-central1-aiplatform.googleapis.com" ->
 * "gcp.vertex_ai"), "_OTHER" for a host not on the list. */
const char *series_provider(const char *host);

#endif
