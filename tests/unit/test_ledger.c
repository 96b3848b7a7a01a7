/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_ledger.c - usage.jsonl: append, replay, torn and malformed lines,
 * concurrent appenders.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "tap.h"
#include "usage.h"

static char dir[] = "/tmp/agp-test-ledger-XXXXXX";
static char path[256];
static struct ledger *shared;

static int64_t
total(struct usage_table *t, const char *field)
{
	struct json_object *doc = usage_table_json(t, 0), *tot, *v;
	int64_t n = -1;

	if (json_object_object_get_ex(doc, "totals", &tot) &&
	    json_object_object_get_ex(tot, field, &v))
		n = json_object_get_int64(v);
	json_object_put(doc);
	return n;
}

static void
rec(struct usage_record *r, int i)
{
	memset(r, 0, sizeof(*r));
	r->time = 1795921262.0 + i;
	snprintf(r->model, sizeof(r->model), "model-%d", i % 3);
	snprintf(r->endpoint, sizeof(r->endpoint), "messages");
	r->has_usage = r->complete = true;
	r->status = 200;
	r->input_tokens = 100 + i;
	r->output_tokens = i;
	r->total_tokens = 100 + 2 * i;
}

static void *
appender(void *arg)
{
	struct usage_record r;

	for (int i = 0; i < 250; i++) {
		rec(&r, i + (int)(long)arg);
		ledger_append(shared, &r);
	}
	return NULL;
}

static size_t
file_size(void)
{
	struct stat st;

	return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

int
main(void)
{
	struct usage_table *t = usage_table_new(), *t2;
	struct usage_record r;
	struct ledger *l;
	unsigned long n = 99;
	pthread_t th[8];
	int fd;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/usage.jsonl", dir);

	l = ledger_open(path, t, &n);
	ok(l && n == 0, "a missing ledger is created empty");
	ok(ledger_start(l) == 0, "the writer starts");
	is_int(file_size(), 0, "nothing written yet");
	ok(access(path, F_OK) == 0, "file exists");
	{
		struct stat st;

		stat(path, &st);
		is_int(st.st_mode & 0777, 0600, "ledger is 0600");
	}
	for (int i = 0; i < 10; i++) {
		rec(&r, i);
		ok(ledger_append(l, &r) == 0, "append %d", i);
	}
	ledger_free(l);		/* drains: written, synced, counted */
	is_int(total(t, "requests"), 10, "appended records are counted");
	is_int(total(t, "input_tokens"), 10 * 100 + 45,
	       "... with their numbers");

	t2 = usage_table_new();
	l = ledger_open(path, t2, &n);
	is_int(n, 10, "replay reads every record");
	is_int(total(t2, "input_tokens"), total(t, "input_tokens"),
	       "replayed input totals equal the originals");
	is_int(total(t2, "total_tokens"), total(t, "total_tokens"),
	       "replayed total tokens equal the originals");
	ledger_free(l);
	usage_table_free(t2);

	/* A crash mid-write leaves a torn last line. */
	fd = open(path, O_WRONLY | O_APPEND);
	if (write(fd, "{\"ts\":1795921300,\"input_tok", 27) != 27)
		return 1;
	close(fd);
	t2 = usage_table_new();
	l = ledger_open(path, t2, &n);
	is_int(n, 10, "a torn last line is skipped");
	rec(&r, 10);
	ledger_append(l, &r);
	ledger_free(l);
	usage_table_free(t2);
	t2 = usage_table_new();
	l = ledger_open(path, t2, &n);
	is_int(n, 11, "the torn tail was cut: the next record is whole");
	ledger_free(l);
	usage_table_free(t2);

	/* A malformed line in the middle is skipped, the rest kept. */
	fd = open(path, O_WRONLY | O_APPEND);
	if (write(fd, "not json\n", 9) != 9)
		return 1;
	close(fd);
	t2 = usage_table_new();
	l = ledger_open(path, t2, &n);
	is_int(n, 11, "a malformed line is skipped");
	shared = l;
	ledger_start(l);
	for (long i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, appender, (void *)(i * 1000));
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	ledger_free(l);
	usage_table_free(t2);
	t2 = usage_table_new();
	l = ledger_open(path, t2, &n);
	is_int(n, 11 + 8 * 250, "8 concurrent appenders: every line whole");
	ledger_free(l);
	usage_table_free(t2);

	/* Group commit: records that trickle in (one every 200 us, slower
	 * than a sync) share a sync per gathering window, not one each. */
	t2 = usage_table_new();
	l = ledger_open(path, t2, &n);
	ledger_start(l);
	{
		struct timespec a, b;
		long ms;
		unsigned long errors, syncs;

		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < 200; i++) {
			rec(&r, i);
			ledger_append(l, &r);
			usleep(200);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (b.tv_sec - a.tv_sec) * 1000 +
		     (b.tv_nsec - a.tv_nsec) / 1000000;
		usleep(50 * 1000);
		ledger_stats(l, &errors, &syncs);
		ok(syncs >= 1 && syncs <= (unsigned long)(ms / 5 + 2),
		   "200 records over %ld ms took %lu syncs (one per 5 ms "
		   "window at most)", ms, syncs);
		is_int(total(t2, "requests"), 11 + 8 * 250 + 200,
		       "all of them are counted after their sync");
		is_int(errors, 0, "and none failed to be made durable");
	}
	ledger_free(l);
	usage_table_free(t2);

	usage_table_free(t);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
