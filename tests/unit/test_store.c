/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_store.c - usage.db with the real store in a temp dir: commit then
 * count, summaries without replay, windows, /v1/requests filters and
 * paging, retention, the usage.jsonl import, unsafe and foreign files,
 * failed commits kept queued, the queue bound, 16 recorders against a
 * reader.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger.h"
#include "store.h"
#include "tap.h"
#include "usage.h"

#define T0 1795921262.0 /* 2026-11-29T03:01:02Z */
#define THREADS 16
#define PER_THREAD 2000

static char dir[] = "/tmp/agp-test-store-XXXXXX";
static struct ledger *shared;
static atomic_int readers_stop;

static int64_t
jget(struct json_object *doc, const char *a, const char *b)
{
	struct json_object *o, *v;

	if (!json_object_object_get_ex(doc, a, &o))
		return -1;
	if (!b)
		return json_object_get_int64(o);
	if (!json_object_object_get_ex(o, b, &v))
		return -1;
	return json_object_get_int64(v);
}

static int64_t
model_field(struct json_object *doc, const char *model, const char *field)
{
	struct json_object *m;

	if (!json_object_object_get_ex(doc, "models", &m))
		return -1;
	return jget(m, model, field);
}

static void
rec(struct usage_record *r, int i, double t)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	snprintf(r->model, sizeof(r->model), "model-%d", i % 3);
	snprintf(r->host, sizeof(r->host), "host-%d.test", i % 2);
	snprintf(r->endpoint, sizeof(r->endpoint),
		 i % 4 ? "messages" : "streamGenerateContent");
	r->has_usage = true;
	r->complete = i % 5 != 0;
	r->status = 200;
	r->input_tokens = 100 + i;
	r->output_tokens = i;
	r->total_tokens = 100 + 2 * i;
	r->uid = -1;
	if (i % 7 == 0)
		snprintf(r->agent, sizeof(r->agent), "claude");
	if (i % 11 == 0)
		snprintf(r->key, sizeof(r->key), "0a1b2c3d");
	snprintf(r->raw, sizeof(r->raw), "{\"n\":%d}", i);
}

