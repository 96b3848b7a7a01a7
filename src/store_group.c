/* SPDX-License-Identifier: GPL-2.0-or-later
 * store_group.c - /v1/usage?by=: the records grouped by model, agent,
 * key, host, day, week, month and/or hour, with one SQL GROUP BY on the
 * API's read connection.
 *
 * Groups come from the records themselves, so they reach back as far as
 * the retention (--retain) keeps records; the all-time totals of a plain
 * /v1/usage come from the summaries. Hours are UTC (the dashboard's
 * last 24 hours). Days, weeks and months are those
 * of one fixed UTC offset (?tz=, bound as ?3), so that a client can ask
 * for its own local days; an offset is not a time zone, so across a
 * daylight-saving change the hour that moved lands in the neighbouring
 * day. Weeks start on Monday, as ISO 8601's do, and are named by that
 * Monday's date ("weekday 0" moves to the coming Sunday, or stays on
 * one; six days back is its Monday).
 *
 * Threading: on the connection's own thread, like store_query.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

static const struct {
	const char *name;
	const char *expr; /* the SQL of its column */
} store_bys[STORE_BY_NKINDS] = {
	[STORE_BY_MODEL] = { "model",
			     "(CASE WHEN model <> '' THEN model WHEN"
			     " has_usage THEN 'unknown' ELSE '' END)" },
	[STORE_BY_AGENT] = { "agent", "agent" },
	[STORE_BY_KEY] = { "key", "key" },
	[STORE_BY_HOST] = { "host", "host" },
	[STORE_BY_DAY] = { "day", "strftime('%Y-%m-%d', ts + ?3,"
				  " 'unixepoch')" },
	[STORE_BY_WEEK] = { "week", "date(ts + ?3, 'unixepoch', 'weekday 0',"
				    " '-6 days')" },
	[STORE_BY_MONTH] = { "month", "strftime('%Y-%m', ts + ?3,"
				      " 'unixepoch')" },
	[STORE_BY_HOUR] = { "hour",
			    "strftime('%Y-%m-%dT%H:00Z', ts, 'unixepoch')" },
};

int
store_by_parse(const char *s, struct store_by *b, char *err, size_t errlen)
{
	const char *p = s;

	b->n = 0;
	for (;;) {
		size_t len = strcspn(p, ","), k;

		for (k = 0; k < STORE_BY_NKINDS; k++)
			if (strlen(store_bys[k].name) == len &&
			    strncmp(p, store_bys[k].name, len) == 0)
				break;
		if (k == STORE_BY_NKINDS) {
			snprintf(err, errlen,
				 "by: expected a comma-separated "
				 "list of model, agent, key, host, day, week, "
				 "month, hour");
			return -1;
		}
		for (size_t i = 0; i < b->n; i++)
			if (b->k[i] == (enum store_by_kind)k) {
				snprintf(err, errlen, "by: %s given twice",
					 store_bys[k].name);
				return -1;
			}
		b->k[b->n++] = (enum store_by_kind)k;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/* SELECT <cols>, the counts ... GROUP BY <cols> ORDER BY <cols>. */
static int
group_sql(const struct store_by *b, char *sql, size_t len)
{
	char cols[512] = "";
	size_t off = 0;
	int n;

	for (size_t i = 0; i < b->n; i++) {
		n = snprintf(cols + off, sizeof(cols) - off, "%s%s",
			     i ? ", " : "", store_bys[b->k[i]].expr);
		if (n < 0 || (size_t)n >= sizeof(cols) - off)
			return -1;
		off += (size_t)n;
	}
	n = snprintf(sql, len,
		     "SELECT %s, count(*), sum(input_tokens),"
		     " sum(output_tokens), sum(thinking_tokens),"
		     " sum(cached_tokens), sum(cache_creation_tokens),"
		     " sum(total_tokens), total(cost_usd),"
		     " sum(has_usage AND cost_usd IS NULL), max(key_oauth),"
		     " max(ts) FROM records WHERE ts >= ?1 AND (?2 <= 0 OR"
		     " ts < ?2) GROUP BY %s"
		     " ORDER BY %s",
		     cols, cols, cols);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* One result row as a group object; its counts are added to sum. */
static struct json_object *
group_row(sqlite3_stmt *st, const struct store_by *b, struct usage_table *t,
	  struct usage_counts *sum)
{
	struct json_object *g = json_object_new_object();
	int c = (int)b->n;
	struct usage_counts k;
	char label[USAGE_LABEL_MAX];

	for (size_t i = 0; i < b->n; i++) {
		const char *v = (const char *)sqlite3_column_text(st, (int)i);

		json_object_object_add(g, store_bys[b->k[i]].name,
				       json_object_new_string(v ? v : ""));
		if (b->k[i] == STORE_BY_MODEL && v && *v && t) {
			usage_label_copy(t, v, label, sizeof(label));
			json_object_object_add(g, "label",
					       json_object_new_string(label));
		}
		if (b->k[i] == STORE_BY_KEY && v && *v)
			json_object_object_add(
				g, "key_kind",
				json_object_new_string(
					sqlite3_column_int(st, c + 9)
						? "oauth"
						: "api_key"));
	}
	/* Null cost when nothing in the group had a price; groups without
	 * usage cost 0. */
	store_counts_read(st, c, &k);
	usage_counts_json(g, &k, true);
	usage_counts_add(sum, &k);
	return g;
}

struct json_object *
store_group_json(struct store *s, struct usage_table *t,
		 const struct store_by *b, double since, double until,
		 long tz_offset)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st = NULL;
	struct json_object *doc = NULL, *groups = NULL, *by, *tot;
	struct usage_counts sum = { 0 };
	char sql[2048];
	int rc;

	if (b->n == 0 || group_sql(b, sql, sizeof(sql)) < 0 ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_double(st, 1, since);
	sqlite3_bind_double(st, 2, until);
	sqlite3_bind_int64(st, 3, tz_offset);
	groups = json_object_new_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_array_add(groups, group_row(st, b, t, &sum));
	if (rc != SQLITE_DONE)
		goto out;
	doc = json_object_new_object();
	by = json_object_new_array();
	for (size_t k = 0; k < b->n; k++)
		json_object_array_add(
			by, json_object_new_string(store_bys[b->k[k]].name));
	json_object_object_add(doc, "by", by);
	json_object_object_add(doc, "groups", groups);
	groups = NULL;
	tot = json_object_new_object();
	usage_counts_json(tot, &sum, false);
	json_object_object_add(doc, "totals", tot);
out:
	if (!doc)
		log_warnx("store: group query: %s", sqlite3_errmsg(db));
	json_object_put(groups);
	sqlite3_finalize(st);
	return doc;
}
