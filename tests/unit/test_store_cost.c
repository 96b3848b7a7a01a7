/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_store_cost.c - cost and attribution in usage.db: a schema 1
 * database migrated forward (its records stay unpriced), costs kept with
 * their records (a later price change rewrites nothing), cost_usd in
 * /v1/usage, its windows and ?by= groups, unpriced models.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "price.h"
#include "store.h"
#include "tap.h"
#include "usage.h"

#define T0 1795921262.0 /* 2026-11-29T03:01:02Z */

static char dir[] = "/tmp/agp-test-store-cost-XXXXXX";

/* Schema 1 as released: frozen here, the migration's starting point. */
static const char *const schema_v1 =
	"CREATE TABLE records ("
	" id INTEGER PRIMARY KEY, ts REAL NOT NULL,"
	" host TEXT NOT NULL, endpoint TEXT NOT NULL, model TEXT NOT NULL,"
	" status INTEGER NOT NULL, has_usage INTEGER NOT NULL,"
	" complete INTEGER NOT NULL,"
	" input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,"
	" thinking_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL,"
	" cache_creation_tokens INTEGER NOT NULL,"
	" total_tokens INTEGER NOT NULL,"
	" duration_ms REAL NOT NULL, ttfb_ms REAL NOT NULL,"
	" error TEXT NOT NULL, transport TEXT NOT NULL, raw TEXT NOT NULL,"
	" agent TEXT NOT NULL, pid INTEGER NOT NULL, uid INTEGER NOT NULL);"
	"CREATE INDEX records_ts ON records(ts);"
	"CREATE INDEX records_model ON records(model);"
	"CREATE INDEX records_host ON records(host);"
	"CREATE INDEX records_endpoint ON records(endpoint);"
	"CREATE TABLE summary ("
	" row TEXT NOT NULL, endpoint TEXT NOT NULL, status INTEGER NOT NULL,"
	" requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL,"
	" output_tokens INTEGER NOT NULL, thinking_tokens INTEGER NOT NULL,"
	" cached_tokens INTEGER NOT NULL,"
	" cache_creation_tokens INTEGER NOT NULL,"
	" total_tokens INTEGER NOT NULL, first REAL NOT NULL,"
	" last REAL NOT NULL, PRIMARY KEY (row, endpoint, status))"
	" WITHOUT ROWID;"
	"CREATE TABLE hourly ("
	" hour INTEGER NOT NULL, row TEXT NOT NULL, endpoint TEXT NOT NULL,"
	" requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL,"
	" output_tokens INTEGER NOT NULL, thinking_tokens INTEGER NOT NULL,"
	" cached_tokens INTEGER NOT NULL,"
	" cache_creation_tokens INTEGER NOT NULL,"
	" total_tokens INTEGER NOT NULL, last REAL NOT NULL,"
	" PRIMARY KEY (hour, row, endpoint)) WITHOUT ROWID;"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;"
	"CREATE TABLE imports ("
	" name TEXT NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL,"
	" size INTEGER NOT NULL, mtime REAL NOT NULL,"
	" records INTEGER NOT NULL, at REAL NOT NULL);"
	"INSERT INTO records VALUES (1, 1795921262.0, 'api.anthropic.com',"
	" 'messages', 'claude-sonnet-4-5', 200, 1, 1, 1000, 10, 0, 0, 300,"
	" 1310, 5, 1, '', 'json', '{}', 'old-agent', 7, 1000);"
	"INSERT INTO summary VALUES ('claude-sonnet-4-5', 'messages', 200, 1,"
	" 1000, 10, 0, 0, 300, 1310, 1795921262.0, 1795921262.0);"
	"INSERT INTO hourly VALUES (498866, 'claude-sonnet-4-5', 'messages',"
	" 1, 1000, 10, 0, 0, 300, 1310, 1795921262.0);"
	"PRAGMA application_id = 1095192664; PRAGMA user_version = 1;";