static void
rm_state(void)
{
	static const char *const names[] = {
		"usage.db",	    "usage.db-wal", "usage.db-shm",
		"usage.db-journal", "usage.jsonl",  "usage.jsonl.imported",
		"target",	    "fifo",
	};
	char p[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
}

static mode_t
mode_of(const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0 ? st.st_mode & 07777 : 0;
}

static void
test_commit_load_window(void)
{
	char err[512];
	struct store *s = store_open(dir, true, err, sizeof(err));
	struct usage_table *t = usage_table_new(), *t2 = usage_table_new();
	struct usage_record r[200];
	struct json_object *doc;
	int64_t want_in = 0, want_win = 0;

	ok(s != NULL, "a new usage.db is created (%s)", s ? "" : err);
	is_int(mode_of("usage.db"), 0600, "usage.db is 0600");
	is_int(mode_of("usage.db-wal"), 0600, "usage.db-wal is 0600");
	is_int(mode_of("usage.db-shm"), 0600, "usage.db-shm is 0600");
	/* 200 records, one every 97 s: over five hours. */
	for (int i = 0; i < 200; i++) {
		rec(&r[i], i, T0 + 97.0 * i);
		want_in += r[i].input_tokens;
		if (r[i].time >= T0 + 5000)
			want_win += r[i].input_tokens;
	}
	ok(store_commit(s, r, 100, err, sizeof(err)) == 0 &&
		   store_commit(s, r + 100, 100, err, sizeof(err)) == 0,
	   "two batches commit");
	store_free(s);
	s = store_open(dir, true, err, sizeof(err));
	ok(s && store_load(s, t) == 0, "reopened, summary loaded");
	doc = usage_table_json(t);
	is_int(jget(doc, "totals", "requests"), 200, "all-time requests");
	is_int(jget(doc, "totals", "input_tokens"), want_in,
	       "all-time input tokens exact, from the summary");
	is_int(jget(doc, "endpoints", "streamGenerateContent"), 50,
	       "endpoints from the summary");
	json_object_put(doc);
	doc = store_window_json(s, t, T0 + 5000);
	is_int(jget(doc, "totals", "input_tokens"), want_win,
	       "window starting mid-hour: exact");
	is_int(jget(doc, "totals", "requests"), 200 - 52,
	       "window: requests exact");
	json_object_put(doc);
	doc = store_window_json(s, t, T0 + 97.0 * 199 + 1);
	is_int(jget(doc, "totals", "requests"), 0, "window after the last: 0");
	json_object_put(doc);
	(void)t2;
	usage_table_free(t2);
	usage_table_free(t);
	store_free(s);
}

static void
test_requests(void)
{
	char err[512];
	struct store *s = store_open(dir, false, err, sizeof(err));
	struct store_filter f;
	struct json_object *arr;
	int64_t next = 0, seen = 0, last = 0;
	int pages = 0;

	ok(s != NULL, "read connection opens");
	store_filter_init(&f);
	ok(store_filter_set(&f, "model", "model-1", T0, err, 128) == 0 &&
		   store_filter_set(&f, "limit", "10", T0, err, 128) == 0,
	   "filters parse");
	do {
		arr = store_requests_json(s, &f, &next);
		for (size_t i = 0; arr && i < json_object_array_length(arr);
		     i++) {
			struct json_object *o =
				json_object_array_get_idx(arr, i);
			const char *m = json_object_get_string(
				json_object_object_get(o, "model"));
			int64_t id = json_object_get_int64(
				json_object_object_get(o, "id"));

			if (strcmp(m, "model-1") || (last && id >= last))
				seen = -100000;
			last = id;
			seen++;
		}
		json_object_put(arr);
		f.before = next;
		pages++;
	} while (next && pages < 100);
	is_int(seen, 67,
	       "paging with before= walks every model-1 record once,"
	       " newest first");
	store_filter_init(&f);
	store_filter_set(&f, "complete", "false", T0, err, 128);
	store_filter_set(&f, "host", "host-0.test", T0, err, 128);
	store_filter_set(&f, "limit", "1000", T0, err, 128);
	arr = store_requests_json(s, &f, &next);
	is_int(json_object_array_length(arr), 20,
	       "complete=false&host= filter");
	is_int(next, 0, "no next page when the page is not full");
	json_object_put(arr);
	store_filter_init(&f);
	store_filter_set(&f, "since", "2026-11-29T04:00:00Z", T0, err, 128);
	store_filter_set(&f, "until", "2026-11-29T05:00:00Z", T0, err, 128);
	store_filter_set(&f, "endpoint", "messages", T0, err, 128);
	arr = store_requests_json(s, &f, &next);
	is_int(json_object_array_length(arr), 28, "since/until/endpoint");
	json_object_put(arr);
	store_filter_init(&f);
	store_filter_set(&f, "agent", "claude", T0, err, 128);
	arr = store_requests_json(s, &f, &next);
	is_int(json_object_array_length(arr), 29, "agent= filter");
	json_object_put(arr);
	store_filter_set(&f, "key", "0a1b2c3d", T0, err, 128);
	arr = store_requests_json(s, &f, &next);
	is_int(json_object_array_length(arr), 3, "agent=&key= filter");
	json_object_put(arr);
	ok(store_filter_set(&f, "key", "0123456789", T0, err, 128) < 0,
	   "a key longer than a fingerprint refused");
	ok(store_filter_set(&f, "limit", "1001", T0, err, 128) < 0 &&
		   strstr(err, "1 to 1000"),
	   "limit over 1000 refused: %s", err);
	ok(store_filter_set(&f, "complete", "maybe", T0, err, 128) < 0,
	   "bad complete refused");
	ok(store_filter_set(&f, "before", "-3", T0, err, 128) < 0,
	   "bad cursor refused");
	ok(store_filter_set(&f, "since", "yesterday", T0, err, 128) < 0,
	   "bad time refused");
	ok(store_filter_set(&f, "colour", "red", T0, err, 128) < 0,
	   "unknown parameter refused");
	store_free(s);
}

static void
test_export_and_prune(void)
{
	char err[512], p[512];
	struct store *s = store_open(dir, true, err, sizeof(err));
	struct usage_table *t = usage_table_new();
	struct json_object *doc;
	FILE *f;
	long n, total = 0;
	int lines = 0, c;

	snprintf(p, sizeof(p), "%s/export.csv", dir);
	f = fopen(p, "w+");
	ok(store_export(s, T0 + 3600, 0, true, f, err, sizeof(err)) == 0,
	   "csv export");
	rewind(f);
	while ((c = fgetc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	unlink(p);
	is_int(lines, 1 + 200 - 38, "csv: a header and the records in range");
	/* Prune everything before T0 + 3 h, in batches of 50. */
	while ((n = store_prune(s, T0 + 10800, 50)) > 0)
		total += n;
	is_int(total, 112, "pruned in batches the records before the line");
	store_load(s, t);
	doc = usage_table_json(t);
	is_int(jget(doc, "totals", "requests"), 200,
	       "all-time totals survive pruning");
	json_object_put(doc);
	doc = store_window_json(s, t, T0 + 5000);
	is_int(jget(doc, "totals", "requests"), 200 - 37,
	       "a window inside the pruned span starts at its hour (hourly)");
	json_object_put(doc);
	doc = store_window_json(s, t, T0 + 11000);
	is_int(jget(doc, "totals", "requests"), 200 - 114,
	       "a window after the pruned span: exact");
	json_object_put(doc);
	doc = store_window_json(s, t, T0 + 7300);
	is_int(jget(doc, "totals", "requests"), 200 - 74,
	       "a window in a pruned hour widens to the hour's start");
	json_object_put(doc);
	usage_table_free(t);
	store_free(s);
}

static void
write_jsonl(const char *name, int n, bool torn)
{
	char p[512];
	struct usage_record r;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	for (int i = 0; i < n; i++) {
		struct json_object *o;

		rec(&r, i, T0 + i);
		o = usage_record_to_json(&r);
		fprintf(f, "%s\n",
			json_object_to_json_string_ext(o,
						       JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	fputs("not json\n", f);
	if (torn)
		fputs("{\"ts\":1795921262,\"model\":\"torn", f);
	fclose(f);
}

static void
test_import(void)
{
	char err[512], a[512], b[512];
	struct usage_table *t = usage_table_new();
	struct json_object *doc;
	struct ledger *l;

	rm_state();
	write_jsonl("usage.jsonl", 300, true);
	l = ledger_open(dir, t, err, sizeof(err));
	ok(l != NULL, "opens with a usage.jsonl to import");
	doc = usage_table_json(t);
	is_int(jget(doc, "totals", "requests"), 300,
	       "imported: the torn last and the malformed line skipped");
	is_int(model_field(doc, "model-1", "input_tokens"),
	       100 * 100 + (1 + 298) * 100 / 2,
	       "imported: per-model totals match");
	json_object_put(doc);
	ledger_free(l);
	usage_table_free(t);
	is_int(mode_of("usage.jsonl"), 0, "usage.jsonl renamed");
	ok(mode_of("usage.jsonl.imported") != 0, "to usage.jsonl.imported");
	/* A crash between the commit and the rename: the same file again. */
	snprintf(a, sizeof(a), "%s/usage.jsonl.imported", dir);
	snprintf(b, sizeof(b), "%s/usage.jsonl", dir);
	rename(a, b);
	t = usage_table_new();
	l = ledger_open(dir, t, err, sizeof(err));
	doc = usage_table_json(t);
	is_int(jget(doc, "totals", "requests"), 300,
	       "the same file again is not imported twice");
	json_object_put(doc);
	is_int(mode_of("usage.jsonl"), 0, "but renamed");
	ledger_free(l);
	usage_table_free(t);
}

/* Plants `what` at `name`, then expects store_open to refuse it and the
 * target to be untouched. */
static void
refused(const char *name, const char *what)
{
	char p[512], target[512], err[512];
	struct store *s;
	struct stat st;

	rm_state();
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	snprintf(target, sizeof(target), "%s/target", dir);
	close(open(target, O_WRONLY | O_CREAT, 0644));
	if (strcmp(name, "usage.db") != 0)
		store_free(store_open(dir, true, err, sizeof(err)));
	unlink(p);
	if (strcmp(what, "symlink") == 0)
		symlink(target, p);
	else if (strcmp(what, "hard link") == 0)
		link(target, p);
	else
		mkfifo(p, 0600);
	s = store_open(dir, true, err, sizeof(err));
	ok(s == NULL, "a %s at %s is refused: %s", what, name, err);
	ok(stat(target, &st) == 0 && st.st_size == 0 &&
		   (st.st_mode & 0777) == 0644,
	   "its target is untouched");
	store_free(s);
}

/* A real usage.db whose pages are overwritten: refused at start-up. */
static void
corrupt_pages(void)
{
	static struct usage_record r[2000];
	static char junk[4096 * 40];
	struct usage_table *t = usage_table_new();
	char p[512], err[512];
	struct store *s = store_open(dir, true, err, sizeof(err));
	struct ledger *l;
	int fd;

	for (int i = 0; i < 2000; i++)
		rec(&r[i], i, T0 + i);
	store_commit(s, r, 2000, err, sizeof(err));
	store_free(s);
	snprintf(p, sizeof(p), "%s/usage.db", dir);
	memset(junk, 0xff, sizeof(junk));
	fd = open(p, O_WRONLY);
	ok(pwrite(fd, junk, sizeof(junk), 4096 * 3) == (ssize_t)sizeof(junk),
	   "a usage.db with pages overwritten");
	close(fd);
	l = ledger_open(dir, t, err, sizeof(err));
	ok(!l && strstr(err, "malformed") && strstr(err, "untouched"),
	   "is refused in one line: %s", err);
	ledger_free(l);
	usage_table_free(t);
	rm_state();
}

static void
test_safety(void)
{
	char p[512], err[512];
	struct store *s;
	sqlite3 *db;
	struct stat st;
	int fd;

	refused("usage.db", "symlink");
	refused("usage.db", "hard link");
	refused("usage.db", "FIFO");
	refused("usage.db-wal", "symlink");
	refused("usage.db-wal", "FIFO");
	refused("usage.db-shm", "hard link");
	rm_state();
	snprintf(p, sizeof(p), "%s/usage.db", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ok(write(fd,
		 "garbage, not SQLite at all, but long enough to be a "
		 "header of a sort",
		 68) == 68,
	   "a garbage usage.db");
	close(fd);
	s = store_open(dir, true, err, sizeof(err));
	ok(!s && strstr(err, "not a usage database"), "is refused: %s", err);
	ok(stat(p, &st) == 0 && st.st_size == 68, "and left untouched");
	rm_state();
	sqlite3_open(p, &db);
	sqlite3_exec(db, "CREATE TABLE foreign_t (x)", NULL, NULL, NULL);
	sqlite3_close(db);
	s = store_open(dir, true, err, sizeof(err));
	ok(!s && strstr(err, "not a usage database"),
	   "a foreign SQLite database is refused: %s", err);
	rm_state();
	store_free(store_open(dir, true, err, sizeof(err)));
	sqlite3_open(p, &db);
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	s = store_open(dir, true, err, sizeof(err));
	ok(!s && strstr(err, "newer"), "a newer schema is refused: %s", err);
	rm_state();
	corrupt_pages();
}

static int64_t
counted(struct usage_table *t)
{
	struct json_object *doc = usage_table_json(t);
	int64_t n = jget(doc, "totals", "requests");

	json_object_put(doc);
	return n;
}

static void
test_failed_commit(void)
{
	char err[512], p[512];
	struct usage_table *t = usage_table_new();
	struct ledger_stats st;
	struct usage_record r;
	struct ledger *l;
	sqlite3 *blocker;
	int i;

	rm_state();
	l = ledger_open(dir, t, err, sizeof(err));
	ledger_start(l);
	snprintf(p, sizeof(p), "%s/usage.db", dir);
	sqlite3_open(p, &blocker);
	/* Another writer holds the lock past the busy timeout. */
	ok(sqlite3_exec(blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
		   SQLITE_OK,
	   "another connection holds the write lock");
	for (i = 0; i < 50; i++) {
		rec(&r, i, T0 + i);
		ledger_append(l, &r);
	}
	/* A commit waits out the busy timeout (1 s) and then fails; the
	 * writer may wait for the CPU first (it runs in SCHED_IDLE, and
	 * under ASan beside other tests). */
	for (i = 0; i < 100; i++) {
		ledger_stats(l, &st);
		if (st.failures >= 1)
			break;
		usleep(100 * 1000);
	}
	is_int(counted(t), 0, "nothing counted that did not commit");
	ok(st.degraded && strstr(st.reason, "commit failed"),
	   "degraded, with the reason: %s", st.reason);
	is_int(st.queued, 50, "the records stay queued");
	ok(st.failures >= 1, "the failure is counted");
	for (i = 0; i < LEDGER_QUEUE_MAX; i++)
		ledger_append(l, &r);
	ledger_stats(l, &st);
	is_int(st.lost, 50, "past the bound, the overflow is counted lost");
	sqlite3_exec(blocker, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < 100 && counted(t) < LEDGER_QUEUE_MAX; i++)
		usleep(100 * 1000);
	ledger_stats(l, &st);
	is_int(counted(t), LEDGER_QUEUE_MAX,
	       "once the lock is gone, every queued record lands and counts");
	ok(!st.degraded && st.queued == 0, "no longer degraded");
	sqlite3_close(blocker);
	ledger_free(l);
	usage_table_free(t);
}

static void *
recorder(void *arg)
{
	struct usage_record r;
	long id = (long)arg;

	for (int i = 0; i < PER_THREAD; i++) {
		rec(&r, i, T0 + i);
		snprintf(r.model, sizeof(r.model), "m%ld", id % 4);
		r.input_tokens = id + 1;
		ledger_append(shared, &r);
	}
	return NULL;
}

static void *
reader(void *arg)
{
	struct usage_table *t = arg;
	struct store *s = ledger_reader(shared);
	struct store_filter f;
	int64_t next;
	long loops = 0;

	store_filter_init(&f);
	f.limit = 100;
	while (!atomic_load(&readers_stop) && s) {
		json_object_put(store_window_json(s, t, T0 + 10));
		json_object_put(store_requests_json(s, &f, &next));
		loops++;
	}
	store_free(s);
	return (void *)loops;
}

static void
test_concurrent(void)
{
	char err[512];
	struct usage_table *t = usage_table_new();
	struct json_object *doc;
	pthread_t th[THREADS], rd;
	void *loops;
	int64_t want = 0;

	rm_state();
	shared = ledger_open(dir, t, err, sizeof(err));
	ledger_start(shared);
	pthread_create(&rd, NULL, reader, t);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, recorder, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ledger_free(shared); /* commits and counts what is queued */
	atomic_store(&readers_stop, 1);
	pthread_join(rd, &loops);
	for (long i = 0; i < THREADS; i++)
		want += (i + 1) * PER_THREAD;
	doc = usage_table_json(t);
	is_int(jget(doc, "totals", "requests"), THREADS * PER_THREAD,
	       "16 recorders: every record counted");
	is_int(jget(doc, "totals", "input_tokens"), want,
	       "16 recorders: exact token totals");
	json_object_put(doc);
	ok((long)loops > 0,
	   "the reader answered %ld windows and pages "
	   "meanwhile",
	   (long)loops);
	usage_table_free(t);
	t = usage_table_new();
	shared = ledger_open(dir, t, err, sizeof(err));
	doc = usage_table_json(t);
	is_int(jget(doc, "totals", "input_tokens"), want,
	       "the same after a reopen, from the summary");
	json_object_put(doc);
	ledger_free(shared);
	usage_table_free(t);
}

int
main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_commit_load_window();
	test_requests();
	test_export_and_prune();
	test_import();
	test_safety();
	test_failed_commit();
	test_concurrent();
	rm_state();
	rmdir(dir);
	return tap_done();
}
