/* SPDX-License-Identifier: GPL-2.0-or-later
 * usage.c - the per-model token usage table behind /v1/usage.
 *
 * Threading: one mutex (t->lock) guards every field of struct usage_table.
 *   Readers copy the
 *   numbers they need under the lock and build JSON after releasing it.
 * Ownership: the table owns its rows and labels; records passed in are
 *   copied into the counters, never kept.
 *
 * The table holds running totals only, so its memory does not grow with
 * history: windows (?since=) and single records are the store's (store.h),
 * which answers them from its own summaries and rows.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "buf.h"
#include "clock.h"
#include "metrics.h"
#include "price.h"
#include "series.h"
#include "usage.h"

struct usage_row {
	char model[USAGE_MODEL_MAX];
	struct usage_counts c;
	double last_seen;
};

struct usage_endpoint {
	char name[USAGE_ENDPOINT_MAX];
	int64_t count;
};

/* Responses per endpoint and HTTP status, for /metrics. */
struct usage_status {
	int32_t endpoint;
	int status;
	int64_t count;
};

struct usage_label {
	char id[USAGE_MODEL_MAX];
	char label[USAGE_LABEL_MAX];
};

struct usage_table {
	pthread_mutex_t lock; /* guards all that follows */
	double since;	      /* creation, or the oldest record */
	struct usage_counts totals;
	struct usage_row *rows;
	size_t nrows, caprows;
	struct usage_endpoint *endpoints;
	size_t nendpoints, capendpoints;
	struct usage_label *labels;
	size_t nlabels;
	struct usage_status *statuses;
	size_t nstatuses, capstatuses;
	char price_version[PRICE_VERSION_MAX];
	/* /metrics' labelled counters; NULL in a window's table. Not
	 * guarded by t->lock: the series lock themselves. */
	struct series *series;
};

static const char *const builtin_labels[][2] = {
	{ "MODEL_PLACEHOLDER_M18", "Gemini 3 Flash" },
	{ "MODEL_PLACEHOLDER_M8", "Gemini 3 Pro (High)" },
	{ "MODEL_PLACEHOLDER_M7", "Gemini 3 Pro (Low)" },
	{ "MODEL_PLACEHOLDER_M26", "Claude Opus 4.6" },
	{ "MODEL_PLACEHOLDER_M12", "Claude Opus 4.5" },
};

struct usage_table *
usage_table_new(void)
{
	struct usage_table *t = calloc(1, sizeof(*t));
	size_t i;

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->since = clock_wall();
	if (!(t->series = series_new())) {
		usage_table_free(t);
		return NULL;
	}
	for (i = 0; i < sizeof(builtin_labels) / sizeof(builtin_labels[0]); i++)
		if (usage_label_add(t, builtin_labels[i][0],
				    builtin_labels[i][1]) < 0) {
			usage_table_free(t);
			return NULL;
		}
	return t;
}

void
usage_table_free(struct usage_table *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->rows);
	free(t->endpoints);
	free(t->labels);
	free(t->statuses);
	series_free(t->series);
	free(t);
}

int
usage_label_add(struct usage_table *t, const char *id, const char *label)
{
	struct usage_label *l;
	size_t i;
	int rc = 0;

	if (strlen(id) >= USAGE_MODEL_MAX || strlen(label) >= USAGE_LABEL_MAX)
		return -1;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nlabels; i++)
		if (strcmp(t->labels[i].id, id) == 0)
			break;
	if (i == t->nlabels) {
		if (!(l = realloc(t->labels, (i + 1) * sizeof(*l)))) {
			rc = -1;
			goto out;
		}
		t->labels = l;
		t->nlabels++;
		snprintf(t->labels[i].id, USAGE_MODEL_MAX, "%s", id);
	}
	snprintf(t->labels[i].label, USAGE_LABEL_MAX, "%s", label);
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* Index of the row for model, added if new; -1 when out of memory.
 * Called with t->lock held. */
static int32_t
row_find(struct usage_table *t, const char *model)
{
	struct usage_row *rows;
	size_t i;

	for (i = 0; i < t->nrows; i++)
		if (strcmp(t->rows[i].model, model) == 0)
			return (int32_t)i;
	if (!(rows = buf_grow_array(t->rows, &t->caprows, i + 1,
				    sizeof(*rows))))
		return -1;
	t->rows = rows;
	memset(&t->rows[i], 0, sizeof(t->rows[i]));
	snprintf(t->rows[i].model, USAGE_MODEL_MAX, "%s", model);
	t->nrows++;
	return (int32_t)i;
}

