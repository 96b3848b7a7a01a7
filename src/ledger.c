/* SPDX-License-Identifier: GPL-2.0-or-later
 * ledger.c - the writer of usage.db: every record committed, then counted.
 *
 * A record counts in the table only after its transaction commits
 * (synchronous=FULL), so a crash never loses a record that /v1/usage
 * showed. Workers only queue their records: the writer thread takes the
 * whole queue, commits it as one transaction and then counts it. It
 * gathers for LEDGER_GATHER_MS after the first record of a batch, so one
 * commit covers every record of that window however fast they come, and
 * no client waits for the disk before its next request.
 *
 * A failed commit (disk full, I/O error, read-only file system, a lock
 * held too long) rolls back; the batch stays queued, ahead of what comes
 * next, and is retried after LEDGER_BACKOFF_MIN_MS doubling to
 * LEDGER_BACKOFF_MAX_MS. Meanwhile the daemon is degraded (/health 503
 * with the reason, a metric, a warning). Nothing is counted that did not
 * commit and nothing is dropped silently: past LEDGER_QUEUE_MAX waiting
 * records, new ones are lost, counted and warned about.
 * With --retain, the writer prunes old records between commits, at most
 * LEDGER_PRUNE_BATCH per short transaction.
 *
 * Threading: l->lock guards the queue, the pending count, `stop` and the
 *   statistics; the writer holds it only to swap the queue out. The store
 *   connection is the writer's alone once it runs (main's before).
 * Ownership: struct ledger owns its store, queue and batch.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "buf.h"
#include "clock.h"
#include "ledger.h"
#include "log.h"
#include "store.h"

/* How long the writer gathers records before it commits them: the delay
 * before a record counts, and the bound on commits per second. */
#define LEDGER_GATHER_MS 5
#define LEDGER_BACKOFF_MIN_MS 50
#define LEDGER_BACKOFF_MAX_MS 5000
#define LEDGER_PRUNE_BATCH 500
#define LEDGER_WARN_EVERY_MS 10000

struct ledger {
	char *dir;
	struct usage_table *table;
	struct store *store; /* the writer's */
	double retain_s;
	pthread_t writer;
	bool started;
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t more;  /* the queue is not empty, or stop */
	struct usage_record *queue;
	size_t n, cap;
	size_t pending; /* the writer's uncommitted batch */
	bool stop;
	struct ledger_stats st;
	int64_t lost_warned; /* when a loss was last logged */
	int64_t fail_warned; /* the writer's: when a failed
					 * commit was last logged */
};

static void *writer_main(void *arg);

struct ledger *
ledger_open(const char *state_dir, struct usage_table *t, char *err,
	    size_t errlen)
{
	struct ledger *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;
	unsigned long n = 0;

	snprintf(err, errlen, "out of memory");
	if (!l || !(l->dir = strdup(state_dir)))
		goto fail;
	l->table = t;
	l->lost_warned = -LEDGER_WARN_EVERY_MS;
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->more, &ca);
	pthread_condattr_destroy(&ca);
	if (!(l->store = store_open(state_dir, true, err, errlen)))
		goto fail;
	if (store_import_jsonl(l->store, state_dir, &n) < 0) {
		snprintf(err, errlen, "%s/usage.jsonl: the import failed",
			 state_dir);
		goto fail;
	}
	if (store_load(l->store, t) < 0) {
		snprintf(err, errlen,
			 "%s/" STORE_FILE ": reading its summary: "
			 "%s; refusing it, left untouched",
			 state_dir, sqlite3_errmsg(store_db(l->store)));
		goto fail;
	}
	return l;
fail:
	ledger_free(l);
	return NULL;
}

void
ledger_set_retain(struct ledger *l, double retain_s)
{
	l->retain_s = retain_s;
}

struct store *
ledger_reader(struct ledger *l)
{
	char err[STORE_ERR_MAX];
	struct store *s = store_open(l->dir, false, err, sizeof(err));

	if (!s)
		log_errx("store: read connection: %s", err);
	return s;
}

int
ledger_start(struct ledger *l)
{
	int rc = pthread_create(&l->writer, NULL, writer_main, l);

	if (rc != 0) {
		errno = rc;
		log_err("ledger: cannot start the writer");
		return -1;
	}
	l->started = true;
	return 0;
}

void
ledger_free(struct ledger *l)
{
	if (!l)
		return;
	if (!l->started && l->n > 0 && l->store)
		ledger_start(l); /* so that what was queued is written */
	if (l->started) {
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		pthread_cond_signal(&l->more);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->writer, NULL); /* it drains the queue */
	}
	store_free(l->store);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->more);
	free(l->queue);
	free(l->dir);
	free(l);
}

