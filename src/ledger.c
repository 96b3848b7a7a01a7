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
 * The writer runs in the SCHED_IDLE class (sched(7)), so that a commit's
 * CPU never holds back a relaying thread: one that wakes preempts the
 * writer at once. (On 2 cores, commits at the normal class delayed one
 * warm request in a hundred by up to a millisecond.) A thread cannot
 * leave SCHED_IDLE again without privilege, so that a busy machine
 * cannot starve the writer, a second committer, its relief, stays at
 * the normal class: it sleeps until a queued record has waited
 * LEDGER_URGENT_MS, then commits the whole queue itself. The idle writer
 * takes at most LEDGER_IDLE_BATCH records at a time: a commit it began
 * before the CPUs filled up holds the store until it gets the CPU to end
 * it, and the relief waits that long (0.3 to 1.8 s with 4 spinning
 * threads on 2 cores, test_ledger), which a small batch keeps short.
 *
 * Threading: l->lock guards the queue, the pending counts, `stop` and
 *   the statistics; a committer holds it only to take records. l->store
 *   is the committers' (main's before they run), under l->store_lock.
 * Ownership: struct ledger owns its store and queue, each committer its
 *   batch.
 */
#include "config.h"

#include <errno.h>
#include <linux/ioprio.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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
/* The relief commits what has waited this long; the idle writer takes
 * this many records at a time (about half a millisecond of CPU). */
#define LEDGER_URGENT_MS 200
#define LEDGER_IDLE_BATCH 32

/* One thread that commits: the writer (SCHED_IDLE) or its relief. */
struct committer {
	struct ledger *l;
	bool relief;
	bool started;
	pthread_t thread;
	size_t pending; /* its batch, not yet committed; l->lock */
};

struct ledger {
	char *dir;
	struct usage_table *table;
	struct store *store; /* under store_lock */
	pthread_mutex_t store_lock;
	double retain_s;
	struct committer writer, relief;
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t more;  /* the queue is not empty, or stop */
	pthread_cond_t late;  /* the relief's: the same, while it sleeps */
	bool relief_asleep;   /* until the queue is not empty */
	/* queued: queue[head, n); head and n are 0 whenever it is empty */
	struct usage_record *queue;
	size_t head, n, cap;
	int64_t since; /* when the queue's first record came */
	bool stop;
	struct ledger_stats st;
	int64_t lost_warned; /* when a loss was last logged */
	int64_t fail_warned; /* when a failed commit was last logged */
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
	pthread_mutex_init(&l->store_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->more, &ca);
	pthread_cond_init(&l->late, &ca);
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

static int
committer_start(struct ledger *l, struct committer *c, bool relief)
{
	int rc;

	c->l = l;
	c->relief = relief;
	if ((rc = pthread_create(&c->thread, NULL, writer_main, c)) != 0) {
		errno = rc;
		log_err("ledger: cannot start the %s",
			relief ? "writer's relief" : "writer");
		return -1;
	}
	c->started = true;
	return 0;
}

static void
committers_stop(struct ledger *l)
{
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_cond_signal(&l->more);
	pthread_cond_signal(&l->late);
	pthread_mutex_unlock(&l->lock);
	/* They drain the queue. */
	if (l->relief.started)
		pthread_join(l->relief.thread, NULL);
	if (l->writer.started)
		pthread_join(l->writer.thread, NULL);
	l->relief.started = l->writer.started = false;
}

/* The relief first: without it the writer must not idle. */
int
ledger_start(struct ledger *l)
{
	if (committer_start(l, &l->relief, true) < 0 ||
	    committer_start(l, &l->writer, false) < 0) {
		committers_stop(l);
		return -1;
	}
	return 0;
}

void
ledger_free(struct ledger *l)
{
	if (!l)
		return;
	if (!l->writer.started && l->n > 0 && l->store)
		ledger_start(l); /* so that what was queued is written */
	committers_stop(l);
	store_free(l->store);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->store_lock);
	pthread_cond_destroy(&l->more);
	pthread_cond_destroy(&l->late);
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
	if (l->n - l->head + l->writer.pending + l->relief.pending >=
		    LEDGER_QUEUE_MAX ||
	    !(q = buf_grow_array(l->queue, &l->cap, l->n + 1, sizeof(*q))))
		rc = -1;
	else
		l->queue = q;
	if (rc == 0) {
		/* The first record of a batch wakes the writer; the rest of
		 * its window does not. */
		if (l->n++ == 0) {
			l->since = clock_mono_ms();
			pthread_cond_signal(&l->more);
			if (l->relief_asleep) {
				l->relief_asleep = false;
				pthread_cond_signal(&l->late);
			}
		}
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

/* Waits on cv until `ms` from now, or a stop; l->lock held. With `any`,
 * a new record ends the wait too. */
static void
wait_on(struct ledger *l, pthread_cond_t *cv, long ms, bool any)
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
	       pthread_cond_timedwait(cv, &l->lock, &until) != ETIMEDOUT)
		;
}