static int32_t
endpoint_find(struct usage_table *t, const char *name)
{
	struct usage_endpoint *eps;
	size_t i;

	for (i = 0; i < t->nendpoints; i++)
		if (strcmp(t->endpoints[i].name, name) == 0)
			return (int32_t)i;
	if (!(eps = buf_grow_array(t->endpoints, &t->capendpoints, i + 1,
				   sizeof(*eps))))
		return -1;
	t->endpoints = eps;
	memset(&t->endpoints[i], 0, sizeof(t->endpoints[i]));
	snprintf(t->endpoints[i].name, USAGE_ENDPOINT_MAX, "%s", name);
	t->nendpoints++;
	return (int32_t)i;
}

static void
status_count(struct usage_table *t, int32_t ep, int status, int64_t n)
{
	struct usage_status *st;
	size_t i;

	for (i = 0; i < t->nstatuses; i++)
		if (t->statuses[i].endpoint == ep &&
		    t->statuses[i].status == status)
			break;
	if (i == t->nstatuses) {
		if (!(st = buf_grow_array(t->statuses, &t->capstatuses, i + 1,
					  sizeof(*st))))
			return;
		t->statuses = st;
		t->statuses[i] = (struct usage_status){ ep, status, 0 };
		t->nstatuses++;
	}
	t->statuses[i].count += n;
}

/* Called with t->lock held. */
static void
table_add(struct usage_table *t, const char *row, const char *endpoint,
	  int status, const struct usage_counts *c, double first, double last)
{
	int32_t rw, ep = -1;

	if (first < t->since) /* from the store */
		t->since = first;
	usage_counts_add(&t->totals, c);
	if (row[0] && (rw = row_find(t, row)) >= 0) {
		usage_counts_add(&t->rows[rw].c, c);
		if (last > t->rows[rw].last_seen)
			t->rows[rw].last_seen = last;
	}
	if (endpoint[0] && (ep = endpoint_find(t, endpoint)) >= 0)
		t->endpoints[ep].count += c->requests;
	if (status >= 0)
		status_count(t, ep, status, c->requests);
}

void
usage_table_add(struct usage_table *t, const char *row, const char *endpoint,
		int status, const struct usage_counts *c, double first,
		double last)
{
	pthread_mutex_lock(&t->lock);
	table_add(t, row, endpoint, status, c, first, last);
	pthread_mutex_unlock(&t->lock);
}

void
usage_record(struct usage_table *t, const struct usage_record *r)
{
	struct usage_counts c;

	usage_record_counts(r, &c);
	pthread_mutex_lock(&t->lock);
	table_add(t, usage_row_key(r), r->endpoint, r->status, &c, r->time,
		  r->time);
	pthread_mutex_unlock(&t->lock);
	if (t->series)
		series_record(t->series, r);
}

