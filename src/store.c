/* SPDX-License-Identifier: GPL-2.0-or-later
 * store.c - usage.db: opening it safely, the schema, committing records
 * with their summaries, loading the all-time summary, pruning.
 *
 * Every record is a row of `records`; the same transaction adds it to
 * `summary` (all time, per model, endpoint and status) and to `hourly`
 * (per hour, model and endpoint). Start-up reads `summary` only, so it
 * costs the same at 5 million records as at none; `hourly` answers
 * windows, also those older than the retention. Binding the record's
 * fields is all the writer does: no JSON on its path.
 *
 * Threading: a struct store is one connection, used by one thread at a
 *   time (SQLITE_OPEN_NOMUTEX); see store.h for who owns which.
 * Ownership: struct store owns its connection and prepared statements.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

/* How long a connection waits for another's lock (a checkpoint, an
 * export, the sqlite3 shell) before its statement fails. */
#define STORE_BUSY_MS 1000

struct store {
	sqlite3 *db;
	sqlite3_stmt *ins_rec, *ins_sum, *ins_hour;
};

static const char *const store_schema_v1 =
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
	" records INTEGER NOT NULL, at REAL NOT NULL);";

/* 1 -> 2: cost and attribution. Records from before it stay unpriced
 * (cost_usd NULL); so do their summaries' requests with usage. */
static const char *const store_schema_v2 =
	"ALTER TABLE records ADD COLUMN cache_write_5m INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE records ADD COLUMN cache_write_1h INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE records ADD COLUMN cost_usd REAL;"
	"ALTER TABLE records ADD COLUMN key TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE records ADD COLUMN key_oauth INTEGER NOT NULL"
	" DEFAULT 0;"
	"UPDATE records SET cache_write_5m = cache_creation_tokens;"
	"CREATE INDEX records_agent ON records(agent);"
	"CREATE INDEX records_key ON records(key);"
	"ALTER TABLE summary ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE summary ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;"
	"UPDATE summary SET unpriced = requests WHERE row <> '';"
	"ALTER TABLE hourly ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE hourly ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;"
	"UPDATE hourly SET unpriced = requests WHERE row <> '';";

#define STORE_COUNTS_UPDATE                                              \
	"requests = requests + excluded.requests,"                       \
	" input_tokens = input_tokens + excluded.input_tokens,"          \
	" output_tokens = output_tokens + excluded.output_tokens,"       \
	" thinking_tokens = thinking_tokens + excluded.thinking_tokens," \
	" cached_tokens = cached_tokens + excluded.cached_tokens,"       \
	" cache_creation_tokens = cache_creation_tokens +"               \
	" excluded.cache_creation_tokens,"                               \
	" total_tokens = total_tokens + excluded.total_tokens,"          \
	" cost_usd = cost_usd + excluded.cost_usd,"                      \
	" unpriced = unpriced + excluded.unpriced,"                      \
	" last = max(last, excluded.last)"

static const char *const store_sql_ins_rec =
	"INSERT INTO records (ts, host, endpoint, model, status, has_usage,"
	" complete, input_tokens, output_tokens, thinking_tokens,"
	" cached_tokens, cache_creation_tokens, total_tokens, duration_ms,"
	" ttfb_ms, error, transport, raw, agent, pid, uid, cache_write_5m,"
	" cache_write_1h, cost_usd, key, key_oauth) VALUES"
	" (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
#define STORE_SUM_COLS                                            \
	"requests, input_tokens, output_tokens,"                  \
	" thinking_tokens, cached_tokens, cache_creation_tokens," \
	" total_tokens, cost_usd, unpriced"
static const char *const store_sql_ins_sum =
	"INSERT INTO summary (row, endpoint, status, " STORE_SUM_COLS
	", first, last) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
	"?14)"
	" ON CONFLICT (row, endpoint, status) DO UPDATE SET " STORE_COUNTS_UPDATE
	", first = min(first, excluded.first)";