/* Moves up to `max` queued records behind the batch's pending ones;
 * l->lock held. What is left keeps l->since, older than it is: the
 * relief may come early for it, never late. */
static int
take_queue(struct ledger *l, struct committer *c, struct usage_record **batch,
	   size_t *bn, size_t *bcap, size_t max)
{
	size_t left = l->n - l->head, k = left < max ? left : max;

	/* All of it, to an empty batch: swapped, so appenders go on. */
	if (*bn == 0 && l->head == 0 && k == left) {
		struct usage_record *q = l->queue;
		size_t cap = l->cap;

		l->queue = *batch;
		l->cap = *bcap;
		*batch = q;
		*bcap = cap;
		*bn = k;
	} else if (k) {
		struct usage_record *p =
			buf_grow_array(*batch, bcap, *bn + k, sizeof(*p));

		if (!p)
			return -1; /* next round */
		*batch = p;
		memcpy(*batch + *bn, l->queue + l->head, k * sizeof(**batch));
		*bn += k;
	}
	l->head += k;
	if (l->head == l->n)
		l->head = l->n = 0;
	c->pending = *bn;
	return 0;
}

/* Commits the batch; counts it when it committed. Returns the backoff
 * for the next try, 0 after a success. */
static long
commit(struct ledger *l, struct committer *c, struct usage_record *batch,
       size_t n, long backoff)
{
	char err[STORE_ERR_MAX];
	bool was, warn = false;
	int rc;

	pthread_mutex_lock(&l->store_lock);
	rc = store_commit(l->store, batch, n, err, sizeof(err));
	pthread_mutex_unlock(&l->store_lock);
	pthread_mutex_lock(&l->lock);
	was = l->st.degraded;
	if (rc == 0) {
		l->st.commits++;
		l->st.degraded = false;
		c->pending = 0;
	} else {
		l->st.failures++;
		l->st.degraded = true;
		snprintf(l->st.reason, sizeof(l->st.reason),
			 "usage.db: commit failed: %s", err);
		if (!was ||
		    clock_mono_ms() - l->fail_warned >= LEDGER_WARN_EVERY_MS) {
			l->fail_warned = clock_mono_ms();
			warn = true;
		}
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
	if (warn)
		log_warnx("ledger: usage.db: commit of %zu records failed: %s;"
			  " kept queued, not counted, retrying",
			  n, err);
	backoff = backoff ? backoff * 2 : LEDGER_BACKOFF_MIN_MS;
	return backoff > LEDGER_BACKOFF_MAX_MS ? LEDGER_BACKOFF_MAX_MS
					       : backoff;
}

/* One short prune transaction, when due; returns when the next is. */
static int64_t
prune(struct ledger *l, int64_t now)
{
	long n;

	pthread_mutex_lock(&l->store_lock);
	n = store_prune(l->store, clock_wall() - l->retain_s,
			LEDGER_PRUNE_BATCH);
	pthread_mutex_unlock(&l->store_lock);
	if (n > 0) {
		pthread_mutex_lock(&l->lock);
		l->st.pruned += (unsigned long)n;
		pthread_mutex_unlock(&l->lock);
	}
	return now + (n == LEDGER_PRUNE_BATCH ? 20 : 1000);
}

/* The writer in SCHED_IDLE, its I/O kept best-effort (SCHED_IDLE alone
 * would make it idle too, and a commit's fsync wait on every other disk
 * user); false when refused. */
static bool
writer_idle(void)
{
	struct sched_param sp = { .sched_priority = 0 };

	return syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		       IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, IOPRIO_NORM)) == 0 &&
	       pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0;
}