struct usage_table *
usage_table_window(struct usage_table *t, double since)
{
	struct usage_table *w = calloc(1, sizeof(*w));
	int rc = -1;

	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	w->since = since;
	pthread_mutex_lock(&t->lock);
	memcpy(w->price_version, t->price_version, sizeof(w->price_version));
	if (t->nlabels == 0 ||
	    (w->labels = malloc(t->nlabels * sizeof(*w->labels)))) {
		if (t->nlabels)
			memcpy(w->labels, t->labels,
			       t->nlabels * sizeof(*w->labels));
		w->nlabels = t->nlabels;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	if (rc < 0) {
		usage_table_free(w);
		return NULL;
	}
	return w;
}

/* A copy of the table's numbers for one window, taken under the lock. */
struct usage_snapshot {
	double since;
	struct usage_counts totals;
	struct usage_row *rows;
	char (*labels)[USAGE_LABEL_MAX]; /* one per row */
	size_t nrows;
	struct usage_endpoint *endpoints;
	size_t nendpoints;
	char price_version[PRICE_VERSION_MAX];
};

void
usage_counts_json(struct json_object *o, const struct usage_counts *c, bool row)
{
	json_object_object_add(o, "requests",
			       json_object_new_int64(c->requests));
	json_object_object_add(o, "input_tokens",
			       json_object_new_int64(c->input_tokens));
	json_object_object_add(o, "output_tokens",
			       json_object_new_int64(c->output_tokens));
	json_object_object_add(o, "thinking_tokens",
			       json_object_new_int64(c->thinking_tokens));
	json_object_object_add(o, "cached_tokens",
			       json_object_new_int64(c->cached_tokens));
	json_object_object_add(o, "cache_creation_tokens",
			       json_object_new_int64(c->cache_creation_tokens));
	json_object_object_add(o, "total_tokens",
			       json_object_new_int64(c->total_tokens));
	json_object_object_add(o, "cost_usd",
			       row && c->requests && c->unpriced == c->requests
				       ? NULL
				       : price_json_usd(c->cost_usd));
	json_object_object_add(o, "unpriced_requests",
			       json_object_new_int64(c->unpriced));
}

static const char *
label_for(const struct usage_table *t, const char *model)
{
	for (size_t i = 0; i < t->nlabels; i++)
		if (strcmp(t->labels[i].id, model) == 0)
			return t->labels[i].label;
	return model;
}

/* Fills s from the running totals. Called with t->lock held; returns 0
 * or -1 when out of memory. */
static int
snapshot_take(struct usage_table *t, struct usage_snapshot *s)
{
	size_t i;

	s->nrows = t->nrows;
	s->nendpoints = t->nendpoints;
	s->rows = calloc(t->nrows + 1, sizeof(*s->rows));
	s->labels = calloc(t->nrows + 1, sizeof(*s->labels));
	s->endpoints = calloc(t->nendpoints + 1, sizeof(*s->endpoints));
	if (!s->rows || !s->labels || !s->endpoints)
		return -1;
	for (i = 0; i < t->nrows; i++)
		snprintf(s->labels[i], USAGE_LABEL_MAX, "%s",
			 label_for(t, t->rows[i].model));
	s->since = t->since;
	s->totals = t->totals;
	memcpy(s->price_version, t->price_version, sizeof(s->price_version));
	if (t->nrows)
		memcpy(s->rows, t->rows, t->nrows * sizeof(*s->rows));
	if (t->nendpoints)
		memcpy(s->endpoints, t->endpoints,
		       t->nendpoints * sizeof(*s->endpoints));
	return 0;
}

static struct json_object *
snapshot_json(const struct usage_snapshot *s)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *totals = json_object_new_object();
	struct json_object *models = json_object_new_object();
	struct json_object *eps = json_object_new_object();
	struct json_object *unpriced = json_object_new_array();
	struct json_object *prices = json_object_new_object();
	char ts[32];
	size_t i;

	clock_rfc3339(s->since, ts, sizeof(ts));
	json_object_object_add(doc, "since", json_object_new_string(ts));
	usage_counts_json(totals, &s->totals, false);
	json_object_object_add(doc, "totals", totals);
	for (i = 0; i < s->nrows; i++) {
		struct json_object *m;

		if (s->rows[i].c.requests == 0)
			continue;
		m = json_object_new_object();
		json_object_object_add(m, "label",
				       json_object_new_string(s->labels[i]));
		usage_counts_json(m, &s->rows[i].c, true);
		if (s->rows[i].c.unpriced)
			json_object_array_add(
				unpriced,
				json_object_new_string(s->rows[i].model));
		clock_rfc3339(s->rows[i].last_seen, ts, sizeof(ts));
		json_object_object_add(m, "last_seen",
				       json_object_new_string(ts));
		json_object_object_add(models, s->rows[i].model, m);
	}
	json_object_object_add(doc, "models", models);
	for (i = 0; i < s->nendpoints; i++)
		if (s->endpoints[i].count)
			json_object_object_add(
				eps, s->endpoints[i].name,
				json_object_new_int64(s->endpoints[i].count));
	json_object_object_add(doc, "endpoints", eps);
	json_object_object_add(doc, "unpriced", unpriced);
	json_object_object_add(
		prices, "version",
		s->price_version[0] ? json_object_new_string(s->price_version)
				    : NULL);
	json_object_object_add(doc, "prices", prices);
	return doc;
}

void
usage_label_copy(struct usage_table *t, const char *id, char *out, size_t len)
{
	pthread_mutex_lock(&t->lock);
	snprintf(out, len, "%s", label_for(t, id));
	pthread_mutex_unlock(&t->lock);
}