static void
rm_state(void)
{
	static const char *const names[] = {
		"usage.db",
		"usage.db-wal",
		"usage.db-shm",
		"usage.db-journal",
	};
	char p[512];

	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
}

static struct json_object *
get(struct json_object *o, const char *a, const char *b, const char *c)
{
	struct json_object *v = o;

	if (a && !json_object_object_get_ex(v, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	if (c && !json_object_object_get_ex(v, c, &v))
		return NULL;
	return v;
}

/* o's member k is present and null (json-c: a NULL value). */
static bool
is_null(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) && v == NULL;
}

static void
test_migration(void)
{
	char path[512], err[512];
	sqlite3 *db = NULL;
	struct store *s;
	struct usage_table *t = usage_table_new();
	struct store_filter f;
	struct json_object *doc, *arr;
	int64_t next;

	snprintf(path, sizeof(path), "%s/usage.db", dir);
	ok(sqlite3_open(path, &db) == SQLITE_OK &&
		   sqlite3_exec(db, schema_v1, NULL, NULL, NULL) == SQLITE_OK,
	   "a schema 1 usage.db with one record");
	sqlite3_close(db);
	s = store_open(dir, false, err, sizeof(err));
	ok(!s && strstr(err, "migrate"), "a reader leaves it to the daemon");
	store_free(s);
	s = store_open(dir, true, err, sizeof(err));
	ok(s != NULL, "the daemon opens it, migrating forward (%s)",
	   s ? "" : err);
	if (!s)
		return;
	ok(store_load(s, t) == 0, "its summary loads");
	doc = usage_table_json(t);
	is_int(json_object_get_int64(get(doc, "totals", "requests", NULL)), 1,
	       "the old record counts");
	is_int(json_object_get_int64(
		       get(doc, "totals", "unpriced_requests", NULL)),
	       1, "and is unpriced");
	ok(is_null(get(doc, "models", "claude-sonnet-4-5", NULL), "cost_usd"),
	   "its model's cost_usd is null, not a guess");
	json_object_put(doc);
	store_filter_init(&f);
	arr = store_requests_json(s, &f, &next);
	ok(arr && json_object_array_length(arr) == 1 &&
		   is_null(json_object_array_get_idx(arr, 0), "cost_usd"),
	   "the old record's cost_usd is null");
	is_int(json_object_get_int64(get(json_object_array_get_idx(arr, 0),
					 "cache_write_5m_tokens", NULL, NULL)),
	       300, "its cache writes count as 5-minute ones");
	json_object_put(arr);
	store_free(s);
	ok(sqlite3_open(path, &db) == SQLITE_OK, "reopened by sqlite3");
	{
		sqlite3_stmt *st = NULL;

		sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
		ok(st && sqlite3_step(st) == SQLITE_ROW &&
			   sqlite3_column_int(st, 0) == STORE_SCHEMA_VERSION,
		   "user_version is now %d", STORE_SCHEMA_VERSION);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	usage_table_free(t);
	rm_state();
}

static void
rec(struct usage_record *r, const char *model, const char *agent,
    const char *key, bool oauth, double cost, bool priced, double t)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	snprintf(r->model, sizeof(r->model), "%s", model);
	snprintf(r->host, sizeof(r->host), "api.test");
	snprintf(r->endpoint, sizeof(r->endpoint), "messages");
	snprintf(r->agent, sizeof(r->agent), "%s", agent);
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->key_oauth = oauth;
	r->has_usage = r->complete = true;
	r->status = 200;
	r->input_tokens = 100;
	r->output_tokens = 10;
	r->total_tokens = 110;
	r->cost_usd = cost;
	r->priced = priced;
	r->uid = 0;
}

/* The group of doc whose fields a=va (and b=vb when b). */
static struct json_object *
group(struct json_object *doc, const char *a, const char *va, const char *b,
      const char *vb)
{
	struct json_object *g = get(doc, "groups", NULL, NULL);

	for (size_t i = 0; g && i < json_object_array_length(g); i++) {
		struct json_object *o = json_object_array_get_idx(g, i);

		if (strcmp(json_object_get_string(get(o, a, NULL, NULL)), va) ==
			    0 &&
		    (!b || strcmp(json_object_get_string(get(o, b, NULL, NULL)),
				  vb) == 0))
			return o;
	}
	return NULL;
}

static double
dbl(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k, NULL, NULL);

	return v && !json_object_is_type(v, json_type_null)
		       ? json_object_get_double(v)
		       : NAN;
}

