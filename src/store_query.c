/* SPDX-License-Identifier: GPL-2.0-or-later
 * store_query.c - what the API and `export` read from usage.db: windows
 * (?since=), pages of records (/v1/requests), exports.
 *
 * Threading: runs on the connection's own thread (the API thread's read
 *   connection, or `export`'s); WAL readers see the last commit and never
 *   block the writer. The usage table's lock is taken only to copy labels.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

#define STORE_COLS                                                          \
	"id, ts, host, endpoint, model, status, has_usage,"                 \
	" complete, input_tokens, output_tokens, thinking_tokens,"          \
	" cached_tokens, cache_creation_tokens, total_tokens, duration_ms," \
	" ttfb_ms, error, transport, raw, agent, pid, uid, cache_write_5m," \
	" cache_write_1h, cost_usd, key, key_oauth"

#define STORE_ROW_KEY                                      \
	"(CASE WHEN model <> '' THEN model WHEN has_usage" \
	" THEN 'unknown' ELSE '' END)"

static void
col_text(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	snprintf(dst, len, "%s", v ? (const char *)v : "");
}

/* A record from a row of STORE_COLS; returns its id. */
static int64_t
row_record(sqlite3_stmt *st, struct usage_record *r)
{
	int i = 1;

	memset(r, 0, sizeof(*r));
	r->time = sqlite3_column_double(st, i++);
	col_text(st, i++, r->host, sizeof(r->host));
	col_text(st, i++, r->endpoint, sizeof(r->endpoint));
	col_text(st, i++, r->model, sizeof(r->model));
	r->status = sqlite3_column_int(st, i++);
	r->has_usage = sqlite3_column_int(st, i++) != 0;
	r->complete = sqlite3_column_int(st, i++) != 0;
	r->input_tokens = sqlite3_column_int64(st, i++);
	r->output_tokens = sqlite3_column_int64(st, i++);
	r->thinking_tokens = sqlite3_column_int64(st, i++);
	r->cached_tokens = sqlite3_column_int64(st, i++);
	r->cache_creation_tokens = sqlite3_column_int64(st, i++);
	r->total_tokens = sqlite3_column_int64(st, i++);
	r->duration_ms = sqlite3_column_double(st, i++);
	r->ttfb_ms = sqlite3_column_double(st, i++);
	col_text(st, i++, r->error, sizeof(r->error));
	col_text(st, i++, r->transport, sizeof(r->transport));
	col_text(st, i++, r->raw, sizeof(r->raw));
	col_text(st, i++, r->agent, sizeof(r->agent));
	r->pid = (long)sqlite3_column_int64(st, i++);
	r->uid = (long)sqlite3_column_int64(st, i++);
	r->cache_write_5m_tokens = sqlite3_column_int64(st, i++);
	r->cache_write_1h_tokens = sqlite3_column_int64(st, i++);
	r->priced = sqlite3_column_type(st, i) != SQLITE_NULL;
	r->cost_usd = sqlite3_column_double(st, i++);
	col_text(st, i++, r->key, sizeof(r->key));
	r->key_oauth = sqlite3_column_int(st, i) != 0;
	return sqlite3_column_int64(st, 0);
}

/* Adds the rows of an aggregate query (row, endpoint, the counts, last)
 * to the window w. 0 or -1. */
