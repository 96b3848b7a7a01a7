/* SPDX-License-Identifier: GPL-2.0-or-later
 * store.h - usage.db: the store of record (SQLite, WAL, synchronous=FULL).
 *
 * One struct store is one SQLite connection, used by one thread at a time:
 * the ledger's writer thread owns the write connection, the API thread
 * its own read connection (WAL readers never block the writer).
 * Schema and the exact semantics of windows and retention: doc/usage-format.md.
 *
 * Ownership: store_open() returns a connection freed by store_free().
 */
#ifndef AGP_STORE_H
#define AGP_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "usage.h"

#define STORE_FILE "usage.db"
/* PRAGMA user_version of the schema this build writes. */
#define STORE_SCHEMA_VERSION 2
/* PRAGMA application_id: "AGPX". A database without it is foreign. */
#define STORE_APP_ID 0x41475058
#define STORE_ERR_MAX 256

struct store;

/* Opens dir/usage.db. The database and its -wal, -shm and -journal files
 * must each be absent or a regular file with one link, never a symlink,
 * FIFO or hard link; missing ones are made 0600 (O_EXCL|O_NOFOLLOW) when
 * `create`. A file that is not a usage database (foreign, corrupt, newer
 * schema) is refused and never written. Older schemas are migrated
 * forward. NULL on error, with one line in err. */
struct store *store_open(const char *dir, bool create, char *err,
			 size_t errlen);
void store_free(struct store *s);

/* Inserts n records, updating the summaries, in one transaction
 * (synchronous=FULL: durable when this returns 0). On failure the
 * transaction is rolled back, err says why and -1 is returned; nothing of
 * the batch is in the database. */
int store_commit(struct store *s, const struct usage_record *r, size_t n,
		 char *err, size_t errlen);

/* Counts the all-time summary into t (one row per model, endpoint and
 * status: no record is read). 0, or -1 (sqlite3_errmsg says why). */
int store_load(struct store *s, struct usage_table *t);

/* The /v1/usage document for records at or after since (see
 * doc/usage-format.md for windows older than the retention), with t's
 * labels. NULL on error. The caller owns it. */
struct json_object *store_window_json(struct store *s, struct usage_table *t,
				      double since);

/* /v1/usage?by= (store_group.c): what the records are grouped by, in
 * the order given. */
enum store_by_kind {
	STORE_BY_MODEL,
	STORE_BY_AGENT,
	STORE_BY_KEY,
	STORE_BY_HOST,
	STORE_BY_DAY,
	STORE_BY_WEEK,
	STORE_BY_MONTH,
	STORE_BY_HOUR,
	STORE_BY_NKINDS,
};
struct store_by {
	enum store_by_kind k[STORE_BY_NKINDS];
	size_t n;
};

/* Parses "day,model": known names, each at most once, comma-separated,
 * no blanks. 0, or -1 with a short message in err. */
int store_by_parse(const char *s, struct store_by *b, char *err, size_t errlen);
/* The groups of the records with since <= time < until (until 0: no
 * bound), with t's labels (NULL: none): {"by": [...], "groups": [...],
 * "totals": {...}}. Days, weeks (from Monday) and months are those of
 * the fixed offset tz_offset (seconds east of UTC). NULL on error; the
 * caller owns it. */
struct json_object *store_group_json(struct store *s, struct usage_table *t,
				     const struct store_by *b, double since,
				     double until, long tz_offset);

/* A /v1/requests query (store_filter.c parses it). */
struct store_filter {
	char model[USAGE_MODEL_MAX];
	char host[USAGE_HOST_MAX];
	char endpoint[USAGE_ENDPOINT_MAX];
	char agent[USAGE_AGENT_MAX];
	char key[USAGE_KEY_MAX]; /* a credential's fingerprint */
	bool has_model, has_host, has_endpoint, has_agent, has_key;
	double since, until; /* until 0: none */
	int complete;	     /* -1: any, 0 or 1 */
	int64_t before;	     /* id cursor; 0: from the newest */
	int limit;	     /* 1 .. STORE_LIMIT_MAX */
};
#define STORE_LIMIT_MAX 1000
#define STORE_LIMIT_DEFAULT 100

/* Defaults: no filter, limit 100. */
void store_filter_init(struct store_filter *f);
/* Applies one query argument. Times are RFC 3339, "today" or a duration
 * back from now (when_parse's syntax). 0, or -1 with a short
 * message in err for an unknown key or a bad value. */
int store_filter_set(struct store_filter *f, const char *key, const char *value,
		     double now, char *err, size_t errlen);

/* The matching records, newest (highest id) first, as a JSON array the
 * caller owns; each has its "id". *next gets the id to pass as before=
 * for the next page, 0 when this page was the last. NULL on error. */
struct json_object *store_requests_json(struct store *s,
					const struct store_filter *f,
					int64_t *next);

/* Writes records with since <= time < until (until 0: no bound) in id
 * order to out, as JSON lines or CSV (with a header). 0 or -1. */
int store_export(struct store *s, double since, double until, bool csv,
		 FILE *out, char *err, size_t errlen);

/* Deletes at most `batch` of the oldest records with time < before, in
 * one short transaction; the summaries are kept. Returns how many were
 * deleted, or -1. */
long store_prune(struct store *s, double before, int batch);

/* Imports dir/usage.jsonl once: every complete line in one transaction
 * with a note of the file, then renames it to usage.jsonl.imported. A
 * file already noted is only renamed. A torn last line is reported and
 * skipped. 0 (also when there is no file) or -1 (logged). *n gets the
 * number of records imported. */
int store_import_jsonl(struct store *s, const char *dir, unsigned long *n);

/* For the store's modules only. */
struct sqlite3;
struct sqlite3 *store_db(struct store *s);

/* Reads the counts of an aggregate row whose columns, from col on, are
 * requests, the six token counts, cost_usd and unpriced, in that order:
 * the layout every summary and GROUP BY query here selects. */
struct sqlite3_stmt;
void store_counts_read(struct sqlite3_stmt *st, int col,
		       struct usage_counts *c);
int store_insert(struct store *s, const struct usage_record *r);
int store_exec(struct store *s, const char *sql, char *err, size_t errlen);

#endif
