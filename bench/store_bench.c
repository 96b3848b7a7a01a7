/* SPDX-License-Identifier: GPL-2.0-or-later
 * store_bench.c - usage.db against the usage.jsonl ledger it replaced.
 *
 * Usage:
 *   store_bench fill DIR N    fills DIR/usage.db with N records (through
 *                             store_commit, batches of 10,000), their
 *                             times spread over the 60 days up to now
 *   store_bench rate N        N records from 8 threads through the real
 *                             ledger (usage.db, synchronous=FULL) and
 *                             through the old JSONL ledger (bench/jledger.c,
 *                             fdatasync per batch), in the same run: the
 *                             records per second each sustains, counted
 *   store_bench query DIR     the API's queries on a read connection:
 *                             /v1/usage?since=1d and /v1/requests?limit=100,
 *                             median of 50, in ms
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "jledger.h"
#include "ledger.h"
#include "store.h"
#include "usage.h"

#define BENCH_THREADS 8

static void
rec(struct usage_record *r, long i, double t)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	snprintf(r->model, sizeof(r->model), "model-%ld", i % 7);
	snprintf(r->endpoint, sizeof(r->endpoint), i % 3 ?
		 "streamGenerateContent" : "generateContent");
	snprintf(r->host, sizeof(r->host), "daily-cloudcode-pa.googleapis.com");
	snprintf(r->raw, sizeof(r->raw), "{\"promptTokenCount\":%ld}", i);
	snprintf(r->transport, sizeof(r->transport), "sse");
	r->has_usage = r->complete = true;
	r->status = 200;
	r->input_tokens = 1000 + i % 100;
	r->output_tokens = i % 50;
	r->total_tokens = r->input_tokens + r->output_tokens;
	r->uid = 1000;
}

static int
fill(const char *dir, long n)
{
	char err[512];
	struct store *s = store_open(dir, true, err, sizeof(err));
	struct usage_record *b = calloc(10000, sizeof(*b));
	double now = clock_wall(), t0 = clock_mono_msf();

	if (!s || !b) {
		fprintf(stderr, "fill: %s\n", err);
		return 1;
	}
	for (long i = 0; i < n;) {
		long k = 0;

		for (; k < 10000 && i < n; k++, i++)
			rec(&b[k], i, now - 60 * 86400.0 +
			    60 * 86400.0 * (double)i / (double)n);
		if (store_commit(s, b, (size_t)k, err, sizeof(err)) < 0) {
			fprintf(stderr, "fill: %s\n", err);
			return 1;
		}
	}
	printf("fill: %ld records in %.1f s\n", n,
	       (clock_mono_msf() - t0) / 1000);
	store_free(s);
	free(b);
	return 0;
}

static int64_t
counted(struct usage_table *t)
{
	struct json_object *doc = usage_table_json(t), *tot, *v;
	int64_t n = 0;

	if (json_object_object_get_ex(doc, "totals", &tot) &&
	    json_object_object_get_ex(tot, "requests", &v))
		n = json_object_get_int64(v);
	json_object_put(doc);
	return n;
}

struct bench_arg {
	void *l;
	bool jsonl;
	long n;
	long id;
};

static void *
appender(void *arg)
{
	struct bench_arg *a = arg;
	struct usage_record r;

	for (long i = 0; i < a->n; i++) {
		rec(&r, i, clock_wall());
		if (a->jsonl)
			jledger_append(a->l, &r);
		else
			while (ledger_append(a->l, &r) < 0)
				usleep(100);	/* the queue's bound */
	}
	return NULL;
}

/* Records per second from 8 appenders until all are counted. */
static double
rate(bool jsonl, long n)
{
	char dir[] = "/var/tmp/agp-bench-store-XXXXXX", path[512], err[512];
	struct usage_table *t = usage_table_new();
	struct bench_arg a[BENCH_THREADS];
	pthread_t th[BENCH_THREADS];
	unsigned long replayed;
	void *l;
	double t0, el;

	if (!mkdtemp(dir))
		return 0;
	snprintf(path, sizeof(path), "%s/usage.jsonl", dir);
	if (jsonl) {
		l = jledger_open(path, t, &replayed);
		jledger_start(l);
	} else {
		l = ledger_open(dir, t, err, sizeof(err));
		ledger_start(l);
	}
	t0 = clock_mono_msf();
	for (int i = 0; i < BENCH_THREADS; i++) {
		a[i] = (struct bench_arg){ l, jsonl, n / BENCH_THREADS, i };
		pthread_create(&th[i], NULL, appender, &a[i]);
	}
	for (int i = 0; i < BENCH_THREADS; i++)
		pthread_join(th[i], NULL);
	while (counted(t) < n / BENCH_THREADS * BENCH_THREADS)
		usleep(1000);
	el = (clock_mono_msf() - t0) / 1000;
	if (jsonl)
		jledger_free(l);
	else
		ledger_free(l);
	usage_table_free(t);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "rate: cleaning %s failed\n", dir);
	return (double)(n / BENCH_THREADS * BENCH_THREADS) / el;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
query(const char *dir)
{
	char err[512];
	struct store *s = store_open(dir, false, err, sizeof(err));
	struct usage_table *t = usage_table_new();
	struct store_filter f;
	double win[50], req[50];
	int64_t next;

	if (!s) {
		fprintf(stderr, "query: %s\n", err);
		return 1;
	}
	store_filter_init(&f);
	for (int i = 0; i < 50; i++) {
		double t0 = clock_mono_msf();

		json_object_put(store_window_json(s, t, clock_wall() - 86400));
		win[i] = clock_mono_msf() - t0;
		t0 = clock_mono_msf();
		json_object_put(store_requests_json(s, &f, &next));
		req[i] = clock_mono_msf() - t0;
	}
	qsort(win, 50, sizeof(double), cmp_double);
	qsort(req, 50, sizeof(double), cmp_double);
	printf("query: since=1d %.2f ms, requests?limit=100 %.2f ms "
	       "(median of 50)\n", win[25], req[25]);
	store_free(s);
	usage_table_free(t);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2], atol(argv[3]));
	if (argc == 3 && strcmp(argv[1], "query") == 0)
		return query(argv[2]);
	if (argc == 3 && strcmp(argv[1], "rate") == 0) {
		long n = atol(argv[2]);
		double j = rate(true, n), s = rate(false, n);

		printf("rate: usage.db %.0f records/s, usage.jsonl %.0f "
		       "records/s (same run); ratio %.2f\n", s, j, s / j);
		return 0;
	}
	fprintf(stderr, "usage: store_bench fill DIR N | rate N | query DIR\n");
	return 2;
}