/* The writer's wait: for a first record, then until the queue's first
 * record is LEDGER_GATHER_MS old (at once for what it left behind). */
static void
writer_wait(struct ledger *l, long backoff)
{
	int64_t left;

	if (backoff)
		wait_on(l, &l->more, backoff, false);
	else if (l->n == 0 && !l->stop)
		wait_on(l, &l->more, l->retain_s > 0 ? 1000 : 3600000, true);
	if (l->n && (left = l->since + LEDGER_GATHER_MS - clock_mono_ms()) > 0)
		wait_on(l, &l->more, (long)left, false);
}

/* The relief's: until a queued record has waited LEDGER_URGENT_MS (the
 * writer would have taken it by then, had it had the CPU), or a stop.
 * Asleep while the queue is empty, it is woken by the next record only:
 * at most one wake-up per LEDGER_URGENT_MS, none when nothing comes. */
static void
relief_wait(struct ledger *l, long backoff)
{
	int64_t left;

	if (backoff) {
		wait_on(l, &l->late, backoff, false);
		return;
	}
	while (!l->stop) {
		if (l->n == 0) {
			l->relief_asleep = true;
			wait_on(l, &l->late, 3600000, true);
			l->relief_asleep = false;
			continue;
		}
		if ((left = l->since + LEDGER_URGENT_MS - clock_mono_ms()) <= 0)
			break;
		wait_on(l, &l->late, (long)left, false);
	}
	if (!l->stop && l->n)
		l->st.hurried++;
}

/* One last try at a batch that failed, then the loss is said. */
static void
commit_last(struct ledger *l, struct committer *c, struct usage_record *batch,
	    size_t n, long backoff)
{
	if (commit(l, c, batch, n, backoff) == 0)
		return;
	log_errx("ledger: stopping with %zu records that could not be "
		 "committed; they are lost",
		 n);
	pthread_mutex_lock(&l->lock);
	l->st.lost += n;
	c->pending = 0;
	pthread_mutex_unlock(&l->lock);
}

static void *
writer_main(void *arg)
{
	struct committer *c = arg;
	struct ledger *l = c->l;
	struct usage_record *batch = NULL;
	size_t n = 0, cap = 0, max = SIZE_MAX;
	long backoff = 0;
	int64_t next_prune = 0;
	bool stop;

	if (!c->relief && writer_idle())
		max = LEDGER_IDLE_BATCH;
	else if (!c->relief)
		log_warnx("ledger: SCHED_IDLE refused; the writer stays at "
			  "the normal CPU class");
	pthread_setname_np(pthread_self(),
			   c->relief ? "agp-ledger-now" : "agp-ledger");
	for (;;) {
		pthread_mutex_lock(&l->lock);
		if (c->relief)
			relief_wait(l, backoff);
		else
			writer_wait(l, backoff);
		/* At a stop too: the relief drains what is left. */
		take_queue(l, c, &batch, &n, &cap, max);
		stop = l->stop;
		pthread_mutex_unlock(&l->lock);

		if (n && (backoff = commit(l, c, batch, n, backoff)) == 0)
			n = 0;
		if (stop && n && backoff) {
			commit_last(l, c, batch, n, backoff);
			n = 0;
		}
		if (!c->relief && !backoff && l->retain_s > 0 &&
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
	st->queued = l->n - l->head + l->writer.pending + l->relief.pending;
	pthread_mutex_unlock(&l->lock);
}