int
ledger_append(struct ledger *l, const struct usage_record *r)
{
	struct usage_record *q;
	unsigned long lost = 0;
	bool warn = false;
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	if (l->n + l->pending >= LEDGER_QUEUE_MAX ||
	    !(q = buf_grow_array(l->queue, &l->cap, l->n + 1, sizeof(*q))))
		rc = -1;
	else
		l->queue = q;
	if (rc == 0) {
		/* The first record of a batch wakes the writer; the rest of
		 * its window does not. */
		if (l->n++ == 0)
			pthread_cond_signal(&l->more);
		l->queue[l->n - 1] = *r;
	} else {
		lost = ++l->st.lost;
		if (clock_mono_ms() - l->lost_warned >= LEDGER_WARN_EVERY_MS) {
			l->lost_warned = clock_mono_ms();
			warn = true;
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (warn)
		log_warnx("ledger: %lu records waiting (the most kept) or out "
			  "of memory: a record is lost (%lu in all)",
			  (unsigned long)LEDGER_QUEUE_MAX, lost);
	return rc;
}

/* Waits until `ms` from now, or a stop; l->lock held. With `any`, a new
 * record ends the wait too. */
static void
wait_ms(struct ledger *l, long ms, bool any)
{
	struct timespec until;
	size_t n0 = l->n;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!l->stop && !(any && l->n != n0) &&
	       pthread_cond_timedwait(&l->more, &l->lock, &until) != ETIMEDOUT)
		;
}

/* Moves the queue behind the batch's pending records; l->lock held. */
static int
take_queue(struct ledger *l, struct usage_record **batch, size_t *bn,
	   size_t *bcap)
{
	if (*bn == 0) { /* swap: appenders go on while we commit */
		struct usage_record *q = l->queue;
		size_t c = l->cap;

		l->queue = *batch;
		l->cap = *bcap;
		*batch = q;
		*bcap = c;
		*bn = l->n;
	} else if (l->n) {
		struct usage_record *p =
			buf_grow_array(*batch, bcap, *bn + l->n, sizeof(*p));

		if (!p)
			return -1; /* next round */
		*batch = p;
		memcpy(*batch + *bn, l->queue, l->n * sizeof(**batch));
		*bn += l->n;
	}
	l->n = 0;
	l->pending = *bn;
	return 0;
}

/* Commits the batch; counts it when it committed. Returns the backoff
 * for the next try, 0 after a success. */
static long
commit(struct ledger *l, struct usage_record *batch, size_t n, long backoff)
{
	char err[STORE_ERR_MAX];
	bool was, warn;
	int rc = store_commit(l->store, batch, n, err, sizeof(err));

	pthread_mutex_lock(&l->lock);
	was = l->st.degraded;
	if (rc == 0) {
		l->st.commits++;
		l->st.degraded = false;
		l->pending = 0;
	} else {
		l->st.failures++;
		l->st.degraded = true;
		snprintf(l->st.reason, sizeof(l->st.reason),
			 "usage.db: commit failed: %s", err);
	}
	pthread_mutex_unlock(&l->lock);
	if (rc == 0) {
		/* Durable: now they count. */
		for (size_t i = 0; i < n; i++)
			usage_record(l->table, &batch[i]);
		if (was)
			log_info("ledger: usage.db commits again; %zu queued "
				 "records committed and counted",
				 n);
		return 0;
	}
	backoff = backoff ? backoff * 2 : LEDGER_BACKOFF_MIN_MS;
	if (backoff > LEDGER_BACKOFF_MAX_MS)
		backoff = LEDGER_BACKOFF_MAX_MS;
	warn = !was || clock_mono_ms() - l->fail_warned >= LEDGER_WARN_EVERY_MS;
	if (warn) {
		l->fail_warned = clock_mono_ms();
		log_warnx("ledger: usage.db: commit of %zu records failed: %s;"
			  " kept queued, not counted, retrying",
			  n, err);
	}
	return backoff;
}

/* One short prune transaction, when due; returns when the next is. */
static int64_t
prune(struct ledger *l, int64_t now)
{
	long n = store_prune(l->store, clock_wall() - l->retain_s,
			     LEDGER_PRUNE_BATCH);

	if (n > 0) {
		pthread_mutex_lock(&l->lock);
		l->st.pruned += (unsigned long)n;
		pthread_mutex_unlock(&l->lock);
	}
	return now + (n == LEDGER_PRUNE_BATCH ? 20 : 1000);
}

static void *
writer_main(void *arg)
{
	struct ledger *l = arg;
	struct usage_record *batch = NULL;
	size_t n = 0, cap = 0;
	long backoff = 0;
	int64_t next_prune = 0;
	bool stop;

	for (;;) {
		pthread_mutex_lock(&l->lock);
		if (backoff)
			wait_ms(l, backoff, false);
		else if (l->n == 0 && !l->stop)
			wait_ms(l, l->retain_s > 0 ? 1000 : 3600000, true);
		if (l->n)
			wait_ms(l, LEDGER_GATHER_MS, false);
		take_queue(l, &batch, &n, &cap);
		stop = l->stop;
		pthread_mutex_unlock(&l->lock);

		if (n && (backoff = commit(l, batch, n, backoff)) == 0)
			n = 0;
		if (stop && n && backoff) {
			/* One last try, then the loss is said. */
			if ((backoff = commit(l, batch, n, backoff)) != 0) {
				log_errx("ledger: stopping with %zu records "
					 "that could not be committed; they "
					 "are lost",
					 n);
				pthread_mutex_lock(&l->lock);
				l->st.lost += n;
				l->pending = 0;
				pthread_mutex_unlock(&l->lock);
			}
			n = 0;
		}
		if (!backoff && l->retain_s > 0 &&
		    clock_mono_ms() >= next_prune)
			next_prune = prune(l, clock_mono_ms());
		if (stop && n == 0) {
			pthread_mutex_lock(&l->lock);
			stop = l->n == 0;
			pthread_mutex_unlock(&l->lock);
			if (stop)
				break;
		}
	}
	free(batch);
	return NULL;
}

int
ledger_reopen(struct ledger *l)
{
	(void)l;
	return 0;
}

void
ledger_stats(struct ledger *l, struct ledger_stats *st)
{
	pthread_mutex_lock(&l->lock);
	*st = l->st;
	st->queued = l->n + l->pending;
	pthread_mutex_unlock(&l->lock);
}