void
usage_set_price_version(struct usage_table *t, const char *version)
{
	pthread_mutex_lock(&t->lock);
	snprintf(t->price_version, sizeof(t->price_version), "%s", version);
	pthread_mutex_unlock(&t->lock);
}

struct json_object *
usage_table_json(struct usage_table *t)
{
	struct usage_snapshot s = { 0 };
	struct json_object *doc = NULL;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = snapshot_take(t, &s);
	pthread_mutex_unlock(&t->lock);
	if (rc == 0)
		doc = snapshot_json(&s);
	free(s.rows);
	free(s.labels);
	free(s.endpoints);
	return doc;
}

/* Folds the statuses of the endpoints past USAGE_METRICS_ENDPOINTS into
 * one "other" endpoint (index -2), in place; returns the new count. A
 * path is the client's to choose, so their number is not ours. */
static size_t
statuses_fold(struct usage_status *st, size_t n)
{
	size_t i, j, out = 0;

	for (i = 0; i < n; i++) {
		if (st[i].endpoint >= USAGE_METRICS_ENDPOINTS)
			st[i].endpoint = -2;
		for (j = 0; j < out; j++)
			if (st[j].endpoint == st[i].endpoint &&
			    st[j].status == st[i].status)
				break;
		if (j < out)
			st[j].count += st[i].count;
		else
			st[out++] = st[i];
	}
	return out;
}

void
usage_table_metrics(struct usage_table *t, struct metrics *m)
{
	struct usage_snapshot s = { 0 };
	struct usage_status *st = NULL;
	size_t nst = 0, i;
	char b[2 * USAGE_ENDPOINT_MAX];
	const char *ep;

	pthread_mutex_lock(&t->lock);
	if (snapshot_take(t, &s) == 0 &&
	    (st = malloc((t->nstatuses + 1) * sizeof(*st)))) {
		if (t->nstatuses)
			memcpy(st, t->statuses, t->nstatuses * sizeof(*st));
		nst = t->nstatuses;
	}
	pthread_mutex_unlock(&t->lock);

	if (t->series)
		series_metrics(t->series, m);
	nst = statuses_fold(st, nst);
	metrics_head(m, "antigravity_proxy_requests_total", "counter",
		     "Responses per endpoint and HTTP status, all time "
		     "(endpoints past the first %d are \"other\").",
		     USAGE_METRICS_ENDPOINTS);
	for (i = 0; i < nst; i++) {
		ep = st[i].endpoint >= 0    ? s.endpoints[st[i].endpoint].name
		     : st[i].endpoint == -2 ? SERIES_OTHER
					    : "";
		metrics_label(ep, b, sizeof(b));
		metrics_printf(m,
			       "antigravity_proxy_requests_total{endpoint="
			       "\"%s\",status=\"%d\"} %" PRId64 "\n",
			       b, st[i].status, st[i].count);
	}
	free(st);
	free(s.rows);
	free(s.labels);
	free(s.endpoints);
}

struct json_object *
usage_record_to_json(const struct usage_record *r)
{
	struct json_object *o = json_object_new_object();
	struct json_object *raw;
	char ts[32];

	clock_rfc3339(r->time, ts, sizeof(ts));
	json_object_object_add(o, "time", json_object_new_string(ts));
	json_object_object_add(o, "ts", json_object_new_double(r->time));
	json_object_object_add(o, "host", json_object_new_string(r->host));
	json_object_object_add(o, "endpoint",
			       json_object_new_string(r->endpoint));
	json_object_object_add(o, "model", json_object_new_string(r->model));
	json_object_object_add(o, "status", json_object_new_int(r->status));
	json_object_object_add(o, "has_usage",
			       json_object_new_boolean(r->has_usage));
	json_object_object_add(o, "complete",
			       json_object_new_boolean(r->complete));
	json_object_object_add(o, "input_tokens",
			       json_object_new_int64(r->input_tokens));
	json_object_object_add(o, "output_tokens",
			       json_object_new_int64(r->output_tokens));
	json_object_object_add(o, "thinking_tokens",
			       json_object_new_int64(r->thinking_tokens));
	json_object_object_add(o, "cached_tokens",
			       json_object_new_int64(r->cached_tokens));
	json_object_object_add(o, "cache_creation_tokens",
			       json_object_new_int64(r->cache_creation_tokens));
	json_object_object_add(o, "total_tokens",
			       json_object_new_int64(r->total_tokens));
	json_object_object_add(o, "cache_write_5m_tokens",
			       json_object_new_int64(r->cache_write_5m_tokens));
	json_object_object_add(o, "cache_write_1h_tokens",
			       json_object_new_int64(r->cache_write_1h_tokens));
	json_object_object_add(o, "cost_usd",
			       r->priced ? price_json_usd(r->cost_usd) : NULL);
	json_object_object_add(o, "duration_ms",
			       json_object_new_double(r->duration_ms));
	json_object_object_add(o, "ttfb_ms",
			       json_object_new_double(r->ttfb_ms));
	if (r->transport[0])
		json_object_object_add(o, "transport",
				       json_object_new_string(r->transport));
	if (r->error[0])
		json_object_object_add(o, "error",
				       json_object_new_string(r->error));
	if (r->raw[0] && (raw = json_tokener_parse(r->raw)))
		json_object_object_add(o, "raw", raw);
	json_object_object_add(o, "agent", json_object_new_string(r->agent));
	json_object_object_add(o, "pid", json_object_new_int64(r->pid));
	if (r->uid >= 0)
		json_object_object_add(o, "uid", json_object_new_int64(r->uid));
	if (r->key[0]) {
		json_object_object_add(o, "key",
				       json_object_new_string(r->key));
		json_object_object_add(
			o, "key_kind",
			json_object_new_string(r->key_oauth ? "oauth"
							    : "api_key"));
	}
	return o;
}

