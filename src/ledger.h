/* SPDX-License-Identifier: GPL-2.0-or-later
 * ledger.h - the writer of usage.db: every record committed, then counted.
 *
 * Threading: ledger_append() is thread-safe and never waits for the disk:
 *   the ledger's writer thread (SCHED_IDLE, named agp-ledger) commits
 *   what is queued in one transaction per gathering window (a few
 *   milliseconds), and only then adds the records to the usage table;
 *   its relief (normal class, agp-ledger-now) commits what waited past
 *   200 ms, when the CPUs were too busy for the writer. A failed commit
 *   keeps the batch queued and retries it with backoff.
 */
#ifndef AGP_LEDGER_H
#define AGP_LEDGER_H

#include <stdbool.h>

#include "store.h"
#include "usage.h"

/* Records queued but not yet committed, at most: past it a record is
 * lost, counted and warned about. About 2.7 KB each at the worst. */
#define LEDGER_QUEUE_MAX 32768

struct ledger;
struct store;

/* Opens state_dir/usage.db (store.h: refused when unsafe or foreign),
 * imports an old usage.jsonl once, and counts the all-time summary into
 * t (no replay). NULL on error, with one line in err. Starts no thread:
 * the daemon forks its supervisor after this. */
struct ledger *ledger_open(const char *state_dir, struct usage_table *t,
			   char *err, size_t errlen);

/* Prunes records older than retain_s seconds (0: keep forever), in small
 * batches between commits. Call before ledger_start(). */
void ledger_set_retain(struct ledger *l, double retain_s);

/* Starts the writer thread, which commits and then counts in t what
 * ledger_append() queues (records queued before wait for it). */
int ledger_start(struct ledger *l);

/* Commits and counts everything queued, stops the writer, frees l. What
 * still cannot be committed then is lost, and logged. */
void ledger_free(struct ledger *l);

/* Queues a copy of r: it is committed and then counted by the writer.
 * 0, or -1 when the queue is full (the record is lost and counted). */
int ledger_append(struct ledger *l, const struct usage_record *r);

/* Nothing to reopen (SQLite keeps its files); 0. For SIGHUP. */
int ledger_reopen(struct ledger *l);

/* A read connection to the same store, for another thread (the API's);
 * NULL on error (logged). Free with store_free(). */
struct store *ledger_reader(struct ledger *l);

struct ledger_stats {
	unsigned long commits;		 /* transactions committed */
	unsigned long failures;		 /* commits that failed */
	unsigned long lost;		 /* records dropped: queue full, or
					 * uncommittable at exit */
	unsigned long queued;		 /* records waiting (gauge) */
	unsigned long pruned;		 /* records removed by --retain */
	unsigned long hurried;		 /* batches committed at the normal
					 * CPU class, having waited */
	bool degraded;			 /* the last commit failed */
	char reason[STORE_ERR_MAX + 32]; /* why, when degraded */
};
void ledger_stats(struct ledger *l, struct ledger_stats *st);

#endif