/* Days, weeks and months at an offset, and until=: T0 is Sunday
 * 2026-11-29 03:01 UTC, the fifth record Monday 04:01. */
static void
test_local_groups(struct store *s, struct usage_table *t)
{
	struct json_object *doc;
	struct store_by b;
	char err[128];

	store_by_parse("day", &b, err, sizeof(err));
	doc = store_group_json(s, t, &b, 0, 0, -5 * 3600);
	ok(fabs(dbl(group(doc, "day", "2026-11-28", NULL, NULL), "cost_usd") -
		0.875) < 1e-12 &&
		   group(doc, "day", "2026-11-29", NULL, NULL) &&
		   json_object_array_length(get(doc, "groups", NULL, NULL)) ==
			   2,
	   "by=day at -05:00: Sunday 03:01 UTC is Saturday there");
	json_object_put(doc);
	store_by_parse("week", &b, err, sizeof(err));
	doc = store_group_json(s, t, &b, 0, 0, 0);
	ok(fabs(dbl(group(doc, "week", "2026-11-23", NULL, NULL), "cost_usd") -
		0.875) < 1e-12 &&
		   fabs(dbl(group(doc, "week", "2026-11-30", NULL, NULL),
			    "cost_usd") -
			1.0) < 1e-12,
	   "by=week: weeks from Monday, named by it (Sunday ends one)");
	json_object_put(doc);
	doc = store_group_json(s, t, &b, 0, 0, -5 * 3600);
	ok(json_object_array_length(get(doc, "groups", NULL, NULL)) == 1 &&
		   group(doc, "week", "2026-11-23", NULL, NULL),
	   "by=week at -05:00: Monday 04:01 UTC is still Sunday there");
	json_object_put(doc);
	store_by_parse("month,agent", &b, err, sizeof(err));
	doc = store_group_json(s, t, &b, 0, 0, 14 * 3600);
	ok(fabs(dbl(group(doc, "month", "2026-11", "agent", "codex"),
		    "cost_usd") -
		1.5) < 1e-12 &&
		   json_object_array_length(get(doc, "groups", NULL, NULL)) ==
			   2,
	   "by=month,agent at +14:00");
	json_object_put(doc);
	doc = store_group_json(s, t, &b, T0 + 1, T0 + 3, 0);
	ok(fabs(dbl(get(doc, "totals", NULL, NULL), "cost_usd") - 0.625) <
			   1e-12 &&
		   json_object_array_length(get(doc, "groups", NULL, NULL)) ==
			   2,
	   "since <= ts < until: the second and third records");
	json_object_put(doc);
}