static void
copy_string(struct json_object *o, const char *key, char *dst, size_t len)
{
	struct json_object *v;

	dst[0] = '\0';
	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(dst, len, "%s", json_object_get_string(v));
}

static int64_t
get_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

int
usage_record_from_json(struct json_object *o, struct usage_record *r)
{
	struct json_object *v;

	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ts", &v) ||
	    !isfinite(r->time = json_object_get_double(v)))
		return -1;
	copy_string(o, "host", r->host, sizeof(r->host));
	copy_string(o, "endpoint", r->endpoint, sizeof(r->endpoint));
	copy_string(o, "model", r->model, sizeof(r->model));
	copy_string(o, "error", r->error, sizeof(r->error));
	copy_string(o, "agent", r->agent, sizeof(r->agent));
	r->pid = (long)get_int(o, "pid");
	r->uid = json_object_object_get_ex(o, "uid", &v)
			 ? (long)json_object_get_int64(v)
			 : -1;
	copy_string(o, "transport", r->transport, sizeof(r->transport));
	r->status = (int)get_int(o, "status");
	r->has_usage = json_object_object_get_ex(o, "has_usage", &v) &&
		       json_object_get_boolean(v);
	r->complete = json_object_object_get_ex(o, "complete", &v) &&
		      json_object_get_boolean(v);
	r->input_tokens = get_int(o, "input_tokens");
	r->output_tokens = get_int(o, "output_tokens");
	r->thinking_tokens = get_int(o, "thinking_tokens");
	r->cached_tokens = get_int(o, "cached_tokens");
	r->cache_creation_tokens = get_int(o, "cache_creation_tokens");
	r->total_tokens = get_int(o, "total_tokens");
	r->cache_write_1h_tokens = get_int(o, "cache_write_1h_tokens");
	r->cache_write_5m_tokens =
		json_object_object_get_ex(o, "cache_write_5m_tokens", &v)
			? json_object_get_int64(v)
			: r->cache_creation_tokens - r->cache_write_1h_tokens;
	/* A record written before costs existed stays unpriced. */
	r->priced = json_object_object_get_ex(o, "cost_usd", &v) && v &&
		    isfinite(r->cost_usd = json_object_get_double(v));
	if (!r->priced)
		r->cost_usd = 0;
	copy_string(o, "key", r->key, sizeof(r->key));
	r->key_oauth = json_object_object_get_ex(o, "key_kind", &v) &&
		       strcmp(json_object_get_string(v), "oauth") == 0;
	if (json_object_object_get_ex(o, "duration_ms", &v))
		r->duration_ms = json_object_get_double(v);
	if (json_object_object_get_ex(o, "ttfb_ms", &v))
		r->ttfb_ms = json_object_get_double(v);
	if (json_object_object_get_ex(o, "raw", &v))
		snprintf(r->raw, sizeof(r->raw), "%s",
			 json_object_to_json_string_ext(
				 v, JSON_C_TO_STRING_PLAIN));
	return 0;
}