static const char *const store_sql_ins_hour =
	"INSERT INTO hourly (hour, row, endpoint, " STORE_SUM_COLS ", last)"
	" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"
	" ON CONFLICT (hour, row, endpoint) DO UPDATE SET " STORE_COUNTS_UPDATE;

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

void
store_counts_read(sqlite3_stmt *st, int col, struct usage_counts *c)
{
	*c = (struct usage_counts){
		.requests = sqlite3_column_int64(st, col),
		.input_tokens = sqlite3_column_int64(st, col + 1),
		.output_tokens = sqlite3_column_int64(st, col + 2),
		.thinking_tokens = sqlite3_column_int64(st, col + 3),
		.cached_tokens = sqlite3_column_int64(st, col + 4),
		.cache_creation_tokens = sqlite3_column_int64(st, col + 5),
		.total_tokens = sqlite3_column_int64(st, col + 6),
		.cost_usd = sqlite3_column_double(st, col + 7),
		.unpriced = sqlite3_column_int64(st, col + 8),
	};
}

int
store_exec(struct store *s, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return -1;
}

/* One of the database's files: absent (made 0600 when `make`), or a
 * regular file with a single link, which is tightened to 0600. Never
 * follows a symlink, never opens a FIFO or device. */
static int
store_check_file(int dirfd, const char *name, bool make, char *err,
		 size_t errlen)
{
	struct stat st, fst;
	int fd = -1, rc = -1;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
			return -1;
		}
		if (!make)
			return 0;
		fd = openat(dirfd, name,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0)
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
		else
			rc = 0;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			 "%s is not a regular file (a symlink, "
			 "FIFO or device?); refusing it",
			 name);
		goto out;
	}
	if (st.st_nlink != 1) {
		snprintf(err, errlen, "%s has %lu hard links; refusing it",
			 name, (unsigned long)st.st_nlink);
		goto out;
	}
	fd = openat(dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &fst) < 0 || fst.st_ino != st.st_ino ||
	    fst.st_dev != st.st_dev || !S_ISREG(fst.st_mode)) {
		snprintf(err, errlen, "%s changed under us; refusing it", name);
		goto out;
	}
	if ((fst.st_mode & 077) && fchmod(fd, 0600) < 0) {
		snprintf(err, errlen, "%s: chmod 0600: %s", name,
			 strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The database and the files SQLite keeps beside it. */
static int
store_check_paths(const char *dir, bool create, char *err, size_t errlen)
{
	static const char *const side[] = { "-wal", "-shm", "-journal" };
	char name[64];
	int dfd, rc = -1;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "state dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (store_check_file(dfd, STORE_FILE, create, err, errlen) < 0)
		goto out;
	if (!create &&
	    faccessat(dfd, STORE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(err, errlen, "%s/%s: no usage database", dir,
			 STORE_FILE);
		goto out;
	}
	/* -wal and -shm are made now, so that SQLite never creates them
	 * through a name someone planted; a -journal is only checked. */
	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", STORE_FILE, side[i]);
		if (store_check_file(dfd, name, create && i < 2, err, errlen) <
		    0)
			goto out;
	}
	rc = 0;
out:
	close(dfd);
	return rc;
}

static int
store_pragma_int(struct store *s, const char *sql, long long *v)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Recognises our database (or an empty file), creates or migrates the
 * schema forward. Refuses anything else without writing to it. */
static int
store_schema(struct store *s, bool writer, char *err, size_t errlen)
{
	long long app = 0, ver = 0, ntab = 0;
	char sql[128];

	if (store_pragma_int(s, "PRAGMA application_id", &app) < 0 ||
	    store_pragma_int(s, "PRAGMA user_version", &ver) < 0 ||
	    store_pragma_int(s, "SELECT count(*) FROM sqlite_master", &ntab) <
		    0) {
		snprintf(err, errlen,
			 "not a usage database (%s); refusing "
			 "it, left untouched",
			 sqlite3_errmsg(s->db));
		return -1;
	}
	if ((app != STORE_APP_ID && (app != 0 || ntab != 0 || ver != 0)) ||
	    (app == STORE_APP_ID && ver == 0)) {
		snprintf(err, errlen,
			 "not a usage database (application_id "
			 "%#llx); refusing it, left untouched",
			 app);
		return -1;
	}
	if (ver > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "schema version %lld is newer than this "
			 "build's %d; refusing it",
			 ver, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (ver == STORE_SCHEMA_VERSION)
		return 0;
	if (!writer) {
		snprintf(err, errlen,
			 "schema version %lld needs the daemon "
			 "to migrate it",
			 ver);
		return -1;
	}
	/* Migrations forward, in one transaction: 0 (new) -> 1 -> 2. */
	snprintf(sql, sizeof(sql),
		 "PRAGMA application_id = %d;"
		 "PRAGMA user_version = %d;",
		 STORE_APP_ID, STORE_SCHEMA_VERSION);
	if (store_exec(s, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	if ((ver < 1 && store_exec(s, store_schema_v1, err, errlen) < 0) ||
	    (ver < 2 && store_exec(s, store_schema_v2, err, errlen) < 0) ||
	    store_exec(s, sql, err, errlen) < 0 ||
	    store_exec(s, "COMMIT", err, errlen) < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int
store_prepare(struct store *s, char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(s->db, store_sql_ins_rec, -1,
			       SQLITE_PREPARE_PERSISTENT, &s->ins_rec,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, store_sql_ins_sum, -1,
			       SQLITE_PREPARE_PERSISTENT, &s->ins_sum,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, store_sql_ins_hour, -1,
			       SQLITE_PREPARE_PERSISTENT, &s->ins_hour,
			       NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

struct store *
store_open(const char *dir, bool create, char *err, size_t errlen)
{
	struct store *s = NULL;
	char path[4096], why[STORE_ERR_MAX] = "out of memory";
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		    SQLITE_OPEN_NOFOLLOW;

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	if (store_check_paths(dir, create, why, sizeof(why)) < 0 ||
	    !(s = calloc(1, sizeof(*s))))
		goto fail;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		snprintf(why, sizeof(why), "%s",
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (store_schema(s, create, why, sizeof(why)) < 0 ||
	    store_exec(s,
		       "PRAGMA journal_mode = WAL;"
		       "PRAGMA synchronous = FULL;",
		       why, sizeof(why)) < 0)
		goto fail;
	if (create && store_prepare(s, why, sizeof(why)) < 0)
		goto fail;
	if (!create &&
	    store_exec(s, "PRAGMA query_only = 1", why, sizeof(why)) < 0)
		goto fail;
	return s;
fail:
	snprintf(err, errlen, "%s: %s", path, why);
	store_free(s);
	return NULL;
}

void
store_free(struct store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->ins_rec);
	sqlite3_finalize(s->ins_sum);
	sqlite3_finalize(s->ins_hour);
	sqlite3_close(s->db);
	free(s);
}

/* A batch's summary rows, added up before they are written: a batch of
 * hundreds of records touches a handful of (row, endpoint, status) and
 * (hour, row, endpoint) keys. The strings point into the batch. */
struct store_agg {
	const char *row, *endpoint;
	int status;   /* summary; -1 in hourly */
	int64_t hour; /* hourly; -1 in summary */
	struct usage_counts c;
	double first, last;
};
#define STORE_AGG_MAX 64

struct store_aggs {
	struct store_agg a[STORE_AGG_MAX];
	size_t n;
};

static int
step_reset(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Binds the requests, the token counts and the times from `at` on. */
static int
bind_agg(sqlite3_stmt *st, int at, const struct store_agg *a, bool first)
{
	sqlite3_bind_int64(st, at++, a->c.requests);
	sqlite3_bind_int64(st, at++, a->c.input_tokens);
	sqlite3_bind_int64(st, at++, a->c.output_tokens);
	sqlite3_bind_int64(st, at++, a->c.thinking_tokens);
	sqlite3_bind_int64(st, at++, a->c.cached_tokens);
	sqlite3_bind_int64(st, at++, a->c.cache_creation_tokens);
	sqlite3_bind_int64(st, at++, a->c.total_tokens);
	sqlite3_bind_double(st, at++, a->c.cost_usd);
	sqlite3_bind_int64(st, at++, a->c.unpriced);
	if (first)
		sqlite3_bind_double(st, at++, a->first);
	sqlite3_bind_double(st, at, a->last);
	return step_reset(st);
}

static int
aggs_flush(struct store *s, struct store_aggs *g)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct store_agg *a = &g->a[i];
		sqlite3_stmt *st = a->hour < 0 ? s->ins_sum : s->ins_hour;

		if (a->hour < 0) {
			sqlite3_bind_text(st, 1, a->row, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, a->endpoint, -1,
					  SQLITE_STATIC);
			sqlite3_bind_int(st, 3, a->status);
		} else {
			sqlite3_bind_int64(st, 1, a->hour);
			sqlite3_bind_text(st, 2, a->row, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, a->endpoint, -1,
					  SQLITE_STATIC);
		}
		if (bind_agg(st, 4, a, a->hour < 0) < 0)
			return -1;
	}
	g->n = 0;
	return 0;
}

/* Adds r under its key; a full table is written out first. */
static int
aggs_add(struct store *s, struct store_aggs *g, const struct usage_record *r,
	 int status, int64_t hour)
{
	const char *row = usage_row_key(r);
	struct store_agg *a;
	size_t i;

	for (i = 0; i < g->n; i++) {
		a = &g->a[i];
		if (a->status == status && a->hour == hour &&
		    strcmp(a->row, row) == 0 &&
		    strcmp(a->endpoint, r->endpoint) == 0)
			break;
	}
	if (i == STORE_AGG_MAX) {
		if (aggs_flush(s, g) < 0)
			return -1;
		i = 0;
	}
	a = &g->a[i];
	if (i == g->n) {
		*a = (struct store_agg){ row,	r->endpoint, status, hour,
					 { 0 }, r->time,     r->time };
		g->n++;
	}
	a->c.requests++;
	a->c.input_tokens += r->input_tokens;
	a->c.output_tokens += r->output_tokens;
	a->c.thinking_tokens += r->thinking_tokens;
	a->c.cached_tokens += r->cached_tokens;
	a->c.cache_creation_tokens += r->cache_creation_tokens;
	a->c.total_tokens += r->total_tokens;
	if (r->priced)
		a->c.cost_usd += r->cost_usd;
	else if (r->has_usage)
		a->c.unpriced++;
	if (r->time < a->first)
		a->first = r->time;
	if (r->time > a->last)
		a->last = r->time;
	return 0;
}

/* The row alone. */
static int
insert_row(struct store *s, const struct usage_record *r)
{
	sqlite3_stmt *st = s->ins_rec;
	int i = 1;

	sqlite3_bind_double(st, i++, r->time);
	sqlite3_bind_text(st, i++, r->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->model, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i++, r->status);
	sqlite3_bind_int(st, i++, r->has_usage);
	sqlite3_bind_int(st, i++, r->complete);
	sqlite3_bind_int64(st, i++, r->input_tokens);
	sqlite3_bind_int64(st, i++, r->output_tokens);
	sqlite3_bind_int64(st, i++, r->thinking_tokens);
	sqlite3_bind_int64(st, i++, r->cached_tokens);
	sqlite3_bind_int64(st, i++, r->cache_creation_tokens);
	sqlite3_bind_int64(st, i++, r->total_tokens);
	sqlite3_bind_double(st, i++, r->duration_ms);
	sqlite3_bind_double(st, i++, r->ttfb_ms);
	sqlite3_bind_text(st, i++, r->error, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->transport, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->raw, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i++, r->agent, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, i++, r->pid);
	sqlite3_bind_int64(st, i++, r->uid);
	sqlite3_bind_int64(st, i++, r->cache_write_5m_tokens);
	sqlite3_bind_int64(st, i++, r->cache_write_1h_tokens);
	if (r->priced)
		sqlite3_bind_double(st, i++, r->cost_usd);
	else
		sqlite3_bind_null(st, i++);
	sqlite3_bind_text(st, i++, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i, r->key_oauth);
	return step_reset(st);
}

/* Rows of r[0..n) and their summaries, inside the caller's transaction. */
static int
insert_batch(struct store *s, const struct usage_record *r, size_t n)
{
	struct store_aggs *sum = malloc(sizeof(*sum));
	struct store_aggs *hour = malloc(sizeof(*hour));
	int rc = -1;
	size_t i;

	if (!sum || !hour)
		goto out;
	sum->n = hour->n = 0;
	for (i = 0; i < n; i++)
		if (insert_row(s, &r[i]) < 0 ||
		    aggs_add(s, sum, &r[i], r[i].status, -1) < 0 ||
		    aggs_add(s, hour, &r[i], -1,
			     (int64_t)floor(r[i].time / 3600)) < 0)
			goto out;
	if (aggs_flush(s, sum) == 0 && aggs_flush(s, hour) == 0)
		rc = 0;
out:
	free(sum);
	free(hour);
	return rc;
}

int
store_insert(struct store *s, const struct usage_record *r)
{
	return insert_batch(s, r, 1);
}

int
store_commit(struct store *s, const struct usage_record *r, size_t n, char *err,
	     size_t errlen)
{
	if (store_exec(s, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	if (insert_batch(s, r, n) < 0) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		goto fail;
	}
	if (store_exec(s, "COMMIT", err, errlen) < 0)
		goto fail;
	return 0;
fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
store_load(struct store *s, struct usage_table *t)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT row, endpoint, status,"
			       " requests, input_tokens, output_tokens,"
			       " thinking_tokens, cached_tokens,"
			       " cache_creation_tokens, total_tokens, cost_usd,"
			       " unpriced, first, last FROM summary",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct usage_counts c;

		store_counts_read(st, 3, &c);
		usage_table_add(t, (const char *)sqlite3_column_text(st, 0),
				(const char *)sqlite3_column_text(st, 1),
				sqlite3_column_int(st, 2), &c,
				sqlite3_column_double(st, 12),
				sqlite3_column_double(st, 13));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

long
store_prune(struct store *s, double before, int batch)
{
	sqlite3_stmt *st = NULL;
	char err[STORE_ERR_MAX];
	double cut = 0;
	long n = -1;

	if (store_exec(s, "BEGIN IMMEDIATE", err, sizeof(err)) < 0)
		return -1;
	/* The newest time of the oldest `batch` records below the line;
	 * records at that very time go too. */
	if (sqlite3_prepare_v2(s->db,
			       "SELECT max(ts) FROM (SELECT ts FROM "
			       "records WHERE ts < ?1 ORDER BY ts LIMIT ?2)",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_double(st, 1, before);
	sqlite3_bind_int(st, 2, batch);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		n = 0;
		goto out;
	}
	cut = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(s->db, "DELETE FROM records WHERE ts <= ?1", -1,
			       &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_double(st, 1, cut);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	n = (long)sqlite3_changes(s->db);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO meta VALUES "
			       "('pruned_through', ?1) ON CONFLICT (key) DO "
			       "UPDATE SET value = max(value, excluded.value)",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_double(st, 1, cut) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		n = -1;
out:
	sqlite3_finalize(st);
	if (n < 0)
		log_warnx("store: pruning: %s", sqlite3_errmsg(s->db));
	if (store_exec(s, n < 0 ? "ROLLBACK" : "COMMIT", err, sizeof(err)) < 0)
		n = -1;
	return n;
}