static int
window_add(sqlite3_stmt *st, struct usage_table *w, double since)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct usage_counts c;

		store_counts_read(st, 2, &c);
		usage_table_add(w, (const char *)sqlite3_column_text(st, 0),
				(const char *)sqlite3_column_text(st, 1), -1,
				&c, since, sqlite3_column_double(st, 11));
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The time through which records were pruned, 0 if none was. */
static double
pruned_through(struct store *s)
{
	sqlite3_stmt *st = NULL;
	double t = 0;

	if (sqlite3_prepare_v2(store_db(s),
			       "SELECT value FROM meta WHERE "
			       "key = 'pruned_through'",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return t;
}

struct json_object *
store_window_json(struct store *s, struct usage_table *t, double since)
{
	static const char *const sum =
		"sum(input_tokens), sum(output_tokens), sum(thinking_tokens),"
		" sum(cached_tokens), sum(cache_creation_tokens),"
		" sum(total_tokens), total(cost_usd)";
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st = NULL;
	struct usage_table *w = NULL;
	struct json_object *doc = NULL;
	double hour = ceil(since / 3600) * 3600;
	char sql[1024];
	int rc = -1;

	/* Rows of the first, partial hour may be pruned: then the window
	 * starts at that hour, answered from the hourly summary. */
	if (since <= pruned_through(s))
		since = hour = floor(since / 3600) * 3600;
	if (!(w = usage_table_window(t, since)))
		goto out;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT row, endpoint, sum(requests), %s,"
		 " sum(unpriced), max(last) FROM hourly WHERE hour >= ?1"
		 " GROUP BY row, endpoint",
		 sum);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)(hour / 3600));
	if (window_add(st, w, since) < 0)
		goto out;
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql),
		 "SELECT " STORE_ROW_KEY " AS r, endpoint,"
		 " count(*), %s, sum(has_usage AND cost_usd IS NULL),"
		 " max(ts) FROM records WHERE ts >= ?1 AND ts < ?2"
		 " GROUP BY r, endpoint",
		 sum);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_double(st, 1, since);
	sqlite3_bind_double(st, 2, hour);
	if (window_add(st, w, since) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		log_warnx("store: window query: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc == 0)
		doc = usage_table_json(w);
	usage_table_free(w);
	return doc;
}

/* The WHERE clause of f, binding in order (see requests_bind). */
static void
requests_sql(const struct store_filter *f, char *sql, size_t len)
{
	size_t off;

	off = (size_t)snprintf(sql, len,
			       "SELECT " STORE_COLS " FROM records"
			       " WHERE 1");
#define W(cond, text)                                                       \
	do {                                                                \
		if ((cond) && off < len)                                    \
			off += (size_t)snprintf(sql + off, len - off, "%s", \
						text);                      \
	} while (0)
	W(f->has_model, " AND model = ?");
	W(f->has_host, " AND host = ?");
	W(f->has_endpoint, " AND endpoint = ?");
	W(f->has_agent, " AND agent = ?");
	W(f->has_key, " AND key = ?");
	W(f->since > 0, " AND ts >= ?");
	W(f->until > 0, " AND ts < ?");
	W(f->complete >= 0, " AND complete = ?");
	W(f->before > 0, " AND id < ?");
	W(1, " ORDER BY id DESC LIMIT ?");
#undef W
}

static void
requests_bind(sqlite3_stmt *st, const struct store_filter *f)
{
	int i = 1;

	if (f->has_model)
		sqlite3_bind_text(st, i++, f->model, -1, SQLITE_STATIC);
	if (f->has_host)
		sqlite3_bind_text(st, i++, f->host, -1, SQLITE_STATIC);
	if (f->has_endpoint)
		sqlite3_bind_text(st, i++, f->endpoint, -1, SQLITE_STATIC);
	if (f->has_agent)
		sqlite3_bind_text(st, i++, f->agent, -1, SQLITE_STATIC);
	if (f->has_key)
		sqlite3_bind_text(st, i++, f->key, -1, SQLITE_STATIC);
	if (f->since > 0)
		sqlite3_bind_double(st, i++, f->since);
	if (f->until > 0)
		sqlite3_bind_double(st, i++, f->until);
	if (f->complete >= 0)
		sqlite3_bind_int(st, i++, f->complete);
	if (f->before > 0)
		sqlite3_bind_int64(st, i++, f->before);
	sqlite3_bind_int(st, i, f->limit);
}

struct json_object *
store_requests_json(struct store *s, const struct store_filter *f,
		    int64_t *next)
{
	struct json_object *arr = NULL;
	sqlite3_stmt *st = NULL;
	struct usage_record *r = malloc(sizeof(*r));
	int64_t id = 0;
	char sql[1024];
	int rc, n = 0;

	*next = 0;
	requests_sql(f, sql, sizeof(sql));
	if (!r ||
	    sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	requests_bind(st, f);
	arr = json_object_new_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct json_object *o;

		id = row_record(st, r);
		o = usage_record_to_json(r);
		json_object_object_add(o, "id", json_object_new_int64(id));
		json_object_array_add(arr, o);
		n++;
	}
	if (rc != SQLITE_DONE) {
		json_object_put(arr);
		arr = NULL;
		goto out;
	}
	if (n == f->limit)
		*next = id;
out:
	if (!arr)
		log_warnx("store: requests query: %s",
			  sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	free(r);
	return arr;
}

/* One CSV field, quoted when it must be (RFC 4180). */
static void
csv_field(FILE *out, const char *v, bool last)
{
	if (strpbrk(v, ",\"\r\n")) {
		fputc('"', out);
		for (; *v; v++) {
			if (*v == '"')
				fputc('"', out);
			fputc(*v, out);
		}
		fputc('"', out);
	} else {
		fputs(v, out);
	}
	fputc(last ? '\n' : ',', out);
}

static void
csv_record(FILE *out, int64_t id, const struct usage_record *r)
{
	char num[18][32];
	const char *v[27];
	int i = 0, k = 0;

	snprintf(num[0], 32, "%" PRId64, id);
	snprintf(num[1], 32, "%.6f", r->time);
	snprintf(num[2], 32, "%d", r->status);
	snprintf(num[3], 32, "%" PRId64, r->input_tokens);
	snprintf(num[4], 32, "%" PRId64, r->output_tokens);
	snprintf(num[5], 32, "%" PRId64, r->thinking_tokens);
	snprintf(num[6], 32, "%" PRId64, r->cached_tokens);
	snprintf(num[7], 32, "%" PRId64, r->cache_creation_tokens);
	snprintf(num[8], 32, "%" PRId64, r->total_tokens);
	snprintf(num[9], 32, "%.3f", r->duration_ms);
	snprintf(num[10], 32, "%.3f", r->ttfb_ms);
	snprintf(num[11], 32, "%ld", r->pid);
	snprintf(num[12], 32, "%ld", r->uid);
	snprintf(num[13], 32, "%" PRId64, r->cache_write_5m_tokens);
	snprintf(num[14], 32, "%" PRId64, r->cache_write_1h_tokens);
	snprintf(num[15], 32, "%.9f", r->cost_usd);
	v[i++] = num[k++];
	v[i++] = num[k++];
	v[i++] = r->host;
	v[i++] = r->endpoint;
	v[i++] = r->model;
	v[i++] = num[k++];
	v[i++] = r->has_usage ? "1" : "0";
	v[i++] = r->complete ? "1" : "0";
	for (int j = 0; j < 6; j++)
		v[i++] = num[k++];
	v[i++] = num[k++];
	v[i++] = num[k++];
	v[i++] = r->error;
	v[i++] = r->transport;
	v[i++] = r->raw;
	v[i++] = r->agent;
	v[i++] = num[k++];
	v[i++] = r->uid >= 0 ? num[k] : "";
	v[i++] = num[13];
	v[i++] = num[14];
	v[i++] = r->priced ? num[15] : "";
	v[i++] = r->key;
	v[i++] = r->key[0] ? (r->key_oauth ? "oauth" : "api_key") : "";
	for (int j = 0; j < i; j++)
		csv_field(out, v[j], j == i - 1);
}

int
store_export(struct store *s, double since, double until, bool csv, FILE *out,
	     char *err, size_t errlen)
{
	struct usage_record *r = malloc(sizeof(*r));
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	if (!r || sqlite3_prepare_v2(store_db(s),
				     "SELECT " STORE_COLS
				     " FROM records WHERE ts >= ?1 AND"
				     " (?2 <= 0 OR ts < ?2) ORDER BY id",
				     -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_double(st, 1, since);
	sqlite3_bind_double(st, 2, until);
	if (csv)
		fputs("id,ts,host,endpoint,model,status,has_usage,complete,"
		      "input_tokens,output_tokens,thinking_tokens,"
		      "cached_tokens,cache_creation_tokens,total_tokens,"
		      "duration_ms,ttfb_ms,error,transport,raw,agent,pid,uid,"
		      "cache_write_5m_tokens,cache_write_1h_tokens,cost_usd,"
		      "key,key_kind\n",
		      out);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = row_record(st, r);
		struct json_object *o;

		if (csv) {
			csv_record(out, id, r);
			continue;
		}
		o = usage_record_to_json(r);
		json_object_object_add(o, "id", json_object_new_int64(id));
		fprintf(out, "%s\n",
			json_object_to_json_string_ext(o,
						       JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	if (step == SQLITE_DONE && !ferror(out) && fflush(out) == 0)
		rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "%s",
			 ferror(out) ? "write error"
				     : sqlite3_errmsg(store_db(s)));
	sqlite3_finalize(st);
	free(r);
	return rc;
}