static void
test_costs(void)
{
	char err[512];
	struct store *s = store_open(dir, true, err, sizeof(err));
	struct usage_table *t = usage_table_new();
	struct usage_record r[5];
	struct store_by b;
	struct json_object *doc;

	rec(&r[0], "m-a", "claude", "aaaa0001", false, 0.25, true, T0);
	rec(&r[1], "m-a", "claude", "aaaa0001", false, 0.125, true, T0 + 1);
	rec(&r[2], "m-a", "codex", "bbbb0002", true, 0.5, true, T0 + 2);
	rec(&r[3], "m-unpriced", "codex", "bbbb0002", true, 0, false, T0 + 3);
	rec(&r[4], "m-a", "codex", "bbbb0002", true, 1.0, true, T0 + 90000);
	ok(s && store_commit(s, r, 5, err, sizeof(err)) == 0,
	   "records with costs commit");
	store_free(s);
	s = store_open(dir, true, err, sizeof(err));
	ok(s && store_load(s, t) == 0, "reopened");
	doc = usage_table_json(t);
	ok(fabs(dbl(get(doc, "totals", NULL, NULL), "cost_usd") - 1.875) <
		   1e-12,
	   "totals: cost_usd kept from the records, not recomputed");
	ok(fabs(dbl(get(doc, "models", "m-a", NULL), "cost_usd") - 1.875) <
		   1e-12,
	   "model m-a: cost_usd");
	ok(is_null(get(doc, "models", "m-unpriced", NULL), "cost_usd"),
	   "model m-unpriced: cost_usd null");
	ok(json_object_array_length(get(doc, "unpriced", NULL, NULL)) == 1,
	   "listed as unpriced");
	json_object_put(doc);
	doc = store_window_json(s, t, T0 + 1);
	ok(fabs(dbl(get(doc, "totals", NULL, NULL), "cost_usd") - 1.625) <
		   1e-12,
	   "a window's cost_usd");
	json_object_put(doc);
	store_by_parse("agent,key", &b, err, sizeof(err));
	doc = store_group_json(s, t, &b, 0, 0, 0);
	ok(doc && json_object_array_length(get(doc, "groups", NULL, NULL)) == 2,
	   "by=agent,key: two groups");
	ok(fabs(dbl(group(doc, "agent", "claude", "key", "aaaa0001"),
		    "cost_usd") -
		0.375) < 1e-12,
	   "claude's key: $0.375");
	ok(fabs(dbl(group(doc, "agent", "codex", "key", "bbbb0002"),
		    "cost_usd") -
		1.5) < 1e-12,
	   "codex's key: $1.5");
	is_str(json_object_get_string(
		       get(group(doc, "agent", "codex", NULL, NULL), "key_kind",
			   NULL, NULL)),
	       "oauth", "codex's key is marked oauth");
	json_object_put(doc);
	store_by_parse("day,model", &b, err, sizeof(err));
	doc = store_group_json(s, t, &b, 0, 0, 0);
	ok(doc && json_object_array_length(get(doc, "groups", NULL, NULL)) == 3,
	   "by=day,model: three groups");
	ok(fabs(dbl(group(doc, "day", "2026-11-29", "model", "m-a"),
		    "cost_usd") -
		0.875) < 1e-12,
	   "2026-11-29, m-a: $0.875");
	ok(is_null(group(doc, "day", "2026-11-29", "model", "m-unpriced"),
		   "cost_usd"),
	   "the unpriced model's group: null");
	ok(fabs(dbl(group(doc, "day", "2026-11-30", "model", "m-a"),
		    "cost_usd") -
		1.0) < 1e-12,
	   "2026-11-30, m-a: $1");
	json_object_put(doc);
	store_by_parse("hour,model", &b, err, sizeof(err));
	doc = store_group_json(s, t, &b, 0, 0, 0);
	ok(doc && json_object_array_length(get(doc, "groups", NULL, NULL)) == 3,
	   "by=hour,model: three groups");
	ok(fabs(dbl(group(doc, "hour", "2026-11-29T03:00Z", "model", "m-a"),
		    "cost_usd") -
		0.875) < 1e-12,
	   "03:00 UTC, m-a: $0.875");
	ok(fabs(dbl(group(doc, "hour", "2026-11-30T04:00Z", "model", "m-a"),
		    "cost_usd") -
		1.0) < 1e-12,
	   "a day and an hour on: $1");
	json_object_put(doc);
	test_local_groups(s, t);
	usage_table_free(t);
	store_free(s);
	rm_state();
}

int
main(void)
{
	if (!ok(mkdtemp(dir) != NULL, "temp dir"))
		return tap_done();
	test_migration();
	test_costs();
	rmdir(dir);
	return tap_done();
}
